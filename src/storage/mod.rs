//! Durable storage behind one trait, [`Store`], made of one trait per aggregate — [`Events`], [`Intake`],
//! [`Accounts`], [`Queue`], [`DeliveryLog`], [`Destinations`], [`Webhooks`], [`Mocks`], [`Audit`], [`StoredConfig`], [`StoredTemplates`] — each in
//! its own file with its SQL. Knows
//! events, not HTTP.
//!
//! Both databases, SQLite (the embedded default, one file) and PostgreSQL (shared by several processes), run
//! the same SQL through one generic implementation, [`SqlStore<D>`], so their behaviour cannot drift apart;
//! [`Dialect`] holds the few clauses that differ. Only [`Intake`], the hot write path, is written per
//! back-end: SQLite group-commits batches from one writer, PostgreSQL runs one statement per request; the
//! same contract tests hold both to the same outcomes.

mod accounts;
mod audit;
mod chores;
mod compress;
mod deliveries;
mod delivery_log;
mod destinations;
mod dialect;
mod events;
mod fault;
mod logins;
mod mocks;
mod mqtt_docs;
mod postgres;
mod queue;
mod rate_budgets;
mod records;
mod results;
mod serve_lock;
mod sessions;
mod sqlite;
mod sqlite_ingests;
mod sqlite_script;
mod sqlite_writer;
mod stored_config;
mod stored_people;
mod stored_templates;
mod stories;
mod story_pass;
mod story_writes;
mod webhooks;

pub use deliveries::{
    AttemptOutcome, AttemptRow, Claimed, DeliveryQuery, DeliveryResult, DeliveryRow,
    DeliveryStatus, DestinationState, NewDelivery, RetryFilter, RoutedAtIngest, StatusCount,
};

pub use accounts::{Accounts, KeyOwner, KeyRow, Role, SourceRow, UserRow};
pub use audit::{Audit, AuditEntry};
pub use chores::Chores;
pub(crate) use compress::{Packed, unpack};
pub use delivery_log::{AttemptSample, DeliveryLog, QueueSnapshot};
pub use destinations::Destinations;
pub use dialect::{Announcements, Dialect, SqlStore};
pub use events::Events;
pub use fault::StorageFault;
pub use logins::{Login, Logins, NewLogin, config_key_marker, is_config_key_marker};
pub use mocks::{MOCK_REQUESTS_KEPT, MockRequest, MockRow, Mocks};
pub use mqtt_docs::MqttDocs;
pub use queue::Queue;
pub use rate_budgets::{Lease, RateBudgets};
pub use records::{
    DedupeKey, EventQuery, Ingest, IngestOutcome, Page, RawRequest, Rejected, RejectedRow,
    StoredRaw,
};
pub use serve_lock::{ServeLock, ServeLockError, sqlite_file};
pub use stored_config::{Saved, StoredConfig, StoredRow};
pub use stored_people::StoredPeople;
pub use stored_templates::{StoredTemplate, StoredTemplates, TemplateVersion};
pub use stories::{Stories, StoryQuery, TimelineEntry};
pub use story_pass::{JoinFn, Joined, StoryPasses, SweepFn};
pub use webhooks::{WebhookRow, Webhooks};

/// The embedded default: one SQLite file in WAL mode.
pub type SqliteStore = SqlStore<sqlx::Sqlite>;
/// PostgreSQL, for several processes sharing one database.
pub type PgStore = SqlStore<sqlx::Postgres>;

use crate::event::{Event, EventId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};
use std::sync::Arc;

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique value (user name, …) already exists.
    #[error("{0} already exists")]
    Conflict(String),
    /// A stored JSON document could not be read back.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The database refused or failed.
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    /// Migrations could not be applied.
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The SQLite writer task is gone (the process is shutting down).
    #[error("the storage writer has stopped")]
    WriterStopped,
    /// The group-commit batch this write belonged to failed as a whole; nothing of it was stored.
    #[error("the write batch failed: {message}")]
    BatchFailed {
        message: String,
        fault: Option<StorageFault>,
    },
}

