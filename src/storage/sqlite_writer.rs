//! SQLite's single writer: one task owns the one connection that writes events, and commits whatever
//! ingests (and playback-session steps) are waiting together — group commit, so durable ingest costs one
//! fsync per batch instead of one per request, and never waits on SQLite's lock behind other connections.
//! Delivery results come through it too, ahead of the ingests: an answered send is recorded within a
//! commit of at most [`INGESTS_PER_COMMIT`] ingests after its answer (fewer sends repeated after a crash).

use super::sqlite_script::{Arg, Script};
use super::{IngestOutcome, StoreError, headers_json};
use sqlx::{Row as _, SqliteConnection};
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

/// What happens to one job of a batch.
enum Plan {
    /// Claim its dedupe key (if any) and store it if the claim holds.
    Claim,
    /// A repeat of an earlier job in this batch: the same outcome, as a duplicate.
    SameAs(usize),
}

/// One transaction for the whole batch in one round trip to SQLite's worker thread (a round trip costs two
/// thread wake-ups, which dominate under load). sqlx binds `$N` by number across the statements of one
/// query, so the batch is one multi-statement script: claim the dedupe keys, read back who holds each key,
/// insert the events whose claim held (and their raw bodies and outbox rows), commit.
async fn commit_batch(
    conn: &mut SqliteConnection,
    batch: &[IngestJob],
) -> Result<Vec<IngestOutcome>, sqlx::Error> {
    use IngestOutcome;
    use std::collections::hash_map::Entry;
    // A key repeated inside the batch is claimed by its first job only; the others follow it.
    let mut plans = Vec::with_capacity(batch.len());
    let mut first_of_key = std::collections::HashMap::new();
    for (i, job) in batch.iter().enumerate() {
        plans.push(match &job.ingest.dedupe {
            Some(d) => {
                match first_of_key.entry((job.ingest.event.source.name.as_str(), d.key.as_str())) {
                    Entry::Occupied(first) => Plan::SameAs(*first.get()),
                    Entry::Vacant(slot) => {
                        slot.insert(i);
                        Plan::Claim
                    }
                }
            }
            None => Plan::Claim,
        });
    }
    let firsts: Vec<&IngestJob> = batch
        .iter()
        .zip(&plans)
        .filter(|(_, p)| matches!(p, Plan::Claim))
        .map(|(j, _)| j)
        .collect();
    let rows = batch_script(&firsts).query().fetch_all(&mut *conn).await?;
    let holders: std::collections::HashMap<(String, String), String> = rows
        .iter()
        .map(|r| {
            (
                (r.get::<String, _>(0), r.get::<String, _>(1)),
                r.get::<String, _>(2),
            )
        })
        .collect();
    let mut outcomes: Vec<IngestOutcome> = Vec::with_capacity(batch.len());
    for (job, plan) in batch.iter().zip(&plans) {
        let id = &job.ingest.event.id;
        let outcome = match (plan, &job.ingest.dedupe) {
            (Plan::SameAs(first), _) => match &outcomes[*first] {
                IngestOutcome::Stored(ids) | IngestOutcome::Duplicate(ids) => {
                    IngestOutcome::Duplicate(ids.clone())
                }
            },
            (Plan::Claim, None) => IngestOutcome::Stored(vec![id.clone()]),
            (Plan::Claim, Some(d)) => {
                let holder = holders.get(&(job.ingest.event.source.name.clone(), d.key.clone()));
                match holder {
                    Some(ids) if ids != id.as_str() => {
                        IngestOutcome::Duplicate(super::parse_event_ids(ids))
                    }
                    _ => IngestOutcome::Stored(vec![id.clone()]),
                }
            }
        };
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// The script of one batch, from `BEGIN IMMEDIATE` to `COMMIT`; its only rows are `(source, key, event_ids)`
/// of every dedupe key the batch claimed or found held.
fn batch_script<'a>(jobs: &[&'a IngestJob]) -> Script<'a> {
    let mut script = Script {
        sql: "BEGIN IMMEDIATE; ".into(),
        args: Vec::new(),
    };
    let keyed: Vec<&IngestJob> = jobs
        .iter()
        .copied()
        .filter(|j| j.ingest.dedupe.is_some())
        .collect();
    let key_of = |j: &'a IngestJob| j.ingest.dedupe.as_ref().map(|d| d.key.as_str());
    for chunk in keyed.chunks(ROWS_PER_STATEMENT) {
        // The cutoff rides in a CTE column: DO UPDATE sees only the table's columns and `excluded`.
        script
            .sql
            .push_str("WITH claim (source, key, event_ids, created_at, cutoff) AS (VALUES ");
        script.values(chunk.iter().map(|j| {
            let e = &j.ingest.event;
            let now = super::millis(e.timestamp);
            let window = j.ingest.dedupe.as_ref().map_or(0, |d| d.window_ms);
            vec![
                Arg::Text(&e.source.name),
                Arg::MaybeText(key_of(j)),
                Arg::Text(e.id.as_str()),
                Arg::Int(now),
                Arg::Int(now - window),
            ]
        }));
        script.sql.push_str(
            ") INSERT INTO dedupe_keys (source, key, event_ids, created_at) \
             SELECT source, key, event_ids, created_at FROM claim WHERE true \
             ON CONFLICT (source, key) DO UPDATE SET event_ids = excluded.event_ids, created_at = excluded.created_at \
             WHERE dedupe_keys.created_at < (SELECT cutoff FROM claim \
               WHERE claim.source = excluded.source AND claim.key = excluded.key); \
             SELECT source, key, event_ids FROM dedupe_keys WHERE (source, key) IN (VALUES ",
        );
        script.values(chunk.iter().map(|j| {
            vec![
                Arg::Text(&j.ingest.event.source.name),
                Arg::MaybeText(key_of(j)),
            ]
        }));
        script.sql.push_str("); ");
    }
    for chunk in jobs.chunks(ROWS_PER_STATEMENT) {
        // An event is stored when it has no key, or when its claim holds the key now.
        script.sql.push_str(
            "WITH v (id, event, source, received_at, summary, envelope, envelope_z, dkey) AS (VALUES ",
        );
        script.values(chunk.iter().map(|j| {
            let e = &j.ingest.event;
            vec![
                Arg::Text(e.id.as_str()),
                Arg::Text(e.event.as_str()),
                Arg::Text(&e.source.name),
                Arg::Int(super::millis(e.timestamp)),
                Arg::Text(&e.summary),
                Arg::Owned(j.envelope.plain().into_owned()),
                Arg::MaybeBlob(j.envelope.frame()),
                Arg::MaybeText(key_of(j)),
            ]
        }));
        script.sql.push_str(
            ") INSERT INTO events (id, event, source, received_at, summary, envelope, envelope_z) \
             SELECT id, event, source, received_at, summary, envelope, envelope_z FROM v WHERE v.dkey IS NULL OR EXISTS \
             (SELECT 1 FROM dedupe_keys d WHERE d.source = v.source AND d.key = v.dkey AND d.event_ids = v.id); \
             WITH r (event_id, content_type, headers, body, body_z) AS (VALUES ",
        );
        script.values(chunk.iter().map(|j| {
            vec![
                Arg::Text(j.ingest.event.id.as_str()),
                Arg::MaybeText(j.ingest.raw.content_type.as_deref()),
                Arg::Owned(headers_json(&j.ingest.raw.headers)),
                Arg::Blob(match &j.body {
                    super::Packed::Plain(body) => body,
                    super::Packed::Compressed(_) => &[],
                }),
                Arg::MaybeBlob(j.body.frame()),
            ]
        }));
        script.sql.push_str(
            ") INSERT INTO event_raw (event_id, content_type, headers, body, body_z) \
             SELECT * FROM r WHERE EXISTS (SELECT 1 FROM events WHERE events.id = r.event_id); ",
        );
        // The router's: an outbox row each. Routed already: their deliveries, and their story queue rows.
        let (routed, unrouted): (Vec<&IngestJob>, Vec<&IngestJob>) =
            chunk.iter().partition(|j| j.ingest.routed.is_some());
        if !unrouted.is_empty() {
            script
                .sql
                .push_str("WITH o (event_id, created_at) AS (VALUES ");
            script.values(unrouted.iter().map(|j| {
                vec![
                    Arg::Text(j.ingest.event.id.as_str()),
                    Arg::Int(super::millis(j.ingest.event.timestamp)),
                ]
            }));
            script.sql.push_str(
                ") INSERT INTO outbox (event_id, created_at) \
                 SELECT * FROM o WHERE EXISTS (SELECT 1 FROM events WHERE events.id = o.event_id); ",
            );
        }
        routed_rows(&mut script, &routed);
    }
    script.sql.push_str("COMMIT;");
    script
}

