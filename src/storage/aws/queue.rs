//! The delivery queue on SQS. "Meme published" events arrive from the events topic (raw message
//! delivery, so the body is the job's JSON); account emails and digests are sent to the queue
//! directly; SES's events arrive from its feedback topic: Send (an email was accepted, named by
//! its `email_key` tag), Bounce and Complaint. A received message
//! is hidden for the visibility timeout and comes back if the worker dies before deleting it;
//! after ten receives the queue's redrive policy moves it to the dead-letter queue.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};

use super::item::sdk_error;
use crate::domain::{EmailFeedback, EmailSent, FeedbackKind, Job};
use crate::storage::{Backlog, JobQueue, ReceivedJob, StorageError, StorageResult};

/// SQS limits: 10 messages a receive, 20 s of long polling, 15 min of delay, 12 h hidden.
const MAX_BATCH: usize = 10;
const MAX_WAIT: Duration = Duration::from_secs(20);
const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
const MAX_HIDDEN: Duration = Duration::from_secs(12 * 60 * 60);

pub struct SqsQueue {
    sqs: aws_sdk_sqs::Client,
    url: String,
}

impl SqsQueue {
    pub fn new(sqs: aws_sdk_sqs::Client, url: String) -> Self {
        Self { sqs, url }
    }
}

fn seconds(d: Duration, max: Duration) -> i32 {
    i32::try_from(d.min(max).as_secs()).unwrap_or(i32::MAX)
}

/// Reads a message body: our job JSON, the same wrapped in an SNS envelope (when raw delivery
/// is off), or an SES event: a send, a bounce or a complaint.
pub fn parse_body(body: &str) -> Option<Job> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    if value.get("Type").and_then(|t| t.as_str()) == Some("Notification") {
        return parse_body(value.get("Message")?.as_str()?);
    }
    if let Ok(job) = serde_json::from_value::<Job>(value.clone()) {
        return Some(job);
    }
    if value.get("eventType").and_then(|t| t.as_str()) == Some("Send") {
        return sent_receipt(&value).map(Job::EmailSent);
    }
    ses_feedback(&value).map(Job::EmailFeedback)
}

/// The email an SES Send event is about, by the key the worker tagged it with.
fn sent_receipt(value: &serde_json::Value) -> Option<EmailSent> {
    let tag = value.get("mail")?.get("tags")?.get(EmailSent::TAG)?.as_array()?.first()?.as_str()?;
    EmailSent::from_tag_value(tag)
}

/// An SES event (configuration-set event destinations say `eventType`, identity notifications
/// `notificationType`): a permanent bounce or a complaint names the addresses to stop.
fn ses_feedback(value: &serde_json::Value) -> Option<EmailFeedback> {
    let kind = value.get("eventType").or_else(|| value.get("notificationType"))?.as_str()?;
    let addresses = |list: &serde_json::Value| -> Vec<String> {
        list.as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r.get("emailAddress").and_then(|a| a.as_str()).map(str::to_owned))
            .collect()
    };
    match kind {
        "Bounce" => {
            let bounce = value.get("bounce")?;
            // Transient bounces (a full mailbox) are no reason to stop for good.
            if bounce.get("bounceType").and_then(|t| t.as_str()) != Some("Permanent") {
                return Some(EmailFeedback { kind: FeedbackKind::Bounce, addresses: Vec::new() });
            }
            Some(EmailFeedback { kind: FeedbackKind::Bounce, addresses: addresses(bounce.get("bouncedRecipients")?) })
        }
        "Complaint" => {
            let complaint = value.get("complaint")?;
            Some(EmailFeedback {
                kind: FeedbackKind::Complaint,
                addresses: addresses(complaint.get("complainedRecipients")?),
            })
        }
        _ => None,
    }
}

#[async_trait]
impl JobQueue for SqsQueue {
    async fn enqueue(&self, job: &Job, delay: Duration) -> StorageResult<()> {
        let body = serde_json::to_string(job).map_err(|e| StorageError::Other(e.into()))?;
        self.sqs
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .delay_seconds(seconds(delay, MAX_DELAY))
            .send()
            .await
            .map_err(|e| sdk_error("queueing a job", e))?;
        Ok(())
    }

