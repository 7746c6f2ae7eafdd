//! Mock receivers (CONTRACT §7): `POST /api/mocks` gives a URL under `/mock/{id}` that records every request
//! (method, query, headers, body, and whether its Standard Webhooks signature checks out against a given
//! secret) and answers as told — any status, headers, a body, slowly — so a user tests their set-up, and a
//! developer their receiver's retries, without another server.

use super::audit::{self, Changed};
use super::auth::Caller;
use super::events::ListResponse;
use super::json_body::{OptionalJson, required};
use super::{ApiError, AppState};
use crate::event::new_prefixed_id;
use crate::outbound::signing;
use crate::storage::{MockRequest, MockRow};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// How many mocks a user may keep.
const MOCKS_PER_USER: u32 = 20;
/// The longest a mock may be told to wait before answering.
const MAX_DELAY_MS: u64 = 60_000;
/// The most of a request's body a mock keeps.
const KEPT_BODY_BYTES: usize = 64 * 1024;

/// How a mock answers: the fields of `POST /api/mocks` and `PATCH /api/mocks/{id}`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MockSpec {
    /// The status to answer (100–599; default 200).
    #[serde(default)]
    status: Option<u16>,
    /// Wait this long before answering (at most 60,000).
    #[serde(default)]
    delay_ms: Option<u64>,
    /// The body to answer.
    #[serde(default)]
    body: Option<String>,
    /// Headers to answer with (`Retry-After` for a 429…).
    #[serde(default)]
    headers: Option<BTreeMap<String, String>>,
    /// A `whsec_…` secret: recorded requests say whether their signature verifies.
    #[serde(default)]
    secret: Option<String>,
}

/// A mock as answered (its secret is the caller's own, given by them, and not shown back).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MockBody {
    id: String,
    user_id: String,
    /// Where to send: `<public_url>/mock/{id}`.
    url: String,
    status: u16,
    delay_ms: u64,
    body: String,
    headers: BTreeMap<String, String>,
    checks_signatures: bool,
    created_at: chrono::DateTime<chrono::Utc>,
}

impl MockBody {
    fn new(state: &AppState, m: MockRow) -> MockBody {
        MockBody {
            url: format!("{}/mock/{}", state.public_url, m.id),
            checks_signatures: m.secret.is_some(),
            id: m.id,
            user_id: m.user_id,
            status: m.status,
            delay_ms: m.delay_ms,
            body: m.body,
            headers: m.headers,
            created_at: m.created_at,
        }
    }
}

/// Applies a spec to a mock, checking each field.
fn apply(m: &mut MockRow, spec: MockSpec) -> Result<(), ApiError> {
    if let Some(status) = spec.status {
        if !(200..=599).contains(&status) {
            return Err(ApiError::invalid_param(
                "status",
                "an HTTP status from 200 to 599",
            ));
        }
        m.status = status;
    }
    if let Some(delay) = spec.delay_ms {
        if delay > MAX_DELAY_MS {
            return Err(ApiError::invalid_param(
                "delay_ms",
                format!("at most {MAX_DELAY_MS} (a minute)"),
            ));
        }
        m.delay_ms = delay;
    }
    if let Some(body) = spec.body {
        if body.len() > KEPT_BODY_BYTES {
            return Err(ApiError::invalid_param("body", "at most 64 KiB"));
        }
        m.body = body;
    }
    if let Some(headers) = spec.headers {
        for (k, v) in &headers {
            if let Some(why) = super::mock_headers::refusal(k, v) {
                return Err(ApiError::invalid_param(&format!("headers.{k}"), why));
            }
        }
        m.headers = headers;
    }
    if let Some(secret) = spec.secret {
        if !secret.starts_with("whsec_") || signing::whsec_key(&secret).is_err() {
            return Err(ApiError::invalid_param(
                "secret",
                "a Standard Webhooks secret, `whsec_` followed by base64",
            ));
        }
        m.secret = Some(secret);
    }
    Ok(())
}

fn no_mock(id: &str) -> ApiError {
    ApiError::NotFound(format!("no mock has the id `{id}`"))
}

async fn owned(state: &AppState, caller: &Caller, id: &str) -> Result<MockRow, ApiError> {
    match state.store.get_mock(id).await? {
        Some(m) if caller.may_touch(&m.user_id) => Ok(m),
        _ => Err(no_mock(id)),
    }
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    // No body gives a mock that answers 200.
    OptionalJson(spec): OptionalJson<MockSpec>,
) -> Result<(StatusCode, Json<MockBody>), ApiError> {
    let mut mock = MockRow {
        id: new_prefixed_id("mock"),
        user_id: caller.user.id.clone(),
        secret: None,
        status: 200,
        delay_ms: 0,
        body: String::new(),
        headers: BTreeMap::new(),
        created_at: chrono::Utc::now(),
    };
    apply(&mut mock, spec)?;
    if !state.store.create_mock(&mock, MOCKS_PER_USER).await? {
        return Err(ApiError::Conflict(format!(
            "a user may keep {MOCKS_PER_USER} mocks; delete one first"
        )));
    }
    let detail = json!({"status": mock.status});
    audit_mock(&state, &caller, "mock.created", &mock, detail).await;
    Ok((StatusCode::CREATED, Json(MockBody::new(&state, mock))))
}

