//! The tables, the bucket, the events topic and the delivery queue the aws backend needs:
//! checked at start-up (one clear line naming whatever is missing), or created when
//! `SKYHIGH_CREATE_RESOURCES=true` (development and emulators; production creates them with
//! `infra/`, and its role may not create anything). `docs/data-model.md` explains every key
//! and index.

use anyhow::{Context, bail};

use super::clients::Clients;
use super::create;
use super::item::error_code;

/// The global secondary indexes of the main table: (name, partition key, sort key, sort key is
/// a number). All three are overloaded: each item kind that needs another access path writes its
/// own values into their key pairs (see docs/data-model.md). None of them is keyed by a counter:
/// the "top" list is one materialised item that the worker rebuilds, so a comment never moves an
/// index entry.
pub const GSIS: [(&str, &str, &str, bool); 3] =
    [("gsi1", "g1pk", "g1sk", false), ("gsi2", "g2pk", "g2sk", false), ("gsi4", "g4pk", "g4sk", false)];

/// The attribute DynamoDB's TTL reads on both tables (unix seconds).
pub const SESSION_TTL_ATTRIBUTE: &str = "expires_at";
pub const SESSION_ID: &str = "id";
/// The account a session is signed in with, and the sessions table's index by it (keys only),
/// which ends all of an account's sessions at once.
pub const SESSION_USER: &str = "user_id";
pub const SESSIONS_BY_USER: &str = "by_user";

/// Names of everything the backend uses, from the configured prefix and bucket.
#[derive(Debug, Clone)]
pub struct Names {
    pub main_table: String,
    pub sessions_table: String,
    pub bucket: String,
    /// The events topic: a name, or its ARN (what `infra/` hands over).
    pub events_topic: String,
    pub delivery_queue: String,
    /// The SES configuration set whose events feed the delivery queue.
    pub mail_configuration_set: Option<String>,
}

impl Names {
    pub fn new(settings: &super::AwsSettings) -> Self {
        Self {
            main_table: format!("{}main", settings.table_prefix),
            sessions_table: format!("{}sessions", settings.table_prefix),
            bucket: settings.bucket.clone(),
            events_topic: settings.events_topic.clone(),
            delivery_queue: settings.delivery_queue.clone(),
            mail_configuration_set: settings.mail_configuration_set(),
        }
    }
}

/// Where the event bus is, once checked: what the relay publishes to and the worker reads.
#[derive(Debug, Clone)]
pub struct Bus {
    pub topic_arn: String,
    pub queue_url: String,
}

/// A dead-letter queue takes a job after this many failed receives.
const MAX_RECEIVES: u32 = 10;

/// Checks that every table, the bucket, the topic and the queue exist, creating the missing ones
/// if `create` is set; returns where the bus is.
pub async fn ensure(clients: &Clients, names: &Names, create: bool) -> anyhow::Result<Bus> {
    let mut missing = Vec::new();
    for table in [&names.main_table, &names.sessions_table] {
        if !table_exists(clients, table).await? {
            missing.push(format!("DynamoDB table {table}"));
        }
    }
    if !bucket_exists(clients, &names.bucket).await? {
        missing.push(format!("S3 bucket {}", names.bucket));
    }
    let queue = queue_url(clients, &names.delivery_queue).await?;
    if queue.is_none() {
        missing.push(format!("SQS queue {}", names.delivery_queue));
    }
    let topic = match &queue {
        Some(url) => topic_arn(clients, &names.events_topic, url).await?,
        None => None,
    };
    if queue.is_some() && topic.is_none() {
        missing.push(format!("SNS topic {}", names.events_topic));
    }
    if let (true, Some(queue_url), Some(topic_arn)) = (missing.is_empty(), queue, topic) {
        let bus = Bus { topic_arn, queue_url };
        if create {
            // Cheap, and it brings the SES events to a development stack made before them.
            mail_events(clients, names, &bus).await?;
        }
        return Ok(bus);
    }
    if !create {
        bail!("missing AWS resources: {} (create them, or set SKYHIGH_CREATE_RESOURCES=true)", missing.join(", "));
    }
    if !table_exists(clients, &names.main_table).await? {
        create::main_table(clients, &names.main_table).await?;
    }
    if !table_exists(clients, &names.sessions_table).await? {
        create::sessions_table(clients, &names.sessions_table).await?;
    }
    if !bucket_exists(clients, &names.bucket).await? {
        create::bucket(clients, &names.bucket).await?;
    }
    for table in [&names.main_table, &names.sessions_table] {
        create::wait_until_active(clients, table).await?;
    }
    let bus = create::bus(clients, names, MAX_RECEIVES).await?;
    mail_events(clients, names, &bus).await?;
    tracing::info!(
        main = %names.main_table, sessions = %names.sessions_table, bucket = %names.bucket,
        topic = %bus.topic_arn, queue = %bus.queue_url, "created missing AWS resources"
    );
    Ok(bus)
}

