//! The account page (`/account`: password, email address, deletion) and the forgotten
//! password (`/password/forgot`, `/password/reset/<token>`), on whichever backend the run uses.

use reqwest::StatusCode;
use skyhigh::services::account::token_hash;
use skyhigh::storage::TokenPurpose;
use time::{Duration, OffsetDateTime};

use crate::helpers::{Browser, PASSWORD, TestApp, eventually_async, mail_to, signed_in_user, without_csrf_tokens};

const NEW_PASSWORD: &str = "a brand new sentence of mine";

/// Who `cookie` is signed in as, asked from a fresh browser that sends only it.
async fn signed_in_with(app: &TestApp, cookie: &str) -> Option<String> {
    let response = reqwest::Client::new()
        .get(app.url("/"))
        .header("cookie", format!("skyhigh_session={cookie}"))
        .send()
        .await
        .unwrap();
    signed_in_user(&response.text().await.unwrap())
}

/// The newest link under `prefix` (e.g. "/password/reset/") emailed to `address`, waiting for it.
async fn emailed_link(app: &TestApp, address: &str, prefix: &str) -> String {
    let found = std::sync::Arc::new(std::sync::Mutex::new(None));
    let check = || {
        let found = found.clone();
        async move {
            let mails = mail_to(&app.data_dir, address).await;
            let link = mails.iter().rev().find_map(|mail| {
                let start = mail.find(prefix)?;
                let end = mail[start..].find(|c: char| c.is_whitespace() || c == '"' || c == '<')? + start;
                Some(mail[start..end].to_owned())
            });
            let got = link.is_some();
            *found.lock().unwrap() = link;
            got
        }
    };
    eventually_async(&format!("a {prefix} link reaches {address}"), check).await;
    found.lock().unwrap().clone().unwrap()
}

/// How many emails to `address` mention `phrase`.
async fn mails_mentioning(app: &TestApp, address: &str, phrase: &str) -> usize {
    mail_to(&app.data_dir, address).await.iter().filter(|m| m.contains(phrase)).count()
}

fn location(response: &reqwest::Response) -> &str {
    response.headers()["location"].to_str().unwrap()
}

// ---- changing the password ----

#[tokio::test]
async fn changing_the_password_signs_out_every_other_session_and_keeps_this_one_under_a_new_id() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let phone = app.new_browser();
    phone.login("ann", PASSWORD).await;
    // Read once, so a backend that remembers sessions in memory has this one remembered.
    assert_eq!(phone.signed_in_as().await.as_deref(), Some("ann"));
    let before = app.session_cookie().unwrap();

    let response = app
        .post_form("/account", "/account/password", &[("current_password", PASSWORD), ("new_password", NEW_PASSWORD)])
        .await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with("/account?done=password"));
    assert_eq!(phone.signed_in_as().await, None, "the other session is signed out at once");
    assert_eq!(app.signed_in_as().await.as_deref(), Some("ann"), "this one stays");
    assert_ne!(app.session_cookie().unwrap(), before, "under a new id");
    assert_eq!(signed_in_with(&app, &before).await, None, "the old id is dead");
    assert!(app.get_html(location(&response)).await.contains("Your password is changed"));
    let fresh = app.new_browser();
    assert_eq!(fresh.login("ann", PASSWORD).await.status(), StatusCode::UNPROCESSABLE_ENTITY, "old password");
    assert_eq!(fresh.login("ann", NEW_PASSWORD).await.status(), StatusCode::SEE_OTHER, "new password");
}

#[tokio::test]
async fn a_wrong_current_password_is_422_with_a_message_and_changes_nothing() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;

    let response = app
        .post_form(
            "/account",
            "/account/password",
            &[("current_password", "not my password"), ("new_password", NEW_PASSWORD)],
        )
        .await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("That is not your current password."), "{html}");
    assert!(!html.contains(NEW_PASSWORD), "passwords are never echoed");
    assert_eq!(app.new_browser().login("ann", PASSWORD).await.status(), StatusCode::SEE_OTHER, "unchanged");
}

#[tokio::test]
async fn wrong_current_passwords_count_against_the_sign_in_throttle() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let wrong = [("current_password", "guess"), ("new_password", NEW_PASSWORD)];
    for attempt in 1..=10 {
        let response = app.post_form("/account", "/account/password", &wrong).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "attempt {attempt}");
    }

    let refused = app.post_form("/account", "/account/password", &wrong).await;

    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
    let sign_in = app.new_browser().login("ann", PASSWORD).await;
    assert_eq!(sign_in.status(), StatusCode::TOO_MANY_REQUESTS, "the same account limit as sign-in");
}

#[tokio::test]
async fn a_new_password_is_held_to_the_sign_up_rules() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;

    let response = app
        .post_form("/account", "/account/password", &[("current_password", PASSWORD), ("new_password", "short")])
        .await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text().await.unwrap().contains("at least 10 characters"));
}

