//! Shared settings (one item each, set once by a conditional put) and the health check.

use async_trait::async_trait;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;

use super::Tables;
use super::item::{PK, error_code, get_b, key, sdk_error};
use crate::storage::{HealthCheck, SettingsStore, StorageError, StorageResult};

pub struct DynamoSettings {
    tables: Tables,
}

impl DynamoSettings {
    pub fn new(tables: Tables) -> Self {
        Self { tables }
    }

    async fn read(&self, name: &str) -> StorageResult<Option<Vec<u8>>> {
        let found = self.tables.get(key(format!("SETTING#{name}"), "SETTING"), true, "reading a setting").await?;
        found.as_ref().map(|item| get_b(item, "value").map(<[u8]>::to_vec)).transpose()
    }
}

#[async_trait]
impl SettingsStore for DynamoSettings {
    async fn get_or_init(&self, name: &str, candidate: &[u8]) -> StorageResult<Vec<u8>> {
        if let Some(value) = self.read(name).await? {
            return Ok(value);
        }
        let mut item = key(format!("SETTING#{name}"), "SETTING");
        item.insert("value".into(), AttributeValue::B(Blob::new(candidate.to_vec())));
        let put = self
            .tables
            .dynamodb
            .put_item()
            .table_name(&self.tables.main)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .send()
            .await;
        match put {
            Ok(_) => Ok(candidate.to_vec()),
            // Another instance set it first: everyone uses that value.
            Err(e) if error_code(&e) == Some("ConditionalCheckFailedException") => {
                self.read(name).await?.ok_or(StorageError::NotFound)
            }
            Err(e) => Err(sdk_error("storing a setting", e)),
        }
    }
}

/// Reads one key of the main table: the cheapest request that proves DynamoDB answers for the
/// data this app uses (DescribeTable is a control-plane call with a low rate limit).
pub struct DynamoHealth {
    tables: Tables,
}

impl DynamoHealth {
    pub fn new(tables: Tables) -> Self {
        Self { tables }
    }
}

#[async_trait]
impl HealthCheck for DynamoHealth {
    async fn check(&self) -> StorageResult<()> {
        self.tables.get(key("HEALTH", "HEALTH"), false, "checking DynamoDB").await?;
        Ok(())
    }
}
