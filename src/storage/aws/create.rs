//! Creating the aws backend's resources, for development and emulators only
//! (`SKYHIGH_CREATE_RESOURCES=true`). Production creates them with `infra/`, and its instance
//! role may not create anything: the IAM check (`scripts/lint-deploy`) leaves this file's calls
//! out of the permissions the role must have, and fails if the role has any of them.

use std::time::Duration;

use anyhow::{Context, bail};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TableStatus, TimeToLiveSpecification,
};
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketLocationConstraint, CorsConfiguration, CorsRule, CreateBucketConfiguration,
    ExpirationStatus, LifecycleExpiration, LifecycleRule, LifecycleRuleFilter,
};

use super::clients::Clients;
use super::item::{PK, SK, error_code};
use super::resources::{
    Bus, GSIS, Names, SESSION_ID, SESSION_TTL_ATTRIBUTE, SESSION_USER, SESSIONS_BY_USER, queue_arn,
};
use crate::domain::DRAFTS_PREFIX;

fn string_attribute(name: &str) -> anyhow::Result<AttributeDefinition> {
    attribute(name, ScalarAttributeType::S)
}

fn attribute(name: &str, kind: ScalarAttributeType) -> anyhow::Result<AttributeDefinition> {
    Ok(AttributeDefinition::builder().attribute_name(name).attribute_type(kind).build()?)
}

fn key_element(name: &str, kind: KeyType) -> anyhow::Result<KeySchemaElement> {
    Ok(KeySchemaElement::builder().attribute_name(name).key_type(kind).build()?)
}

pub async fn main_table(clients: &Clients, table: &str) -> anyhow::Result<()> {
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

pub async fn sessions_table(clients: &Clients, table: &str) -> anyhow::Result<()> {
    clients
        .dynamodb
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(string_attribute(SESSION_ID)?)
        .attribute_definitions(string_attribute(SESSION_USER)?)
        .key_schema(key_element(SESSION_ID, KeyType::Hash)?)
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(SESSIONS_BY_USER)
                .key_schema(key_element(SESSION_USER, KeyType::Hash)?)
                .projection(Projection::builder().projection_type(ProjectionType::KeysOnly).build())
                .build()?,
        )
        .send()
        .await
        .with_context(|| format!("creating DynamoDB table {table}"))?;
    wait_until_active(clients, table).await?;
    enable_ttl(clients, table).await
}

pub async fn bucket(clients: &Clients, bucket: &str) -> anyhow::Result<()> {
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
    drafts_rules(clients, bucket).await
}

/// What `infra/skyhigh.yaml` gives the media bucket for draft uploads: expired drafts go a day
/// after they were written, and browsers may POST drafts to it (here from any origin: the
/// emulator serves sites on any port).
async fn drafts_rules(clients: &Clients, bucket: &str) -> anyhow::Result<()> {
    let expire_drafts = LifecycleRule::builder()
        .id("expire-drafts")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix(DRAFTS_PREFIX).build())
        .expiration(LifecycleExpiration::builder().days(1).build())
        .build()?;
    clients
        .s3
        .put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .lifecycle_configuration(BucketLifecycleConfiguration::builder().rules(expire_drafts).build()?)
        .send()
        .await
        .with_context(|| format!("setting the lifecycle of S3 bucket {bucket}"))?;
    let post_from_browsers = CorsRule::builder()
        .allowed_methods("POST")
        .allowed_origins("*")
        .allowed_headers("*")
        .max_age_seconds(3000)
        .build()?;
    clients
        .s3
        .put_bucket_cors()
        .bucket(bucket)
        .cors_configuration(CorsConfiguration::builder().cors_rules(post_from_browsers).build()?)
        .send()
        .await
        .with_context(|| format!("setting the CORS rules of S3 bucket {bucket}"))?;
    Ok(())
}

/// New tables take a few seconds on AWS (at once on emulators).
pub async fn wait_until_active(clients: &Clients, table: &str) -> anyhow::Result<()> {
    for _ in 0..120 {
        let described = clients.dynamodb.describe_table().table_name(table).send().await?;
        if described.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    bail!("DynamoDB table {table} did not become active within a minute")
}
/// The events topic, the delivery queue with its dead-letter queue, the subscription between
/// them (raw delivery: the message body is the job), and the queue policy letting the topic in.
pub async fn bus(clients: &Clients, names: &Names, max_receives: u32) -> anyhow::Result<Bus> {
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
    let redrive = serde_json::json!({ "deadLetterTargetArn": dead_arn, "maxReceiveCount": max_receives }).to_string();
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

/// Verifies the sender with SES (an emulator sends only from verified identities).
pub async fn sender_identity(clients: &Clients, from: &str) -> anyhow::Result<()> {
    match clients.ses.create_email_identity().email_identity(from).send().await {
        Ok(_) => Ok(()),
        Err(e) if error_code(&e) == Some("AlreadyExistsException") => Ok(()),
        Err(e) => Err(e).context("verifying the sender with SES"),
    }
}

/// The SES configuration set `set`, publishing every email's Send event (and bounces and
/// complaints) to the events topic `topic_arn`. (On a real account SES also needs the topic's
/// policy to let it publish, as `infra/`'s SesFeedbackTopicPolicy does; emulators don't check.)
pub async fn mail_events(clients: &Clients, set: &str, topic_arn: &str) -> anyhow::Result<()> {
    use aws_sdk_sesv2::types::{EventDestinationDefinition, EventType, SnsDestination};
    // SES says AlreadyExistsException; moto, ConfigurationSetAlreadyExistsException.
    let exists = |code: Option<&str>| code.is_some_and(|c| c.ends_with("AlreadyExistsException"));
    match clients.ses.create_configuration_set().configuration_set_name(set).send().await {
        Ok(_) => {}
        Err(e) if exists(error_code(&e)) => {}
        Err(e) => return Err(e).with_context(|| format!("creating SES configuration set {set}")),
    }
    let destination = EventDestinationDefinition::builder()
        .enabled(true)
        .matching_event_types(EventType::Send)
        .matching_event_types(EventType::Bounce)
        .matching_event_types(EventType::Complaint)
        .sns_destination(SnsDestination::builder().topic_arn(topic_arn).build()?)
        .build();
    let created = clients
        .ses
        .create_configuration_set_event_destination()
        .configuration_set_name(set)
        .event_destination_name("sends-bounces-complaints")
        .event_destination(destination)
        .send()
        .await;
    match created {
        Ok(_) => Ok(()),
        Err(e) if exists(error_code(&e)) => Ok(()),
        Err(e) => Err(e).with_context(|| format!("sending SES events of {set} to the events topic")),
    }
}
