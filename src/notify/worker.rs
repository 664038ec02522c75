//! The delivery worker: takes jobs from the queue (SQS on AWS, a table locally) and does them.
//!
//! A "meme published" job fans out over the creator's subscribers a page at a time: each page's
//! in-app notifications in one batch, then one email per subscriber. Where it got to is saved
//! after every page, so a job redelivered after a crash (or to another instance) resumes there
//! instead of starting over. Each email is claimed in the delivery ledger before it is sent and
//! marked sent after, so a redelivered job or a second worker never sends it twice. A job that
//! fails is hidden with exponential backoff and tried again; any number of workers can share
//! the queue. Saving a meme only writes the job (in the meme's transaction) and wakes the
//! worker; it never waits for delivery.
//!
//! Subscribers get at most `hourly_cap` emails an hour; what goes past it is held back and sent
//! as one digest when the hour ends, which keeps a busy creator from flooding inboxes (and the
//! sender's reputation with the mail providers).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use time::OffsetDateTime;
use tokio::sync::watch;

use super::email::{Mailer, MemeMention, MemeNotice};
use super::sender::{EmailSender, OutcomeUnknown};
use crate::domain::{AccountEmail, Digest, Email, EmailFeedback, Job, MemeDeleted, MemePublished, User};
use crate::storage::{BlobKey, PageRequest, ReceivedJob, SendClaim, Storage, SubscriberRef};

/// Subscribers per fan-out page: one transaction of in-app notifications (DynamoDB takes 100
/// actions a transaction, two per subscriber) and one progress checkpoint.
const FANOUT_PAGE: usize = 50;
/// Emails of one page in flight at once.
const SEND_CONCURRENCY: usize = 8;
/// Jobs taken at a time.
const BATCH: usize = 10;
/// A job that failed this many times is given up: locally it is dropped with an error logged;
/// on AWS the queue's redrive policy moves it to the dead-letter queue at the same count
/// (resources.rs, infra/).
const MAX_RECEIVES: u32 = 10;
/// The top list is this fresh.
const RANKINGS_EVERY: Duration = Duration::from_secs(5);
/// Also look for work this often, for retries and jobs other instances wrote.
const POLL_EVERY: Duration = Duration::from_secs(5);
/// The relay is woken by its own instance's saves; it also looks this often for events an
/// instance left behind when it died (their lease runs out after a minute anyway).
const RELAY_POLL_EVERY: Duration = Duration::from_secs(30);

/// Wakes the worker's loops right after a save, so emails go out within moments. Every loop
/// sees every wake (a counter each one watches), and a wake while a loop is busy is seen when
/// it next waits, so none is lost.
#[derive(Clone)]
pub struct Wake(Arc<watch::Sender<u64>>);

impl Default for Wake {
    fn default() -> Self {
        Self(Arc::new(watch::channel(0).0))
    }
}

impl Wake {
    pub fn now(&self) {
        self.0.send_modify(|n| *n = n.wrapping_add(1));
    }

    fn subscribe(&self) -> watch::Receiver<u64> {
        self.0.subscribe()
    }
}

/// Waits for a wake, `poll`, or the stop signal; false on stop.
async fn idle(wake: &mut watch::Receiver<u64>, stop: &mut watch::Receiver<bool>, poll: Duration) -> bool {
    tokio::select! {
        changed = wake.changed() => changed.is_ok(),
        () = tokio::time::sleep(poll) => true,
        _ = stop.changed() => false,
    }
}

#[derive(Debug, Clone, Copy)]
pub struct WorkerSettings {
    /// How long a received job stays hidden from other workers; a fan-out renews it each page.
    pub hidden_for: Duration,
    /// How long one receive waits for a job to arrive (SQS long polling).
    pub wait: Duration,
    /// Emails per subscriber per hour before the rest wait for the hourly digest.
    pub hourly_cap: u64,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self { hidden_for: Duration::from_secs(60), wait: Duration::from_secs(10), hourly_cap: 10 }
    }
}

pub struct DeliveryWorker {
    pub storage: Storage,
    pub mailer: Arc<Mailer>,
    pub sender: Arc<dyn EmailSender>,
    pub wake: Wake,
    pub settings: WorkerSettings,
}

