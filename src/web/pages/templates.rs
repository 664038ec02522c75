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
use crate::storage::PageRequest;
use crate::web::AppState;
use crate::web::error::AppError;
use crate::web::layout::{PageContext, render};
use crate::web::views::{ShareImage, ShareMeta};

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

/// One bar of the usage chart.
struct Bar {
    x: u32,
    y: u32,
    height: u32,
    label: String,
    count: u64,
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
    memes: u64,
    remixes: u64,
    bars: Vec<Bar>,
    chart_days: u16,
    recent_total: u64,
    share: ShareMeta,
}

const CHART_DAYS: u16 = 30;
const CHART_HEIGHT: u32 = 80;

async fn show(State(state): State<AppState>, page: PageContext, Path(id): Path<String>) -> Result<Response, AppError> {
    let (name, image_url, width, height, attribution) = match render::templates::find(&id) {
        Some(t) => {
            (t.name.to_owned(), format!("/templates/{}/image", t.id), t.width, t.height, t.attribution.to_owned())
        }
        None => {
            let t = state.storage.templates.get(&id).await?.ok_or(AppError::NotFound)?;
            (t.name, state.media_url(&t.original_key), t.width, t.height, format!("Shared by {}", t.owner))
        }
    };
    let today = OffsetDateTime::now_utc().date();
    let stats = state.storage.templates.stats(&id, today, CHART_DAYS).await?;
    let peak = stats.daily.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let bars = stats
        .daily
        .iter()
        .enumerate()
        .map(|(i, (day, count))| {
            let height = ((*count as f64 / peak as f64) * f64::from(CHART_HEIGHT)).round() as u32;
            let height = if *count > 0 { height.max(2) } else { 0 };
            Bar { x: i as u32 * 10, y: CHART_HEIGHT - height, height, label: day.to_string(), count: *count }
        })
        .collect();
    let share = ShareMeta {
        title: format!("{name} meme template"),
        description: format!("Make a {name} meme on Sky-High Memes: {} memes so far.", stats.memes),
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
        memes: stats.memes,
        remixes: stats.remixes,
        recent_total: stats.daily.iter().map(|(_, n)| n).sum(),
        bars,
        chart_days: CHART_DAYS,
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
