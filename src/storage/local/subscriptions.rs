use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use time::OffsetDateTime;

use super::db::{Db, corrupt, id_cursor, page_of, sql_error};
use crate::domain::{Notice, User, UserId, Username};
use crate::storage::{
    Following, Page, PageRequest, StorageError, StorageResult, SubscriberRef, SubscriptionState, SubscriptionStore,
};

pub struct SqliteSubscriptions {
    db: Db,
}

impl SqliteSubscriptions {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

/// 128 random bits: the unsubscribe link must not be guessable.
#[async_trait]
impl SubscriptionStore for SqliteSubscriptions {
    async fn subscribe_with_notice(
        &self,
        creator: &User,
        subscriber: &User,
        notice: Option<&Notice>,
    ) -> StorageResult<bool> {
        let (creator, subscriber) = (creator.id.to_string(), subscriber.id.to_string());
        let notice = notice.cloned();
        self.db
            .write(move |conn| {
                let tx = conn.transaction().map_err(sql_error)?;
                let added = tx
                    .execute(
                        "INSERT INTO subscriptions (creator_id, subscriber_id, token, created_at) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (creator_id, subscriber_id) DO NOTHING",
                        params![creator, subscriber, crate::storage::new_unsubscribe_token(), OffsetDateTime::now_utc().unix_timestamp()],
                    )
                    .map_err(sql_error)?;
                if added == 1 {
                    tx.execute("UPDATE users SET subscriber_count = subscriber_count + 1 WHERE id = ?1", [&creator])
                        .map_err(sql_error)?;
                    if let Some(notice) = &notice {
                        super::notifications::write_notice(&tx, notice)?;
                    }
                }
                tx.commit().map_err(sql_error)?;
                Ok(added == 1)
            })
            .await
    }

    async fn unsubscribe(&self, creator: &User, subscriber: UserId) -> StorageResult<bool> {
        let creator = creator.id;
        self.db
            .write(move |conn| {
                let tx = conn.transaction().map_err(sql_error)?;
                let removed = tx
                    .execute(
                        "DELETE FROM subscriptions WHERE creator_id = ?1 AND subscriber_id = ?2",
                        [creator.to_string(), subscriber.to_string()],
                    )
                    .map_err(sql_error)?;
                if removed == 1 {
                    tx.execute(
                        "UPDATE users SET subscriber_count = MAX(subscriber_count - 1, 0) WHERE id = ?1",
                        [creator.to_string()],
                    )
                    .map_err(sql_error)?;
                }
                tx.commit().map_err(sql_error)?;
                Ok(removed == 1)
            })
            .await
    }

    async fn unsubscribe_by_token(&self, token: &str) -> StorageResult<Option<Username>> {
        let token = token.to_owned();
        self.db
            .write(move |conn| {
                let tx = conn.transaction().map_err(sql_error)?;
                let found: Option<(String, String)> = tx
                    .query_row(
                        "SELECT s.creator_id, u.username FROM subscriptions s JOIN users u ON u.id = s.creator_id
                         WHERE s.token = ?1",
                        [&token],
                        |row| Ok((row.get(0)?, row.get(1)?)),
                    )
                    .optional()
                    .map_err(sql_error)?;
                let Some((creator_id, creator)) = found else { return Ok(None) };
                tx.execute("DELETE FROM subscriptions WHERE token = ?1", [&token]).map_err(sql_error)?;
                tx.execute(
                    "UPDATE users SET subscriber_count = MAX(subscriber_count - 1, 0) WHERE id = ?1",
                    [&creator_id],
                )
                .map_err(sql_error)?;
                tx.commit().map_err(sql_error)?;
                Username::parse(&creator).map(Some).map_err(|e| corrupt("user", e))
            })
            .await
    }

