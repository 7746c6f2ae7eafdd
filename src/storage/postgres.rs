//! PostgreSQL: for several hookarr processes sharing one database. Each ingest is one statement, so one
//! transaction; PostgreSQL's row locks make the dedupe claim safe across processes.

use super::{Ingest, IngestOutcome, Intake, PgStore, SqlStore, StoreError, headers_json, millis};
use crate::event::EventId;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgPool, PgPoolOptions, PgQueryResult};
use std::time::Duration;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// One ingest as one statement (one round trip, atomic without an explicit transaction): claim the dedupe
/// key unless a claim younger than the window holds it, then insert the event, its raw body and its outbox
/// row only if the claim held (or there is no key). Returns 1 when stored, 0 for a repeat.
const INGEST: &str = "\
WITH claim AS (
    INSERT INTO dedupe_keys (source, key, event_ids, created_at)
    SELECT $3, $7, $1, $4 WHERE $7::text IS NOT NULL
    ON CONFLICT (source, key) DO UPDATE SET event_ids = excluded.event_ids, created_at = excluded.created_at
        WHERE dedupe_keys.created_at < $8
    RETURNING 1
), ev AS (
    INSERT INTO events (id, event, source, received_at, summary, envelope, envelope_z)
    SELECT $1, $2, $3, $4, $5, $6, $12 WHERE $7::text IS NULL OR EXISTS (SELECT 1 FROM claim)
    RETURNING id
), raw AS (
    INSERT INTO event_raw (event_id, content_type, headers, body, body_z) SELECT id, $9, $10, $11, $13 FROM ev
), outbox_row AS (
    INSERT INTO outbox (event_id, created_at) SELECT id, $4 FROM ev WHERE NOT $14
), delivery_rows AS (
    INSERT INTO deliveries (id, event_id, event, destination, status, next_attempt_at, expires_at, created_at,
        updated_at, group_key, lease_owner)
    SELECT d.id, ev.id, d.event, d.destination, 'pending', d.due, d.expires, d.created, d.created, d.group_key,
        d.owner
    FROM ev, unnest($15::text[], $16::text[], $17::text[], $18::int8[], $19::int8[], $20::int8[], $21::text[],
        $22::text[]) AS d (id, event, destination, due, expires, created, group_key, owner)
), story_row AS (
    INSERT INTO story_queue (event_id) SELECT id FROM ev WHERE $23
)
SELECT COUNT(*) FROM ev";

impl super::Dialect for sqlx::Postgres {
    const BACKEND: &'static str = "postgres";
    const OUTBOX_LOCK: &'static str = " FOR UPDATE OF o SKIP LOCKED";
    const CLAIM_INDEX: &'static str = "";
    const CLAIM_LOCK: &'static str = " FOR UPDATE SKIP LOCKED";
    const ROW_LOCK: &'static str = " FOR UPDATE";

    /// The delivery results' own connections (see [`PgStore::connect`]).
    type Writer = PgPool;

    fn migrator() -> &'static Migrator {
        &MIGRATOR
    }

    async fn migrate(pool: &PgPool) -> Result<(), StoreError> {
        MIGRATOR.run(pool).await?;
        Ok(())
    }

    async fn begin_write(
        pool: &PgPool,
    ) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        pool.begin().await
    }

    fn rows_affected(done: &PgQueryResult) -> u64 {
        done.rows_affected()
    }

    async fn announce(
        pool: &PgPool,
        channel: &'static str,
        payload: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(channel)
            .bind(payload)
            .execute(pool)
            .await?;
        Ok(())
    }

    async fn finish_through(
        results: &PgPool,
        batch: &[super::DeliveryResult],
    ) -> Result<(), StoreError> {
        let mut tx = results.begin().await?;
        // Not waiting for the WAL flush: a result lost with PostgreSQL itself (a crash of the server,
        // not of hookarr) only has its delivery sent again, as if hookarr had crashed before writing it.
        sqlx::query("SET LOCAL synchronous_commit = off")
            .execute(&mut *tx)
            .await?;
        super::SqlStore::<sqlx::Postgres>::write_results(&mut tx, batch).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn announcements(
        pool: &PgPool,
        channel: &'static str,
    ) -> Result<Option<super::dialect::Announcements>, StoreError> {
        use futures_util::StreamExt;
        let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
        listener.listen(channel).await?;
        let stream = listener
            .into_stream()
            .map(|n| n.map(|n| n.payload().to_owned()).map_err(StoreError::from));
        Ok(Some(stream.boxed()))
    }
}

