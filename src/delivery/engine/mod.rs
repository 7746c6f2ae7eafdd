//! The delivery engine: a router that turns outbox rows into deliveries, a claimer that leases due
//! deliveries in batches, apalis workers that send them, and a finisher that writes results back in batches.
//! Its rooms: `workers` (those loops), `attempt` (one delivery up to its `Outcome`), `record` (that outcome
//! written back, with its consequences), `destinations` (each destination's pause and enabled state),
//! `pacing` (its rate limit, and the probe after a pause), `groups` (season packs and digests), `messages`
//! (message edits), `at_ingest` (an event routed as it is stored, its deliveries handed straight to
//! the workers), `stories` (the storyteller: routed events joined into their titles' stories, and
//! a story's message), `alerts` (hookarr's own events) and `manual` (the queue run by hand, for tests). This file holds the engine's state and its start-up.
//!
//! The queue is hookarr's own `deliveries` table, fed to apalis through
//! [`ClaimBackend`](super::backend::ClaimBackend) (an apalis `Backend`): claiming is one indexed
//! `UPDATE … RETURNING` over due pending rows, a lease is simply `next_attempt_at` pushed forward (a killed
//! process's deliveries fall due again by themselves), and a retry is `next_attempt_at` set to its backoff —
//! durable, and never a full-table scan.

use crate::config::Config;
use crate::event::{Event, EventData, EventId, EventKind, SourceInfo};
use crate::outbound::Templates;
use crate::outbound::address_guard::{AddressGuard, Lookup};
use crate::storage::{Claimed, DeliveryResult, Store, StoreError};
use chrono::Utc;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, OwnedSemaphorePermit, mpsc};
use tokio_util::sync::CancellationToken;

mod alerts;
mod answered;
mod at_ingest;
mod attempt;
mod buckets;
mod configured;
mod destinations;
mod finisher;
mod groups;
mod manual;
mod messages;
mod mqtt;
mod openers;
mod pacing;
mod record;
mod registered;
mod shared_budget;
mod stories;
mod workers;

pub use at_ingest::RoutedEvent;
pub use configured::{ConfigSource, ConfiguredDestination, Origin, targets};
pub use destinations::DestinationHealth;
use destinations::DestinationRuntime;
pub use registered::{WEBHOOK_ID_PREFIX, destination_of};
pub use stories::StorySettings;

/// How often idle loops look for work that no local wake-up announced (retries falling due, other processes).
const POLL: Duration = Duration::from_millis(500);

/// Everything a delivery worker needs.
pub struct Engine {
    store: Arc<dyn Store>,
    /// The templates in force (replaced when the configuration changes).
    templates: std::sync::RwLock<Arc<Templates>>,
    /// The configuration's destinations with their routing rules and runtimes (`configured.rs`; registered
    /// webhooks add theirs in `registered`).
    configured: std::sync::RwLock<Arc<configured::Configured>>,
    /// Where the configuration comes from, asked to catch up when a delivery names an unknown destination.
    config_source: std::sync::OnceLock<Arc<dyn ConfigSource>>,
    /// Webhooks registered through the API, and the routing table with their rules.
    registered: std::sync::RwLock<registered::Registered>,
    client: reqwest::Client,
    /// The client of registered webhooks: its resolver refuses restricted addresses (the SSRF guard).
    guarded_client: reqwest::Client,
    /// The SSRF guard of registered webhooks (`api.allow_private_targets`).
    guard: AddressGuard,
    /// hookarr's own mock receivers, which a webhook may name whatever the guard says (set once the
    /// listener's address is known).
    own_mocks: std::sync::OnceLock<crate::outbound::own_mocks::OwnMocks>,
    /// Threads whose opening message is on its way (a grab's): their edits wait for it.
    openers: openers::Openers,
    workers: usize,
    /// The worker slots, and what routing at ingest needs to hand deliveries straight to the workers.
    handoff: at_ingest::Handoff,
    /// How long a send may take (`delivery.timeout_secs`).
    timeout: Duration,
    max_response_bytes: usize,
    /// How long a claimed delivery stays leased to this process: longer than an attempt can take (two sends
    /// with the rich-message fallback), so a live worker never loses its lease.
    lease: Duration,
    owner: String,
    /// The rate-limit buckets targets announce (Discord's), shared by the destinations in each.
    buckets: buckets::Buckets,
    /// Pauses of every destination of a type (a Discord `global` 429).
    type_paused: Mutex<HashMap<crate::config::DestinationType, chrono::DateTime<Utc>>>,
    wake_router: Notify,
    /// `stories:` and `people:` in force.
    story_settings: std::sync::RwLock<Arc<StorySettings>>,
    /// Wakes the storyteller: routed events wait in its queue.
    wake_stories: Notify,
    /// Routed events for live followers (SSE).
    feed: crate::feed::Feed,
    wake_claimer: Notify,
    /// The earliest slot a delivery put back by its rate limit was booked for: the claimer wakes for it.
    claim_wake: Mutex<Option<Instant>>,
    finish_tx: mpsc::UnboundedSender<DeliveryResult>,
    finish_rx: Mutex<Option<mpsc::UnboundedReceiver<DeliveryResult>>>,
    /// Where results are noted before they commit (a sole process on SQLite), until the finisher takes it.
    answered: Mutex<Option<answered::AnsweredJournal>>,
    /// Cancelled once every worker has stopped: the finisher then writes what is queued and ends.
    workers_done: CancellationToken,
    running: std::sync::atomic::AtomicBool,
    /// `mqtt:` as it was at start (a change takes a restart).
    mqtt_settings: Option<crate::config::Mqtt>,
    /// The broker connection, once `serve` started it (`mqtt.rs`).
    mqtt: std::sync::OnceLock<Arc<crate::mqtt::MqttHub>>,
    /// Home Assistant's quiet-hours switch: on since then, holding what people are sent.
    quiet_switch: std::sync::RwLock<Option<chrono::DateTime<Utc>>>,
}

