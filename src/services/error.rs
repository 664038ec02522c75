//! The one error type of the use cases: what went wrong, in terms a door can present (a page's
//! status and message, the API's error body).

use crate::render::RenderError;
use crate::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The input is not acceptable (a bad image, a caption too long, no such template): a 422
    /// with this message.
    #[error("{0}")]
    BadInput(String),
    #[error("not found")]
    NotFound,
    /// The actor may not do this (not the owner): a 403 with this message.
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<RenderError> for ServiceError {
    fn from(e: RenderError) -> Self {
        if let Some(reason) = bomb_reason(&e) {
            tracing::warn!(event = "image_rejected", reason, detail = %e, "an image was refused by the decoding limits");
        }
        if e.is_bad_input() { Self::BadInput(sentence(&e.to_string())) } else { Self::Internal(anyhow::Error::new(e)) }
    }
}

/// Refusals that protect the server (as opposed to plain bad files), for the security log.
fn bomb_reason(e: &RenderError) -> Option<&'static str> {
    match e {
        RenderError::TooLarge { .. } => Some("too large"),
        RenderError::MemoryLimit => Some("memory limit"),
        RenderError::TooManyFrames { .. } => Some("too many frames"),
        RenderError::FrameLargerThanScreen { .. } => Some("frame larger than its picture"),
        _ => None,
    }
}

/// "image is too large: …" → "Image is too large: ….": engine messages as sentences.
fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    let first = chars.next().map(|c| c.to_uppercase().collect::<String>()).unwrap_or_default();
    let mut s = first + chars.as_str();
    if !s.ends_with('.') {
        s.push('.');
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn engine_messages_become_sentences() {
        assert_eq!(super::sentence("image data is corrupt or truncated"), "Image data is corrupt or truncated.");
    }
}
