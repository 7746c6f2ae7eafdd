//! Webhooks registered through the API (CONTRACT §7): register (the secret shown once), list, read, change,
//! delete and rotate the secret. A user sees only their own (someone else's answer 404); an admin sees all.

use super::audit::{self, Changed};
use super::auth::Caller;
use super::destinations::TestBody;
use super::events::{ListResponse, PageParams};
use super::json_body::{OptionalJson, required};
use super::{ApiError, AppState};
use crate::operations::webhooks::{self, Context, NewWebhook, WebhookPatch};
use crate::storage::WebhookRow;
use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// A webhook as answered: never its secret (only the answers that create one carry it).
#[derive(Debug, Serialize, utoipa::ToSchema)]
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
    batch: Option<crate::config::Batch>,
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
                    let v = if crate::operations::is_credential_header(&k) {
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
            batch: w.batch,
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }

    /// The body with the secret: the one answer that shows it.
    fn with_secret(self, secret: &str) -> WebhookWithSecret {
        WebhookWithSecret {
            webhook: self,
            secret: secret.to_owned(),
        }
    }
}

/// A webhook as registered or rotated: the one answer that shows its secret.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookWithSecret {
    #[serde(flatten)]
    webhook: WebhookBody,
    /// The `whsec_…` signing secret (Standard Webhooks), shown this once.
    secret: String,
}

/// The answer of a URL test: the test's, and the secret it was signed with.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UrlTestBody {
    #[serde(flatten)]
    test: TestBody,
    /// The secret the request was signed with (generated when none was given).
    secret: String,
}

/// Records a change to a webhook in the audit log.
async fn audit_webhook(
    state: &AppState,
    caller: &Caller,
    action: &'static str,
    row: &WebhookRow,
    detail: Value,
) {
    let target = Changed {
        kind: "webhook",
        id: &row.id,
        owner: Some(&row.user_id),
    };
    audit::record(state, caller, action, target, detail).await;
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
) -> Result<(StatusCode, Json<WebhookWithSecret>), ApiError> {
    let new = required(new)?;
    let row = webhooks::register(&context(&state), &caller.user.id, new).await?;
    let detail = json!({"url": row.url, "events": row.events});
    audit_webhook(&state, &caller, "webhook.created", &row, detail).await;
    let secret = row.secret.clone();
    let answer = WebhookBody::new(&state, row).with_secret(&secret);
    Ok((StatusCode::CREATED, Json(answer)))
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<Query<PageParams>, QueryRejection>,
) -> Result<Json<ListResponse<WebhookBody>>, ApiError> {
    let (before, limit) = PageParams::page(params)?;
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
    let patch = required(patch)?;
    let row = owned(&state, &caller, &id).await?;
    let changed = patch.changed_fields();
    let row = webhooks::update(&context(&state), row, patch).await?;
    audit_webhook(
        &state,
        &caller,
        "webhook.changed",
        &row,
        json!({"fields": changed}),
    )
    .await;
    Ok(Json(WebhookBody::new(&state, row)))
}

pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let row = owned(&state, &caller, &id).await?;
    webhooks::delete(&context(&state), &id).await?;
    audit_webhook(
        &state,
        &caller,
        "webhook.deleted",
        &row,
        json!({"url": row.url}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
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
    OptionalJson(rotate): OptionalJson<Rotate>,
) -> Result<Json<WebhookWithSecret>, ApiError> {
    let row = owned(&state, &caller, &id).await?;
    let (row, until) = webhooks::rotate_secret(&context(&state), row, rotate.secret).await?;
    let detail = json!({"previous_secret_expires_at": until});
    audit_webhook(&state, &caller, "webhook.secret_rotated", &row, detail).await;
    let secret = row.secret.clone();
    Ok(Json(WebhookBody::new(&state, row).with_secret(&secret)))
}

/// Takes one of the caller's test sends, or says when the next one may go.
pub(super) fn take_test_send(state: &AppState, caller: &Caller) -> Result<(), ApiError> {
    state
        .test_sends
        .check_key(&caller.user.id)
        .map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
            ApiError::RateLimited {
                message: "too many test sends; wait a moment".into(),
                retry_after_secs: wait.as_secs().max(1),
            }
        })
}

/// `POST /api/webhooks/{id}/test`: a signed `test` event to the webhook now, outside the queue.
pub async fn test(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<TestBody>, ApiError> {
    let row = owned(&state, &caller, &id).await?;
    take_test_send(&state, &caller)?;
    let event = crate::delivery::test_event();
    let sent = state
        .engine
        .send_now(&id, &event)
        .await
        .map_err(|e| ApiError::invalid_param("template", e.to_string()))?;
    audit_webhook(
        &state,
        &caller,
        "webhook.tested",
        &row,
        json!({"status": sent.status}),
    )
    .await;
    Ok(Json(TestBody::from(&sent)))
}

/// `POST /api/webhooks/test`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UrlTest {
    /// Where to send: an http(s) URL that passes the same checks as a webhook's.
    url: String,
    /// The event name the test carries (default `test`).
    #[serde(default)]
    event: Option<String>,
    /// The secret to sign with; generated (and answered) when absent.
    #[serde(default)]
    secret: Option<String>,
}

/// `POST /api/webhooks/test`: a signed test event to any URL the caller may register, now.
pub async fn test_url(
    State(state): State<AppState>,
    caller: Caller,
    req: Result<Json<UrlTest>, JsonRejection>,
) -> Result<Json<UrlTestBody>, ApiError> {
    let req = required(req)?;
    let url = state
        .engine
        .check_webhook_url(req.url.trim())
        .await
        .map_err(|refusal| ApiError::invalid_param("url", refusal.0))?;
    let mut event = crate::delivery::test_event();
    if let Some(name) = &req.event {
        event.event = crate::event::EventKind::parse(name).ok_or_else(|| {
            ApiError::invalid_param(
                "event",
                format!("`{name}` is not an event name, like library.new"),
            )
        })?;
    }
    let secret = crate::operations::secret_or_new(req.secret, "secret")?;
    take_test_send(&state, &caller)?;
    let sent = state
        .engine
        .send_to_url(url.as_str(), &secret, &event)
        .await
        .map_err(|e| ApiError::invalid_param("url", e.to_string()))?;
    let target = Changed {
        kind: "url",
        id: url.as_str(),
        owner: Some(&caller.user.id),
    };
    audit::record(
        &state,
        &caller,
        "url.tested",
        target,
        json!({"status": sent.status}),
    )
    .await;
    Ok(Json(UrlTestBody {
        test: TestBody::from(&sent),
        secret,
    }))
}
