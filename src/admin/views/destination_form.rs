//! *Add a destination* and *Edit* (admins): a tile for every target type (drawn from the targets: a new type
//! gets its form without work here) or a field to paste any service URL; then a form that asks for each key
//! the type takes, with where to find it, and for what the destination takes (event groups in plain words,
//! sources), quiet hours, grouping and rate limit. Its script (`destination.js`) checks, tests, previews the
//! routing and saves through the API.

use super::{Layout, LoggedIn, admin_only, render};
use crate::api::{ApiError, AppState};
use crate::config::DestinationType;
use crate::outbound::targets::{KeyInput, OwnKey};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde_json::{Map, Value};

/// What the destination takes, in plain words: each group stands for event-name globs.
pub const EVENT_GROUPS: [(&str, &str); 10] = [
    ("Grabs", "download.grabbed"),
    ("Imports and upgrades", "library.new library.upgraded"),
    (
        "Failed downloads and imports",
        "download.failed import.failed import.blocked",
    ),
    (
        "Other library changes",
        "library.updated library.deleted library.monitored library.rated library.watched library.unwatched",
    ),
    ("Health", "health.*"),
    ("App updates", "app.updated"),
    ("Playback", "playback.* session.*"),
    ("Requests and issues", "request.* issue.*"),
    ("Users", "user.*"),
    ("hookarr's own alerts", "hookarr.*"),
];

pub struct Tile {
    pub kind: &'static str,
    pub chosen: bool,
}

pub struct Field {
    pub key: &'static str,
    pub help: &'static str,
    /// `text`, `password`, `number`, `checkbox`, `list`, `lines`.
    pub input: &'static str,
    pub required: bool,
    pub value: String,
    pub checked: bool,
    /// A secret that is stored: the field stays empty, and empty keeps it.
    pub secret_set: bool,
}

pub struct Group {
    pub label: &'static str,
    pub globs: &'static str,
    pub checked: bool,
}

pub struct SourceBox {
    pub name: String,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "destination_form.html")]
struct FormPage {
    layout: Layout,
    script: String,
    tiles: Vec<Tile>,
    /// `url` (paste a URL) or a type; `None` shows only the choice.
    chosen: Option<String>,
    where_to_find: &'static str,
    example: &'static str,
    fields: Vec<Field>,
    groups: Vec<Group>,
    sources: Vec<SourceBox>,
    /// Editing: the name (fixed) and the version the save names.
    editing: Option<(String, i64)>,
    name: String,
    group_window: String,
    quiet_from: String,
    quiet_to: String,
    quiet_tz: String,
    rate_per_second: String,
    rate_burst: String,
    max_in_flight: String,
    filter: String,
}

#[derive(Debug, serde::Deserialize)]
pub struct Choice {
    #[serde(rename = "type")]
    kind: Option<String>,
}

pub async fn new_page(
    State(state): State<AppState>,
    who: LoggedIn,
    Query(choice): Query<Choice>,
) -> Result<Response, ApiError> {
    admin_only(&who)?;
    let chosen = choice
        .kind
        .filter(|k| k == "url" || DestinationType::ALL.iter().any(|t| t.as_str() == k));
    let page = form(&state, &who, chosen, &Map::new(), None, "Add a destination");
    Ok(render(&page))
}

pub async fn edit_page(
    State(state): State<AppState>,
    who: LoggedIn,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    admin_only(&who)?;
    let Some(stored) = state
        .live
        .stored_destination(state.store.as_ref(), &name)
        .await?
    else {
        return Err(ApiError::NotFound(format!(
            "no stored destination named `{name}` (one of hookarr.yaml is changed in the file)"
        )));
    };
    let kind = stored.spec.kind.as_str().to_owned();
    let editing = Some((name.clone(), stored.version));
    let page = form(
        &state,
        &who,
        Some(kind),
        &stored.long_form,
        editing,
        "Edit a destination",
    );
    Ok(render(&page))
}

