//! Subscribing to creators (idempotent both ways; nobody subscribes to themself).

use super::requests::Actor;
use super::{Context, ServiceError};
use crate::domain::{Notice, User, Username};

/// A creator by username, or `NotFound`.
pub async fn creator(cx: Context<'_>, username: &str) -> Result<User, ServiceError> {
    let name = Username::parse(username).map_err(|_| ServiceError::NotFound)?;
    cx.storage.users.find_by_username(&name).await?.ok_or(ServiceError::NotFound)
}

/// Subscribes `actor` to the creator, who is told (once per subscriber).
pub async fn subscribe(cx: Context<'_>, actor: &Actor, username: &str) -> Result<User, ServiceError> {
    let creator = creator(cx, username).await?;
    if creator.id == actor.id {
        return Err(ServiceError::BadInput("You can't subscribe to yourself.".into()));
    }
    let subscriber = cx.storage.users.get(actor.id).await?.ok_or(ServiceError::NotFound)?;
    // The creator hears of each subscriber once, in the subscription's transaction.
    let notice = Notice::subscriber(&creator, &subscriber);
    let subscribed = cx.storage.subscriptions.subscribe_with_notice(&creator, &subscriber, notice.as_ref()).await?;
    if subscribed {
        cx.badges.told(creator.id);
    }
    Ok(creator)
}

pub async fn unsubscribe(cx: Context<'_>, actor: &Actor, username: &str) -> Result<User, ServiceError> {
    let creator = creator(cx, username).await?;
    cx.storage.subscriptions.unsubscribe(&creator, actor.id).await?;
    Ok(creator)
}
