//! The editor (`/memes/new`) and what its form posts to: the live preview and Make (save, or
//! download). Each handler reads the form into a `MemeRequest`, calls `services::memes::make`,
//! and presents what it made.

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::domain::{Meme, MemeId, SharedTemplate};
use crate::render::templates::Template as BuiltinTemplate;
use crate::render::{self, FontChoice};
use crate::services::editor::{self as editor_service, Offered};
use crate::services::memes::{self as meme_service, Made};
use crate::services::memes_by_url;
use crate::services::requests::{ADDED_BOX, BoxGeometry, Intent, MemeRequest, editor_geometry};
use crate::web::client_ip::ClientIp;
use crate::web::csrf::{CsrfSecret, header_token};
use crate::web::error::AppError;
use crate::web::flash;
use crate::web::layout::{PageContext, render};
use crate::web::meme_form::MemeForm;
use crate::web::session::CurrentUser;
use crate::web::usage_chart;
use crate::web::views::{MemeCard, attachment_disposition};
use crate::web::{AppState, body_limit};

/// The editor's routes, whose multipart bodies carry an image: the file may have
/// `max_upload_bytes` (checked exactly as it streams in), the body that much plus its fields.
pub fn router(max_upload_bytes: usize, max_upload_mb: u64) -> Router<AppState> {
    let body = max_upload_bytes.saturating_add(body_limit::MULTIPART_FIELDS_SLACK);
    Router::new()
        .route("/memes/new", get(editor).post(edit_in_place))
        .route("/memes/preview", post(preview))
        .route("/memes", post(create))
        .route_layer(DefaultBodyLimit::max(body))
        .route_layer(middleware::from_fn_with_state(
            body_limit::DeclaredLimit::upload(body, max_upload_mb),
            body_limit::refuse_declared_oversize,
        ))
}

#[derive(Debug, Deserialize, Default)]
struct EditorQuery {
    template: Option<String>,
    remix: Option<String>,
    boxes: Option<usize>,
}

/// One caption box in the editor.
struct BoxField {
    number: usize,
    /// "Top text", "Bottom text" for a picture's own two boxes; empty for "Text N".
    name: &'static str,
    text: String,
    font: &'static str,
    fill: String,
    outline: String,
    /// Left edge, top edge, width and height in percent of the picture.
    geometry: [String; 4],
}

impl BoxField {
    fn label(&self) -> String {
        if self.name.is_empty() { format!("Text {}", self.number) } else { self.name.to_owned() }
    }
}

struct TemplateChoice {
    id: String,
    name: String,
    thumb_url: String,
    /// "12 memes", "yours · 1 meme", "by ann · 3 memes".
    detail: Option<String>,
    selected: bool,
    /// Its own boxes, for the editor's script: "x y w h" in percent, boxes joined by "|".
    boxes: String,
}

/// A fraction of the picture as the editor's percent fields show it ("2", "42.5").
fn percent(fraction: f32) -> String {
    format!("{}", (fraction * 1000.0).round() / 10.0)
}

/// Boxes as `TemplateChoice::boxes` writes them.
fn boxes_attribute(boxes: &[BoxGeometry]) -> String {
    boxes.iter().map(|b| [b.x, b.y, b.w, b.h].map(percent).join(" ")).collect::<Vec<_>>().join("|")
}

/// The boxes a picture has of its own: a remixed meme's, a builtin template's slots, or the
/// classic top and bottom (uploads and shared templates).
fn own_boxes(template: Option<&str>, remix: Option<&Meme>) -> Vec<BoxGeometry> {
    if let Some(parent) = remix {
        return parent.spec.boxes.iter().map(BoxGeometry::from).collect();
    }
    match template.and_then(render::templates::find) {
        Some(t) => t.slots.iter().map(|s| BoxGeometry { x: s.x, y: s.y, w: s.w, h: s.h }).collect(),
        None => render::MemeSpec::classic(&["", ""]).boxes.iter().map(BoxGeometry::from).collect(),
    }
}

