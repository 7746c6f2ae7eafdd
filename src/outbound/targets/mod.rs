//! The target types hookarr sends to, one file each behind [`TargetKind`]: the config keys a type takes,
//! its URL's shape, its default rate and group window, how template values are escaped for it, the limits
//! its payload is held to, its plain-text fallback, how its request is addressed and signed, and what its
//! answers mean beyond the generic rules (what says "gone", what says "rate-limited for everyone").
//!
//! Adding a target (README, "Add a target"): a file here implementing [`TargetKind`], a variant of
//! [`DestinationType`] with its arm in [`DestinationType::target`], and `templates/<type>/default.hbs`.

mod discord;
mod home_assistant;
mod slack;
mod webhook;

use super::{OutboundRequest, RenderFailure, Target};
use crate::config::{Destination, DestinationType};
use crate::event::Event;
use serde_json::Value;
use std::time::Duration;
use url::Url;

/// The config keys only some target types take (every destination takes the others).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnKey {
    /// `headers`: extra request headers.
    Headers,
    /// `secret`: the signing secret.
    Secret,
    /// `signing`: the signature scheme.
    Signing,
    /// `token`: a Bearer token.
    Token,
}

impl OwnKey {
    /// Every key that only some types take.
    pub const ALL: [OwnKey; 4] = [
        OwnKey::Headers,
        OwnKey::Secret,
        OwnKey::Signing,
        OwnKey::Token,
    ];

    /// The key's name in the config.
    pub fn name(self) -> &'static str {
        match self {
            OwnKey::Headers => "headers",
            OwnKey::Secret => "secret",
            OwnKey::Signing => "signing",
            OwnKey::Token => "token",
        }
    }

    /// Whether a destination sets it.
    pub fn is_set(self, d: &Destination) -> bool {
        match self {
            OwnKey::Headers => !d.headers.is_empty(),
            OwnKey::Secret => d.secret.is_some(),
            OwnKey::Signing => d.signing.is_some(),
            OwnKey::Token => d.token.is_some(),
        }
    }

    /// What the types that take it do with it, for "only webhook destinations are signed".
    pub fn meaning(self) -> &'static str {
        match self {
            OwnKey::Headers => "send extra headers",
            OwnKey::Secret | OwnKey::Signing => "are signed",
            OwnKey::Token => "take a token",
        }
    }

    /// The types that take it, in the order of [`DestinationType::ALL`].
    pub fn taken_by(self) -> Vec<DestinationType> {
        DestinationType::ALL
            .into_iter()
            .filter(|k| k.target().own_keys().contains(&self))
            .collect()
    }
}

/// What a URL check found: a problem stops the config, a warning is printed.
#[derive(Debug, Clone, PartialEq)]
pub enum UrlFinding {
    /// Wrong: `key` (`url` or another key of the destination) says what to fix.
    Problem { key: &'static str, message: String },
    /// Odd but working (a proxy, a test receiver).
    Warning { key: &'static str, message: String },
}

/// How template output escapes the values it inserts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escaping {
    /// As JSON string content.
    Json,
    /// As JSON string content, with Slack's `&`, `<` and `>` escaped (its mrkdwn control characters).
    SlackMrkdwn,
}

/// What a target type knows about itself. Every method but the first four has the plain-webhook answer as its
/// default.
pub trait TargetKind: Send + Sync {
    /// A URL of the right shape, for error messages.
    fn example_url(&self) -> &'static str;

    /// Checks the shape of the destination's URL (already an http(s) URL with a host).
    fn check_url(&self, url: &Url, d: &Destination) -> Vec<UrlFinding>;

    /// The default rate limit (CONTRACT §5): `(period per token, burst)`.
    fn default_rate(&self) -> (Duration, u32);

    /// Addresses, signs and completes the request of one payload: `request` arrives with the destination's
    /// URL, the body and the headers every request carries.
    fn address(
        &self,
        target: &Target,
        request: &mut OutboundRequest,
        delivery_id: &str,
        now: i64,
    ) -> Result<(), RenderFailure>;

    /// The config keys of [`OwnKey`] this type takes.
    fn own_keys(&self) -> &'static [OwnKey] {
        &[]
    }

    /// The default `group_window`: chat targets group a season pack into one message.
    fn default_group_window(&self) -> Duration {
        Duration::ZERO
    }

    /// How template values are escaped.
    fn escaping(&self) -> Escaping {
        Escaping::Json
    }

