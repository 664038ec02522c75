//! `/api/v1/users/{username}`: a creator, their memes, and subscribing.

use reqwest::{Method, StatusCode};

use super::{create_meme, error_of, json_of, token, with_token};
use crate::helpers::TestApp;

#[tokio::test]
async fn a_creator_their_memes_and_subscribing_idempotently_but_never_to_oneself() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let ann = token(&app, "ann").await;
    let bob = app.new_browser();
    bob.signed_up("bob").await;
    let bobs = token(&bob, "bob").await;
    let older = create_meme(&app, &ann, "chelsea", &["older"]).await;
    let newer = create_meme(&app, &ann, "chelsea", &["newer"]).await;

    let user = json_of(app.get("/api/v1/users/ann").await, StatusCode::OK).await;
    assert_eq!((user["username"].as_str(), user["subscriber_count"].as_u64()), (Some("ann"), Some(0)));
    let memes = json_of(app.get("/api/v1/users/ann/memes?limit=1").await, StatusCode::OK).await;
    assert_eq!(memes["memes"][0]["id"], newer["id"]);
    let rest = json_of(
        app.get(&format!("/api/v1/users/ann/memes?limit=1&cursor={}", memes["next_cursor"].as_str().unwrap())).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(rest["memes"][0]["id"], older["id"]);
    error_of(app.get("/api/v1/users/nobody/memes").await, StatusCode::NOT_FOUND).await;
    error_of(app.get("/api/v1/users/no%20such%20name").await, StatusCode::NOT_FOUND).await;

    for _ in 0..2 {
        let put = with_token(&bob, Method::PUT, "/api/v1/users/ann/subscription", &bobs).send().await.unwrap();
        assert_eq!(json_of(put, StatusCode::OK).await["subscribed"], true);
    }
    assert_eq!(json_of(app.get("/api/v1/users/ann").await, StatusCode::OK).await["subscriber_count"], 1);
    let to_self = with_token(&app, Method::PUT, "/api/v1/users/ann/subscription", &ann).send().await.unwrap();
    error_of(to_self, StatusCode::UNPROCESSABLE_ENTITY).await;
    for _ in 0..2 {
        let delete = with_token(&bob, Method::DELETE, "/api/v1/users/ann/subscription", &bobs).send().await.unwrap();
        assert_eq!(json_of(delete, StatusCode::OK).await["subscribed"], false);
    }
    assert_eq!(json_of(app.get("/api/v1/users/ann").await, StatusCode::OK).await["subscriber_count"], 0);
    let nobody = with_token(&bob, Method::PUT, "/api/v1/users/nobody/subscription", &bobs).send().await.unwrap();
    error_of(nobody, StatusCode::NOT_FOUND).await;
    let anonymous = app.new_browser().client.put(app.url("/api/v1/users/ann/subscription")).send().await.unwrap();
    error_of(anonymous, StatusCode::UNAUTHORIZED).await;
}
