//! Personal API tokens in SQLite (`migrations/0004_api_tokens.sql`).

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Row, params};

use super::db::{Db, corrupt, sql_error, timestamp};
use crate::domain::{TokenId, UserId};
use crate::storage::{ApiToken, ApiTokenStore, StorageError, StorageResult};

pub struct SqliteApiTokens {
    db: Db,
}

impl SqliteApiTokens {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

fn token_from_row(row: &Row<'_>) -> rusqlite::Result<StorageResult<ApiToken>> {
    let (id, user_id, name, created_at): (String, String, String, i64) =
        (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?);
    Ok((|| {
        Ok(ApiToken {
            id: TokenId::parse(&id).map_err(|e| corrupt("api token", e))?,
            user_id: UserId::parse(&user_id).map_err(|e| corrupt("api token", e))?,
            name,
            created_at: timestamp(created_at)?,
        })
    })())
}

#[async_trait]
impl ApiTokenStore for SqliteApiTokens {
    async fn create(&self, token: &ApiToken, secret_hash: &str) -> StorageResult<()> {
        let (token, secret_hash) = (token.clone(), secret_hash.to_owned());
        self.db
            .write(move |conn| {
                conn.execute(
                    "INSERT INTO api_tokens (id, secret_hash, user_id, name, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        token.id.to_string(),
                        secret_hash,
                        token.user_id.to_string(),
                        token.name,
                        token.created_at.unix_timestamp()
                    ],
                )
                .map_err(|e| match super::db::unique_violation(&e) {
                    Some(_) => StorageError::Conflict("token"),
                    None => sql_error(e),
                })?;
                Ok(())
            })
            .await
    }

    async fn list(&self, user: UserId) -> StorageResult<Vec<ApiToken>> {
        self.db
            .read(move |conn| {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT id, user_id, name, created_at FROM api_tokens WHERE user_id = ?1 ORDER BY id DESC",
                    )
                    .map_err(sql_error)?;
                let rows = stmt.query_map([user.to_string()], token_from_row).map_err(sql_error)?;
                rows.map(|r| r.map_err(sql_error)?).collect()
            })
            .await
    }

    async fn revoke(&self, user: UserId, id: TokenId) -> StorageResult<bool> {
        self.db
            .write(move |conn| {
                let deleted = conn
                    .execute(
                        "DELETE FROM api_tokens WHERE id = ?1 AND user_id = ?2",
                        params![id.to_string(), user.to_string()],
                    )
                    .map_err(sql_error)?;
                Ok(deleted > 0)
            })
            .await
    }

    async fn find(&self, secret_hash: &str) -> StorageResult<Option<ApiToken>> {
        let secret_hash = secret_hash.to_owned();
        self.db
            .read(move |conn| {
                conn.prepare_cached("SELECT id, user_id, name, created_at FROM api_tokens WHERE secret_hash = ?1")
                    .and_then(|mut s| s.query_row([secret_hash], token_from_row).optional())
                    .map_err(sql_error)?
                    .transpose()
            })
            .await
    }
}
