//! `GET /api/events`, `GET /api/events/{id}` and `GET /api/rejected`.

use super::auth::Caller;
use super::bodies::{DeliveryBody, RejectedBody, text_or_base64};
use super::{ApiError, AppState};
use crate::event::EventId;
use crate::storage::{EventQuery, Page};
use axum::Json;
use axum::extract::{Path, Query, State};
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The list response of CONTRACT §7.
#[derive(Debug, Serialize)]
pub struct ListResponse<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> ListResponse<T> {
    /// Every item in one page (lists that are never long: users, keys, mocks).
    pub fn whole(items: Vec<T>) -> Self {
        ListResponse {
            items,
            next_cursor: None,
        }
    }
}

impl<T, R> From<Page<R>> for ListResponse<T>
where
    T: From<R>,
{
    fn from(page: Page<R>) -> Self {
        Self {
            items: page.items.into_iter().map(T::from).collect(),
            next_cursor: page.next.map(|k| encode_cursor(&k)),
        }
    }
}

/// Query string of `GET /api/events`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct EventParams {
    /// Comma-separated globs: `library.*,health.*`.
    event: Option<String>,
    /// A source's name (`radarr`, `radarr-4k`).
    source: Option<String>,
    /// Received at or after this RFC 3339 time.
    since: Option<String>,
    /// Received before this RFC 3339 time.
    until: Option<String>,
    /// Words the summary contains.
    q: Option<String>,
    /// At most this many (1–500, default 50).
    limit: Option<String>,
    /// `next_cursor` of the page before.
    cursor: Option<String>,
}

/// Newest-first events, filtered.
pub async fn list_events(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<Query<EventParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ListResponse<crate::event::Event>>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::invalid_param("query", e.body_text()))?;
    let before = p
        .cursor
        .as_deref()
        .map(|c| {
            decode_cursor(c)
                .and_then(|id| EventId::parse(&id))
                .ok_or_else(bad_cursor)
        })
        .transpose()?;
    let query = EventQuery {
        events: p
            .event
            .iter()
            .flat_map(|e| e.split(','))
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(str::to_owned)
            .collect(),
        source: p.source.filter(|s| !s.is_empty()),
        since: parse_time("since", p.since.as_deref())?,
        until: parse_time("until", p.until.as_deref())?,
        q: p.q.filter(|q| !q.is_empty()),
        before,
        limit: parse_limit(p.limit.as_deref())?,
    };
    let mut page = state.store.list_events(&query).await?;
    // hookarr's alerts about others' destinations are not a user's to see (the cursor stays the page's).
    page.items =
        crate::operations::alert_scope::visible(state.store.as_ref(), caller.scope(), page.items)
            .await;
    Ok(Json(page.into()))
}

/// Query string of `GET /api/events/{id}`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct GetParams {
    /// `true`: add what the app sent (admins only).
    raw: Option<String>,
}

/// One event with its deliveries (`GET /api/events/{id}`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventWithDeliveries {
    #[serde(flatten)]
    event: crate::event::Event,
    /// Its deliveries (a user: those to their own webhooks).
    deliveries: Vec<DeliveryBody>,
    /// With `?raw=true` (admins): what the app sent; `null` when it was not kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    raw: Option<Option<RawBody>>,
}

/// The request an app sent, as kept.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RawBody {
    content_type: Option<String>,
    /// The headers kept (never `Authorization` or a token).
    headers: serde_json::Map<String, serde_json::Value>,
    /// The body: text, or base64 for bytes that are not UTF-8.
    body: String,
    /// `utf8` or `base64`.
    encoding: &'static str,
}

/// One event; with `?raw=true` also the body and headers the app sent.
pub async fn get_event(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(params): Query<GetParams>,
) -> Result<Json<EventWithDeliveries>, ApiError> {
    let (event, deliveries) =
        crate::operations::events::event_and_deliveries(state.store.as_ref(), &id, caller.scope())
            .await?;
    let mut answer = EventWithDeliveries {
        event,
        deliveries: deliveries.into_iter().map(Into::into).collect(),
        raw: None,
    };
    if matches!(params.raw.as_deref(), Some("true" | "1")) {
        if !caller.is_admin() {
            return Err(ApiError::Forbidden(
                "the raw request an app sent is for admins only".into(),
            ));
        }
        let raw = state.store.get_raw(&answer.event.id).await?;
        answer.raw = Some(raw.map(|raw| {
            let (body, encoding) = text_or_base64(raw.body);
            RawBody {
                content_type: raw.content_type,
                headers: raw.headers,
                body,
                encoding,
            }
        }));
    }
    Ok(Json(answer))
}

/// The query string of a plain list (`?limit=&cursor=`).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct PageParams {
    /// At most this many (1–500, default 50).
    limit: Option<String>,
    /// `next_cursor` of the page before.
    cursor: Option<String>,
}

impl PageParams {
    /// The page asked for: the key it starts before, and its length.
    pub(super) fn page(
        params: Result<Query<PageParams>, axum::extract::rejection::QueryRejection>,
    ) -> Result<(Option<String>, u32), ApiError> {
        let Query(p) = params.map_err(|e| ApiError::invalid_param("query", e.body_text()))?;
        let before = p
            .cursor
            .as_deref()
            .map(|c| decode_cursor(c).ok_or_else(bad_cursor))
            .transpose()?;
        Ok((before, parse_limit(p.limit.as_deref())?))
    }
}

/// Bodies that authenticated but could not be parsed, newest first.
pub async fn list_rejected(
    State(state): State<AppState>,
    params: Result<Query<PageParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ListResponse<RejectedBody>>, ApiError> {
    let (before, limit) = PageParams::page(params)?;
    Ok(Json(state.store.list_rejected(before, limit).await?.into()))
}

pub(super) fn bad_cursor() -> ApiError {
    ApiError::invalid_param("cursor", "not a cursor from a previous page's next_cursor")
}

pub(super) fn parse_limit(limit: Option<&str>) -> Result<u32, ApiError> {
    match limit {
        None | Some("") => Ok(50),
        Some(l) => match l.parse::<u32>() {
            Ok(n) if (1..=500).contains(&n) => Ok(n),
            _ => Err(ApiError::invalid_param(
                "limit",
                "must be a whole number from 1 to 500",
            )),
        },
    }
}

pub(super) fn parse_time(
    name: &str,
    value: Option<&str>,
) -> Result<Option<DateTime<Utc>>, ApiError> {
    match value.filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => DateTime::parse_from_rfc3339(v)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| {
                ApiError::invalid_param(name, "must be an RFC 3339 time, like 2026-11-25T18:00:00Z")
            }),
    }
}

/// Cursors are opaque to clients: base64url of the last item's key.
pub(super) fn encode_cursor(key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key)
}

pub(super) fn decode_cursor(cursor: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()?;
    String::from_utf8(bytes).ok()
}
