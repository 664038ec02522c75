//! Meme engine benchmarks (SPEC §7). Run single-threaded:
//! `CARGO_BUILD_JOBS=1 cargo bench --bench render`. Medians are read from
//! `target/criterion/<bench>/new/estimates.json` into BENCHMARKS.md.

use criterion::{Criterion, criterion_group, criterion_main};
use skyhigh::render::{Engine, MemeSpec, Outputs, Source, templates};
use std::hint::black_box;
use std::time::Duration;

fn rgb_of_template(id: &str) -> image::RgbImage {
    image::load_from_memory(templates::find(id).unwrap().bytes).unwrap().to_rgb8()
}

/// Test pictures, made by an independent encoder (jpeg-encoder), so the engine decodes what it
/// did not make itself.
fn jpeg(img: &image::RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, quality)
        .encode(img.as_raw(), img.width() as u16, img.height() as u16, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    out
}

/// A 600×600 photographic JPEG (the astronaut, upscaled), like a typical template.
fn jpeg_600() -> Vec<u8> {
    let img = image::imageops::resize(&rgb_of_template("astronaut"), 600, 600, image::imageops::FilterType::Triangle);
    jpeg(&img, 90)
}

/// A 4000×3000 JPEG, the size of a 12 MP phone photo.
fn jpeg_4000() -> Vec<u8> {
    let img = image::imageops::resize(&rgb_of_template("rocket"), 4000, 3000, image::imageops::FilterType::Triangle);
    jpeg(&img, 90)
}

/// A 50-frame 451×300 animated GIF (Chelsea panning sideways).
fn gif_50() -> Vec<u8> {
    let src = image::RgbaImage::from(image::DynamicImage::ImageRgb8(rgb_of_template("chelsea")));
    let (w, h) = src.dimensions();
    let mut out = Vec::new();
    {
        let mut enc = gif::Encoder::new(&mut out, w as u16, h as u16, &[]).unwrap();
        enc.set_repeat(gif::Repeat::Infinite).unwrap();
        for i in 0..50u32 {
            let mut frame = image::RgbaImage::from_fn(w, h, |x, y| *src.get_pixel((x + i * 6) % w, y));
            let mut f = gif::Frame::from_rgba_speed(w as u16, h as u16, frame.as_mut(), 30);
            f.delay = 4;
            enc.write_frame(&f).unwrap();
        }
    }
    out
}

