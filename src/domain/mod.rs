//! Domain types: parsed once at the edge, so deeper code never sees unchecked strings.
//! No I/O lives here.

mod blob_key;
mod draft;
mod email;
mod id;
mod jobs;
mod meme;
mod notification;
mod password;
pub mod text;
mod user;
mod username;

pub use blob_key::BlobKey;
pub use draft::{DRAFTS_PREFIX, DraftId, DraftOwner, draft_key};
pub use email::Email;
pub use id::{CommentId, IdError, MemeId, NotificationId, TokenId, UserId};
pub use jobs::{
    AccountEmail, AccountEmailKind, Digest, EmailFeedback, EmailSent, FeedbackKind, Job, MemeDeleted, MemePublished,
};
pub use meme::{Comment, CommentBody, Meme, MemeMedia, MemeSource, SharedTemplate, TemplateStats};
pub use notification::{Notice, Notification, NotificationKind, is_inbox_position};
pub use password::Password;
pub use text::Caption;
pub use user::User;
pub use username::Username;

/// A rule a piece of user input broke, phrased for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidInput(pub String);

impl InvalidInput {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}
