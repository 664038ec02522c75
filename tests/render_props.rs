//! Property tests: whatever the caption and box, text stays inside its box and the image.

use proptest::prelude::*;
use skyhigh::render::{Align, Engine, FontChoice, Layout, MemeSpec, Outputs, PxRect, Source, TextBox, VAlign};
use std::sync::OnceLock;

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::new().unwrap())
}

fn caption() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[A-Za-z]{20,120}",                                                    // one long word
        prop::collection::vec("[a-z]{1,12}", 1..60).prop_map(|w| w.join(" ")), // many words
        "\\PC{0,80}",                                                          // any printable Unicode
        prop::collection::vec(
            prop::sample::select(vec!["Привет", "😂", "é", "ÅÄÖ", "👍🏽", "\u{200D}", "\n", "W"]),
            0..30
        )
        .prop_map(|v| v.concat()),
    ]
}

/// Characters of every script in the fallback fonts' coverage list, with the joiners, marks,
/// modifiers and sequences that make shaping hard.
const SCRIPT_SAMPLES: &[&str] = &[
    // Latin, Cyrillic, Greek
    "meme",
    "Straße",
    "Привет",
    "λόγος",
    "Ærø",
    // Chinese (simplified, traditional), Japanese, Korean
    "汉字简体",
    "漢字繁體",
    "ひらがな",
    "カタカナ",
    "日本語",
    "한국어",
    "편의점",
    // Arabic, Hebrew, with digits and punctuation
    "مرحبا",
    "لا",
    "سلام",
    "2026",
    "שלום",
    "עִבְרִית",
    "٣٤٥",
    // Devanagari, Bengali, Thai
    "नमस्ते",
    "क्षत्रिय",
    "हिन्दी",
    "বাংলা",
    "ক্ষমা",
    "ภาษาไทย",
    "น้ำ",
    // emoji: ZWJ sequences, skin tones, flags, keycaps, aliases
    "😂",
    "👩\u{200D}💻",
    "👍🏽",
    "🇩🇪",
    "🇯🇵",
    "1\u{FE0F}\u{20E3}",
    "❤\u{FE0F}",
    ":thumbsup:",
    " ",
    " ",
    "\n",
    "-",
    ",",
    "!",
];

fn all_scripts() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(SCRIPT_SAMPLES.to_vec()), 1..25).prop_map(|v| v.concat())
}

fn font() -> impl Strategy<Value = FontChoice> {
    prop::sample::select(FontChoice::ALL.to_vec())
}

