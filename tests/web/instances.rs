//! What holds with several instances on one shared store (the aws backend as deployed): each
//! email goes out once however many workers share the queue or die mid-way, and the sign-in
//! throttle counts across instances and restarts. (The whole HTTP suite also runs with two
//! instances behind a random router: `SKYHIGH_TEST_INSTANCES=2` in scripts/test.)
//! Run by the aws pass of `scripts/test` (the local pass skips `aws_only::`).

mod aws_only {
    use std::collections::HashMap;
    use std::path::Path;
    use std::time::{Duration, Instant};

    use reqwest::StatusCode;
    use skyhigh::domain::{Email, User, UserId, Username};
    use skyhigh::storage::Storage;

    use crate::helpers::{
        Browser, Emulator, PASSWORD, ServerProcess, aws_prefix, on_aws, readable, sender_address, sent_mail_via,
    };

    /// The emails a job had to send: one per subscriber.
    const SUBSCRIBERS: usize = 2000;

    /// The store the instances on `data` share, opened by the test itself (to add subscribers
    /// faster than 2,000 sign-ups would).
    async fn shared_store(data: &Path, emulator: &Emulator) -> Storage {
        let prefix = aws_prefix(data);
        let settings = skyhigh::storage::aws::AwsSettings {
            table_prefix: prefix.clone(),
            bucket: format!("skyhigh-{}", prefix.trim_end_matches('-')),
            create_resources: true,
            events_topic: format!("{prefix}events"),
            delivery_queue: format!("{prefix}deliveries"),
            cloudfront_distribution: None,
            ses_configuration_set: None,
        };
        skyhigh::storage::aws::connect_to(&settings, &emulator.url).await.expect("the test reaches the store").0
    }

    /// An instance of the binary on `data`, on `emulator`, with its workers.
    async fn instance(data: &Path, emulator: &Emulator) -> ServerProcess {
        // A job a killed worker held comes back after 10 s, not the minute of production.
        let env =
            [("AWS_ENDPOINT_URL", emulator.url.as_str()), ("SKYHIGH_JOB_TIMEOUT_SECS", "10"), ("RUST_LOG", "warn")];
        ServerProcess::start(data, &env).await
    }

