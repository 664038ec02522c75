//! Compressed responses (`web/compression.rs`): text in the encoding the client asks for,
//! images never compressed again.

use std::io::Read as _;

use reqwest::StatusCode;
use reqwest::header::{CONTENT_ENCODING, CONTENT_LENGTH, ETAG, VARY};

use crate::helpers::TestApp;

fn decode(encoding: Option<&str>, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match encoding {
        Some("br") => brotli::Decompressor::new(body, 4096).read_to_end(&mut out).map(|_| ()).unwrap(),
        Some("gzip") => flate2::read::GzDecoder::new(body).read_to_end(&mut out).map(|_| ()).unwrap(),
        Some("zstd") => out = zstd::stream::decode_all(body).unwrap(),
        None => out = body.to_vec(),
        Some(other) => panic!("unexpected encoding {other}"),
    }
    out
}

/// GETs `path` accepting `encoding` (or nothing); returns the status, the `Content-Encoding`
/// and the decoded body.
async fn fetch(app: &TestApp, path: &str, encoding: Option<&str>) -> (StatusCode, Option<String>, Vec<u8>, usize) {
    let mut request = reqwest::Client::new().get(app.url(path));
    if let Some(encoding) = encoding {
        request = request.header("accept-encoding", encoding);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let used = headers.get(CONTENT_ENCODING).map(|v| v.to_str().unwrap().to_owned());
    if used.is_some() {
        assert!(headers[VARY].to_str().unwrap().contains("accept-encoding"), "{path}");
    }
    let wire = response.bytes().await.unwrap();
    if let Some(length) = headers.get(CONTENT_LENGTH) {
        assert_eq!(length.to_str().unwrap(), wire.len().to_string(), "{path}: the length of the bytes sent");
    }
    (status, used.clone(), decode(used.as_deref(), &wire), wire.len())
}

/// Pages made per request (the sign-in page), kept pages (home), static files and API answers
/// come in whichever of brotli, zstd and gzip the client asks for, and decode to what the
/// uncompressed answer holds.
#[tokio::test]
async fn text_comes_in_the_encoding_asked_for_and_decodes_to_the_same_text() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    app.save_meme("chelsea", &["squeeze", "me"]).await;
    let css = crate::helpers::extract_asset_url(&app.get_html("/").await, "site.css");
    for path in ["/login", "/", css.as_str(), "/api/v1/memes", "/u/ann/feed.atom"] {
        let (_, plain_encoding, plain, _) = fetch(&app, path, None).await;
        assert_eq!(plain_encoding, None, "{path}: nothing unless asked");
        let plain = String::from_utf8(plain).unwrap();
        for (asked, expected) in [
            ("br", "br"),
            ("gzip", "gzip"),
            ("zstd", "zstd"),
            ("gzip, deflate, br, zstd", "br"),
            ("gzip, zstd", "zstd"),
        ] {
            let (status, used, body, _) = fetch(&app, path, Some(asked)).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert_eq!(used.as_deref(), Some(expected), "{path} asked {asked}");
            let body = String::from_utf8(body).unwrap();
            if path == "/login" {
                // Each form's token is masked afresh: compare the page around it.
                let without = |html: &str| html.split("csrf_token").next().unwrap().to_owned();
                assert_eq!(without(&body), without(&plain), "{path} in {asked}");
            } else {
                assert_eq!(body, plain, "{path} in {asked}");
            }
        }
    }
}

/// A signed-in home page is its header, made for this request, around the list every visitor
/// shares, which is kept compressed: in brotli and zstd the two are joined, not compressed
/// again, and decode to the same page; the list changes with the next write.
#[tokio::test]
async fn a_signed_in_page_is_joined_around_its_kept_list_and_decodes_to_the_page() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let first = app.save_meme("chelsea", &["joined", "not squeezed twice"]).await;
    // The "saved" message shows on the next page only: seen here, so the pages compared are alike.
    app.get_html(&format!("/memes/{first}")).await;
    // Each form's token is masked afresh: compare the pages without their tokens.
    let tokenless = |html: &str| {
        html.split("name=\"csrf_token\" value=\"")
            .map(|part| part.split_once('"').map_or(part, |(_, rest)| rest))
            .collect::<String>()
    };
    let ask = |encoding: &'static str| {
        let request = app.client.get(app.url("/"));
        let request = if encoding.is_empty() { request } else { request.header("accept-encoding", encoding) };
        async move {
            let response = request.send().await.unwrap();
            let used = response.headers().get(CONTENT_ENCODING).map(|v| v.to_str().unwrap().to_owned());
            let body = response.bytes().await.unwrap();
            String::from_utf8(decode(used.as_deref(), &body)).unwrap()
        }
    };
    let plain = ask("").await;
    assert!(plain.contains("Signed in as") && plain.contains(&first));
    for encoding in ["br", "zstd", "gzip"] {
        assert_eq!(tokenless(&ask(encoding).await), tokenless(&plain), "{encoding}");
    }
    let second = app.save_meme("chelsea", &["the list", "moves on"]).await;
    for encoding in ["br", "zstd", ""] {
        assert!(ask(encoding).await.contains(&second), "the kept list is made again after a write ({encoding})");
    }
}

/// What goes over the wire for the home page in brotli is at most 30% of the page (the budget
/// of the page-speed issue); static files likewise, compressed once at the best level.
#[tokio::test]
async fn the_home_page_goes_out_at_under_a_third_of_its_size() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    for i in 0..24 {
        app.save_meme("chelsea", &[&format!("caption {i}"), "for the wire"]).await;
    }
    let (_, _, page, plain) = fetch(&app, "/", None).await;
    let (_, used, decoded, compressed) = fetch(&app, "/", Some("br")).await;
    assert_eq!(used.as_deref(), Some("br"));
    assert_eq!(decoded, page);
    assert!(compressed * 10 <= plain * 3, "{compressed} bytes of {plain}");
}

/// Images are compressed already: a meme by URL, media and a template's picture go as they are
/// whatever the client accepts.
#[tokio::test]
async fn images_are_never_compressed_again() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let meme = app.save_meme("chelsea", &["already", "compressed"]).await;
    let page = app.get_html(&format!("/memes/{meme}")).await;
    let display = page.split("<img src=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    for path in ["/i/chelsea/hello/world.jpg", "/i/chelsea/hello/world.png", "/templates/chelsea/thumb.jpg"] {
        let (status, used, _, _) = fetch(&app, path, Some("br, gzip, zstd")).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(used, None, "{path}");
    }
    if display.starts_with('/') {
        let (status, used, _, _) = fetch(&app, &display, Some("br, gzip, zstd")).await;
        assert_eq!((status, used), (StatusCode::OK, None), "{display}");
    }
}

/// A static file is sent compressed with an ETag naming its encoding, and revalidates to 304.
#[tokio::test]
async fn a_compressed_static_file_has_its_own_etag_and_revalidates() {
    let app = TestApp::spawn().await;
    let css = crate::helpers::extract_asset_url(&app.get_html("/").await, "site.css");
    let client = reqwest::Client::new();
    let first = client.get(app.url(&css)).header("accept-encoding", "br").send().await.unwrap();
    assert_eq!(first.headers()[CONTENT_ENCODING], "br");
    let etag = first.headers()[ETAG].to_str().unwrap().to_owned();
    assert!(etag.ends_with("-br\""), "{etag}");
    let again =
        client.get(app.url(&css)).header("accept-encoding", "br").header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
}
