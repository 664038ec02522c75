//! In-app notifications on DynamoDB, and the outbox event a meme's transaction writes.
//!
//! Saving a meme puts one event item `OUTBOX#<meme>` in the meme's own transaction (a
//! transaction holds at most 100 items, so it cannot carry one item per subscriber). The relay
//! (`relay.rs`) publishes it to the events topic; the delivery worker, fed by the queue, then
//! gives each subscriber their notification (`INBOX#<recipient>` / `<meme id>`) with a
//! conditional put and an `ADD` of their unread count, 50 subscribers a transaction, so a
//! retried fan-out adds nothing twice.
//!
//! A creator's notices (comments, remixes, subscribers) share the inbox: each is written in its
//! action's own transaction ([`notice_writes`]), under its position (an id and `#kind`, which
//! sorts by time among the meme ids).
//!
//! Reading state: each user item keeps `unread` (moved by `ADD`) and `read_through_ms`; an
//! inbox item is read when it arrived before that moment.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Put, ReturnValue, TransactWriteItem, Update};
use time::OffsetDateTime;

use super::Tables;
use super::item::{Item, PK, SK, error_code, get_n, get_s, get_time, key, n, parse_s, put_if_new, s, sdk_error};
use super::memes::build_error;
use super::query::{self, TABLE};
use super::users::{USER_SK, user_pk};
use crate::domain::{
    CommentId, Meme, MemeDeleted, MemeId, MemePublished, Notice, Notification, NotificationKind, UserId, Username,
};
use crate::storage::{NotificationStore, Page, PageRequest, StorageError, StorageResult};

pub const EVENT_SK: &str = "OUTBOX";
pub const DUE_PK: &str = "g1pk";
pub const DUE_SK: &str = "g1sk";

pub fn event_key(meme: MemeId) -> Item {
    key(format!("OUTBOX#{meme}"), EVENT_SK)
}

pub fn due_key(at: OffsetDateTime, meme: &str) -> String {
    format!("{:012}#{meme}", at.unix_timestamp().max(0))
}

fn inbox_key(recipient: UserId, meme: MemeId) -> Item {
    key(format!("INBOX#{recipient}"), meme.to_string())
}

/// How many writes a creator's notice adds to its action's transaction.
pub const NOTICE_WRITES: usize = 3;

/// The writes of a creator's `notice`, for its action's transaction: a marker naming its event
/// (`NOTICE#<recipient>` / `<event>`, put only if new: the event is told once), the inbox item
/// (`INBOX#<recipient>` / its position) and the `ADD` of the recipient's unread count (only if
/// the account exists). When only these fail, the caller runs its transaction again without
/// them ([`notice_refused`]): the event was told already, or its recipient is gone.
pub fn notice_writes(table: &str, notice: &Notice) -> StorageResult<Vec<TransactWriteItem>> {
    let recipient = notice.recipient_id;
    let mut marker = key(format!("NOTICE#{recipient}"), notice.event());
    marker.insert("position".into(), s(&notice.position));
    let mut note = key(format!("INBOX#{recipient}"), &notice.position);
    note.insert("kind".into(), s(notice.kind.name()));
    note.insert("actor".into(), s(notice.actor.as_str()));
    note.insert("actor_id".into(), s(notice.actor_id.to_string()));
    match &notice.kind {
        NotificationKind::Comment { meme_id, comment_id } => {
            note.insert("meme_id".into(), s(meme_id.to_string()));
            note.insert("comment_id".into(), s(comment_id.to_string()));
        }
        NotificationKind::Remix { meme_id, parent_id, thumb_key } => {
            note.insert("meme_id".into(), s(meme_id.to_string()));
            note.insert("parent_id".into(), s(parent_id.to_string()));
            note.insert("thumb_key".into(), s(thumb_key));
        }
        NotificationKind::Subscriber => {}
        NotificationKind::NewMeme { .. } => {
            return Err(StorageError::Other(anyhow::anyhow!("a new meme is fanned out, not a creator's notice")));
        }
    }
    note.insert("created_at".into(), n(notice.created_at.unix_timestamp()));
    note.insert("notified_at_ms".into(), n(now_ms()));
    let put = Put::builder().table_name(table).set_item(Some(note)).build().map_err(build_error)?;
    Ok(vec![
        put_if_new(table, marker)?,
        TransactWriteItem::builder().put(put).build(),
        unread_increment(table, recipient)?,
    ])
}

