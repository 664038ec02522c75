use std::time::Duration;

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{ServerProcess, TestApp};

#[tokio::test]
async fn healthz_answers_200_ok() {
    let app = TestApp::spawn().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "ok");
}

#[tokio::test]
async fn the_home_page_renders_with_its_stylesheet() {
    let app = TestApp::spawn().await;
    let html = app.get_html("/").await;
    assert!(html.contains("Sky-High Memes"));
    let css_href = html.split("href=\"").find(|s| s.starts_with("/static/site.css")).unwrap();
    let css_url = &css_href[..css_href.find('"').unwrap()];
    let css = app.get(css_url).await;
    assert_eq!(css.status(), StatusCode::OK);
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    assert!(css.headers()["cache-control"].to_str().unwrap().contains("immutable"));
}

#[tokio::test]
async fn an_unknown_page_gets_the_friendly_404_page() {
    let app = TestApp::spawn().await;
    let response = app.get("/definitely/not/here").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(response.headers()["content-type"], "text/html; charset=utf-8");
    let html = response.text().await.unwrap();
    assert!(html.contains("We couldn&#39;t find that page"), "{html}");
    assert!(html.contains("<a class=\"button\" href=\"/\">"));
}

#[tokio::test]
async fn a_malformed_form_gets_a_400_page_not_a_crash() {
    let app = TestApp::spawn().await;
    let token = app.csrf_token("/login").await;
    let response = app
        .client
        .post(app.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        // A field twice is what a form of named fields cannot be read from (bad percent
        // escapes, by contrast, are decoded leniently and reach the handler).
        .body(format!("csrf_token={token}&login=ann&login=bob&password=x"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response.headers()["content-type"], "text/html; charset=utf-8");
    assert!(response.text().await.unwrap().contains("The form is missing fields or has malformed ones."));
}

#[tokio::test]
async fn the_api_prefix_gets_json_errors() {
    let app = TestApp::spawn().await;
    let response = app.get("/api/v1/nothing-here").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    assert!(body["error"]["message"].as_str().unwrap().len() > 10);
}

/// Slowloris: 200 connections that send their headers one byte per second must neither starve
/// a normal request nor stay open past the header-read timeout.
#[tokio::test]
async fn slow_header_senders_are_cut_off_and_do_not_starve_normal_requests() {
    const SLOW_CLIENTS: usize = 200;
    const HEADER_TIMEOUT: u64 = 2;
    let app = TestApp::spawn_with(|c| c.header_timeout_secs = HEADER_TIMEOUT).await;
    let addr = app.address.trim_start_matches("http://").to_owned();

    let mut slow = Vec::new();
    for _ in 0..SLOW_CLIENTS {
        let addr = addr.clone();
        slow.push(tokio::spawn(async move {
            let started = tokio::time::Instant::now();
            let mut stream = TcpStream::connect(&addr).await.expect("connect");
            let request = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
            let mut buf = [0u8; 1024];
            for byte in request.iter().cycle().take(30) {
                if stream.write_all(std::slice::from_ref(byte)).await.is_err() {
                    return Some(started.elapsed());
                }
                // Wait a second for the next byte, watching for the server closing on us.
                match tokio::time::timeout(Duration::from_secs(1), stream.read(&mut buf)).await {
                    Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
                    Ok(Ok(_)) => {
                        // The server may answer 408 before closing; keep reading until it closes.
                        let rest =
                            tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut Vec::new())).await;
                        return rest.is_ok().then(|| started.elapsed());
                    }
                    Err(_) => {}
                }
            }
            None
        }));
    }

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let normal = tokio::time::timeout(Duration::from_secs(1), app.get("/healthz")).await;
    let normal = normal.expect("a normal request answers within 1 s while 200 slow clients dribble");
    assert_eq!(normal.status(), StatusCode::OK);

    for (i, handle) in slow.into_iter().enumerate() {
        let closed_after = handle.await.unwrap().unwrap_or_else(|| panic!("slow client {i} was never cut off"));
        assert!(
            closed_after <= Duration::from_secs(HEADER_TIMEOUT + 3),
            "slow client {i} was cut off only after {closed_after:?}"
        );
    }
}

#[tokio::test]
async fn shutdown_lets_an_in_flight_request_finish() {
    let app = TestApp::spawn().await;
    let client = app.client.clone();
    let url = app.url("/healthz");
    let in_flight = tokio::spawn(async move { client.get(url).send().await.map(|r| r.status()) });
    tokio::time::sleep(Duration::from_millis(20)).await;
    app.stop().await;
    assert_eq!(in_flight.await.unwrap().unwrap(), StatusCode::OK);
}

