//! PostgreSQL: for several hookarr processes sharing one database. Each ingest is its own transaction;
//! PostgreSQL's row locks make the dedupe claim safe across processes.

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgPool, PgPoolOptions};
use std::time::Duration;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// PostgreSQL-backed [`super::Store`].
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to a `postgres://` URL.
    pub async fn connect(url: &str) -> Result<Self, super::StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        Ok(Self { pool })
    }
}

super::sql::shared_queries!(PgStore, sqlx::Postgres, MIGRATOR, {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    async fn ingest(&self, ingest: Ingest) -> Result<IngestOutcome, StoreError> {
        let mut tx = self.pool.begin().await?;
        let outcome = ingest_in(&mut tx, &ingest).await?;
        tx.commit().await?;
        Ok(outcome)
    }
});

/// The statements of one ingest, inside the caller's transaction.
async fn ingest_in(
    conn: &mut sqlx::PgConnection,
    ingest: &Ingest,
) -> Result<IngestOutcome, StoreError> {
    let event = &ingest.event;
    let now = millis(event.timestamp);
    if let Some(dedupe) = &ingest.dedupe {
        // Claim the key unless a claim younger than the window holds it. On PostgreSQL a concurrent
        // claimer waits for ours to commit, then sees it; on SQLite writes are serialized.
        let claimed = sqlx::query(
            "INSERT INTO dedupe_keys (source, key, event_ids, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (source, key) DO UPDATE SET event_ids = excluded.event_ids, \
             created_at = excluded.created_at WHERE dedupe_keys.created_at < $5 RETURNING created_at",
        )
        .bind(&event.source.name)
        .bind(&dedupe.key)
        .bind(event.id.as_str())
        .bind(now)
        .bind(now - dedupe.window_ms)
        .fetch_optional(&mut *conn)
        .await?;
        if claimed.is_none() {
            let ids: String = sqlx::query_scalar(
                "SELECT event_ids FROM dedupe_keys WHERE source = $1 AND key = $2",
            )
            .bind(&event.source.name)
            .bind(&dedupe.key)
            .fetch_one(&mut *conn)
            .await?;
            return Ok(IngestOutcome::Duplicate(
                ids.split(',').filter_map(EventId::parse).collect(),
            ));
        }
    }
    let envelope = serde_json::to_string(event).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    sqlx::query(
        "INSERT INTO events (id, event, source, received_at, summary, envelope) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(event.id.as_str())
    .bind(event.event.as_str())
    .bind(&event.source.name)
    .bind(now)
    .bind(&event.summary)
    .bind(&envelope)
    .execute(&mut *conn)
    .await?;
    let headers = headers_json(&ingest.raw.headers);
    sqlx::query(
        "INSERT INTO event_raw (event_id, content_type, headers, body) VALUES ($1, $2, $3, $4)",
    )
    .bind(event.id.as_str())
    .bind(ingest.raw.content_type.as_deref())
    .bind(&headers)
    .bind(ingest.raw.body.as_slice())
    .execute(&mut *conn)
    .await?;
    sqlx::query("INSERT INTO outbox (event_id, created_at) VALUES ($1, $2)")
        .bind(event.id.as_str())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(IngestOutcome::Stored(vec![event.id.clone()]))
}
