//! Sessions: tower-sessions over our storage trait, plus the typed extractors handlers use.
//!
//! Idle expiry is 7 days and absolute expiry 30 days. To keep a page view free of writes, the
//! idle deadline is pushed forward at most once a day (when `last_seen` is a day old) rather
//! than on every request.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store;
use tower_sessions::{Expiry, Session, SessionManagerLayer};

use super::error::AppError;
use crate::domain::{UserId, Username};
use crate::storage::{self, SessionRecord, StorageError};

pub const COOKIE_NAME: &str = "skyhigh_session";
pub const IDLE_EXPIRY: time::Duration = time::Duration::days(7);
pub const ABSOLUTE_EXPIRY: time::Duration = time::Duration::days(30);
const TOUCH_AFTER: time::Duration = time::Duration::days(1);
pub(crate) const AUTH_KEY: &str = "auth";

/// The sessions layer over `adapter` (the one in the application state, so that ending an
/// account's sessions also forgets what it remembers of them).
pub fn layer(adapter: SessionStoreAdapter, secure: bool) -> SessionManagerLayer<SessionStoreAdapter> {
    SessionManagerLayer::new(adapter)
        .with_name(COOKIE_NAME)
        .with_http_only(true)
        .with_same_site(tower_sessions::cookie::SameSite::Lax)
        .with_secure(secure)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(IDLE_EXPIRY))
}

/// Sessions kept in memory at most, and for at most this long.
const RECENT_SESSIONS: u64 = 10_000;
const RECENT_FOR: std::time::Duration = std::time::Duration::from_secs(30);

/// Adapts our backend-neutral `SessionStore` to tower-sessions. Session ids are stored only as
/// SHA-256 hashes, so a copy of the sessions table does not hand out live cookies.
///
/// On the local backend every signed-in page read its session from SQLite: a fifth of the
/// page's time. There every change to a session (sign-in, the daily touch, sign-out) passes
/// through this adapter, which keeps what it read or wrote in memory, forgets a deleted
/// session at once and still honours each record's expiry. Anything else that removes a
/// session (the expiry sweep; a future "sign out everywhere" must go through the adapter) is
/// seen within `RECENT_FOR`; ending all of an account's sessions (`end_sessions_of`) goes
/// through here. On aws other instances change sessions too, so nothing is kept.
#[derive(Clone)]
pub struct SessionStoreAdapter {
    store: Arc<dyn storage::SessionStore>,
    recent: Option<moka::sync::Cache<Id, Record>>,
}

impl fmt::Debug for SessionStoreAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionStoreAdapter")
    }
}

