//! Webhooks and mocks: the API's registrations (a user's own; an admin's view of everyone's) with register,
//! test, rotate-secret, enable/disable and delete; the mock receivers with create and delete, and what one
//! received. The buttons and forms call the JSON API; this file gathers what the page shows.

use super::{Layout, LoggedIn, iso, render};
use crate::api::{ApiError, AppState};
use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;

pub struct HookRow {
    pub id: String,
    pub owner: String,
    pub url: String,
    pub events: String,
    pub description: String,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
}

pub struct MockRow {
    pub id: String,
    pub owner: String,
    pub url: String,
    pub status: u16,
    pub checks_signatures: bool,
}

#[derive(Template)]
#[template(path = "webhooks.html")]
struct WebhooksPage {
    layout: Layout,
    hooks: Vec<HookRow>,
    mocks: Vec<MockRow>,
    /// How many more webhooks the viewer may register (a user; `None` for an admin).
    room: Option<usize>,
}

pub async fn page(State(state): State<AppState>, who: LoggedIn) -> Result<Response, ApiError> {
    let scope = who.caller.scope();
    let names: std::collections::HashMap<String, String> = match scope {
        None => state
            .store
            .list_users()
            .await?
            .into_iter()
            .map(|u| (u.id, u.name))
            .collect(),
        Some(_) => Default::default(),
    };
    let owner_name = |id: &str| names.get(id).cloned().unwrap_or_else(|| id.to_owned());
    let hooks: Vec<HookRow> = state
        .store
        .all_webhooks()
        .await?
        .into_iter()
        .filter(|w| scope.is_none_or(|me| me == w.user_id))
        .map(|w| {
            let disabled_reason = state.engine.disabled_reason(&w.id);
            HookRow {
                owner: owner_name(&w.user_id),
                enabled: disabled_reason.is_none(),
                disabled_reason,
                events: w.events.join(", "),
                description: w.description,
                url: w.url,
                id: w.id,
            }
        })
        .collect();
    let mocks = state
        .store
        .list_mocks(scope)
        .await?
        .into_iter()
        .map(|m| MockRow {
            owner: owner_name(&m.user_id),
            url: format!("{}/mock/{}", state.public_url, m.id),
            status: m.status,
            checks_signatures: m.secret.is_some(),
            id: m.id,
        })
        .collect();
    let room =
        scope.map(|_| (state.cfg.api.max_webhooks_per_user as usize).saturating_sub(hooks.len()));
    let page = WebhooksPage {
        layout: Layout::new("Webhooks and mocks", "/admin/webhooks", &who),
        hooks,
        mocks,
        room,
    };
    Ok(render(&page))
}

pub struct Received {
    pub at: String,
    pub method: String,
    pub query: String,
    pub headers: String,
    pub body: String,
    pub signature: String,
    pub status: u16,
}

#[derive(Template)]
#[template(path = "mock.html")]
struct MockPage {
    layout: Layout,
    id: String,
    url: String,
    requests: Vec<Received>,
}

/// One mock and what it received, newest first.
pub async fn mock(
    State(state): State<AppState>,
    who: LoggedIn,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::NotFound(format!("no mock has the id `{id}`"));
    let mock = state.store.get_mock(&id).await?.ok_or_else(not_found)?;
    if !who.caller.may_touch(&mock.user_id) {
        return Err(not_found());
    }
    let requests = state
        .store
        .mock_requests(&id, crate::storage::MOCK_REQUESTS_KEPT as u32)
        .await?
        .into_iter()
        .map(|r| Received {
            at: iso(&r.received_at),
            method: r.method,
            query: r.query,
            headers: r
                .headers
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join("\n"),
            body: crate::api::text_or_base64(r.body).0,
            signature: r.signature,
            status: r.status,
        })
        .collect();
    let page = MockPage {
        layout: Layout::new("Mock receiver", "/admin/webhooks", &who),
        url: format!("{}/mock/{}", state.public_url, mock.id),
        id: mock.id,
        requests,
    };
    Ok(render(&page))
}
