//! The draft uploads' store (issue 15): bytes under this browser's tag only, bounded reads, and
//! the sweep of expired drafts where the backend has one (S3 expires them by a lifecycle rule).

use bytes::Bytes;
use skyhigh::domain::{DraftId, DraftOwner};
use skyhigh::storage::{DraftContent, Storage};
use time::{Duration, OffsetDateTime};

fn owner(tag: char) -> DraftOwner {
    DraftOwner::parse(&tag.to_string().repeat(32)).unwrap()
}

pub async fn a_draft_reads_back_only_under_its_owner_and_within_the_limit(storage: &Storage) {
    let drafts = &storage.drafts;
    let id = DraftId::new(OffsetDateTime::now_utc() + Duration::hours(1));
    let bytes = Bytes::from_static(b"\x89PNG\r\n\x1a\n pretend picture");
    drafts.put(&owner('a'), &id, bytes.clone()).await.unwrap();

    assert_eq!(drafts.get(&owner('a'), &id, 1024).await.unwrap(), DraftContent::Found(bytes.clone()));
    assert_eq!(drafts.get(&owner('b'), &id, 1024).await.unwrap(), DraftContent::Missing, "another browser's");
    let never_made = DraftId::new(OffsetDateTime::now_utc() + Duration::hours(1));
    assert_eq!(drafts.get(&owner('a'), &never_made, 1024).await.unwrap(), DraftContent::Missing);
    assert_eq!(drafts.get(&owner('a'), &id, bytes.len() as u64).await.unwrap(), DraftContent::Found(bytes.clone()));
    assert_eq!(drafts.get(&owner('a'), &id, bytes.len() as u64 - 1).await.unwrap(), DraftContent::TooLarge);
}

pub async fn the_sweep_removes_expired_drafts_and_keeps_live_ones(storage: &Storage) {
    let drafts = &storage.drafts;
    let now = OffsetDateTime::now_utc();
    let expired = DraftId::new(now + Duration::seconds(10));
    let live = DraftId::new(now + Duration::hours(1));
    for id in [&expired, &live] {
        drafts.put(&owner('c'), id, Bytes::from_static(b"draft")).await.unwrap();
    }

    let removed = drafts.delete_expired(now + Duration::minutes(1)).await.unwrap();

    let found = |id: DraftId| async move { drafts.get(&owner('c'), &id, 1024).await.unwrap() };
    assert_ne!(found(live).await, DraftContent::Missing, "a live draft stays");
    if drafts.direct_upload_origin().is_none() {
        assert_eq!(removed, 1, "where the store sweeps, it removes the expired draft");
        assert_eq!(found(expired).await, DraftContent::Missing);
    } else {
        assert_eq!(removed, 0, "S3's lifecycle rule removes drafts, not the app");
    }
}
