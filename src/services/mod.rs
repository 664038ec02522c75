//! The use cases: the one place where what the site does is written down. Each door (the HTML
//! pages in `web::pages`, the JSON API in `web::api`, memes by URL) parses its input into the
//! typed requests of [`requests`], calls one function here, and presents the result; none of
//! them reaches into storage or the engine for a use case of its own.

pub mod account;
pub mod browse;
pub mod comments;
pub mod drafts;
pub mod editor;
mod error;
pub mod memes;
pub mod memes_by_url;
pub mod notifications;
pub mod pictures;
pub mod requests;
pub mod subscriptions;
pub mod templates;
pub mod tokens;
pub mod uploads;

use time::OffsetDateTime;

use crate::notify::Wake;
use crate::storage::Storage;
use memes::Renderer;

pub use error::ServiceError;
pub use requests::Actor;

/// What the use cases work with, borrowed from the application state for one call.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub storage: &'a Storage,
    pub renderer: &'a Renderer,
    /// Wakes the delivery worker after a change it has a job for.
    pub wake: &'a Wake,
    /// The header's unread counts, told of the notices written here.
    pub badges: &'a notifications::UnreadBadges,
}

/// Now, to the whole second: records keep seconds, so what is returned equals what is read back.
pub fn now_to_the_second() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(OffsetDateTime::now_utc().unix_timestamp())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}
