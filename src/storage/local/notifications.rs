use async_trait::async_trait;
use rusqlite::params;
use time::OffsetDateTime;

use super::db::{Db, corrupt, id_cursor, page_of, sql_error, timestamp};
use crate::domain::{Delivery, DeliveryChannel, Email, EmailRecipient, MemeId, Notification, UserId, Username};
use crate::storage::{NotificationStore, Outbox, Page, PageRequest, StorageResult};

pub struct SqliteNotifications {
    db: Db,
}

impl SqliteNotifications {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

#[async_trait]
impl NotificationStore for SqliteNotifications {
    async fn list(&self, recipient: UserId, page: PageRequest) -> StorageResult<Page<Notification>> {
        // Meme ids are time-ordered, so "newest first" is meme id descending.
        let after = id_cursor::<MemeId>(&page.after)?.unwrap_or_else(|| "~".to_owned());
        let limit = page.limit;
        self.db
            .read(move |conn| {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT meme_id, creator, thumb_key, created_at, read FROM notifications
                         WHERE recipient_id = ?1 AND meme_id < ?2 ORDER BY meme_id DESC LIMIT ?3",
                    )
                    .map_err(sql_error)?;
                let rows = stmt
                    .query_map(params![recipient.to_string(), after, (limit + 1) as i64], |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, String>(2)?,
                            row.get::<_, i64>(3)?,
                            row.get::<_, bool>(4)?,
                        ))
                    })
                    .map_err(sql_error)?;
                let mut items = Vec::new();
                for row in rows {
                    let (meme_id, creator, thumb_key, created_at, read) = row.map_err(sql_error)?;
                    items.push(Notification {
                        recipient_id: recipient,
                        meme_id: MemeId::parse(&meme_id).map_err(|e| corrupt("notification", e))?,
                        creator: Username::parse(&creator).map_err(|e| corrupt("notification", e))?,
                        thumb_key,
                        created_at: timestamp(created_at)?,
                        read,
                    });
                }
                Ok(page_of(items, limit, |n| n.meme_id.to_string()))
            })
            .await
    }

    async fn unread_count(&self, recipient: UserId) -> StorageResult<u64> {
        self.db
            .read(move |conn| {
                conn.prepare_cached("SELECT COUNT(*) FROM notifications WHERE recipient_id = ?1 AND read = 0")
                    .and_then(|mut s| s.query_row([recipient.to_string()], |r| r.get::<_, i64>(0)))
                    .map(|n| n.max(0) as u64)
                    .map_err(sql_error)
            })
            .await
    }

    async fn mark_all_read(&self, recipient: UserId) -> StorageResult<()> {
        self.db
            .write(move |conn| {
                conn.execute(
                    "UPDATE notifications SET read = 1 WHERE recipient_id = ?1 AND read = 0",
                    [recipient.to_string()],
                )
                .map_err(sql_error)?;
                Ok(())
            })
            .await
    }
}

#[async_trait]
impl Outbox for SqliteNotifications {
    async fn claim(&self, now: OffsetDateTime, lease: time::Duration, limit: usize) -> StorageResult<Vec<Delivery>> {
        self.db
            .write(move |conn| {
                let tx = conn.transaction().map_err(sql_error)?;
                // A delivery whose subscription ended meanwhile is dropped rather than sent.
                tx.execute(
                    "DELETE FROM outbox WHERE due_at <= ?1 AND NOT EXISTS (SELECT 1 FROM subscriptions s
                       WHERE s.creator_id = outbox.creator_id AND s.subscriber_id = outbox.recipient_id)",
                    [now.unix_timestamp()],
                )
                .map_err(sql_error)?;
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT o.id, o.meme_id, c.username, r.username, r.email, s.token, o.attempts
                         FROM outbox o
                         JOIN users c ON c.id = o.creator_id
                         JOIN users r ON r.id = o.recipient_id
                         JOIN subscriptions s ON s.creator_id = o.creator_id AND s.subscriber_id = o.recipient_id
                         WHERE o.due_at <= ?1 ORDER BY o.due_at LIMIT ?2",
                    )
                    .map_err(sql_error)?;
                let rows = stmt
                    .query_map(params![now.unix_timestamp(), limit as i64], |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, String>(2)?,
                            row.get::<_, String>(3)?,
                            row.get::<_, String>(4)?,
                            row.get::<_, String>(5)?,
                            row.get::<_, u32>(6)?,
                        ))
                    })
                    .map_err(sql_error)?;
                let mut claimed = Vec::new();
                for row in rows {
                    let (id, meme_id, creator, recipient, email, token, attempts) = row.map_err(sql_error)?;
                    claimed.push(Delivery {
                        id,
                        meme_id: MemeId::parse(&meme_id).map_err(|e| corrupt("outbox", e))?,
                        creator: Username::parse(&creator).map_err(|e| corrupt("outbox", e))?,
                        attempts,
                        channel: DeliveryChannel::Email(EmailRecipient {
                            recipient: Username::parse(&recipient).map_err(|e| corrupt("outbox", e))?,
                            email: Email::parse(&email).map_err(|e| corrupt("outbox", e))?,
                            unsubscribe_token: token,
                        }),
                    });
                }
                drop(stmt);
                let leased_until = (now + lease).unix_timestamp();
                for delivery in &claimed {
                    tx.execute(
                        "UPDATE outbox SET due_at = ?2, attempts = attempts + 1 WHERE id = ?1",
                        params![delivery.id, leased_until],
                    )
                    .map_err(sql_error)?;
                }
                tx.commit().map_err(sql_error)?;
                Ok(claimed)
            })
            .await
    }

    async fn complete(&self, delivery_id: &str) -> StorageResult<()> {
        let id = delivery_id.to_owned();
        self.db
            .write(move |conn| {
                conn.execute("DELETE FROM outbox WHERE id = ?1", [id]).map_err(sql_error)?;
                Ok(())
            })
            .await
    }

    async fn retry_at(&self, delivery_id: &str, at: OffsetDateTime) -> StorageResult<()> {
        let id = delivery_id.to_owned();
        self.db
            .write(move |conn| {
                conn.execute("UPDATE outbox SET due_at = ?2 WHERE id = ?1", params![id, at.unix_timestamp()])
                    .map_err(sql_error)?;
                Ok(())
            })
            .await
    }
}
