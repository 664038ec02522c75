//! Subscriptions: records in DynamoDB (email goes out through the delivery worker and SES).
//!
//! A subscription is `SUBS#<creator username>` / `<subscriber id>` (so a creator's subscribers
//! are one Query), listed for the subscriber through gsi2 under `FOLLOWS#<subscriber>` by time,
//! plus an `UNSUB#<token>` item for the one-click link in the emails. Both are written with the
//! creator's `subscriber_count` `ADD` (on their username claim) in one transaction that only
//! succeeds if the subscription is new, which makes subscribing idempotent and the count exact.
//! Keyed by the creator's name, not id: a portfolio knows the name from its URL, and reads the
//! claim (with the count) and "am I subscribed" in the same BatchGetItem as its memes' counters.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, TransactWriteItem, Update};

use super::Tables;
use super::item::{Item, PK, get_n, get_s, key, n, parse_s, put_if_new, s};
use super::memes::build_error;
use super::notifications::{notice_refused, notice_writes};
use super::query::{self, Access};
use super::users::username_claim_key;
use crate::domain::{Notice, User, UserId, Username};
use crate::storage::{
    Following, Page, PageRequest, StorageError, StorageResult, SubscriberRef, SubscriptionState, SubscriptionStore,
};

const FOLLOWS: Access = Access::gsi("gsi2", "g2pk", "g2sk");
const TOKEN_SK: &str = "UNSUB";

/// The partition of a creator's subscribers.
pub fn subscribers_partition(creator: &Username) -> String {
    format!("SUBS#{creator}")
}

pub fn subscription_key(creator: &Username, subscriber: UserId) -> Item {
    key(subscribers_partition(creator), subscriber.to_string())
}

fn token_key(token: &str) -> Item {
    key(format!("UNSUB#{token}"), TOKEN_SK)
}

pub struct DynamoSubscriptions {
    tables: Tables,
}

impl DynamoSubscriptions {
    pub fn new(tables: Tables) -> Self {
        Self { tables }
    }

    /// Removes the subscription and its token, and counts it, if it exists; returns the removed
    /// record.
    async fn remove(&self, creator: &Username, subscriber: UserId) -> StorageResult<Option<Item>> {
        let found = self.tables.get(subscription_key(creator, subscriber), true, "reading a subscription").await?;
        let Some(record) = found else { return Ok(None) };
        let table = &self.tables.main;
        let delete = |key: Item, condition: bool| -> StorageResult<TransactWriteItem> {
            let mut builder = Delete::builder().table_name(table).set_key(Some(key));
            if condition {
                builder = builder.condition_expression("attribute_exists(#pk)").expression_attribute_names("#pk", PK);
            }
            Ok(TransactWriteItem::builder().delete(builder.build().map_err(build_error)?).build())
        };
        let items = vec![
            delete(subscription_key(creator, subscriber), true)?,
            delete(token_key(get_s(&record, "token")?), false)?,
            count_update(table, creator, -1)?,
        ];
        match self.tables.transact(items, "removing a subscription").await {
            Ok(()) => {}
            // Removed by a concurrent request in between: that one did the work.
            Err(e) if e.failed_conditions().first() == Some(&true) => return Ok(None),
            Err(e) => return Err(e.into_storage_error()),
        }
        Ok(Some(record))
    }
}

fn count_update(table: &str, creator: &Username, delta: i64) -> StorageResult<TransactWriteItem> {
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(username_claim_key(creator)))
        .update_expression("ADD subscriber_count :d")
        .condition_expression("attribute_exists(#pk)")
        .expression_attribute_names("#pk", PK)
        .expression_attribute_values(":d", n(delta))
        .build()
        .map_err(build_error)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

