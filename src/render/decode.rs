//! Bounded decoding. The format is sniffed from the bytes; every decoder gets the limits
//! before it allocates pixels; dimensions are checked from the header first, so a 50-byte PNG
//! declaring 100000×100000 is refused in microseconds.

use super::error::RenderError;
use super::limits::Limits;
use image::codecs::gif::GifDecoder;
use image::{AnimationDecoder, DynamicImage, ImageDecoder, ImageFormat, ImageReader, RgbImage};
use std::io::Cursor;

/// The input formats the engine accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Png,
    Jpeg,
    Bmp,
    Gif,
    WebP,
}

impl Format {
    /// Sniffs the format from the first bytes; the name and the Content-Type are not trusted.
    pub fn detect(bytes: &[u8]) -> Result<Format, RenderError> {
        match image::guess_format(bytes) {
            Ok(ImageFormat::Png) => Ok(Format::Png),
            Ok(ImageFormat::Jpeg) => Ok(Format::Jpeg),
            Ok(ImageFormat::Bmp) => Ok(Format::Bmp),
            Ok(ImageFormat::Gif) => Ok(Format::Gif),
            Ok(ImageFormat::WebP) => Ok(Format::WebP),
            _ => Err(RenderError::UnsupportedFormat),
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            Format::Png => "image/png",
            Format::Jpeg => "image/jpeg",
            Format::Bmp => "image/bmp",
            Format::Gif => "image/gif",
            Format::WebP => "image/webp",
        }
    }

    /// The usual file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Png => "png",
            Format::Jpeg => "jpg",
            Format::Bmp => "bmp",
            Format::Gif => "gif",
            Format::WebP => "webp",
        }
    }

    fn image_format(self) -> ImageFormat {
        match self {
            Format::Png => ImageFormat::Png,
            Format::Jpeg => ImageFormat::Jpeg,
            Format::Bmp => ImageFormat::Bmp,
            Format::Gif => ImageFormat::Gif,
            Format::WebP => ImageFormat::WebP,
        }
    }
}

/// What [`probe`] learns from the header alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeInfo {
    pub format: Format,
    /// Dimensions as displayed, i.e. after the EXIF orientation is applied.
    pub width: u32,
    pub height: u32,
}

/// Reads only the header: format and upright dimensions, checked against the limits.
pub fn probe(bytes: &[u8], limits: &Limits) -> Result<ProbeInfo, RenderError> {
    let format = Format::detect(bytes)?;
    if format == Format::Gif {
        let scan = super::gif_scan::scan(bytes, limits)?;
        return Ok(ProbeInfo { format, width: scan.width, height: scan.height });
    }
    let mut decoder = open(bytes, format, limits)?;
    let (w, h) = decoder.dimensions();
    let (width, height) = match decoder.orientation() {
        Ok(o) if swaps_axes(o) => (h, w),
        _ => (w, h),
    };
    Ok(ProbeInfo { format, width, height })
}

fn swaps_axes(o: image::metadata::Orientation) -> bool {
    use image::metadata::Orientation as O;
    matches!(o, O::Rotate90 | O::Rotate270 | O::Rotate90FlipH | O::Rotate270FlipH)
}

/// Builds a decoder with the limits set and the dimensions checked (header parsed only).
fn open<'a>(bytes: &'a [u8], format: Format, limits: &Limits) -> Result<Box<dyn ImageDecoder + 'a>, RenderError> {
    // First with the allocation limit only, so that oversized dimensions come back as our
    // typed `TooLarge` (with the numbers) rather than the image crate's generic limit error.
    let mut header_limits = limits.to_image_limits();
    header_limits.max_image_width = None;
    header_limits.max_image_height = None;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format.image_format());
    reader.limits(header_limits);
    let mut decoder: Box<dyn ImageDecoder> = Box::new(reader.into_decoder().map_err(RenderError::from_image)?);
    let (w, h) = decoder.dimensions();
    limits.check_dimensions(w, h)?;
    decoder.set_limits(limits.to_image_limits()).map_err(RenderError::from_image)?;
    Ok(decoder)
}

/// A decoded input: one upright RGB picture, or an animation to stream.
pub(crate) enum Decoded<'a> {
    Still(RgbImage),
    Animated(Animation<'a>),
}

