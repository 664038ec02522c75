//! The `local` backend: SQLite (WAL) for records and files for media, all under the data dir.
//! Zero setup: `cargo run` creates everything on first start.

mod account;
mod api_tokens;
mod blobs;
mod comments;
mod db;
mod debris;
mod delivery;
mod drafts;
mod memes;
mod notifications;
mod sessions;
mod subscriptions;
mod templates;
mod users;

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use async_trait::async_trait;

use blobs::FileBlobs;
pub use blobs::content_type_for;
use comments::SqliteComments;
use db::{Db, sql_error};
use memes::SqliteMemes;
use notifications::SqliteNotifications;
use sessions::SqliteSessions;
use subscriptions::SqliteSubscriptions;
use templates::{SqliteSettings, SqliteTemplates};
use users::SqliteUsers;

use super::{HealthCheck, Storage, StorageResult};

/// Opens (creating if needed) the local backend in `data_dir`.
pub fn open(data_dir: &Path) -> anyhow::Result<Storage> {
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating the data folder {}", data_dir.display()))?;
    let db = Db::open(&data_dir.join("skyhigh.db"))?;
    let delivery = Arc::new(delivery::SqliteDelivery::new(db.clone()));
    let sqlite_users = Arc::new(SqliteUsers::new(db.clone()));
    let users: Arc<dyn crate::storage::UserStore> = sqlite_users.clone();
    let memes: Arc<dyn crate::storage::MemeStore> = Arc::new(SqliteMemes::new(db.clone()));
    let subscriptions: Arc<dyn crate::storage::SubscriptionStore> = Arc::new(SqliteSubscriptions::new(db.clone()));
    let templates: Arc<dyn crate::storage::TemplateStore> = Arc::new(SqliteTemplates::new(db.clone()));
    let comments: Arc<dyn crate::storage::CommentStore> = Arc::new(SqliteComments::new(db.clone()));
    let views = Arc::new(crate::storage::views::ComposedViews {
        memes: memes.clone(),
        comments: comments.clone(),
        users: users.clone(),
        templates: templates.clone(),
        profiles: sqlite_users,
    });
    let released = db.write_blocking(delivery::release_received_jobs).context("releasing the jobs of the last run")?;
    if released > 0 {
        tracing::info!(jobs = released, "jobs a stopped process had received are due again");
    }
    Ok(Storage {
        users,
        accounts: Arc::new(account::SqliteAccounts::new(db.clone())),
        sessions: Arc::new(SqliteSessions::new(db.clone())),
        blobs: Arc::new(FileBlobs::open(data_dir.join("media"))?),
        drafts: Arc::new(drafts::FileDrafts::open(data_dir.join("drafts"))?),
        health: Arc::new(SqliteHealth { db: db.clone() }),
        memes,
        comments,
        subscriptions,
        notifications: Arc::new(SqliteNotifications::new(db.clone())),
        templates,
        views,
        settings: Arc::new(SqliteSettings::new(db.clone())),
        tokens: delivery.clone(),
        api_tokens: Arc::new(api_tokens::SqliteApiTokens::new(db.clone())),
        counters: delivery.clone(),
        jobs: delivery.clone(),
        deliveries: delivery,
        relay: None,
        media_cache: None,
        debris: Some(Arc::new(debris::LocalDebris::new(db, data_dir.to_owned()))),
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
