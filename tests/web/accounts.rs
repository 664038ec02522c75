use reqwest::StatusCode;
use skyhigh::domain::{Email, Username};

use crate::helpers::{PASSWORD, TestApp, confirmation_link, mail_to, signed_in_user, without_csrf_tokens};

#[tokio::test]
async fn signing_up_emails_a_link_that_confirms_the_address_and_then_you_sign_in() {
    let app = TestApp::spawn().await;

    let response = app.signup("ann@example.com", "Ann_1", PASSWORD).await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/signup/sent");
    assert_eq!(app.signed_in_as().await, None, "not signed in before the address is confirmed");
    assert!(app.get_html("/signup/sent").await.contains("Check your email"));
    let link = confirmation_link(&app.data_dir, "ann@example.com").await;
    let confirmed = app.get_html(&link).await;
    assert!(confirmed.contains("Your email address is confirmed"), "{confirmed}");
    assert!(confirmed.contains(r#"value="ann_1""#), "the sign-in form knows who");
    let used_again = app.get(&link).await;
    assert_eq!(used_again.status(), StatusCode::BAD_REQUEST, "the link works once");
    assert_eq!(app.login("ann_1", PASSWORD).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.signed_in_as().await.as_deref(), Some("ann_1"));
}

#[tokio::test]
async fn an_unconfirmed_account_can_sign_in_and_look_around_but_not_post() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let meme = app.save_meme("chelsea", &["posted by", "a confirmed account"]).await;
    let newbie = app.new_browser();
    newbie.signup("newbie@example.com", "newbie", PASSWORD).await;
    assert_eq!(newbie.login("newbie", PASSWORD).await.status(), StatusCode::SEE_OTHER, "signing in works");

    let home = newbie.get_html("/").await;
    let save = newbie.post_meme_form("/memes", &[("template", "chelsea"), ("caption", "x"), ("save", "1")], None).await;
    let comment = newbie.act(&format!("/memes/{meme}"), &format!("/memes/{meme}/comments"), &[("body", "hi")]).await;
    let follow = newbie.act("/u/ann", "/u/ann/subscribe", &[]).await;
    let download = newbie.post_meme_form("/memes", &[("template", "chelsea"), ("caption", "x")], None).await;

    assert!(home.contains("Please confirm your email address"), "a banner says what to do");
    for (what, response) in [("save", save), ("comment", comment), ("subscribe", follow)] {
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{what}");
        assert!(response.text().await.unwrap().contains("confirm your email address first"), "{what}");
    }
    assert_eq!(download.status(), StatusCode::OK, "making a meme to download needs no account at all");

    newbie.confirm_email("newbie@example.com").await;
    let saved =
        newbie.post_meme_form("/memes", &[("template", "chelsea"), ("caption", "x"), ("save", "1")], None).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER, "confirmed in this browser's session: posting works");
}

#[tokio::test]
async fn the_confirmation_link_can_be_sent_again_a_few_times_an_hour() {
    let app = TestApp::spawn().await;
    app.signup("ann@example.com", "ann", PASSWORD).await;
    confirmation_link(&app.data_dir, "ann@example.com").await;
    app.login("ann", PASSWORD).await;

    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(app.act("/", "/verify/resend", &[]).await.status());
    }

    assert_eq!(statuses[..3], [StatusCode::SEE_OTHER; 3]);
    assert_eq!(statuses[3], StatusCode::TOO_MANY_REQUESTS);
    crate::helpers::eventually_async("four links in all", || async {
        mail_to(&app.data_dir, "ann@example.com").await.len() == 4
    })
    .await;
}

#[tokio::test]
async fn a_duplicate_username_in_any_letter_case_is_refused_with_422_and_creates_nothing() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let other_app = app.new_browser();

    let response = other_app.signup("someone@example.com", "ANN", PASSWORD).await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("That username is taken"), "{html}");
    assert!(html.contains(r#"value="someone@example.com""#), "input is kept");
    let email = Email::parse("someone@example.com").unwrap();
    assert!(app.storage.users.find_by_email(&email).await.unwrap().is_none(), "nothing was created");
    assert_eq!(other_app.signed_in_as().await, None);
}

#[tokio::test]
async fn signing_up_with_a_registered_email_answers_as_for_a_new_one_and_tells_its_owner() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let stranger = app.new_browser();

    let taken = stranger.signup("ANN@Example.com", "bob", PASSWORD).await;
    let fresh = stranger.signup("carol@example.com", "carol", PASSWORD).await;

    // The same status, the same place, the same page: nothing says the address is registered.
    assert_eq!((taken.status(), fresh.status()), (StatusCode::SEE_OTHER, StatusCode::SEE_OTHER));
    assert_eq!(taken.headers()["location"], fresh.headers()["location"]);
    assert_eq!(set_cookie(&taken, "skyhigh_session"), None);
    assert_eq!(set_cookie(&fresh, "skyhigh_session"), None);
    let bob = Username::parse("bob").unwrap();
    assert!(app.storage.users.find_by_username(&bob).await.unwrap().is_none(), "nothing was created");
    crate::helpers::eventually_async("ann hears about the attempt", || async {
        mail_to(&app.data_dir, "ann@example.com").await.iter().any(|m| m.contains("Someone tried to sign up"))
    })
    .await;
    let to_ann = mail_to(&app.data_dir, "ann@example.com").await;
    assert!(to_ann.iter().all(|m| !m.contains("/verify/") || m.contains("Confirm your email")), "no link for bob");
}

