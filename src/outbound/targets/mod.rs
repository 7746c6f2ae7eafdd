//! The target types hookarr sends to, one file each behind [`TargetKind`]: the config keys a type takes,
//! its URL's shape, its default rate and group window, how template values are escaped for it, the limits
//! its payload is held to, its plain-text fallback, how its request is addressed and signed, and what its
//! answers mean beyond the generic rules (what says "gone", what says "rate-limited for everyone").
//!
//! Adding a target (README, "Add a target"): a file here implementing [`TargetKind`], a variant of
//! [`DestinationType`] with its arm in [`DestinationType::target`], and `templates/<type>/default.hbs`.

mod discord;
pub mod email;
mod gotify;
mod home_assistant;
mod keys;
pub mod matrix;
pub mod mqtt;
mod ntfy;
mod pushover;
mod slack;
mod telegram;
mod webhook;

pub use keys::{KeyInput, OwnKey, ServiceKeys};

use super::{OutboundRequest, RenderFailure, Target};
use crate::config::{Destination, DestinationType};
use crate::event::Event;
use serde_json::Value;
use std::time::Duration;
use url::Url;

/// What a URL check found: a problem stops the config, a warning is printed.
#[derive(Debug, Clone, PartialEq)]
pub enum UrlFinding {
    /// Wrong: `key` (`url` or another key of the destination) says what to fix.
    Problem { key: &'static str, message: String },
    /// Odd but working (a proxy, a test receiver).
    Warning { key: &'static str, message: String },
}

/// What one answer said of its rate-limit bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketSaid {
    /// The bucket's id: destinations whose answers name the same one share it.
    pub bucket: String,
    /// Sends per window.
    pub limit: u32,
    /// Sends left in this window, this one counted.
    pub remaining: u32,
    /// Until the window ends.
    pub reset_after: Duration,
}

/// How template output escapes the values it inserts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escaping {
    /// As JSON string content.
    Json,
    /// As JSON string content, with `&`, `<` and `>` as HTML entities: Slack's mrkdwn control characters.
    Entities,
    /// As JSON string content, with `&`, `<`, `>` and `"` as HTML entities: the HTML that Telegram, Matrix,
    /// Pushover and e-mail show (a value in an attribute, `href="{{…}}"`, cannot leave it).
    Html,
}

/// How a destination of a type is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reached {
    /// At its `url` (a webhook URL holding its own secret).
    AtUrl,
    /// Through the service at `server`, with the type's own keys; `default` is the public service, when there
    /// is one.
    ThroughServer { default: Option<&'static str> },
    /// Through the broker of the `mqtt:` section: no URL of its own.
    Broker,
}

/// What a target type knows about itself. Every method but the first four has the plain-webhook answer as its
/// default.
pub trait TargetKind: Send + Sync {
    /// A URL of the right shape (the `url`, or the `server` with what the type needs beside it), for error
    /// messages.
    fn example_url(&self) -> &'static str;

    /// Where a user finds the values the type needs, for the page's form ("Discord → Server Settings → …").
    fn where_to_find(&self) -> &'static str;

    /// Checks the destination: `url` is its `url`, or its `server` (already parsed, with a host).
    fn check_url(&self, url: &Url, d: &Destination) -> Vec<UrlFinding>;

    /// The default rate limit (CONTRACT §5) of a destination: `(period per token, burst)`.
    fn default_rate(&self, d: &Destination) -> (Duration, u32);

    /// The default `max_in_flight` (`None`: no cap but the workers'). A chat target takes one at a time, so
    /// that its first `429` is heard before the next request goes.
    fn default_in_flight(&self) -> Option<u32> {
        None
    }

    /// Whether it is reached at a URL or through a service.
    fn reached(&self) -> Reached {
        Reached::AtUrl
    }

    /// Checks the keys of a destination reached without a URL of its own ([`Reached::Broker`]).
    fn check_keys(&self, _d: &Destination) -> Vec<UrlFinding> {
        Vec::new()
    }

