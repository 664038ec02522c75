//! A meme's page (`/memes/{id}`: the meme, its comments, what it remixed and its remixes) and
//! deleting it.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use tower_sessions::Session;

use crate::domain::MemeId;
use crate::services::memes as meme_service;
use crate::services::memes_by_url;
use crate::storage::{MemeView, PageRequest};
use crate::web::AppState;
use crate::web::error::AppError;
use crate::web::flash;
use crate::web::forms::{CsrfForm, NoFields};
use crate::web::layout::{PageContext, render};
use crate::web::session::RequireUser;
use crate::web::views::{
    CaptionChange, CommentView, MemeCard, ShareImage, ShareMeta, builtin_template_name, caption_changes,
    caption_file_stem,
};

pub fn router() -> Router<AppState> {
    Router::new().route("/memes/{id}", get(show)).route("/memes/{id}/delete", get(confirm_delete).post(delete))
}

/// A meme id from a path: one that cannot be an id is a page that does not exist.
pub fn parse_meme_id(id: &str) -> Result<MemeId, AppError> {
    MemeId::parse(id).map_err(|_| AppError::NotFound)
}

struct ParentView {
    card: Option<MemeCard>,
    changes: Vec<CaptionChange>,
}

#[derive(Template)]
#[template(path = "memes/show.html")]
pub struct MemePage {
    page: PageContext,
    meme: MemeCard,
    captions: Vec<String>,
    template: Option<(String, String)>,
    share_url: Option<String>,
    parent: Option<ParentView>,
    remixes: Vec<MemeCard>,
    comments: Vec<CommentView>,
    is_owner: bool,
    comment_body: String,
    comment_error: Option<String>,
    share: ShareMeta,
    /// The Download link's file name, from the captions.
    download_name: String,
}

/// "Delete this meme?" without JavaScript (with it, the meme's page asks in a dialog).
#[derive(Template)]
#[template(path = "memes/delete.html")]
struct ConfirmDeletePage {
    page: PageContext,
    meme: MemeCard,
}

#[tracing::instrument(level = "debug", skip_all, fields(meme = %id))]
async fn show(State(state): State<AppState>, page: PageContext, Path(id): Path<String>) -> Result<Response, AppError> {
    let view = load_view(&state, parse_meme_id(&id)?).await?;
    render(&meme_page(&state, page, view, String::new(), None))
}

/// How many of a meme's remixes its page shows.
const REMIXES_SHOWN: usize = 24;

/// Everything the meme's page shows, in one storage read (two round trips on DynamoDB).
pub async fn load_view(state: &AppState, id: MemeId) -> Result<MemeView, AppError> {
    let comments = PageRequest::first(PageRequest::MAX_LIMIT);
    state.storage.views.meme(id, comments, REMIXES_SHOWN).await?.ok_or(AppError::NotFound)
}

/// The page, with the comment form holding `comment_body` and `comment_error` (a comment that
/// was refused comes back as typed).
pub fn meme_page(
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
    let card = MemeCard::new(state, &meme);
    let share = ShareMeta {
        title: card.alt.clone(),
        description: format!("A meme by {} on Sky-High Memes.", meme.creator),
        url: state.absolute_url(&format!("/memes/{}", meme.id)),
        image: Some(ShareImage {
            url: state.absolute_url(&card.display_url),
            width: card.display_width,
            height: card.display_height,
            alt: card.alt.clone(),
        }),
    };
    let extension = if meme.media.display_key.as_str().ends_with(".gif") { "gif" } else { "jpg" };
    MemePage {
        download_name: format!(
            "{}.{extension}",
            caption_file_stem(&meme.captions).unwrap_or_else(|| "sky-high-meme".into())
        ),
        share,
        meme: card,
        captions: meme.captions.iter().filter(|c| !c.trim().is_empty()).cloned().collect(),
        template,
        share_url: memes_by_url::url_of_meme(&meme),
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

async fn confirm_delete(
    State(state): State<AppState>,
    RequireUser(user): RequireUser,
    page: PageContext,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let meme = meme_service::get(state.services(), parse_meme_id(&id)?).await?;
    if meme.creator_id != user.id {
        return Err(AppError::Forbidden("Only the meme's creator can delete it.".into()));
    }
    render(&ConfirmDeletePage { page, meme: MemeCard::new(&state, &meme) })
}

#[tracing::instrument(skip_all, fields(meme = %id))]
async fn delete(
    State(state): State<AppState>,
    RequireUser(user): RequireUser,
    session: Session,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, AppError> {
    meme_service::delete(state.services(), &user.actor(), parse_meme_id(&id)?).await?;
    flash::say(&session, "The meme is deleted, with its comments.").await?;
    Ok(Redirect::to(&format!("/u/{}", user.username)).into_response())
}
