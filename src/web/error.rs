//! One error type for the web layer, and the one place where error responses become pages.
//!
//! Handlers return `AppError`; its `IntoResponse` only sets the status and attaches an
//! [`ErrorInfo`]. The `render_error_pages` middleware then turns every 4xx/5xx response — from a
//! handler, an extractor rejection, the fallback, a timeout — into the app's own error page
//! (or the JSON error body under `/api/`), with the signed-in user's header, and logs it.

use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::layout::PageContext;
use crate::services::ServiceError;
use crate::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    /// No credentials, or credentials that are no good (the API; pages redirect to sign-in).
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("too many attempts")]
    TooManyRequests { retry_after: Duration },
    /// A rate limit other than sign-in's: `what` says what there were too many of.
    #[error("too many {what}")]
    RateLimited { retry_after: Duration, what: &'static str },
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// What the error page needs, carried from `AppError::into_response` to the renderer.
#[derive(Clone)]
pub struct ErrorInfo {
    /// Safe to show: never contains internals.
    pub public_message: String,
    /// For the log only.
    pub detail: Option<Arc<anyhow::Error>>,
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyRequests { .. } | Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<StorageError> for AppError {
    fn from(error: StorageError) -> Self {
        match error {
            StorageError::NotFound => Self::NotFound,
            StorageError::Conflict(what) => Self::Unprocessable(format!("That {what} is already taken.")),
            StorageError::Unavailable(detail) => Self::Unavailable(detail),
            StorageError::InvalidCursor => {
                Self::BadRequest("That page link is out of date or malformed. Start again from the first page.".into())
            }
            StorageError::Other(e) => Self::Internal(e),
        }
    }
}

impl From<ServiceError> for AppError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::BadInput(message) => AppError::Unprocessable(message),
            ServiceError::NotFound => AppError::NotFound,
            ServiceError::Forbidden(message) => AppError::Forbidden(message),
            ServiceError::Storage(e) => e.into(),
            ServiceError::Internal(e) => AppError::Internal(e),
        }
    }
}

/// What a 503 asks a client to wait, in seconds.
const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let retry_after = match &self {
            Self::TooManyRequests { retry_after } | Self::RateLimited { retry_after, .. } => {
                Some(retry_after.as_secs().max(1))
            }
            // Storage that timed out or stayed in conflict through its retries: a few seconds
            // usually see it through, and clients and proxies that honour the header wait.
            Self::Unavailable(_) => Some(UNAVAILABLE_RETRY_AFTER_SECS),
            _ => None,
        };
        let info = match self {
            Self::BadRequest(m)
            | Self::Unauthorized(m)
            | Self::Forbidden(m)
            | Self::PayloadTooLarge(m)
            | Self::UnsupportedMediaType(m)
            | Self::Unprocessable(m) => ErrorInfo { public_message: m, detail: None },
            Self::TooManyRequests { retry_after } => ErrorInfo {
                public_message: format!(
                    "Too many failed attempts. Please wait {} before trying again.",
                    human_duration(retry_after)
                ),
                detail: None,
            },
            Self::RateLimited { retry_after, what } => ErrorInfo {
                public_message: format!(
                    "Too many {what} from your address. Please wait {} and try again.",
                    match retry_after.as_secs() {
                        0 | 1 => "a second".to_owned(),
                        n if n < 90 => format!("{n} seconds"),
                        _ => human_duration(retry_after),
                    }
                ),
                detail: None,
            },
            Self::Unavailable(detail) => ErrorInfo {
                public_message: default_message(status).to_owned(),
                detail: Some(Arc::new(anyhow::anyhow!(detail))),
            },
            Self::Internal(e) => {
                ErrorInfo { public_message: default_message(status).to_owned(), detail: Some(Arc::new(e)) }
            }
            Self::NotFound => ErrorInfo { public_message: default_message(status).to_owned(), detail: None },
        };
        let mut response = (status, info.public_message.clone()).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response.extensions_mut().insert(info);
        response
    }
}

