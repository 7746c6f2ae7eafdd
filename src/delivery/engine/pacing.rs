//! A destination's pace: its rate limit (a governor limiter, from which every send takes a token), the
//! bookings that spread the deliveries waiting for a token over the limit's coming slots, and the probe that
//! goes alone after a pause.
//!
//! A delivery that finds no token is never slept on in its worker: it is put back in the queue, due at the
//! slot it booked. Bookings follow one another one period apart from a cursor, so a backlog of 600 behind a
//! limit of 10/s comes due at 10/s instead of all at once, and a newcomer queues behind those already
//! waiting. Coming due does not skip the limiter: the booked delivery still takes its token, so the limit holds
//! however late or early the queue hands it back.
//!
//! After a pause (a 429, its `Retry-After`, Discord's spent bucket) one delivery — the probe — goes first; the
//! others wait for its answer. A probe that is rate limited again starts another pause; any other answer
//! lets the rest follow at the limit's pace.

use crate::config::Destination;
use governor::clock::{Clock as _, DefaultClock};
use governor::{Quota, RateLimiter};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A direct (unkeyed) governor limiter on the default clock.
type Limiter = RateLimiter<
    governor::state::NotKeyed,
    governor::state::InMemoryState,
    governor::clock::DefaultClock,
>;

/// How many bookings are kept before the stale ones (of deliveries that never came back: deleted, expired,
/// taken by another process) are dropped.
const BOOKINGS_KEPT: usize = 4096;
/// A booking this far past its slot belongs to a delivery that is not coming back.
const STALE_BOOKING: Duration = Duration::from_secs(300);

/// Whether a delivery may be sent now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Admit {
    /// Send now: a token was taken. `probe`: this send is the one that tests the target after a pause.
    Send { probe: bool },
    /// Not before this instant (the slot booked for it).
    Wait(Instant),
}

/// One destination's pace.
pub(super) struct Pace {
    limiter: Limiter,
    /// The limit's emission interval: one booking per period.
    period: Duration,
    /// The limit's burst.
    burst: u32,
    /// How long a probe may stay unanswered before another delivery may probe (its attempt can have died).
    probe_timeout: Duration,
    state: Mutex<PaceState>,
}

#[derive(Default)]
struct PaceState {
    /// The next free slot: past every booking handed out.
    cursor: Option<Instant>,
    /// Deliveries put back to wait for a token, with their slot.
    booked: HashMap<String, Instant>,
    probe: Probe,
}

#[derive(Debug, Default, Clone, Copy)]
enum Probe {
    /// Sends go by the limiter alone.
    #[default]
    Clear,
    /// A pause ended or is running: the next send is a probe.
    Needed,
    /// The probe is out; the others wait for its answer.
    Out { since: Instant },
}

impl Pace {
    /// The pace of a configured destination: its `rate_limit`, or its target type's default.
    pub(super) fn new(d: &Destination, probe_timeout: Duration) -> Pace {
        let (period, burst) = match &d.rate_limit {
            Some(r) => (
                Duration::from_secs_f64(1.0 / r.per_second.max(1e-6)),
                r.burst.max(1),
            ),
            None => d.kind.target().default_rate(d),
        };
        let period = period.max(Duration::from_nanos(1));
        let quota = Quota::with_period(period)
            .expect("a positive period")
            .allow_burst(NonZeroU32::new(burst).expect("burst ≥ 1"));
        Pace {
            limiter: RateLimiter::direct(quota),
            period,
            burst,
            probe_timeout,
            state: Mutex::default(),
        }
    }

    /// One send per this long…
    pub(super) fn period(&self) -> Duration {
        self.period
    }

    /// …with bursts of this many.
    pub(super) fn burst(&self) -> u32 {
        self.burst
    }

