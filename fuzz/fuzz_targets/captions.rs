//! Arbitrary caption text through shaping, bidi, line breaking, hyphenation, fallback fonts
//! and drawing. The first byte picks the font, layout and alignment; the rest, read as UTF-8
//! (invalid bytes become U+FFFD), is split into up to four boxes at NUL bytes. The picture is
//! a small flat image, so each execution spends its time in the text code.

#![no_main]

use libfuzzer_sys::fuzz_target;
use skyhigh_render::render::{Align, Engine, FontChoice, Layout, MemeSpec, Outputs, Source, TextBox, VAlign};
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
    let Some((&selector, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    let font = FontChoice::ALL[usize::from(selector) % FontChoice::ALL.len()];
    let align = [Align::Left, Align::Center, Align::Right][usize::from(selector >> 3) % 3];
    let boxes: Vec<TextBox> = text
        .split('\0')
        .take(4)
        .enumerate()
        .map(|(i, t)| TextBox {
            font,
            align,
            valign: [VAlign::Top, VAlign::Middle, VAlign::Bottom][i % 3],
            uppercase: selector & 0x40 != 0,
            ..TextBox::at(t, 0.05, 0.05 + 0.22 * i as f32, 0.9, 0.25)
        })
        .collect();
    let layout = if selector & 0x80 != 0 { Layout::Modern } else { Layout::Classic };
    let spec = MemeSpec { layout, boxes };
    if spec.validate().is_err() {
        return;
    }
    let _ = engine().missing_glyphs(&text, font);
    let out = engine().render(Source::Template("fuzz"), &spec, Outputs::PREVIEW).expect("valid text always renders");
    assert!(out.preview.is_some());
});
