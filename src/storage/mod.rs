//! Storage: the traits every backend implements, and the choice of backend at start-up.
//!
//! The traits are shaped the way DynamoDB works so that the `aws` backend fits them unchanged:
//! every lookup is by key, every list is a query on one key with an opaque cursor (never "read
//! everything, then filter"), uniqueness is a conditional insert, counters are atomic
//! increments, and a change that touches several records happens in one transaction.
//! `docs/storage.md` maps each trait method to its SQLite statement and DynamoDB request.

pub mod aws;
pub mod local;
pub mod views;

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use time::OffsetDateTime;

pub use crate::domain::BlobKey;
use crate::domain::{
    Comment, CommentId, DraftId, DraftOwner, Email, Job, Meme, MemeId, MemePublished, Notice, Notification,
    SharedTemplate, TemplateStats, TokenId, User, UserId, Username,
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
    /// The accounts among `ids` that exist, in any order (one BatchGetItem per 100 on DynamoDB).
    async fn get_many(&self, ids: &[UserId]) -> StorageResult<Vec<User>>;
    /// Records that the owner confirmed the address; `NotFound` if the account is gone.
    async fn mark_email_verified(&self, id: UserId) -> StorageResult<()>;
    /// Stops all email to the account holding `email` (a bounce or complaint); returns whether
    /// one did.
    async fn suppress_email(&self, email: &Email) -> StorageResult<bool>;
    /// Replaces the account's password hash; `NotFound` if the account is gone.
    async fn set_password_hash(&self, id: UserId, password_hash: &str) -> StorageResult<()>;
    /// Moves the account to `email`, which its owner just confirmed (so it counts as verified
    /// and no longer suppressed), atomically with claiming it: `Conflict("email")` if another
    /// account has it, `NotFound` if the account is gone.
    async fn change_email(&self, id: UserId, email: &Email) -> StorageResult<()>;
}

/// Deleting an account with everything it owns but its memes (which go one by one through
/// `MemeStore::delete`, so their media and notifications follow the usual path first).
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Removes, in this order: the account's comments on any meme (the memes' counts go down),
    /// its subscriptions both ways (creators' subscriber counts go down), its in-app
    /// notifications, its shared templates, its API tokens and one-time tokens, and last the
    /// account with its username and email. Sessions are the caller's (the web layer's session
    /// adapter). Returns the media keys of the shared templates removed, for the caller to
    /// delete. Safe to run again after a failure part way.
    async fn delete_account(&self, user: &User) -> StorageResult<Vec<BlobKey>>;
}

/// What a one-time token (emailed in a link) is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    ConfirmEmail,
    /// A "forgot password" link (`/password/reset/<token>`).
    ResetPassword,
    /// The link to a new address that moves the account there; the address is the token's
    /// detail.
    ChangeEmail,
}

impl TokenPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::ConfirmEmail => "confirm-email",
            TokenPurpose::ResetPassword => "reset-password",
            TokenPurpose::ChangeEmail => "change-email",
        }
    }
}

/// A one-time token used up: whose it was, and what it carried (empty for most purposes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TakenToken {
    pub user: UserId,
    pub detail: String,
}

/// Single-use secrets sent by email. Only a hash of the secret is stored (as with sessions), so
/// a copy of the store opens no accounts.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// `detail` is kept with it (e.g. the new address of an email change; "" for none).
    async fn put(
        &self,
        secret_hash: &str,
        purpose: TokenPurpose,
        user: UserId,
        detail: &str,
        expires_at: OffsetDateTime,
    ) -> StorageResult<()>;
    /// Removes the token and returns it, if it is live and for `purpose`: atomic, so two
    /// clicks on one link use it once.
    async fn take(
        &self,
        secret_hash: &str,
        purpose: TokenPurpose,
        now: OffsetDateTime,
    ) -> StorageResult<Option<TakenToken>>;
    /// The token's account if it is live and for `purpose`, leaving it in place: a page that
    /// shows a form for the link (which a mail scanner may fetch) must not use it up.
    async fn peek(
        &self,
        secret_hash: &str,
        purpose: TokenPurpose,
        now: OffsetDateTime,
    ) -> StorageResult<Option<UserId>>;
}

/// A personal API token as its owner sees it listed (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: TokenId,
    pub user_id: UserId,
    pub name: String,
    pub created_at: OffsetDateTime,
}

