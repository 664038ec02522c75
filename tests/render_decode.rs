//! Every supported format decodes; hostile and broken inputs fail with typed errors, fast.
//!
//! Fixtures live in `tests/fixtures/` (a few hundred bytes each). Regenerate them with
//! `UPDATE_FIXTURES=1 cargo test --test render_decode`.

use skyhigh::render::{Engine, Format, Limits, MemeSpec, Outputs, RenderError, Source};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn fixture(name: &str) -> Vec<u8> {
    if std::env::var_os("UPDATE_FIXTURES").is_some() {
        generate_fixtures();
    }
    std::fs::read(fixture_path(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// A 64×48 picture whose left half is red and right half blue.
fn halves(w: u32, h: u32) -> image::RgbImage {
    image::RgbImage::from_fn(w, h, |x, _| if x < w / 2 { image::Rgb([220, 20, 20]) } else { image::Rgb([20, 20, 220]) })
}

fn generate_fixtures() {
    use image::ImageEncoder;
    let img = halves(64, 48);
    let write = |name: &str, bytes: Vec<u8>| std::fs::write(fixture_path(name), bytes).unwrap();

    let mut png = Vec::new();
    let rgba = image::RgbaImage::from_fn(64, 48, |x, y| {
        let a = if y < 24 { 255 } else { 0 }; // bottom half fully transparent
        image::Rgba([(x * 4) as u8, 100, 200, a])
    });
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(rgba.as_raw(), 64, 48, image::ExtendedColorType::Rgba8)
        .unwrap();
    write("rgba.png", png);

    // JPEG stored sideways with EXIF orientation 6 ("rotate 90° clockwise to view").
    let exif: Vec<u8> = [
        b"Exif\0\0".as_slice(),
        b"II*\0",
        &8u32.to_le_bytes(),
        &1u16.to_le_bytes(),
        &0x0112u16.to_le_bytes(),
        &3u16.to_le_bytes(),
        &1u32.to_le_bytes(),
        &6u16.to_le_bytes(),
        &[0, 0],
        &0u32.to_le_bytes(),
    ]
    .concat();
    let mut jpg = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut jpg, 90);
    enc.add_app_segment(1, exif).unwrap();
    enc.encode(img.as_raw(), 64, 48, jpeg_encoder::ColorType::Rgb).unwrap();
    write("rotated-exif6.jpg", jpg);

    let mut bmp = std::io::Cursor::new(Vec::new());
    img.write_to(&mut bmp, image::ImageFormat::Bmp).unwrap();
    write("halves.bmp", bmp.into_inner());

    let mut webp = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut webp)
        .write_image(img.as_raw(), 64, 48, image::ExtendedColorType::Rgb8)
        .unwrap();
    write("halves.webp", webp);

    write("anim-3frames.gif", gif_frames(32, 24, &[[255, 0, 0], [0, 255, 0], [0, 0, 255]], &[10, 20, 30]));
    write("still.gif", gif_frames(32, 24, &[[255, 255, 0]], &[0]));
}

/// A GIF of solid frames with the given colours and delays (hundredths of a second).
fn gif_frames(w: u16, h: u16, colours: &[[u8; 3]], delays: &[u16]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = gif::Encoder::new(&mut out, w, h, &[]).unwrap();
        enc.set_repeat(gif::Repeat::Infinite).unwrap();
        for (c, d) in colours.iter().zip(delays) {
            let mut px: Vec<u8> = (0..usize::from(w) * usize::from(h)).flat_map(|_| [c[0], c[1], c[2], 255]).collect();
            let mut f = gif::Frame::from_rgba(w, h, &mut px);
            f.delay = *d;
            enc.write_frame(&f).unwrap();
        }
    }
    out
}

fn engine() -> Engine {
    Engine::new().unwrap()
}

fn decode_display(bytes: &[u8]) -> image::RgbImage {
    let out = engine().render(Source::Upload(bytes), &MemeSpec::default(), Outputs::DISPLAY).unwrap();
    image::load_from_memory(&out.display.unwrap().bytes).unwrap().to_rgb8()
}

#[test]
fn every_supported_format_is_detected_and_decodes() {
    for (name, format, w, h) in [
        ("rgba.png", Format::Png, 64, 48),
        ("rotated-exif6.jpg", Format::Jpeg, 48, 64),
        ("halves.bmp", Format::Bmp, 64, 48),
        ("halves.webp", Format::WebP, 64, 48),
        ("still.gif", Format::Gif, 32, 24),
        ("anim-3frames.gif", Format::Gif, 32, 24),
    ] {
        let bytes = fixture(name);
        let info = engine().probe(&bytes).unwrap();
        assert_eq!((info.format, info.width, info.height), (format, w, h), "{name}");
        let out = engine().render(Source::Upload(&bytes), &MemeSpec::classic(&["hi"]), Outputs::SAVE).unwrap();
        let d = out.display.unwrap();
        assert_eq!((d.width, d.height), (w, h), "{name}");
    }
}