/// An email another worker has claimed and not yet marked sent: it is sending it now, or it
/// died and the claim goes stale after `stale_claim`.
#[derive(Debug)]
struct HeldElsewhere(String);

impl std::fmt::Display for HeldElsewhere {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "another worker is sending {}", self.0)
    }
}

impl std::error::Error for HeldElsewhere {}

/// What became of a job.
enum Outcome {
    Done,
    /// Not due yet (a digest received before its hour ended): hide it this long.
    NotYet(Duration),
}

fn hour_of(at: OffsetDateTime) -> i64 {
    at.unix_timestamp().div_euclid(3600)
}

fn end_of_hour(hour: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp((hour + 1) * 3600).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// 30 s, 1 min, 2 min, … capped at 1 hour.
fn backoff(receive_count: u32) -> Duration {
    let seconds = 30u64.saturating_mul(1u64 << receive_count.saturating_sub(1).min(7));
    Duration::from_secs(seconds.min(3600))
}

impl DeliveryWorker {
    /// Runs until `stop` flips: the relay (if the backend has one), the job loop and the
    /// rankings loop.
    pub fn spawn(self, stop: watch::Receiver<bool>) -> Vec<tokio::task::JoinHandle<()>> {
        let worker = Arc::new(self);
        let mut tasks = vec![
            tokio::spawn(worker.clone().work(stop.clone())),
            tokio::spawn(worker.clone().rankings_loop(stop.clone())),
        ];
        if worker.storage.relay.is_some() {
            tasks.push(tokio::spawn(worker.relay_loop(stop)));
        }
        tasks
    }

    async fn relay_loop(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let Some(relay) = self.storage.relay.clone() else { return };
        let mut wake = self.wake.subscribe();
        loop {
            match relay.relay_due(OffsetDateTime::now_utc()).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(events = n, "relayed events to the bus"),
                Err(e) => tracing::warn!(error = %e, "relaying events failed"),
            }
            if !idle(&mut wake, &mut stop, RELAY_POLL_EVERY).await {
                break;
            }
        }
    }

    /// Keeps the "top" list current: on AWS a comment only marks its meme as active, and this
    /// folds the marks into the list every few seconds, on a clock rather than on each comment
    /// (a busy site would otherwise refresh without pause). Every instance may refresh; the
    /// list's version settles races. Locally the list is a query and the refresh does nothing.
    async fn rankings_loop(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        loop {
            if let Err(e) = self.storage.memes.refresh_rankings(OffsetDateTime::now_utc()).await {
                tracing::warn!(error = %e, "refreshing the top list failed");
            }
            tokio::select! {
                () = tokio::time::sleep(RANKINGS_EVERY) => {}
                _ = stop.changed() => break,
            }
        }
    }

    async fn work(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut wake = self.wake.subscribe();
        loop {
            let received = tokio::select! {
                received = self.storage.jobs.receive(BATCH, self.settings.hidden_for, self.settings.wait) => received,
                _ = stop.changed() => break,
            };
            let nothing_done = match received {
                Ok(jobs) => {
                    let nothing_done = jobs.is_empty();
                    self.process_all(jobs).await;
                    nothing_done
                }
                Err(e) => {
                    tracing::warn!(error = %e, "receiving jobs failed");
                    true
                }
            };
            if nothing_done && !idle(&mut wake, &mut stop, POLL_EVERY).await {
                break;
            }
        }
        tracing::debug!("delivery worker stopped");
    }

    /// Does everything due now, then returns (tests drive the worker with this).
    pub async fn drain(&self) -> anyhow::Result<()> {
        if let Some(relay) = &self.storage.relay {
            relay.relay_due(OffsetDateTime::now_utc()).await?;
        }
        self.storage.memes.refresh_rankings(OffsetDateTime::now_utc()).await?;
        loop {
            let jobs = self.storage.jobs.receive(BATCH, self.settings.hidden_for, Duration::ZERO).await?;
            if jobs.is_empty() {
                return Ok(());
            }
            self.process_all(jobs).await;
        }
    }

    /// A received batch: the email service's receipts first, all together (one write and one
    /// delete for ten: every email sent brings one), then the other jobs one by one.
    async fn process_all(&self, jobs: Vec<ReceivedJob>) {
        let (receipts, others): (Vec<_>, Vec<_>) =
            jobs.into_iter().partition(|received| matches!(received.job, Job::EmailSent(_)));
        if !receipts.is_empty() {
            self.record_receipts(receipts).await;
        }
        for job in others {
            self.process(job).await;
        }
    }

    /// Marks the emails of SES's Send events sent. If that fails the messages are left alone:
    /// they come back when their hiding ends and are recorded then.
    async fn record_receipts(&self, receipts: Vec<ReceivedJob>) {
        let (keys, handles): (Vec<String>, Vec<String>) = receipts
            .into_iter()
            .filter_map(|received| match received.job {
                Job::EmailSent(sent) => Some((sent.key, received.receipt)),
                _ => None,
            })
            .unzip();
        let recorded = self.storage.deliveries.mark_sent(&keys).await;
        crate::telemetry::metrics::delivery("email_sent", recorded.is_ok(), keys.len() as u64);
        let completed = match recorded {
            Ok(()) => self.storage.jobs.complete_all(&handles).await,
            Err(e) => Err(e),
        };
        if let Err(e) = completed {
            tracing::warn!(receipts = keys.len(), error = %e, "recording emails SES sent failed");
        }
    }

    async fn process(&self, received: ReceivedJob) {
        let what = received.job.describe();
        let kind = received.job.kind();
        let jobs = &self.storage.jobs;
        let handled = self.handle(&received).await;
        crate::telemetry::metrics::delivery(kind, handled.is_ok(), 1);
        let recorded = match handled {
            Ok(Outcome::Done) => {
                tracing::info!(job = %what, "job done");
                jobs.complete(&received.receipt).await
            }
            Ok(Outcome::NotYet(wait)) => jobs.hide(&received.receipt, wait).await,
            Err(e) if received.receive_count >= MAX_RECEIVES => {
                tracing::error!(job = %what, error = %e, "giving up on a job");
                jobs.complete(&received.receipt).await
            }
            Err(e) => {
                let wait = backoff(received.receive_count);
                tracing::warn!(job = %what, error = %e, retry_in = ?wait, "job failed");
                jobs.hide(&received.receipt, wait).await
            }
        };
        if let Err(e) = recorded {
            tracing::warn!(job = %what, error = %e, "recording a job's outcome failed");
        }
    }

    async fn handle(&self, received: &ReceivedJob) -> anyhow::Result<Outcome> {
        match &received.job {
            Job::MemePublished(meme) => self.fan_out(meme, &received.receipt).await,
            Job::MemeDeleted(deleted) => self.clean_up(deleted).await.map(|()| Outcome::Done),
            Job::AccountEmail(email) => self.account_email(email).await.map(|()| Outcome::Done),
            Job::Digest(digest) => self.digest(digest).await,
            Job::EmailFeedback(feedback) => self.feedback(feedback).await.map(|()| Outcome::Done),
            Job::EmailSent(sent) => {
                self.storage.deliveries.mark_sent(std::slice::from_ref(&sent.key)).await?;
                Ok(Outcome::Done)
            }
        }
    }

    async fn fan_out(&self, meme: &MemePublished, receipt: &str) -> anyhow::Result<Outcome> {
        let storage = &self.storage;
        let job_key = format!("fanout:{}", meme.meme_id);
        if storage.memes.get(meme.meme_id).await?.is_none() {
            // Deleted before its news went out: there is nothing to tell.
            storage.deliveries.clear_progress(&job_key).await?;
            return Ok(Outcome::Done);
        }
        let Some(creator) = storage.users.get(meme.creator_id).await? else {
            // The creator's account is gone, and with it their subscriptions.
            storage.deliveries.clear_progress(&job_key).await?;
            return Ok(Outcome::Done);
        };
        let mut after = storage.deliveries.progress(&job_key).await?;
        loop {
            // Still working on it: keep it from being handed to another worker meanwhile.
            storage.jobs.hide(receipt, self.settings.hidden_for).await?;
            let page = storage.subscriptions.subscribers(&creator, PageRequest::after(after, FANOUT_PAGE)).await?;
            let ids: Vec<_> = page.items.iter().map(|s| s.id).collect();
            storage.notifications.deliver(meme, &ids).await?;
            let mut users: HashMap<_, User> =
                storage.users.get_many(&ids).await?.into_iter().map(|u| (u.id, u)).collect();
            let recipients: Vec<(SubscriberRef, User)> =
                page.items.into_iter().filter_map(|sub| users.remove(&sub.id).map(|user| (sub, user))).collect();
            // Every send of the page runs to its end before a failure is reported: one dropped
            // half-way would leave its claim behind until it goes stale.
            let sent: Vec<anyhow::Result<()>> = stream::iter(recipients)
                .map(|(sub, user)| async move { self.meme_email(meme, &user, &sub).await })
                .buffer_unordered(SEND_CONCURRENCY)
                .collect()
                .await;
            let (held, failed): (Vec<_>, Vec<_>) =
                sent.into_iter().filter_map(Result::err).partition(|e| e.is::<HeldElsewhere>());
            if let Some(error) = failed.into_iter().next() {
                return Err(error);
            }
            if !held.is_empty() {
                // Another worker has some of this page's emails (two took the job at once, or
                // one died with them claimed): the page is done again once those are sent or
                // their claims are stale, and its sent emails are skipped then.
                tracing::info!(job = %job_key, held = held.len(), "emails held by another worker; page retried");
                return Ok(Outcome::NotYet(self.claims_last()));
            }
            match page.next {
                Some(next) => {
                    storage.deliveries.save_progress(&job_key, &next).await?;
                    after = Some(next);
                }
                None => break,
            }
        }
        storage.deliveries.clear_progress(&job_key).await?;
        Ok(Outcome::Done)
    }

    /// A send claimed this long ago and never marked sent belongs to a worker that died: twice
    /// the time a job stays hidden, by when its job has been handed to another worker.
    fn claims_last(&self) -> Duration {
        self.settings.hidden_for * 2
    }

    fn stale_claim(&self) -> time::Duration {
        time::Duration::try_from(self.claims_last()).unwrap_or(time::Duration::MINUTE)
    }

    /// Claims the email `key`, runs `send` if this worker got it, and records the result. An
    /// email another worker claimed moments ago is an error: the job is tried again later,
    /// when that worker has sent it (then it is skipped) or its claim has gone stale (then
    /// this one sends it), so a worker dying between claim and send loses nothing. A worker
    /// dying between send and record leaves the claim too: the email service's receipt (an
    /// `EmailSent` job, from SES's Send event) records the send long before the claim is stale.
    async fn exactly_once<F>(&self, key: &str, send: F) -> anyhow::Result<()>
    where
        F: Future<Output = anyhow::Result<()>>,
    {
        let deliveries = &self.storage.deliveries;
        match deliveries.claim_send(key, OffsetDateTime::now_utc(), self.stale_claim()).await? {
            SendClaim::AlreadySent => return Ok(()),
            SendClaim::HeldElsewhere => return Err(HeldElsewhere(key.to_owned()).into()),
            SendClaim::Claimed => {}
        }
        match send.await {
            Ok(()) => {
                deliveries.mark_sent(&[key.to_owned()]).await?;
                Ok(())
            }
            Err(e) if e.is::<OutcomeUnknown>() => {
                // It may have gone out: keep the claim for the receipt to settle (or, with no
                // receipt by the time it is stale, for a retry to send it).
                tracing::warn!(email = key, error = %e, "an email's send has no known outcome; its claim is kept");
                Err(e)
            }
            Err(e) => {
                // Not sent: give the claim back so the retry sends it; if even that fails, the
                // claim goes stale and is taken over.
                let _ = deliveries.release(key).await;
                Err(e)
            }
        }
    }

    async fn meme_email(&self, meme: &MemePublished, user: &User, sub: &SubscriberRef) -> anyhow::Result<()> {
        if !user.accepts_email() {
            return Ok(());
        }
        let key = format!("meme:{}:{}", meme.meme_id, user.id);
        self.exactly_once(&key, async {
            let now = OffsetDateTime::now_utc();
            let hour = hour_of(now);
            let cap_key = format!("mailcap:{}:{hour}", user.id);
            let sent_this_hour =
                self.storage.counters.increment(&cap_key, end_of_hour(hour) + time::Duration::hours(1)).await?;
            if sent_this_hour > self.settings.hourly_cap {
                if self.storage.deliveries.hold_for_digest(user.id, hour, meme.meme_id).await? {
                    let job = Job::Digest(Digest { recipient_id: user.id, hour });
                    let due = (end_of_hour(hour) - now).try_into().unwrap_or(Duration::ZERO);
                    self.storage.jobs.enqueue(&job, due).await?;
                }
                return Ok(());
            }
            let notice = MemeNotice {
                recipient: &user.username,
                to: &user.email,
                meme: MemeMention { meme_id: meme.meme_id, creator: &meme.creator },
                unsubscribe_token: &sub.unsubscribe_token,
                key: &key,
            };
            self.sender.send(&key, &user.email, &self.mailer.meme_message(&notice)?).await
        })
        .await
    }

    async fn account_email(&self, email: &AccountEmail) -> anyhow::Result<()> {
        let key = format!("account:{}", email.id);
        let message = self.mailer.account_message(email)?;
        self.exactly_once(&key, self.sender.send(&key, &email.to, &message)).await
    }

    async fn digest(&self, digest: &Digest) -> anyhow::Result<Outcome> {
        let due = end_of_hour(digest.hour);
        let now = OffsetDateTime::now_utc();
        if now < due {
            // Queues delay a message by 15 minutes at most: wait out the rest of the hour.
            return Ok(Outcome::NotYet((due - now).try_into().unwrap_or(Duration::from_secs(60))));
        }
        let storage = &self.storage;
        let Some(user) = storage.users.get(digest.recipient_id).await? else { return Ok(Outcome::Done) };
        if !user.accepts_email() {
            return Ok(Outcome::Done);
        }
        let mut held = Vec::new();
        for id in storage.deliveries.held_for_digest(user.id, digest.hour).await? {
            if let Some(meme) = storage.memes.get(id).await? {
                held.push(meme);
            }
        }
        if held.is_empty() {
            return Ok(Outcome::Done);
        }
        let mentions: Vec<MemeMention<'_>> =
            held.iter().map(|m| MemeMention { meme_id: m.id, creator: &m.creator }).collect();
        let key = format!("digest:{}:{}", user.id, digest.hour);
        let message = self.mailer.digest_message(&user.username, &user.email, &mentions, &key)?;
        self.exactly_once(&key, self.sender.send(&key, &user.email, &message)).await?;
        Ok(Outcome::Done)
    }

    /// What a deleted meme's record took not with it: the rest of its data (the backend's), its
    /// media, and the CDN's copies of them. Each step is idempotent, so a retry is harmless.
    async fn clean_up(&self, deleted: &MemeDeleted) -> anyhow::Result<()> {
        self.storage.memes.purge(deleted).await?;
        for key in deleted.media.iter().filter_map(|k| BlobKey::parse(k)) {
            self.storage.blobs.delete(&key).await?;
        }
        if let Some(cache) = &self.storage.media_cache {
            cache.invalidate(&deleted.media).await?;
        }
        Ok(())
    }

    async fn feedback(&self, feedback: &EmailFeedback) -> anyhow::Result<()> {
        for address in &feedback.addresses {
            let Ok(email) = Email::parse(address) else { continue };
            if self.storage.users.suppress_email(&email).await? {
                tracing::warn!(
                    event = "email_suppressed",
                    kind = ?feedback.kind,
                    address = %crate::audit::fingerprint(email.as_str()),
                    "no more email to an address the email service reported"
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_secs(30));
        assert_eq!(backoff(2), Duration::from_secs(60));
        assert_eq!(backoff(20), Duration::from_secs(3600));
    }

    #[test]
    fn an_hour_ends_where_the_next_begins() {
        let at = OffsetDateTime::from_unix_timestamp(7200 + 59 * 60).unwrap();
        assert_eq!(hour_of(at), 2);
        assert_eq!(end_of_hour(2).unix_timestamp(), 3 * 3600);
    }
}
