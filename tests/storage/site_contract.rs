//! Contract tests for the site's stores: memes, comments, subscriptions, notifications, the
//! delivery worker's queue and ledger, counters, tokens, templates, settings.

use std::collections::HashSet;

use skyhigh::domain::{
    AccountEmail, AccountEmailKind, Comment, CommentBody, CommentId, Email, Job, Meme, MemeId, MemeMedia, MemeSource,
    SharedTemplate, User, UserId, Username,
};
use skyhigh::storage::{
    Cursor, MemeOrder, PageRequest, ReceivedJob, SendClaim, Storage, StorageError, SubscriptionState, TokenPurpose,
};
use time::{Duration, OffsetDateTime};

pub async fn user(storage: &Storage, name: &str) -> User {
    let user = User {
        id: UserId::new(),
        username: Username::parse(name).unwrap(),
        email: Email::parse(&format!("{name}@example.com")).unwrap(),
        password_hash: "x".into(),
        created_at: OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
        email_verified: true,
        email_suppressed: false,
    };
    storage.users.create(&user).await.unwrap();
    user
}

pub fn key(text: &str) -> skyhigh::domain::BlobKey {
    skyhigh::domain::BlobKey::parse(text).unwrap()
}

pub fn meme_by(creator: &User, template: &str, parent: Option<MemeId>) -> Meme {
    let id = MemeId::new();
    Meme {
        id,
        creator_id: creator.id,
        creator: creator.username.clone(),
        source: MemeSource::Template(template.into()),
        parent_id: parent,
        parent_snapshot: None,
        template_name: None,
        captions: vec!["top".into(), "bottom".into()],
        spec: skyhigh::render::MemeSpec::default(),
        media: MemeMedia {
            display_key: key(&format!("memes/{id}/display.jpg")),
            thumb_key: key(&format!("memes/{id}/thumb.jpg")),
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

pub async fn saved(storage: &Storage, creator: &User) -> Meme {
    let meme = meme_by(creator, "chelsea", None);
    storage.memes.create(&meme).await.unwrap();
    meme
}

pub async fn comment_on(storage: &Storage, meme: &Meme, author: &User, text: &str) -> Comment {
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
    meme.source = MemeSource::Upload { original_key: key("originals/x.png") };
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
    // The list may be kept by the worker (aws): it is current once refreshed.
    storage.memes.refresh_rankings(OffsetDateTime::now_utc()).await.unwrap();

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

    let anns = storage.memes.list_by_creator(&ann, PageRequest::first(10)).await.unwrap();
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
    storage.notifications.deliver(&original.published(), &[bob.id]).await.unwrap();
    storage.notifications.deliver(&remix.published(), &[bob.id]).await.unwrap();

    let deleted = storage.memes.delete(remix.id).await.unwrap();
    // What hangs off the meme goes when the worker takes the job the deletion wrote.
    let job = deleted.as_ref().expect("the meme was there").deleted();
    storage.memes.purge(&job).await.unwrap();

    assert_eq!(deleted.map(|m| m.id), Some(remix.id));
    assert_eq!(storage.memes.get(remix.id).await.unwrap(), None);
    assert_eq!(storage.comments.get(remix.id, comment.id).await.unwrap(), None);
    assert_eq!(storage.memes.get(original.id).await.unwrap().unwrap().remix_count, 0);
    let notes = storage.notifications.list(bob.id, PageRequest::first(10)).await.unwrap();
    assert_eq!(notes.items.iter().map(|n| n.meme_id()).collect::<Vec<_>>(), vec![Some(original.id)]);
    assert_eq!(storage.memes.delete(remix.id).await.unwrap(), None, "deleting twice is harmless");
}

pub async fn fifty_concurrent_comments_on_one_meme_all_land_and_are_counted(storage: &Storage) {
    let ann = user(storage, "ann").await;
    let meme = saved(storage, &ann).await;
    let writers: Vec<_> = (0..50)
        .map(|i| {
            let (storage, meme, ann) = (storage.clone(), meme.clone(), ann.clone());
            tokio::spawn(async move { comment_on(&storage, &meme, &ann, &format!("comment {i}")).await.id })
        })
        .collect();
    let mut written = HashSet::new();
    for writer in writers {
        written.insert(writer.await.expect("no comment failed"));
    }

    assert_eq!(storage.memes.get(meme.id).await.unwrap().unwrap().comment_count, 50);
    let listed = storage.comments.list(meme.id, PageRequest::first(100)).await.unwrap();
    assert_eq!(listed.items.iter().map(|c| c.id).collect::<HashSet<_>>(), written);
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
    assert_eq!(storage.subscriptions.subscriber_count(&ann).await.unwrap(), 2);
    assert!(storage.subscriptions.state(&ann, bob.id).await.unwrap().is_subscribed());

    assert!(storage.subscriptions.unsubscribe(&ann, bob.id).await.unwrap());
    assert!(!storage.subscriptions.unsubscribe(&ann, bob.id).await.unwrap());
    assert_eq!(storage.subscriptions.subscriber_count(&ann).await.unwrap(), 1);
    assert_eq!(storage.subscriptions.state(&ann, bob.id).await.unwrap(), SubscriptionState::NotSubscribed);
}

/// A portfolio's profile, with or without its memes, tells each viewer whether they follow the
/// creator, and counts the subscribers.
pub async fn a_profile_reads_alone_as_it_does_with_the_memes(storage: &Storage) {
    let ann = user(storage, "ann").await;
    let bob = user(storage, "bob").await;
    let cat = user(storage, "cat").await;
    storage.subscriptions.subscribe(&ann, &bob).await.unwrap();
    saved(storage, &ann).await;

    for viewer in [None, Some(bob.id), Some(cat.id), Some(ann.id)] {
        let alone = storage.views.profile(&ann.username, viewer).await.unwrap().unwrap();
        let with_memes = storage.views.portfolio(&ann.username, viewer, PageRequest::first(10)).await.unwrap().unwrap();
        assert_eq!(with_memes.memes.items.len(), 1);
        for profile in [&alone, &with_memes.profile] {
            assert_eq!(profile.creator.id, ann.id);
            assert_eq!(profile.subscribers, 1);
            assert_eq!(profile.viewer_subscribed, viewer == Some(bob.id), "{viewer:?}");
        }
    }
    let nobody = skyhigh::domain::Username::parse("nobody").unwrap();
    assert!(storage.views.profile(&nobody, Some(bob.id)).await.unwrap().is_none());
    assert!(storage.views.portfolio(&nobody, None, PageRequest::first(10)).await.unwrap().is_none());
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

/// Every job due now, as the delivery worker receives them (after the relay, where the backend
/// has one, moved events onto the bus).
async fn receive_due(storage: &Storage, hidden_for: std::time::Duration) -> Vec<ReceivedJob> {
    if let Some(relay) = &storage.relay {
        relay.relay_due(OffsetDateTime::now_utc() + Duration::seconds(1)).await.unwrap();
    }
    storage.jobs.receive(10, hidden_for, std::time::Duration::from_millis(200)).await.unwrap()
}

fn account_email(to: &User) -> Job {
    Job::AccountEmail(AccountEmail {
        id: MemeId::new().to_string(),
        to: to.email.clone(),
        username: to.username.clone(),
        kind: AccountEmailKind::SignupAttempt,
    })
}

pub async fn saving_a_meme_queues_its_published_job_once(storage: &Storage) {
    let ann = user(storage, "ann").await;
    let meme = saved(storage, &ann).await;

    let received = receive_due(storage, std::time::Duration::from_secs(30)).await;

    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0].job, Job::MemePublished(meme.published()));
    assert_eq!(received[0].receive_count, 1);
    assert!(receive_due(storage, std::time::Duration::from_secs(30)).await.is_empty(), "hidden while received");
    storage.jobs.complete(&received[0].receipt).await.unwrap();
}

pub async fn a_job_comes_back_until_completed(storage: &Storage) {
    let ann = user(storage, "ann").await;
    let job = account_email(&ann);
    storage.jobs.enqueue(&job, std::time::Duration::ZERO).await.unwrap();

    let first = receive_due(storage, std::time::Duration::from_secs(1)).await;
    assert_eq!(first.iter().map(|r| &r.job).collect::<Vec<_>>(), vec![&job]);
    assert!(receive_due(storage, std::time::Duration::from_secs(1)).await.is_empty(), "hidden for a second");
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let again = receive_due(storage, std::time::Duration::from_secs(30)).await;
    assert_eq!(again.len(), 1, "back once its hiding ran out (a worker that died loses nothing)");
    assert_eq!(again[0].receive_count, 2);
    storage.jobs.hide(&again[0].receipt, std::time::Duration::ZERO).await.unwrap();
    let third = receive_due(storage, std::time::Duration::from_secs(30)).await;
    assert_eq!(third.len(), 1, "hiding for zero makes it visible at once");

    storage.jobs.complete(&third[0].receipt).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert!(
        receive_due(storage, std::time::Duration::from_secs(1)).await.is_empty(),
        "a completed job never comes back"
    );
}

pub async fn a_delayed_job_waits_its_delay(storage: &Storage) {
    let ann = user(storage, "ann").await;
    storage.jobs.enqueue(&account_email(&ann), std::time::Duration::from_secs(2)).await.unwrap();
    assert!(receive_due(storage, std::time::Duration::from_secs(30)).await.is_empty());
    tokio::time::sleep(std::time::Duration::from_millis(2600)).await;
    assert_eq!(receive_due(storage, std::time::Duration::from_secs(30)).await.len(), 1);
}

pub async fn the_queue_counts_every_job_owed_until_it_is_completed(storage: &Storage) {
    let ann = user(storage, "ann").await;
    assert_eq!(storage.jobs.backlog().await.unwrap().jobs, 0);
    storage.jobs.enqueue(&account_email(&ann), std::time::Duration::ZERO).await.unwrap();
    storage.jobs.enqueue(&account_email(&ann), std::time::Duration::from_secs(60)).await.unwrap();

    let backlog = storage.jobs.backlog().await.unwrap();
    assert_eq!(backlog.jobs, 2, "one due, one delayed");
    if let Some(oldest) = backlog.oldest_due {
        assert!(oldest < std::time::Duration::from_secs(30), "the due job has waited moments: {oldest:?}");
    }
    let received = receive_due(storage, std::time::Duration::from_secs(30)).await;
    assert_eq!(received.len(), 1);
    assert_eq!(storage.jobs.backlog().await.unwrap().jobs, 2, "a job being worked on is still owed");
    storage.jobs.complete(&received[0].receipt).await.unwrap();
    let backlog = storage.jobs.backlog().await.unwrap();
    assert_eq!(backlog.jobs, 1, "completed: only the delayed one is left");
    if let Some(oldest) = backlog.oldest_due {
        assert_eq!(oldest, std::time::Duration::ZERO, "nothing is due");
    }
}

pub async fn in_app_notifications_are_delivered_once_however_often_asked(storage: &Storage) {
    let ann = user(storage, "ann").await;
    let bob = user(storage, "bob").await;
    let cat = user(storage, "cat").await;
    let meme = saved(storage, &ann).await;

    for _ in 0..2 {
        storage.notifications.deliver(&meme.published(), &[bob.id, cat.id]).await.unwrap();
    }
    storage.notifications.deliver(&meme.published(), &[cat.id]).await.unwrap();

    for reader in [&bob, &cat] {
        let notes = storage.notifications.list(reader.id, PageRequest::first(10)).await.unwrap();
        assert_eq!(notes.items.len(), 1);
        assert_eq!(notes.items[0].meme_id(), Some(meme.id));
        assert_eq!(notes.items[0].actor, ann.username);
        assert!(!notes.items[0].read);
        assert_eq!(storage.notifications.unread_count(reader.id).await.unwrap(), 1);
        let (inbox, unread) = storage.notifications.inbox(reader.id, PageRequest::first(10)).await.unwrap();
        assert_eq!((inbox.items, unread), (notes.items, 1), "the inbox is the list and the count");
        let recent = storage.notifications.recent(reader.id, PageRequest::first(10)).await.unwrap();
        assert_eq!(recent.items.iter().map(|n| n.meme_id()).collect::<Vec<_>>(), vec![Some(meme.id)]);
    }
    assert_eq!(storage.notifications.unread_count(ann.id).await.unwrap(), 0, "no notification for yourself");
    storage.notifications.mark_all_read(bob.id).await.unwrap();
    assert_eq!(storage.notifications.unread_count(bob.id).await.unwrap(), 0);
    let notes = storage.notifications.list(bob.id, PageRequest::first(10)).await.unwrap();
    assert!(notes.items[0].read);
    let (inbox, unread) = storage.notifications.inbox(bob.id, PageRequest::first(10)).await.unwrap();
    assert!(inbox.items[0].read && unread == 0);
}

pub async fn a_creators_subscribers_page_through_each_once_with_their_links(storage: &Storage) {
    let ann = user(storage, "ann").await;
    let mut expected = HashSet::new();
    for i in 0..5 {
        let sub = user(storage, &format!("sub{i}")).await;
        storage.subscriptions.subscribe(&ann, &sub).await.unwrap();
        expected.insert(sub.id);
    }
    let mut seen = HashSet::new();
    let mut tokens = Vec::new();
    let mut cursor = None;
    loop {
        let page = storage.subscriptions.subscribers(&ann, PageRequest::after(cursor, 2)).await.unwrap();
        for sub in page.items {
            assert!(seen.insert(sub.id), "no repeats");
            tokens.push(sub.unsubscribe_token);
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, expected);
    assert_eq!(storage.subscriptions.unsubscribe_by_token(&tokens[0]).await.unwrap(), Some(ann.username.clone()));
    assert_eq!(storage.subscriptions.subscriber_count(&ann).await.unwrap(), 4, "each carries its own link");
}

pub async fn an_email_is_claimed_by_one_worker_until_sent_released_or_stale(storage: &Storage) {
    let ledger = &storage.deliveries;
    let now = OffsetDateTime::now_utc();
    let minute = Duration::minutes(1);

    assert_eq!(ledger.claim_send("meme:a:b", now, minute).await.unwrap(), SendClaim::Claimed);
    assert_eq!(ledger.claim_send("meme:a:b", now, minute).await.unwrap(), SendClaim::HeldElsewhere);
    ledger.release("meme:a:b").await.unwrap();
    assert_eq!(ledger.claim_send("meme:a:b", now, minute).await.unwrap(), SendClaim::Claimed, "released: retried");
    let later = now + Duration::minutes(2);
    assert_eq!(ledger.claim_send("meme:a:b", later, minute).await.unwrap(), SendClaim::Claimed, "a stale claim");
    ledger.mark_sent(&["meme:a:b".into()]).await.unwrap();
    assert_eq!(ledger.claim_send("meme:a:b", later, minute).await.unwrap(), SendClaim::AlreadySent);
    ledger.release("meme:a:b").await.unwrap();
    assert_eq!(ledger.claim_send("meme:a:b", later, minute).await.unwrap(), SendClaim::AlreadySent, "sent stays sent");

    // The email service's receipt records a send whatever became of the claim: a stale claim
    // is not taken over, and an email with no claim at all counts as sent.
    assert_eq!(ledger.claim_send("meme:a:c", now, minute).await.unwrap(), SendClaim::Claimed);
    ledger.mark_sent(&["meme:a:c".into(), "meme:a:d".into()]).await.unwrap();
    assert_eq!(ledger.claim_send("meme:a:c", later, minute).await.unwrap(), SendClaim::AlreadySent, "no takeover");
    assert_eq!(ledger.claim_send("meme:a:d", now, minute).await.unwrap(), SendClaim::AlreadySent, "never claimed");
}

pub async fn fan_out_progress_and_digests_are_kept(storage: &Storage) {
    let ledger = &storage.deliveries;
    assert_eq!(ledger.progress("fanout:x").await.unwrap(), None);
    ledger.save_progress("fanout:x", &Cursor("page-2".into())).await.unwrap();
    ledger.save_progress("fanout:x", &Cursor("page-3".into())).await.unwrap();
    assert_eq!(ledger.progress("fanout:x").await.unwrap(), Some(Cursor("page-3".into())));
    ledger.clear_progress("fanout:x").await.unwrap();
    assert_eq!(ledger.progress("fanout:x").await.unwrap(), None);

    let bob = UserId::new();
    let (first, second) = (MemeId::new(), MemeId::new());
    assert!(ledger.hold_for_digest(bob, 42, first).await.unwrap(), "the first held");
    assert!(!ledger.hold_for_digest(bob, 42, second).await.unwrap());
    assert!(!ledger.hold_for_digest(bob, 42, second).await.unwrap(), "held once");
    assert!(ledger.hold_for_digest(bob, 43, second).await.unwrap(), "another hour");
    assert_eq!(ledger.held_for_digest(bob, 42).await.unwrap(), vec![first, second]);
    assert_eq!(ledger.held_for_digest(UserId::new(), 42).await.unwrap(), vec![]);
}

pub async fn counters_count_expire_and_reset(storage: &Storage) {
    let counters = &storage.counters;
    let now = OffsetDateTime::now_utc();
    let soon = now + Duration::minutes(5);
    let names = ["c:a".to_owned(), "c:b".to_owned()];

    assert_eq!(counters.increment("c:a", soon).await.unwrap(), 1);
    assert_eq!(counters.increment("c:a", soon).await.unwrap(), 2);
    assert_eq!(counters.get(&names, now).await.unwrap(), vec![2, 0]);
    assert_eq!(counters.get(&names, soon + Duration::seconds(1)).await.unwrap(), vec![0, 0], "expired");
    counters.reset(&names[..1]).await.unwrap();
    assert_eq!(counters.get(&names, now).await.unwrap(), vec![0, 0]);
    assert_eq!(counters.increment("c:a", soon).await.unwrap(), 1, "starts again after a reset");

    // One that expired (but that nothing has removed yet) starts again too.
    assert_eq!(counters.increment("c:old", now - Duration::seconds(1)).await.unwrap(), 1);
    assert_eq!(counters.increment("c:old", soon).await.unwrap(), 1);
    assert_eq!(counters.get(&["c:old".to_owned()], now).await.unwrap(), vec![1]);
}

pub async fn concurrent_increments_are_all_counted(storage: &Storage) {
    let soon = OffsetDateTime::now_utc() + Duration::minutes(5);
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let counters = storage.counters.clone();
            tokio::spawn(async move { counters.increment("c:busy", soon).await.unwrap() })
        })
        .collect();
    let mut seen = Vec::new();
    for task in tasks {
        seen.push(task.await.unwrap());
    }
    seen.sort();
    assert_eq!(seen, (1..=20).collect::<Vec<u64>>(), "each increment saw its own value");
}

pub async fn a_token_is_used_once_and_only_for_its_purpose_before_it_expires(storage: &Storage) {
    let ann = user(storage, "ann").await;
    let now = OffsetDateTime::now_utc();
    let tokens = &storage.tokens;
    tokens.put("hash-live", TokenPurpose::ConfirmEmail, ann.id, "", now + Duration::hours(1)).await.unwrap();
    tokens.put("hash-old", TokenPurpose::ConfirmEmail, ann.id, "", now - Duration::seconds(1)).await.unwrap();

    let taken = tokens.take("hash-live", TokenPurpose::ConfirmEmail, now).await.unwrap();
    assert_eq!(taken.map(|t| t.user), Some(ann.id));
    assert_eq!(tokens.take("hash-live", TokenPurpose::ConfirmEmail, now).await.unwrap(), None, "single use");
    assert_eq!(tokens.take("hash-old", TokenPurpose::ConfirmEmail, now).await.unwrap(), None, "expired");
    assert_eq!(tokens.take("never-made", TokenPurpose::ConfirmEmail, now).await.unwrap(), None);
}

pub async fn an_address_is_confirmed_and_suppressed_everywhere_it_is_read(storage: &Storage) {
    let mut ann = user(storage, "ann").await;
    ann.email_verified = false;
    let unconfirmed = User {
        id: UserId::new(),
        username: Username::parse("newbie").unwrap(),
        email: Email::parse("newbie@example.com").unwrap(),
        email_verified: false,
        ..ann.clone()
    };
    storage.users.create(&unconfirmed).await.unwrap();
    assert!(!storage.users.get(unconfirmed.id).await.unwrap().unwrap().email_verified);

    storage.users.mark_email_verified(unconfirmed.id).await.unwrap();
    assert!(storage.users.suppress_email(&unconfirmed.email).await.unwrap());
    assert!(!storage.users.suppress_email(&Email::parse("nobody@example.com").unwrap()).await.unwrap());

    // By id, by name and by address alike (DynamoDB keeps a copy under each).
    let found = [
        storage.users.get(unconfirmed.id).await.unwrap(),
        storage.users.find_by_username(&unconfirmed.username).await.unwrap(),
        storage.users.find_by_email(&unconfirmed.email).await.unwrap(),
    ];
    for user in found {
        let user = user.unwrap();
        assert!(user.email_verified && user.email_suppressed && !user.accepts_email(), "{user:?}");
    }
    assert!(matches!(storage.users.mark_email_verified(UserId::new()).await, Err(StorageError::NotFound)));
    let many = storage.users.get_many(&[ann.id, UserId::new(), unconfirmed.id]).await.unwrap();
    let mut names: Vec<_> = many.iter().map(|u| u.username.as_str().to_owned()).collect();
    names.sort();
    assert_eq!(names, vec!["ann", "newbie"]);
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
            original_key: key("templates/x/original.png"),
            thumb_key: key("templates/x/thumb.jpg"),
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

pub async fn api_tokens_are_found_by_secret_listed_newest_first_and_revoked_only_by_their_owner(storage: &Storage) {
    use skyhigh::domain::TokenId;
    use skyhigh::storage::ApiToken;
    let ann = user(storage, "ann").await;
    let bob = user(storage, "bob").await;
    let token = |owner: &User, name: &str| ApiToken {
        id: TokenId::new(),
        user_id: owner.id,
        name: name.into(),
        created_at: OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
    };
    let (older, newer, bobs) = (token(&ann, "laptop"), token(&ann, "chat bot"), token(&bob, "bob's"));
    storage.api_tokens.create(&older, "hash-older").await.unwrap();
    storage.api_tokens.create(&newer, "hash-newer").await.unwrap();
    storage.api_tokens.create(&bobs, "hash-bob").await.unwrap();
    assert!(matches!(
        storage.api_tokens.create(&token(&ann, "dup"), "hash-older").await,
        Err(StorageError::Conflict(_))
    ));

    assert_eq!(storage.api_tokens.find("hash-newer").await.unwrap(), Some(newer.clone()));
    assert_eq!(storage.api_tokens.find("no-such-hash").await.unwrap(), None);
    assert_eq!(storage.api_tokens.list(ann.id).await.unwrap(), vec![newer.clone(), older.clone()]);

    assert!(!storage.api_tokens.revoke(ann.id, bobs.id).await.unwrap(), "not ann's to revoke");
    assert_eq!(storage.api_tokens.find("hash-bob").await.unwrap(), Some(bobs));
    assert!(storage.api_tokens.revoke(ann.id, newer.id).await.unwrap());
    assert!(!storage.api_tokens.revoke(ann.id, newer.id).await.unwrap(), "revoked once");
    assert_eq!(storage.api_tokens.find("hash-newer").await.unwrap(), None, "a revoked token is found no more");
    assert_eq!(storage.api_tokens.list(ann.id).await.unwrap(), vec![older]);
}

pub async fn the_feed_carries_each_memes_two_newest_comments_and_drops_deleted_ones(storage: &Storage) {
    use skyhigh::storage::FEED_COMMENTS;
    let ann = user(storage, "ann").await;
    let bob = user(storage, "bob").await;
    let quiet = saved(storage, &ann).await;
    let busy = saved(storage, &ann).await;
    let mut said = Vec::new();
    for text in ["first", "second", "third"] {
        said.push(comment_on(storage, &busy, &bob, text).await);
    }
    let texts = |comments: &[Comment]| comments.iter().map(|c| c.body.as_str().to_owned()).collect::<Vec<_>>();

    let feed = storage.views.feed(MemeOrder::New, PageRequest::first(10)).await.unwrap();
    let ids: Vec<MemeId> = feed.items.iter().map(|m| m.meme.id).collect();
    assert_eq!(ids, vec![busy.id, quiet.id]);
    assert_eq!(FEED_COMMENTS, 2);
    assert_eq!(texts(&feed.items[0].latest_comments), ["third", "second"], "newest first, two of them");
    assert_eq!(feed.items[0].meme.comment_count, 3);
    assert!(feed.items[1].latest_comments.is_empty());

    // Deleting the newest brings the one before it back; deleting an older one keeps the newest.
    storage.comments.delete(busy.id, said[2].id).await.unwrap();
    let feed = storage.views.feed(MemeOrder::New, PageRequest::first(10)).await.unwrap();
    assert_eq!(texts(&feed.items[0].latest_comments), ["second", "first"]);
    storage.comments.delete(busy.id, said[0].id).await.unwrap();
    let after = comment_on(storage, &busy, &bob, "fourth").await;
    let feed = storage.views.feed(MemeOrder::New, PageRequest::first(10)).await.unwrap();
    assert_eq!(texts(&feed.items[0].latest_comments), ["fourth", "second"]);
    assert_eq!(feed.items[0].latest_comments[0], after, "the whole comment");
    storage.comments.delete(busy.id, said[1].id).await.unwrap();
    storage.comments.delete(busy.id, after.id).await.unwrap();
    let feed = storage.views.feed(MemeOrder::New, PageRequest::first(10)).await.unwrap();
    assert!(feed.items[0].latest_comments.is_empty(), "{:?}", feed.items[0].latest_comments);

    // The top tab carries them too (once its ranking has seen the comments).
    comment_on(storage, &quiet, &bob, "top comment").await;
    storage.memes.refresh_rankings(OffsetDateTime::now_utc()).await.unwrap();
    let top = storage.views.feed(MemeOrder::Top, PageRequest::first(10)).await.unwrap();
    let quiet_in_top = top.items.iter().find(|m| m.meme.id == quiet.id).expect("in the top list");
    assert_eq!(texts(&quiet_in_top.latest_comments), ["top comment"]);
}
