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
    let example = chelsea["example_url"].as_str().unwrap();
    assert!(example.starts_with(&format!("{}/i/chelsea/", app.address)), "{example}");
    let drawn = app.get(example.trim_start_matches(&app.address)).await;
    assert_eq!(drawn.status(), StatusCode::OK);
    assert_eq!(drawn.headers()["content-type"], "image/jpeg");
}