/// Records a change to a mock in the audit log.
async fn audit_mock(
    state: &AppState,
    caller: &Caller,
    action: &'static str,
    mock: &MockRow,
    detail: Value,
) {
    let target = Changed {
        kind: "mock",
        id: &mock.id,
        owner: Some(&mock.user_id),
    };
    audit::record(state, caller, action, target, detail).await;
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<ListResponse<MockBody>>, ApiError> {
    let mocks: Vec<MockBody> = state
        .store
        .list_mocks(caller.scope())
        .await?
        .into_iter()
        .map(|m| MockBody::new(&state, m))
        .collect();
    Ok(Json(ListResponse::whole(mocks)))
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    spec: Result<Json<MockSpec>, JsonRejection>,
) -> Result<Json<MockBody>, ApiError> {
    let spec = required(spec)?;
    let mut mock = owned(&state, &caller, &id).await?;
    apply(&mut mock, spec)?;
    if !state.store.update_mock(&mock).await? {
        return Err(no_mock(&id));
    }
    let detail = json!({"status": mock.status});
    audit_mock(&state, &caller, "mock.changed", &mock, detail).await;
    Ok(Json(MockBody::new(&state, mock)))
}

pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let mock = owned(&state, &caller, &id).await?;
    state.store.delete_mock(&id).await?;
    audit_mock(&state, &caller, "mock.deleted", &mock, Value::Null).await;
    Ok(StatusCode::NO_CONTENT)
}

/// A recorded request as answered.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RecordedRequest {
    id: String,
    received_at: chrono::DateTime<chrono::Utc>,
    method: String,
    query: String,
    headers: BTreeMap<String, String>,
    body: String,
    /// `utf8`, or `base64` for bytes that are not text.
    encoding: &'static str,
    /// `valid`, `invalid`, `missing` (no signature headers) or `not_checked` (the mock has no secret).
    signature: String,
    status: u16,
}

impl From<MockRequest> for RecordedRequest {
    fn from(r: MockRequest) -> Self {
        let (body, encoding) = super::bodies::text_or_base64(r.body);
        RecordedRequest {
            id: r.id,
            received_at: r.received_at,
            method: r.method,
            query: r.query,
            headers: r.headers,
            body,
            encoding,
            signature: r.signature,
            status: r.status,
        }
    }
}

pub async fn requests(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ListResponse<RecordedRequest>>, ApiError> {
    owned(&state, &caller, &id).await?;
    let items: Vec<RecordedRequest> = state
        .store
        .mock_requests(&id, crate::storage::MOCK_REQUESTS_KEPT as u32)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(Json(ListResponse::whole(items)))
}

/// `ANY /mock/{id}`: records the request, then answers as the mock was told.
pub async fn receive(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let Some(mock) = state.store.get_mock(&id).await? else {
        return Err(no_mock(&id));
    };
    let (parts, body) = req.into_parts();
    let limit = state.cfg.server.max_body_bytes;
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        ApiError::PayloadTooLarge(format!("a mock takes bodies up to {limit} bytes"))
    })?;
    let signature = check_signature(mock.secret.as_deref(), &parts.headers, &bytes);
    let headers = parts
        .headers
        .iter()
        .map(|(k, v)| {
            let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
            (k.as_str().to_owned(), v)
        })
        .collect();
    let recorded = MockRequest {
        id: new_prefixed_id("mreq"),
        mock_id: mock.id.clone(),
        received_at: chrono::Utc::now(),
        method: parts.method.as_str().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers,
        body: bytes[..bytes.len().min(KEPT_BODY_BYTES)].to_vec(),
        signature: signature.to_owned(),
        status: mock.status,
    };
    state.store.record_mock_request(&recorded).await?;
    if mock.delay_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(mock.delay_ms)).await;
    }
    let status = StatusCode::from_u16(mock.status).unwrap_or(StatusCode::OK);
    let mut response = (status, mock.body).into_response();
    super::mock_headers::apply(response.headers_mut(), &mock.headers);
    Ok(response)
}

/// What the request's Standard Webhooks signature says, against the mock's secret.
fn check_signature(secret: Option<&str>, headers: &HeaderMap, body: &[u8]) -> &'static str {
    let Some(secret) = secret else {
        return "not_checked";
    };
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    match (
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
    ) {
        (Some(id), Some(ts), Some(sig)) => {
            if signing::verify_standard(secret, id, ts, sig, body) {
                "valid"
            } else {
                "invalid"
            }
        }
        _ => "missing",
    }
}
