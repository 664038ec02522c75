//! Reads a GIF's block structure without decompressing anything, so the frame limits are
//! checked before a single pixel is allocated.
//!
//! A GIF's logical screen can be 16×16 while one of its frames declares 11000×11000: decoders
//! allocate each frame at its own size, so checking the screen alone lets 121 MP through in an
//! 80 KB file. Walking the blocks costs a few microseconds per frame (sub-block lengths are
//! skipped, the LZW data is never touched).

use super::error::RenderError;
use super::limits::Limits;

/// What the headers of a GIF declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GifScan {
    pub width: u32,
    pub height: u32,
    pub frames: u32,
    /// The sum of every frame's own area.
    pub total_pixels: u64,
}

/// Walks the blocks and enforces the per-frame, frame-count and total-area limits. A file cut
/// short stops the walk: what was declared so far is checked, and the decoder reports the
/// truncation itself.
pub(crate) fn scan(bytes: &[u8], limits: &Limits) -> Result<GifScan, RenderError> {
    let mut r = Reader { bytes, pos: 0 };
    if !matches!(r.take(6), Some(b"GIF87a" | b"GIF89a")) {
        return Err(RenderError::Corrupt);
    }
    let (width, height) = (r.u16().ok_or(RenderError::Corrupt)?, r.u16().ok_or(RenderError::Corrupt)?);
    let packed = r.u8().ok_or(RenderError::Corrupt)?;
    r.skip(2); // background colour index, pixel aspect ratio
    if packed & 0x80 != 0 {
        r.skip(color_table_len(packed));
    }
    let (width, height) = (u32::from(width), u32::from(height));
    limits.check_dimensions(width, height)?;
    let mut scan = GifScan { width, height, frames: 0, total_pixels: 0 };
    while let Some(block) = r.u8() {
        match block {
            0x21 => {
                r.skip(1); // extension label
                r.skip_sub_blocks();
            }
            0x2C => {
                let (Some(_left), Some(_top), Some(w), Some(h), Some(packed)) =
                    (r.u16(), r.u16(), r.u16(), r.u16(), r.u8())
                else {
                    break;
                };
                let (w, h) = (u32::from(w), u32::from(h));
                limits.check_dimensions(w.max(1), h.max(1))?;
                // Decoders allocate a frame at its declared size and clip it to the screen
                // afterwards, so a frame larger than the screen is only a way to make them work.
                if w > width || h > height {
                    return Err(RenderError::FrameLargerThanScreen { frame: (w, h), screen: (width, height) });
                }
                scan.frames += 1;
                scan.total_pixels += u64::from(w) * u64::from(h);
                if scan.frames > limits.max_frames || scan.total_pixels > limits.max_total_pixels {
                    return Err(RenderError::TooManyFrames { limit: limits.max_frames });
                }
                if packed & 0x80 != 0 {
                    r.skip(color_table_len(packed));
                }
                r.skip(1); // LZW minimum code size
                r.skip_sub_blocks();
            }
            // The trailer, or a byte no block starts with: decoders stop here too.
            _ => break,
        }
    }
    Ok(scan)
}

/// A colour table of 2^(n+1) RGB entries, n being the packed field's low three bits.
fn color_table_len(packed: u8) -> usize {
    3 * (1usize << ((packed & 0x07) + 1))
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let slice = self.bytes.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(slice)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }

    fn skip(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n).min(self.bytes.len());
    }

    /// Data sub-blocks: a length byte, that many bytes, until a zero length.
    fn skip_sub_blocks(&mut self) {
        while let Some(len) = self.u8() {
            if len == 0 {
                return;
            }
            self.skip(usize::from(len));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A GIF89a with a 4×4 screen, no colour table, and frames of the given sizes (each with a
    /// one-sub-block body).
    fn gif(frames: &[(u16, u16)]) -> Vec<u8> {
        let mut b = b"GIF89a".to_vec();
        b.extend_from_slice(&4u16.to_le_bytes());
        b.extend_from_slice(&4u16.to_le_bytes());
        b.extend_from_slice(&[0, 0, 0]);
        // A graphic control extension before each frame, as animations have.
        for &(w, h) in frames {
            b.extend_from_slice(&[0x21, 0xF9, 4, 0, 10, 0, 0, 0]);
            b.push(0x2C);
            for v in [0u16, 0, w, h] {
                b.extend_from_slice(&v.to_le_bytes());
            }
            b.extend_from_slice(&[0, 2, 3, 1, 2, 3, 0]);
        }
        b.push(0x3B);
        b
    }

    #[test]
    fn frames_are_counted_with_their_own_areas() {
        let scan = super::scan(&gif(&[(4, 4), (2, 3)]), &Limits::default()).unwrap();
        assert_eq!(scan, GifScan { width: 4, height: 4, frames: 2, total_pixels: 16 + 6 });
    }

    #[test]
    fn a_frame_wider_than_the_screen_is_refused() {
        let err = super::scan(&gif(&[(4, 4), (5, 1)]), &Limits::default()).unwrap_err();
        assert!(matches!(err, RenderError::FrameLargerThanScreen { frame: (5, 1), .. }), "{err:?}");
    }

    #[test]
    fn a_truncated_file_is_checked_as_far_as_it_goes() {
        let bytes = gif(&[(4, 4), (4, 4)]);
        for cut in 0..bytes.len() {
            // Never panics; a cut inside the header is corrupt, later cuts scan what is there.
            let _ = super::scan(&bytes[..cut], &Limits::default());
        }
        assert!(super::scan(&bytes[..5], &Limits::default()).is_err());
    }
}
