//! Output encoding and resizing. JPEG goes through the engine's own encoder (`jpeg.rs`).

use super::error::RenderError;
use super::jpeg::RowCache;
use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

/// JPEG quality for display images and previews: visually clean text edges at a modest size.
pub const DISPLAY_QUALITY: u8 = 85;
/// Thumbnails are small and many per page: a little more compression.
pub const THUMBNAIL_QUALITY: u8 = 80;

/// An encoded output image.
#[derive(Clone, PartialEq, Eq)]
pub struct Encoded {
    pub bytes: Vec<u8>,
    /// `"image/jpeg"` or `"image/gif"`.
    pub mime: &'static str,
    pub width: u32,
    pub height: u32,
}

/// Shows the size of the bytes, not the bytes.
impl std::fmt::Debug for Encoded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoded")
            .field("bytes", &format_args!("<{} bytes>", self.bytes.len()))
            .field("mime", &self.mime)
            .field("width", &self.width)
            .field("height", &self.height)
            .finish()
    }
}

/// The largest size within `max_w`×`max_h` with the aspect ratio of `w`×`h`; never upscales,
/// never returns a zero side.
pub fn fit_within(w: u32, h: u32, max_w: u32, max_h: u32) -> (u32, u32) {
    if w <= max_w && h <= max_h {
        return (w.max(1), h.max(1));
    }
    let scale = (max_w as f64 / w as f64).min(max_h as f64 / h as f64);
    let nw = ((w as f64 * scale).round() as u32).clamp(1, max_w);
    let nh = ((h as f64 * scale).round() as u32).clamp(1, max_h);
    (nw, nh)
}

/// Resizes packed RGB8 pixels. A convolution with a bilinear kernel widened to the scale
/// factor: area-averaging quality for downscales, and the SIMD path of fast_image_resize.
pub fn resize_rgb(src: &[u8], sw: u32, sh: u32, dw: u32, dh: u32) -> Result<Vec<u8>, RenderError> {
    if (sw, sh) == (dw, dh) {
        return Ok(src.to_vec());
    }
    let internal = |e: &dyn std::fmt::Display| RenderError::Internal(format!("resize: {e}"));
    let src_img = ImageRef::new(sw, sh, src, PixelType::U8x3).map_err(|e| internal(&e))?;
    let mut dst = Image::new(dw, dh, PixelType::U8x3);
    let opts = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
    Resizer::new().resize(&src_img, &mut dst, &opts).map_err(|e| internal(&e))?;
    Ok(dst.into_vec())
}

/// Encodes packed RGB8 pixels as a baseline JPEG (4:2:0), with the engine's own encoder.
pub fn encode_jpeg(rgb: &[u8], w: u32, h: u32, quality: u8) -> Result<Encoded, RenderError> {
    encode_jpeg_reusing(rgb, w, h, quality, None)
}

/// [`encode_jpeg`], copying the rows that are unchanged from `reference`'s picture out of its
/// row cache (see [`RowCache`]).
pub(super) fn encode_jpeg_reusing(
    rgb: &[u8],
    w: u32,
    h: u32,
    quality: u8,
    reference: Option<(&[u8], &RowCache)>,
) -> Result<Encoded, RenderError> {
    if w == 0 || h == 0 || w > 65_535 || h > 65_535 {
        return Err(RenderError::Internal(format!("JPEG cannot hold {w}×{h}")));
    }
    if rgb.len() < w as usize * h as usize * 3 {
        return Err(RenderError::Internal(format!("{} bytes are no {w}×{h} RGB picture", rgb.len())));
    }
    let bytes = super::jpeg::encode_reusing(rgb, w as usize, h as usize, quality, reference);
    Ok(Encoded { bytes, mime: "image/jpeg", width: w, height: h })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_within_keeps_aspect_and_never_upscales() {
        assert_eq!(fit_within(4000, 3000, 1200, 1200), (1200, 900));
        assert_eq!(fit_within(3000, 4000, 300, 300), (225, 300));
        assert_eq!(fit_within(600, 600, 1200, 1200), (600, 600));
        assert_eq!(fit_within(10_000, 1, 300, 300), (300, 1));
    }

    #[test]
    fn jpeg_round_trips_dimensions() {
        let rgb = vec![128u8; 40 * 30 * 3];
        let e = encode_jpeg(&rgb, 40, 30, 85).unwrap();
        assert_eq!(&e.bytes[..2], &[0xFF, 0xD8]);
        let img = image::load_from_memory(&e.bytes).unwrap();
        assert_eq!((img.width(), img.height()), (40, 30));
        let small = resize_rgb(&rgb, 40, 30, 20, 15).unwrap();
        assert_eq!(small.len(), 20 * 15 * 3);
    }
}
