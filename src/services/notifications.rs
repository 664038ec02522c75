//! The inbox: opening it (which reads everything in it), and the unread count the header shows
//! on every signed-in page.

use std::time::{Duration, Instant};

use super::requests::Actor;
use super::{Context, ServiceError};
use crate::domain::{Notification, UserId};
use crate::storage::{Page, PageRequest, Storage, UNREAD_SHOWN};

/// A page of the inbox with the unread count before it was opened; everything is read now.
pub async fn open_inbox(
    cx: Context<'_>,
    actor: &Actor,
    page: PageRequest,
) -> Result<(Page<Notification>, u64), ServiceError> {
    let opened = cx.storage.notifications.open_inbox(actor.id, page).await?;
    cx.badges.all_read(actor.id);
    Ok(opened)
}

/// The header's badge for `user`: `None` when nothing is unread, "99+" past [`UNREAD_SHOWN`].
/// A failed read shows no badge (the page's own reads decide whether it can be served).
pub async fn unread_badge(cx: Context<'_>, user: UserId) -> Option<String> {
    match cx.badges.count(cx.storage, user).await {
        0 => None,
        n if n > UNREAD_SHOWN => Some(format!("{UNREAD_SHOWN}+")),
        n => Some(n.to_string()),
    }
}

/// Where the header's unread counts come from, chosen once per backend.
///
/// - Read on every page (local): a bounded count on SQLite (two index ranges of at most 100
///   entries), a few microseconds inline, exact at every moment.
/// - Remembered (aws): SPEC §7 allows a page three DynamoDB requests, and the busiest pages
///   use them all (the session, and the page's two), so the count is not read in the page's
///   request. Each instance keeps the counts of the users it served; one older than
///   `refresh_after` (or missing) is shown as it is and read again in the background, one
///   `GetItem` of the user item per user, instance and `refresh_after` at most. What this
///   instance does itself (a comment on a meme of someone whose count it keeps, that user
///   opening the inbox) changes the kept count at once; what other instances do shows within
///   `refresh_after` of the next page view. The first page a user sees on an instance shows no
///   badge yet.
pub struct UnreadBadges {
    remembered: Option<Remembered>,
}

struct Remembered {
    counts: moka::sync::Cache<UserId, Kept>,
    refresh_after: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Kept {
    count: u64,
    read_at: Instant,
}

/// Users whose counts an instance keeps (an entry is a few dozen bytes).
const KEPT_USERS: u64 = 100_000;

impl UnreadBadges {
    pub fn read_each_time() -> Self {
        Self { remembered: None }
    }

    pub fn remembered(refresh_after: Duration) -> Self {
        let counts = moka::sync::Cache::builder().max_capacity(KEPT_USERS).build();
        Self { remembered: Some(Remembered { counts, refresh_after }) }
    }

    async fn count(&self, storage: &Storage, user: UserId) -> u64 {
        let Some(remembered) = &self.remembered else {
            return storage.notifications.unread_count(user).await.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "reading the unread count failed");
                0
            });
        };
        let kept = remembered.counts.get(&user);
        if kept.is_some_and(|k| k.read_at.elapsed() < remembered.refresh_after) {
            return kept.map_or(0, |k| k.count);
        }
        // Marked fresh now, so the pages until the read is back start no second read.
        let shown = kept.map_or(0, |k| k.count);
        remembered.counts.insert(user, Kept { count: shown, read_at: Instant::now() });
        let (counts, notifications) = (remembered.counts.clone(), storage.notifications.clone());
        tokio::spawn(async move {
            match notifications.unread_count(user).await {
                Ok(count) => counts.insert(user, Kept { count, read_at: Instant::now() }),
                Err(e) => tracing::warn!(error = %e, "reading the unread count failed"),
            }
        });
        shown
    }

    /// `recipient` has one more unread notification (written by this instance).
    pub fn told(&self, recipient: UserId) {
        if let Some(remembered) = &self.remembered
            && let Some(kept) = remembered.counts.get(&recipient)
        {
            remembered.counts.insert(recipient, Kept { count: kept.count + 1, ..kept });
        }
    }

    /// `user` opened their inbox: nothing is unread.
    pub fn all_read(&self, user: UserId) {
        if let Some(remembered) = &self.remembered {
            remembered.counts.insert(user, Kept { count: 0, read_at: Instant::now() });
        }
    }
}
