//! The views of the admin page: each gathers what it shows from the store and the engine and renders an
//! askama template of `src/admin/pages/`; [`LoggedIn`] sends anyone not logged in to the log-in form.

pub mod accounts;
pub mod broker;
pub mod dashboard;
pub mod deliveries;
pub mod destination_form;
pub mod destinations;
pub mod events;
pub mod sources;
pub mod stories;
pub mod studio;
pub mod webhooks;

use super::assets;
use crate::api::{ApiError, AppState, Caller};
use crate::storage::Login;
use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};

/// Every event name, space-separated, made once.
static EVENT_NAMES: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    crate::event::EventKind::ALL
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(" ")
});

/// What every page's frame shows: the title, who is logged in, the navigation and the assets.
pub struct Layout {
    pub title: String,
    /// `None` on the log-in form.
    pub viewer: Option<Viewer>,
    /// The navigation entry of this page.
    pub nav: &'static str,
    pub css: String,
    /// The page icon's URL.
    pub icon: String,
    pub js: String,
    /// Every event name, space-separated: the live lists listen for each (SSE events are named).
    pub kinds: String,
}

/// Who is logged in.
pub struct Viewer {
    pub name: String,
    pub is_admin: bool,
    /// The log-in's CSRF token, for the log-out form and the scripts' API calls.
    pub csrf: String,
}

impl Layout {
    pub fn anonymous(title: &str) -> Layout {
        Layout {
            title: title.to_owned(),
            viewer: None,
            nav: "",
            css: assets::css_url(),
            icon: assets::icon_url(),
            js: assets::js_url(),
            kinds: EVENT_NAMES.clone(),
        }
    }

    pub fn new(title: &str, nav: &'static str, who: &LoggedIn) -> Layout {
        Layout {
            viewer: Some(Viewer {
                name: who.caller.user.name.clone(),
                is_admin: who.caller.is_admin(),
                csrf: who.login.csrf.clone(),
            }),
            nav,
            ..Layout::anonymous(title)
        }
    }

    /// Whether an admin is logged in.
    pub fn is_admin(&self) -> bool {
        self.viewer.as_ref().is_some_and(|v| v.is_admin)
    }

    /// The navigation: (path, label, whether it is this page).
    pub fn entries(&self) -> Vec<(&'static str, &'static str, bool)> {
        let admin = self.is_admin();
        [
            ("/admin", "Dashboard", false),
            ("/admin/sources", "Sources", true),
            ("/admin/events", "Events", false),
            ("/admin/stories", "Stories", false),
            ("/admin/deliveries", "Deliveries", false),
            ("/admin/destinations", "Destinations", true),
            ("/admin/studio", "Template studio", true),
            ("/admin/webhooks", "Webhooks", false),
            ("/admin/keys", "Keys", false),
            ("/admin/audit", "Audit", false),
        ]
        .into_iter()
        .filter(|(_, _, admin_only)| admin || !admin_only)
        .map(|(path, label, _)| (path, label, path == self.nav))
        .collect()
    }
}

/// A page as HTML, or the usual 500 when its template fails.
pub fn render<T: Template>(page: &T) -> Response {
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => ApiError::Internal(anyhow::anyhow!("rendering a page: {e}")).into_response(),
    }
}

/// Someone logged in to the admin page; extracting it from a request without a log-in redirects to the
/// log-in form.
pub struct LoggedIn {
    pub login: Login,
    pub caller: Caller,
}

impl FromRequestParts<AppState> for LoggedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match super::login_of(parts, state).await {
            Ok(Some(login)) => {
                let address = parts
                    .extensions
                    .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                    .map(|peer| peer.0.ip().to_canonical());
                let caller = Caller {
                    user: login.user.clone(),
                    address,
                };
                Ok(LoggedIn { login, caller })
            }
            Ok(None) => Err(Redirect::to("/admin/login").into_response()),
            Err(e) => Err(e.into_response()),
        }
    }
}

/// An admin-only page refuses users with a page that says so.
pub fn admin_only(who: &LoggedIn) -> Result<(), ApiError> {
    match who.caller.is_admin() {
        true => Ok(()),
        false => Err(ApiError::Forbidden("this page is for admins".into())),
    }
}

/// A time as the page sends it: RFC 3339 in UTC, shown in the browser's zone by the script.
pub fn iso(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The newest event's id when a page is made: its live list asks the stream for what came after it, so
/// nothing that arrives between the page and the stream's start is missed.
pub async fn newest_event_id(state: &AppState) -> Result<String, ApiError> {
    let newest = state
        .store
        .list_events(&crate::storage::EventQuery {
            limit: 1,
            ..Default::default()
        })
        .await?;
    // With no event yet, the smallest id: everything that arrives is after it.
    Ok(newest.items.first().map_or_else(
        || format!("evt_{}", ulid::Ulid::nil()),
        |e| e.id.to_string(),
    ))
}

/// A link to `path` with the non-empty `params` in its query string (a list's next page).
pub fn page_link(path: &str, params: &[(&str, &str)]) -> String {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter().filter(|(_, v)| !v.trim().is_empty()))
        .finish();
    format!("{path}?{query}")
}
