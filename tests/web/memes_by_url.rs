//! Memes by URL (`/i/…`, and memegen's `/images/…`): escapes, options, caching headers.

use reqwest::StatusCode;
use skyhigh::render::{DISPLAY_MAX, Engine, OutputFormat, Source, templates};

use crate::helpers::TestApp;

/// What the engine draws for `captions` on a builtin template, as a PNG (lossless, so equal
/// images are equal bytes): the reference an `/i/` URL must match.
fn reference(template: &str, captions: &[&str]) -> Vec<u8> {
    let engine = Engine::new().unwrap();
    let spec = templates::find(template).unwrap().spec(captions);
    engine.render_sized(Source::Template(template), &spec, (DISPLAY_MAX, DISPLAY_MAX), OutputFormat::Png).unwrap().bytes
}

async fn png(app: &TestApp, path: &str) -> Vec<u8> {
    let response = app.get(path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    assert_eq!(response.headers()["content-type"], "image/png", "{path}");
    response.bytes().await.unwrap().to_vec()
}

#[tokio::test]
async fn every_memegen_escape_draws_exactly_the_text_it_stands_for() {
    let app = TestApp::spawn().await;
    for (line, text) in [
        ("hello_world", "hello world"),
        ("hello-world", "hello world"),
        ("snake__case", "snake_case"),
        ("kebab--case", "kebab-case"),
        ("two~nlines", "two\nlines"),
        ("why~q", "why?"),
        ("this~athat", "this&that"),
        ("100~p", "100%"),
        ("~h1", "#1"),
        ("and~sor", "and/or"),
        ("back~bslash", "back\\slash"),
        ("~lb~g", "<b>"),
        ("''quoted''", "\"quoted\""),
    ] {
        let drawn = png(&app, &format!("/i/chelsea/{line}/bottom.png")).await;
        assert!(drawn == reference("chelsea", &[text, "bottom"]), "{line} should draw {text:?}");
    }
    // A line that is only `_` is an empty line: the bottom text stays in the bottom box.
    let empty_top = png(&app, "/i/chelsea/_/bottom.png").await;
    assert!(empty_top == reference("chelsea", &["", "bottom"]), "_ alone is an empty line");
    assert!(empty_top != reference("chelsea", &["bottom"]), "and still a line");
}

#[tokio::test]
async fn memegens_images_path_is_the_same_meme() {
    let app = TestApp::spawn().await;
    let ours = png(&app, "/i/chelsea/and~sor/not.png").await;
    let memegen = png(&app, "/images/chelsea/and~sor/not.png").await;
    assert!(ours == memegen);
    assert!(ours == reference("chelsea", &["and/or", "not"]));
}

#[tokio::test]
async fn the_url_is_the_content_cached_forever_with_a_strong_etag_and_304() {
    let app = TestApp::spawn().await;
    let response = app.get("/i/chelsea/top/bottom.jpg").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    assert_eq!(response.headers()["cache-control"], "public, max-age=31536000, immutable");
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && !etag.starts_with("W/"), "strong: {etag}");
    let bytes = response.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\xff\xd8\xff"));

    let again =
        app.client.get(app.url("/i/chelsea/top/bottom.jpg")).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(again.headers()["etag"], etag.as_str());
    let other =
        app.client.get(app.url("/i/chelsea/top/other.jpg")).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(other.status(), StatusCode::OK, "another URL is another image");
}

#[tokio::test]
async fn formats_sizes_fonts_colours_and_the_top_layout() {
    let app = TestApp::spawn().await;
    for (ext, mime, magic) in [
        ("jpg", "image/jpeg", &b"\xff\xd8\xff"[..]),
        ("png", "image/png", b"\x89PNG"),
        ("webp", "image/webp", b"RIFF"),
        ("gif", "image/gif", b"GIF8"),
    ] {
        let response = app.get(&format!("/i/chelsea/a/b.{ext}?width=200")).await;
        assert_eq!(response.status(), StatusCode::OK, "{ext}");
        assert_eq!(response.headers()["content-type"], mime);
        let bytes = response.bytes().await.unwrap();
        assert!(bytes.starts_with(magic), "{ext}");
        let size = image::load_from_memory(&bytes).unwrap();
        assert_eq!(size.width(), 200, "{ext} at the width asked");
    }
    let plain = png(&app, "/i/chelsea/a/b.png").await;
    for options in ["font=oswald", "color=yellow,blue", "color=ff0000", "layout=top", "height=100"] {
        let drawn = png(&app, &format!("/i/chelsea/a/b.png?{options}")).await;
        assert!(drawn != plain, "{options} changes the image");
    }
}

#[tokio::test]
async fn bad_meme_urls_get_clear_errors() {
    let app = TestApp::spawn().await;
    for (path, status) in [
        ("/i/no-such-template/a.jpg", StatusCode::NOT_FOUND),
        ("/i/chelsea/a/b", StatusCode::NOT_FOUND),
        ("/i/chelsea/a/b.bmp", StatusCode::NOT_FOUND),
        ("/i/chelsea/a.jpg?width=99999", StatusCode::UNPROCESSABLE_ENTITY),
        ("/i/chelsea/a.jpg?width=wide", StatusCode::UNPROCESSABLE_ENTITY),
        ("/i/chelsea/a.jpg?font=papyrus", StatusCode::UNPROCESSABLE_ENTITY),
        ("/i/chelsea/a.jpg?color=notacolour", StatusCode::UNPROCESSABLE_ENTITY),
        ("/i/chelsea/a.jpg?layout=sideways", StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), status, "{path}");
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"), "{path}");
    }
    let long = "a".repeat(501);
    assert_eq!(app.get(&format!("/i/chelsea/{long}.jpg")).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let many = vec!["x"; 21].join("/");
    assert_eq!(app.get(&format!("/i/chelsea/{many}.jpg")).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn drawing_new_urls_is_limited_per_address_but_cached_ones_are_not() {
    let app = TestApp::spawn_with(|c| c.renders_per_minute = 3).await;
    let cached = app.get("/i/chelsea/cached.jpg").await;
    assert_eq!(cached.status(), StatusCode::OK);
    for i in 0..2 {
        assert_eq!(app.get(&format!("/i/chelsea/new{i}.jpg")).await.status(), StatusCode::OK);
    }
    let refused = app.get("/i/chelsea/one_too_many.jpg").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
    assert!(refused.text().await.unwrap().contains("Too many new memes"));
    assert_eq!(app.get("/i/chelsea/cached.jpg").await.status(), StatusCode::OK, "a cached URL costs no render");
}

#[tokio::test]
async fn a_saved_memes_page_shows_its_i_link() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let id = app.save_meme("chelsea", &["why? 100%", "and/or"]).await;
    let html = app.get_html(&format!("/memes/{id}")).await;
    let link = "/i/chelsea/why~q_100~p/and~sor.jpg";
    assert!(html.contains(link), "{html}");
    assert_eq!(app.get(link).await.status(), StatusCode::OK);
}