#[tokio::test]
async fn sign_ups_are_limited_per_client_address() {
    let app = TestApp::spawn_with(|c| c.signups_per_hour = 3).await;
    let mut statuses = Vec::new();
    for i in 0..4 {
        statuses.push(app.signup(&format!("u{i}@example.com"), &format!("user{i}"), PASSWORD).await.status());
    }
    assert_eq!(statuses[..3], [StatusCode::SEE_OTHER; 3]);
    assert_eq!(statuses[3], StatusCode::TOO_MANY_REQUESTS);
    let user3 = Username::parse("user3").unwrap();
    assert!(app.storage.users.find_by_username(&user3).await.unwrap().is_none());
}

#[tokio::test]
async fn bad_usernames_emails_and_short_passwords_each_get_a_message_and_the_password_is_not_echoed() {
    let app = TestApp::spawn().await;

    let response = app.signup("not-an-email", "a!", "short-pw1").await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("Enter an email address like name@example.com."), "{html}");
    assert!(html.contains("A username is 3 to 30 characters long."));
    assert!(html.contains("A password needs at least 10 characters."));
    assert!(html.contains(r#"value="not-an-email""#), "input is kept");
    assert!(!html.contains("short-pw1"), "the password is never sent back");
    assert_eq!(app.signed_in_as().await, None);
}

#[tokio::test]
async fn a_username_with_forbidden_characters_gets_a_message() {
    let app = TestApp::spawn().await;
    let response = app.signup("ann@example.com", "ann smith", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text().await.unwrap().contains("may use only letters"));
}

#[tokio::test]
async fn signing_in_works_by_username_and_by_email() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    app.logout().await;
    assert_eq!(app.signed_in_as().await, None);

    let by_username = app.login("Ann", PASSWORD).await;
    assert_eq!(by_username.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.signed_in_as().await.as_deref(), Some("ann"));

    app.logout().await;
    let by_email = app.login("ann@EXAMPLE.com", PASSWORD).await;
    assert_eq!(by_email.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.signed_in_as().await.as_deref(), Some("ann"));
}

#[tokio::test]
async fn signing_in_returns_you_to_a_local_page_but_never_to_another_site() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    app.logout().await;

    let local =
        app.post_form("/login", "/login", &[("login", "ann"), ("password", PASSWORD), ("next", "/u/ann")]).await;
    assert_eq!(local.headers()["location"], "/u/ann");

    app.logout().await;
    let evil = app
        .post_form("/login", "/login", &[("login", "ann"), ("password", PASSWORD), ("next", "//evil.example/")])
        .await;
    assert_eq!(evil.headers()["location"], "/");
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_identical_responses() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    app.logout().await;

    let wrong_password = app.login("ann", "not the password at all").await;
    let unknown_user = app.login("nobody", "not the password at all").await;

    assert_eq!(wrong_password.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(wrong_password.status(), unknown_user.status());
    let a = without_csrf_tokens(&wrong_password.text().await.unwrap()).replace("value=\"ann\"", "value=\"X\"");
    let b = without_csrf_tokens(&unknown_user.text().await.unwrap()).replace("value=\"nobody\"", "value=\"X\"");
    assert_eq!(a, b, "the pages differ only in the login typed");
    assert!(a.contains("don&#39;t match an account"), "{a}");
}

#[tokio::test]
async fn the_session_id_changes_at_sign_in() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    app.logout().await;
    // Give the anonymous browser a session of its own first (as an attacker planting an id would).
    let planted = "AAAAAAAAAAAAAAAAAAAAAA";
    app.jar.add_cookie_str(&format!("skyhigh_session={planted}; Path=/"), &app.address.parse().unwrap());

    app.login("ann", PASSWORD).await;

    let after = app.session_cookie().expect("signed-in session cookie");
    assert_ne!(after, planted);
    assert_eq!(app.signed_in_as().await.as_deref(), Some("ann"));
}

