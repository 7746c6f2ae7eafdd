//! Webhooks registered through the API (CONTRACT §7): register (the secret shown once), list, read, change,
//! delete and rotate the secret. A user sees only their own (someone else's answer 404); an admin sees all.

use super::auth::Caller;
use super::events::{ListResponse, bad_cursor, decode_cursor, parse_limit};
use super::users::body;
use super::{ApiError, AppState};
use crate::operations::webhooks::{self, Context, NewWebhook, WebhookPatch};
use crate::storage::WebhookRow;
use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// A webhook as answered: never its secret (only the answers that create one carry it).
#[derive(Debug, Serialize)]
pub struct WebhookBody {
    id: String,
    user_id: String,
    url: String,
    events: Vec<String>,
    sources: Option<Vec<String>>,
    filter: serde_json::Map<String, Value>,
    /// Header values that look like credentials are masked.
    headers: BTreeMap<String, String>,
    description: String,
    enabled: bool,
    disabled_reason: Option<String>,
    /// While a rotation's old secret still signs: until when.
    previous_secret_expires_at: Option<chrono::DateTime<chrono::Utc>>,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
}

impl WebhookBody {
    fn new(state: &AppState, w: WebhookRow) -> WebhookBody {
        let disabled_reason = state.engine.disabled_reason(&w.id);
        let now = chrono::Utc::now();
        WebhookBody {
            enabled: disabled_reason.is_none(),
            disabled_reason,
            previous_secret_expires_at: w.previous_secret_until.filter(|t| *t > now),
            headers: w
                .headers
                .into_iter()
                .map(|(k, v)| {
                    let v = if webhooks::is_credential_header(&k) {
                        "********".to_owned()
                    } else {
                        v
                    };
                    (k, v)
                })
                .collect(),
            id: w.id,
            user_id: w.user_id,
            url: w.url,
            events: w.events,
            sources: w.sources,
            filter: w.filter,
            description: w.description,
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }

    /// The body with the secret: the one answer that shows it.
    fn with_secret(self, secret: &str) -> Value {
        let mut v = serde_json::to_value(self).expect("plain struct");
        v["secret"] = secret.into();
        v
    }
}

fn context(state: &AppState) -> Context<'_> {
    Context {
        engine: &state.engine,
        store: state.store.as_ref(),
        sources: &state.sources,
        max_per_user: state.cfg.api.max_webhooks_per_user,
    }
}

/// The webhook `id` if the caller may see it; someone else's is "not found", as if it did not exist.
async fn owned(state: &AppState, caller: &Caller, id: &str) -> Result<WebhookRow, ApiError> {
    match state.store.get_webhook(id).await? {
        Some(w) if caller.may_touch(&w.user_id) => Ok(w),
        _ => Err(webhooks::no_webhook(id).into()),
    }
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    new: Result<Json<NewWebhook>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let new = body(new)?;
    let row = webhooks::register(&context(&state), &caller.0.id, new).await?;
    let secret = row.secret.clone();
    let answer = WebhookBody::new(&state, row).with_secret(&secret);
    Ok((StatusCode::CREATED, Json(answer)))
}

#[derive(Debug, Deserialize)]
pub struct ListParams {
    limit: Option<String>,
    cursor: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<ListResponse<WebhookBody>>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::invalid_param("query", e.body_text()))?;
    let before = p
        .cursor
        .as_deref()
        .map(|c| decode_cursor(c).ok_or_else(bad_cursor))
        .transpose()?;
    let limit = parse_limit(p.limit.as_deref())?;
    let page = state
        .store
        .list_webhooks(caller.scope(), before.as_deref(), limit)
        .await?;
    Ok(Json(ListResponse {
        next_cursor: page.next.map(|k| super::events::encode_cursor(&k)),
        items: page
            .items
            .into_iter()
            .map(|w| WebhookBody::new(&state, w))
            .collect(),
    }))
}

pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<WebhookBody>, ApiError> {
    let row = owned(&state, &caller, &id).await?;
    Ok(Json(WebhookBody::new(&state, row)))
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    patch: Result<Json<WebhookPatch>, JsonRejection>,
) -> Result<Json<WebhookBody>, ApiError> {
    let patch = body(patch)?;
    let row = owned(&state, &caller, &id).await?;
    let row = webhooks::update(&context(&state), row, patch).await?;
    Ok(Json(WebhookBody::new(&state, row)))
}

pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    owned(&state, &caller, &id).await?;
    webhooks::delete(&context(&state), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rotate {
    /// The new secret; generated when absent.
    #[serde(default)]
    secret: Option<String>,
}

pub async fn rotate_secret(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let rotate: Rotate = if raw.iter().all(u8::is_ascii_whitespace) {
        Rotate::default()
    } else {
        serde_json::from_slice(&raw).map_err(|e| ApiError::InvalidPayload(e.to_string()))?
    };
    let row = owned(&state, &caller, &id).await?;
    let (row, _) = webhooks::rotate_secret(&context(&state), row, rotate.secret).await?;
    let secret = row.secret.clone();
    Ok(Json(WebhookBody::new(&state, row).with_secret(&secret)))
}
