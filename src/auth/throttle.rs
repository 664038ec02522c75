//! Sign-in throttling and the sign-up limit, counted in the shared store (`storage::Counters`),
//! so a limit holds across every instance and across restarts and deploys.
//!
//! Sign-in: failures are counted per account and per client address in one-minute buckets. An
//! attempt is refused while the last 15 minutes (the current minute and the 14 before it) hold
//! 10 failures for either key, until enough of the oldest have aged out; the check reads all
//! 30 counters at once (one BatchGetItem). A success clears the account's count (not the
//! address's: one address guessing many accounts stays throttled).
//! Memory is the store's, and a full store does not exist, so the throttle never fails open; an
//! unreachable store fails the sign-in (it could not check the password either).
//!
//! Sign-up: at most `SKYHIGH_SIGNUPS_PER_HOUR` per client address per clock hour.
//!
//! IPv6 clients are counted by their /64: one subscriber line holds 2^64 addresses.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use crate::storage::{Counters, StorageResult};

pub const MAX_FAILURES: u64 = 10;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Failures are counted per minute; the window is this many buckets.
const BUCKET: Duration = Duration::from_secs(60);
const BUCKETS: i64 = 15;
const SIGNUP_WINDOW: Duration = Duration::from_secs(60 * 60);

/// Attempts are refused for this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    pub retry_after: Duration,
}

/// The key a client address counts under.
pub fn client_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                format!("{}/64", std::net::Ipv6Addr::from(prefix))
            }
        },
        v4 => v4.to_string(),
    }
}

/// Which fixed bucket of `window` `at` falls in, and when that bucket ends.
pub(super) fn bucket(at: OffsetDateTime, window: Duration) -> (i64, OffsetDateTime) {
    let size = i64::try_from(window.as_secs()).unwrap_or(i64::MAX).max(1);
    let index = at.unix_timestamp().div_euclid(size);
    let end = OffsetDateTime::from_unix_timestamp((index + 1) * size).unwrap_or(at);
    (index, end)
}

pub(super) fn until(end: OffsetDateTime, now: OffsetDateTime) -> Duration {
    Duration::try_from(end - now).unwrap_or(Duration::ZERO).max(Duration::from_secs(1))
}

#[derive(Clone)]
pub struct LoginThrottle {
    counters: Arc<dyn Counters>,
}

impl LoginThrottle {
    pub fn new(counters: Arc<dyn Counters>) -> Self {
        Self { counters }
    }

    /// The counters of the window ending at `at`: `who`'s buckets, oldest first.
    fn window(who: &str, at: OffsetDateTime) -> Vec<String> {
        let (current, _) = bucket(at, BUCKET);
        (current - BUCKETS + 1..=current).map(|b| format!("signin:{who}:{b}")).collect()
    }

    fn keys(account: &str, client: IpAddr) -> [String; 2] {
        [format!("account:{account}"), format!("client:{}", client_key(client))]
    }

    /// Whether an attempt for `account` from `client` may go ahead now.
    pub async fn check(&self, account: &str, client: IpAddr) -> StorageResult<Result<(), Throttled>> {
        let checked = self.check_at(account, client, OffsetDateTime::now_utc()).await;
        if matches!(checked, Ok(Err(_))) {
            crate::telemetry::metrics::signin_throttled();
        }
        checked
    }

    pub async fn check_at(
        &self,
        account: &str,
        client: IpAddr,
        now: OffsetDateTime,
    ) -> StorageResult<Result<(), Throttled>> {
        let keys = Self::keys(account, client);
        let names: Vec<String> = keys.iter().flat_map(|who| Self::window(who, now)).collect();
        let counts = self.counters.get(&names, now).await?;
        let (current, _) = bucket(now, BUCKET);
        let oldest = current - BUCKETS + 1;
        let waits = counts.chunks(BUCKETS as usize).filter_map(|buckets| {
            let mut remaining: u64 = buckets.iter().sum();
            // Drop buckets oldest first until the rest is under the limit: the last one dropped
            // is the one whose ageing out frees an attempt.
            for (i, count) in buckets.iter().enumerate() {
                if remaining < MAX_FAILURES {
                    return (i > 0).then(|| {
                        let ages_out = (oldest + i as i64 - 1) * BUCKET.as_secs() as i64 + WINDOW.as_secs() as i64;
                        until(OffsetDateTime::from_unix_timestamp(ages_out).unwrap_or(now), now)
                    });
                }
                remaining -= count;
            }
            // Even the current minute alone is over: it ages out last.
            let ages_out = current * BUCKET.as_secs() as i64 + WINDOW.as_secs() as i64;
            Some(until(OffsetDateTime::from_unix_timestamp(ages_out).unwrap_or(now), now))
        });
        Ok(match waits.max() {
            Some(retry_after) => Err(Throttled { retry_after }),
            None => Ok(()),
        })
    }

