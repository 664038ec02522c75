use reqwest::StatusCode;

use crate::helpers::TestApp;

#[tokio::test]
async fn media_folders_and_paths_through_a_file_are_404_not_500() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let id = app.save_meme("chelsea", &["top", "bottom"]).await;

    for path in [
        "/media/memes".to_owned(),
        "/media/originals".to_owned(),
        "/media/templates".to_owned(),
        format!("/media/memes/{id}"),
        format!("/media/memes/{id}/display.jpg/more"),
        "/media/../skyhigh.db".to_owned(),
        "/media/memes/UPPER.jpg".to_owned(),
    ] {
        let response = app.get(&path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let display = app.get(&format!("/media/memes/{id}/display.jpg")).await;
    assert_eq!(display.status(), StatusCode::OK, "the meme's own media still serve");
}