fn storage_key(id: &Id) -> String {
    let digest = Sha256::digest(id.to_string().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn to_stored(record: &Record) -> session_store::Result<SessionRecord> {
    Ok(SessionRecord {
        id: storage_key(&record.id),
        data: serde_json::to_vec(&record.data).map_err(|e| session_store::Error::Encode(e.to_string()))?,
        expires_at: record.expiry_date,
        user: signed_in_user(record),
    })
}

/// The account a session record is signed in with, if any.
fn signed_in_user(record: &Record) -> Option<UserId> {
    let auth = record.data.get(AUTH_KEY)?;
    serde_json::from_value::<AuthState>(auth.clone()).ok().map(|auth| auth.user_id)
}

fn backend_error(error: StorageError) -> session_store::Error {
    session_store::Error::Backend(error.to_string())
}

#[async_trait]
impl session_store::SessionStore for SessionStoreAdapter {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // A collision of 128 random bits is practically impossible, but a conditional insert
        // makes it impossible for one session to overwrite another.
        loop {
            match self.store.insert(&to_stored(record)?).await {
                Err(StorageError::Conflict(_)) => record.id = Id::default(),
                other => {
                    other.map_err(backend_error)?;
                    self.remember(record);
                    return Ok(());
                }
            }
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        // Forgotten first: if the write fails, the next read asks the store.
        self.forget(&record.id);
        self.store.save(&to_stored(record)?).await.map_err(backend_error)?;
        self.remember(record);
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        if let Some(recent) = self.recent.as_ref().and_then(|r| r.get(id))
            && recent.expiry_date > OffsetDateTime::now_utc()
        {
            return Ok(Some(recent));
        }
        let Some(stored) = self.store.load(&storage_key(id)).await.map_err(backend_error)? else {
            // Cookies expire with their records, so a live browser rarely sends an unknown
            // id: a forged, replayed or stolen-then-revoked one is the usual reason.
            tracing::warn!(event = "unknown_session", "a session cookie named no live session");
            return Ok(None);
        };
        let data = serde_json::from_slice(&stored.data).map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let record = Record { id: *id, data, expiry_date: stored.expires_at };
        self.remember(&record);
        Ok(Some(record))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.forget(id);
        self.store.delete(&storage_key(id)).await.map_err(backend_error)
    }
}

impl SessionStoreAdapter {
    /// `remember`: keep recently read sessions in memory: only where every change to them
    /// passes through this process (the local backend).
    pub fn new(store: Arc<dyn storage::SessionStore>, remember: bool) -> Self {
        let recent = remember
            .then(|| moka::sync::Cache::builder().max_capacity(RECENT_SESSIONS).time_to_live(RECENT_FOR).build());
        Self { store, recent }
    }

    /// Ends every session of `user` but `keep` (the browser asking, when it stays signed in):
    /// in the store, and in what this process remembers, so the next request with any of
    /// them is anonymous at once.
    pub async fn end_sessions_of(&self, user: UserId, keep: Option<Id>) -> Result<u64, AppError> {
        let removed = self
            .store
            .delete_for_user(user, keep.as_ref().map(storage_key).as_deref())
            .await
            .map_err(|e| AppError::Unavailable(format!("session store: {e}")))?;
        if let Some(recent) = &self.recent {
            let ended: Vec<Id> = recent
                .iter()
                .filter(|(id, record)| Some(**id) != keep && signed_in_user(record) == Some(user))
                .map(|(id, _)| *id)
                .collect();
            for id in &ended {
                recent.invalidate(id);
            }
        }
        Ok(removed)
    }

    fn remember(&self, record: &Record) {
        if let Some(recent) = &self.recent {
            recent.insert(record.id, record.clone());
        }
    }

    fn forget(&self, id: &Id) {
        if let Some(recent) = &self.recent {
            recent.invalidate(id);
        }
    }
}

/// What the session remembers about a signed-in user.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct AuthState {
    user_id: UserId,
    username: String,
    /// Unix seconds of sign-in: the absolute expiry counts from here.
    signed_in_at: i64,
    /// Unix seconds of the last time the idle deadline was pushed forward.
    last_seen: i64,
    /// Whether the account's address was confirmed at sign-in (or since). Sessions from before
    /// confirmation existed belong to accounts that count as confirmed.
    #[serde(default = "confirmed")]
    email_verified: bool,
}

fn confirmed() -> bool {
    true
}

/// The signed-in user, as pages need it (no storage lookup per request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    pub id: UserId,
    pub username: Username,
    /// Until the address is confirmed the account may read, not post.
    pub email_verified: bool,
}

impl SignedIn {
    /// The user as the use cases know them. Callers check `email_verified` where posting needs
    /// it (`RequireVerified`, `require_verified`).
    pub fn actor(&self) -> crate::services::Actor {
        crate::services::Actor { id: self.id, username: self.username.clone() }
    }
}

fn session_error(e: tower_sessions::session::Error) -> AppError {
    AppError::Unavailable(format!("session store: {e}"))
}

/// Reads who is signed in, applying the absolute expiry and the once-a-day idle refresh.
pub async fn signed_in(session: &Session) -> Result<Option<SignedIn>, AppError> {
    let Some(auth) = session.get::<AuthState>(AUTH_KEY).await.map_err(session_error)? else {
        return Ok(None);
    };
    let now = OffsetDateTime::now_utc().unix_timestamp();
    if now - auth.signed_in_at >= ABSOLUTE_EXPIRY.whole_seconds() {
        session.flush().await.map_err(session_error)?;
        return Ok(None);
    }
    if now - auth.last_seen >= TOUCH_AFTER.whole_seconds() {
        // Marks the session modified, so tower-sessions saves it with a fresh idle deadline.
        let touched = AuthState { last_seen: now, ..auth.clone() };
        session.insert(AUTH_KEY, touched).await.map_err(session_error)?;
    }
    let Ok(username) = Username::parse(&auth.username) else {
        session.flush().await.map_err(session_error)?;
        return Ok(None);
    };
    crate::telemetry::request::note_user(auth.user_id);
    Ok(Some(SignedIn { id: auth.user_id, username, email_verified: auth.email_verified }))
}

