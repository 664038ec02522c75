//! Animated GIF output, written frame by frame while the input is decoded frame by frame.
//!
//! Colour quantisation: a NeuQuant palette trained on the first captioned frame becomes the
//! global palette, with a 32768-entry RGB555 lookup table so mapping a pixel is one table read
//! instead of a palette search (NeuQuant per frame costs tens of ms at 600×600). Each later
//! frame is checked on a sample of pixels; when the palette fits it badly (a scene change), a
//! new palette is trained and sent as that frame's local palette, and used from then on.

use super::encode::{Encoded, resize_rgb};
use super::error::RenderError;
use std::borrow::Cow;

/// NeuQuant sampling factor: 1 is best and slowest, 30 fastest. 10 is the usual compromise.
const NEUQUANT_SAMPLE: i32 = 10;

/// One animated output being written.
pub(crate) struct GifWriter {
    pub width: u32,
    pub height: u32,
    state: Option<State>,
}

struct State {
    enc: gif::Encoder<Vec<u8>>,
    palette: Vec<u8>,
    lut: Vec<u8>,
}

/// Mean squared error per channel above which a frame gets its own palette: about 12 levels
/// of 255 off on average, well past what dithering-free quantisation of a matching palette
/// shows (2–5 levels).
const REPALETTE_MSE: u32 = 150;

fn internal(e: impl std::fmt::Display) -> RenderError {
    RenderError::Internal(format!("GIF encoding: {e}"))
}

impl GifWriter {
    pub fn new(width: u32, height: u32) -> Self {
        GifWriter { width, height, state: None }
    }

    /// Adds a frame given at `sw`×`sh` (resized to this output's size first).
    pub fn push(&mut self, rgb: &[u8], sw: u32, sh: u32, delay_ms: u32) -> Result<(), RenderError> {
        let resized;
        let pixels = if (sw, sh) == (self.width, self.height) {
            rgb
        } else {
            resized = resize_rgb(rgb, sw, sh, self.width, self.height)?;
            &resized
        };
        let (w16, h16) = match (u16::try_from(self.width), u16::try_from(self.height)) {
            (Ok(a), Ok(b)) => (a, b),
            _ => return Err(internal("frame too large")),
        };
        let mut local_palette = None;
        match self.state.as_mut() {
            None => {
                let (palette, lut) = build_palette(pixels);
                let mut enc = gif::Encoder::new(Vec::new(), w16, h16, &palette).map_err(internal)?;
                enc.set_repeat(gif::Repeat::Infinite).map_err(internal)?;
                self.state = Some(State { enc, palette, lut });
            }
            Some(st) => {
                if sampled_mse(pixels, &st.palette, &st.lut) > REPALETTE_MSE {
                    let (palette, lut) = build_palette(pixels);
                    local_palette = Some(palette.clone());
                    st.palette = palette;
                    st.lut = lut;
                }
            }
        }
        let Some(st) = self.state.as_mut() else {
            return Err(internal("encoder missing"));
        };
        let lut = &st.lut;
        let indices: Vec<u8> = pixels.chunks_exact(3).map(|p| lut[rgb555(p[0], p[1], p[2])]).collect();
        let frame = gif::Frame {
            width: w16,
            height: h16,
            // GIF delays are in hundredths of a second.
            delay: u16::try_from(delay_ms.div_ceil(10)).unwrap_or(u16::MAX),
            buffer: Cow::Owned(indices),
            palette: local_palette,
            ..gif::Frame::default()
        };
        st.enc.write_frame(&frame).map_err(internal)
    }

    pub fn finish(self) -> Result<Encoded, RenderError> {
        let Some(st) = self.state else {
            return Err(internal("no frames"));
        };
        Ok(Encoded {
            bytes: st.enc.into_inner().map_err(internal)?,
            mime: "image/gif",
            width: self.width,
            height: self.height,
        })
    }
}

/// Mean squared error per channel of mapping ~1000 evenly spread pixels through `lut`.
fn sampled_mse(rgb: &[u8], palette: &[u8], lut: &[u8]) -> u32 {
    let n = rgb.len() / 3;
    let step = (n / 1024).max(1);
    let (mut err, mut count) = (0u64, 0u64);
    for i in (0..n).step_by(step) {
        let p = &rgb[i * 3..i * 3 + 3];
        let idx = usize::from(lut[rgb555(p[0], p[1], p[2])]) * 3;
        let Some(q) = palette.get(idx..idx + 3) else {
            continue;
        };
        for c in 0..3 {
            let d = i64::from(p[c]) - i64::from(q[c]);
            err += (d * d) as u64;
        }
        count += 3;
    }
    (err / count.max(1)) as u32
}

fn rgb555(r: u8, g: u8, b: u8) -> usize {
    (usize::from(r >> 3) << 10) | (usize::from(g >> 3) << 5) | usize::from(b >> 3)
}

/// A 256-colour palette for these pixels and the RGB555 → index table.
fn build_palette(rgb: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let rgba: Vec<u8> = rgb.chunks_exact(3).flat_map(|p| [p[0], p[1], p[2], 255]).collect();
    let nq = color_quant::NeuQuant::new(NEUQUANT_SAMPLE, 256, &rgba);
    let mut lut = vec![0u8; 1 << 15];
    for (i, slot) in lut.iter_mut().enumerate() {
        // The centre of each 8×8×8 cell.
        let c = |shift: usize| (((i >> shift) & 31) << 3 | 4) as u8;
        *slot = nq.index_of(&[c(10), c(5), c(0), 255]) as u8;
    }
    (nq.color_map_rgb(), lut)
}
