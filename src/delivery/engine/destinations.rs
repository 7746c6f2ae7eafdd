//! The destination runtime: each destination's target, retry schedule and rate limiter, and whether it is
//! disabled or paused (by a 429, `Retry-After`, or Discord's bucket headers). The database holds the truth;
//! the engine keeps a copy that it re-reads every few seconds.

use super::{Engine, Limiter};
use crate::config::{Destination, DestinationType};
use crate::delivery::send::Sent;
use crate::outbound::Target;
use crate::storage::StoreError;
use chrono::{DateTime, Utc};
use governor::{Quota, RateLimiter};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::time::Duration;

/// One destination at run time.
pub(super) struct Dest {
    pub(super) target: Target,
    pub(super) schedule: Vec<Duration>,
    pub(super) max_attempts: u32,
    pub(super) limiter: Limiter,
}

/// In-memory view of destination state (the database holds the truth; it is re-read periodically).
#[derive(Default)]
pub(super) struct Runtime {
    pub(super) disabled: HashMap<String, String>,
    pub(super) paused: HashMap<String, DateTime<Utc>>,
    /// Pauses of every destination of a type (a Discord `global` 429).
    pub(super) type_paused: HashMap<DestinationType, DateTime<Utc>>,
}

pub(super) fn limiter(d: &Destination) -> Limiter {
    let (period, burst) = match &d.rate_limit {
        Some(r) => (
            Duration::from_secs_f64(1.0 / r.per_second.max(1e-6)),
            r.burst.max(1),
        ),
        None => d.kind.target().default_rate(),
    };
    let quota = Quota::with_period(period.max(Duration::from_nanos(1)))
        .expect("a positive period")
        .allow_burst(NonZeroU32::new(burst).expect("burst ≥ 1"));
    RateLimiter::direct(quota)
}

impl Engine {
    /// Re-reads disabled and paused destinations from the store.
    pub async fn refresh_state(&self) -> Result<(), StoreError> {
        let states = self.store.destination_states().await?;
        let mut rt = self.runtime.lock().expect("runtime lock");
        rt.disabled = states
            .iter()
            .filter(|s| s.disabled_at.is_some())
            .map(|s| {
                (
                    s.name.clone(),
                    s.disabled_reason.clone().unwrap_or_default(),
                )
            })
            .collect();
        rt.paused = states
            .iter()
            .filter_map(|s| Some((s.name.clone(), s.paused_until?)))
            .collect();
        Ok(())
    }

    pub fn is_enabled(&self, name: &str) -> bool {
        !self
            .runtime
            .lock()
            .expect("runtime lock")
            .disabled
            .contains_key(name)
    }

    /// Disables or re-enables a destination (API and automatic disabling); re-enabling makes its waiting
    /// deliveries due at once.
    pub async fn set_enabled(
        &self,
        name: &str,
        enabled: bool,
        reason: &str,
    ) -> Result<(), StoreError> {
        let now = Utc::now();
        self.store
            .set_destination_disabled(name, (!enabled).then_some((reason, now)))
            .await?;
        {
            let mut rt = self.runtime.lock().expect("runtime lock");
            if enabled {
                rt.disabled.remove(name);
                rt.paused.remove(name);
            } else {
                rt.disabled.insert(name.to_owned(), reason.to_owned());
            }
        }
        if enabled {
            // What was routed before the disable and held since goes out now.
            self.store.make_due(name, now).await?;
            self.wake_claimer.notify_one();
        }
        Ok(())
    }

    pub(super) fn pause_until(
        &self,
        name: &str,
        kind: DestinationType,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let rt = self.runtime.lock().expect("runtime lock");
        let own = rt.paused.get(name).copied().filter(|t| *t > now);
        let global = rt.type_paused.get(&kind).copied().filter(|t| *t > now);
        own.max(global)
    }

    pub(super) async fn pause(
        &self,
        name: &str,
        kind: DestinationType,
        until: DateTime<Utc>,
        global: bool,
        persist: bool,
    ) {
        {
            let mut rt = self.runtime.lock().expect("runtime lock");
            if global {
                rt.type_paused.insert(kind, until);
            }
            rt.paused.insert(name.to_owned(), until);
        }
        if persist && let Err(error) = self.store.set_destination_paused(name, Some(until)).await {
            tracing::warn!(message = "Saving a pause failed.", destination = name, %error);
        }
        tracing::info!(message = "Destination paused by its rate limit.", destination = name, until = %until, global);
    }

    /// A target's proactive limit headers (Discord's `X-RateLimit-*`): when a bucket is spent, wait for its
    /// reset.
    pub(super) async fn after_headers(
        &self,
        name: &str,
        kind: DestinationType,
        sent: &Sent,
        now: DateTime<Utc>,
    ) {
        if sent.status == Some(429) {
            return;
        }
        if let Some(after) = kind.target().bucket_spent(&sent.headers) {
            let until = now + chrono::Duration::from_std(after).unwrap_or_default();
            self.pause(name, kind, until, false, false).await;
        }
    }
}
