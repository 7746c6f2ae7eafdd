//! The rate-limit buckets a target announces on its answers (Discord's `X-RateLimit-Bucket`, `-Limit`,
//! `-Remaining`, `-Reset-After`), kept per bucket so that destinations whose answers name the same bucket
//! (several webhooks of one channel) share it. A send takes one of what is left before it goes, so the
//! bucket is never asked for more than it has: the wait happens here, before a 429 could.
//!
//! What is left is what the last answer said, less the sends that went out since and are not answered yet;
//! when answers overtake each other, the smaller count wins. A window that has ended is full again; the
//! first answer in it says when it ends. Until a destination's first answer names its bucket, its own rate
//! limit (`pacing.rs`) is all that holds it.

use crate::outbound::targets::BucketSaid;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Answers whose windows end this close together speak of the same window.
const SAME_WINDOW: Duration = Duration::from_millis(250);
/// A little past the announced reset: the target's clock ran a little ahead of ours.
pub(super) const MARGIN: Duration = Duration::from_millis(30);

/// Every bucket seen, and which destination is in which.
#[derive(Default)]
pub(super) struct Buckets {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    bucket_of: HashMap<String, String>,
    buckets: HashMap<String, Bucket>,
}

#[derive(Debug)]
struct Bucket {
    limit: u32,
    /// What may still be sent in this window.
    remaining: u32,
    /// When this window ends (on our clock).
    reset_at: Instant,
    /// How long a window lasts: the longest `Reset-After` seen.
    window: Duration,
    /// Sends taken from this bucket and not answered yet.
    in_flight: u32,
}

impl Buckets {
    /// Takes one send from the bucket of `destination` (`Ok(true)`), or says when the bucket has room
    /// again. A destination whose bucket is not known yet goes (`Ok(false)`).
    pub(super) fn take(&self, destination: &str, now: Instant) -> Result<bool, Instant> {
        let mut s = self.state.lock().expect("bucket lock");
        let Some(key) = s.bucket_of.get(destination).cloned() else {
            return Ok(false);
        };
        let Some(b) = s.buckets.get_mut(&key) else {
            return Ok(false);
        };
        if now >= b.reset_at + MARGIN {
            // A new window, full; its first answer says when it ends.
            b.remaining = b.limit;
            b.reset_at = now + b.window;
        }
        if b.remaining == 0 {
            return Err(b.reset_at + MARGIN);
        }
        b.remaining -= 1;
        b.in_flight += 1;
        Ok(true)
    }

    /// A send taken with [`Buckets::take`] did not go out after all.
    pub(super) fn give_back(&self, destination: &str) {
        let mut s = self.state.lock().expect("bucket lock");
        let Some(key) = s.bucket_of.get(destination).cloned() else {
            return;
        };
        if let Some(b) = s.buckets.get_mut(&key) {
            b.remaining = (b.remaining + 1).min(b.limit);
            b.in_flight = b.in_flight.saturating_sub(1);
        }
    }

    /// What an answer to a send of `destination` said of its bucket (`None`: nothing, or no answer at all).
    /// `counted`: the send was taken from the bucket.
    pub(super) fn answered(
        &self,
        destination: &str,
        said: Option<BucketSaid>,
        counted: bool,
        now: Instant,
    ) {
        if said.is_none() && !counted {
            // Nothing to learn or settle (every target without buckets).
            return;
        }
        let mut s = self.state.lock().expect("bucket lock");
        let known = s.bucket_of.get(destination).cloned();
        if counted && let Some(b) = known.as_ref().and_then(|k| s.buckets.get_mut(k)) {
            b.in_flight = b.in_flight.saturating_sub(1);
        }
        let Some(said) = said else {
            return;
        };
        if known.as_deref() != Some(said.bucket.as_str()) {
            s.bucket_of
                .insert(destination.to_owned(), said.bucket.clone());
        }
        let reset_at = now + said.reset_after;
        let b = s.buckets.entry(said.bucket).or_insert_with(|| Bucket {
            limit: said.limit,
            remaining: said.remaining,
            reset_at,
            window: said.reset_after,
            in_flight: 0,
        });
        b.limit = said.limit.max(1);
        b.window = b.window.max(said.reset_after);
        let left = said.remaining.saturating_sub(b.in_flight);
        if reset_at > b.reset_at + SAME_WINDOW {
            // The target started a window we had not counted on.
            b.reset_at = reset_at;
            b.remaining = left;
        } else {
            // The same window: answers may come out of order; the smaller count wins, and the window's end is
            // the target's.
            b.reset_at = reset_at;
            b.remaining = b.remaining.min(left);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn said(bucket: &str, remaining: u32, reset_after_ms: u64) -> Option<BucketSaid> {
        Some(BucketSaid {
            bucket: bucket.into(),
            limit: 5,
            remaining,
            reset_after: Duration::from_millis(reset_after_ms),
        })
    }

    #[test]
    fn a_known_bucket_is_never_asked_for_more_than_it_has() {
        let b = Buckets::default();
        let t0 = Instant::now();
        assert_eq!(b.take("a", t0), Ok(false), "unknown: goes, uncounted");
        b.answered("a", said("B", 4, 2000), false, t0);
        for _ in 0..4 {
            assert!(b.take("a", t0).is_ok());
        }
        let wait = b.take("a", t0).unwrap_err();
        assert!(wait >= t0 + Duration::from_millis(2000), "until the reset");
        // Answers out of order: the larger count does not give back what was spent.
        b.answered("a", said("B", 1, 1900), true, t0);
        b.answered("a", said("B", 3, 1900), true, t0);
        assert!(b.take("a", t0).is_err());
        // After the reset the window is full again.
        let later = t0 + Duration::from_millis(2100);
        for _ in 0..5 {
            assert!(b.take("a", later).is_ok());
        }
        assert!(b.take("a", later).is_err());
    }

    #[test]
    fn destinations_in_one_bucket_share_it() {
        let b = Buckets::default();
        let t0 = Instant::now();
        b.answered("one", said("channel", 2, 2000), false, t0);
        b.answered("two", said("channel", 1, 2000), false, t0);
        assert!(b.take("one", t0).is_ok());
        assert!(b.take("two", t0).is_err(), "the one left went to `one`");
        b.give_back("one");
        assert!(b.take("two", t0).is_ok(), "given back");
    }
}
