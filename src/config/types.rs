//! The typed configuration. Every key is documented here and in `config/hookarr.example.yaml`.

use super::filter::Condition;
use crate::inbound::SourceApp;
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// The whole configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: Server,
    pub storage: Storage,
    pub admin: Admin,
    /// Sources in addition to the built-ins (`SourceApp::BUILT_IN`) (which can be overridden by name).
    pub sources: Vec<SourceConfig>,
    pub destinations: Vec<Destination>,
    pub delivery: Delivery,
    pub api: Api,
    /// Where template overrides are read from (set by `load`: `templates/` beside the config file, else in
    /// the data directory); not a config key.
    #[serde(skip)]
    pub templates_dir: Option<std::path::PathBuf>,
    /// The destinations written in a short form (`url: tgram://…`), as the long form they stand for
    /// (`check-config --long-form` prints them); not a config key.
    #[serde(skip)]
    pub long_forms: Vec<serde_json::Value>,
}

/// `server`: the HTTP listener and inbound behaviour.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Server {
    /// Address to listen on.
    pub listen: String,
    /// Used in printed Connect URLs and links; default `http://<listen>` (with the host name for 0.0.0.0).
    pub public_url: Option<String>,
    /// Bodies above this get a 413.
    pub max_body_bytes: usize,
    /// The same source + body (or `Idempotency-Key`) within this many seconds is one event.
    pub dedupe_window_secs: u64,
    /// A client must send a request's whole head (request line and headers) within this many seconds.
    pub header_timeout_secs: u64,
    /// A request body that sends nothing for this many seconds is answered 408 (its bytes so far are kept in
    /// the rejected log when the source authenticated).
    pub body_timeout_secs: u64,
    /// Open connections served at once; past it a new one is answered at once and closed (`/healthz` `200`,
    /// anything else `503` with `Retry-After`).
    pub max_connections: u32,
    /// Requests handled at once; past it, `503` with `Retry-After` (`/healthz` and `/readyz` are exempt).
    pub max_requests_in_flight: u32,
}

impl Default for Server {
    fn default() -> Self {
        Self {
            listen: "0.0.0.0:9494".into(),
            public_url: None,
            max_body_bytes: 1_048_576,
            dedupe_window_secs: 60,
            header_timeout_secs: 10,
            body_timeout_secs: 30,
            max_connections: 512,
            max_requests_in_flight: 256,
        }
    }
}

/// `storage`: where events live.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Storage {
    /// `sqlite://path` (created) or `postgres://user@host/db`.
    pub url: Secret,
    /// Events, deliveries, attempts and dead letters older than this are purged.
    pub retention_days: u32,
    /// Whether the config (or `HOOKARR_STORAGE__URL`) named `url`; if not, `load` puts the database in the
    /// data directory. Not a config key.
    #[serde(skip)]
    pub url_given: bool,
}

impl Default for Storage {
    fn default() -> Self {
        Self {
            url: Secret("sqlite://data/hookarr.db".into()),
            retention_days: 30,
            url_given: false,
        }
    }
}

/// `admin`: the admin API key.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Admin {
    /// A fixed admin key; when empty, one is generated on first start and printed once.
    pub api_key: Option<Secret>,
}

/// One entry of `sources`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Used in the URL: `/hooks/<name>`.
    pub name: String,
    /// Which app sends to it; decides how bodies are parsed.
    pub app: SourceApp,
    /// The shared secret, as `?token=`, `X-Hookarr-Token` or the Basic password.
    #[serde(default)]
    pub token: Option<Secret>,
    /// A Basic user/password pair, for apps configured with a user name and password.
    #[serde(default)]
    pub basic: Option<BasicAuth>,
    /// CIDR allow-list; requests from other addresses get 403.
    #[serde(default)]
    pub allow_ips: Vec<String>,
}

/// `sources[].basic`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    pub username: String,
    pub password: Secret,
}

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
#[derive(Debug, Clone, Deserialize)]
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
    /// ntfy: the topic.
    #[serde(default)]
    pub topic: Option<String>,
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
fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
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

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    parse_duration(&serde_json::Value::deserialize(d)?).map_err(serde::de::Error::custom)
}

fn humantime_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&humantime::format_duration(*d).to_string())
}

fn all_events() -> Vec<String> {
    vec!["*".into()]
}

fn yes() -> bool {
    true
}

/// `destinations[].rate_limit`.
#[derive(Debug, Clone, Deserialize)]
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
#[derive(Debug, Clone, Deserialize)]
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
#[derive(Debug, Clone, Deserialize)]
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

/// `delivery`: the sending side.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Delivery {
    /// Concurrent sends per process.
    pub workers: u32,
    /// Per attempt, connect + response.
    pub timeout_secs: u64,
    /// Response bytes kept in the attempt log.
    pub max_response_bytes: usize,
}

impl Default for Delivery {
    fn default() -> Self {
        Self {
            workers: 32,
            timeout_secs: 30,
            max_response_bytes: 65_536,
        }
    }
}

/// `api`: the registration API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Api {
    pub max_webhooks_per_user: u32,
    /// May API-registered webhooks point at loopback/private/link-local addresses?
    pub allow_private_targets: bool,
    /// Names answered without DNS for registered webhooks (set by tests and embedders; not a config key).
    #[serde(skip)]
    pub resolve: crate::outbound::address_guard::Overrides,
}

impl Default for Api {
    fn default() -> Self {
        Self {
            max_webhooks_per_user: 5,
            allow_private_targets: false,
            resolve: Default::default(),
        }
    }
}

/// A secret string: never printed by `Debug`.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl Secret {
    /// The secret itself; call only where it is used.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A duration as `30s`, `10m`, `2h` (or a number of seconds).
pub fn parse_duration(v: &serde_json::Value) -> Result<Duration, String> {
    match v {
        serde_json::Value::Number(n) => n
            .as_u64()
            .map(Duration::from_secs)
            .ok_or_else(|| format!("`{n}` is not a whole number of seconds")),
        serde_json::Value::String(s) => humantime::parse_duration(s.trim())
            .map_err(|_| format!("`{s}` is not a duration; write e.g. `30s`, `10m` or `2h`")),
        other => Err(format!(
            "`{other}` is not a duration; write e.g. `30s`, `10m` or `2h`"
        )),
    }
}

fn opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    if v.is_null() {
        return Ok(None);
    }
    parse_duration(&v)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

fn durations<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Duration>, D::Error> {
    Vec::<serde_json::Value>::deserialize(d)?
        .iter()
        .map(parse_duration)
        .collect::<Result<_, _>>()
        .map_err(serde::de::Error::custom)
}
