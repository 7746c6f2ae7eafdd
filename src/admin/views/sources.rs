//! Sources (admins): per app its Connect URL with a copy button, the steps to set it up in that app with
//! the URL filled in, and its last event — "waiting for the Test button…" until one arrives, which the
//! page's script turns green live from the event stream.

use super::{Layout, LoggedIn, admin_only, iso, render};
use crate::api::{ApiError, AppState};
use crate::inbound::SourceApp;
use crate::operations::events::last_event_of;
use askama::Template;
use axum::extract::State;
use axum::response::Response;

pub struct SourceCard {
    pub name: String,
    pub app: &'static str,
    pub connect_url: String,
    /// An `apprise` source's Apprise URL (Bazarr's field).
    pub apprise_url: Option<String>,
    /// The steps in the app, in order.
    pub steps: Vec<&'static str>,
    /// Whether the app has a test button (Plex has none: play something).
    pub test_hint: &'static str,
    pub last_summary: Option<String>,
    pub last_at: Option<String>,
    /// The last refused request, when it came after the last event: why the app's Test failed.
    pub refused: Option<Refused>,
    /// Whether its token may be rotated here (not one written in the config).
    pub rotatable: bool,
    /// Text the app needs pasted besides the URL (Tautulli's templates): a label and the text.
    pub templates: &'static [(&'static str, &'static str)],
    /// Its allow-list, comma-separated (empty: anywhere).
    pub allow_ips: String,
    /// Not written in hookarr.yaml: its allow-list is set here.
    pub editable: bool,
    /// Made here: it may be deleted here.
    pub deletable: bool,
}

/// A refused request as a card shows it.
pub struct Refused {
    pub status: u16,
    pub reason: String,
    pub address: String,
    pub at: String,
    /// For a request to no source: the name it asked for.
    pub name: Option<String>,
}

impl From<crate::api::HookRefusal> for Refused {
    fn from(r: crate::api::HookRefusal) -> Refused {
        Refused {
            status: r.status,
            reason: r.reason,
            address: r.address,
            at: iso(&r.at),
            name: r.source,
        }
    }
}

/// Tautulli's two templates (also in the repository's `docs/tautulli/`, which the README shows).
const TAUTULLI_TEMPLATES: [(&str, &str); 2] = [
    (
        "Media template: playback triggers and Recently Added",
        include_str!("../../../docs/tautulli/media.json"),
    ),
    (
        "Server template: Plex Server Down/Up, Remote Access, updates",
        include_str!("../../../docs/tautulli/server.json"),
    ),
];

#[derive(Template)]
#[template(path = "sources.html")]
struct SourcesPage {
    layout: Layout,
    cards: Vec<SourceCard>,
    /// The last request to a name no source has (a mistyped Connect URL).
    unknown: Option<Refused>,
    /// The newest event now: the live cards follow the stream from it.
    since: String,
    /// Every app a new source may be for.
    apps: Vec<&'static str>,
}

pub async fn page(State(state): State<AppState>, who: LoggedIn) -> Result<Response, ApiError> {
    admin_only(&who)?;
    let mut cards = Vec::new();
    for source in state.sources.all() {
        let last = last_event_of(state.store.as_ref(), &source.name).await?;
        let (steps, test_hint) = set_up(source.app);
        cards.push(SourceCard {
            name: source.name.clone(),
            app: source.app.as_str(),
            connect_url: source.connect_url(&state.public_url, true),
            apprise_url: source.apprise_url(&state.public_url, true),
            steps,
            test_hint,
            refused: state
                .hook_refusals
                .last_of(&source.name)
                .filter(|r| last.as_ref().is_none_or(|e| r.at > e.timestamp))
                .map(Refused::from),
            last_summary: last.as_ref().map(|e| e.summary.clone()),
            last_at: last.as_ref().map(|e| iso(&e.timestamp)),
            rotatable: source.token_in_store,
            allow_ips: source
                .allow_ips
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            editable: !source.in_file,
            deletable: source.stored,
            templates: match source.app {
                SourceApp::Tautulli => &TAUTULLI_TEMPLATES,
                _ => &[],
            },
        });
    }
    let page = SourcesPage {
        layout: Layout::new("Sources", "/admin/sources", &who),
        cards,
        unknown: state.hook_refusals.last_unknown().map(Refused::from),
        since: super::newest_event_id(&state).await?,
        apps: SourceApp::ALL.iter().map(|a| a.as_str()).collect(),
    };
    Ok(render(&page))
}

