//! The delivery engine: a router that turns outbox rows into deliveries, a claimer that leases due
//! deliveries in batches, apalis workers that send them, and a finisher that writes results back in batches.
//!
//! The queue is hookarr's own `deliveries` table, fed to apalis through [`ClaimBackend`] (an apalis
//! `Backend`): claiming is one indexed `UPDATE … RETURNING` over due pending rows, a lease is simply
//! `next_attempt_at` pushed forward (a killed process's deliveries fall due again by themselves), and a retry
//! is `next_attempt_at` set to its backoff — durable, and never a full-table scan.

use super::backend::ClaimBackend;
use super::policy::{self, Verdict};
use super::route::Router;
use super::send::{Sent, send};
use crate::config::{Config, Destination, DestinationType};
use crate::event::{Event, EventData, EventId, EventKind, Health, SourceInfo};
use crate::outbound::{self, Target, Templates};
use crate::storage::{
    AttemptRow, Claimed, DeliveryStatus, Finish, Ingest, RawRequest, Store, StoreError,
};
use apalis::prelude::*;
use chrono::{DateTime, Utc};
use governor::{Quota, RateLimiter, clock::Clock as _};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

type Limiter = RateLimiter<
    governor::state::NotKeyed,
    governor::state::InMemoryState,
    governor::clock::DefaultClock,
>;

/// How often idle loops look for work that no local wake-up announced (retries falling due, other processes).
const POLL: Duration = Duration::from_millis(500);
/// A rate-limit wait shorter than this is slept in the worker; a longer one puts the delivery back.
const SHORT_WAIT: Duration = Duration::from_millis(250);

/// One destination at run time.
struct Dest {
    target: Target,
    schedule: Vec<Duration>,
    max_attempts: u32,
    limiter: Limiter,
}

/// In-memory view of destination state (the database holds the truth; it is re-read periodically).
#[derive(Default)]
struct Runtime {
    disabled: HashMap<String, String>,
    paused: HashMap<String, DateTime<Utc>>,
    discord_paused: Option<DateTime<Utc>>,
}

/// Everything a delivery worker needs.
pub struct Engine {
    store: Arc<dyn Store>,
    templates: Arc<Templates>,
    router: Router,
    dests: HashMap<String, Dest>,
    client: reqwest::Client,
    workers: usize,
    max_response_bytes: usize,
    /// How long a claimed delivery stays leased to this process: longer than an attempt can take (two sends
    /// with the rich-message fallback), so a live worker never loses its lease.
    lease: Duration,
    owner: String,
    runtime: Mutex<Runtime>,
    wake_router: Notify,
    wake_claimer: Notify,
    finish_tx: mpsc::UnboundedSender<Finish>,
    finish_rx: Mutex<Option<mpsc::UnboundedReceiver<Finish>>>,
    /// Cancelled once every worker has stopped: the finisher then writes what is queued and ends.
    workers_done: CancellationToken,
    running: std::sync::atomic::AtomicBool,
}

/// One claimed delivery on its way through an apalis worker; the permit is its worker slot.
pub struct Job {
    claimed: Claimed,
    /// Deliveries of the same group claimed in the same batch: they go out in this job's message.
    members: Vec<Claimed>,
    _permit: OwnedSemaphorePermit,
}

/// The default rate of a destination type (CONTRACT §5): `(period per token, burst)`.
fn default_rate(kind: DestinationType) -> (Duration, u32) {
    match kind {
        DestinationType::Discord => (Duration::from_millis(400), 5),
        DestinationType::Slack => (Duration::from_secs(1), 3),
        DestinationType::HomeAssistant => (Duration::from_millis(50), 20),
        DestinationType::Webhook => (Duration::from_millis(20), 50),
    }
}

