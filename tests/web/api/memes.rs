//! `/api/v1/memes`: the feed, making, reading and deleting memes, with tokens.

use reqwest::{Method, StatusCode};

use super::{create_meme, error_of, json_of, token, with_token};
use crate::helpers::{TestApp, png};

#[tokio::test]
async fn a_token_is_made_used_and_revoked_then_refused_everywhere() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let secret = token(&app, "laptop script").await;
    assert!(app.get_html("/account").await.contains("laptop script"), "listed by name");

    let meme = create_meme(&app, &secret, "chelsea", &["made by", "a bot"]).await;
    let id = meme["id"].as_str().unwrap();
    assert_eq!(meme["creator"], "ann");
    assert_eq!(meme["captions"], serde_json::json!(["made by", "a bot"]));
    assert!(meme["images"]["display"].as_str().unwrap().starts_with("http://"), "absolute URLs");
    assert!(meme["share_url"].as_str().unwrap().ends_with("/i/chelsea/made_by/a_bot.jpg"));
    let read = json_of(app.get(&format!("/api/v1/memes/{id}")).await, StatusCode::OK).await;
    assert_eq!(read["meme"]["id"], id);
    let display = reqwest::Url::parse(meme["images"]["display"].as_str().unwrap()).unwrap();
    assert_eq!(app.get(display.path()).await.status(), StatusCode::OK);

    // Revoked on the account page: the token opens nothing any more, not even reads.
    let page = app.get_html("/account").await;
    let token_id = page.split("/account/tokens/").nth(1).unwrap().split('/').next().unwrap().to_owned();
    let revoked = app.act("/account", &format!("/account/tokens/{token_id}/revoke"), &[]).await;
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    assert!(!app.get_html("/account").await.contains("laptop script"));
    let refused = with_token(&app, Method::POST, "/api/v1/memes", &secret)
        .json(&serde_json::json!({ "template": "chelsea" }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.headers()["www-authenticate"], "Bearer");
    assert_eq!(error_of(refused, StatusCode::UNAUTHORIZED).await.0, "unauthorized");
    let read = with_token(&app, Method::GET, "/api/v1/memes", &secret).send().await.unwrap();
    error_of(read, StatusCode::UNAUTHORIZED).await;
    let forged = with_token(&app, Method::GET, "/api/v1/memes", "shm_notatoken").send().await.unwrap();
    error_of(forged, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn another_users_token_cannot_revoke_mine_or_delete_my_meme() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let ann = token(&app, "ann-bot").await;
    let bob = app.new_browser();
    bob.signed_up("bob").await;
    let bobs = token(&bob, "bob-bot").await;
    let meme = create_meme(&app, &ann, "chelsea", &["mine"]).await;
    let id = meme["id"].as_str().unwrap();

    let delete = with_token(&app, Method::DELETE, &format!("/api/v1/memes/{id}"), &bobs).send().await.unwrap();
    assert_eq!(error_of(delete, StatusCode::FORBIDDEN).await.0, "forbidden");
    let ann_page = app.get_html("/account").await;
    let ann_token = ann_page.split("/account/tokens/").nth(1).unwrap().split('/').next().unwrap().to_owned();
    let revoke = bob.act("/account", &format!("/account/tokens/{ann_token}/revoke"), &[]).await;
    assert_eq!(revoke.status(), StatusCode::NOT_FOUND, "not bob's to revoke");
    assert!(app.get_html("/account").await.contains("ann-bot"));

    let mine = with_token(&app, Method::DELETE, &format!("/api/v1/memes/{id}"), &ann).send().await.unwrap();
    assert_eq!(mine.status(), StatusCode::NO_CONTENT);
    error_of(app.get(&format!("/api/v1/memes/{id}")).await, StatusCode::NOT_FOUND).await;
    let again = with_token(&app, Method::DELETE, &format!("/api/v1/memes/{id}"), &ann).send().await.unwrap();
    error_of(again, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn anonymous_callers_may_render_but_not_save() {
    let app = TestApp::spawn().await;
    let save = app
        .client
        .post(app.url("/api/v1/memes"))
        .json(&serde_json::json!({ "template": "chelsea" }))
        .send()
        .await
        .unwrap();
    let (code, message) = error_of(save, StatusCode::UNAUTHORIZED).await;
    assert_eq!(code, "unauthorized");
    assert!(message.contains("Bearer"), "{message}");
    let image = app
        .client
        .post(app.url("/api/v1/memes?save=false"))
        .json(&serde_json::json!({ "template": "chelsea", "boxes": [{ "text": "just", "font": "oswald", "fill": "#ff0000" }, { "text": "looking" }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(image.status(), StatusCode::OK);
    assert_eq!(image.headers()["content-type"], "image/jpeg");
    assert!(image.bytes().await.unwrap().starts_with(b"\xff\xd8\xff"));

    // A box placed by hand is drawn there; one running past the edge ends at it.
    let render = |boxes: serde_json::Value| {
        app.client
            .post(app.url("/api/v1/memes?save=false"))
            .json(&serde_json::json!({ "template": "chelsea", "boxes": boxes }))
            .send()
    };
    let default = render(serde_json::json!([{ "text": "here" }])).await.unwrap().bytes().await.unwrap();
    let placed = render(serde_json::json!([{ "text": "here", "x": 0.5, "y": 0.5, "w": 0.4, "h": 0.3 }])).await.unwrap();
    assert_eq!(placed.status(), StatusCode::OK);
    assert_ne!(placed.bytes().await.unwrap(), default, "the box moved");
    let past_the_edge =
        render(serde_json::json!([{ "text": "edge", "x": 1.0, "y": 1.0, "w": 1.0, "h": 1.0 }])).await.unwrap();
    assert_eq!(past_the_edge.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_uploaded_image_and_a_remix_are_made_through_the_api() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let secret = token(&app, "uploader").await;
    let form = reqwest::multipart::Form::new()
        .text("caption", "my own")
        .text("caption", "picture")
        .part("image", reqwest::multipart::Part::bytes(png(400, 300)).file_name("x.png"));
    let response = with_token(&app, Method::POST, "/api/v1/memes", &secret).multipart(form).send().await.unwrap();
    let upload = json_of(response, StatusCode::CREATED).await;
    assert_eq!(upload["template"], serde_json::Value::Null);
    assert!(upload["images"]["original"].as_str().unwrap().ends_with(".png"), "{upload}");
    assert_eq!(upload["share_url"], serde_json::Value::Null);

    let remix = with_token(&app, Method::POST, "/api/v1/memes", &secret)
        .json(&serde_json::json!({ "remix": upload["id"], "boxes": [{ "text": "my own" }, { "text": "remix" }] }))
        .send()
        .await
        .unwrap();
    let remix = json_of(remix, StatusCode::CREATED).await;
    assert_eq!(remix["parent_id"], upload["id"]);

    let not_an_image =
        reqwest::multipart::Form::new().part("image", reqwest::multipart::Part::bytes(b"hello".to_vec()));
    let refused =
        with_token(&app, Method::POST, "/api/v1/memes", &secret).multipart(not_an_image).send().await.unwrap();
    assert_eq!(error_of(refused, StatusCode::UNPROCESSABLE_ENTITY).await.0, "invalid");
}

#[tokio::test]
async fn the_feed_pages_with_each_memes_two_newest_comments() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let secret = token(&app, "bot").await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(
            create_meme(&app, &secret, "chelsea", &[&format!("meme {i}")]).await["id"].as_str().unwrap().to_owned(),
        );
    }
    for body in ["one", "two", "three"] {
        let response = with_token(&app, Method::POST, &format!("/api/v1/memes/{}/comments", ids[0]), &secret)
            .json(&serde_json::json!({ "body": body }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
    }

    let first = json_of(app.get("/api/v1/memes?limit=2").await, StatusCode::OK).await;
    let listed: Vec<&str> = first["memes"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(listed, [ids[2].as_str(), ids[1].as_str()]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = json_of(app.get(&format!("/api/v1/memes?limit=2&cursor={cursor}")).await, StatusCode::OK).await;
    let oldest = &second["memes"][0];
    assert_eq!(oldest["id"], ids[0].as_str());
    assert_eq!(second["next_cursor"], serde_json::Value::Null);
    let bodies: Vec<&str> =
        oldest["latest_comments"].as_array().unwrap().iter().map(|c| c["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, ["three", "two"]);
    assert_eq!(oldest["comment_count"], 3);

    let top = json_of(app.get("/api/v1/memes?sort=top").await, StatusCode::OK).await;
    assert!(top["memes"].is_array());
    for bad in [
        "/api/v1/memes?limit=0",
        "/api/v1/memes?limit=101",
        "/api/v1/memes?limit=many",
        "/api/v1/memes?sort=best",
        "/api/v1/memes?cursor=forged",
    ] {
        assert_eq!(error_of(app.get(bad).await, StatusCode::BAD_REQUEST).await.0, "bad_request", "{bad}");
    }
}

#[tokio::test]
async fn a_cookie_signed_in_browser_writes_only_with_the_pages_csrf_token() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let body = serde_json::json!({ "template": "chelsea", "boxes": [{ "text": "from the browser" }] });
    let without =
        app.client.post(app.url("/api/v1/memes")).header("origin", &app.address).json(&body).send().await.unwrap();
    error_of(without, StatusCode::FORBIDDEN).await;
    let csrf = app.csrf_token("/memes/new").await;
    let with = app
        .client
        .post(app.url("/api/v1/memes"))
        .header("origin", &app.address)
        .header("x-csrf-token", csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(with, StatusCode::CREATED).await["creator"], "ann");
    let cross_site = app
        .client
        .post(app.url("/api/v1/memes"))
        .header("origin", "https://evil.example")
        .json(&body)
        .send()
        .await
        .unwrap();
    error_of(cross_site, StatusCode::FORBIDDEN).await;
}

#[tokio::test]
async fn api_writes_past_the_limit_get_429_with_retry_after() {
    const LIMIT: usize = 2;
    let app = TestApp::spawn_with(|c| c.api_writes_per_minute = LIMIT as u64).await;
    app.signed_up("ann").await;
    let secret = token(&app, "busy bot").await;
    // The limit counts per clock minute: writes that straddle a minute's end may get LIMIT more
    // before the refusal, never more than that.
    let mut accepted = 0;
    let refused = loop {
        let response = with_token(&app, Method::POST, "/api/v1/memes", &secret)
            .json(&serde_json::json!({ "template": "chelsea" }))
            .send()
            .await
            .unwrap();
        if response.status() != StatusCode::CREATED {
            break response;
        }
        accepted += 1;
        assert!(accepted <= 2 * LIMIT, "{accepted} writes accepted with a limit of {LIMIT} a minute");
    };
    assert!(accepted >= LIMIT, "refused after {accepted}");
    let retry: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(error_of(refused, StatusCode::TOO_MANY_REQUESTS).await.0, "rate_limited");
}

#[tokio::test]
async fn an_unconfirmed_account_cannot_post_through_a_token_either() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let secret = token(&app, "bot").await;
    let bob = app.new_browser();
    let response = bob.signup("bob@example.com", "bob", crate::helpers::PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    bob.login("bob", crate::helpers::PASSWORD).await;
    let bobs = token(&bob, "unconfirmed bot").await;
    let refused = with_token(&bob, Method::POST, "/api/v1/memes", &bobs)
        .json(&serde_json::json!({ "template": "chelsea" }))
        .send()
        .await
        .unwrap();
    error_of(refused, StatusCode::FORBIDDEN).await;
    create_meme(&app, &secret, "chelsea", &["confirmed"]).await;
}
