//! Templates over the API (CONTRACT §7): every template with where it comes from (built-in, file, stored),
//! saving one (checked by rendering it for every app's sample; problems → `422`, nothing saved), removing a
//! stored one (the file's or built-in one comes back), and a template's history. The work is in
//! [`crate::live_config`]; this file is HTTP only.

use super::audit::{self, Changed};
use super::auth::Caller;
use super::events::ListResponse;
use super::json_body::required;
use super::{ApiError, AppState};
use crate::live_config::TemplateChangeError;
use crate::outbound::TemplateOrigin;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A template and where it comes from.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TemplateBody {
    /// `discord/default`, `ntfy/my-movies`.
    name: String,
    origin: TemplateOrigin,
    /// A stored one: who saved it, when.
    updated_by: Option<String>,
    updated_at: Option<DateTime<Utc>>,
    /// Its text, in force now.
    template: String,
}

/// A template to save.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateText {
    /// The Handlebars text.
    template: String,
}

/// One entry of a template's history: a save (with its text) or a removal.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TemplateVersionBody {
    id: String,
    at: DateTime<Utc>,
    by: String,
    /// The text saved; `null` for a removal (back to the file's or built-in one).
    template: Option<String>,
}

/// What a removal did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TemplateRemoved {
    name: String,
    /// Where the template of that name comes from now (`file`, `built_in`), or `null` when there is none.
    origin: Option<TemplateOrigin>,
}

impl From<TemplateChangeError> for ApiError {
    fn from(e: TemplateChangeError) -> Self {
        match e {
            TemplateChangeError::BadName(message) => ApiError::invalid_param("name", message),
            TemplateChangeError::Invalid(problems) => ApiError::Unprocessable {
                message: format!(
                    "the template is not saved: {}",
                    problems
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
                details: problems
                    .iter()
                    .map(|p| json!({"field": "template", "line": p.line, "message": p.message}))
                    .collect(),
            },
            TemplateChangeError::NotStored(_) => ApiError::NotFound(e.to_string()),
            TemplateChangeError::Store(e) => e.into(),
        }
    }
}

async fn body_of(state: &AppState, name: &str) -> Result<Option<TemplateBody>, ApiError> {
    let templates = state.engine.templates();
    let Some(origin) = templates.origin(name) else {
        return Ok(None);
    };
    let stored = match origin {
        TemplateOrigin::Stored => state
            .store
            .stored_templates()
            .await?
            .into_iter()
            .find(|t| t.name == name),
        _ => None,
    };
    Ok(Some(TemplateBody {
        name: name.to_owned(),
        origin,
        updated_by: stored.as_ref().map(|t| t.updated_by.clone()),
        updated_at: stored.as_ref().map(|t| t.updated_at),
        template: templates.text(name).unwrap_or_default().to_owned(),
    }))
}

pub async fn list(
    State(state): State<AppState>,
) -> Result<Json<ListResponse<TemplateBody>>, ApiError> {
    let stored = state.store.stored_templates().await?;
    let templates = state.engine.templates();
    let items = templates
        .names()
        .into_iter()
        .map(|(name, origin)| {
            let saved = stored.iter().find(|t| t.name == name);
            TemplateBody {
                template: templates.text(&name).unwrap_or_default().to_owned(),
                updated_by: saved.map(|t| t.updated_by.clone()),
                updated_at: saved.map(|t| t.updated_at),
                name,
                origin,
            }
        })
        .collect();
    Ok(Json(ListResponse::whole(items)))
}

pub async fn save(
    State(state): State<AppState>,
    caller: Caller,
    Path((kind, name)): Path<(String, String)>,
    body: Result<Json<TemplateText>, JsonRejection>,
) -> Result<Json<TemplateBody>, ApiError> {
    let TemplateText { template } = required(body)?;
    let full = format!("{kind}/{name}");
    state
        .live
        .save_template(
            &state.engine,
            state.store.as_ref(),
            &state.sources,
            &full,
            &template,
            &caller.user.name,
        )
        .await?;
    audit::record(
        &state,
        &caller,
        "template.saved",
        changed(&full),
        Value::Null,
    )
    .await;
    let shown = body_of(&state, &full).await?;
    shown
        .map(Json)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("a saved template is not in force")))
}

pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path((kind, name)): Path<(String, String)>,
) -> Result<Json<TemplateRemoved>, ApiError> {
    let full = format!("{kind}/{name}");
    state
        .live
        .remove_template(
            &state.engine,
            state.store.as_ref(),
            &full,
            &caller.user.name,
        )
        .await?;
    audit::record(
        &state,
        &caller,
        "template.removed",
        changed(&full),
        Value::Null,
    )
    .await;
    let now = body_of(&state, &full).await?;
    Ok(Json(TemplateRemoved {
        origin: now.as_ref().map(|t| t.origin),
        name: full,
    }))
}

pub async fn history(
    State(state): State<AppState>,
    Path((kind, name)): Path<(String, String)>,
) -> Result<Json<ListResponse<TemplateVersionBody>>, ApiError> {
    let full = format!("{kind}/{name}");
    if crate::live_config::template_kind(&full).is_err() {
        return Err(ApiError::NotFound(format!("no template named `{full}`")));
    }
    let items = state
        .store
        .template_history(&full)
        .await?
        .into_iter()
        .map(|v| TemplateVersionBody {
            id: v.id,
            at: v.at,
            by: v.by,
            template: v.body,
        })
        .collect();
    Ok(Json(ListResponse::whole(items)))
}

fn changed(name: &str) -> Changed<'_> {
    Changed {
        kind: "template",
        id: name,
        owner: None,
    }
}
