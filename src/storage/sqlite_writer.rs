//! SQLite's single writer: one task owns the one connection that writes events, and commits whatever
//! ingests (and playback-session steps) are waiting together — group commit, so durable ingest costs one
//! fsync per batch instead of one per request, and never waits on SQLite's lock behind other connections.
//! Delivery results come through it too, ahead of the ingests: an answered send is recorded within a
//! commit of at most [`INGESTS_PER_COMMIT`] ingests after its answer (fewer sends repeated after a crash).

use super::sqlite_ingests::commit_batch;
use super::{IngestOutcome, StoreError};
use sqlx::SqliteConnection;
use tokio::sync::{mpsc, oneshot};

/// The most writes taken from the channel in one round.
pub(super) const MAX_BATCH: usize = 256;

type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// One queued ingest: the request, its envelope and raw body already serialized and compressed by the
/// caller's task (the request's `raw.body` is left empty), and where to answer.
pub(super) struct IngestJob {
    pub(super) ingest: super::Ingest,
    pub(super) envelope: super::Packed<String>,
    pub(super) body: super::Packed<Vec<u8>>,
    pub(super) reply: Reply<IngestOutcome>,
}

/// One queued playback notification (see [`crate::playback`]).
pub(super) struct Step {
    pub(super) source: String,
    pub(super) signal: crate::playback::Signal,
    pub(super) event: crate::event::EventId,
    pub(super) now: chrono::DateTime<chrono::Utc>,
    pub(super) window_ms: i64,
    pub(super) reply: Reply<crate::playback::Outcome>,
}

/// The way to the single writer task, which owns the one connection that writes events.
pub struct Writer(pub(super) mpsc::Sender<Write>);

/// Delivery results to write back (see [`super::Queue::finish`]).
pub(super) struct FinishJob {
    pub(super) results: Vec<super::DeliveryResult>,
    pub(super) reply: Reply<()>,
}

/// What the writer is asked to do.
pub(super) enum Write {
    Ingest(Box<IngestJob>),
    Playback(Step),
    Finish(FinishJob),
}

/// The most ingests committed in one transaction while more wait: between two such commits, the results
/// and playback steps that came meanwhile are written, so an answered send waits for at most this many
/// ingests, not for a whole round of them (under load a round is every client's request at once).
const INGESTS_PER_COMMIT: usize = 16;

/// Commits waiting writes in batches until every sender is gone: delivery results first, then playback
/// steps, then ingests [`INGESTS_PER_COMMIT`] at a time, looking for new results and steps between. (A
/// request's step is answered before its ingest is sent, so the two never meet in one batch out of order.)
pub(super) async fn write_loop(mut conn: SqliteConnection, mut rx: mpsc::Receiver<Write>) {
    let mut writes = Vec::with_capacity(MAX_BATCH);
    let mut waiting = Waiting::default();
    while rx.recv_many(&mut writes, MAX_BATCH).await > 0 {
        waiting.sort(writes.drain(..));
        loop {
            if !waiting.finishes.is_empty() {
                commit_results(&mut conn, &mut waiting.finishes).await;
            }
            if !waiting.steps.is_empty() {
                commit_steps(&mut conn, &mut waiting.steps).await;
            }
            if waiting.ingests.is_empty() {
                break;
            }
            let take = waiting.ingests.len().min(INGESTS_PER_COMMIT);
            let ingests: Vec<IngestJob> = waiting.ingests.drain(..take).collect();
            commit_ingests(&mut conn, ingests).await;
            // What came while that committed joins the round, up to a batch's worth of ingests.
            while waiting.ingests.len() < MAX_BATCH
                && let Ok(write) = rx.try_recv()
            {
                waiting.sort(std::iter::once(write));
            }
        }
    }
}

/// The writes taken from the channel and not yet done, by kind.
#[derive(Default)]
struct Waiting {
    ingests: Vec<IngestJob>,
    steps: Vec<Step>,
    finishes: Vec<FinishJob>,
}

impl Waiting {
    fn sort(&mut self, writes: impl Iterator<Item = Write>) {
        for write in writes {
            match write {
                Write::Ingest(job) => self.ingests.push(*job),
                Write::Playback(step) => self.steps.push(step),
                Write::Finish(job) => self.finishes.push(job),
            }
        }
    }
}

/// Stores a batch of ingests in one transaction and answers each; if it fails, all are told why.
async fn commit_ingests(conn: &mut SqliteConnection, batch: Vec<IngestJob>) {
    let result = commit_batch(conn, &batch).await.map_err(|error| {
        let failure = StoreError::BatchFailed {
            message: error.to_string(),
            fault: super::StorageFault::of_sqlx(&error),
        };
        failure.log("SQLite batch commit failed; nothing of the batch was stored.");
        failure
    });
    if result.is_err() {
        let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
    }
    for (i, job) in batch.into_iter().enumerate() {
        let outcome = match &result {
            Ok(outcomes) => Ok(outcomes[i].clone()),
            Err(failure) => Err(StoreError::batch_failed(failure)),
        };
        let _ = job.reply.send(outcome);
    }
}

/// Writes the waiting delivery results in one transaction, one round trip, and answers each; if it fails,
/// all are told why (the finisher tries again).
async fn commit_results(conn: &mut SqliteConnection, finishes: &mut Vec<FinishJob>) {
    let script = super::results::results_script(finishes.iter().map(|job| job.results.as_slice()));
    let result = script.query().execute(&mut *conn).await;
    if let Err(error) = result.map_err(StoreError::from) {
        let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
        for job in finishes.drain(..) {
            let _ = job.reply.send(Err(StoreError::batch_failed(&error)));
        }
        return;
    }
    for job in finishes.drain(..) {
        let _ = job.reply.send(Ok(()));
    }
}

/// Applies waiting playback steps in one transaction and answers each; if it fails, all are told why.
async fn commit_steps(conn: &mut SqliteConnection, steps: &mut Vec<Step>) {
    let result: Result<Vec<crate::playback::Outcome>, StoreError> = async {
        sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
        let mut outcomes = Vec::with_capacity(steps.len());
        for s in steps.iter() {
            outcomes.push(
                super::sessions::playback_step::<sqlx::Sqlite>(
                    conn,
                    &s.source,
                    &s.signal,
                    &s.event,
                    s.now,
                    s.window_ms,
                )
                .await?,
            );
        }
        sqlx::query("COMMIT").execute(&mut *conn).await?;
        Ok(outcomes)
    }
    .await;
    match result {
        Ok(outcomes) => {
            for (step, outcome) in steps.drain(..).zip(outcomes) {
                let _ = step.reply.send(Ok(outcome));
            }
        }
        Err(error) => {
            error.log("SQLite playback-session commit failed.");
            let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
            for step in steps.drain(..) {
                let _ = step.reply.send(Err(StoreError::batch_failed(&error)));
            }
        }
    }
}
