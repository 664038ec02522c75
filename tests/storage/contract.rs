use bytes::Bytes;
use skyhigh::domain::{Email, User, UserId, Username};
use skyhigh::storage::{BlobKey, SessionRecord, Storage, StorageError};
use time::{Duration, OffsetDateTime};

fn user(username: &str, email: &str) -> User {
    User {
        id: UserId::new(),
        username: Username::parse(username).unwrap(),
        email: Email::parse(email).unwrap(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        // Whole seconds: backends store timestamps at that precision.
        created_at: OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
        email_verified: false,
        email_suppressed: false,
    }
}

pub async fn a_created_user_is_found_by_id_username_and_email(storage: &Storage) {
    let ann = user("ann", "ann@example.com");
    storage.users.create(&ann).await.unwrap();

    assert_eq!(storage.users.get(ann.id).await.unwrap().as_ref(), Some(&ann));
    assert_eq!(storage.users.find_by_username(&ann.username).await.unwrap().as_ref(), Some(&ann));
    assert_eq!(storage.users.find_by_email(&ann.email).await.unwrap().as_ref(), Some(&ann));
}

pub async fn a_taken_username_is_a_conflict_and_stores_nothing(storage: &Storage) {
    storage.users.create(&user("ann", "ann@example.com")).await.unwrap();
    let impostor = user("ann", "other@example.com");

    let result = storage.users.create(&impostor).await;

    assert!(matches!(result, Err(StorageError::Conflict("username"))), "{result:?}");
    assert!(storage.users.find_by_email(&impostor.email).await.unwrap().is_none());
    assert!(storage.users.get(impostor.id).await.unwrap().is_none());
}

pub async fn a_taken_email_is_a_conflict_and_stores_nothing(storage: &Storage) {
    storage.users.create(&user("ann", "ann@example.com")).await.unwrap();
    let twin = user("bob", "ann@example.com");

    let result = storage.users.create(&twin).await;

    assert!(matches!(result, Err(StorageError::Conflict("email"))), "{result:?}");
    assert!(storage.users.find_by_username(&twin.username).await.unwrap().is_none());
}

pub async fn concurrent_sign_ups_for_one_username_have_exactly_one_winner(storage: &Storage) {
    let attempts: Vec<_> = (0..8)
        .map(|i| {
            let storage = storage.clone();
            tokio::spawn(async move { storage.users.create(&user("popular", &format!("p{i}@example.com"))).await })
        })
        .collect();
    let mut wins = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(()) => wins += 1,
            Err(StorageError::Conflict("username")) => {}
            Err(e) => panic!("unexpected error: {e:?}"),
        }
    }
    assert_eq!(wins, 1);
}

pub async fn unknown_users_are_none(storage: &Storage) {
    assert!(storage.users.get(UserId::new()).await.unwrap().is_none());
    assert!(storage.users.find_by_username(&Username::parse("ghost").unwrap()).await.unwrap().is_none());
    assert!(storage.users.find_by_email(&Email::parse("ghost@example.com").unwrap()).await.unwrap().is_none());
}

fn session(id: &str, expires_in: Duration) -> SessionRecord {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    SessionRecord {
        id: id.to_owned(),
        data: br#"{"auth":1}"#.to_vec(),
        expires_at: OffsetDateTime::from_unix_timestamp(now).unwrap() + expires_in,
        user: None,
    }
}

pub async fn a_session_round_trips_and_can_be_replaced(storage: &Storage) {
    let mut record = session("s1", Duration::days(7));
    storage.sessions.insert(&record).await.unwrap();
    assert_eq!(storage.sessions.load("s1").await.unwrap().as_ref(), Some(&record));

    record.data = b"{}".to_vec();
    record.expires_at += Duration::days(1);
    storage.sessions.save(&record).await.unwrap();
    assert_eq!(storage.sessions.load("s1").await.unwrap().as_ref(), Some(&record));
}

pub async fn inserting_an_existing_session_id_is_a_conflict(storage: &Storage) {
    let original = session("s1", Duration::days(7));
    storage.sessions.insert(&original).await.unwrap();
    let mut intruder = session("s1", Duration::days(7));
    intruder.data = b"{\"evil\":true}".to_vec();

    let result = storage.sessions.insert(&intruder).await;

    assert!(matches!(result, Err(StorageError::Conflict(_))), "{result:?}");
    assert_eq!(storage.sessions.load("s1").await.unwrap().as_ref(), Some(&original));
}

pub async fn expired_sessions_are_not_loaded_and_are_swept(storage: &Storage) {
    storage.sessions.save(&session("old", -Duration::minutes(1))).await.unwrap();
    storage.sessions.save(&session("live", Duration::days(1))).await.unwrap();

    assert!(storage.sessions.load("old").await.unwrap().is_none());
    storage.sessions.delete_expired(OffsetDateTime::now_utc()).await.unwrap();
    assert!(storage.sessions.load("live").await.unwrap().is_some(), "live sessions survive the sweep");
}

pub async fn a_deleted_session_is_gone(storage: &Storage) {
    storage.sessions.save(&session("s1", Duration::days(1))).await.unwrap();
    storage.sessions.delete("s1").await.unwrap();
    assert!(storage.sessions.load("s1").await.unwrap().is_none());
    storage.sessions.delete("never-existed").await.unwrap();
}

pub async fn a_blob_round_trips_with_its_content_type(storage: &Storage) {
    let key = BlobKey::parse("memes/abc/display.jpg").unwrap();
    let bytes = Bytes::from_static(b"\xff\xd8\xff\xe0 not really a jpeg");

    storage.blobs.put(&key, bytes.clone(), "image/jpeg").await.unwrap();
    let blob = storage.blobs.get(&key).await.unwrap().expect("stored");

    assert_eq!(blob.bytes, bytes);
    assert_eq!(blob.content_type, "image/jpeg");
}

pub async fn a_missing_blob_is_none_and_deleting_it_is_fine(storage: &Storage) {
    let key = BlobKey::parse("memes/none/display.jpg").unwrap();
    assert!(storage.blobs.get(&key).await.unwrap().is_none());
    storage.blobs.delete(&key).await.unwrap();
}

pub async fn a_key_naming_a_folder_of_objects_is_none_not_an_error(storage: &Storage) {
    let key = BlobKey::parse("memes/01folder/display.jpg").unwrap();
    storage.blobs.put(&key, Bytes::from_static(b"jpeg"), "image/jpeg").await.unwrap();

    for folder in ["memes", "memes/01folder", "memes/01folder/display.jpg/inside"] {
        let folder = BlobKey::parse(folder).unwrap();
        let found = storage.blobs.get(&folder).await;
        assert!(matches!(found, Ok(None)), "{}: {found:?}", folder.as_str());
        storage.blobs.delete(&folder).await.unwrap();
    }
    assert!(storage.blobs.get(&key).await.unwrap().is_some(), "the object itself is untouched");
}

pub async fn a_deleted_blob_is_gone(storage: &Storage) {
    let key = BlobKey::parse("originals/x.png").unwrap();
    storage.blobs.put(&key, Bytes::from_static(b"png"), "image/png").await.unwrap();
    storage.blobs.delete(&key).await.unwrap();
    assert!(storage.blobs.get(&key).await.unwrap().is_none());
}

pub async fn the_health_check_passes(storage: &Storage) {
    storage.health.check().await.unwrap();
}