/// Personal API tokens. Only a SHA-256 hash of each secret is stored (the secret has 256 random
/// bits, so a fast hash is as good as a slow one), and a token lives until it is revoked.
#[async_trait]
pub trait ApiTokenStore: Send + Sync {
    /// Stores a new token under the hash of its secret.
    async fn create(&self, token: &ApiToken, secret_hash: &str) -> StorageResult<()>;
    /// The user's tokens, newest first.
    async fn list(&self, user: UserId) -> StorageResult<Vec<ApiToken>>;
    /// Revokes one of `user`'s tokens: false if they have none with that id (someone else's
    /// token is not theirs to revoke).
    async fn revoke(&self, user: UserId, id: TokenId) -> StorageResult<bool>;
    /// The live token whose secret hashes to `secret_hash`.
    async fn find(&self, secret_hash: &str) -> StorageResult<Option<ApiToken>>;
}

/// Counters that expire, shared by every instance: the sign-in throttle, the sign-up limit and
/// the hourly email cap count with them, so limits hold across instances and restarts.
#[async_trait]
pub trait Counters: Send + Sync {
    /// Adds one to `key` (creating it, to be forgotten after `expires_at`) and returns the new
    /// value.
    async fn increment(&self, key: &str, expires_at: OffsetDateTime) -> StorageResult<u64>;
    /// The current values of `keys` (0 for a missing or expired one), in the same order.
    async fn get(&self, keys: &[String], now: OffsetDateTime) -> StorageResult<Vec<u64>>;
    async fn reset(&self, keys: &[String]) -> StorageResult<()>;
}

/// One stored session: an opaque payload (serialised by the web layer), its expiry, and the
/// account signed in with it (so all of an account's sessions can be ended at once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub id: String,
    pub data: Vec<u8>,
    pub expires_at: OffsetDateTime,
    pub user: Option<UserId>,
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
    /// Removes every session of `user` but the one with id `keep` ("sign out everywhere
    /// else"); returns how many. On DynamoDB the sessions are found through an index, which may
    /// miss a session made in the last moment.
    async fn delete_for_user(&self, user: UserId, keep: Option<&str>) -> StorageResult<u64>;
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

/// What a draft's key holds, read no further than the size limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DraftContent {
    /// Nothing: never made, made by another browser, or removed.
    Missing,
    /// More than the limit asked for (a direct upload the store could not bound); not read.
    TooLarge,
    Found(Bytes),
}

/// A form the browser posts a draft's file to itself, without passing through the app: the
/// URL, then the fields to send before the file (in this order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectUpload {
    pub url: String,
    pub fields: Vec<(String, String)>,
    /// The name of the file's own field.
    pub file_field: String,
}

