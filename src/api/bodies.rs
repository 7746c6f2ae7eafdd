//! What the API answers with for stored things: each storage row has a body of its own here, so the wire
//! format (CONTRACT §7: times as RFC 3339 with milliseconds, statuses and outcomes by name) is decided by
//! the API, and a column added to a table reaches no client by accident.

use crate::event::{millis_rfc3339, opt_millis_rfc3339};
use crate::storage::{AttemptRow, DeliveryRow, RejectedRow};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// A delivery (`GET /api/deliveries`, `GET /api/events/{id}`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryBody {
    #[serde(flatten)]
    delivery: DeliveryFields,
    /// How many attempts were made.
    attempts: u32,
}

/// What a delivery is, in the list and alone.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryFields {
    id: String,
    event_id: String,
    /// The event's name.
    event: String,
    /// A destination's name or a registered webhook's id.
    destination: String,
    /// `pending`, `succeeded`, `failed`, `dead` or `expired`.
    status: &'static str,
    #[serde(with = "opt_millis_rfc3339")]
    next_attempt_at: Option<DateTime<Utc>>,
    #[serde(with = "opt_millis_rfc3339")]
    expires_at: Option<DateTime<Utc>>,
    #[serde(with = "millis_rfc3339")]
    created_at: DateTime<Utc>,
    #[serde(with = "millis_rfc3339")]
    updated_at: DateTime<Utc>,
    last_status: Option<u16>,
    last_error: Option<String>,
}

impl From<DeliveryRow> for DeliveryBody {
    fn from(r: DeliveryRow) -> Self {
        DeliveryBody {
            attempts: r.attempts,
            delivery: r.into(),
        }
    }
}

impl From<DeliveryRow> for DeliveryFields {
    fn from(r: DeliveryRow) -> Self {
        DeliveryFields {
            id: r.id,
            event_id: r.event_id,
            event: r.event,
            destination: r.destination,
            status: r.status.as_str(),
            next_attempt_at: r.next_attempt_at,
            expires_at: r.expires_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
            last_status: r.last_status,
            last_error: r.last_error,
        }
    }
}

/// One logged attempt (`GET /api/deliveries/{id}`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AttemptBody {
    attempt: u32,
    #[serde(with = "millis_rfc3339")]
    started_at: DateTime<Utc>,
    duration_ms: u64,
    outcome: String,
    status_code: Option<u16>,
    response_headers: serde_json::Map<String, serde_json::Value>,
    response_body: Option<String>,
    error: Option<String>,
    /// The body sent (kept for registered webhooks).
    request_body: Option<String>,
}

impl From<AttemptRow> for AttemptBody {
    fn from(a: AttemptRow) -> Self {
        AttemptBody {
            attempt: a.attempt,
            started_at: a.started_at,
            duration_ms: a.duration_ms,
            outcome: a.outcome.name().into_owned(),
            status_code: a.status_code,
            response_headers: a.response_headers,
            response_body: a.response_body,
            error: a.error,
            request_body: a.request_body,
        }
    }
}

/// A delivery with its attempts (`GET /api/deliveries/{id}`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryWithAttempts {
    #[serde(flatten)]
    delivery: DeliveryFields,
    /// Every attempt, oldest first.
    attempts: Vec<AttemptBody>,
}

impl DeliveryWithAttempts {
    pub fn new(row: DeliveryRow, attempts: Vec<AttemptRow>) -> Self {
        DeliveryWithAttempts {
            delivery: row.into(),
            attempts: attempts.into_iter().map(AttemptBody::from).collect(),
        }
    }
}

/// A body hookarr could not parse, kept (`GET /api/rejected`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RejectedBody {
    id: String,
    source: String,
    #[serde(with = "millis_rfc3339")]
    received_at: DateTime<Utc>,
    reason: String,
    content_type: Option<String>,
    body: String,
}

impl From<RejectedRow> for RejectedBody {
    fn from(r: RejectedRow) -> Self {
        RejectedBody {
            id: r.id,
            source: r.source,
            received_at: r.received_at,
            reason: r.reason,
            content_type: r.content_type,
            body: r.body,
        }
    }
}

/// Bytes as the API shows them: the text when they are UTF-8 (`utf8`), else their base64 (`base64`).
pub fn text_or_base64(bytes: Vec<u8>) -> (String, &'static str) {
    use base64::Engine;
    match String::from_utf8(bytes) {
        Ok(text) => (text, "utf8"),
        Err(e) => (
            base64::engine::general_purpose::STANDARD.encode(e.as_bytes()),
            "base64",
        ),
    }
}
