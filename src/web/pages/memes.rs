//! Making memes (editor, preview, save or download) and the meme page (comments, remixes,
//! delete).

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use time::OffsetDateTime;

use crate::domain::{Comment, CommentBody, CommentId, Meme, MemeId, MemeSource};
use crate::render::{self, FontChoice, MemeSpec, Outputs};
use crate::services::memes::{self as meme_service, MemeError, NewMeme, Picture};
use crate::storage::{BlobKey, MemeView, PageRequest, StorageError};
use crate::web::csrf::CsrfSecret;
use crate::web::error::AppError;
use crate::web::forms::{CsrfForm, NoFields};
use crate::web::layout::{PageContext, render, render_with_status};
use crate::web::meme_form::MemeForm;
use crate::web::session::{CurrentUser, RequireUser, RequireVerified, SignedIn};
use crate::web::views::{CaptionChange, CommentView, MemeCard, builtin_template_name, caption_changes};
use crate::web::{AppState, body_limit};

/// The editor's routes, whose multipart bodies carry an image: the file may have
/// `max_upload_bytes` (checked exactly as it streams in), the body that much plus its fields.
pub fn editor_router(max_upload_bytes: usize, max_upload_mb: u64) -> Router<AppState> {
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

/// The meme page and its small forms.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/memes/{id}", get(show))
        .route("/memes/{id}/delete", post(delete))
        .route("/memes/{id}/comments", post(add_comment))
        .route("/memes/{id}/comments/{comment_id}/delete", post(delete_comment))
}

impl From<MemeError> for AppError {
    fn from(e: MemeError) -> Self {
        match e {
            MemeError::BadInput(message) => AppError::Unprocessable(message),
            MemeError::NotFound => AppError::NotFound,
            MemeError::Storage(e) => e.into(),
            MemeError::Internal(e) => AppError::Internal(e),
        }
    }
}

fn parse_meme_id(id: &str) -> Result<MemeId, AppError> {
    MemeId::parse(id).map_err(|_| AppError::NotFound)
}

async fn load_meme(state: &AppState, id: &str) -> Result<Meme, AppError> {
    state.storage.memes.get(parse_meme_id(id)?).await?.ok_or(AppError::NotFound)
}

// ---- the editor ----

#[derive(Debug, Deserialize, Default)]
struct EditorQuery {
    template: Option<String>,
    remix: Option<String>,
    boxes: Option<usize>,
}

/// One caption box in the editor.
struct BoxField {
    number: usize,
    text: String,
    font: &'static str,
    fill: String,
    outline: String,
}

struct TemplateChoice {
    id: String,
    name: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "memes/editor.html")]
struct EditorPage {
    page: PageContext,
    templates: Vec<TemplateChoice>,
    boxes: Vec<BoxField>,
    fonts: Vec<(&'static str, &'static str)>,
    remix: Option<MemeCard>,
    preview_url: String,
    max_upload_mb: u64,
    modern: bool,
    selected_template: String,
}

/// What the editor shows: the picture choice and the boxes with their text and style.
#[derive(Default)]
struct EditorState {
    template: Option<String>,
    remix: Option<String>,
    layout: Option<String>,
    captions: Vec<String>,
    fonts: Vec<String>,
    fills: Vec<String>,
    outlines: Vec<String>,
    boxes: Option<usize>,
}

async fn editor(
    State(state): State<AppState>,
    page: PageContext,
    Query(q): Query<EditorQuery>,
) -> Result<Response, AppError> {
    let editor = EditorState { template: q.template, remix: q.remix, boxes: q.boxes, ..Default::default() };
    render(&editor_page(&state, page, editor).await?)
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
    let form = MemeForm::read(multipart, &csrf, header_token(&headers), &state.config).await?;
    let captions = form.captions();
    let extra = usize::from(form.edit.as_deref() == Some("add-box"));
    let editor = EditorState {
        boxes: Some(captions.len() + extra),
        template: form.template,
        remix: form.remix,
        layout: form.layout,
        captions,
        fonts: form.fonts,
        fills: form.fills,
        outlines: form.outlines,
    };
    render(&editor_page(&state, page, editor).await?)
}

