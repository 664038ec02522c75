use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use time::OffsetDateTime;

use super::db::{Db, sql_error, unique_violation};
use crate::domain::UserId;
use crate::storage::{SessionRecord, SessionStore, StorageError, StorageResult};

pub struct SqliteSessions {
    db: Db,
}

impl SqliteSessions {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

#[async_trait]
impl SessionStore for SqliteSessions {
    async fn insert(&self, record: &SessionRecord) -> StorageResult<()> {
        let record = record.clone();
        self.db
            .write(move |conn| {
                conn.prepare_cached("INSERT INTO sessions (id, data, expires_at, user_id) VALUES (?1, ?2, ?3, ?4)")
                    .and_then(|mut stmt| {
                        stmt.execute(params![
                            record.id,
                            record.data,
                            record.expires_at.unix_timestamp(),
                            record.user.map(|u| u.to_string())
                        ])
                    })
                    .map_err(|e| match unique_violation(&e) {
                        Some(_) => StorageError::Conflict("session id"),
                        None => sql_error(e),
                    })?;
                Ok(())
            })
            .await
    }

    async fn save(&self, record: &SessionRecord) -> StorageResult<()> {
        let record = record.clone();
        self.db
            .write(move |conn| {
                conn.prepare_cached(
                    "INSERT INTO sessions (id, data, expires_at, user_id) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at,
                       user_id = excluded.user_id",
                )
                .and_then(|mut stmt| {
                    stmt.execute(params![
                        record.id,
                        record.data,
                        record.expires_at.unix_timestamp(),
                        record.user.map(|u| u.to_string())
                    ])
                })
                .map_err(sql_error)?;
                Ok(())
            })
            .await
    }

    async fn load(&self, id: &str) -> StorageResult<Option<SessionRecord>> {
        let id = id.to_owned();
        let now = OffsetDateTime::now_utc().unix_timestamp();
        self.db
            .read(move |conn| {
                let found = conn
                    .prepare_cached("SELECT data, expires_at, user_id FROM sessions WHERE id = ?1 AND expires_at > ?2")
                    .and_then(|mut stmt| {
                        stmt.query_row(params![id, now], |row| {
                            Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, i64>(1)?, row.get::<_, Option<String>>(2)?))
                        })
                        .optional()
                    })
                    .map_err(sql_error)?;
                found
                    .map(|(data, expires_at, user)| {
                        Ok(SessionRecord {
                            id,
                            data,
                            expires_at: OffsetDateTime::from_unix_timestamp(expires_at)
                                .map_err(|e| StorageError::Other(e.into()))?,
                            user: user
                                .map(|u| UserId::parse(&u))
                                .transpose()
                                .map_err(|e| StorageError::Other(e.into()))?,
                        })
                    })
                    .transpose()
            })
            .await
    }

    async fn delete(&self, id: &str) -> StorageResult<()> {
        let id = id.to_owned();
        self.db
            .write(move |conn| {
                conn.prepare_cached("DELETE FROM sessions WHERE id = ?1")
                    .and_then(|mut stmt| stmt.execute([id]))
                    .map_err(sql_error)?;
                Ok(())
            })
            .await
    }

    async fn delete_for_user(&self, user: UserId, keep: Option<&str>) -> StorageResult<u64> {
        let keep = keep.unwrap_or_default().to_owned();
        self.db
            .write(move |conn| {
                let removed = conn
                    .execute("DELETE FROM sessions WHERE user_id = ?1 AND id != ?2", params![user.to_string(), keep])
                    .map_err(sql_error)?;
                Ok(removed as u64)
            })
            .await
    }

    async fn delete_expired(&self, now: OffsetDateTime) -> StorageResult<u64> {
        self.db
            .write(move |conn| {
                let removed = conn
                    .prepare_cached("DELETE FROM sessions WHERE expires_at <= ?1")
                    .and_then(|mut stmt| stmt.execute([now.unix_timestamp()]))
                    .map_err(sql_error)?;
                Ok(removed as u64)
            })
            .await
    }
}
