//! Draft uploads in the media bucket under `drafts/` (which neither CloudFront nor `/media/`
//! serves). The browser sends a draft straight to S3 with a presigned POST (so no instance
//! streams a 100 MB body over a slow connection), and the app reads the object when a preview
//! names it.
//!
//! The Rust SDK presigns requests but not POST policies (awslabs/aws-sdk-rust#863), so the
//! policy is signed here, as "Authenticating Requests: Browser-Based Uploads Using POST (AWS
//! Signature Version 4)" describes: the base64 policy document is the string to sign, with the
//! SigV4 signing key of the day, region and `s3`. The policy pins the bucket and the exact key
//! and bounds the size with `content-length-range`. S3 enforces that bound; emulators may not
//! (moto 5.2 checks neither the policy nor the signature), so `get` bounds the read as well.
//!
//! Expired drafts go by the bucket's lifecycle rule on `drafts/` (`infra/skyhigh.yaml`; made
//! with the bucket on emulators), a day after they are written: the app refuses them from their
//! expiry on, by the time in their id.

use async_trait::async_trait;
use aws_sdk_s3::config::{ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_s3::primitives::ByteStream;
use base64::Engine as _;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use time::OffsetDateTime;
use time::macros::format_description;

use super::item::sdk_error;
use crate::domain::{DraftId, DraftOwner, draft_key};
use crate::storage::{DirectUpload, DraftContent, DraftStore, StorageError, StorageResult};

pub struct S3Drafts {
    s3: aws_sdk_s3::Client,
    bucket: String,
    /// Where browsers POST: the bucket's own host on AWS, `<endpoint>/<bucket>` on an emulator.
    post_url: String,
    credentials: Option<SharedCredentialsProvider>,
}

impl S3Drafts {
    pub fn new(
        s3: aws_sdk_s3::Client,
        bucket: String,
        endpoint: Option<&str>,
        credentials: Option<SharedCredentialsProvider>,
    ) -> Self {
        let post_url = match endpoint {
            // Emulators serve every bucket under one host (path-style, as `clients` sets up).
            Some(endpoint) => format!("{}/{bucket}", endpoint.trim_end_matches('/')),
            None => {
                let region = s3.config().region().map(|r| r.as_ref().to_owned()).unwrap_or_else(|| "us-east-1".into());
                format!("https://{bucket}.s3.{region}.amazonaws.com")
            }
        };
        Self { s3, bucket, post_url, credentials }
    }
}

/// The POST policy's fields, signed: what `direct_upload` hands the browser.
pub(crate) struct PostPolicy<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
    pub max_bytes: u64,
    pub expiration: OffsetDateTime,
    pub now: OffsetDateTime,
    pub region: &'a str,
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    /// The temporary credentials' token (an instance role's), which S3 wants in the form too.
    pub session_token: Option<&'a str>,
}

