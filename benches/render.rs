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
    engine.register_template("bench-600", &j600).unwrap();
    c.bench_function("template_600x600_two_captions_to_jpeg", |b| {
        b.iter(|| engine.render(Source::Template("bench-600"), black_box(&spec), Outputs::DISPLAY).unwrap())
    });
    c.bench_function("upload_600x600_jpeg_two_captions_to_jpeg", |b| {
        b.iter(|| engine.render(Source::Upload(black_box(&j600)), &spec, Outputs::DISPLAY).unwrap())
    });
    c.bench_function("template_600x600_two_captions_display_and_thumbnail", |b| {
        b.iter(|| engine.render(Source::Template("bench-600"), black_box(&spec), Outputs::SAVE).unwrap())
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

criterion_group!(render, benches);
criterion_main!(render);
