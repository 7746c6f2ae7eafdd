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
//!
//! A destination may also cap its sends in flight (`max_in_flight`; one at a time for the chat targets): a
//! delivery that finds the cap reached waits for a slot like one without a token, so the first `429` of a
//! storm is answered before the next request goes, and pauses the rest.

use crate::config::Destination;
use governor::clock::{Clock as _, DefaultClock};
use governor::{Quota, RateLimiter};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
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
#[derive(Debug)]
pub(super) enum Admit {
    /// Send now: a token was taken, and a place among the sends in flight, kept until `sending` is dropped.
    /// `probe`: this send is the one that tests the target after a pause.
    Send { probe: bool, sending: Sending },
    /// Not before this instant (the slot booked for it).
    Wait(Instant),
}

/// A send in flight: its place is given back when this is dropped (after its answer was written back, or
/// when it did not go after all).
#[derive(Debug)]
pub(super) struct Sending(Arc<AtomicU32>);

impl Drop for Sending {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
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
    /// The most sends in flight at once (`u32::MAX`: no cap but the workers').
    max_in_flight: u32,
    /// Sends in flight now (each held by a [`Sending`]).
    in_flight: Arc<AtomicU32>,
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
    /// The pace of a configured destination: its `rate_limit` and `max_in_flight`, or its target type's
    /// defaults.
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
            max_in_flight: d
                .max_in_flight
                .or_else(|| d.kind.target().default_in_flight())
                .unwrap_or(u32::MAX)
                .max(1),
            in_flight: Arc::default(),
            state: Mutex::default(),
        }
    }

    /// Takes a place among the sends in flight, when there is one.
    fn start_sending(&self) -> Option<Sending> {
        let mut n = self.in_flight.load(Ordering::Acquire);
        loop {
            if n >= self.max_in_flight {
                return None;
            }
            match self
                .in_flight
                .compare_exchange(n, n + 1, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Some(Sending(self.in_flight.clone())),
                Err(now) => n = now,
            }
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
                let Some(sending) = self.start_sending() else {
                    return Admit::Wait(s.book(delivery, now, self.period));
                };
                return match self.take_token(now) {
                    Ok(()) => {
                        s.booked.remove(delivery);
                        s.probe = Probe::Out { since: now };
                        Admit::Send {
                            probe: true,
                            sending,
                        }
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
        let Some(sending) = self.start_sending() else {
            // As many as it may are in flight: a booked delivery keeps its place, one period on; a newcomer
            // queues behind the booked.
            if booked {
                let at = now + self.period;
                s.booked.insert(delivery.to_owned(), at);
                return Admit::Wait(at);
            }
            return Admit::Wait(s.book(delivery, now, self.period));
        };
        match self.take_token(now) {
            Ok(()) => Admit::Send {
                probe: false,
                sending,
            },
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
        assert!(matches!(
            p.admit(&id(0), now, None),
            Admit::Send { probe: false, .. }
        ));
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
        assert!(matches!(p.admit(&id(0), now, Some(until)), Admit::Wait(at) if at == until));
        let after = until + Duration::from_millis(1);
        assert!(matches!(
            p.admit(&id(0), after, None),
            Admit::Send { probe: true, .. }
        ));
        for n in 1..10 {
            assert!(matches!(p.admit(&id(n), after, None), Admit::Wait(_)));
        }
        p.probe_answered();
        let later = after + Duration::from_secs(1);
        assert!(matches!(
            p.admit(&id(1), later, None),
            Admit::Send { probe: false, .. }
        ));
    }

    #[test]
    fn a_probe_that_never_answers_lets_another_probe_after_its_timeout() {
        let p = pace(1000.0, 100);
        let now = Instant::now();
        p.needs_probe();
        assert!(matches!(
            p.admit(&id(0), now, None),
            Admit::Send { probe: true, .. }
        ));
        assert!(matches!(p.admit(&id(1), now, None), Admit::Wait(_)));
        let late = now + Duration::from_secs(31);
        assert!(matches!(
            p.admit(&id(1), late, None),
            Admit::Send { probe: true, .. }
        ));
    }

    #[test]
    fn a_destination_capped_at_one_in_flight_sends_the_next_once_the_first_is_answered() {
        let d: Destination = serde_norway::from_str(
            "name: t\ntype: webhook\nurl: http://127.0.0.1:9/\nmax_in_flight: 1\nrate_limit: {per_second: 1000, burst: 100}\n",
        )
        .unwrap();
        let p = Pace::new(&d, Duration::from_secs(30));
        let now = Instant::now();
        let Admit::Send { sending, .. } = p.admit(&id(0), now, None) else {
            panic!("the first goes")
        };
        let Admit::Wait(slot) = p.admit(&id(1), now, None) else {
            panic!("a token is there, but one send is in flight")
        };
        assert!(
            matches!(p.admit(&id(1), slot, None), Admit::Wait(_)),
            "still in flight at its slot: it waits another period"
        );
        drop(sending);
        let later = slot + Duration::from_millis(5);
        assert!(matches!(
            p.admit(&id(1), later, None),
            Admit::Send { probe: false, .. }
        ));
    }

    #[test]
    fn chat_targets_send_one_at_a_time_unless_told_otherwise() {
        let discord: Destination = serde_norway::from_str(
            "name: d\ntype: discord\nurl: http://127.0.0.1:9/api/webhooks/1/t\n",
        )
        .unwrap();
        assert_eq!(
            Pace::new(&discord, Duration::from_secs(30)).max_in_flight,
            1
        );
        let wider: Destination = serde_norway::from_str(
            "name: d\ntype: discord\nurl: http://127.0.0.1:9/api/webhooks/1/t\nmax_in_flight: 3\n",
        )
        .unwrap();
        assert_eq!(Pace::new(&wider, Duration::from_secs(30)).max_in_flight, 3);
        let webhook: Destination =
            serde_norway::from_str("name: w\ntype: webhook\nurl: http://127.0.0.1:9/\n").unwrap();
        assert_eq!(
            Pace::new(&webhook, Duration::from_secs(30)).max_in_flight,
            u32::MAX
        );
    }
}
