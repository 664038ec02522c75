//! The tables, the bucket, the events topic and the delivery queue the aws backend needs:
//! checked at start-up (one clear line naming whatever is missing), or created when
//! `SKYHIGH_CREATE_RESOURCES=true` (development and emulators; production creates them with
//! `infra/`, and its role may not create anything). `docs/data-model.md` explains every key
//! and index.

use std::time::Duration;

use anyhow::{Context, bail};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TableStatus, TimeToLiveSpecification,
};
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};

use super::clients::Clients;
use super::item::{PK, SK, error_code};

/// The global secondary indexes of the main table: (name, partition key, sort key, sort key is
/// a number). gsi1, gsi2 and gsi4 are overloaded: each item kind that needs another access path
/// writes its own values into their key pairs. gsi3 is the "top" index of memes, sorted by a
/// number that an atomic `ADD` moves (see docs/data-model.md).
pub const GSIS: [(&str, &str, &str, bool); 4] = [
    ("gsi1", "g1pk", "g1sk", false),
    ("gsi2", "g2pk", "g2sk", false),
    ("gsi3", "g3pk", "top_score", true),
    ("gsi4", "g4pk", "g4sk", false),
];

/// The attribute DynamoDB's TTL reads on both tables (unix seconds).
pub const SESSION_TTL_ATTRIBUTE: &str = "expires_at";
pub const SESSION_ID: &str = "id";

/// Names of everything the backend uses, from the configured prefix and bucket.
#[derive(Debug, Clone)]
pub struct Names {
    pub main_table: String,
    pub sessions_table: String,
    pub bucket: String,
    /// The events topic: a name, or its ARN (what `infra/` hands over).
    pub events_topic: String,
    pub delivery_queue: String,
}

impl Names {
    pub fn new(settings: &super::AwsSettings) -> Self {
        Self {
            main_table: format!("{}main", settings.table_prefix),
            sessions_table: format!("{}sessions", settings.table_prefix),
            bucket: settings.bucket.clone(),
            events_topic: settings.events_topic.clone(),
            delivery_queue: settings.delivery_queue.clone(),
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
        return Ok(Bus { topic_arn, queue_url });
    }
    if !create {
        bail!("missing AWS resources: {} (create them, or set SKYHIGH_CREATE_RESOURCES=true)", missing.join(", "));
    }
    if !table_exists(clients, &names.main_table).await? {
        create_main_table(clients, &names.main_table).await?;
    }
    if !table_exists(clients, &names.sessions_table).await? {
        create_sessions_table(clients, &names.sessions_table).await?;
    }
    if !bucket_exists(clients, &names.bucket).await? {
        create_bucket(clients, &names.bucket).await?;
    }
    for table in [&names.main_table, &names.sessions_table] {
        wait_until_active(clients, table).await?;
    }
    let bus = create_bus(clients, names).await?;
    tracing::info!(
        main = %names.main_table, sessions = %names.sessions_table, bucket = %names.bucket,
        topic = %bus.topic_arn, queue = %bus.queue_url, "created missing AWS resources"
    );
    Ok(bus)
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

async fn queue_arn(clients: &Clients, url: &str) -> anyhow::Result<String> {
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

/// The events topic, the delivery queue with its dead-letter queue, the subscription between
/// them (raw delivery: the message body is the job), and the queue policy letting the topic in.
async fn create_bus(clients: &Clients, names: &Names) -> anyhow::Result<Bus> {
    use aws_sdk_sqs::types::QueueAttributeName as Q;
    let topic = names.events_topic.rsplit(':').next().unwrap_or(&names.events_topic);
    let created = clients.sns.create_topic().name(topic).send().await.context("creating the events topic")?;
    let topic_arn = created.topic_arn.context("SNS gave no topic ARN")?;
    let dead = clients
        .sqs
        .create_queue()
        .queue_name(format!("{}-dead", names.delivery_queue))
        .send()
        .await
        .context("creating the dead-letter queue")?
        .queue_url
        .context("SQS gave no queue URL")?;
    let dead_arn = queue_arn(clients, &dead).await?;
    let redrive = serde_json::json!({ "deadLetterTargetArn": dead_arn, "maxReceiveCount": MAX_RECEIVES }).to_string();
    let queue_url = clients
        .sqs
        .create_queue()
        .queue_name(&names.delivery_queue)
        .attributes(Q::VisibilityTimeout, "60")
        .attributes(Q::RedrivePolicy, redrive)
        .send()
        .await
        .context("creating the delivery queue")?
        .queue_url
        .context("SQS gave no queue URL")?;
    let queue_arn = queue_arn(clients, &queue_url).await?;
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Service": "sns.amazonaws.com" },
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": { "ArnEquals": { "aws:SourceArn": topic_arn } }
        }]
    })
    .to_string();
    clients
        .sqs
        .set_queue_attributes()
        .queue_url(&queue_url)
        .attributes(Q::Policy, policy)
        .send()
        .await
        .context("letting the events topic send to the delivery queue")?;
    clients
        .sns
        .subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(&queue_arn)
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .context("subscribing the delivery queue to the events topic")?;
    Ok(Bus { topic_arn, queue_url })
}

