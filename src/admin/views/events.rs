//! Events: the newest, filtered by name, source and text, with new ones added live by the page's script;
//! one event with its summary, normalized JSON, the raw request (admins), its deliveries and replay.

use super::{Layout, LoggedIn, iso, render};
use crate::api::{ApiError, AppState};
use crate::operations::events::event_and_deliveries;
use crate::storage::EventQuery;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;

/// The filters of the list (`?event=&source=&q=`).
#[derive(Debug, Default, serde::Deserialize)]
pub struct Filters {
    #[serde(default)]
    event: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    q: String,
    /// Older than this event (the page before's last).
    #[serde(default)]
    before: String,
}

pub struct Row {
    pub id: String,
    pub event: &'static str,
    pub source: String,
    pub summary: String,
    pub at: String,
}

#[derive(Template)]
#[template(path = "events.html")]
struct EventsPage {
    layout: Layout,
    filters: Filters,
    /// Every source's name, and whether the filter names it.
    sources: Vec<(String, bool)>,
    rows: Vec<Row>,
    /// The newest event now: the live list follows the stream from it.
    since: String,
    /// The link to the next older page, when there is one.
    older: Option<String>,
}

/// How many events the list shows.
const SHOWN: u32 = 100;

pub async fn list(
    State(state): State<AppState>,
    who: LoggedIn,
    Query(filters): Query<Filters>,
) -> Result<Response, ApiError> {
    let query = EventQuery {
        events: filters
            .event
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(str::to_owned)
            .collect(),
        source: Some(filters.source.trim().to_owned()).filter(|s| !s.is_empty()),
        q: Some(filters.q.trim().to_owned()).filter(|q| !q.is_empty()),
        before: crate::event::EventId::parse(filters.before.trim()),
        limit: SHOWN,
        ..Default::default()
    };
    let mut found = state.store.list_events(&query).await?;
    found.items = crate::operations::alert_scope::visible(
        state.store.as_ref(),
        who.caller.scope(),
        found.items,
    )
    .await;
    let older = found.next.map(|next| {
        super::page_link(
            "/admin/events",
            &[
                ("event", &filters.event),
                ("source", &filters.source),
                ("q", &filters.q),
                ("before", &next),
            ],
        )
    });
    let rows = found
        .items
        .into_iter()
        .map(|e| Row {
            id: e.id.to_string(),
            event: e.event.as_str(),
            source: e.source.name,
            summary: e.summary,
            at: iso(&e.timestamp),
        })
        .collect();
    let since = super::newest_event_id(&state).await?;
    let page = EventsPage {
        since,
        older,
        layout: Layout::new("Events", "/admin/events", &who),
        sources: state
            .sources
            .all()
            .iter()
            .map(|s| (s.name.clone(), s.name == filters.source.trim()))
            .collect(),
        filters,
        rows,
    };
    Ok(render(&page))
}

pub struct DeliveryRow {
    pub destination: String,
    pub status: &'static str,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub updated_at: String,
}

#[derive(Template)]
#[template(path = "event.html")]
struct EventPage {
    layout: Layout,
    id: String,
    event: &'static str,
    source: String,
    summary: String,
    at: String,
    normalized: String,
    /// Admins: the request as the app sent it (headers, then the body).
    raw: Option<String>,
    deliveries: Vec<DeliveryRow>,
    is_admin: bool,
    /// Admins: the config's destinations, to replay to some of them.
    destinations: Vec<String>,
}

pub async fn one(
    State(state): State<AppState>,
    who: LoggedIn,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (event, deliveries) =
        event_and_deliveries(state.store.as_ref(), &id, who.caller.scope()).await?;
    let deliveries = deliveries
        .into_iter()
        .map(|d| DeliveryRow {
            destination: d.destination,
            status: d.status.as_str(),
            attempts: d.attempts,
            last_error: d.last_error,
            updated_at: iso(&d.updated_at),
        })
        .collect();
    let raw = match who.caller.is_admin() {
        true => state.store.get_raw(&event.id).await?.map(|raw| {
            let headers: String = raw
                .headers
                .iter()
                .map(|(k, v)| format!("{k}: {}\n", v.as_str().unwrap_or_default()))
                .collect();
            let (body, _) = crate::api::text_or_base64(raw.body);
            format!("{headers}\n{body}")
        }),
        false => None,
    };
    let page = EventPage {
        layout: Layout::new(&event.summary, "/admin/events", &who),
        id: event.id.to_string(),
        event: event.event.as_str(),
        source: event.source.name.clone(),
        summary: event.summary.clone(),
        at: iso(&event.timestamp),
        normalized: serde_json::to_string_pretty(&event)
            .map_err(|e| ApiError::Internal(e.into()))?,
        raw,
        deliveries,
        is_admin: who.caller.is_admin(),
        destinations: match who.caller.is_admin() {
            true => state.engine.destination_names().into_iter().collect(),
            false => Vec::new(),
        },
    };
    Ok(render(&page))
}
