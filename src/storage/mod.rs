//! Storage: the traits every backend implements, and the choice of backend at start-up.
//!
//! The traits are shaped the way DynamoDB works so that the `aws` backend fits them unchanged:
//! every lookup is by key, every list is a query on one key with an opaque cursor (never "read
//! everything, then filter"), uniqueness is a conditional insert, counters are atomic
//! increments, and a change that touches several records happens in one transaction.
//! `docs/storage.md` maps each trait method to its SQLite statement and DynamoDB request.

pub mod aws;
pub mod local;

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use time::OffsetDateTime;

use crate::domain::{
    Comment, CommentId, Delivery, Email, Meme, MemeId, Notification, SharedTemplate, TemplateStats, User, UserId,
    Username,
};

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
    /// A cursor the backend cannot use (stale, or for another list).
    #[error("invalid cursor")]
    InvalidCursor,
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

/// A backend's position in a list: opaque to callers (the web layer signs it before handing it
/// out, so a forged one never reaches the backend).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(pub String);

/// One page of a list, and where the next one starts (None on the last page).
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
}

/// Which page to read: at most `limit` items after `after`.
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub after: Option<Cursor>,
    pub limit: usize,
}

impl PageRequest {
    pub const MAX_LIMIT: usize = 100;

    pub fn first(limit: usize) -> Self {
        Self { after: None, limit: limit.clamp(1, Self::MAX_LIMIT) }
    }

    pub fn after(cursor: Option<Cursor>, limit: usize) -> Self {
        Self { after: cursor, limit: limit.clamp(1, Self::MAX_LIMIT) }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemeOrder {
    /// Newest first.
    New,
    /// Most comments first, then newest.
    Top,
}

/// Memes and everything that changes with them.
#[async_trait]
pub trait MemeStore: Send + Sync {
    /// Stores the meme and, in the same transaction: the use counters of its template and
    /// parent, and one pending notification (in-app + email outbox) for each subscriber of its
    /// creator. A crash after this returns loses no notification.
    async fn create(&self, meme: &Meme) -> StorageResult<()>;
    async fn get(&self, id: MemeId) -> StorageResult<Option<Meme>>;
    /// The meme with the first page of its comments (oldest first): the meme page's main read,
    /// one Query on DynamoDB, where the comments share the meme's partition.
    async fn get_with_comments(
        &self,
        id: MemeId,
        comments: PageRequest,
    ) -> StorageResult<Option<(Meme, Page<Comment>)>>;
    /// Removes the meme with its comments and notifications in one transaction and returns it
    /// (the caller then deletes its media). `None` if it did not exist.
    async fn delete(&self, id: MemeId) -> StorageResult<Option<Meme>>;
    async fn list(&self, order: MemeOrder, page: PageRequest) -> StorageResult<Page<Meme>>;
    /// A creator's memes, newest first.
    async fn list_by_creator(&self, creator: UserId, page: PageRequest) -> StorageResult<Page<Meme>>;
    /// Memes remixing `parent`, newest first.
    async fn list_remixes(&self, parent: MemeId, page: PageRequest) -> StorageResult<Page<Meme>>;
}

#[async_trait]
pub trait CommentStore: Send + Sync {
    /// Adds the comment and increments the meme's count atomically; `NotFound` if the meme is
    /// gone.
    async fn add(&self, comment: &Comment) -> StorageResult<()>;
    async fn get(&self, meme: MemeId, id: CommentId) -> StorageResult<Option<Comment>>;
    /// Removes it and decrements the count atomically; `NotFound` if it did not exist.
    async fn delete(&self, meme: MemeId, id: CommentId) -> StorageResult<()>;
    /// Oldest first.
    async fn list(&self, meme: MemeId, page: PageRequest) -> StorageResult<Page<Comment>>;
    /// The newest `n`, oldest first (for previews in lists).
    async fn latest(&self, meme: MemeId, n: usize) -> StorageResult<Vec<Comment>>;
}

/// A creator someone follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Following {
    pub creator_id: UserId,
    pub creator: Username,
}

/// Where a subscriber stands with a creator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionState {
    NotSubscribed,
    Subscribed,
    /// Subscribed, but the email service (SNS) sends nothing until the subscriber confirms
    /// their address through the email it sent them.
    AwaitingEmailConfirmation,
}

impl SubscriptionState {
    pub fn is_subscribed(self) -> bool {
        self != Self::NotSubscribed
    }
}