/// Everything hookarr keeps: every aggregate's trait, implemented by [`SqlStore`] for both databases.
#[async_trait]
pub trait Store:
    Events
    + Intake
    + Accounts
    + Queue
    + DeliveryLog
    + Destinations
    + Webhooks
    + Mocks
    + Audit
    + Logins
    + StoredConfig
    + StoredTemplates
    + StoredPeople
    + Stories
    + StoryPasses
    + MqttDocs
    + RateBudgets
    + Chores
    + Send
    + Sync
    + 'static
{
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// Applies pending migrations.
    async fn migrate(&self) -> Result<(), StoreError>;
    /// Reachable, and every migration this binary knows is applied.
    async fn ready(&self) -> Result<bool, StoreError>;
    /// Writes one tiny row, to learn whether writes work now (a full disk, a read-only file).
    async fn write_probe(&self) -> Result<(), StoreError>;
    /// At a clean stop: SQLite folds its write-ahead log back into the file and empties it (nothing to do on
    /// PostgreSQL).
    async fn checkpoint(&self) -> Result<(), StoreError>;
    /// Tells the other processes sharing the database that events were routed (`payload` names them).
    async fn announce_routed(&self, payload: &str) -> Result<(), StoreError>;
    /// What other processes announce with [`Store::announce_routed`]; `None` where no other process can
    /// share the database (SQLite).
    async fn routed_announcements(&self) -> Result<Option<Announcements>, StoreError>;
}

/// How many batches of delivery results the store writes at once. Two keeps it busy (one committing, the
/// next queued behind it — on SQLite in its single writer's queue, on PostgreSQL on the second of its two
/// result connections).
pub const RESULT_WRITES_AT_ONCE: usize = 2;

/// The channel processes sharing a PostgreSQL database announce routed events on.
const ROUTED_CHANNEL: &str = "hookarr_routed";

/// Storing what arrives — the hot write path, which each back-end writes its own way (`sqlite.rs`,
/// `postgres.rs`).
#[async_trait]
pub trait Intake: Send + Sync + 'static {
    /// Stores an event, its raw body and its outbox marker in one transaction, unless the dedupe key was seen
    /// within its window. Returns only after the commit.
    async fn ingest(&self, ingest: Ingest) -> Result<IngestOutcome, StoreError>;
    /// Applies a media server's playback notification to the stored state of its (source, session, item)
    /// and says what it becomes ([`crate::playback::transition`]); one transaction, row-locked on
    /// PostgreSQL, so concurrent copies (one per user, several processes) see each other.
    async fn playback_transition(
        &self,
        source: &str,
        signal: &crate::playback::Signal,
        event: &EventId,
        now: DateTime<Utc>,
        window_ms: i64,
    ) -> Result<crate::playback::Outcome, StoreError>;
}

