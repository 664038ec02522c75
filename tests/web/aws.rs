//! What only the aws backend has: per-page DynamoDB costs, and staying up while AWS is not.
//! Run by the aws pass of `scripts/test` (the local pass skips `aws_only::`).

mod aws_only {
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    use reqwest::StatusCode;

    use crate::helpers::{
        Browser, ServerProcess, TestApp, backend_env, eventually_async, free_port, on_aws, send_signal, wait_until_ok,
    };

    /// A moto server of the test's own, so pausing it disturbs no other test.
    struct Emulator {
        process: Child,
        url: String,
    }

    impl Emulator {
        /// Starts it and waits until it answers: Python takes seconds to start on a busy
        /// machine, and the app's start-up would fail against a port nobody listens on yet.
        async fn start() -> Self {
            let port = free_port();
            let binary = concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/moto_server");
            let process = Command::new(binary)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start moto_server from .venv (scripts/test installs it)");
            let mut emulator = Self { process, url: format!("http://127.0.0.1:{port}") };
            let ready = format!("{}/moto-api/", emulator.url);
            wait_until_ok("moto_server", &ready, &mut emulator.process).await;
            emulator
        }

        /// SIGSTOP: the port still accepts connections but nothing answers, as when AWS is
        /// unreachable behind a black hole. (Killing it would lose its in-memory data.)
        fn pause(&self) {
            self.signal("-STOP");
        }

        fn resume(&self) {
            self.signal("-CONT");
        }

        fn signal(&self, signal: &str) {
            send_signal(self.process.id(), signal);
        }
    }

    impl Drop for Emulator {
        fn drop(&mut self) {
            self.resume();
            let _ = self.process.kill();
            let _ = self.process.wait();
        }
    }

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
    async fn home_portfolio_and_meme_pages_cost_at_most_three_dynamodb_requests_and_no_scan() {
        require_aws();
        let app = TestApp::spawn().await;
        app.signed_up("ann").await;
        let original = app.save_meme("chelsea", &["first", "meme"]).await;
        let remix = app.save_meme_remix(&original, &["first", "remix"]).await;
        app.act(&format!("/memes/{remix}"), &format!("/memes/{remix}/comments"), &[("body", "nice")]).await;
        let visitor = app.new_browser();

        for page in [
            "/".to_owned(),
            "/?sort=top".into(),
            "/u/ann".into(),
            format!("/memes/{original}"),
            format!("/memes/{remix}"),
        ] {
            let response = visitor.get(&page).await;
            assert_eq!(response.status(), StatusCode::OK, "{page}");
            let (requests, scans) = dynamodb_cost(&response);
            assert!(
                requests <= 3,
                "{page} cost {requests} DynamoDB requests: {:?}",
                response.headers().get("server-timing")
            );
            assert_eq!(scans, 0, "{page} used a Scan");
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
}