async fn editor_page(state: &AppState, page: PageContext, editor: EditorState) -> Result<EditorPage, AppError> {
    let mut selected = editor.template.clone().filter(|t| render::templates::find(t).is_some() || t.starts_with("u-"));
    let mut captions = editor.captions;
    let mut spec: Option<MemeSpec> = None;
    let mut remix = None;
    if let Some(id) = editor.remix.as_deref() {
        let parent = load_meme(state, id).await?;
        if captions.is_empty() {
            captions = parent.captions.clone();
        }
        spec = serde_json::from_str(&parent.spec_json).ok();
        selected = parent.template_id().map(str::to_owned);
        remix = Some(MemeCard::new(state, &parent));
    }
    let count = editor.boxes.unwrap_or(captions.len().max(2)).clamp(1, render::MAX_BOXES);
    captions.resize(count, String::new());
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
            BoxField {
                number: i + 1,
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
    let templates = render::templates::catalog()
        .iter()
        .map(|t| TemplateChoice { id: t.id.to_owned(), name: t.name.to_owned(), selected: t.id == selected_id })
        .collect();
    let preview_url = match &remix {
        Some(card) => card.display_url.clone(),
        None => format!("/templates/{selected_id}/image"),
    };
    Ok(EditorPage {
        page,
        templates,
        boxes,
        fonts: FontChoice::ALL.iter().map(|f| (f.id(), f.display_name())).collect(),
        remix,
        preview_url,
        max_upload_mb: state.config.max_upload_mb,
        modern: editor.layout.as_deref() == Some("modern"),
        selected_template: selected_id,
    })
}

/// What the form says to draw on, and the geometry to start from.
struct Resolved {
    picture: Picture,
    template_id: Option<String>,
    shared_template_name: Option<String>,
    parent: Option<Meme>,
    base: MemeSpec,
}

async fn resolve(state: &AppState, form: &MemeForm) -> Result<Resolved, AppError> {
    let captions = form.captions();
    if let Some(remix) = form.remix.as_deref() {
        let parent_id =
            MemeId::parse(remix).map_err(|_| AppError::Unprocessable("That meme id is not valid.".into()))?;
        let parent = state
            .storage
            .memes
            .get(parent_id)
            .await?
            .ok_or_else(|| AppError::Unprocessable("The meme you are remixing no longer exists.".into()))?;
        let parent_spec: MemeSpec = serde_json::from_str(&parent.spec_json).unwrap_or_default();
        let base = if parent_spec.boxes.len() == captions.len() {
            let mut spec = parent_spec;
            for (b, c) in spec.boxes.iter_mut().zip(&captions) {
                b.text = c.clone();
            }
            spec
        } else {
            MemeSpec::classic(&captions)
        };
        let (picture, template_id, shared_template_name) = match &parent.source {
            MemeSource::Template(id) => picture_for_template(state, id).await?,
            MemeSource::Upload { original_key } => (stored_picture(state, original_key).await?, None, None),
        };
        return Ok(Resolved { picture, template_id, shared_template_name, parent: Some(parent), base });
    }
    // An upload is checked by the render itself (header first, then bounded decoding), once it
    // holds a render slot: probing it here would read a spooled file into memory early.
    if let Some(image) = &form.image {
        return Ok(Resolved {
            picture: Picture::Upload(image.clone()),
            template_id: None,
            shared_template_name: None,
            parent: None,
            base: MemeSpec::classic(&captions),
        });
    }
    if let Some(id) = form.template.as_deref() {
        let (picture, template_id, shared_template_name) = picture_for_template(state, id).await?;
        let base = match render::templates::find(id) {
            Some(t) => t.spec(&captions),
            None => MemeSpec::classic(&captions),
        };
        return Ok(Resolved { picture, template_id, shared_template_name, parent: None, base });
    }
    Err(AppError::Unprocessable("Choose a template or upload an image first.".into()))
}

/// Builtin templates render from the engine's decoded cache; shared ones from their stored
/// original. Returns the picture, the template's id and, for a shared one, its name.
async fn picture_for_template(
    state: &AppState,
    id: &str,
) -> Result<(Picture, Option<String>, Option<String>), AppError> {
    if render::templates::find(id).is_some() {
        return Ok((Picture::Template(id.to_owned()), Some(id.to_owned()), None));
    }
    let shared = state
        .storage
        .templates
        .get(id)
        .await?
        .ok_or_else(|| AppError::Unprocessable(format!("There is no template called {id:?}.")))?;
    Ok((stored_picture(state, &shared.original_key).await?, Some(shared.id), Some(shared.name)))
}

async fn stored_picture(state: &AppState, key: &str) -> Result<Picture, AppError> {
    let gone = || AppError::Unprocessable("The original image of that meme is no longer available.".into());
    let blob_key = BlobKey::parse(key).ok_or_else(gone)?;
    let blob = state.storage.blobs.get(&blob_key).await?.ok_or_else(gone)?;
    Ok(Picture::Stored(blob.bytes))
}

fn header_token(headers: &HeaderMap) -> Option<&str> {
    headers.get("x-csrf-token").and_then(|v| v.to_str().ok())
}

fn image_response(encoded: render::Encoded, download: bool) -> Response {
    let mut response = (StatusCode::OK, encoded.bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(encoded.mime));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if download {
        let name = if encoded.mime == "image/gif" { "sky-high-meme.gif" } else { "sky-high-meme.jpg" };
        if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
            headers.insert(header::CONTENT_DISPOSITION, value);
        }
    }
    response
}