/// Draft uploads (issue 15), under `drafts/<owner>/<id>` (`domain::draft_key`). Whether a draft
/// is live is in its id; the store keeps bytes and removes what expired.
#[async_trait]
pub trait DraftStore: Send + Sync {
    /// Keeps a draft's bytes, completely or not at all.
    async fn put(&self, owner: &DraftOwner, id: &DraftId, bytes: Bytes) -> StorageResult<()>;
    /// The draft's bytes, unless there are more than `max_bytes`.
    async fn get(&self, owner: &DraftOwner, id: &DraftId, max_bytes: u64) -> StorageResult<DraftContent>;
    /// A form for the browser to send the draft's file straight to storage, of at most
    /// `max_bytes` and until `valid_until`; `None` where drafts are posted to the app (local).
    async fn direct_upload(
        &self,
        owner: &DraftOwner,
        id: &DraftId,
        max_bytes: u64,
        valid_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StorageResult<Option<DirectUpload>>;
    /// Where direct uploads go (scheme, host and port), for the content security policy.
    fn direct_upload_origin(&self) -> Option<String>;
    /// Removes the drafts that expired by `now`; returns how many. (S3 does this by itself with
    /// a lifecycle rule on the prefix, so there it returns 0.)
    async fn delete_expired(&self, now: OffsetDateTime) -> StorageResult<u64>;
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
    /// parent, and its "meme published" job (`Meme::published`) for the delivery worker, which
    /// tells each subscriber. A crash after this returns loses no notification.
    async fn create(&self, meme: &Meme) -> StorageResult<()> {
        self.create_with_notice(meme, None).await
    }
    /// `create`, and `notice` (a remix's, for its parent's creator) in the same transaction,
    /// unless its event was told already or its recipient is gone.
    async fn create_with_notice(&self, meme: &Meme, notice: Option<&Notice>) -> StorageResult<()>;
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
    async fn list_by_creator(&self, creator: &User, page: PageRequest) -> StorageResult<Page<Meme>>;
    /// Memes remixing `parent`, newest first.
    async fn list_remixes(&self, parent: MemeId, page: PageRequest) -> StorageResult<Page<Meme>>;
    /// Brings the "most commented" list up to date where it is computed apart from the writes
    /// (aws: a materialised list, so a comment touches no index); the delivery worker calls it
    /// every few seconds. Where the order is an index of the records (local), nothing to do.
    async fn refresh_rankings(&self, now: OffsetDateTime) -> StorageResult<()>;
    /// What a deleted meme leaves that its transaction could not take (DynamoDB: its comments
    /// and its subscribers' in-app notifications, unbounded in number): the worker's, from the
    /// `MemeDeleted` job. Where a cascade took them with the meme (local), nothing to do.
    async fn purge(&self, deleted: &crate::domain::MemeDeleted) -> StorageResult<()>;
}

/// What a creator's portfolio page shows.
#[derive(Debug, Clone)]
pub struct Portfolio {
    pub profile: Profile,
    pub memes: Page<Meme>,
}

/// A creator as their portfolio shows them to one viewer.
#[derive(Debug, Clone)]
pub struct Profile {
    pub creator: User,
    pub subscribers: u64,
    /// Whether the viewer follows them (false for anonymous viewers and the creator).
    pub viewer_subscribed: bool,
}

/// What a meme's page shows.
#[derive(Debug, Clone)]
pub struct MemeView {
    pub meme: Meme,
    pub comments: Page<Comment>,
    /// The meme it remixes, if any and known (a remix whose parent was deleted keeps its link).
    pub parent: Option<Meme>,
    /// The name of the shared (user) template it is drawn on, if any.
    pub shared_template_name: Option<String>,
    /// Its newest remixes (their counts are on their own pages: `comment_count` 0 here).
    pub remixes: Vec<Meme>,
}

/// The reads of the pages with the most visitors, each shaped to fit the request budget of
/// SPEC §7 (on DynamoDB: at most two requests, plus the session's): a backend answers each with
/// as few round trips as its layout allows.
#[async_trait]
pub trait PageViews: Send + Sync {
    /// `None` when there is no such creator.
    async fn portfolio(
        &self,
        creator: &Username,
        viewer: Option<UserId>,
        page: PageRequest,
    ) -> StorageResult<Option<Portfolio>>;
    /// The portfolio without its memes (when the page has them already): `None` when there is
    /// no such creator.
    async fn profile(&self, creator: &Username, viewer: Option<UserId>) -> StorageResult<Option<Profile>>;
    /// `None` when there is no such meme.
    async fn meme(&self, id: MemeId, comments: PageRequest, remixes: usize) -> StorageResult<Option<MemeView>>;
    /// A page of `list`, each meme with its newest comments (at most [`FEED_COMMENTS`], newest
    /// first): the API's list, which costs what the home page does.
    async fn feed(&self, order: MemeOrder, page: PageRequest) -> StorageResult<Page<MemeWithComments>>;
}

/// How many of a meme's newest comments a feed carries.
pub const FEED_COMMENTS: usize = 2;

/// A meme in a feed, with its newest comments.
#[derive(Debug, Clone, PartialEq)]
pub struct MemeWithComments {
    pub meme: Meme,
    /// Newest first.
    pub latest_comments: Vec<Comment>,
}

#[async_trait]
pub trait CommentStore: Send + Sync {
    /// Adds the comment and increments the meme's count atomically; `NotFound` if the meme is
    /// gone.
    async fn add(&self, comment: &Comment) -> StorageResult<()> {
        self.add_with_notice(comment, None).await
    }
    /// `add`, and `notice` (for the meme's creator) in the same transaction, unless its event
    /// was told already or its recipient is gone.
    async fn add_with_notice(&self, comment: &Comment, notice: Option<&Notice>) -> StorageResult<()>;
    async fn get(&self, meme: MemeId, id: CommentId) -> StorageResult<Option<Comment>>;
    /// Removes it and decrements the count atomically; `NotFound` if it did not exist.
    async fn delete(&self, meme: MemeId, id: CommentId) -> StorageResult<()>;
    /// Oldest first.
    async fn list(&self, meme: MemeId, page: PageRequest) -> StorageResult<Page<Comment>>;
    /// The newest `n`, oldest first (for previews in lists).
    async fn latest(&self, meme: MemeId, n: usize) -> StorageResult<Vec<Comment>>;
    /// The newest `n` of each of `memes`, newest first; memes without comments are absent.
    async fn latest_of(
        &self,
        memes: &[MemeId],
        n: usize,
    ) -> StorageResult<std::collections::HashMap<MemeId, Vec<Comment>>> {
        let mut found = std::collections::HashMap::new();
        for meme in memes {
            let mut comments = self.latest(*meme, n).await?;
            if !comments.is_empty() {
                comments.reverse();
                found.insert(*meme, comments);
            }
        }
        Ok(found)
    }
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
}

impl SubscriptionState {
    pub fn is_subscribed(self) -> bool {
        self == Self::Subscribed
    }
}

/// A subscriber as the delivery worker needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriberRef {
    pub id: UserId,
    /// For the one-click unsubscribe link in their emails.
    pub unsubscribe_token: String,
}