#[async_trait]
impl<D> Store for SqlStore<D>
where
    D: Dialect,
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    D::Arguments: IntoArguments<D>,
    for<'q> &'q str: Encode<'q, D> + Decode<'q, D> + Type<D> + ColumnIndex<D::Row>,
    for<'q> &'q [u8]: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> String: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> i64: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> Option<&'q str>: Encode<'q, D>,
    for<'q> Option<i64>: Encode<'q, D>,
    for<'q> Vec<u8>: Decode<'q, D> + Type<D>,
    usize: ColumnIndex<D::Row>,
    SqlStore<D>: Intake,
{
    fn backend(&self) -> &'static str {
        D::BACKEND
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        D::migrate(&self.pool).await
    }

    async fn ready(&self) -> Result<bool, StoreError> {
        let applied: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_one(&self.pool)
                .await?;
        let known = D::migrator().iter().map(|m| m.version).max();
        Ok(applied == known)
    }

    async fn write_probe(&self) -> Result<(), StoreError> {
        sqlx::query("UPDATE readiness SET checked_at = $1 WHERE id = 1")
            .bind(Utc::now().timestamp_millis())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn checkpoint(&self) -> Result<(), StoreError> {
        if D::BACKEND == "sqlite" {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    async fn announce_routed(&self, payload: &str) -> Result<(), StoreError> {
        D::announce(&self.pool, ROUTED_CHANNEL, payload).await
    }

    async fn routed_announcements(&self) -> Result<Option<Announcements>, StoreError> {
        D::announcements(&self.pool, ROUTED_CHANNEL).await
    }
}

/// The cut-offs of one [`Events::purge`].
#[derive(Debug, Clone, Copy)]
pub struct PurgeBefore {
    /// Events, deliveries, attempts, the ids of posted messages and rejected bodies received before this.
    pub events: DateTime<Utc>,
    /// `playback.progress` events received before this (with their deliveries and attempts).
    pub progress: DateTime<Utc>,
    /// Dedupe keys claimed before this (the window has passed).
    pub dedupe_keys: DateTime<Utc>,
    /// Playback sessions last heard of before this.
    pub sessions: DateTime<Utc>,
}

impl PurgeBefore {
    /// The cut-offs at `now` for the retentions (`storage`) and a dedupe window; sessions last a day
    /// ([`crate::playback::SESSION_TTL_MS`]).
    pub fn at(
        now: DateTime<Utc>,
        storage: &crate::config::Storage,
        dedupe_window_secs: u64,
    ) -> PurgeBefore {
        let days = |d: u32| now - chrono::Duration::days(i64::from(d));
        PurgeBefore {
            events: days(storage.retention_days),
            progress: days(storage.progress_retention_days.min(storage.retention_days)),
            dedupe_keys: now
                - chrono::Duration::seconds(
                    i64::try_from(dedupe_window_secs).unwrap_or(i64::MAX / 1000),
                ),
            sessions: now - chrono::Duration::milliseconds(crate::playback::SESSION_TTL_MS),
        }
    }
}

/// Opens the store named by a `storage.url`, creating the SQLite file and its folder, and migrates it.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    let store: Arc<dyn Store> = if is_postgres_url(url) {
        Arc::new(PgStore::connect(url).await?)
    } else {
        Arc::new(SqliteStore::connect(url).await?)
    };
    store.migrate().await?;
    Ok(store)
}

/// Whether `storage.url` names a PostgreSQL database (anything else is a SQLite file).
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// The stored form of an event: its envelope as JSON.
pub(crate) fn envelope_json(event: &Event) -> String {
    serde_json::to_string(event).expect("an Event serializes: plain structs with string keys")
}

/// An event read back from its stored envelope: the `envelope` column, or the frame of `envelope_z` when
/// there is one (`compress.rs`).
pub(crate) fn parse_envelope(plain: &str, frame: Option<&[u8]>) -> Result<Event, StoreError> {
    let json = unpack(plain.as_bytes(), frame)?;
    serde_json::from_slice(&json).map_err(|e| StoreError::Corrupt(format!("event envelope: {e}")))
}

/// The stored form of the kept request headers: a JSON object.
pub(crate) fn headers_json(headers: &[(String, String)]) -> String {
    let map: serde_json::Map<String, serde_json::Value> = headers
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    serde_json::Value::Object(map).to_string()
}

/// `dedupe_keys.event_ids` (comma-separated) as ids.
pub(crate) fn parse_event_ids(ids: &str) -> Vec<EventId> {
    ids.split(',').filter_map(EventId::parse).collect()
}

/// Unix milliseconds of a time.
pub(crate) fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// `*` → `%`, with `%`, `_` and `\` escaped, for `LIKE … ESCAPE '\'`.
pub(crate) fn glob_to_like(glob: &str) -> String {
    let mut out = String::with_capacity(glob.len());
    for c in glob.chars() {
        match c {
            '*' => out.push('%'),
            '%' | '_' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}