// ---- forgot password ----

#[tokio::test]
async fn the_forgot_form_answers_the_same_for_known_and_unknown_addresses_and_mails_only_the_known() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    app.logout().await;

    let known = app.post_form("/password/forgot", "/password/forgot", &[("email", "ann@example.com")]).await;
    let unknown = app.post_form("/password/forgot", "/password/forgot", &[("email", "nobody@example.com")]).await;

    assert_eq!(known.status(), StatusCode::SEE_OTHER);
    assert_eq!(unknown.status(), known.status());
    assert_eq!(location(&unknown), location(&known));
    let page = without_csrf_tokens(&app.get_html(location(&known)).await);
    assert!(page.contains("If an account has that address"), "{page}");
    emailed_link(&app, "ann@example.com", "/password/reset/").await;
    assert!(mail_to(&app.data_dir, "nobody@example.com").await.is_empty());
}

#[tokio::test]
async fn the_sign_in_page_links_to_the_forgot_form() {
    let app = TestApp::spawn().await;
    assert!(app.get_html("/login").await.contains("href=\"/password/forgot\""));
}

#[tokio::test]
async fn a_reset_link_sets_a_new_password_once_and_signs_out_everywhere() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let laptop_cookie = app.session_cookie().unwrap();
    assert_eq!(app.signed_in_as().await.as_deref(), Some("ann"));
    let visitor = app.new_browser();
    visitor.post_form("/password/forgot", "/password/forgot", &[("email", "ann@example.com")]).await;
    let link = emailed_link(&app, "ann@example.com", "/password/reset/").await;

    let form = visitor.get_html(&link).await;
    assert!(form.contains("Choose a new password") && form.contains("ann"), "{form}");
    assert_eq!(visitor.get(&link).await.status(), StatusCode::OK, "opening the link uses nothing up");
    let done = visitor.post_form(&link, &link, &[("password", NEW_PASSWORD)]).await;

    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&done), "/login?done=reset");
    assert!(visitor.get_html("/login?done=reset").await.contains("Your password is changed"));
    assert_eq!(signed_in_with(&app, &laptop_cookie).await, None, "every session is signed out");
    assert_eq!(visitor.login("ann", PASSWORD).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(visitor.login("ann", NEW_PASSWORD).await.status(), StatusCode::SEE_OTHER);
    let again = app.new_browser();
    assert_eq!(again.get(&link).await.status(), StatusCode::GONE, "single use");
    let page = again.get_html("/password/forgot").await;
    let token = crate::helpers::extract_csrf_token(&page).unwrap();
    let reused = again
        .client
        .post(again.url(&link))
        .header("origin", &again.address)
        .form(&[("csrf_token", token.as_str()), ("password", "yet another long password")])
        .send()
        .await
        .unwrap();
    assert_eq!(reused.status(), StatusCode::GONE);
    assert!(reused.text().await.unwrap().contains("Ask for a new link"));
}

#[tokio::test]
async fn a_reset_link_expires_after_an_hour() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let ann =
        app.storage.users.find_by_username(&skyhigh::domain::Username::parse("ann").unwrap()).await.unwrap().unwrap();
    app.post_form("/password/forgot", "/password/forgot", &[("email", "ann@example.com")]).await;
    let link = emailed_link(&app, "ann@example.com", "/password/reset/").await;
    let hash = token_hash(link.trim_start_matches("/password/reset/"));
    let now = OffsetDateTime::now_utc();

    // The emailed link's token, as the store sees it an hour on (no sleeping: the store is
    // asked about a later time).
    let tokens = &app.storage.tokens;
    assert_eq!(
        tokens.peek(&hash, TokenPurpose::ResetPassword, now + Duration::minutes(59)).await.unwrap(),
        Some(ann.id)
    );
    assert_eq!(tokens.peek(&hash, TokenPurpose::ResetPassword, now + Duration::minutes(61)).await.unwrap(), None);
    // And a link whose hour is over, as the site answers it.
    let secret = "0123456789abcdef0123456789abcdef";
    tokens.put(&token_hash(secret), TokenPurpose::ResetPassword, ann.id, "", now - Duration::seconds(1)).await.unwrap();
    let expired = app.get(&format!("/password/reset/{secret}")).await;
    assert_eq!(expired.status(), StatusCode::GONE);
    assert!(expired.text().await.unwrap().contains("expired"));
    assert_eq!(app.get("/password/reset/not-a-token").await.status(), StatusCode::GONE);
}

#[tokio::test]
async fn reset_requests_are_limited_per_client() {
    let app = TestApp::spawn().await;
    for i in 0..10 {
        let email = format!("someone{i}@example.com");
        let response = app.post_form("/password/forgot", "/password/forgot", &[("email", &email)]).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "request {i}");
    }
    let refused = app.post_form("/password/forgot", "/password/forgot", &[("email", "one@example.com")]).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
}

