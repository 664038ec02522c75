use std::collections::HashSet;

use reqwest::StatusCode;

use crate::helpers::{TestApp, eventually_async};

fn meme_ids(html: &str) -> Vec<String> {
    html.split("<a href=\"/memes/")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_owned())
        .filter(|id| id.len() == 26)
        .collect()
}

fn next_link(html: &str) -> Option<String> {
    let start = html.find("rel=\"next\" href=\"")? + "rel=\"next\" href=\"".len();
    Some(html[start..].split('"').next()?.replace("&amp;", "&"))
}

#[tokio::test]
async fn home_pagination_neither_repeats_nor_skips_while_new_memes_arrive() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let mut originals = HashSet::new();
    for i in 0..30 {
        originals.insert(app.save_meme("chelsea", &[&format!("meme {i}")]).await);
    }

    let first = app.get_html("/").await;
    let mut seen = meme_ids(&first);
    assert_eq!(seen.len(), 24);
    let mut next = next_link(&first);
    let mut arrivals = HashSet::new();
    while let Some(link) = next {
        arrivals.insert(app.save_meme("chelsea", &["arrived meanwhile"]).await);
        let html = app.get_html(&link).await;
        seen.extend(meme_ids(&html));
        next = next_link(&html);
    }

    let unique: HashSet<_> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "no meme twice");
    assert_eq!(unique, originals, "none skipped, and later arrivals stay on page one");
    assert!(arrivals.iter().all(|a| !unique.contains(a)));
}

#[tokio::test]
async fn the_top_tab_puts_the_most_commented_first() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let quiet = app.save_meme("chelsea", &["quiet"]).await;
    let loud = app.save_meme("chelsea", &["loud"]).await;
    let newest = app.save_meme("chelsea", &["newest"]).await;
    for body in ["one", "two"] {
        app.act(&format!("/memes/{loud}"), &format!("/memes/{loud}/comments"), &[("body", body)]).await;
    }
    app.act(&format!("/memes/{quiet}"), &format!("/memes/{quiet}/comments"), &[("body", "one")]).await;

    // On aws the worker folds comments into the top list moments after they land.
    let expected = vec![loud, quiet, newest];
    let ranked = || async { meme_ids(&app.get_html("/?sort=top").await) == expected };
    eventually_async("the top tab ranks by comments, then newest", ranked).await;
}

