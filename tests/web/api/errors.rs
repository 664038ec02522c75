//! Every failure under `/api` is the JSON error body with the right status, extractor
//! rejections and unknown routes included.

use reqwest::{Method, StatusCode};

use super::{error_of, token, with_token};
use crate::helpers::TestApp;

#[tokio::test]
async fn every_rejection_is_the_json_error_body_with_its_status() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let secret = token(&app, "bot").await;
    let post = |body: &'static str, content_type: &'static str| {
        with_token(&app, Method::POST, "/api/v1/memes", &secret).header("content-type", content_type).body(body).send()
    };
    let cases = [
        (post("{not json", "application/json").await.unwrap(), StatusCode::BAD_REQUEST, "bad_request"),
        (post(r#"{"template": 7}"#, "application/json").await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        (
            post(r#"{"template": "chelsea", "surprise": 1}"#, "application/json").await.unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
        (
            post(r#"{"template": "no-such"}"#, "application/json").await.unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
        (
            post(
                r#"{"template": "chelsea", "boxes": [{"text": "x", "x": 2, "y": 0, "w": 0.5, "h": 0.5}]}"#,
                "application/json",
            )
            .await
            .unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
        (
            post(r#"{"template": "chelsea", "boxes": [{"text": "x", "fill": "red"}]}"#, "application/json")
                .await
                .unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
        (
            post("template=chelsea", "text/plain").await.unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (app.get("/api/v1/nothing/here").await, StatusCode::NOT_FOUND, "not_found"),
        (app.get("/api/v2/memes").await, StatusCode::NOT_FOUND, "not_found"),
        (
            app.client.patch(app.url("/api/v1/memes")).send().await.unwrap(),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
    ];
    for (response, status, code) in cases {
        let url = response.url().to_string();
        assert_eq!(error_of(response, status).await.0, code, "{url}");
    }
    let comment = format!(r#"{{"body": "{}"}}"#, "x".repeat(70 * 1024));
    let too_large = with_token(&app, Method::POST, "/api/v1/memes/01aaaaaaaaaaaaaaaaaaaaaaaa/comments", &secret)
        .header("content-type", "application/json")
        .body(comment)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(too_large, StatusCode::PAYLOAD_TOO_LARGE).await.0, "payload_too_large");
    let many = serde_json::json!({ "template": "chelsea", "boxes": vec![serde_json::json!({ "text": "x" }); 21] });
    let too_many = with_token(&app, Method::POST, "/api/v1/memes", &secret).json(&many).send().await.unwrap();
    error_of(too_many, StatusCode::UNPROCESSABLE_ENTITY).await;
}
