//! The delivery worker's bookkeeping, shared counters and one-time tokens, as small items of
//! the main table that DynamoDB's TTL removes by their `expires_at` (unix seconds):
//!
//! | item | key | what |
//! |---|---|---|
//! | send claim | `SENT#<email key>` / `SENT` | `state` = sending / sent, `claimed_at` (ms) |
//! | fan-out progress | `PROGRESS#<job key>` / `PROGRESS` | `cursor` |
//! | digest | `DIGEST#<recipient>#<hour>` / `DIGEST` | `memes`, a string set |
//! | counter | `COUNTER#<name>` / `COUNTER` | `value` (ADD) |
//! | token | `TOKEN#<sha-256 of the secret>` / `TOKEN` | `purpose`, `user_id` |
//!
//! Each is one key, so each is one request, and each key is its own partition: no hot spot.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, ReturnValue};
use time::OffsetDateTime;

use super::Tables;
use super::item::{Item, PK, conditional_failed, get_n, get_s, key, n, parse_s, s, sdk_error};
use super::memes::build_error;
use crate::domain::{MemeId, UserId};
use crate::storage::{
    Counters, Cursor, DeliveryState, SendClaim, StorageError, StorageResult, TakenToken, TokenPurpose, TokenStore,
};

/// The TTL attribute of the main table (the sessions table uses the same name).
pub const EXPIRES_AT: &str = "expires_at";
/// Bookkeeping outlives any redelivery: SQS keeps a message four days by default.
const KEEP: time::Duration = time::Duration::days(8);

fn millis(at: OffsetDateTime) -> i128 {
    at.unix_timestamp_nanos() / 1_000_000
}

pub struct DynamoDelivery {
    tables: Tables,
}

impl DynamoDelivery {
    pub fn new(tables: Tables) -> Self {
        Self { tables }
    }

    fn send_key(email: &str) -> Item {
        key(format!("SENT#{email}"), "SENT")
    }

    fn progress_key(job: &str) -> Item {
        key(format!("PROGRESS#{job}"), "PROGRESS")
    }

    fn digest_key(recipient: UserId, hour: i64) -> Item {
        key(format!("DIGEST#{recipient}#{hour}"), "DIGEST")
    }

    fn counter_key(name: &str) -> Item {
        key(format!("COUNTER#{name}"), "COUNTER")
    }

    fn token_key(hash: &str) -> Item {
        key(format!("TOKEN#{hash}"), "TOKEN")
    }
}

#[async_trait]
impl DeliveryState for DynamoDelivery {
    async fn claim_send(
        &self,
        email: &str,
        now: OffsetDateTime,
        stale_after: time::Duration,
    ) -> StorageResult<SendClaim> {
        let mut item = Self::send_key(email);
        item.insert("state".into(), s("sending"));
        item.insert("claimed_at".into(), n(millis(now)));
        item.insert(EXPIRES_AT.into(), n((now + KEEP).unix_timestamp()));
        let put = self
            .tables
            .dynamodb
            .put_item()
            .table_name(&self.tables.main)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk) OR (#state = :sending AND claimed_at <= :stale)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":sending", s("sending"))
            .expression_attribute_values(":stale", n(millis(now - stale_after)))
            .send()
            .await;
        match put {
            Ok(_) => Ok(SendClaim::Claimed),
            Err(e) if conditional_failed(&e) => {
                let found = self.tables.get(Self::send_key(email), true, "reading a send claim").await?;
                let sent = found
                    .as_ref()
                    .and_then(|i| i.get("state"))
                    .and_then(|v| v.as_s().ok())
                    .is_some_and(|v| v == "sent");
                Ok(if sent { SendClaim::AlreadySent } else { SendClaim::HeldElsewhere })
            }
            Err(e) => Err(sdk_error("claiming an email", e)),
        }
    }

    async fn mark_sent(&self, emails: &[String]) -> StorageResult<()> {
        // Whole items, claimed or not: a `sent` item has no use for its claim's time.
        let expires_at = n((OffsetDateTime::now_utc() + KEEP).unix_timestamp());
        let items = emails
            .iter()
            .map(|email| {
                let mut item = Self::send_key(email);
                item.insert("state".into(), s("sent"));
                item.insert(EXPIRES_AT.into(), expires_at.clone());
                item
            })
            .collect();
        self.tables.batch_put(items, "recording sent emails").await
    }

