//! One batch of ingests as one SQLite script, the single writer's hot path: claim the dedupe keys, read
//! back who holds each, store the events whose claim held with their raw bodies and outbox rows (or the
//! deliveries routed at ingest), commit.

use super::sqlite_script::{Arg, Script};
use super::sqlite_writer::IngestJob;
use super::{IngestOutcome, headers_json};
use sqlx::{Row as _, SqliteConnection};

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
pub(super) async fn commit_batch(
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