#[tokio::test]
async fn forged_cursors_and_unknown_sorts_are_400() {
    let app = TestApp::spawn().await;
    for path in
        ["/?cursor=AAAA.BBBB", "/?cursor=garbage", "/?sort=sideways", "/u/ann?cursor=x.y", "/notifications?cursor=zz"]
    {
        let status = app.get(path).await.status();
        assert!(
            status == StatusCode::BAD_REQUEST || status == StatusCode::NOT_FOUND || status == StatusCode::SEE_OTHER,
            "{path}: {status}"
        );
    }
    assert_eq!(app.get("/?cursor=AAAA.BBBB").await.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_gallery_lists_templates_and_a_template_page_counts_memes_and_remixes() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let first = app.save_meme("rocket", &["lift", "off"]).await;
    app.post_meme_form("/memes", &[("remix", &first), ("caption", "lift"), ("caption", "again"), ("save", "1")], None)
        .await;

    let gallery = app.get_html("/templates").await;
    assert!(gallery.contains("href=\"/templates/rocket\"") && gallery.contains("href=\"/templates/chelsea\""));
    let page = app.get_html("/templates/rocket").await;
    assert!(page.contains("<dt>Memes</dt><dd>2</dd>"), "{page}");
    assert!(page.contains("<dt>Remixes</dt><dd>1</dd>"));
    assert!(page.contains("<svg") && page.contains("class=\"chart-bar\""));
    assert_eq!(app.get("/templates/rocket/thumb.jpg").await.headers()["content-type"], "image/jpeg");
    assert_eq!(app.get("/templates/nope").await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_upload_shared_as_a_template_appears_in_the_gallery_and_can_be_used() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let response = app
        .post_meme_form(
            "/memes",
            &[("caption", "mine"), ("save", "1"), ("share_template", "1"), ("template_name", "My gradient")],
            Some(crate::helpers::png(400, 300)),
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let gallery = app.get_html("/templates").await;
    assert!(gallery.contains("My gradient"));
    let id = gallery.split("href=\"/templates/u-").nth(1).unwrap().split('"').next().unwrap();
    let id = format!("u-{id}");
    let meme = app.save_meme(&id, &["reused"]).await;
    assert!(app.get_html(&format!("/memes/{meme}")).await.contains("My gradient"));
}

#[tokio::test]
async fn a_meme_saved_with_share_as_template_is_made_on_that_template_and_keeps_no_second_copy() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let share = [("caption", "first"), ("save", "1"), ("share_template", "1"), ("template_name", "Sunset")];
    let response = app.post_meme_form("/memes", &share, Some(crate::helpers::png(400, 300))).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let id = response.headers()["location"].to_str().unwrap().trim_start_matches("/memes/").to_owned();

    let meme = app.storage.memes.get(id.parse().unwrap()).await.unwrap().unwrap();
    let template = meme.template_id().expect("the meme is made on the template it shared").to_owned();
    assert!(template.starts_with("u-"), "{template}");
    assert!(app.get_html(&format!("/memes/{id}")).await.contains("Sunset"), "the page names its template");
    let page = app.get_html(&format!("/templates/{template}")).await;
    assert!(page.contains("<dt>Memes</dt><dd>1</dd>"), "counted as a use of the template: {page}");
    assert!(meme.owned_media_keys().iter().all(|k| !k.starts_with("originals/")), "one stored copy: the template's");
}

#[tokio::test]
async fn only_a_fresh_upload_is_shared_as_a_template() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let share = [("save", "1"), ("share_template", "1"), ("template_name", "Shared once")];
    let response = app.post_meme_form("/memes", &share, Some(crate::helpers::png(400, 300))).await;
    let upload = response.headers()["location"].to_str().unwrap().trim_start_matches("/memes/").to_owned();
    let gallery = app.get_html("/templates").await;
    let template = format!("u-{}", gallery.split("href=\"/templates/u-").nth(1).unwrap().split('"').next().unwrap());

    // The box is ticked again while remixing that meme and while using the shared template.
    let remix = app.post_meme_form("/memes", &[&share[..], &[("remix", upload.as_str())]].concat(), None).await;
    let reuse = app.post_meme_form("/memes", &[&share[..], &[("template", template.as_str())]].concat(), None).await;

    assert_eq!((remix.status(), reuse.status()), (StatusCode::SEE_OTHER, StatusCode::SEE_OTHER));
    assert_eq!(app.get_html("/templates").await.matches("href=\"/templates/u-").count(), 1, "no second copy");
}

#[tokio::test]
async fn a_portfolio_lists_the_creators_memes_newest_first() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let older = app.save_meme("chelsea", &["older"]).await;
    let newer = app.save_meme("chelsea", &["newer"]).await;
    let html = app.new_browser().get_html("/u/ann").await;
    assert_eq!(meme_ids(&html), vec![newer, older]);
    assert!(html.contains("0 subscribers"));
    assert!(html.contains("Sign in to subscribe"));
}

#[tokio::test]
async fn the_atom_feed_is_well_formed_atom_with_the_latest_memes() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let id = app.save_meme("chelsea", &["feed <me> & \"quote\""]).await;

    let response = app.get("/u/ann/feed.atom").await;
    assert_eq!(response.headers()["content-type"], "application/atom+xml; charset=utf-8");
    let xml = response.text().await.unwrap();
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let feed = doc.root_element();
    assert_eq!(feed.tag_name().namespace(), Some("http://www.w3.org/2005/Atom"));
    assert_eq!(feed.tag_name().name(), "feed");
    for required in ["id", "title", "updated", "author"] {
        assert!(feed.children().any(|c| c.tag_name().name() == required), "feed lacks <{required}>");
    }
    let entries: Vec<_> = feed.children().filter(|c| c.tag_name().name() == "entry").collect();
    assert_eq!(entries.len(), 1);
    let title = entries[0].children().find(|c| c.tag_name().name() == "title").unwrap().text().unwrap();
    assert_eq!(title, "Meme: feed <me> & \"quote\"");
    assert!(entries[0].children().any(|c| c.tag_name().name() == "id" && c.text().unwrap().ends_with(&id)));
    assert_eq!(app.get("/u/nobody/feed.atom").await.status(), StatusCode::NOT_FOUND);
}

/// The HTML inside each entry's `<content type="html">`, as a feed reader gets it after one
/// round of XML decoding.
fn feed_contents(xml: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(xml).expect("well-formed XML");
    doc.descendants().filter(|n| n.tag_name().name() == "content").map(|n| n.text().unwrap_or("").to_owned()).collect()
}

