use reqwest::StatusCode;
use skyhigh::domain::Username;

use crate::helpers::{PASSWORD, TestApp, cookie_value};

async fn no_user_named(app: &TestApp, name: &str) -> bool {
    let name = Username::parse(name).unwrap();
    app.storage.users.find_by_username(&name).await.unwrap().is_none()
}

#[tokio::test]
async fn a_post_without_a_csrf_token_gets_403_and_writes_nothing() {
    let app = TestApp::spawn().await;
    app.get("/signup").await; // the browser has its CSRF cookie

    let response = app
        .client
        .post(app.url("/signup"))
        .form(&[("email", "ann@example.com"), ("username", "ann"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.text().await.unwrap().contains("reload the page"));
    assert!(no_user_named(&app, "ann").await);
}

#[tokio::test]
async fn a_post_with_a_forged_csrf_token_gets_403_and_writes_nothing() {
    let app = TestApp::spawn().await;
    // A token that is valid — but for another browser's secret.
    let token = app.new_browser().csrf_token("/signup").await;
    app.get("/signup").await;

    let response = app
        .client
        .post(app.url("/signup"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("email", "ann@example.com"),
            ("username", "ann"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(no_user_named(&app, "ann").await);
}

#[tokio::test]
async fn a_post_with_a_cross_site_origin_gets_403_and_writes_nothing_even_with_a_valid_token() {
    let app = TestApp::spawn().await;
    let token = app.csrf_token("/signup").await;
    let form =
        [("csrf_token", token.as_str()), ("email", "ann@example.com"), ("username", "ann"), ("password", PASSWORD)];

    let by_origin =
        app.client.post(app.url("/signup")).header("origin", "https://evil.example").form(&form).send().await.unwrap();
    let by_fetch_metadata =
        app.client.post(app.url("/signup")).header("sec-fetch-site", "cross-site").form(&form).send().await.unwrap();

    assert_eq!(by_origin.status(), StatusCode::FORBIDDEN);
    assert_eq!(by_fetch_metadata.status(), StatusCode::FORBIDDEN);
    assert!(no_user_named(&app, "ann").await);
}

#[tokio::test]
async fn sign_out_without_a_token_does_not_sign_you_out() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;

    let response = app.client.post(app.url("/logout")).send().await.unwrap();

    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.signed_in_as().await.as_deref(), Some("ann"));
}

#[tokio::test]
async fn security_headers_are_on_every_response() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let anonymous = app.new_browser();

    let mut responses = Vec::new();
    // Pages, and the resources that skip the session layers (images by URL, media, static
    // files, the health check), answered or not.
    let resources =
        ["/healthz", "/static/site.css", "/i/chelsea/a/b.jpg", "/i/no-such-template/a.jpg", "/media/none.jpg"];
    for path in ["/", "/login", "/signup", "/no-such-page"].into_iter().chain(resources) {
        responses.push((path, app.get(path).await));
        responses.push((path, anonymous.get(path).await));
    }
    responses.push(("POST /logout without token", app.client.post(app.url("/logout")).send().await.unwrap()));

    for (what, response) in responses {
        let headers = response.headers();
        let csp = headers.get("content-security-policy").unwrap_or_else(|| panic!("{what}: no CSP")).to_str().unwrap();
        for directive in ["object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "script-src 'self'"] {
            assert!(csp.contains(directive), "{what}: CSP lacks {directive}: {csp}");
        }
        assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{what}");
        assert!(headers.contains_key("referrer-policy"), "{what}");
        assert!(!headers.contains_key("strict-transport-security"), "{what}: no HSTS over plain HTTP");
    }
}

#[tokio::test]
async fn pages_contain_no_inline_script() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    for path in ["/", "/login", "/signup", "/nope"] {
        let html = app.get(path).await.text().await.unwrap();
        assert!(!html.contains("<script>"), "{path}");
        assert!(!html.contains(" onclick="), "{path}");
    }
}

#[tokio::test]
async fn a_planted_csrf_cookie_with_its_own_valid_token_cannot_act_for_a_signed_in_user() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let id = app.save_meme("chelsea", &["keep me"]).await;
    // The attacker takes a cookie and a matching token from a page of their own…
    let attacker = app.new_browser();
    let token = attacker.csrf_token("/signup").await;
    let planted = cookie_value(&attacker.jar, &attacker.address, "skyhigh_csrf").expect("a csrf cookie");
    // …and plants the cookie in ann's browser (from a sibling subdomain, or over plain HTTP).
    let url = reqwest::Url::parse(&app.address).unwrap();
    app.jar.add_cookie_str(&format!("skyhigh_csrf={planted}; Path=/"), &url);

    // A browser that sends no Origin or Sec-Fetch-Site header leaves only the token to stop it.
    let response = app
        .client
        .post(app.url(&format!("/memes/{id}/delete")))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.get(&format!("/memes/{id}")).await.status(), StatusCode::OK, "the meme is still there");
    // Ann's own pages, rendered with the planted cookie, still work for her.
    let own = app.post_form(&format!("/memes/{id}"), &format!("/memes/{id}/delete"), &[]).await;
    assert_eq!(own.status(), StatusCode::SEE_OTHER);
}
