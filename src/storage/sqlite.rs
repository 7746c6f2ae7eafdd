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
    writer: mpsc::Sender<Job>,
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

/// One queued ingest: the request, its envelope already serialized by the caller's task, and where to answer.
struct Job {
    ingest: super::Ingest,
    envelope: String,
    reply: Reply,
}

/// Commits waiting ingests in batches until every sender is gone.
async fn write_loop(mut conn: SqliteConnection, mut rx: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let result = commit_batch(&mut conn, &batch).await;
        if let Err(error) = &result {
            tracing::error!(message = "SQLite batch commit failed.", %error, requests = batch.len());
            let _ = sqlx::query("ROLLBACK").execute(&mut conn).await;
        }
        for (i, job) in batch.drain(..).enumerate() {
            let outcome = match &result {
                Ok(outcomes) => Ok(outcomes[i].clone()),
                Err(error) => Err(super::StoreError::Db(sqlx::Error::Protocol(format!(
                    "batch commit failed: {error}"
                )))),
            };
            let _ = job.reply.send(outcome);
        }
    }
}

/// What happens to one job of a batch.
enum Plan {
    /// Store it (its dedupe key, if any, is claimed).
    Store,
    /// A repeat of an earlier job in this batch.
    SameAs(usize),
    /// A repeat of a stored event; the ids are read from `dedupe_keys`.
    Stored,
}

/// One transaction for the whole batch, with one multi-row statement per table: claim the dedupe keys, then
/// insert the events, their raw bodies and their outbox rows.
async fn commit_batch(
    conn: &mut SqliteConnection,
    batch: &[Job],
) -> Result<Vec<super::IngestOutcome>, sqlx::Error> {
    use super::IngestOutcome;
    sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
    let mut plans = Vec::with_capacity(batch.len());
    let mut first_of_key = std::collections::HashMap::new();
    for (i, job) in batch.iter().enumerate() {
        plans.push(match &job.ingest.dedupe {
            Some(d) => match first_of_key
                .entry((job.ingest.event.source.name.as_str(), d.key.as_str()))
            {
                std::collections::hash_map::Entry::Occupied(first) => Plan::SameAs(*first.get()),
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(i);
                    Plan::Store
                }
            },
            None => Plan::Store,
        });
    }
    let claimed = claim_keys(conn, batch, &plans).await?;
    for (i, job) in batch.iter().enumerate() {
        if job.ingest.dedupe.is_some() && matches!(plans[i], Plan::Store) && !claimed.contains(&i) {
            plans[i] = Plan::Stored;
        }
    }
    let to_store: Vec<&Job> = batch
        .iter()
        .zip(&plans)
        .filter(|(_, p)| matches!(p, Plan::Store))
        .map(|(j, _)| j)
        .collect();
    for chunk in to_store.chunks(ROWS_PER_STATEMENT) {
        insert_rows(conn, chunk).await?;
    }
    let mut outcomes = Vec::with_capacity(batch.len());
    for (i, job) in batch.iter().enumerate() {
        outcomes.push(match plans[i] {
            Plan::Store => IngestOutcome::Stored(vec![job.ingest.event.id.clone()]),
            Plan::SameAs(first) => {
                IngestOutcome::Duplicate(vec![batch[first].ingest.event.id.clone()])
            }
            Plan::Stored => {
                let dedupe = job
                    .ingest
                    .dedupe
                    .as_ref()
                    .expect("only jobs with a key are planned as repeats");
                let ids: String = sqlx::query_scalar(
                    "SELECT event_ids FROM dedupe_keys WHERE source = $1 AND key = $2",
                )
                .bind(&job.ingest.event.source.name)
                .bind(&dedupe.key)
                .fetch_one(&mut *conn)
                .await?;
                IngestOutcome::Duplicate(
                    ids.split(',')
                        .filter_map(crate::event::EventId::parse)
                        .collect(),
                )
            }
        });
    }
    sqlx::query("COMMIT").execute(&mut *conn).await?;
    Ok(outcomes)
}

/// Rows per multi-row INSERT (6 binds each, far below SQLite's 32766-variable limit).
const ROWS_PER_STATEMENT: usize = 128;

