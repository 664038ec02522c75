//! One SNS topic per creator (`SKYHIGH_TOPIC_PREFIX` + username). Subscribing puts the
//! subscriber's email on it; a new meme is one Publish to it, and SNS emails everyone
//! confirmed (adding its own unsubscribe link to each email).

use async_trait::async_trait;

use super::item::sdk_error;
use crate::domain::Username;
use crate::storage::{CreatorTopics, StorageError, StorageResult};

/// The creator's topic ARN, creating the topic if needed: CreateTopic is idempotent and
/// returns the existing topic's ARN, so no ARN has to be stored anywhere.
pub async fn creator_topic_arn(sns: &aws_sdk_sns::Client, prefix: &str, creator: &Username) -> StorageResult<String> {
    let created = sns
        .create_topic()
        .name(format!("{prefix}{}", creator.as_str()))
        .send()
        .await
        .map_err(|e| sdk_error("creating the creator's SNS topic", e))?;
    created.topic_arn().map(str::to_owned).ok_or_else(|| StorageError::Other(anyhow::anyhow!("SNS gave no topic ARN")))
}

pub struct SnsTopics {
    sns: aws_sdk_sns::Client,
    prefix: String,
}

impl SnsTopics {
    pub fn new(sns: aws_sdk_sns::Client, prefix: String) -> Self {
        Self { sns, prefix }
    }
}

#[async_trait]
impl CreatorTopics for SnsTopics {
    #[tracing::instrument(skip(self, text))]
    async fn publish(&self, creator: &Username, subject: &str, text: &str) -> StorageResult<()> {
        let topic = creator_topic_arn(&self.sns, &self.prefix, creator).await?;
        self.sns
            .publish()
            .topic_arn(topic)
            .subject(subject)
            .message(text)
            .send()
            .await
            .map_err(|e| sdk_error("publishing a new meme to the creator's SNS topic", e))?;
        Ok(())
    }
}
