//! Contract tests for creators' notices: what others did to a creator (a comment, a remix, a new
//! subscriber), written with the action in its transaction, told once, and listed in the same
//! inbox as the new memes of followed creators.

use skyhigh::domain::{Meme, Notice, NotificationKind, User};
use skyhigh::storage::{PageRequest, Storage, StorageError};

use crate::site_contract::{meme_by, saved, user};

fn comment_by(meme: &Meme, author: &User, text: &str) -> skyhigh::domain::Comment {
    skyhigh::domain::Comment {
        id: skyhigh::domain::CommentId::new(),
        meme_id: meme.id,
        author_id: author.id,
        author: author.username.clone(),
        body: skyhigh::domain::CommentBody::parse(text).unwrap(),
        created_at: time::OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
    }
}

/// A remix of `parent` by `remixer`, carrying its parent as a save does.
fn remix_of(parent: &Meme, remixer: &User) -> Meme {
    let mut remix = meme_by(remixer, "chelsea", Some(parent.id));
    remix.parent_snapshot = Some(Box::new(parent.clone()));
    remix
}

async fn kinds(storage: &Storage, recipient: &User) -> Vec<NotificationKind> {
    let page = storage.notifications.list(recipient.id, PageRequest::first(50)).await.unwrap();
    page.items.into_iter().map(|n| n.kind).collect()
}

pub async fn a_comment_a_remix_and_a_subscriber_each_tell_the_creator_once(storage: &Storage) {
    let ann = user(storage, "ann").await;
    let bob = user(storage, "bob").await;
    let meme = saved(storage, &ann).await;

    let comment = comment_by(&meme, &bob, "nice");
    storage.comments.add_with_notice(&comment, Notice::comment(&meme, &comment).as_ref()).await.unwrap();
    let remix = remix_of(&meme, &bob);
    storage.memes.create_with_notice(&remix, Notice::remix(&meme, &remix).as_ref()).await.unwrap();
    // Subscribing again, and coming back after unsubscribing, tells nothing new.
    for _ in 0..2 {
        for _ in 0..2 {
            let notice = Notice::subscriber(&ann, &bob);
            storage.subscriptions.subscribe_with_notice(&ann, &bob, notice.as_ref()).await.unwrap();
        }
        assert!(storage.subscriptions.unsubscribe(&ann, bob.id).await.unwrap());
    }
    assert!(
        storage.subscriptions.subscribe_with_notice(&ann, &bob, Notice::subscriber(&ann, &bob).as_ref()).await.unwrap()
    );

    let inbox = storage.notifications.list(ann.id, PageRequest::first(50)).await.unwrap();
    let told: Vec<_> = inbox.items.iter().map(|n| (n.actor.as_str(), n.kind.clone(), n.read)).collect();
    assert_eq!(
        told,
        vec![
            ("bob", NotificationKind::Subscriber, false),
            (
                "bob",
                NotificationKind::Remix {
                    meme_id: remix.id,
                    parent_id: meme.id,
                    thumb_key: remix.media.thumb_key.to_string()
                },
                false
            ),
            ("bob", NotificationKind::Comment { meme_id: meme.id, comment_id: comment.id }, false),
        ],
        "newest first"
    );
    assert_eq!(storage.notifications.unread_count(ann.id).await.unwrap(), 3);
    assert_eq!(storage.notifications.unread_count(bob.id).await.unwrap(), 0, "the actor hears nothing");
    // The actions themselves happened, with their counts.
    assert_eq!(storage.memes.get(meme.id).await.unwrap().unwrap().comment_count, 1);
    assert_eq!(storage.memes.get(meme.id).await.unwrap().unwrap().remix_count, 1);
    assert_eq!(storage.subscriptions.subscriber_count(&ann).await.unwrap(), 1);
}

pub async fn nobody_is_told_of_what_they_did_themself(storage: &Storage) {
    let ann = user(storage, "ann").await;
    let meme = saved(storage, &ann).await;
    let own_comment = comment_by(&meme, &ann, "mine");
    let own_remix = remix_of(&meme, &ann);
    assert_eq!(Notice::comment(&meme, &own_comment), None);
    assert_eq!(Notice::remix(&meme, &own_remix), None);
    assert_eq!(Notice::subscriber(&ann, &ann), None);
    storage.comments.add_with_notice(&own_comment, None).await.unwrap();
    storage.memes.create_with_notice(&own_remix, None).await.unwrap();
    assert_eq!(kinds(storage, &ann).await, vec![]);
}

