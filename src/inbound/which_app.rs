//! Which app a JSON body comes from, told by the keys only that app's payloads have, so that a body posted to
//! another app's source (Sonarr's webhook pasted with Radarr's Connect URL) is refused with the URL to use
//! rather than stored as a wrong event. Where the keys do not tell (an Arr app's health check or test
//! carries no media), nothing is said and the source's own parser judges.

use super::SourceApp;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::HashMap;

/// The top-level keys of a JSON object, each with its value unparsed (a scan of the body, no tree built:
/// this runs on every ingest).
type Keys<'a> = HashMap<Cow<'a, str>, &'a RawValue>;

/// The app whose payload this body is, when its keys say so.
pub fn sender_of(body: &[u8]) -> Option<SourceApp> {
    let top: Keys<'_> = serde_json::from_slice(body.trim_ascii()).ok()?;
    let has = |key: &str| top.contains_key(key);
    if has("eventType") {
        return arr_app(&top);
    }
    if has("notification_type") {
        return Some(SourceApp::Overseerr);
    }
    if has("NotificationType") {
        return Some(SourceApp::Jellyfin);
    }
    if has("action") && (has("tautulli_version") || has("server_machine_id")) {
        return Some(SourceApp::Tautulli);
    }
    let text = |key: &str| {
        top.get(key)
            .and_then(|raw| serde_json::from_str::<Cow<'_, str>>(raw.get()).ok())
            .unwrap_or_default()
    };
    let plex_event = ["media.", "library.", "admin.", "device.", "playback."]
        .iter()
        .any(|p| text("event").starts_with(p));
    if plex_event && (has("Metadata") || has("Account") || has("Player")) {
        return Some(SourceApp::Plex);
    }
    let server_is_object = top
        .get("Server")
        .is_some_and(|raw| raw.get().trim_start().starts_with('{'));
    if !text("Event").is_empty() && server_is_object {
        return Some(SourceApp::Emby);
    }
    None
}

/// An Arr app's payload by its media keys (none: a health check, an update, a test, a Prowlarr grab).
fn arr_app(top: &Keys<'_>) -> Option<SourceApp> {
    let has = |keys: &[&str]| keys.iter().any(|k| top.contains_key(*k));
    if has(&["movie", "movieFile", "remoteMovie"]) {
        Some(SourceApp::Radarr)
    } else if has(&["series", "episodes", "episodeFile", "episodeFiles"]) {
        Some(SourceApp::Sonarr)
    } else if has(&["artist", "albums", "album", "trackFiles"]) {
        Some(SourceApp::Lidarr)
    } else if has(&["author", "book", "books", "bookFile", "bookFiles"]) {
        Some(SourceApp::Readarr)
    } else {
        None
    }
}

/// Whether a source of app `source` takes a payload that looks like `sender`'s.
pub fn takes(source: SourceApp, sender: SourceApp) -> bool {
    use SourceApp::*;
    match source {
        // Anything: the generic source keeps what it is sent, Apprise senders are many.
        Generic | Apprise => true,
        // Whisparr's payloads are Radarr's (v3) or Sonarr's (v2).
        Whisparr => matches!(sender, Radarr | Sonarr | Whisparr),
        // Prowlarr's own carry no media.
        Prowlarr => false,
        Overseerr | Jellyseerr => matches!(sender, Overseerr | Jellyseerr),
        same => same == sender,
    }
}
