//! What a link to a meme, a portfolio or a template shows where it is pasted (Open Graph and
//! Twitter card tags), and downloads named after their captions.

use reqwest::StatusCode;

use crate::helpers::TestApp;

/// The `content` of `<meta property|name="{name}" content="…">` in `html`.
fn meta(html: &str, name: &str) -> Option<String> {
    let needle = format!("=\"{name}\" content=\"");
    let rest = &html[html.find(&needle)? + needle.len()..];
    Some(rest.split('"').next()?.replace("&#x2f;", "/").replace("&amp;", "&"))
}

/// The size of a JPEG from its SOF marker.
fn jpeg_size(bytes: &[u8]) -> (u32, u32) {
    let mut i = 2;
    while i + 9 < bytes.len() {
        let marker = bytes[i + 1];
        let length = usize::from(bytes[i + 2]) << 8 | usize::from(bytes[i + 3]);
        if (0xc0..=0xc2).contains(&marker) {
            let height = u32::from(bytes[i + 5]) << 8 | u32::from(bytes[i + 6]);
            let width = u32::from(bytes[i + 7]) << 8 | u32::from(bytes[i + 8]);
            return (width, height);
        }
        i += 2 + length;
    }
    panic!("no SOF marker");
}

#[tokio::test]
async fn a_memes_og_image_is_an_absolute_url_that_serves_the_image_at_the_size_it_states() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let id = app.save_meme("chelsea", &["when the link", "shows a picture"]).await;

    let html = app.get_html(&format!("/memes/{id}")).await;

    let image = meta(&html, "og:image").expect("og:image");
    assert!(image.starts_with("http://") || image.starts_with("https://"), "absolute: {image}");
    let response = app.client.get(&image).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{image}");
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    let (width, height) = jpeg_size(&response.bytes().await.unwrap());
    assert_eq!(meta(&html, "og:image:width"), Some(width.to_string()));
    assert_eq!(meta(&html, "og:image:height"), Some(height.to_string()));
    assert_eq!(meta(&html, "og:title").as_deref(), Some("Meme: when the link / shows a picture"));
    assert_eq!(meta(&html, "og:url"), Some(app.url(&format!("/memes/{id}"))));
    assert_eq!(meta(&html, "twitter:card").as_deref(), Some("summary_large_image"));
    assert!(meta(&html, "og:description").is_some_and(|d| d.contains("ann")));
}

#[tokio::test]
async fn a_portfolio_shows_its_newest_meme_and_a_template_its_picture() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    app.save_meme("chelsea", &["older"]).await;
    let newest = app.save_meme("rocket", &["newest"]).await;
    let meme_page = app.get_html(&format!("/memes/{newest}")).await;

    let portfolio = app.get_html("/u/ann").await;
    assert_eq!(meta(&portfolio, "og:image"), meta(&meme_page, "og:image"), "the newest meme's picture");
    assert_eq!(meta(&portfolio, "twitter:card").as_deref(), Some("summary_large_image"));

    let template = app.get_html("/templates/chelsea").await;
    let image = meta(&template, "og:image").expect("og:image");
    assert_eq!(image, app.url("/templates/chelsea/image"));
    assert_eq!(app.client.get(&image).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(meta(&template, "og:image:width").as_deref(), Some("451"));
    assert_eq!(meta(&template, "og:image:height").as_deref(), Some("300"));
}

#[tokio::test]
async fn a_portfolio_without_memes_has_a_card_without_a_picture() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let html = app.new_browser().get_html("/u/ann").await;
    assert_eq!(meta(&html, "og:image"), None);
    assert_eq!(meta(&html, "twitter:card").as_deref(), Some("summary"));
    assert_eq!(meta(&html, "og:title").as_deref(), Some("ann on Sky-High Memes"));
}

#[tokio::test]
async fn a_download_is_named_after_its_captions() {
    let app = TestApp::spawn().await;

    let response = app
        .post_meme_form("/memes", &[("template", "chelsea"), ("caption", "One does NOT"), ("caption", "simply…")], None)
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-disposition"], "attachment; filename=\"one-does-not-simply.jpg\"");

    app.signed_up("ann").await;
    let id = app.save_meme("chelsea", &["Hello", "World!"]).await;
    let html = app.get_html(&format!("/memes/{id}")).await;
    assert!(html.contains(r#"download="hello-world.jpg""#), "the meme page's Download link");
}
