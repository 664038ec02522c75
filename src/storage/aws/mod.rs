//! The `aws` backend: DynamoDB for records, S3 for media (served through CloudFront), and for
//! notifications an event bus: "meme published" events relayed from the table to an SNS topic,
//! an SQS queue feeding the delivery worker, and SES sending the emails. Each trait of `storage`
//! gets an implementation here; nothing above the traits knows which backend runs.
//! `docs/data-model.md` lists every key, index and request.
//!
//! Every store passes the same storage contract as the local backend, against the moto
//! emulator (tests/storage).

mod account;
mod api_tokens;
mod blobs;
mod cdn;
mod clients;
mod comments;
mod create;
mod delivery;
mod drafts;
mod item;
mod memes;
pub mod metering;
mod notifications;
mod query;
mod queue;
mod relay;
mod resources;
mod sessions;
mod settings;
mod subscriptions;
mod templates;
mod users;
mod views;

use std::sync::Arc;

pub use blobs::IMMUTABLE;
pub use clients::Clients;
pub use resources::{Bus, Names, ensure_sender_identity};

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{DeleteRequest, KeysAndAttributes, PutRequest, TransactWriteItem, WriteRequest};
use aws_smithy_runtime_api::client::result::SdkError;

use super::{Storage, StorageError, StorageResult};
use item::{Item, sdk_error};

/// The DynamoDB client with the names of the tables it works on.
#[derive(Clone, Debug)]
pub struct Tables {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub main: String,
    pub sessions: String,
}

impl Tables {
    /// One item of the main table by its key. `consistent` reads see every write that
    /// finished before (twice the read cost); the others may lag by a fraction of a second.
    pub async fn get(&self, key: Item, consistent: bool, what: &str) -> StorageResult<Option<Item>> {
        let found = self
            .dynamodb
            .get_item()
            .table_name(&self.main)
            .set_key(Some(key))
            .consistent_read(consistent)
            .send()
            .await
            .map_err(|e| sdk_error(what, e))?;
        Ok(found.item)
    }

    /// A Query of one partition of the main table, or of one of its indexes (`access`).
    pub fn query_partition(&self, access: query::Access, partition: &str) -> QueryFluentBuilder {
        self.dynamodb
            .query()
            .table_name(&self.main)
            .set_index_name(access.index.map(str::to_owned))
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", access.pk)
            .expression_attribute_values(":pk", item::s(partition))
    }

