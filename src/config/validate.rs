//! Semantic checks of a deserialized [`Config`]: every problem with its path and the fix, and warnings for
//! what works but looks wrong. `hookarr check-config` and `serve` run the same code.

use super::destination::Destination;
use super::targets::valid_whsec;
use super::types::{Config, SourceConfig};
use crate::event::{EventKind, glob_matches};
use crate::inbound::SourceApp;
use crate::outbound::targets::OwnKey;
use std::collections::HashSet;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use url::Url;

/// One problem: where it is and what to do about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// `destinations[2].url`, `server.listen`.
    pub path: String,
    pub message: String,
}

impl Problem {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Returns every problem and every warning of `cfg`.
/// Whether a value is still an example's placeholder (`…/replace-this-with-your-webhook-token`, the
/// examples' Discord id) rather than the user's own.
fn is_placeholder(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    [
        "replace-this",
        "replace_this",
        "your-webhook",
        "your_webhook",
        "<your",
        "changeme",
    ]
    .iter()
    .any(|p| lower.contains(p))
        || value.contains("123456789012345678")
}

pub fn validate(cfg: &Config) -> (Vec<Problem>, Vec<String>) {
    let mut v = Validator::default();
    v.server(cfg);
    v.storage(cfg);
    if let Some(key) = &cfg.admin.api_key
        && !key.expose().is_empty()
        && key.expose().len() < 16
    {
        v.problem("admin.api_key", "too short to be safe; use at least 16 random characters, or leave it empty to have one generated");
    }
    let mut source_names: HashSet<String> = SourceApp::BUILT_IN
        .iter()
        .map(|a| a.as_str().to_owned())
        .collect();
    let mut seen = HashSet::new();
    for (i, s) in cfg.sources.iter().enumerate() {
        v.source(&format!("sources[{i}]"), s, &mut seen);
        source_names.insert(s.name.clone());
    }
    let mut seen = HashSet::new();
    for (i, d) in cfg.destinations.iter().enumerate() {
        v.destination(&format!("destinations[{i}]"), d, &source_names, &mut seen);
    }
    super::stories::check_people(&mut v, cfg);
    if let Some(m) = &cfg.mqtt {
        v.mqtt(m);
    }
    for (i, d) in cfg.destinations.iter().enumerate() {
        if d.kind == crate::config::DestinationType::Mqtt && cfg.mqtt.is_none() {
            v.problem(
                format!("destinations[{i}].type"),
                "an mqtt destination publishes on the broker of the `mqtt:` section: add `mqtt: {url: mqtt://host:1883}`",
            );
        }
    }
    let d = &cfg.delivery;
    if !(1..=1024).contains(&d.workers) {
        v.problem("delivery.workers", "must be between 1 and 1024");
    }
    if !(1..=600).contains(&d.timeout_secs) {
        v.problem("delivery.timeout_secs", "must be between 1 and 600 seconds");
    }
    if d.max_response_bytes > 16 << 20 {
        v.problem(
            "delivery.max_response_bytes",
            "must be at most 16777216 (16 MiB)",
        );
    }
    (v.problems, v.warnings)
}

#[derive(Default)]
pub(super) struct Validator {
    problems: Vec<Problem>,
    pub(super) warnings: Vec<String>,
}

impl Validator {
    /// The problems found.
    pub(super) fn into_problems(self) -> Vec<Problem> {
        self.problems
    }

    pub(super) fn problem(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem::new(path, message));
    }

    fn server(&mut self, cfg: &Config) {
        if cfg.server.listen.parse::<SocketAddr>().is_err() {
            self.problem(
                "server.listen",
                "must be an address and port, like 0.0.0.0:9494 or [::]:9494",
            );
        }
        if let Some(url) = &cfg.server.public_url {
            match Url::parse(url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
                _ => self.problem(
                    "server.public_url",
                    "must be an http(s) URL, like https://hooks.example.org",
                ),
            }
        }
        if !(1024..=256 << 20).contains(&cfg.server.max_body_bytes) {
            self.problem(
                "server.max_body_bytes",
                "must be between 1024 and 268435456 (256 MiB)",
            );
        }
        let s = &cfg.server;
        for (key, value) in [
            ("server.header_timeout_secs", s.header_timeout_secs),
            ("server.body_timeout_secs", s.body_timeout_secs),
            ("server.max_connections", u64::from(s.max_connections)),
            (
                "server.max_requests_in_flight",
                u64::from(s.max_requests_in_flight),
            ),
        ] {
            if value == 0 {
                self.problem(key, "must be at least 1");
            }
        }
    }

