//! The AWS SDK clients, configured once: the default credential chain and region (environment,
//! profile, instance role), `AWS_ENDPOINT_URL` for an emulator, one rustls HTTPS client shared by
//! every service, and timeouts on every call so an unreachable AWS turns into a quick 503
//! instead of a hung page.

use std::time::Duration;

use anyhow::Context;
use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

use super::metering::Meter;

/// Time to open a connection; an unreachable endpoint fails after this.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// One attempt, including reading the answer.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// The whole call with its retries, so no page waits longer than this on AWS.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(5);
/// The SDK's standard retry mode (exponential backoff with jitter, a retry budget).
const MAX_ATTEMPTS: u32 = 3;
/// SQS long polling holds a receive open for up to 20 s (the worker asks for 10): a receive may
/// take that long plus the answer, so its attempts get longer than other calls'. Only the
/// background worker waits on it; no page does.
const LONG_POLL_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(25);

#[derive(Clone, Debug)]
pub struct Clients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub sns: aws_sdk_sns::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub ses: aws_sdk_sesv2::Client,
    pub cloudfront: aws_sdk_cloudfront::Client,
    /// `AWS_ENDPOINT_URL` (an emulator), where browsers send direct uploads too.
    pub endpoint: Option<String>,
    /// What the clients sign with, for the POST policies of direct draft uploads (the SDK does
    /// not presign those; `drafts.rs`).
    pub credentials: Option<aws_sdk_s3::config::SharedCredentialsProvider>,
}

impl Clients {
    /// Clients configured the SDK's way: credentials, region and any `AWS_ENDPOINT_URL` from the
    /// environment.
    pub async fn from_environment() -> anyhow::Result<Self> {
        Self::load(None).await
    }

    /// The same, sending to `endpoint` (an emulator) whatever the environment says.
    pub async fn for_endpoint(endpoint: &str) -> anyhow::Result<Self> {
        Self::load(Some(endpoint)).await
    }

    async fn load(endpoint: Option<&str>) -> anyhow::Result<Self> {
        let http_client =
            aws_smithy_http_client::Builder::new().tls_provider(tls::Provider::Rustls(CryptoMode::Ring)).build_https();
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .operation_attempt_timeout(ATTEMPT_TIMEOUT)
            .operation_timeout(OPERATION_TIMEOUT)
            .build();
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(endpoint) = endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        let shared = loader
            .http_client(http_client)
            .timeout_config(timeouts)
            .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
            .load()
            .await;
        shared.region().context("AWS_REGION is not set (needed by SKYHIGH_BACKEND=aws)")?;

        let dynamodb = aws_sdk_dynamodb::config::Builder::from(&shared).interceptor(Meter).build();
        // Emulators serve every bucket under one host, so S3 needs path-style addresses there.
        let s3 = aws_sdk_s3::config::Builder::from(&shared).force_path_style(shared.endpoint_url().is_some()).build();
        Ok(Self {
            dynamodb: aws_sdk_dynamodb::Client::from_conf(dynamodb),
            s3: aws_sdk_s3::Client::from_conf(s3),
            sns: aws_sdk_sns::Client::new(&shared),
            sqs: aws_sdk_sqs::Client::from_conf(
                aws_sdk_sqs::config::Builder::from(&shared)
                    .timeout_config(
                        TimeoutConfig::builder()
                            .connect_timeout(CONNECT_TIMEOUT)
                            .operation_attempt_timeout(LONG_POLL_ATTEMPT_TIMEOUT)
                            .operation_timeout(LONG_POLL_ATTEMPT_TIMEOUT + OPERATION_TIMEOUT)
                            .build(),
                    )
                    .build(),
            ),
            ses: aws_sdk_sesv2::Client::new(&shared),
            cloudfront: aws_sdk_cloudfront::Client::new(&shared),
            endpoint: shared.endpoint_url().map(str::to_owned),
            credentials: shared.credentials_provider(),
        })
    }
}
