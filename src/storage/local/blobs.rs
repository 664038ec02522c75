//! Media as files under `<data dir>/media/`.
//!
//! A write goes to a temporary file in the same folder, is fsynced, then renamed over the final
//! name, and the folder is fsynced: rename is atomic on POSIX file systems, so after a crash a
//! key holds either nothing or the whole object, never half of it.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use async_trait::async_trait;
use bytes::Bytes;

use crate::storage::{Blob, BlobKey, BlobStore, StorageError, StorageResult};

pub struct FileBlobs {
    root: PathBuf,
}

impl FileBlobs {
    pub fn open(root: PathBuf) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&root).with_context(|| format!("creating the media folder {}", root.display()))?;
        Ok(Self { root })
    }

    fn path_of(&self, key: &BlobKey) -> PathBuf {
        // BlobKey guarantees relative, `..`-free segments.
        self.root.join(key.as_str())
    }
}

/// The content type of a stored file, from its key's extension. Keys are made by the app, so
/// the extension always matches the bytes (uploads are sniffed before they get a key).
pub fn content_type_for(key: &BlobKey) -> &'static str {
    match key.as_str().rsplit_once('.').map(|(_, ext)| ext) {
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("bmp") => "image/bmp",
        _ => "application/octet-stream",
    }
}

/// Also the drafts' (`drafts.rs`): the same guarantee, a key holds nothing or everything.
pub(super) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let folder = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(folder)?;
    let mut temp = tempfile::NamedTempFile::new_in(folder)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    std::fs::File::open(folder)?.sync_all()
}

fn is_no_object(e: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    matches!(e.kind(), ErrorKind::NotFound | ErrorKind::IsADirectory | ErrorKind::NotADirectory)
}

fn io_error(action: &str, key: &BlobKey, error: std::io::Error) -> StorageError {
    StorageError::Other(anyhow::Error::new(error).context(format!("{action} media {}", key.as_str())))
}

#[async_trait]
impl BlobStore for FileBlobs {
    async fn put(&self, key: &BlobKey, bytes: Bytes, _content_type: &str) -> StorageResult<()> {
        let path = self.path_of(key);
        let key = key.clone();
        tokio::task::spawn_blocking(move || write_atomically(&path, &bytes).map_err(|e| io_error("writing", &key, e)))
            .await
            .map_err(|e| StorageError::Other(e.into()))?
    }

    async fn get(&self, key: &BlobKey) -> StorageResult<Option<Blob>> {
        match tokio::fs::read(self.path_of(key)).await {
            Ok(bytes) => Ok(Some(Blob { bytes: bytes.into(), content_type: content_type_for(key).to_owned() })),
            // A key that names a folder (`memes/<id>`), or goes through a file as if it were
            // one, holds no object: the same answer as a missing key.
            Err(e) if is_no_object(&e) => Ok(None),
            Err(e) => Err(io_error("reading", key, e)),
        }
    }

    async fn delete(&self, key: &BlobKey) -> StorageResult<()> {
        match tokio::fs::remove_file(self.path_of(key)).await {
            Ok(()) => Ok(()),
            Err(e) if is_no_object(&e) => Ok(()),
            Err(e) => Err(io_error("deleting", key, e)),
        }
    }
}