    fn state(&self) -> std::sync::MutexGuard<'_, PaceState> {
        self.state.lock().expect("pace lock")
    }

    /// Whether `delivery` may go now; `paused_until`, when given, is the end of a pause in force.
    pub(super) fn admit(
        &self,
        delivery: &str,
        now: Instant,
        paused_until: Option<Instant>,
    ) -> Admit {
        let mut s = self.state();
        if let Some(until) = paused_until.filter(|u| *u > now) {
            s.probe = Probe::Needed;
            return Admit::Wait(s.book(delivery, until, self.period));
        }
        match s.probe {
            Probe::Out { since } if now.duration_since(since) < self.probe_timeout => {
                return Admit::Wait(s.book(delivery, now, self.period));
            }
            Probe::Out { .. } | Probe::Needed => {
                return match self.take_token(now) {
                    Ok(()) => {
                        s.booked.remove(delivery);
                        s.probe = Probe::Out { since: now };
                        Admit::Send { probe: true }
                    }
                    Err(at) => Admit::Wait(s.book(delivery, at, self.period)),
                };
            }
            Probe::Clear => {}
        }
        let booked = s.booked.remove(delivery).is_some();
        // Others are waiting for their slots: a newcomer queues behind them.
        if !booked && s.cursor.is_some_and(|c| c > now) {
            return Admit::Wait(s.book(delivery, now, self.period));
        }
        match self.take_token(now) {
            Ok(()) => Admit::Send { probe: false },
            // Its slot came a little early: it keeps its place, just after the token it needs.
            Err(at) if booked => {
                s.booked.insert(delivery.to_owned(), at);
                Admit::Wait(at)
            }
            Err(at) => Admit::Wait(s.book(delivery, at, self.period)),
        }
    }

    /// Takes a token, or says when the next one comes.
    fn take_token(&self, now: Instant) -> Result<(), Instant> {
        self.limiter
            .check()
            .map_err(|not_until| now + not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// A pause began: the send after it is a probe.
    pub(super) fn needs_probe(&self) {
        self.state().probe = Probe::Needed;
    }

    /// The probe was answered with anything but a rate limit: the others follow at the limit's pace.
    pub(super) fn probe_answered(&self) {
        let mut s = self.state();
        if matches!(s.probe, Probe::Out { .. }) {
            s.probe = Probe::Clear;
        }
    }
}

impl PaceState {
    /// Books the first free slot at or after `earliest` for `delivery`.
    fn book(&mut self, delivery: &str, earliest: Instant, period: Duration) -> Instant {
        let at = self.cursor.map_or(earliest, |c| c.max(earliest));
        self.cursor = Some(at + period);
        if self.booked.len() >= BOOKINGS_KEPT
            && let Some(stale) = Instant::now().checked_sub(STALE_BOOKING)
        {
            self.booked.retain(|_, slot| *slot > stale);
        }
        self.booked.insert(delivery.to_owned(), at);
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pace(per_second: f64, burst: u32) -> Pace {
        let d: Destination = serde_norway::from_str(&format!(
            "name: t\ntype: webhook\nurl: http://127.0.0.1:9/\nrate_limit: {{per_second: {per_second}, burst: {burst}}}\n"
        ))
        .unwrap();
        Pace::new(&d, Duration::from_secs(30))
    }

    fn id(n: usize) -> String {
        format!("dlv_{n}")
    }

    #[test]
    fn a_backlog_gets_the_burst_then_one_slot_per_period_in_order() {
        let p = pace(10.0, 5);
        let now = Instant::now();
        let admits: Vec<Admit> = (0..20).map(|n| p.admit(&id(n), now, None)).collect();
        let sent = admits
            .iter()
            .filter(|a| matches!(a, Admit::Send { .. }))
            .count();
        assert_eq!(sent, 5, "{admits:?}");
        let slots: Vec<Instant> = admits
            .iter()
            .filter_map(|a| match a {
                Admit::Wait(at) => Some(*at),
                Admit::Send { .. } => None,
            })
            .collect();
        assert_eq!(slots.len(), 15);
        for pair in slots.windows(2) {
            assert_eq!(pair[1] - pair[0], Duration::from_millis(100));
        }
        assert!(slots[0] > now && slots[0] <= now + Duration::from_millis(100));
    }

    #[test]
    fn a_newcomer_queues_behind_the_booked_and_a_booked_delivery_still_takes_a_token() {
        let p = pace(10.0, 1);
        let now = Instant::now();
        assert_eq!(p.admit(&id(0), now, None), Admit::Send { probe: false });
        let Admit::Wait(first) = p.admit(&id(1), now, None) else {
            panic!("no second token at once")
        };
        let Admit::Wait(second) = p.admit(&id(2), now, None) else {
            panic!("the newcomer waits")
        };
        assert!(second > first);
        // Coming back before the limiter has a token does not send: the slot is kept, moved to the token.
        assert!(matches!(p.admit(&id(1), now, None), Admit::Wait(_)));
    }

    #[test]
    fn after_a_pause_one_probe_goes_and_the_rest_wait_for_its_answer() {
        let p = pace(1000.0, 100);
        let now = Instant::now();
        let until = now + Duration::from_secs(2);
        assert_eq!(p.admit(&id(0), now, Some(until)), Admit::Wait(until));
        let after = until + Duration::from_millis(1);
        assert_eq!(p.admit(&id(0), after, None), Admit::Send { probe: true });
        for n in 1..10 {
            assert!(matches!(p.admit(&id(n), after, None), Admit::Wait(_)));
        }
        p.probe_answered();
        let later = after + Duration::from_secs(1);
        assert_eq!(p.admit(&id(1), later, None), Admit::Send { probe: false });
    }

    #[test]
    fn a_probe_that_never_answers_lets_another_probe_after_its_timeout() {
        let p = pace(1000.0, 100);
        let now = Instant::now();
        p.needs_probe();
        assert_eq!(p.admit(&id(0), now, None), Admit::Send { probe: true });
        assert!(matches!(p.admit(&id(1), now, None), Admit::Wait(_)));
        let late = now + Duration::from_secs(31);
        assert_eq!(p.admit(&id(1), late, None), Admit::Send { probe: true });
    }
}
