//! Uploaded files, received to disk as they arrive.
//!
//! An upload may be 100 MB, and sixteen of them may arrive at once while only two render at a
//! time: holding every body in memory until its turn would cost gigabytes. So a body is kept in
//! memory only while it is small; past `IN_MEMORY_MAX` it goes to an unlinked temporary file in
//! the data folder's `tmp/`, and is read back into memory only by the work that needs it (a
//! render, once it holds a render slot; storing the original). Unlinked files vanish with the
//! process, so a crash leaves no debris behind.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use bytes::{Bytes, BytesMut};

/// Bodies up to this size stay in memory: a small upload costs no file, and sixteen large ones
/// being received at once hold at most 4 MiB between them before they reach the disk.
const IN_MEMORY_MAX: usize = 256 * 1024;

/// One received upload: its bytes, in memory or in a spooled file. Cheap to clone.
#[derive(Clone)]
pub struct Upload(Arc<Body>);

enum Body {
    Memory(Bytes),
    Spooled { file: Arc<std::fs::File>, len: usize },
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Upload({} bytes)", self.len())
    }
}

impl Upload {
    /// An upload already in memory (tests, and the bytes of stored pictures).
    pub fn from_bytes(bytes: Bytes) -> Self {
        Self(Arc::new(Body::Memory(bytes)))
    }

    pub fn len(&self) -> usize {
        match &*self.0 {
            Body::Memory(bytes) => bytes.len(),
            Body::Spooled { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The whole upload in memory. A spooled one is read back from its file on the blocking
    /// pool (from the page cache, usually: ~1 ms for 10 MB).
    pub async fn bytes(&self) -> anyhow::Result<Bytes> {
        match &*self.0 {
            Body::Memory(bytes) => Ok(bytes.clone()),
            Body::Spooled { file, len } => {
                let (file, len) = (file.clone(), *len);
                tokio::task::spawn_blocking(move || read_all(&file, len))
                    .await
                    .context("reading back a spooled upload")?
            }
        }
    }

    /// Up to `n` bytes from the start, without reading the rest (a format's signature).
    pub async fn head(&self, n: usize) -> anyhow::Result<Bytes> {
        match &*self.0 {
            Body::Memory(bytes) => Ok(bytes.slice(..n.min(bytes.len()))),
            Body::Spooled { file, len } => {
                let (file, n) = (file.clone(), n.min(*len));
                tokio::task::spawn_blocking(move || read_all(&file, n)).await.context("reading a spooled upload")?
            }
        }
    }
}

fn read_all(file: &std::fs::File, len: usize) -> anyhow::Result<Bytes> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; len];
    file.read_exact_at(&mut buf, 0).context("reading back a spooled upload")?;
    Ok(Bytes::from(buf))
}

/// The upload was larger than the limit (in bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge(pub usize);

/// Receives one upload chunk by chunk, refusing it the moment it passes `max` bytes.
pub struct UploadWriter {
    spool_dir: PathBuf,
    max: usize,
    memory: BytesMut,
    file: Option<std::fs::File>,
    len: usize,
}

impl UploadWriter {
    pub fn new(spool_dir: &Path, max: usize) -> Self {
        Self { spool_dir: spool_dir.to_owned(), max, memory: BytesMut::new(), file: None, len: 0 }
    }

    /// Adds a chunk. `Err(TooLarge)` as soon as the total passes the limit: the limit is on
    /// the file's own bytes, exactly.
    pub async fn write(&mut self, chunk: Bytes) -> Result<(), WriteError> {
        self.len = self.len.saturating_add(chunk.len());
        if self.len > self.max {
            return Err(WriteError::TooLarge(TooLarge(self.max)));
        }
        if self.file.is_none() && self.memory.len() + chunk.len() <= IN_MEMORY_MAX {
            self.memory.extend_from_slice(&chunk);
            return Ok(());
        }
        let file = match &mut self.file {
            Some(file) => file,
            None => self.file.insert(spool_file(&self.spool_dir)?),
        };
        // Written in place: a chunk (tens of kilobytes) into the page cache of an unsynced file
        // takes microseconds, less than handing it to the blocking pool would; and that pool's
        // threads, one per upload in flight, would each keep an allocator heap of their own.
        if !self.memory.is_empty() {
            file.write_all(&std::mem::take(&mut self.memory))?;
        }
        file.write_all(&chunk)?;
        Ok(())
    }

    pub fn finish(self) -> Upload {
        match self.file {
            Some(file) => Upload(Arc::new(Body::Spooled { file: Arc::new(file), len: self.len })),
            None => Upload(Arc::new(Body::Memory(self.memory.freeze()))),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("the upload is larger than {} bytes", .0.0)]
    TooLarge(TooLarge),
    #[error("spooling an upload to disk: {0}")]
    Io(#[from] std::io::Error),
}

/// An anonymous file in `dir`: unlinked as soon as it is made, so nothing is left to clean up.
fn spool_file(dir: &Path) -> std::io::Result<std::fs::File> {
    std::fs::create_dir_all(dir)?;
    tempfile::tempfile_in(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_large_upload_is_spooled_and_read_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = UploadWriter::new(dir.path(), 4 * 1024 * 1024);
        let chunk: Vec<u8> = (0..64 * 1024).map(|i| (i % 251) as u8).collect();
        for _ in 0..40 {
            writer.write(Bytes::from(chunk.clone())).await.unwrap();
        }
        let upload = writer.finish();
        assert!(matches!(&*upload.0, Body::Spooled { .. }));
        assert_eq!(upload.len(), 40 * chunk.len());
        let bytes = upload.bytes().await.unwrap();
        assert!(bytes.chunks(chunk.len()).all(|c| c == chunk.as_slice()));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "the spool file has no name");
    }

    #[tokio::test]
    async fn the_limit_is_on_the_files_own_bytes_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = UploadWriter::new(dir.path(), 10);
        writer.write(Bytes::from_static(b"0123456789")).await.unwrap();
        assert!(matches!(writer.write(Bytes::from_static(b"x")).await, Err(WriteError::TooLarge(TooLarge(10)))));
        let mut small = UploadWriter::new(dir.path(), 10);
        small.write(Bytes::from_static(b"abc")).await.unwrap();
        assert_eq!(small.finish().bytes().await.unwrap(), Bytes::from_static(b"abc"));
    }
}
