//! Renders at a caller's size and in a caller's format (memes by URL: `.jpg`, `.png`, `.webp`,
//! `.gif`), beside the fixed display/preview/thumbnail outputs of [`Engine::render`].

use std::io::Cursor;

use super::decode::{self, Decoded};
use super::encode::{self, Encoded, fit_within};
use super::{Cached, DISPLAY_MAX, Engine, MemeSpec, RenderError, Source, gif};

/// The encodings a caller may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputFormat {
    Jpeg,
    Png,
    WebP,
    /// Animated when the picture is; a still picture becomes a one-frame GIF.
    Gif,
}

impl OutputFormat {
    /// From a file extension: `jpg`/`jpeg`, `png`, `webp`, `gif`.
    pub fn from_extension(ext: &str) -> Option<Self> {
        match ext.to_ascii_lowercase().as_str() {
            "jpg" | "jpeg" => Some(Self::Jpeg),
            "png" => Some(Self::Png),
            "webp" => Some(Self::WebP),
            "gif" => Some(Self::Gif),
            _ => None,
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::WebP => "image/webp",
            Self::Gif => "image/gif",
        }
    }
}

impl Engine {
    /// Draws `spec` on `source`, fitted within `max_w`×`max_h` (never larger than the display
    /// size, never upscaled), encoded as `format`. An animation asked for as anything but GIF
    /// gives its first frame.
    pub fn render_sized(
        &self,
        source: Source<'_>,
        spec: &MemeSpec,
        (max_w, max_h): (u32, u32),
        format: OutputFormat,
    ) -> Result<Encoded, RenderError> {
        spec.validate().map_err(RenderError::InvalidSpec)?;
        let (max_w, max_h) = (max_w.clamp(1, DISPLAY_MAX), max_h.clamp(1, DISPLAY_MAX));
        let largest = max_w.max(max_h);
        let decoded = match source {
            Source::Template(id) => match self.cached_template(id)? {
                Cached::Still(still) => return self.still_sized(&still.image, spec, (max_w, max_h), format),
                Cached::Animated(bytes) => {
                    return self.decoded_sized(
                        decode::decode(&bytes, &self.limits, largest)?,
                        spec,
                        (max_w, max_h),
                        format,
                    );
                }
            },
            Source::Upload(bytes) => decode::decode(bytes, &self.limits, largest)?,
        };
        self.decoded_sized(decoded, spec, (max_w, max_h), format)
    }

    fn decoded_sized(
        &self,
        decoded: Decoded<'_>,
        spec: &MemeSpec,
        fit: (u32, u32),
        format: OutputFormat,
    ) -> Result<Encoded, RenderError> {
        match decoded {
            Decoded::Still(img) => self.still_sized(&img, spec, fit, format),
            Decoded::Animated(mut anim) if format == OutputFormat::Gif => {
                let (bw, bh) = fit_within(anim.width, anim.height, fit.0, fit.1);
                let plan = self.plan(spec, bw, bh);
                let (ow, oh) = fit_within(bw, bh + plan.band, fit.0, fit.1);
                let mut writer = gif::GifWriter::new(ow, oh);
                while let Some(frame) = anim.next_frame()? {
                    let (fw, fh) = frame.rgb.dimensions();
                    let base = encode::resize_rgb(frame.rgb.as_raw(), fw, fh, bw, bh)?;
                    let (canvas, cw, ch) = self.apply(&plan, base, bw, bh);
                    writer.push(&canvas, cw, ch, frame.delay_ms)?;
                }
                writer.finish()
            }
            Decoded::Animated(mut anim) => {
                let first =
                    anim.next_frame()?.ok_or_else(|| RenderError::Internal("an animation without frames".into()))?;
                self.still_sized(&first.rgb, spec, fit, format)
            }
        }
    }

    fn still_sized(
        &self,
        src: &image::RgbImage,
        spec: &MemeSpec,
        (max_w, max_h): (u32, u32),
        format: OutputFormat,
    ) -> Result<Encoded, RenderError> {
        let (sw, sh) = src.dimensions();
        let (bw, bh) = fit_within(sw, sh, max_w, max_h);
        let base = encode::resize_rgb(src.as_raw(), sw, sh, bw, bh)?;
        let plan = self.plan(spec, bw, bh);
        let (mut canvas, mut cw, mut ch) = self.apply(&plan, base, bw, bh);
        // The modern layout's band makes the picture taller: fit it again.
        let (ow, oh) = fit_within(cw, ch, max_w, max_h);
        if (ow, oh) != (cw, ch) {
            canvas = encode::resize_rgb(&canvas, cw, ch, ow, oh)?;
            (cw, ch) = (ow, oh);
        }
        encode_still(&canvas, cw, ch, format)
    }
}

