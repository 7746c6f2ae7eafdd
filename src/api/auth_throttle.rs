//! Wrong keys cost time, per client address: the admin page's log-in form and `Authorization: Bearer` keys
//! alike. Each try counts as a failure until its key proves right, so tries sent all at once are counted
//! before any is answered. The first few failures are answered at once (a mistyped key); then each answer waits a little
//! longer; past [`BLOCK_AT`] failures the address is answered `429` with `Retry-After` before any key is
//! looked at, until its failures have been forgotten one by one ([`FORGET_ONE`]).
//!
//! Only the address that fails is slowed: an attacker elsewhere cannot lock the admin out. IPv6 clients are
//! counted by their /64 (one host holds a whole /64). Every failure and every refusal is counted in
//! `hookarr_auth_failures_total{outcome}`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures answered without delay.
const FREE: f64 = 5.0;
/// Failures after which the address is refused outright.
pub const BLOCK_AT: f64 = 20.0;
/// One failure is forgotten each this long.
const FORGET_ONE: Duration = Duration::from_secs(6);
/// The added wait per failure past [`FREE`], up to [`MAX_DELAY`].
const DELAY_STEP: Duration = Duration::from_millis(250);
const MAX_DELAY: Duration = Duration::from_secs(3);
/// Addresses remembered at most (past it, those whose failures are forgotten make room; a new address is
/// otherwise not counted — never refused for the table being full).
const MAX_ADDRESSES: usize = 10_000;

/// What the throttle says of a try before its key is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Check the key; if it is wrong, wait this long before answering.
    Go { if_wrong_wait: Duration },
    /// Refused for now: answer `429` with this `Retry-After`.
    Refuse { retry_after_secs: u64 },
}

/// Tries per client address that have not succeeded.
#[derive(Debug, Default)]
pub struct AuthThrottle {
    failures: Mutex<HashMap<IpAddr, Failures>>,
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    /// Failures not yet forgotten, as of `at`.
    count: f64,
    at: Instant,
}

impl Failures {
    fn now(self, now: Instant) -> f64 {
        let forgotten =
            now.saturating_duration_since(self.at).as_secs_f64() / FORGET_ONE.as_secs_f64();
        (self.count - forgotten).max(0.0)
    }
}

/// The key an address is counted under: itself, or an IPv6 address's /64.
fn counted_as(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

impl AuthThrottle {
    /// A try from `ip`, counted as a failure until [`AuthThrottle::succeeded`] says otherwise — so that
    /// tries sent all at once are counted before any is answered.
    pub fn attempt(&self, ip: Option<IpAddr>, now: Instant) -> Verdict {
        let Some(ip) = ip else {
            return Verdict::Go {
                if_wrong_wait: Duration::ZERO,
            };
        };
        let mut failures = self.failures.lock().expect("auth throttle lock");
        if failures.len() >= MAX_ADDRESSES {
            failures.retain(|_, f| f.now(now) > 0.0);
        }
        let key = counted_as(ip);
        let before = failures.get(&key).map_or(0.0, |f| f.now(now));
        if before >= BLOCK_AT {
            crate::metrics::auth_failure("refused");
            let wait = (before - BLOCK_AT + 1.0) * FORGET_ONE.as_secs_f64();
            return Verdict::Refuse {
                retry_after_secs: wait.ceil().max(1.0) as u64,
            };
        }
        if failures.len() < MAX_ADDRESSES || failures.contains_key(&key) {
            let count = before + 1.0;
            failures.insert(key, Failures { count, at: now });
        }
        let past_free = (before + 1.0 - FREE).max(0.0);
        Verdict::Go {
            if_wrong_wait: DELAY_STEP.mul_f64(past_free).min(MAX_DELAY),
        }
    }

    /// The try from `ip` was a right key: it is not a failure.
    pub fn succeeded(&self, ip: Option<IpAddr>, now: Instant) {
        let Some(ip) = ip else { return };
        let mut failures = self.failures.lock().expect("auth throttle lock");
        let key = counted_as(ip);
        if let Some(f) = failures.get(&key).copied() {
            let count = f.now(now) - 1.0;
            match count > 0.0 {
                true => failures.insert(key, Failures { count, at: now }),
                false => failures.remove(&key),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    fn wait(v: Verdict) -> Duration {
        match v {
            Verdict::Go { if_wrong_wait } => if_wrong_wait,
            Verdict::Refuse { .. } => panic!("refused: {v:?}"),
        }
    }

    #[test]
    fn failures_slow_then_refuse_one_address_only_and_are_forgotten() {
        let t = AuthThrottle::default();
        let now = Instant::now();
        let attacker = ip("203.0.113.9");
        let waits: Vec<Duration> = (0..BLOCK_AT as usize)
            .map(|_| wait(t.attempt(attacker, now)))
            .collect();
        assert!(waits[..FREE as usize].iter().all(Duration::is_zero));
        assert!(waits[FREE as usize] > Duration::ZERO);
        assert!(waits.windows(2).all(|w| w[0] <= w[1]), "{waits:?}");
        assert_eq!(*waits.last().unwrap(), MAX_DELAY);
        let Verdict::Refuse { retry_after_secs } = t.attempt(attacker, now) else {
            panic!("refused after {BLOCK_AT} failures");
        };
        assert!(retry_after_secs >= 1);
        // The admin, from elsewhere, is not held up.
        assert_eq!(wait(t.attempt(ip("198.51.100.7"), now)), Duration::ZERO);
        // After Retry-After, one more try is let through.
        let later = now + Duration::from_secs(retry_after_secs);
        assert!(matches!(t.attempt(attacker, later), Verdict::Go { .. }));
        // Much later, all is forgotten.
        let much_later = now + FORGET_ONE * (BLOCK_AT as u32 + 2);
        assert_eq!(wait(t.attempt(attacker, much_later)), Duration::ZERO);
    }

    #[test]
    fn right_keys_are_not_failures() {
        let t = AuthThrottle::default();
        let now = Instant::now();
        let admin = ip("192.0.2.4");
        for _ in 0..100 {
            assert_eq!(wait(t.attempt(admin, now)), Duration::ZERO);
            t.succeeded(admin, now);
        }
    }

    #[test]
    fn an_ipv6_host_is_counted_by_its_64() {
        let t = AuthThrottle::default();
        let now = Instant::now();
        for n in 0..BLOCK_AT as u32 {
            t.attempt(ip(&format!("2001:db8:1:2::{n:x}")), now);
        }
        assert!(matches!(
            t.attempt(ip("2001:db8:1:2::ffff"), now),
            Verdict::Refuse { .. }
        ));
        assert_eq!(wait(t.attempt(ip("2001:db8:1:3::1"), now)), Duration::ZERO);
    }
}
