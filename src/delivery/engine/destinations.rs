//! Each destination at run time, in one structure: its target, retry schedule and pace (rate limit and
//! probe, `pacing.rs`), and whether it is disabled or paused (by a 429 and its `Retry-After`). The database holds the truth of the last two; the engine keeps a copy that it re-reads every
//! few seconds.

use super::Engine;
use super::pacing::Pace;
use crate::config::Destination;
use crate::outbound::Target;
use crate::storage::{DestinationState, StoreError};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// One destination at run time.
pub(super) struct DestinationRuntime {
    pub(super) target: Target,
    pub(super) schedule: Vec<Duration>,
    pub(super) max_attempts: u32,
    pub(super) pace: Pace,
    /// A registered webhook: sent through the SSRF guard.
    pub(super) guarded: bool,
    /// An e-mail destination's SMTP client (every other type speaks HTTP).
    pub(super) mailer: Option<crate::outbound::targets::email::Mailer>,
    /// Sends leased from the rate budget shared by the processes of one database (`shared_budget.rs`).
    pub(super) leased: tokio::sync::Mutex<super::shared_budget::Leased>,
    /// What the service told about where the destination really is, since this process started.
    learned: Mutex<Learned>,
    state: Mutex<LiveState>,
}

/// Whether a destination works now.
#[derive(Debug, Clone)]
pub struct DestinationHealth {
    pub name: String,
    pub disabled: bool,
    pub paused: bool,
}

/// Where a service destination really is, as its service said: the room id a Matrix alias's join named, the
/// chat id a Telegram group got when it became a supergroup. In memory: a restart learns them again.
#[derive(Debug, Default, Clone)]
pub(super) struct Learned {
    pub(super) room: Option<String>,
    pub(super) chat_id: Option<String>,
}

/// Whether a destination may send now (a copy of `destination_state`).
#[derive(Debug, Default)]
struct LiveState {
    /// Why it is disabled, when it is.
    disabled: Option<String>,
    paused_until: Option<DateTime<Utc>>,
}

impl DestinationRuntime {
    /// The destination of a config entry, its target resolved; enabled and not paused until the state is
    /// read. `probe_timeout`: how long a probe after a pause may stay unanswered.
    pub(super) fn new(
        d: &Destination,
        target: Target,
        probe_timeout: Duration,
    ) -> DestinationRuntime {
        let retry = d.retry.clone().unwrap_or_default();
        DestinationRuntime {
            target,
            schedule: retry.schedule,
            max_attempts: retry.max_attempts.max(1),
            pace: Pace::new(d, probe_timeout),
            guarded: false,
            mailer: None,
            leased: tokio::sync::Mutex::default(),
            learned: Mutex::default(),
            state: Mutex::default(),
        }
    }

    /// An e-mail destination gets its SMTP client, waiting `timeout` for each reply of its server.
    pub(super) fn with_mailer(mut self, timeout: Duration) -> DestinationRuntime {
        if self.target.kind == crate::config::DestinationType::Email {
            match crate::outbound::targets::email::Mailer::new(&self.target, timeout) {
                Ok(mailer) => self.mailer = Some(mailer),
                Err(error) => {
                    tracing::error!(message = "An e-mail destination cannot be set up.", destination = %self.target.name, %error)
                }
            }
        }
        self
    }

    /// What the service has told of the destination so far.
    pub(super) fn learned(&self) -> Learned {
        self.learned.lock().expect("learned lock").clone()
    }

    /// Keeps what the service told.
    pub(super) fn learn(&self, change: impl FnOnce(&mut Learned)) {
        change(&mut self.learned.lock().expect("learned lock"));
    }

    /// The target as it stands now: the config's, with what the service told applied.
    pub(super) fn current_target(&self) -> std::borrow::Cow<'_, Target> {
        let learned = self.learned();
        if learned.room.is_none() && learned.chat_id.is_none() {
            return std::borrow::Cow::Borrowed(&self.target);
        }
        let mut target = self.target.clone();
        if let Some(room) = learned.room {
            target.service.room = Some(room);
        }
        if let Some(chat) = learned.chat_id {
            target.service.chat_id = Some(chat);
        }
        std::borrow::Cow::Owned(target)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, LiveState> {
        self.state.lock().expect("destination state lock")
    }