impl PgStore {
    /// Connects to a `postgres://` URL.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = pool_options(16).connect(url).await?;
        // Results get connections of their own, so that an answered send is recorded at once, not after the
        // requests waiting for the shared pool (every answered send not yet recorded is sent again after a
        // crash): one per batch the finisher writes at once.
        let results = pool_options(super::RESULT_WRITES_AT_ONCE as u32)
            .min_connections(1)
            .connect(url)
            .await?;
        Ok(SqlStore {
            pool,
            writer: results,
        })
    }
}

/// A pool of at most `max` connections, each handed back out of any transaction.
fn pool_options(max: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(10))
        .after_release(|conn, _| Box::pin(super::dialect::out_of_transaction(conn)))
}

#[async_trait::async_trait]
impl Intake for PgStore {
    async fn playback_transition(
        &self,
        source: &str,
        signal: &crate::playback::Signal,
        event: &EventId,
        now: chrono::DateTime<chrono::Utc>,
        window_ms: i64,
    ) -> Result<crate::playback::Outcome, StoreError> {
        let mut tx = self.pool.begin().await?;
        let outcome = super::sessions::playback_step::<sqlx::Postgres>(
            &mut tx, source, signal, event, now, window_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(outcome)
    }

    async fn ingest(&self, ingest: Ingest) -> Result<IngestOutcome, StoreError> {
        let event = &ingest.event;
        let envelope = super::Packed::pack(super::envelope_json(event));
        let body = super::Packed::pack(ingest.raw.body);
        let now = millis(event.timestamp);
        let key = ingest.dedupe.as_ref().map(|d| d.key.as_str());
        let cutoff = ingest.dedupe.as_ref().map_or(now, |d| now - d.window_ms);
        let (plain_envelope, plain_body) = (envelope.plain(), body.plain());
        let stored = sqlx::query_scalar(INGEST)
            .bind(event.id.as_str())
            .bind(event.event.as_str())
            .bind(&event.source.name)
            .bind(now)
            .bind(&event.summary)
            .bind(plain_envelope.as_str())
            .bind(key)
            .bind(cutoff)
            .bind(ingest.raw.content_type.as_deref())
            .bind(headers_json(&ingest.raw.headers))
            .bind(plain_body.as_slice())
            .bind(envelope.frame())
            .bind(body.frame())
            .bind(ingest.routed.is_some());
        let stored: i64 = routed_columns(ingest.routed.as_ref())
            .bind_to(stored)
            .fetch_one(&self.pool)
            .await?;
        if stored == 1 {
            return Ok(IngestOutcome::Stored(vec![event.id.clone()]));
        }
        // The key is held by a claim younger than the window; the holder has committed (ON CONFLICT waited for
        // it), so this new statement sees it.
        let ids: String =
            sqlx::query_scalar("SELECT event_ids FROM dedupe_keys WHERE source = $1 AND key = $2")
                .bind(&event.source.name)
                .bind(key)
                .fetch_one(&self.pool)
                .await?;
        Ok(IngestOutcome::Duplicate(super::parse_event_ids(&ids)))
    }
}

/// The deliveries of an event routed as it is stored, column by column (`unnest` makes them rows again).
#[derive(Default)]
struct RoutedColumns {
    ids: Vec<String>,
    events: Vec<String>,
    destinations: Vec<String>,
    due: Vec<i64>,
    expires: Vec<Option<i64>>,
    created: Vec<i64>,
    group_keys: Vec<Option<String>>,
    owners: Vec<Option<String>>,
    story: bool,
}

fn routed_columns(routed: Option<&super::RoutedAtIngest>) -> RoutedColumns {
    let mut c = RoutedColumns::default();
    let Some(r) = routed else { return c };
    c.story = r.story;
    for (d, owner, next) in r.rows() {
        c.ids.push(d.id.clone());
        c.events.push(d.event.clone());
        c.destinations.push(d.destination.clone());
        c.due.push(millis(next));
        c.expires.push(d.expires_at.map(millis));
        c.created.push(millis(d.created_at));
        c.group_keys.push(d.group_key.clone());
        c.owners.push(owner.map(str::to_owned));
    }
    c
}

impl RoutedColumns {
    fn bind_to<'q, O>(
        self,
        q: sqlx::query::QueryScalar<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::QueryScalar<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments> {
        q.bind(self.ids)
            .bind(self.events)
            .bind(self.destinations)
            .bind(self.due)
            .bind(self.expires)
            .bind(self.created)
            .bind(self.group_keys)
            .bind(self.owners)
            .bind(self.story)
    }
}
