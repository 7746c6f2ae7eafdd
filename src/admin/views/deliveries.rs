//! Deliveries: filtered by status and destination, with "retry every dead one" and its progress; one
//! delivery with the timeline of its attempts (status, latency, headers, body excerpt) and a retry button.
//! A user sees the deliveries to their own webhooks.

use super::{Layout, LoggedIn, iso, render};
use crate::api::{ApiError, AppState, visible_delivery};
use crate::storage::{DeliveryQuery, DeliveryStatus};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;

#[derive(Debug, Default, serde::Deserialize)]
pub struct Filters {
    #[serde(default)]
    status: String,
    #[serde(default)]
    destination: String,
    /// Older than this delivery (the page before's last).
    #[serde(default)]
    before: String,
}

pub struct Row {
    pub id: String,
    pub destination: String,
    pub event: String,
    pub status: &'static str,
    pub attempts: u32,
    pub last_error: Option<String>,
    /// When it was made: the list's order.
    pub created_at: String,
    /// What it delivers: the event's summary.
    pub summary: Option<String>,
}

#[derive(Template)]
#[template(path = "deliveries.html")]
struct DeliveriesPage {
    layout: Layout,
    filters: Filters,
    /// Every status, and whether the filter names it.
    statuses: Vec<(&'static str, bool)>,
    rows: Vec<Row>,
    /// The body of "retry every dead one": the destination filter, if any.
    retry_body: String,
    /// The link to the next older page, when there is one.
    older: Option<String>,
}

const STATUSES: [&str; 5] = ["pending", "succeeded", "failed", "dead", "expired"];

pub async fn list(
    State(state): State<AppState>,
    who: LoggedIn,
    Query(filters): Query<Filters>,
) -> Result<Response, ApiError> {
    let status = match filters.status.as_str() {
        "" => None,
        s => Some(DeliveryStatus::parse(s).ok_or_else(|| {
            ApiError::invalid_param("status", "one of pending, succeeded, failed, dead, expired")
        })?),
    };
    let destination = Some(filters.destination.trim().to_owned()).filter(|d| !d.is_empty());
    let page = state
        .store
        .list_deliveries(&DeliveryQuery {
            status,
            destination: destination.clone(),
            owner: who.caller.scope().map(str::to_owned),
            before: Some(filters.before.trim().to_owned()).filter(|b| !b.is_empty()),
            limit: 200,
            ..Default::default()
        })
        .await?;
    let older = page.next.as_deref().map(|next| {
        super::page_link(
            "/admin/deliveries",
            &[
                ("status", &filters.status),
                ("destination", &filters.destination),
                ("before", next),
            ],
        )
    });
    let rows = page
        .items
        .into_iter()
        .map(|d| Row {
            id: d.id,
            destination: d.destination,
            event: d.event,
            status: d.status.as_str(),
            attempts: d.attempts,
            last_error: d.last_error,
            created_at: iso(&d.created_at),
            summary: d.summary,
        })
        .collect();
    let retry_body = serde_json::json!({"status": "dead", "destination": destination}).to_string();
    let page = DeliveriesPage {
        layout: Layout::new("Deliveries", "/admin/deliveries", &who),
        statuses: STATUSES
            .iter()
            .map(|s| (*s, *s == filters.status))
            .collect(),
        filters,
        rows,
        retry_body,
        older,
    };
    Ok(render(&page))
}

pub struct AttemptView {
    pub attempt: u32,
    pub started_at: String,
    pub duration_ms: u64,
    pub outcome: String,
    pub status_code: Option<u16>,
    pub headers: String,
    pub body: Option<String>,
    pub error: Option<String>,
    pub sent: Option<String>,
}

#[derive(Template)]
#[template(path = "delivery.html")]
struct DeliveryPage {
    layout: Layout,
    id: String,
    event_id: String,
    event: String,
    destination: String,
    status: &'static str,
    retryable: bool,
    next_attempt_at: Option<String>,
    attempts: Vec<AttemptView>,
}

/// How much of an answer's body the timeline shows.
const BODY_EXCERPT: usize = 2000;

pub async fn one(
    State(state): State<AppState>,
    who: LoggedIn,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (row, _) = visible_delivery(&state, &who.caller, &id).await?;
    let attempts = state
        .store
        .attempts(&id)
        .await?
        .into_iter()
        .map(|a| AttemptView {
            attempt: a.attempt,
            started_at: iso(&a.started_at),
            duration_ms: a.duration_ms,
            outcome: a.outcome.name().into_owned(),
            status_code: a.status_code,
            headers: a
                .response_headers
                .iter()
                .map(|(k, v)| format!("{k}: {}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join("\n"),
            body: a
                .response_body
                .map(|b| crate::outbound::templates::truncate_chars(&b, BODY_EXCERPT)),
            error: a.error,
            sent: a.request_body,
        })
        .collect();
    let page = DeliveryPage {
        layout: Layout::new("Delivery", "/admin/deliveries", &who),
        retryable: row.status.is_retryable(),
        next_attempt_at: row.next_attempt_at.as_ref().map(iso),
        id: row.id,
        event_id: row.event_id,
        event: row.event,
        destination: row.destination,
        status: row.status.as_str(),
        attempts,
    };
    Ok(render(&page))
}
