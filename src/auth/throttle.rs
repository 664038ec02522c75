//! Sign-in throttling: after 10 failed sign-ins within 15 minutes, further attempts for that
//! account, or from that client address, are refused until the oldest failure ages out.
//!
//! Kept in memory: it protects each instance on its own, which bounds guessing to
//! 10 × instances per window. Memory is bounded too: at most `MAX_KEYS` keys are tracked and
//! stale ones are swept.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const MAX_FAILURES: usize = 10;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
const MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Account(String),
    Client(IpAddr),
}

/// Attempts are refused for this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    pub retry_after: Duration,
}

#[derive(Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<Key, VecDeque<Instant>>>,
}

impl LoginThrottle {
    /// Whether an attempt for `account` from `client` may go ahead now.
    pub fn check(&self, account: &str, client: IpAddr) -> Result<(), Throttled> {
        self.check_at(account, client, Instant::now())
    }

    pub fn record_failure(&self, account: &str, client: IpAddr) {
        self.record_failure_at(account, client, Instant::now())
    }

    /// A successful sign-in clears the account's failures (not the client's: one address
    /// guessing many accounts stays throttled).
    pub fn record_success(&self, account: &str) {
        self.lock().remove(&Key::Account(account.to_owned()));
    }

    /// Drops keys whose failures have all aged out.
    pub fn sweep(&self) {
        let now = Instant::now();
        self.lock().retain(|_, times| times.back().is_some_and(|last| now.duration_since(*last) < WINDOW));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, VecDeque<Instant>>> {
        self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn check_at(&self, account: &str, client: IpAddr, now: Instant) -> Result<(), Throttled> {
        let mut map = self.lock();
        let longest = [Key::Account(account.to_owned()), Key::Client(client)]
            .into_iter()
            .filter_map(|key| {
                let times = map.get_mut(&key)?;
                prune(times, now);
                (times.len() >= MAX_FAILURES).then(|| WINDOW.saturating_sub(now.duration_since(times[0])))
            })
            .max();
        match longest {
            Some(wait) => Err(Throttled { retry_after: wait.max(Duration::from_secs(1)) }),
            None => Ok(()),
        }
    }

    fn record_failure_at(&self, account: &str, client: IpAddr, now: Instant) {
        let mut map = self.lock();
        if map.len() >= MAX_KEYS {
            map.retain(|_, times| times.back().is_some_and(|last| now.duration_since(*last) < WINDOW));
        }
        for key in [Key::Account(account.to_owned()), Key::Client(client)] {
            if map.len() >= MAX_KEYS && !map.contains_key(&key) {
                continue;
            }
            let times = map.entry(key).or_default();
            prune(times, now);
            times.push_back(now);
            // Only the newest MAX_FAILURES matter for the decision.
            while times.len() > MAX_FAILURES {
                times.pop_front();
            }
        }
    }
}

fn prune(times: &mut VecDeque<Instant>, now: Instant) {
    while times.front().is_some_and(|first| now.duration_since(*first) >= WINDOW) {
        times.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn the_eleventh_attempt_after_ten_failures_is_refused_until_the_window_passes() {
        let throttle = LoginThrottle::default();
        let start = Instant::now();
        for i in 0..MAX_FAILURES {
            assert!(throttle.check_at("ann", HOME, start).is_ok(), "attempt {i}");
            throttle.record_failure_at("ann", HOME, start);
        }
        let refused = throttle.check_at("ann", HOME, start + Duration::from_secs(60)).unwrap_err();
        assert_eq!(refused.retry_after, WINDOW - Duration::from_secs(60));
        assert!(throttle.check_at("ann", HOME, start + WINDOW).is_ok());
    }

    #[test]
    fn one_client_guessing_many_accounts_is_throttled_too() {
        let throttle = LoginThrottle::default();
        let now = Instant::now();
        for i in 0..MAX_FAILURES {
            throttle.record_failure_at(&format!("user{i}"), HOME, now);
        }
        assert!(throttle.check_at("someone-else", HOME, now).is_err());
        let elsewhere: IpAddr = "10.1.2.3".parse().unwrap();
        assert!(throttle.check_at("someone-else", elsewhere, now).is_ok());
    }

    #[test]
    fn success_clears_the_accounts_failures() {
        let throttle = LoginThrottle::default();
        let other: IpAddr = "10.9.9.9".parse().unwrap();
        for _ in 0..MAX_FAILURES {
            throttle.record_failure_at("ann", other, Instant::now());
        }
        throttle.record_success("ann");
        assert!(throttle.check("ann", HOME).is_ok());
    }
}