    fn storage(&mut self, cfg: &Config) {
        let url = cfg.storage.url.expose();
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            self.problem(
                "storage.url",
                "must start with sqlite:// (a file, e.g. sqlite://data/hookarr.db) or postgres:// (e.g. postgres://hookarr@db/hookarr)",
            );
        }
        if cfg.storage.retention_days == 0 {
            self.problem("storage.retention_days", "must be at least 1");
        }
        if cfg.storage.progress_retention_days == 0 {
            self.problem("storage.progress_retention_days", "must be at least 1");
        }
        if let Some(why) = cfg.server.role.refusal(url) {
            self.problem("server.role", why);
        }
    }

    fn source(&mut self, path: &str, s: &SourceConfig, seen: &mut HashSet<String>) {
        if !valid_name(&s.name) {
            self.problem(
                format!("{path}.name"),
                "use 1–63 lower-case letters, digits, - or _, starting with a letter or digit",
            );
        }
        if !seen.insert(s.name.clone()) {
            self.problem(
                format!("{path}.name"),
                format!(
                    "`{}` is used by another source; names must be unique",
                    s.name
                ),
            );
        }
        let built_in = SourceApp::BUILT_IN.iter().any(|a| a.as_str() == s.name);
        if s.token.is_none() && s.basic.is_none() && !built_in {
            self.problem(path, "needs `token:` or `basic: {username, password}` so that only your app can post to it");
        }
        if let Some(t) = &s.token
            && t.expose().len() < 8
        {
            self.problem(
                format!("{path}.token"),
                "too short to be secret; use at least 8 random characters",
            );
        }
        if let Some(b) = &s.basic
            && b.password.expose().is_empty()
        {
            self.problem(format!("{path}.basic.password"), "must not be empty");
        }
        for (j, cidr) in s.allow_ips.iter().enumerate() {
            if parse_cidr(cidr).is_none() {
                self.problem(
                    format!("{path}.allow_ips[{j}]"),
                    format!("`{cidr}` is not an IP address or CIDR range like 192.168.1.0/24"),
                );
            }
        }
    }

    pub(super) fn destination(
        &mut self,
        path: &str,
        d: &Destination,
        sources: &HashSet<String>,
        seen: &mut HashSet<String>,
    ) {
        if !valid_name(&d.name) {
            self.problem(
                format!("{path}.name"),
                "use 1–63 lower-case letters, digits, - or _, starting with a letter or digit",
            );
        }
        if let Some(batch) = &d.batch {
            if d.kind != crate::config::DestinationType::Webhook {
                self.problem(
                    format!("{path}.batch"),
                    "only webhook destinations take batches; remove it",
                );
            }
            if let Err((key, message)) = check_batch(batch) {
                self.problem(format!("{path}.batch.{key}"), message);
            }
        }
        if d.name.starts_with(crate::delivery::WEBHOOK_ID_PREFIX) {
            self.problem(
                format!("{path}.name"),
                "names starting with wh_ are the ids of webhooks registered through the API; choose another",
            );
        }
        if !seen.insert(d.name.clone()) {
            self.problem(
                format!("{path}.name"),
                format!(
                    "`{}` is used by another destination; names must be unique",
                    d.name
                ),
            );
        }
        self.target_url(path, d);
        let written = [
            ("url", d.url.as_ref().map(|u| u.expose())),
            ("token", d.token.as_ref().map(|t| t.expose())),
            ("server", d.server.as_deref()),
        ];
        for (key, value) in written {
            if value.is_some_and(is_placeholder) {
                let hint = match d.kind {
                    crate::config::DestinationType::Discord => {
                        " (Discord: Server Settings → Integrations → Webhooks → Copy Webhook URL)"
                    }
                    _ => " (the README's section on this type says where to find it)",
                };
                self.problem(
                    format!("{path}.{key}"),
                    format!("is still the example's placeholder: paste your own{hint}"),
                );
            }
        }
        // A header is sent as written: a name or value that is not one (a line break in it) would add
        // headers of its own, from the file or from the API alike.
        for (name, value) in &d.headers {
            if axum::http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                self.problem(format!("{path}.headers.{name}"), "not a valid header name");
            } else if !crate::outbound::is_visible_header_value(value) {
                self.problem(
                    format!("{path}.headers.{name}"),
                    "not a valid header value (visible ASCII only, no space at either end)",
                );
            }
        }
        for (j, glob) in d.events.iter().enumerate() {
            if !EventKind::ALL
                .iter()
                .any(|k| glob_matches(glob, k.as_str()))
            {
                self.problem(format!("{path}.events[{j}]"), format!("`{glob}` matches no event; events look like library.new, health.*, download.grabbed"));
            }
        }
        for (j, name) in d.sources.iter().flatten().enumerate() {
            if !sources.contains(name) {
                self.problem(
                    format!("{path}.sources[{j}]"),
                    format!("no source is named `{name}`; add it under sources: or fix the name"),
                );
            }
        }
        for key in d.filter.keys() {
            if !(key.starts_with("data.")
                || key.starts_with("source.")
                || matches!(key.as_str(), "event" | "summary"))
            {
                self.problem(
                    format!("{path}.filter.{key}"),
                    "paths start with data., source., or are event/summary (e.g. data.media.year)",
                );
            }
        }
        if let Some(t) = &d.template
            && (t.is_empty() || t.contains("..") || t.starts_with('/'))
        {
            self.problem(
                format!("{path}.template"),
                "name a template under templates/, like discord/my-movies",
            );
        }
        if let Some(r) = &d.rate_limit {
            if !(r.per_second > 0.0 && r.per_second.is_finite()) {
                self.problem(
                    format!("{path}.rate_limit.per_second"),
                    "must be a positive number",
                );
            }
            if r.burst == 0 {
                self.problem(format!("{path}.rate_limit.burst"), "must be at least 1");
            }
        }
        if d.max_in_flight == Some(0) {
            self.problem(format!("{path}.max_in_flight"), "must be at least 1");
        }
        if let Some(r) = &d.retry {
            if !(1..=100).contains(&r.max_attempts) {
                self.problem(
                    format!("{path}.retry.max_attempts"),
                    "must be between 1 and 100",
                );
            }
            if r.schedule.is_empty() {
                self.problem(
                    format!("{path}.retry.schedule"),
                    "needs at least one delay, e.g. [0s, 10s, 1m]",
                );
            }
        }
        if let Some(q) = &d.quiet_hours {
            for (key, value) in [("from", &q.from), ("to", &q.to)] {
                if chrono::NaiveTime::parse_from_str(value, "%H:%M").is_err() {
                    self.problem(
                        format!("{path}.quiet_hours.{key}"),
                        format!("`{value}` is not a time; write HH:MM, like 23:00"),
                    );
                }
            }
            if q.tz.parse::<chrono_tz::Tz>().is_err() {
                self.problem(
                    format!("{path}.quiet_hours.tz"),
                    format!(
                        "`{}` is not a time zone; use an IANA name like Europe/Berlin",
                        q.tz
                    ),
                );
            }
        }
        // The keys only some target types take (each type's file says which).
        let own = d.kind.target().own_keys();
        for key in OwnKey::ALL
            .into_iter()
            .filter(|k| k.is_set(d) && !own.contains(k))
        {
            let takers: Vec<&str> = key.taken_by().iter().map(|k| k.as_str()).collect();
            let message = match key {
                OwnKey::Url => format!(
                    "a {} destination takes `server:` and its own keys, not a url (or a short form like {})",
                    d.kind.as_str(),
                    d.kind.target().example_url()
                ),
                _ => format!(
                    "only {} destinations {}; remove it",
                    takers.join(", "),
                    key.meaning()
                ),
            };
            self.problem(format!("{path}.{}", key.name()), message);
        }
        if let Some(secret) = &d.secret
            && own.contains(&OwnKey::Secret)
            && !valid_whsec(secret.expose())
        {
            self.problem(format!("{path}.secret"), "must be whsec_ followed by base64 of at least 24 random bytes; or omit it to have one generated");
        }
    }
}

