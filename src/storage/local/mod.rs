//! The `local` backend: SQLite (WAL) for records and files for media, all under the data dir.
//! Zero setup: `cargo run` creates everything on first start.

mod blobs;
mod db;
mod sessions;
mod users;

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use async_trait::async_trait;

use blobs::FileBlobs;
pub use blobs::content_type_for;
use db::{Db, sql_error};
use sessions::SqliteSessions;
use users::SqliteUsers;

use super::{HealthCheck, Storage, StorageResult};

/// Opens (creating if needed) the local backend in `data_dir`.
pub fn open(data_dir: &Path) -> anyhow::Result<Storage> {
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating the data folder {}", data_dir.display()))?;
    let db = Db::open(&data_dir.join("skyhigh.db"))?;
    Ok(Storage {
        users: Arc::new(SqliteUsers::new(db.clone())),
        sessions: Arc::new(SqliteSessions::new(db.clone())),
        blobs: Arc::new(FileBlobs::open(data_dir.join("media"))?),
        health: Arc::new(SqliteHealth { db }),
    })
}

struct SqliteHealth {
    db: Db,
}

#[async_trait]
impl HealthCheck for SqliteHealth {
    async fn check(&self) -> StorageResult<()> {
        self.db.read(|conn| conn.query_row("SELECT 1", [], |_| Ok(())).map_err(sql_error)).await
    }
}
