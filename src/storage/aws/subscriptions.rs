//! Subscriptions: records in DynamoDB, email through SNS.
//!
//! A subscription is `SUBS#<creator>` / `<subscriber id>` (so a creator's subscribers are one
//! Query), listed for the subscriber through gsi2 under `FOLLOWS#<subscriber>` by time, plus an
//! `UNSUB#<token>` item for the one-click link in the emails. Both are written with the
//! creator's `subscriber_count` `ADD` in one transaction that only succeeds if the subscription
//! is new, which makes subscribing idempotent and the count exact.
//!
//! Each creator has one SNS topic (`SKYHIGH_TOPIC_PREFIX` + username), created with their first
//! subscriber (CreateTopic is idempotent); each subscriber's email is subscribed to it, and the
//! subscription ARN is kept on the record so that unsubscribing removes it from SNS too.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, TransactWriteItem, Update};

use super::Tables;
use super::item::{Item, PK, get_n, get_s, key, n, parse_s, put_if_new, s, sdk_error};
use super::memes::{build_error, failed_conditions};
use super::query::{self, Access};
use super::users::{USER_SK, user_pk};
use crate::domain::{User, UserId, Username};
use crate::storage::{Following, Page, PageRequest, StorageError, StorageResult, SubscriptionState, SubscriptionStore};

const FOLLOWS: Access = Access::gsi("gsi2", "g2pk", "g2sk");
const TOKEN_SK: &str = "UNSUB";

fn subscription_key(creator: UserId, subscriber: UserId) -> Item {
    key(format!("SUBS#{creator}"), subscriber.to_string())
}

fn token_key(token: &str) -> Item {
    key(format!("UNSUB#{token}"), TOKEN_SK)
}

pub struct DynamoSubscriptions {
    tables: Tables,
    sns: aws_sdk_sns::Client,
    topic_prefix: String,
}

impl DynamoSubscriptions {
    pub fn new(tables: Tables, sns: aws_sdk_sns::Client, topic_prefix: String) -> Self {
        Self { tables, sns, topic_prefix }
    }

    async fn subscribe_email(&self, creator: &User, subscriber: &User) -> StorageResult<String> {
        let topic = super::topics::creator_topic_arn(&self.sns, &self.topic_prefix, &creator.username).await?;
        let subscribed = self
            .sns
            .subscribe()
            .topic_arn(topic)
            .protocol("email")
            .endpoint(subscriber.email.as_str())
            // The real ARN even while the subscriber has not confirmed yet, so it can be removed.
            .return_subscription_arn(true)
            .send()
            .await
            .map_err(|e| sdk_error("subscribing an email to the creator's SNS topic", e))?;
        Ok(subscribed.subscription_arn().unwrap_or_default().to_owned())
    }

    /// Removes the subscription and its token, and counts it, if it exists; returns the removed
    /// record.
    async fn remove(&self, creator: UserId, subscriber: UserId) -> StorageResult<Option<Item>> {
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
        let result = self
            .tables
            .dynamodb
            .transact_write_items()
            .transact_items(delete(subscription_key(creator, subscriber), true)?)
            .transact_items(delete(token_key(get_s(&record, "token")?), false)?)
            .transact_items(count_update(table, creator, -1)?)
            .send()
            .await;
        match result {
            Ok(_) => {}
            // Removed by a concurrent request in between: that one did the work.
            Err(e) if failed_conditions(&e).is_some_and(|f| f.first() == Some(&true)) => return Ok(None),
            Err(e) => return Err(sdk_error("removing a subscription", e)),
        }
        let arn = record.get("sns_subscription_arn").and_then(|v| v.as_s().ok()).filter(|a| a.starts_with("arn:"));
        if let Some(arn) = arn
            && let Err(e) = self.sns.unsubscribe().subscription_arn(arn).send().await
        {
            // The record is gone, so the app no longer counts them; the SNS subscription is
            // left over and logged for a person to remove.
            tracing::error!(error = %sdk_error("removing an SNS subscription", e), %arn, "SNS unsubscribe failed");
        }
        Ok(Some(record))
    }
}

