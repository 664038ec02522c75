//! Request body limits, enforced twice: a declared `Content-Length` over the limit is answered
//! 413 before a byte of the body is read (otherwise a client declaring a terabyte and sending
//! seven bytes holds the request until the timeout), and the body actually read is capped by
//! axum's `DefaultBodyLimit` for bodies without a declared length (chunked).

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::AppError;

/// Urlencoded forms (sign-up, comments, buttons): a 2,000-character comment is at most 24 KB
/// encoded, so 64 KiB leaves room and refuses anything that is not a form.
pub const FORM_LIMIT: usize = 64 * 1024;

/// What a multipart editor form may carry besides its image: up to 20 captions of 500
/// characters and their styles.
pub const MULTIPART_FIELDS_SLACK: usize = 256 * 1024;

/// A route's limit on declared body lengths, and what to tell a client over it.
#[derive(Clone)]
pub struct DeclaredLimit {
    max: usize,
    message: std::sync::Arc<str>,
}

impl DeclaredLimit {
    pub fn form() -> Self {
        Self { max: FORM_LIMIT, message: "That form is too large.".into() }
    }

    /// For multipart bodies carrying a file of at most `max_upload_mb`.
    pub fn upload(max_body: usize, max_upload_mb: u64) -> Self {
        Self { max: max_body, message: format!("That upload is too large. The limit is {max_upload_mb} MB.").into() }
    }
}

/// Middleware (with the limit as its state): a declared length over the limit is refused at
/// once. Used beside `DefaultBodyLimit::max`, which caps bodies that declare no length.
pub async fn refuse_declared_oversize(State(limit): State<DeclaredLimit>, request: Request, next: Next) -> Response {
    match declared_length(&request) {
        Some(length) if length > limit.max as u64 => {
            tracing::info!(declared = length, limit = limit.max, "a body over the limit was refused before reading it");
            AppError::PayloadTooLarge(limit.message.to_string()).into_response()
        }
        _ => next.run(request).await,
    }
}

fn declared_length(request: &Request) -> Option<u64> {
    request.headers().get(header::CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}
