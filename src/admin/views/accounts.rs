//! Users and keys: an admin makes and deletes users and keys for anyone; a user makes and revokes their
//! own keys. And the audit log — who changed what, when, from where (a user: theirs).

use super::{Layout, LoggedIn, iso, render};
use crate::api::{ApiError, AppState};
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;

pub struct UserView {
    pub id: String,
    pub name: String,
    pub role: &'static str,
    pub created_at: String,
    /// The config's own admin cannot be deleted.
    pub deletable: bool,
}

pub struct KeyView {
    pub id: String,
    pub owner: String,
    pub name: String,
    pub prefix: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

#[derive(Template)]
#[template(path = "keys.html")]
struct KeysPage {
    layout: Layout,
    /// Admins: every user.
    users: Vec<UserView>,
    keys: Vec<KeyView>,
}

pub async fn keys(State(state): State<AppState>, who: LoggedIn) -> Result<Response, ApiError> {
    let is_admin = who.caller.is_admin();
    let all_users = state.store.list_users().await?;
    let name_of = |id: &str| {
        all_users
            .iter()
            .find(|u| u.id == id)
            .map_or_else(|| id.to_owned(), |u| u.name.clone())
    };
    let keys = state
        .store
        .list_api_keys(who.caller.scope())
        .await?
        .into_iter()
        .map(|k| KeyView {
            owner: name_of(&k.user_id),
            id: k.id,
            name: k.name,
            prefix: k.prefix,
            created_at: iso(&k.created_at),
            last_used_at: k.last_used_at.as_ref().map(iso),
        })
        .collect();
    let users = match is_admin {
        true => all_users
            .iter()
            .map(|u| UserView {
                deletable: u.id != state.config_admin.id,
                id: u.id.clone(),
                name: u.name.clone(),
                role: u.role.as_str(),
                created_at: iso(&u.created_at),
            })
            .collect(),
        false => Vec::new(),
    };
    let page = KeysPage {
        layout: Layout::new("Users and keys", "/admin/keys", &who),
        users,
        keys,
    };
    Ok(render(&page))
}

pub struct AuditView {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub address: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    layout: Layout,
    entries: Vec<AuditView>,
    /// The link to the next older page, when there is one.
    older: Option<String>,
}

/// `?before=`: older than this entry.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Before {
    #[serde(default)]
    before: String,
}

/// How many audit entries the page shows.
const AUDIT_SHOWN: u32 = 200;

pub async fn audit(
    State(state): State<AppState>,
    who: LoggedIn,
    Query(before): Query<Before>,
) -> Result<Response, ApiError> {
    let before = Some(before.before.trim()).filter(|b| !b.is_empty());
    let page = state
        .store
        .list_audit(who.caller.scope(), before, AUDIT_SHOWN)
        .await?;
    let older = page
        .next
        .as_deref()
        .map(|next| super::page_link("/admin/audit", &[("before", next)]));
    let entries = page
        .items
        .into_iter()
        .map(|e| AuditView {
            at: iso(&e.at),
            actor: e.actor_name,
            action: e.action,
            target: format!("{} {}", e.target_kind, e.target_id),
            address: e.address.unwrap_or_default(),
            detail: match e.detail {
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            },
        })
        .collect();
    let page = AuditPage {
        layout: Layout::new("Audit log", "/admin/audit", &who),
        entries,
        older,
    };
    Ok(render(&page))
}