/// An animated GIF being decoded frame by frame: only one canvas is in memory at a time.
pub(crate) struct Animation<'a> {
    pub width: u32,
    pub height: u32,
    frames: image::Frames<'a>,
    /// Frames read ahead while finding out whether the GIF is animated.
    pending: std::collections::VecDeque<image::Frame>,
    count: u32,
    total_pixels: u64,
    limits: Limits,
}

/// One composited frame: upright RGB on white, with its delay in milliseconds.
pub(crate) struct AnimFrame {
    pub rgb: RgbImage,
    pub delay_ms: u32,
}

impl Animation<'_> {
    /// The next frame, enforcing the frame-count and total-pixel limits.
    pub fn next_frame(&mut self) -> Result<Option<AnimFrame>, RenderError> {
        let frame = match self.pending.pop_front() {
            Some(f) => f,
            None => match self.frames.next() {
                None => return Ok(None),
                Some(f) => f.map_err(RenderError::from_image)?,
            },
        };
        self.count += 1;
        self.total_pixels += u64::from(self.width) * u64::from(self.height);
        if self.count > self.limits.max_frames || self.total_pixels > self.limits.max_total_pixels {
            return Err(RenderError::TooManyFrames { limit: self.limits.max_frames });
        }
        let (numer, denom) = frame.delay().numer_denom_ms();
        let delay_ms = numer.checked_div(denom).unwrap_or(0);
        let rgba = frame.into_buffer();
        Ok(Some(AnimFrame { rgb: flatten(DynamicImage::ImageRgba8(rgba)), delay_ms }))
    }
}

/// Decodes any supported input, for outputs that fit within `target`×`target`. GIFs with more
/// than one frame come back as an animation.
pub(crate) fn decode<'a>(bytes: &'a [u8], limits: &Limits, target: u32) -> Result<Decoded<'a>, RenderError> {
    let format = Format::detect(bytes)?;
    if format == Format::Gif {
        return decode_gif(bytes, limits);
    }
    if format == Format::Jpeg
        && let Some(img) = decode_jpeg_scaled(bytes, limits, target)?
    {
        return Ok(Decoded::Still(flatten(img)));
    }
    let mut decoder = open(bytes, format, limits)?;
    // Phone photos are stored sideways with an EXIF tag saying how to turn them.
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let (w, h) = decoder.dimensions();
    // Not every decoder honours `max_alloc` for its output buffer, so check it here: the
    // decoded buffer plus the RGB copy made from it must fit.
    let needed = decoder.total_bytes().saturating_add(u64::from(w) * u64::from(h) * 3);
    if needed > limits.max_alloc {
        return Err(RenderError::MemoryLimit);
    }
    let mut img = DynamicImage::from_decoder(decoder).map_err(RenderError::from_image)?;
    img.apply_orientation(orientation);
    Ok(Decoded::Still(flatten(img)))
}

