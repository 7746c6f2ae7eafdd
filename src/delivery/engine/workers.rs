//! The engine's loops: the router (outbox → deliveries), the claimer (due deliveries → apalis jobs, in
//! batches), and the apalis worker that runs each job (the finisher is in `finisher.rs`).

use super::{DeliveryJob, Engine, POLL};
use crate::delivery::backend::ClaimBackend;
use crate::event::Event;
use crate::storage::{Claimed, DeliveryResult};
use apalis::prelude::*;
use chrono::Utc;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, mpsc};
use tokio_util::sync::CancellationToken;

impl Engine {
    /// Starts the engine on the runtime; it runs until `shutdown` (see [`Engine::run`]).
    pub fn start(self: &Arc<Self>, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
        self.running
            .store(true, std::sync::atomic::Ordering::SeqCst);
        tokio::spawn(self.clone().run(shutdown))
    }

    /// Starts what an `api` process runs of the engine: it hands the events other processes route to its
    /// own followers (SSE), and tells the workers when it stored events, so they route them at once.
    pub fn start_api_only(
        self: &Arc<Self>,
        shutdown: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let engine = self.clone();
        tokio::spawn(async move {
            let listener = tokio::spawn(engine.clone().hear_other_routers(shutdown.clone()));
            engine.tell_workers_loop(shutdown).await;
            let _ = listener.await;
        })
    }

