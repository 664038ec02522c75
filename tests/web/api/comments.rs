//! `/api/v1/memes/{id}/comments`: commenting and deleting, with the pages' authorization.

use reqwest::{Method, StatusCode};

use super::{create_meme, error_of, json_of, token, with_token};
use crate::helpers::TestApp;

#[tokio::test]
async fn comments_are_added_validated_and_deleted_by_their_author_or_the_memes_creator_only() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let ann = token(&app, "ann").await;
    let bob = app.new_browser();
    bob.signed_up("bob").await;
    let bobs = token(&bob, "bob").await;
    let carol = app.new_browser();
    carol.signed_up("carol").await;
    let carols = token(&carol, "carol").await;
    let meme = create_meme(&app, &ann, "chelsea", &["discuss"]).await;
    let id = meme["id"].as_str().unwrap();
    let comment = |token: &str, body: serde_json::Value| {
        with_token(&app, Method::POST, &format!("/api/v1/memes/{id}/comments"), token).json(&body).send()
    };

    let added =
        json_of(comment(&bobs, serde_json::json!({ "body": "  nice one  " })).await.unwrap(), StatusCode::CREATED)
            .await;
    assert_eq!((added["author"].as_str(), added["body"].as_str()), (Some("bob"), Some("nice one")));
    let second =
        json_of(comment(&bobs, serde_json::json!({ "body": "another" })).await.unwrap(), StatusCode::CREATED).await;
    for empty in ["", "   "] {
        error_of(comment(&bobs, serde_json::json!({ "body": empty })).await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY)
            .await;
    }
    let long = "x".repeat(2001);
    error_of(comment(&bobs, serde_json::json!({ "body": long })).await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY)
        .await;
    let missing = with_token(&app, Method::POST, "/api/v1/memes/01aaaaaaaaaaaaaaaaaaaaaaaa/comments", &bobs)
        .json(&serde_json::json!({ "body": "hello?" }))
        .send()
        .await
        .unwrap();
    error_of(missing, StatusCode::NOT_FOUND).await;

    let path = |c: &serde_json::Value| format!("/api/v1/memes/{id}/comments/{}", c["id"].as_str().unwrap());
    let by_carol = with_token(&app, Method::DELETE, &path(&added), &carols).send().await.unwrap();
    error_of(by_carol, StatusCode::FORBIDDEN).await;
    let by_author = with_token(&app, Method::DELETE, &path(&added), &bobs).send().await.unwrap();
    assert_eq!(by_author.status(), StatusCode::NO_CONTENT);
    let by_creator = with_token(&app, Method::DELETE, &path(&second), &ann).send().await.unwrap();
    assert_eq!(by_creator.status(), StatusCode::NO_CONTENT);
    let gone = with_token(&app, Method::DELETE, &path(&second), &ann).send().await.unwrap();
    error_of(gone, StatusCode::NOT_FOUND).await;
    let read = json_of(app.get(&format!("/api/v1/memes/{id}")).await, StatusCode::OK).await;
    assert_eq!(read["comments"], serde_json::json!([]));
    assert_eq!(read["meme"]["comment_count"], 0);
}
