//! Metrics, in Prometheus's text format, through the `metrics` facade.
//!
//! Code records through the functions here, so every metric's name, labels and unit are in
//! one file (and in `docs/operations.md`). Until [`install`] runs (it does when
//! `SKYHIGH_METRICS_ADDR` is set), the facade has no recorder and every call is a no-op.
//!
//! Counters and histograms are recorded where things happen. Levels — slots in use, the
//! outbox's depth and age, the caches' hit counts, memory — are read when Prometheus scrapes
//! (`web::metrics`), so nothing polls in between.

use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};
use std::time::Duration;

use metrics::{Counter, Histogram, counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::render::CacheReport;

/// Latency buckets, in seconds: pages take about a millisecond, renders tens of them, and
/// the request timeout is 30 s.
const LATENCY_BUCKETS: &[f64] =
    &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process's recorder (once: a second call returns the same handle).
pub fn install() -> anyhow::Result<PrometheusHandle> {
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)?
        .build_recorder();
    let handle = recorder.handle();
    // Another thread may have won the race; then its recorder stays and so does its handle.
    if metrics::set_global_recorder(recorder).is_ok() {
        let _ = HANDLE.set(handle);
    }
    HANDLE.get().cloned().ok_or_else(|| anyhow::anyhow!("another metrics recorder is installed"))
}

/// The request metrics: count by method, route template and status, latency by route. The
/// handles are kept per label set, so a request costs a read lock, a lookup by route and two
/// atomic updates, not the building and hashing of a key in the recorder's registry (a few
/// percent of a page).
#[derive(Default)]
pub struct RequestMetrics {
    routes: RwLock<HashMap<Box<str>, RouteMetrics>>,
}

struct RouteMetrics {
    latency: Histogram,
    /// (method, status, count): a route sees a handful of these.
    counts: Vec<(&'static str, u16, Counter)>,
}

impl RequestMetrics {
    /// One HTTP request, answered.
    pub fn record(&self, method: &'static str, route: &str, status: u16, elapsed: Duration) {
        // Known label sets are updated under the read lock: no handle is cloned, so no shared
        // reference count bounces between cores.
        if let Some(handles) = read(&self.routes).get(route)
            && let Some((_, _, count)) = handles.counts.iter().find(|(m, s, _)| *m == method && *s == status)
        {
            count.increment(1);
            handles.latency.record(elapsed);
            return;
        }
        let mut routes = write(&self.routes);
        let handles = routes.entry(route.into()).or_insert_with(|| RouteMetrics {
            latency: histogram!("skyhigh_http_request_duration_seconds", "route" => route.to_owned()),
            counts: Vec::new(),
        });
        if !handles.counts.iter().any(|(m, s, _)| *m == method && *s == status) {
            let labels = [("method", method.to_owned()), ("route", route.to_owned()), ("status", status.to_string())];
            handles.counts.push((method, status, counter!("skyhigh_http_requests_total", &labels)));
        }
        if let Some((_, _, count)) = handles.counts.iter().find(|(m, s, _)| *m == method && *s == status) {
            count.increment(1);
        }
        handles.latency.record(elapsed);
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A render that ran: how long it waited for a slot and how long the engine took.
pub fn render_done(waited: Duration, took: Duration) {
    counter!("skyhigh_renders_total").increment(1);
    histogram!("skyhigh_render_queue_wait_seconds").record(waited);
    histogram!("skyhigh_render_duration_seconds").record(took);
}

/// A render refused, by `RenderError::reason` (`bomb`, `too_large`, `bad_format`, …), or
/// `rate_limited` (the client's renders per minute).
pub fn render_rejected(reason: &'static str) {
    counter!("skyhigh_render_rejects_total", "reason" => reason).increment(1);
}

pub fn signin_failed() {
    counter!("skyhigh_signin_failures_total").increment(1);
}

pub fn signin_throttled() {
    counter!("skyhigh_signin_throttled_total").increment(1);
}

/// A job the delivery worker finished (`ok`) or will retry (`failed`), by kind.
pub fn delivery(job: &'static str, ok: bool, jobs: u64) {
    let name = if ok { "skyhigh_deliveries_total" } else { "skyhigh_delivery_failures_total" };
    counter!(name, "job" => job).increment(jobs);
}

/// The local backend's SQLite connections (`read` or `write`): how often one was taken at
/// once, and for the times a query had to wait, how long.
pub struct PoolMetrics {
    immediate: Counter,
    waited: Counter,
    waits: Histogram,
}

impl PoolMetrics {
    /// The handles for `pool`: make them after [`install`] (start-up), or they stay no-ops.
    pub fn new(pool: &'static str) -> Self {
        Self {
            immediate: counter!("skyhigh_sqlite_pool_acquisitions_total", "pool" => pool, "waited" => "no"),
            waited: counter!("skyhigh_sqlite_pool_acquisitions_total", "pool" => pool, "waited" => "yes"),
            waits: histogram!("skyhigh_sqlite_pool_wait_seconds", "pool" => pool),
        }
    }

    pub fn immediate(&self) {
        self.immediate.increment(1);
    }

    pub fn waited(&self, waited: Duration) {
        self.waited.increment(1);
        self.waits.record(waited);
    }
}

/// One request sent to DynamoDB (each attempt, retries included: what is billed).
pub fn storage_request(operation: &'static str) {
    counter!("skyhigh_storage_requests_total", "operation" => operation).increment(1);
}

/// A storage request that failed for a reason worth an alarm: `throttled` (after the SDK's
/// own retries) or `conflict` (a transaction that kept colliding).
pub fn storage_error(kind: &'static str) {
    counter!("skyhigh_storage_errors_total", "kind" => kind).increment(1);
}

/// The levels read at scrape time.
pub struct Levels {
    pub render_slots: (usize, usize),
    pub password_slots: (usize, usize),
    /// Jobs owed (due, delayed or being worked on), and how long the oldest due one has waited
    /// where the backend knows (SQS reports that to CloudWatch only).
    pub outbox: Option<(u64, Option<Duration>)>,
    /// Per cache, its lookups since start-up.
    pub caches: Vec<CacheReport>,
}

/// Sets the gauges (and the caches' counters) from `levels` and the process's memory.
pub fn record_levels(levels: &Levels) {
    for (name, (busy, total)) in [("render", levels.render_slots), ("password", levels.password_slots)] {
        gauge!("skyhigh_slots_busy", "pool" => name).set(busy as f64);
        gauge!("skyhigh_slots", "pool" => name).set(total as f64);
    }
    if let Some((depth, oldest)) = levels.outbox {
        gauge!("skyhigh_outbox_depth").set(depth as f64);
        if let Some(oldest) = oldest {
            gauge!("skyhigh_outbox_oldest_age_seconds").set(oldest.as_secs_f64());
        }
    }
    for report in &levels.caches {
        counter!("skyhigh_cache_requests_total", "cache" => report.cache, "result" => "hit").absolute(report.hits);
        counter!("skyhigh_cache_requests_total", "cache" => report.cache, "result" => "miss").absolute(report.misses);
    }
    if let Some(rss) = resident_bytes() {
        gauge!("process_resident_memory_bytes").set(rss as f64);
    }
}

/// The process's resident set, from `/proc/self/status` (Linux; elsewhere none).
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|line| line.strip_prefix("VmRSS:"))?;
    let kib: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    Some(kib * 1024)
}
