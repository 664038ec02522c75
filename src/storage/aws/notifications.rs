//! New-meme notifications on DynamoDB: a durable event written with the meme, fanned out by
//! the delivery worker.
//!
//! Saving a meme puts one event item `OUTBOX#<meme>` in the meme's own transaction (a
//! transaction holds at most 100 items, so it cannot carry one item per subscriber). The event
//! is due at once: it sits in gsi1 under `OUTBOX`, sorted by `<due time>#<meme id>`.
//! `claim` leases due events with a conditional update (two workers never take the same one),
//! and the first time it takes an event it writes each current subscriber's in-app
//! notification (`INBOX#<recipient>` / `<meme id>`) with a conditional put and an `ADD` of
//! their unread count in one transaction, so a retried fan-out adds nothing twice. The worker
//! then publishes one message to the creator's SNS topic and `complete` deletes the event.
//! After a crash the lease runs out and the event is claimed again: nothing is lost. The one
//! window for a second email is a crash between SNS accepting the message and the event's
//! deletion, milliseconds long (SNS standard topics cannot deduplicate).
//!
//! Reading state: each user item keeps `unread` (moved by `ADD`) and `read_through_ms`; an
//! inbox item is read when it arrived before that moment.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue, TransactWriteItem, Update};
use time::OffsetDateTime;

use super::Tables;
use super::item::{Item, PK, SK, error_code, get_n, get_s, get_time, key, n, parse_s, put_if_new, s, sdk_error};
use super::memes::{build_error, failed_conditions};
use super::query::{self, TABLE};
use super::users::{USER_SK, user_pk};
use crate::domain::{Delivery, DeliveryChannel, Meme, MemeId, Notification, UserId, Username};
use crate::storage::{NotificationStore, Outbox, Page, PageRequest, StorageError, StorageResult};

const EVENT_SK: &str = "OUTBOX";
const DUE_PK: &str = "g1pk";
const DUE_SK: &str = "g1sk";

fn event_key(meme: MemeId) -> Item {
    key(format!("OUTBOX#{meme}"), EVENT_SK)
}

fn due_key(at: OffsetDateTime, meme: &str) -> String {
    format!("{:012}#{meme}", at.unix_timestamp().max(0))
}

fn inbox_key(recipient: UserId, meme: MemeId) -> Item {
    key(format!("INBOX#{recipient}"), meme.to_string())
}

fn now_ms() -> i128 {
    OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000
}

