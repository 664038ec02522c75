//! The JSON API (`/api/v1`), one file per route file of `src/web/api/`: the same rules as the
//! pages, personal API tokens, and the error body on every failure.

mod comments;
mod errors;
mod memes;
mod openapi;
mod templates;
mod users;

use reqwest::{Response, StatusCode};
use serde_json::Value;

use crate::helpers::Browser;

/// Makes a personal API token on the account page and reads its secret from the page the
/// creation redirects to (the only time it is shown).
pub async fn token(browser: &Browser, name: &str) -> String {
    let response = browser.act("/account", "/account/tokens", &[("name", name)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "making a token");
    let page = browser.get_html("/account").await;
    let secret = page.split("value=\"shm_").nth(1).expect("the new token is shown").split('"').next().unwrap();
    assert!(!browser.get_html("/account").await.contains(secret), "shown once");
    format!("shm_{secret}")
}

/// A request with `Authorization: Bearer <token>` (and no cookies).
pub fn with_token(browser: &Browser, method: reqwest::Method, path: &str, token: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new().request(method, browser.url(path)).bearer_auth(token)
}

/// The error body every failure has, checked: its code and message.
pub async fn error_of(response: Response, status: StatusCode) -> (String, String) {
    assert_eq!(response.status(), status, "{}", response.url());
    assert_eq!(response.headers()["content-type"], "application/json", "{}", response.url());
    let body: Value = response.json().await.expect("a JSON error body");
    let code = body["error"]["code"].as_str().expect("error.code").to_owned();
    let message = body["error"]["message"].as_str().expect("error.message").to_owned();
    assert!(!message.is_empty());
    (code, message)
}

pub async fn json_of(response: Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status, "{}", response.url());
    assert_eq!(response.headers()["content-type"], "application/json");
    response.json().await.unwrap()
}

/// Saves a meme on `template` with `captions` through the API; returns its JSON.
pub async fn create_meme(browser: &Browser, token: &str, template: &str, captions: &[&str]) -> Value {
    let boxes: Vec<Value> = captions.iter().map(|c| serde_json::json!({ "text": c })).collect();
    let response = with_token(browser, reqwest::Method::POST, "/api/v1/memes", token)
        .json(&serde_json::json!({ "template": template, "boxes": boxes }))
        .send()
        .await
        .unwrap();
    json_of(response, StatusCode::CREATED).await
}
