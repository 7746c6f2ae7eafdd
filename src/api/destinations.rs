//! The destinations of the operator API (CONTRACT §7): list and show each with its health, enable, disable,
//! send a test, and preview a template. The work is in [`crate::operations`]; this file is HTTP only.

use super::audit::{self, Changed};
use super::auth::Caller;
use super::events::ListResponse;
use super::{ApiError, AppState};
use crate::config::DestinationType;
use crate::delivery::Origin;
use crate::operations::{self, DeliveryCounts, DestinationSummary, PreviewEvent};
use crate::outbound::Target;
use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One destination as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DestinationBody {
    name: String,
    #[serde(rename = "type")]
    kind: &'static str,
    url: String,
    enabled: bool,
    disabled_reason: Option<String>,
    #[serde(serialize_with = "rfc3339")]
    disabled_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "rfc3339")]
    paused_until: Option<DateTime<Utc>>,
    #[serde(serialize_with = "rfc3339")]
    last_success_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "rfc3339")]
    last_error_at: Option<DateTime<Utc>>,
    last_error: Option<String>,
    deliveries: CountsBody,
    success_rate: Option<f64>,
    /// Whether it signs with a secret (types that sign: `webhook`). A secret written in the config is never
    /// shown.
    signing_secret_set: bool,
    /// The secret hookarr generated because the config names none (the only place to learn it).
    signing_secret: Option<String>,
    /// Where it lives: `file` (hookarr.yaml, read-only here) or `stored` (made in the page or the API).
    origin: Origin,
    /// A stored one: the version a change must name, and who saved it last, when.
    version: Option<i64>,
    updated_by: Option<String>,
    #[serde(serialize_with = "rfc3339")]
    updated_at: Option<DateTime<Utc>>,
    /// A stored one: its keys as stored, without the secret ones (`url`, `token`…), which are only said to be
    /// set (`secrets_set`).
    settings: Option<serde_json::Map<String, Value>>,
    /// The secret keys it has (write-only: never shown).
    secrets_set: Vec<String>,
}

/// The keys of a destination whose values are never shown: they hold or are credentials (a Discord or
/// Slack webhook URL carries its token).
pub(super) const SECRET_KEYS: [&str; 6] =
    ["url", "token", "user_key", "secret", "password", "headers"];

impl DestinationBody {
    /// Adds what is stored of it: its version, its keys without the secret ones.
    fn with_stored(mut self, stored: &crate::live_config::StoredDestination) -> Self {
        let mut settings = stored.long_form.clone();
        settings.retain(|k, _| !SECRET_KEYS.contains(&k.as_str()));
        self.secrets_set = SECRET_KEYS
            .iter()
            .filter(|k| stored.long_form.contains_key(**k))
            .map(|k| (*k).to_owned())
            .collect();
        self.version = Some(stored.version);
        self.updated_by = Some(stored.updated_by.clone());
        self.updated_at = Some(stored.updated_at);
        self.settings = Some(settings);
        self
    }
}

/// Deliveries to it by state.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct CountsBody {
    pending: u64,
    succeeded: u64,
    failed: u64,
    dead: u64,
    expired: u64,
    cancelled: u64,
}

impl From<DestinationSummary> for DestinationBody {
    fn from(s: DestinationSummary) -> Self {
        let DeliveryCounts {
            pending,
            succeeded,
            failed,
            dead,
            expired,
            cancelled,
        } = s.deliveries;
        DestinationBody {
            name: s.name,
            kind: s.kind,
            url: s.redacted_url,
            enabled: s.enabled,
            disabled_reason: s.disabled_reason,
            disabled_at: s.disabled_at,
            paused_until: s.paused_until,
            last_success_at: s.last_success_at,
            last_error_at: s.last_error_at,
            last_error: s.last_error,
            deliveries: CountsBody {
                pending,
                succeeded,
                failed,
                dead,
                expired,
                cancelled,
            },
            success_rate: s.success_rate,
            signing_secret_set: s.signing_secret_set,
            signing_secret: s.signing_secret,
            origin: Origin::File,
            version: None,
            updated_by: None,
            updated_at: None,
            settings: None,
            secrets_set: Vec::new(),
        }
    }
}

fn rfc3339<S: serde::Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&t.to_rfc3339()),
        None => s.serialize_none(),
    }
}

async fn bodies(state: &AppState, names: &[&str]) -> Result<Vec<DestinationBody>, ApiError> {
    let found = operations::summaries(&state.engine, state.store.as_ref(), names).await?;
    let stored = state.live.stored_destinations(state.store.as_ref()).await?;
    Ok(found
        .into_iter()
        .map(|summary| {
            let origin = state.engine.origin_of(&summary.name);
            let body = DestinationBody::from(summary);
            match stored.iter().find(|s| s.spec.name == body.name) {
                Some(s) if origin == Some(Origin::Stored) => DestinationBody {
                    origin: Origin::Stored,
                    ..body
                }
                .with_stored(s),
                _ => body,
            }
        })
        .collect())
}

/// A config destination by name, or a 404 that says so.
fn destination(state: &AppState, name: &str) -> Result<Target, ApiError> {
    state
        .engine
        .target(name)
        .ok_or_else(|| operations::OperationError::no_destination(name).into())
}

/// The one destination named, as the API shows it.
pub(super) async fn one(state: &AppState, name: &str) -> Result<Json<DestinationBody>, ApiError> {
    destination(state, name)?;
    let mut items = bodies(state, &[name]).await?;
    Ok(Json(items.remove(0)))
}