    async fn receive(&self, max: usize, hidden_for: Duration, wait: Duration) -> StorageResult<Vec<ReceivedJob>> {
        let output = self
            .sqs
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(i32::try_from(max.clamp(1, MAX_BATCH)).unwrap_or(1))
            .visibility_timeout(seconds(hidden_for, MAX_HIDDEN))
            .wait_time_seconds(seconds(wait, MAX_WAIT))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(|e| sdk_error("receiving jobs", e))?;
        let mut received = Vec::new();
        for message in output.messages.unwrap_or_default() {
            let Some(receipt) = message.receipt_handle else { continue };
            let body = message.body.unwrap_or_default();
            let count = message
                .attributes
                .as_ref()
                .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                .and_then(|c| c.parse().ok())
                .unwrap_or(1);
            match parse_body(&body) {
                Some(job) => received.push(ReceivedJob { job, receipt, receive_count: count }),
                None => {
                    tracing::error!(%body, "dropping a queue message that is no job");
                    self.complete(&receipt).await?;
                }
            }
        }
        Ok(received)
    }

    async fn backlog(&self) -> StorageResult<Backlog> {
        const COUNTS: [QueueAttributeName; 3] = [
            QueueAttributeName::ApproximateNumberOfMessages,
            QueueAttributeName::ApproximateNumberOfMessagesDelayed,
            QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
        ];
        let output = self
            .sqs
            .get_queue_attributes()
            .queue_url(&self.url)
            .set_attribute_names(Some(COUNTS.to_vec()))
            .send()
            .await
            .map_err(|e| sdk_error("reading the queue's backlog", e))?;
        let attributes = output.attributes.unwrap_or_default();
        let jobs = COUNTS.iter().filter_map(|name| attributes.get(name)?.parse::<u64>().ok()).sum();
        Ok(Backlog { jobs, oldest_due: None })
    }

    async fn complete(&self, receipt: &str) -> StorageResult<()> {
        self.sqs
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(|e| sdk_error("completing a job", e))?;
        Ok(())
    }

    async fn complete_all(&self, receipts: &[String]) -> StorageResult<()> {
        use aws_sdk_sqs::types::DeleteMessageBatchRequestEntry;
        for chunk in receipts.chunks(MAX_BATCH) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, receipt)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(receipt)
                        .build()
                        .map_err(|e| StorageError::Other(e.into()))
                })
                .collect::<StorageResult<Vec<_>>>()?;
            let deleted = self
                .sqs
                .delete_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| sdk_error("completing jobs", e))?;
            // A message that was not deleted comes back and is done again: harmless for the
            // idempotent jobs batched here, but worth knowing about.
            if let Some(failed) = deleted.failed.first() {
                return Err(StorageError::Unavailable(format!(
                    "completing jobs: SQS kept {} of {} ({})",
                    deleted.failed.len(),
                    chunk.len(),
                    failed.code
                )));
            }
        }
        Ok(())
    }

    async fn hide(&self, receipt: &str, hidden_for: Duration) -> StorageResult<()> {
        self.sqs
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .visibility_timeout(seconds(hidden_for, MAX_HIDDEN))
            .send()
            .await
            .map_err(|e| sdk_error("hiding a job", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ses_bounces_and_complaints_become_feedback_jobs() {
        let bounce = r#"{"eventType":"Bounce","bounce":{"bounceType":"Permanent",
            "bouncedRecipients":[{"emailAddress":"gone@example.com"}]},"mail":{}}"#;
        assert_eq!(
            parse_body(bounce),
            Some(Job::EmailFeedback(EmailFeedback {
                kind: FeedbackKind::Bounce,
                addresses: vec!["gone@example.com".into()]
            }))
        );
        let wrapped = serde_json::json!({"Type": "Notification", "Message": r#"{"notificationType":"Complaint",
            "complaint":{"complainedRecipients":[{"emailAddress":"angry@example.com"}]}}"#})
        .to_string();
        assert!(matches!(parse_body(&wrapped), Some(Job::EmailFeedback(f)) if f.kind == FeedbackKind::Complaint));
        let transient = bounce.replace("Permanent", "Transient");
        assert!(matches!(parse_body(&transient), Some(Job::EmailFeedback(f)) if f.addresses.is_empty()));
        assert_eq!(parse_body("not json"), None);
    }

    #[test]
    fn an_ses_send_event_becomes_the_receipt_of_the_email_its_tag_names() {
        let send = r#"{"eventType":"Send","send":{},"mail":{"messageId":"0100",
            "tags":{"ses:configuration-set":["skyhigh-prod"],"email_key":["meme_01aa_01bb"]}}}"#;
        assert_eq!(parse_body(send), Some(Job::EmailSent(EmailSent { key: "meme:01aa:01bb".into() })));
        // An email sent without our tag (by another application of the account, say) is no job.
        assert_eq!(parse_body(r#"{"eventType":"Send","send":{},"mail":{"tags":{}}}"#), None);
    }
}
