//! The embedded default: one SQLite file in WAL mode. Reads use a small pool; ingest goes through one writer
//! task that commits whatever requests are waiting in a single transaction (group commit, each request in
//! its own savepoint), so durable ingest costs one fsync per batch instead of one per request.

use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Connection as _, SqliteConnection};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// The most requests committed in one transaction.
const MAX_BATCH: usize = 256;

type Reply = oneshot::Sender<Result<super::IngestOutcome, super::StoreError>>;

/// SQLite-backed [`super::Store`].
pub struct SqliteStore {
    pool: SqlitePool,
    writer: mpsc::Sender<(super::Ingest, Reply)>,
}

impl SqliteStore {
    /// Opens (creating the file and its folder) the database at a `sqlite://path` URL.
    pub async fn connect(url: &str) -> Result<Self, super::StoreError> {
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
            create_dir(dir)?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(1)
            .connect_with(options.clone())
            .await?;
        let conn = SqliteConnection::connect_with(&options).await?;
        let (tx, rx) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(write_loop(conn, rx));
        Ok(Self { pool, writer: tx })
    }
}

fn create_dir(dir: &Path) -> Result<(), super::StoreError> {
    std::fs::create_dir_all(dir).map_err(|e| super::StoreError::Db(sqlx::Error::Io(e)))
}

/// Commits waiting ingests in batches until every sender is gone.
async fn write_loop(mut conn: SqliteConnection, mut rx: mpsc::Receiver<(super::Ingest, Reply)>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        match commit_batch(&mut conn, &batch).await {
            Ok(outcomes) => {
                for ((_, reply), outcome) in batch.drain(..).zip(outcomes) {
                    let _ = reply.send(outcome);
                }
            }
            Err(error) => {
                tracing::error!(message = "SQLite batch commit failed.", %error, requests = batch.len());
                for (_, reply) in batch.drain(..) {
                    let _ = reply.send(Err(super::StoreError::Db(sqlx::Error::Protocol(format!(
                        "batch commit failed: {error}"
                    )))));
                }
            }
        }
    }
}

/// One transaction for the batch; a request whose statements fail is rolled back to its savepoint alone.
async fn commit_batch(
    conn: &mut SqliteConnection,
    batch: &[(super::Ingest, Reply)],
) -> Result<Vec<Result<super::IngestOutcome, super::StoreError>>, sqlx::Error> {
    sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
    let mut outcomes = Vec::with_capacity(batch.len());
    for (ingest, _) in batch {
        sqlx::query("SAVEPOINT ingest").execute(&mut *conn).await?;
        let outcome = ingest_in(conn, ingest).await;
        if outcome.is_err() {
            sqlx::query("ROLLBACK TO ingest")
                .execute(&mut *conn)
                .await?;
        }
        sqlx::query("RELEASE ingest").execute(&mut *conn).await?;
        outcomes.push(outcome);
    }
    if let Err(e) = sqlx::query("COMMIT").execute(&mut *conn).await {
        let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
        return Err(e);
    }
    Ok(outcomes)
}

super::sql::shared_queries!(SqliteStore, sqlx::Sqlite, MIGRATOR, {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    async fn ingest(&self, ingest: Ingest) -> Result<IngestOutcome, StoreError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.writer
            .send((ingest, reply))
            .await
            .map_err(|_| StoreError::WriterStopped)?;
        answer.await.map_err(|_| StoreError::WriterStopped)?
    }
});
