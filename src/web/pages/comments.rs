//! Comments on a meme's page: adding one, deleting one.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use serde::Deserialize;
use tower_sessions::Session;

use super::meme::{load_view, meme_page, parse_meme_id};
use crate::domain::{CommentBody, CommentId};
use crate::services::comments as comment_service;
use crate::web::AppState;
use crate::web::error::AppError;
use crate::web::flash;
use crate::web::forms::{CsrfForm, NoFields};
use crate::web::layout::{PageContext, render_with_status};
use crate::web::session::{RequireUser, RequireVerified};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/memes/{id}/comments", post(add))
        .route("/memes/{id}/comments/{comment_id}/delete", post(delete))
}

#[derive(Deserialize)]
struct CommentForm {
    #[serde(default)]
    body: String,
}

#[tracing::instrument(skip_all, fields(meme = %id))]
async fn add(
    State(state): State<AppState>,
    RequireVerified(user): RequireVerified,
    session: Session,
    page: PageContext,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<CommentForm>,
) -> Result<Response, AppError> {
    let meme_id = parse_meme_id(&id)?;
    let body = match CommentBody::parse(&form.body) {
        Ok(body) => body,
        Err(e) => {
            // The meme's page again, with what was typed and why it was refused.
            let view = load_view(&state, meme_id).await?;
            let typed = form.body.chars().take(CommentBody::MAX_CHARS * 2).collect();
            let page = meme_page(&state, page, view, typed, Some(e.0));
            return render_with_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let comment = comment_service::add(state.services(), &user.actor(), meme_id, body).await?;
    flash::say(&session, "Your comment is posted.").await?;
    Ok(Redirect::to(&format!("/memes/{}#comment-{}", comment.meme_id, comment.id)).into_response())
}

#[tracing::instrument(skip_all, fields(meme = %id, comment = %comment_id))]
async fn delete(
    State(state): State<AppState>,
    RequireUser(user): RequireUser,
    session: Session,
    Path((id, comment_id)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, AppError> {
    let meme_id = parse_meme_id(&id)?;
    let comment_id = CommentId::parse(&comment_id).map_err(|_| AppError::NotFound)?;
    comment_service::delete(state.services(), &user.actor(), meme_id, comment_id).await?;
    flash::say(&session, "The comment is deleted.").await?;
    Ok(Redirect::to(&format!("/memes/{meme_id}#comments")).into_response())
}
