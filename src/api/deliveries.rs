//! The operator API of the delivery pipeline (CONTRACT §7): deliveries with their attempts, manual and bulk
//! retry, replay, destinations with health, and template previews. Admin only for now.

use super::auth::Admin;
use super::events::{ListResponse, bad_cursor, decode_cursor, parse_limit, parse_time};
use super::{ApiError, AppState};
use crate::config::DestinationType;
use crate::event::{Event, EventId};
use crate::outbound::targets::OwnKey;
use crate::outbound::{self, Target};
use crate::storage::{DeliveryQuery, DeliveryStatus, NewDelivery, RetryFilter};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;

#[derive(Debug, Deserialize)]
pub struct ListParams {
    status: Option<String>,
    destination: Option<String>,
    event: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

fn parse_status(s: &str) -> Result<DeliveryStatus, ApiError> {
    DeliveryStatus::parse(s).ok_or_else(|| {
        ApiError::invalid_param("status", "one of pending, succeeded, failed, dead, expired")
    })
}

pub async fn list(
    State(state): State<AppState>,
    _: Admin,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ListResponse<crate::storage::DeliveryRow>>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::invalid_param("query", e.body_text()))?;
    let q = DeliveryQuery {
        status: p.status.as_deref().map(parse_status).transpose()?,
        destination: p.destination,
        event_id: p.event,
        before: p
            .cursor
            .as_deref()
            .map(|c| decode_cursor(c).ok_or_else(bad_cursor))
            .transpose()?,
        limit: parse_limit(p.limit.as_deref())?,
    };
    Ok(Json(state.store.list_deliveries(&q).await?.into()))
}

fn no_delivery(id: &str) -> ApiError {
    ApiError::NotFound(format!("no delivery has the id `{id}`"))
}

pub async fn get(
    State(state): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let row = state
        .store
        .get_delivery(&id)
        .await?
        .ok_or_else(|| no_delivery(&id))?;
    let attempts = state.store.attempts(&id).await?;
    let mut body = serde_json::to_value(row).map_err(|e| ApiError::Internal(e.into()))?;
    body["attempts"] = serde_json::to_value(attempts).map_err(|e| ApiError::Internal(e.into()))?;
    Ok(Json(body))
}

