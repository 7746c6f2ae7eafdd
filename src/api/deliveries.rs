//! The delivery log (CONTRACT §7): deliveries with their attempts, manual and bulk retry, and replay. An
//! admin sees every delivery; a user those to the webhooks they registered (any other answers 404).

use super::audit::{self, Changed};
use super::auth::Caller;
use super::bodies::{DeliveryBody, DeliveryWithAttempts};
use super::events::{ListResponse, bad_cursor, decode_cursor, parse_limit, parse_time};
use super::json_body::OptionalJson;
use super::{ApiError, AppState};
use crate::operations;
use crate::storage::{DeliveryQuery, DeliveryStatus, RetryFilter};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ListParams {
    /// `pending`, `succeeded`, `failed`, `dead` or `expired`.
    status: Option<String>,
    /// A destination's name or a webhook's id.
    destination: Option<String>,
    /// An event id: its deliveries only.
    event: Option<String>,
    /// At most this many (1–500, default 50).
    limit: Option<String>,
    /// `next_cursor` of the page before.
    cursor: Option<String>,
}

fn parse_status(s: &str) -> Result<DeliveryStatus, ApiError> {
    DeliveryStatus::parse(s).ok_or_else(|| {
        ApiError::invalid_param("status", "one of pending, succeeded, failed, dead, expired")
    })
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ListResponse<DeliveryBody>>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::invalid_param("query", e.body_text()))?;
    let q = DeliveryQuery {
        status: p.status.as_deref().map(parse_status).transpose()?,
        destination: p.destination,
        event_id: p.event,
        owner: caller.scope().map(str::to_owned),
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

/// The delivery `id` if the caller may see it (an admin any, a user one to a webhook of theirs), with the
/// owner of its webhook.
pub async fn visible(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<(crate::storage::DeliveryRow, Option<String>), ApiError> {
    let row = state
        .store
        .get_delivery(id)
        .await?
        .ok_or_else(|| no_delivery(id))?;
    let owner = if row
        .destination
        .starts_with(crate::delivery::WEBHOOK_ID_PREFIX)
    {
        state
            .store
            .get_webhook(&row.destination)
            .await?
            .map(|w| w.user_id)
    } else {
        None
    };
    if caller.is_admin() || owner.as_deref() == Some(caller.user.id.as_str()) {
        Ok((row, owner))
    } else {
        Err(no_delivery(id))
    }
}

pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<DeliveryWithAttempts>, ApiError> {
    let (row, _) = visible(&state, &caller, &id).await?;
    let attempts = state.store.attempts(&id).await?;
    Ok(Json(DeliveryWithAttempts::new(row, attempts)))
}

pub async fn retry_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Retried>), ApiError> {
    let (row, owner) = visible(&state, &caller, &id).await?;
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
    let owner = owner.as_deref();
    let target = Changed {
        kind: "delivery",
        id: &id,
        owner,
    };
    let detail = json!({"destination": row.destination, "was": row.status.as_str()});
    audit::record(&state, &caller, "delivery.retried", target, detail).await;
    Ok((StatusCode::ACCEPTED, Json(Retried { retried: n })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkRetry {
    /// Which finished deliveries: `dead` (the default), `failed` or `expired`.
    status: Option<String>,
    /// Only those to this destination or webhook.
    destination: Option<String>,
    /// Only those created since this RFC 3339 time.
    since: Option<String>,
}

/// How many deliveries were put back in the queue.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Retried {
    retried: u64,
}

pub async fn retry_bulk(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<BulkRetry>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Retried>), ApiError> {
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
        owner: caller.scope().map(str::to_owned),
        since: parse_time("since", b.since.as_deref())?,
    };
    let n = state
        .store
        .retry_deliveries(None, Some(&filter), chrono::Utc::now())
        .await?;
    state.engine.notify_ingest();
    let target = Changed {
        kind: "deliveries",
        // The destination retried, or every one the caller may see.
        id: filter.destination.as_deref().unwrap_or("*"),
        owner: filter.owner.as_deref(),
    };
    let detail =
        json!({"status": filter.status.as_str(), "destination": filter.destination, "retried": n});
    audit::record(&state, &caller, "deliveries.retried", target, detail).await;
    Ok((StatusCode::ACCEPTED, Json(Retried { retried: n })))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Replay {
    /// Only to these destinations (by name); every matching one when left out.
    destinations: Option<Vec<String>>,
}

/// The deliveries a replay created.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Replayed {
    /// Their ids.
    deliveries: Vec<String>,
}

pub async fn replay(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<Replay>,
) -> Result<(StatusCode, Json<Replayed>), ApiError> {
    let store = state.store.as_ref();
    let names = body.destinations.as_deref();
    let ids = operations::replay(&state.engine, store, &id, names).await?;
    let target = Changed {
        kind: "event",
        id: &id,
        owner: None,
    };
    let detail = json!({"destinations": names, "deliveries": ids.len()});
    audit::record(&state, &caller, "event.replayed", target, detail).await;
    let deliveries = ids.into_iter().map(|id| id.to_string()).collect();
    Ok((StatusCode::ACCEPTED, Json(Replayed { deliveries })))
}
