//! Invalidating deleted media in CloudFront (`SKYHIGH_CLOUDFRONT_DISTRIBUTION`): media keys
//! are immutable and served with a year-long cache lifetime, so a deleted meme's pictures would
//! otherwise stay reachable at the edge. One `CreateInvalidation` per deleted meme, for all its
//! paths at once (CloudFront charges per path, and takes up to 3,000 in flight).

use async_trait::async_trait;

use super::item::sdk_error;
use crate::storage::{MediaCache, StorageError, StorageResult};

pub struct CloudFrontCache {
    cloudfront: aws_sdk_cloudfront::Client,
    distribution: String,
}

impl CloudFrontCache {
    pub fn new(cloudfront: aws_sdk_cloudfront::Client, distribution: String) -> Self {
        Self { cloudfront, distribution }
    }
}

#[async_trait]
impl MediaCache for CloudFrontCache {
    async fn invalidate(&self, keys: &[String]) -> StorageResult<()> {
        use aws_sdk_cloudfront::types::{InvalidationBatch, Paths};
        if keys.is_empty() {
            return Ok(());
        }
        // The distribution serves the bucket from its root: an object's path is its key.
        let paths: Vec<String> = keys.iter().map(|k| format!("/{k}")).collect();
        let batch = InvalidationBatch::builder()
            .paths(
                Paths::builder()
                    .quantity(i32::try_from(paths.len()).unwrap_or(i32::MAX))
                    .set_items(Some(paths))
                    .build()
                    .map_err(|e| StorageError::Other(e.into()))?,
            )
            // The same caller reference for the same keys: a retried job is not a second batch.
            .caller_reference(format!("skyhigh-{}", crate::audit::fingerprint(&keys.join(","))))
            .build()
            .map_err(|e| StorageError::Other(e.into()))?;
        self.cloudfront
            .create_invalidation()
            .distribution_id(&self.distribution)
            .invalidation_batch(batch)
            .send()
            .await
            .map_err(|e| sdk_error("invalidating deleted media in CloudFront", e))?;
        Ok(())
    }
}
