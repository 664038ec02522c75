//! Decode + render arbitrary bytes. The first byte picks the captions' shape; the rest is the
//! image. Any panic, abort or out-of-memory is a bug: bad input must come back as an error.

#![no_main]

use libfuzzer_sys::fuzz_target;
use skyhigh_render::render::{Engine, Limits, MemeSpec, Outputs, Source};
use std::sync::OnceLock;

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    // Smaller limits than production keep each execution fast; the code paths are the same.
    ENGINE.get_or_init(|| {
        Engine::with_limits(Limits {
            max_side: 4096,
            max_pixels: 4_000_000,
            max_frames: 50,
            max_total_pixels: 8_000_000,
            max_alloc: 64 * 1024 * 1024,
        })
        .expect("engine")
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, image)) = data.split_first() else { return };
    let spec = match selector % 4 {
        0 => MemeSpec::classic(&["top text", "bottom text"]),
        1 => MemeSpec::modern(&["when the fuzzer finds nothing"]),
        2 => MemeSpec::classic(&["Привет 😂 é", "a", "WWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWW"]),
        _ => MemeSpec::default(),
    };
    let _ = engine().probe(image);
    let _ = engine().render(Source::Upload(image), &spec, Outputs::ALL);
});