#[tokio::test]
async fn markup_in_a_caption_reaches_feed_readers_as_text_not_as_tags() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    app.save_meme("chelsea", &["\"><img src=x onerror=alert(2)>", "<svg onload=alert(1)>"]).await;

    let xml = app.get("/u/ann/feed.atom").await.text().await.unwrap();

    let contents = feed_contents(&xml);
    assert_eq!(contents.len(), 1);
    let html = &contents[0];
    // The reader renders this HTML: it must hold exactly one element, our <img>, with the
    // caption inside its alt attribute as escaped text.
    assert_eq!(html.matches('<').count(), 1, "{html}");
    assert!(!html.contains("<svg") && !html.contains("<img src=x"), "{html}");
    // …which still reads as the caption once the reader decodes the attribute.
    for text in ["svg onload=alert(1)", "img src=x onerror=alert(2)"] {
        assert!(html.contains(text), "{text} is kept as text: {html}");
    }
}

#[tokio::test]
async fn control_characters_in_captions_and_comments_never_break_the_feed() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let id = app.save_meme("chelsea", &["bell\u{1}back\u{8}tab\u{b}esc\u{1b}end", "evil\u{202e}txt.exe"]).await;
    let comment =
        app.act(&format!("/memes/{id}"), &format!("/memes/{id}/comments"), &[("body", "a\u{7}b\u{2066}c")]).await;
    assert_eq!(comment.status(), StatusCode::SEE_OTHER);

    let xml = app.get("/u/ann/feed.atom").await.text().await.unwrap();
    let page = app.get_html(&format!("/memes/{id}")).await;

    roxmltree::Document::parse(&xml).expect("the feed stays well-formed XML");
    assert!(xml.contains("bellbacktabescend"), "controls are removed from the caption: {xml}");
    for bad in ['\u{1}', '\u{8}', '\u{b}', '\u{1b}', '\u{202e}', '\u{7}', '\u{2066}'] {
        assert!(!xml.contains(bad) && !page.contains(bad), "{bad:?} reached a page or the feed");
    }
    assert!(page.contains("evil") && page.contains("txt.exe"), "the visible text stays");
    assert!(page.contains("abc"), "the comment keeps its text without the controls");
}

#[tokio::test]
async fn home_thumbnails_offer_the_display_size_through_srcset() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let id = app.save_meme("chelsea", &["small", "and large"]).await;

    let home = app.get_html("/").await;

    let card = home.split(&format!("<a href=\"/memes/{id}\"")).nth(1).expect("the meme's card");
    let srcset = card.split("srcset=\"").nth(1).expect("a srcset").split('"').next().unwrap();
    let candidates: Vec<(&str, u32)> = srcset
        .split(", ")
        .map(|c| {
            let (url, width) = c.split_once(' ').unwrap();
            (url, width.trim_end_matches('w').parse().unwrap())
        })
        .collect();
    assert_eq!(candidates.len(), 2, "{srcset}");
    assert!(candidates[0].0.ends_with("/thumb.jpg") && candidates[1].0.ends_with("/display.jpg"), "{srcset}");
    assert!(candidates[0].1 <= 300 && candidates[0].1 < candidates[1].1, "{srcset}");
}

#[tokio::test]
async fn a_portfolio_pages_through_every_meme_newest_first() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let mut saved = Vec::new();
    for i in 0..26 {
        saved.push(app.save_meme("chelsea", &[&format!("meme {i}")]).await);
    }

    let first = app.get_html("/u/ann").await;
    let next = next_link(&first).expect("a second page");
    let second = app.get_html(&next).await;

    let mut listed = meme_ids(&first);
    listed.dedup();
    let mut rest = meme_ids(&second);
    rest.dedup();
    assert_eq!(listed.len(), 24, "a full first page");
    listed.extend(rest);
    saved.reverse();
    assert_eq!(listed, saved, "newest first, none repeated or skipped");
    assert!(next_link(&second).is_none());
}

#[tokio::test]
async fn forged_cursors_on_a_real_portfolio_and_on_notifications_are_400() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    app.save_meme("chelsea", &["hi"]).await;

    for page in ["/u/ann?cursor=bm90LXNpZ25lZA.AAAA", "/notifications?cursor=forged", "/?sort=top&cursor=x.y"] {
        let response = app.get(page).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{page}");
        assert!(response.text().await.unwrap().contains("page link is out of date"), "{page}");
    }
}

#[tokio::test]
async fn a_deleted_meme_leaves_its_creators_feed() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let kept = app.save_meme("chelsea", &["kept"]).await;
    let gone = app.save_meme("chelsea", &["gone"]).await;
    assert!(app.get_html("/u/ann/feed.atom").await.contains(&gone));

    let page = format!("/memes/{gone}");
    app.act(&page, &format!("{page}/delete"), &[]).await;

    let feed = app.get_html("/u/ann/feed.atom").await;
    assert!(!feed.contains(&gone));
    assert!(feed.contains(&kept));
}