/// The deliveries of events routed as they are stored (some leased to a worker already), and their story
/// queue rows; each only if its event was stored (not a duplicate).
fn routed_rows<'a>(script: &mut Script<'a>, jobs: &[&'a IngestJob]) {
    let rows: Vec<(&super::NewDelivery, Option<&str>, i64)> = jobs
        .iter()
        .filter_map(|j| j.ingest.routed.as_ref())
        .flat_map(|r| r.rows())
        .map(|(d, owner, next)| (d, owner, super::millis(next)))
        .collect();
    for chunk in rows.chunks(super::dialect::rows_per_statement(9, ROWS_PER_STATEMENT)) {
        script.sql.push_str(
            "WITH d (id, event_id, event, destination, next_attempt_at, expires_at, created_at, group_key, \
             lease_owner) AS (VALUES ",
        );
        script.values(chunk.iter().map(|(d, owner, next)| {
            vec![
                Arg::Text(&d.id),
                Arg::Text(d.event_id.as_str()),
                Arg::Text(&d.event),
                Arg::Text(&d.destination),
                Arg::Int(*next),
                Arg::MaybeInt(d.expires_at.map(super::millis)),
                Arg::Int(super::millis(d.created_at)),
                Arg::MaybeText(d.group_key.as_deref()),
                Arg::MaybeText(*owner),
            ]
        }));
        script.sql.push_str(
            ") INSERT INTO deliveries (id, event_id, event, destination, status, next_attempt_at, expires_at, \
             created_at, updated_at, group_key, lease_owner) \
             SELECT id, event_id, event, destination, 'pending', next_attempt_at, expires_at, created_at, \
             created_at, group_key, lease_owner FROM d \
             WHERE EXISTS (SELECT 1 FROM events WHERE events.id = d.event_id); ",
        );
    }
    let stories: Vec<&IngestJob> = jobs
        .iter()
        .copied()
        .filter(|j| j.ingest.routed.as_ref().is_some_and(|r| r.story))
        .collect();
    if !stories.is_empty() {
        script.sql.push_str("WITH s (event_id) AS (VALUES ");
        script.values(
            stories
                .iter()
                .map(|j| vec![Arg::Text(j.ingest.event.id.as_str())]),
        );
        script.sql.push_str(
            ") INSERT INTO story_queue (event_id) \
             SELECT event_id FROM s WHERE EXISTS (SELECT 1 FROM events WHERE events.id = s.event_id); ",
        );
    }
}

/// Rows per multi-row statement (at most 8 binds each; see [`super::dialect::rows_per_statement`]).
const ROWS_PER_STATEMENT: usize = 32;