    /// Every item `query` matches, following its pages (background work only: a page view
    /// reads one page).
    pub async fn query_all(&self, query: QueryFluentBuilder, what: &str) -> StorageResult<Vec<Item>> {
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let page = query.clone().set_exclusive_start_key(start).send().await.map_err(|e| sdk_error(what, e))?;
            found.extend(page.items.unwrap_or_default());
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(found);
            }
        }
    }

    /// Items of the main table by key, in BatchGetItem requests of 100 (consistent reads),
    /// sending again whatever DynamoDB leaves unprocessed under load. Missing keys are absent.
    pub async fn batch_get(&self, keys: Vec<Item>, what: &str) -> StorageResult<Vec<Item>> {
        let mut found = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(100) {
            let mut pending: Vec<Item> = chunk.to_vec();
            for _ in 0..5 {
                if pending.is_empty() {
                    break;
                }
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(pending))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| StorageError::Other(e.into()))?;
                let output = self
                    .dynamodb
                    .batch_get_item()
                    .request_items(&self.main, request)
                    .send()
                    .await
                    .map_err(|e| sdk_error(what, e))?;
                found.extend(output.responses.and_then(|mut r| r.remove(&self.main)).unwrap_or_default());
                pending =
                    output.unprocessed_keys.and_then(|mut u| u.remove(&self.main)).map(|k| k.keys).unwrap_or_default();
            }
            if !pending.is_empty() {
                return Err(StorageError::Unavailable(format!("{what}: DynamoDB kept keys unprocessed")));
            }
        }
        Ok(found)
    }

    /// Runs a transaction, trying again with jittered backoff while it collides with another
    /// transaction on the same items (many comments on one viral meme at once). Still colliding
    /// after the last try, it is `Unavailable`: a 503 with `Retry-After`, never a 500.
    pub async fn transact(&self, items: Vec<TransactWriteItem>, what: &str) -> Result<(), TransactError> {
        use rand::Rng;
        let mut delay_ms = 10u64;
        let mut attempt = 1;
        loop {
            let result = self.dynamodb.transact_write_items().set_transact_items(Some(items.clone())).send().await;
            let error = match result {
                Ok(_) => return Ok(()),
                Err(e) => e,
            };
            let conflicted = is_conflict(&error);
            if !conflicted || attempt == TRANSACTION_ATTEMPTS {
                return Err(TransactError { error, what: what.to_owned(), conflicted });
            }
            let jittered = rand::thread_rng().gen_range(delay_ms / 2..=delay_ms);
            tokio::time::sleep(std::time::Duration::from_millis(jittered)).await;
            delay_ms = (delay_ms * 2).min(400);
            attempt += 1;
        }
    }

    /// Deletes items of the main table by key, 25 per request (BatchWriteItem's limit),
    /// sending again whatever DynamoDB leaves unprocessed under load.
    pub async fn batch_delete(&self, keys: Vec<Item>, what: &str) -> StorageResult<()> {
        let delete = |key| {
            DeleteRequest::builder()
                .set_key(Some(key))
                .build()
                .map(|d| WriteRequest::builder().delete_request(d).build())
        };
        self.batch_write(keys.into_iter().map(delete), what).await
    }

    /// Writes whole items of the main table, as `batch_delete` deletes them: unconditionally
    /// (BatchWriteItem takes no conditions).
    pub async fn batch_put(&self, items: Vec<Item>, what: &str) -> StorageResult<()> {
        let put = |item| {
            PutRequest::builder().set_item(Some(item)).build().map(|p| WriteRequest::builder().put_request(p).build())
        };
        self.batch_write(items.into_iter().map(put), what).await
    }

    async fn batch_write(
        &self,
        requests: impl Iterator<Item = Result<WriteRequest, aws_sdk_dynamodb::error::BuildError>>,
        what: &str,
    ) -> StorageResult<()> {
        let requests = requests.collect::<Result<Vec<_>, _>>().map_err(|e| StorageError::Other(e.into()))?;
        for chunk in requests.chunks(25) {
            let mut requests = chunk.to_vec();
            for _ in 0..5 {
                if requests.is_empty() {
                    break;
                }
                let written = self
                    .dynamodb
                    .batch_write_item()
                    .request_items(&self.main, requests)
                    .send()
                    .await
                    .map_err(|e| sdk_error(what, e))?;
                requests = written.unprocessed_items.and_then(|mut u| u.remove(&self.main)).unwrap_or_default();
            }
            if !requests.is_empty() {
                return Err(StorageError::Unavailable(format!("{what}: DynamoDB kept items unprocessed")));
            }
        }
        Ok(())
    }
}

/// Tries of a transaction that keeps colliding: 10, 20, 40, 80, 160 ms apart (half of each
/// at random), about a third of a second in all.
const TRANSACTION_ATTEMPTS: u32 = 6;

/// Whether a transaction was cancelled because another one held its items.
pub(crate) fn is_conflict<R>(error: &SdkError<TransactWriteItemsError, R>) -> bool {
    match error.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
            cancelled.cancellation_reasons().iter().any(|r| r.code() == Some("TransactionConflict"))
        }
        Some(TransactWriteItemsError::TransactionInProgressException(_)) => true,
        _ => false,
    }
}

/// A failed transaction, for its caller to read the conditions of.
pub struct TransactError {
    error: SdkError<TransactWriteItemsError, aws_smithy_runtime_api::http::Response>,
    what: String,
    conflicted: bool,
}

impl TransactError {
    /// Which items failed their condition, in request order (empty: not cancelled).
    pub fn failed_conditions(&self) -> Vec<bool> {
        match self.error.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => cancelled
                .cancellation_reasons()
                .iter()
                .map(|reason| reason.code() == Some("ConditionalCheckFailed"))
                .collect(),
            _ => Vec::new(),
        }
    }

    pub fn into_storage_error(self) -> StorageError {
        if self.conflicted {
            crate::telemetry::metrics::storage_error("conflict");
            tracing::warn!(what = %self.what, "a transaction kept colliding with others: answered 503");
            return StorageError::Unavailable(format!("{}: other changes to the same items, try again", self.what));
        }
        sdk_error(&self.what, self.error)
    }
}

