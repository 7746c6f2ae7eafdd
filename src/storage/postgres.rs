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