    pub async fn record_failure(&self, account: &str, client: IpAddr) -> StorageResult<()> {
        crate::telemetry::metrics::signin_failed();
        self.record_failure_at(account, client, OffsetDateTime::now_utc()).await
    }

    pub async fn record_failure_at(&self, account: &str, client: IpAddr, now: OffsetDateTime) -> StorageResult<()> {
        let (_, end) = bucket(now, BUCKET);
        // Kept for as long as it is inside someone's window.
        let expires = end + WINDOW;
        for who in Self::keys(account, client) {
            let current = Self::window(&who, now).pop().unwrap_or_default();
            self.counters.increment(&current, expires).await?;
        }
        Ok(())
    }

    pub async fn record_success(&self, account: &str) -> StorageResult<()> {
        let names = Self::window(&format!("account:{account}"), OffsetDateTime::now_utc());
        self.counters.reset(&names).await
    }
}

/// At most `per_hour` sign-ups per client address per clock hour.
#[derive(Clone)]
pub struct SignupLimit {
    counters: Arc<dyn Counters>,
    per_hour: u64,
}

impl SignupLimit {
    pub fn new(counters: Arc<dyn Counters>, per_hour: u64) -> Self {
        Self { counters, per_hour }
    }

    /// Counts one sign-up attempt from `client`; refused past the limit.
    pub async fn attempt(&self, client: IpAddr) -> StorageResult<Result<(), Throttled>> {
        let now = OffsetDateTime::now_utc();
        let (index, end) = bucket(now, SIGNUP_WINDOW);
        let count = self.counters.increment(&format!("signup:client:{}:{index}", client_key(client)), end).await?;
        Ok(if count > self.per_hour { Err(Throttled { retry_after: until(end, now) }) } else { Ok(()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    fn throttle() -> (LoginThrottle, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let storage = crate::storage::local::open(dir.path()).unwrap();
        (LoginThrottle::new(storage.counters), dir)
    }

    #[tokio::test]
    async fn the_eleventh_attempt_after_ten_failures_is_refused_until_they_age_out() {
        let (throttle, _dir) = throttle();
        // Real time: the store expires counters by the clock, so the buckets must be current.
        let now = OffsetDateTime::now_utc();
        for i in 0..MAX_FAILURES {
            assert!(throttle.check_at("ann", HOME, now).await.unwrap().is_ok(), "attempt {i}");
            throttle.record_failure_at("ann", HOME, now).await.unwrap();
        }
        let refused = throttle.check_at("ann", HOME, now).await.unwrap().unwrap_err();
        assert!(refused.retry_after > WINDOW - BUCKET && refused.retry_after <= WINDOW, "{refused:?}");
    }

    #[tokio::test]
    async fn failures_spread_over_the_window_add_up_and_the_oldest_frees_an_attempt() {
        let (throttle, _dir) = throttle();
        let now = OffsetDateTime::now_utc();
        // Five ten minutes ago, five now.
        let earlier = now - time::Duration::minutes(10);
        for _ in 0..5 {
            throttle.record_failure_at("ann", HOME, earlier).await.unwrap();
            throttle.record_failure_at("ann", HOME, now).await.unwrap();
        }
        let refused = throttle.check_at("ann", HOME, now).await.unwrap().unwrap_err();
        // The earlier five age out about five minutes from now.
        let five = Duration::from_secs(5 * 60);
        assert!(refused.retry_after <= five && refused.retry_after > five - BUCKET, "{refused:?}");
        let later = now + time::Duration::minutes(6);
        assert!(throttle.check_at("ann", HOME, later).await.unwrap().is_ok(), "once they aged out");
    }

    #[tokio::test]
    async fn one_client_guessing_many_accounts_is_throttled_too() {
        let (throttle, _dir) = throttle();
        let now = OffsetDateTime::now_utc();
        for i in 0..MAX_FAILURES {
            throttle.record_failure_at(&format!("user{i}"), HOME, now).await.unwrap();
        }
        assert!(throttle.check_at("someone-else", HOME, now).await.unwrap().is_err());
        let elsewhere: IpAddr = "10.1.2.3".parse().unwrap();
        assert!(throttle.check_at("someone-else", elsewhere, now).await.unwrap().is_ok());
    }

    #[tokio::test]
    async fn success_clears_the_accounts_failures() {
        let (throttle, _dir) = throttle();
        let other: IpAddr = "10.9.9.9".parse().unwrap();
        for _ in 0..MAX_FAILURES {
            throttle.record_failure("ann", other).await.unwrap();
        }
        throttle.record_success("ann").await.unwrap();
        assert!(throttle.check("ann", HOME).await.unwrap().is_ok());
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_slash_64() {
        let a = client_key("2001:db8:0:1:aaaa:bbbb:cccc:dddd".parse().unwrap());
        let b = client_key("2001:db8:0:1::99".parse().unwrap());
        let c = client_key("2001:db8:0:2::1".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(client_key("::ffff:10.0.0.1".parse().unwrap()), "10.0.0.1");
    }
}
