//! Request ids and the access log: one structured line per request at INFO, and the request
//! metrics (count by route and status, latency by route).
//!
//! Every request is served inside its `telemetry::request` context, so every line logged while
//! it is served (errors, audit events, storage warnings) names its id too. The id is the one
//! the load balancer sent in `X-Request-Id` when that is well formed, else a new one; it is
//! echoed in the response header and printed on error pages, so a user can quote it.
//!
//! What the line holds comes from three places: the request (method, the route *template*, so
//! `/memes/{id}` and not a million paths; the client address through the trusted-proxy rule),
//! the response (status, bytes) and the request context, which code deeper down fills in: the
//! signed-in user (as a pseudonym) and, on the aws backend, the storage cost that
//! `Server-Timing` reports.
//!
//! The pages that only read (home, portfolio, meme, memes by URL, preview) open their handler
//! spans at DEBUG: at INFO the access line and `request_id` say what such a span would, and a
//! span per page view cost more than the access line.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::body::HttpBody as _;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::request_id::{MakeRequestId, RequestId};

use super::client_ip;
use crate::storage::aws::metering;
use crate::telemetry::request::{self, RequestContext};

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");
/// The route of a request no route matched (a 404 from the fallback), so unknown paths stay one
/// label instead of one per path.
const UNMATCHED: &str = "(unmatched)";
/// One health check in this many is logged (all that fail are): the load balancer asks every
/// few seconds per instance, and a line each would drown the log.
const HEALTH_CHECK_SAMPLE: u64 = 100;
const HEALTH_CHECK_PATH: &str = "/healthz";

/// What the access-log middleware needs, chosen at start-up.
pub struct AccessLog {
    trusted_proxies: usize,
    /// The aws backend counts each request's DynamoDB requests (the local one pays nothing).
    metered: bool,
    health_checks: AtomicU64,
    metrics: crate::telemetry::metrics::RequestMetrics,
}

impl AccessLog {
    pub fn new(trusted_proxies: u8, metered: bool) -> Arc<Self> {
        Arc::new(Self {
            trusted_proxies: usize::from(trusted_proxies),
            metered,
            health_checks: AtomicU64::new(0),
            metrics: Default::default(),
        })
    }

    /// Whether this request's line is written: every one but the healthy health checks, of
    /// which one in [`HEALTH_CHECK_SAMPLE`].
    fn logs(&self, route: &str, ok: bool) -> bool {
        if route != HEALTH_CHECK_PATH || !ok {
            return true;
        }
        self.health_checks.fetch_add(1, Ordering::Relaxed).is_multiple_of(HEALTH_CHECK_SAMPLE)
    }
}

/// Request ids: 16 random bytes as 32 hex digits, unguessable and fixed-width.
#[derive(Clone, Copy, Default)]
pub struct MakeId;

impl MakeRequestId for MakeId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let bytes: [u8; 16] = rand::random();
        let mut text = [0u8; 32];
        for (i, b) in bytes.iter().enumerate() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            text[2 * i] = HEX[usize::from(b >> 4)];
            text[2 * i + 1] = HEX[usize::from(b & 15)];
        }
        HeaderValue::from_bytes(&text).ok().map(RequestId::new)
    }
}

/// The longest incoming id honoured (AWS trace ids are about 40 characters).
const MAX_INCOMING_ID: usize = 128;

/// Whether an incoming `X-Request-Id` is one we repeat in logs and headers: short, and only
/// letters, digits and `-_.:=;/+` (what load balancers and tracing systems use).
pub fn acceptable_incoming_id(value: &[u8]) -> bool {
    (1..=MAX_INCOMING_ID).contains(&value.len())
        && value.iter().all(|b| b.is_ascii_alphanumeric() || b"-_.:=;/+".contains(b))
}

/// Drops an incoming `X-Request-Id` that is not [`acceptable_incoming_id`], so the id layer
/// makes a fresh one instead of repeating whatever a client sent into every log line.
pub async fn refuse_malformed_ids(mut request: Request, next: Next) -> Response {
    let ids = request.headers().get_all(REQUEST_ID_HEADER);
    let mut ids = ids.iter();
    let keep = matches!((ids.next(), ids.next()), (Some(id), None) if acceptable_incoming_id(id.as_bytes()));
    if !keep {
        request.headers_mut().remove(REQUEST_ID_HEADER);
    }
    next.run(request).await
}