#[derive(Template)]
#[template(path = "memes/editor.html")]
struct EditorPage {
    page: PageContext,
    /// The picker: starter templates, then shared ones.
    templates: Vec<TemplateChoice>,
    /// The chosen picture's name, on the picker's fold.
    selected_name: String,
    boxes: Vec<BoxField>,
    fonts: Vec<(&'static str, &'static str)>,
    remix: Option<MemeCard>,
    preview_url: String,
    max_upload_mb: u64,
    modern: bool,
    selected_template: String,
    /// The `/i/` link of what the editor holds, when it is drawn on a template.
    share_url: Option<String>,
    /// The template that link draws on (for the script that keeps it in step).
    share_template: String,
    /// Where an added box goes (`requests::ADDED_BOX` in percent, for the script).
    added_box: String,
    /// The classic top and bottom boxes of an upload (for the script).
    upload_boxes: String,
}

/// What the editor shows: the picture choice and the boxes with their text and style.
#[derive(Default)]
struct EditorState {
    template: Option<String>,
    remix: Option<Meme>,
    /// The picker's templates, in the order the service chose (most used first).
    builtin: Vec<Offered<&'static BuiltinTemplate>>,
    shared: Vec<Offered<SharedTemplate>>,
    layout: Option<String>,
    captions: Vec<String>,
    fonts: Vec<String>,
    fills: Vec<String>,
    outlines: Vec<String>,
    /// Each box's place as the form sent it (percent).
    geometry: [Vec<String>; 4],
    boxes: Option<usize>,
}

async fn editor(
    State(state): State<AppState>,
    page: PageContext,
    Query(q): Query<EditorQuery>,
) -> Result<Response, AppError> {
    let remix = q.remix.as_deref().map(|id| MemeId::parse(id).map_err(|_| AppError::NotFound)).transpose()?;
    let viewer = page.user.as_ref().map(|u| u.id);
    let start = editor_service::start(state.services(), viewer, remix, q.template.as_deref()).await?;
    let editor = EditorState {
        template: q.template,
        remix: start.remix,
        builtin: start.builtin,
        shared: start.shared,
        boxes: q.boxes,
        ..Default::default()
    };
    render(&editor_page(&state, page, editor))
}

/// The editor's "Add a text box" without JavaScript: the form comes back with everything typed
/// so far, and the editor is shown again with one more box.
async fn edit_in_place(
    State(state): State<AppState>,
    page: PageContext,
    csrf: axum::Extension<CsrfSecret>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let form = MemeForm::read(multipart, Some((&csrf, header_token(&headers))), &state.config).await?;
    let remix = form
        .remix
        .as_deref()
        .map(|id| MemeId::parse(id).map_err(|_| AppError::Unprocessable("That meme id is not valid.".into())))
        .transpose()?;
    let viewer = page.user.as_ref().map(|u| u.id);
    let start = editor_service::start(state.services(), viewer, remix, form.template.as_deref()).await?;
    let captions = form.captions();
    let extra = usize::from(form.edit.as_deref() == Some("add-box"));
    let editor = EditorState {
        boxes: Some(captions.len() + extra),
        template: form.template,
        remix: start.remix,
        builtin: start.builtin,
        shared: start.shared,
        layout: form.layout,
        captions,
        fonts: form.fonts,
        fills: form.fills,
        outlines: form.outlines,
        geometry: form.geometry,
    };
    render(&editor_page(&state, page, editor))
}