    /// In an `api` process: after each ingest (many at once make one), `<origin> stored` to the workers.
    async fn tell_workers_loop(self: Arc<Self>, shutdown: CancellationToken) {
        let said = self.feed.stored_announcement();
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.wake_router.notified() => {}
            }
            if let Err(error) = self.store.announce_routed(&said).await {
                error.log("Telling the workers of stored events failed; they find them at their next poll.");
            }
        }
    }

    /// Whether the delivery workers run (for `/readyz`).
    pub fn is_running(&self) -> bool {
        self.running.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Runs router, claimer, apalis workers and finisher until `shutdown`; then lets in-flight sends finish
    /// and writes their results, so nothing is left leased.
    pub(super) async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let finish_rx = self
            .finish_rx
            .lock()
            .expect("finish lock")
            .take()
            .expect("run once");
        let finisher = tokio::spawn(self.clone().finish_loop(finish_rx));
        let router = tokio::spawn(self.clone().route_loop(shutdown.clone()));
        let listener = tokio::spawn(self.clone().hear_other_routers(shutdown.clone()));
        let storyteller = tokio::spawn(self.clone().story_loop(shutdown.clone()));
        let claimable = super::at_ingest::CLAIMED_PER_WORKER * self.workers;
        let (job_tx, job_rx) = mpsc::channel(claimable);
        // Routing at ingest hands deliveries to the workers too, until the engine stops (the workers end
        // once every sender is gone).
        self.handoff.set_jobs(Some(job_tx.clone()));
        let closer = {
            let (engine, shutdown) = (self.clone(), shutdown.clone());
            tokio::spawn(async move {
                shutdown.cancelled().await;
                engine.handoff.set_jobs(None);
            })
        };
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
        let _ = closer.await;
        let _ = router.await;
        let _ = listener.await;
        let _ = storyteller.await;
        // Workers are done, so every result is queued; the finisher writes them and stops.
        self.workers_done.cancel();
        let _ = finisher.await;
        self.running
            .store(false, std::sync::atomic::Ordering::SeqCst);
    }

    pub(super) async fn route_loop(self: Arc<Self>, shutdown: CancellationToken) {
        let mut last_refresh = Instant::now();
        loop {
            // Another process sharing the database may have changed the webhooks since the last routing.
            if self.store.backend() == "postgres"
                && let Err(error) = self.reload_webhooks_if_stale().await
            {
                error.log("Reading the registered webhooks failed.");
            }
            let enabled = |name: &str| self.is_enabled(name);
            let routes = self.routes();
            // Routed events go to live followers here, and are announced to other processes sharing the
            // database (who may have followers of their own), once the routing has committed. Whether anyone
            // follows is asked per event, as it is routed: a stream that joins after that read the event
            // from the store already (it was stored before it was routed), one that joined before gets it
            // here — asked once per pass, an event stored while the pass began would reach neither.
            let announce = self.store.backend() == "postgres";
            let routed = std::sync::Mutex::new((Vec::new(), Vec::new()));
            let route = |e: &Event| {
                let mut destinations = routes.route(e, &enabled);
                self.hold_for_switch(&mut destinations);
                tell_received(e, &destinations);
                let follow = self.feed.has_followers();
                if follow || announce {
                    let mut routed = routed.lock().expect("routed lock");
                    routed.0.push(e.id.clone());
                    if follow {
                        routed.1.push(e.clone());
                    }
                }
                destinations
            };
            let outbox_writes = self.handoff.outbox_writes();
            match self.store.route_outbox(500, &route).await {
                Ok(0) => self.handoff.outbox_caught_up(outbox_writes),
                Ok(_) => {
                    self.wake_claimer.notify_one();
                    self.wake_storyteller();
                    let (ids, events) = routed.into_inner().expect("routed lock");
                    self.tell_followers(&ids, events, announce).await;
                    continue;
                }
                Err(error) => error.log("Routing failed; retrying."),
            }
            if last_refresh.elapsed() > Duration::from_secs(5) {
                last_refresh = Instant::now();
                // Other processes sharing the database change destination state; rotations' grace ends.
                if let Err(error) = self.reload_webhooks_if_stale().await {
                    error.log("Reading the registered webhooks failed.");
                }
                if let Err(error) = self.refresh_state().await {
                    error.log("Reading destination state failed.");
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.wake_router.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    }

    /// Hands routed events to this process's followers and names them to the other processes.
    pub(super) async fn tell_followers(
        &self,
        ids: &[crate::event::EventId],
        routed: Vec<Event>,
        announce: bool,
    ) {
        if announce {
            for payload in self.feed.announcements(ids) {
                if let Err(error) = self.store.announce_routed(&payload).await {
                    error.log("Announcing routed events failed.");
                }
            }
        }
        self.feed.publish(routed);
    }

    /// On a database shared with other processes: the events they route, read and handed to this
    /// process's followers. Returns at once on SQLite.
    pub(super) async fn hear_other_routers(self: Arc<Self>, shutdown: CancellationToken) {
        use futures_util::StreamExt;
        loop {
            let mut heard = match self.store.routed_announcements().await {
                Ok(Some(heard)) => heard,
                Ok(None) => return,
                Err(error) => {
                    error.log("Listening for other processes' events failed; retrying.");
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    }
                }
            };
            loop {
                let payload = tokio::select! {
                    _ = shutdown.cancelled() => return,
                    next = heard.next() => next,
                };
                let payload = match payload {
                    Some(Ok(payload)) => payload,
                    Some(Err(error)) => {
                        error.log("Listening for other processes' events failed; reconnecting.");
                        break;
                    }
                    None => break,
                };
                if self.feed.announced_stored(&payload) {
                    self.wake_router.notify_one();
                    continue;
                }
                if self.feed.announced_destinations(&payload) {
                    if let Err(error) = self.refresh_state().await {
                        error
                            .log("Reading the destinations' state another process changed failed.");
                    }
                    continue;
                }
                if let Some(stories) = self.feed.announced_stories(&payload) {
                    self.feed.publish_stories(&stories);
                    continue;
                }
                let Some(ids) = self.feed.announced_ids(&payload) else {
                    continue;
                };
                if !self.feed.has_followers() {
                    continue;
                }
                match self.store.events_by_ids(&ids).await {
                    Ok(events) => self.feed.publish(events),
                    Err(error) => error.log("Reading events another process routed failed."),
                }
            }
        }
    }

    pub(super) async fn claim_loop(
        self: Arc<Self>,
        jobs: mpsc::Sender<DeliveryJob>,
        shutdown: CancellationToken,
    ) {
        let slots = self.handoff.slots.clone();
        // With a backlog, claim only once half the slots are free (the other half is still running or
        // queued, so the workers never wait for this claim): one claim (one write) then serves many
        // deliveries. Without one, claim as soon as any slot is free, for latency.
        let half = (super::at_ingest::CLAIMED_PER_WORKER * self.workers / 2).max(1);
        let mut backlog = false;
        loop {
            let want = if backlog { half } else { 1 };
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
                    error.log("Claiming deliveries failed; retrying.");
                    Vec::new()
                }
            };
            let full = claimed.len() == permits.len();
            backlog = full;
            let batch_jobs: Vec<DeliveryJob> = by_message(claimed)
                .into_iter()
                .map(|(claimed, members)| DeliveryJob {
                    _opening: self.opening_of(&claimed),
                    claimed,
                    members,
                    _permit: permits.pop().expect("one permit per claimed row"),
                })
                .collect();
            for job in batch_jobs {
                if jobs.send(job).await.is_err() {
                    return;
                }
            }
            drop(permits);
            if !full {
                let wake_at = self.claimer_wakes_at(Instant::now());
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = self.wake_claimer.notified() => {}
                    _ = tokio::time::sleep_until(wake_at.into()) => {}
                }
            }
        }
    }
}