/// A JPEG at least twice as large as `target` on its long side, decoded at 1/2, 1/4 or 1/8
/// scale by a reduced IDCT: the smallest scale not below the target, so quality is what a
/// full decode resized would give, at a fraction of the memory and time (a 40 MP photo for a
/// 1200-pixel display decodes at 1/4: 7.5 MB instead of 120 MB). `None` when the picture is
/// too small to gain from it, or of a kind the scaling decoder does not handle (CMYK,
/// 16-bit, lossless): the full decoder takes those. This decoder reads the header itself
/// (dimensions checked against the limits, EXIF orientation applied), so the bytes are not also
/// copied for the image crate's decoder, which buffers its whole input.
fn decode_jpeg_scaled(bytes: &[u8], limits: &Limits, target: u32) -> Result<Option<DynamicImage>, RenderError> {
    use jpeg_decoder::{CodingProcess, PixelFormat};
    let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    decoder.set_max_decoding_buffer_size(usize::try_from(limits.max_alloc).unwrap_or(usize::MAX));
    if decoder.read_info().is_err() {
        // Let the full decoder say what is wrong with it.
        return Ok(None);
    }
    let Some(info) = decoder.info() else { return Ok(None) };
    let (width, height) = (u32::from(info.width), u32::from(info.height));
    limits.check_dimensions(width, height)?;
    if width.max(height) < target.saturating_mul(2) {
        return Ok(None);
    }
    if !matches!(info.pixel_format, PixelFormat::L8 | PixelFormat::RGB24)
        || info.coding_process == CodingProcess::Lossless
    {
        return Ok(None);
    }
    // A progressive JPEG keeps every DCT coefficient until its last scan: two bytes per
    // sample, up to three samples a pixel, whatever the output scale.
    if info.coding_process == CodingProcess::DctProgressive
        && u64::from(width) * u64::from(height) * 6 > limits.max_alloc
    {
        return Err(RenderError::MemoryLimit);
    }
    let (tw, th) = super::encode::fit_within(width, height, target, target);
    let clamp = |v: u32| u16::try_from(v).unwrap_or(u16::MAX);
    let (sw, sh) = decoder.scale(clamp(tw), clamp(th)).map_err(|_| RenderError::Corrupt)?;
    let pixels = decoder.decode().map_err(|_| RenderError::Corrupt)?;
    let (sw, sh) = (u32::from(sw), u32::from(sh));
    let image = match info.pixel_format {
        PixelFormat::L8 => image::GrayImage::from_raw(sw, sh, pixels).map(DynamicImage::ImageLuma8),
        _ => RgbImage::from_raw(sw, sh, pixels).map(DynamicImage::ImageRgb8),
    };
    let mut image = image.ok_or(RenderError::Corrupt)?;
    // Phone photos are stored sideways with an EXIF tag saying how to turn them.
    if let Some(orientation) = decoder.exif_data().and_then(image::metadata::Orientation::from_exif_chunk) {
        image.apply_orientation(orientation);
    }
    Ok(Some(image))
}

fn decode_gif<'a>(bytes: &'a [u8], limits: &Limits) -> Result<Decoded<'a>, RenderError> {
    // Every frame's size, their number and their total area, from the headers alone.
    super::gif_scan::scan(bytes, limits)?;
    let mut decoder = GifDecoder::new(Cursor::new(bytes)).map_err(RenderError::from_image)?;
    let (width, height) = decoder.dimensions();
    limits.check_dimensions(width, height)?;
    // Compositing keeps the frame being read and two RGBA canvases (current and previous
    // frame), all at most the screen's size since the scan, plus an RGB copy: 15 bytes a pixel.
    if u64::from(width) * u64::from(height) * 15 > limits.max_alloc {
        return Err(RenderError::MemoryLimit);
    }
    decoder.set_limits(limits.to_image_limits()).map_err(RenderError::from_image)?;
    let mut anim = Animation {
        width,
        height,
        frames: decoder.into_frames(),
        pending: Default::default(),
        count: 0,
        total_pixels: 0,
        limits: *limits,
    };
    // Read ahead two frames: one frame means a still picture.
    for _ in 0..2 {
        match anim.frames.next() {
            Some(f) => anim.pending.push_back(f.map_err(RenderError::from_image)?),
            None => break,
        }
    }
    if anim.pending.len() < 2 {
        return match anim.next_frame()? {
            Some(f) => Ok(Decoded::Still(f.rgb)),
            None => Err(RenderError::Corrupt),
        };
    }
    Ok(Decoded::Animated(anim))
}

/// Any pixel layout to RGB8; transparency is flattened onto white (JPEG has no alpha, and a
/// white page is where a transparent sticker is meant to sit).
pub(crate) fn flatten(img: DynamicImage) -> RgbImage {
    if !img.color().has_alpha() {
        return img.into_rgb8();
    }
    let rgba = img.into_rgba8();
    let (w, h) = rgba.dimensions();
    let mut out = Vec::with_capacity(w as usize * h as usize * 3);
    for p in rgba.pixels() {
        let [r, g, b, a] = p.0;
        let a = u32::from(a);
        let over = |c: u8| ((u32::from(c) * a + 255 * (255 - a) + 127) / 255) as u8;
        out.extend_from_slice(&[over(r), over(g), over(b)]);
    }
    // The buffer has exactly w*h*3 bytes, so this cannot fail; fall back to a white image
    // rather than panic if it ever did.
    RgbImage::from_raw(w, h, out).unwrap_or_else(|| RgbImage::from_pixel(w, h, image::Rgb([255, 255, 255])))
}