fn limiter(d: &Destination) -> Limiter {
    let (period, burst) = match &d.rate_limit {
        Some(r) => (
            Duration::from_secs_f64(1.0 / r.per_second.max(1e-6)),
            r.burst.max(1),
        ),
        None => default_rate(d.kind),
    };
    let quota = Quota::with_period(period.max(Duration::from_nanos(1)))
        .expect("a positive period")
        .allow_burst(NonZeroU32::new(burst).expect("burst ≥ 1"));
    RateLimiter::direct(quota)
}

/// The shared HTTP client: rustls, no redirects, `hookarr/<version>`, the configured timeout.
fn http_client(timeout: Duration, workers: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("hookarr/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .pool_max_idle_per_host(workers)
        .build()
        .expect("the TLS back-end initializes")
}

/// Resolves the config's destinations into send targets (generating and storing a webhook secret where the
/// config names none).
pub async fn targets(cfg: &Config, store: &dyn Store) -> anyhow::Result<Vec<Target>> {
    let mut out = Vec::new();
    for d in &cfg.destinations {
        let generated = if d.kind == DestinationType::Webhook
            && d.secret.is_none()
            && d.signing.unwrap_or_default() != crate::config::Signing::None
        {
            Some(
                store
                    .destination_secret(&d.name, &outbound::signing::new_whsec())
                    .await?,
            )
        } else {
            None
        };
        out.push(Target::from_config(d, generated));
    }
    Ok(out)
}

impl Engine {
    pub async fn new(
        cfg: &Config,
        store: Arc<dyn Store>,
        templates: Arc<Templates>,
    ) -> anyhow::Result<Arc<Engine>> {
        let targets = targets(cfg, store.as_ref()).await?;
        let workers = cfg.delivery.workers.max(1) as usize;
        let dests = cfg
            .destinations
            .iter()
            .zip(targets)
            .map(|(d, target)| {
                let retry = d.retry.clone().unwrap_or_default();
                (
                    d.name.clone(),
                    Dest {
                        target,
                        schedule: retry.schedule,
                        max_attempts: retry.max_attempts.max(1),
                        limiter: limiter(d),
                    },
                )
            })
            .collect();
        let (finish_tx, finish_rx) = mpsc::unbounded_channel();
        let engine = Arc::new(Engine {
            store,
            templates,
            router: Router {
                rules: cfg
                    .destinations
                    .iter()
                    .map(super::route::Rule::new)
                    .collect(),
            },
            dests,
            client: http_client(
                Duration::from_secs(cfg.delivery.timeout_secs.max(1)),
                workers,
            ),
            workers,
            max_response_bytes: cfg.delivery.max_response_bytes,
            lease: Duration::from_secs(2 * cfg.delivery.timeout_secs.max(1) + 10),
            owner: crate::event::new_prefixed_id("wrk"),
            runtime: Mutex::new(Runtime::default()),
            wake_router: Notify::new(),
            wake_claimer: Notify::new(),
            finish_tx,
            finish_rx: Mutex::new(Some(finish_rx)),
            workers_done: CancellationToken::new(),
            running: Default::default(),
        });
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

    pub fn destination_names(&self) -> impl Iterator<Item = &str> {
        self.router.rules.iter().map(|r| r.destination.as_str())
    }

    pub fn target(&self, name: &str) -> Option<&Target> {
        self.dests.get(name).map(|d| &d.target)
    }

    pub fn templates(&self) -> &Templates {
        &self.templates
    }

    pub fn router(&self) -> &Router {
        &self.router
    }

    /// Re-reads disabled and paused destinations from the store.
    pub async fn refresh_state(&self) -> anyhow::Result<()> {
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
    pub async fn set_enabled(&self, name: &str, enabled: bool, reason: &str) -> anyhow::Result<()> {
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

    /// Starts the engine on the runtime; it runs until `shutdown` (see [`Engine::run`]).
    pub fn start(self: &Arc<Self>, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
        self.running
            .store(true, std::sync::atomic::Ordering::SeqCst);
        tokio::spawn(self.clone().run(shutdown))
    }

    /// Whether the delivery workers run (for `/readyz`).
    pub fn is_running(&self) -> bool {
        self.running.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Runs router, claimer, apalis workers and finisher until `shutdown`; then lets in-flight sends finish
    /// and writes their results, so nothing is left leased.
    async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let finish_rx = self
            .finish_rx
            .lock()
            .expect("finish lock")
            .take()
            .expect("run once");
        let finisher = tokio::spawn(self.clone().finish_loop(finish_rx));
        let router = tokio::spawn(self.clone().route_loop(shutdown.clone()));
        let (job_tx, job_rx) = mpsc::channel(self.workers);
        let claimer = tokio::spawn(self.clone().claim_loop(job_tx, shutdown.clone()));
        let worker = WorkerBuilder::new(format!("hookarr-delivery-{}", self.owner))
            .backend(ClaimBackend { rx: job_rx })
            .data(self.clone())
            .build(deliver);
        // The worker ends when the claimer closes the channel and every started job has finished.
        if let Err(error) = worker.run().await {
            tracing::error!(message = "Delivery worker stopped.", %error);
        }
        let _ = claimer.await;
        let _ = router.await;
        // Workers are done, so every result is queued; the finisher writes them and stops.
        self.workers_done.cancel();
        let _ = finisher.await;
        self.running
            .store(false, std::sync::atomic::Ordering::SeqCst);
    }

    async fn route_loop(self: Arc<Self>, shutdown: CancellationToken) {
        let mut last_refresh = Instant::now();
        loop {
            let enabled = |name: &str| self.is_enabled(name);
            let route = |e: &Event| self.router.route(e, &enabled);
            match self.store.route_outbox(500, &route).await {
                Ok(0) => {}
                Ok(_) => {
                    self.wake_claimer.notify_one();
                    continue;
                }
                Err(error) => tracing::warn!(message = "Routing failed; retrying.", %error),
            }
            if last_refresh.elapsed() > Duration::from_secs(5) {
                last_refresh = Instant::now();
                if let Err(error) = self.refresh_state().await {
                    tracing::warn!(message = "Reading destination state failed.", %error);
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.wake_router.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    }

    async fn claim_loop(self: Arc<Self>, jobs: mpsc::Sender<Job>, shutdown: CancellationToken) {
        let slots = Arc::new(Semaphore::new(self.workers));
        // With a backlog, claim only once half the workers are free: one claim (one write) then serves many
        // deliveries. Without one, claim as soon as any worker is free, for latency.
        let mut backlog = false;
        loop {
            let want = if backlog {
                (self.workers / 2).max(1)
            } else {
                1
            };
            let mut batch = tokio::select! {
                _ = shutdown.cancelled() => return,
                p = slots.clone().acquire_many_owned(want as u32) => p.expect("never closed"),
            };
            while let Ok(p) = slots.clone().try_acquire_owned() {
                batch.merge(p);
            }
            let mut permits: Vec<OwnedSemaphorePermit> = (0..batch.num_permits())
                .filter_map(|_| batch.split(1))
                .collect();
            drop(batch);
            let now = Utc::now();
            let lease = now + chrono::Duration::from_std(self.lease).expect("small");
            let claimed = match self
                .store
                .claim_due(&self.owner, now, lease, permits.len() as u32)
                .await
            {
                Ok(c) => c,
                Err(error) => {
                    tracing::warn!(message = "Claiming deliveries failed; retrying.", %error);
                    Vec::new()
                }
            };
            let full = claimed.len() == permits.len();
            backlog = full;
            // Rows of one group claimed together travel as one job (one message).
            let mut batch_jobs: Vec<Job> = Vec::with_capacity(claimed.len());
            let mut groups: HashMap<(String, String), usize> = HashMap::new();
            for c in claimed {
                if let Some(key) = &c.group_key {
                    match groups.entry((c.destination.clone(), key.clone())) {
                        std::collections::hash_map::Entry::Occupied(e) => {
                            batch_jobs[*e.get()].members.push(c);
                            continue;
                        }
                        std::collections::hash_map::Entry::Vacant(e) => {
                            e.insert(batch_jobs.len());
                        }
                    }
                }
                let permit = permits.pop().expect("one permit per claimed row");
                batch_jobs.push(Job {
                    claimed: c,
                    members: Vec::new(),
                    _permit: permit,
                });
            }
            for job in batch_jobs {
                if jobs.send(job).await.is_err() {
                    return;
                }
            }
            drop(permits);
            if !full {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = self.wake_claimer.notified() => {}
                    _ = tokio::time::sleep(POLL) => {}
                }
            }
        }
    }

    async fn finish_loop(self: Arc<Self>, mut rx: mpsc::UnboundedReceiver<Finish>) {
        let mut batch = Vec::with_capacity(256);
        loop {
            let received = tokio::select! {
                n = rx.recv_many(&mut batch, 256) => n,
                // No more results can come: close the channel, then drain what is buffered.
                _ = self.workers_done.cancelled(), if !rx.is_closed() => {
                    rx.close();
                    continue;
                }
            };
            if received == 0 {
                return;
            }
            let n = batch.len();
            // A failed write is retried: the results are not lost while the process lives (and if it dies,
            // the leases expire and the deliveries are sent again).
            while let Err(error) = self.store.finish(&batch).await {
                tracing::error!(message = "Writing delivery results failed; retrying.", %error, results = n);
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            batch.clear();
        }
    }

    fn pause_until(
        &self,
        name: &str,
        kind: DestinationType,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let rt = self.runtime.lock().expect("runtime lock");
        let own = rt.paused.get(name).copied().filter(|t| *t > now);
        let global = (kind == DestinationType::Discord)
            .then_some(rt.discord_paused)
            .flatten()
            .filter(|t| *t > now);
        own.max(global)
    }

    async fn pause(
        &self,
        name: &str,
        kind: DestinationType,
        until: DateTime<Utc>,
        global: bool,
        persist: bool,
    ) {
        {
            let mut rt = self.runtime.lock().expect("runtime lock");
            if global && kind == DestinationType::Discord {
                rt.discord_paused = Some(until);
            }
            rt.paused.insert(name.to_owned(), until);
        }
        if persist && let Err(error) = self.store.set_destination_paused(name, Some(until)).await {
            tracing::warn!(message = "Saving a pause failed.", destination = name, %error);
        }
        tracing::info!(message = "Destination paused by its rate limit.", destination = name, until = %until, global);
    }

    fn finish(&self, f: Finish) {
        // The finisher lives as long as the engine runs; a send fails only after shutdown finished.
        let _ = self.finish_tx.send(f);
    }

    /// Emits a `hookarr.*` event (delivery dead, destination disabled) through the normal ingest path.
    async fn emit(&self, kind: EventKind, check: &str, message: String, about: &Event) {
        if about.event.as_str().starts_with("hookarr.") {
            return; // never an alert about an alert
        }
        let event = Event {
            id: EventId::new(),
            event: kind,
            timestamp: Utc::now(),
            source: SourceInfo {
                name: "hookarr".into(),
                app: "hookarr".into(),
                event: check.into(),
                version: Some(env!("CARGO_PKG_VERSION").into()),
                ..Default::default()
            },
            summary: message.clone(),
            data: EventData {
                health: Some(Health {
                    level: Some("error".into()),
                    check: Some(check.into()),
                    message: Some(message),
                    wiki_url: None,
                }),
                ..Default::default()
            },
        };
        let raw = RawRequest {
            content_type: Some("application/json".into()),
            headers: Vec::new(),
            body: serde_json::to_vec(&serde_json::json!({"about_event": about.id.as_str()}))
                .unwrap_or_default(),
        };
        match self
            .store
            .ingest(Ingest {
                event,
                raw,
                dedupe: None,
            })
            .await
        {
            Ok(_) => self.wake_router.notify_one(),
            Err(error) => tracing::error!(message = "Emitting an alert event failed.", %error),
        }
    }

    /// One attempt at one claimed delivery (with the members of its group claimed in the same batch), start
    /// to finish.
    async fn attempt(&self, c: Claimed, mut members: Vec<Claimed>) {
        let now = Utc::now();
        let mut finish = Finish::pending(&c.id, &c.destination, c.attempts, now);
        let Some(dest) = self.dests.get(&c.destination) else {
            let reason = format!("destination `{}` is no longer configured", c.destination);
            return self.end_unsent(finish, &members, DeliveryStatus::Failed, "failed", reason);
        };
        if c.expires_at.is_some_and(|t| t <= now) {
            let reason = "expired before it could be delivered (expire_after)".to_owned();
            return self.end_unsent(finish, &members, DeliveryStatus::Expired, "expired", reason);
        }
        if let Some(reason) = self
            .runtime
            .lock()
            .expect("runtime lock")
            .disabled
            .get(&c.destination)
            .cloned()
        {
            // Held, not dropped: re-enabling the destination makes it due again.
            finish.next_attempt_at = Some(now + chrono::Duration::minutes(5));
            finish.last_error = Some(format!("destination disabled: {reason}"));
            return self.settle(finish, &members, c.attempts);
        }
        if let Some(until) = self.pause_until(&c.destination, dest.target.kind, now) {
            finish.next_attempt_at = Some(until);
            return self.settle(finish, &members, c.attempts);
        }
        if let Err(not_until) = dest.limiter.check() {
            let wait = not_until.wait_time_from(governor::clock::DefaultClock::default().now());
            if wait > SHORT_WAIT {
                finish.next_attempt_at =
                    Some(now + chrono::Duration::from_std(wait).unwrap_or_default());
                return self.settle(finish, &members, c.attempts);
            }
            tokio::time::sleep(wait).await;
        }
        // A season pack: the other pending deliveries of the group go out in this one message.
        if let Some(key) = c.group_key.as_deref() {
            members.extend(self.claim_members(&c, key).await);
        }
        let member_events: Vec<Event> = members.iter().map(|m| m.event.clone()).collect();
        let digest = !members.is_empty()
            && c.group_key
                .as_deref()
                .is_some_and(|k| k.starts_with(super::group::DIGEST_PREFIX));
        // A single event is shown as it is (no copy); a group as its merged event or digest.
        let shown: std::borrow::Cow<'_, Event> = if members.is_empty() {
            std::borrow::Cow::Borrowed(&c.event)
        } else if digest {
            std::borrow::Cow::Owned(super::group::digest(&c.event, &member_events))
        } else {
            std::borrow::Cow::Owned(super::group::merge(&c.event, &member_events))
        };
        let group: Vec<Event> = if members.is_empty() {
            Vec::new()
        } else {
            std::iter::once(c.event.clone())
                .chain(member_events)
                .collect()
        };
        let payload = match outbound::render_group_payload(
            &self.templates,
            &dest.target,
            &shown,
            &group,
            digest,
        ) {
            Ok(p) => p,
            Err(e) => {
                let reason = e.to_string();
                return self.end_unsent(
                    finish,
                    &members,
                    DeliveryStatus::Failed,
                    "render_failed",
                    reason,
                );
            }
        };
        // Message lifecycle: the import of a download edits the Discord message its grab posted.
        let download_id = shown.data.download.as_ref().and_then(|d| d.id.clone());
        let edit_of = match &download_id {
            Some(download)
                if !digest
                    && self.edits(dest, &shown, &[EventKind::LibraryNew, EventKind::LibraryUpgraded]) =>
            {
                self.store.message_for(&c.destination, download).await.unwrap_or_else(|error| {
                    tracing::warn!(message = "Reading a Discord message id failed; posting instead.", %error);
                    None
                })
            }
            _ => None,
        };
        let mut sent = self
            .send_payload(dest, &c.event, &c.id, &payload, edit_of.as_deref())
            .await;
        finish.attempts += 1;
        let mut record = sent.record(finish.attempts);
        // The message to edit is gone (deleted in Discord): post a new one. Not a reason to disable.
        if edit_of.is_some() && sent.status == Some(404) {
            record.outcome = "edit_missing".into();
            finish.logged.push(record);
            sent = self
                .send_payload(dest, &c.event, &c.id, &payload, None)
                .await;
            finish.attempts += 1;
            record = sent.record(finish.attempts);
        }
        // A chat target that rejects the rich message gets the plain summary once (CONTRACT §5 fallback).
        if sent.status == Some(400)
            && let Some(plain) = outbound::fallback_payload(dest.target.kind, &shown)
        {
            record.outcome = "rejected_rich".into();
            finish.logged.push(record);
            sent = self.send_payload(dest, &c.event, &c.id, &plain, None).await;
            finish.attempts += 1;
            record = sent.record(finish.attempts);
        }
        finish.last_status = sent.status;
        finish.at = Utc::now();
        let verdict = sent.verdict(dest.target.kind, finish.at);
        self.after_headers(&c.destination, dest.target.kind, &sent, finish.at)
            .await;
        match verdict {
            Verdict::Success => {
                record.outcome = "succeeded".into();
                finish.status = DeliveryStatus::Succeeded;
                // The grab's message id, for the import to edit.
                if let Some(download) = &download_id
                    && edit_of.is_none()
                    && !digest
                    && self.edits(dest, &shown, &[EventKind::DownloadGrabbed])
                {
                    self.remember_message(&c.destination, download, &sent, finish.at)
                        .await;
                }
            }
            Verdict::Retry { after } => {
                let jitter = rand::random::<f64>() * 2.0 - 1.0;
                match policy::next_delay(&dest.schedule, dest.max_attempts, finish.attempts, jitter)
                {
                    Some(delay) => {
                        record.outcome = "retry".into();
                        let delay = after.unwrap_or(delay);
                        finish.next_attempt_at =
                            Some(finish.at + chrono::Duration::from_std(delay).unwrap_or_default());
                    }
                    None => {
                        record.outcome = "dead".into();
                        finish.status = DeliveryStatus::Dead;
                    }
                }
            }
            Verdict::RateLimited { after, global } => {
                record.outcome = "rate_limited".into();
                let until = finish.at + chrono::Duration::from_std(after).unwrap_or_default();
                self.pause(&c.destination, dest.target.kind, until, global, true)
                    .await;
                // A 429 is not the target failing: it may take twice the schedule's attempts before giving up.
                if finish.attempts >= dest.max_attempts.saturating_mul(2) {
                    record.outcome = "dead".into();
                    finish.status = DeliveryStatus::Dead;
                } else {
                    finish.next_attempt_at = Some(until);
                }
            }
            Verdict::Fail => {
                record.outcome = "failed".into();
                finish.status = DeliveryStatus::Failed;
            }
            Verdict::Disable { reason } => {
                record.outcome = "disabled".into();
                finish.status = DeliveryStatus::Failed;
                if self.is_enabled(&c.destination) {
                    if let Err(error) = self.set_enabled(&c.destination, false, &reason).await {
                        tracing::error!(message = "Disabling a destination failed.", %error);
                    }
                    tracing::warn!(message = "Destination disabled.", destination = %c.destination, %reason);
                    let msg = format!("Destination {} was disabled: {reason}", c.destination);
                    self.emit(
                        EventKind::DestinationDisabled,
                        "destination_disabled",
                        msg,
                        &c.event,
                    )
                    .await;
                }
            }
        }
        finish.last_error = match (finish.status, &record.error, sent.status) {
            (DeliveryStatus::Succeeded, _, _) => None,
            (_, Some(error), _) => Some(error.clone()),
            (_, None, Some(status)) => Some(format!("HTTP {status}")),
            (_, None, None) => None,
        };
        let dead = finish.status == DeliveryStatus::Dead;
        finish.logged.push(record);
        tracing::debug!(message = "Delivery attempt.", delivery = %c.id, destination = %c.destination, status = ?sent.status, outcome = finish.status.as_str());
        if dead {
            let msg = format!(
                "Delivery {} of {} to {} is dead after {} attempts: {}",
                c.id,
                c.event.event.as_str(),
                c.destination,
                finish.attempts,
                finish.last_error.clone().unwrap_or_default()
            );
            self.emit(EventKind::DeliveryDead, "delivery_dead", msg, &c.event)
                .await;
        }
        self.settle(finish, &members, c.attempts);
    }

    /// Writes back a delivery's result, and the same for the members of its group.
    fn settle(&self, finish: Finish, members: &[Claimed], attempts_before: u32) {
        self.finish_members(members, &finish, attempts_before);
        self.finish(finish);
    }

    /// Leases the rest of a delivery's group.
    async fn claim_members(&self, c: &Claimed, key: &str) -> Vec<Claimed> {
        let now = Utc::now();
        let lease = now + chrono::Duration::from_std(self.lease).expect("small");
        match self
            .store
            .claim_group(&c.destination, key, &c.id, &self.owner, now, lease)
            .await
        {
            Ok(members) => members,
            Err(error) => {
                // Not fatal: the others will go out as their own messages.
                tracing::warn!(message = "Claiming a delivery group failed.", %error);
                Vec::new()
            }
        }
    }

    /// Ends each group member as its group's message ended, its log naming the delivery that carried it.
    fn finish_members(&self, members: &[Claimed], primary: &Finish, attempts_before: u32) {
        let primary_id = &primary.id;
        for m in members {
            let mut f = primary.clone();
            f.id = m.id.clone();
            f.attempts = m.attempts + (primary.attempts - attempts_before);
            f.logged = primary
                .logged
                .last()
                .map(|a| {
                    let mut a = a.clone();
                    a.attempt = f.attempts;
                    a.outcome = format!("grouped:{}", a.outcome);
                    a.error = Some(format!(
                        "sent in one message with {primary_id}{}",
                        a.error.map(|e| format!(": {e}")).unwrap_or_default()
                    ));
                    a
                })
                .into_iter()
                .collect();
            self.finish(f);
        }
    }

    /// Ends a delivery without sending it, the reason logged as its attempt.
    fn end_unsent(
        &self,
        mut finish: Finish,
        members: &[Claimed],
        status: DeliveryStatus,
        outcome: &str,
        reason: String,
    ) {
        let before = finish.attempts;
        finish.status = status;
        finish.attempts += 1;
        finish.logged.push(note(
            finish.attempts,
            Utc::now(),
            outcome,
            Some(reason.clone()),
        ));
        finish.last_error = Some(reason);
        self.settle(finish, members, before);
    }

    /// Discord's proactive limit headers: when a bucket is spent, wait for its reset.
    async fn after_headers(
        &self,
        name: &str,
        kind: DestinationType,
        sent: &Sent,
        now: DateTime<Utc>,
    ) {
        if kind != DestinationType::Discord || sent.status == Some(429) {
            return;
        }
        let header = |n: &str| sent.headers.get(n).and_then(|v| v.as_str());
        if header("x-ratelimit-remaining") == Some("0")
            && let Some(after) =
                header("x-ratelimit-reset-after").and_then(|v| v.parse::<f64>().ok())
            && after.is_finite()
            && after > 0.0
        {
            let until = now + chrono::Duration::milliseconds((after.min(3600.0) * 1000.0) as i64);
            self.pause(name, kind, until, false, false).await;
        }
    }

    /// Renders and sends `event` to a destination now, outside the queue (`send-test`, the API's test
    /// button). Nothing is stored.
    pub async fn send_now(
        &self,
        name: &str,
        event: &Event,
    ) -> Result<Sent, outbound::RenderFailure> {
        let dest = self.dests.get(name).ok_or_else(|| {
            outbound::RenderFailure::Shape(format!("no destination named `{name}`"))
        })?;
        let payload = outbound::render_payload(&self.templates, &dest.target, event)?;
        let delivery_id = crate::event::new_prefixed_id("dlv");
        Ok(self
            .send_payload(dest, event, &delivery_id, &payload, None)
            .await)
    }

    /// Keeps the id of the Discord message a grab posted (from the `?wait=true` answer).
    async fn remember_message(
        &self,
        destination: &str,
        download: &str,
        sent: &Sent,
        at: DateTime<Utc>,
    ) {
        let message = serde_json::from_str::<serde_json::Value>(&sent.body)
            .ok()
            .and_then(|v| v["id"].as_str().map(str::to_owned));
        if let Some(message) = message
            && let Err(error) = self
                .store
                .remember_message(destination, download, &message, at)
                .await
        {
            tracing::warn!(message = "Saving a Discord message id failed.", %error);
        }
    }

    /// Whether a Discord destination that edits messages takes part in the lifecycle for this event.
    fn edits(&self, dest: &Dest, event: &Event, kinds: &[EventKind]) -> bool {
        dest.target.kind == DestinationType::Discord
            && dest.target.edit_messages
            && kinds.contains(&event.event)
    }

    /// Sends a payload (as an edit of Discord message `edit_of` when given).
    async fn send_payload(
        &self,
        dest: &Dest,
        event: &Event,
        delivery_id: &str,
        payload: &serde_json::Value,
        edit_of: Option<&str>,
    ) -> Sent {
        let started = Utc::now();
        let clock = Instant::now();
        let request = match outbound::build_request(
            &dest.target,
            event,
            delivery_id,
            payload,
            started.timestamp(),
        ) {
            Ok(r) => r,
            Err(e) => return Sent::error(started, clock, e.to_string()),
        };
        let request = match edit_of {
            Some(message) => outbound::as_discord_edit(request, message),
            None => request,
        };
        send(
            &self.client,
            request,
            self.max_response_bytes,
            started,
            clock,
        )
        .await
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

impl Finish {
    /// A claimed delivery's result before the attempt: still pending, nothing logged.
    fn pending(id: &str, destination: &str, attempts: u32, at: DateTime<Utc>) -> Finish {
        Finish {
            id: id.to_owned(),
            destination: destination.to_owned(),
            status: DeliveryStatus::Pending,
            attempts,
            next_attempt_at: None,
            last_status: None,
            last_error: None,
            logged: Vec::new(),
            at,
        }
    }
}

fn note(attempt: u32, at: DateTime<Utc>, outcome: &str, error: Option<String>) -> AttemptRow {
    AttemptRow {
        attempt,
        started_at: at,
        duration_ms: 0,
        outcome: outcome.into(),
        status_code: None,
        response_headers: Default::default(),
        response_body: None,
        error,
    }
}

/// The apalis job handler: one attempt at one delivery.
///
/// A panic (a bug) must not take the worker down or leave the delivery leased for minutes: it is caught, and
/// the delivery is put back to be tried again in a minute with the reason logged.
async fn deliver(job: Job, engine: Data<Arc<Engine>>) -> Result<(), std::convert::Infallible> {
    use futures_util::FutureExt as _;
    let mut put_back = Finish::pending(
        &job.claimed.id,
        &job.claimed.destination,
        job.claimed.attempts,
        Utc::now(),
    );
    let run = std::panic::AssertUnwindSafe(engine.attempt(job.claimed, job.members)).catch_unwind();
    if run.await.is_err() {
        tracing::error!(message = "A delivery attempt panicked; it will be retried.", delivery = %put_back.id);
        put_back.next_attempt_at = Some(put_back.at + chrono::Duration::minutes(1));
        put_back.last_error = Some("internal error during the attempt".into());
        engine.finish(put_back);
    }
    Ok(())
}