fn count_update(table: &str, creator: UserId, delta: i64) -> StorageResult<TransactWriteItem> {
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(key(user_pk(creator), USER_SK)))
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
    async fn subscribe(&self, creator: &User, subscriber: &User) -> StorageResult<bool> {
        let table = &self.tables.main;
        let token = crate::storage::new_unsubscribe_token();
        let created_at = time::OffsetDateTime::now_utc();
        let mut record = subscription_key(creator.id, subscriber.id);
        record.insert("creator_id".into(), s(creator.id.to_string()));
        record.insert("creator".into(), s(creator.username.as_str()));
        record.insert("subscriber_id".into(), s(subscriber.id.to_string()));
        record.insert("token".into(), s(&token));
        record.insert("created_at".into(), n(created_at.unix_timestamp()));
        record.insert(FOLLOWS.pk.into(), s(format!("FOLLOWS#{}", subscriber.id)));
        // Time first, so the list is most recent first; the creator id keeps keys unique.
        record.insert(FOLLOWS.sk.into(), s(format!("{:012}#{}", created_at.unix_timestamp(), creator.id)));
        let mut token_item = token_key(&token);
        token_item.insert("creator_id".into(), s(creator.id.to_string()));
        token_item.insert("subscriber_id".into(), s(subscriber.id.to_string()));

        let result = self
            .tables
            .dynamodb
            .transact_write_items()
            .transact_items(put_if_new(table, record)?)
            .transact_items(put_if_new(table, token_item)?)
            .transact_items(count_update(table, creator.id, 1)?)
            .send()
            .await;
        match result {
            Ok(_) => {}
            Err(e) => {
                return match failed_conditions(&e).as_deref() {
                    Some([true, ..]) => Ok(false),
                    Some([_, _, true]) => Err(StorageError::NotFound),
                    _ => Err(sdk_error("subscribing", e)),
                };
            }
        }
        // Email through SNS. If SNS cannot take the subscription, undo the record, so the
        // person sees an error and can try again instead of silently getting no email.
        match self.subscribe_email(creator, subscriber).await {
            Ok(arn) => {
                self.tables
                    .dynamodb
                    .update_item()
                    .table_name(table)
                    .set_key(Some(subscription_key(creator.id, subscriber.id)))
                    .update_expression("SET sns_subscription_arn = :arn")
                    .condition_expression("attribute_exists(#pk)")
                    .expression_attribute_names("#pk", PK)
                    .expression_attribute_values(":arn", s(arn))
                    .send()
                    .await
                    .map_err(|e| sdk_error("recording the SNS subscription", e))?;
                Ok(true)
            }
            Err(e) => {
                self.remove(creator.id, subscriber.id).await?;
                Err(e)
            }
        }
    }

    async fn unsubscribe(&self, creator: UserId, subscriber: UserId) -> StorageResult<bool> {
        Ok(self.remove(creator, subscriber).await?.is_some())
    }

    async fn unsubscribe_by_token(&self, token: &str) -> StorageResult<Option<Username>> {
        let found = self.tables.get(token_key(token), true, "reading an unsubscribe link").await?;
        let Some(link) = found else { return Ok(None) };
        let creator = parse_s(&link, "creator_id", UserId::parse)?;
        let subscriber = parse_s(&link, "subscriber_id", UserId::parse)?;
        match self.remove(creator, subscriber).await? {
            Some(record) => parse_s(&record, "creator", Username::parse).map(Some),
            None => Ok(None),
        }
    }

    /// SNS sends an email subscriber nothing until they confirm their address. Until the
    /// record says confirmed, ask SNS, and remember a confirmation so later views skip the call.
    async fn state(&self, creator: UserId, subscriber: UserId) -> StorageResult<SubscriptionState> {
        let key = subscription_key(creator, subscriber);
        let Some(record) = self.tables.get(key.clone(), false, "reading a subscription").await? else {
            return Ok(SubscriptionState::NotSubscribed);
        };
        if record.get("email_confirmed").is_some_and(|v| v.as_bool() == Ok(&true)) {
            return Ok(SubscriptionState::Subscribed);
        }
        let Some(arn) =
            record.get("sns_subscription_arn").and_then(|v| v.as_s().ok()).filter(|a| a.starts_with("arn:"))
        else {
            return Ok(SubscriptionState::AwaitingEmailConfirmation);
        };
        let pending = match self.sns.get_subscription_attributes().subscription_arn(arn).send().await {
            Ok(found) => found.attributes().and_then(|a| a.get("PendingConfirmation")).is_some_and(|v| v == "true"),
            Err(e) => {
                // Not knowing is no reason to fail the page: show them as subscribed.
                tracing::warn!(error = %sdk_error("reading an SNS subscription", e), "SNS did not answer");
                return Ok(SubscriptionState::Subscribed);
            }
        };
        if pending {
            return Ok(SubscriptionState::AwaitingEmailConfirmation);
        }
        let remembered = self
            .tables
            .dynamodb
            .update_item()
            .table_name(&self.tables.main)
            .set_key(Some(key))
            .update_expression("SET email_confirmed = :yes")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":yes", aws_sdk_dynamodb::types::AttributeValue::Bool(true))
            .send()
            .await;
        if let Err(e) = remembered {
            tracing::debug!(error = %sdk_error("remembering a confirmation", e), "will ask SNS again next time");
        }
        Ok(SubscriptionState::Subscribed)
    }

    async fn subscriber_count(&self, creator: UserId) -> StorageResult<u64> {
        let found = self.tables.get(key(user_pk(creator), USER_SK), false, "reading a subscriber count").await?;
        let user = found.ok_or(StorageError::NotFound)?;
        if !user.contains_key("subscriber_count") {
            return Ok(0);
        }
        Ok(get_n::<i64>(&user, "subscriber_count")?.max(0) as u64)
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
}
