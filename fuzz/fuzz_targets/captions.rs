//! Arbitrary caption text through shaping, bidi, line breaking, hyphenation, fallback fonts
//! and drawing, framed by `MemeSpec::from_fuzz_captions` (the first byte picks the font,
//! layout and alignment; the rest is the text of up to four boxes). The picture is a small
//! flat image, so each execution spends its time in the text code.

#![no_main]

use libfuzzer_sys::fuzz_target;
use skyhigh_render::render::{Engine, MemeSpec, Outputs, Source};
use std::sync::OnceLock;

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let engine = Engine::new().expect("engine");
        let picture = image::RgbImage::from_pixel(320, 240, image::Rgb([90, 120, 150]));
        let mut png = std::io::Cursor::new(Vec::new());
        picture.write_to(&mut png, image::ImageFormat::Png).expect("png");
        engine.register_template("fuzz", png.get_ref()).expect("template");
        engine
    })
}

fuzz_target!(|data: &[u8]| {
    let Some(spec) = MemeSpec::from_fuzz_captions(data) else { return };
    if spec.validate().is_err() {
        return;
    }
    for b in &spec.boxes {
        let _ = engine().missing_glyphs(&b.text, b.font);
    }
    let out = engine().render(Source::Template("fuzz"), &spec, Outputs::PREVIEW).expect("valid text always renders");
    assert!(out.preview.is_some());
});
