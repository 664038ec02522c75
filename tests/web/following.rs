use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::{Browser, TestApp, backend_env, eventually_async, sent_emails};

async fn subscribe(browser: &Browser, creator: &str) -> StatusCode {
    browser.act(&format!("/u/{creator}"), &format!("/u/{creator}/subscribe"), &[]).await.status()
}

#[tokio::test]
async fn subscribing_is_idempotent_counted_and_undone_by_unsubscribing() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let bob = app.new_browser();
    bob.signed_up("bob").await;

    assert_eq!(subscribe(&bob, "ann").await, StatusCode::SEE_OTHER);
    assert_eq!(subscribe(&bob, "ann").await, StatusCode::SEE_OTHER);
    let html = bob.get_html("/u/ann").await;
    assert!(html.contains("1 subscriber<"), "{html}");
    assert!(html.contains(">Unsubscribe</button>"));
    assert!(bob.get_html("/subscriptions").await.contains("href=\"/u/ann\""));

    bob.act("/u/ann", "/u/ann/unsubscribe", &[]).await;
    bob.act("/u/ann", "/u/ann/unsubscribe", &[]).await;
    assert!(bob.get_html("/u/ann").await.contains("0 subscribers"));
}

#[tokio::test]
async fn nobody_subscribes_to_themself() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let response = app.act("/u/ann", "/u/ann/subscribe", &[]).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text().await.unwrap().contains("You can&#39;t subscribe to yourself."));
}

#[tokio::test]
async fn a_new_meme_sends_each_subscriber_exactly_one_email_and_one_notification() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let bob = app.new_browser();
    bob.signed_up("bob").await;
    subscribe(&bob, "ann").await;

    let id = app.save_meme("chelsea", &["new", "meme"]).await;

    eventually_async("the email is sent", || async { sent_emails(&app.data_dir, "ann").await.len() == 1 }).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let emails = sent_emails(&app.data_dir, "ann").await;
    assert_eq!(emails.len(), 1, "exactly one email");
    let email = &emails[0];
    assert!(email.contains("Subject: ann posted a new meme"), "{email}");
    assert!(email.contains(&format!("/memes/{id}")));
    // The app's own MIME on both backends (files locally, SES on aws): addressed to the
    // subscriber, with our one-click unsubscribe.
    assert!(email.contains("To: bob <bob@example.com>"), "{email}");
    assert!(email.contains("List-Unsubscribe: <http://127.0.0.1:"), "{email}");
    assert!(email.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"), "{email}");

    let notes = bob.get_html("/notifications").await;
    assert_eq!(notes.matches(&format!("href=\"/memes/{id}\"><img")).count(), 1, "{notes}");
    assert!(notes.contains("1 new since your last visit"), "{notes}");
    assert!(bob.get_html("/subscriptions").await.contains(&format!("/memes/{id}")));
    assert!(!app.get_html("/notifications").await.contains(&id), "the creator is not notified");

    assert!(!bob.get_html("/notifications").await.contains("new since your last visit"), "opening them read them");
}

/// The one-click unsubscribe link of the emails, on both backends.
mod unsubscribe_links {
    use super::*;

    /// ann saves a meme that bob, her subscriber, is emailed about; returns the email's
    /// `List-Unsubscribe` link.
    async fn bob_follows_ann_and_gets_an_email() -> (TestApp, Browser, String) {
        let app = TestApp::spawn().await;
        app.signed_up("ann").await;
        let bob = app.new_browser();
        bob.signed_up("bob").await;
        subscribe(&bob, "ann").await;
        app.save_meme("chelsea", &["hi"]).await;
        eventually_async("the email is sent", || async { sent_emails(&app.data_dir, "ann").await.len() == 1 }).await;
        let email = sent_emails(&app.data_dir, "ann").await.remove(0);
        let link = email.split("List-Unsubscribe: <").nth(1).unwrap().split('>').next().unwrap().to_owned();
        (app, bob, link)
    }

    #[tokio::test]
    async fn after_unsubscribing_by_the_link_no_further_email_comes() {
        let (app, _bob, link) = bob_follows_ann_and_gets_an_email().await;
        let path = link.split_once("127.0.0.1:").unwrap().1.split_once('/').unwrap().1;
        app.new_browser().get_html(&format!("/{path}")).await;

        app.save_meme("chelsea", &["after", "unsubscribing"]).await;

        // The worker has had its moment: another subscriber's email would be out by now.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(sent_emails(&app.data_dir, "ann").await.len(), 1, "no email after the link was used");
    }

    #[tokio::test]
    async fn a_mail_clients_one_click_post_unsubscribes() {
        let (_app, bob, link) = bob_follows_ann_and_gets_an_email().await;

        // RFC 8058: the mail provider POSTs this body from its servers: no cookie, no Origin.
        let response = reqwest::Client::new()
            .post(&link)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("List-Unsubscribe=One-Click")
            .send()
            .await
            .unwrap();

        assert_eq!(response.status(), StatusCode::OK);
        assert!(bob.get_html("/u/ann").await.contains("0 subscribers"));
    }

