//! `GET /api/people`, `POST /api/people`, `DELETE /api/people/{name}`: who is told about their own
//! requests (CONTRACT §5.1) — those of `hookarr.yaml` (read-only here) and those added in the page or the API.

use super::audit::{self, Changed};
use super::auth::Caller;
use super::events::ListResponse;
use super::json_body::required;
use super::{ApiError, AppState};
use crate::config::Person;
use crate::live_config::PersonError;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A person as listed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PersonBody {
    name: String,
    /// Their e-mail or user name in Overseerr/Jellyseerr.
    overseerr: Option<String>,
    /// Their user name on Plex, Jellyfin or Emby.
    media_user: Option<String>,
    /// The destination that tells them.
    notify: String,
    /// `file` (hookarr.yaml: read-only here) or `stored` (added in the page or the API).
    origin: &'static str,
}

fn body(p: Person, origin: &'static str) -> PersonBody {
    PersonBody {
        name: p.name,
        overseerr: p.overseerr,
        media_user: p.media_user,
        notify: p.notify,
        origin,
    }
}

/// Every person, the file's first.
pub async fn list(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Json<ListResponse<PersonBody>>, ApiError> {
    let mut items: Vec<PersonBody> = state
        .live
        .file_config()
        .people
        .iter()
        .cloned()
        .map(|p| body(p, "file"))
        .collect();
    for p in state.store.stored_people().await? {
        if !state.live.in_file(&p.name) {
            items.push(body(p, "stored"));
        }
    }
    Ok(Json(ListResponse::whole(items)))
}

/// `POST /api/people`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonFields {
    name: String,
    overseerr: Option<String>,
    media_user: Option<String>,
    /// A destination's name.
    notify: String,
}

/// Adds a person, or changes one added before.
pub async fn save(
    State(state): State<AppState>,
    caller: Caller,
    fields: Result<Json<PersonFields>, JsonRejection>,
) -> Result<Json<PersonBody>, ApiError> {
    let f = required(fields)?;
    let person = Person {
        name: f.name,
        overseerr: f.overseerr,
        media_user: f.media_user,
        notify: f.notify,
    };
    let saved = state
        .live
        .save_person(
            &state.engine,
            state.store.as_ref(),
            person,
            &caller.user.name,
        )
        .await
        .map_err(answer)?;
    let detail = json!({"notify": saved.notify});
    audit::record(
        &state,
        &caller,
        "person.saved",
        changed(&saved.name),
        detail,
    )
    .await;
    Ok(Json(body(saved, "stored")))
}

/// Removes a person added in the page or the API.
pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .live
        .remove_person(&state.engine, state.store.as_ref(), &name)
        .await
        .map_err(answer)?;
    audit::record(
        &state,
        &caller,
        "person.deleted",
        changed(&name),
        serde_json::Value::Null,
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

fn answer(e: PersonError) -> ApiError {
    match e {
        PersonError::Invalid(field, message) => ApiError::Unprocessable {
            message: format!("{field}: {message}"),
            details: vec![json!({"field": field, "message": message})],
        },
        PersonError::InFile(_) => ApiError::Conflict(e.to_string()),
        PersonError::NotFound(_) => ApiError::NotFound(e.to_string()),
        PersonError::Store(s) => s.into(),
    }
}

fn changed(name: &str) -> Changed<'_> {
    Changed {
        kind: "person",
        id: name,
        owner: None,
    }
}