/// The sharp case: a session that exists on the server (here ann's) must not carry over into
/// the next sign-in; else whoever knew the old id would be signed in as bob.
#[tokio::test]
async fn signing_in_over_a_live_session_replaces_its_id_and_the_old_one_is_dead() {
    let app = TestApp::spawn().await;
    app.new_browser().signed_up("bob").await;
    app.signed_up("ann").await;
    let before = app.session_cookie().expect("ann's session");

    // The sign-in form posted while still signed in as ann (the token from any page's form).
    let response = app.post_form("/", "/login", &[("login", "bob"), ("password", PASSWORD)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    let after = app.session_cookie().expect("bob's session");
    assert_ne!(after, before);
    assert_eq!(app.signed_in_as().await.as_deref(), Some("bob"));
    assert_eq!(signed_in_with(&app, &before).await, None, "the old id is signed in as nobody");
}

#[tokio::test]
async fn every_sign_in_gets_a_new_session_id() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let first = app.session_cookie().unwrap();
    app.logout().await;
    app.login("ann", PASSWORD).await;
    let second = app.session_cookie().unwrap();
    assert_ne!(first, second);
}

#[tokio::test]
async fn after_sign_out_the_old_cookie_is_anonymous() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let old_cookie = app.session_cookie().unwrap();

    let response = app.logout().await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    // Replay the old cookie from a browser that never signed out.
    assert_eq!(signed_in_with(&app, &old_cookie).await, None);
}

#[tokio::test]
async fn a_session_survives_a_server_restart() {
    let data = tempfile::tempdir().unwrap();
    let first = TestApp::spawn_in(data.path(), |_| {}).await;
    first.signed_up("ann").await;
    let cookie = first.session_cookie().unwrap();
    first.stop().await;

    let second = TestApp::spawn_in(data.path(), |_| {}).await;
    let html = second
        .client
        .get(second.url("/"))
        .header("cookie", format!("skyhigh_session={cookie}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    assert_eq!(signed_in_user(&html).as_deref(), Some("ann"));
    second.stop().await;
}

#[tokio::test]
async fn the_eleventh_wrong_password_in_a_row_gets_429_with_retry_after() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    app.logout().await;

    for attempt in 1..=10 {
        let response = app.login("ann", "wrong password!!").await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "attempt {attempt}");
    }
    let eleventh = app.login("ann", PASSWORD).await;

    assert_eq!(eleventh.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = eleventh.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=15 * 60).contains(&retry_after), "{retry_after}");
    assert!(eleventh.text().await.unwrap().contains("Too many failed attempts"));
    assert_eq!(app.signed_in_as().await, None, "even the right password waits");
}

#[tokio::test]
async fn guesses_by_username_and_by_email_count_against_the_same_account() {
    let app = TestApp::spawn_with(|c| c.trusted_proxies = 1).await;
    app.signed_up("ann").await;
    app.logout().await;
    // Each guess from its own address, so only the account's own count can add up to ten.
    let attempt = |login: &'static str, password: &'static str, n: u8| {
        let app = &app;
        async move {
            let request = app.form_request("/login", "/login", &[("login", login), ("password", password)]).await;
            request.header("x-forwarded-for", format!("203.0.113.{n}")).send().await.unwrap().status()
        }
    };

    for n in 1..=10 {
        let login = if n % 2 == 0 { "ann" } else { "ANN@example.com" };
        assert_eq!(attempt(login, "wrong password!!", n).await, StatusCode::UNPROCESSABLE_ENTITY, "guess {n}");
    }

    assert_eq!(attempt("Ann", PASSWORD, 11).await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        attempt("nobody", "wrong password!!", 12).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "others are not held up"
    );
}

#[tokio::test]
async fn session_cookies_are_http_only_and_same_site_lax() {
    let app = TestApp::spawn().await;
    app.signup("ann@example.com", "ann", PASSWORD).await;
    app.confirm_email("ann@example.com").await;
    let response = app.login("ann", PASSWORD).await;
    let cookie = set_cookie(&response, "skyhigh_session").expect("session cookie set");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "not Secure unless configured: {cookie}");
}

#[tokio::test]
async fn cookies_are_secure_when_configured() {
    let app = TestApp::spawn_with(|c| c.cookie_secure = true).await;
    let response = app.get("/signup").await;
    let csrf = set_cookie(&response, "skyhigh_csrf").expect("csrf cookie set");
    assert!(csrf.contains("Secure") && csrf.contains("HttpOnly"), "{csrf}");
    assert!(response.headers().contains_key("strict-transport-security"));
}

fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// Who a fresh browser presenting `session_cookie` is signed in as.
async fn signed_in_with(app: &TestApp, session_cookie: &str) -> Option<String> {
    let response = app
        .new_browser()
        .client
        .get(app.url("/"))
        .header("cookie", format!("skyhigh_session={session_cookie}"))
        .send()
        .await
        .unwrap();
    signed_in_user(&response.text().await.unwrap())
}
