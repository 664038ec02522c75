//! SQLite access: one writer connection and a few readers, in WAL mode.
//!
//! SQLite allows one writer at a time; funnelling every write through one connection means
//! writers queue in our process instead of failing with SQLITE_BUSY, while WAL lets the readers
//! run concurrently with it.
//!
//! Writes run on tokio's blocking pool: they may wait for fsync or a busy database. Reads run
//! inline on the async worker: in WAL mode a read never waits for a writer, and a page's query
//! takes tens of microseconds, while the round trip to the blocking pool alone measured 43 µs
//! under load (more than the query). At most one read runs per worker thread at a time, so the
//! pool of `READERS` connections (≥ the number of cores) always has one free.

use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use rusqlite::{Connection, OpenFlags};

use crate::storage::{StorageError, StorageResult};
use crate::telemetry::metrics::PoolMetrics;

/// Embedded migrations, applied in order; `PRAGMA user_version` records how many have run.
const MIGRATIONS: &[&str] = &[
    include_str!("../../../migrations/0001_accounts.sql"),
    include_str!("../../../migrations/0002_site.sql"),
    include_str!("../../../migrations/0003_delivery.sql"),
    include_str!("../../../migrations/0004_api_tokens.sql"),
    include_str!("../../../migrations/0005_creator_notices.sql"),
    include_str!("../../../migrations/0006_account.sql"),
    include_str!("../../../migrations/0007_template_memes.sql"),
];

const READERS: usize = 8;
/// Compiled statements kept per connection: more than the site's distinct queries.
const STATEMENT_CACHE: usize = 256;

#[derive(Clone)]
pub struct Db {
    writer: Arc<Mutex<Connection>>,
    readers: Arc<ReaderPool>,
    waits: Arc<Waits>,
}

/// Waits for a connection: reads (for a permit), writes (for the writer).
struct Waits {
    read: PoolMetrics,
    write: PoolMetrics,
}

/// Idle reader connections. A query first takes a permit (async, so waiting costs no thread),
/// then runs on the blocking pool with whichever connection is free: at most `READERS`
/// blocking threads ever work on reads, however many requests are waiting.
struct ReaderPool {
    idle: Mutex<Vec<Connection>>,
    permits: tokio::sync::Semaphore,
}

impl Db {
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let mut writer = open_connection(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE)
            .with_context(|| format!("opening the database {}", path.display()))?;
        writer.pragma_update(None, "journal_mode", "WAL").context("switching the database to WAL mode")?;
        migrate(&mut writer).context("applying database migrations")?;
        let readers = (0..READERS)
            .map(|_| {
                let conn = open_connection(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
                // Read pages straight from the OS page cache (shared by all readers) instead of
                // copying them into each connection's private cache.
                conn.pragma_update(None, "mmap_size", 1i64 << 30)?;
                Ok(conn)
            })
            .collect::<rusqlite::Result<Vec<_>>>()
            .context("opening database readers")?;
        Ok(Self {
            writer: Arc::new(Mutex::new(writer)),
            readers: Arc::new(ReaderPool { idle: Mutex::new(readers), permits: tokio::sync::Semaphore::new(READERS) }),
            waits: Arc::new(Waits { read: PoolMetrics::new("read"), write: PoolMetrics::new("write") }),
        })
    }

    /// Runs a read-only query on a free reader connection, inline (see the module comment).
    pub async fn read<T, F>(&self, query: F) -> StorageResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StorageResult<T> + Send + 'static,
    {
        let _permit = match self.readers.permits.try_acquire() {
            Ok(permit) => {
                self.waits.read.immediate();
                permit
            }
            Err(_) => {
                let asked = std::time::Instant::now();
                let permit = self
                    .readers
                    .permits
                    .acquire()
                    .await
                    .map_err(|e| StorageError::Other(anyhow::anyhow!("reader pool closed: {e}")))?;
                self.waits.read.waited(asked.elapsed());
                permit
            }
        };
        let conn = self.readers.take()?;
        query(&conn)
    }

    /// Runs a change on the writer connection from a blocking context (start-up).
    pub fn write_blocking<T>(&self, change: impl FnOnce(&mut Connection) -> StorageResult<T>) -> StorageResult<T> {
        let mut conn = self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        change(&mut conn)
    }

    /// Runs a change on the writer connection. Use a transaction inside `change` when it
    /// touches more than one row.
    pub async fn write<T, F>(&self, change: F) -> StorageResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StorageResult<T> + Send + 'static,
    {
        let writer = self.writer.clone();
        let waits = self.waits.clone();
        let asked = std::time::Instant::now();
        run_blocking(move || {
            let mut conn = match writer.try_lock() {
                Ok(conn) => {
                    waits.write.immediate();
                    conn
                }
                Err(_) => {
                    let conn = writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                    waits.write.waited(asked.elapsed());
                    conn
                }
            };
            change(&mut conn)
        })
        .await
    }
}

impl ReaderPool {
    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A free connection, given back when the guard drops: also when the query panics (the
    /// panic catcher keeps the process alive, so a connection lost there would be lost for
    /// good, and after `READERS` such panics every read would fail).
    fn take(&self) -> StorageResult<PooledReader<'_>> {
        let conn =
            self.idle().pop().ok_or_else(|| StorageError::Other(anyhow::anyhow!("no idle reader despite a permit")))?;
        Ok(PooledReader { pool: self, conn: Some(conn) })
    }
}

struct PooledReader<'a> {
    pool: &'a ReaderPool,
    conn: Option<Connection>,
}