/// A client that connects and sends nothing at all holds a connection (and a file handle)
/// just like a slow one: the header-read timeout must close it too.
#[tokio::test]
async fn silent_connections_are_closed_by_the_header_timeout() {
    const HEADER_TIMEOUT: u64 = 2;
    let app = TestApp::spawn_with(|c| c.header_timeout_secs = HEADER_TIMEOUT).await;
    let addr = app.address.trim_start_matches("http://").to_owned();

    let mut silent = Vec::new();
    for _ in 0..50 {
        let addr = addr.clone();
        silent.push(tokio::spawn(async move {
            let started = tokio::time::Instant::now();
            let mut stream = TcpStream::connect(&addr).await.expect("connect");
            // Send nothing; wait for the server to close (possibly after a 408).
            let closed = tokio::time::timeout(Duration::from_secs(HEADER_TIMEOUT + 3), async {
                let mut sink = Vec::new();
                let _ = stream.read_to_end(&mut sink).await;
            })
            .await;
            closed.is_ok().then(|| started.elapsed())
        }));
    }

    for (i, handle) in silent.into_iter().enumerate() {
        let closed_after = handle.await.unwrap().unwrap_or_else(|| panic!("silent client {i} was never cut off"));
        assert!(closed_after >= Duration::from_secs(HEADER_TIMEOUT - 1), "closed too early: {closed_after:?}");
    }
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
}

#[test]
fn a_bad_setting_stops_start_up_with_one_line_naming_it() {
    let data = tempfile::tempdir().unwrap();
    for (setting, value) in [
        ("SKYHIGH_ADDR", "nope"),
        ("SKYHIGH_BACKEND", "azure"),
        ("SKYHIGH_MAX_UPLOAD_MB", "0"),
        ("SKYHIGH_BASE_URL", "ftp://example.com"),
        ("SKYHIGH_COOKIE_SECURE", "maybe"),
        ("SKYHIGH_HEADER_TIMEOUT_SECS", "soon"),
    ] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_skyhigh"))
            .env("SKYHIGH_DATA_DIR", data.path())
            .env(setting, value)
            .output()
            .expect("run skyhigh");
        let stderr = String::from_utf8_lossy(&output.stderr);

        assert!(!output.status.success(), "{setting}={value} must stop start-up");
        assert_eq!(stderr.lines().count(), 1, "{setting}: {stderr}");
        assert!(stderr.contains(setting) && stderr.contains(value), "{setting}: {stderr}");
    }
}

#[tokio::test]
async fn the_binary_exits_cleanly_on_sigterm_and_sigint() {
    for signal in ["-TERM", "-INT"] {
        let data = tempfile::tempdir().unwrap();
        let mut server = ServerProcess::start(data.path(), &[]).await;

        server.signal(signal);

        let status = server.exit_status(Duration::from_secs(15)).await;
        assert!(status.success(), "SIG{} ended it with {status}", &signal[1..]);
    }
}

/// Sends `head` and then `body` on a raw connection and returns what came back within 10 s
/// (well inside the 30 s request timeout).
async fn raw_exchange(address: &str, head: String, body: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address.trim_start_matches("http://")).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut answer)).await;
    match read {
        Ok(Ok(n)) => String::from_utf8_lossy(&answer[..n]).into_owned(),
        Ok(Err(e)) => panic!("the connection failed: {e}"),
        Err(_) => panic!("no answer within 10 s: the server waited for a body that will never come"),
    }
}

#[tokio::test]
async fn a_body_declared_larger_than_the_routes_limit_is_refused_at_once() {
    let app = TestApp::spawn_with(|c| c.max_upload_mb = 2).await;
    let host = app.address.trim_start_matches("http://").to_owned();

    for (path, declared) in [("/login", 1_000_000_000_000u64), ("/login", 70_000), ("/memes", 3 * 1024 * 1024)] {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: {declared}\r\n\r\n"
        );
        let answer = raw_exchange(&app.address, head, b"login=x").await;
        assert!(answer.starts_with("HTTP/1.1 413"), "{path} declaring {declared}: {answer}");
    }
}

/// One GET /healthz on an open connection; whether an answer came back.
async fn healthz_on(stream: &mut TcpStream, host: &str) -> bool {
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n");
    if stream.write_all(request.as_bytes()).await.is_err() {
        return false;
    }
    // The whole answer (its headers run past a kilobyte), so the next read starts the next one.
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    while !answer.ends_with(b"\r\n\r\nok") {
        match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => answer.extend_from_slice(&chunk[..n]),
            _ => return false,
        }
    }
    answer.starts_with(b"HTTP/1.1 200")
}

#[tokio::test]
async fn an_idle_keep_alive_connection_lives_as_long_as_the_setting_and_no_longer() {
    let app = TestApp::spawn_with(|c| {
        c.keepalive_secs = 2;
        c.header_timeout_secs = 1;
    })
    .await;
    let host = app.address.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&host).await.unwrap();
    assert!(healthz_on(&mut stream, &host).await, "first request");

    // Idle for longer than the header timeout, within the keep-alive: still usable.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(healthz_on(&mut stream, &host).await, "the connection survives 1.5 s idle");

    // Idle past the keep-alive: closed by the server.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(!healthz_on(&mut stream, &host).await, "closed after 3 s idle");
}

#[test]
fn the_default_keep_alive_outlasts_the_load_balancers_60_seconds() {
    let config = skyhigh::config::Config::for_tests(std::env::temp_dir());
    assert!(config.keepalive_secs > 60, "{}", config.keepalive_secs);
}
