//! Form extraction: the app's own error for a malformed body, and the CSRF check before any
//! handler code runs.

use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use super::csrf::CsrfSecret;
use super::error::AppError;

/// A urlencoded form whose `csrf_token` field has been verified. A request without a valid
/// token is answered 403 before the handler runs, so it cannot write anything.
pub struct CsrfForm<T>(pub T);

#[derive(serde::Deserialize)]
struct TokenField {
    csrf_token: Option<String>,
}

impl<S, T> FromRequest<S> for CsrfForm<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let secret = request
            .extensions()
            .get::<CsrfSecret>()
            .cloned()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("CSRF layer missing")))?;
        let body =
            axum::body::Bytes::from_request(request, state).await.map_err(|rejection| match rejection.status() {
                StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge("That form is too large.".into()),
                _ => AppError::BadRequest("The form could not be read.".into()),
            })?;
        let token: TokenField = serde_urlencoded::from_bytes(&body)
            .map_err(|_| AppError::BadRequest("The form could not be read.".into()))?;
        secret.require(token.csrf_token.as_deref()).await?;
        let form = serde_urlencoded::from_bytes(&body)
            .map_err(|_| AppError::BadRequest("The form is missing fields or has malformed ones.".into()))?;
        Ok(Self(form))
    }
}

/// A form with nothing but its CSRF token (delete, subscribe, sign out buttons).
#[derive(serde::Deserialize)]
pub struct NoFields {}

/// Percent-encodes a query-string value.
pub fn url_encode(value: &str) -> String {
    serde_urlencoded::to_string([("", value)]).map(|s| s.trim_start_matches('=').to_owned()).unwrap_or_default()
}
