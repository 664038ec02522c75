use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::{Browser, TestApp, backend_env, eventually, eventually_async, on_aws, outbox_files, sent_emails};

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
    if !on_aws() {
        // The app writes each subscriber's email itself (on aws, SNS addresses it and adds
        // its own unsubscribe link; the topic's subscriptions are checked in tests/storage).
        assert!(email.contains("To: bob <bob@example.com>"), "{email}");
        assert!(email.contains("List-Unsubscribe: <http://127.0.0.1:"));
    }

    let notes = bob.get_html("/notifications").await;
    assert_eq!(notes.matches(&format!("href=\"/memes/{id}\"><img")).count(), 1, "{notes}");
    assert!(notes.contains("Mark all 1 as read"));
    assert!(bob.get_html("/subscriptions").await.contains(&format!("/memes/{id}")));
    assert!(!app.get_html("/notifications").await.contains(&id), "the creator is not notified");

    bob.act("/notifications", "/notifications/read", &[]).await;
    assert!(!bob.get_html("/notifications").await.contains("Mark all"));
}

/// What only the local backend does: it writes each email itself, with the app's own one-click
/// unsubscribe link (on aws, SNS puts its own link into the emails it sends).
mod local_only {
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
        let dir = app.data_dir.clone();
        eventually("the email is written", || outbox_files(&dir).len() == 1).await;
        let email = std::fs::read_to_string(&outbox_files(&app.data_dir)[0]).unwrap();
        let link = email.split("List-Unsubscribe: <").nth(1).unwrap().split('>').next().unwrap().to_owned();
        (app, bob, link)
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
    // First life: no delivery worker, so the save commits its outbox row and nothing is sent.
    let mut first = start_binary(data.path(), port, false).await;
    let ann = Browser::new(base.clone());
    ann.signed_up("ann").await;
    let bob = Browser::new(base.clone());
    bob.signed_up("bob").await;
    subscribe(&bob, "ann").await;
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