fn form(
    state: &AppState,
    who: &LoggedIn,
    chosen: Option<String>,
    keys: &Map<String, Value>,
    editing: Option<(String, i64)>,
    title: &str,
) -> FormPage {
    let kind = chosen
        .as_deref()
        .and_then(|k| DestinationType::ALL.into_iter().find(|t| t.as_str() == k));
    let (where_to_find, example, fields) = match (&chosen, kind) {
        (_, Some(kind)) => {
            let target = kind.target();
            let fields = target
                .own_keys()
                .iter()
                .filter(|k| k.input() != KeyInput::NotInForm)
                .map(|&k| field(k, keys, required(kind, k)))
                .collect();
            (target.where_to_find(), target.example_url(), fields)
        }
        (Some(_), None) => (
            "Paste the URL the service gave you: a Discord or Slack webhook URL, or an Apprise-style URL (tgram://, ntfys://, pover://, gotifys://, matrixs://, mailtos://).",
            "https://discord.com/api/webhooks/<id>/<token>",
            vec![field(OwnKey::Url, keys, true)],
        ),
        (None, None) => ("", "", Vec::new()),
    };
    let events: Vec<String> = keys
        .get("events")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_else(|| vec!["*".to_owned()]);
    let groups = EVENT_GROUPS
        .iter()
        .map(|(label, globs)| Group {
            label,
            globs,
            checked: events.iter().any(|e| e == "*")
                || globs.split(' ').any(|g| events.iter().any(|e| e == g)),
        })
        .collect();
    let wanted: Vec<&str> = keys
        .get("sources")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let sources = state
        .sources
        .all()
        .iter()
        .map(|s| SourceBox {
            name: s.name.clone(),
            checked: wanted.contains(&s.name.as_str()),
        })
        .collect();
    let text = |path: &[&str]| {
        let mut v = Some(Value::Object(keys.clone()));
        for p in path {
            v = v.and_then(|v| v.get(p).cloned());
        }
        match v {
            Some(Value::String(s)) => s,
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        }
    };
    FormPage {
        layout: Layout::new(title, "/admin/destinations", who),
        script: super::assets::destination_js_url(),
        tiles: DestinationType::ALL
            .iter()
            .map(|t| Tile {
                kind: t.as_str(),
                chosen: chosen.as_deref() == Some(t.as_str()),
            })
            .collect(),
        where_to_find,
        example,
        fields,
        groups,
        sources,
        name: editing.as_ref().map(|e| e.0.clone()).unwrap_or_default(),
        editing,
        chosen,
        group_window: text(&["group_window"]),
        quiet_from: text(&["quiet_hours", "from"]),
        quiet_to: text(&["quiet_hours", "to"]),
        quiet_tz: text(&["quiet_hours", "tz"]),
        rate_per_second: text(&["rate_limit", "per_second"]),
        rate_burst: text(&["rate_limit", "burst"]),
        max_in_flight: text(&["max_in_flight"]),
        filter: keys
            .get("filter")
            .filter(|f| f.as_object().is_some_and(|m| !m.is_empty()))
            .map(|f| serde_json::to_string_pretty(f).unwrap_or_default())
            .unwrap_or_default(),
    }
}

/// Whether the form insists on a key: the URL of a type reached at one, the keys a service cannot do without.
fn required(kind: DestinationType, key: OwnKey) -> bool {
    use crate::outbound::targets::Reached;
    match (kind.target().reached(), key) {
        (Reached::AtUrl, OwnKey::Url) => true,
        (Reached::ThroughServer { default: None }, OwnKey::Server) => true,
        (_, OwnKey::ChatId | OwnKey::Topic | OwnKey::Room | OwnKey::UserKey) => true,
        (_, OwnKey::Token) => !matches!(kind, DestinationType::Ntfy),
        _ => false,
    }
}

fn field(key: OwnKey, keys: &Map<String, Value>, required: bool) -> Field {
    let given = keys.get(key.name());
    let secret_set = key.is_secret() && given.is_some();
    let value = match (key.is_secret(), given) {
        (true, _) | (_, None) => String::new(),
        (_, Some(Value::String(s))) => s.clone(),
        (_, Some(Value::Array(items))) => items
            .iter()
            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join(", "),
        (_, Some(other)) => other.to_string(),
    };
    let input = match key.input() {
        _ if key.is_secret() && key.input() == KeyInput::Text => "password",
        KeyInput::Number => "number",
        KeyInput::Switch => "checkbox",
        KeyInput::List => "list",
        KeyInput::Lines => "lines",
        KeyInput::Text | KeyInput::NotInForm => "text",
    };
    let checked = match key {
        OwnKey::EditMessages => given.and_then(Value::as_bool).unwrap_or(true),
        _ => given.and_then(Value::as_bool).unwrap_or(false),
    };
    Field {
        key: key.name(),
        help: key.help(),
        input,
        // A stored secret need not be given again.
        required: required && !secret_set,
        value,
        checked,
        secret_set,
    }
}