/// The request's id, as set by the id layer outside this one.
pub fn request_id_of<B>(request: &axum::http::Request<B>) -> &str {
    request.extensions().get::<RequestId>().and_then(|id| id.header_value().to_str().ok()).unwrap_or("-")
}

/// Serves the request inside its context, then writes its access-log line and request metrics.
pub async fn log_requests(State(log): State<Arc<AccessLog>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    // MatchedPath holds its template in an `Arc`: cloning it copies no text.
    let route = request.extensions().get::<MatchedPath>().cloned();
    let client = client_ip::client_of(request.extensions(), request.headers(), log.trusted_proxies);
    let context = RequestContext::new(request_id_of(&request));

    let served = request::scope(context.clone(), next.run(request));
    let (mut response, tally) = if log.metered {
        let (response, tally) = metering::scope(served).await;
        (response, Some(tally))
    } else {
        (served.await, None)
    };

    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    let route = route.as_ref().map_or(UNMATCHED, MatchedPath::as_str);
    log.metrics.record(method_label(&method), route, status, elapsed);
    // (requests, scans, operations): what Server-Timing and the line report, worked out once.
    let storage = tally.as_deref().filter(|t| t.requests() > 0).map(|t| (t.requests(), t.scans(), t.operations()));
    if let Some((requests, scans, operations)) = &storage {
        let timing = format!("dynamodb;desc=\"requests={requests} scans={scans} operations={operations}\"");
        if let Ok(value) = HeaderValue::from_str(&timing) {
            response.headers_mut().append("server-timing", value);
        }
    }
    if !log.logs(route, status < 400) {
        return response;
    }
    let bytes = response.body().size_hint().exact();
    // Logged in the request's context, so the line carries its `request_id` like the others.
    request::in_context(&context, || {
        tracing::info!(
            target: "access",
            method = method.as_str(),
            route,
            status,
            // Microseconds are as fine as a log needs; more digits are noise.
            duration_ms = elapsed.as_micros() as f64 / 1000.0,
            bytes,
            client = %client,
            user = context.user(),
            dynamodb_requests = storage.as_ref().map(|s| s.0),
            dynamodb_scans = storage.as_ref().map(|s| s.1),
            dynamodb_operations = storage.as_ref().map(|s| s.2.as_str()),
            "request"
        );
    });
    response
}

/// Methods as metric labels: the standard ones by name, anything else as one label.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incoming_ids_are_repeated_only_when_short_and_plain() {
        assert!(acceptable_incoming_id(b"Root=1-67891233-abcdef012345678912345678"));
        assert!(acceptable_incoming_id(b"4f1c2a9e-8d2b-4c44-9e0f-3c1d2b7a6e55"));
        assert!(!acceptable_incoming_id(b""));
        assert!(!acceptable_incoming_id(b"two words"));
        assert!(!acceptable_incoming_id(b"line\nbreak"));
        assert!(!acceptable_incoming_id(b"\"quoted\""));
        assert!(!acceptable_incoming_id(&[b'a'; MAX_INCOMING_ID + 1]));
    }

    #[test]
    fn made_ids_are_32_hex_digits_and_differ() {
        let request = axum::http::Request::new(());
        let a = MakeId.make_request_id(&request).unwrap();
        let b = MakeId.make_request_id(&request).unwrap();
        let text = a.header_value().to_str().unwrap();
        assert_eq!(text.len(), 32);
        assert!(text.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a.header_value(), b.header_value());
    }

    #[test]
    fn one_healthy_health_check_in_a_hundred_is_logged_and_every_failing_one() {
        let log = AccessLog::new(0, false);
        let logged = (0..1000).filter(|_| log.logs(HEALTH_CHECK_PATH, true)).count();
        assert_eq!(logged, 10);
        assert!((0..5).all(|_| log.logs(HEALTH_CHECK_PATH, false)));
        assert!((0..5).all(|_| log.logs("/", true)));
    }
}