    async fn release(&self, email: &str) -> StorageResult<()> {
        let deleted = self
            .tables
            .dynamodb
            .delete_item()
            .table_name(&self.tables.main)
            .set_key(Some(Self::send_key(email)))
            .condition_expression("#state = :sending")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":sending", s("sending"))
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            Err(e) if conditional_failed(&e) => Ok(()),
            Err(e) => Err(sdk_error("releasing a send claim", e)),
        }
    }

    async fn progress(&self, job: &str) -> StorageResult<Option<Cursor>> {
        let found = self.tables.get(Self::progress_key(job), true, "reading a job's progress").await?;
        found.map(|item| get_s(&item, "cursor").map(|c| Cursor(c.to_owned()))).transpose()
    }

    async fn save_progress(&self, job: &str, cursor: &Cursor) -> StorageResult<()> {
        let mut item = Self::progress_key(job);
        item.insert("cursor".into(), s(&cursor.0));
        item.insert(EXPIRES_AT.into(), n((OffsetDateTime::now_utc() + KEEP).unix_timestamp()));
        self.tables
            .dynamodb
            .put_item()
            .table_name(&self.tables.main)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| sdk_error("saving a job's progress", e))?;
        Ok(())
    }

    async fn clear_progress(&self, job: &str) -> StorageResult<()> {
        self.tables
            .dynamodb
            .delete_item()
            .table_name(&self.tables.main)
            .set_key(Some(Self::progress_key(job)))
            .send()
            .await
            .map_err(|e| sdk_error("clearing a job's progress", e))?;
        Ok(())
    }

    async fn hold_for_digest(&self, recipient: UserId, hour: i64, meme: MemeId) -> StorageResult<bool> {
        let updated = self
            .tables
            .dynamodb
            .update_item()
            .table_name(&self.tables.main)
            .set_key(Some(Self::digest_key(recipient, hour)))
            .update_expression("ADD memes :meme SET #exp = :exp")
            .expression_attribute_names("#exp", EXPIRES_AT)
            .expression_attribute_values(":meme", AttributeValue::Ss(vec![meme.to_string()]))
            .expression_attribute_values(":exp", n((OffsetDateTime::now_utc() + KEEP).unix_timestamp()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| sdk_error("holding an email for a digest", e))?;
        let held =
            updated.attributes.as_ref().and_then(|a| a.get("memes")).and_then(|m| m.as_ss().ok()).map_or(0, Vec::len);
        Ok(held == 1)
    }

    async fn held_for_digest(&self, recipient: UserId, hour: i64) -> StorageResult<Vec<MemeId>> {
        let found = self.tables.get(Self::digest_key(recipient, hour), true, "reading a digest").await?;
        let ids = found.as_ref().and_then(|i| i.get("memes")).and_then(|m| m.as_ss().ok()).cloned().unwrap_or_default();
        let mut memes: Vec<MemeId> = ids.iter().filter_map(|id| MemeId::parse(id).ok()).collect();
        memes.sort();
        Ok(memes)
    }
}