pub async fn a_comment_on_a_missing_meme_tells_nobody(storage: &Storage) {
    let ann = user(storage, "ann").await;
    let bob = user(storage, "bob").await;
    let meme = meme_by(&ann, "chelsea", None);
    let comment = comment_by(&meme, &bob, "into the void");
    let added = storage.comments.add_with_notice(&comment, Notice::comment(&meme, &comment).as_ref()).await;
    assert!(matches!(added, Err(StorageError::NotFound)), "{added:?}");
    assert_eq!(kinds(storage, &ann).await, vec![]);
    assert_eq!(storage.notifications.unread_count(ann.id).await.unwrap(), 0);
}

pub async fn opening_the_inbox_shows_what_was_unread_then_reads_everything(storage: &Storage) {
    let ann = user(storage, "ann").await;
    let bob = user(storage, "bob").await;
    let meme = saved(storage, &ann).await;
    let comment = comment_by(&meme, &bob, "first");
    storage.comments.add_with_notice(&comment, Notice::comment(&meme, &comment).as_ref()).await.unwrap();
    storage.subscriptions.subscribe_with_notice(&ann, &bob, Notice::subscriber(&ann, &bob).as_ref()).await.unwrap();

    let (opened, unread) = storage.notifications.open_inbox(ann.id, PageRequest::first(10)).await.unwrap();
    assert_eq!(unread, 2);
    assert_eq!(opened.items.iter().map(|n| n.read).collect::<Vec<_>>(), vec![false, false], "as they were");
    assert_eq!(storage.notifications.unread_count(ann.id).await.unwrap(), 0);

    let later = comment_by(&meme, &bob, "second");
    storage.comments.add_with_notice(&later, Notice::comment(&meme, &later).as_ref()).await.unwrap();
    let (opened, unread) = storage.notifications.open_inbox(ann.id, PageRequest::first(10)).await.unwrap();
    assert_eq!(unread, 1);
    assert_eq!(opened.items.iter().map(|n| n.read).collect::<Vec<_>>(), vec![false, true, true]);
    let (opened, unread) = storage.notifications.open_inbox(ann.id, PageRequest::first(10)).await.unwrap();
    assert_eq!((unread, opened.items.iter().all(|n| n.read)), (0, true));
}

/// New memes of followed creators and notices share one list by time; a remix by a creator one
/// follows is both, and both are listed.
pub async fn notices_and_new_memes_page_through_one_inbox_newest_first_each_once(storage: &Storage) {
    let ann = user(storage, "ann").await;
    let bob = user(storage, "bob").await;
    let original = saved(storage, &ann).await;
    let mut expected = Vec::new();
    for round in 0..3 {
        let news = saved(storage, &bob).await;
        storage.notifications.deliver(&news.published(), &[ann.id]).await.unwrap();
        expected.push(NotificationKind::NewMeme { meme_id: news.id, thumb_key: news.media.thumb_key.to_string() });
        let comment = comment_by(&original, &bob, &format!("comment {round}"));
        storage.comments.add_with_notice(&comment, Notice::comment(&original, &comment).as_ref()).await.unwrap();
        expected.push(NotificationKind::Comment { meme_id: original.id, comment_id: comment.id });
    }
    let remix = remix_of(&original, &bob);
    storage.memes.create_with_notice(&remix, Notice::remix(&original, &remix).as_ref()).await.unwrap();
    storage.notifications.deliver(&remix.published(), &[ann.id]).await.unwrap();
    expected.push(NotificationKind::NewMeme { meme_id: remix.id, thumb_key: remix.media.thumb_key.to_string() });
    expected.push(NotificationKind::Remix {
        meme_id: remix.id,
        parent_id: original.id,
        thumb_key: remix.media.thumb_key.to_string(),
    });
    expected.reverse();

    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = storage.notifications.list(ann.id, PageRequest::after(cursor, 3)).await.unwrap();
        seen.extend(page.items.into_iter().map(|n| n.kind));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, expected);
    assert_eq!(storage.notifications.unread_count(ann.id).await.unwrap(), 8);
}
