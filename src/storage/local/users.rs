use async_trait::async_trait;
use rusqlite::{OptionalExtension, Row, params};
use time::OffsetDateTime;

use super::db::{Db, sql_error, unique_violation};
use crate::domain::{Email, User, UserId, Username};
use crate::storage::views::ProfileQuery;
use crate::storage::{Profile, StorageError, StorageResult, UserStore};

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
                let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE {column} = ?1");
                conn.prepare_cached(&sql)
                    .and_then(|mut stmt| stmt.query_row([value], user_from_row).optional())
                    .map_err(sql_error)?
                    .transpose()
            })
            .await
    }
}

const USER_COLUMNS: &str = "id, username, email, password_hash, created_at, email_verified, email_suppressed";

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
            email_verified: row.get(5)?,
            email_suppressed: row.get(6)?,
        })
    })();
    Ok(parsed.map_err(|e: anyhow::Error| StorageError::Other(e.context(format!("corrupt user row {id}")))))
}

#[async_trait]
impl ProfileQuery for SqliteUsers {
    async fn profile(&self, creator: &Username, viewer: Option<UserId>) -> StorageResult<Option<Profile>> {
        let (creator, viewer) = (creator.as_str().to_owned(), viewer.map(|v| v.to_string()).unwrap_or_default());
        self.db
            .read(move |conn| {
                let sql = format!(
                    "SELECT {USER_COLUMNS}, subscriber_count, \
                     EXISTS (SELECT 1 FROM subscriptions WHERE creator_id = users.id AND subscriber_id = ?2) \
                     FROM users WHERE username = ?1"
                );
                let profile = |row: &Row<'_>| {
                    let (subscribers, subscribed): (i64, bool) = (row.get(7)?, row.get(8)?);
                    Ok(user_from_row(row)?.map(|creator| Profile {
                        creator,
                        subscribers: subscribers.max(0) as u64,
                        viewer_subscribed: subscribed,
                    }))
                };
                conn.prepare_cached(&sql)
                    .and_then(|mut stmt| stmt.query_row(params![creator, viewer], profile).optional())
                    .map_err(sql_error)?
                    .transpose()
            })
            .await
    }
}

#[async_trait]
impl UserStore for SqliteUsers {
    #[tracing::instrument(skip_all, fields(username = %user.username))]
    async fn create(&self, user: &User) -> StorageResult<()> {
        let user = user.clone();
        self.db
            .write(move |conn| {
                conn.prepare_cached(
                    "INSERT INTO users (id, username, email, password_hash, created_at, email_verified, email_suppressed)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .and_then(|mut stmt| {
                    stmt.execute(params![
                        user.id.to_string(),
                        user.username.as_str(),
                        user.email.as_str(),
                        user.password_hash,
                        user.created_at.unix_timestamp(),
                        user.email_verified,
                        user.email_suppressed,
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

    async fn get_many(&self, ids: &[UserId]) -> StorageResult<Vec<User>> {
        let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
        self.db
            .read(move |conn| {
                let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1");
                let mut stmt = conn.prepare_cached(&sql).map_err(sql_error)?;
                let mut found = Vec::with_capacity(ids.len());
                for id in ids {
                    if let Some(user) = stmt.query_row([id], user_from_row).optional().map_err(sql_error)? {
                        found.push(user?);
                    }
                }
                Ok(found)
            })
            .await
    }

    async fn mark_email_verified(&self, id: UserId) -> StorageResult<()> {
        let changed = self
            .db
            .write(move |conn| {
                conn.execute("UPDATE users SET email_verified = 1 WHERE id = ?1", [id.to_string()]).map_err(sql_error)
            })
            .await?;
        if changed == 0 { Err(StorageError::NotFound) } else { Ok(()) }
    }

    async fn set_password_hash(&self, id: UserId, password_hash: &str) -> StorageResult<()> {
        let hash = password_hash.to_owned();
        let changed = self
            .db
            .write(move |conn| {
                conn.execute("UPDATE users SET password_hash = ?2 WHERE id = ?1", params![id.to_string(), hash])
                    .map_err(sql_error)
            })
            .await?;
        if changed == 0 { Err(StorageError::NotFound) } else { Ok(()) }
    }

    async fn change_email(&self, id: UserId, email: &Email) -> StorageResult<()> {
        let email = email.as_str().to_owned();
        let changed = self
            .db
            .write(move |conn| {
                conn.execute(
                    "UPDATE users SET email = ?2, email_verified = 1, email_suppressed = 0 WHERE id = ?1",
                    params![id.to_string(), email],
                )
                .map_err(|e| match unique_violation(&e) {
                    Some(_) => StorageError::Conflict("email"),
                    None => sql_error(e),
                })
            })
            .await?;
        if changed == 0 { Err(StorageError::NotFound) } else { Ok(()) }
    }

    async fn suppress_email(&self, email: &Email) -> StorageResult<bool> {
        let email = email.as_str().to_owned();
        let changed = self
            .db
            .write(move |conn| {
                conn.execute("UPDATE users SET email_suppressed = 1 WHERE email = ?1", [email]).map_err(sql_error)
            })
            .await?;
        Ok(changed > 0)
    }
}
