//! Inputs found by `cargo fuzz run decode_render` (see `fuzz/`) that once crashed, hung or
//! over-allocated, replayed through the same decode + render path on every `cargo test`.

use skyhigh::render::{Engine, Limits, MemeSpec, Outputs, Source};
use std::time::{Duration, Instant};

#[test]
fn every_fuzz_regression_input_fails_or_renders_without_panicking() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz-regressions");
    let engine = Engine::with_limits(Limits::default()).unwrap();
    let specs = [
        MemeSpec::classic(&["top text", "bottom text"]),
        MemeSpec::modern(&["when the fuzzer finds nothing"]),
        MemeSpec::classic(&["Привет 😂 é", "a", "WWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWW"]),
        MemeSpec::default(),
    ];
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            continue;
        }
        let data = std::fs::read(&path).unwrap();
        // Same framing as the fuzz target: first byte picks the spec.
        let Some((&selector, image)) = data.split_first() else {
            continue;
        };
        let spec = &specs[usize::from(selector % 4)];
        let start = Instant::now();
        let _ = engine.probe(image);
        if let Err(e) = engine.render(Source::Upload(image), spec, Outputs::ALL) {
            assert!(e.is_bad_input(), "{}: internal error {e}", path.display());
        }
        assert!(start.elapsed() < Duration::from_secs(5), "{}: too slow", path.display());
        count += 1;
    }
    assert!(count > 0, "no regression inputs found in {}", dir.display());
}

/// Captions found by `cargo fuzz run captions` that once crashed the text code, replayed with
/// that target's framing (`MemeSpec::from_fuzz_captions`).
#[test]
fn every_caption_fuzz_regression_renders() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz-regressions-captions");
    let engine = Engine::new().unwrap();
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let Some(spec) = MemeSpec::from_fuzz_captions(&std::fs::read(&path).unwrap()) else { continue };
        let out = engine.render(Source::Template("chelsea"), &spec, Outputs::PREVIEW);
        assert!(out.is_ok(), "{}: {:?}", path.display(), out.err());
        count += 1;
    }
    assert!(count > 0, "no regression inputs found in {}", dir.display());
}