    /// The URL schemes its `url` or `server` may have.
    fn schemes(&self) -> &'static [&'static str] {
        &["http", "https"]
    }

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

    /// What an answer means when this type reads it otherwise than the generic rules (CONTRACT §5): a 400
    /// that is a success, a 429 whose wait is in the body, a quota. `retry_after` is the parsed
    /// `Retry-After`.
    fn classify(
        &self,
        _status: u16,
        _body: &str,
        _headers: &serde_json::Map<String, Value>,
        _retry_after: Option<Duration>,
    ) -> Option<crate::outbound::answer::Verdict> {
        None
    }

    /// The new address an answer says the destination moved to (Telegram: a group that became a supergroup
    /// has a new chat id); the message is sent there at once, and so are the next ones.
    fn moved_to(&self, _status: u16, _body: &str) -> Option<String> {
        None
    }

    /// Whether an answer to an edit says the message to edit is gone (so a new one is posted).
    fn edit_missing(&self, status: u16, _body: &str) -> bool {
        status == 404
    }

    /// The id of the message a successful answer posted, for an edit to name.
    fn posted_message(&self, body: &str) -> Option<String> {
        serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|v| v["id"].as_str().map(str::to_owned))
    }

    /// Whether a 429's body says the limit holds for every destination of this type.
    fn rate_limit_is_global(&self, _body: &str) -> bool {
        false
    }

    /// What an answer's headers say of the rate-limit bucket it was counted in (Discord's `X-RateLimit-*`).
    fn bucket(&self, _headers: &serde_json::Map<String, Value>) -> Option<BucketSaid> {
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
    pub const ALL: [DestinationType; 11] = [
        DestinationType::Discord,
        DestinationType::Slack,
        DestinationType::HomeAssistant,
        DestinationType::Webhook,
        DestinationType::Telegram,
        DestinationType::Ntfy,
        DestinationType::Gotify,
        DestinationType::Pushover,
        DestinationType::Matrix,
        DestinationType::Email,
        DestinationType::Mqtt,
    ];

    /// What the type knows about itself.
    pub fn target(self) -> &'static dyn TargetKind {
        match self {
            DestinationType::Discord => &discord::Discord,
            DestinationType::Slack => &slack::Slack,
            DestinationType::HomeAssistant => &home_assistant::HomeAssistant,
            DestinationType::Webhook => &webhook::Webhook,
            DestinationType::Telegram => &telegram::Telegram,
            DestinationType::Ntfy => &ntfy::Ntfy,
            DestinationType::Gotify => &gotify::Gotify,
            DestinationType::Pushover => &pushover::Pushover,
            DestinationType::Matrix => &matrix::Matrix,
            DestinationType::Email => &email::Email,
            DestinationType::Mqtt => &mqtt::Mqtt,
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

/// The request body as JSON (every target's template renders JSON).
fn body_json(request: &OutboundRequest) -> Result<serde_json::Map<String, Value>, RenderFailure> {
    match serde_json::from_slice(&request.body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(RenderFailure::Shape(
            "the template must render a JSON object".into(),
        )),
    }
}

/// Replaces the request's body with this JSON object.
fn set_body_json(request: &mut OutboundRequest, body: serde_json::Map<String, Value>) {
    request.body = serde_json::to_vec(&Value::Object(body)).expect("JSON serializes");
}

/// The text of a string field, when it has one.
fn text<'v>(payload: &'v serde_json::Map<String, Value>, key: &str) -> Option<&'v str> {
    payload.get(key).and_then(Value::as_str)
}

/// A `priority` as a number, names read with `names` (`("high", 4)`); `None` when it is neither.
fn priority_number(p: &crate::config::Priority, names: &[(&str, i64)]) -> Option<i64> {
    match p {
        crate::config::Priority::Number(n) => Some(*n),
        crate::config::Priority::Name(name) => names
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.trim()))
            .map(|(_, v)| *v)
            .or_else(|| name.trim().parse().ok()),
    }
}

/// A required key that is missing, as a problem.
fn missing(key: &'static str, message: impl Into<String>) -> UrlFinding {
    UrlFinding::Problem {
        key,
        message: message.into(),
    }
}

/// HTML to plain text: tags dropped (`<br>` and block ends as new lines), the entities Telegram, Matrix and
/// e-mail templates use read back.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('>') else {
            out.push_str(&rest[open..]);
            rest = "";
            break;
        };
        let closing = rest[open + 1..].starts_with('/');
        let tag = rest[open + 1..open + close]
            .trim_start_matches('/')
            .split([' ', '/'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        if matches!(
            tag.as_str(),
            "br" | "p" | "div" | "li" | "tr" | "h1" | "h2" | "h3"
        ) && !out.ends_with('\n')
            && !out.is_empty()
        {
            out.push('\n');
        } else if matches!(tag.as_str(), "td" | "th")
            && !closing
            && !out.ends_with(char::is_whitespace)
        {
            out.push(' ');
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out.trim_end()
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
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
            DestinationType::Telegram => 4,
            DestinationType::Ntfy => 5,
            DestinationType::Gotify => 6,
            DestinationType::Pushover => 7,
            DestinationType::Matrix => 8,
            DestinationType::Email => 9,
            DestinationType::Mqtt => 10,
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
        assert_eq!(
            OwnKey::Password.taken_by(),
            [DestinationType::Ntfy, DestinationType::Email]
        );
    }
}
