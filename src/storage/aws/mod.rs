//! The `aws` backend: DynamoDB for records, S3 for media (served through CloudFront), SNS for
//! subscribers' email. Each trait of `storage` gets an implementation here; nothing above the
//! traits knows which backend runs. `docs/data-model.md` lists every key, index and request.
//!
//! Status: accounts, sessions, media, settings, the health check, memes, comments, templates and
//! subscriptions (with their SNS topics) are on AWS and pass the storage contract against the
//! emulator. In-app notifications and the publishing of new memes through SNS are still to come,
//! so `open` refuses to start the site on this backend.

mod blobs;
mod clients;
mod comments;
mod item;
mod memes;
pub mod metering;
mod query;
mod resources;
mod sessions;
mod settings;
mod subscriptions;
mod templates;
mod users;

use std::sync::Arc;

pub use blobs::IMMUTABLE;
pub use clients::Clients;
pub use resources::Names;

use super::{
    BlobStore, CommentStore, HealthCheck, MemeStore, SessionStore, SettingsStore, Storage, SubscriptionStore,
    TemplateStore, UserStore,
};

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

/// The stores that already run on AWS.
#[derive(Clone)]
pub struct AccountStores {
    pub users: Arc<dyn UserStore>,
    pub sessions: Arc<dyn SessionStore>,
    pub blobs: Arc<dyn BlobStore>,
    pub settings: Arc<dyn SettingsStore>,
    pub health: Arc<dyn HealthCheck>,
    pub memes: Arc<dyn MemeStore>,
    pub comments: Arc<dyn CommentStore>,
    pub templates: Arc<dyn TemplateStore>,
    pub subscriptions: Arc<dyn SubscriptionStore>,
    pub clients: Clients,
}

/// Connects, checks (or creates) the tables and bucket, and builds the stores.
pub async fn connect(settings: &AwsSettings) -> anyhow::Result<AccountStores> {
    let clients = Clients::from_environment().await?;
    let names = Names::new(&settings.table_prefix, &settings.bucket);
    resources::ensure(&clients, &names, settings.create_resources).await?;
    let tables = Tables { dynamodb: clients.dynamodb.clone(), main: names.main_table, sessions: names.sessions_table };
    Ok(AccountStores {
        users: Arc::new(users::DynamoUsers::new(tables.clone())),
        sessions: Arc::new(sessions::DynamoSessions::new(tables.clone())),
        blobs: Arc::new(blobs::S3Blobs::new(clients.s3.clone(), names.bucket)),
        settings: Arc::new(settings::DynamoSettings::new(tables.clone())),
        health: Arc::new(settings::DynamoHealth::new(tables.clone())),
        memes: Arc::new(memes::DynamoMemes::new(tables.clone())),
        comments: Arc::new(comments::DynamoComments::new(tables.clone())),
        templates: Arc::new(templates::DynamoTemplates::new(tables.clone())),
        subscriptions: Arc::new(subscriptions::DynamoSubscriptions::new(
            tables,
            clients.sns.clone(),
            settings.topic_prefix.clone(),
        )),
        clients,
    })
}

/// The whole site on AWS. Refused until every store has its DynamoDB implementation, rather
/// than starting a site whose meme pages would fail.
pub async fn open(settings: &AwsSettings) -> anyhow::Result<Storage> {
    connect(settings).await?;
    anyhow::bail!(
        "SKYHIGH_BACKEND=aws: notifications are not on DynamoDB/SNS yet (accounts, sessions, media, memes, \
         comments, templates and subscriptions are); use SKYHIGH_BACKEND=local"
    )
}
