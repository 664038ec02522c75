//! Comments: adding one, and deleting one (its author or the meme's creator may).

use super::Context;
use super::ServiceError;
use super::requests::Actor;
use crate::domain::{Comment, CommentBody, CommentId, MemeId, Notice};
use crate::storage::StorageError;

/// Adds the comment and, in the same transaction, the meme's creator's notice of it (unless
/// they wrote it).
pub async fn add(cx: Context<'_>, actor: &Actor, meme: MemeId, body: CommentBody) -> Result<Comment, ServiceError> {
    // Whose meme it is (that never changes); the add checks again that it still exists.
    let meme = cx.storage.memes.get(meme).await?.ok_or(ServiceError::NotFound)?;
    let comment = Comment {
        id: CommentId::new(),
        meme_id: meme.id,
        author_id: actor.id,
        author: actor.username.clone(),
        body,
        created_at: super::now_to_the_second(),
    };
    // The store checks that the meme exists in the same write (its count goes up with it).
    let notice = Notice::comment(&meme, &comment);
    match cx.storage.comments.add_with_notice(&comment, notice.as_ref()).await {
        Ok(()) => {
            if let Some(notice) = notice {
                cx.badges.told(notice.recipient_id);
            }
            Ok(comment)
        }
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