#[async_trait]
impl Counters for DynamoDelivery {
    async fn increment(&self, name: &str, expires_at: OffsetDateTime) -> StorageResult<u64> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        // A live counter (or none) goes up by one. One that expired but that TTL has not yet
        // removed (it may take a day) starts again: the second request, conditioned on it
        // still being expired, so two racing requests cannot both start it.
        let live = self
            .tables
            .dynamodb
            .update_item()
            .table_name(&self.tables.main)
            .set_key(Some(Self::counter_key(name)))
            .update_expression("ADD #v :one SET #exp = if_not_exists(#exp, :exp)")
            .condition_expression("attribute_not_exists(#pk) OR #exp > :now")
            .expression_attribute_names("#v", "value")
            .expression_attribute_names("#exp", EXPIRES_AT)
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":exp", n(expires_at.unix_timestamp()))
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        match live {
            Ok(output) => return output.attributes.as_ref().map_or(Ok(1), |a| get_n(a, "value")),
            Err(e) if conditional_failed(&e) => {}
            Err(e) => return Err(sdk_error("counting", e)),
        }
        let mut fresh = Self::counter_key(name);
        fresh.insert("value".into(), n(1));
        fresh.insert(EXPIRES_AT.into(), n(expires_at.unix_timestamp()));
        let restarted = self
            .tables
            .dynamodb
            .put_item()
            .table_name(&self.tables.main)
            .set_item(Some(fresh))
            .condition_expression("#exp <= :now")
            .expression_attribute_names("#exp", EXPIRES_AT)
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match restarted {
            Ok(_) => Ok(1),
            // Another request restarted it first: count on top of theirs.
            Err(e) if conditional_failed(&e) => Box::pin(self.increment(name, expires_at)).await,
            Err(e) => Err(sdk_error("counting", e)),
        }
    }

    async fn get(&self, names: &[String], now: OffsetDateTime) -> StorageResult<Vec<u64>> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<Item> = names.iter().map(|name| Self::counter_key(name)).collect();
        let request =
            KeysAndAttributes::builder().set_keys(Some(keys)).consistent_read(true).build().map_err(build_error)?;
        let output = self
            .tables
            .dynamodb
            .batch_get_item()
            .request_items(&self.tables.main, request)
            .send()
            .await
            .map_err(|e| sdk_error("reading counters", e))?;
        if output.unprocessed_keys.as_ref().is_some_and(|u| !u.is_empty()) {
            return Err(StorageError::Unavailable("reading counters: DynamoDB kept keys unprocessed".into()));
        }
        let items = output.responses.and_then(|mut r| r.remove(&self.tables.main)).unwrap_or_default();
        let now = now.unix_timestamp();
        names
            .iter()
            .map(|name| {
                let pk = format!("COUNTER#{name}");
                let item = items.iter().find(|i| i.get(PK).and_then(|v| v.as_s().ok()) == Some(&pk));
                match item {
                    Some(item) if get_n::<i64>(item, EXPIRES_AT)? > now => {
                        Ok(get_n::<i64>(item, "value")?.max(0) as u64)
                    }
                    _ => Ok(0),
                }
            })
            .collect()
    }

    async fn reset(&self, names: &[String]) -> StorageResult<()> {
        let keys = names.iter().map(|name| Self::counter_key(name)).collect();
        self.tables.batch_delete(keys, "resetting counters").await
    }
}

#[async_trait]
impl TokenStore for DynamoDelivery {
    async fn put(
        &self,
        hash: &str,
        purpose: TokenPurpose,
        user: UserId,
        detail: &str,
        expires_at: OffsetDateTime,
    ) -> StorageResult<()> {
        let mut item = Self::token_key(hash);
        item.insert("purpose".into(), s(purpose.as_str()));
        item.insert("user_id".into(), s(user.to_string()));
        if !detail.is_empty() {
            item.insert("detail".into(), s(detail));
        }
        item.insert(EXPIRES_AT.into(), n(expires_at.unix_timestamp()));
        self.tables
            .dynamodb
            .put_item()
            .table_name(&self.tables.main)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .send()
            .await
            .map_err(|e| sdk_error("storing a one-time token", e))?;
        Ok(())
    }

    async fn take(&self, hash: &str, purpose: TokenPurpose, now: OffsetDateTime) -> StorageResult<Option<TakenToken>> {
        let deleted = self
            .tables
            .dynamodb
            .delete_item()
            .table_name(&self.tables.main)
            .set_key(Some(Self::token_key(hash)))
            .condition_expression("purpose = :purpose AND #exp > :now")
            .expression_attribute_names("#exp", EXPIRES_AT)
            .expression_attribute_values(":purpose", s(purpose.as_str()))
            .expression_attribute_values(":now", n(now.unix_timestamp()))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match deleted {
            Ok(output) => output
                .attributes
                .map(|old| {
                    let detail = old.get("detail").and_then(|d| d.as_s().ok()).cloned().unwrap_or_default();
                    Ok(TakenToken { user: parse_s(&old, "user_id", UserId::parse)?, detail })
                })
                .transpose(),
            Err(e) if conditional_failed(&e) => Ok(None),
            Err(e) => Err(sdk_error("using a one-time token", e)),
        }
    }

    async fn peek(&self, hash: &str, purpose: TokenPurpose, now: OffsetDateTime) -> StorageResult<Option<UserId>> {
        // Consistent: a link used a moment ago must not show its form again.
        let Some(item) = self.tables.get(Self::token_key(hash), true, "reading a one-time token").await? else {
            return Ok(None);
        };
        let live =
            get_s(&item, "purpose")? == purpose.as_str() && get_n::<i64>(&item, EXPIRES_AT)? > now.unix_timestamp();
        if !live {
            return Ok(None);
        }
        parse_s(&item, "user_id", UserId::parse).map(Some)
    }
}