/// Signs `user` in: a new session id (so a planted id is useless), then the auth record.
pub async fn sign_in(session: &Session, user: &crate::domain::User) -> Result<(), AppError> {
    session.cycle_id().await.map_err(session_error)?;
    crate::telemetry::request::note_user(user.id);
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let auth = AuthState {
        user_id: user.id,
        username: user.username.to_string(),
        signed_in_at: now,
        last_seen: now,
        email_verified: user.email_verified,
    };
    session.insert(AUTH_KEY, auth).await.map_err(session_error)
}

/// Records in the session that the address is now confirmed (it was, in another browser).
async fn mark_verified(session: &Session) -> Result<(), AppError> {
    if let Some(auth) = session.get::<AuthState>(AUTH_KEY).await.map_err(session_error)? {
        session.insert(AUTH_KEY, AuthState { email_verified: true, ..auth }).await.map_err(session_error)?;
    }
    Ok(())
}

/// What an account that has not confirmed its address is told when it tries to post.
pub const CONFIRM_FIRST: &str =
    "Please confirm your email address first: open the link we sent you. (The banner at the top can send it again.)";

/// Signs out: the record is deleted server-side, so the old cookie is worthless.
pub async fn sign_out(session: &Session) -> Result<(), AppError> {
    session.flush().await.map_err(session_error)
}

/// The user, if someone is signed in.
pub struct CurrentUser(pub Option<SignedIn>);

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|_| AppError::Internal(anyhow::anyhow!("session layer missing")))?;
        Ok(Self(signed_in(&session).await?))
    }
}

/// A signed-in user; anyone else is sent to the sign-in page and brought back afterwards.
pub struct RequireUser(pub SignedIn);

pub struct SignInRedirect(String);

impl IntoResponse for SignInRedirect {
    fn into_response(self) -> Response {
        Redirect::to(&self.0).into_response()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequireUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match CurrentUser::from_request_parts(parts, state).await {
            Ok(CurrentUser(Some(user))) => Ok(Self(user)),
            Ok(CurrentUser(None)) => {
                let back = if parts.method == axum::http::Method::GET {
                    parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
                } else {
                    "/"
                };
                let target = format!("/login?next={}", super::forms::url_encode(back));
                Err(SignInRedirect(target).into_response())
            }
            Err(e) => Err(e.into_response()),
        }
    }
}

/// A signed-in user whose address is confirmed: what posting (saving memes, commenting,
/// subscribing) requires. The session says so without a lookup; when it says not yet, the
/// account is read once more, since the link may have been opened in another browser.
pub struct RequireVerified(pub SignedIn);

impl<S> FromRequestParts<S> for RequireVerified
where
    S: Send + Sync,
    super::AppState: axum::extract::FromRef<S>,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let RequireUser(user) = RequireUser::from_request_parts(parts, state).await?;
        let app = <super::AppState as axum::extract::FromRef<S>>::from_ref(state);
        require_verified(&app, parts.extensions.get::<Session>(), user)
            .await
            .map(Self)
            .map_err(IntoResponse::into_response)
    }
}

/// `user` if their address is confirmed (looking again if the session says not yet).
pub async fn require_verified(
    app: &super::AppState,
    session: Option<&Session>,
    user: SignedIn,
) -> Result<SignedIn, AppError> {
    if user.email_verified {
        return Ok(user);
    }
    let account = app.storage.users.get(user.id).await?.ok_or(AppError::NotFound)?;
    if !account.email_verified {
        return Err(AppError::Forbidden(CONFIRM_FIRST.into()));
    }
    if let Some(session) = session {
        mark_verified(session).await?;
    }
    Ok(SignedIn { email_verified: true, ..user })
}

