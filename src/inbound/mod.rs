//! Inbound payloads: each app's body becomes one normalized [`Event`]. Pure functions of
//! (context, bytes): no HTTP framework, no database.

mod arr;
mod generic;
pub mod lenient;

use crate::event::Event;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The app behind a source, which decides how its bodies are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum App {
    Radarr,
    Sonarr,
    Lidarr,
    Whisparr,
    Plex,
    Jellyfin,
    Emby,
    Generic,
}

impl App {
    /// Every app, in the order built-in sources are listed.
    pub const ALL: [App; 8] = [
        App::Radarr,
        App::Sonarr,
        App::Lidarr,
        App::Whisparr,
        App::Plex,
        App::Jellyfin,
        App::Emby,
        App::Generic,
    ];

    /// The apps that get a built-in source on first start (CONTRACT §1).
    pub const BUILT_IN: [App; 6] = [
        App::Radarr,
        App::Sonarr,
        App::Lidarr,
        App::Plex,
        App::Jellyfin,
        App::Emby,
    ];

    /// The lower-case name used in config and URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            App::Radarr => "radarr",
            App::Sonarr => "sonarr",
            App::Lidarr => "lidarr",
            App::Whisparr => "whisparr",
            App::Plex => "plex",
            App::Jellyfin => "jellyfin",
            App::Emby => "emby",
            App::Generic => "generic",
        }
    }

    /// Parses a lower-case app name.
    pub fn parse(s: &str) -> Option<Self> {
        App::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// Whether a body of this media type can carry this app's payload. `None` (no header) is accepted:
    /// the body decides.
    pub fn accepts_content_type(self, content_type: Option<&str>) -> bool {
        let Some(ct) = content_type else { return true };
        let essence = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let json_like =
            essence == "application/json" || essence.ends_with("+json") || essence == "text/json";
        match self {
            App::Radarr | App::Sonarr | App::Lidarr | App::Whisparr => {
                json_like || essence == "text/plain"
            }
            // Jellyfin's Generic destination sends JSON as text/plain by default.
            App::Jellyfin | App::Emby | App::Generic => json_like || essence == "text/plain",
            App::Plex => json_like,
        }
    }
}

impl fmt::Display for App {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a parser knows besides the body.
#[derive(Debug, Clone)]
pub struct ParseContext<'a> {
    /// The hookarr source name (`radarr-4k`).
    pub source: &'a str,
    /// The source's app.
    pub app: App,
    /// The request's `User-Agent`, which carries the app version.
    pub user_agent: Option<&'a str>,
    /// When the request arrived; becomes `event.timestamp`.
    pub received_at: DateTime<Utc>,
}

/// Why a body could not be read. Every variant is the sender's problem (a 400), never ours.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum InboundError {
    /// The body has no bytes.
    #[error("the body is empty; expected a JSON object")]
    Empty,
    /// The body is not valid JSON (or not UTF-8).
    #[error("the body is not valid JSON: {0}")]
    NotJson(String),
    /// The body is JSON but not an object (an array, a string, a number).
    #[error("the body must be a JSON object, not {0}")]
    NotAnObject(&'static str),
    /// A field every payload of this app carries is missing.
    #[error("the body has no `{0}` field; is this source set to the right app?")]
    MissingField(&'static str),
    /// A field has a shape no version of the app sends.
    #[error("the body has an unexpected shape: {0}")]
    Shape(String),
}

/// Parses one body from a source of the given app.
pub fn parse(ctx: &ParseContext<'_>, body: &[u8]) -> Result<Event, InboundError> {
    match ctx.app {
        App::Radarr | App::Sonarr | App::Lidarr | App::Whisparr => arr::parse(ctx, body),
        // Plex, Jellyfin and Emby get their own parsers with the "Media servers" issue; until then their JSON
        // bodies are kept as `other` events so nothing they send is lost.
        App::Plex | App::Jellyfin | App::Emby | App::Generic => generic::parse(ctx, body),
    }
}

/// Reads a JSON object into `T`, telling an empty body, broken JSON, a non-object and a wrong shape apart.
fn parse_json_object<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, InboundError> {
    let trimmed = body.trim_ascii();
    let Some(first) = trimmed.first() else {
        return Err(InboundError::Empty);
    };
    // serde skips unknown fields without checking their UTF-8; the whole body must be text.
    if let Err(e) = std::str::from_utf8(trimmed) {
        return Err(InboundError::NotJson(format!(
            "it is not UTF-8 text (invalid byte at {})",
            e.valid_up_to()
        )));
    }
    if *first != b'{' {
        // Say what it is when it is JSON at all; else report the JSON error.
        return Err(match serde_json::from_slice::<serde_json::Value>(trimmed) {
            Ok(v) => InboundError::NotAnObject(json_kind(&v)),
            Err(e) => InboundError::NotJson(e.to_string()),
        });
    }
    let de = &mut serde_json::Deserializer::from_slice(trimmed);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let inner = e.inner();
        if inner.is_syntax() || inner.is_eof() {
            InboundError::NotJson(inner.to_string())
        } else {
            InboundError::Shape(format!("{}: {}", e.path(), inner))
        }
    })
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// `Radarr/6.0.3.10276 (ubuntu 24.04)` → (`Radarr`, `6.0.3.10276`).
fn user_agent_product(ua: Option<&str>) -> (Option<String>, Option<String>) {
    let Some(first) = ua.and_then(|ua| ua.split_whitespace().next()) else {
        return (None, None);
    };
    match first.split_once('/') {
        Some((name, version)) => (
            Some(name.to_owned()).filter(|s| !s.is_empty()),
            Some(version.to_owned()).filter(|s| !s.is_empty()),
        ),
        None => (Some(first.to_owned()), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_split_into_product_and_version() {
        assert_eq!(
            user_agent_product(Some("Radarr/6.0.3.10276 (ubuntu 24.04)")),
            (Some("Radarr".into()), Some("6.0.3.10276".into()))
        );
        assert_eq!(user_agent_product(None), (None, None));
        assert_eq!(
            user_agent_product(Some("curl")),
            (Some("curl".into()), None)
        );
    }

    #[test]
    fn content_types_follow_the_app() {
        assert!(App::Radarr.accepts_content_type(Some("application/json; charset=utf-8")));
        assert!(App::Jellyfin.accepts_content_type(Some("text/plain; charset=utf-8")));
        assert!(!App::Radarr.accepts_content_type(Some("application/x-www-form-urlencoded")));
        assert!(!App::Sonarr.accepts_content_type(Some("image/png")));
        assert!(App::Lidarr.accepts_content_type(None));
    }
}