impl PostPolicy<'_> {
    /// The form fields, in the order the browser sends them (the file goes after them all).
    pub(crate) fn fields(&self) -> anyhow::Result<Vec<(String, String)>> {
        let date = self.now.format(format_description!("[year][month][day]"))?;
        let amz_date = self.now.format(format_description!("[year][month][day]T[hour][minute][second]Z"))?;
        let expiration =
            self.expiration.format(format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].000Z"))?;
        let credential = format!("{}/{date}/{}/s3/aws4_request", self.access_key_id, self.region);
        let mut conditions = vec![
            serde_json::json!({ "bucket": self.bucket }),
            serde_json::json!({ "key": self.key }),
            serde_json::json!(["content-length-range", 0, self.max_bytes]),
            serde_json::json!({ "x-amz-algorithm": "AWS4-HMAC-SHA256" }),
            serde_json::json!({ "x-amz-credential": credential }),
            serde_json::json!({ "x-amz-date": amz_date }),
        ];
        if let Some(token) = self.session_token {
            conditions.push(serde_json::json!({ "x-amz-security-token": token }));
        }
        let policy = serde_json::json!({ "expiration": expiration, "conditions": conditions });
        let policy = base64::engine::general_purpose::STANDARD.encode(policy.to_string());
        let signature = post_signature(&policy, self.secret_access_key, &date, self.region);
        let mut fields = vec![
            ("key".to_owned(), self.key.to_owned()),
            ("x-amz-algorithm".to_owned(), "AWS4-HMAC-SHA256".to_owned()),
            ("x-amz-credential".to_owned(), credential),
            ("x-amz-date".to_owned(), amz_date),
        ];
        if let Some(token) = self.session_token {
            fields.push(("x-amz-security-token".to_owned(), token.to_owned()));
        }
        fields.push(("policy".to_owned(), policy));
        fields.push(("x-amz-signature".to_owned(), signature));
        Ok(fields)
    }
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// SigV4 for a POST policy: the signing key of (secret, day, region, `s3`) applied to the base64
/// policy, in lower-case hex.
pub(crate) fn post_signature(base64_policy: &str, secret_access_key: &str, date: &str, region: &str) -> String {
    let key = hmac(format!("AWS4{secret_access_key}").as_bytes(), date.as_bytes());
    let key = hmac(&key, region.as_bytes());
    let key = hmac(&key, b"s3");
    let key = hmac(&key, b"aws4_request");
    hmac(&key, base64_policy.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

#[async_trait]
impl DraftStore for S3Drafts {
    #[tracing::instrument(skip(self, owner, bytes), fields(size = bytes.len()))]
    async fn put(&self, owner: &DraftOwner, id: &DraftId, bytes: Bytes) -> StorageResult<()> {
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(draft_key(owner, id))
            .body(ByteStream::from(bytes))
            .content_type("application/octet-stream")
            .send()
            .await
            .map_err(|e| sdk_error("uploading a draft to S3", e))?;
        Ok(())
    }

    async fn get(&self, owner: &DraftOwner, id: &DraftId, max_bytes: u64) -> StorageResult<DraftContent> {
        let object = match self.s3.get_object().bucket(&self.bucket).key(draft_key(owner, id)).send().await {
            Ok(object) => object,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(DraftContent::Missing),
            Err(e) => return Err(sdk_error("reading a draft from S3", e)),
        };
        // Refused from its declared length, before its body is read.
        if object.content_length().is_some_and(|n| u64::try_from(n).map_or(true, |n| n > max_bytes)) {
            return Ok(DraftContent::TooLarge);
        }
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| StorageError::Unavailable(format!("reading a draft from S3: {e}")))?
            .into_bytes();
        if bytes.len() as u64 > max_bytes {
            return Ok(DraftContent::TooLarge);
        }
        Ok(DraftContent::Found(bytes))
    }

    async fn direct_upload(
        &self,
        owner: &DraftOwner,
        id: &DraftId,
        max_bytes: u64,
        valid_until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StorageResult<Option<DirectUpload>> {
        let provider = self
            .credentials
            .as_ref()
            .ok_or_else(|| StorageError::Other(anyhow::anyhow!("the S3 client has no credentials to sign with")))?;
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|e| StorageError::Unavailable(format!("loading AWS credentials to sign a draft upload: {e}")))?;
        let region = self.s3.config().region().map(|r| r.as_ref().to_owned()).unwrap_or_else(|| "us-east-1".into());
        let key = draft_key(owner, id);
        let policy = PostPolicy {
            bucket: &self.bucket,
            key: &key,
            max_bytes,
            expiration: valid_until,
            now,
            region: &region,
            access_key_id: credentials.access_key_id(),
            secret_access_key: credentials.secret_access_key(),
            session_token: credentials.session_token(),
        };
        let fields = policy.fields().map_err(StorageError::Other)?;
        Ok(Some(DirectUpload { url: self.post_url.clone(), fields, file_field: "file".into() }))
    }

    fn direct_upload_origin(&self) -> Option<String> {
        let after_scheme = self.post_url.find("://").map_or(0, |i| i + 3);
        Some(match self.post_url[after_scheme..].find('/') {
            Some(slash) => self.post_url[..after_scheme + slash].to_owned(),
            None => self.post_url.clone(),
        })
    }

    async fn delete_expired(&self, _now: OffsetDateTime) -> StorageResult<u64> {
        // The lifecycle rule on `drafts/` removes them.
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against botocore's `S3SigV4PostAuth` (boto3's `generate_presigned_post`), run once at
    /// 2015-12-29T00:00:00Z with the documentation's example keys on this policy document.
    #[test]
    fn the_signature_is_the_one_botocore_makes() {
        let policy = "eyJleHBpcmF0aW9uIjogIjIwMTUtMTItMjlUMDA6MDU6MDAuMDAwWiIsICJjb25kaXRpb25zIjogW3siYnVja2V0Ijog\
            ImIifSwgeyJ4LWFtei1hbGdvcml0aG0iOiAiQVdTNC1ITUFDLVNIQTI1NiJ9LCB7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlP\
            U0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9LCB7IngtYW16LWRhdGUiOiAiMjAxNTEy\
            MjlUMDAwMDAwWiJ9XX0=";
        assert_eq!(
            post_signature(policy, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20151229", "us-east-1"),
            "d5f9d4a9424f5adccc72db00b71a0285b9074a63d7bc4691e878018ec9fdfb4d"
        );
    }

    #[test]
    fn the_policy_pins_the_bucket_the_key_and_the_size() {
        let now = OffsetDateTime::from_unix_timestamp(1_451_347_200).unwrap(); // 2015-12-29T00:00:00Z
        let policy = PostPolicy {
            bucket: "b",
            key: "drafts/o/1-x",
            max_bytes: 1024,
            expiration: now + time::Duration::minutes(5),
            now,
            region: "us-east-1",
            access_key_id: "AKIAIOSFODNN7EXAMPLE",
            secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            session_token: Some("token"),
        };
        let fields = policy.fields().unwrap();
        let field = |name: &str| fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap();
        assert_eq!(field("x-amz-credential"), "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request");
        assert_eq!(field("x-amz-date"), "20151229T000000Z");
        assert_eq!(field("x-amz-security-token"), "token");
        let document: serde_json::Value =
            serde_json::from_slice(&base64::engine::general_purpose::STANDARD.decode(field("policy")).unwrap())
                .unwrap();
        assert_eq!(document["expiration"], "2015-12-29T00:05:00.000Z");
        let conditions = document["conditions"].as_array().unwrap();
        assert!(conditions.contains(&serde_json::json!({"key": "drafts/o/1-x"})));
        assert!(conditions.contains(&serde_json::json!({"bucket": "b"})));
        assert!(conditions.contains(&serde_json::json!(["content-length-range", 0, 1024])));
        assert!(conditions.contains(&serde_json::json!({"x-amz-security-token": "token"})));
        assert_eq!(
            field("x-amz-signature"),
            post_signature(&field("policy"), "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20151229", "us-east-1")
        );
    }
}
