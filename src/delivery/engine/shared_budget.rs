//! A destination's rate limit across processes: on PostgreSQL, where several processes share the queue, each
//! send the local pace admitted also needs one from the destination's budget in the database
//! ([`crate::storage::RateBudgets`]), so N processes never send more than the limit between them. A process
//! leases one send at a time for a slow limit (≤ 50/s: the limit holds within one) and up to 20 ms' worth
//! for a fast one (at most 1,000), one lease at a time, used within 20 ms or dropped (sending less, never more: a fast limit holds
//! within one lease).
//!
//! What one process learns of the target's own limits holds the budget for all: a `429`'s pause and a Discord
//! bucket found spent push the budget past their end, so no process sends before it (a process that has not
//! heard of the pause yet finds no send to lease).

use super::Engine;
use super::attempt::Hold;
use super::destinations::DestinationRuntime;
use crate::storage::{Lease, StoreError};
use chrono::{DateTime, Utc};
use std::time::{Duration, Instant};

/// How much of a fast limit one lease covers.
const LEASE_SPAN: Duration = Duration::from_millis(20);
/// The most sends one lease takes.
const LEASE_MAX: u32 = 1000;

/// Sends leased and not yet used, and until when they may be.
#[derive(Debug, Default)]
pub(super) struct Leased {
    sends: u32,
    until: Option<Instant>,
}

impl Engine {
    /// One send from the shared budget of `name` (nothing to do on SQLite, which one process serves), or the
    /// hold until the budget has one.
    pub(super) async fn shared_send(
        &self,
        dest: &DestinationRuntime,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<(), Hold> {
        if self.store.backend() != "postgres" {
            return Ok(());
        }
        // One lease at a time per destination in a process: the workers that find no send left wait for it
        // (a herd of them would queue on the budget's row lock, and with other processes).
        let mut leased = dest.leased.lock().await;
        let clock = Instant::now();
        if leased.sends > 0 && leased.until.is_some_and(|u| u > clock) {
            leased.sends -= 1;
            return Ok(());
        }
        let period = dest.pace.period();
        let want = lease_size(period);
        let period_us = i64::try_from(period.as_micros()).unwrap_or(i64::MAX).max(1);
        let now_us = now.timestamp_micros();
        let lease = self
            .store
            .lease_sends(name, want, period_us, dest.pace.burst(), now_us)
            .await;
        match lease {
            Ok(Lease::Granted(n)) => {
                leased.sends = n - 1;
                leased.until = Some(clock + LEASE_SPAN.max(period * n));
                Ok(())
            }
            Ok(Lease::WaitMicros(us)) => {
                let wait = Duration::from_micros(u64::try_from(us).unwrap_or(0));
                self.wake_claimer_at(clock + wait);
                Err(Hold {
                    until: now + chrono::Duration::from_std(wait).unwrap_or_default(),
                    note: None,
                })
            }
            Err(error) => Err(self.budget_unread(error, now)),
        }
    }

    /// No process sends to `name` before `until` (nothing to do on SQLite: the pause and buckets in memory
    /// serve its one process).
    pub(super) async fn hold_shared(
        &self,
        dest: &DestinationRuntime,
        name: &str,
        until: DateTime<Utc>,
    ) {
        if self.store.backend() != "postgres" {
            return;
        }
        let period_us = i64::try_from(dest.pace.period().as_micros())
            .unwrap_or(i64::MAX)
            .max(1);
        let held = self
            .store
            .hold_sends(name, until.timestamp_micros(), period_us, dest.pace.burst())
            .await;
        if let Err(error) = held {
            error.log("Holding a destination's shared rate budget failed.");
        }
        // Sends leased before the hold are not used.
        *dest.leased.lock().await = Leased::default();
    }

    /// The budget could not be read: the send waits a second rather than risk the limit.
    fn budget_unread(&self, error: StoreError, now: DateTime<Utc>) -> Hold {
        error.log("Reading a destination's shared rate budget failed; the send waits.");
        self.wake_claimer_at(Instant::now() + Duration::from_secs(1));
        Hold {
            until: now + chrono::Duration::seconds(1),
            note: None,
        }
    }
}

/// How many sends one lease asks for: one for a limit of 50/s or slower, else 20 ms' worth (at most 1,000).
fn lease_size(period: Duration) -> u32 {
    let n = LEASE_SPAN.as_nanos() / period.as_nanos().max(1);
    u32::try_from(n).unwrap_or(LEASE_MAX).clamp(1, LEASE_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_limits_lease_one_send_and_fast_ones_a_few() {
        assert_eq!(lease_size(Duration::from_millis(400)), 1, "Discord's 2.5/s");
        assert_eq!(lease_size(Duration::from_millis(20)), 1, "50/s");
        assert_eq!(lease_size(Duration::from_millis(5)), 4, "200/s");
        assert_eq!(lease_size(Duration::from_micros(10)), LEASE_MAX);
    }
}
