//! The audit log over the API: [`record`], called by every route that changes something once the change is
//! made, and `GET /api/audit` (an admin sees everything; a user what they did and what was done to theirs).
//! Nothing recorded carries a key or a secret.

use super::auth::Caller;
use super::events::{ListResponse, PageParams, encode_cursor};
use super::{ApiError, AppState};
use crate::storage::AuditEntry;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::Serialize;
use serde_json::Value;

pub use crate::operations::audit::Changed;

/// Records a change made by `caller` (see [`crate::operations::audit::record`]).
pub async fn record(
    state: &AppState,
    caller: &Caller,
    action: &'static str,
    target: Changed<'_>,
    detail: Value,
) {
    let actor = crate::operations::audit::Actor {
        id: caller.user.id.clone(),
        name: caller.user.name.clone(),
        address: caller.address,
    };
    crate::operations::audit::record(state.store.as_ref(), actor, action, target, detail).await;
}

/// An audit entry as answered.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditBody {
    id: String,
    at: chrono::DateTime<chrono::Utc>,
    actor: Value,
    action: String,
    target: Value,
    address: Option<String>,
    detail: Value,
}

impl From<AuditEntry> for AuditBody {
    fn from(e: AuditEntry) -> Self {
        AuditBody {
            id: e.id,
            at: e.at,
            actor: serde_json::json!({"id": e.actor_id, "name": e.actor_name}),
            action: e.action,
            target: serde_json::json!({"kind": e.target_kind, "id": e.target_id, "owner_id": e.owner_id}),
            address: e.address,
            detail: e.detail,
        }
    }
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<Query<PageParams>, QueryRejection>,
) -> Result<Json<ListResponse<AuditBody>>, ApiError> {
    let (before, limit) = PageParams::page(params)?;
    let page = state
        .store
        .list_audit(caller.scope(), before.as_deref(), limit)
        .await?;
    Ok(Json(ListResponse {
        next_cursor: page.next.map(|k| encode_cursor(&k)),
        items: page.items.into_iter().map(Into::into).collect(),
    }))
}
