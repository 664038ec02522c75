//! `/api/v1/users/{username}`: a creator, their memes, and subscribing to them.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;

use super::auth::Caller;
use super::schema::{ErrorBody, Links, MemeJson, MemeList, SubscriptionJson, UserJson};
use super::{ApiQuery, json, page_limit};
use crate::services::{browse, subscriptions};
use crate::storage::PageRequest;
use crate::web::AppState;
use crate::web::client_ip::ClientIp;
use crate::web::error::AppError;

/// A creator.
#[utoipa::path(
    get, path = "/api/v1/users/{username}", operation_id = "getUser", tag = "users",
    params(("username" = String, Path, description = "The creator's username")),
    responses(
        (status = 200, description = "The creator", body = UserJson),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = "default", description = "An error", body = ErrorBody),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    _: Caller,
    Path(username): Path<String>,
) -> Result<Response, AppError> {
    let profile = browse::profile(state.services(), &username, None).await?;
    Ok(json(StatusCode::OK, &UserJson::new(&Links::new(&state), &profile.creator, profile.subscribers)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// How many memes, 1 to 100 (20 when absent).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// The `next_cursor` of the page before.
    cursor: Option<String>,
}

/// A creator's memes, newest first.
#[utoipa::path(
    get, path = "/api/v1/users/{username}/memes", operation_id = "listUserMemes", tag = "users",
    params(("username" = String, Path, description = "The creator's username"), PageQuery),
    responses(
        (status = 200, description = "A page of their memes", body = MemeList),
        (status = 400, description = "A bad limit, or a forged or stale cursor", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = "default", description = "An error", body = ErrorBody),
    )
)]
pub async fn memes(
    State(state): State<AppState>,
    _: Caller,
    Path(username): Path<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Response, AppError> {
    let limit = page_limit(q.limit)?;
    let after = state.cursors.verify_opt(q.cursor.as_deref())?;
    let portfolio = browse::portfolio(state.services(), &username, None, PageRequest::after(after, limit)).await?;
    let links = Links::new(&state);
    let memes = portfolio.memes.items.iter().map(|m| MemeJson::new(&links, m)).collect();
    Ok(json(StatusCode::OK, &MemeList { memes, next_cursor: portfolio.memes.next.map(|c| state.cursors.sign(&c)) }))
}

/// Subscribes to a creator (idempotent): their new memes reach you by email and notification.
#[utoipa::path(
    put, path = "/api/v1/users/{username}/subscription", operation_id = "subscribe", tag = "users",
    params(("username" = String, Path, description = "The creator's username")),
    security(("token" = [])),
    responses(
        (status = 200, description = "Subscribed", body = SubscriptionJson),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 422, description = "That is you", body = ErrorBody),
        (status = "default", description = "An error", body = ErrorBody),
    )
)]
pub async fn subscribe(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    caller: Caller,
    Path(username): Path<String>,
) -> Result<Response, AppError> {
    let actor = caller.writer(&state, client).await?;
    let creator = subscriptions::subscribe(state.services(), &actor, &username).await?;
    Ok(json(StatusCode::OK, &SubscriptionJson { creator: creator.username.to_string(), subscribed: true }))
}

/// Unsubscribes from a creator (idempotent).
#[utoipa::path(
    delete, path = "/api/v1/users/{username}/subscription", operation_id = "unsubscribe", tag = "users",
    params(("username" = String, Path, description = "The creator's username")),
    security(("token" = [])),
    responses(
        (status = 200, description = "Not subscribed", body = SubscriptionJson),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = "default", description = "An error", body = ErrorBody),
    )
)]
pub async fn unsubscribe(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    caller: Caller,
    Path(username): Path<String>,
) -> Result<Response, AppError> {
    let actor = caller.writer(&state, client).await?;
    let creator = subscriptions::unsubscribe(state.services(), &actor, &username).await?;
    Ok(json(StatusCode::OK, &SubscriptionJson { creator: creator.username.to_string(), subscribed: false }))
}
