//! The sources over the API (CONTRACT §7, admins): each with its Connect URL and last event, a new token for
//! one whose token hookarr generated, a new named instance of an app (`POST`), an allow-list (`PATCH`), and
//! deleting one made here. The work is in [`crate::sources`]; this file is HTTP only.

use super::audit::{self, Changed};
use super::auth::Caller;
use super::events::ListResponse;
use super::json_body::required;
use super::{ApiError, AppState};
use crate::operations::events::last_event_of;
use crate::sources::{NewSource, RotateError, Source, SourceChangeError};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

/// A source as answered: its Connect URL carries its token (admins only see this).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SourceBody {
    name: String,
    /// `radarr`, `plex`…
    app: &'static str,
    /// The URL to paste into the app, token included.
    connect_url: String,
    /// For an `apprise` source: the Apprise URL (`json://hookarr:<token>@host/hooks/<name>`) for apps that
    /// take one, like Bazarr.
    #[serde(skip_serializing_if = "Option::is_none")]
    apprise_url: Option<String>,
    /// Whether `rotate-token` may change its token (false when the config sets the token or Basic pair).
    rotatable: bool,
    /// Where it lives: `built_in`, `file` (hookarr.yaml: changed there) or `stored` (made in the page or
    /// the API: it may be deleted).
    origin: &'static str,
    /// The address ranges it is accepted from (empty: anywhere).
    allow_ips: Vec<String>,
    last_event_at: Option<chrono::DateTime<chrono::Utc>>,
    last_event_summary: Option<String>,
    /// The last request to it that was refused (since this process started), and why.
    last_refusal: Option<super::HookRefusal>,
}

async fn body_of(state: &AppState, s: &Source) -> Result<SourceBody, ApiError> {
    let last = last_event_of(state.store.as_ref(), &s.name).await?;
    Ok(SourceBody {
        name: s.name.clone(),
        app: s.app.as_str(),
        connect_url: s.connect_url(&state.public_url, true),
        apprise_url: s.apprise_url(&state.public_url, true),
        rotatable: s.token_in_store,
        origin: match (s.in_file, s.stored) {
            (true, _) => "file",
            (false, true) => "stored",
            (false, false) => "built_in",
        },
        allow_ips: s.allow_ips.iter().map(ToString::to_string).collect(),
        last_event_at: last.as_ref().map(|e| e.timestamp),
        last_event_summary: last.map(|e| e.summary),
        last_refusal: state.hook_refusals.last_of(&s.name),
    })
}

pub async fn list(
    State(state): State<AppState>,
) -> Result<Json<ListResponse<SourceBody>>, ApiError> {
    let mut items = Vec::new();
    for s in state.sources.all() {
        items.push(body_of(&state, &s).await?);
    }
    Ok(Json(ListResponse::whole(items)))
}

/// A change of a source: its allow-list.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourcePatch {
    /// The address ranges it is accepted from; empty or left out: anywhere.
    #[serde(default)]
    allow_ips: Vec<String>,
}

impl From<SourceChangeError> for ApiError {
    fn from(e: SourceChangeError) -> Self {
        match e {
            SourceChangeError::Invalid(problems) => {
                ApiError::problems("the source is not valid", &problems)
            }
            SourceChangeError::NotFound(_) => ApiError::NotFound(e.to_string()),
            SourceChangeError::InFile(_)
            | SourceChangeError::BuiltIn(_)
            | SourceChangeError::Taken(_) => ApiError::Conflict(e.to_string()),
            SourceChangeError::Store(e) => e.into(),
        }
    }
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<NewSource>, JsonRejection>,
) -> Result<(StatusCode, Json<SourceBody>), ApiError> {
    let new = required(body)?;
    let (name, app) = (new.name.clone(), new.app.clone());
    let source = state
        .sources
        .create(state.store.as_ref(), new, false)
        .await?;
    let detail = serde_json::json!({"app": app});
    audit::record(&state, &caller, "source.created", changed(&name), detail).await;
    Ok((StatusCode::CREATED, Json(body_of(&state, &source).await?)))
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    body: Result<Json<SourcePatch>, JsonRejection>,
) -> Result<Json<SourceBody>, ApiError> {
    let patch = required(body)?;
    let detail = serde_json::json!({"allow_ips": patch.allow_ips});
    let source = state
        .sources
        .set_allow_ips(state.store.as_ref(), &name, patch.allow_ips)
        .await?;
    audit::record(&state, &caller, "source.changed", changed(&name), detail).await;
    Ok(Json(body_of(&state, &source).await?))
}

pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.sources.delete(state.store.as_ref(), &name).await?;
    let detail = serde_json::Value::Null;
    audit::record(&state, &caller, "source.deleted", changed(&name), detail).await;
    Ok(StatusCode::NO_CONTENT)
}

fn changed(name: &str) -> Changed<'_> {
    Changed {
        kind: "source",
        id: name,
        owner: None,
    }
}

/// A rotated token: the Connect URL to paste into the app again.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RotatedToken {
    name: String,
    token: String,
    connect_url: String,
}

pub async fn rotate_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<RotatedToken>, ApiError> {
    let token = state
        .sources
        .rotate(state.store.as_ref(), &name)
        .await
        .map_err(|e| match e {
            RotateError::Unknown(_) => ApiError::NotFound(e.to_string()),
            RotateError::SetInConfig(_) => ApiError::Conflict(e.to_string()),
            RotateError::Store(e) => e.into(),
        })?;
    let target = Changed {
        kind: "source",
        id: &name,
        owner: None,
    };
    audit::record(
        &state,
        &caller,
        "source.token_rotated",
        target,
        serde_json::Value::Null,
    )
    .await;
    let connect_url = state
        .sources
        .get(&name)
        .map(|s| s.connect_url(&state.public_url, true))
        .unwrap_or_default();
    Ok(Json(RotatedToken {
        name,
        token,
        connect_url,
    }))
}