fn human_duration(d: Duration) -> String {
    let minutes = d.as_secs().div_ceil(60);
    match minutes {
        0 | 1 => "a minute".to_owned(),
        n => format!("{n} minutes"),
    }
}

/// The message for an error response that did not say anything itself (extractor rejections,
/// unknown routes, timeouts).
pub fn default_message(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "That request was malformed. Please check what you sent and try again.",
        StatusCode::UNAUTHORIZED => "Please sign in first.",
        StatusCode::FORBIDDEN => "You are not allowed to do that.",
        StatusCode::NOT_FOUND => "We couldn't find that page. It may have been deleted, or the link is mistyped.",
        StatusCode::METHOD_NOT_ALLOWED => "That page doesn't accept this kind of request.",
        StatusCode::REQUEST_TIMEOUT => "That took too long. Please try again.",
        StatusCode::PAYLOAD_TOO_LARGE => "That upload is too large.",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "That kind of content isn't accepted here.",
        StatusCode::UNPROCESSABLE_ENTITY => "Some of what you sent is missing or invalid.",
        StatusCode::TOO_MANY_REQUESTS => "Too many requests. Please slow down.",
        StatusCode::SERVICE_UNAVAILABLE => {
            "Sky-High Memes is having trouble reaching its storage. Please try again in a moment."
        }
        _ => "Something went wrong on our side. It has been logged; please try again.",
    }
}

fn error_code(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid",
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        _ => "internal",
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    page: PageContext,
    status: u16,
    title: &'a str,
    message: &'a str,
    /// The request's id, for the visitor to quote ("-" when there is none).
    request_id: &'a str,
}

/// Marks a response whose error body the handler rendered itself (a form re-rendered with
/// 422), so the renderer leaves it alone.
#[derive(Clone, Copy)]
pub struct AlreadyRendered;

pub async fn render_error_pages(request: Request, next: Next) -> Response {
    // The draft uploads' routes answer scripts, in JSON, as the API does.
    let is_api = request.uri().path().starts_with("/api/")
        || request.uri().path().starts_with(super::pages::drafts::PATH_PREFIX);
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let session = request.extensions().get::<tower_sessions::Session>().cloned();
    let request_id = super::access_log::request_id_of(&request).to_owned();
    let response = next.run(request).await;

    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || response.extensions().get::<AlreadyRendered>().is_some()
    {
        return response;
    }
    let info = response.extensions().get::<ErrorInfo>().cloned();
    let message = info.as_ref().map(|i| i.public_message.clone()).unwrap_or_else(|| default_message(status).to_owned());
    match info.as_ref().and_then(|i| i.detail.as_ref()) {
        Some(detail) if status.is_server_error() => {
            tracing::error!(%method, %path, status = status.as_u16(), error = ?detail, "request failed")
        }
        _ if status.is_server_error() => tracing::error!(%method, %path, status = status.as_u16(), "request failed"),
        _ => tracing::debug!(%method, %path, status = status.as_u16(), %message, "request refused"),
    }

    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let body = if is_api {
        parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        serde_json::json!({ "error": { "code": error_code(status), "message": message, "request_id": request_id } })
            .to_string()
    } else {
        // A 503 means storage did not answer; asking the session store again would make the
        // visitor wait out a second timeout for a header showing who they are.
        let session = session.as_ref().filter(|_| status != StatusCode::SERVICE_UNAVAILABLE);
        let page = PageContext::from_parts(session, &parts.extensions).await;
        let title = status.canonical_reason().unwrap_or("Error");
        let rendered =
            ErrorPage { page, status: status.as_u16(), title, message: &message, request_id: &request_id }.render();
        parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
        rendered.unwrap_or_else(|e| {
            tracing::error!(error = %e, "rendering the error page failed");
            format!("{} {title}\n{message}\n", status.as_u16())
        })
    };
    Response::from_parts(parts, body.into())
}
