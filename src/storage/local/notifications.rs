use async_trait::async_trait;
use rusqlite::params;

use super::db::{Db, corrupt, id_cursor, page_of, sql_error, timestamp};
use crate::domain::{MemeId, MemePublished, Notification, UserId, Username};
use crate::storage::{NotificationStore, Page, PageRequest, StorageResult};

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

    async fn deliver(&self, meme: &MemePublished, recipients: &[UserId]) -> StorageResult<()> {
        let meme = meme.clone();
        let recipients: Vec<String> = recipients.iter().map(ToString::to_string).collect();
        self.db
            .write(move |conn| {
                let tx = conn.transaction().map_err(sql_error)?;
                {
                    // The meme may have been deleted since it was published: then nothing is added.
                    let mut insert = tx
                        .prepare_cached(
                            "INSERT OR IGNORE INTO notifications (recipient_id, meme_id, creator, thumb_key, created_at)
                             SELECT ?1, id, ?3, ?4, ?5 FROM memes WHERE id = ?2",
                        )
                        .map_err(sql_error)?;
                    for recipient in &recipients {
                        insert
                            .execute(params![
                                recipient,
                                meme.meme_id.to_string(),
                                meme.creator.as_str(),
                                meme.thumb_key,
                                meme.created_at
                            ])
                            .map_err(sql_error)?;
                    }
                }
                tx.commit().map_err(sql_error)
            })
            .await
    }
}
