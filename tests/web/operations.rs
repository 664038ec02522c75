//! Operating the site: request ids, the access log, and the metrics listener. Each test runs
//! the real binary (its log is its standard output; its metrics a process-wide recorder).

use std::collections::BTreeMap;
use std::path::Path;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Browser, ServerProcess, eventually, free_port, on_aws};

/// The JSON lines the server wrote to `log`.
fn log_lines(log: &Path) -> Vec<Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

/// Lines logged inside the request with this id (the access line among them).
fn lines_of(log: &Path, id: &str) -> Vec<Value> {
    log_lines(log).into_iter().filter(|line| line["request_id"] == id).collect()
}

/// The request's access-log line, once it is written (after the response went out).
async fn access_line(log: &Path, id: &str) -> Value {
    eventually(&format!("the access line of request {id}"), || {
        lines_of(log, id).iter().any(|line| line["target"] == "access")
    })
    .await;
    lines_of(log, id).into_iter().find(|line| line["target"] == "access").unwrap()
}

/// The server logging JSON lines into a file, and a browser on it.
struct Logged {
    _data: tempfile::TempDir,
    log: std::path::PathBuf,
    _server: ServerProcess,
    browser: Browser,
}

async fn logged_server() -> Logged {
    let data = tempfile::tempdir().unwrap();
    let log = data.path().join("server.log");
    let server = ServerProcess::start_logging_to(&log, data.path(), &[("SKYHIGH_LOG_FORMAT", "json")]).await;
    let browser = Browser::new(server.address.clone(), data.path());
    Logged { _data: data, log, _server: server, browser }
}

#[tokio::test]
async fn every_request_is_logged_once_with_its_id_route_template_status_and_duration() {
    let logged = logged_server().await;
    let (log, visitor) = (&logged.log, &logged.browser);

    let response = visitor.get("/u/nobody-here").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 32, "a made id: {id}");
    let page = response.text().await.unwrap();
    assert!(page.contains(&format!("<code>{id}</code>")), "the error page shows the id to quote:\n{page}");

    let line = access_line(log, &id).await;
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["request_id"], id.as_str());
    assert_eq!(line["method"], "GET");
    assert_eq!(line["route"], "/u/{username}", "the route template, not the path");
    assert_eq!(line["status"], 404);
    assert!(line["duration_ms"].as_f64().is_some_and(|ms| ms > 0.0 && ms < 30_000.0), "{line}");
    assert_eq!(line["bytes"].as_u64(), Some(page.len() as u64), "{line}");
    assert_eq!(line["client"], "127.0.0.1");
    assert!(line.get("user").is_none_or(Value::is_null), "nobody is signed in: {line}");
    if on_aws() {
        // What Server-Timing reports, in the same line.
        assert!(line["dynamodb_requests"].as_u64().is_some_and(|n| (1..=3).contains(&n)), "{line}");
        assert_eq!(line["dynamodb_scans"], 0);
    }
    let access_lines = lines_of(log, &id).iter().filter(|l| l["target"] == "access").count();
    assert_eq!(access_lines, 1, "one line per request");

    // Another request gets another id; an unknown path is one route, not one per path.
    let response = visitor.get("/no/such/page").await;
    let other = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_ne!(other, id);
    assert_eq!(access_line(log, &other).await["route"], "(unmatched)");
}

#[tokio::test]
async fn an_incoming_request_id_is_echoed_and_is_in_every_line_the_request_logs() {
    let logged = logged_server().await;
    let (log, visitor) = (&logged.log, &logged.browser);

    let sign_in = visitor
        .form_request("/login", "/login", &[("login", "nobody"), ("password", "not the password")])
        .await
        .header("x-request-id", "Root=1-5f84c7a1-lb-trace-42");
    let response = sign_in.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(response.headers()["x-request-id"], "Root=1-5f84c7a1-lb-trace-42");

    let line = access_line(log, "Root=1-5f84c7a1-lb-trace-42").await;
    assert_eq!(
        (line["method"].as_str(), line["route"].as_str(), line["status"].as_u64()),
        (Some("POST"), Some("/login"), Some(422))
    );
    let lines = lines_of(log, "Root=1-5f84c7a1-lb-trace-42");
    assert!(
        lines.iter().any(|l| l["event"] == "signin_failed"),
        "the failed sign-in's own line names the request too: {lines:?}"
    );

    // What a client makes up is not repeated into the log: a fresh id replaces it.
    let response =
        visitor.client.get(visitor.url("/")).header("x-request-id", "two words\" and a quote").send().await.unwrap();
    let id = response.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 32, "replaced: {id}");
}

#[tokio::test]
async fn a_signed_in_request_names_its_user_by_pseudonym() {
    let logged = logged_server().await;
    let (log, ann) = (&logged.log, &logged.browser);
    ann.signed_up("ann").await;

    let response = ann.get("/").await;
    let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    let line = access_line(log, &id).await;
    let user = line["user"].as_str().unwrap_or_else(|| panic!("a user on {line}"));
    assert_eq!(user.len(), 12, "a pseudonym: {user}");
    assert!(!std::fs::read_to_string(log).unwrap().contains("ann@example.com"), "no address in the log");
}

