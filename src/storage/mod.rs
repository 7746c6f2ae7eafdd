//! Durable storage behind one trait, [`Store`], with two implementations: SQLite (the embedded default, one
//! file) and PostgreSQL (shared by several processes). Knows events, not HTTP.
//!
//! Both back-ends run the same SQL for reads and bookkeeping (sqlx's SQLite driver understands `$1`
//! placeholders), generated from one macro in [`sql`], so their behaviour cannot drift apart. Ingest, the hot
//! path, is written per back-end: SQLite group-commits batches from one writer, PostgreSQL runs one statement
//! per request; the same contract tests hold both to the same outcomes.

mod deliveries;
mod postgres;
mod queue_sql;
mod serve_lock;
mod sql;
mod sqlite;

pub use deliveries::{
    AttemptOutcome, AttemptRow, Claimed, DeliveryQuery, DeliveryResult, DeliveryRow,
    DeliveryStatus, DestinationState, NewDelivery, RetryFilter, StatusCount,
};

pub use postgres::PgStore;
pub use serve_lock::{ServeLock, ServeLockError};
pub use sqlite::SqliteStore;

use crate::event::{Event, EventId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
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
    #[error("the write batch failed: {0}")]
    BatchFailed(String),
}

/// The request as the app sent it.
#[derive(Debug, Clone, Default)]
pub struct RawRequest {
    pub content_type: Option<String>,
    /// The headers that matter (`User-Agent`, `Content-Type`, `Idempotency-Key`…), never auth headers.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A de-duplication key: the same key from the same source within the window is the same delivery.
#[derive(Debug, Clone)]
pub struct DedupeKey {
    /// `idem:<Idempotency-Key>` or `body:<sha256>`.
    pub key: String,
    pub window_ms: i64,
}

/// One parsed inbound request to store: the event, its raw body and its outbox marker, atomically.
#[derive(Debug, Clone)]
pub struct Ingest {
    pub event: Event,
    pub raw: RawRequest,
    pub dedupe: Option<DedupeKey>,
}

/// What [`Store::ingest`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum IngestOutcome {
    /// Newly stored (committed) with these ids.
    Stored(Vec<EventId>),
    /// A repeat within the dedupe window: nothing stored; these are the first request's ids.
    Duplicate(Vec<EventId>),
}

/// A body that authenticated but could not be parsed.
#[derive(Debug, Clone)]
pub struct Rejected {
    pub id: String,
    pub source: String,
    pub received_at: DateTime<Utc>,
    pub reason: String,
    pub raw: RawRequest,
}

/// A stored rejected body.
#[derive(Debug, Clone)]
pub struct RejectedRow {
    pub id: String,
    pub source: String,
    pub received_at: DateTime<Utc>,
    pub reason: String,
    pub content_type: Option<String>,
    /// The body as text (lossy for non-UTF-8 bytes).
    pub body: String,
}

/// Filters of `GET /api/events`.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    /// Event-name globs; any may match.
    pub events: Vec<String>,
    pub source: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Text that the summary contains.
    pub q: Option<String>,
    /// Return events older than this id (the previous page's last).
    pub before: Option<EventId>,
    pub limit: u32,
}

/// One page of a newest-first list.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The last item's key when more remain.
    pub next: Option<String>,
}

/// The raw request stored beside an event.
#[derive(Debug, Clone)]
pub struct StoredRaw {
    pub content_type: Option<String>,
    pub headers: serde_json::Map<String, serde_json::Value>,
    pub body: Vec<u8>,
}

/// A built-in source's row.
#[derive(Debug, Clone)]
pub struct SourceRow {
    pub name: String,
    pub app: String,
    pub token: String,
}

/// A user's role (CONTRACT §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    User,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::User => "user",
        }
    }

    fn parse(s: &str) -> Role {
        if s == "admin" {
            Role::Admin
        } else {
            Role::User
        }
    }
}

/// A user.
#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

/// Everything hookarr keeps. Implemented by [`SqliteStore`] and [`PgStore`].
#[async_trait]
pub trait Store: Queue + Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// Applies pending migrations.
    async fn migrate(&self) -> Result<(), StoreError>;
    /// Reachable, and every migration this binary knows is applied.
    async fn ready(&self) -> Result<bool, StoreError>;

    /// Stores an event, its raw body and its outbox marker in one transaction, unless the dedupe key was seen
    /// within its window. Returns only after the commit.
    async fn ingest(&self, ingest: Ingest) -> Result<IngestOutcome, StoreError>;
    /// Keeps a body that could not be parsed.
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
    async fn insert_rejected(&self, rejected: Rejected) -> Result<(), StoreError>;
    async fn list_rejected(
        &self,
        before: Option<String>,
        limit: u32,
    ) -> Result<Page<RejectedRow>, StoreError>;

    async fn list_events(&self, query: &EventQuery) -> Result<Page<Event>, StoreError>;
    async fn get_event(&self, id: &EventId) -> Result<Option<Event>, StoreError>;
    async fn get_raw(&self, id: &EventId) -> Result<Option<StoredRaw>, StoreError>;
    /// Events not yet routed, oldest first.
    async fn outbox(&self, limit: u32) -> Result<Vec<EventId>, StoreError>;

    /// Built-in sources with their generated tokens.
    async fn list_sources(&self) -> Result<Vec<SourceRow>, StoreError>;
    /// Creates a built-in source unless one of that name exists; returns whether it was created.
    async fn insert_source(&self, row: &SourceRow) -> Result<bool, StoreError>;

    async fn create_user(&self, name: &str, role: Role) -> Result<UserRow, StoreError>;
    async fn find_user(&self, name: &str) -> Result<Option<UserRow>, StoreError>;
    async fn list_users(&self) -> Result<Vec<UserRow>, StoreError>;
    /// Stores the hash of a new key for a user; returns the key's id.
    async fn insert_api_key(
        &self,
        user_id: &str,
        key_hash: &str,
        prefix: &str,
    ) -> Result<String, StoreError>;
    /// The user owning the key with this hash.
    async fn find_key_owner(&self, key_hash: &str) -> Result<Option<UserRow>, StoreError>;

    /// Deletes what is older than its cut-off: events (with their raw bodies, outbox rows, deliveries and
    /// attempts) and rejected bodies, dedupe keys, playback sessions; in batches. Returns how many events
    /// went.
    async fn purge(&self, before: &PurgeBefore) -> Result<u64, StoreError>;
}

