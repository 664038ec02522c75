//! Contract tests for the account page's storage: ending an account's sessions, links that
//! carry a value, password and address changes, and deleting an account.

use skyhigh::domain::{Email, MemeId, SharedTemplate, TokenId, UserId, Username};
use skyhigh::storage::{ApiToken, PageRequest, SessionRecord, Storage, StorageError, TakenToken, TokenPurpose};
use time::{Duration, OffsetDateTime};

use crate::site_contract::{comment_on, key, saved, user};

fn session_of(id: &str, user: Option<UserId>) -> SessionRecord {
    let now = OffsetDateTime::from_unix_timestamp(OffsetDateTime::now_utc().unix_timestamp()).unwrap();
    SessionRecord { id: id.to_owned(), data: b"{}".to_vec(), expires_at: now + Duration::days(1), user }
}

pub async fn an_accounts_sessions_end_together_but_the_one_kept(storage: &Storage) {
    let (ann, bob) = (UserId::new(), UserId::new());
    for record in [
        session_of("ann-here", Some(ann)),
        session_of("ann-phone", Some(ann)),
        session_of("ann-laptop", Some(ann)),
        session_of("bob", Some(bob)),
        session_of("anonymous", None),
    ] {
        storage.sessions.insert(&record).await.unwrap();
    }
    assert_eq!(storage.sessions.load("ann-phone").await.unwrap().unwrap().user, Some(ann), "the owner reads back");

    let ended = storage.sessions.delete_for_user(ann, Some("ann-here")).await.unwrap();

    assert_eq!(ended, 2);
    for gone in ["ann-phone", "ann-laptop"] {
        assert!(storage.sessions.load(gone).await.unwrap().is_none(), "{gone}");
    }
    for kept in ["ann-here", "bob", "anonymous"] {
        assert!(storage.sessions.load(kept).await.unwrap().is_some(), "{kept}");
    }
    assert_eq!(storage.sessions.delete_for_user(ann, None).await.unwrap(), 1, "then the kept one too");
    assert!(storage.sessions.load("ann-here").await.unwrap().is_none());
}

pub async fn a_link_token_carries_its_detail_and_a_peek_does_not_use_it(storage: &Storage) {
    let ann = user(storage, "ann").await;
    let now = OffsetDateTime::now_utc();
    let tokens = &storage.tokens;
    tokens
        .put("hash-move", TokenPurpose::ChangeEmail, ann.id, "new@example.com", now + Duration::hours(1))
        .await
        .unwrap();

    for _ in 0..2 {
        assert_eq!(tokens.peek("hash-move", TokenPurpose::ChangeEmail, now).await.unwrap(), Some(ann.id));
    }
    assert_eq!(tokens.peek("hash-move", TokenPurpose::ResetPassword, now).await.unwrap(), None, "another purpose");
    assert_eq!(
        tokens.take("hash-move", TokenPurpose::ChangeEmail, now).await.unwrap(),
        Some(TakenToken { user: ann.id, detail: "new@example.com".into() })
    );
    assert_eq!(tokens.peek("hash-move", TokenPurpose::ChangeEmail, now).await.unwrap(), None, "used up");
    assert_eq!(tokens.take("hash-move", TokenPurpose::ChangeEmail, now).await.unwrap(), None);
    assert_eq!(tokens.peek("never-made", TokenPurpose::ChangeEmail, now).await.unwrap(), None);
}

pub async fn a_reset_token_lives_exactly_its_hour(storage: &Storage) {
    let ann = user(storage, "ann").await;
    let now = OffsetDateTime::from_unix_timestamp(OffsetDateTime::now_utc().unix_timestamp()).unwrap();
    let expires = now + Duration::hours(1);
    let tokens = &storage.tokens;
    tokens.put("hash-a", TokenPurpose::ResetPassword, ann.id, "", expires).await.unwrap();
    tokens.put("hash-b", TokenPurpose::ResetPassword, ann.id, "", expires).await.unwrap();

    let last_second = expires - Duration::seconds(1);
    assert_eq!(tokens.peek("hash-a", TokenPurpose::ResetPassword, last_second).await.unwrap(), Some(ann.id));
    assert_eq!(tokens.peek("hash-a", TokenPurpose::ResetPassword, expires).await.unwrap(), None, "expired on time");
    assert_eq!(tokens.take("hash-a", TokenPurpose::ResetPassword, expires).await.unwrap(), None);
    let taken = tokens.take("hash-b", TokenPurpose::ResetPassword, last_second).await.unwrap();
    assert_eq!(taken.map(|t| t.user), Some(ann.id));
}

pub async fn a_new_password_hash_is_read_everywhere_the_account_is(storage: &Storage) {
    let ann = user(storage, "ann").await;

    storage.users.set_password_hash(ann.id, "$argon2id$new").await.unwrap();

    for read in [
        storage.users.get(ann.id).await.unwrap(),
        storage.users.find_by_username(&ann.username).await.unwrap(),
        storage.users.find_by_email(&ann.email).await.unwrap(),
    ] {
        assert_eq!(read.unwrap().password_hash, "$argon2id$new");
    }
    let missing = storage.users.set_password_hash(UserId::new(), "$argon2id$x").await;
    assert!(matches!(missing, Err(StorageError::NotFound)), "{missing:?}");
}

