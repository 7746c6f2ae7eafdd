//! Home Assistant MQTT discovery (pure): the config of every entity hookarr announces — hookarr itself, each
//! source it has heard from, each opted-in player — keyed by its discovery topic. Device-based: every config
//! names its `device` and the `origin`, and its `unique_id` is made of names that do not change across
//! restarts. What changed since the last announcement is worked out by [`changes`].

use super::topics::Topics;
use super::{Inventory, PlayerDoc, SourceDoc};
use crate::event::EventKind;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The discovery configs wanted now, by topic.
pub type Configs = BTreeMap<String, Value>;

/// Every config hookarr announces for `inventory`.
pub fn configs(t: &Topics, inventory: &Inventory) -> Configs {
    let mut out = Configs::new();
    hub(t, &mut out);
    for s in &inventory.sources {
        source(t, s, &mut out);
    }
    for p in &inventory.players {
        player(t, p, &mut out);
    }
    out
}

/// What to publish to go from `announced` to `wanted`: each new or changed config (every one with
/// `everything`), and an empty retained message for each topic no longer wanted (Home Assistant then removes
/// the entity).
pub fn changes(
    announced: &BTreeMap<String, String>,
    wanted: &Configs,
    everything: bool,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (topic, config) in wanted {
        let text = config.to_string();
        if everything || announced.get(topic) != Some(&text) {
            out.push((topic.clone(), text));
        }
    }
    for topic in announced.keys() {
        if !wanted.contains_key(topic) {
            out.push((topic.clone(), String::new()));
        }
    }
    out
}

/// hookarr as the origin of every config.
fn origin(t: &Topics) -> Value {
    json!({
        "name": "hookarr",
        "sw_version": t.version(),
        "support_url": "https://github.com/hookarr/hookarr",
    })
}

/// Adds one entity of `device`: its config with the `unique_id`, the device, the origin and availability on
/// hookarr's status topic put in, at its discovery topic.
fn entity(
    out: &mut Configs,
    t: &Topics,
    device: &Value,
    component: &str,
    unique_id: String,
    mut config: Value,
) {
    config["unique_id"] = json!(unique_id);
    config["device"] = device.clone();
    config["origin"] = origin(t);
    config["availability_topic"] = json!(t.status());
    out.insert(t.config(component, &unique_id), config);
}

/// hookarr itself: its queue, dead deliveries and events of the last hour; the quiet-hours switch; the
/// retry-dead and flush-digests buttons; a notify entity that sends through hookarr's destinations.
fn hub(t: &Topics, out: &mut Configs) {
    let node = t.node();
    let state = t.hub_state();
    let device = json!({
        "identifiers": [node],
        "name": "hookarr",
        "manufacturer": "hookarr",
        "model": "Media notification hub",
        "sw_version": t.version(),
    });
    let sensors = [
        ("queue_depth", "Queue depth", "mdi:tray-full", "queue_depth"),
        (
            "dead_deliveries",
            "Dead deliveries",
            "mdi:email-alert",
            "dead",
        ),
        (
            "events_last_hour",
            "Events in the last hour",
            "mdi:bell-ring",
            "events_last_hour",
        ),
    ];
    for (id, name, icon, field) in sensors {
        let config = json!({
            "name": name,
            "state_topic": state,
            "value_template": format!("{{{{ value_json.{field} }}}}"),
            "state_class": "measurement",
            "icon": icon,
        });
        entity(out, t, &device, "sensor", format!("{node}_{id}"), config);
    }
    let switch = json!({
        "name": "Quiet hours",
        "state_topic": state,
        "value_template": "{{ value_json.quiet_hours }}",
        "command_topic": t.hub_command("quiet_hours"),
        "payload_on": "ON",
        "payload_off": "OFF",
        "icon": "mdi:bell-sleep",
    });
    entity(
        out,
        t,
        &device,
        "switch",
        format!("{node}_quiet_hours"),
        switch,
    );
    for (id, name, icon) in [
        ("retry_dead", "Retry dead deliveries", "mdi:restart"),
        ("flush_digests", "Send held digests now", "mdi:email-fast"),
    ] {
        let button = json!({
            "name": name,
            "command_topic": t.hub_command(id),
            "payload_press": "PRESS",
            "icon": icon,
        });
        entity(out, t, &device, "button", format!("{node}_{id}"), button);
    }
    let notify = json!({"name": "Send through hookarr", "command_topic": t.hub_command("notify")});
    entity(out, t, &device, "notify", format!("{node}_notify"), notify);
}

