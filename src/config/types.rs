//! The typed configuration: the file as a whole and its sections (server, storage, admin, sources, delivery,
//! api); a destination's keys are in `destination.rs`. Every key is documented here and in
//! `config/hookarr.example.yaml`.

use super::destination::Destination;
use crate::inbound::SourceApp;
use serde::Deserialize;
use std::fmt;

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
    /// Stuck windows and the silence floor (CONTRACT §5.1).
    pub stories: super::Stories,
    /// Who hears about their own requests (CONTRACT §5.1).
    pub people: Vec<super::Person>,
    /// The MQTT broker for Home Assistant and `type: mqtt` destinations (CONTRACT §6.1); off when absent.
    pub mqtt: Option<super::Mqtt>,
    /// Where template overrides are read from (set by `load`: `templates/` beside the config file, else in
    /// the data directory); not a config key.
    #[serde(skip)]
    pub templates_dir: Option<std::path::PathBuf>,
    /// The destinations written in a short form (`url: tgram://…`), as the long form they stand for
    /// (`check-config --long-form` prints them); not a config key.
    #[serde(skip)]
    pub long_forms: Vec<serde_json::Value>,
    /// The file this was read from and the data directory it was read for (set by `load`, so that a reload
    /// reads it again the same way); not a config key.
    #[serde(skip)]
    pub file: Option<ConfigFile>,
    /// The key that seals stored secrets, from `HOOKARR_SECRET_KEY` (set by `load`); not a config key.
    #[serde(skip)]
    pub secret_key: Option<Secret>,
    /// Where the key that seals stored secrets is kept when `secret_key` is not given: beside the SQLite
    /// file, else in the data directory (set by `load`); not a config key.
    #[serde(skip)]
    pub secret_key_file: Option<std::path::PathBuf>,
}

/// Where a configuration was read from.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    /// The YAML file; `None` when hookarr runs on the defaults (nothing to re-read).
    pub path: Option<std::path::PathBuf>,
    pub data_dir: super::DataDir,
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
    /// What this process does (`hookarr serve --role`): everything, or — with several processes on one
    /// PostgreSQL — only the HTTP side or only delivery.
    pub role: ServeRole,
}

/// `server.role` / `hookarr serve --role`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ServeRole {
    /// Receive, serve the API and the page, route and deliver.
    #[default]
    All,
    /// Receive webhooks, serve the API and the admin page; routing and delivery are left to `worker`s.
    Api,
    /// Route and deliver (and Home Assistant over MQTT); HTTP only for `/healthz`, `/readyz` and `/metrics`.
    Worker,
}

impl ServeRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ServeRole::All => "all",
            ServeRole::Api => "api",
            ServeRole::Worker => "worker",
        }
    }

    /// Whether this process routes and sends.
    pub fn delivers(self) -> bool {
        self != ServeRole::Api
    }

    /// Whether this process receives webhooks and serves the API and the page.
    pub fn serves_api(self) -> bool {
        self != ServeRole::Worker
    }

    /// Why this role cannot run on `storage_url`: a role of its own needs a database other processes
    /// share.
    pub fn refusal(self, storage_url: &str) -> Option<String> {
        (self != ServeRole::All && storage_url.starts_with("sqlite:")).then(|| {
            format!(
                "`{}` needs PostgreSQL (storage.url postgres://…): a SQLite file is served by one process, which \
                 receives and delivers (role `all`)",
                self.as_str()
            )
        })
    }
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
            role: ServeRole::All,
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
    /// `playback.progress` events (a media server's report every few seconds of play) are purged sooner.
    pub progress_retention_days: u32,
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
            progress_retention_days: 2,
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