/// Reads the editor's form (CSRF first), resolves its picture and builds the description.
async fn read_editor_form(
    state: &AppState,
    csrf: &CsrfSecret,
    headers: &HeaderMap,
    multipart: Multipart,
) -> Result<(MemeForm, Resolved, MemeSpec), AppError> {
    let form = MemeForm::read(multipart, csrf, header_token(headers), &state.config).await?;
    let mut resolved = resolve(state, &form).await?;
    let spec = form.spec(std::mem::take(&mut resolved.base)).map_err(AppError::Unprocessable)?;
    Ok((form, resolved, spec))
}

/// Renders the editor's current state at preview size; stores nothing.
#[tracing::instrument(skip_all)]
async fn preview(
    State(state): State<AppState>,
    csrf: axum::Extension<CsrfSecret>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let (_, resolved, spec) = read_editor_form(&state, &csrf, &headers, multipart).await?;
    let rendered = state.renderer.render(&resolved.picture, &spec, Outputs::PREVIEW).await?;
    let preview = rendered.preview.ok_or_else(|| AppError::Internal(anyhow::anyhow!("no preview rendered")))?;
    Ok(image_response(preview, false))
}

/// Signed in with `save=1`: keeps the meme and shows its page. Otherwise: the JPEG as a
/// download, nothing stored.
#[tracing::instrument(skip_all)]
async fn create(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    session: tower_sessions::Session,
    csrf: axum::Extension<CsrfSecret>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let (form, resolved, spec) = read_editor_form(&state, &csrf, &headers, multipart).await?;
    match user {
        Some(user) if form.save => {
            let user = crate::web::session::require_verified(&state, Some(&session), user).await?;
            if form.share_template
                && let Picture::Upload(upload) = &resolved.picture
            {
                let bytes = upload.bytes().await?;
                super::templates::share(&state, &user, bytes, form.template_name.as_deref()).await?;
            }
            let meme = meme_service::save(
                &state.storage,
                &state.renderer,
                NewMeme {
                    creator_id: user.id,
                    creator: user.username.clone(),
                    picture: resolved.picture,
                    template_id: resolved.template_id,
                    shared_template_name: resolved.shared_template_name,
                    parent: resolved.parent,
                    captions: spec.boxes.iter().map(|b| b.text.clone()).collect(),
                    spec,
                },
            )
            .await?;
            state.wake.now();
            Ok(Redirect::to(&format!("/memes/{}", meme.id)).into_response())
        }
        _ => {
            let rendered = state.renderer.render(&resolved.picture, &spec, Outputs::DISPLAY).await?;
            let display = rendered.display.ok_or_else(|| AppError::Internal(anyhow::anyhow!("no image rendered")))?;
            Ok(image_response(display, true))
        }
    }
}

// ---- the meme page ----

struct ParentView {
    card: Option<MemeCard>,
    changes: Vec<CaptionChange>,
}

#[derive(Template)]
#[template(path = "memes/show.html")]
struct MemePage {
    page: PageContext,
    meme: MemeCard,
    captions: Vec<String>,
    template: Option<(String, String)>,
    parent: Option<ParentView>,
    remixes: Vec<MemeCard>,
    comments: Vec<CommentView>,
    is_owner: bool,
    comment_body: String,
    comment_error: Option<String>,
}

#[tracing::instrument(skip_all, fields(meme = %id))]
async fn show(State(state): State<AppState>, page: PageContext, Path(id): Path<String>) -> Result<Response, AppError> {
    let view = load_view(&state, &id).await?;
    render(&meme_page(&state, page, view, String::new(), None))
}

/// How many of a meme's remixes its page shows.
const REMIXES_SHOWN: usize = 24;

/// Everything the meme's page shows, in one storage read (two round trips on DynamoDB).
async fn load_view(state: &AppState, id: &str) -> Result<MemeView, AppError> {
    let comments = PageRequest::first(PageRequest::MAX_LIMIT);
    state.storage.views.meme(parse_meme_id(id)?, comments, REMIXES_SHOWN).await?.ok_or(AppError::NotFound)
}

