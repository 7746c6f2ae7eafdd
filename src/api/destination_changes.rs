//! Destinations made and changed through the API (CONTRACT §7): create (`{name, type, …keys}` or
//! `{name, url}`), change (a merge of the keys given, with a version check), delete (its pending deliveries
//! end `cancelled`), check without saving, and re-read `hookarr.yaml`. The work is in
//! [`crate::live_config`]; this file is HTTP only. Every change is in force at once and in the audit log.

use super::audit::{self, Changed};
use super::auth::Caller;
use super::destinations::{DestinationBody, one};
use super::json_body::required;
use super::{ApiError, AppState};
use crate::live_config::{ChangeContext, ReloadReport};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::HashSet;

/// A destination's keys as `hookarr.yaml` takes them (`{"name", "type", "url", "events", …}`), or
/// `{"name", "url"}` with a service URL (`tgram://…`, `ntfy://…`, a Discord webhook URL). A change takes
/// only the keys to change (`null` removes one) and `version`, the version it was made on.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[schema(value_type = Object)]
pub struct DestinationKeys(pub Map<String, Value>);

/// What a check found: nothing is saved either way.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DestinationCheck {
    valid: bool,
    /// The destination's type (from `type`, or read from its URL).
    #[serde(rename = "type")]
    kind: Option<&'static str>,
    /// `{"field", "message"}` per problem.
    problems: Vec<Value>,
}

/// What a delete did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DestinationDeleted {
    name: String,
    /// Its deliveries that were still pending, now `cancelled` (in the delivery log).
    cancelled: u64,
}

/// What a reload of `hookarr.yaml` put in force.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConfigReloaded {
    applied: bool,
    #[serde(flatten)]
    report: ReloadReport,
}

/// The source names a destination may name: every source hookarr knows.
pub(super) fn source_names(state: &AppState) -> HashSet<String> {
    state.sources.all().iter().map(|s| s.name.clone()).collect()
}

pub(super) fn context<'a>(state: &'a AppState, sources: &'a HashSet<String>) -> ChangeContext<'a> {
    ChangeContext {
        engine: &state.engine,
        store: state.store.as_ref(),
        sources,
    }
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<DestinationKeys>, JsonRejection>,
) -> Result<(StatusCode, Json<DestinationBody>), ApiError> {
    let DestinationKeys(keys) = required(body)?;
    let live = &state.live;
    let saved = live
        .create_destination(
            &context(&state, &source_names(&state)),
            Value::Object(keys),
            &caller.user.name,
        )
        .await?;
    let name = saved.spec.name.clone();
    let detail = json!({"type": saved.spec.kind.as_str(), "events": saved.spec.events});
    audit::record(
        &state,
        &caller,
        "destination.created",
        changed(&name),
        detail,
    )
    .await;
    Ok((StatusCode::CREATED, one(&state, &name).await?))
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    body: Result<Json<DestinationKeys>, JsonRejection>,
) -> Result<Json<DestinationBody>, ApiError> {
    let DestinationKeys(mut patch) = required(body)?;
    let expected = match patch.remove("version") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_i64().ok_or_else(|| {
            ApiError::invalid_param(
                "version",
                "the version the change was made on: a whole number",
            )
        })?),
    };
    let keys: Vec<String> = patch.keys().cloned().collect();
    let saved = state
        .live
        .update_destination(
            &context(&state, &source_names(&state)),
            &name,
            patch,
            expected,
            &caller.user.name,
        )
        .await?;
    // The keys changed, never their values (a secret among them).
    let detail = json!({"keys": keys, "version": saved.version});
    audit::record(
        &state,
        &caller,
        "destination.changed",
        changed(&name),
        detail,
    )
    .await;
    one(&state, &name).await
}

pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<DestinationDeleted>, ApiError> {
    let cancelled = state
        .live
        .delete_destination(&state.engine, state.store.as_ref(), &name)
        .await?;
    let detail = json!({"cancelled": cancelled});
    audit::record(
        &state,
        &caller,
        "destination.deleted",
        changed(&name),
        detail,
    )
    .await;
    Ok(Json(DestinationDeleted { name, cancelled }))
}

pub async fn validate(
    State(state): State<AppState>,
    body: Result<Json<DestinationKeys>, JsonRejection>,
) -> Result<Json<DestinationCheck>, ApiError> {
    let DestinationKeys(keys) = required(body)?;
    let keys = super::destination_trial::with_stored_secrets(&state, keys).await?;
    let editing = keys.get("name").and_then(Value::as_str).map(str::to_owned);
    let editing = match &editing {
        Some(name) if state.engine.origin_of(name) == Some(crate::delivery::Origin::Stored) => {
            Some(name.as_str())
        }
        _ => None,
    };
    let checked = state
        .live
        .check_destination(
            &context(&state, &source_names(&state)),
            Value::Object(keys),
            editing,
        )
        .await;
    Ok(Json(match checked {
        Ok(read) => DestinationCheck {
            valid: true,
            kind: Some(read.destination.kind.as_str()),
            problems: Vec::new(),
        },
        Err(crate::live_config::ChangeError::Invalid(problems)) => DestinationCheck {
            valid: false,
            kind: None,
            problems: problems
                .iter()
                .map(|p| json!({"field": p.path, "message": p.message}))
                .collect(),
        },
        Err(other) => DestinationCheck {
            valid: false,
            kind: None,
            problems: vec![json!({"field": "name", "message": other.to_string()})],
        },
    }))
}

pub async fn reload(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<ConfigReloaded>, ApiError> {
    let outcome = state
        .live
        .reload_file(&state.engine, state.store.as_ref())
        .await;
    let target = Changed {
        kind: "config",
        id: "hookarr.yaml",
        owner: None,
    };
    match outcome {
        Ok(report) => {
            let detail = json!({"added": report.added, "changed": report.changed, "removed": report.removed});
            audit::record(&state, &caller, "config.reloaded", target, detail).await;
            Ok(Json(ConfigReloaded {
                applied: true,
                report,
            }))
        }
        Err(problems) => Err(ApiError::problems(
            &format!(
                "hookarr.yaml not applied ({} problem(s)); the previous configuration stays in force",
                problems.len()
            ),
            &problems,
        )),
    }
}

fn changed(name: &str) -> Changed<'_> {
    Changed {
        kind: "destination",
        id: name,
        owner: None,
    }
}
