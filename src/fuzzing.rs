//! The fuzz targets' bodies, in the library so that `fuzz/` (cargo fuzz, on nightly) and the replay of the
//! saved corpora (`tests/it/fuzz_replay.rs`, on stable) run the very same code. Each takes arbitrary bytes and
//! may return early on input it cannot use; a panic, a hang or a broken invariant (checked with `assert!`)
//! is a finding.

use crate::config::{Destination, DestinationType};
use crate::event::Event;
use crate::inbound::{ParseContext, SourceApp};
use crate::outbound::Templates;
use serde_json::{Map, Value};
use std::sync::OnceLock;

/// A fuzz target's body: arbitrary bytes in, a panic for a finding.
pub type Target = fn(&[u8]);

/// The fuzz targets, by the name of their folder under `fuzz/corpus/`.
pub const TARGETS: [(&str, Target); 5] = [
    ("inbound", inbound),
    ("config", config),
    ("apprise_url", apprise_url),
    ("render", render),
    ("filter", filter),
];

/// One inbound request: `<app>\n<content type>\n<body>` (`-` for no content type). The body is read as
/// the request route reads it (Plex's multipart, Emby's and Apprise's forms, Jellyfin's form fields, JSON)
/// and parsed as that app's payload. An event that comes out serializes, and names its source.
pub fn inbound(data: &[u8]) {
    let mut lines = data.splitn(3, |b| *b == b'\n');
    let (Some(app), Some(content_type), Some(body)) = (lines.next(), lines.next(), lines.next())
    else {
        return;
    };
    let Some(app) = std::str::from_utf8(app).ok().and_then(SourceApp::parse) else {
        return;
    };
    let Ok(content_type) = std::str::from_utf8(content_type) else {
        return;
    };
    let content_type = (content_type != "-").then_some(content_type);
    let Some(kind) = app.body_kind(content_type) else {
        return;
    };
    let request_body = axum::body::Body::from(body.to_vec());
    let read = runtime().block_on(crate::api::forms::read(
        request_body,
        kind,
        content_type,
        1 << 20,
    ));
    let Ok(crate::api::forms::Read::Json(json)) = read else {
        return;
    };
    let ctx = ParseContext {
        source: "fuzzed",
        app,
        user_agent: None,
        received_at: chrono::DateTime::from_timestamp(1_733_000_000, 0).expect("a time"),
    };
    if let Ok(parsed) = crate::inbound::parse(&ctx, &json) {
        let envelope = serde_json::to_value(&parsed.event).expect("an event serializes");
        assert_eq!(envelope["source"]["name"], "fuzzed");
    }
}

/// A config file's text, loaded and checked (no `${VAR}` is set).
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = crate::config::load_from_str(text, |_| None, &[]);
}

/// An Apprise-style short-form URL (`tgram://…`), expanded into a destination's keys; one that expands
/// has a `type`.
pub fn apprise_url(data: &[u8]) {
    let Ok(url) = std::str::from_utf8(data) else {
        return;
    };
    let mut destination = Map::new();
    destination.insert("name".into(), Value::String("fuzzed".into()));
    destination.insert("url".into(), Value::String(url.to_owned()));
    if let Ok(true) = crate::config::apprise::expand(&mut destination) {
        assert!(destination.contains_key("type"), "{destination:?}");
    }
}

/// A template with hostile data: the first byte chooses. `0`: the rest is an event's envelope (JSON),
/// rendered by every built-in template of every type. Otherwise the rest is a template's text, rendered
/// for a real event as a user's stored template would be. What renders is JSON (the renderer parses it).
pub fn render(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let templates = templates();
    if mode == 0 {
        let Ok(event) = serde_json::from_slice::<Event>(rest) else {
            return;
        };
        for kind in DestinationType::ALL {
            let _ = crate::outbound::render_payload(
                templates,
                &crate::outbound::Target::preview(kind),
                &event,
            );
        }
        return;
    }
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let kind = DestinationType::ALL[usize::from(mode) % DestinationType::ALL.len()];
    let name = format!("{}/fuzzed", kind.as_str());
    let Ok(with) = templates.with_extra(&name, text) else {
        return;
    };
    let mut target = crate::outbound::Target::preview(kind);
    target.template = Some("fuzzed".into());
    let _ = crate::outbound::render_payload(&with, &target, sample_event());
}

/// A destination's `events`, `sources` and `filter` (a JSON object with those keys), matched against a
/// real event; and each of its `events` globs against the event's name, which must agree with the rule when
/// no filter or source narrows it.
pub fn filter(data: &[u8]) {
    let Ok(Value::Object(keys)) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let mut spec = Map::new();
    for key in ["events", "sources", "filter"] {
        if let Some(value) = keys.get(key) {
            spec.insert(key.into(), value.clone());
        }
    }
    spec.insert("name".into(), Value::String("fuzzed".into()));
    spec.insert("type".into(), Value::String("webhook".into()));
    spec.insert("url".into(), Value::String("http://127.0.0.1:9/".into()));
    let Ok(destination) = serde_json::from_value::<Destination>(Value::Object(spec)) else {
        return;
    };
    let event = sample_event();
    let envelope = serde_json::to_value(event).expect("an event serializes");
    let rule = crate::delivery::route::Rule::new(&destination);
    let wanted = rule.wants(event, &envelope);
    let globbed = destination
        .events
        .iter()
        .any(|g| crate::event::glob_matches(g, event.event.as_str()));
    if destination.filter.is_empty() && destination.sources.is_none() {
        assert_eq!(wanted, globbed, "{:?}", destination.events);
    }
}

/// The runtime the body reader runs on (it is async: a multipart body is a stream).
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    })
}

/// The built-in templates, loaded once.
fn templates() -> &'static Templates {
    static TEMPLATES: OnceLock<Templates> = OnceLock::new();
    TEMPLATES.get_or_init(|| Templates::load(None).expect("the built-in templates compile"))
}

/// A Radarr grab, as a real one is normalized.
fn sample_event() -> &'static Event {
    static EVENT: OnceLock<Event> = OnceLock::new();
    EVENT.get_or_init(|| {
        let body = serde_json::json!({
            "eventType": "Grab",
            "instanceName": "Radarr",
            "movie": {"id": 87, "title": "Dune: Part Two", "year": 2024, "tmdbId": 693134,
                      "imdbId": "tt15239678", "tags": ["family"]},
            "release": {"quality": "WEBDL-2160p", "releaseTitle": "Dune.Part.Two.2024.2160p.WEB-DL",
                        "indexer": "TorrentLeech", "size": 24696061952u64},
            "downloadClient": "qBittorrent",
            "downloadId": "ABCDEF0123456789"
        });
        let ctx = ParseContext {
            source: "radarr",
            app: SourceApp::Radarr,
            user_agent: Some("Radarr/5.14.0.9383"),
            received_at: chrono::DateTime::from_timestamp(1_733_000_000, 0).expect("a time"),
        };
        crate::inbound::parse(&ctx, body.to_string().as_bytes())
            .expect("the sample grab parses")
            .event
    })
}
