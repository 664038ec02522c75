//! `/media/{key}`: stored media, for the local backend (on AWS, CloudFront serves them).
//! Keys are immutable, so answers may be cached forever.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use crate::domain::DRAFTS_PREFIX;
use crate::storage::BlobKey;
use crate::web::AppState;
use crate::web::error::AppError;

pub fn router() -> Router<AppState> {
    Router::new().route("/media/{*key}", get(media))
}

async fn media(
    State(state): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let key = BlobKey::parse(&key).ok_or(AppError::NotFound)?;
    // Draft uploads share the bucket on aws, but are their browser's alone.
    if key.as_str().starts_with(DRAFTS_PREFIX) {
        return Err(AppError::NotFound);
    }
    // The key names immutable content, so it can stand for the content in the ETag.
    let etag = format!(
        "\"{}\"",
        Sha256::digest(key.as_str().as_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect::<String>()
    );
    let blob = state.storage.blobs.get(&key).await?.ok_or(AppError::NotFound)?;
    let cache = HeaderValue::from_static("public, max-age=31536000, immutable");
    let etag_value = HeaderValue::from_str(&etag).map_err(|e| AppError::Internal(e.into()))?;
    if headers.get(header::IF_NONE_MATCH).is_some_and(|v| v.as_bytes() == etag.as_bytes()) {
        return Ok(
            (StatusCode::NOT_MODIFIED, [(header::ETAG, etag_value), (header::CACHE_CONTROL, cache)]).into_response()
        );
    }
    let content_type =
        HeaderValue::from_str(&blob.content_type).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    Ok(([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, cache), (header::ETAG, etag_value)], blob.bytes)
        .into_response())
}