/// A source's device: its last event, open health issues, connectivity, and an event entity with a device
/// trigger per event type.
fn source(t: &Topics, s: &SourceDoc, out: &mut Configs) {
    let node = t.node();
    let id = super::topics::object_id(&s.name);
    let device = json!({
        "identifiers": [format!("{node}_source_{id}")],
        "name": s.display_name(),
        "manufacturer": app_maker(&s.app),
        "model": app_label(&s.app),
        "sw_version": s.version.as_deref().unwrap_or(""),
        "via_device": node,
    });
    let last = json!({
        "name": "Last event",
        "state_topic": t.source(&s.name, "state"),
        "value_template": "{{ value_json.at }}",
        "json_attributes_topic": t.source(&s.name, "state"),
        "device_class": "timestamp",
        "icon": "mdi:history",
    });
    entity(
        out,
        t,
        &device,
        "sensor",
        format!("{node}_{id}_last_event"),
        last,
    );
    let health = json!({
        "name": "Open health issues",
        "state_topic": t.source(&s.name, "health"),
        "value_template": "{{ value_json.count }}",
        "json_attributes_topic": t.source(&s.name, "health"),
        "state_class": "measurement",
        "icon": "mdi:heart-pulse",
    });
    entity(
        out,
        t,
        &device,
        "sensor",
        format!("{node}_{id}_health"),
        health,
    );
    let connectivity = json!({
        "name": "Connectivity",
        "state_topic": t.source(&s.name, "connectivity"),
        "payload_on": "ON",
        "payload_off": "OFF",
        "device_class": "connectivity",
        "entity_category": "diagnostic",
    });
    let uid = format!("{node}_{id}_connectivity");
    entity(out, t, &device, "binary_sensor", uid, connectivity);
    let types = event_types(&s.app);
    let events = json!({
        "name": "Events",
        "state_topic": t.source(&s.name, "event"),
        "event_types": types,
        "icon": "mdi:bell-badge",
    });
    entity(
        out,
        t,
        &device,
        "event",
        format!("{node}_{id}_events"),
        events,
    );
    // A device trigger is no entity: no unique id, no availability.
    for ty in types {
        let trigger = json!({
            "automation_type": "trigger",
            "type": ty,
            "subtype": s.display_name(),
            "topic": t.source(&s.name, &format!("trigger/{ty}")),
            "device": device,
            "origin": origin(t),
        });
        out.insert(
            t.config("device_automation", &format!("{node}_{id}_{ty}")),
            trigger,
        );
    }
}

/// A player's device: one sensor, `off`/`idle`/`playing`/`paused`, with what plays as attributes; it expires
/// when nothing refreshes it (a stop that never came).
fn player(t: &Topics, p: &PlayerDoc, out: &mut Configs) {
    let node = t.node();
    let device = json!({
        "identifiers": [format!("{node}_player_{}", p.id)],
        "name": p.display_name(),
        "manufacturer": app_maker(&p.app),
        "model": p.client.clone().unwrap_or_else(|| "Player".into()),
        "via_device": format!("{node}_source_{}", super::topics::object_id(&p.source)),
    });
    let sensor = json!({
        "name": "Now playing",
        "state_topic": t.player(&p.id),
        "value_template": "{{ value_json.state }}",
        "json_attributes_topic": t.player(&p.id),
        "device_class": "enum",
        "options": ["off", "idle", "playing", "paused"],
        "expire_after": super::players::EXPIRE_AFTER_SECS,
        "icon": "mdi:play-network",
    });
    entity(
        out,
        t,
        &device,
        "sensor",
        format!("{node}_player_{}", p.id),
        sensor,
    );
}

/// The event types of an app's event entity (and its device triggers).
pub fn event_types(app: &str) -> &'static [&'static str] {
    match app {
        "radarr" | "sonarr" | "lidarr" | "readarr" | "whisparr" => &[
            "grabbed",
            "imported",
            "upgraded",
            "download_failed",
            "import_failed",
            "renamed",
            "deleted",
            "health_issue",
            "health_restored",
            "app_updated",
            "test",
            "other",
        ],
        "prowlarr" => &[
            "grabbed",
            "health_issue",
            "health_restored",
            "app_updated",
            "test",
            "other",
        ],
        "plex" | "jellyfin" | "emby" | "tautulli" => &[
            "added",
            "deleted",
            "playback_started",
            "playback_paused",
            "playback_resumed",
            "playback_stopped",
            "watched",
            "rated",
            "user_created",
            "login_failed",
            "health_issue",
            "app_updated",
            "test",
            "other",
        ],
        "overseerr" | "jellyseerr" => &[
            "request_pending",
            "request_approved",
            "request_declined",
            "request_available",
            "request_failed",
            "issue_created",
            "issue_commented",
            "issue_resolved",
            "issue_reopened",
            "test",
            "other",
        ],
        _ => &["message", "health_issue", "test", "other"],
    }
}