/// Whether a cancelled transaction failed on the notice's writes, placed at `from`, and on
/// nothing else.
pub fn notice_refused(failed: &[bool], from: usize) -> bool {
    let notice = from..from + NOTICE_WRITES;
    failed.iter().enumerate().any(|(i, f)| *f && notice.contains(&i))
        && failed.iter().enumerate().all(|(i, f)| !*f || notice.contains(&i))
}

/// One more unread notification for `recipient`, if the account exists.
fn unread_increment(table: &str, recipient: UserId) -> StorageResult<TransactWriteItem> {
    let count = Update::builder()
        .table_name(table)
        .set_key(Some(key(user_pk(recipient), USER_SK)))
        .update_expression("ADD unread :one")
        .condition_expression("attribute_exists(#pk)")
        .expression_attribute_names("#pk", PK)
        .expression_attribute_values(":one", n(1))
        .build()
        .map_err(build_error)?;
    Ok(TransactWriteItem::builder().update(count).build())
}

/// An inbox item as its recipient reads it: a published meme's (no `kind`) or a notice.
fn notification_from(item: &Item, recipient: UserId, read: bool) -> StorageResult<Notification> {
    let position = get_s(item, SK)?.to_owned();
    let meme = |name: &str| parse_s(item, name, MemeId::parse);
    let (actor, kind) = match item.get("kind").and_then(|k| k.as_s().ok()).map(String::as_str) {
        None => (
            parse_s(item, "creator", Username::parse)?,
            NotificationKind::NewMeme { meme_id: meme(SK)?, thumb_key: get_s(item, "thumb_key")?.to_owned() },
        ),
        Some(kind) => {
            let kind = match kind {
                "comment" => NotificationKind::Comment {
                    meme_id: meme("meme_id")?,
                    comment_id: parse_s(item, "comment_id", CommentId::parse)?,
                },
                "remix" => NotificationKind::Remix {
                    meme_id: meme("meme_id")?,
                    parent_id: meme("parent_id")?,
                    thumb_key: get_s(item, "thumb_key")?.to_owned(),
                },
                "subscriber" => NotificationKind::Subscriber,
                other => return Err(super::item::corrupt("notification", format!("unknown kind {other:?}"))),
            };
            (parse_s(item, "actor", Username::parse)?, kind)
        }
    };
    Ok(Notification { recipient_id: recipient, actor, kind, created_at: get_time(item, "created_at")?, read, position })
}

fn now_ms() -> i128 {
    OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000
}

/// An outbox event of `meme`, of `kind`, due at `due`, with what every event carries.
fn event_item(meme: &Meme, kind: &str, due: OffsetDateTime) -> Item {
    let mut item = event_key(meme.id);
    item.insert("kind".into(), s(kind));
    item.insert("meme_id".into(), s(meme.id.to_string()));
    item.insert("creator_id".into(), s(meme.creator_id.to_string()));
    item.insert("creator".into(), s(meme.creator.as_str()));
    item.insert(DUE_PK.into(), s("OUTBOX"));
    item.insert(DUE_SK.into(), s(due_key(due, &meme.id.to_string())));
    item
}

