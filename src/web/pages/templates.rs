//! The template gallery: starter templates and images users shared, each with a page showing
//! how much it is used.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use time::OffsetDateTime;

use crate::render::{self, MemeSpec, Outputs};
use crate::services::memes::Picture;
use crate::services::templates as template_service;
use crate::storage::PageRequest;
use crate::web::AppState;
use crate::web::error::AppError;
use crate::web::layout::{PageContext, render};
use crate::web::usage_chart::{self, UsageChart};
use crate::web::views::{MemeCard, ShareImage, ShareMeta};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/templates", get(gallery))
        .route("/templates/{id}", get(show))
        .route("/templates/{id}/image", get(image))
        .route("/templates/{id}/thumb.jpg", get(thumbnail))
}

struct Card {
    id: String,
    name: String,
    thumb_url: String,
    by: Option<String>,
}

#[derive(Template)]
#[template(path = "templates/gallery.html")]
struct GalleryPage {
    page: PageContext,
    starters: Vec<Card>,
    shared: Vec<Card>,
    next: Option<String>,
}

#[derive(Deserialize)]
struct CursorQuery {
    cursor: Option<String>,
}

async fn gallery(
    State(state): State<AppState>,
    page: PageContext,
    Query(q): Query<CursorQuery>,
) -> Result<Response, AppError> {
    let after = state.cursors.verify_opt(q.cursor.as_deref())?;
    let shared = state.storage.templates.list(PageRequest::after(after, 48)).await?;
    let starters = render::templates::catalog()
        .iter()
        .map(|t| Card {
            id: t.id.into(),
            name: t.name.into(),
            thumb_url: format!("/templates/{}/thumb.jpg", t.id),
            by: None,
        })
        .collect();
    render(&GalleryPage {
        page,
        starters,
        shared: shared
            .items
            .iter()
            .map(|t| Card {
                id: t.id.clone(),
                name: t.name.clone(),
                thumb_url: state.media_url(&t.thumb_key),
                by: Some(t.owner.to_string()),
            })
            .collect(),
        next: shared.next.map(|c| state.cursors.sign(&c)),
    })
}

#[derive(Template)]
#[template(path = "templates/show.html")]
struct TemplatePage {
    page: PageContext,
    id: String,
    name: String,
    image_url: String,
    width: u32,
    height: u32,
    attribution: String,
    meme_total: u64,
    remix_total: u64,
    chart: UsageChart,
    /// The newest memes made with it.
    memes: Vec<MemeCard>,
    share: ShareMeta,
}

async fn show(State(state): State<AppState>, page: PageContext, Path(id): Path<String>) -> Result<Response, AppError> {
    let today = OffsetDateTime::now_utc().date();
    let overview = template_service::overview(state.services(), &id, today).await?;
    let (name, image_url, width, height, attribution) = match (render::templates::find(&id), &overview.shared) {
        (Some(t), _) => {
            (t.name.to_owned(), format!("/templates/{}/image", t.id), t.width, t.height, t.attribution.to_owned())
        }
        (None, Some(t)) => {
            (t.name.clone(), state.media_url(&t.original_key), t.width, t.height, format!("Shared by {}", t.owner))
        }
        (None, None) => return Err(AppError::NotFound),
    };
    let stats = overview.stats;
    let share = ShareMeta {
        title: format!("{name} meme template"),
        description: format!("Make a {name} meme on Sky-High Memes: {} so far.", usage_chart::meme_count(stats.memes)),
        url: state.absolute_url(&format!("/templates/{id}")),
        image: Some(ShareImage {
            url: state.absolute_url(&image_url),
            width,
            height,
            alt: format!("The {name} template"),
        }),
    };
    render(&TemplatePage {
        share,
        page,
        id,
        name,
        image_url,
        width,
        height,
        attribution,
        meme_total: stats.memes,
        remix_total: stats.remixes,
        chart: UsageChart::new(&stats.daily),
        // The store reads no counters for this list: the cards show none.
        memes: overview.recent.iter().map(|m| MemeCard::new(&state, m).without_counts()).collect(),
    })
}

/// The untouched template picture (builtin); shared ones live in media storage.
async fn image(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, AppError> {
    if let Some(t) = render::templates::find(&id) {
        let mime = render::Format::detect(t.bytes).map(|f| f.mime()).unwrap_or("application/octet-stream");
        return Ok((
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(mime)),
                (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400")),
            ],
            t.bytes,
        )
            .into_response());
    }
    let t = state.storage.templates.get(&id).await?.ok_or(AppError::NotFound)?;
    Ok(Redirect::to(&state.media_url(&t.original_key)).into_response())
}

/// Gallery thumbnails of builtin templates, rendered once per process.
async fn thumbnail(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, AppError> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Vec<u8>>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if render::templates::find(&id).is_none() {
        return Err(AppError::NotFound);
    }
    let cached = cache.lock().unwrap_or_else(|p| p.into_inner()).get(&id).cloned();
    let bytes = match cached {
        Some(bytes) => bytes,
        None => {
            let rendered =
                state.renderer.render(&Picture::Template(id.clone()), &MemeSpec::default(), Outputs::THUMBNAIL).await?;
            let thumb = rendered.thumbnail.ok_or_else(|| AppError::Internal(anyhow::anyhow!("no thumbnail")))?;
            let bytes = Arc::new(thumb.bytes);
            cache.lock().unwrap_or_else(|p| p.into_inner()).insert(id, bytes.clone());
            bytes
        }
    };
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg")),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400")),
        ],
        bytes.as_ref().clone(),
    )
        .into_response())
}
