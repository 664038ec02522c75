//! The delivery worker: claims due deliveries from the outbox, sends them, and marks them done
//! or schedules a retry with exponential backoff. Saving a meme only writes outbox rows (in the
//! meme's transaction) and wakes the worker; it never waits for delivery.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::{Notify, watch};

use super::Mailer;
use crate::domain::{Delivery, DeliveryChannel};
use crate::storage::{CreatorTopics, Outbox};

/// How long a claimed delivery is reserved for this worker; after a crash it becomes due again
/// once the lease runs out.
const LEASE: time::Duration = time::Duration::minutes(5);
const BATCH: usize = 20;
/// Also look for due work this often, for retries and for rows other instances wrote.
const POLL_EVERY: Duration = Duration::from_secs(5);
const MAX_ATTEMPTS: u32 = 12;

/// Wakes the worker right after a save, so emails go out within moments.
#[derive(Clone, Default)]
pub struct Wake(Arc<Notify>);

impl Wake {
    pub fn now(&self) {
        self.0.notify_one();
    }
}

pub struct DeliveryWorker {
    pub outbox: Arc<dyn Outbox>,
    pub mailer: Arc<Mailer>,
    /// The backend's own email channel, for `DeliveryChannel::CreatorTopic` deliveries.
    pub creator_topics: Option<Arc<dyn CreatorTopics>>,
    pub wake: Wake,
}

impl DeliveryWorker {
    pub fn spawn(self, mut stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                self.drain().await;
                tokio::select! {
                    () = self.wake.0.notified() => {}
                    () = tokio::time::sleep(POLL_EVERY) => {}
                    _ = stop.changed() => break,
                }
            }
            tracing::debug!("delivery worker stopped");
        })
    }

    /// Sends everything due now.
    pub async fn drain(&self) {
        loop {
            let claimed = match self.outbox.claim(OffsetDateTime::now_utc(), LEASE, BATCH).await {
                Ok(claimed) => claimed,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming deliveries failed");
                    return;
                }
            };
            if claimed.is_empty() {
                return;
            }
            for delivery in claimed {
                let outcome = self.send(&delivery).await;
                let recorded = match outcome {
                    Ok(()) => {
                        tracing::info!(delivery = %delivery.id, "notification delivered");
                        self.outbox.complete(&delivery.id).await
                    }
                    Err(e) if delivery.attempts + 1 >= MAX_ATTEMPTS => {
                        tracing::error!(delivery = %delivery.id, error = %e, "giving up on a notification");
                        self.outbox.complete(&delivery.id).await
                    }
                    Err(e) => {
                        let wait = backoff(delivery.attempts);
                        tracing::warn!(delivery = %delivery.id, error = %e, retry_in = ?wait, "notification failed");
                        self.outbox.retry_at(&delivery.id, OffsetDateTime::now_utc() + wait).await
                    }
                };
                if let Err(e) = recorded {
                    tracing::warn!(delivery = %delivery.id, error = %e, "recording a delivery's outcome failed");
                }
            }
        }
    }
}

impl DeliveryWorker {
    async fn send(&self, delivery: &Delivery) -> anyhow::Result<()> {
        match &delivery.channel {
            DeliveryChannel::Email(to) => self.mailer.send(delivery, to).await,
            DeliveryChannel::CreatorTopic => {
                let topics = self
                    .creator_topics
                    .as_ref()
                    .ok_or_else(|| anyhow::anyhow!("this backend has no creator topics to publish to"))?;
                let (subject, text) = self.mailer.topic_message(delivery);
                Ok(topics.publish(&delivery.creator, &subject, &text).await?)
            }
        }
    }
}

/// 30 s, 1 min, 2 min, … capped at 1 hour.
fn backoff(attempts: u32) -> time::Duration {
    let seconds = 30i64.saturating_mul(1i64 << attempts.min(7));
    time::Duration::seconds(seconds.min(3600))
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(super::backoff(0).whole_seconds(), 30);
        assert_eq!(super::backoff(1).whole_seconds(), 60);
        assert_eq!(super::backoff(20).whole_seconds(), 3600);
    }
}
