//! What a crash can leave in the data folder, and its removal (with expired rows).
//!
//! - Temporary files (`.tmp*`) of writes cut short: media and `.eml` files are written to a
//!   temporary name and renamed, so a `kill -9` mid-write leaves the temporary one behind.
//! - Media without a record: a meme's files are written before its row (so a row never points
//!   at missing files), so a crash in between, or between a delete's row removal and its file
//!   removal, leaves files no record names.
//!
//! Media are named by the id of what owns them, and ids carry their creation time. Only ids
//! made before `cutoff` are judged, and only temporary files older than it (or a minute old):
//! at start-up the cutoff is the process's start (this process is writing nothing older),
//! later it is an hour ago, so a write in flight is never swept.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use rusqlite::OptionalExtension;
use time::OffsetDateTime;

use super::db::{Db, sql_error};
use crate::domain::MemeId;
use crate::storage::{Debris, DebrisReport, StorageError, StorageResult};

/// A temporary file this young may belong to a write in progress.
const TEMP_FILE_GRACE: Duration = Duration::from_secs(60);

pub struct LocalDebris {
    db: Db,
    data_dir: PathBuf,
}

impl LocalDebris {
    pub fn new(db: Db, data_dir: PathBuf) -> Self {
        Self { db, data_dir }
    }
}

/// Who owns a media path, from its layout (`memes/<id>/…`, `originals/<id>.<ext>`,
/// `templates/u-<id>/…`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Owner {
    Meme(MemeId),
    Template(String, MemeId),
}

fn owner_of(relative: &Path) -> Option<Owner> {
    let mut parts = relative.components().filter_map(|c| c.as_os_str().to_str());
    let folder = parts.next()?;
    let name = parts.next()?;
    match folder {
        "memes" => MemeId::parse(name).ok().map(Owner::Meme),
        "originals" => MemeId::parse(name.split('.').next()?).ok().map(Owner::Meme),
        "templates" => {
            let id = MemeId::parse(name.strip_prefix("u-")?).ok()?;
            Some(Owner::Template(name.to_owned(), id))
        }
        _ => None,
    }
}

fn is_temp_file(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(".tmp"))
}

/// A temporary file is debris when it is a minute old, or older than `cutoff` (at start-up:
/// written before this process started, so by a process that is gone).
fn is_stale_temp_file(path: &Path, cutoff: SystemTime) -> bool {
    let Ok(modified) = std::fs::symlink_metadata(path).and_then(|m| m.modified()) else { return false };
    modified < cutoff || SystemTime::now().duration_since(modified).is_ok_and(|age| age >= TEMP_FILE_GRACE)
}

/// Every file under `root`, depth first (the media tree is three levels deep).
fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut folders = vec![root.to_owned()];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else { continue };
        for entry in entries.flatten() {
            match entry.file_type() {
                Ok(t) if t.is_dir() => folders.push(entry.path()),
                Ok(_) => files.push(entry.path()),
                Err(_) => {}
            }
        }
    }
    files
}

/// Removes a file and the folders it leaves empty, up to (not including) `root`.
fn remove_with_empty_parents(path: &Path, root: &Path) -> std::io::Result<()> {
    std::fs::remove_file(path)?;
    let mut folder = path.parent();
    while let Some(f) = folder.filter(|f| *f != root && f.starts_with(root)) {
        if std::fs::remove_dir(f).is_err() {
            break; // not empty
        }
        folder = f.parent();
    }
    Ok(())
}

/// The first pass, off the async workers: temporary files removed, media files whose owner
/// is older than `cutoff_millis` listed with it.
fn scan(data_dir: &Path, cutoff_millis: u64) -> (u64, Vec<(PathBuf, Owner)>) {
    let cutoff = SystemTime::UNIX_EPOCH + Duration::from_millis(cutoff_millis);
    let media_root = data_dir.join("media");
    let mut temp_files = 0;
    let mut candidates = Vec::new();
    for root in [media_root.clone(), data_dir.join("outbox"), data_dir.join("tmp")] {
        for path in files_under(&root) {
            if is_temp_file(&path) {
                if is_stale_temp_file(&path, cutoff) && std::fs::remove_file(&path).is_ok() {
                    temp_files += 1;
                }
                continue;
            }
            let Some(owner) = path.strip_prefix(&media_root).ok().and_then(owner_of) else { continue };
            let made = match &owner {
                Owner::Meme(id) | Owner::Template(_, id) => id.created_at_millis(),
            };
            if made < cutoff_millis {
                candidates.push((path, owner));
            }
        }
    }
    (temp_files, candidates)
}

#[async_trait]
impl Debris for LocalDebris {
    async fn sweep(&self, cutoff: OffsetDateTime) -> StorageResult<DebrisReport> {
        let cutoff_millis = u64::try_from(cutoff.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
        let data_dir = self.data_dir.clone();
        let (temp_files, candidates) = tokio::task::spawn_blocking(move || scan(&data_dir, cutoff_millis))
            .await
            .map_err(|e| StorageError::Other(e.into()))?;
        // One read for all candidates: which owners still have a record.
        let owners: Vec<Owner> = candidates.iter().map(|(_, o)| o.clone()).collect();
        let alive = self
            .db
            .read(move |conn| {
                let mut meme = conn.prepare_cached("SELECT 1 FROM memes WHERE id = ?1").map_err(sql_error)?;
                let mut template =
                    conn.prepare_cached("SELECT 1 FROM shared_templates WHERE id = ?1").map_err(sql_error)?;
                owners
                    .iter()
                    .map(|owner| {
                        let found = match owner {
                            Owner::Meme(id) => meme.query_row([id.to_string()], |_| Ok(())),
                            Owner::Template(name, _) => template.query_row([name], |_| Ok(())),
                        };
                        found.optional().map(|f| f.is_some()).map_err(sql_error)
                    })
                    .collect::<StorageResult<Vec<bool>>>()
            })
            .await?;
        let orphans: Vec<PathBuf> =
            candidates.into_iter().zip(alive).filter(|(_, alive)| !alive).map(|((path, _), _)| path).collect();
        let media_root = self.data_dir.join("media");
        let orphan_media = tokio::task::spawn_blocking(move || {
            let mut removed = 0;
            for path in orphans {
                match remove_with_empty_parents(&path, &media_root) {
                    Ok(()) => removed += 1,
                    Err(e) => tracing::warn!(path = %path.display(), error = %e, "could not remove orphan media"),
                }
            }
            removed
        })
        .await
        .map_err(|e| StorageError::Other(e.into()))?;
        let now = OffsetDateTime::now_utc();
        let expired_rows =
            self.db.write(move |conn| super::delivery::sweep_expired(conn, now).map_err(sql_error)).await?;
        Ok(DebrisReport { temp_files, orphan_media, expired_rows: expired_rows as u64 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_are_read_from_the_media_layout() {
        let id = MemeId::new();
        assert_eq!(owner_of(Path::new(&format!("memes/{id}/display.jpg"))), Some(Owner::Meme(id)));
        assert_eq!(owner_of(Path::new(&format!("originals/{id}.png"))), Some(Owner::Meme(id)));
        assert_eq!(
            owner_of(Path::new(&format!("templates/u-{id}/thumb.jpg"))),
            Some(Owner::Template(format!("u-{id}"), id))
        );
        assert_eq!(owner_of(Path::new("memes")), None);
        assert_eq!(owner_of(Path::new("other/x")), None);
        assert_eq!(owner_of(Path::new("memes/not-an-id/x.jpg")), None);
    }
}