pub async fn retry_one(
    State(state): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let row = state
        .store
        .get_delivery(&id)
        .await?
        .ok_or_else(|| no_delivery(&id))?;
    if !row.status.is_retryable() {
        return Err(ApiError::Conflict(format!(
            "delivery `{id}` is {}; only failed, dead or expired deliveries can be retried",
            row.status.as_str()
        )));
    }
    let n = state
        .store
        .retry_deliveries(Some(&id), None, chrono::Utc::now())
        .await?;
    state.engine.notify_ingest();
    Ok((StatusCode::ACCEPTED, Json(json!({"retried": n}))))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkRetry {
    status: Option<String>,
    destination: Option<String>,
    since: Option<String>,
}

pub async fn retry_bulk(
    State(state): State<AppState>,
    _: Admin,
    body: Result<Json<BulkRetry>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Json(b) = body.map_err(|e| ApiError::InvalidPayload(e.body_text()))?;
    let status = parse_status(b.status.as_deref().unwrap_or("dead"))?;
    if !status.is_retryable() {
        return Err(ApiError::invalid_param(
            "status",
            "only failed, dead or expired deliveries can be retried",
        ));
    }
    let filter = RetryFilter {
        status,
        destination: b.destination,
        since: parse_time("since", b.since.as_deref())?,
    };
    let n = state
        .store
        .retry_deliveries(None, Some(&filter), chrono::Utc::now())
        .await?;
    state.engine.notify_ingest();
    Ok((StatusCode::ACCEPTED, Json(json!({"retried": n}))))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Replay {
    destinations: Option<Vec<String>>,
}

pub async fn replay(
    State(state): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    // The body is optional; when given it must be a valid one.
    let body: Replay = if body.iter().all(u8::is_ascii_whitespace) {
        Replay::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::InvalidPayload(format!("the replay body: {e}")))?
    };
    let not_found = || ApiError::NotFound(format!("no event has the id `{id}`"));
    let event_id = EventId::parse(&id).ok_or_else(not_found)?;
    let event = state
        .store
        .get_event(&event_id)
        .await?
        .ok_or_else(not_found)?;
    let wanted = body.destinations;
    if let Some(names) = &wanted {
        let unknown: Vec<&String> = names
            .iter()
            .filter(|n| state.engine.target(n).is_none())
            .collect();
        if !unknown.is_empty() {
            return Err(ApiError::invalid_param(
                "destinations",
                format!("unknown destination(s): {unknown:?}"),
            ));
        }
    }
    // With named destinations, send to them whatever their rules say; otherwise route as on arrival.
    let rows: Vec<NewDelivery> = match &wanted {
        Some(names) => names
            .iter()
            .map(|n| NewDelivery {
                id: crate::event::new_prefixed_id("dlv"),
                event_id: event.id.clone(),
                event: event.event.as_str().to_owned(),
                destination: n.clone(),
                created_at: chrono::Utc::now(),
                due_at: chrono::Utc::now(),
                expires_at: None,
                group_key: None,
            })
            .collect(),
        None => state
            .engine
            .routes()
            .route(&event, &|n| state.engine.is_enabled(n)),
    };
    state.store.insert_deliveries(&rows).await?;
    state.engine.notify_ingest();
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    Ok((StatusCode::ACCEPTED, Json(json!({"deliveries": ids}))))
}

async fn destination_json(state: &AppState, names: &[&str]) -> Result<Vec<Value>, ApiError> {
    let states: HashMap<String, crate::storage::DestinationState> = state
        .store
        .destination_states()
        .await?
        .into_iter()
        .map(|s| (s.name.clone(), s))
        .collect();
    let mut counts: HashMap<String, HashMap<&'static str, u64>> = HashMap::new();
    for c in state.store.delivery_counts().await? {
        *counts
            .entry(c.destination)
            .or_default()
            .entry(c.status.as_str())
            .or_default() += c.count;
    }
    let now = chrono::Utc::now();
    Ok(names
        .iter()
        .filter_map(|name| {
            let target = state.engine.target(name)?;
            let st = states.get(*name).cloned().unwrap_or_default();
            let c = counts.get(*name).cloned().unwrap_or_default();
            let get = |k: &str| c.get(k).copied().unwrap_or(0);
            let done = get("succeeded") + get("failed") + get("dead") + get("expired");
            Some(json!({
                "name": name,
                "type": target.kind.as_str(),
                "url": outbound::redact_url(&target.url),
                "enabled": st.disabled_at.is_none(),
                "disabled_reason": st.disabled_reason,
                "disabled_at": st.disabled_at.map(|t| t.to_rfc3339()),
                "paused_until": st.paused_until.filter(|t| *t > now).map(|t| t.to_rfc3339()),
                "last_success_at": st.last_success_at.map(|t| t.to_rfc3339()),
                "last_error_at": st.last_error_at.map(|t| t.to_rfc3339()),
                "last_error": st.last_error,
                "deliveries": {"pending": get("pending"), "succeeded": get("succeeded"), "failed": get("failed"), "dead": get("dead"), "expired": get("expired")},
                "success_rate": (done > 0).then(|| get("succeeded") as f64 / done as f64),
                "signing_secret": target.kind.target().own_keys().contains(&OwnKey::Secret).then(|| target.secrets.first().cloned()).flatten(),
            }))
        })
        .collect())
}

pub async fn list_destinations(
    State(state): State<AppState>,
    _: Admin,
) -> Result<Json<Value>, ApiError> {
    let names: Vec<&str> = state.engine.destination_names().collect();
    let items = destination_json(&state, &names).await?;
    Ok(Json(json!({"items": items, "next_cursor": null})))
}

/// A config destination by name, or a 404 that says so.
fn destination<'a>(state: &'a AppState, name: &str) -> Result<&'a Target, ApiError> {
    state
        .engine
        .target(name)
        .ok_or_else(|| ApiError::NotFound(format!("no destination named `{name}` in the config")))
}

