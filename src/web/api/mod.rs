//! The JSON API (`/api/v1`, SPEC §4): the second door onto the same use cases as the pages.
//! Handlers parse the request into typed values, call one function of `services`, and present
//! the result as the JSON of [`schema`]; the OpenAPI document is generated from those handlers
//! and types (utoipa), so it cannot drift from them.
//!
//! Errors are always `{"error": {"code", "message"}}`: handlers return `AppError`, extractor
//! rejections are mapped here, and `error::render_error_pages` writes every 4xx/5xx under
//! `/api/` (unknown routes and 405s included) as that body.

pub mod auth;
mod comments;
mod memes;
pub mod schema;
mod templates;
mod users;

use std::sync::OnceLock;

use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::de::DeserializeOwned;
use utoipa::OpenApi;

use super::error::AppError;
use super::{AppState, body_limit};

/// A JSON body is small: a meme's description, a comment.
const JSON_LIMIT: usize = 64 * 1024;

pub fn router(max_upload_bytes: usize, max_upload_mb: u64) -> Router<AppState> {
    let json = Router::new()
        .route("/api/v1/memes", get(memes::list))
        .route("/api/v1/memes/{id}", get(memes::show).delete(memes::delete))
        .route("/api/v1/memes/{id}/comments", post(comments::add))
        .route("/api/v1/memes/{id}/comments/{comment_id}", delete(comments::delete))
        .route("/api/v1/users/{username}", get(users::show))
        .route("/api/v1/users/{username}/memes", get(users::memes))
        .route("/api/v1/users/{username}/subscription", axum::routing::put(users::subscribe).delete(users::unsubscribe))
        .route("/api/v1/templates", get(templates::list))
        .route("/api/v1/openapi.json", get(openapi))
        .route_layer(DefaultBodyLimit::max(JSON_LIMIT))
        .route_layer(middleware::from_fn_with_state(
            body_limit::DeclaredLimit::form(),
            body_limit::refuse_declared_oversize,
        ));
    // Making a meme may carry an image, as the editor's form does.
    let body = max_upload_bytes.saturating_add(body_limit::MULTIPART_FIELDS_SLACK);
    let upload = Router::new()
        .route("/api/v1/memes", post(memes::create))
        .route_layer(DefaultBodyLimit::max(body))
        .route_layer(middleware::from_fn_with_state(
            body_limit::DeclaredLimit::upload(body, max_upload_mb),
            body_limit::refuse_declared_oversize,
        ));
    json.merge(upload)
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Sky-High Memes API",
        version = "1",
        description = "Make, read and discuss memes. Reads need no credentials; changes need a \
                       personal API token from your account page, sent as `Authorization: Bearer <token>` \
                       (or a browser's session cookie with the page's CSRF token in `X-CSRF-Token`). \
                       Errors are `{\"error\": {\"code\", \"message\"}}`. Memes by URL (`/i/…`) are \
                       outside this API: see `share_url` and the templates' `example_url`."
    ),
    paths(
        memes::list,
        memes::create,
        memes::show,
        memes::delete,
        comments::add,
        comments::delete,
        users::show,
        users::memes,
        users::subscribe,
        users::unsubscribe,
        templates::list,
    ),
    modifiers(&BearerToken),
    tags(
        (name = "memes", description = "Memes and their comments"),
        (name = "users", description = "Creators and subscriptions"),
        (name = "templates", description = "Pictures to make memes from"),
    )
)]
pub struct ApiDoc;

struct BearerToken;

impl utoipa::Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A personal API token, made on the account page (/account)."))
                    .build(),
            ),
        );
    }
}

/// The OpenAPI 3.1 document, built once.
pub fn document() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| ApiDoc::openapi().to_pretty_json().unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}")))
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], document()).into_response()
}

/// `axum::Json` whose rejections are the API's errors, with serde's own sentence: malformed JSON
/// is a 400, a wrong type or a missing field a 422, another content type a 415, too much a 413.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> AppError {
    match rejection {
        JsonRejection::JsonDataError(e) => AppError::Unprocessable(e.body_text()),
        JsonRejection::JsonSyntaxError(e) => AppError::BadRequest(e.body_text()),
        JsonRejection::MissingJsonContentType(_) => {
            AppError::UnsupportedMediaType("Send JSON, with Content-Type: application/json.".into())
        }
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            AppError::PayloadTooLarge(format!("A JSON body is at most {} KiB.", JSON_LIMIT / 1024))
        }
        other => AppError::BadRequest(other.body_text()),
    }
}

/// The query string, parsed; a bad one is a 400 that says what is wrong.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        serde_urlencoded::from_str(parts.uri.query().unwrap_or_default())
            .map(Self)
            .map_err(|e| AppError::BadRequest(format!("The query string is not valid: {e}.")))
    }
}

/// A JSON answer with a status.
pub fn json<T: serde::Serialize>(status: StatusCode, value: &T) -> Response {
    // Sized for a page of memes up front: `axum::Json` starts at 128 bytes and copies the body
    // each time it doubles.
    let mut body = Vec::with_capacity(JSON_BUFFER);
    match serde_json::to_writer(&mut body, value) {
        Ok(()) => {
            (status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response()
        }
        Err(e) => AppError::Internal(anyhow::anyhow!("writing a JSON response: {e}")).into_response(),
    }
}

/// What a JSON response is written into first: a page of 20 memes is about 13 KB.
const JSON_BUFFER: usize = 16 * 1024;

/// A list's `limit`: 1 to 100, 20 when absent.
pub fn page_limit(limit: Option<u32>) -> Result<usize, AppError> {
    match limit {
        None => Ok(20),
        Some(n @ 1..=100) => Ok(n as usize),
        Some(_) => Err(AppError::BadRequest("limit is between 1 and 100.".into())),
    }
}
