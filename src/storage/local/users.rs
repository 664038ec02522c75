use async_trait::async_trait;
use rusqlite::{OptionalExtension, Row, params};
use time::OffsetDateTime;

use super::db::{Db, sql_error, unique_violation};
use crate::domain::{Email, User, UserId, Username};
use crate::storage::{StorageError, StorageResult, UserStore};

pub struct SqliteUsers {
    db: Db,
}

impl SqliteUsers {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    async fn find_one(&self, column: &'static str, value: String) -> StorageResult<Option<User>> {
        self.db
            .read(move |conn| {
                // `column` is one of three literals chosen below, never input.
                let sql =
                    format!("SELECT id, username, email, password_hash, created_at FROM users WHERE {column} = ?1");
                conn.prepare_cached(&sql)
                    .and_then(|mut stmt| stmt.query_row([value], user_from_row).optional())
                    .map_err(sql_error)?
                    .transpose()
            })
            .await
    }
}

fn user_from_row(row: &Row<'_>) -> rusqlite::Result<StorageResult<User>> {
    let id: String = row.get(0)?;
    let username: String = row.get(1)?;
    let email: String = row.get(2)?;
    let created_at: i64 = row.get(4)?;
    let parsed = (|| {
        Ok(User {
            id: UserId::parse(&id)?,
            username: Username::parse(&username)?,
            email: Email::parse(&email)?,
            password_hash: row.get(3)?,
            created_at: OffsetDateTime::from_unix_timestamp(created_at)?,
        })
    })();
    Ok(parsed.map_err(|e: anyhow::Error| StorageError::Other(e.context(format!("corrupt user row {id}")))))
}

#[async_trait]
impl UserStore for SqliteUsers {
    #[tracing::instrument(skip_all, fields(username = %user.username))]
    async fn create(&self, user: &User) -> StorageResult<()> {
        let user = user.clone();
        self.db
            .write(move |conn| {
                conn.prepare_cached(
                    "INSERT INTO users (id, username, email, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .and_then(|mut stmt| {
                    stmt.execute(params![
                        user.id.to_string(),
                        user.username.as_str(),
                        user.email.as_str(),
                        user.password_hash,
                        user.created_at.unix_timestamp(),
                    ])
                })
                .map_err(|e| match unique_violation(&e).as_deref() {
                    Some("username") => StorageError::Conflict("username"),
                    Some("email") => StorageError::Conflict("email"),
                    _ => sql_error(e),
                })?;
                Ok(())
            })
            .await
    }

    async fn get(&self, id: UserId) -> StorageResult<Option<User>> {
        self.find_one("id", id.to_string()).await
    }

    async fn find_by_username(&self, username: &Username) -> StorageResult<Option<User>> {
        self.find_one("username", username.as_str().to_owned()).await
    }

    async fn find_by_email(&self, email: &Email) -> StorageResult<Option<User>> {
        self.find_one("email", email.as_str().to_owned()).await
    }
}
