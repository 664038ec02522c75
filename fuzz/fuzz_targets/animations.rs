//! GIF and WebP inputs, the formats with frames: the frame limits (each frame's size, their
//! number, the sum of their areas, frames larger than their picture) are checked from the
//! headers before decoding, and decoding itself is bounded. The first byte picks the format
//! (its magic bytes are written in front of the rest, so nearly every input reaches the
//! format's parser instead of the sniffer's refusal) and the captions.

#![no_main]

use libfuzzer_sys::fuzz_target;
use skyhigh_render::render::{Engine, Limits, MemeSpec, Outputs, Source};
use std::sync::OnceLock;

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    // Smaller limits than production keep each execution fast; the code paths are the same.
    ENGINE.get_or_init(|| {
        Engine::with_limits(Limits {
            max_side: 2048,
            max_pixels: 2_000_000,
            max_frames: 40,
            max_total_pixels: 4_000_000,
            max_alloc: 48 * 1024 * 1024,
        })
        .expect("engine")
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let mut image = Vec::with_capacity(rest.len() + 12);
    if selector & 1 == 0 {
        image.extend_from_slice(if selector & 2 == 0 { b"GIF89a" } else { b"GIF87a" });
    } else {
        // RIFF <size> WEBP: the size is taken from the input's length, as a real file has it.
        let size = u32::try_from(rest.len() + 4).unwrap_or(u32::MAX);
        image.extend_from_slice(b"RIFF");
        image.extend_from_slice(&size.to_le_bytes());
        image.extend_from_slice(b"WEBP");
    }
    image.extend_from_slice(rest);
    let spec = if selector & 4 == 0 { MemeSpec::classic(&["top", "bottom"]) } else { MemeSpec::default() };
    let _ = engine().probe(&image);
    let _ = engine().render(Source::Upload(&image), &spec, Outputs::ALL);
});