fn meme_page(
    state: &AppState,
    page: PageContext,
    view: MemeView,
    comment_body: String,
    comment_error: Option<String>,
) -> MemePage {
    let MemeView { meme, comments, parent, shared_template_name, remixes } = view;
    let viewer = page.user.as_ref().map(|u| u.id);
    let is_owner = viewer == Some(meme.creator_id);
    // A deleted parent still says "remixed from", without a card.
    let parent = meme.parent_id.map(|_| ParentView {
        changes: parent.as_ref().map(|p| caption_changes(&p.captions, &meme.captions)).unwrap_or_default(),
        card: parent.as_ref().map(|p| MemeCard::new(state, p)),
    });
    let template = meme.template_id().and_then(|id| {
        let name = builtin_template_name(id).map(str::to_owned).or(shared_template_name)?;
        Some((id.to_owned(), name))
    });
    MemePage {
        meme: MemeCard::new(state, &meme),
        captions: meme.captions.iter().filter(|c| !c.trim().is_empty()).cloned().collect(),
        template,
        parent,
        // Their counts are on their own pages (this page's budget has no read for them).
        remixes: remixes.iter().map(|r| MemeCard::new(state, r).without_counts()).collect(),
        comments: comments.items.iter().map(|c| CommentView::new(c, viewer == Some(c.author_id) || is_owner)).collect(),
        is_owner,
        comment_body,
        comment_error,
        page,
    }
}

#[tracing::instrument(skip_all, fields(meme = %id))]
async fn delete(
    State(state): State<AppState>,
    RequireUser(user): RequireUser,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, AppError> {
    let meme = load_meme(&state, &id).await?;
    require_owner(&user, &meme)?;
    meme_service::delete(&state.storage, &meme).await?;
    // The worker deletes the media (and the CDN's copies) now rather than at its next poll.
    state.wake.now();
    Ok(Redirect::to(&format!("/u/{}", user.username)).into_response())
}

fn require_owner(user: &SignedIn, meme: &Meme) -> Result<(), AppError> {
    if meme.creator_id == user.id {
        Ok(())
    } else {
        Err(AppError::Forbidden("Only the meme's creator can delete it.".into()))
    }
}

// ---- comments ----

#[derive(Deserialize)]
struct CommentForm {
    #[serde(default)]
    body: String,
}

#[tracing::instrument(skip_all, fields(meme = %id))]
async fn add_comment(
    State(state): State<AppState>,
    RequireVerified(user): RequireVerified,
    page: PageContext,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<CommentForm>,
) -> Result<Response, AppError> {
    let meme = load_meme(&state, &id).await?;
    let body = match CommentBody::parse(&form.body) {
        Ok(body) => body,
        Err(e) => {
            let view = load_view(&state, &id).await?;
            let typed = form.body.chars().take(CommentBody::MAX_CHARS * 2).collect();
            let page = meme_page(&state, page, view, typed, Some(e.0));
            return render_with_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let comment = Comment {
        id: CommentId::new(),
        meme_id: meme.id,
        author_id: user.id,
        author: user.username,
        body,
        created_at: OffsetDateTime::from_unix_timestamp(OffsetDateTime::now_utc().unix_timestamp())
            .unwrap_or(OffsetDateTime::UNIX_EPOCH),
    };
    match state.storage.comments.add(&comment).await {
        Ok(()) => Ok(Redirect::to(&format!("/memes/{}#comment-{}", meme.id, comment.id)).into_response()),
        Err(StorageError::NotFound) => Err(AppError::NotFound),
        Err(e) => Err(e.into()),
    }
}

#[tracing::instrument(skip_all, fields(meme = %id, comment = %comment_id))]
async fn delete_comment(
    State(state): State<AppState>,
    RequireUser(user): RequireUser,
    Path((id, comment_id)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, AppError> {
    let meme = load_meme(&state, &id).await?;
    let comment_id = CommentId::parse(&comment_id).map_err(|_| AppError::NotFound)?;
    let comment = state.storage.comments.get(meme.id, comment_id).await?.ok_or(AppError::NotFound)?;
    if comment.author_id != user.id && meme.creator_id != user.id {
        return Err(AppError::Forbidden("Only the comment's author or the meme's creator can delete it.".into()));
    }
    match state.storage.comments.delete(meme.id, comment_id).await {
        Ok(()) | Err(StorageError::NotFound) => {
            Ok(Redirect::to(&format!("/memes/{}#comments", meme.id)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
