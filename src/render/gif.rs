//! Animated GIF output, written frame by frame while the input is decoded frame by frame.
//!
//! Colour quantisation: one NeuQuant palette per output, trained on the first captioned frame,
//! and a 32768-entry RGB555 lookup table so mapping a pixel is one table read instead of a
//! palette search (NeuQuant per frame costs tens of ms at 600×600; the table costs ~1 ms once).

use super::encode::{Encoded, resize_rgb};
use super::error::RenderError;
use std::borrow::Cow;

/// NeuQuant sampling factor: 1 is best and slowest, 30 fastest. 10 is the usual compromise.
const NEUQUANT_SAMPLE: i32 = 10;

/// One animated output being written.
pub(crate) struct GifWriter {
    pub width: u32,
    pub height: u32,
    state: Option<(gif::Encoder<Vec<u8>>, Vec<u8>)>,
}

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
        if self.state.is_none() {
            let (palette, lut) = build_palette(pixels);
            let mut enc = gif::Encoder::new(Vec::new(), w16, h16, &palette).map_err(internal)?;
            enc.set_repeat(gif::Repeat::Infinite).map_err(internal)?;
            self.state = Some((enc, lut));
        }
        let Some((enc, lut)) = self.state.as_mut() else {
            return Err(internal("encoder missing"));
        };
        let indices: Vec<u8> = pixels.chunks_exact(3).map(|p| lut[rgb555(p[0], p[1], p[2])]).collect();
        let frame = gif::Frame {
            width: w16,
            height: h16,
            // GIF delays are in hundredths of a second.
            delay: u16::try_from(delay_ms.div_ceil(10)).unwrap_or(u16::MAX),
            buffer: Cow::Owned(indices),
            ..gif::Frame::default()
        };
        enc.write_frame(&frame).map_err(internal)
    }

    pub fn finish(self) -> Result<Encoded, RenderError> {
        let Some((enc, _)) = self.state else {
            return Err(internal("no frames"));
        };
        Ok(Encoded {
            bytes: enc.into_inner().map_err(internal)?,
            mime: "image/gif",
            width: self.width,
            height: self.height,
        })
    }
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
