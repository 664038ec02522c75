//! What only the aws backend has: per-page DynamoDB costs, and staying up while AWS is not.
//! Run by the aws pass of `scripts/test` (the local pass skips `aws_only::`).

mod aws_only {
    use std::process::Command;
    use std::time::{Duration, Instant};

    use reqwest::StatusCode;

    use crate::helpers::{Browser, Emulator, ServerProcess, TestApp, backend_env, eventually_async, on_aws};

    /// These tests mean nothing on the local backend (and one would wait on a server that
    /// starts fine there), so they refuse to run outside the aws pass.
    fn require_aws() {
        assert!(on_aws(), "aws_only tests run with SKYHIGH_TEST_BACKEND=aws (scripts/test does)");
    }

    /// The DynamoDB requests and Scans a response reports in its `Server-Timing` header.
    fn dynamodb_cost(response: &reqwest::Response) -> (u32, u32) {
        let timing = response
            .headers()
            .get_all("server-timing")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("dynamodb"))
            .unwrap_or_else(|| panic!("no dynamodb Server-Timing on {}", response.url()))
            .to_owned();
        let number = |name: &str| -> u32 {
            timing
                .split(&format!("{name}="))
                .nth(1)
                .and_then(|rest| rest.split([' ', '"']).next())
                .unwrap()
                .parse()
                .unwrap()
        };
        (number("requests"), number("scans"))
    }

    #[tokio::test]
    async fn every_page_signed_in_or_not_costs_at_most_three_dynamodb_requests_and_no_scan() {
        require_aws();
        let app = TestApp::spawn().await;
        app.signed_up("ann").await;
        let original = app.save_meme("chelsea", &["first", "meme"]).await;
        let remix = app.save_meme_remix(&original, &["first", "remix"]).await;
        app.act(&format!("/memes/{remix}"), &format!("/memes/{remix}/comments"), &[("body", "nice")]).await;
        let shared = [("caption", "mine"), ("save", "1"), ("share_template", "1"), ("template_name", "Gradient")];
        let response = app.post_meme_form("/memes", &shared, Some(crate::helpers::png(400, 300))).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let gallery = app.get_html("/templates").await;
        let template =
            format!("u-{}", gallery.split("href=\"/templates/u-").nth(1).unwrap().split('"').next().unwrap());
        let on_shared = app.save_meme(&template, &["on a", "shared template"]).await;
        let visitor = app.new_browser();
        let bob = app.new_browser();
        bob.signed_up("bob").await;
        bob.act("/u/ann", "/u/ann/subscribe", &[]).await;
        app.save_meme("chelsea", &["news", "for bob"]).await;

        let everyone = [
            "/".to_owned(),
            "/?sort=top".into(),
            "/u/ann".into(),
            "/u/ann/feed.atom".into(),
            format!("/memes/{original}"),
            format!("/memes/{remix}"),
            format!("/memes/{on_shared}"),
            "/templates".into(),
            format!("/templates/{template}"),
        ];
        let signed_in_only = ["/notifications".to_owned(), "/subscriptions".into(), "/memes/new".into()];
        let views = everyone.iter().map(|p| ("anonymous", &visitor, p)).chain(
            everyone
                .iter()
                .chain(&signed_in_only)
                .flat_map(|p| [("the creator", &app.browser, p), ("a subscriber", &bob, p)]),
        );
        for (who, browser, page) in views {
            let response = browser.get(page).await;
            assert_eq!(response.status(), StatusCode::OK, "{page} for {who}");
            let (requests, scans) = dynamodb_cost(&response);
            assert!(
                requests <= 3,
                "{page} for {who} cost {requests} DynamoDB requests: {:?}",
                response.headers().get("server-timing")
            );
            assert_eq!(scans, 0, "{page} for {who} used a Scan");
        }

        // The API's list, with each meme's two newest comments, costs what the home page does:
        // anonymous, with the session cookie, or with a token (its lookup instead of the session's).
        let secret = crate::api::token(&app.browser, "cost").await;
        for path in ["/api/v1/memes", "/api/v1/memes?sort=top"] {
            let with_token = reqwest::Client::new().get(app.url(path)).bearer_auth(&secret).send().await.unwrap();
            for (who, response) in
                [("anonymous", visitor.get(path).await), ("the creator", app.get(path).await), ("a token", with_token)]
            {
                assert_eq!(response.status(), StatusCode::OK, "{path} for {who}");
                let (requests, scans) = dynamodb_cost(&response);
                assert!(requests <= 3, "{path} for {who} cost {requests} DynamoDB requests");
                assert_eq!(scans, 0, "{path} for {who} used a Scan");
                if path == "/api/v1/memes" {
                    let body: serde_json::Value = response.json().await.unwrap();
                    let commented =
                        body["memes"].as_array().unwrap().iter().find(|m| m["id"] == remix.as_str()).unwrap();
                    assert_eq!(commented["latest_comments"][0]["body"], "nice", "the comments are in the list");
                }
            }
        }
    }

    #[tokio::test]
    async fn while_aws_does_not_answer_pages_are_503_nothing_is_half_written_and_the_app_recovers() {
        require_aws();
        let emulator = Emulator::start().await;
        let data = tempfile::tempdir().unwrap();
        let server = ServerProcess::start(data.path(), &[("AWS_ENDPOINT_URL", &emulator.url)]).await;
        let ann = Browser::new(server.address.clone(), data.path()).with_emulator(&emulator.url);
        ann.signed_up("ann").await;
        let meme = ann.save_meme("chelsea", &["still", "here"]).await;
        let meme_page = format!("/memes/{meme}");
        // Its token is read now, while the pages still work.
        let comment =
            ann.form_request(&meme_page, &format!("{meme_page}/comments"), &[("body", "lost in the outage?")]).await;

        emulator.pause();
        let asked = Instant::now();
        let home = ann.get("/").await;
        let waited = asked.elapsed();
        let comment = comment.send().await.unwrap();
        let health = ann.get("/healthz").await.status();

        assert_eq!(home.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(home.headers()["retry-after"], "5", "a 503 says when to try again");
        // The SDK gives up after its 5 s operation timeout; the page must not hang longer.
        assert!(waited < Duration::from_secs(8), "answered after {waited:?}");
        assert!(home.text().await.unwrap().contains("<html"), "a friendly page, not a bare error");
        assert_eq!(comment.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(health, StatusCode::SERVICE_UNAVAILABLE);

        emulator.resume();
        eventually_async("the app recovers", || async { ann.get("/healthz").await.status() == StatusCode::OK }).await;
        // The comment's transaction may still have reached DynamoDB before the timeout (as a
        // timed-out write may on real AWS), so it is either wholly there or wholly absent:
        // the stored count (shown on the portfolio's card) matches the comments stored.
        let page = ann.get_html(&meme_page).await;
        let listed = page.matches("<li id=\"comment-").count();
        let portfolio = ann.get_html("/u/ann").await;
        assert!(listed <= 1, "never twice");
        assert!(portfolio.contains(&format!("aria-label=\"{listed} comments\"")), "count and comments agree");
        assert!(page.contains("<img"), "the meme is intact");
        assert!(ann.get_html("/").await.contains(&meme), "pages work again without a restart");
    }

    #[test]
    fn missing_tables_and_bucket_stop_start_up_with_one_line_naming_them() {
        require_aws();
        let data = tempfile::tempdir().unwrap();
        let output = Command::new(env!("CARGO_BIN_EXE_skyhigh"))
            .envs(backend_env(data.path()))
            .env("SKYHIGH_CREATE_RESOURCES", "false")
            .env("SKYHIGH_ADDR", "127.0.0.1:0")
            .output()
            .expect("run skyhigh");
        let stderr = String::from_utf8_lossy(&output.stderr);

        assert!(!output.status.success());
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        let prefix = crate::helpers::aws_prefix(data.path());
        for missing in
            [format!("DynamoDB table {prefix}main"), format!("DynamoDB table {prefix}sessions"), "S3 bucket".into()]
        {
            assert!(stderr.contains(&missing), "{stderr} should name {missing}");
        }
        assert!(stderr.contains("SKYHIGH_CREATE_RESOURCES=true"));
    }

    /// SES reports a permanent bounce for one subscriber and a complaint from another through
    /// its feedback topic, which feeds the delivery queue (as infra/ wires it): both addresses
    /// are suppressed, and the next meme emails neither (their in-app notifications still come).
    #[tokio::test]
    async fn bounces_and_complaints_from_ses_through_sns_and_sqs_stop_email_to_those_addresses() {
        require_aws();
        let app = TestApp::spawn().await;
        app.signed_up("ann").await;
        let (bob, cat) = (app.new_browser(), app.new_browser());
        for (browser, name) in [(&bob, "bob"), (&cat, "cat")] {
            browser.signed_up(name).await;
            browser.act("/u/ann", "/u/ann/subscribe", &[]).await;
        }
        let clients = skyhigh::storage::aws::Clients::from_environment().await.unwrap();
        let prefix = crate::helpers::aws_prefix(&app.data_dir);
        let queue = clients.sqs.get_queue_url().queue_name(format!("{prefix}deliveries")).send().await.unwrap();
        let attributes = clients
            .sqs
            .get_queue_attributes()
            .queue_url(queue.queue_url().unwrap())
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap();
        let queue_arn = &attributes.attributes().unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn];
        let topic = clients.sns.create_topic().name(format!("{prefix}ses-feedback")).send().await.unwrap();
        let topic = topic.topic_arn().unwrap();
        clients.sns.subscribe().topic_arn(topic).protocol("sqs").endpoint(queue_arn).send().await.unwrap();

        for event in [
            r#"{"eventType":"Bounce","bounce":{"bounceType":"Permanent","bouncedRecipients":[{"emailAddress":"bob@example.com"}]},"mail":{}}"#,
            r#"{"eventType":"Complaint","complaint":{"complainedRecipients":[{"emailAddress":"cat@example.com"}]},"mail":{}}"#,
        ] {
            clients.sns.publish().topic_arn(topic).message(event).send().await.unwrap();
        }
        let suppressed = |name: &'static str| {
            let storage = app.storage.clone();
            async move {
                let email = skyhigh::domain::Email::parse(&format!("{name}@example.com")).unwrap();
                storage.users.find_by_email(&email).await.unwrap().unwrap().email_suppressed
            }
        };
        eventually_async("the bounce suppresses bob", || suppressed("bob")).await;
        eventually_async("the complaint suppresses cat", || suppressed("cat")).await;

        let meme = app.save_meme("chelsea", &["does anyone", "read these"]).await;
        for browser in [&bob, &cat] {
            let notified = || async { browser.get_html("/notifications").await.contains(&format!("/memes/{meme}")) };
            eventually_async("the in-app notification still arrives", notified).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        for name in ["bob", "cat"] {
            let mail = crate::helpers::mail_to(&app.data_dir, &format!("{name}@example.com")).await;
            assert!(!mail.iter().any(|m| m.contains(&format!("/memes/{meme}"))), "{name} was emailed");
        }
    }

    /// Another instance's writes never reach this instance's page cache: a page it keeps is at
    /// most a second old. (A write made straight in the shared store stands in for that
    /// instance.)
    #[tokio::test]
    async fn a_page_kept_by_one_instance_is_at_most_a_second_old() {
        require_aws();
        let app = TestApp::spawn().await;
        app.signed_up("ann").await;
        let meme = app.save_meme("chelsea", &["kept", "a second"]).await;
        let visitor = reqwest::Client::new();
        let home = || async { visitor.get(app.url("/")).send().await.unwrap().text().await.unwrap() };
        let kept_at = Instant::now();
        assert!(home().await.contains(&meme));
        app.storage.memes.delete(skyhigh::domain::MemeId::parse(&meme).unwrap()).await.unwrap();
        let kept = home().await.contains(&meme);
        // (A slow emulator can take the delete past the second; then there is nothing to see.)
        if kept_at.elapsed() < Duration::from_millis(800) {
            assert!(kept, "kept: this instance saw no write");
        }
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert!(!home().await.contains(&meme), "gone after the second");
    }
}
