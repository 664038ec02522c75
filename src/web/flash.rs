//! One-time messages after an action ("Meme saved.", "You follow ann now."), shown once on
//! the page the action redirects to (post/redirect/get leaves no other place to say it).
//!
//! The message lives in the visitor's server-side session, so it survives the redirect on any
//! instance and is seen by no one else. Only signed-in actions leave one, and signed-in pages
//! are never kept by the page cache, so a message is never served to another visitor.

use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::error::AppError;

const FLASH_KEY: &str = "flash";

/// A message for the next page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flash {
    pub message: String,
}

/// Leaves `message` for the next page this session shows.
pub async fn say(session: &Session, message: impl Into<String>) -> Result<(), AppError> {
    session
        .insert(FLASH_KEY, Flash { message: message.into() })
        .await
        .map_err(|e| AppError::Unavailable(format!("session store: {e}")))
}

/// The message left for this page, removed so the next page does not show it again. A read
/// first: removing marks the session changed (a store write), which most pages do not need.
pub async fn take(session: &Session) -> Option<Flash> {
    let flash = session.get::<Flash>(FLASH_KEY).await.ok().flatten()?;
    // A failed removal shows the message once more on the next page; no reason to fail this one.
    let _ = session.remove_value(FLASH_KEY).await;
    Some(flash)
}
