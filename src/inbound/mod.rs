//! Inbound payloads: each app's body becomes one normalized [`Event`]. Pure functions of
//! (context, bytes): no HTTP framework, no database.

mod apprise;
mod arr;
mod emby;
mod generic;
mod jellyfin;
pub mod lenient;
mod media_server;
mod overseerr;
mod plex;
mod tautulli;
mod which_app;

use crate::event::{Event, SourceInfo};
use crate::playback::Signal;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The app behind a source, which decides how its bodies are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceApp {
    Radarr,
    Sonarr,
    Lidarr,
    Whisparr,
    Plex,
    Jellyfin,
    Emby,
    Generic,
    Apprise,
    Prowlarr,
    Readarr,
    Overseerr,
    Jellyseerr,
    Tautulli,
}

impl SourceApp {
    /// Every app, in the order built-in sources are listed.
    pub const ALL: [SourceApp; 14] = [
        SourceApp::Radarr,
        SourceApp::Sonarr,
        SourceApp::Lidarr,
        SourceApp::Whisparr,
        SourceApp::Plex,
        SourceApp::Jellyfin,
        SourceApp::Emby,
        SourceApp::Generic,
        SourceApp::Apprise,
        SourceApp::Prowlarr,
        SourceApp::Readarr,
        SourceApp::Overseerr,
        SourceApp::Jellyseerr,
        SourceApp::Tautulli,
    ];

    /// The apps that get a built-in source on first start (CONTRACT §1).
    pub const BUILT_IN: [SourceApp; 11] = [
        SourceApp::Radarr,
        SourceApp::Sonarr,
        SourceApp::Lidarr,
        SourceApp::Readarr,
        SourceApp::Prowlarr,
        SourceApp::Overseerr,
        SourceApp::Jellyseerr,
        SourceApp::Plex,
        SourceApp::Jellyfin,
        SourceApp::Emby,
        SourceApp::Tautulli,
    ];

    /// The lower-case name used in config and URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceApp::Radarr => "radarr",
            SourceApp::Sonarr => "sonarr",
            SourceApp::Lidarr => "lidarr",
            SourceApp::Whisparr => "whisparr",
            SourceApp::Plex => "plex",
            SourceApp::Jellyfin => "jellyfin",
            SourceApp::Emby => "emby",
            SourceApp::Generic => "generic",
            SourceApp::Apprise => "apprise",
            SourceApp::Prowlarr => "prowlarr",
            SourceApp::Readarr => "readarr",
            SourceApp::Overseerr => "overseerr",
            SourceApp::Jellyseerr => "jellyseerr",
            SourceApp::Tautulli => "tautulli",
        }
    }

    /// Parses a lower-case app name.
    pub fn parse(s: &str) -> Option<Self> {
        SourceApp::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// How a body of this media type carries this app's payload; `None` when it cannot (a 415). No header
    /// means JSON: the body decides.
    pub fn body_kind(self, content_type: Option<&str>) -> Option<BodyKind> {
        let Some(ct) = content_type else {
            return Some(BodyKind::Json);
        };
        let essence = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        // JSON as text/plain: Jellyfin's Generic destination does it by default.
        let json_like = essence == "application/json"
            || essence.ends_with("+json")
            || essence == "text/json"
            || essence == "text/plain";
        let form = match essence.as_str() {
            "multipart/form-data" => Some(FormKind::Multipart),
            "application/x-www-form-urlencoded" => Some(FormKind::UrlEncoded),
            _ => None,
        };
        match (self, form) {
            (_, None) if json_like => Some(BodyKind::Json),
            // Plex: the `payload` part of a multipart form.
            (SourceApp::Plex, Some(FormKind::Multipart)) => Some(BodyKind::FormField {
                kind: FormKind::Multipart,
                field: "payload",
            }),
            // Emby before 4.9 (and after, by choice): the form field `data`.
            (SourceApp::Emby, Some(kind)) => Some(BodyKind::FormField {
                kind,
                field: "data",
            }),
            // Jellyfin's GenericForm destination, and Tautulli when a JSON Header sets another Content-Type: the
            // rendered JSON's top-level keys as form fields.
            (SourceApp::Jellyfin | SourceApp::Tautulli, Some(FormKind::UrlEncoded)) => {
                Some(BodyKind::FormFields)
            }
            _ => None,
        }
    }
}

/// How a request body carries an app's JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// The body is the JSON.
    Json,
    /// A form whose field `field` holds the JSON text (Plex `payload`, Emby `data`).
    FormField { kind: FormKind, field: &'static str },
    /// A url-encoded form whose fields are the JSON object's keys (Jellyfin's GenericForm).
    FormFields,
}

/// The two HTML form encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormKind {
    Multipart,
    UrlEncoded,
}

impl fmt::Display for SourceApp {
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
    pub app: SourceApp,
    /// The request's `User-Agent`, which carries the app version.
    pub user_agent: Option<&'a str>,
    /// When the request arrived; becomes `event.timestamp`.
    pub received_at: DateTime<Utc>,
}

impl ParseContext<'_> {
    /// `source` of the envelope as far as the request tells it: the source, its app, the app's own event
    /// name, and the product and version of the User-Agent. Parsers fill in what their payload adds.
    fn source_info(&self, app_event: String) -> SourceInfo {
        let (product, version) = user_agent_product(self.user_agent);
        SourceInfo {
            name: self.source.to_owned(),
            app: self.app.as_str().to_owned(),
            event: app_event,
            instance: product,
            server: None,
            version,
            url: None,
        }
    }
}

