//! The template gallery and pages (`src/web/pages/templates.rs`), and the editor's template
//! picker that reads the same use counts (issue 15).

use reqwest::StatusCode;
use time::OffsetDateTime;
use time::macros::format_description;

use crate::helpers::TestApp;

/// Where the picker's radio button for `template` is in the editor's HTML.
fn picker_position(editor: &str, template: &str) -> usize {
    editor
        .find(&format!("name=\"template\" value=\"{template}\""))
        .unwrap_or_else(|| panic!("{template} is in the picker"))
}

/// The ids of the memes a page's grid links to, in order.
fn grid_memes(html: &str) -> Vec<String> {
    html.split("<a href=\"/memes/")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_owned())
        .filter(|id| id.len() == 26)
        .collect()
}

/// The share of the gallery's HTML that is the card of `template`.
fn card<'a>(gallery: &'a str, template: &str) -> &'a str {
    let make = format!("href=\"/memes/new?template={template}\"");
    let at = gallery.find(&make).unwrap_or_else(|| panic!("a card opens the editor with {template}: {gallery}"));
    let start = gallery[..at].rfind("<li").unwrap();
    let end = at + gallery[at..].find("</li>").unwrap();
    &gallery[start..end]
}

fn short_day(day: time::Date) -> String {
    day.format(format_description!("[day padding:none] [month repr:short]")).unwrap()
}

#[tokio::test]
async fn the_picker_offers_the_most_used_templates_first_with_their_counts() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let before = app.get_html("/memes/new").await;
    assert!(picker_position(&before, "chelsea") < picker_position(&before, "rocket"), "the catalog's order at first");

    app.save_meme("rocket", &["lift", "off"]).await;
    app.save_meme("rocket", &["and", "again"]).await;
    app.save_meme("coins", &["once"]).await;
    let editor = app.new_browser().get_html("/memes/new").await;

    let rocket = picker_position(&editor, "rocket");
    let coins = picker_position(&editor, "coins");
    assert!(rocket < coins && coins < picker_position(&editor, "chelsea"), "most used first");
    assert!(
        picker_position(&editor, "chelsea") < picker_position(&editor, "astronaut"),
        "ties keep the catalog's order"
    );
    assert!(editor[rocket..coins].contains("2 memes"), "the count is under the name");
    assert!(editor[coins..].contains("1 meme<"));
}

#[tokio::test]
async fn the_viewers_own_shared_templates_stay_first_among_shared_ones_then_the_most_used() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let bob = app.new_browser();
    bob.signed_up("bob").await;
    let share =
        |name: &'static str| [("caption", "x"), ("save", "1"), ("share_template", "1"), ("template_name", name)];
    for (who, name) in [(&app.browser, "Anns quiet one"), (&bob, "Bobs first"), (&bob, "Bobs busy one")] {
        let response = who.post_meme_form("/memes", &share(name), Some(crate::helpers::png(400, 300))).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
    }
    let gallery = app.get_html("/templates").await;
    let id_of = |name: &str| {
        let card_at = gallery.find(&format!(">{name}<")).unwrap();
        let start = gallery[..card_at].rfind("template=u-").unwrap() + "template=".len();
        gallery[start..].split('"').next().unwrap().to_owned()
    };
    let (anns, bobs_first, bobs_busy) = (id_of("Anns quiet one"), id_of("Bobs first"), id_of("Bobs busy one"));
    bob.save_meme(&bobs_busy, &["again"]).await;

    let for_ann = app.get_html("/memes/new").await;
    let for_bob = bob.get_html("/memes/new").await;

    assert!(picker_position(&for_ann, &anns) < picker_position(&for_ann, &bobs_busy), "her own first");
    assert!(picker_position(&for_ann, &bobs_busy) < picker_position(&for_ann, &bobs_first), "then the most used");
    assert!(for_ann.contains("yours · 1 meme") && for_ann.contains("by bob · 2 memes"), "{for_ann}");
    assert!(picker_position(&for_bob, &bobs_busy) < picker_position(&for_bob, &bobs_first));
    assert!(picker_position(&for_bob, &bobs_first) < picker_position(&for_bob, &anns), "his own first");
}