/// A Prometheus text exposition, parsed: each sample (`name{labels}`, labels sorted) and its
/// value. Panics on a line that is not the format.
fn parse_exposition(text: &str) -> BTreeMap<String, f64> {
    let mut samples = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        if let Some(comment) = line.strip_prefix('#') {
            let words: Vec<&str> = comment.split_whitespace().collect();
            if words.first() == Some(&"TYPE") {
                assert!(
                    matches!(words.get(2), Some(&("counter" | "gauge" | "histogram" | "summary" | "untyped"))),
                    "{line}"
                );
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("no value: {line}"));
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("not a number: {line}"));
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (name, rest.strip_suffix('}').unwrap_or_else(|| panic!("unclosed labels: {line}"))),
            None => (series, ""),
        };
        assert!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad metric name: {line}"
        );
        let mut pairs: Vec<String> = labels
            .split("\",")
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (key, value) = pair.split_once("=\"").unwrap_or_else(|| panic!("bad label: {line}"));
                format!("{key}={}", value.trim_end_matches('"'))
            })
            .collect();
        pairs.sort();
        samples.insert(format!("{name}{{{}}}", pairs.join(",")), value);
    }
    samples
}

async fn scrape(metrics: &str) -> BTreeMap<String, f64> {
    let response = reqwest::get(format!("{metrics}/metrics")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    parse_exposition(&response.text().await.unwrap())
}

/// How much `sample` grew between two scrapes (a series not yet shown counts as 0).
fn moved(before: &BTreeMap<String, f64>, after: &BTreeMap<String, f64>, sample: &str) -> f64 {
    after.get(sample).copied().unwrap_or(0.0) - before.get(sample).copied().unwrap_or(0.0)
}

#[tokio::test]
async fn metrics_on_their_own_address_count_exactly_what_was_done() {
    let data = tempfile::tempdir().unwrap();
    let metrics_addr = format!("127.0.0.1:{}", free_port());
    let metrics = format!("http://{metrics_addr}");
    let server = ServerProcess::start(data.path(), &[("SKYHIGH_METRICS_ADDR", &metrics_addr)]).await;
    let visitor = Browser::new(server.address.clone(), data.path());
    let page = visitor.get("/login").await.text().await.unwrap();
    assert!(page.contains("csrf_token"));

    let before = scrape(&metrics).await;
    for _ in 0..3 {
        assert_eq!(visitor.get("/").await.status(), StatusCode::OK);
    }
    assert_eq!(visitor.get("/i/chelsea/metrics/counted.png").await.status(), StatusCode::OK);
    assert_eq!(visitor.get("/i/chelsea/metrics/counted.png").await.status(), StatusCode::OK, "again: from the cache");
    let failed = visitor.login("nobody", "wrong password").await;
    assert_eq!(failed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let after = scrape(&metrics).await;

    let home = "skyhigh_http_requests_total{method=GET,route=/,status=200}";
    assert_eq!(moved(&before, &after, home), 3.0, "three home pages");
    let login = "skyhigh_http_requests_total{method=POST,route=/login,status=422}";
    assert_eq!(moved(&before, &after, login), 1.0);
    assert_eq!(moved(&before, &after, "skyhigh_http_request_duration_seconds_count{route=/}"), 3.0);
    assert_eq!(moved(&before, &after, "skyhigh_renders_total{}"), 1.0, "one render: the second was cached");
    assert_eq!(moved(&before, &after, "skyhigh_render_duration_seconds_count{}"), 1.0);
    assert_eq!(moved(&before, &after, "skyhigh_render_queue_wait_seconds_count{}"), 1.0);
    assert_eq!(moved(&before, &after, "skyhigh_cache_requests_total{cache=memes_by_url,result=miss}"), 1.0);
    assert_eq!(moved(&before, &after, "skyhigh_cache_requests_total{cache=memes_by_url,result=hit}"), 1.0);
    assert_eq!(moved(&before, &after, "skyhigh_signin_failures_total{}"), 1.0);
    assert_eq!(moved(&before, &after, "skyhigh_signin_throttled_total{}"), 0.0);
    assert_eq!(after.get("skyhigh_slots{pool=render}"), Some(&2.0));
    assert_eq!(after.get("skyhigh_slots_busy{pool=render}"), Some(&0.0));
    assert!(after.contains_key("skyhigh_outbox_depth{}"), "{after:?}");
    if on_aws() {
        let queries = moved(&before, &after, "skyhigh_storage_requests_total{operation=Query}");
        assert!(queries >= 3.0, "each home page queries DynamoDB: {queries}");
    } else {
        let reads = moved(&before, &after, "skyhigh_sqlite_pool_acquisitions_total{pool=read,waited=no}")
            + moved(&before, &after, "skyhigh_sqlite_pool_acquisitions_total{pool=read,waited=yes}");
        assert!(reads >= 3.0, "each home page reads SQLite: {reads}");
    }
    assert!(after.get("process_resident_memory_bytes{}").is_some_and(|rss| *rss > 1e6), "{after:?}");

    // The public site has no such page, whatever is in front of it.
    assert_eq!(visitor.get("/metrics").await.status(), StatusCode::NOT_FOUND);
}
