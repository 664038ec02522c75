//! Reading the site: the feed of memes, a meme with its comments, a creator's profile and memes.

use super::{Context, ServiceError};
use crate::domain::{Comment, Meme, MemeId, Username};
use crate::storage::{MemeOrder, MemeWithComments, Page, PageRequest, Portfolio};

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

/// A creator's profile and a page of their memes, newest first.
pub async fn portfolio(cx: Context<'_>, username: &str, page: PageRequest) -> Result<Portfolio, ServiceError> {
    let name = Username::parse(username).map_err(|_| ServiceError::NotFound)?;
    cx.storage.views.portfolio(&name, None, page).await?.ok_or(ServiceError::NotFound)
}
