//! Reading the site: the feed of memes, a meme with its comments, a creator's profile and memes.

use super::{Context, ServiceError};
use crate::domain::{Comment, Meme, MemeId, UserId, Username};
use crate::storage::{MemeOrder, MemeWithComments, Page, PageRequest, Portfolio, Profile};

/// A page of memes, newest or most commented first, each with its two newest comments.
pub async fn feed(
    cx: Context<'_>,
    order: MemeOrder,
    page: PageRequest,
) -> Result<Page<MemeWithComments>, ServiceError> {
    Ok(cx.storage.views.feed(order, page).await?)
}

/// A meme and its first comments (oldest first).
pub async fn meme(cx: Context<'_>, id: MemeId, comments: PageRequest) -> Result<(Meme, Page<Comment>), ServiceError> {
    cx.storage.memes.get_with_comments(id, comments).await?.ok_or(ServiceError::NotFound)
}

/// A creator's profile (as `viewer` sees it: do they follow them?) and a page of their memes,
/// newest first.
pub async fn portfolio(
    cx: Context<'_>,
    username: &str,
    viewer: Option<UserId>,
    page: PageRequest,
) -> Result<Portfolio, ServiceError> {
    let name = Username::parse(username).map_err(|_| ServiceError::NotFound)?;
    cx.storage.views.portfolio(&name, viewer, page).await?.ok_or(ServiceError::NotFound)
}

/// The profile alone, for a page that has the memes already.
pub async fn profile(cx: Context<'_>, username: &str, viewer: Option<UserId>) -> Result<Profile, ServiceError> {
    let name = Username::parse(username).map_err(|_| ServiceError::NotFound)?;
    cx.storage.views.profile(&name, viewer).await?.ok_or(ServiceError::NotFound)
}