/// Why a body could not be read. Every variant is the sender's problem (a 400), never ours.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
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
    /// A form body without the field that carries the app's JSON.
    #[error("the form has no `{0}` field; Plex sends its JSON in `payload`, Emby in `data`")]
    MissingFormField(&'static str),
    /// A form body that cannot be read (a broken multipart body, no boundary).
    #[error("the form cannot be read: {0}")]
    BadForm(String),
    /// The body stopped arriving before its end (`server.body_timeout_secs` without a byte).
    #[error(
        "the body stopped arriving after {received} bytes (nothing for server.body_timeout_secs)"
    )]
    BodyTimedOut { received: usize },
    /// The client closed the connection before the end of the body.
    #[error("the connection closed after {received} bytes, before the end of the body")]
    BodyCut { received: usize },
    /// An app that sends nothing until the user pastes a template (Tautulli): what to paste.
    #[error("the body is empty. {0}")]
    EmptyTemplate(&'static str),
    /// A field has a shape no version of the app sends.
    #[error("the body has an unexpected shape: {0}")]
    Shape(String),
    /// The body is another app's payload: the user pasted the wrong Connect URL.
    #[error(
        "this is a {sender} payload, but `{named}` is a {app} source: paste the {sender} Connect URL \
         (/hooks/{sender}?token=…, `hookarr sources --show-tokens` prints it) into {sender} instead"
    )]
    WrongApp {
        sender: SourceApp,
        named: String,
        app: SourceApp,
    },
}

/// What one body becomes.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub event: Event,
    /// For media-server playback notifications: what to tell the session state, which may still change the
    /// event's name or make it a duplicate (see [`crate::playback`]).
    pub playback: Option<Signal>,
}

impl From<Event> for Parsed {
    fn from(event: Event) -> Self {
        Parsed {
            event,
            playback: None,
        }
    }
}

/// Parses one body (the app's JSON, taken out of its form if it came in one) from a source of the given app.
pub fn parse(ctx: &ParseContext<'_>, body: &[u8]) -> Result<Parsed, InboundError> {
    if let Some(sender) = which_app::sender_of(body)
        && !which_app::takes(ctx.app, sender)
    {
        return Err(InboundError::WrongApp {
            sender,
            named: ctx.source.to_owned(),
            app: ctx.app,
        });
    }
    match ctx.app {
        SourceApp::Radarr
        | SourceApp::Sonarr
        | SourceApp::Lidarr
        | SourceApp::Whisparr
        | SourceApp::Readarr
        | SourceApp::Prowlarr => arr::parse(ctx, body).map(Parsed::from),
        SourceApp::Overseerr | SourceApp::Jellyseerr => {
            overseerr::parse(ctx, body).map(Parsed::from)
        }
        SourceApp::Tautulli => tautulli::parse(ctx, body).map(Parsed::from),
        SourceApp::Plex => plex::parse(ctx, body),
        SourceApp::Jellyfin => jellyfin::parse(ctx, body),
        SourceApp::Emby => emby::parse(ctx, body),
        SourceApp::Generic => generic::parse(ctx, body).map(Parsed::from),
        SourceApp::Apprise => apprise::parse(ctx, body).map(Parsed::from),
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

/// HTTP libraries whose User-Agent names no app (Overseerr's axios, Jellyseerr's Node fetch, Tautulli's
/// requests, Audiobookshelf's axios): neither an instance nor an app version.
const HTTP_LIBRARIES: [&str; 4] = ["axios", "node", "undici", "python-requests"];

/// `Radarr/6.0.3.10276 (ubuntu 24.04)` → (`Radarr`, `6.0.3.10276`); an HTTP library's (`axios/1.3.4`) → nothing.
fn user_agent_product(ua: Option<&str>) -> (Option<String>, Option<String>) {
    let Some(first) = ua.and_then(|ua| ua.split_whitespace().next()) else {
        return (None, None);
    };
    let product = first.split('/').next().unwrap_or_default();
    if HTTP_LIBRARIES.contains(&product.to_ascii_lowercase().as_str()) {
        return (None, None);
    }
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
        assert_eq!(user_agent_product(Some("axios/1.3.4")), (None, None));
        assert_eq!(user_agent_product(Some("node")), (None, None));
    }

    #[test]
    fn content_types_follow_the_app() {
        let json = Some(BodyKind::Json);
        assert_eq!(
            SourceApp::Radarr.body_kind(Some("application/json; charset=utf-8")),
            json
        );
        assert_eq!(
            SourceApp::Jellyfin.body_kind(Some("text/plain; charset=utf-8")),
            json
        );
        assert_eq!(
            SourceApp::Radarr.body_kind(Some("application/x-www-form-urlencoded")),
            None
        );
        assert_eq!(SourceApp::Sonarr.body_kind(Some("image/png")), None);
        assert_eq!(SourceApp::Lidarr.body_kind(None), json);
        assert_eq!(
            SourceApp::Plex.body_kind(Some("multipart/form-data; boundary=x")),
            Some(BodyKind::FormField {
                kind: FormKind::Multipart,
                field: "payload"
            })
        );
        assert_eq!(
            SourceApp::Plex.body_kind(Some("application/x-www-form-urlencoded")),
            None
        );
        assert_eq!(
            SourceApp::Emby.body_kind(Some("application/x-www-form-urlencoded")),
            Some(BodyKind::FormField {
                kind: FormKind::UrlEncoded,
                field: "data"
            })
        );
        assert_eq!(
            SourceApp::Jellyfin.body_kind(Some("application/x-www-form-urlencoded")),
            Some(BodyKind::FormFields)
        );
        assert_eq!(
            SourceApp::Jellyfin.body_kind(Some("multipart/form-data; boundary=x")),
            None
        );
    }
}