#[async_trait]
pub trait SubscriptionStore: Send + Sync {
    /// Idempotent; returns whether a new subscription was made. The creator's subscriber count
    /// changes in the same transaction, only when something changed.
    async fn subscribe(&self, creator: &User, subscriber: &User) -> StorageResult<bool>;
    async fn unsubscribe(&self, creator: UserId, subscriber: UserId) -> StorageResult<bool>;
    /// The one-click link from an email; returns the creator unfollowed, if the token was live.
    async fn unsubscribe_by_token(&self, token: &str) -> StorageResult<Option<Username>>;
    /// Where `subscriber` stands with `creator`.
    async fn state(&self, creator: UserId, subscriber: UserId) -> StorageResult<SubscriptionState>;
    async fn subscriber_count(&self, creator: UserId) -> StorageResult<u64>;
    /// Creators `subscriber` follows, most recent first.
    async fn following(&self, subscriber: UserId, page: PageRequest) -> StorageResult<Page<Following>>;
}

#[async_trait]
pub trait NotificationStore: Send + Sync {
    /// Newest first.
    async fn list(&self, recipient: UserId, page: PageRequest) -> StorageResult<Page<Notification>>;
    async fn unread_count(&self, recipient: UserId) -> StorageResult<u64>;
    async fn mark_all_read(&self, recipient: UserId) -> StorageResult<()>;
}

/// The email outbox: pending deliveries written with the meme, worked through by a worker.
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Deliveries due at `now`, leased until `now + lease` so another worker skips them.
    async fn claim(&self, now: OffsetDateTime, lease: time::Duration, limit: usize) -> StorageResult<Vec<Delivery>>;
    async fn complete(&self, delivery_id: &str) -> StorageResult<()>;
    /// Puts a failed delivery back for another try at `at`.
    async fn retry_at(&self, delivery_id: &str, at: OffsetDateTime) -> StorageResult<()>;
}

/// Email that the backend delivers by itself to everyone subscribed to a creator: on AWS, one
/// SNS topic per creator (the local backend has none; the app sends each email itself).
#[async_trait]
pub trait CreatorTopics: Send + Sync {
    /// Publishes one message to the creator's topic, for every subscriber to receive by email.
    async fn publish(&self, creator: &Username, subject: &str, text: &str) -> StorageResult<()>;
}

#[async_trait]
pub trait TemplateStore: Send + Sync {
    async fn create(&self, template: &SharedTemplate) -> StorageResult<()>;
    async fn get(&self, id: &str) -> StorageResult<Option<SharedTemplate>>;
    /// Newest first.
    async fn list(&self, page: PageRequest) -> StorageResult<Page<SharedTemplate>>;
    /// Use counts, with memes per day for the `days` days up to `today`.
    async fn stats(&self, template_id: &str, today: time::Date, days: u16) -> StorageResult<TemplateStats>;
}

/// Small shared values every instance must agree on.
#[async_trait]
pub trait SettingsStore: Send + Sync {
    /// The value under `name`, set to `candidate` first if it had none (a conditional insert,
    /// so concurrent first starts agree on one value).
    async fn get_or_init(&self, name: &str, candidate: &[u8]) -> StorageResult<Vec<u8>>;
}

/// What `Debris::sweep` removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DebrisReport {
    pub temp_files: u64,
    pub orphan_media: u64,
}

/// What a crash can leave behind (temporary files, media no record names), and its removal.
#[async_trait]
pub trait Debris: Send + Sync {
    /// Removes temporary files older than a minute or than `cutoff`, and media whose owner (a
    /// meme or shared template, by the id in its key) was made before `cutoff` and has no record.
    async fn sweep(&self, cutoff: OffsetDateTime) -> StorageResult<DebrisReport>;
}

/// Whether the backend answers; `/healthz` and start-up use it.
#[async_trait]
pub trait HealthCheck: Send + Sync {
    async fn check(&self) -> StorageResult<()>;
}

/// A fresh secret for a subscription's one-click unsubscribe link (128 random bits, hex).
pub fn new_unsubscribe_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every store the app uses, as trait objects chosen once at start-up.
#[derive(Clone)]
pub struct Storage {
    pub users: Arc<dyn UserStore>,
    pub sessions: Arc<dyn SessionStore>,
    pub blobs: Arc<dyn BlobStore>,
    pub health: Arc<dyn HealthCheck>,
    pub memes: Arc<dyn MemeStore>,
    pub comments: Arc<dyn CommentStore>,
    pub subscriptions: Arc<dyn SubscriptionStore>,
    pub notifications: Arc<dyn NotificationStore>,
    pub outbox: Arc<dyn Outbox>,
    pub templates: Arc<dyn TemplateStore>,
    pub settings: Arc<dyn SettingsStore>,
    /// Present when deliveries use `DeliveryChannel::CreatorTopic` (the aws backend).
    pub creator_topics: Option<Arc<dyn CreatorTopics>>,
    /// Present where a crash can leave files behind (the local backend's data folder).
    pub debris: Option<Arc<dyn Debris>>,
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