/// The cut-offs of one [`Store::purge`].
#[derive(Debug, Clone, Copy)]
pub struct PurgeBefore {
    /// Events, deliveries, attempts, the ids of posted messages and rejected bodies received before this.
    pub events: DateTime<Utc>,
    /// Dedupe keys claimed before this (the window has passed).
    pub dedupe_keys: DateTime<Utc>,
    /// Playback sessions last heard of before this.
    pub sessions: DateTime<Utc>,
}

impl PurgeBefore {
    /// The cut-offs at `now` for a retention and a dedupe window; sessions last a day
    /// ([`crate::playback::SESSION_TTL_MS`]).
    pub fn at(now: DateTime<Utc>, retention_days: u32, dedupe_window_secs: u64) -> PurgeBefore {
        PurgeBefore {
            events: now - chrono::Duration::days(i64::from(retention_days)),
            dedupe_keys: now
                - chrono::Duration::seconds(
                    i64::try_from(dedupe_window_secs).unwrap_or(i64::MAX / 1000),
                ),
            sessions: now - chrono::Duration::milliseconds(crate::playback::SESSION_TTL_MS),
        }
    }
}

/// The delivery queue and its log (part of every [`Store`]).
#[async_trait]
pub trait Queue: Send + Sync + 'static {
    /// Routes up to `limit` outbox events, oldest first: `route` names each event's deliveries, which are
    /// inserted in the same transaction that deletes the outbox rows (several processes skip each other's rows
    /// on PostgreSQL). Returns how many events were routed.
    async fn route_outbox(
        &self,
        limit: u32,
        route: &(dyn for<'e> Fn(&'e Event) -> Vec<NewDelivery> + Send + Sync),
    ) -> Result<usize, StoreError>;
    /// Inserts deliveries due at once (replay).
    async fn insert_deliveries(&self, rows: &[NewDelivery]) -> Result<(), StoreError>;
    /// Leases up to `limit` due pending deliveries to `owner` until `lease_until`, oldest due first.
    async fn claim_due(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Claimed>, StoreError>;
    /// Leases the other pending deliveries of a group (same destination and key) not held by a live lease.
    async fn claim_group(
        &self,
        destination: &str,
        group_key: &str,
        except: &str,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Vec<Claimed>, StoreError>;
    /// Remembers the message a destination posted for a download (a grab's, for its import to edit).
    async fn remember_message(
        &self,
        destination: &str,
        download_id: &str,
        message_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// The message a destination posted for a download, if any.
    async fn message_for(
        &self,
        destination: &str,
        download_id: &str,
    ) -> Result<Option<String>, StoreError>;
    /// Makes a destination's waiting deliveries (not leased by a live worker) due now: it was re-enabled.
    async fn make_due(&self, destination: &str, now: DateTime<Utc>) -> Result<u64, StoreError>;
    /// Makes every leased pending delivery due now (a single-process SQLite start: no other process can hold
    /// a lease, so the leases are a killed run's). Returns how many.
    async fn release_leases(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
    /// Writes back what workers did, in one transaction.
    async fn finish(&self, batch: &[DeliveryResult]) -> Result<(), StoreError>;
    async fn list_deliveries(&self, q: &DeliveryQuery) -> Result<Page<DeliveryRow>, StoreError>;
    async fn get_delivery(&self, id: &str) -> Result<Option<DeliveryRow>, StoreError>;
    async fn attempts(&self, delivery_id: &str) -> Result<Vec<AttemptRow>, StoreError>;
    /// Makes finished deliveries due again now, with a fresh retry schedule: one by id, or by filter.
    async fn retry_deliveries(
        &self,
        id: Option<&str>,
        filter: Option<&RetryFilter>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError>;
    /// Delivery counts per destination and status.
    async fn delivery_counts(&self) -> Result<Vec<StatusCount>, StoreError>;
    async fn destination_states(&self) -> Result<Vec<DestinationState>, StoreError>;
    /// Disables (with a reason) or re-enables a destination; re-enabling also lifts a pause.
    async fn set_destination_disabled(
        &self,
        name: &str,
        disabled: Option<(&str, DateTime<Utc>)>,
    ) -> Result<(), StoreError>;
    async fn set_destination_paused(
        &self,
        name: &str,
        until: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError>;

    /// The stored signing secret of a destination, storing `candidate` first if it has none.
    async fn destination_secret(&self, name: &str, candidate: &str) -> Result<String, StoreError>;
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

/// An event read back from its stored envelope.
pub(crate) fn parse_envelope(json: &str) -> Result<Event, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("event envelope: {e}")))
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

impl<T> Page<T> {
    /// A page from a query that fetched `limit + 1` rows: the extra row only says that more remain, and the
    /// page's last item's `key` is where the next page starts.
    pub(crate) fn from_overfetch(
        mut items: Vec<T>,
        limit: u32,
        key: impl Fn(&T) -> String,
    ) -> Self {
        let limit = limit as usize;
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(key)
        } else {
            None
        };
        Page { items, next }
    }
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
