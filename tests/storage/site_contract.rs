//! Contract tests for the site's stores: memes, comments, subscriptions, notifications, outbox,
//! templates, settings.

use std::collections::HashSet;

use skyhigh::domain::{
    Comment, CommentBody, CommentId, Delivery, DeliveryChannel, Email, Meme, MemeId, MemeMedia, MemeSource,
    SharedTemplate, User, UserId, Username,
};
use skyhigh::storage::{Cursor, MemeOrder, PageRequest, Storage, StorageError, SubscriptionState};
use time::{Duration, OffsetDateTime};

pub async fn user(storage: &Storage, name: &str) -> User {
    let user = User {
        id: UserId::new(),
        username: Username::parse(name).unwrap(),
        email: Email::parse(&format!("{name}@example.com")).unwrap(),
        password_hash: "x".into(),
        created_at: OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
    };
    storage.users.create(&user).await.unwrap();
    user
}

pub fn meme_by(creator: &User, template: &str, parent: Option<MemeId>) -> Meme {
    let id = MemeId::new();
    Meme {
        id,
        creator_id: creator.id,
        creator: creator.username.clone(),
        source: MemeSource::Template(template.into()),
        parent_id: parent,
        captions: vec!["top".into(), "bottom".into()],
        spec_json: "{}".into(),
        media: MemeMedia {
            display_key: format!("memes/{id}/display.jpg"),
            thumb_key: format!("memes/{id}/thumb.jpg"),
            content_type: "image/jpeg".into(),
            width: 600,
            height: 400,
            thumb_width: 300,
            thumb_height: 200,
        },
        comment_count: 0,
        remix_count: 0,
        created_at: OffsetDateTime::from_unix_timestamp(OffsetDateTime::now_utc().unix_timestamp()).unwrap(),
    }
}

async fn saved(storage: &Storage, creator: &User) -> Meme {
    let meme = meme_by(creator, "chelsea", None);
    storage.memes.create(&meme).await.unwrap();
    meme
}

async fn comment_on(storage: &Storage, meme: &Meme, author: &User, text: &str) -> Comment {
    let comment = Comment {
        id: CommentId::new(),
        meme_id: meme.id,
        author_id: author.id,
        author: author.username.clone(),
        body: CommentBody::parse(text).unwrap(),
        created_at: OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
    };
    storage.comments.add(&comment).await.unwrap();
    comment
}

pub async fn a_saved_meme_reads_back_whole(storage: &Storage) {
    let ann = user(storage, "ann").await;
    let mut meme = meme_by(&ann, "chelsea", None);
    meme.source = MemeSource::Upload { original_key: "originals/x.png".into() };
    storage.memes.create(&meme).await.unwrap();
    assert_eq!(storage.memes.get(meme.id).await.unwrap(), Some(meme));
    assert_eq!(storage.memes.get(MemeId::new()).await.unwrap(), None);
}

pub async fn newest_first_pagination_neither_repeats_nor_skips_while_memes_arrive(storage: &Storage) {
    let ann = user(storage, "ann").await;
    let mut originals = Vec::new();
    for _ in 0..7 {
        originals.push(saved(storage, &ann).await.id);
    }
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = storage.memes.list(MemeOrder::New, PageRequest::after(cursor, 3)).await.unwrap();
        seen.extend(page.items.iter().map(|m| m.id));
        // New memes arrive between page loads; they belong before the cursor, never after it.
        saved(storage, &ann).await;
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let mut expected = originals.clone();
    expected.reverse();
    assert_eq!(seen, expected);
}

pub async fn top_orders_by_comments_then_newest(storage: &Storage) {
    let ann = user(storage, "ann").await;
    let quiet_old = saved(storage, &ann).await;
    let busy = saved(storage, &ann).await;
    let quiet_new = saved(storage, &ann).await;
    comment_on(storage, &busy, &ann, "first").await;
    comment_on(storage, &busy, &ann, "second").await;

    let first = storage.memes.list(MemeOrder::Top, PageRequest::first(2)).await.unwrap();
    let rest = storage.memes.list(MemeOrder::Top, PageRequest::after(first.next.clone(), 2)).await.unwrap();

    let ids: Vec<_> = first.items.iter().chain(&rest.items).map(|m| m.id).collect();
    assert_eq!(ids, vec![busy.id, quiet_new.id, quiet_old.id]);
    assert_eq!(first.items[0].comment_count, 2);
    assert!(rest.next.is_none());
}