#[tokio::test]
async fn a_gallery_card_opens_the_editor_with_its_template_and_links_its_page_apart() {
    let app = TestApp::spawn().await;

    let gallery = app.get_html("/templates").await;
    let rocket = card(&gallery, "rocket");
    let editor = app.get_html("/memes/new?template=rocket").await;

    assert!(rocket.contains("Make a meme with it"), "{rocket}");
    assert!(rocket.contains("href=\"/templates/rocket\""), "a second link to the template's page: {rocket}");
    // Two links side by side, never one inside the other.
    for link in rocket.split("<a ").skip(1) {
        assert!(link.find("</a>").is_some_and(|end| !link[..end].contains("<a")), "{rocket}");
    }
    assert!(rocket.contains("of Rocket Launch</span>"), "the page link's name says which template");
    let chosen = &editor[picker_position(&editor, "rocket")..];
    assert!(chosen[..chosen.find('>').unwrap()].contains("checked"), "the editor opens with Rocket chosen");
}

#[tokio::test]
async fn a_template_page_lists_the_newest_memes_made_with_it_and_no_others() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let first = app.save_meme("rocket", &["first", "rocket"]).await;
    let other = app.save_meme("chelsea", &["not", "a rocket"]).await;
    let second = app.save_meme("rocket", &["second", "rocket"]).await;
    let remix = app.save_meme_remix(&first, &["a", "remix"]).await;

    let page = app.new_browser().get_html("/templates/rocket").await;

    assert!(page.contains("Newest memes made with it"), "{page}");
    assert_eq!(grid_memes(&page), [remix.clone(), second, first], "newest first; {other} is on chelsea");
    assert!(app.get_html("/templates/astronaut").await.contains("Nobody has made a meme with it yet"));
}

#[tokio::test]
async fn a_deleted_meme_leaves_its_templates_page() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let kept = app.save_meme("rocket", &["kept"]).await;
    let doomed = app.save_meme("rocket", &["doomed"]).await;
    let page = format!("/memes/{doomed}");

    let deleted = app.act(&page, &format!("/memes/{doomed}/delete"), &[]).await;

    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    assert_eq!(grid_memes(&app.get_html("/templates/rocket").await), [kept]);
}

#[tokio::test]
async fn the_chart_labels_its_scale_and_days_and_has_a_table_of_them() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    app.save_meme("rocket", &["one"]).await;
    app.save_meme("rocket", &["two"]).await;
    let today = OffsetDateTime::now_utc().date();
    let first_day = today - time::Duration::days(29);
    let middle_day = first_day + time::Duration::days(14);

    let page = app.get_html("/templates/rocket").await;
    let unused = app.get_html("/templates/astronaut").await;

    let chart = &page[page.find("<svg").unwrap()..page.find("</svg>").unwrap()];
    assert!(chart.contains("class=\"chart-label\">2</text>"), "the top of the scale: {chart}");
    for day in [first_day, middle_day, today] {
        assert!(chart.contains(&format!(">{}</text>", short_day(day))), "{day} is labelled: {chart}");
    }
    assert_eq!(chart.matches("class=\"chart-bar\"").count(), 1, "one day with memes, one bar");
    assert!(chart.contains("2 memes in the last 30 days, on "), "{chart}");
    assert!(page.contains("<summary>Memes per day as a table</summary>"));
    assert!(page.contains(&format!("<time datetime=\"{today}\">")), "today is a row");
    assert_eq!(page.matches("<th scope=\"row\">").count(), 30, "one row a day");
    assert!(page.contains(&format!("<time datetime=\"{today}\">{}</time></th><td>2</td>", long_day(today))));
    assert!(unused.contains("No memes in the last 30 days"), "an empty chart says so");
    assert!(!unused.contains("class=\"chart-bar\"") && !unused.contains("Memes per day as a table"));
}

fn long_day(day: time::Date) -> String {
    day.format(format_description!("[weekday repr:short] [day padding:none] [month repr:short]")).unwrap()
}
