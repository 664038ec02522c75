//! The tables and the bucket the aws backend needs: checked at start-up (one clear line naming
//! whatever is missing), or created when `SKYHIGH_CREATE_RESOURCES=true` (development and
//! emulators; production creates them with infrastructure code). `docs/data-model.md` explains
//! every key and index.

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

/// The attribute DynamoDB's TTL reads on the sessions table (unix seconds).
pub const SESSION_TTL_ATTRIBUTE: &str = "expires_at";
pub const SESSION_ID: &str = "id";

/// Names of everything the backend uses, from the configured prefix and bucket.
#[derive(Debug, Clone)]
pub struct Names {
    pub main_table: String,
    pub sessions_table: String,
    pub bucket: String,
}

impl Names {
    pub fn new(table_prefix: &str, bucket: &str) -> Self {
        Self {
            main_table: format!("{table_prefix}main"),
            sessions_table: format!("{table_prefix}sessions"),
            bucket: bucket.to_owned(),
        }
    }
}

/// Checks that every table and the bucket exist, creating the missing ones if `create` is set.
pub async fn ensure(clients: &Clients, names: &Names, create: bool) -> anyhow::Result<()> {
    let mut missing = Vec::new();
    for table in [&names.main_table, &names.sessions_table] {
        if !table_exists(clients, table).await? {
            missing.push(format!("DynamoDB table {table}"));
        }
    }
    if !bucket_exists(clients, &names.bucket).await? {
        missing.push(format!("S3 bucket {}", names.bucket));
    }
    if missing.is_empty() {
        return Ok(());
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
    tracing::info!(main = %names.main_table, sessions = %names.sessions_table, bucket = %names.bucket, "created missing AWS resources");
    Ok(())
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
