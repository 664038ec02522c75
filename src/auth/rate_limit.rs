//! Rate limits on what costs the site: API writes (counted in the shared store, so the limit
//! holds across instances) and renders (counted in process: the CPU a render takes is the
//! instance's own, so that is where the limit protects it).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use super::throttle::{Throttled, bucket, client_key, until};
use crate::storage::{Counters, StorageResult};

const MINUTE: Duration = Duration::from_secs(60);

/// At most `per_minute` API writes per token (or signed-in user) and twice that per client
/// address, per clock minute.
#[derive(Clone)]
pub struct ApiWriteLimit {
    counters: Arc<dyn Counters>,
    per_minute: u64,
}

impl ApiWriteLimit {
    pub fn new(counters: Arc<dyn Counters>, per_minute: u64) -> Self {
        Self { counters, per_minute }
    }

    /// Counts one write by `caller` (a token id or user id) from `client`.
    pub async fn attempt(&self, caller: &str, client: IpAddr) -> StorageResult<Result<(), Throttled>> {
        let now = OffsetDateTime::now_utc();
        let (index, end) = bucket(now, MINUTE);
        let by_caller = self.counters.increment(&format!("api:caller:{caller}:{index}"), end).await?;
        let by_client = self.counters.increment(&format!("api:client:{}:{index}", client_key(client)), end).await?;
        let over = by_caller > self.per_minute || by_client > self.per_minute.saturating_mul(2);
        Ok(if over { Err(Throttled { retry_after: until(end, now) }) } else { Ok(()) })
    }
}

/// A token bucket per client address: a burst of `per_minute` renders, refilled at
/// `per_minute` a minute. Buckets of clients that stopped are dropped once full again.
#[derive(Clone)]
pub struct RenderLimit {
    per_minute: u32,
    buckets: Arc<Mutex<HashMap<String, Bucket>>>,
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Past this many buckets, full ones (clients idle for a minute) are dropped.
const PRUNE_AT: usize = 50_000;

impl RenderLimit {
    pub fn new(per_minute: u32) -> Self {
        Self { per_minute: per_minute.max(1), buckets: Arc::default() }
    }

    /// Takes one render from `client`'s bucket, or says how long until there is one.
    pub fn attempt(&self, client: IpAddr) -> Result<(), Throttled> {
        let attempted = self.attempt_at(client, Instant::now());
        if attempted.is_err() {
            crate::telemetry::metrics::render_rejected("rate_limited");
        }
        attempted
    }

    fn attempt_at(&self, client: IpAddr, now: Instant) -> Result<(), Throttled> {
        let capacity = f64::from(self.per_minute);
        let per_second = capacity / 60.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= PRUNE_AT {
            buckets.retain(|_, b| b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * per_second < capacity);
        }
        let bucket = buckets.entry(client_key(client)).or_insert(Bucket { tokens: capacity, at: now });
        let refilled = now.saturating_duration_since(bucket.at).as_secs_f64() * per_second;
        bucket.tokens = (bucket.tokens + refilled).min(capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / per_second;
            Err(Throttled { retry_after: Duration::from_secs_f64(wait.ceil().max(1.0)) })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    const AWAY: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));

    #[test]
    fn a_burst_is_allowed_then_renders_come_back_at_the_rate() {
        let limit = RenderLimit::new(60);
        let start = Instant::now();
        for i in 0..60 {
            assert!(limit.attempt_at(HOME, start).is_ok(), "render {i} of the burst");
        }
        let refused = limit.attempt_at(HOME, start).unwrap_err();
        assert_eq!(refused.retry_after, Duration::from_secs(1));
        assert!(limit.attempt_at(AWAY, start).is_ok(), "another client has its own bucket");
        assert!(limit.attempt_at(HOME, start + Duration::from_millis(1100)).is_ok(), "one a second at 60/min");
        assert!(limit.attempt_at(HOME, start + Duration::from_millis(1200)).is_err());
    }

    #[tokio::test]
    async fn api_writes_past_the_limit_are_refused_until_the_minute_ends() {
        let dir = tempfile::tempdir().unwrap();
        let storage = crate::storage::local::open(dir.path()).unwrap();
        let limit = ApiWriteLimit::new(storage.counters, 3);
        // Counted per clock minute: a run that straddles a minute's end is run again.
        let minute = || OffsetDateTime::now_utc().unix_timestamp() / 60;
        for run in 0..=255u8 {
            // A caller and an address of its own each run: the address is counted too.
            let (caller, client, started) =
                (format!("token-{run}"), IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, run)), minute());
            let mut outcomes = Vec::new();
            for _ in 0..4 {
                outcomes.push(limit.attempt(&caller, client).await.unwrap());
            }
            if minute() != started {
                continue;
            }
            assert!(outcomes[..3].iter().all(Result::is_ok), "{outcomes:?}");
            assert!(outcomes[3].as_ref().is_err_and(|refused| refused.retry_after <= MINUTE));
            assert!(limit.attempt("another", AWAY).await.unwrap().is_ok(), "another caller elsewhere");
            break;
        }
    }
}