/// The event type an event fires on its source's event entity; `other` when the app's list has none for it.
pub fn event_type(app: &str, kind: EventKind) -> &'static str {
    let ty = match kind {
        EventKind::DownloadGrabbed => "grabbed",
        EventKind::LibraryNew if event_types(app).contains(&"imported") => "imported",
        EventKind::LibraryNew => "added",
        EventKind::LibraryUpgraded => "upgraded",
        EventKind::DownloadFailed => "download_failed",
        EventKind::ImportFailed | EventKind::ImportBlocked => "import_failed",
        EventKind::LibraryUpdated => "renamed",
        EventKind::LibraryDeleted => "deleted",
        EventKind::HealthIssue => "health_issue",
        EventKind::HealthRestored => "health_restored",
        EventKind::AppUpdated => "app_updated",
        EventKind::PlaybackStart => "playback_started",
        EventKind::PlaybackPause => "playback_paused",
        EventKind::PlaybackResume => "playback_resumed",
        EventKind::PlaybackStop => "playback_stopped",
        EventKind::PlaybackScrobble | EventKind::LibraryWatched => "watched",
        EventKind::LibraryRated => "rated",
        EventKind::UserCreated => "user_created",
        EventKind::UserAuthenticationFailed => "login_failed",
        EventKind::RequestPending => "request_pending",
        EventKind::RequestApproved => "request_approved",
        EventKind::RequestDeclined => "request_declined",
        EventKind::RequestAvailable => "request_available",
        EventKind::RequestFailed => "request_failed",
        EventKind::IssueCreated => "issue_created",
        EventKind::IssueCommented => "issue_commented",
        EventKind::IssueResolved => "issue_resolved",
        EventKind::IssueReopened => "issue_reopened",
        EventKind::Test => "test",
        EventKind::Other if !event_types(app).contains(&"imported") => "message",
        _ => "other",
    };
    match event_types(app).contains(&ty) {
        true => ty,
        false => "other",
    }
}

fn app_label(app: &str) -> String {
    match crate::inbound::SourceApp::parse(app) {
        Some(a) => crate::stories::capitalized(a.as_str()),
        None => crate::stories::capitalized(app),
    }
}

fn app_maker(app: &str) -> &'static str {
    match app {
        "radarr" | "sonarr" | "lidarr" | "readarr" | "whisparr" | "prowlarr" => "Servarr",
        "plex" => "Plex",
        "jellyfin" => "Jellyfin",
        "emby" => "Emby",
        "tautulli" => "Tautulli",
        "overseerr" | "jellyseerr" => "Seerr",
        _ => "hookarr",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mqtt::SourceDoc;

    fn topics() -> Topics {
        let m: crate::config::Mqtt = serde_norway::from_str("url: mqtt://h").unwrap();
        Topics::new(&m)
    }

    fn sonarr() -> SourceDoc {
        SourceDoc {
            name: "sonarr".into(),
            app: "sonarr".into(),
            instance: Some("Sonarr".into()),
            version: Some("4.0".into()),
            last_event_at: chrono::Utc::now(),
            last_event: "library.new".into(),
            summary: String::new(),
            health: Vec::new(),
            connected: true,
        }
    }

    #[test]
    fn a_source_has_its_sensors_an_event_entity_and_a_trigger_per_type() {
        let t = topics();
        let inventory = Inventory {
            sources: vec![sonarr()],
            players: Vec::new(),
        };
        let configs = configs(&t, &inventory);
        let triggers = configs
            .keys()
            .filter(|k| k.contains("/device_automation/hookarr_sonarr_"))
            .count();
        assert_eq!(triggers, event_types("sonarr").len());
        let events = &configs["homeassistant/event/hookarr_sonarr_events/config"];
        assert_eq!(
            events["event_types"],
            serde_json::json!(event_types("sonarr"))
        );
        let ids: Vec<&str> = configs
            .values()
            .filter_map(|c| c["unique_id"].as_str())
            .collect();
        let distinct: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(ids.len(), distinct.len(), "unique ids are unique");
    }

    #[test]
    fn changes_publish_what_is_new_or_changed_and_empty_what_went() {
        let t = topics();
        let with = configs(
            &t,
            &Inventory {
                sources: vec![sonarr()],
                players: Vec::new(),
            },
        );
        let announced: BTreeMap<String, String> = with
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect();
        assert!(
            changes(&announced, &with, false).is_empty(),
            "nothing changed"
        );
        assert_eq!(
            changes(&announced, &with, true).len(),
            with.len(),
            "everything again"
        );
        let without = configs(&t, &Inventory::default());
        let gone = changes(&announced, &without, false);
        assert!(!gone.is_empty());
        assert!(
            gone.iter()
                .all(|(topic, text)| topic.contains("sonarr") && text.is_empty())
        );
    }

    #[test]
    fn every_event_type_fired_is_one_the_entity_declares() {
        for app in ["radarr", "prowlarr", "jellyfin", "overseerr", "apprise"] {
            for kind in EventKind::ALL {
                let ty = event_type(app, *kind);
                assert!(event_types(app).contains(&ty), "{app} {kind:?} → {ty}");
            }
        }
        assert_eq!(event_type("sonarr", EventKind::LibraryNew), "imported");
        assert_eq!(event_type("jellyfin", EventKind::LibraryNew), "added");
        assert_eq!(
            event_type("overseerr", EventKind::RequestApproved),
            "request_approved"
        );
    }
}
