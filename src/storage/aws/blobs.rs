//! Media in a private S3 bucket under immutable keys. Every object is uploaded with its
//! `Content-Type` and a year-long immutable `Cache-Control`, so CloudFront (or the app's own
//! `/media/{key}` fallback) can serve it as is. A `PutObject` is atomic: readers see the whole
//! object or none.

use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;

use super::item::sdk_error;
use crate::storage::{Blob, BlobKey, BlobStore, StorageResult};

pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

pub struct S3Blobs {
    s3: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Blobs {
    pub fn new(s3: aws_sdk_s3::Client, bucket: String) -> Self {
        Self { s3, bucket }
    }
}

#[async_trait]
impl BlobStore for S3Blobs {
    #[tracing::instrument(skip(self, bytes), fields(key = key.as_str(), size = bytes.len()))]
    async fn put(&self, key: &BlobKey, bytes: Bytes, content_type: &str) -> StorageResult<()> {
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .body(ByteStream::from(bytes))
            .content_type(content_type)
            .cache_control(IMMUTABLE)
            .send()
            .await
            .map_err(|e| sdk_error("uploading media to S3", e))?;
        Ok(())
    }

    async fn get(&self, key: &BlobKey) -> StorageResult<Option<Blob>> {
        let object = match self.s3.get_object().bucket(&self.bucket).key(key.as_str()).send().await {
            Ok(object) => object,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(sdk_error("reading media from S3", e)),
        };
        let content_type = object.content_type().unwrap_or("application/octet-stream").to_owned();
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| crate::storage::StorageError::Unavailable(format!("reading media from S3: {e}")))?
            .into_bytes();
        Ok(Some(Blob { bytes, content_type }))
    }

    async fn delete(&self, key: &BlobKey) -> StorageResult<()> {
        // S3 answers a delete of a missing key with success too.
        self.s3
            .delete_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .send()
            .await
            .map_err(|e| sdk_error("deleting media from S3", e))?;
        Ok(())
    }
}
