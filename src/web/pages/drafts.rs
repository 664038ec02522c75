//! Draft uploads for the editor's script (`static/draft-upload.js`; issue 15). JSON answers,
//! errors too (`web::error`); the CSRF token comes in `X-CSRF-Token` or the form.
//!
//! - `POST /memes/drafts/presign` (token in `X-CSRF-Token`): where the backend takes uploads
//!   itself (aws), `{"draft", "expires_at", "upload": {"url", "fields", "file_field"}}`, a
//!   presigned S3 POST to send the file to; elsewhere `{"upload": null}`: post it here.
//! - `POST /memes/drafts` (multipart `image`, `csrf_token`): keeps the file as a draft,
//!   `201 {"draft", "expires_at"}`.
//!
//! Then `draft=<id>` stands for `image` in `POST /memes/preview` and `POST /memes`.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::services::drafts;
use crate::web::client_ip::ClientIp;
use crate::web::csrf::{self, CsrfSecret};
use crate::web::error::AppError;
use crate::web::meme_form::MemeForm;
use crate::web::{AppState, body_limit};

/// Every path here answers JSON, errors included.
pub const PATH_PREFIX: &str = "/memes/drafts";

pub fn router(max_upload_bytes: usize, max_upload_mb: u64) -> Router<AppState> {
    let body = max_upload_bytes.saturating_add(body_limit::MULTIPART_FIELDS_SLACK);
    let keep_route = Router::new().route(PATH_PREFIX, post(keep)).route_layer(DefaultBodyLimit::max(body)).route_layer(
        middleware::from_fn_with_state(
            body_limit::DeclaredLimit::upload(body, max_upload_mb),
            body_limit::refuse_declared_oversize,
        ),
    );
    let presign_route = Router::new()
        .route("/memes/drafts/presign", post(presign))
        .route_layer(DefaultBodyLimit::max(body_limit::FORM_LIMIT))
        .route_layer(middleware::from_fn_with_state(
            body_limit::DeclaredLimit::form(),
            body_limit::refuse_declared_oversize,
        ));
    keep_route.merge(presign_route)
}

fn rfc3339(at: OffsetDateTime) -> Result<String, AppError> {
    at.format(&Rfc3339).map_err(|e| AppError::Internal(e.into()))
}

/// Each draft keeps up to `SKYHIGH_MAX_UPLOAD_MB` for an hour: drafts count against the same
/// per-address allowance as renders.
fn limit_drafts(state: &AppState, client: std::net::IpAddr) -> Result<(), AppError> {
    state
        .render_limit
        .attempt(client)
        .map_err(|t| AppError::RateLimited { retry_after: t.retry_after, what: "uploads" })
}

/// Keeps the posted `image` as a draft of this browser's.
#[tracing::instrument(skip_all)]
async fn keep(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    csrf: axum::Extension<CsrfSecret>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let form = MemeForm::read(multipart, Some((&csrf, csrf::header_token(&headers))), &state.config).await?;
    let upload = form.image.ok_or_else(|| AppError::Unprocessable("Choose a picture to upload.".into()))?;
    limit_drafts(&state, client)?;
    let kept = drafts::keep(&state.storage, &csrf.draft_owner(), &upload, OffsetDateTime::now_utc()).await?;
    let body = serde_json::json!({ "draft": kept.id.as_str(), "expires_at": rfc3339(kept.expires_at)? });
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

/// A presigned form to send a draft straight to storage, where the backend has one.
#[tracing::instrument(skip_all)]
async fn presign(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    csrf: axum::Extension<CsrfSecret>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    csrf.require(csrf::header_token(&headers)).await?;
    let now = OffsetDateTime::now_utc();
    let owner = csrf.draft_owner();
    let Some(direct) = drafts::direct(&state.storage, &owner, state.config.max_upload_bytes(), now).await? else {
        return Ok(axum::Json(serde_json::json!({ "upload": null })).into_response());
    };
    limit_drafts(&state, client)?;
    let fields: serde_json::Map<String, serde_json::Value> =
        direct.upload.fields.into_iter().map(|(name, value)| (name, value.into())).collect();
    let body = serde_json::json!({
        "draft": direct.id.as_str(),
        "expires_at": rfc3339(direct.expires_at)?,
        "upload": { "url": direct.upload.url, "fields": fields, "file_field": direct.upload.file_field },
    });
    Ok(axum::Json(body).into_response())
}
