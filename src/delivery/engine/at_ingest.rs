//! Routing an event as it is stored: one commit between the POST and the send.
//!
//! Through the outbox, an idle event takes three commits before its request goes out — the event, its
//! routing, its claim. When this process runs the workers and nothing waits in the outbox before the
//! event, the event is routed on its request's task instead: its deliveries are inserted in the event's
//! own transaction, those due at once and with a worker free for them leased to this process, and they
//! are handed to those workers as soon as the transaction commits (no router pass, no claim, no re-read of
//! the event). A kill -9 after the commit loses nothing: the leased rows fall due again (at once at the
//! next SQLite start, when their lease ends on PostgreSQL). A delivery with no free worker, one held for a
//! group window or quiet hours, is inserted due as the router would have; the claimer finds it.
//!
//! Order: while events wait in the outbox (a burst the router has not caught up with, an `api` process's
//! events, a start after a crash), new events go there too, so none overtakes an older one.

use super::{DeliveryJob, Engine};
use crate::event::Event;
use crate::storage::{Claimed, DeliveryResult, NewDelivery, RoutedAtIngest};
use chrono::Utc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

/// Deliveries held claimed per worker (see [`Handoff::slots`]): four drained 20,000 at ~7,100/s, two at
/// ~6,100/s, one (no claiming ahead) at ~4,700/s (`docs/benchmarks.md`).
pub(super) const CLAIMED_PER_WORKER: usize = 4;

/// What routing at ingest shares with the claimer: the worker slots, the way to the workers, and whether
/// the outbox has caught up.
pub(super) struct Handoff {
    /// The deliveries this process may hold claimed — running, or queued for a worker:
    /// [`CLAIMED_PER_WORKER`] per worker, so the next batch is claimed while the workers send this one.
    /// The claimer and routing at ingest take them alike.
    pub(super) slots: Arc<Semaphore>,
    /// One permit per worker: the sends running at once (`delivery.workers`).
    pub(super) running: Arc<Semaphore>,
    /// The apalis workers' channel while the engine runs.
    jobs: Mutex<Option<mpsc::Sender<DeliveryJob>>>,
    /// Events this process sent to the outbox, counted.
    outbox_writes: AtomicU64,
    /// `outbox_writes` as it was when the router last found the outbox empty (`u64::MAX`: not yet).
    routed_through: AtomicU64,
}

impl Handoff {
    pub(super) fn new(workers: usize) -> Handoff {
        Handoff {
            slots: Arc::new(Semaphore::new(CLAIMED_PER_WORKER * workers)),
            running: Arc::new(Semaphore::new(workers)),
            jobs: Mutex::new(None),
            outbox_writes: AtomicU64::new(0),
            routed_through: AtomicU64::new(u64::MAX),
        }
    }

    /// Opens the way to the workers (the engine started) or closes it (`None`: it is stopping).
    pub(super) fn set_jobs(&self, jobs: Option<mpsc::Sender<DeliveryJob>>) {
        *self.jobs.lock().expect("handoff lock") = jobs;
    }

    /// Read by the router before it looks at the outbox.
    pub(super) fn outbox_writes(&self) -> u64 {
        self.outbox_writes.load(Ordering::SeqCst)
    }

    /// The router found the outbox empty after reading `writes`.
    pub(super) fn outbox_caught_up(&self, writes: u64) {
        self.routed_through.store(writes, Ordering::SeqCst);
    }

    fn outbox_is_empty(&self) -> bool {
        self.routed_through.load(Ordering::SeqCst) == self.outbox_writes.load(Ordering::SeqCst)
    }
}

/// An event routed at ingest, waiting for its transaction to commit.
pub struct RoutedEvent {
    jobs: Vec<DeliveryJob>,
    event: Event,
    /// Some deliveries were inserted due, not leased: the claimer should look.
    wake_claimer: bool,
    story: bool,
    /// Its destinations as its story line names them.
    told: Vec<String>,
}

impl Engine {
    /// Whether an event stored now would be routed as it is stored: the workers run here and the router
    /// has caught up with the outbox.
    pub fn routes_at_ingest(&self) -> bool {
        self.is_running()
            && self.handoff.outbox_is_empty()
            && self.handoff.jobs.lock().expect("handoff lock").is_some()
    }

