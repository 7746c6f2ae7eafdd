//! Users and their API keys (CONTRACT §7): an admin manages users; everyone manages their own keys (an
//! admin anyone's). A key is shown once, when it is created; lists show its first characters only.

use super::audit::{self, Changed};
use super::auth::Caller;
use super::events::ListResponse;
use super::json_body::{OptionalJson, required};
use super::{ApiError, AppState};
use crate::secrets::new_api_key;
use crate::storage::{KeyRow, Role, UserRow};
use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A user as answered.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserBody {
    id: String,
    name: String,
    /// `admin` or `user`.
    role: &'static str,
    created_at: chrono::DateTime<chrono::Utc>,
}

impl From<UserRow> for UserBody {
    fn from(u: UserRow) -> Self {
        UserBody {
            id: u.id,
            name: u.name,
            role: u.role.as_str(),
            created_at: u.created_at,
        }
    }
}

/// A key as listed: never the key.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KeyBody {
    id: String,
    user_id: String,
    name: String,
    /// The key's first characters, to tell keys apart.
    prefix: String,
    created_at: chrono::DateTime<chrono::Utc>,
    last_used_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<KeyRow> for KeyBody {
    fn from(k: KeyRow) -> Self {
        KeyBody {
            id: k.id,
            user_id: k.user_id,
            name: k.name,
            prefix: k.prefix,
            created_at: k.created_at,
            last_used_at: k.last_used_at,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Unique: letters, digits, `-`, `_`, `.`.
    name: String,
    /// `user` (the default) or `admin`.
    #[serde(default)]
    role: Option<String>,
}

/// A new key: the one answer that shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedKey {
    #[serde(flatten)]
    key_row: KeyBody,
    /// The key itself (`hk_…`), shown this once: hookarr keeps only its hash.
    key: String,
}

pub async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    new: Result<Json<NewUser>, JsonRejection>,
) -> Result<(StatusCode, Json<UserBody>), ApiError> {
    let new = required(new)?;
    let name = new.name.trim();
    if name.is_empty()
        || name.chars().count() > 64
        || name.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(ApiError::invalid_param(
            "name",
            "1–64 characters without spaces, like sarah or discord-bot",
        ));
    }
    let role = match new.role.as_deref() {
        None | Some("user") => Role::User,
        Some("admin") => Role::Admin,
        Some(_) => return Err(ApiError::invalid_param("role", "`admin` or `user`")),
    };
    let user = state.store.create_user(name, role).await?;
    let target = Changed {
        kind: "user",
        id: &user.id,
        owner: Some(&user.id),
    };
    let detail = json!({"name": user.name, "role": role.as_str()});
    audit::record(&state, &caller, "user.created", target, detail).await;
    Ok((StatusCode::CREATED, Json(user.into())))
}

pub async fn list_users(
    State(state): State<AppState>,
) -> Result<Json<ListResponse<UserBody>>, ApiError> {
    let users: Vec<UserBody> = state
        .store
        .list_users()
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(Json(ListResponse::whole(users)))
}

pub async fn delete_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if caller.user.id == id {
        return Err(ApiError::Conflict(
            "you cannot delete the user you are signed in as".into(),
        ));
    }
    if id == state.config_admin.id {
        return Err(ApiError::Conflict(
            "the config's admin key acts as this user; remove admin.api_key from the config instead"
                .into(),
        ));
    }
    if !state.store.delete_user(&id).await? {
        return Err(ApiError::NotFound(format!("no user has the id `{id}`")));
    }
    // Their webhooks are gone with them.
    state.engine.reload_webhooks().await?;
    let target = Changed {
        kind: "user",
        id: &id,
        owner: Some(&id),
    };
    audit::record(&state, &caller, "user.deleted", target, Value::Null).await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    /// Whose key (an admin may name anyone; a user only themselves). Default: the caller.
    #[serde(default)]
    user_id: Option<String>,
    /// A label, like "discord bot".
    #[serde(default)]
    name: Option<String>,
}

pub async fn create_key(
    State(state): State<AppState>,
    caller: Caller,
    // No body makes a key for the caller.
    OptionalJson(new): OptionalJson<NewKey>,
) -> Result<(StatusCode, Json<CreatedKey>), ApiError> {
    let user_id = new.user_id.unwrap_or_else(|| caller.user.id.clone());
    let no_user = || ApiError::NotFound(format!("no user has the id `{user_id}`"));
    if !caller.may_touch(&user_id) {
        return Err(no_user());
    }
    if state.store.get_user(&user_id).await?.is_none() {
        return Err(no_user());
    }
    let label = new.name.unwrap_or_default();
    if label.chars().count() > 100 {
        return Err(ApiError::invalid_param("name", "at most 100 characters"));
    }
    let key = new_api_key();
    let row = state
        .store
        .insert_api_key(&user_id, &key.hash, &key.prefix, &label)
        .await?;
    let target = Changed {
        kind: "key",
        id: &row.id,
        owner: Some(&user_id),
    };
    let detail = json!({"name": row.name, "prefix": row.prefix});
    audit::record(&state, &caller, "key.created", target, detail).await;
    let answer = CreatedKey {
        key_row: row.into(),
        key: key.key,
    };
    Ok((StatusCode::CREATED, Json(answer)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct KeyParams {
    /// An admin: only this user's keys (a user always sees their own).
    user_id: Option<String>,
}

pub async fn list_keys(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<Query<KeyParams>, QueryRejection>,
) -> Result<Json<ListResponse<KeyBody>>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::invalid_param("query", e.body_text()))?;
    let owner = match (caller.is_admin(), p.user_id) {
        (true, wanted) => wanted,
        (false, _) => Some(caller.user.id.clone()),
    };
    let keys: Vec<KeyBody> = state
        .store
        .list_api_keys(owner.as_deref())
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(Json(ListResponse::whole(keys)))
}

pub async fn delete_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let Some(owner) = state.store.delete_api_key(&id, caller.scope()).await? else {
        return Err(ApiError::NotFound(format!("no API key has the id `{id}`")));
    };
    // Whose key it was, whoever deleted it: the user's audit shows an admin's change to their keys.
    let target = Changed {
        kind: "key",
        id: &id,
        owner: Some(&owner),
    };
    audit::record(&state, &caller, "key.deleted", target, Value::Null).await;
    Ok(StatusCode::NO_CONTENT)
}