/// Only local paths may be redirected to after sign-in: "/x" but never "//evil.example" or
/// "/\evil.example" (browsers read both as another host).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && !path.chars().any(|c| c.is_control()) =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A session stored with `auth`, then loaded afresh as a new request would.
    async fn stored_session(auth: AuthState) -> (Session, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let storage = crate::storage::local::open(dir.path()).unwrap();
        let store = Arc::new(SessionStoreAdapter::new(storage.sessions, false));
        let expiry = Some(Expiry::OnInactivity(IDLE_EXPIRY));
        let first = Session::new(None, store.clone(), expiry);
        first.insert(AUTH_KEY, auth).await.unwrap();
        first.save().await.unwrap();
        (Session::new(first.id(), store, expiry), dir)
    }

    fn auth(signed_in_days_ago: i64, seen_days_ago: i64) -> AuthState {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        AuthState {
            user_id: UserId::new(),
            username: "ann".into(),
            signed_in_at: now - signed_in_days_ago * 86_400,
            last_seen: now - seen_days_ago * 86_400,
            email_verified: true,
        }
    }

    #[tokio::test]
    async fn a_session_older_than_the_absolute_expiry_is_signed_out_and_deleted() {
        let (session, _dir) = stored_session(auth(31, 0)).await;
        assert_eq!(signed_in(&session).await.unwrap(), None);
        assert!(session.is_empty().await);
        assert_eq!(session.id(), None, "the stored record was deleted");
    }

    #[tokio::test]
    async fn a_recently_seen_session_is_read_without_a_write() {
        let (session, _dir) = stored_session(auth(3, 0)).await;
        assert!(signed_in(&session).await.unwrap().is_some());
        assert!(!session.is_modified(), "no write on every page view");
    }

    #[tokio::test]
    async fn a_session_seen_a_day_ago_has_its_idle_deadline_pushed_forward() {
        let (session, _dir) = stored_session(auth(3, 2)).await;
        let user = signed_in(&session).await.unwrap().expect("still signed in");
        assert_eq!(user.username.as_str(), "ann");
        assert!(session.is_modified(), "marked for saving with a fresh expiry");
    }

    /// The remembered copy of a session is never more than the store says: gone when deleted,
    /// refused once expired, replaced when saved.
    #[tokio::test]
    async fn a_remembered_session_is_forgotten_when_deleted_and_refused_when_expired() {
        use tower_sessions::session_store::SessionStore as _;
        let dir = tempfile::tempdir().unwrap();
        let storage = crate::storage::local::open(dir.path()).unwrap();
        let adapter = SessionStoreAdapter::new(storage.sessions.clone(), true);
        let data = std::collections::HashMap::from([("k".to_owned(), serde_json::json!(1))]);
        let later = OffsetDateTime::now_utc() + time::Duration::hours(1);
        let mut record = Record { id: Id::default(), data, expiry_date: later };
        adapter.create(&mut record).await.unwrap();
        assert_eq!(adapter.load(&record.id).await.unwrap(), Some(record.clone()));

        record.data.insert("k".into(), serde_json::json!(2));
        adapter.save(&record).await.unwrap();
        assert_eq!(adapter.load(&record.id).await.unwrap().unwrap().data["k"], 2, "the saved copy");

        adapter.delete(&record.id).await.unwrap();
        assert_eq!(adapter.load(&record.id).await.unwrap(), None, "forgotten with the stored one");

        let mut expiring = Record {
            id: Id::default(),
            data: Default::default(),
            expiry_date: OffsetDateTime::now_utc() + time::Duration::milliseconds(300),
        };
        adapter.create(&mut expiring).await.unwrap();
        assert!(adapter.load(&expiring.id).await.unwrap().is_some());
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        assert_eq!(adapter.load(&expiring.id).await.unwrap(), None, "its expiry holds in memory too");
    }

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next(Some("/u/ann?x=1")), "/u/ann?x=1");
        for evil in ["//evil.example", "/\\evil.example", "https://evil.example", "javascript:alert(1)", "/\nx"] {
            assert_eq!(safe_next(Some(evil)), "/", "{evil:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
