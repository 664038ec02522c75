//! Storage: the traits every backend implements, and the choice of backend at start-up.
//!
//! The traits are shaped the way DynamoDB works so that the `aws` backend fits them unchanged:
//! every lookup is by key, every list is a query on one key with an opaque cursor (never "read
//! everything, then filter"), uniqueness is a conditional insert, counters are atomic
//! increments, and a change that touches several records happens in one transaction.
//! `docs/storage.md` maps each trait method to its SQLite statement and DynamoDB request.

pub mod local;

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use time::OffsetDateTime;

use crate::domain::{Email, User, UserId, Username};

/// The one error type handlers see. Backends translate their SQL/SDK errors into it, so no
/// handler ever matches on a driver error.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("not found")]
    NotFound,
    /// A conditional write lost: the named unique value (e.g. "username") is taken.
    #[error("{0} already taken")]
    Conflict(&'static str),
    /// The backend cannot be reached right now (pages answer 503, `/healthz` too).
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

pub type StorageResult<T> = Result<T, StorageError>;

/// Accounts. Username and email are each unique; `create` claims both or neither.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Inserts the account if neither its username nor its email is taken, atomically.
    /// Fails with `Conflict("username")` or `Conflict("email")`.
    async fn create(&self, user: &User) -> StorageResult<()>;
    async fn get(&self, id: UserId) -> StorageResult<Option<User>>;
    async fn find_by_username(&self, username: &Username) -> StorageResult<Option<User>>;
    async fn find_by_email(&self, email: &Email) -> StorageResult<Option<User>>;
}

/// One stored session: an opaque payload (serialised by the web layer) and its expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub id: String,
    pub data: Vec<u8>,
    pub expires_at: OffsetDateTime,
}

/// Server-side sessions, shared by every app instance (so the app is stateless).
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Inserts a session under a fresh id; `Conflict("session id")` if the id exists.
    async fn insert(&self, record: &SessionRecord) -> StorageResult<()>;
    /// Inserts or replaces.
    async fn save(&self, record: &SessionRecord) -> StorageResult<()>;
    /// The session, unless missing or expired.
    async fn load(&self, id: &str) -> StorageResult<Option<SessionRecord>>;
    async fn delete(&self, id: &str) -> StorageResult<()>;
    /// Removes sessions that expired before `now`; returns how many. (DynamoDB does this by
    /// itself through the table's TTL attribute, so there it may return 0.)
    async fn delete_expired(&self, now: OffsetDateTime) -> StorageResult<u64>;
}

/// A stored object: media bytes and their type.
#[derive(Debug, Clone)]
pub struct Blob {
    pub bytes: Bytes,
    pub content_type: String,
}

/// Media objects under immutable keys (new content, new key), so they can be cached forever.
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Stores the object completely or not at all: a reader never sees half a file.
    async fn put(&self, key: &BlobKey, bytes: Bytes, content_type: &str) -> StorageResult<()>;
    async fn get(&self, key: &BlobKey) -> StorageResult<Option<Blob>>;
    /// Deleting a missing object is not an error.
    async fn delete(&self, key: &BlobKey) -> StorageResult<()>;
}

/// A media key: 1–200 characters of `a-z 0-9 . _ -` in `/`-separated segments, none of them
/// empty, `.` or `..`. Being this strict makes a key safe as a file path and as an S3 key alike.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BlobKey(String);

impl BlobKey {
    pub fn parse(key: &str) -> Option<Self> {
        let charset_ok =
            key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-' | b'/'));
        let segments_ok = key.split('/').all(|segment| !segment.is_empty() && segment != "." && segment != "..");
        (charset_ok && segments_ok && (1..=200).contains(&key.len())).then(|| Self(key.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether the backend answers; `/healthz` and start-up use it.
#[async_trait]
pub trait HealthCheck: Send + Sync {
    async fn check(&self) -> StorageResult<()>;
}

/// Every store the app uses, as trait objects chosen once at start-up.
#[derive(Clone)]
pub struct Storage {
    pub users: Arc<dyn UserStore>,
    pub sessions: Arc<dyn SessionStore>,
    pub blobs: Arc<dyn BlobStore>,
    pub health: Arc<dyn HealthCheck>,
}

#[cfg(test)]
mod tests {
    use super::BlobKey;

    #[test]
    fn blob_keys_cannot_escape_their_folder() {
        for bad in ["", "../x", "a/../b", "/abs", "a//b", "A.jpg", "a/./b", "a\\b", "a b"] {
            assert!(BlobKey::parse(bad).is_none(), "{bad:?}");
        }
        assert!(BlobKey::parse("memes/01hx/display.jpg").is_some());
    }
}
