//! The anonymous page cache (`web/page_cache.rs`): kept pages are fresh after every write,
//! shared only when they hold nothing of one visitor's, and validated with strong ETags.

use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, CONTENT_ENCODING, ETAG, IF_NONE_MATCH, SET_COOKIE, VARY};

use crate::helpers::{TestApp, eventually_async, on_aws, sent_emails};

/// A visitor with no cookies at all, so nothing the site sets colours what the next asks.
fn stranger() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

async fn anonymous(app: &TestApp, path: &str) -> String {
    let response = stranger().get(app.url(path)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.text().await.unwrap()
}

/// The home page is kept, and each write (a new meme, a comment, a delete) is on the very next
/// anonymous request for every cached page it touches: the cache never serves a stale list.
#[tokio::test]
async fn a_new_meme_a_comment_and_a_delete_are_on_the_next_anonymous_request() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let first = app.save_meme("chelsea", &["the first", "meme"]).await;
    // Each page is kept now.
    for path in ["/", "/?sort=top", "/u/ann", "/u/ann/feed.atom", &format!("/memes/{first}")] {
        anonymous(&app, path).await;
        anonymous(&app, path).await;
    }

    let second = app.save_meme("chelsea", &["the second", "meme"]).await;
    assert!(anonymous(&app, "/").await.contains(&second), "a new meme is on the home page at once");
    assert!(anonymous(&app, "/u/ann").await.contains(&second), "and on its creator's portfolio");
    assert!(anonymous(&app, "/u/ann/feed.atom").await.contains(&second), "and in the feed");

    app.act(&format!("/memes/{first}"), &format!("/memes/{first}/comments"), &[("body", "fresh words")]).await;
    assert!(anonymous(&app, &format!("/memes/{first}")).await.contains("fresh words"), "a comment shows at once");
    assert!(anonymous(&app, "/").await.contains("aria-label=\"1 comments\""), "and the count on the card");

    let deleted = app.act(&format!("/memes/{second}"), &format!("/memes/{second}/delete"), &[]).await;
    assert!(deleted.status().is_redirection(), "{}", deleted.status());
    assert!(!anonymous(&app, "/").await.contains(&second), "a deleted meme leaves the home page at once");
    assert!(!anonymous(&app, "/u/ann").await.contains(&second));
    let gone = stranger().get(app.url(&format!("/memes/{second}"))).send().await.unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}

/// Following the one-click unsubscribe link from an email is a write too: the portfolio's
/// subscriber count drops on the next anonymous view.
#[tokio::test]
async fn the_unsubscribe_link_is_seen_on_the_next_anonymous_view_of_the_portfolio() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let bob = app.new_browser();
    bob.signed_up("bob").await;
    bob.act("/u/ann", "/u/ann/subscribe", &[]).await;
    app.save_meme("chelsea", &["for", "bob"]).await;
    eventually_async("bob's email is sent", || async { sent_emails(&app.data_dir, "ann").await.len() == 1 }).await;
    let email = sent_emails(&app.data_dir, "ann").await.remove(0);
    let link = email.split("List-Unsubscribe: <").nth(1).unwrap().split('>').next().unwrap().to_owned();
    assert!(anonymous(&app, "/u/ann").await.contains("1 subscriber<"));

    let followed = stranger().get(&link).send().await.unwrap();
    assert_eq!(followed.status(), StatusCode::OK);
    assert!(anonymous(&app, "/u/ann").await.contains("0 subscribers<"));
}

/// A kept page goes out with a strong ETag per encoding; asking again with it gets a 304, and a
/// changed page gets a new one.
#[tokio::test]
async fn a_kept_page_is_validated_by_its_etag() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    app.save_meme("chelsea", &["etag", "me"]).await;
    let ask = |encoding: &'static str, etag: Option<String>| {
        let mut request = stranger().get(app.url("/")).header("accept-encoding", encoding);
        if let Some(etag) = etag {
            request = request.header(IF_NONE_MATCH, etag);
        }
        request.send()
    };

    let first = ask("br", None).await.unwrap();
    assert_eq!(first.headers()[CONTENT_ENCODING], "br");
    assert!(first.headers()[VARY].to_str().unwrap().contains("accept-encoding"));
    let expected_cache = if on_aws() { "public, max-age=0, s-maxage=1" } else { "no-cache" };
    assert_eq!(first.headers()[CACHE_CONTROL], expected_cache);
    let etag = first.headers()[ETAG].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.ends_with("-br\""), "a strong tag naming its encoding: {etag}");
    let gzip = ask("gzip", None).await.unwrap();
    assert_ne!(gzip.headers()[ETAG].to_str().unwrap(), etag, "each encoding is its own representation");

    let again = ask("br", Some(etag.clone())).await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert!(again.bytes().await.unwrap().is_empty());
    let other_encoding = ask("gzip", Some(etag.clone())).await.unwrap();
    assert_eq!(other_encoding.status(), StatusCode::OK, "the br tag does not validate the gzip bytes");

    app.save_meme("chelsea", &["a change", "to the page"]).await;
    let changed = ask("br", Some(etag.clone())).await.unwrap();
    assert_eq!(changed.status(), StatusCode::OK, "the page changed");
    assert_ne!(changed.headers()[ETAG].to_str().unwrap(), etag);
}

/// An anonymous page without forms carries nothing of its visitor's: no cookie, no token, the
/// same bytes for everyone. A page with a form mints a token and sets the cookie, and is not
/// shared; a signed-in visitor never gets the anonymous copy.
#[tokio::test]
async fn kept_pages_hold_nothing_of_one_visitors_and_signed_in_pages_are_not_kept() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let meme = app.save_meme("chelsea", &["nothing", "personal"]).await;
    for path in ["/", "/u/ann", &format!("/memes/{meme}"), "/templates"] {
        let one = stranger().get(app.url(path)).send().await.unwrap();
        assert!(one.headers().get(SET_COOKIE).is_none(), "{path} sets no cookie for a visitor");
        let one = one.text().await.unwrap();
        assert!(!one.contains("csrf_token"), "{path} shows no form to a visitor");
        assert_eq!(one, anonymous(&app, path).await, "{path} is the same for every visitor");
    }

    let login = stranger().get(app.url("/login")).send().await.unwrap();
    assert!(login.headers()[SET_COOKIE].to_str().unwrap().starts_with("skyhigh_csrf="), "a form's page sets it");
    let (one, two) = (anonymous(&app, "/login").await, anonymous(&app, "/login").await);
    assert!(one.contains("name=\"csrf_token\""));
    assert_ne!(one, two, "each visitor's form has its own token");

    let home = app.get_html("/").await;
    assert!(home.contains("Signed in as"), "the signed-in header, not the visitor's copy");
    assert!(!anonymous(&app, "/").await.contains("Signed in as"));
}
