//! Comments: adding one, and deleting one (its author or the meme's creator may).

use super::Context;
use super::ServiceError;
use super::requests::Actor;
use crate::domain::{Comment, CommentBody, CommentId, MemeId};
use crate::storage::StorageError;

pub async fn add(cx: Context<'_>, actor: &Actor, meme: MemeId, body: CommentBody) -> Result<Comment, ServiceError> {
    let comment = Comment {
        id: CommentId::new(),
        meme_id: meme,
        author_id: actor.id,
        author: actor.username.clone(),
        body,
        created_at: super::now_to_the_second(),
    };
    // The store checks that the meme exists in the same write (its count goes up with it).
    match cx.storage.comments.add(&comment).await {
        Ok(()) => Ok(comment),
        Err(StorageError::NotFound) => Err(ServiceError::NotFound),
        Err(e) => Err(e.into()),
    }
}

/// Deletes a comment if `actor` wrote it or created its meme. Deleting one already gone is
/// done, not an error (two clicks on the button).
pub async fn delete(cx: Context<'_>, actor: &Actor, meme_id: MemeId, id: CommentId) -> Result<(), ServiceError> {
    let meme = cx.storage.memes.get(meme_id).await?.ok_or(ServiceError::NotFound)?;
    let comment = cx.storage.comments.get(meme.id, id).await?.ok_or(ServiceError::NotFound)?;
    if comment.author_id != actor.id && meme.creator_id != actor.id {
        return Err(ServiceError::Forbidden("Only the comment's author or the meme's creator can delete it.".into()));
    }
    match cx.storage.comments.delete(meme.id, id).await {
        Ok(()) | Err(StorageError::NotFound) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
