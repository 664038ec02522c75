//! Deleting an account in SQLite: one transaction, so it is all or nothing. Its memes are gone
//! by then (the service deletes them one by one, which queues their media's removal).

use async_trait::async_trait;
use rusqlite::params;

use super::db::{Db, blob_key, sql_error};
use crate::domain::User;
use crate::storage::{AccountStore, BlobKey, StorageResult};

pub struct SqliteAccounts {
    db: Db,
}

impl SqliteAccounts {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

#[async_trait]
impl AccountStore for SqliteAccounts {
    #[tracing::instrument(skip_all, fields(username = %user.username))]
    async fn delete_account(&self, user: &User) -> StorageResult<Vec<BlobKey>> {
        let id = user.id.to_string();
        self.db
            .write(move |conn| {
                let tx = conn.transaction().map_err(sql_error)?;
                // Each meme loses one comment per comment of theirs on it.
                tx.execute(
                    "UPDATE memes SET comment_count = MAX(comment_count - (
                         SELECT COUNT(*) FROM comments WHERE comments.meme_id = memes.id AND author_id = ?1), 0)
                     WHERE id IN (SELECT meme_id FROM comments WHERE author_id = ?1)",
                    [&id],
                )
                .map_err(sql_error)?;
                tx.execute("DELETE FROM comments WHERE author_id = ?1", [&id]).map_err(sql_error)?;
                tx.execute(
                    "UPDATE users SET subscriber_count = MAX(subscriber_count - 1, 0)
                     WHERE id IN (SELECT creator_id FROM subscriptions WHERE subscriber_id = ?1)",
                    [&id],
                )
                .map_err(sql_error)?;
                tx.execute("DELETE FROM subscriptions WHERE subscriber_id = ?1 OR creator_id = ?1", [&id])
                    .map_err(sql_error)?;
                tx.execute("DELETE FROM notifications WHERE recipient_id = ?1", [&id]).map_err(sql_error)?;
                let mut media = Vec::new();
                {
                    let mut stmt = tx
                        .prepare("DELETE FROM shared_templates WHERE owner_id = ?1 RETURNING original_key, thumb_key")
                        .map_err(sql_error)?;
                    let rows = stmt
                        .query_map(params![id], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))
                        .map_err(sql_error)?;
                    for row in rows {
                        let (original, thumb) = row.map_err(sql_error)?;
                        media.push(blob_key("template", &original)?);
                        media.push(blob_key("template", &thumb)?);
                    }
                }
                // API tokens and one-time tokens go with the account (ON DELETE CASCADE).
                tx.execute("DELETE FROM users WHERE id = ?1", [&id]).map_err(sql_error)?;
                tx.commit().map_err(sql_error)?;
                Ok(media)
            })
            .await
    }
}