impl std::ops::Deref for PooledReader<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        // Only `drop` takes the connection out.
        self.conn.as_ref().expect("a pooled reader holds its connection until dropped")
    }
}

impl Drop for PooledReader<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.idle().push(conn);
        }
    }
}

async fn run_blocking<T, F>(work: F) -> StorageResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> StorageResult<T> + Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StorageError::Other(anyhow::anyhow!("database task failed: {e}")))?
}

fn open_connection(path: &Path, flags: OpenFlags) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    // Wait for a competing writer (another process, a checkpoint) instead of failing at once.
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // NORMAL is durable in WAL mode across application crashes; only an OS crash or power loss
    // can drop the last transactions, never corrupt the database.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Plans that do not depend on bound values. Without this SQLite 3.50 reads a bound `LIMIT ?`
    // while planning and marks the statement stale whenever that parameter is bound again, so
    // every cached list query was compiled anew on each use (12% of a list page's CPU).
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    // Every statement the site runs stays compiled, the feed's one per page size included
    // (rusqlite keeps 16 by default).
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    let applied: usize = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    anyhow::ensure!(
        applied <= MIGRATIONS.len(),
        "the database is from a newer version of Sky-High Memes ({applied} migrations applied, this build knows {})",
        MIGRATIONS.len()
    );
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql).with_context(|| format!("migration {}", index + 1))?;
        tx.pragma_update(None, "user_version", index + 1)?;
        tx.commit()?;
        tracing::info!(migration = index + 1, "applied database migration");
    }
    Ok(())
}

/// Translates SQLite errors into storage errors. A locked or busy database after the busy
/// timeout is "unavailable"; everything else is unexpected.
pub fn sql_error(error: rusqlite::Error) -> StorageError {
    use rusqlite::ErrorCode;
    match error.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked | ErrorCode::CannotOpen | ErrorCode::DiskFull) => {
            StorageError::Unavailable(error.to_string())
        }
        _ => StorageError::Other(anyhow::Error::new(error)),
    }
}

/// The name of the UNIQUE column a failed insert collided with, if that is what failed.
pub fn unique_violation(error: &rusqlite::Error) -> Option<String> {
    match error {
        rusqlite::Error::SqliteFailure(e, Some(message))
            if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
        {
            // SQLite says "UNIQUE constraint failed: users.email".
            message.rsplit('.').next().map(str::to_owned)
        }
        _ => None,
    }
}

/// A row that cannot be turned back into a record: a bug or a hand-edited database.
pub fn corrupt(what: &str, detail: impl std::fmt::Display) -> StorageError {
    StorageError::Other(anyhow::anyhow!("corrupt {what} row: {detail}"))
}

/// A media key read back from a row.
pub fn blob_key(what: &str, text: &str) -> StorageResult<crate::domain::BlobKey> {
    crate::domain::BlobKey::parse(text).ok_or_else(|| corrupt(what, format!("bad media key {text:?}")))
}

pub fn timestamp(seconds: i64) -> StorageResult<time::OffsetDateTime> {
    time::OffsetDateTime::from_unix_timestamp(seconds).map_err(|e| corrupt("timestamp", e))
}

/// Builds a page from `limit + 1` fetched rows: the extra row only says there is a next page.
pub fn page_of<T>(mut items: Vec<T>, limit: usize, cursor_of: impl Fn(&T) -> String) -> crate::storage::Page<T> {
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|last| crate::storage::Cursor(cursor_of(last)))
    } else {
        None
    };
    crate::storage::Page { items, next }
}

/// Reads an id cursor, refusing anything that is not an id of the expected kind.
pub fn id_cursor<I: std::str::FromStr>(cursor: &Option<crate::storage::Cursor>) -> StorageResult<Option<String>> {
    match cursor {
        None => Ok(None),
        Some(c) if c.0.parse::<I>().is_ok() => Ok(Some(c.0.clone())),
        Some(_) => Err(StorageError::InvalidCursor),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_cached_list_query_is_not_compiled_again_when_its_limit_is_bound_again() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db")).unwrap();
        let reprepared = db
            .read(|conn| {
                let sql = "SELECT id FROM memes WHERE id < ?1 ORDER BY id DESC LIMIT ?2";
                for limit in [21i64, 21, 5, 21] {
                    let mut stmt = conn.prepare_cached(sql).map_err(sql_error)?;
                    stmt.query_map(rusqlite::params!["z", limit], |row| row.get::<_, String>(0))
                        .map_err(sql_error)?
                        .for_each(drop);
                }
                let stmt = conn.prepare_cached(sql).map_err(sql_error)?;
                Ok(stmt.get_status(rusqlite::StatementStatus::RePrepare))
            })
            .await
            .unwrap();
        assert_eq!(reprepared, 0, "the statement was compiled again {reprepared} times");
    }

    #[tokio::test]
    async fn a_query_that_panics_gives_its_connection_back() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db")).unwrap();
        for _ in 0..READERS {
            let db = db.clone();
            let panicked =
                tokio::spawn(async move { db.read(|_| -> StorageResult<()> { panic!("a bug inside a query") }).await })
                    .await;
            assert!(panicked.is_err(), "the task panicked");
        }
        for i in 0..100 {
            let one: i64 = db
                .read(|conn| conn.query_row("SELECT 1", [], |row| row.get(0)).map_err(sql_error))
                .await
                .unwrap_or_else(|e| panic!("read {i} after the panics: {e}"));
            assert_eq!(one, 1);
        }
    }
}