fn put_event(table: &str, item: Item) -> StorageResult<TransactWriteItem> {
    let put = Put::builder().table_name(table).set_item(Some(item)).build().map_err(build_error)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// The "published" event to write in the meme's transaction.
pub fn event_put(table: &str, meme: &Meme) -> StorageResult<TransactWriteItem> {
    let mut item = event_item(meme, "published", meme.created_at);
    item.insert("thumb_key".into(), s(meme.media.thumb_key.as_str()));
    item.insert("created_at".into(), n(meme.created_at.unix_timestamp()));
    put_event(table, item)
}

/// The "deleted" event, written in the delete's transaction over any "published" event still
/// pending (a meme deleted before its news went out tells nobody): the worker then removes what
/// the transaction could not, the comments, notifications and media.
pub fn event_replace_with_deleted(table: &str, meme: &Meme) -> StorageResult<TransactWriteItem> {
    let mut item = event_item(meme, "deleted", OffsetDateTime::now_utc());
    let media = serde_json::to_string(&meme.owned_media_keys()).map_err(|e| StorageError::Other(e.into()))?;
    item.insert("media".into(), s(media));
    put_event(table, item)
}

/// Every current subscriber of a creator (one Query per 1 MB of them).
async fn subscribers(tables: &Tables, creator: &Username) -> StorageResult<Vec<UserId>> {
    let query = tables.query_partition(TABLE, &super::subscriptions::subscribers_partition(creator));
    let items = tables.query_all(query, "listing a creator's subscribers").await?;
    items.iter().map(|item| parse_s(item, "subscriber_id", UserId::parse)).collect()
}

/// Removes a deleted meme's in-app notifications from its creator's subscribers' inboxes.
/// (Their unread counts are left as they are: the next visit to /notifications resets them.)
pub async fn delete_inbox_items(tables: &Tables, deleted: &MemeDeleted) -> StorageResult<()> {
    let recipients = subscribers(tables, &deleted.creator).await?;
    let keys = recipients.iter().map(|recipient| inbox_key(*recipient, deleted.meme_id)).collect();
    tables.batch_delete(keys, "removing a deleted meme's notifications").await
}

pub struct DynamoNotifications {
    tables: Tables,
}

impl DynamoNotifications {
    pub fn new(tables: Tables) -> Self {
        Self { tables }
    }

    async fn user_numbers(&self, recipient: UserId) -> StorageResult<Option<Item>> {
        let found = self.tables.get(key(user_pk(recipient), USER_SK), true, "reading notification counts").await?;
        Ok(found)
    }

    /// Marks everything in the inbox read (zero unread, read through now); returns the user
    /// item's numbers as they were.
    async fn read_everything(&self, recipient: UserId) -> StorageResult<Option<Item>> {
        let result = self
            .tables
            .dynamodb
            .update_item()
            .table_name(&self.tables.main)
            .set_key(Some(key(user_pk(recipient), USER_SK)))
            .update_expression("SET unread = :zero, read_through_ms = :now")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":now", n(now_ms()))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => Ok(output.attributes),
            Err(e) if error_code(&e) == Some("ConditionalCheckFailedException") => Err(StorageError::NotFound),
            Err(e) => Err(sdk_error("marking notifications read", e)),
        }
    }

    /// A page of the inbox, marked read up to `read_through` (every one read without it).
    async fn page(
        &self,
        recipient: UserId,
        page: PageRequest,
        read_through: Option<i128>,
    ) -> StorageResult<Page<Notification>> {
        let partition = format!("INBOX#{recipient}");
        let query = self.tables.query_partition(TABLE, &partition);
        query::page(query, TABLE, &partition, &page, true, "listing notifications", |item| {
            let read = match read_through {
                Some(through) => get_n::<i128>(item, "notified_at_ms")? <= through,
                None => true,
            };
            notification_from(item, recipient, read)
        })
        .await
    }
}

fn unread_of(numbers: Option<&Item>) -> StorageResult<u64> {
    Ok(optional_number(numbers, "unread")?.clamp(0, i128::from(u64::MAX)) as u64)
}

fn optional_number(item: Option<&Item>, name: &str) -> StorageResult<i128> {
    match item {
        Some(item) if item.contains_key(name) => get_n(item, name),
        _ => Ok(0),
    }
}

