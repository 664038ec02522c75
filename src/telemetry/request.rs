//! What the log knows about the request being served: its id, and who it is from once that is
//! known. The access-log middleware runs each request inside [`scope`]; every line logged
//! from that request's task then carries `request_id` (the formatters read it here), and the
//! access line names the user.
//!
//! A task-local rather than a tracing span: a span per request cost more than the access
//! line itself (its creation, closing, and an enter and exit at every poll), and all it would
//! carry is this id.

use std::future::Future;
use std::sync::{Arc, OnceLock};

use crate::domain::UserId;

tokio::task_local! {
    static CURRENT: Arc<RequestContext>;
}

pub struct RequestContext {
    id: Box<str>,
    user: OnceLock<String>,
}

impl RequestContext {
    pub fn new(id: &str) -> Arc<Self> {
        Arc::new(Self { id: id.into(), user: OnceLock::new() })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The user's pseudonym, when someone signed in made the request.
    pub fn user(&self) -> Option<&str> {
        self.user.get().map(String::as_str)
    }
}

/// Runs `work` as the request `context`.
pub async fn scope<F: Future>(context: Arc<RequestContext>, work: F) -> F::Output {
    CURRENT.scope(context, work).await
}

/// Runs `f` (synchronous) as the request `context`.
pub fn in_context<T>(context: &Arc<RequestContext>, f: impl FnOnce() -> T) -> T {
    CURRENT.sync_scope(context.clone(), f)
}

/// The id of the request this code serves, if it serves one.
pub fn with_current_id<T>(f: impl FnOnce(&str) -> T) -> Option<T> {
    CURRENT.try_with(|context| f(&context.id)).ok()
}

/// Notes who the request is from (a session's user or a token's owner). Outside a request
/// (background work, unit tests) it does nothing.
pub fn note_user(user: UserId) {
    let _ = CURRENT.try_with(|context| {
        context.user.get_or_init(|| user_pseudonym(user));
    });
}

/// The user as the access log and the audit lines name them: a pseudonym of the same key the
/// sign-in throttle counts under, so one account's lines can be followed without the log
/// holding who it is.
pub fn user_pseudonym(user: UserId) -> String {
    crate::audit::fingerprint(&format!("user:{user}"))
}
