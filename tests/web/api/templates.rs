//! `/api/v1/templates`: each template with its boxes and a working `/i/` example.

use reqwest::StatusCode;

use super::json_of;
use crate::helpers::TestApp;

#[tokio::test]
async fn templates_are_listed_with_their_boxes_and_an_example_url_that_draws() {
    let app = TestApp::spawn().await;
    let list = json_of(app.get("/api/v1/templates").await, StatusCode::OK).await;
    let templates = list["templates"].as_array().unwrap();
    assert_eq!(templates.len(), skyhigh::render::templates::catalog().len());
    let chelsea = templates.iter().find(|t| t["id"] == "chelsea").expect("chelsea is listed");
    assert!(!chelsea["boxes"].as_array().unwrap().is_empty());
    // Absolute, at the site's public address (SKYHIGH_BASE_URL; here an instance's own).
    let example = reqwest::Url::parse(chelsea["example_url"].as_str().unwrap()).unwrap();
    assert!(example.path().starts_with("/i/chelsea/"), "{example}");
    let drawn = app.get(example.path()).await;
    assert_eq!(drawn.status(), StatusCode::OK);
    assert_eq!(drawn.headers()["content-type"], "image/jpeg");
}