/// The story line of an event as it is routed: "radarr download.grabbed ‘Dune: Part Two (2024)’ → 2
/// destinations (discord-movies, slack)".
pub(super) fn tell_received(e: &Event, deliveries: &[crate::storage::NewDelivery]) {
    tell_routed(e, || {
        deliveries
            .iter()
            .map(crate::delivery::group::told_destination)
            .collect()
    });
}

/// [`tell_received`] with the destinations as told, made only if the line is logged.
pub(super) fn tell_routed(e: &Event, destinations: impl FnOnce() -> Vec<String>) {
    crate::telemetry::story("events", || {
        let destinations = destinations();
        let to = match destinations.len() {
            0 => "→ no destination (none matches it)".to_owned(),
            1 => format!("→ {}", destinations[0]),
            n => format!("→ {n} destinations ({})", destinations.join(", ")),
        };
        tracing::info!(
            source = %e.source.name,
            event = e.event.as_str(),
            id = %e.id,
            destinations = destinations.len(),
            "{} {} ‘{}’ {to}",
            e.source.name,
            e.event.as_str(),
            e.summary
        );
    });
}

/// The apalis job handler: one attempt at one delivery.
///
/// A panic (a bug) must not take the worker down or leave the delivery leased for minutes: it is caught, and
/// the delivery is put back to be tried again in a minute with the reason logged.
/// Claimed rows as messages: the rows of one group claimed together travel as one (the first, with the
/// others as its members); every other row is a message of its own.
pub(super) fn by_message(claimed: Vec<Claimed>) -> Vec<(Claimed, Vec<Claimed>)> {
    let mut messages: Vec<(Claimed, Vec<Claimed>)> = Vec::with_capacity(claimed.len());
    let mut groups: HashMap<(String, String), usize> = HashMap::new();
    for c in claimed {
        if let Some(key) = &c.group_key {
            // A batch holds at most its limit: past it, the next row starts another message.
            let limit = crate::delivery::group::batch_limit(key).unwrap_or(usize::MAX);
            match groups.entry((c.destination.clone(), key.clone())) {
                Entry::Occupied(e) if messages[*e.get()].1.len() + 1 < limit => {
                    messages[*e.get()].1.push(c);
                    continue;
                }
                Entry::Occupied(mut e) => {
                    e.insert(messages.len());
                }
                Entry::Vacant(e) => {
                    e.insert(messages.len());
                }
            }
        }
        messages.push((c, Vec::new()));
    }
    messages
}

pub(super) async fn deliver(
    job: DeliveryJob,
    engine: Data<Arc<Engine>>,
) -> Result<(), std::convert::Infallible> {
    use futures_util::FutureExt as _;
    let mut put_back = DeliveryResult::pending(
        &job.claimed.id,
        &job.claimed.destination,
        job.claimed.attempts,
        Utc::now(),
    );
    // Claimed jobs queue here for one of the `delivery.workers` places.
    let _running = engine
        .handoff
        .running
        .clone()
        .acquire_owned()
        .await
        .expect("never closed");
    let run = std::panic::AssertUnwindSafe(engine.attempt(job.claimed, job.members)).catch_unwind();
    if run.await.is_err() {
        tracing::error!(message = "A delivery attempt panicked; it will be retried.", delivery = %put_back.id);
        put_back.next_attempt_at = Some(put_back.at + chrono::Duration::minutes(1));
        put_back.last_error = Some("internal error during the attempt".into());
        engine.finish(put_back);
    }
    Ok(())
}