/// Where the aws backend keeps things (SPEC §2: `SKYHIGH_TABLE_PREFIX`, `SKYHIGH_BUCKET`,
/// `SKYHIGH_CREATE_RESOURCES`, `SKYHIGH_EVENTS_TOPIC`, `SKYHIGH_DELIVERY_QUEUE`).
#[derive(Debug, Clone)]
pub struct AwsSettings {
    pub table_prefix: String,
    pub bucket: String,
    pub create_resources: bool,
    pub events_topic: String,
    pub delivery_queue: String,
    /// The CloudFront distribution to invalidate deleted media in (`SKYHIGH_CLOUDFRONT_DISTRIBUTION`).
    pub cloudfront_distribution: Option<String>,
    /// The SES configuration set whose event destination reports sends, bounces and complaints
    /// to the delivery queue (`SKYHIGH_SES_CONFIGURATION_SET`; `infra/` makes it).
    pub ses_configuration_set: Option<String>,
}

impl AwsSettings {
    /// The configuration set emails are sent with: the configured one, else (when creating
    /// resources, in development) `<prefix>mail`, made beside the tables with its events going
    /// to the events topic.
    pub fn mail_configuration_set(&self) -> Option<String> {
        self.ses_configuration_set
            .clone()
            .or_else(|| self.create_resources.then(|| format!("{}mail", self.table_prefix)))
    }
}

/// Connects, checks (or creates) the tables, bucket, topic and queue, and builds the stores.
pub async fn open(settings: &AwsSettings) -> anyhow::Result<(Storage, Clients)> {
    connect(settings).await
}

/// `open`, also handing back the SDK clients (the SES sender uses them; tests of what only AWS
/// has too).
pub async fn connect(settings: &AwsSettings) -> anyhow::Result<(Storage, Clients)> {
    connect_with(settings, Clients::from_environment().await?).await
}

/// `connect` to the AWS (an emulator) at `endpoint`, whatever the environment names.
pub async fn connect_to(settings: &AwsSettings, endpoint: &str) -> anyhow::Result<(Storage, Clients)> {
    connect_with(settings, Clients::for_endpoint(endpoint).await?).await
}

async fn connect_with(settings: &AwsSettings, clients: Clients) -> anyhow::Result<(Storage, Clients)> {
    let names = Names::new(settings);
    let bus = resources::ensure(&clients, &names, settings.create_resources).await?;
    let tables = Tables { dynamodb: clients.dynamodb.clone(), main: names.main_table, sessions: names.sessions_table };
    let delivery = Arc::new(delivery::DynamoDelivery::new(tables.clone()));
    let storage = Storage {
        users: Arc::new(users::DynamoUsers::new(tables.clone())),
        accounts: Arc::new(account::DynamoAccounts::new(tables.clone())),
        sessions: Arc::new(sessions::DynamoSessions::new(tables.clone())),
        drafts: Arc::new(drafts::S3Drafts::new(
            clients.s3.clone(),
            names.bucket.clone(),
            clients.endpoint.as_deref(),
            clients.credentials.clone(),
        )),
        blobs: Arc::new(blobs::S3Blobs::new(clients.s3.clone(), names.bucket)),
        health: Arc::new(settings::DynamoHealth::new(tables.clone())),
        memes: Arc::new(memes::DynamoMemes::new(tables.clone())),
        comments: Arc::new(comments::DynamoComments::new(tables.clone())),
        subscriptions: Arc::new(subscriptions::DynamoSubscriptions::new(tables.clone())),
        notifications: Arc::new(notifications::DynamoNotifications::new(tables.clone())),
        templates: Arc::new(templates::DynamoTemplates::new(tables.clone())),
        settings: Arc::new(settings::DynamoSettings::new(tables.clone())),
        views: Arc::new(views::DynamoViews::new(tables.clone())),
        tokens: delivery.clone(),
        api_tokens: Arc::new(api_tokens::DynamoApiTokens::new(tables.clone())),
        counters: delivery.clone(),
        deliveries: delivery,
        jobs: Arc::new(queue::SqsQueue::new(clients.sqs.clone(), bus.queue_url.clone())),
        relay: Some(Arc::new(relay::SnsRelay::new(tables, clients.sns.clone(), bus.topic_arn.clone()))),
        media_cache: settings.cloudfront_distribution.clone().map(|distribution| {
            Arc::new(cdn::CloudFrontCache::new(clients.cloudfront.clone(), distribution))
                as Arc<dyn crate::storage::MediaCache>
        }),
        debris: None,
    };
    Ok((storage, clients))
}