/// Subscriptions name the creator by the whole account: DynamoDB keys them by the creator's
/// username (so a portfolio, which knows only the name, reads everything in one request).
#[async_trait]
pub trait SubscriptionStore: Send + Sync {
    /// Idempotent; returns whether a new subscription was made. The creator's subscriber count
    /// changes in the same transaction, only when something changed.
    async fn subscribe(&self, creator: &User, subscriber: &User) -> StorageResult<bool> {
        self.subscribe_with_notice(creator, subscriber, None).await
    }
    /// `subscribe`, and, when it made a new subscription, `notice` (for the creator) in the
    /// same transaction, unless its event was told already (a subscriber who comes back).
    async fn subscribe_with_notice(
        &self,
        creator: &User,
        subscriber: &User,
        notice: Option<&Notice>,
    ) -> StorageResult<bool>;
    async fn unsubscribe(&self, creator: &User, subscriber: UserId) -> StorageResult<bool>;
    /// The one-click link from an email; returns the creator unfollowed, if the token was live.
    async fn unsubscribe_by_token(&self, token: &str) -> StorageResult<Option<Username>>;
    /// Where `subscriber` stands with `creator`.
    async fn state(&self, creator: &User, subscriber: UserId) -> StorageResult<SubscriptionState>;
    async fn subscriber_count(&self, creator: &User) -> StorageResult<u64>;
    /// Creators `subscriber` follows, most recent first.
    async fn following(&self, subscriber: UserId, page: PageRequest) -> StorageResult<Page<Following>>;
    /// A creator's subscribers, a page at a time (the delivery worker's fan-out).
    async fn subscribers(&self, creator: &User, page: PageRequest) -> StorageResult<Page<SubscriberRef>>;
}

/// Inboxes: the new memes of creators one follows, and what others did to one's memes and
/// following ([`Notice`]s, written by the stores of those actions).
#[async_trait]
pub trait NotificationStore: Send + Sync {
    /// Newest first, each marked read or not.
    async fn list(&self, recipient: UserId, page: PageRequest) -> StorageResult<Page<Notification>>;
    /// How many are unread: exact up to [`UNREAD_SHOWN`], which a backend may stop counting
    /// at (the header's badge reads it on every signed-in page).
    async fn unread_count(&self, recipient: UserId) -> StorageResult<u64>;
    /// `list` and `unread_count` together, for the notifications page (a backend may read what
    /// both need once).
    async fn inbox(&self, recipient: UserId, page: PageRequest) -> StorageResult<(Page<Notification>, u64)> {
        tokio::try_join!(self.list(recipient, page), self.unread_count(recipient))
    }
    /// Newest first, where read state does not matter (the feed of followed creators): a
    /// backend may leave it out and mark every one read.
    async fn recent(&self, recipient: UserId, page: PageRequest) -> StorageResult<Page<Notification>> {
        self.list(recipient, page).await
    }
    async fn mark_all_read(&self, recipient: UserId) -> StorageResult<()>;
    /// What the notifications page shows when it is opened: a page of the inbox, each marked
    /// read or not as it was, with the unread count before; and then every notification is
    /// read (one write, and on DynamoDB its old values replace the read of `inbox`).
    async fn open_inbox(&self, recipient: UserId, page: PageRequest) -> StorageResult<(Page<Notification>, u64)>;
    /// Gives each of `recipients` the in-app notification of `meme`. Idempotent: a fan-out
    /// retried after a crash adds nothing twice.
    async fn deliver(&self, meme: &MemePublished, recipients: &[UserId]) -> StorageResult<()>;
}

/// The unread count the header shows in full; more is "99+".
pub const UNREAD_SHOWN: u64 = 99;

