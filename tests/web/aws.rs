//! What only the aws backend has: per-page DynamoDB costs, and staying up while AWS is not.
//! Run by the aws pass of `scripts/test` (the local pass skips `aws_only::`).

mod aws_only {
    use reqwest::StatusCode;

    use crate::helpers::TestApp;

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
}
