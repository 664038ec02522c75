//! Inboxes on SQLite: `notifications` holds the new memes of followed creators (one row per
//! meme and subscriber, fanned out by the delivery worker), `creator_notices` what others did to
//! a creator (one row per event, written by the stores of comments, memes and subscriptions in
//! their own transactions through [`write_notice`]). A list reads both in one statement, by
//! position: a meme id, or an id and `#kind`, so both sort by time.

use async_trait::async_trait;
use rusqlite::{Connection, Row, Transaction, params};

use super::db::{Db, corrupt, page_of, sql_error, timestamp};
use crate::domain::{
    CommentId, MemeId, MemePublished, Notice, Notification, NotificationKind, UserId, Username, is_inbox_position,
};
use crate::storage::{NotificationStore, Page, PageRequest, StorageError, StorageResult, UNREAD_SHOWN};

pub struct SqliteNotifications {
    db: Db,
}

impl SqliteNotifications {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

/// Writes `notice` in the caller's transaction, unless its event was told already or its
/// recipient is gone (then nothing).
pub fn write_notice(tx: &Transaction<'_>, notice: &Notice) -> StorageResult<()> {
    let (meme_id, parent_id, comment_id, thumb_key) = match &notice.kind {
        NotificationKind::Comment { meme_id, comment_id } => (Some(*meme_id), None, Some(*comment_id), None),
        NotificationKind::Remix { meme_id, parent_id, thumb_key } => {
            (Some(*meme_id), Some(*parent_id), None, Some(thumb_key.as_str()))
        }
        NotificationKind::Subscriber => (None, None, None, None),
        NotificationKind::NewMeme { .. } => {
            return Err(StorageError::Other(anyhow::anyhow!("a new meme is fanned out, not a creator's notice")));
        }
    };
    tx.prepare_cached(
        "INSERT OR IGNORE INTO creator_notices
         (recipient_id, event, position, kind, actor_id, actor, meme_id, parent_id, comment_id, thumb_key, created_at)
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11 FROM users WHERE id = ?1",
    )
    .and_then(|mut insert| {
        insert.execute(params![
            notice.recipient_id.to_string(),
            notice.event(),
            notice.position,
            notice.kind.name(),
            notice.actor_id.to_string(),
            notice.actor.as_str(),
            meme_id.map(|m| m.to_string()),
            parent_id.map(|m| m.to_string()),
            comment_id.map(|c| c.to_string()),
            thumb_key,
            notice.created_at.unix_timestamp(),
        ])
    })
    .map_err(sql_error)?;
    Ok(())
}

/// Both kinds of row as one list, newest first (each part reads at most `?3` from its index).
const INBOX: &str = "SELECT * FROM (
       SELECT * FROM (SELECT meme_id AS position, 'meme', creator, meme_id, NULL, NULL, thumb_key, created_at, read
                      FROM notifications WHERE recipient_id = ?1 AND meme_id < ?2 ORDER BY meme_id DESC LIMIT ?3)
       UNION ALL
       SELECT * FROM (SELECT position, kind, actor, meme_id, parent_id, comment_id, thumb_key, created_at, read
                      FROM creator_notices WHERE recipient_id = ?1 AND position < ?2 ORDER BY position DESC LIMIT ?3)
     ) ORDER BY position DESC LIMIT ?3";

