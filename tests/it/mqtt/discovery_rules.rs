//! Home Assistant's MQTT discovery rules, written from its documentation (integrations/mqtt: "Discovery
//! topic", "Discovery payload", the abbreviations, and each platform's required keys; device_trigger.mqtt;
//! event.mqtt; sensor.mqtt's `options` for `enum`), as a checker the published configs are held to. It is
//! independent of hookarr's code: it reads only topics and JSON.

use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

/// The platforms MQTT discovery knows (home-assistant core `mqtt/const.py`), and `device_automation`.
const PLATFORMS: &[&str] = &[
    "alarm_control_panel",
    "binary_sensor",
    "button",
    "camera",
    "climate",
    "cover",
    "date",
    "datetime",
    "device_automation",
    "device_tracker",
    "event",
    "fan",
    "humidifier",
    "image",
    "lawn_mower",
    "light",
    "lock",
    "notify",
    "number",
    "scene",
    "select",
    "sensor",
    "siren",
    "switch",
    "tag",
    "text",
    "time",
    "update",
    "vacuum",
    "valve",
    "water_heater",
];

/// The abbreviations a config may use for the keys checked here (mqtt.markdown, "Supported abbreviations").
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("avty_t", "availability_topic"),
    ("avty", "availability"),
    ("cmd_t", "command_topic"),
    ("stat_t", "state_topic"),
    ("uniq_id", "unique_id"),
    ("json_attr_t", "json_attributes_topic"),
    ("val_tpl", "value_template"),
    ("dev_cla", "device_class"),
    ("stat_cla", "state_class"),
    ("exp_aft", "expire_after"),
    ("evt_typ", "event_types"),
    ("atype", "automation_type"),
    ("t", "topic"),
    ("dev", "device"),
    ("o", "origin"),
    ("pl_on", "payload_on"),
    ("pl_off", "payload_off"),
    ("ops", "options"),
];

const DEVICE_ABBREVIATIONS: &[(&str, &str)] = &[
    ("ids", "identifiers"),
    ("cns", "connections"),
    ("mf", "manufacturer"),
    ("mdl", "model"),
    ("sw", "sw_version"),
    ("via_device", "via_device"),
];

/// The config with abbreviations and `~` expanded.
fn expanded(config: &Map<String, Value>) -> Map<String, Value> {
    let long = |k: &str, table: &[(&str, &str)]| {
        table
            .iter()
            .find(|(a, _)| *a == k)
            .map_or(k.to_owned(), |(_, l)| (*l).to_owned())
    };
    let base = config.get("~").and_then(Value::as_str).map(str::to_owned);
    let mut out = Map::new();
    for (k, v) in config {
        let key = long(k, ABBREVIATIONS);
        let mut v = v.clone();
        if let (Some(base), Some(text)) = (&base, v.as_str())
            && key.ends_with("_topic")
        {
            v = Value::String(text.replace('~', base));
        }
        if key == "device"
            && let Some(d) = v.as_object()
        {
            v = Value::Object(
                d.iter()
                    .map(|(k, v)| (long(k, DEVICE_ABBREVIATIONS), v.clone()))
                    .collect(),
            );
        }
        out.insert(key, v);
    }
    out
}

fn valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn valid_publish_topic(t: &str) -> bool {
    !t.is_empty() && !t.contains(['#', '+', '\0'])
}

