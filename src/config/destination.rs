//! A destination's keys (`destinations[]`): its type, how it is reached and signs, what it takes, and how
//! it is paced, retried, grouped and kept quiet.

use super::Secret;
use super::durations::{duration, durations, humantime_secs, opt_duration};
use super::filter::Condition;
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::time::Duration;

/// The outbound target kinds; what each knows is in `outbound/targets/` ([`DestinationType::target`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DestinationType {
    Discord,
    Slack,
    HomeAssistant,
    Webhook,
    Telegram,
    Ntfy,
    Gotify,
    Pushover,
    Matrix,
    Email,
    Mqtt,
}

impl DestinationType {
    /// The config name of the type.
    pub fn as_str(self) -> &'static str {
        match self {
            DestinationType::Discord => "discord",
            DestinationType::Slack => "slack",
            DestinationType::HomeAssistant => "home_assistant",
            DestinationType::Webhook => "webhook",
            DestinationType::Telegram => "telegram",
            DestinationType::Ntfy => "ntfy",
            DestinationType::Gotify => "gotify",
            DestinationType::Pushover => "pushover",
            DestinationType::Matrix => "matrix",
            DestinationType::Email => "email",
            DestinationType::Mqtt => "mqtt",
        }
    }
}

/// `destinations[].signing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signing {
    #[default]
    Standard,
    HubSha256,
    None,
}

/// One entry of `destinations`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Destination {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: DestinationType,
    /// The target's URL (discord, slack, home_assistant, webhook); an Apprise-style URL (`tgram://…`) is
    /// expanded to the long form before this is read.
    #[serde(default)]
    pub url: Option<Secret>,
    /// The service's base URL (telegram, ntfy, gotify, pushover, matrix, email); default the public service
    /// where there is one.
    #[serde(default)]
    pub server: Option<String>,
    /// Event-name globs; default `["*"]`. `test` always passes.
    #[serde(default = "all_events")]
    pub events: Vec<String>,
    /// Source names; default all.
    #[serde(default)]
    pub sources: Option<Vec<String>>,
    /// Dotted paths into the event, each with a condition; all must hold.
    #[serde(default)]
    pub filter: BTreeMap<String, Condition>,
    /// A template name under `templates/` (`discord/my-movies`).
    #[serde(default)]
    pub template: Option<String>,
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    /// The most sends in flight at once; default one for the chat targets (Discord, Slack, Telegram,
    /// Matrix), no cap but the workers' for the others.
    #[serde(default)]
    pub max_in_flight: Option<u32>,
    #[serde(default)]
    pub retry: Option<Retry>,
    /// Undelivered events older than this are dropped (default 10m for `playback.*`).
    #[serde(default, deserialize_with = "opt_duration")]
    pub expire_after: Option<Duration>,
    /// Group season packs and albums arriving within this window into one message.
    #[serde(default, deserialize_with = "opt_duration")]
    pub group_window: Option<Duration>,
    #[serde(default)]
    pub quiet_hours: Option<QuietHours>,
    /// Extra request headers (webhook and home_assistant only).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// `whsec_<base64>` signing secret (webhook only); generated if omitted.
    #[serde(default)]
    pub secret: Option<Secret>,
    /// webhook only.
    #[serde(default)]
    pub signing: Option<Signing>,
    /// A credential: Home Assistant's Bearer token for `/api/events/<type>`, Telegram's bot token, ntfy's
    /// access token, Gotify's app token, Pushover's application token, Matrix's access token.
    #[serde(default)]
    pub token: Option<Secret>,
    /// telegram: the chat (`-100…` or `@channel`).
    #[serde(default, deserialize_with = "opt_text")]
    pub chat_id: Option<String>,
    /// telegram: the forum topic (`message_thread_id`).
    #[serde(default)]
    pub thread_id: Option<i64>,
    /// telegram: deliver without a sound (`disable_notification`).
    #[serde(default)]
    pub silent: bool,
    /// ntfy: the topic; mqtt: the topic pattern (`hookarr/events/{source}/{event}`).
    #[serde(default)]
    pub topic: Option<String>,
    /// mqtt: publish retained (the broker keeps the last message for new subscribers).
    #[serde(default)]
    pub retain: bool,
    /// ntfy: tags (emoji short codes become icons).
    #[serde(default)]
    pub tags: Vec<String>,
    /// ntfy (1–5 or min…max), gotify (0–10), pushover (−2…2).
    #[serde(default)]
    pub priority: Option<Priority>,
    /// pushover: the user (or group) key.
    #[serde(default)]
    pub user_key: Option<Secret>,
    /// pushover: only these devices.
    #[serde(default)]
    pub devices: Vec<String>,
    /// pushover: the sound.
    #[serde(default)]
    pub sound: Option<String>,
    /// pushover: how often an emergency (priority 2) message repeats and for how long.
    #[serde(default)]
    pub emergency: Option<Emergency>,
    /// matrix: the room (`!id:server` or `#alias:server`).
    #[serde(default)]
    pub room: Option<String>,
    /// ntfy and email: the user name to log in with.
    #[serde(default)]
    pub username: Option<String>,
    /// ntfy and email: the password.
    #[serde(default)]
    pub password: Option<Secret>,
    /// email: the sender address.
    #[serde(default)]
    pub from: Option<String>,
    /// email: the recipients.
    #[serde(default)]
    pub to: Vec<String>,
    /// email: how the SMTP connection is secured (`starttls`, `implicit`, `none`); default by the server's
    /// scheme (`smtp://` STARTTLS, `smtps://` implicit TLS).
    #[serde(default)]
    pub tls: Option<SmtpTls>,
    /// Allow `http://` to a public host.
    #[serde(default)]
    pub allow_insecure: bool,
    /// Discord: edit the grab message on import instead of posting again.
    #[serde(default = "yes")]
    pub edit_messages: bool,
    /// One message per title, edited as its story moves (Discord, Telegram, Matrix); targets that cannot edit get
    /// the story's `media.available` and `media.stuck` unless `events` names others (CONTRACT §5.1).
    #[serde(default)]
    pub story: bool,
    /// A person's own destination (`people[].notify` as a URL): it takes only what its person is told;
    /// not a config key.
    #[serde(skip)]
    pub told_only: bool,
    /// The destination `mqtt:` makes for Home Assistant's state topics (sources, players); not a config key.
    #[serde(skip)]
    pub home_assistant: bool,
    /// webhook only: send events in batches (`{"batch_id", "events": [...]}`) instead of one by one.
    #[serde(default)]
    pub batch: Option<Batch>,
}

