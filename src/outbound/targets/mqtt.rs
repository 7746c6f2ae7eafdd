//! MQTT (`type: mqtt`): each event rendered (default: the envelope) and published with QoS 1 on the broker of
//! the `mqtt:` section, to a topic made from a pattern (`hookarr/events/{source}/{event}`), retained or not.
//! The publish is the attempt: the broker's PUBACK is its success, a broker that is not connected is tried
//! again on the schedule. The link itself is in `crate::mqtt`.

use super::{
    OutboundRequest, OwnKey, Reached, RenderFailure, Target, TargetKind, UrlFinding, missing,
};
use crate::config::{Destination, valid_topic_prefix};
use crate::event::Event;
use std::time::Duration;
use url::Url;

/// The MQTT target type.
pub(super) struct Mqtt;

/// What a topic pattern may name, each replaced by the event's value.
const PLACEHOLDERS: [&str; 3] = ["{source}", "{app}", "{event}"];

impl TargetKind for Mqtt {
    fn where_to_find(&self) -> &'static str {
        "The broker is the one in the mqtt: section of hookarr.yaml; pick a topic pattern such as hookarr/events/{source}/{event} and subscribe to it (Node-RED, mosquitto_sub -t 'hookarr/events/#')."
    }

    fn example_url(&self) -> &'static str {
        "hookarr/events/{source}/{event}"
    }

    /// Not reached: an mqtt destination has no URL ([`Reached::Broker`]); its topic is checked by
    /// [`TargetKind::check_keys`].
    fn check_url(&self, _url: &Url, d: &Destination) -> Vec<UrlFinding> {
        self.check_keys(d)
    }

    fn check_keys(&self, d: &Destination) -> Vec<UrlFinding> {
        match d.topic.as_deref().map(check_pattern) {
            Some(Err(why)) => vec![missing("topic", why)],
            _ => Vec::new(),
        }
    }

    /// A local broker takes thousands a second; 200 a second with a burst of 1,000 keeps a backlog from
    /// flooding it when it comes back.
    fn default_rate(&self, _d: &Destination) -> (Duration, u32) {
        (Duration::from_millis(5), 1000)
    }

    fn reached(&self) -> Reached {
        Reached::Broker
    }

    fn schemes(&self) -> &'static [&'static str] {
        &["mqtt", "mqtts"]
    }

    fn own_keys(&self) -> &'static [OwnKey] {
        &[OwnKey::Topic, OwnKey::Retain]
    }

    /// MQTT is not HTTP (the link publishes it): the request only shows what would be sent (`hookarr
    /// render`), as `MQTT <topic pattern>` and the payload.
    fn address(
        &self,
        target: &Target,
        request: &mut OutboundRequest,
        _delivery_id: &str,
        _now: i64,
    ) -> Result<(), RenderFailure> {
        request.method = reqwest::Method::from_bytes(b"MQTT").expect("a valid method token");
        request.url = target
            .service
            .topic
            .clone()
            .unwrap_or_else(|| DEFAULT_PATTERN.to_owned());
        request.headers.retain(|(k, _)| k.starts_with("x-hookarr-"));
        Ok(())
    }
}

/// The pattern of a destination that names none, with the default `mqtt.base_topic`.
pub const DEFAULT_PATTERN: &str = "hookarr/events/{source}/{event}";

/// The pattern of a destination that names none, below `base_topic`.
pub fn default_pattern(base_topic: &str) -> String {
    format!("{base_topic}/events/{{source}}/{{event}}")
}

/// Checks a topic pattern: a topic once its placeholders are filled, and no placeholder it does not know.
pub fn check_pattern(pattern: &str) -> Result<(), String> {
    let mut bare = pattern.to_owned();
    for p in PLACEHOLDERS {
        bare = bare.replace(p, "x");
    }
    if let Some(open) = bare.find('{') {
        let name: String = bare[open..].chars().take_while(|c| *c != '}').collect();
        return Err(format!(
            "`{name}}}` is not a placeholder: a topic pattern may name {{source}}, {{app}} and {{event}}"
        ));
    }
    valid_topic_prefix(&bare).map_err(|why| format!("the topic {why}"))
}

/// The topic of `event` by `pattern`; each value put in has `/`, `#`, `+` and NUL as `_`, so that an app's
/// name can neither add a level nor make a wildcard.
pub fn topic_for(pattern: &str, event: &Event) -> String {
    pattern
        .replace("{source}", &level(&event.source.name))
        .replace("{app}", &level(&event.source.app))
        .replace("{event}", &level(event.event.as_str()))
}

/// A value as one topic level.
pub fn level(value: &str) -> String {
    let cleaned: String = value
        .chars()
        .map(|c| match c {
            '/' | '#' | '+' | '\0' => '_',
            c => c,
        })
        .collect();
    match cleaned.is_empty() {
        true => "_".into(),
        false => cleaned,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pattern_names_known_placeholders_and_no_wildcard() {
        assert!(check_pattern("hookarr/events/{source}/{event}").is_ok());
        assert!(check_pattern("media/{app}").is_ok());
        let wildcard = check_pattern("hookarr/#").unwrap_err();
        assert!(wildcard.contains("wildcards"), "{wildcard}");
        assert!(check_pattern("hookarr/+/x").is_err());
        let unknown = check_pattern("hookarr/{title}").unwrap_err();
        assert!(unknown.contains("{title}"), "{unknown}");
        assert!(check_pattern("hookarr//x").is_err());
    }

    #[test]
    fn values_put_in_a_topic_cannot_add_a_level_or_a_wildcard() {
        let mut event = crate::delivery::test_event();
        event.source.name = "evil/#/+".into();
        assert_eq!(default_pattern("hookarr"), DEFAULT_PATTERN);
        let topic = topic_for(DEFAULT_PATTERN, &event);
        assert_eq!(topic, "hookarr/events/evil____/test");
        assert_eq!(level(""), "_");
    }
}
