//! Decoding limits: every decoder the engine builds gets these, so hostile input is refused
//! before its pixels are allocated.

/// Bounds on what the engine agrees to decode. The defaults suit a public upload form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum width or height in pixels (12,000 covers every phone camera).
    pub max_side: u32,
    /// Maximum pixels in one frame (40 MP: a 48 MP phone photo is binned to 12 MP by default).
    pub max_pixels: u64,
    /// Maximum frames in an animation.
    pub max_frames: u32,
    /// Maximum pixels summed over all frames of an animation: bounds CPU time, since frames are
    /// streamed (one canvas in memory at a time). 100 MP is e.g. 300 frames of 570×570.
    pub max_total_pixels: u64,
    /// Maximum bytes a decoder may allocate at once (512 MiB).
    pub max_alloc: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_side: 12_000,
            max_pixels: 40_000_000,
            max_frames: 300,
            max_total_pixels: 100_000_000,
            max_alloc: 512 * 1024 * 1024,
        }
    }
}

impl Limits {
    /// The same limits in the form the image crate's decoders take.
    pub(crate) fn to_image_limits(self) -> image::Limits {
        let mut l = image::Limits::default();
        l.max_image_width = Some(self.max_side);
        l.max_image_height = Some(self.max_side);
        l.max_alloc = Some(self.max_alloc);
        l
    }

    /// Refuses dimensions over the per-side or per-frame limit (or zero).
    pub(crate) fn check_dimensions(
        &self,
        width: u32,
        height: u32,
    ) -> Result<(), crate::render::RenderError> {
        if width == 0 || height == 0 {
            return Err(crate::render::RenderError::Corrupt);
        }
        if width > self.max_side
            || height > self.max_side
            || u64::from(width) * u64::from(height) > self.max_pixels
        {
            return Err(crate::render::RenderError::TooLarge {
                width,
                height,
                max_side: self.max_side,
                max_megapixels: u32::try_from(self.max_pixels / 1_000_000).unwrap_or(u32::MAX),
            });
        }
        Ok(())
    }
}