fn text_box() -> impl Strategy<Value = TextBox> {
    (caption(), 0.0f32..1.0, 0.0f32..1.0, 0.0f32..1.2, 0.0f32..1.2, font(), 0..3usize, 0..3usize).prop_map(
        |(text, x, y, w, h, font, a, v)| TextBox {
            align: [Align::Left, Align::Center, Align::Right][a],
            valign: [VAlign::Top, VAlign::Middle, VAlign::Bottom][v],
            font,
            ..TextBox::at(text, x, y, w, h)
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn text_bounds_stay_inside_the_box_and_the_image(
        boxes in prop::collection::vec(text_box(), 1..4),
        w in 20u32..1600,
        h in 20u32..1600,
    ) {
        let spec = MemeSpec { layout: Layout::Classic, boxes };
        let image = PxRect { x0: 0, y0: 0, x1: w as i32, y1: h as i32 };
        for (b, l) in spec.boxes.iter().zip(engine().layout(&spec, w, h)) {
            prop_assert!(image.contains(&l.region));
            // The region is the box (rounded to pixels) clamped to the image.
            let bx0 = (b.x.clamp(0.0, 1.0) * w as f32).round() as i32;
            prop_assert!(l.region.is_empty() || (l.region.x0 - bx0).abs() <= 1);
            if let Some(bounds) = l.bounds {
                prop_assert!(l.region.contains(&bounds), "{:?} outside {:?}", bounds, l.region);
                prop_assert!(image.contains(&bounds));
            }
        }
    }

    #[test]
    fn reasonable_captions_in_reasonable_boxes_lose_no_glyph(
        text in "[a-zA-Z ]{0,40}|\\PC{0,20}",
        font in font(),
        w in 300u32..1200,
        h in 300u32..1200,
    ) {
        let spec = MemeSpec::classic(&[text.as_str(), text.as_str()]).with_font(font);
        for l in engine().layout(&spec, w, h) {
            prop_assert_eq!(l.dropped, 0);
            prop_assert!(l.size >= skyhigh::render::MIN_SIZE);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Text from every covered script: no panic, nothing outside the box or the image, and in a
    /// box big enough for it every grapheme cluster is drawn, none as a missing-glyph box.
    #[test]
    fn every_covered_script_is_drawn_whole_and_inside(
        text in all_scripts(),
        font in font(),
        w in 200u32..1200,
        h in 200u32..1200,
    ) {
        let spec = MemeSpec::classic(&[text.as_str(), text.as_str()]).with_font(font);
        prop_assert_eq!(engine().missing_glyphs(&text, font), Vec::<char>::new());
        let image = PxRect { x0: 0, y0: 0, x1: w as i32, y1: h as i32 };
        for l in engine().layout(&spec, w, h) {
            prop_assert_eq!(l.missing, 0, "{:?}", text);
            if let Some(b) = l.bounds {
                prop_assert!(l.region.contains(&b) && image.contains(&b), "{:?} outside {:?}", b, l.region);
            }
            if text.chars().count() <= 60 {
                prop_assert_eq!(l.dropped, 0, "{:?} in {}x{}", text, w, h);
            }
        }
        // And the whole pipeline, drawing included, takes it.
        let out = engine().render(Source::Template("chelsea"), &spec, Outputs::PREVIEW);
        prop_assert!(out.is_ok(), "{:?}", out.err());
    }
}

/// Renders onto a flat grey picture and checks that nothing was drawn outside the boxes
/// (allowing for JPEG ringing a few pixels out).
#[test]
fn rendering_touches_no_pixel_outside_the_boxes() {
    let (w, h) = (400u32, 300u32);
    let grey = image::RgbImage::from_pixel(w, h, image::Rgb([128, 128, 128]));
    let mut png = std::io::Cursor::new(Vec::new());
    grey.write_to(&mut png, image::ImageFormat::Png).unwrap();
    let png = png.into_inner();
    let spec = MemeSpec {
        boxes: vec![
            TextBox::at("W".repeat(300), 0.1, 0.1, 0.3, 0.2),
            TextBox::at("MANY WORDS ".repeat(40), 0.5, 0.5, 0.4, 0.3),
            TextBox::at("😂 Привет", 0.05, 0.6, 0.3, 0.35),
        ],
        ..MemeSpec::default()
    };
    let out = engine().render(Source::Upload(&png), &spec, Outputs::DISPLAY).unwrap();
    let img = image::load_from_memory(&out.display.unwrap().bytes).unwrap().to_rgb8();
    let layouts = engine().layout(&spec, w, h);
    let ringing = 8;
    let mut drawn_inside = 0;
    for (x, y, p) in img.enumerate_pixels() {
        let (x, y) = (x as i32, y as i32);
        let near_box = layouts.iter().any(|l| {
            let r = l.region;
            x >= r.x0 - ringing && x < r.x1 + ringing && y >= r.y0 - ringing && y < r.y1 + ringing
        });
        let changed = p.0.iter().any(|&c| c.abs_diff(128) > 12);
        if changed {
            assert!(near_box, "pixel ({x},{y}) = {:?} drawn outside every box", p.0);
            drawn_inside += 1;
        }
    }
    assert!(drawn_inside > 1000, "the text was drawn ({drawn_inside} pixels)");
}

#[test]
fn cyrillic_with_emoji_has_no_missing_glyph_boxes() {
    let text = "Привет, мир! 😂🚀 Ёжик, Ђ, ї — café";
    for font in FontChoice::ALL {
        assert_eq!(engine().missing_glyphs(text, font), Vec::<char>::new(), "{font}");
        let spec = MemeSpec::classic(&[text]).with_font(font);
        let l = &engine().layout(&spec, 600, 600)[0];
        assert_eq!(l.missing, 0, "{font}");
        assert!(l.bounds.is_some());
    }
    // A character no font has is reported, and still does not crash the renderer.
    assert_eq!(engine().missing_glyphs("a\u{10FFFD}", FontChoice::Anton), vec!['\u{10FFFD}']);
    let spec = MemeSpec::classic(&["a\u{10FFFD}"]);
    assert_eq!(engine().layout(&spec, 600, 600)[0].missing, 1);
}