fn notification_from_row(recipient: UserId, row: &Row<'_>) -> rusqlite::Result<StorageResult<Notification>> {
    let position: String = row.get(0)?;
    let kind: String = row.get(1)?;
    let actor: String = row.get(2)?;
    let meme_id: Option<String> = row.get(3)?;
    let parent_id: Option<String> = row.get(4)?;
    let comment_id: Option<String> = row.get(5)?;
    let thumb_key: Option<String> = row.get(6)?;
    let (created_at, read): (i64, bool) = (row.get(7)?, row.get(8)?);
    Ok((|| {
        let bad = |e: &dyn std::fmt::Display| corrupt("notification", e);
        let meme = |id: Option<String>| -> StorageResult<MemeId> {
            MemeId::parse(id.as_deref().unwrap_or_default()).map_err(|e| bad(&e))
        };
        let kind = match kind.as_str() {
            "meme" => NotificationKind::NewMeme { meme_id: meme(meme_id)?, thumb_key: thumb_key.unwrap_or_default() },
            "comment" => NotificationKind::Comment {
                meme_id: meme(meme_id)?,
                comment_id: CommentId::parse(comment_id.as_deref().unwrap_or_default()).map_err(|e| bad(&e))?,
            },
            "remix" => NotificationKind::Remix {
                meme_id: meme(meme_id)?,
                parent_id: meme(parent_id)?,
                thumb_key: thumb_key.unwrap_or_default(),
            },
            "subscriber" => NotificationKind::Subscriber,
            other => return Err(bad(&format!("unknown kind {other:?}"))),
        };
        Ok(Notification {
            recipient_id: recipient,
            actor: Username::parse(&actor).map_err(|e| bad(&e))?,
            kind,
            created_at: timestamp(created_at)?,
            read,
            position,
        })
    })())
}

fn list(conn: &Connection, recipient: UserId, after: &str, limit: usize) -> StorageResult<Page<Notification>> {
    let mut stmt = conn.prepare_cached(INBOX).map_err(sql_error)?;
    let rows = stmt
        .query_map(params![recipient.to_string(), after, (limit + 1) as i64], |row| {
            notification_from_row(recipient, row)
        })
        .map_err(sql_error)?;
    let items = rows.map(|row| row.map_err(sql_error)?).collect::<StorageResult<Vec<_>>>()?;
    Ok(page_of(items, limit, |n| n.position.clone()))
}

/// Counts at most `UNREAD_SHOWN + 1` of each kind: the badge on every page costs the same
/// however much is unread.
fn unread(conn: &Connection, recipient: UserId) -> StorageResult<u64> {
    conn.prepare_cached(
        "SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM notifications WHERE recipient_id = ?1 AND read = 0 LIMIT ?2))
              + (SELECT COUNT(*) FROM (SELECT 1 FROM creator_notices WHERE recipient_id = ?1 AND read = 0 LIMIT ?2))",
    )
    .and_then(|mut s| s.query_row(params![recipient.to_string(), UNREAD_SHOWN + 1], |r| r.get::<_, i64>(0)))
    .map(|n| n.max(0) as u64)
    .map_err(sql_error)
}

fn mark_read(conn: &Connection, recipient: UserId) -> StorageResult<()> {
    for table in ["notifications", "creator_notices"] {
        // `table` is one of two literals.
        conn.prepare_cached(&format!("UPDATE {table} SET read = 1 WHERE recipient_id = ?1 AND read = 0"))
            .and_then(|mut s| s.execute([recipient.to_string()]))
            .map_err(sql_error)?;
    }
    Ok(())
}

/// Where a page starts: after the cursor's position, or from the newest ("~" sorts after every
/// id).
fn start(page: &PageRequest) -> StorageResult<String> {
    match &page.after {
        None => Ok("~".to_owned()),
        Some(cursor) if is_inbox_position(&cursor.0) => Ok(cursor.0.clone()),
        Some(_) => Err(StorageError::InvalidCursor),
    }
}

#[async_trait]
impl NotificationStore for SqliteNotifications {
    async fn list(&self, recipient: UserId, page: PageRequest) -> StorageResult<Page<Notification>> {
        let after = start(&page)?;
        self.db.read(move |conn| list(conn, recipient, &after, page.limit)).await
    }

    async fn unread_count(&self, recipient: UserId) -> StorageResult<u64> {
        self.db.read(move |conn| unread(conn, recipient)).await
    }

    async fn mark_all_read(&self, recipient: UserId) -> StorageResult<()> {
        self.db.write(move |conn| mark_read(conn, recipient)).await
    }

    async fn open_inbox(&self, recipient: UserId, page: PageRequest) -> StorageResult<(Page<Notification>, u64)> {
        let after = start(&page)?;
        self.db
            .write(move |conn| {
                let tx = conn.transaction().map_err(sql_error)?;
                let listed = list(&tx, recipient, &after, page.limit)?;
                let unread = unread(&tx, recipient)?;
                mark_read(&tx, recipient)?;
                tx.commit().map_err(sql_error)?;
                Ok((listed, unread))
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