/// Where the webhook form is in each app and what to do there (the README's steps, shortened).
fn set_up(app: SourceApp) -> (Vec<&'static str>, &'static str) {
    match app {
        SourceApp::Radarr
        | SourceApp::Sonarr
        | SourceApp::Lidarr
        | SourceApp::Whisparr
        | SourceApp::Readarr => (
            vec![
                "Settings → Connect → + → Webhook.",
                "Name: hookarr. Pick the notification triggers you want to hear about.",
                "Webhook URL: paste the Connect URL. Method: POST.",
                "Press Test, then Save.",
            ],
            "Waiting for the Test button…",
        ),
        SourceApp::Prowlarr => (
            vec![
                "Settings → Notifications → + → Webhook.",
                "Name: hookarr. Triggers: On Grab (and Include Manual Grabs), On Health Issue, On Health Restored, On Application Update.",
                "URL: paste the Connect URL. Method: POST.",
                "Press Test, then Save.",
            ],
            "Waiting for the Test button…",
        ),
        SourceApp::Overseerr | SourceApp::Jellyseerr => (
            vec![
                "Settings → Notifications → Webhook: tick Enable Agent.",
                "Webhook URL: paste the Connect URL (or put the token in Authorization Header instead).",
                "JSON Payload: keep the default template (renamed keys are read too).",
                "Tick the notification types (requests and issues), press Test, then Save Changes.",
            ],
            "Waiting for the Test button…",
        ),
        SourceApp::Plex => (
            vec![
                "Open app.plex.tv signed in as the account whose events you want (Plex Pass).",
                "Settings (the spanner) → Webhooks (under your account) → Add Webhook.",
                "Paste the Connect URL → Save Changes.",
                "Plex has no test button: play something.",
            ],
            "Waiting for Plex: play something…",
        ),
        SourceApp::Jellyfin => (
            vec![
                "Dashboard → Plugins → Catalog → install Webhook, restart Jellyfin.",
                "Dashboard → Plugins → Webhook: set Server Url to your Jellyfin's public address.",
                "Add Generic Destination; Webhook Url: paste the Connect URL.",
                "Pick the notification types, turn on Send All Properties, Save.",
            ],
            "Waiting for Jellyfin: play something or add an item…",
        ),
        SourceApp::Emby => (
            vec![
                "Settings → Notifications → Add Notification → Webhooks.",
                "URL: paste the Connect URL; Request content type: application/json.",
                "Pick the events, then Send Test Notification.",
            ],
            "Waiting for the test notification…",
        ),
        SourceApp::Tautulli => (
            vec![
                "Settings → Notification Agents → Add a new notification agent → Webhook.",
                "Webhook URL: paste the Connect URL. Webhook Method: POST.",
                "Triggers: tick what you want (Playback Start/Stop/Pause/Resume, Watched, Recently Added, Plex Server Down/Up…).",
                "Data: paste the media template below into each playback and Recently Added trigger, the server template into each server trigger, then Save.",
            ],
            "Waiting for Tautulli: play something…",
        ),
        SourceApp::Generic => (
            vec!["POST JSON to the Connect URL from any program."],
            "Waiting for a first request…",
        ),
        SourceApp::Apprise => (
            vec![
                "Bazarr: Settings → Notifications → add the Apprise URL below (json://hookarr:<token>@…: Apprise drops a ?token= from json:// URLs).",
                "Audiobookshelf: Settings → Notifications → Apprise API URL: paste the Connect URL as it is.",
                "Any app with an Apprise URL field: the Apprise URL below.",
                "Send the app's test notification.",
            ],
            "Waiting for the test notification…",
        ),
    }
}