pub async fn a_forged_cursor_is_invalid_not_a_crash(storage: &Storage) {
    for order in [MemeOrder::New, MemeOrder::Top] {
        let result = storage.memes.list(order, PageRequest::after(Some(Cursor("'; DROP TABLE memes".into())), 5)).await;
        assert!(matches!(result, Err(StorageError::InvalidCursor)), "{order:?}");
    }
}

pub async fn a_creators_memes_and_a_memes_remixes_are_listed_newest_first(storage: &Storage) {
    let ann = user(storage, "ann").await;
    let bob = user(storage, "bob").await;
    let original = saved(storage, &ann).await;
    saved(storage, &bob).await;
    let remix_a = meme_by(&bob, "chelsea", Some(original.id));
    storage.memes.create(&remix_a).await.unwrap();
    let remix_b = meme_by(&ann, "chelsea", Some(original.id));
    storage.memes.create(&remix_b).await.unwrap();

    let anns = storage.memes.list_by_creator(ann.id, PageRequest::first(10)).await.unwrap();
    assert_eq!(anns.items.iter().map(|m| m.id).collect::<Vec<_>>(), vec![remix_b.id, original.id]);
    let remixes = storage.memes.list_remixes(original.id, PageRequest::first(10)).await.unwrap();
    assert_eq!(remixes.items.iter().map(|m| m.id).collect::<Vec<_>>(), vec![remix_b.id, remix_a.id]);
    assert_eq!(storage.memes.get(original.id).await.unwrap().unwrap().remix_count, 2);
}

pub async fn template_stats_count_memes_remixes_and_days(storage: &Storage) {
    let ann = user(storage, "ann").await;
    let original = saved(storage, &ann).await;
    storage.memes.create(&meme_by(&ann, "chelsea", Some(original.id))).await.unwrap();
    storage.memes.create(&meme_by(&ann, "rocket", None)).await.unwrap();
    let today = OffsetDateTime::now_utc().date();

    let stats = storage.templates.stats("chelsea", today, 7).await.unwrap();

    assert_eq!((stats.memes, stats.remixes), (2, 1));
    assert_eq!(stats.daily.len(), 7);
    assert_eq!(stats.daily.last().copied(), Some((today, 2)));
    assert_eq!(storage.templates.stats("unused", today, 3).await.unwrap().memes, 0);

    // Deleting takes the meme out of the counts and the chart alike.
    storage.memes.delete(original.id).await.unwrap();
    let after = storage.templates.stats("chelsea", today, 7).await.unwrap();
    assert_eq!((after.memes, after.remixes), (1, 1));
    assert_eq!(after.daily.last().copied(), Some((today, 1)));
}

pub async fn deleting_a_meme_takes_its_comments_and_notifications_and_counts(storage: &Storage) {
    let ann = user(storage, "ann").await;
    let bob = user(storage, "bob").await;
    storage.subscriptions.subscribe(&ann, &bob).await.unwrap();
    let original = saved(storage, &ann).await;
    let remix = meme_by(&ann, "chelsea", Some(original.id));
    storage.memes.create(&remix).await.unwrap();
    let comment = comment_on(storage, &remix, &bob, "nice").await;
    claim_due(storage).await;

    let deleted = storage.memes.delete(remix.id).await.unwrap();

    assert_eq!(deleted.map(|m| m.id), Some(remix.id));
    assert_eq!(storage.memes.get(remix.id).await.unwrap(), None);
    assert_eq!(storage.comments.get(remix.id, comment.id).await.unwrap(), None);
    assert_eq!(storage.memes.get(original.id).await.unwrap().unwrap().remix_count, 0);
    let notes = storage.notifications.list(bob.id, PageRequest::first(10)).await.unwrap();
    assert_eq!(notes.items.iter().map(|n| n.meme_id).collect::<Vec<_>>(), vec![original.id]);
    assert_eq!(storage.memes.delete(remix.id).await.unwrap(), None, "deleting twice is harmless");
}