/// The event to write in the meme's transaction.
pub fn event_put(table: &str, meme: &Meme) -> StorageResult<TransactWriteItem> {
    let mut item = event_key(meme.id);
    item.insert("meme_id".into(), s(meme.id.to_string()));
    item.insert("creator_id".into(), s(meme.creator_id.to_string()));
    item.insert("creator".into(), s(meme.creator.as_str()));
    item.insert("thumb_key".into(), s(&meme.media.thumb_key));
    item.insert("created_at".into(), n(meme.created_at.unix_timestamp()));
    item.insert("attempts".into(), n(0));
    item.insert("fanned_out".into(), AttributeValue::Bool(false));
    item.insert(DUE_PK.into(), s("OUTBOX"));
    item.insert(DUE_SK.into(), s(due_key(meme.created_at, &meme.id.to_string())));
    let put = Put::builder().table_name(table).set_item(Some(item)).build().map_err(build_error)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// Drops a deleted meme's pending event (if any) with the meme.
pub fn event_delete(table: &str, meme: MemeId) -> StorageResult<TransactWriteItem> {
    let delete = aws_sdk_dynamodb::types::Delete::builder()
        .table_name(table)
        .set_key(Some(event_key(meme)))
        .build()
        .map_err(build_error)?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

/// Every current subscriber of a creator (one Query per 1 MB of them).
async fn subscribers(tables: &Tables, creator: UserId) -> StorageResult<Vec<UserId>> {
    let query = tables.query_partition(TABLE, &format!("SUBS#{creator}"));
    let items = tables.query_all(query, "listing a creator's subscribers").await?;
    items.iter().map(|item| parse_s(item, "subscriber_id", UserId::parse)).collect()
}

/// Removes a deleted meme's in-app notifications from its creator's subscribers' inboxes.
/// (Their unread counts are left as they are: the next visit to /notifications resets them.)
pub async fn delete_inbox_items(tables: &Tables, meme: &Meme) -> StorageResult<()> {
    let recipients = subscribers(tables, meme.creator_id).await?;
    let keys = recipients.iter().map(|recipient| inbox_key(*recipient, meme.id)).collect();
    tables.batch_delete(keys, "removing a deleted meme's notifications").await
}

pub struct DynamoNotifications {
    tables: Tables,
}

impl DynamoNotifications {
    pub fn new(tables: Tables) -> Self {
        Self { tables }
    }

    /// Writes the in-app notification of each current subscriber; returns how many there are.
    async fn fan_out(&self, event: &Item) -> StorageResult<usize> {
        let table = &self.tables.main;
        let meme = parse_s(event, "meme_id", MemeId::parse)?;
        let recipients = subscribers(&self.tables, parse_s(event, "creator_id", UserId::parse)?).await?;
        for recipient in &recipients {
            let mut note = inbox_key(*recipient, meme);
            for name in ["meme_id", "creator", "thumb_key", "created_at"] {
                if let Some(value) = event.get(name) {
                    note.insert(name.to_owned(), value.clone());
                }
            }
            note.insert("notified_at_ms".into(), n(now_ms()));
            let count = Update::builder()
                .table_name(table)
                .set_key(Some(key(user_pk(*recipient), USER_SK)))
                .update_expression("ADD unread :one")
                .condition_expression("attribute_exists(#pk)")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_values(":one", n(1))
                .build()
                .map_err(build_error)?;
            let result = self
                .tables
                .dynamodb
                .transact_write_items()
                .transact_items(put_if_new(table, note)?)
                .transact_items(TransactWriteItem::builder().update(count).build())
                .send()
                .await;
            match result {
                Ok(_) => {}
                // Written by an earlier attempt, or the account is gone: nothing to add.
                Err(e) if failed_conditions(&e).is_some_and(|f| f.contains(&true)) => {}
                Err(e) => return Err(sdk_error("writing an in-app notification", e)),
            }
        }
        Ok(recipients.len())
    }

    async fn user_numbers(&self, recipient: UserId) -> StorageResult<Option<Item>> {
        let found = self.tables.get(key(user_pk(recipient), USER_SK), true, "reading notification counts").await?;
        Ok(found)
    }
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
        let read_through = optional_number(self.user_numbers(recipient).await?.as_ref(), "read_through_ms")?;
        let partition = format!("INBOX#{recipient}");
        let query = self.tables.query_partition(TABLE, &partition);
        query::page(query, TABLE, &partition, &page, true, "listing notifications", |item| {
            Ok(Notification {
                recipient_id: recipient,
                meme_id: parse_s(item, SK, MemeId::parse)?,
                creator: parse_s(item, "creator", Username::parse)?,
                thumb_key: get_s(item, "thumb_key")?.to_owned(),
                created_at: get_time(item, "created_at")?,
                read: get_n::<i128>(item, "notified_at_ms")? <= read_through,
            })
        })
        .await
    }

    async fn unread_count(&self, recipient: UserId) -> StorageResult<u64> {
        let unread = optional_number(self.user_numbers(recipient).await?.as_ref(), "unread")?;
        Ok(unread.clamp(0, i128::from(u64::MAX)) as u64)
    }

    async fn mark_all_read(&self, recipient: UserId) -> StorageResult<()> {
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
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if error_code(&e) == Some("ConditionalCheckFailedException") => Err(StorageError::NotFound),
            Err(e) => Err(sdk_error("marking notifications read", e)),
        }
    }
}

