//! One-time messages after an action, shown on the page it leads to and then never again.

use reqwest::StatusCode;

use crate::helpers::TestApp;

/// The flash message on a page, if any.
fn flash(html: &str) -> Option<String> {
    let needle = r#"<div class="flash" role="status"><p>"#;
    let rest = &html[html.find(needle)? + needle.len()..];
    Some(rest.split("</p>").next()?.to_owned())
}

#[tokio::test]
async fn saving_commenting_subscribing_and_deleting_each_say_so_once() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let id = app.save_meme("chelsea", &["hello"]).await;
    let page = format!("/memes/{id}");

    let html = app.get_html(&page).await;
    assert_eq!(flash(&html).as_deref(), Some("Your meme is saved to your portfolio."));
    assert_eq!(flash(&app.get_html(&page).await), None, "shown once");

    let response = app.act(&page, &format!("/memes/{id}/comments"), &[("body", "nice")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(flash(&app.get_html(&page).await).as_deref(), Some("Your comment is posted."));

    let bob = app.new_browser();
    bob.signed_up("bob").await;
    bob.act("/u/ann", "/u/ann/subscribe", &[]).await;
    let html = bob.get_html("/u/ann").await;
    assert!(flash(&html).is_some_and(|m| m.starts_with("You follow ann now")), "{:?}", flash(&html));
    bob.act("/u/ann", "/u/ann/unsubscribe", &[]).await;
    assert_eq!(flash(&bob.get_html("/u/ann").await).as_deref(), Some("You no longer follow ann."));
    assert_eq!(flash(&app.get_html("/").await), None, "one visitor's message is not another's");

    app.act(&page, &format!("/memes/{id}/delete"), &[]).await;
    assert_eq!(flash(&app.get_html("/u/ann").await).as_deref(), Some("The meme is deleted, with its comments."));
}