// ---- changing the email address ----

#[tokio::test]
async fn a_new_address_takes_effect_only_when_its_link_is_opened() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;

    let response =
        app.post_form("/account", "/account/email", &[("email", "ann.new@example.com"), ("password", PASSWORD)]).await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(app.get_html(location(&response)).await.contains("We sent a link to the new address"));
    let link = emailed_link(&app, "ann.new@example.com", "/account/email/").await;
    assert!(app.get_html("/account").await.contains("ann@example.com"), "unchanged until the link is opened");
    let opened = app.new_browser().get(&link).await;
    assert_eq!(opened.status(), StatusCode::OK);
    assert!(opened.text().await.unwrap().contains("ann.new@example.com"));
    assert!(app.get_html("/account").await.contains("ann.new@example.com"));
    assert_eq!(app.new_browser().login("ann.new@example.com", PASSWORD).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.new_browser().get(&link).await.status(), StatusCode::GONE, "single use");
}

#[tokio::test]
async fn moving_to_a_taken_address_answers_as_any_move_and_tells_its_owner() {
    let app = TestApp::spawn().await;
    app.new_browser().signed_up("bob").await;
    app.signed_up("ann").await;

    let taken =
        app.post_form("/account", "/account/email", &[("email", "bob@example.com"), ("password", PASSWORD)]).await;
    let free =
        app.post_form("/account", "/account/email", &[("email", "ann2@example.com"), ("password", PASSWORD)]).await;

    assert_eq!(taken.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&taken), location(&free));
    let check = || async { mails_mentioning(&app, "bob@example.com", "Someone just asked to move another").await == 1 };
    eventually_async("bob hears about the attempt", check).await;
    assert_eq!(mails_mentioning(&app, "bob@example.com", "/account/email/").await, 0, "no link to a taken address");
    assert!(app.get_html("/account").await.contains("ann@example.com"));
}

#[tokio::test]
async fn moving_the_address_needs_the_password() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let response =
        app.post_form("/account", "/account/email", &[("email", "ann.new@example.com"), ("password", "wrong")]).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("That is not your current password.") && html.contains("ann.new@example.com"));
}

// ---- deleting the account ----

#[tokio::test]
async fn deleting_the_account_removes_its_memes_media_comments_and_sessions() {
    let app = TestApp::spawn().await;
    let bob = app.new_browser();
    bob.signed_up("bob").await;
    let bobs_meme = bob.save_meme("cameraman", &["bob's", "meme"]).await;
    app.signed_up("ann").await;
    let anns_meme = app.save_meme("cameraman", &["ann's", "meme"]).await;
    let meme = app.storage.memes.get(anns_meme.parse().unwrap()).await.unwrap().unwrap();
    let bobs_page = format!("/memes/{bobs_meme}");
    app.act(&bobs_page, &format!("/memes/{bobs_meme}/comments"), &[("body", "ann was here")]).await;
    app.act("/u/bob", "/u/bob/subscribe", &[]).await;
    let phone = app.new_browser();
    phone.login("ann", PASSWORD).await;
    assert_eq!(phone.signed_in_as().await.as_deref(), Some("ann"));
    assert!(app.get_html("/account").await.contains("your comments on other people"));

    let refused = app.post_form("/account", "/account/delete", &[("password", "wrong")]).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let deleted = app.post_form("/account", "/account/delete", &[("password", PASSWORD)]).await;

    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&deleted), "/account/deleted");
    assert_eq!(app.get(&format!("/memes/{anns_meme}")).await.status(), StatusCode::NOT_FOUND);
    for key in [&meme.media.display_key, &meme.media.thumb_key] {
        let gone = || async { app.get(&format!("/media/{key}")).await.status() == StatusCode::NOT_FOUND };
        eventually_async(&format!("{key} is deleted"), gone).await;
    }
    assert!(!bob.get_html(&bobs_page).await.contains("ann was here"), "the comment on bob's meme is gone");
    let bob_user =
        app.storage.users.find_by_username(&skyhigh::domain::Username::parse("bob").unwrap()).await.unwrap().unwrap();
    assert_eq!(app.storage.subscriptions.subscriber_count(&bob_user).await.unwrap(), 0);
    assert_eq!(app.signed_in_as().await, None);
    assert_eq!(phone.signed_in_as().await, None, "every session ends");
    assert_eq!(app.get("/u/ann").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.login("ann", PASSWORD).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let again: Browser = app.new_browser();
    let signup = again.signup("ann@example.com", "ann", PASSWORD).await;
    assert_eq!(signup.status(), StatusCode::SEE_OTHER, "the name and address are free again");
}