fn benches(c: &mut Criterion) {
    let engine = Engine::new().unwrap();
    let spec = MemeSpec::classic(&["one does not simply", "render a meme in five milliseconds"]);

    let j600 = jpeg_600();
    // `scripts/bench-floor` times Pillow on these very bytes.
    if let Ok(path) = std::env::var("SKYHIGH_BENCH_JPEG_OUT") {
        std::fs::write(path, &j600).unwrap();
    }
    engine.register_template("bench-600", &j600).unwrap();
    c.bench_function("template_600x600_two_captions_to_jpeg", |b| {
        b.iter(|| engine.render(Source::Template("bench-600"), black_box(&spec), Outputs::DISPLAY).unwrap())
    });
    c.bench_function("upload_600x600_jpeg_two_captions_to_jpeg", |b| {
        b.iter(|| engine.render(Source::Upload(black_box(&j600)), &spec, Outputs::DISPLAY).unwrap())
    });
    // The encoder alone on the decoded picture: what of the renders above is encoding.
    let pixels = image::load_from_memory(&j600).unwrap().to_rgb8();
    c.bench_function("encode_600x600_jpeg", |b| {
        b.iter(|| skyhigh::render::encode_jpeg(black_box(pixels.as_raw()), 600, 600, 85).unwrap())
    });
    c.bench_function("template_600x600_two_captions_display_and_thumbnail", |b| {
        b.iter(|| engine.render(Source::Template("bench-600"), black_box(&spec), Outputs::SAVE).unwrap())
    });

    // Shaped scripts: Chinese from the CJK fallback font, emoji from the colour bitmaps.
    let cjk = MemeSpec::classic(&["当你的代码第一次就编译通过", "我不相信"]);
    c.bench_function("template_600x600_two_cjk_captions_to_jpeg", |b| {
        b.iter(|| engine.render(Source::Template("bench-600"), black_box(&cjk), Outputs::DISPLAY).unwrap())
    });
    let emoji = MemeSpec::classic(&["👩\u{200D}💻 ships it 👍🏽 🇩🇪", "monday 😂 🚀"]);
    c.bench_function("template_600x600_emoji_captions_to_jpeg", |b| {
        b.iter(|| engine.render(Source::Template("bench-600"), black_box(&emoji), Outputs::DISPLAY).unwrap())
    });

    // Captions never seen before (a number changes every time), so nothing of the layout
    // cache helps: shaping, line breaking and the size search run on every render.
    let mut n = 0u64;
    c.bench_function("template_600x600_fresh_latin_captions_to_jpeg", |b| {
        b.iter(|| {
            n += 1;
            let s =
                MemeSpec::classic(&["one does not simply", &format!("render meme number {n} in five milliseconds")]);
            engine.render(Source::Template("bench-600"), &s, Outputs::DISPLAY).unwrap()
        })
    });
    c.bench_function("template_600x600_fresh_cjk_captions_to_jpeg", |b| {
        b.iter(|| {
            n += 1;
            let s = MemeSpec::classic(&["当你的代码第一次就编译通过", &format!("我不相信 {n}")]);
            engine.render(Source::Template("bench-600"), &s, Outputs::DISPLAY).unwrap()
        })
    });

    // The baseline the design card named: the same decoded 600×600 picture captioned with
    // imageproc's text drawing, an outline from its morphology, and the same JPEG encoder.
    let picture = image::load_from_memory(&j600).unwrap().to_rgb8();
    let layouts = engine.layout(&spec, 600, 600);
    let anton = ab_glyph::FontRef::try_from_slice(include_bytes!("../fonts/Anton-Regular.ttf")).unwrap();
    if let Some(dir) = std::env::var_os("BENCH_SAVE_DIR") {
        // For looking at the two side by side (README, engine section).
        let dir = std::path::PathBuf::from(dir);
        let save = |name: &str, jpeg: &[u8]| image::load_from_memory(jpeg).unwrap().save(dir.join(name)).unwrap();
        for (name, s) in [("engine.png", &spec), ("engine-cjk.png", &cjk), ("engine-emoji.png", &emoji)] {
            save(
                name,
                &engine.render(Source::Template("bench-600"), s, Outputs::DISPLAY).unwrap().display.unwrap().bytes,
            );
        }
        save("imageproc.png", &imageproc_meme(&picture, &anton, &layouts));
    }
    c.bench_function("imageproc_baseline_600x600_two_captions_to_jpeg", |b| {
        b.iter(|| imageproc_meme(black_box(&picture), &anton, &layouts))
    });

    let mut slow = c.benchmark_group("large");
    slow.sample_size(10).measurement_time(Duration::from_secs(20));
    let j4000 = jpeg_4000();
    slow.bench_function("upload_4000x3000_jpeg_to_display_and_thumbnail", |b| {
        b.iter(|| engine.render(Source::Upload(black_box(&j4000)), &spec, Outputs::SAVE).unwrap())
    });
    let g50 = gif_50();
    slow.bench_function("gif_50_frames_451x300_to_display_and_thumbnail", |b| {
        b.iter(|| engine.render(Source::Upload(black_box(&g50)), &spec, Outputs::SAVE).unwrap())
    });
    slow.finish();
}

/// Lines as the engine breaks the two captions at 600×600 (checked on its output).
const BASELINE_LINES: [&[&str]; 2] = [&["ONE DOES NOT SIMPLY"], &["RENDER A MEME IN", "FIVE MILLISECONDS"]];

/// Captions drawn the way imageproc offers: white text into a coverage mask, the mask dilated
/// (binary, L2 disc) for the outline, both composited, then encoded as the engine encodes.
fn imageproc_meme(
    picture: &image::RgbImage,
    font: &ab_glyph::FontRef<'_>,
    layouts: &[skyhigh::render::TextLayout],
) -> Vec<u8> {
    use imageproc::drawing::{draw_text_mut, text_size};
    let (w, h) = picture.dimensions();
    let mut mask = image::GrayImage::new(w, h);
    let mut radius = 1;
    for (l, lines) in layouts.iter().zip(BASELINE_LINES) {
        let scale = ab_glyph::PxScale::from(l.size as f32);
        radius = l.outline_radius.max(1);
        let step = (l.size as f32 * 0.7) as i32;
        let top = l.bounds.map_or(l.region.y0, |b| b.y0);
        for (i, line) in lines.iter().enumerate() {
            let (tw, _) = text_size(scale, font, line);
            let x = l.region.x0 + (l.region.width() - tw as i32) / 2;
            draw_text_mut(&mut mask, image::Luma([255]), x, top + i as i32 * step, scale, font, line);
        }
    }
    let outline = imageproc::morphology::dilate(&mask, imageproc::distance_transform::Norm::L2, radius as u8);
    let mut out = picture.clone();
    for ((p, o), f) in out.pixels_mut().zip(outline.pixels()).zip(mask.pixels()) {
        let (o, f) = (u32::from(o.0[0]), u32::from(f.0[0]));
        for c in &mut p.0 {
            let v = u32::from(*c) * (255 - o) / 255; // black outline
            *c = ((v * (255 - f) + 255 * f) / 255) as u8; // white fill
        }
    }
    skyhigh::render::encode_jpeg(out.as_raw(), out.width(), out.height(), 85).unwrap().bytes
}

criterion_group!(render, benches);
criterion_main!(render);