    /// The local backend sends its emails itself: there is nothing to confirm.
    async fn state(&self, creator: &User, subscriber: UserId) -> StorageResult<SubscriptionState> {
        let creator = creator.id;
        let exists = self
            .db
            .read(move |conn| {
                conn.prepare_cached("SELECT 1 FROM subscriptions WHERE creator_id = ?1 AND subscriber_id = ?2")
                    .and_then(|mut s| s.exists([creator.to_string(), subscriber.to_string()]))
                    .map_err(sql_error)
            })
            .await?;
        Ok(if exists { SubscriptionState::Subscribed } else { SubscriptionState::NotSubscribed })
    }

    async fn subscriber_count(&self, creator: &User) -> StorageResult<u64> {
        let creator = creator.id;
        self.db
            .read(move |conn| {
                conn.prepare_cached("SELECT subscriber_count FROM users WHERE id = ?1")
                    .and_then(|mut s| s.query_row([creator.to_string()], |r| r.get::<_, i64>(0)).optional())
                    .map_err(sql_error)?
                    .map(|n| n.max(0) as u64)
                    .ok_or(StorageError::NotFound)
            })
            .await
    }

    async fn following(&self, subscriber: UserId, page: PageRequest) -> StorageResult<Page<Following>> {
        // Cursor: "<created_at>:<creator id>" of the last row.
        let after = match &page.after {
            None => (i64::MAX, String::new()),
            Some(c) => {
                let (at, id) = c.0.split_once(':').ok_or(StorageError::InvalidCursor)?;
                let at: i64 = at.parse().map_err(|_| StorageError::InvalidCursor)?;
                UserId::parse(id).map_err(|_| StorageError::InvalidCursor)?;
                (at, id.to_owned())
            }
        };
        let limit = page.limit;
        self.db
            .read(move |conn| {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT s.creator_id, u.username, s.created_at FROM subscriptions s JOIN users u ON u.id = s.creator_id
                         WHERE s.subscriber_id = ?1 AND (s.created_at < ?2 OR (s.created_at = ?2 AND s.creator_id < ?3))
                         ORDER BY s.created_at DESC, s.creator_id DESC LIMIT ?4",
                    )
                    .map_err(sql_error)?;
                let rows = stmt
                    .query_map(params![subscriber.to_string(), after.0, after.1, (limit + 1) as i64], |row| {
                        Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get::<_, i64>(2)?))
                    })
                    .map_err(sql_error)?;
                let mut items = Vec::new();
                for row in rows {
                    let (id, name, at) = row.map_err(sql_error)?;
                    let following = Following {
                        creator_id: UserId::parse(&id).map_err(|e| corrupt("subscription", e))?,
                        creator: Username::parse(&name).map_err(|e| corrupt("subscription", e))?,
                    };
                    items.push((following, at));
                }
                let page = page_of(items, limit, |(f, at)| format!("{at}:{}", f.creator_id));
                Ok(Page { items: page.items.into_iter().map(|(f, _)| f).collect(), next: page.next })
            })
            .await
    }

    async fn subscribers(&self, creator: &User, page: PageRequest) -> StorageResult<Page<SubscriberRef>> {
        let creator = creator.id;
        let after = id_cursor::<UserId>(&page.after)?.unwrap_or_default();
        let limit = page.limit;
        self.db
            .read(move |conn| {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT subscriber_id, token FROM subscriptions
                         WHERE creator_id = ?1 AND subscriber_id > ?2 ORDER BY subscriber_id LIMIT ?3",
                    )
                    .map_err(sql_error)?;
                let rows = stmt
                    .query_map(params![creator.to_string(), after, (limit + 1) as i64], |row| {
                        Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
                    })
                    .map_err(sql_error)?;
                let mut items = Vec::new();
                for row in rows {
                    let (id, token) = row.map_err(sql_error)?;
                    let id = UserId::parse(&id).map_err(|e| corrupt("subscription", e))?;
                    items.push(SubscriberRef { id, unsubscribe_token: token });
                }
                Ok(page_of(items, limit, |s| s.id.to_string()))
            })
            .await
    }
}