pub async fn list(
    State(state): State<AppState>,
) -> Result<Json<ListResponse<DestinationBody>>, ApiError> {
    let all_names = state.engine.destination_names();
    let names: Vec<&str> = all_names.iter().map(String::as_str).collect();
    let items = bodies(&state, &names).await?;
    Ok(Json(ListResponse::whole(items)))
}

pub async fn get(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<DestinationBody>, ApiError> {
    one(&state, &name).await
}

async fn set_enabled(
    state: &AppState,
    name: &str,
    enabled: bool,
) -> Result<Json<DestinationBody>, ApiError> {
    destination(state, name)?;
    state
        .engine
        .set_enabled(name, enabled, "disabled by an operator")
        .await?;
    one(state, name).await
}

pub async fn enable(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<DestinationBody>, ApiError> {
    let answer = set_enabled(&state, &name, true).await?;
    let target = Changed {
        kind: "destination",
        id: &name,
        owner: None,
    };
    audit::record(&state, &caller, "destination.enabled", target, Value::Null).await;
    Ok(answer)
}

pub async fn disable(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<DestinationBody>, ApiError> {
    let answer = set_enabled(&state, &name, false).await?;
    let target = Changed {
        kind: "destination",
        id: &name,
        owner: None,
    };
    audit::record(&state, &caller, "destination.disabled", target, Value::Null).await;
    Ok(answer)
}

/// The answer of a test send: the target's status, how long it took, the headers kept of its answer and the
/// start of its body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TestBody {
    ok: bool,
    status: Option<u16>,
    latency_ms: u64,
    headers: serde_json::Map<String, Value>,
    body: String,
    error: Option<String>,
}

impl From<&crate::delivery::Sent> for TestBody {
    fn from(sent: &crate::delivery::Sent) -> Self {
        TestBody {
            ok: sent.status.is_some_and(|s| (200..300).contains(&s)),
            status: sent.status,
            latency_ms: sent.duration.as_millis() as u64,
            headers: sent.headers.clone(),
            body: crate::outbound::templates::truncate_chars(&sent.body, 1024),
            error: sent.error.clone(),
        }
    }
}

pub async fn test(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<TestBody>, ApiError> {
    let sent = operations::send_test(&state.engine, &name).await?;
    let target = Changed {
        kind: "destination",
        id: &name,
        owner: None,
    };
    let detail = serde_json::json!({"status": sent.status});
    audit::record(&state, &caller, "destination.tested", target, detail).await;
    Ok(Json(TestBody::from(&sent)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    /// Render for this destination (its type and template)…
    destination: Option<String>,
    /// …or for a destination type with its default template.
    #[serde(rename = "type")]
    kind: Option<DestinationType>,
    /// A Handlebars template to use instead of the destination's.
    template: Option<String>,
    /// Render this stored event…
    event_id: Option<String>,
    /// …or this app payload; neither renders a `test` event.
    fixture: Option<Fixture>,
}

/// An app payload to preview with, parsed as its source would parse it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    /// The source whose parser reads it (`radarr`, `jellyfin`…).
    source: String,
    /// The payload as the app sends it.
    payload: Value,
}

/// A rendered payload, or what stopped it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Preview {
    /// The body the target would be sent; `null` when a problem stopped it.
    payload: Option<Value>,
    /// A template that does not compile or render, a shape the target refuses.
    problems: Vec<String>,
    /// What the target's limits cut from what the template rendered (an embed over 6,000 characters, more
    /// than 25 fields…): sent cut, but worth fixing in the template.
    warnings: Vec<String>,
    /// The event rendered.
    event: crate::event::EventKind,
}

pub async fn preview(
    State(state): State<AppState>,
    body: Result<Json<PreviewRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Preview>, ApiError> {
    let Json(p) = body.map_err(|e| ApiError::InvalidPayload(e.body_text()))?;
    let target = match (&p.destination, p.kind) {
        (Some(name), _) => destination(&state, name)?,
        (None, Some(kind)) => Target::preview(kind),
        (None, None) => {
            return Err(ApiError::invalid_param(
                "destination",
                "give a destination name or a type",
            ));
        }
    };
    let fixture = match &p.fixture {
        Some(f) => {
            let source = state.sources.get(&f.source).ok_or_else(|| {
                ApiError::invalid_param("fixture.source", format!("no source named `{}`", f.source))
            })?;
            let body = serde_json::to_vec(&f.payload).map_err(|e| ApiError::Internal(e.into()))?;
            Some((source, body))
        }
        None => None,
    };
    let event = match (&p.event_id, &fixture) {
        (Some(id), _) => PreviewEvent::Stored(id),
        (None, Some((source, body))) => PreviewEvent::Payload { source, body },
        (None, None) => PreviewEvent::Test,
    };
    let templates = state.engine.templates();
    let store = state.store.as_ref();
    let preview = operations::preview(&templates, store, &target, p.template.as_deref(), event)
        .await
        .map_err(|e| match e {
            operations::OperationError::Invalid { message, .. } => {
                ApiError::invalid_param("fixture.payload", message)
            }
            other => other.into(),
        })?;
    let (payload, problems) = match preview.payload {
        Ok(payload) => (Some(payload), vec![]),
        Err(problem) => (None, vec![problem]),
    };
    Ok(Json(Preview {
        payload,
        problems,
        warnings: preview.warnings,
        event: preview.event.event,
    }))
}
