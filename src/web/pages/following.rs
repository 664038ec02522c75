//! `/subscriptions`, `/notifications` (opening it reads everything in it) and the one-click unsubscribe link from emails.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::domain::{Notification, NotificationKind};
use crate::services;
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

/// One notification as the lists show it: "<actor> <did> <object>", with links.
struct NotificationView {
    actor: String,
    /// "posted", "commented on", "remixed", "subscribed to you".
    did: &'static str,
    /// What it was done to or made: a link and its text.
    object: Option<(String, &'static str)>,
    /// A remix's own link, after its parent's.
    result: Option<(String, &'static str)>,
    /// A picture of the meme it is about: its link, its thumbnail, its alt text.
    thumb: Option<(String, String, String)>,
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

fn views(state: &AppState, items: &[Notification]) -> Vec<NotificationView> {
    items
        .iter()
        .map(|n| {
            let actor = n.actor.to_string();
            let (did, object, result, thumb) = match &n.kind {
                NotificationKind::NewMeme { meme_id, thumb_key } => {
                    let link = format!("/memes/{meme_id}");
                    let thumb = (link.clone(), state.media_url(thumb_key), format!("New meme by {actor}"));
                    ("posted", Some((link, "a new meme")), None, Some(thumb))
                }
                NotificationKind::Comment { meme_id, comment_id } => {
                    ("commented on", Some((format!("/memes/{meme_id}#comment-{comment_id}"), "your meme")), None, None)
                }
                NotificationKind::Remix { meme_id, parent_id, thumb_key } => {
                    let link = format!("/memes/{meme_id}");
                    let thumb = (link.clone(), state.media_url(thumb_key), format!("{actor}'s remix"));
                    let parent = format!("/memes/{parent_id}");
                    ("remixed", Some((parent, "your meme")), Some((link, "see the remix")), Some(thumb))
                }
                NotificationKind::Subscriber => ("subscribed to you", None, None, None),
            };
            NotificationView { actor, did, object, result, thumb, when: human_date(n.created_at), read: n.read }
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
    // The inbox also holds what others did to my memes: not news of the creators I follow.
    let news: Vec<Notification> =
        feed.items.into_iter().filter(|n| matches!(n.kind, NotificationKind::NewMeme { .. })).collect();
    render(&SubscriptionsPage {
        page,
        creators: following.items.iter().map(|f| f.creator.to_string()).collect(),
        feed: views(&state, &news),
    })
}

async fn notifications(
    State(state): State<AppState>,
    RequireUser(user): RequireUser,
    mut page: PageContext,
    Query(q): Query<CursorQuery>,
) -> Result<Response, AppError> {
    let after = state.cursors.verify_opt(q.cursor.as_deref())?;
    let (list, unread) =
        services::notifications::open_inbox(state.services(), &user.actor(), PageRequest::after(after, 50)).await?;
    // Opening the inbox read everything in it: the header says so on this page already.
    page.unread_badge = None;
    render(&NotificationsPage {
        page,
        notifications: views(&state, &list.items),
        unread,
        next: list.next.map(|c| state.cursors.sign(&c)),
    })
}

/// Kept for pages rendered before opening the inbox read it (they had a "Mark all as read" button).
async fn mark_read(
    State(state): State<AppState>,
    RequireUser(user): RequireUser,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, AppError> {
    state.storage.notifications.mark_all_read(user.id).await?;
    state.badges.all_read(user.id);
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