pub async fn comments_count_list_oldest_first_and_delete(storage: &Storage) {
    let ann = user(storage, "ann").await;
    let meme = saved(storage, &ann).await;
    let first = comment_on(storage, &meme, &ann, "one").await;
    let second = comment_on(storage, &meme, &ann, "two").await;
    let third = comment_on(storage, &meme, &ann, "three").await;

    let page = storage.comments.list(meme.id, PageRequest::first(2)).await.unwrap();
    assert_eq!(page.items.iter().map(|c| c.id).collect::<Vec<_>>(), vec![first.id, second.id]);
    let rest = storage.comments.list(meme.id, PageRequest::after(page.next, 2)).await.unwrap();
    assert_eq!(rest.items.iter().map(|c| c.id).collect::<Vec<_>>(), vec![third.id]);
    let latest = storage.comments.latest(meme.id, 2).await.unwrap();
    assert_eq!(latest.iter().map(|c| c.id).collect::<Vec<_>>(), vec![second.id, third.id]);
    assert_eq!(storage.memes.get(meme.id).await.unwrap().unwrap().comment_count, 3);

    storage.comments.delete(meme.id, second.id).await.unwrap();
    assert_eq!(storage.memes.get(meme.id).await.unwrap().unwrap().comment_count, 2);
    assert!(matches!(storage.comments.delete(meme.id, second.id).await, Err(StorageError::NotFound)));
}

pub async fn a_comment_on_a_missing_meme_is_not_found(storage: &Storage) {
    let ann = user(storage, "ann").await;
    let ghost = meme_by(&ann, "chelsea", None);
    let comment = Comment {
        id: CommentId::new(),
        meme_id: ghost.id,
        author_id: ann.id,
        author: ann.username.clone(),
        body: CommentBody::parse("hello?").unwrap(),
        created_at: OffsetDateTime::now_utc(),
    };
    assert!(matches!(storage.comments.add(&comment).await, Err(StorageError::NotFound)));
}

pub async fn subscribing_is_idempotent_and_counted(storage: &Storage) {
    let ann = user(storage, "ann").await;
    let bob = user(storage, "bob").await;
    let cat = user(storage, "cat").await;

    assert!(storage.subscriptions.subscribe(&ann, &bob).await.unwrap());
    assert!(!storage.subscriptions.subscribe(&ann, &bob).await.unwrap());
    assert!(storage.subscriptions.subscribe(&ann, &cat).await.unwrap());
    assert_eq!(storage.subscriptions.subscriber_count(ann.id).await.unwrap(), 2);
    assert!(storage.subscriptions.state(ann.id, bob.id).await.unwrap().is_subscribed());

    assert!(storage.subscriptions.unsubscribe(ann.id, bob.id).await.unwrap());
    assert!(!storage.subscriptions.unsubscribe(ann.id, bob.id).await.unwrap());
    assert_eq!(storage.subscriptions.subscriber_count(ann.id).await.unwrap(), 1);
    assert_eq!(storage.subscriptions.state(ann.id, bob.id).await.unwrap(), SubscriptionState::NotSubscribed);
}