#[async_trait]
impl Outbox for DynamoNotifications {
    async fn claim(&self, now: OffsetDateTime, lease: time::Duration, limit: usize) -> StorageResult<Vec<Delivery>> {
        let due = self
            .tables
            .dynamodb
            .query()
            .table_name(&self.tables.main)
            .index_name("gsi1")
            .key_condition_expression("#pk = :pk AND #sk <= :now")
            .expression_attribute_names("#pk", DUE_PK)
            .expression_attribute_names("#sk", DUE_SK)
            .expression_attribute_values(":pk", s("OUTBOX"))
            // "~" sorts after every id character, so everything due up to `now` is included.
            .expression_attribute_values(":now", s(format!("{:012}#~", now.unix_timestamp().max(0))))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|e| sdk_error("looking for due notifications", e))?;
        let mut claimed = Vec::new();
        for event in due.items() {
            let meme = get_s(event, "meme_id")?;
            // Lease it: only the worker whose update sees the due key it read gets it.
            let leased = self
                .tables
                .dynamodb
                .update_item()
                .table_name(&self.tables.main)
                .set_key(Some(key(get_s(event, PK)?, EVENT_SK)))
                .update_expression("SET #due = :leased ADD attempts :one")
                .condition_expression("#due = :seen")
                .expression_attribute_names("#due", DUE_SK)
                .expression_attribute_values(":leased", s(due_key(now + lease, meme)))
                .expression_attribute_values(":seen", s(get_s(event, DUE_SK)?))
                .expression_attribute_values(":one", n(1))
                .return_values(ReturnValue::AllOld)
                .send()
                .await;
            let event = match leased {
                Ok(leased) => leased.attributes.unwrap_or_default(),
                Err(e) if error_code(&e) == Some("ConditionalCheckFailedException") => continue,
                Err(e) => return Err(sdk_error("leasing a notification", e)),
            };
            let id = parse_s(&event, "meme_id", MemeId::parse)?;
            if event.get("fanned_out") != Some(&AttributeValue::Bool(true)) {
                if self.fan_out(&event).await? == 0 {
                    // Nobody follows the creator: no email to send.
                    self.complete(&id.to_string()).await?;
                    continue;
                }
                self.tables
                    .dynamodb
                    .update_item()
                    .table_name(&self.tables.main)
                    .set_key(Some(event_key(id)))
                    .update_expression("SET fanned_out = :yes")
                    .expression_attribute_values(":yes", AttributeValue::Bool(true))
                    .condition_expression("attribute_exists(#pk)")
                    .expression_attribute_names("#pk", PK)
                    .send()
                    .await
                    .map_err(|e| sdk_error("recording a fan-out", e))?;
            }
            claimed.push(Delivery {
                id: id.to_string(),
                meme_id: id,
                creator: parse_s(&event, "creator", Username::parse)?,
                attempts: get_n(&event, "attempts")?,
                channel: DeliveryChannel::CreatorTopic,
            });
        }
        Ok(claimed)
    }

    async fn complete(&self, delivery_id: &str) -> StorageResult<()> {
        let id = MemeId::parse(delivery_id).map_err(|_| StorageError::NotFound)?;
        self.tables
            .dynamodb
            .delete_item()
            .table_name(&self.tables.main)
            .set_key(Some(event_key(id)))
            .send()
            .await
            .map_err(|e| sdk_error("completing a notification", e))?;
        Ok(())
    }

    async fn retry_at(&self, delivery_id: &str, at: OffsetDateTime) -> StorageResult<()> {
        let id = MemeId::parse(delivery_id).map_err(|_| StorageError::NotFound)?;
        let result = self
            .tables
            .dynamodb
            .update_item()
            .table_name(&self.tables.main)
            .set_key(Some(event_key(id)))
            .update_expression("SET #due = :due")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#due", DUE_SK)
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":due", s(due_key(at, delivery_id)))
            .send()
            .await;
        match result {
            // Completed meanwhile: there is nothing left to retry.
            Ok(_) => Ok(()),
            Err(e) if error_code(&e) == Some("ConditionalCheckFailedException") => Ok(()),
            Err(e) => Err(sdk_error("rescheduling a notification", e)),
        }
    }
}
