//! Sign-in throttling: after 10 failed sign-ins within 15 minutes, further attempts for that
//! account, or from that client address, are refused until the oldest failure ages out.
//!
//! Kept in memory: it protects each instance on its own, which bounds guessing to
//! 10 × instances per window. Memory is bounded too, and a full table never stops counting:
//! when it is full, the entries that matter least (fewest failures, then the stalest) make room
//! for the new one, and for one window afterwards every key is allowed half as many failures.
//! Flooding the table with junk keys so throttles more, never less.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const MAX_FAILURES: usize = 10;
/// The limit while the table is under pressure (it was full within the last window).
pub const MAX_FAILURES_UNDER_PRESSURE: usize = MAX_FAILURES / 2;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// 100,000 keys of at most 10 instants: about 25 MB in the worst case.
const MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Account(String),
    Client(IpAddr),
}

impl Key {
    /// An IPv6 client is counted by its /64: one subscriber line holds 2^64 addresses.
    fn client(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                Key::Client(IpAddr::V6(prefix.into()))
            }
            IpAddr::V6(v6) => Key::Client(IpAddr::V4(v6.to_ipv4_mapped().unwrap_or(std::net::Ipv4Addr::UNSPECIFIED))),
            v4 => Key::Client(v4),
        }
    }
}

/// Attempts are refused for this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    pub retry_after: Duration,
}

pub struct LoginThrottle {
    state: Mutex<State>,
    capacity: usize,
}

#[derive(Default)]
struct State {
    failures: HashMap<Key, VecDeque<Instant>>,
    /// Until when the lower limit applies, after the table was last full.
    pressure_until: Option<Instant>,
}

impl State {
    fn limit(&self, now: Instant) -> usize {
        match self.pressure_until {
            Some(until) if now < until => MAX_FAILURES_UNDER_PRESSURE,
            _ => MAX_FAILURES,
        }
    }

    /// Frees room for one more key: first whatever has aged out, then the tenth of the table
    /// that matters least. The limit drops for one window.
    fn make_room(&mut self, capacity: usize, now: Instant) {
        self.failures.retain(|_, times| times.back().is_some_and(|last| now.duration_since(*last) < WINDOW));
        if self.failures.len() < capacity {
            return;
        }
        let mut ranked: Vec<(usize, Instant, Key)> = self
            .failures
            .iter()
            .map(|(key, times)| (times.len(), times.back().copied().unwrap_or(now), key.clone()))
            .collect();
        ranked.sort_unstable_by_key(|&(count, last, _)| (count, last));
        let evict = (capacity / 10).max(1);
        for (_, _, key) in ranked.into_iter().take(evict) {
            self.failures.remove(&key);
        }
        self.pressure_until = Some(now + WINDOW);
        tracing::warn!(
            event = "throttle_table_full",
            evicted = evict,
            capacity,
            "the sign-in throttle's table was full: evicted the least-failed keys and halved the limit for 15 minutes"
        );
    }
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self::with_capacity(MAX_KEYS)
    }
}

impl LoginThrottle {
    /// A throttle that tracks at most `capacity` keys.
    pub fn with_capacity(capacity: usize) -> Self {
        Self { state: Mutex::new(State::default()), capacity: capacity.max(2) }
    }

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
        self.lock().failures.remove(&Key::Account(account.to_owned()));
    }

    /// Drops keys whose failures have all aged out.
    pub fn sweep(&self) {
        let now = Instant::now();
        self.lock().failures.retain(|_, times| times.back().is_some_and(|last| now.duration_since(*last) < WINDOW));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn check_at(&self, account: &str, client: IpAddr, now: Instant) -> Result<(), Throttled> {
        let mut state = self.lock();
        let limit = state.limit(now);
        let longest = [Key::Account(account.to_owned()), Key::client(client)]
            .into_iter()
            .filter_map(|key| {
                let times = state.failures.get_mut(&key)?;
                prune(times, now);
                // The oldest of the last `limit` failures is the one whose ageing out frees a try.
                let oldest = times.len().checked_sub(limit).map(|i| times[i])?;
                Some(WINDOW.saturating_sub(now.duration_since(oldest)))
            })
            .max();
        match longest {
            Some(wait) => Err(Throttled { retry_after: wait.max(Duration::from_secs(1)) }),
            None => Ok(()),
        }
    }

    fn record_failure_at(&self, account: &str, client: IpAddr, now: Instant) {
        let mut state = self.lock();
        for key in [Key::Account(account.to_owned()), Key::client(client)] {
            if !state.failures.contains_key(&key) && state.failures.len() >= self.capacity {
                state.make_room(self.capacity, now);
            }
            let times = state.failures.entry(key).or_default();
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

    #[test]
    fn a_full_table_keeps_counting_and_throttles_more_not_less() {
        let throttle = LoginThrottle::with_capacity(1_000);
        let now = Instant::now();
        // A flood of one failure each from a thousand addresses fills the table.
        for i in 0..1_000u32 {
            let flood = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            throttle.record_failure_at(&format!("junk{i}"), flood, now);
        }
        // Then an attacker guesses ann's password from addresses of its own.
        let mut refused_after = None;
        for attempt in 0..MAX_FAILURES + 1 {
            let from = IpAddr::V4(std::net::Ipv4Addr::from(0xc000_0000 + attempt as u32));
            if throttle.check_at("ann", from, now).is_err() {
                refused_after = Some(attempt);
                break;
            }
            throttle.record_failure_at("ann", from, now);
        }
        let refused_after = refused_after.expect("ann's guesses are throttled although the table was full");
        assert!(refused_after <= MAX_FAILURES, "refused after {refused_after} failures");
        assert!(throttle.lock().failures.len() <= 1_000, "the table stays within its capacity");
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_slash_64() {
        let throttle = LoginThrottle::default();
        let now = Instant::now();
        for i in 0..MAX_FAILURES as u16 {
            let ip = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 1, i, i, i, i));
            throttle.record_failure_at(&format!("user{i}"), ip, now);
        }
        let same_line = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 9, 9, 9, 99));
        assert!(throttle.check_at("someone", same_line, now).is_err());
        let other_line = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 2, 0, 0, 0, 1));
        assert!(throttle.check_at("someone", other_line, now).is_ok());
    }
}