/// One claimed delivery on its way through an apalis worker; the permit is its worker slot.
pub struct DeliveryJob {
    claimed: Claimed,
    /// Deliveries of the same group claimed in the same batch: they go out in this job's message.
    members: Vec<Claimed>,
    _permit: OwnedSemaphorePermit,
    /// The thread this delivery opens, marked in flight from its claim to the end of its attempt.
    _opening: Option<openers::Opening>,
}

/// A shared HTTP client: rustls, no redirects, `hookarr/<version>`, the configured timeout; registered
/// webhooks' client resolves through the SSRF guard.
fn http_client(timeout: Duration, workers: usize, guard: Option<&AddressGuard>) -> reqwest::Client {
    let builder = reqwest::Client::builder()
        .user_agent(concat!("hookarr/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .pool_max_idle_per_host(workers);
    let builder = match guard {
        Some(guard) => builder.dns_resolver(guard.resolver()),
        None => builder,
    };
    builder.build().expect("the TLS back-end initializes")
}

impl Engine {
    pub async fn new(
        cfg: &Config,
        store: Arc<dyn Store>,
        templates: Arc<Templates>,
    ) -> Result<Arc<Engine>, StoreError> {
        let workers = cfg.delivery.workers.max(1) as usize;
        let timeout = Duration::from_secs(cfg.delivery.timeout_secs.max(1));
        // Longer than an attempt can take (two sends with the rich-message fallback): a live worker never
        // loses its lease, and a probe unanswered for as long has died with its attempt.
        let lease = 2 * timeout + Duration::from_secs(10);
        let (finish_tx, finish_rx) = mpsc::unbounded_channel();
        let owner = crate::event::new_prefixed_id("wrk");
        let guard = AddressGuard::new(
            cfg.api.allow_private_targets,
            Lookup::new(cfg.api.resolve.clone()),
        );
        let engine = Arc::new(Engine {
            store,
            templates: std::sync::RwLock::new(templates),
            configured: Default::default(),
            config_source: std::sync::OnceLock::new(),
            registered: Default::default(),
            client: http_client(timeout, workers, None),
            guarded_client: http_client(timeout, workers, Some(&guard)),
            guard,
            own_mocks: std::sync::OnceLock::new(),
            openers: Default::default(),
            workers,
            handoff: at_ingest::Handoff::new(workers),
            timeout,
            max_response_bytes: cfg.delivery.max_response_bytes,
            lease,
            owner: owner.clone(),
            buckets: Default::default(),
            type_paused: Mutex::default(),
            wake_router: Notify::new(),
            story_settings: std::sync::RwLock::new(Arc::new(StorySettings {
                stories: cfg.stories.clone(),
                people: Arc::new(cfg.people.clone()),
            })),
            wake_stories: Notify::new(),
            feed: crate::feed::Feed::new(&owner),
            wake_claimer: Notify::new(),
            claim_wake: Mutex::default(),
            finish_tx,
            finish_rx: Mutex::new(Some(finish_rx)),
            answered: Mutex::default(),
            workers_done: CancellationToken::new(),
            running: Default::default(),
            mqtt_settings: cfg.mqtt.clone(),
            mqtt: std::sync::OnceLock::new(),
            quiet_switch: std::sync::RwLock::new(None),
        });
        let file = ConfiguredDestination::from_file(&cfg.destinations);
        engine.apply_destinations(file, None).await?;
        engine.reload_webhooks().await?;
        engine.refresh_state().await?;
        Ok(engine)
    }

    /// Makes every leased delivery due again: a `serve` start-up step, for a process that has the database to
    /// itself (the SQLite serve lock), where every lease belongs to a run that has stopped. Never for one-shot
    /// commands beside a live `serve`, whose in-flight deliveries would go out twice.
    pub async fn requeue_abandoned(&self) -> Result<u64, StoreError> {
        let released = self.store.release_leases(Utc::now()).await?;
        if released > 0 {
            tracing::info!(
                message = "Re-queued deliveries a stopped run had claimed.",
                released
            );
        }
        Ok(released)
    }

    /// Called after an ingest commits: route it now rather than at the next poll.
    pub fn notify_ingest(&self) {
        self.wake_router.notify_one();
    }

    /// The live feed of routed events.
    pub fn feed(&self) -> &crate::feed::Feed {
        &self.feed
    }

    /// The SSRF guard registered webhooks are checked with.
    pub fn address_guard(&self) -> &AddressGuard {
        &self.guard
    }

    /// Tells the engine hookarr's own address (`server.public_url`) and its listener's, so that webhooks may
    /// name hookarr's own mock receivers.
    pub fn know_own_address(&self, public_url: &str, listen: std::net::SocketAddr) {
        let _ = self
            .own_mocks
            .set(crate::outbound::own_mocks::OwnMocks::new(
                public_url, listen,
            ));
    }

    /// Where to reach `url` when it is one of hookarr's own mocks (over loopback), else `None`.
    pub(crate) fn own_mock(&self, url: &str) -> Option<String> {
        self.own_mocks.get()?.local_url(url)
    }

    /// Checks a URL a user gives for a webhook: hookarr's own mock receivers always pass; anything else
    /// goes through the SSRF guard.
    pub async fn check_webhook_url(
        &self,
        raw: &str,
    ) -> Result<url::Url, crate::outbound::address_guard::Refusal> {
        if self.own_mock(raw).is_some()
            && let Ok(url) = url::Url::parse(raw)
        {
            return Ok(url);
        }
        self.guard.check_url(raw).await
    }

    /// Has the claimer look for due deliveries at `at` (a booked slot), unless it already wakes sooner.
    pub(super) fn wake_claimer_at(&self, at: Instant) {
        let mut wake = self.claim_wake.lock().expect("claim wake lock");
        if wake.is_none_or(|w| at < w) {
            *wake = Some(at);
            drop(wake);
            self.wake_claimer.notify_one();
        }
    }

    /// When the idle claimer looks again: at the earliest booked slot (clearing it once reached), or after
    /// the poll interval.
    pub(super) fn claimer_wakes_at(&self, now: Instant) -> Instant {
        let mut wake = self.claim_wake.lock().expect("claim wake lock");
        match *wake {
            Some(at) if at <= now => {
                *wake = None;
                now
            }
            // A little after the slot, so that its row is due by the database's clock too.
            Some(at) => (at + Duration::from_millis(2)).min(now + POLL),
            None => now + POLL,
        }
    }

    pub(super) fn finish(&self, f: DeliveryResult) {
        // The finisher lives as long as the engine runs; a send fails only after shutdown finished.
        let _ = self.finish_tx.send(f);
    }
}

/// The `test` event hookarr sends itself (`send-test`, test buttons).
pub fn test_event() -> Event {
    Event {
        id: EventId::new(),
        event: EventKind::Test,
        timestamp: Utc::now(),
        source: SourceInfo {
            name: "hookarr".into(),
            app: "hookarr".into(),
            event: "Test".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
            ..Default::default()
        },
        summary: "Test message from hookarr: this destination works.".into(),
        data: EventData::default(),
    }
}
