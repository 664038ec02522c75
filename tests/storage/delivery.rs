//! The delivery worker's email ledger against SES itself (aws only): an email SES accepted is
//! never sent again, even when the worker that sent it died before recording that.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lettre::Message;
use skyhigh::domain::{AccountEmail, AccountEmailKind, Email, Job, Username};
use skyhigh::notify::{DeliveryWorker, EmailSender, Mailer, OutcomeUnknown, SesSender, Wake, WorkerSettings};
use skyhigh::storage::SendClaim;
use time::OffsetDateTime;
use tokio::sync::Notify;

/// Sends through `inner`, then never returns: the worker's process is killed the moment SES
/// has accepted the email, before it records the send.
struct DiesAfterSending {
    inner: Arc<dyn EmailSender>,
    sent: Arc<Notify>,
}

#[async_trait]
impl EmailSender for DiesAfterSending {
    async fn send(&self, key: &str, to: &Email, message: &Message) -> anyhow::Result<()> {
        self.inner.send(key, to, message).await?;
        self.sent.notify_one();
        std::future::pending().await
    }
}

/// Sends through `inner`, then reports that nobody knows what became of it: the answer was lost
/// (a timeout after SES took the request).
struct LosesTheAnswer(Arc<dyn EmailSender>);

#[async_trait]
impl EmailSender for LosesTheAnswer {
    async fn send(&self, key: &str, to: &Email, message: &Message) -> anyhow::Result<()> {
        self.0.send(key, to, message).await?;
        Err(OutcomeUnknown("the answer timed out".into()).into())
    }
}

/// The raw emails the emulator's SES accepted from `source`.
async fn sent_from(source: &str) -> usize {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL");
    for attempt in 1..=5 {
        // A dump taken while another test changes the emulator's state can fail; the next one works.
        let answer = reqwest::get(format!("{endpoint}/moto-api/data.json")).await.expect("moto answers");
        match answer.json::<serde_json::Value>().await {
            Ok(data) => {
                let messages = data["ses"]["RawMessage"].as_array().cloned().unwrap_or_default();
                return messages.iter().filter(|m| m["source"].as_str().is_some_and(|s| s.contains(source))).count();
            }
            Err(e) if attempt == 5 => panic!("moto's data is not JSON five times running: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    unreachable!()
}

/// The sender identity, mailer, SES sender and one account email queued, for a test of its own.
struct Setup {
    storage: skyhigh::storage::Storage,
    mailer: Arc<Mailer>,
    ses: Arc<dyn EmailSender>,
    /// The same, sending with no configuration set: SES publishes no events about its emails.
    unreported_ses: Arc<dyn EmailSender>,
    from: String,
    /// The queued email's ledger key.
    key: String,
    _fixture: crate::Fixture,
}

async fn one_account_email_queued() -> Setup {
    let (fixture, clients, settings) = crate::aws_backend().await;
    let storage = fixture.storage.clone();
    let from = format!("mail@{}.example.com", settings.table_prefix.trim_end_matches('-'));
    skyhigh::storage::aws::ensure_sender_identity(&clients, &from, true).await.unwrap();
    let mailer = Arc::new(Mailer::new(&format!("Sky-High Memes <{from}>"), "http://127.0.0.1:8080").unwrap());
    let ses: Arc<dyn EmailSender> =
        Arc::new(SesSender::new(clients.ses.clone(), from.clone(), settings.mail_configuration_set()));
    let unreported_ses: Arc<dyn EmailSender> = Arc::new(SesSender::new(clients.ses.clone(), from.clone(), None));
    let email = AccountEmail {
        id: skyhigh::domain::UserId::new().to_string(),
        to: Email::parse("ann@example.com").unwrap(),
        username: Username::parse("ann").unwrap(),
        kind: AccountEmailKind::SignupAttempt,
    };
    let key = format!("account:{}", email.id);
    storage.jobs.enqueue(&Job::AccountEmail(email), Duration::ZERO).await.unwrap();
    Setup { storage, mailer, ses, unreported_ses, from, key, _fixture: fixture }
}

impl Setup {
    /// A worker whose jobs stay hidden 5 s, so a claim goes stale after 10 s.
    fn worker(&self, sender: Arc<dyn EmailSender>) -> DeliveryWorker {
        DeliveryWorker {
            storage: self.storage.clone(),
            mailer: self.mailer.clone(),
            sender,
            wake: Wake::default(),
            settings: WorkerSettings { hidden_for: Duration::from_secs(5), wait: Duration::ZERO, hourly_cap: 10 },
        }
    }

    /// What the ledger says of the email to a worker asking now.
    async fn claim(&self) -> SendClaim {
        self.storage
            .deliveries
            .claim_send(&self.key, OffsetDateTime::now_utc(), time::Duration::seconds(10))
            .await
            .unwrap()
    }
}

/// A worker dies (`kill -9`, a lost instance) right after SES accepted an email and before it
/// recorded the send: its claim on the email stays behind, and once the claim is stale another
/// worker takes the job over. SES's own Send event, which the other workers read from the queue
/// meanwhile, has recorded the email as sent, so it is not sent a second time.
#[tokio::test]
async fn an_email_is_sent_once_when_its_worker_dies_between_sending_and_recording_it() {
    let setup = one_account_email_queued().await;
    let sent = Arc::new(Notify::new());
    let dying = setup.worker(Arc::new(DiesAfterSending { inner: setup.ses.clone(), sent: sent.clone() }));
    tokio::select! {
        done = dying.drain() => panic!("the dying worker was to hang in its send: {done:?}"),
        () = sent.notified() => {}
    }
    drop(dying);
    assert_eq!(sent_from(&setup.from).await, 1, "SES took the email once before the worker died");

    // The other workers work through the queue meanwhile; the job itself is hidden still.
    let survivor = setup.worker(setup.ses.clone());
    survivor.drain().await.unwrap();
    assert_eq!(setup.claim().await, SendClaim::AlreadySent, "SES's Send event recorded the email as sent");

    // The job comes back, its claim now stale: the survivor finishes it without a second send.
    tokio::time::sleep(Duration::from_secs(11)).await;
    survivor.drain().await.unwrap();
    assert_eq!(sent_from(&setup.from).await, 1, "the email went out exactly once");
}

/// A send whose answer is lost may have gone out: its claim is kept for SES's Send event to
/// settle, not given back for the retry to send the email again.
#[tokio::test]
async fn an_email_whose_send_answer_was_lost_keeps_its_claim() {
    let setup = one_account_email_queued().await;
    // No Send event comes for this one, so the claim is seen as the failed send left it.
    setup.worker(Arc::new(LosesTheAnswer(setup.unreported_ses.clone()))).drain().await.unwrap();
    assert_eq!(sent_from(&setup.from).await, 1);
    assert_eq!(setup.claim().await, SendClaim::HeldElsewhere, "the claim was kept");
}