    /// Why the destination is disabled, when it is.
    pub(super) fn disabled(&self) -> Option<String> {
        self.state().disabled.clone()
    }
}

impl Engine {
    /// Re-reads disabled and paused destinations from the store.
    pub async fn refresh_state(&self) -> Result<(), StoreError> {
        let mut states: HashMap<String, DestinationState> = self
            .store
            .destination_states()
            .await?
            .into_iter()
            .map(|s| (s.name.clone(), s))
            .collect();
        for (name, dest) in self.all_destinations() {
            let stored = states.remove(&name).unwrap_or_default();
            let mut state = dest.state();
            state.disabled = stored
                .disabled_at
                .map(|_| stored.disabled_reason.unwrap_or_default());
            state.paused_until = stored.paused_until;
        }
        Ok(())
    }

    /// Whether a destination may be routed to (an unknown name counts as enabled: it has no state).
    pub fn is_enabled(&self, name: &str) -> bool {
        self.destination(name)
            .is_none_or(|d| d.state().disabled.is_none())
    }

    /// Every destination's state now (for `/metrics`).
    pub fn destination_health(&self, now: DateTime<Utc>) -> Vec<DestinationHealth> {
        self.all_destinations()
            .into_iter()
            .map(|(name, d)| DestinationHealth {
                paused: self.pause_until(&d, now).is_some(),
                disabled: d.disabled().is_some(),
                name,
            })
            .collect()
    }

    /// Why a destination (or registered webhook) is disabled, when it is.
    pub fn disabled_reason(&self, name: &str) -> Option<String> {
        self.destination(name).and_then(|d| d.disabled())
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
        if let Some(dest) = self.destination(name) {
            let mut state = dest.state();
            if enabled {
                *state = LiveState::default();
            } else {
                state.disabled = Some(reason.to_owned());
            }
        }
        if enabled {
            // What was routed before the disable and held since goes out now.
            self.store.make_due(name, now).await?;
            self.wake_claimer.notify_one();
        }
        self.tell_state_changed().await;
        Ok(())
    }

    /// Tells the other processes sharing the database that a destination's state changed, so that they read
    /// it at once rather than at their next poll (nothing on SQLite).
    async fn tell_state_changed(&self) {
        if self.store.backend() != "postgres" {
            return;
        }
        let said = self.feed.destinations_announcement();
        if let Err(error) = self.store.announce_routed(&said).await {
            error.log("Telling the other processes of a destination's state failed.");
        }
    }

    /// Until when a destination is paused, by its own pause or one of its whole type.
    pub(super) fn pause_until(
        &self,
        dest: &DestinationRuntime,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let own = dest.state().paused_until.filter(|t| *t > now);
        let type_paused = self.type_paused.lock().expect("type pause lock");
        let global = type_paused
            .get(&dest.target.kind)
            .copied()
            .filter(|t| *t > now);
        own.max(global)
    }

    /// Pauses a destination until `until` (and every destination of its type when `global`); `persist`
    /// keeps the pause across restarts.
    pub(super) async fn pause(
        &self,
        dest: &DestinationRuntime,
        until: DateTime<Utc>,
        global: bool,
        persist: bool,
    ) {
        let name = dest.target.name.as_str();
        if global {
            let mut type_paused = self.type_paused.lock().expect("type pause lock");
            type_paused.insert(dest.target.kind, until);
        }
        dest.state().paused_until = Some(until);
        dest.pace.needs_probe();
        self.hold_shared(dest, name, until).await;
        crate::metrics::rate_limited(name);
        if persist {
            match self.store.set_destination_paused(name, Some(until)).await {
                Ok(()) => self.tell_state_changed().await,
                Err(error) => error.log("Saving a pause failed."),
            }
        }
        tracing::warn!(message = "Destination paused by its rate limit.", destination = name, until = %until, global);
    }
}