/// Every rule a set of retained configs breaks, by topic; empty when all hold. Empty payloads (removals) are
/// skipped.
pub fn problems(configs: &[(String, String)], prefix: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut unique_ids = HashSet::new();
    let mut triggers: HashMap<String, HashSet<(String, String)>> = HashMap::new();
    for (topic, payload) in configs {
        if payload.is_empty() {
            continue;
        }
        let mut say = |what: String| found.push(format!("{topic}: {what}"));
        let parts: Vec<&str> = topic.split('/').collect();
        let (component, ids) = match parts.as_slice() {
            [p, c, rest @ .., "config"] if *p == prefix && (1..=2).contains(&rest.len()) => {
                (*c, rest)
            }
            _ => {
                say("not <prefix>/<component>/[<node_id>/]<object_id>/config".into());
                continue;
            }
        };
        if !PLATFORMS.contains(&component) {
            say(format!("`{component}` is not an MQTT discovery platform"));
        }
        if !ids.iter().all(|id| valid_id(id)) {
            say("node and object ids must be [a-zA-Z0-9_-]".into());
        }
        let Ok(Value::Object(raw)) = serde_json::from_str::<Value>(payload) else {
            say("the payload is not a JSON object".into());
            continue;
        };
        let c = expanded(&raw);
        let text = |k: &str| c.get(k).and_then(Value::as_str);
        for (k, v) in &c {
            if (k.ends_with("_topic") || k == "topic")
                && !v.as_str().is_some_and(valid_publish_topic)
            {
                say(format!("`{k}` must be a topic without wildcards"));
            }
        }
        let device = c.get("device").and_then(Value::as_object);
        let identifiers = device.and_then(|d| {
            d.get("identifiers")
                .or_else(|| d.get("connections"))
                .and_then(|i| match i {
                    Value::Array(a) if !a.is_empty() => Some(a.clone()),
                    Value::String(s) if !s.is_empty() => Some(vec![Value::String(s.clone())]),
                    _ => None,
                })
        });
        if identifiers.is_none() {
            say("`device` needs `identifiers` (or `connections`)".into());
        }
        match c.get("origin").and_then(Value::as_object) {
            Some(o) if o.get("name").and_then(Value::as_str).is_some() => {}
            _ => say("`origin` needs a `name`".into()),
        }
        if component == "device_automation" {
            if text("automation_type") != Some("trigger") {
                say("`automation_type` must be `trigger`".into());
            }
            for key in ["topic", "type", "subtype"] {
                if text(key).is_none_or(str::is_empty) {
                    say(format!("a device trigger needs `{key}`"));
                }
            }
            let device_id = identifiers.map(|i| i[0].to_string()).unwrap_or_default();
            let pair = (
                text("type").unwrap_or("").to_owned(),
                text("subtype").unwrap_or("").to_owned(),
            );
            if !triggers.entry(device_id).or_default().insert(pair) {
                say("`type` + `subtype` must be unique per device".into());
            }
            continue;
        }
        match text("unique_id") {
            Some(id) if !id.is_empty() => {
                if !unique_ids.insert(id.to_owned()) {
                    say(format!("unique_id `{id}` is used twice"));
                }
            }
            _ => say("an entity with a device needs a `unique_id`".into()),
        }
        let availability = text("availability_topic").is_some()
            || c.get("availability")
                .and_then(Value::as_array)
                .is_some_and(|a| {
                    a.iter()
                        .all(|e| e.get("topic").and_then(Value::as_str).is_some())
                });
        if !availability {
            say("no `availability_topic` or `availability` list".into());
        }
        let required: &[&str] = match component {
            "sensor" | "binary_sensor" => &["state_topic"],
            "switch" | "button" | "notify" => &["command_topic"],
            "event" => &["state_topic", "event_types"],
            _ => &[],
        };
        for key in required {
            if !c.contains_key(*key) {
                say(format!("a {component} needs `{key}`"));
            }
        }
        if component == "event" {
            let types = c.get("event_types").and_then(Value::as_array);
            if !types.is_some_and(|t| !t.is_empty() && t.iter().all(Value::is_string)) {
                say("`event_types` must be a non-empty list of strings".into());
            }
        }
        if component == "sensor" {
            let class = text("device_class");
            if class == Some("enum")
                && c.get("options")
                    .and_then(Value::as_array)
                    .is_none_or(Vec::is_empty)
            {
                say("an `enum` sensor needs its `options`".into());
            }
            if matches!(class, Some("enum" | "timestamp")) && c.contains_key("state_class") {
                say(format!(
                    "a `{}` sensor takes no `state_class`",
                    class.unwrap()
                ));
            }
            if let Some(after) = c.get("expire_after")
                && after.as_u64().is_none_or(|s| s == 0)
            {
                say("`expire_after` must be a positive number of seconds".into());
            }
        }
    }
    found
}

#[test]
fn the_checker_finds_what_breaks_the_rules() {
    let good = serde_json::json!({
        "name": "Queue", "uniq_id": "hk_q", "stat_t": "hk/state", "avty_t": "hk/status",
        "dev": {"ids": ["hk"]}, "o": {"name": "hookarr"}
    });
    let ok = vec![(
        "homeassistant/sensor/hk_q/config".to_owned(),
        good.to_string(),
    )];
    assert!(
        problems(&ok, "homeassistant").is_empty(),
        "{:?}",
        problems(&ok, "homeassistant")
    );
    let bad = vec![
        ("homeassistant/sensor/hk q/config".to_owned(), good.to_string()),
        (
            "homeassistant/sensor/hk_r/config".to_owned(),
            serde_json::json!({"uniq_id": "hk_q", "stat_t": "hk/#", "dev": {}, "o": {}}).to_string(),
        ),
        (
            "homeassistant/event/hk_e/config".to_owned(),
            serde_json::json!({"uniq_id": "hk_e", "stat_t": "e", "avty_t": "s", "dev": {"ids": "x"},
                "o": {"name": "h"}, "event_types": []}).to_string(),
        ),
    ];
    let found = problems(&bad, "homeassistant");
    for expected in [
        "node and object ids",
        "used twice",
        "without wildcards",
        "needs `identifiers`",
        "`origin` needs a `name`",
        "no `availability_topic`",
        "non-empty list",
    ] {
        assert!(
            found.iter().any(|p| p.contains(expected)),
            "{expected}: {found:#?}"
        );
    }
}