    /// Recipient address → emails about `meme` that SES recorded.
    async fn recipients_of(emulator: &Emulator, data: &Path, meme: &str) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for raw in sent_mail_via(Some(&emulator.url), data).await {
            let mail = readable(&raw);
            if !mail.contains(&format!("/memes/{meme}")) {
                continue;
            }
            let to = mail.lines().find_map(|l| l.strip_prefix("To: ")).unwrap_or_default().to_owned();
            *counts.entry(to).or_default() += 1;
        }
        counts
    }

    /// A cheap measure of the emulator's SES sending: its send quota's count, which grows with
    /// every send (moto counts each more than once, so it is no count of emails). The record
    /// itself, `sent_mail_via`, is a dump of the emulator's whole state, too heavy to poll while
    /// thousands of emails go out.
    async fn sent_count(emulator: &Emulator) -> usize {
        let answer = reqwest::Client::new()
            .post(&emulator.url)
            // The emulator routes by the signature's service; it checks no signature.
            .header("authorization", "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/ses/aws4_request, SignedHeaders=host, Signature=0")
            .form(&[("Action", "GetSendQuota"), ("Version", "2010-12-01")])
            .send()
            .await
            .expect("the emulator answers")
            .text()
            .await
            .unwrap();
        let count = answer.split("<SentLast24Hours>").nth(1).and_then(|rest| rest.split('<').next());
        let count: f64 = count.and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("a send quota: {answer}"));
        count as usize
    }

    fn require_aws() {
        assert!(on_aws(), "aws_only tests run with SKYHIGH_TEST_BACKEND=aws (scripts/test does)");
    }

    /// A creator with 2,000 subscribers saves a meme while two instances work the queue. Both
    /// are killed (-9) mid-fan-out; two new ones take the redelivered job over from its
    /// checkpoint. Each subscriber still gets exactly one email, with our unsubscribe headers.
    #[tokio::test]
    async fn a_meme_reaches_2000_subscribers_exactly_once_through_two_workers_and_a_kill_mid_fan_out() {
        require_aws();
        let emulator = Emulator::start().await;
        let data = tempfile::tempdir().unwrap();
        let first = instance(data.path(), &emulator).await;
        let ann = Browser::new(first.address.clone(), data.path()).with_emulator(&emulator.url);
        ann.signed_up("ann").await;
        let store = shared_store(data.path(), &emulator).await;
        let creator = store.users.find_by_username(&Username::parse("ann").unwrap()).await.unwrap().unwrap();
        let subscribers = futures_util::stream::iter(0..SUBSCRIBERS).map(|i| {
            let (store, creator) = (store.clone(), creator.clone());
            async move {
                let name = format!("sub{i:04}");
                let user = User {
                    id: UserId::new(),
                    username: Username::parse(&name).unwrap(),
                    email: Email::parse(&format!("{name}@example.com")).unwrap(),
                    password_hash: "not used".into(),
                    created_at: time::OffsetDateTime::now_utc(),
                    email_verified: true,
                    email_suppressed: false,
                };
                store.users.create(&user).await.unwrap();
                store.subscriptions.subscribe(&creator, &user).await.unwrap();
            }
        });
        use futures_util::StreamExt;
        subscribers.buffer_unordered(16).collect::<Vec<()>>().await;
        let second = instance(data.path(), &emulator).await;

        // Before the meme: ann's confirmation email.
        let before = sent_count(&emulator).await;
        // Some hundred emails in, whatever moto's count means exactly.
        let meme = ann.save_meme("chelsea", &["to all", "2,000 of you"]).await;
        let deadline = Instant::now() + Duration::from_secs(180);
        let mut sent = 0;
        while sent < 200 {
            assert!(Instant::now() < deadline, "the fan-out got going ({sent} sent)");
            tokio::time::sleep(Duration::from_millis(50)).await;
            sent = sent_count(&emulator).await - before;
        }
        first.kill_hard();
        second.kill_hard();
        // With no worker running, one reading of the record is cheap.
        let at_kill = recipients_of(&emulator, data.path(), &meme).await.values().sum::<usize>();
        assert!(at_kill < SUBSCRIBERS, "killed mid-fan-out: {at_kill} of {SUBSCRIBERS} sent");

        let (_third, _fourth) = (instance(data.path(), &emulator).await, instance(data.path(), &emulator).await);
        let deadline = Instant::now() + Duration::from_secs(600);
        // The record is a dump of the emulator's whole state, taken under its DynamoDB lock: read
        // it only once the cheap send count has stood still for a few seconds (the workers are
        // done or waiting out a claim), not while thousands of sends go on.
        let (mut last, mut still_since) = (sent_count(&emulator).await, Instant::now());
        let mut counts = HashMap::new();
        while counts.len() < SUBSCRIBERS {
            assert!(Instant::now() < deadline, "{} of {SUBSCRIBERS} in the record", counts.len());
            tokio::time::sleep(Duration::from_millis(500)).await;
            let now = sent_count(&emulator).await;
            if now != last {
                (last, still_since) = (now, Instant::now());
            } else if still_since.elapsed() >= Duration::from_secs(3) {
                counts = recipients_of(&emulator, data.path(), &meme).await;
                still_since = Instant::now();
            }
        }
        // Anything sent twice would be sent by now: the workers are idle.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let counts = recipients_of(&emulator, data.path(), &meme).await;
        let twice: Vec<_> = counts.iter().filter(|(_, n)| **n != 1).collect();
        assert!(twice.is_empty(), "{} addresses got more than one email: {twice:?}", twice.len());
        assert_eq!(counts.len(), SUBSCRIBERS, "every subscriber got it (at the kill: {at_kill})");
        assert!(
            counts.contains_key("sub1999 <sub1999@example.com>"),
            "{:?}",
            counts.keys().take(3).collect::<Vec<_>>()
        );
        let one = sent_mail_via(Some(&emulator.url), data.path()).await;
        let one = one.iter().map(|m| readable(m)).find(|m| m.contains("To: sub0007 <")).unwrap();
        assert!(one.contains("List-Unsubscribe: <http://"), "{one}");
        assert!(one.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"), "{one}");
        let from = one.lines().find(|l| l.starts_with("From: ")).unwrap_or_default();
        assert!(from.contains(&format!("<{}>", sender_address(data.path()))), "{one}");
    }

    /// Ten wrong passwords spread over two instances lock the account on both, and the lock
    /// outlives every instance: a new one started afterwards still refuses the right password.
    #[tokio::test]
    async fn sign_in_throttling_holds_across_two_instances_and_a_restart() {
        require_aws();
        let emulator = Emulator::start().await;
        let data = tempfile::tempdir().unwrap();
        let (one, two) = (instance(data.path(), &emulator).await, instance(data.path(), &emulator).await);
        let ann = Browser::new(one.address.clone(), data.path()).with_emulator(&emulator.url);
        ann.signed_up("ann").await;
        ann.logout().await;
        let on_one = Browser::new(one.address.clone(), data.path());
        let on_two = Browser::new(two.address.clone(), data.path());

        for attempt in 1..=10 {
            let browser = if attempt % 2 == 0 { &on_one } else { &on_two };
            let status = browser.login("ann", "wrong password!!").await.status();
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "attempt {attempt}");
        }
        assert_eq!(on_one.login("ann", PASSWORD).await.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(on_two.login("ann", PASSWORD).await.status(), StatusCode::TOO_MANY_REQUESTS);

        one.kill_hard();
        two.kill_hard();
        let three = instance(data.path(), &emulator).await;
        let after_restart = Browser::new(three.address.clone(), data.path());
        assert_eq!(after_restart.login("ann", PASSWORD).await.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(after_restart.signed_in_as().await, None);
    }
}