#[async_trait]
impl NotificationStore for DynamoNotifications {
    async fn list(&self, recipient: UserId, page: PageRequest) -> StorageResult<Page<Notification>> {
        let numbers = self.user_numbers(recipient).await?;
        self.page(recipient, page, Some(optional_number(numbers.as_ref(), "read_through_ms")?)).await
    }

    async fn unread_count(&self, recipient: UserId) -> StorageResult<u64> {
        unread_of(self.user_numbers(recipient).await?.as_ref())
    }

    /// One `GetItem` of the user for both numbers, then the `Query`.
    async fn inbox(&self, recipient: UserId, page: PageRequest) -> StorageResult<(Page<Notification>, u64)> {
        let numbers = self.user_numbers(recipient).await?;
        let read_through = optional_number(numbers.as_ref(), "read_through_ms")?;
        Ok((self.page(recipient, page, Some(read_through)).await?, unread_of(numbers.as_ref())?))
    }

    /// The `Query` alone.
    async fn recent(&self, recipient: UserId, page: PageRequest) -> StorageResult<Page<Notification>> {
        self.page(recipient, page, None).await
    }

    async fn mark_all_read(&self, recipient: UserId) -> StorageResult<()> {
        self.read_everything(recipient).await.map(|_| ())
    }

    /// One `UpdateItem` of the user that reads everything and returns the old numbers, then the
    /// `Query`: the two requests `inbox` makes.
    async fn open_inbox(&self, recipient: UserId, page: PageRequest) -> StorageResult<(Page<Notification>, u64)> {
        let before = self.read_everything(recipient).await?;
        let read_through = optional_number(before.as_ref(), "read_through_ms")?;
        Ok((self.page(recipient, page, Some(read_through)).await?, unread_of(before.as_ref())?))
    }

    async fn deliver(&self, meme: &MemePublished, recipients: &[UserId]) -> StorageResult<()> {
        // Two actions per recipient, and a transaction takes 100.
        for chunk in recipients.chunks(50) {
            let mut items = Vec::with_capacity(chunk.len() * 2);
            for recipient in chunk {
                let (put, count) = self.notification_writes(meme, *recipient)?;
                items.extend([put, count]);
            }
            match self.tables.transact(items, "writing in-app notifications").await {
                Ok(()) => {}
                // Some were written by an earlier attempt (or an account is gone): the chunk
                // was cancelled whole, so write its recipients one by one.
                Err(e) if e.failed_conditions().contains(&true) => {
                    for recipient in chunk {
                        self.deliver_one(meme, *recipient).await?;
                    }
                }
                Err(e) => return Err(e.into_storage_error()),
            }
        }
        Ok(())
    }
}

impl DynamoNotifications {
    /// The notification's conditional put and its unread count's `ADD`, for one recipient.
    fn notification_writes(
        &self,
        meme: &MemePublished,
        recipient: UserId,
    ) -> StorageResult<(TransactWriteItem, TransactWriteItem)> {
        let table = &self.tables.main;
        let mut note = inbox_key(recipient, meme.meme_id);
        note.insert("meme_id".into(), s(meme.meme_id.to_string()));
        note.insert("creator".into(), s(meme.creator.as_str()));
        note.insert("thumb_key".into(), s(&meme.thumb_key));
        note.insert("created_at".into(), n(meme.created_at));
        note.insert("notified_at_ms".into(), n(now_ms()));
        Ok((put_if_new(table, note)?, unread_increment(table, recipient)?))
    }

    async fn deliver_one(&self, meme: &MemePublished, recipient: UserId) -> StorageResult<()> {
        let (put, count) = self.notification_writes(meme, recipient)?;
        match self.tables.transact(vec![put, count], "writing an in-app notification").await {
            Ok(()) => Ok(()),
            // Written by an earlier attempt, or the account is gone: nothing to add.
            Err(e) if e.failed_conditions().contains(&true) => Ok(()),
            Err(e) => Err(e.into_storage_error()),
        }
    }
}