/// A job taken from the queue, hidden from other workers until completed or its time runs out.
#[derive(Debug, Clone)]
pub struct ReceivedJob {
    pub job: Job,
    /// Names this delivery of the job, for `complete` and `hide`.
    pub receipt: String,
    /// How many times the job has been received, this time included.
    pub receive_count: u32,
}

/// The delivery worker's queue: SQS on AWS (fed by the events topic), a table locally. A job
/// received but neither completed nor hidden again comes back once its time runs out, so a
/// worker that dies loses nothing; any number of workers can share the queue.
#[async_trait]
pub trait JobQueue: Send + Sync {
    /// Adds a job, to be received no sooner than `delay` from now.
    async fn enqueue(&self, job: &Job, delay: std::time::Duration) -> StorageResult<()>;
    /// Up to `max` jobs, each hidden for `hidden_for`. Waits up to `wait` for one to arrive
    /// where the queue can (SQS long polling); returns an empty list otherwise.
    async fn receive(
        &self,
        max: usize,
        hidden_for: std::time::Duration,
        wait: std::time::Duration,
    ) -> StorageResult<Vec<ReceivedJob>>;
    async fn complete(&self, receipt: &str) -> StorageResult<()>;
    /// Completes several jobs at once (SQS deletes ten in one request).
    async fn complete_all(&self, receipts: &[String]) -> StorageResult<()> {
        for receipt in receipts {
            self.complete(receipt).await?;
        }
        Ok(())
    }
    /// Keeps the job hidden for `hidden_for` from now: a retry's backoff, or a long fan-out
    /// holding on to its job.
    async fn hide(&self, receipt: &str, hidden_for: std::time::Duration) -> StorageResult<()>;
    /// How much work is owed, for the metrics endpoint.
    async fn backlog(&self) -> StorageResult<Backlog>;
}

/// The delivery queue's backlog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backlog {
    /// Jobs not completed: due, delayed, or received and being worked on (SQS's counts are
    /// approximate).
    pub jobs: u64,
    /// How long the oldest due job has waited (zero when none is due), where the queue can
    /// tell: SQS reports that to CloudWatch only (`ApproximateAgeOfOldestMessage`).
    pub oldest_due: Option<std::time::Duration>,
}

/// Moves events written with their records (in the same transaction) onto the event bus: on
/// AWS, "meme published" events from the table's outbox items to the SNS topic, which feeds the
/// delivery queue. The local backend writes its jobs straight into its queue and has none.
#[async_trait]
pub trait EventRelay: Send + Sync {
    /// Publishes every due event; returns how many.
    async fn relay_due(&self, now: OffsetDateTime) -> StorageResult<usize>;
}

/// Where an email's send stands (see `DeliveryState::claim_send`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendClaim {
    /// This worker may send it now.
    Claimed,
    /// It went out already.
    AlreadySent,
    /// Another worker claimed it moments ago.
    HeldElsewhere,
}

/// The delivery worker's bookkeeping, which makes delivery exactly-once in effect.
#[async_trait]
pub trait DeliveryState: Send + Sync {
    /// Claims the email named `key` (e.g. one meme for one subscriber). A claim older than
    /// `stale_after` is taken over: its worker died between claiming and sending.
    async fn claim_send(&self, key: &str, now: OffsetDateTime, stale_after: time::Duration)
    -> StorageResult<SendClaim>;
    /// Records the emails as sent, claimed or not: by the worker that sent one, or by the email
    /// service's receipts for them (which may come for an email whose claim is gone), a
    /// received batch at a time.
    async fn mark_sent(&self, keys: &[String]) -> StorageResult<()>;
    /// Gives a claim back after a failed send, so a retry sends it.
    async fn release(&self, key: &str) -> StorageResult<()>;
    /// Where a long job (a fan-out) got to, so a redelivered job resumes there.
    async fn progress(&self, job_key: &str) -> StorageResult<Option<Cursor>>;
    async fn save_progress(&self, job_key: &str, cursor: &Cursor) -> StorageResult<()>;
    async fn clear_progress(&self, job_key: &str) -> StorageResult<()>;
    /// Holds `meme` back for `recipient`'s digest of `hour`; true when it is the first held
    /// (the caller then schedules the digest).
    async fn hold_for_digest(&self, recipient: UserId, hour: i64, meme: MemeId) -> StorageResult<bool>;
    /// The memes held for that digest, oldest first. (They expire after a week; the digest's
    /// own send claim keeps it from going out twice.)
    async fn held_for_digest(&self, recipient: UserId, hour: i64) -> StorageResult<Vec<MemeId>>;
}