/// SES sends only from verified identities: in development (an emulator) the sender is
/// verified on the spot; in production `infra/` verifies the domain.
pub async fn ensure_sender_identity(clients: &Clients, from: &str, create: bool) -> anyhow::Result<()> {
    if !create {
        return Ok(());
    }
    match clients.ses.create_email_identity().email_identity(from).send().await {
        Ok(_) => Ok(()),
        Err(e) if error_code(&e) == Some("AlreadyExistsException") => Ok(()),
        Err(e) => Err(e).context("verifying the sender with SES"),
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

fn string_attribute(name: &str) -> anyhow::Result<AttributeDefinition> {
    attribute(name, ScalarAttributeType::S)
}

fn attribute(name: &str, kind: ScalarAttributeType) -> anyhow::Result<AttributeDefinition> {
    Ok(AttributeDefinition::builder().attribute_name(name).attribute_type(kind).build()?)
}

fn key_element(name: &str, kind: KeyType) -> anyhow::Result<KeySchemaElement> {
    Ok(KeySchemaElement::builder().attribute_name(name).key_type(kind).build()?)
}

async fn create_main_table(clients: &Clients, table: &str) -> anyhow::Result<()> {
    let mut request = clients
        .dynamodb
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(string_attribute(PK)?)
        .attribute_definitions(string_attribute(SK)?)
        .key_schema(key_element(PK, KeyType::Hash)?)
        .key_schema(key_element(SK, KeyType::Range)?);
    for (index, pk, sk, numeric) in GSIS {
        let sk_kind = if numeric { ScalarAttributeType::N } else { ScalarAttributeType::S };
        request = request.attribute_definitions(string_attribute(pk)?).attribute_definitions(attribute(sk, sk_kind)?);
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(index)
                .key_schema(key_element(pk, KeyType::Hash)?)
                .key_schema(key_element(sk, KeyType::Range)?)
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()?,
        );
    }
    request.send().await.with_context(|| format!("creating DynamoDB table {table}"))?;
    wait_until_active(clients, table).await?;
    enable_ttl(clients, table).await
}

/// Both tables expire items by `expires_at` (unix seconds): sessions, and the main table's
/// counters, tokens and delivery bookkeeping.
async fn enable_ttl(clients: &Clients, table: &str) -> anyhow::Result<()> {
    clients
        .dynamodb
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder().enabled(true).attribute_name(SESSION_TTL_ATTRIBUTE).build()?,
        )
        .send()
        .await
        .with_context(|| format!("turning on TTL for DynamoDB table {table}"))?;
    Ok(())
}

async fn create_sessions_table(clients: &Clients, table: &str) -> anyhow::Result<()> {
    clients
        .dynamodb
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(string_attribute(SESSION_ID)?)
        .key_schema(key_element(SESSION_ID, KeyType::Hash)?)
        .send()
        .await
        .with_context(|| format!("creating DynamoDB table {table}"))?;
    wait_until_active(clients, table).await?;
    enable_ttl(clients, table).await
}

async fn create_bucket(clients: &Clients, bucket: &str) -> anyhow::Result<()> {
    let mut request = clients.s3.create_bucket().bucket(bucket);
    // us-east-1 is the one region that refuses an explicit location constraint.
    if let Some(region) = clients.s3.config().region().map(|r| r.as_ref().to_owned()).filter(|r| r != "us-east-1") {
        request = request.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region.as_str()))
                .build(),
        );
    }
    request.send().await.with_context(|| format!("creating S3 bucket {bucket}"))?;
    Ok(())
}

/// New tables take a few seconds on AWS (at once on emulators).
async fn wait_until_active(clients: &Clients, table: &str) -> anyhow::Result<()> {
    for _ in 0..120 {
        let described = clients.dynamodb.describe_table().table_name(table).send().await?;
        if described.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    bail!("DynamoDB table {table} did not become active within a minute")
}