    /// Holds a rendered payload to the target's limits (truncating), or refuses its shape.
    fn hold_to_limits(&self, _payload: &mut Value, _template: &str) -> Result<(), RenderFailure> {
        Ok(())
    }

    /// The plain-text message sent once when the target refused the rich one with a 400 (CONTRACT §5).
    fn fallback(&self, _event: &Event) -> Option<Value> {
        None
    }

    /// A non-2xx answer that says the destination is gone (it is disabled), with the reason.
    fn gone(&self, _status: u16, _body: &str) -> Option<String> {
        None
    }

    /// Whether a 429's body says the limit holds for every destination of this type.
    fn rate_limit_is_global(&self, _body: &str) -> bool {
        false
    }

    /// How long to wait before the next send when a 2xx's headers say the bucket is spent.
    fn bucket_spent(&self, _headers: &serde_json::Map<String, Value>) -> Option<Duration> {
        None
    }

    /// Whether the import of a download edits the message its grab posted (when `edit_messages` is on).
    fn edits_messages(&self) -> bool {
        false
    }

    /// The request that edits message `message_id` instead of posting a new one.
    fn as_edit(&self, request: OutboundRequest, _message_id: &str) -> OutboundRequest {
        request
    }
}

impl DestinationType {
    /// Every target type, in the order the README lists them.
    pub const ALL: [DestinationType; 4] = [
        DestinationType::Discord,
        DestinationType::Slack,
        DestinationType::HomeAssistant,
        DestinationType::Webhook,
    ];

    /// What the type knows about itself.
    pub fn target(self) -> &'static dyn TargetKind {
        match self {
            DestinationType::Discord => &discord::Discord,
            DestinationType::Slack => &slack::Slack,
            DestinationType::HomeAssistant => &home_assistant::HomeAssistant,
            DestinationType::Webhook => &webhook::Webhook,
        }
    }
}

/// The value of a kept response header.
fn header<'h>(headers: &'h serde_json::Map<String, Value>, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(Value::as_str)
}

/// The first line of an answer's body, for a reason.
fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("").trim()
}

/// Removes `key` from a URL's query, then appends `key=value` when given; other parameters keep their order.
fn set_query_param(u: &mut Url, key: &str, value: Option<&str>) {
    let others: Vec<(String, String)> = u
        .query_pairs()
        .filter(|(k, _)| k != key)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    u.set_query(None);
    if others.is_empty() && value.is_none() {
        return;
    }
    let mut q = u.query_pairs_mut();
    q.extend_pairs(others);
    if let Some(value) = value {
        q.append_pair(key, value);
    }
}

/// The non-empty path segments of a URL.
fn segments(url: &Url) -> Vec<&str> {
    url.path_segments()
        .map(|s| s.filter(|p| !p.is_empty()).collect())
        .unwrap_or_default()
}

/// The destination's extra headers, added to its request.
fn add_headers(target: &Target, request: &mut OutboundRequest) {
    for (k, v) in &target.headers {
        request.headers.push((k.to_ascii_lowercase(), v.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ALL` lists every type once, in declaration order, each under its config name. The `match` is
    /// exhaustive: a new variant does not compile here until it is placed in `ALL`.
    #[test]
    fn all_lists_every_type_under_its_config_name() {
        let position = |k: DestinationType| match k {
            DestinationType::Discord => 0,
            DestinationType::Slack => 1,
            DestinationType::HomeAssistant => 2,
            DestinationType::Webhook => 3,
        };
        for (i, kind) in DestinationType::ALL.into_iter().enumerate() {
            assert_eq!(position(kind), i, "{kind:?}");
            let parsed: DestinationType = serde_norway::from_str(kind.as_str()).unwrap();
            assert_eq!(parsed, kind);
        }
    }

    #[test]
    fn every_type_has_a_default_template() {
        let templates = crate::outbound::Templates::load(None).unwrap();
        for kind in DestinationType::ALL {
            assert!(
                templates.has(&format!("{}/default", kind.as_str())),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn own_keys_name_the_types_that_take_them() {
        assert_eq!(
            OwnKey::Headers.taken_by(),
            [DestinationType::HomeAssistant, DestinationType::Webhook]
        );
        assert_eq!(OwnKey::Secret.taken_by(), [DestinationType::Webhook]);
        assert_eq!(OwnKey::Token.taken_by(), [DestinationType::HomeAssistant]);
    }
}
