//! What arrives and what is read back of it: a request as its app sent it, an ingest and its outcome, the
//! bodies that could not be read, and the queries and pages of the event list.

use super::RoutedAtIngest;
use crate::event::{Event, EventId};
use chrono::{DateTime, Utc};

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

/// One parsed inbound request to store: the event, its raw body and its outbox marker (or its deliveries,
/// routed already), atomically.
#[derive(Debug, Clone)]
pub struct Ingest {
    pub event: Event,
    pub raw: RawRequest,
    pub dedupe: Option<DedupeKey>,
    /// Deliveries routed as the event is stored (see `delivery::engine::at_ingest`); without them, the
    /// event waits in the outbox for the router.
    pub routed: Option<RoutedAtIngest>,
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