#[test]
fn jpeg_exif_orientation_stands_the_photo_upright() {
    let img = decode_display(&fixture("rotated-exif6.jpg"));
    assert_eq!(img.dimensions(), (48, 64));
    // Stored left half red; turned 90° clockwise, red is on top.
    let top = img.get_pixel(24, 8).0;
    let bottom = img.get_pixel(24, 56).0;
    assert!(top[0] > 150 && top[2] < 100, "top {top:?}");
    assert!(bottom[2] > 150 && bottom[0] < 100, "bottom {bottom:?}");
}

#[test]
fn transparency_is_flattened_onto_white() {
    let img = decode_display(&fixture("rgba.png"));
    let p = img.get_pixel(32, 40).0;
    assert!(p.iter().all(|&c| c > 245), "{p:?}");
}

#[test]
fn an_animated_gif_stays_animated_with_its_timing() {
    let bytes = fixture("anim-3frames.gif");
    let out = engine().render(Source::Upload(&bytes), &MemeSpec::classic(&["top", "bottom"]), Outputs::ALL).unwrap();
    assert!(out.animated);
    assert_eq!(out.frames, 3);
    let d = out.display.unwrap();
    assert_eq!(d.mime, "image/gif");
    let mut opts = gif::DecodeOptions::new();
    opts.set_color_output(gif::ColorOutput::RGBA);
    let mut dec = opts.read_info(d.bytes.as_slice()).unwrap();
    let mut delays = Vec::new();
    let mut centre = Vec::new();
    while let Some(f) = dec.read_next_frame().unwrap() {
        delays.push(f.delay);
        let i = (12 * 32 + 16) * 4;
        centre.push([f.buffer[i], f.buffer[i + 1], f.buffer[i + 2]]);
    }
    assert_eq!(delays, vec![10, 20, 30]);
    assert!(centre[0][0] > 200 && centre[1][1] > 200 && centre[2][2] > 200, "{centre:?}");
    assert_eq!(out.thumbnail.unwrap().mime, "image/gif");
}

#[test]
fn a_tiny_png_declaring_100000_squared_pixels_fails_fast_without_allocating() {
    let bytes = fixture("bomb-100000x100000.png");
    assert!(bytes.len() <= 50);
    let engine = engine();
    let start = Instant::now();
    let err = engine.render(Source::Upload(&bytes), &MemeSpec::classic(&["x"]), Outputs::SAVE).expect_err("must fail");
    let probe_err = engine.probe(&bytes).expect_err("must fail");
    let elapsed = start.elapsed();
    assert!(matches!(err, RenderError::TooLarge { width: 100_000, height: 100_000, .. }), "{err:?}");
    assert!(matches!(probe_err, RenderError::TooLarge { .. }));
    assert!(err.is_bad_input());
    // Both calls together: the header is read and refused, no pixel buffer is allocated.
    assert!(elapsed < Duration::from_millis(10), "{elapsed:?}");
}

#[test]
fn a_bomb_within_the_side_limits_hits_the_memory_limit() {
    // 3000×3000 RGBA (36 MB decoded) compresses to a few kB of zeros.
    let mut png = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut png, 3000, 3000);
        enc.set_color(png::ColorType::Rgba);
        let mut w = enc.write_header().unwrap();
        w.write_image_data(&vec![0u8; 3000 * 3000 * 4]).unwrap();
    }
    assert!(png.len() < 100_000);
    let limits = Limits { max_alloc: 8 * 1024 * 1024, ..Limits::default() };
    let engine = Engine::with_limits(limits).unwrap();
    let err = engine.render(Source::Upload(&png), &MemeSpec::default(), Outputs::DISPLAY).expect_err("must fail");
    assert!(matches!(err, RenderError::MemoryLimit), "{err:?}");
    let limits = Limits { max_pixels: 1_000_000, ..Limits::default() };
    let err = Engine::with_limits(limits).unwrap().probe(&png).expect_err("must fail");
    assert!(matches!(err, RenderError::TooLarge { .. }), "{err:?}");
}

#[test]
fn too_many_gif_frames_is_a_typed_error() {
    let colours: Vec<[u8; 3]> = (0..12).map(|i| [i * 20, 0, 0]).collect();
    let bytes = gif_frames(8, 8, &colours, &[5; 12]);
    let limits = Limits { max_frames: 10, ..Limits::default() };
    let err = Engine::with_limits(limits)
        .unwrap()
        .render(Source::Upload(&bytes), &MemeSpec::default(), Outputs::DISPLAY)
        .expect_err("must fail");
    assert!(matches!(err, RenderError::TooManyFrames { limit: 10 }), "{err:?}");
    let limits = Limits { max_total_pixels: 8 * 8 * 5, ..Limits::default() };
    let err = Engine::with_limits(limits)
        .unwrap()
        .render(Source::Upload(&bytes), &MemeSpec::default(), Outputs::DISPLAY)
        .expect_err("must fail");
    assert!(matches!(err, RenderError::TooManyFrames { .. }), "{err:?}");
}