/// Claims the dedupe keys of the jobs planned for storing; returns the indexes whose claim succeeded (no
/// claim younger than the window held the key). Keys in one statement share a window (in practice there is
/// one, `server.dedupe_window_secs`), and the batch itself holds each key once (see `commit_batch`).
async fn claim_keys(
    conn: &mut SqliteConnection,
    batch: &[Job],
    plans: &[Plan],
) -> Result<std::collections::HashSet<usize>, sqlx::Error> {
    let mut by_window: std::collections::BTreeMap<i64, Vec<usize>> =
        std::collections::BTreeMap::new();
    for (i, job) in batch.iter().enumerate() {
        if let (Some(d), Plan::Store) = (&job.ingest.dedupe, &plans[i]) {
            by_window.entry(d.window_ms).or_default().push(i);
        }
    }
    let mut claimed = std::collections::HashSet::new();
    for (window, keyed) in by_window {
        for chunk in keyed.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO dedupe_keys (source, key, event_ids, created_at) VALUES {} \
                 ON CONFLICT (source, key) DO UPDATE SET event_ids = excluded.event_ids, \
                 created_at = excluded.created_at WHERE dedupe_keys.created_at < excluded.created_at - ${} \
                 RETURNING source, key",
                placeholders(chunk.len(), 4),
                chunk.len() * 4 + 1
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for &i in chunk {
                let e = &batch[i].ingest.event;
                let key = &batch[i]
                    .ingest
                    .dedupe
                    .as_ref()
                    .expect("grouped by its key's window")
                    .key;
                query = query
                    .bind(&e.source.name)
                    .bind(key)
                    .bind(e.id.as_str())
                    .bind(super::millis(e.timestamp));
            }
            let rows = query.bind(window).fetch_all(&mut *conn).await?;
            let won: std::collections::HashSet<(String, String)> = rows
                .iter()
                .map(|r| (r.get::<String, _>(0), r.get::<String, _>(1)))
                .collect();
            for &i in chunk {
                let job = &batch[i].ingest;
                let key = (
                    job.event.source.name.clone(),
                    job.dedupe.as_ref().expect("keyed").key.clone(),
                );
                if won.contains(&key) {
                    claimed.insert(i);
                }
            }
        }
    }
    Ok(claimed)
}

/// `($1, $2), ($3, $4), …`: `rows` tuples of `cols` placeholders.
fn placeholders(rows: usize, cols: usize) -> String {
    (0..rows)
        .map(|n| {
            let cells: Vec<String> = (1..=cols).map(|c| format!("${}", n * cols + c)).collect();
            format!("({})", cells.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// One multi-row INSERT per table for the jobs to store.
async fn insert_rows(conn: &mut SqliteConnection, jobs: &[&Job]) -> Result<(), sqlx::Error> {
    let placeholders = |cols| placeholders(jobs.len(), cols);
    let sql = format!(
        "INSERT INTO events (id, event, source, received_at, summary, envelope) VALUES {}",
        placeholders(6)
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for j in jobs {
        let e = &j.ingest.event;
        q = q
            .bind(e.id.as_str())
            .bind(e.event.as_str())
            .bind(&e.source.name)
            .bind(super::millis(e.timestamp))
            .bind(&e.summary)
            .bind(&j.envelope);
    }
    q.execute(&mut *conn).await?;
    let sql = format!(
        "INSERT INTO event_raw (event_id, content_type, headers, body) VALUES {}",
        placeholders(4)
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for j in jobs {
        q = q
            .bind(j.ingest.event.id.as_str())
            .bind(j.ingest.raw.content_type.as_deref())
            .bind(headers_json(&j.ingest.raw.headers))
            .bind(j.ingest.raw.body.as_slice());
    }
    q.execute(&mut *conn).await?;
    let sql = format!(
        "INSERT INTO outbox (event_id, created_at) VALUES {}",
        placeholders(2)
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for j in jobs {
        q = q
            .bind(j.ingest.event.id.as_str())
            .bind(super::millis(j.ingest.event.timestamp));
    }
    q.execute(&mut *conn).await?;
    Ok(())
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
        // Serialized here, on the caller's task, so the single writer only writes.
        let envelope =
            serde_json::to_string(&ingest.event).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.writer
            .send(Job {
                ingest,
                envelope,
                reply,
            })
            .await
            .map_err(|_| StoreError::WriterStopped)?;
        answer.await.map_err(|_| StoreError::WriterStopped)?
    }
});