pub async fn get_destination(
    State(state): State<AppState>,
    _: Admin,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    destination(&state, &name)?;
    let mut items = destination_json(&state, &[name.as_str()]).await?;
    Ok(Json(items.remove(0)))
}

async fn set_enabled(state: &AppState, name: &str, enabled: bool) -> Result<Json<Value>, ApiError> {
    destination(state, name)?;
    state
        .engine
        .set_enabled(name, enabled, "disabled by an operator")
        .await?;
    let mut items = destination_json(state, &[name]).await?;
    Ok(Json(items.remove(0)))
}

pub async fn enable(
    State(state): State<AppState>,
    _: Admin,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    set_enabled(&state, &name, true).await
}

pub async fn disable(
    State(state): State<AppState>,
    _: Admin,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    set_enabled(&state, &name, false).await
}

/// The answer of a test send.
pub fn test_result(sent: &crate::delivery::Sent) -> Value {
    json!({
        "ok": sent.status.is_some_and(|s| (200..300).contains(&s)),
        "status": sent.status,
        "latency_ms": sent.duration.as_millis() as u64,
        "body": outbound::templates::truncate_chars(&sent.body, 1024),
        "error": sent.error,
    })
}

pub async fn test_destination(
    State(state): State<AppState>,
    _: Admin,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    destination(&state, &name)?;
    let sent = state
        .engine
        .send_now(&name, &crate::delivery::test_event())
        .await
        .map_err(|e| ApiError::invalid_param("template", e.to_string()))?;
    Ok(Json(test_result(&sent)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preview {
    destination: Option<String>,
    #[serde(rename = "type")]
    kind: Option<DestinationType>,
    template: Option<String>,
    event_id: Option<String>,
    fixture: Option<Fixture>,
}

/// An app payload to preview with, parsed as its source would parse it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    source: String,
    payload: Value,
}

pub async fn preview(
    State(state): State<AppState>,
    _: Admin,
    body: Result<Json<Preview>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(p) = body.map_err(|e| ApiError::InvalidPayload(e.body_text()))?;
    let mut target = match (&p.destination, p.kind) {
        (Some(name), _) => destination(&state, name)?.clone(),
        (None, Some(kind)) => Target::preview(kind),
        (None, None) => {
            return Err(ApiError::invalid_param(
                "destination",
                "give a destination name or a type",
            ));
        }
    };
    let event = match (&p.event_id, p.fixture) {
        (Some(id), _) => {
            let nf = || ApiError::NotFound(format!("no event has the id `{id}`"));
            let eid = EventId::parse(id).ok_or_else(nf)?;
            state.store.get_event(&eid).await?.ok_or_else(nf)?
        }
        (None, Some(f)) => parse_fixture(&state, &f)?,
        (None, None) => crate::delivery::test_event(),
    };
    let mut templates = None;
    if let Some(text) = &p.template {
        let name = format!("{}/__preview", target.kind.as_str());
        match state.engine.templates().with_extra(&name, text) {
            Ok(t) => {
                templates = Some(t);
                target.template = Some(name);
            }
            Err(problem) => {
                return Ok(Json(
                    json!({"payload": null, "problems": [problem.to_string()]}),
                ));
            }
        }
    }
    let templates = templates.as_ref().unwrap_or(state.engine.templates());
    match outbound::render_payload(templates, &target, &event) {
        Ok(payload) => Ok(Json(
            json!({"payload": payload, "problems": [], "event": event.event.as_str()}),
        )),
        Err(e) => Ok(Json(
            json!({"payload": null, "problems": [e.to_string()], "event": event.event.as_str()}),
        )),
    }
}

fn parse_fixture(state: &AppState, f: &Fixture) -> Result<Event, ApiError> {
    let source = state.sources.get(&f.source).ok_or_else(|| {
        ApiError::invalid_param("fixture.source", format!("no source named `{}`", f.source))
    })?;
    let body = serde_json::to_vec(&f.payload).map_err(|e| ApiError::Internal(e.into()))?;
    crate::receive::parse_preview(&source, &body)
        .map_err(|e| ApiError::invalid_param("fixture.payload", e))
}