fn editor_page(state: &AppState, page: PageContext, editor: EditorState) -> EditorPage {
    let mut selected = editor.template.clone().filter(|t| render::templates::find(t).is_some() || t.starts_with("u-"));
    let mut captions = editor.captions;
    let mut remix = None;
    let spec = editor.remix.as_ref().map(|parent| parent.spec.clone());
    if let Some(parent) = &editor.remix {
        if captions.is_empty() {
            captions = parent.captions.clone();
        }
        selected = parent.template_id().map(str::to_owned);
        remix = Some(MemeCard::new(state, parent));
    }
    let count = editor.boxes.unwrap_or(captions.len().max(2)).clamp(1, render::MAX_BOXES);
    captions.resize(count, String::new());
    let own = own_boxes(selected.as_deref(), editor.remix.as_ref());
    // Boxes the form placed stay where they were; the rest go where the picture wants them.
    let placed: Vec<BoxGeometry> = editor_geometry(&own, count)
        .into_iter()
        .enumerate()
        .map(|(i, default)| {
            let typed =
                |n: usize| editor.geometry[n].get(i).and_then(|v| v.trim().parse::<f32>().ok()).map(|p| p / 100.0);
            BoxGeometry {
                x: typed(0).unwrap_or(default.x),
                y: typed(1).unwrap_or(default.y),
                w: typed(2).unwrap_or(default.w),
                h: typed(3).unwrap_or(default.h),
            }
        })
        .collect();
    let typed = captions.clone();
    let pick = |list: &[String], i: usize| list.get(i).filter(|v| !v.is_empty()).cloned();
    let boxes = captions
        .into_iter()
        .enumerate()
        .map(|(i, text)| {
            let styled = spec.as_ref().and_then(|s| s.boxes.get(i));
            let font = pick(&editor.fonts, i)
                .and_then(|f| f.parse::<FontChoice>().ok())
                .or(styled.map(|b| b.font))
                .unwrap_or_default();
            let name = match (count, i) {
                (2, 0) if own.len() == 2 => "Top text",
                (2, 1) if own.len() == 2 => "Bottom text",
                _ => "",
            };
            let at = placed[i];
            BoxField {
                number: i + 1,
                name,
                geometry: [at.x, at.y, at.w, at.h].map(percent),
                text,
                font: font.id(),
                fill: pick(&editor.fills, i).or(styled.map(|b| b.fill.to_string())).unwrap_or_else(|| "#ffffff".into()),
                outline: pick(&editor.outlines, i)
                    .or(styled.map(|b| b.outline.to_string()))
                    .unwrap_or_else(|| "#000000".into()),
            }
        })
        .collect();
    let selected_id =
        selected.clone().unwrap_or_else(|| if remix.is_some() { String::new() } else { "chelsea".into() });
    // A remix of an uploaded picture has no template, so no link.
    let share_template = selected_id.clone();
    let share_url = (!share_template.is_empty()).then(|| memes_by_url::url_of(&share_template, &typed));
    let choice = |id: &str, name: &str, thumb_url: String, detail: String| TemplateChoice {
        id: id.to_owned(),
        name: name.to_owned(),
        thumb_url,
        detail: Some(detail),
        selected: id == selected_id,
        boxes: boxes_attribute(&own_boxes(Some(id), None)),
    };
    let viewer = page.user.as_ref().map(|u| u.id);
    // The starter templates, then the shared ones: one list, in the service's order.
    let templates: Vec<TemplateChoice> = editor
        .builtin
        .iter()
        .map(|&Offered { template: t, memes }| {
            choice(t.id, t.name, format!("/templates/{}/thumb.jpg", t.id), usage_chart::meme_count(memes))
        })
        .chain(editor.shared.iter().map(|Offered { template: t, memes }| {
            let whose = if Some(t.owner_id) == viewer { "yours".to_owned() } else { format!("by {}", t.owner) };
            let detail = format!("{whose} · {}", usage_chart::meme_count(*memes));
            choice(&t.id, &t.name, state.media_url(&t.thumb_key), detail)
        }))
        .collect();
    let selected_name =
        templates.iter().find(|t| t.selected).map(|t| t.name.clone()).unwrap_or_else(|| "your upload".to_owned());
    let added = ADDED_BOX;
    let added_box =
        format!("{} {} {} {}", percent(added.x), percent(added.w), percent(added.h), added.tops.map(percent).join(","));
    let preview_url = match &remix {
        Some(card) => card.display_url.clone(),
        None => format!("/templates/{selected_id}/image"),
    };
    EditorPage {
        page,
        templates,
        selected_name,
        boxes,
        fonts: FontChoice::ALL.iter().map(|f| (f.id(), f.display_name())).collect(),
        remix,
        preview_url,
        max_upload_mb: state.config.max_upload_mb,
        modern: editor.layout.as_deref() == Some("modern"),
        selected_template: selected_id,
        share_url,
        share_template,
        added_box,
        upload_boxes: boxes_attribute(&own_boxes(None, None)),
    }
}