#[async_trait]
impl SubscriptionStore for DynamoSubscriptions {
    #[tracing::instrument(skip_all, fields(creator = %creator.username, subscriber = %subscriber.username))]
    async fn subscribe_with_notice(
        &self,
        creator: &User,
        subscriber: &User,
        mut notice: Option<&Notice>,
    ) -> StorageResult<bool> {
        let table = &self.tables.main;
        let token = crate::storage::new_unsubscribe_token();
        let created_at = time::OffsetDateTime::now_utc();
        let mut record = subscription_key(&creator.username, subscriber.id);
        record.insert("creator_id".into(), s(creator.id.to_string()));
        record.insert("creator".into(), s(creator.username.as_str()));
        record.insert("subscriber_id".into(), s(subscriber.id.to_string()));
        record.insert("token".into(), s(&token));
        record.insert("created_at".into(), n(created_at.unix_timestamp()));
        record.insert(FOLLOWS.pk.into(), s(format!("FOLLOWS#{}", subscriber.id)));
        // Time first, so the list is most recent first; the creator id keeps keys unique.
        record.insert(FOLLOWS.sk.into(), s(format!("{:012}#{}", created_at.unix_timestamp(), creator.id)));
        let mut token_item = token_key(&token);
        token_item.insert("creator".into(), s(creator.username.as_str()));
        token_item.insert("subscriber_id".into(), s(subscriber.id.to_string()));

        loop {
            let mut items = vec![
                put_if_new(table, record.clone())?,
                put_if_new(table, token_item.clone())?,
                count_update(table, &creator.username, 1)?,
            ];
            let notice_at = items.len();
            if let Some(notice) = notice {
                items.extend(notice_writes(table, notice)?);
            }
            return match self.tables.transact(items, "subscribing").await {
                Ok(()) => Ok(true),
                Err(e) => match e.failed_conditions().as_slice() {
                    [true, ..] => Ok(false),
                    [_, _, true, ..] => Err(StorageError::NotFound),
                    // A subscriber who comes back: the creator heard of them the first time.
                    failed if notice.is_some() && notice_refused(failed, notice_at) => {
                        notice = None;
                        continue;
                    }
                    _ => Err(e.into_storage_error()),
                },
            };
        }
    }

    async fn unsubscribe(&self, creator: &User, subscriber: UserId) -> StorageResult<bool> {
        Ok(self.remove(&creator.username, subscriber).await?.is_some())
    }

    async fn unsubscribe_by_token(&self, token: &str) -> StorageResult<Option<Username>> {
        let found = self.tables.get(token_key(token), true, "reading an unsubscribe link").await?;
        let Some(link) = found else { return Ok(None) };
        let creator = parse_s(&link, "creator", Username::parse)?;
        let subscriber = parse_s(&link, "subscriber_id", UserId::parse)?;
        match self.remove(&creator, subscriber).await? {
            Some(record) => parse_s(&record, "creator", Username::parse).map(Some),
            None => Ok(None),
        }
    }

    async fn state(&self, creator: &User, subscriber: UserId) -> StorageResult<SubscriptionState> {
        let key = subscription_key(&creator.username, subscriber);
        let found = self.tables.get(key, false, "reading a subscription").await?;
        Ok(if found.is_some() { SubscriptionState::Subscribed } else { SubscriptionState::NotSubscribed })
    }

    async fn subscriber_count(&self, creator: &User) -> StorageResult<u64> {
        let key = username_claim_key(&creator.username);
        let found = self.tables.get(key, false, "reading a subscriber count").await?;
        subscriber_count_of(&found.ok_or(StorageError::NotFound)?)
    }

    async fn following(&self, subscriber: UserId, page: PageRequest) -> StorageResult<Page<Following>> {
        let partition = format!("FOLLOWS#{subscriber}");
        let query = self.tables.query_partition(FOLLOWS, &partition);
        query::page(query, FOLLOWS, &partition, &page, true, "listing followed creators", |item| {
            Ok(Following {
                creator_id: parse_s(item, "creator_id", UserId::parse)?,
                creator: parse_s(item, "creator", Username::parse)?,
            })
        })
        .await
    }

    async fn subscribers(&self, creator: &User, page: PageRequest) -> StorageResult<Page<SubscriberRef>> {
        let partition = subscribers_partition(&creator.username);
        let query = self.tables.query_partition(query::TABLE, &partition);
        query::page(query, query::TABLE, &partition, &page, false, "listing a creator's subscribers", |item| {
            Ok(SubscriberRef {
                id: parse_s(item, "subscriber_id", UserId::parse)?,
                unsubscribe_token: get_s(item, "token")?.to_owned(),
            })
        })
        .await
    }
}

/// The subscriber count kept on a creator's username claim (none yet: 0).
pub fn subscriber_count_of(claim: &Item) -> StorageResult<u64> {
    if !claim.contains_key("subscriber_count") {
        return Ok(0);
    }
    Ok(get_n::<i64>(claim, "subscriber_count")?.max(0) as u64)
}
