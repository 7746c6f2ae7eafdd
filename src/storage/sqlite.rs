//! The embedded default: one SQLite file in WAL mode. Reads and the queue use a small pool; ingest (and the
//! playback-session step that may precede it) and delivery results go through the single writer of
//! `sqlite_writer.rs`.

use super::sqlite_writer::{FinishJob, IngestJob, MAX_BATCH, Step, Write, Writer, write_loop};
use super::{Ingest, IngestOutcome, Intake, SqlStore, SqliteStore, StoreError};
use crate::event::EventId;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteQueryResult,
    SqliteSynchronous,
};
use sqlx::{Connection as _, SqliteConnection};
use std::str::FromStr;
use std::time::Duration;
use tokio::sync::mpsc;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

impl super::Dialect for sqlx::Sqlite {
    const BACKEND: &'static str = "sqlite";
    const OUTBOX_LOCK: &'static str = "";
    // Without statistics SQLite's planner prefers the (status, id) index and sorts every pending row: the
    // claim would cost as much as the backlog. Name the partial index of due rows.
    const CLAIM_INDEX: &'static str = " INDEXED BY deliveries_due";
    const CLAIM_LOCK: &'static str = "";
    // The single writer holds SQLite's write lock for the whole step.
    const ROW_LOCK: &'static str = "";

    type Writer = Writer;

    fn migrator() -> &'static Migrator {
        &MIGRATOR
    }

    async fn migrate(pool: &SqlitePool) -> Result<(), StoreError> {
        MIGRATOR.run(pool).await?;
        Ok(())
    }

    async fn begin_write(
        pool: &SqlitePool,
    ) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        pool.begin_with("BEGIN IMMEDIATE").await
    }

    fn rows_affected(done: &SqliteQueryResult) -> u64 {
        done.rows_affected()
    }

    async fn announce(_: &SqlitePool, _: &'static str, _: &str) -> Result<(), StoreError> {
        Ok(())
    }

    async fn finish_through(
        writer: &Writer,
        batch: &[super::DeliveryResult],
    ) -> Result<(), StoreError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = Write::Finish(FinishJob {
            results: batch.to_vec(),
            reply,
        });
        writer
            .0
            .send(job)
            .await
            .map_err(|_| StoreError::WriterStopped)?;
        answer.await.unwrap_or(Err(StoreError::WriterStopped))
    }

    async fn announcements(
        _: &SqlitePool,
        _: &'static str,
    ) -> Result<Option<super::dialect::Announcements>, StoreError> {
        Ok(None)
    }
}

/// How many prepared statements the single writer keeps.
const WRITER_STATEMENTS_KEPT: usize = 16;

impl SqliteStore {
    /// Opens (creating the file and its folder) the database at a `sqlite://path` URL.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let file = options.get_filename();
        if let Some(dir) = file
            .parent()
            .filter(|d| !d.as_os_str().is_empty() && !d.exists())
        {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Db(sqlx::Error::Io(e)))?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(1)
            .after_release(|conn, _| Box::pin(super::dialect::out_of_transaction(conn)))
            .connect_with(options.clone())
            .await?;
        // The writer's scripts change text with their batches' rows; a drain repeats a few shapes (full
        // batches), the rest are seen once. A short cache keeps the few, where sqlx's default of 100 kept
        // every passing shape prepared with its hundreds of values (+14–20 MB peak RSS draining).
        let conn = SqliteConnection::connect_with(
            &options
                .clone()
                .statement_cache_capacity(WRITER_STATEMENTS_KEPT),
        )
        .await?;
        let (tx, rx) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(write_loop(conn, rx));
        Ok(SqlStore {
            pool,
            writer: Writer(tx),
        })
    }
}

#[async_trait::async_trait]
impl Intake for SqliteStore {
    async fn ingest(&self, mut ingest: Ingest) -> Result<IngestOutcome, StoreError> {
        // Serialized and compressed here, on the caller's task, so the single writer only writes.
        let envelope = super::Packed::pack(super::envelope_json(&ingest.event));
        let body = super::Packed::pack(std::mem::take(&mut ingest.raw.body));
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.writer
            .0
            .send(Write::Ingest(Box::new(IngestJob {
                ingest,
                envelope,
                body,
                reply,
            })))
            .await
            .map_err(|_| StoreError::WriterStopped)?;
        answer.await.map_err(|_| StoreError::WriterStopped)?
    }

    async fn playback_transition(
        &self,
        source: &str,
        signal: &crate::playback::Signal,
        event: &EventId,
        now: chrono::DateTime<chrono::Utc>,
        window_ms: i64,
    ) -> Result<crate::playback::Outcome, StoreError> {
        // Through the single writer: no wait on SQLite's write lock, and one commit for every step waiting.
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.writer
            .0
            .send(Write::Playback(Step {
                source: source.to_owned(),
                signal: signal.clone(),
                event: event.clone(),
                now,
                window_ms,
                reply,
            }))
            .await
            .map_err(|_| StoreError::WriterStopped)?;
        answer.await.map_err(|_| StoreError::WriterStopped)?
    }
}
