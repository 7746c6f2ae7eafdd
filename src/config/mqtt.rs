//! `mqtt:` — the broker hookarr keeps a connection to for Home Assistant and `type: mqtt` destinations
//! (CONTRACT §6.1), and the checks of its keys.

use super::Secret;
use super::validate::Validator;
use serde::Deserialize;
use url::Url;

/// `mqtt`: the broker, the topics hookarr owns there, and whose players are published.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mqtt {
    /// `mqtt://host:1883` or `mqtts://host:8883`.
    pub url: String,
    #[serde(default, deserialize_with = "super::destination::opt_text")]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<Secret>,
    /// Default `hookarr-<host name>-<process id>`; two processes on one broker need different ones.
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default = "discovery_prefix")]
    pub discovery_prefix: String,
    /// hookarr's own topics: `<base_topic>/status` (availability), state and commands below it.
    #[serde(default = "base_topic")]
    pub base_topic: String,
    /// The media-server users whose players are published; `["*"]` for all; default none.
    #[serde(default)]
    pub players: Vec<String>,
}

fn discovery_prefix() -> String {
    "homeassistant".into()
}

fn base_topic() -> String {
    "hookarr".into()
}

impl Mqtt {
    /// Whether the players of media-server user `user` are published.
    pub fn publishes_player_of(&self, user: &str) -> bool {
        self.players
            .iter()
            .any(|p| p == "*" || p.eq_ignore_ascii_case(user))
    }

    /// The client id hookarr connects with: `client_id`, else `hookarr-<host name>-<process id>` (a broker
    /// disconnects a client when another connects with its id: processes on one host need their own).
    pub fn client_id(&self) -> String {
        self.client_id.clone().unwrap_or_else(|| {
            // The kernel's name for the machine (HOSTNAME is a shell variable, often not exported).
            let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
                .or_else(|_| std::env::var("HOSTNAME"))
                .unwrap_or_default();
            let host: String = host
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .take(40)
                .collect();
            let pid = std::process::id();
            match host.is_empty() {
                true => format!("hookarr-{pid}"),
                false => format!("hookarr-{host}-{pid}"),
            }
        })
    }
}

/// Whether `topic` may be used as a topic's fixed part: not empty, no wildcard (`#`, `+`), no NUL, no
/// empty level, no leading or trailing `/`, and no `$` at the start (the broker's own topics).
pub fn valid_topic_prefix(topic: &str) -> Result<(), &'static str> {
    if topic.is_empty() {
        return Err("must not be empty");
    }
    if topic.contains(['#', '+']) {
        return Err(
            "must not contain the wildcards # or + (a topic a message is published to names every level)",
        );
    }
    if topic.contains('\0') {
        return Err("must not contain a NUL character");
    }
    if topic.starts_with('$') {
        return Err("must not start with $ (the broker's own topics)");
    }
    if topic.split('/').any(str::is_empty) {
        return Err("must not start or end with / or have an empty level (//)");
    }
    if topic.len() > 1024 {
        return Err("is too long (at most 1024 bytes)");
    }
    Ok(())
}

/// The destination `mqtt:` makes for Home Assistant: every event (and hookarr's word on a silent source)
/// becomes the state of its source's and player's entities; a problem when a destination has its name.
pub fn home_assistant_destination(
    destinations: &[super::Destination],
) -> Result<super::Destination, super::Problem> {
    let name = crate::mqtt::HOME_ASSISTANT_DESTINATION;
    if let Some(i) = destinations.iter().position(|d| d.name == name) {
        return Err(super::Problem::new(
            format!("destinations[{i}].name"),
            format!(
                "`{name}` is the destination hookarr makes for Home Assistant when `mqtt:` is set: rename this one"
            ),
        ));
    }
    let spec = serde_json::json!({
        "name": name,
        "type": "mqtt",
        "events": ["*", "hookarr.source_silent", "hookarr.source_back"],
        // A local broker: tried again soon, and for hours (each reconnect also makes them due at once).
        "retry": {"max_attempts": 100, "schedule": ["0s", "5s", "30s", "1m", "5m"]},
    });
    let mut d: super::Destination =
        serde_json::from_value(spec).expect("the Home Assistant destination is well-formed");
    d.home_assistant = true;
    Ok(d)
}

impl Validator {
    /// Checks `mqtt`: a broker URL, topics without wildcards, players named.
    pub(super) fn mqtt(&mut self, m: &Mqtt) {
        match Url::parse(&m.url) {
            Ok(u) if matches!(u.scheme(), "mqtt" | "mqtts") && u.host_str().is_some() => {
                if !u.username().is_empty() || u.password().is_some() {
                    self.problem(
                        "mqtt.url",
                        "put the log-in in mqtt.username and mqtt.password, not in the URL",
                    );
                }
                if !matches!(u.path(), "" | "/") || u.query().is_some() {
                    self.problem(
                        "mqtt.url",
                        "a broker URL is mqtt://host:port (or mqtts://); nothing after the port",
                    );
                }
            }
            _ => self.problem(
                "mqtt.url",
                "must be mqtt://host:1883 or mqtts://host:8883 (the broker Home Assistant uses too)",
            ),
        }
        if m.password.is_some() && m.username.is_none() {
            self.problem("mqtt.username", "a password needs its username");
        }
        if let Some(id) = &m.client_id
            && !(1..=128).contains(&id.len())
        {
            self.problem("mqtt.client_id", "must be 1–128 characters");
        }
        for (key, topic) in [
            ("discovery_prefix", &m.discovery_prefix),
            ("base_topic", &m.base_topic),
        ] {
            if let Err(why) = valid_topic_prefix(topic) {
                self.problem(format!("mqtt.{key}"), why);
            }
        }
        for (i, p) in m.players.iter().enumerate() {
            if p.trim().is_empty() {
                self.problem(
                    format!("mqtt.players[{i}]"),
                    "name a media-server user, or \"*\" for everyone's players",
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_topic_prefix_with_a_wildcard_or_an_empty_level_is_refused() {
        assert!(valid_topic_prefix("hookarr").is_ok());
        assert!(valid_topic_prefix("home/hookarr").is_ok());
        for bad in ["", "hook#", "a/+/b", "/lead", "trail/", "a//b", "$SYS/x"] {
            assert!(valid_topic_prefix(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn players_are_published_only_for_the_users_named() {
        let m: Mqtt = serde_norway::from_str("url: mqtt://h\nplayers: [Kenji]").unwrap();
        assert!(m.publishes_player_of("kenji"));
        assert!(!m.publishes_player_of("zoe"));
        let all: Mqtt = serde_norway::from_str("url: mqtt://h\nplayers: ['*']").unwrap();
        assert!(all.publishes_player_of("zoe"));
        let none: Mqtt = serde_norway::from_str("url: mqtt://h").unwrap();
        assert!(!none.publishes_player_of("zoe"));
        assert_eq!(none.discovery_prefix, "homeassistant");
        assert_eq!(none.base_topic, "hookarr");
    }
}