/// `destinations[].priority`: a number or a name (`high`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(untagged)]
pub enum Priority {
    Number(i64),
    Name(String),
}

/// `destinations[].emergency` (pushover priority 2): the repeat interval (≥ 30 s) and how long it repeats
/// (≤ 3 h).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Emergency {
    #[serde(deserialize_with = "duration")]
    pub retry: Duration,
    #[serde(deserialize_with = "duration")]
    pub expire: Duration,
}

/// `destinations[].tls` (email).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (required: no mail goes out unencrypted).
    Starttls,
    /// TLS from the first byte (port 465).
    Implicit,
    /// No encryption: only to loopback or private hosts.
    None,
}

/// A text that YAML may have read as a number (`chat_id: -1001234`).
pub(super) fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::String(s) => Ok(Some(s)),
        serde_json::Value::Number(n) => Ok(Some(n.to_string())),
        other => Err(serde::de::Error::custom(format!(
            "`{other}` is not a chat id; write a number like -1001234567890 or a name like @mychannel"
        ))),
    }
}

/// `destinations[].batch`: a batch leaves when its first event has waited `max_wait`, with at most
/// `max_events` events (more waiting go in further requests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    /// At most this many events in one request (1–1,000).
    pub max_events: u32,
    /// How long the first event of a batch waits for others: a duration like `30s` or `2m`.
    #[serde(deserialize_with = "duration", serialize_with = "humantime_secs")]
    #[schema(value_type = String, examples("30s"))]
    pub max_wait: Duration,
}

fn all_events() -> Vec<String> {
    vec!["*".into()]
}

fn yes() -> bool {
    true
}

/// `destinations[].rate_limit`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub per_second: f64,
    #[serde(default = "one")]
    pub burst: u32,
}

fn one() -> u32 {
    1
}

/// `destinations[].retry`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retry {
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    #[serde(default = "default_schedule", deserialize_with = "durations")]
    pub schedule: Vec<Duration>,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            max_attempts: default_attempts(),
            schedule: default_schedule(),
        }
    }
}

fn default_attempts() -> u32 {
    8
}

/// The default retry schedule of CONTRACT §5.
pub fn default_schedule() -> Vec<Duration> {
    [0, 10, 60, 300, 1800, 7200, 21600]
        .into_iter()
        .map(Duration::from_secs)
        .collect()
}

/// `destinations[].quiet_hours`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    pub from: String,
    pub to: String,
    #[serde(default = "utc")]
    pub tz: String,
}

fn utc() -> String {
    "UTC".into()
}
