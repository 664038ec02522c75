use reqwest::StatusCode;

use crate::helpers::{TestApp, eventually_async, png};

fn is_jpeg(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xff, 0xd8, 0xff])
}

#[tokio::test]
async fn an_anonymous_meme_downloads_as_a_jpeg_and_stores_nothing() {
    let app = TestApp::spawn().await;

    let response = app
        .post_meme_form("/memes", &[("template", "chelsea"), ("caption", "hello"), ("caption", "world")], None)
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    assert!(response.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    assert!(is_jpeg(&response.bytes().await.unwrap()));
    let listed = app.get_html("/").await;
    assert!(listed.contains("No memes yet"));
}

#[tokio::test]
async fn the_preview_answers_a_jpeg_and_stores_nothing() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;

    let response = app
        .post_meme_form("/memes/preview", &[("template", "rocket"), ("caption", "to the moon"), ("save", "1")], None)
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    assert!(is_jpeg(&response.bytes().await.unwrap()));
    assert!(app.get_html("/u/ann").await.contains("saved a meme yet"));
}

#[tokio::test]
async fn saving_a_meme_shows_its_page_with_captions_as_alt_text_and_serves_its_media() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;

    let id = app.save_meme("chelsea", &["when the build", "finally passes"]).await;
    let html = app.get_html(&format!("/memes/{id}")).await;

    assert!(html.contains(r#"alt="Meme: when the build / finally passes""#), "{html}");
    assert!(html.contains(r#"href="/u/ann""#));
    assert!(html.contains("Remix"));
    let display = html.split("<img src=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let media = app.get(&display).await;
    assert_eq!(media.status(), StatusCode::OK);
    assert_eq!(media.headers()["content-type"], "image/jpeg");
    assert_eq!(media.headers()["cache-control"], "public, max-age=31536000, immutable");
    let etag = media.headers()["etag"].to_str().unwrap().to_owned();
    assert!(is_jpeg(&media.bytes().await.unwrap()));
    let again = app.client.get(app.url(&display)).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn an_uploaded_image_becomes_a_meme_and_its_original_is_kept_unchanged() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let original = png(640, 480);

    let response =
        app.post_meme_form("/memes", &[("caption", "uploaded"), ("save", "1")], Some(original.clone())).await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let id = response.headers()["location"].to_str().unwrap().trim_start_matches("/memes/").to_owned();
    let meme = app.storage.memes.get(id.parse().unwrap()).await.unwrap().unwrap();
    let skyhigh::domain::MemeSource::Upload { original_key } = &meme.source else { panic!("an upload") };
    let kept = app.get(&format!("/media/{original_key}")).await;
    assert_eq!(kept.headers()["content-type"], "image/png");
    assert_eq!(kept.bytes().await.unwrap().as_ref(), original.as_slice());
    assert_eq!((meme.media.width, meme.media.height), (640, 480));
    assert!(meme.media.thumb_width <= 300 && meme.media.thumb_height <= 300);
}

#[tokio::test]
async fn bad_uploads_get_a_clear_4xx_never_a_500() {
    let app = TestApp::spawn_with(|c| c.max_upload_mb = 1).await;
    // A PNG header declaring 100000×100000 pixels: refused from the header, nothing decoded.
    let mut bomb = png(1, 1);
    bomb[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    bomb[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("not an image", b"%PDF-1.4 this is a pdf".to_vec()),
        ("random bytes", (0..4000u32).map(|i| (i * 7919 % 251) as u8).collect()),
        ("truncated png", png(64, 64)[..60].to_vec()),
        ("decompression bomb", bomb),
    ];
    for (what, bytes) in cases {
        let response = app.post_meme_form("/memes", &[("caption", "x")], Some(bytes)).await;
        assert!(response.status().is_client_error(), "{what}: {}", response.status());
        let html = response.text().await.unwrap();
        assert!(html.contains("class=\"lead\""), "{what}: the app's own error page");
    }
    let too_big = app.post_meme_form("/memes", &[("caption", "x")], Some(vec![0u8; 2 * 1024 * 1024])).await;
    assert_eq!(too_big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(too_big.text().await.unwrap().contains("The limit is 1 MB"));
}

/// A real PNG of exactly `size` bytes: a noise picture padded with a private ancillary chunk
/// (which decoders skip) before its end.
fn png_of_exactly(size: usize) -> Vec<u8> {
    let small = {
        let mut state = 0x9E37_79B9u32;
        let image = image::RgbImage::from_fn(256, 256, |_, _| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            image::Rgb([(state >> 24) as u8, (state >> 16) as u8, (state >> 8) as u8])
        });
        let mut bytes = std::io::Cursor::new(Vec::new());
        image.write_to(&mut bytes, image::ImageFormat::Png).unwrap();
        bytes.into_inner()
    };
    let iend = small.len() - 12;
    let padding = size - small.len() - 12;
    let mut chunk = Vec::with_capacity(padding + 12);
    chunk.extend_from_slice(&(padding as u32).to_be_bytes());
    chunk.extend_from_slice(b"skYh");
    chunk.resize(chunk.len() + padding, 0);
    let crc = crc32(&chunk[4..]);
    chunk.extend_from_slice(&crc.to_be_bytes());
    let png = [&small[..iend], &chunk, &small[iend..]].concat();
    assert_eq!(png.len(), size);
    png
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

#[tokio::test]
async fn the_upload_limit_is_on_the_files_own_bytes_exactly() {
    let app = TestApp::spawn_with(|c| c.max_upload_mb = 2).await;
    let limit = 2 * 1024 * 1024;

    let at_limit = app.post_meme_form("/memes/preview", &[("caption", "x")], Some(png_of_exactly(limit))).await;
    let one_over = app.post_meme_form("/memes/preview", &[("caption", "x")], Some(png_of_exactly(limit + 1))).await;
    let further = app.post_meme_form("/memes/preview", &[("caption", "x")], Some(png_of_exactly(2_158_592))).await;

    assert_eq!(at_limit.status(), StatusCode::OK, "a file of exactly the limit is accepted");
    assert_eq!(one_over.status(), StatusCode::PAYLOAD_TOO_LARGE, "one byte over is refused");
    assert_eq!(further.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(one_over.text().await.unwrap().contains("The limit is 2 MB"));
}

/// A GIF whose 16×16 screen holds one 8000×6000 frame of one colour: a few kilobytes.
fn gif_bomb() -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = gif::Encoder::new(&mut out, 16, 16, &[0, 0, 0, 255, 255, 255]).unwrap();
        let pixels = vec![1u8; 8000 * 6000];
        let frame =
            gif::Frame { width: 8000, height: 6000, buffer: std::borrow::Cow::Borrowed(&pixels), ..Default::default() };
        enc.write_frame(&frame).unwrap();
    }
    out
}

#[tokio::test]
async fn a_gif_hiding_a_huge_frame_behind_a_tiny_screen_is_refused_with_422() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let bomb = gif_bomb();

    let preview = app.post_meme_form("/memes/preview", &[("caption", "x")], Some(bomb.clone())).await;
    let save = app.post_meme_form("/memes", &[("caption", "x"), ("save", "1")], Some(bomb)).await;

    assert_eq!(preview.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(save.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = save.text().await.unwrap();
    assert!(page.contains("too large"), "says why: {page}");
}

#[tokio::test]
async fn a_form_without_a_picture_or_with_an_unknown_template_gets_422() {
    let app = TestApp::spawn().await;
    let nothing = app.post_meme_form("/memes", &[("caption", "x")], None).await;
    assert_eq!(nothing.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(nothing.text().await.unwrap().contains("Choose a template or upload an image"));
    let unknown = app.post_meme_form("/memes", &[("template", "nope"), ("caption", "x")], None).await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let bad_font =
        app.post_meme_form("/memes", &[("template", "chelsea"), ("caption", "x"), ("font", "wingdings")], None).await;
    assert_eq!(bad_font.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_meme_form_without_a_csrf_token_is_refused() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let form = reqwest::multipart::Form::new().text("template", "chelsea").text("caption", "x").text("save", "1");
    let response = app.client.post(app.url("/memes")).multipart(form).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(app.get_html("/u/ann").await.contains("saved a meme yet"));
}

#[tokio::test]
async fn unknown_and_malformed_meme_ids_are_404() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/memes/01aaaaaaaaaaaaaaaaaaaaaaaa").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.get("/memes/not-an-id").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.get("/media/memes/../../etc/passwd").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.get("/u/NoSuchUser").await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_remix_links_to_its_parent_shows_what_changed_and_is_listed_on_the_parent() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let parent = app.save_meme("astronaut", &["one small step", "for a meme"]).await;
    let bob = app.new_browser();
    bob.signed_up("bob").await;

    let response = bob
        .post_meme_form(
            "/memes",
            &[("remix", &parent), ("caption", "one small step"), ("caption", "for memekind"), ("save", "1")],
            None,
        )
        .await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let remix = response.headers()["location"].to_str().unwrap().trim_start_matches("/memes/").to_owned();
    let html = bob.get_html(&format!("/memes/{remix}")).await;
    assert!(html.contains("Remixed from"));
    assert!(html.contains(&format!("href=\"/memes/{parent}\"")));
    assert!(html.contains("Kept</span> “one small step”"), "{html}");
    assert!(html.contains("<del>“for a meme”</del> → <ins>“for memekind”</ins>"));
    let parent_html = app.get_html(&format!("/memes/{parent}")).await;
    assert!(parent_html.contains(&format!("href=\"/memes/{remix}\"")), "the parent lists its remix");
    let editor = bob.get_html(&format!("/memes/new?remix={parent}")).await;
    assert!(editor.contains("Remix a meme") && editor.contains(">one small step</textarea>"));
}

#[tokio::test]
async fn comments_are_added_and_bad_ones_get_a_message_with_the_text_kept() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let id = app.save_meme("coffee", &["coffee", "first"]).await;
    let page = format!("/memes/{id}");
    let action = format!("/memes/{id}/comments");

    let ok = app.act(&page, &action, &[("body", "  so true  ")]).await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    assert!(app.get_html(&page).await.contains("<p class=\"comment-body\">so true</p>"));

    let empty = app.act(&page, &action, &[("body", "   ")]).await;
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.text().await.unwrap().contains("Write something before posting a comment."));

    let huge = "x".repeat(10_000);
    let long = app.act(&page, &action, &[("body", &huge)]).await;
    assert_eq!(long.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = long.text().await.unwrap();
    assert!(html.contains("at most 2000 characters"));
    assert!(html.contains(&"x".repeat(3000)), "the text is kept for editing");
    assert_eq!(app.storage.memes.get(id.parse().unwrap()).await.unwrap().unwrap().comment_count, 1);
}

#[tokio::test]
async fn commenting_requires_signing_in() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let id = app.save_meme("coffee", &["a", "b"]).await;
    let stranger = app.new_browser();
    let response = stranger.act("/login", &format!("/memes/{id}/comments"), &[("body", "hi")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(response.headers()["location"].to_str().unwrap().starts_with("/login"));
}

fn comment_id(html: &str) -> String {
    html.split("id=\"comment-").nth(1).unwrap().split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn a_stranger_cannot_delete_a_comment_but_its_author_and_the_memes_owner_can() {
    let app = TestApp::spawn().await;
    app.signed_up("owner").await;
    let id = app.save_meme("coins", &["money", "talks"]).await;
    let page = format!("/memes/{id}");
    let author = app.new_browser();
    author.signed_up("author").await;
    let stranger = app.new_browser();
    stranger.signed_up("stranger").await;
    author.act(&page, &format!("/memes/{id}/comments"), &[("body", "first!")]).await;
    let first = comment_id(&author.get_html(&page).await);
    author.act(&page, &format!("/memes/{id}/comments"), &[("body", "second")]).await;

    let refused = stranger.act(&page, &format!("/memes/{id}/comments/{first}/delete"), &[]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(stranger.get_html(&page).await.contains("first!"));

    let by_author = author.act(&page, &format!("/memes/{id}/comments/{first}/delete"), &[]).await;
    assert_eq!(by_author.status(), StatusCode::SEE_OTHER);
    let second = comment_id(&app.get_html(&page).await);
    let by_owner = app.act(&page, &format!("/memes/{id}/comments/{second}/delete"), &[]).await;
    assert_eq!(by_owner.status(), StatusCode::SEE_OTHER);
    assert!(!app.get_html(&page).await.contains("class=\"comment-body\""));
}

#[tokio::test]
async fn a_stranger_cannot_delete_a_meme_and_the_owners_delete_removes_media_and_comments() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let id = app.save_meme("cameraman", &["say", "cheese"]).await;
    let page = format!("/memes/{id}");
    app.act(&page, &format!("/memes/{id}/comments"), &[("body", "mine")]).await;
    let meme = app.storage.memes.get(id.parse().unwrap()).await.unwrap().unwrap();
    let stranger = app.new_browser();
    stranger.signed_up("mallory").await;

    let refused = stranger.act(&page, &format!("/memes/{id}/delete"), &[]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.get(&page).await.status(), StatusCode::OK);

    let deleted = app.act(&page, &format!("/memes/{id}/delete"), &[]).await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.get(&page).await.status(), StatusCode::NOT_FOUND);
    // The media and comments go with the job the deletion wrote, moments later.
    for key in [&meme.media.display_key, &meme.media.thumb_key] {
        let gone = || async { app.get(&format!("/media/{key}")).await.status() == StatusCode::NOT_FOUND };
        eventually_async(&format!("{key} is deleted"), gone).await;
    }
    let no_comments = || async {
        app.storage.comments.list(meme.id, skyhigh::storage::PageRequest::first(10)).await.unwrap().items.is_empty()
    };
    eventually_async("the comments are deleted", no_comments).await;
    assert!(!app.get_html("/").await.contains(&id));
}

#[tokio::test]
async fn a_remix_of_an_upload_outlives_its_parent_and_can_still_be_remixed() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let response = app.post_meme_form("/memes", &[("caption", "mine"), ("save", "1")], Some(png(320, 240))).await;
    let parent = response.headers()["location"].to_str().unwrap().trim_start_matches("/memes/").to_owned();
    let bob = app.new_browser();
    bob.signed_up("bob").await;
    let remix = bob.save_meme_remix(&parent, &["bob's", "take"]).await;

    let deleted = app.act(&format!("/memes/{parent}"), &format!("/memes/{parent}/delete"), &[]).await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);

    let remix_of_remix = bob.save_meme_remix(&remix, &["still", "remixable"]).await;
    let (remix_original, last_original) = (original_of(&app, &remix).await, original_of(&app, &remix_of_remix).await);
    assert_ne!(remix_original, last_original, "each meme keeps its own copy of the picture");
    assert_eq!(app.get(&format!("/media/{remix_original}")).await.status(), StatusCode::OK);
    // Deleting the middle remix takes its own copy and leaves the one its remix uses.
    bob.act(&format!("/memes/{remix}"), &format!("/memes/{remix}/delete"), &[]).await;
    let gone = || async { app.get(&format!("/media/{remix_original}")).await.status() == StatusCode::NOT_FOUND };
    eventually_async("the middle remix's picture is deleted", gone).await;
    assert_eq!(app.get(&format!("/media/{last_original}")).await.status(), StatusCode::OK);
}

/// The media key of the uploaded picture meme `id` was drawn on.
async fn original_of(app: &TestApp, id: &str) -> String {
    let meme = app.storage.memes.get(id.parse().unwrap()).await.unwrap().unwrap();
    let skyhigh::domain::MemeSource::Upload { original_key } = meme.source else { panic!("an upload") };
    original_key.to_string()
}

#[tokio::test]
async fn the_editor_preselects_the_template_named_in_the_link() {
    let app = TestApp::spawn().await;

    let editor = app.get_html("/memes/new?template=rocket").await;

    let chosen = |id: &str| {
        editor.split("<input type=\"radio\" name=\"template\" ").any(|radio| {
            radio.starts_with(&format!("value=\"{id}\"")) && radio.split('>').next().unwrap().contains(" checked")
        })
    };
    assert!(chosen("rocket"), "{editor}");
    assert!(!chosen("chelsea"));
}

#[tokio::test]
async fn a_meme_keeps_the_font_and_colours_chosen_for_each_box() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let fields = [
        ("template", "chelsea"),
        ("save", "1"),
        ("caption", "top"),
        ("caption", "bottom"),
        ("font", "oswald"),
        ("font", "comic-neue"),
        ("fill", "#ff0000"),
        ("fill", "#00ff00"),
        ("outline", "#000000"),
        ("outline", "#123456"),
    ];

    let response = app.post_meme_form("/memes", &fields, None).await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let id = response.headers()["location"].to_str().unwrap().trim_start_matches("/memes/").to_owned();
    let meme = app.storage.memes.get(id.parse().unwrap()).await.unwrap().unwrap();
    let stored = serde_json::to_string(&meme.spec).unwrap();
    for chosen in ["\"oswald\"", "\"comic-neue\"", "\"#ff0000\"", "\"#00ff00\"", "\"#123456\""] {
        assert!(stored.contains(chosen), "{chosen} in {stored}");
    }
    let remix = app.get_html(&format!("/memes/new?remix={id}")).await;
    assert!(remix.contains("<option value=\"comic-neue\" selected>"), "a remix starts from the same fonts");
}

#[tokio::test]
async fn with_a_media_url_pages_take_media_from_the_cdn() {
    let app = TestApp::spawn_with(|c| c.media_url = Some("https://cdn.example.net/".into())).await;
    app.signed_up("ann").await;
    let id = app.save_meme("chelsea", &["from", "the edge"]).await;

    let home = app.get_html("/").await;
    let page = app.get_html(&format!("/memes/{id}")).await;

    for html in [&home, &page] {
        assert!(html.contains(&format!("https://cdn.example.net/memes/{id}/")), "{html}");
        assert!(!html.contains(&format!("\"/media/memes/{id}/")));
    }
    let csp = app.get("/").await.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("img-src 'self' data: blob: https://cdn.example.net"), "{csp}");
}

#[tokio::test]
async fn fifty_comments_posted_at_once_all_land_and_the_count_is_exact() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let id = app.save_meme("chelsea", &["pile", "on"]).await;
    let page = format!("/memes/{id}");
    let action = format!("/memes/{id}/comments");
    let token = app.csrf_token(&page).await;

    let posts = (0..50).map(|i| {
        let (client, url, token) = (app.client.clone(), app.url(&action), token.clone());
        tokio::spawn(async move {
            let body = format!("comment number {i}");
            client.post(url).form(&[("csrf_token", token.as_str()), ("body", &body)]).send().await.unwrap().status()
        })
    });
    let statuses: Vec<StatusCode> =
        futures_util::future::join_all(posts).await.into_iter().map(Result::unwrap).collect();

    assert!(statuses.iter().all(|s| *s == StatusCode::SEE_OTHER), "{statuses:?}");
    let html = app.get_html(&page).await;
    assert!(html.contains("Comments (50)"), "the heading counts them all");
    assert_eq!(html.matches("class=\"comment-body\"").count(), 50);
    let meme = app.storage.memes.get(id.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(meme.comment_count, 50);
}

#[tokio::test]
async fn the_editor_shows_the_i_link_of_what_it_holds() {
    let app = TestApp::spawn().await;
    let fresh = app.get_html("/memes/new?template=astronaut").await;
    assert!(fresh.contains("href=\"/i/astronaut/_/_.jpg\""), "{fresh}");
    // Without JavaScript the link follows the form when it comes back (here: a box added).
    let fields = [("template", "astronaut"), ("caption", "why?"), ("caption", "and/or"), ("edit", "add-box")];
    let response = app.post_meme_form("/memes/new", &fields, None).await;
    let html = response.text().await.unwrap();
    assert!(html.contains("href=\"/i/astronaut/why~q/and~sor/_.jpg\""), "{html}");
    assert_eq!(app.get("/i/astronaut/why~q/and~sor/_.jpg").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn deleting_a_meme_is_confirmed_on_a_page_of_its_own_that_only_its_creator_may_see() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let id = app.save_meme("chelsea", &["keep me?"]).await;

    let meme_page = app.get_html(&format!("/memes/{id}")).await;
    assert!(meme_page.contains(&format!(r#"href="/memes/{id}/delete""#)), "the button leads to the confirmation");
    assert!(meme_page.contains("<dialog id=\"delete-dialog\""), "and, with JavaScript, a dialog");
    let confirm = app.get_html(&format!("/memes/{id}/delete")).await;
    assert!(confirm.contains("Delete this meme?") && confirm.contains(&format!(r#"action="/memes/{id}/delete""#)));
    assert_eq!(app.get(&format!("/memes/{id}")).await.status(), StatusCode::OK, "looking deletes nothing");

    let bob = app.new_browser();
    bob.signed_up("bob").await;
    assert_eq!(bob.get(&format!("/memes/{id}/delete")).await.status(), StatusCode::FORBIDDEN);
    assert!(!bob.get_html(&format!("/memes/{id}")).await.contains("delete-dialog"));
    let anonymous = app.new_browser().client.get(app.url(&format!("/memes/{id}/delete"))).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
    assert!(
        anonymous.headers()["location"].to_str().unwrap().starts_with("/login"),
        "anonymous visitors sign in first"
    );

    let response = app.act(&format!("/memes/{id}/delete"), &format!("/memes/{id}/delete"), &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.get(&format!("/memes/{id}")).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_boxs_place_out_of_the_picture_or_not_a_number_is_refused_with_a_message() {
    let app = TestApp::spawn().await;
    for (x, y) in [("abc", "2"), ("2", "150"), ("-5", "2")] {
        let response = app
            .post_meme_form(
                "/memes/preview",
                &[("template", "chelsea"), ("caption", "hi"), ("x", x), ("y", y), ("w", "50"), ("h", "20")],
                None,
            )
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "x={x} y={y}");
        let body = response.text().await.unwrap();
        assert!(body.contains("Text box 1: its position and size are percentages of the picture"), "{body}");
    }
    let placed = app
        .post_meme_form(
            "/memes/preview",
            &[("template", "chelsea"), ("caption", "hi"), ("x", "10"), ("y", "40.5"), ("w", "50"), ("h", "20")],
            None,
        )
        .await;
    assert_eq!(placed.status(), StatusCode::OK);
}

#[tokio::test]
async fn without_javascript_adding_a_box_keeps_every_box_where_it_was() {
    let app = TestApp::spawn().await;
    let fields = [
        ("template", "chelsea"),
        ("caption", "top"),
        ("x", "5"),
        ("y", "33"),
        ("w", "60"),
        ("h", "20"),
        ("caption", "bottom"),
        ("x", "2"),
        ("y", "76"),
        ("w", "96"),
        ("h", "22"),
        ("edit", "add-box"),
    ];
    let response = app.post_meme_form("/memes/new", &fields, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    let values = |name: &str| -> Vec<String> {
        html.split(&format!("name=\"{name}\" "))
            .skip(1)
            .map(|rest| rest.split("value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned())
            .collect()
    };
    assert_eq!(values("y"), ["33", "76", "42"], "the two boxes stay, the new one goes where none is");
    assert_eq!(values("x"), ["5", "2", "10"]);
    assert_eq!(values("w"), ["60", "96", "80"]);
}
