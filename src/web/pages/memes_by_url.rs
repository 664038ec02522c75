//! Memes by URL: `GET /i/{template}/{line}/…/{line}.{jpg,png,webp,gif}`, and memegen's own
//! `/images/…` as an alias, so a memegen client pointed at this host works for our templates.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::render::FontChoice;
use crate::services::memes_by_url::{self as service, UrlError, UrlMeme, UrlOptions, parse_colour};
use crate::web::AppState;
use crate::web::client_ip::ClientIp;
use crate::web::error::AppError;

pub fn router() -> Router<AppState> {
    Router::new().route("/i/{*path}", get(image)).route("/images/{*path}", get(image))
}

/// memegen's query options. Numbers arrive as text so a bad one gets our own message.
#[derive(Debug, Deserialize)]
struct UrlQuery {
    font: Option<String>,
    layout: Option<String>,
    width: Option<String>,
    height: Option<String>,
    color: Option<String>,
}

impl TryFrom<UrlQuery> for UrlOptions {
    type Error = AppError;

    fn try_from(q: UrlQuery) -> Result<Self, AppError> {
        let bad = |m: String| AppError::Unprocessable(m);
        let font = q
            .font
            .filter(|f| !f.is_empty())
            .map(|f| f.parse::<FontChoice>().map_err(|_| bad(format!("There is no font called {f:?}."))))
            .transpose()?;
        let top = match q.layout.as_deref() {
            None | Some("" | "default") => false,
            Some("top") => true,
            Some(other) => return Err(bad(format!("The layout is \"top\" or \"default\", not {other:?}."))),
        };
        let pixels = |name: &str, v: Option<String>| {
            v.filter(|v| !v.is_empty())
                .map(|v| v.parse::<u32>().map_err(|_| bad(format!("{name} is a whole number of pixels."))))
                .transpose()
        };
        let (fill, outline) = match q.color.as_deref().filter(|c| !c.is_empty()) {
            None => (None, None),
            Some(colours) => {
                let mut parts = colours.splitn(2, ',');
                let colour = |c: Option<&str>| {
                    c.filter(|c| !c.is_empty())
                        .map(|c| {
                            parse_colour(c).ok_or_else(|| bad(format!("{c:?} is not a colour (a name or rrggbb).")))
                        })
                        .transpose()
                };
                (colour(parts.next())?, colour(parts.next())?)
            }
        };
        Ok(UrlOptions {
            font,
            top,
            width: pixels("width", q.width)?,
            height: pixels("height", q.height)?,
            fill,
            outline,
        })
    }
}

/// The URL is the content: cached forever by browsers and CDNs, validated by a strong ETag,
/// drawn once per instance (the cache), and limited per client address only when it has to be
/// drawn.
#[tracing::instrument(level = "debug", skip_all, fields(path = %path))]
async fn image(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    Path(path): Path<String>,
    Query(query): Query<UrlQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let meme = UrlMeme::parse(&path, UrlOptions::try_from(query)?).map_err(|e| match e {
        UrlError::NotAMemeUrl(_) => AppError::NotFound,
        UrlError::Invalid(m) => AppError::Unprocessable(m),
    })?;
    let image = match state.url_cache.cached(&meme).await {
        Some(image) => image,
        None => {
            state
                .render_limit
                .attempt(client)
                .map_err(|t| AppError::RateLimited { retry_after: t.retry_after, what: "new memes" })?;
            service::render(state.services(), &state.url_cache, meme).await?
        }
    };
    let etag = HeaderValue::from_str(&image.etag).map_err(|e| AppError::Internal(e.into()))?;
    let cache = HeaderValue::from_static("public, max-age=31536000, immutable");
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "*" || v.split(',').any(|tag| tag.trim().trim_start_matches("W/") == image.etag));
    if matches {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag), (header::CACHE_CONTROL, cache)]).into_response());
    }
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(image.mime)),
            (header::ETAG, etag),
            (header::CACHE_CONTROL, cache),
        ],
        image.bytes.clone(),
    )
        .into_response())
}