pub async fn an_email_change_moves_the_account_and_frees_the_old_address(storage: &Storage) {
    let mut ann = user(storage, "ann").await;
    let bob = user(storage, "bob").await;
    storage.users.suppress_email(&ann.email).await.unwrap();
    let new = Email::parse("ann.new@example.com").unwrap();

    storage.users.change_email(ann.id, &new).await.unwrap();

    let moved = storage.users.find_by_email(&new).await.unwrap().expect("found by the new address");
    assert_eq!(moved.id, ann.id);
    assert!(moved.email_verified && !moved.email_suppressed, "confirmed by the link, and no longer suppressed");
    assert_eq!(storage.users.get(ann.id).await.unwrap().unwrap().email, new);
    assert_eq!(storage.users.find_by_username(&ann.username).await.unwrap().unwrap().email, new);
    assert!(storage.users.find_by_email(&ann.email).await.unwrap().is_none(), "the old address is free");

    let taken = storage.users.change_email(ann.id, &bob.email).await;
    assert!(matches!(taken, Err(StorageError::Conflict("email"))), "{taken:?}");
    assert_eq!(storage.users.get(ann.id).await.unwrap().unwrap().email, new, "unchanged by the conflict");
    let missing = storage.users.change_email(UserId::new(), &Email::parse("x@example.com").unwrap()).await;
    assert!(matches!(missing, Err(StorageError::NotFound)), "{missing:?}");

    // The old address can make a new account.
    ann.email = Email::parse("ann@example.com").unwrap();
    let newcomer = skyhigh::domain::User { id: UserId::new(), username: Username::parse("newcomer").unwrap(), ..ann };
    storage.users.create(&newcomer).await.unwrap();
}

pub async fn deleting_an_account_takes_everything_it_owned_and_frees_its_names(storage: &Storage) {
    let ann = user(storage, "ann").await;
    let bob = user(storage, "bob").await;
    let bobs_meme = saved(storage, &bob).await;
    let anns_meme = saved(storage, &ann).await;
    comment_on(storage, &bobs_meme, &ann, "ann on bob").await;
    let bobs_comment = comment_on(storage, &bobs_meme, &bob, "bob on bob").await;
    comment_on(storage, &anns_meme, &bob, "bob on ann").await;
    storage.subscriptions.subscribe(&bob, &ann).await.unwrap();
    storage.subscriptions.subscribe(&ann, &bob).await.unwrap();
    storage.notifications.deliver(&bobs_meme.published(), &[ann.id]).await.unwrap();
    let template = SharedTemplate {
        id: format!("u-{}", MemeId::new()),
        name: "Ann's".into(),
        owner_id: ann.id,
        owner: ann.username.clone(),
        original_key: key("templates/anns/original.png"),
        thumb_key: key("templates/anns/thumb.jpg"),
        width: 640,
        height: 480,
        created_at: OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
    };
    storage.templates.create(&template).await.unwrap();
    let token =
        ApiToken { id: TokenId::new(), user_id: ann.id, name: "bot".into(), created_at: OffsetDateTime::now_utc() };
    storage.api_tokens.create(&token, "hash-anns-token").await.unwrap();

    // As the account service does: the memes first, then the rest.
    storage.memes.delete(anns_meme.id).await.unwrap();
    let media = storage.accounts.delete_account(&ann).await.unwrap();

    assert!(storage.users.get(ann.id).await.unwrap().is_none());
    assert!(storage.users.find_by_username(&ann.username).await.unwrap().is_none());
    assert!(storage.users.find_by_email(&ann.email).await.unwrap().is_none());
    let comments = storage.comments.list(bobs_meme.id, PageRequest::first(10)).await.unwrap().items;
    assert_eq!(comments, vec![bobs_comment], "ann's comment on bob's meme is gone, bob's stays");
    assert_eq!(storage.memes.get(bobs_meme.id).await.unwrap().unwrap().comment_count, 1);
    assert_eq!(storage.subscriptions.subscriber_count(&bob).await.unwrap(), 0);
    assert!(storage.subscriptions.following(bob.id, PageRequest::first(10)).await.unwrap().items.is_empty());
    assert!(storage.notifications.list(ann.id, PageRequest::first(10)).await.unwrap().items.is_empty());
    assert!(storage.templates.get(&template.id).await.unwrap().is_none());
    let mut media: Vec<&str> = media.iter().map(|k| k.as_str()).collect();
    media.sort();
    assert_eq!(media, ["templates/anns/original.png", "templates/anns/thumb.jpg"]);
    assert!(storage.api_tokens.find("hash-anns-token").await.unwrap().is_none());

    // The names are free again, and running it again finds nothing left to do.
    assert!(storage.accounts.delete_account(&ann).await.unwrap().is_empty());
    user(storage, "ann").await;
}