/// SES reports each email's send (and bounces and complaints) on the events topic, which feeds
/// the delivery queue: in production `infra/` wires this through its own feedback topic.
async fn mail_events(clients: &Clients, names: &Names, bus: &Bus) -> anyhow::Result<()> {
    match &names.mail_configuration_set {
        Some(set) => create::mail_events(clients, set, &bus.topic_arn).await,
        None => Ok(()),
    }
}

async fn queue_url(clients: &Clients, queue: &str) -> anyhow::Result<Option<String>> {
    match clients.sqs.get_queue_url().queue_name(queue).send().await {
        Ok(found) => Ok(found.queue_url),
        Err(e) if matches!(error_code(&e), Some("AWS.SimpleQueueService.NonExistentQueue" | "QueueDoesNotExist")) => {
            Ok(None)
        }
        Err(e) => Err(e).with_context(|| format!("cannot reach SQS to check queue {queue}")),
    }
}

pub(super) async fn queue_arn(clients: &Clients, url: &str) -> anyhow::Result<String> {
    let attributes = clients
        .sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .with_context(|| format!("reading the attributes of SQS queue {url}"))?;
    attributes
        .attributes
        .and_then(|mut a| a.remove(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .with_context(|| format!("SQS queue {url} has no ARN"))
}

/// The topic's ARN: given as one, or a name in the queue's account and region (read from the
/// queue's own ARN), so no permission to list or create topics is needed.
async fn topic_arn(clients: &Clients, topic: &str, queue_url: &str) -> anyhow::Result<Option<String>> {
    let arn = if topic.starts_with("arn:") {
        topic.to_owned()
    } else {
        let queue = queue_arn(clients, queue_url).await?;
        let (prefix, _) = queue.rsplit_once(':').context("an SQS ARN ends with the queue's name")?;
        format!("{}:{topic}", prefix.replacen(":sqs:", ":sns:", 1))
    };
    match clients.sns.get_topic_attributes().topic_arn(&arn).send().await {
        Ok(_) => Ok(Some(arn)),
        Err(e) if matches!(error_code(&e), Some("NotFound" | "NotFoundException")) => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot reach SNS to check topic {topic}")),
    }
}

async fn table_exists(clients: &Clients, table: &str) -> anyhow::Result<bool> {
    match clients.dynamodb.describe_table().table_name(table).send().await {
        Ok(_) => Ok(true),
        Err(e) if error_code(&e) == Some("ResourceNotFoundException") => Ok(false),
        Err(e) => Err(e).with_context(|| format!("cannot reach DynamoDB to check table {table}")),
    }
}

async fn bucket_exists(clients: &Clients, bucket: &str) -> anyhow::Result<bool> {
    match clients.s3.head_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(true),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(false),
        Err(e) => Err(e).with_context(|| format!("cannot reach S3 to check bucket {bucket}")),
    }
}

/// SES sends only from verified identities: in development (an emulator) the sender is
/// verified on the spot; in production `infra/` verifies the domain.
pub async fn ensure_sender_identity(clients: &Clients, from: &str, create: bool) -> anyhow::Result<()> {
    if create { super::create::sender_identity(clients, from).await } else { Ok(()) }
}