/// An image made for this request only: never cached. A download (`Some` captions) is named
/// after its captions.
fn image_response(encoded: render::Encoded, download: Option<&[String]>) -> Response {
    let mut response = (StatusCode::OK, encoded.bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(encoded.mime));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(captions) = download {
        let extension = if encoded.mime == "image/gif" { "gif" } else { "jpg" };
        // Only ASCII goes in (the name is percent-encoded), so the value is always valid.
        if let Ok(value) = HeaderValue::from_str(&attachment_disposition(captions, extension)) {
            headers.insert(header::CONTENT_DISPOSITION, value);
        }
    }
    response
}

/// Renders that keep nothing are limited per client address, so that one client cannot queue
/// unbounded CPU work (saves are limited by needing a confirmed account).
fn limit_renders(state: &AppState, client: std::net::IpAddr) -> Result<(), AppError> {
    state
        .render_limit
        .attempt(client)
        .map_err(|t| AppError::RateLimited { retry_after: t.retry_after, what: "renders" })
}

/// Reads the editor's form (CSRF first) into a request.
async fn read_request(
    state: &AppState,
    csrf: &CsrfSecret,
    headers: &HeaderMap,
    multipart: Multipart,
) -> Result<MemeRequest, AppError> {
    let form = MemeForm::read(multipart, Some((csrf, header_token(headers))), &state.config).await?;
    MemeRequest::try_from(form)
}

/// Renders the editor's current state at preview size; stores nothing.
#[tracing::instrument(level = "debug", skip_all)]
async fn preview(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    csrf: axum::Extension<CsrfSecret>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let request = MemeRequest { intent: Intent::Preview, ..read_request(&state, &csrf, &headers, multipart).await? };
    limit_renders(&state, client)?;
    match meme_service::make(state.services(), None, request).await? {
        Made::Image(image) => Ok(image_response(image, None)),
        Made::Saved(_) => Err(AppError::Internal(anyhow::anyhow!("a preview saved a meme"))),
    }
}

/// Signed in with `save=1`: keeps the meme and shows its page. Otherwise: the JPEG as a
/// download, nothing stored.
#[tracing::instrument(skip_all)]
async fn create(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    CurrentUser(user): CurrentUser,
    session: tower_sessions::Session,
    csrf: axum::Extension<CsrfSecret>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let mut request = read_request(&state, &csrf, &headers, multipart).await?;
    let actor = match (&request.intent, user) {
        (Intent::Save { .. }, Some(user)) => {
            Some(crate::web::session::require_verified(&state, Some(&session), user).await?.actor())
        }
        _ => {
            // Anonymous visitors cannot keep memes: the same form downloads it instead.
            request.intent = Intent::Download;
            limit_renders(&state, client)?;
            None
        }
    };
    let captions = request.captions();
    match meme_service::make(state.services(), actor.as_ref(), request).await? {
        Made::Saved(meme) => {
            flash::say(&session, "Your meme is saved to your portfolio.").await?;
            Ok(Redirect::to(&format!("/memes/{}", meme.id)).into_response())
        }
        Made::Image(image) => Ok(image_response(image, Some(&captions))),
    }
}
