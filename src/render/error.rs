//! The engine's one error type. Variants separate "the input is bad" (the web layer answers
//! 4xx) from "the engine failed" (5xx); messages are safe to show to users.

/// Everything that can go wrong while probing, decoding or rendering.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The bytes are not PNG, JPEG, BMP, GIF or WebP.
    #[error("unsupported image format: upload a PNG, JPEG, BMP, GIF or WebP image")]
    UnsupportedFormat,
    /// The declared dimensions exceed the configured limits.
    #[error(
        "image is too large: {width}×{height} pixels (limit: {max_side} pixels per side, {max_megapixels} megapixels)"
    )]
    TooLarge { width: u32, height: u32, max_side: u32, max_megapixels: u32 },
    /// Decoding would need more memory than allowed (a decompression bomb, usually).
    #[error("image needs more memory to decode than allowed")]
    MemoryLimit,
    /// An animation has more frames, or more pixels in total, than allowed.
    #[error("animation is too long: more than {limit} frames or too many pixels in total")]
    TooManyFrames { limit: u32 },
    /// A GIF frame declares more pixels than the picture it belongs to.
    #[error(
        "an animation frame of {}×{} pixels is larger than the {}×{} picture it belongs to",
        frame.0, frame.1, screen.0, screen.1
    )]
    FrameLargerThanScreen { frame: (u32, u32), screen: (u32, u32) },
    /// Truncated, corrupt or otherwise undecodable data.
    #[error("image data is corrupt or truncated")]
    Corrupt,
    /// No template with this id in the engine's catalog or cache.
    #[error("unknown template: {0:?}")]
    UnknownTemplate(String),
    /// The meme description is unusable (NaN geometry, too many boxes, text too long).
    #[error("invalid meme description: {0}")]
    InvalidSpec(String),
    /// A failure inside the engine; not the caller's fault.
    #[error("internal rendering failure: {0}")]
    Internal(String),
}

impl RenderError {
    /// Why a render was refused, as the metrics name it: `bomb` (more memory than allowed),
    /// `too_large` (pixels or frames), `bad_format` (not an image we read, or corrupt),
    /// `invalid_spec`, `unknown_template`, or `internal` (the engine's own failure).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::MemoryLimit => "bomb",
            Self::TooLarge { .. } | Self::TooManyFrames { .. } => "too_large",
            Self::UnsupportedFormat | Self::Corrupt | Self::FrameLargerThanScreen { .. } => "bad_format",
            Self::InvalidSpec(_) => "invalid_spec",
            Self::UnknownTemplate(_) => "unknown_template",
            Self::Internal(_) => "internal",
        }
    }

    /// True when the caller sent something unusable (answer 4xx), false for engine failures.
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, RenderError::Internal(_))
    }

    /// Maps a decoder error to the engine's taxonomy. Limit errors become `MemoryLimit` or
    /// `TooLarge`-like answers; everything else that comes out of a decoder is corrupt input.
    pub(crate) fn from_image(err: image::ImageError) -> Self {
        use image::ImageError as E;
        match err {
            E::Limits(_) => RenderError::MemoryLimit,
            E::Unsupported(_) => RenderError::UnsupportedFormat,
            E::Decoding(_) | E::Parameter(_) | E::IoError(_) => RenderError::Corrupt,
            E::Encoding(e) => RenderError::Internal(format!("encoding: {e}")),
        }
    }
}
