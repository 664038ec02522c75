//! `/subscriptions`, `/notifications` and the one-click unsubscribe link from emails.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::storage::PageRequest;
use crate::web::AppState;
use crate::web::error::AppError;
use crate::web::forms::{CsrfForm, NoFields};
use crate::web::layout::{PageContext, render};
use crate::web::session::RequireUser;
use crate::web::views::human_date;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/subscriptions", get(subscriptions))
        .route("/notifications", get(notifications))
        .route("/notifications/read", post(mark_read))
        .route("/unsubscribe/{token}", get(unsubscribe_link).post(unsubscribe_link))
}

struct NotificationView {
    meme_id: String,
    creator: String,
    thumb_url: String,
    when: String,
    read: bool,
}

#[derive(Template)]
#[template(path = "following/subscriptions.html")]
struct SubscriptionsPage {
    page: PageContext,
    creators: Vec<String>,
    feed: Vec<NotificationView>,
}

#[derive(Template)]
#[template(path = "following/notifications.html")]
struct NotificationsPage {
    page: PageContext,
    notifications: Vec<NotificationView>,
    unread: u64,
    next: Option<String>,
}

#[derive(Deserialize)]
struct CursorQuery {
    cursor: Option<String>,
}

fn views(state: &AppState, items: &[crate::domain::Notification]) -> Vec<NotificationView> {
    items
        .iter()
        .map(|n| NotificationView {
            meme_id: n.meme_id.to_string(),
            creator: n.creator.to_string(),
            thumb_url: state.media_url(&n.thumb_key),
            when: human_date(n.created_at),
            read: n.read,
        })
        .collect()
}

/// Creators I follow, and their newest memes (the in-app notifications are exactly that feed,
/// fanned out when each meme was saved, so this page costs two queries however many I follow).
async fn subscriptions(
    State(state): State<AppState>,
    RequireUser(user): RequireUser,
    page: PageContext,
) -> Result<Response, AppError> {
    let (following, feed) = tokio::try_join!(
        state.storage.subscriptions.following(user.id, PageRequest::first(PageRequest::MAX_LIMIT)),
        state.storage.notifications.recent(user.id, PageRequest::first(24)),
    )?;
    render(&SubscriptionsPage {
        page,
        creators: following.items.iter().map(|f| f.creator.to_string()).collect(),
        feed: views(&state, &feed.items),
    })
}

async fn notifications(
    State(state): State<AppState>,
    RequireUser(user): RequireUser,
    page: PageContext,
    Query(q): Query<CursorQuery>,
) -> Result<Response, AppError> {
    let after = state.cursors.verify_opt(q.cursor.as_deref())?;
    let (list, unread) = state.storage.notifications.inbox(user.id, PageRequest::after(after, 50)).await?;
    render(&NotificationsPage {
        page,
        notifications: views(&state, &list.items),
        unread,
        next: list.next.map(|c| state.cursors.sign(&c)),
    })
}

async fn mark_read(
    State(state): State<AppState>,
    RequireUser(user): RequireUser,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, AppError> {
    state.storage.notifications.mark_all_read(user.id).await?;
    Ok(Redirect::to("/notifications").into_response())
}

#[derive(Template)]
#[template(path = "following/unsubscribed.html")]
struct UnsubscribedPage {
    page: PageContext,
    creator: Option<String>,
}

/// The link in every notification email. The unguessable token is the authorisation, so it
/// works without signing in; GET (a click) and POST (RFC 8058 one-click from mail clients) both
/// unsubscribe. A used or unknown token says so kindly.
async fn unsubscribe_link(
    State(state): State<AppState>,
    page: PageContext,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let valid = token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit());
    let creator = if valid { state.storage.subscriptions.unsubscribe_by_token(&token).await? } else { None };
    render(&UnsubscribedPage { page, creator: creator.map(|c| c.to_string()) })
}