fn encode_still(rgb: &[u8], w: u32, h: u32, format: OutputFormat) -> Result<Encoded, RenderError> {
    let failed = |what: &str, e: &dyn std::fmt::Display| RenderError::Internal(format!("{what} encoding: {e}"));
    let bytes = match format {
        OutputFormat::Jpeg => return encode::encode_jpeg(rgb, w, h, encode::DISPLAY_QUALITY),
        OutputFormat::Gif => {
            let mut writer = gif::GifWriter::new(w, h);
            writer.push(rgb, w, h, 0)?;
            return writer.finish();
        }
        OutputFormat::Png => {
            let mut out = Vec::new();
            let mut encoder = png::Encoder::new(Cursor::new(&mut out), w, h);
            encoder.set_color(png::ColorType::Rgb);
            encoder.set_depth(png::BitDepth::Eight);
            // Fast compression: a meme by URL is rendered while its requester waits.
            encoder.set_compression(png::Compression::Fast);
            let mut writer = encoder.write_header().map_err(|e| failed("PNG", &e))?;
            writer.write_image_data(rgb).map_err(|e| failed("PNG", &e))?;
            writer.finish().map_err(|e| failed("PNG", &e))?;
            out
        }
        OutputFormat::WebP => {
            let mut out = Vec::new();
            image::codecs::webp::WebPEncoder::new_lossless(&mut out)
                .encode(rgb, w, h, image::ExtendedColorType::Rgb8)
                .map_err(|e| failed("WebP", &e))?;
            out
        }
    };
    Ok(Encoded { bytes, mime: format.mime(), width: w, height: h })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_comes_out_as_itself_within_the_size_asked() {
        let engine = Engine::new().unwrap();
        let spec = MemeSpec::classic(&["top", "bottom"]);
        for (format, magic) in [
            (OutputFormat::Jpeg, &b"\xff\xd8\xff"[..]),
            (OutputFormat::Png, b"\x89PNG"),
            (OutputFormat::WebP, b"RIFF"),
            (OutputFormat::Gif, b"GIF8"),
        ] {
            let out = engine.render_sized(Source::Template("chelsea"), &spec, (200, 150), format).unwrap();
            assert!(out.bytes.starts_with(magic), "{format:?}");
            assert_eq!(out.mime, format.mime());
            assert!(out.width <= 200 && out.height <= 150 && (out.width == 200 || out.height == 150), "{out:?}");
        }
    }

    /// Two 64×64 frames, black then white.
    fn two_frame_gif() -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut encoder = ::gif::Encoder::new(&mut out, 64, 64, &[0, 0, 0, 255, 255, 255]).unwrap();
            for colour in [0u8, 1] {
                let frame = ::gif::Frame {
                    width: 64,
                    height: 64,
                    delay: 10,
                    buffer: std::borrow::Cow::Owned(vec![colour; 64 * 64]),
                    ..Default::default()
                };
                encoder.write_frame(&frame).unwrap();
            }
        }
        out
    }

    #[test]
    fn an_animation_stays_animated_as_gif_and_is_its_first_frame_otherwise() {
        use image::AnimationDecoder;
        let engine = Engine::new().unwrap();
        let bytes = two_frame_gif();
        let spec = MemeSpec::classic(&["a"]);
        let gif = engine.render_sized(Source::Upload(&bytes), &spec, (300, 300), OutputFormat::Gif).unwrap();
        let frames = image::codecs::gif::GifDecoder::new(Cursor::new(&gif.bytes)).unwrap().into_frames().count();
        assert_eq!(frames, 2, "still animated");
        let jpeg = engine.render_sized(Source::Upload(&bytes), &spec, (300, 300), OutputFormat::Jpeg).unwrap();
        assert_eq!(jpeg.mime, "image/jpeg");
        let first = image::load_from_memory(&jpeg.bytes).unwrap().to_rgb8();
        assert!(first.get_pixel(0, 0).0[0] < 60, "the first frame is the black one");
    }
}
