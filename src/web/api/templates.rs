//! `/api/v1/templates`: the pictures memes are made from, with their boxes and an `/i/` example.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::json;
use super::schema::{BoxJson, ErrorBody, Links, TemplateJson, TemplateList};
use crate::render::{MemeSpec, templates};
use crate::services::memes_by_url::url_of;
use crate::storage::PageRequest;
use crate::web::AppState;
use crate::web::error::AppError;

/// How many shared templates the list carries (the newest).
const SHARED_LISTED: usize = 100;

/// The starter templates, then the newest templates users shared.
#[utoipa::path(
    get, path = "/api/v1/templates", operation_id = "listTemplates", tag = "templates",
    responses(
        (status = 200, description = "The templates", body = TemplateList),
        (status = "default", description = "An error", body = ErrorBody),
    )
)]
pub async fn list(State(state): State<AppState>) -> Result<Response, AppError> {
    let links = Links::new(&state);
    let example = |id: &str, n: usize| {
        let captions: Vec<String> =
            ["top text", "bottom text", "more text"].iter().take(n.max(1)).map(|s| (*s).to_owned()).collect();
        links.absolute(url_of(id, &captions))
    };
    let mut list: Vec<TemplateJson> = templates::catalog()
        .iter()
        .map(|t| TemplateJson {
            id: t.id.to_owned(),
            name: t.name.to_owned(),
            width: t.width,
            height: t.height,
            boxes: t.slots.iter().map(|s| BoxJson { x: s.x, y: s.y, w: s.w, h: s.h }).collect(),
            image_url: links.absolute(format!("/templates/{}/image", t.id)),
            example_url: example(t.id, t.slots.len().min(2)),
        })
        .collect();
    let shared = state.storage.templates.list(PageRequest::first(SHARED_LISTED)).await?;
    let classic = MemeSpec::classic(&["", ""]);
    list.extend(shared.items.iter().map(|t| TemplateJson {
        id: t.id.clone(),
        name: t.name.clone(),
        width: t.width,
        height: t.height,
        boxes: classic.boxes.iter().map(|b| BoxJson { x: b.x, y: b.y, w: b.w, h: b.h }).collect(),
        image_url: links.absolute(state.media_url(&t.original_key)),
        example_url: example(&t.id, 2),
    }));
    Ok(json(StatusCode::OK, &TemplateList { templates: list }))
}