    #[tokio::test]
    async fn the_one_click_link_from_the_email_unsubscribes_once() {
        let (app, bob, link) = bob_follows_ann_and_gets_an_email().await;
        let path = link.split_once("127.0.0.1:").unwrap().1.split_once('/').unwrap().1;

        let anonymous = app.new_browser();
        let first = anonymous.get_html(&format!("/{path}")).await;
        assert!(first.contains("You're unsubscribed"), "{first}");
        assert!(bob.get_html("/u/ann").await.contains("0 subscribers"));
        let again = anonymous.get_html(&format!("/{path}")).await;
        assert!(again.contains("Nothing to unsubscribe"));
        assert!(anonymous.get_html("/unsubscribe/not-a-token").await.contains("Nothing to unsubscribe"));
    }
}

#[tokio::test]
async fn an_email_pending_when_the_process_dies_is_delivered_exactly_once_after_restart() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let ann = Browser::new(base.clone(), data.path());
    let bob = Browser::new(base.clone(), data.path());
    // First life: the accounts (their confirmation emails need the worker).
    let mut setup = start_binary(data.path(), port, true).await;
    ann.signed_up("ann").await;
    bob.signed_up("bob").await;
    subscribe(&bob, "ann").await;
    setup.kill().expect("SIGKILL");
    setup.wait().unwrap();
    // Second life, without a worker: the save commits its job, and nothing is sent.
    let mut first = start_binary(data.path(), port, false).await;
    ann.save_meme("chelsea", &["before", "the crash"]).await;
    first.kill().expect("SIGKILL");
    first.wait().unwrap();
    assert!(sent_emails(data.path(), "ann").await.is_empty());

    let mut second = start_binary(data.path(), port, true).await;
    let dir = data.path().to_path_buf();
    eventually_async("the pending email goes out after restart", || async {
        sent_emails(&dir, "ann").await.len() == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sent_emails(data.path(), "ann").await.len(), 1, "exactly once");
    second.kill().unwrap();
    second.wait().unwrap();
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn start_binary(data: &std::path::Path, port: u16, workers: bool) -> std::process::Child {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_skyhigh"))
        .envs(backend_env(data))
        .env("SKYHIGH_ADDR", format!("127.0.0.1:{port}"))
        .env("SKYHIGH_DATA_DIR", data)
        .env("SKYHIGH_RUN_WORKERS", workers.to_string())
        // A job a killed worker had received (an SQS long poll it left open may even take one
        // after its death) comes back after this, not after the minute of production.
        .env("SKYHIGH_JOB_TIMEOUT_SECS", "3")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start skyhigh");
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if let Ok(r) = client.get(format!("http://127.0.0.1:{port}/healthz")).send().await
            && r.status() == StatusCode::OK
        {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Never leave a server behind, even when failing.
    let _ = child.kill();
    let _ = child.wait();
    panic!("skyhigh did not become healthy");
}

/// Creators hear when someone comments on, remixes or subscribes to them: each event once, never
/// their own doing, with an unread badge on the header's Notifications link.
mod creator_notifications {
    use super::*;

    /// The header's unread badge on `html`: its visible number, whose accessible text (the number
    /// itself is hidden from screen readers) must say the same.
    fn badge(html: &str) -> Option<String> {
        let number = html.split("<span class=\"nav-badge\" aria-hidden=\"true\">").nth(1)?.split('<').next()?;
        let spoken = format!("<span class=\"visually-hidden\">, {number} unread</span>");
        assert!(html.contains(&spoken), "the badge {number} has no accessible text: {html}");
        Some(number.to_owned())
    }

    /// Waits until `browser`'s home page shows `expected` as its badge (at once locally; on aws
    /// an instance may show a count it keeps until its background read is back).
    async fn badge_becomes(browser: &Browser, expected: Option<&str>) {
        badge_on_becomes(browser, "/", expected).await;
    }

    /// Waits until `page` shows the badge `expected`. On aws each instance keeps a user's count
    /// up to 15 s (`UnreadBadges`), so behind two instances a page can show the other's older
    /// count that long; on one instance it holds at once.
    async fn badge_on_becomes(browser: &Browser, page: &str, expected: Option<&str>) {
        let what = format!("the badge on {page} to say {expected:?}");
        eventually_async(&what, || async { badge(&browser.get_html(page).await).as_deref() == expected }).await;
    }

    /// The notification items on a notifications page.
    fn items(html: &str) -> Vec<&str> {
        html.split("<li class=\"notification").skip(1).map(|item| item.split("</li>").next().unwrap()).collect()
    }

    /// ann with a meme, and bob signed up; returns ann's meme id.
    async fn ann_with_a_meme_and_bob() -> (TestApp, Browser, String) {
        let app = TestApp::spawn().await;
        app.signed_up("ann").await;
        let meme = app.save_meme("chelsea", &["ann's", "meme"]).await;
        let bob = app.new_browser();
        bob.signed_up("bob").await;
        (app, bob, meme)
    }

    async fn comment(browser: &Browser, meme: &str, body: &str) {
        let page = format!("/memes/{meme}");
        let response = browser.act(&page, &format!("{page}/comments"), &[("body", body)]).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
    }

    #[tokio::test]
    async fn a_comment_notifies_the_memes_creator_once_with_a_link_to_it() {
        let (app, bob, meme) = ann_with_a_meme_and_bob().await;

        comment(&bob, &meme, "great one").await;
        comment(&bob, &meme, "still laughing").await;

        badge_becomes(&app.browser, Some("2")).await;
        let notes = app.get_html("/notifications").await;
        let items = items(&notes);
        assert_eq!(items.len(), 2, "one per comment: {notes}");
        for item in &items {
            assert!(item.starts_with(" unread"), "{item}");
            assert!(item.contains("<a href=\"/u/bob\">bob</a> commented on"), "{item}");
            assert!(item.contains(&format!("href=\"/memes/{meme}#comment-")), "{item}");
        }
        assert_eq!(badge(&bob.get_html("/").await), None, "the commenter hears nothing");
    }

    #[tokio::test]
    async fn a_remix_notifies_the_original_creator_once_with_links_to_both() {
        let (app, bob, meme) = ann_with_a_meme_and_bob().await;

        let remix = bob.save_meme_remix(&meme, &["bob's", "take"]).await;

        badge_becomes(&app.browser, Some("1")).await;
        let notes = app.get_html("/notifications").await;
        let items = items(&notes);
        assert_eq!(items.len(), 1, "{notes}");
        assert!(items[0].contains("<a href=\"/u/bob\">bob</a> remixed"), "{}", items[0]);
        assert!(items[0].contains(&format!("<a href=\"/memes/{meme}\">your meme</a>")), "{}", items[0]);
        assert!(items[0].contains(&format!("<a href=\"/memes/{remix}\">see the remix</a>")), "{}", items[0]);
        assert!(items[0].contains("alt=\"bob&#39;s remix\""), "the remix's thumbnail: {}", items[0]);
    }

    #[tokio::test]
    async fn a_subscriber_notifies_the_creator_once_even_after_unsubscribing_and_coming_back() {
        let (app, bob, _) = ann_with_a_meme_and_bob().await;

        subscribe(&bob, "ann").await;
        subscribe(&bob, "ann").await;
        bob.act("/u/ann", "/u/ann/unsubscribe", &[]).await;
        subscribe(&bob, "ann").await;

        badge_becomes(&app.browser, Some("1")).await;
        let notes = app.get_html("/notifications").await;
        let items = items(&notes);
        assert_eq!(items.len(), 1, "{notes}");
        assert!(items[0].contains("<a href=\"/u/bob\">bob</a> subscribed to you"), "{}", items[0]);
    }

    #[tokio::test]
    async fn nobody_is_notified_of_their_own_comment_or_remix() {
        let app = TestApp::spawn().await;
        app.signed_up("ann").await;
        let meme = app.save_meme("chelsea", &["ann's", "meme"]).await;

        comment(&app.browser, &meme, "talking to myself").await;
        app.save_meme_remix(&meme, &["ann's", "own remix"]).await;

        let notes = app.get_html("/notifications").await;
        assert!(items(&notes).is_empty(), "{notes}");
        assert_eq!(badge(&app.get_html("/").await), None);
    }

    #[tokio::test]
    async fn the_badge_counts_unread_notifications_on_every_signed_in_page_until_they_are_viewed() {
        let (app, bob, meme) = ann_with_a_meme_and_bob().await;
        assert_eq!(badge(&app.get_html("/").await), None, "nothing unread, no badge");

        comment(&bob, &meme, "nice").await;
        bob.save_meme_remix(&meme, &["a", "remix"]).await;
        subscribe(&bob, "ann").await;

        badge_becomes(&app.browser, Some("3")).await;
        for page in ["/", "/u/ann", &format!("/memes/{meme}"), "/templates", "/subscriptions", "/memes/new"] {
            badge_on_becomes(&app.browser, page, Some("3")).await;
        }
        let anonymous = app.new_browser();
        assert!(!anonymous.get_html("/").await.contains("nav-badge"), "no badge without an account");

        let notes = app.get_html("/notifications").await;
        assert_eq!(badge(&notes), None, "the page that shows them has read them");
        assert!(notes.contains("3 new since your last visit"), "{notes}");
        assert_eq!(items(&notes).iter().filter(|item| item.starts_with(" unread")).count(), 3);
        badge_becomes(&app.browser, None).await;
        let again = app.get_html("/notifications").await;
        assert_eq!(items(&again).len(), 3, "still listed");
        assert!(items(&again).iter().all(|item| !item.starts_with(" unread")), "now read: {again}");

        comment(&bob, &meme, "one more").await;
        badge_becomes(&app.browser, Some("1")).await;
    }
}
