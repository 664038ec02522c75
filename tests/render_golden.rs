//! Golden tests: memes rendered and compared with reference images in `tests/golden/`.
//!
//! Regenerate the references with `UPDATE_GOLDEN=1 cargo test --test render_golden`, then look
//! at every PNG before committing: they must look like real memes.

use skyhigh::render::{Align, Engine, FontChoice, MemeSpec, Outputs, Rgb, Source, TextBox, VAlign, templates};
use std::path::PathBuf;

/// Mean absolute difference per channel allowed (0..255). The pipeline is deterministic on
/// one machine; the slack absorbs SIMD differences of the JPEG and resize code across CPUs,
/// while a moved line of text, a different size or a lost outline costs far more.
const TOLERANCE: f64 = 1.5;

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(format!("{name}.png"))
}

fn check(name: &str, template: &str, spec: &MemeSpec) {
    let engine = Engine::new().unwrap();
    let out = engine.render(Source::Template(template), spec, Outputs::PREVIEW).unwrap();
    let preview = out.preview.unwrap();
    let got = image::load_from_memory(&preview.bytes).unwrap().to_rgb8();
    let path = golden_path(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        got.save(&path).unwrap();
    }
    let want =
        image::open(&path).unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display())).to_rgb8();
    assert_eq!(got.dimensions(), want.dimensions(), "{name}: size changed");
    let diff: u64 = got.as_raw().iter().zip(want.as_raw()).map(|(a, b)| u64::from(a.abs_diff(*b))).sum();
    let mean = diff as f64 / got.as_raw().len() as f64;
    assert!(mean <= TOLERANCE, "{name}: mean difference {mean:.2} > {TOLERANCE}");
}

fn tpl(id: &str, captions: &[&str]) -> MemeSpec {
    templates::find(id).unwrap().spec(captions)
}

#[test]
fn golden_classic_top_and_bottom() {
    check("chelsea-classic", "chelsea", &tpl("chelsea", &["when the code compiles", "on the first try"]));
}

#[test]
fn golden_long_caption_wraps_and_shrinks() {
    let spec = tpl(
        "grace-hopper",
        &[
            "one does not simply walk into production on a friday afternoon without tests",
            "it's easier to ask forgiveness than it is to get permission",
        ],
    );
    check("grace-hopper-long", "grace-hopper", &spec);
}

#[test]
fn golden_cyrillic_accents_and_emoji_fall_back() {
    check("cameraman-unicode", "cameraman", &tpl("cameraman", &["Привет, мир! 😂", "Été à gogo — ñandú 🚀"]));
}

#[test]
fn golden_modern_layout() {
    let spec = MemeSpec::modern(&["me explaining to my cat why the coffee machine needs a firmware update"]);
    check("coffee-modern", "coffee", &spec);
}

#[test]
fn golden_custom_boxes_fonts_and_colours() {
    let spec = MemeSpec {
        boxes: vec![
            TextBox {
                align: Align::Left,
                valign: VAlign::Top,
                font: FontChoice::ComicNeue,
                fill: Rgb([255, 221, 0]),
                uppercase: false,
                ..TextBox::at("Houston, we have a meme", 0.03, 0.03, 0.6, 0.3)
            },
            TextBox {
                align: Align::Right,
                font: FontChoice::Oswald,
                ..TextBox::at("right aligned oswald", 0.4, 0.45, 0.57, 0.15)
            },
            TextBox {
                font: FontChoice::ArchivoBlack,
                fill: Rgb::BLACK,
                outline: Rgb::WHITE,
                valign: VAlign::Bottom,
                ..TextBox::at("archivo black inverted", 0.02, 0.75, 0.96, 0.23)
            },
        ],
        ..MemeSpec::default()
    };
    check("astronaut-custom", "astronaut", &spec);
}

#[test]
fn golden_many_captions_spread_down() {
    let spec = MemeSpec::classic(&["3", "2", "1", "liftoff", "we have a meme"]).with_font(FontChoice::NotoSans);
    check("rocket-five", "rocket", &spec);
}