/// Source and destination names appear in URLs and metrics labels.
/// The most events one batch may hold.
pub const MAX_BATCH_EVENTS: u32 = 1000;

/// Whether a batch's limits are sane: 1 to [`MAX_BATCH_EVENTS`] events, 1 s to 1 h of waiting. The error
/// names the key and the fix.
pub fn check_batch(batch: &crate::config::Batch) -> Result<(), (&'static str, String)> {
    if !(1..=MAX_BATCH_EVENTS).contains(&batch.max_events) {
        return Err(("max_events", format!("from 1 to {MAX_BATCH_EVENTS} events")));
    }
    let wait = batch.max_wait.as_secs_f64();
    if !(1.0..=3600.0).contains(&wait) {
        return Err(("max_wait", "from 1s to 1h".to_owned()));
    }
    Ok(())
}

/// Whether a name may name a source or destination: 1–63 lower-case letters, digits, - or _, starting with
/// a letter or digit.
pub fn valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-' || *b == b'_')
}

/// `192.168.1.0/24`, `10.0.0.5` (a single address), `fd00::/8`.
pub fn parse_cidr(s: &str) -> Option<ipnet::IpNet> {
    s.parse::<ipnet::IpNet>()
        .ok()
        .or_else(|| s.parse::<IpAddr>().ok().map(ipnet::IpNet::from))
}
