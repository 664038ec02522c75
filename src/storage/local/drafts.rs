//! Draft uploads as files under `<data dir>/drafts/<owner>/<id>`: apart from `media/`, which
//! `/media/{key}` serves to anyone.
//!
//! Expired drafts are removed by a sweep that runs with a write, at most once a minute: each
//! draft's expiry is in its file name, so the sweep reads folders, never files. A draft written
//! an hour before its sweep is at most a minute late in going.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context;
use async_trait::async_trait;
use bytes::Bytes;
use time::OffsetDateTime;

use super::blobs::write_atomically;
use crate::domain::{DraftId, DraftOwner};
use crate::storage::{DirectUpload, DraftContent, DraftStore, StorageError, StorageResult};

/// Writes sweep at most this often.
const SWEEP_EVERY: time::Duration = time::Duration::minutes(1);
/// A temporary file of a write cut short (a crash) is this old before it is debris.
const TEMP_FILE_GRACE: std::time::Duration = std::time::Duration::from_secs(3600);

pub struct FileDrafts {
    root: PathBuf,
    /// When a write last swept (none yet: the first write sweeps).
    last_sweep: Mutex<Option<OffsetDateTime>>,
}

impl FileDrafts {
    pub fn open(root: PathBuf) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&root).with_context(|| format!("creating the drafts folder {}", root.display()))?;
        Ok(Self { root, last_sweep: Mutex::new(None) })
    }

    fn path_of(&self, owner: &DraftOwner, id: &DraftId) -> PathBuf {
        // Both are checked hex (and digits), so the path stays in its folder.
        self.root.join(owner.as_str()).join(id.as_str())
    }

    /// Whether a write should sweep now (and notes that it does).
    fn sweep_due(&self, now: OffsetDateTime) -> bool {
        let mut last = self.last_sweep.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|at| now - at < SWEEP_EVERY) {
            return false;
        }
        *last = Some(now);
        true
    }
}

fn io_error(action: &str, error: std::io::Error) -> StorageError {
    StorageError::Other(anyhow::Error::new(error).context(format!("{action} a draft upload")))
}

/// Removes expired drafts, stale temporary files and emptied owner folders under `root`.
fn sweep(root: &Path, now: OffsetDateTime) -> std::io::Result<u64> {
    let mut removed = 0;
    let Ok(owners) = std::fs::read_dir(root) else { return Ok(0) };
    for owner in owners.flatten() {
        let folder = owner.path();
        let Ok(drafts) = std::fs::read_dir(&folder) else { continue };
        for draft in drafts.flatten() {
            let path = draft.path();
            let name = draft.file_name();
            let name = name.to_string_lossy();
            let expired = match DraftId::parse(&name) {
                Ok(id) => id.is_expired(now),
                Err(_) => draft
                    .metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|at| at.elapsed().is_ok_and(|age| age >= TEMP_FILE_GRACE)),
            };
            if expired {
                match std::fs::remove_file(&path) {
                    Ok(()) => removed += 1,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
        }
        // Fails while the folder holds drafts (or a write just made it again): then it stays.
        let _ = std::fs::remove_dir(&folder);
    }
    Ok(removed)
}

#[async_trait]
impl DraftStore for FileDrafts {
    async fn put(&self, owner: &DraftOwner, id: &DraftId, bytes: Bytes) -> StorageResult<()> {
        let path = self.path_of(owner, id);
        let now = OffsetDateTime::now_utc();
        let root = self.sweep_due(now).then(|| self.root.clone());
        tokio::task::spawn_blocking(move || {
            if let Some(root) = root {
                match sweep(&root, now) {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(drafts = n, "removed expired draft uploads"),
                    Err(e) => tracing::warn!(error = %e, "sweeping expired draft uploads failed"),
                }
            }
            write_atomically(&path, &bytes).map_err(|e| io_error("writing", e))
        })
        .await
        .map_err(|e| StorageError::Other(e.into()))?
    }

    async fn get(&self, owner: &DraftOwner, id: &DraftId, max_bytes: u64) -> StorageResult<DraftContent> {
        let path = self.path_of(owner, id);
        match tokio::fs::metadata(&path).await {
            Ok(meta) if meta.len() > max_bytes => return Ok(DraftContent::TooLarge),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(DraftContent::Missing),
            Err(e) => return Err(io_error("reading", e)),
        }
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok(DraftContent::Found(bytes.into())),
            // Swept between the two calls.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(DraftContent::Missing),
            Err(e) => Err(io_error("reading", e)),
        }
    }

    async fn direct_upload(
        &self,
        _owner: &DraftOwner,
        _id: &DraftId,
        _max_bytes: u64,
        _valid_until: OffsetDateTime,
        _now: OffsetDateTime,
    ) -> StorageResult<Option<DirectUpload>> {
        Ok(None)
    }

    fn direct_upload_origin(&self) -> Option<String> {
        None
    }

    async fn delete_expired(&self, now: OffsetDateTime) -> StorageResult<u64> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || sweep(&root, now).map_err(|e| io_error("sweeping", e)))
            .await
            .map_err(|e| StorageError::Other(e.into()))?
    }
}