pub async fn following_lists_creators_most_recent_first(storage: &Storage) {
    let me = user(storage, "reader").await;
    let mut creators = Vec::new();
    for name in ["cr1", "cr2", "cr3"] {
        let creator = user(storage, name).await;
        storage.subscriptions.subscribe(&creator, &me).await.unwrap();
        creators.push(creator.username);
    }
    let mut seen = HashSet::new();
    let mut cursor = None;
    loop {
        let page = storage.subscriptions.following(me.id, PageRequest::after(cursor, 2)).await.unwrap();
        for f in page.items {
            assert!(seen.insert(f.creator), "no repeats");
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, creators.into_iter().collect());
}

/// Works the outbox once, as the delivery worker does: claims everything due now.
async fn claim_due(storage: &Storage) -> Vec<Delivery> {
    let now = OffsetDateTime::now_utc() + Duration::seconds(1);
    storage.outbox.claim(now, Duration::minutes(5), 10).await.unwrap()
}

/// Who the deliveries reach by email: each recipient of an email, or everyone subscribed for a
/// message on the creator's topic.
fn reached(deliveries: &[Delivery], subscribers: &[&User]) -> Vec<String> {
    let mut names: Vec<String> = deliveries
        .iter()
        .flat_map(|d| match &d.channel {
            DeliveryChannel::Email(to) => vec![to.recipient.as_str().to_owned()],
            DeliveryChannel::CreatorTopic => subscribers.iter().map(|u| u.username.as_str().to_owned()).collect(),
        })
        .collect();
    names.sort();
    names
}

pub async fn saving_a_meme_notifies_each_subscriber_once_in_app_and_by_outbox(storage: &Storage) {
    let ann = user(storage, "ann").await;
    let bob = user(storage, "bob").await;
    let cat = user(storage, "cat").await;
    storage.subscriptions.subscribe(&ann, &bob).await.unwrap();
    storage.subscriptions.subscribe(&ann, &cat).await.unwrap();

    let meme = saved(storage, &ann).await;
    let claimed = claim_due(storage).await;

    assert_eq!(reached(&claimed, &[&bob, &cat]), vec!["bob", "cat"], "each subscriber once");
    assert!(claimed.iter().all(|d| d.meme_id == meme.id && d.creator == ann.username));
    assert!(claim_due(storage).await.is_empty(), "leased");
    for reader in [&bob, &cat] {
        let notes = storage.notifications.list(reader.id, PageRequest::first(10)).await.unwrap();
        assert_eq!(notes.items.len(), 1);
        assert_eq!(notes.items[0].meme_id, meme.id);
        assert_eq!(notes.items[0].creator, ann.username);
        assert!(!notes.items[0].read);
        assert_eq!(storage.notifications.unread_count(reader.id).await.unwrap(), 1);
    }
    assert_eq!(storage.notifications.unread_count(ann.id).await.unwrap(), 0, "no notification for yourself");
    storage.notifications.mark_all_read(bob.id).await.unwrap();
    assert_eq!(storage.notifications.unread_count(bob.id).await.unwrap(), 0);
    let notes = storage.notifications.list(bob.id, PageRequest::first(10)).await.unwrap();
    assert!(notes.items[0].read);
}

pub async fn outbox_deliveries_complete_and_retry(storage: &Storage) {
    let ann = user(storage, "ann").await;
    let bob = user(storage, "bob").await;
    storage.subscriptions.subscribe(&ann, &bob).await.unwrap();
    saved(storage, &ann).await;
    let claimed = claim_due(storage).await;
    assert_eq!(claimed.len(), 1);
    let now = OffsetDateTime::now_utc();

    storage.outbox.retry_at(&claimed[0].id, now).await.unwrap();
    let again = claim_due(storage).await;
    assert_eq!(again.iter().map(|d| d.id.clone()).collect::<Vec<_>>(), vec![claimed[0].id.clone()]);
    assert_eq!(again[0].attempts, 1);

    storage.outbox.complete(&again[0].id).await.unwrap();
    storage.outbox.retry_at(&again[0].id, now).await.unwrap();
    assert!(claim_due(storage).await.is_empty(), "a completed delivery never comes back");
    assert_eq!(storage.notifications.unread_count(bob.id).await.unwrap(), 1, "in-app once, however often claimed");
}

/// The local backend emails each subscriber itself, with their own unsubscribe link.
pub async fn email_deliveries_complete_retry_and_drop_after_unsubscribe(storage: &Storage) {
    let ann = user(storage, "ann").await;
    let bob = user(storage, "bob").await;
    let cat = user(storage, "cat").await;
    storage.subscriptions.subscribe(&ann, &bob).await.unwrap();
    storage.subscriptions.subscribe(&ann, &cat).await.unwrap();
    saved(storage, &ann).await;
    let now = OffsetDateTime::now_utc() + Duration::seconds(1);
    let claimed = claim_due(storage).await;
    let to = |d: &Delivery| match &d.channel {
        DeliveryChannel::Email(to) => to.clone(),
        DeliveryChannel::CreatorTopic => panic!("expected per-recipient emails"),
    };
    let bobs = claimed.iter().find(|d| to(d).recipient == bob.username).unwrap();
    let cats = claimed.iter().find(|d| to(d).recipient == cat.username).unwrap();

    storage.outbox.complete(&bobs.id).await.unwrap();
    storage.outbox.retry_at(&cats.id, now).await.unwrap();
    let again = storage.outbox.claim(now, Duration::minutes(5), 10).await.unwrap();
    assert_eq!(again.iter().map(|d| d.id.clone()).collect::<Vec<_>>(), vec![cats.id.clone()]);
    assert_eq!(again[0].attempts, 1);

    storage.outbox.retry_at(&cats.id, now).await.unwrap();
    let token = to(&again[0]).unsubscribe_token;
    assert!(!token.is_empty());
    assert_eq!(storage.subscriptions.unsubscribe_by_token(&token).await.unwrap(), Some(ann.username.clone()));
    assert_eq!(storage.subscriptions.unsubscribe_by_token(&token).await.unwrap(), None, "a used link is dead");
    assert!(storage.outbox.claim(now, Duration::minutes(5), 10).await.unwrap().is_empty(), "unsubscribed: not sent");
}

pub async fn shared_templates_round_trip_newest_first(storage: &Storage) {
    let ann = user(storage, "ann").await;
    let mut made = Vec::new();
    for name in ["First", "Second"] {
        let t = SharedTemplate {
            id: format!("u-{}", MemeId::new()),
            name: name.into(),
            owner_id: ann.id,
            owner: ann.username.clone(),
            original_key: "templates/x/original.png".into(),
            thumb_key: "templates/x/thumb.jpg".into(),
            width: 640,
            height: 480,
            created_at: OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
        };
        storage.templates.create(&t).await.unwrap();
        made.push(t);
    }
    assert_eq!(storage.templates.get(&made[0].id).await.unwrap().as_ref(), Some(&made[0]));
    let page = storage.templates.list(PageRequest::first(1)).await.unwrap();
    assert_eq!(page.items, vec![made[1].clone()]);
    let rest = storage.templates.list(PageRequest::after(page.next, 1)).await.unwrap();
    assert_eq!(rest.items, vec![made[0].clone()]);
}

pub async fn a_setting_keeps_its_first_value(storage: &Storage) {
    let first = storage.settings.get_or_init("cursor-key", b"one").await.unwrap();
    let second = storage.settings.get_or_init("cursor-key", b"two").await.unwrap();
    assert_eq!(first, b"one");
    assert_eq!(second, b"one");
}

pub async fn a_meme_reads_with_its_first_comments_and_the_rest_follow(storage: &Storage) {
    let ann = user(storage, "ann").await;
    let meme = saved(storage, &ann).await;
    let other = saved(storage, &ann).await;
    let mut written = Vec::new();
    for text in ["one", "two", "three"] {
        written.push(comment_on(storage, &meme, &ann, text).await.id);
    }
    comment_on(storage, &other, &ann, "elsewhere").await;

    let (read, first) = storage.memes.get_with_comments(meme.id, PageRequest::first(2)).await.unwrap().unwrap();
    let rest = storage.comments.list(meme.id, PageRequest::after(first.next.clone(), 2)).await.unwrap();

    assert_eq!(read.id, meme.id);
    assert_eq!(read.comment_count, 3);
    let ids: Vec<_> = first.items.iter().chain(&rest.items).map(|c| c.id).collect();
    assert_eq!(ids, written, "oldest first, none repeated or skipped");
    assert!(rest.next.is_none());
    let (_, all) = storage.memes.get_with_comments(other.id, PageRequest::first(10)).await.unwrap().unwrap();
    assert_eq!(all.items.len(), 1);
    assert!(all.next.is_none());
    assert!(storage.memes.get_with_comments(MemeId::new(), PageRequest::first(10)).await.unwrap().is_none());
}
