//! `skyhigh render`: the engine from the command line, run as the real binary.

use std::path::Path;
use std::process::{Command, Output};

fn skyhigh_render(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_skyhigh")).arg("render").args(args).output().expect("run skyhigh render")
}

fn image_size(path: &Path) -> (u32, u32) {
    image::image_dimensions(path).unwrap_or_else(|e| panic!("{} is not an image: {e}", path.display()))
}

#[test]
fn a_template_meme_is_written_as_a_jpeg_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jpg");

    let run =
        skyhigh_render(&["--template", "chelsea", "-c", "top text", "-c", "bottom text", "-o", out.to_str().unwrap()]);

    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(&bytes[..3], &[0xFF, 0xD8, 0xFF], "a JPEG");
    let (width, height) = image_size(&out);
    let report = String::from_utf8_lossy(&run.stdout);
    assert!(report.contains(&format!("{width}×{height} image/jpeg ({} bytes)", bytes.len())), "{report}");
}

#[test]
fn an_image_file_in_the_modern_layout_gets_a_band_above_and_a_thumbnail_fits_300() {
    let dir = tempfile::tempdir().unwrap();
    let image = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/rgba.png");
    let (source_width, source_height) = image_size(Path::new(image));
    let classic = dir.path().join("classic.jpg");
    let modern = dir.path().join("modern.jpg");
    let thumb = dir.path().join("thumb.jpg");

    for (layout, out) in [("classic", &classic), ("modern", &modern)] {
        let run =
            skyhigh_render(&["--image", image, "--layout", layout, "-c", "when the", "-o", out.to_str().unwrap()]);
        assert!(run.status.success(), "{layout}: {}", String::from_utf8_lossy(&run.stderr));
    }
    let run = skyhigh_render(&["--image", image, "--size", "thumbnail", "-c", "x", "-o", thumb.to_str().unwrap()]);
    assert!(run.status.success());

    let (classic_width, classic_height) = image_size(&classic);
    let (modern_width, modern_height) = image_size(&modern);
    assert_eq!(classic_width * source_height, classic_height * source_width, "aspect ratio kept");
    assert_eq!(modern_width, classic_width);
    assert!(modern_height > classic_height, "the modern layout adds a band above the image");
    let (thumb_width, thumb_height) = image_size(&thumb);
    assert!(thumb_width <= 300 && thumb_height <= 300);
}

#[test]
fn bad_arguments_fail_with_a_message_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jpg");
    let out = out.to_str().unwrap();
    let not_an_image = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");

    for (args, expected) in [
        (vec!["--template", "no-such-template", "-o", out], "available: "),
        (vec!["--template", "chelsea", "--font", "wingdings", "-o", out], "wingdings"),
        (vec!["--template", "chelsea", "--size", "huge", "-o", out], "unknown size"),
        (vec!["--image", not_an_image, "-c", "x", "-o", out], "rendering the meme"),
        (vec!["--image", "/no/such/file.png", "-o", out], "reading /no/such/file.png"),
        (vec!["-c", "no source", "-o", out], "--template"),
    ] {
        let run = skyhigh_render(&args);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(!run.status.success(), "{args:?} should fail");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    assert!(!Path::new(out).exists(), "a failed run writes no file");
}