    /// Routes `event` to be stored with its deliveries, when this process delivers and the outbox has
    /// caught up (see the module's notes): the rows for its transaction, and what to hand over once it
    /// commits. `None`: the event goes to the outbox (and closes this path until the router has read it).
    pub async fn route_at_ingest(
        self: &Arc<Self>,
        event: &Event,
    ) -> Option<(RoutedAtIngest, RoutedEvent)> {
        if !self.routes_at_ingest() {
            self.handoff.outbox_writes.fetch_add(1, Ordering::SeqCst);
            return None;
        }
        // Another process sharing the database may have registered webhooks since.
        if self.store.backend() == "postgres"
            && let Err(error) = self.reload_webhooks_if_stale().await
        {
            error.log("Reading the registered webhooks failed.");
        }
        let mut deliveries = self.routes().route(event, &|name| self.is_enabled(name));
        self.hold_for_switch(&mut deliveries);
        // Told once stored: a repeat the store turns away was never routed.
        let told = deliveries
            .iter()
            .map(crate::delivery::group::told_destination)
            .collect();
        let now = Utc::now();
        let mut leased = Vec::new();
        let mut jobs = Vec::new();
        let mut due = Vec::new();
        for d in deliveries {
            let permit = (d.group_key.is_none() && d.due_at <= now)
                .then(|| self.handoff.slots.clone().try_acquire_owned().ok())
                .flatten();
            match permit {
                Some(permit) => {
                    jobs.push(self.job(&d, event, permit));
                    leased.push(d);
                }
                None => due.push(d),
            }
        }
        let story = crate::stories::queued(event);
        let rows = RoutedAtIngest {
            deliveries: due,
            leased,
            owner: self.owner.clone(),
            lease_until: now + chrono::Duration::from_std(self.lease).expect("small"),
            story,
        };
        let routed = RoutedEvent {
            jobs,
            event: event.clone(),
            wake_claimer: !rows.deliveries.is_empty(),
            story,
            told,
        };
        Some((rows, routed))
    }

    /// The event routed at ingest has committed: its leased deliveries go to the workers, the event to
    /// followers (and, on PostgreSQL, is named to the other processes).
    pub fn routed_event_stored(self: &Arc<Self>, routed: RoutedEvent) {
        super::workers::tell_routed(&routed.event, || routed.told);
        let sender = self.handoff.jobs.lock().expect("handoff lock").clone();
        for job in routed.jobs {
            // A held permit is a free place in the channel, so only a closed channel refuses.
            let refused = match &sender {
                Some(jobs) => jobs.try_send(job).err().map(|e| match e {
                    mpsc::error::TrySendError::Full(job)
                    | mpsc::error::TrySendError::Closed(job) => job,
                }),
                None => Some(job),
            };
            if let Some(job) = refused {
                // Stopping: put it back, due now, for whoever runs next.
                let mut back = DeliveryResult::pending(
                    &job.claimed.id,
                    &job.claimed.destination,
                    0,
                    Utc::now(),
                );
                back.next_attempt_at = Some(back.at);
                self.finish(back);
            }
        }
        if routed.wake_claimer {
            self.wake_claimer.notify_one();
        }
        if routed.story {
            self.wake_storyteller();
        }
        let announce = self.store.backend() == "postgres";
        if self.feed.has_followers() || announce {
            let engine = self.clone();
            tokio::spawn(async move {
                let ids = [routed.event.id.clone()];
                let follow = engine.feed.has_followers().then_some(routed.event);
                engine
                    .tell_followers(&ids, follow.into_iter().collect(), announce)
                    .await;
            });
        }
    }

    /// The job of a delivery leased at ingest: nothing attempted yet, its event the one in hand.
    fn job(&self, d: &NewDelivery, event: &Event, permit: OwnedSemaphorePermit) -> DeliveryJob {
        let claimed = Claimed {
            id: d.id.clone(),
            destination: d.destination.clone(),
            attempts: 0,
            created_at: d.created_at,
            expires_at: d.expires_at,
            group_key: None,
            event: event.clone(),
        };
        DeliveryJob {
            _opening: self.opening_of(&claimed),
            claimed,
            members: Vec::new(),
            _permit: permit,
        }
    }
}
