//! The topics hookarr uses on the broker, all in one place: discovery configs below the
//! `discovery_prefix`, availability, state and commands below the `base_topic`.

use crate::config::Mqtt;

/// The topic names of one hub.
#[derive(Debug, Clone)]
pub struct Topics {
    prefix: String,
    base: String,
    node: String,
    version: String,
}

impl Topics {
    pub fn new(settings: &Mqtt) -> Topics {
        Topics {
            prefix: settings.discovery_prefix.clone(),
            base: settings.base_topic.clone(),
            node: object_id(&settings.base_topic),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }

    /// The hub's id in Home Assistant (its device identifier and the start of every unique id): the base
    /// topic as an object id, so that two hubs on one broker with their own base topics stay apart.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// hookarr's version, told in every config's origin and device.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Availability: `online`, or `offline` by the last will.
    pub fn status(&self) -> String {
        format!("{}/status", self.base)
    }

    /// Home Assistant's birth and will.
    pub fn home_assistant_status(&self) -> String {
        format!("{}/status", self.prefix)
    }

    /// A discovery config: `<prefix>/<component>/<object id>/config`.
    pub fn config(&self, component: &str, object_id: &str) -> String {
        format!("{}/{component}/{object_id}/config", self.prefix)
    }

    /// Every discovery config topic hookarr may own (to read back what a broker retains).
    pub fn is_own_config(&self, topic: &str) -> bool {
        topic.starts_with(&format!("{}/", self.prefix))
            && topic.ends_with("/config")
            && topic
                .rsplit('/')
                .nth(1)
                .is_some_and(|id| id == self.node || id.starts_with(&format!("{}_", self.node)))
    }

    /// The hub's state (queue depth, dead deliveries, events of the last hour, quiet hours).
    pub fn hub_state(&self) -> String {
        format!("{}/hub/state", self.base)
    }

    /// A command to the hub (`quiet_hours`, `retry_dead`, `flush_digests`, `notify`).
    pub fn hub_command(&self, name: &str) -> String {
        format!("{}/hub/{name}/set", self.base)
    }

    /// The command a topic names, when it is one of the hub's.
    pub fn command_of<'t>(&self, topic: &'t str) -> Option<&'t str> {
        topic
            .strip_prefix(&self.base)?
            .strip_prefix("/hub/")?
            .strip_suffix("/set")
    }

    /// A source's topic: `state`, `health`, `connectivity`, `event`, `trigger/<type>`.
    pub fn source(&self, source: &str, what: &str) -> String {
        format!("{}/source/{}/{what}", self.base, object_id(source))
    }

    /// A player's state.
    pub fn player(&self, id: &str) -> String {
        format!("{}/player/{id}/state", self.base)
    }
}

/// A name as a discovery object id and topic level: `[a-zA-Z0-9_-]` only, others as `_`.
pub fn object_id(name: &str) -> String {
    let id: String = name
        .chars()
        .map(
            |c| match c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                true => c.to_ascii_lowercase(),
                false => '_',
            },
        )
        .take(64)
        .collect();
    match id.is_empty() {
        true => "_".into(),
        false => id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topics(base: &str) -> Topics {
        let m: Mqtt =
            serde_norway::from_str(&format!("url: mqtt://h\nbase_topic: {base}")).unwrap();
        Topics::new(&m)
    }

    #[test]
    fn object_ids_keep_to_the_characters_home_assistant_allows() {
        assert_eq!(object_id("radarr-4k"), "radarr-4k");
        assert_eq!(object_id("Living Room TV/2"), "living_room_tv_2");
        assert_eq!(object_id(""), "_");
        assert_eq!(topics("home/hookarr").node(), "home_hookarr");
    }

    #[test]
    fn commands_are_read_back_only_from_the_hubs_own_topics() {
        let t = topics("hookarr");
        assert_eq!(
            t.command_of(&t.hub_command("retry_dead")),
            Some("retry_dead")
        );
        assert_eq!(t.command_of("other/hub/retry_dead/set"), None);
        assert!(t.is_own_config(&t.config("sensor", "hookarr_queue_depth")));
        assert!(!t.is_own_config("homeassistant/sensor/hookarrx_q/config"));
    }
}
