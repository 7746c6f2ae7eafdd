//! `GET /api/sources` and `POST /api/sources/{name}/rotate-token` (CONTRACT §7, admins): each source with
//! its Connect URL and last event, and a new token for one whose token hookarr generated.

use super::audit::{self, Changed};
use super::auth::Caller;
use super::events::ListResponse;
use super::{ApiError, AppState};
use crate::operations::events::last_event_of;
use crate::sources::RotateError;
use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;

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
    last_event_at: Option<chrono::DateTime<chrono::Utc>>,
    last_event_summary: Option<String>,
    /// The last request to it that was refused (since this process started), and why.
    last_refusal: Option<super::HookRefusal>,
}

pub async fn list(
    State(state): State<AppState>,
) -> Result<Json<ListResponse<SourceBody>>, ApiError> {
    let mut items = Vec::new();
    for s in state.sources.all() {
        let last = last_event_of(state.store.as_ref(), &s.name).await?;
        items.push(SourceBody {
            name: s.name.clone(),
            app: s.app.as_str(),
            connect_url: s.connect_url(&state.public_url, true),
            apprise_url: s.apprise_url(&state.public_url, true),
            rotatable: s.token_in_store,
            last_event_at: last.as_ref().map(|e| e.timestamp),
            last_event_summary: last.map(|e| e.summary),
            last_refusal: state.hook_refusals.last_of(&s.name),
        });
    }
    Ok(Json(ListResponse::whole(items)))
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
