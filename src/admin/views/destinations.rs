//! Destinations (admins): each destination's health — on or off and why, a pause, the last success and
//! error, its deliveries by status — and where it lives (hookarr.yaml, read-only here, or stored: edit and
//! delete), with enable, disable and send-a-test buttons, and a link to its template in the studio. Adding
//! and editing are in `destination_form.rs`.

use super::{Layout, LoggedIn, admin_only, iso, render};
use crate::api::{ApiError, AppState};
use askama::Template;
use axum::extract::State;
use axum::response::Response;

pub struct Card {
    pub name: String,
    pub kind: &'static str,
    pub url: String,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub paused_until: Option<String>,
    pub last_success_at: Option<String>,
    pub last_error_at: Option<String>,
    pub last_error: Option<String>,
    pub pending: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub dead: u64,
    pub success_rate: Option<String>,
    /// Stored through the page or the API (editable), not in hookarr.yaml.
    pub stored: bool,
    /// What deleting it does, for the confirmation.
    pub delete_warning: String,
}

#[derive(Template)]
#[template(path = "destinations.html")]
struct DestinationsPage {
    layout: Layout,
    cards: Vec<Card>,
}

pub async fn page(State(state): State<AppState>, who: LoggedIn) -> Result<Response, ApiError> {
    admin_only(&who)?;
    let now = chrono::Utc::now();
    let all_names = state.engine.destination_names();
    let names: Vec<&str> = all_names.iter().map(String::as_str).collect();
    let cards = crate::operations::summaries(&state.engine, state.store.as_ref(), &names)
        .await?
        .into_iter()
        .map(|s| Card {
            stored: state.engine.origin_of(&s.name) == Some(crate::delivery::Origin::Stored),
            delete_warning: format!(
                "Delete {}? Its {} pending deliver{} will end cancelled (kept in the delivery log); nothing more goes to it.",
                s.name,
                s.deliveries.pending,
                if s.deliveries.pending == 1 { "y" } else { "ies" }
            ),
            name: s.name,
            kind: s.kind,
            url: s.redacted_url,
            enabled: s.enabled,
            disabled_reason: s.disabled_reason,
            paused_until: s.paused_until.filter(|t| *t > now).as_ref().map(iso),
            last_success_at: s.last_success_at.as_ref().map(iso),
            last_error_at: s.last_error_at.as_ref().map(iso),
            last_error: s.last_error,
            pending: s.deliveries.pending,
            succeeded: s.deliveries.succeeded,
            failed: s.deliveries.failed,
            dead: s.deliveries.dead,
            success_rate: s.success_rate.map(|r| format!("{:.1} %", r * 100.0)),
        })
        .collect();
    let page = DestinationsPage {
        layout: Layout::new("Destinations", "/admin/destinations", &who),
        cards,
    };
    Ok(render(&page))
}
