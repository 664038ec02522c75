//! `/api/v1/memes/{id}/comments`: commenting, and deleting a comment.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::auth::Caller;
use super::schema::{CommentJson, ErrorBody, NewComment};
use super::{ApiJson, json};
use crate::domain::{CommentBody, CommentId, MemeId};
use crate::services::comments as comment_service;
use crate::web::AppState;
use crate::web::client_ip::ClientIp;
use crate::web::error::AppError;

/// Comments on a meme.
#[utoipa::path(
    post, path = "/api/v1/memes/{id}/comments", operation_id = "addComment", tag = "memes",
    params(("id" = String, Path, description = "The meme's id")),
    request_body = NewComment,
    security(("token" = [])),
    responses(
        (status = 201, description = "The comment", body = CommentJson),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 404, description = "No such meme", body = ErrorBody),
        (status = 422, description = "An empty or too long comment", body = ErrorBody),
        (status = "default", description = "An error", body = ErrorBody),
    )
)]
pub async fn add(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NewComment>,
) -> Result<Response, AppError> {
    let actor = caller.writer(&state, client).await?;
    let meme = MemeId::parse(&id).map_err(|_| AppError::NotFound)?;
    let body = CommentBody::parse(&body.body).map_err(|e| AppError::Unprocessable(e.0))?;
    let comment = comment_service::add(state.services(), &actor, meme, body).await?;
    Ok(json(StatusCode::CREATED, &CommentJson::from(&comment)))
}

/// Deletes a comment: its author or the meme's creator may.
#[utoipa::path(
    delete, path = "/api/v1/memes/{id}/comments/{comment_id}", operation_id = "deleteComment", tag = "memes",
    params(
        ("id" = String, Path, description = "The meme's id"),
        ("comment_id" = String, Path, description = "The comment's id"),
    ),
    security(("token" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 403, description = "Neither its author nor the meme's creator", body = ErrorBody),
        (status = 404, description = "No such meme or comment", body = ErrorBody),
        (status = "default", description = "An error", body = ErrorBody),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    caller: Caller,
    Path((id, comment_id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let actor = caller.writer(&state, client).await?;
    let meme = MemeId::parse(&id).map_err(|_| AppError::NotFound)?;
    let comment = CommentId::parse(&comment_id).map_err(|_| AppError::NotFound)?;
    comment_service::delete(state.services(), &actor, meme, comment).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
