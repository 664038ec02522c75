//! The `aws` backend: DynamoDB for records, S3 for media (served through CloudFront), SNS for
//! subscribers' email. Each trait of `storage` gets an implementation here; nothing above the
//! traits knows which backend runs. `docs/data-model.md` lists every key, index and request.
//!
//! Every store passes the same storage contract as the local backend, against the moto
//! emulator (tests/storage).

mod blobs;
mod clients;
mod comments;
mod item;
mod memes;
pub mod metering;
mod notifications;
mod query;
mod resources;
mod sessions;
mod settings;
mod subscriptions;
mod templates;
mod topics;
mod users;

use std::sync::Arc;

pub use blobs::IMMUTABLE;
pub use clients::Clients;
pub use resources::Names;

use super::Storage;

/// The DynamoDB client with the names of the tables it works on.
#[derive(Clone, Debug)]
pub struct Tables {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub main: String,
    pub sessions: String,
}

/// Where the aws backend keeps things (SPEC §2: `SKYHIGH_TABLE_PREFIX`, `SKYHIGH_BUCKET`,
/// `SKYHIGH_CREATE_RESOURCES`, `SKYHIGH_TOPIC_PREFIX`).
#[derive(Debug, Clone)]
pub struct AwsSettings {
    pub table_prefix: String,
    pub bucket: String,
    pub create_resources: bool,
    pub topic_prefix: String,
}

/// Connects, checks (or creates) the tables and bucket, and builds the stores.
pub async fn open(settings: &AwsSettings) -> anyhow::Result<Storage> {
    Ok(connect(settings).await?.0)
}

/// `open`, also handing back the SDK clients (for tests of what only AWS has).
pub async fn connect(settings: &AwsSettings) -> anyhow::Result<(Storage, Clients)> {
    let clients = Clients::from_environment().await?;
    let names = Names::new(&settings.table_prefix, &settings.bucket);
    resources::ensure(&clients, &names, settings.create_resources).await?;
    let tables = Tables { dynamodb: clients.dynamodb.clone(), main: names.main_table, sessions: names.sessions_table };
    let notifications = Arc::new(notifications::DynamoNotifications::new(tables.clone()));
    let storage = Storage {
        users: Arc::new(users::DynamoUsers::new(tables.clone())),
        sessions: Arc::new(sessions::DynamoSessions::new(tables.clone())),
        blobs: Arc::new(blobs::S3Blobs::new(clients.s3.clone(), names.bucket)),
        health: Arc::new(settings::DynamoHealth::new(tables.clone())),
        memes: Arc::new(memes::DynamoMemes::new(tables.clone())),
        comments: Arc::new(comments::DynamoComments::new(tables.clone())),
        subscriptions: Arc::new(subscriptions::DynamoSubscriptions::new(
            tables.clone(),
            clients.sns.clone(),
            settings.topic_prefix.clone(),
        )),
        notifications: notifications.clone(),
        outbox: notifications,
        templates: Arc::new(templates::DynamoTemplates::new(tables.clone())),
        settings: Arc::new(settings::DynamoSettings::new(tables)),
        creator_topics: Some(Arc::new(topics::SnsTopics::new(clients.sns.clone(), settings.topic_prefix.clone()))),
    };
    Ok((storage, clients))
}
