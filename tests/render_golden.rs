//! Golden tests: memes rendered and compared with reference images in `tests/golden/`.
//!
//! Regenerate the references with `UPDATE_GOLDEN=1 cargo test --test render_golden`, then look
//! at every PNG before committing: they must look like real memes.

use skyhigh::render::{Align, Engine, FontChoice, MemeSpec, Outputs, Rgb, Source, TextBox, VAlign, templates};
use std::path::PathBuf;
use std::sync::OnceLock;

/// A pixel is "wrong" when one of its channels is off by more than this (0..255). The
/// pipeline is deterministic on one machine; the slack absorbs SIMD differences of the JPEG
/// and resize code across CPUs, which move a channel by a few levels, not dozens.
const PIXEL_TOLERANCE: u8 = 40;
/// Wrong pixels allowed in a whole image. One wrong glyph at the smallest caption size here
/// makes hundreds (`one_wrong_glyph_fails_every_script_golden` shows it for each script), so
/// this is well below what any real change makes, and well above JPEG noise (0 seen).
const MAX_WRONG_PIXELS: usize = 24;
/// Mean absolute difference per channel allowed, for changes spread thinly over the picture.
const MEAN_TOLERANCE: f64 = 1.0;

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(format!("{name}.png"))
}

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::new().unwrap())
}

fn render(template: &str, spec: &MemeSpec) -> image::RgbImage {
    let out = engine().render(Source::Template(template), spec, Outputs::PREVIEW).unwrap();
    image::load_from_memory(&out.preview.unwrap().bytes).unwrap().to_rgb8()
}

/// Compares a render with its reference: Err describes how far off it is.
fn compare(got: &image::RgbImage, want: &image::RgbImage) -> Result<(), String> {
    if got.dimensions() != want.dimensions() {
        return Err(format!("size {:?} instead of {:?}", got.dimensions(), want.dimensions()));
    }
    let mut wrong = 0;
    let mut sum = 0u64;
    for (a, b) in got.pixels().zip(want.pixels()) {
        let d = (0..3).map(|i| a.0[i].abs_diff(b.0[i])).max().unwrap_or(0);
        wrong += usize::from(d > PIXEL_TOLERANCE);
        sum += (0..3).map(|i| u64::from(a.0[i].abs_diff(b.0[i]))).sum::<u64>();
    }
    let mean = sum as f64 / got.as_raw().len() as f64;
    if wrong > MAX_WRONG_PIXELS || mean > MEAN_TOLERANCE {
        return Err(format!(
            "{wrong} pixels off by more than {PIXEL_TOLERANCE} (at most {MAX_WRONG_PIXELS}), mean difference {mean:.2} (at most {MEAN_TOLERANCE})"
        ));
    }
    Ok(())
}

fn reference(name: &str) -> image::RgbImage {
    let path = golden_path(name);
    image::open(&path).unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display())).to_rgb8()
}

fn check(name: &str, template: &str, spec: &MemeSpec) {
    let got = render(template, spec);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        got.save(golden_path(name)).unwrap();
    }
    if let Err(e) = compare(&got, &reference(name)) {
        panic!("{name}: {e}");
    }
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

/// One golden per script the fallback fonts cover: the caption, and the same caption with one
/// character changed (one wrong glyph), which the comparison must catch.
struct ScriptCase {
    name: &'static str,
    template: &'static str,
    captions: [&'static str; 2],
    /// (caption index, character, replacement)
    wrong: (usize, char, char),
}

const SCRIPT_CASES: &[ScriptCase] = &[
    ScriptCase {
        name: "script-chinese",
        template: "chelsea",
        captions: ["当你的代码第一次就编译通过", "我不相信"],
        wrong: (1, '信', '言'),
    },
    ScriptCase {
        name: "script-japanese",
        template: "astronaut",
        captions: ["コードが一発で通った", "信じられない"],
        wrong: (0, 'ド', 'ト'),
    },
    ScriptCase {
        name: "script-korean",
        template: "rocket",
        captions: ["코드가 한 번에 컴파일됐다", "믿을 수 없어"],
        wrong: (1, '수', '누'),
    },
    ScriptCase {
        name: "script-arabic-hebrew",
        template: "coins",
        captions: ["عندما يعمل الكود من أول مرة", "כשהקוד עובד בפעם הראשונה"],
        wrong: (0, 'ك', 'ل'),
    },
    ScriptCase {
        name: "script-arabic-english-digits",
        template: "cameraman",
        captions: ["مرحبا Hello 2026", "الإصدار v2 جاهز 100%"],
        wrong: (0, '6', '8'),
    },
    ScriptCase {
        name: "script-hindi",
        template: "grace-hopper",
        captions: ["जब कोड पहली बार में चल जाए", "क्षमा कीजिए, यह त्रुटि है"],
        wrong: (1, 'म', 'न'),
    },
    ScriptCase {
        name: "script-thai",
        template: "deep-field",
        captions: ["เมื่อโค้ดทำงานได้ในครั้งแรก", "ไม่อยากจะเชื่อเลย"],
        wrong: (1, 'ย', 'ข'),
    },
    ScriptCase {
        name: "script-emoji",
        template: "coffee",
        captions: ["👩\u{200D}💻 ships it 👍🏽 🇩🇪", "monday :joy: :rocket:"],
        wrong: (0, '🇩', '🇫'),
    },
    ScriptCase {
        name: "script-german-compound",
        template: "chelsea",
        captions: [
            "Donaudampfschifffahrtsgesellschaftskapitänsmützenabzeichen",
            "Rindfleischetikettierungsüberwachungsaufgabenübertragungsgesetz",
        ],
        wrong: (0, 'k', 'x'),
    },
];

fn script_spec(case: &ScriptCase, captions: &[&str]) -> MemeSpec {
    tpl(case.template, captions)
}

#[test]
fn golden_every_script_is_shaped_and_drawn() {
    for case in SCRIPT_CASES {
        check(case.name, case.template, &script_spec(case, &case.captions));
    }
}

#[test]
fn one_wrong_glyph_fails_every_script_golden() {
    for case in SCRIPT_CASES {
        let (i, from, to) = case.wrong;
        let changed = case.captions[i].replacen(from, &to.to_string(), 1);
        assert_ne!(changed, case.captions[i], "{}: the replacement must change the caption", case.name);
        let mut captions = case.captions;
        captions[i] = &changed;
        let got = render(case.template, &script_spec(case, &captions));
        match compare(&got, &reference(case.name)) {
            // The mean difference printed here is what the old tolerance (a mean of 1.5) saw.
            Err(e) => eprintln!("{} with {from} → {to}: {e}", case.name),
            Ok(()) => panic!("{}: {changed:?} passed as the golden", case.name),
        }
    }
}