#[test]
fn truncated_files_of_every_format_fail_cleanly() {
    let engine = engine();
    for name in ["rgba.png", "rotated-exif6.jpg", "halves.bmp", "halves.webp", "anim-3frames.gif", "still.gif"] {
        let bytes = fixture(name);
        for cut in [1, 8, 16, 30, bytes.len() / 2, bytes.len() - 1] {
            let r = engine.render(Source::Upload(&bytes[..cut]), &MemeSpec::classic(&["x"]), Outputs::SAVE);
            match r {
                Err(e) => assert!(e.is_bad_input(), "{name} cut at {cut}: {e:?}"),
                // Some decoders tolerate a missing tail (e.g. JPEG, BMP fill the rest): fine.
                Ok(out) => assert!(out.display.is_some()),
            }
        }
    }
}

#[test]
fn random_bytes_and_non_images_are_unsupported_or_corrupt() {
    let engine = engine();
    let mut state = 0x2545F4914F6CDD1Du64;
    for len in [0usize, 1, 7, 100, 5000] {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        let err = engine.render(Source::Upload(&bytes), &MemeSpec::default(), Outputs::DISPLAY).expect_err("must fail");
        assert!(matches!(err, RenderError::UnsupportedFormat), "{len}: {err:?}");
    }
    for bytes in [b"GIF89a".as_slice(), b"\x89PNG\r\n\x1a\n", b"\xFF\xD8\xFF", b"BM", b"RIFF\0\0\0\0WEBPVP8 "] {
        let err = engine.render(Source::Upload(bytes), &MemeSpec::default(), Outputs::DISPLAY).expect_err("must fail");
        assert!(err.is_bad_input(), "{bytes:?}: {err:?}");
    }
}

/// A GIF whose logical screen is `screen`×`screen` holding `frames` solid frames of
/// `frame_w`×`frame_h` each: the frame data is all one index, so LZW packs millions of pixels
/// into kilobytes (the shape of a decompression bomb that hides behind a tiny screen).
fn gif_with_oversized_frames(screen: u16, frame_w: u16, frame_h: u16, frames: usize) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = gif::Encoder::new(&mut out, screen, screen, &[0, 0, 0, 255, 255, 255]).unwrap();
        let pixels = vec![1u8; usize::from(frame_w) * usize::from(frame_h)];
        for _ in 0..frames {
            let frame = gif::Frame {
                width: frame_w,
                height: frame_h,
                buffer: std::borrow::Cow::Borrowed(&pixels),
                ..gif::Frame::default()
            };
            enc.write_frame(&frame).unwrap();
        }
    }
    out
}

#[test]
fn a_gif_frame_larger_than_the_limits_is_refused_although_its_screen_is_tiny() {
    // 16×16 screen, one 8000×6000 frame (48 MP, over the 40 MP limit): a few kB on the wire.
    let bytes = gif_with_oversized_frames(16, 8000, 6000, 1);
    assert!(bytes.len() < 200_000, "{}", bytes.len());
    let engine = engine();
    let probed = engine.probe(&bytes).expect_err("the probe reads the frame headers");
    assert!(probed.is_bad_input(), "{probed:?}");
    let err = engine.render(Source::Upload(&bytes), &MemeSpec::classic(&["x"]), Outputs::SAVE).expect_err("refused");
    assert!(err.is_bad_input(), "{err:?}");
}

#[test]
fn gif_frames_larger_than_their_screen_are_refused_from_the_headers() {
    // Twenty 2000×2000 frames on a 16×16 screen: 80 MP of LZW work for a 256-pixel picture.
    let bytes = gif_with_oversized_frames(16, 2000, 2000, 20);
    let engine = engine();
    let err = engine.probe(&bytes).expect_err("refused before any frame is decoded");
    assert!(err.is_bad_input(), "{err:?}");
    assert!(err.to_string().contains("frame"), "{err}");
}

#[test]
fn the_sum_of_all_frame_areas_is_bounded_before_decoding() {
    // 30 full-screen frames of 100×100: 300,000 pixels, over a 250,000-pixel total.
    let bytes = gif_with_oversized_frames(100, 100, 100, 30);
    let limits = Limits { max_total_pixels: 250_000, ..Limits::default() };
    let err = Engine::with_limits(limits).unwrap().probe(&bytes).expect_err("the probe counts every frame");
    assert!(matches!(err, RenderError::TooManyFrames { .. }), "{err:?}");
    let limits = Limits { max_frames: 29, ..Limits::default() };
    let err = Engine::with_limits(limits).unwrap().probe(&bytes).expect_err("and the frames");
    assert!(matches!(err, RenderError::TooManyFrames { limit: 29 }), "{err:?}");
    assert!(engine().probe(&bytes).is_ok(), "within the default limits");
}
