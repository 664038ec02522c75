//! The delivery worker's storage on SQLite: its job queue, its exactly-once bookkeeping, the
//! shared counters (throttles, caps) and one-time tokens. `migrations/0003_delivery.sql` has
//! the tables.

use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use time::OffsetDateTime;

use super::db::{Db, sql_error};
use crate::domain::{Job, MemeId, UserId};
use crate::storage::{
    Backlog, Counters, Cursor, DeliveryState, JobQueue, ReceivedJob, SendClaim, StorageError, StorageResult,
    TakenToken, TokenPurpose, TokenStore,
};

fn millis(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn now_millis() -> i64 {
    millis(OffsetDateTime::now_utc())
}

fn duration_millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// `<job id>:<receive count>`, like an SQS receipt handle: valid for one receive only.
fn parse_receipt(receipt: &str) -> StorageResult<(i64, i64)> {
    let invalid = || StorageError::Other(anyhow::anyhow!("malformed job receipt {receipt:?}"));
    let (id, count) = receipt.split_once(':').ok_or_else(invalid)?;
    Ok((id.parse().map_err(|_| invalid())?, count.parse().map_err(|_| invalid())?))
}

pub struct SqliteDelivery {
    db: Db,
}

impl SqliteDelivery {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

/// At start-up: what a stopped process held is released. Jobs it had received become visible
/// at once instead of when their hiding runs out, and emails it had claimed but not marked sent
/// may be sent again (the `.eml` of one replaces itself; SMTP is at-least-once anyway). One data
/// folder has one process, so everything held before now was a stopped process's. (A job
/// waiting out a retry's backoff is tried once early: harmless.)
pub fn release_received_jobs(conn: &mut rusqlite::Connection) -> StorageResult<u64> {
    let now = now_millis();
    let tx = conn.transaction().map_err(sql_error)?;
    let jobs = tx
        .execute("UPDATE jobs SET visible_at = ?1 WHERE visible_at > ?1 AND receive_count > 0", [now])
        .map_err(sql_error)?;
    tx.execute("DELETE FROM sent_emails WHERE sent = 0", []).map_err(sql_error)?;
    tx.commit().map_err(sql_error)?;
    Ok(jobs as u64)
}

#[async_trait]
impl JobQueue for SqliteDelivery {
    async fn enqueue(&self, job: &Job, delay: Duration) -> StorageResult<()> {
        let body = serde_json::to_string(job).map_err(|e| StorageError::Other(e.into()))?;
        let visible_at = now_millis().saturating_add(duration_millis(delay));
        self.db
            .write(move |conn| {
                conn.execute("INSERT INTO jobs (body, visible_at) VALUES (?1, ?2)", params![body, visible_at])
                    .map_err(sql_error)?;
                Ok(())
            })
            .await
    }

    async fn receive(&self, max: usize, hidden_for: Duration, _wait: Duration) -> StorageResult<Vec<ReceivedJob>> {
        let now = now_millis();
        let until = now.saturating_add(duration_millis(hidden_for));
        let rows: Vec<(i64, String, i64)> = self
            .db
            .write(move |conn| {
                let mut stmt = conn
                    .prepare_cached(
                        "UPDATE jobs SET visible_at = ?2, receive_count = receive_count + 1
                         WHERE id IN (SELECT id FROM jobs WHERE visible_at <= ?1 ORDER BY visible_at, id LIMIT ?3)
                         RETURNING id, body, receive_count",
                    )
                    .map_err(sql_error)?;
                let rows = stmt
                    .query_map(params![now, until, max as i64], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
                    .map_err(sql_error)?;
                rows.collect::<rusqlite::Result<Vec<_>>>().map_err(sql_error)
            })
            .await?;
        let mut received = Vec::with_capacity(rows.len());
        for (id, body, count) in rows {
            match serde_json::from_str::<Job>(&body) {
                Ok(job) => received.push(ReceivedJob {
                    job,
                    receipt: format!("{id}:{count}"),
                    receive_count: u32::try_from(count).unwrap_or(u32::MAX),
                }),
                Err(e) => {
                    // Written by this program, so unreadable means a bug: keep it out of the way
                    // (logged with its body) rather than retrying it forever.
                    tracing::error!(job = id, error = %e, %body, "dropping an unreadable job");
                    self.complete(&format!("{id}:{count}")).await?;
                }
            }
        }
        Ok(received)
    }

    async fn backlog(&self) -> StorageResult<Backlog> {
        let now = now_millis();
        let (jobs, oldest): (i64, Option<i64>) = self
            .db
            .read(move |conn| {
                conn.prepare_cached("SELECT COUNT(*), MIN(CASE WHEN visible_at <= ?1 THEN visible_at END) FROM jobs")
                    .and_then(|mut stmt| stmt.query_row(params![now], |row| Ok((row.get(0)?, row.get(1)?))))
                    .map_err(sql_error)
            })
            .await?;
        let waited = oldest.map_or(0, |due| now.saturating_sub(due).max(0));
        Ok(Backlog {
            jobs: u64::try_from(jobs).unwrap_or(0),
            oldest_due: Some(Duration::from_millis(u64::try_from(waited).unwrap_or(0))),
        })
    }

    async fn complete(&self, receipt: &str) -> StorageResult<()> {
        let (id, count) = parse_receipt(receipt)?;
        self.db
            .write(move |conn| {
                conn.execute("DELETE FROM jobs WHERE id = ?1 AND receive_count = ?2", [id, count])
                    .map_err(sql_error)?;
                Ok(())
            })
            .await
    }

    async fn hide(&self, receipt: &str, hidden_for: Duration) -> StorageResult<()> {
        let (id, count) = parse_receipt(receipt)?;
        let until = now_millis().saturating_add(duration_millis(hidden_for));
        self.db
            .write(move |conn| {
                conn.execute(
                    "UPDATE jobs SET visible_at = ?3 WHERE id = ?1 AND receive_count = ?2",
                    [id, count, until],
                )
                .map_err(sql_error)?;
                Ok(())
            })
            .await
    }
}

#[async_trait]
impl DeliveryState for SqliteDelivery {
    async fn claim_send(
        &self,
        key: &str,
        now: OffsetDateTime,
        stale_after: time::Duration,
    ) -> StorageResult<SendClaim> {
        let key = key.to_owned();
        let (now, stale) = (millis(now), millis(now - stale_after));
        self.db
            .write(move |conn| {
                let claimed = conn
                    .query_row(
                        "INSERT INTO sent_emails (key, sent, claimed_at) VALUES (?1, 0, ?2)
                         ON CONFLICT (key) DO UPDATE SET claimed_at = ?2 WHERE sent = 0 AND claimed_at <= ?3
                         RETURNING 1",
                        params![key, now, stale],
                        |_| Ok(()),
                    )
                    .optional()
                    .map_err(sql_error)?;
                if claimed.is_some() {
                    return Ok(SendClaim::Claimed);
                }
                let sent: bool = conn
                    .query_row("SELECT sent FROM sent_emails WHERE key = ?1", [&key], |row| row.get(0))
                    .map_err(sql_error)?;
                Ok(if sent { SendClaim::AlreadySent } else { SendClaim::HeldElsewhere })
            })
            .await
    }

    async fn mark_sent(&self, keys: &[String]) -> StorageResult<()> {
        let keys = keys.to_vec();
        self.db
            .write(move |conn| {
                // A receipt may come for an email with no claim row (swept, or never written
                // here): it is sent all the same.
                let tx = conn.transaction().map_err(sql_error)?;
                {
                    let mut mark = tx
                        .prepare_cached(
                            "INSERT INTO sent_emails (key, sent, claimed_at) VALUES (?1, 1, ?2)
                             ON CONFLICT (key) DO UPDATE SET sent = 1",
                        )
                        .map_err(sql_error)?;
                    let now = millis(OffsetDateTime::now_utc());
                    for key in &keys {
                        mark.execute(params![key, now]).map_err(sql_error)?;
                    }
                }
                tx.commit().map_err(sql_error)
            })
            .await
    }

    async fn release(&self, key: &str) -> StorageResult<()> {
        let key = key.to_owned();
        self.db
            .write(move |conn| {
                conn.execute("DELETE FROM sent_emails WHERE key = ?1 AND sent = 0", [key]).map_err(sql_error)?;
                Ok(())
            })
            .await
    }

    async fn progress(&self, job_key: &str) -> StorageResult<Option<Cursor>> {
        let key = job_key.to_owned();
        self.db
            .read(move |conn| {
                conn.query_row("SELECT cursor FROM job_progress WHERE key = ?1", [key], |row| row.get(0))
                    .optional()
                    .map(|c| c.map(Cursor))
                    .map_err(sql_error)
            })
            .await
    }

    async fn save_progress(&self, job_key: &str, cursor: &Cursor) -> StorageResult<()> {
        let (key, cursor) = (job_key.to_owned(), cursor.0.clone());
        self.db
            .write(move |conn| {
                conn.execute(
                    "INSERT INTO job_progress (key, cursor) VALUES (?1, ?2)
                     ON CONFLICT (key) DO UPDATE SET cursor = excluded.cursor",
                    params![key, cursor],
                )
                .map_err(sql_error)?;
                Ok(())
            })
            .await
    }

    async fn clear_progress(&self, job_key: &str) -> StorageResult<()> {
        let key = job_key.to_owned();
        self.db
            .write(move |conn| {
                conn.execute("DELETE FROM job_progress WHERE key = ?1", [key]).map_err(sql_error)?;
                Ok(())
            })
            .await
    }

    async fn hold_for_digest(&self, recipient: UserId, hour: i64, meme: MemeId) -> StorageResult<bool> {
        self.db
            .write(move |conn| {
                let tx = conn.transaction().map_err(sql_error)?;
                let (recipient, meme) = (recipient.to_string(), meme.to_string());
                tx.execute(
                    "INSERT OR IGNORE INTO digests (recipient_id, hour, meme_id) VALUES (?1, ?2, ?3)",
                    params![recipient, hour, meme],
                )
                .map_err(sql_error)?;
                let held: i64 = tx
                    .query_row(
                        "SELECT count(*) FROM digests WHERE recipient_id = ?1 AND hour = ?2",
                        params![recipient, hour],
                        |row| row.get(0),
                    )
                    .map_err(sql_error)?;
                tx.commit().map_err(sql_error)?;
                Ok(held == 1)
            })
            .await
    }

    async fn held_for_digest(&self, recipient: UserId, hour: i64) -> StorageResult<Vec<MemeId>> {
        self.db
            .read(move |conn| {
                let mut stmt = conn
                    .prepare_cached("SELECT meme_id FROM digests WHERE recipient_id = ?1 AND hour = ?2")
                    .map_err(sql_error)?;
                let ids = stmt
                    .query_map(params![recipient.to_string(), hour], |row| row.get::<_, String>(0))
                    .map_err(sql_error)?
                    .collect::<rusqlite::Result<Vec<_>>>()
                    .map_err(sql_error)?;
                let mut memes: Vec<MemeId> = ids.iter().filter_map(|id| MemeId::parse(id).ok()).collect();
                memes.sort();
                Ok(memes)
            })
            .await
    }
}

#[async_trait]
impl Counters for SqliteDelivery {
    async fn increment(&self, key: &str, expires_at: OffsetDateTime) -> StorageResult<u64> {
        let key = key.to_owned();
        let (now, expires) = (OffsetDateTime::now_utc().unix_timestamp(), expires_at.unix_timestamp());
        self.db
            .write(move |conn| {
                // An expired counter starts again from one, with the new expiry.
                conn.query_row(
                    "INSERT INTO counters (key, value, expires_at) VALUES (?1, 1, ?2)
                     ON CONFLICT (key) DO UPDATE SET
                       value = CASE WHEN expires_at <= ?3 THEN 1 ELSE value + 1 END,
                       expires_at = CASE WHEN expires_at <= ?3 THEN ?2 ELSE expires_at END
                     RETURNING value",
                    params![key, expires, now],
                    |row| row.get::<_, i64>(0),
                )
                .map(|v| v.max(0) as u64)
                .map_err(sql_error)
            })
            .await
    }

    async fn get(&self, keys: &[String], now: OffsetDateTime) -> StorageResult<Vec<u64>> {
        let keys = keys.to_vec();
        let now = now.unix_timestamp();
        self.db
            .read(move |conn| {
                let mut stmt = conn
                    .prepare_cached("SELECT value FROM counters WHERE key = ?1 AND expires_at > ?2")
                    .map_err(sql_error)?;
                keys.iter()
                    .map(|key| {
                        let value: Option<i64> =
                            stmt.query_row(params![key, now], |row| row.get(0)).optional().map_err(sql_error)?;
                        Ok(value.unwrap_or(0).max(0) as u64)
                    })
                    .collect()
            })
            .await
    }

    async fn reset(&self, keys: &[String]) -> StorageResult<()> {
        let keys = keys.to_vec();
        self.db
            .write(move |conn| {
                let tx = conn.transaction().map_err(sql_error)?;
                for key in &keys {
                    tx.execute("DELETE FROM counters WHERE key = ?1", [key]).map_err(sql_error)?;
                }
                tx.commit().map_err(sql_error)
            })
            .await
    }
}

#[async_trait]
impl TokenStore for SqliteDelivery {
    async fn put(
        &self,
        secret_hash: &str,
        purpose: TokenPurpose,
        user: UserId,
        detail: &str,
        expires_at: OffsetDateTime,
    ) -> StorageResult<()> {
        let (hash, detail) = (secret_hash.to_owned(), detail.to_owned());
        self.db
            .write(move |conn| {
                conn.execute(
                    "INSERT INTO tokens (hash, purpose, user_id, detail, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![hash, purpose.as_str(), user.to_string(), detail, expires_at.unix_timestamp()],
                )
                .map_err(sql_error)?;
                Ok(())
            })
            .await
    }

    async fn take(
        &self,
        secret_hash: &str,
        purpose: TokenPurpose,
        now: OffsetDateTime,
    ) -> StorageResult<Option<TakenToken>> {
        let hash = secret_hash.to_owned();
        let now = now.unix_timestamp();
        let taken: Option<(String, String, i64)> = self
            .db
            .write(move |conn| {
                conn.query_row(
                    "DELETE FROM tokens WHERE hash = ?1 AND purpose = ?2 RETURNING user_id, detail, expires_at",
                    params![hash, purpose.as_str()],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )
                .optional()
                .map_err(sql_error)
            })
            .await?;
        Ok(taken
            .filter(|(_, _, expires)| *expires > now)
            .and_then(|(user, detail, _)| Some(TakenToken { user: UserId::parse(&user).ok()?, detail })))
    }

    async fn peek(
        &self,
        secret_hash: &str,
        purpose: TokenPurpose,
        now: OffsetDateTime,
    ) -> StorageResult<Option<UserId>> {
        let hash = secret_hash.to_owned();
        let found: Option<String> = self
            .db
            .read(move |conn| {
                conn.query_row(
                    "SELECT user_id FROM tokens WHERE hash = ?1 AND purpose = ?2 AND expires_at > ?3",
                    params![hash, purpose.as_str(), now.unix_timestamp()],
                    |row| row.get(0),
                )
                .optional()
                .map_err(sql_error)
            })
            .await?;
        Ok(found.and_then(|user| UserId::parse(&user).ok()))
    }
}

/// Forgets what has expired: counters, tokens, and sends and digests recorded more than a week
/// ago (a job is not redelivered after that long).
pub(super) fn sweep_expired(conn: &rusqlite::Connection, now: OffsetDateTime) -> rusqlite::Result<usize> {
    let seconds = now.unix_timestamp();
    let week_ago = now - time::Duration::days(7);
    Ok(conn.execute("DELETE FROM counters WHERE expires_at <= ?1", [seconds])?
        + conn.execute("DELETE FROM tokens WHERE expires_at <= ?1", [seconds])?
        + conn.execute("DELETE FROM sent_emails WHERE claimed_at <= ?1", [millis(week_ago)])?
        + conn.execute("DELETE FROM digests WHERE hour <= ?1", [week_ago.unix_timestamp() / 3600])?)
}