#[async_trait]
pub trait TemplateStore: Send + Sync {
    async fn create(&self, template: &SharedTemplate) -> StorageResult<()>;
    async fn get(&self, id: &str) -> StorageResult<Option<SharedTemplate>>;
    /// Newest first.
    async fn list(&self, page: PageRequest) -> StorageResult<Page<SharedTemplate>>;
    /// Use counts, with memes per day for the `days` days up to `today`.
    async fn stats(&self, template_id: &str, today: time::Date, days: u16) -> StorageResult<TemplateStats>;
    /// How many memes were made with each of `template_ids` (builtin or shared), in the same
    /// order, 0 for one never used: the editor's "most used first", in one request (a
    /// BatchGetItem of their `TOTAL` items on DynamoDB, so at most 100 ids a request).
    async fn meme_counts(&self, template_ids: &[String]) -> StorageResult<Vec<u64>>;
    /// A template page's read: the shared template `id` (`None` for a builtin one, or one nobody
    /// shared) with the newest `limit` memes made with it, newest first, without their counters.
    /// One Query on DynamoDB, where a card of each meme shares the template's partition.
    async fn get_with_recent_memes(&self, id: &str, limit: usize) -> StorageResult<TemplateWithMemes>;
}

/// A template with the newest memes made with it (`TemplateStore::get_with_recent_memes`).
#[derive(Debug, Clone, Default)]
pub struct TemplateWithMemes {
    pub shared: Option<SharedTemplate>,
    pub recent: Vec<Meme>,
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
    /// Expired counters, tokens and old delivery records (where no TTL removes them).
    pub expired_rows: u64,
}

/// What a crash can leave behind (temporary files, media no record names), and its removal.
#[async_trait]
pub trait Debris: Send + Sync {
    /// Removes temporary files older than a minute or than `cutoff`, and media whose owner (a
    /// meme or shared template, by the id in its key) was made before `cutoff` and has no record.
    async fn sweep(&self, cutoff: OffsetDateTime) -> StorageResult<DebrisReport>;
}

/// The CDN in front of the media (CloudFront), which keeps serving an object after it is
/// deleted until told otherwise.
#[async_trait]
pub trait MediaCache: Send + Sync {
    /// Drops the CDN's copies of these media keys (one request for all of them).
    async fn invalidate(&self, keys: &[String]) -> StorageResult<()>;
}

/// Whether the backend answers; `/healthz` and start-up use it.
#[async_trait]
pub trait HealthCheck: Send + Sync {
    async fn check(&self) -> StorageResult<()>;
}

/// A fresh secret for a subscription's one-click unsubscribe link (128 random bits, hex).
/// A meme's stored description. This code wrote it; one it cannot read (from a future
/// version, or damaged) reads as no boxes, so a remix of it starts from the default layout
/// rather than failing the meme's page.
pub fn parse_spec(json: &str) -> crate::render::MemeSpec {
    // Lists read no description (the default, no boxes): nothing to parse.
    if json.is_empty() {
        return crate::render::MemeSpec::default();
    }
    serde_json::from_str(json).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "a stored meme description could not be read");
        crate::render::MemeSpec::default()
    })
}

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
    pub accounts: Arc<dyn AccountStore>,
    pub sessions: Arc<dyn SessionStore>,
    pub blobs: Arc<dyn BlobStore>,
    /// Draft uploads, apart from the media (which are public by key).
    pub drafts: Arc<dyn DraftStore>,
    pub health: Arc<dyn HealthCheck>,
    pub memes: Arc<dyn MemeStore>,
    pub comments: Arc<dyn CommentStore>,
    pub subscriptions: Arc<dyn SubscriptionStore>,
    pub notifications: Arc<dyn NotificationStore>,
    pub templates: Arc<dyn TemplateStore>,
    pub settings: Arc<dyn SettingsStore>,
    pub views: Arc<dyn PageViews>,
    pub tokens: Arc<dyn TokenStore>,
    pub api_tokens: Arc<dyn ApiTokenStore>,
    pub counters: Arc<dyn Counters>,
    pub jobs: Arc<dyn JobQueue>,
    pub deliveries: Arc<dyn DeliveryState>,
    /// Present where events travel through a bus after their transaction (the aws backend).
    pub relay: Option<Arc<dyn EventRelay>>,
    /// Present where a CDN caches the media (aws with `SKYHIGH_CLOUDFRONT_DISTRIBUTION`).
    pub media_cache: Option<Arc<dyn MediaCache>>,
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
