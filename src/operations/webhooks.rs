//! Webhooks registered by users (CONTRACT §7): what a registration may say (checked field by field, the URL
//! through the SSRF guard), registering within the per-user limit, changes, secret rotation with a grace
//! period for the old secret, and deletion. The engine is told of every change.

use super::OperationError;
use crate::config::{Batch, Condition, FilterOp};
use crate::delivery::{Engine, WEBHOOK_ID_PREFIX};
use crate::event::{EventKind, glob_matches, new_prefixed_id};
use crate::outbound::signing;
use crate::storage::{Store, WebhookRow};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// How long the secret before a rotation keeps signing.
pub const ROTATION_GRACE: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// Headers a registration may not set: hookarr writes them itself.
const RESERVED_HEADERS: [&str; 10] = [
    "content-type",
    "content-length",
    "host",
    "user-agent",
    "transfer-encoding",
    "connection",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "x-hookarr-event",
];

const MAX_HEADERS: usize = 20;
const MAX_DESCRIPTION: usize = 500;
const MAX_GLOBS: usize = 50;

/// `POST /api/webhooks`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    pub url: String,
    #[serde(default)]
    pub events: Option<Vec<String>>,
    #[serde(default)]
    pub sources: Option<Vec<String>>,
    #[serde(default)]
    pub filter: Option<serde_json::Map<String, Value>>,
    #[serde(default)]
    pub headers: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
    /// A `whsec_…` secret to sign with; generated when absent.
    #[serde(default)]
    pub secret: Option<String>,
    /// Send in batches instead of one request per event.
    #[serde(default)]
    pub batch: Option<Batch>,
}

/// `PATCH /api/webhooks/{id}`: what is present changes; `sources: null` means every source again.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub events: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    pub sources: Option<Option<Vec<String>>>,
    #[serde(default)]
    pub filter: Option<serde_json::Map<String, Value>>,
    #[serde(default)]
    pub headers: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
    /// `null` turns batching off.
    #[serde(default, deserialize_with = "present")]
    pub batch: Option<Option<Batch>>,
}

impl WebhookPatch {
    /// The names of the fields this change sets (for the audit log: never their values).
    pub fn changed_fields(&self) -> Vec<&'static str> {
        [
            ("url", self.url.is_some()),
            ("events", self.events.is_some()),
            ("sources", self.sources.is_some()),
            ("filter", self.filter.is_some()),
            ("headers", self.headers.is_some()),
            ("description", self.description.is_some()),
            ("enabled", self.enabled.is_some()),
            ("batch", self.batch.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect()
    }
}

/// A field that may be given as `null` (`Some(None)`) or left out (`None`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// What a registration is checked against.
pub struct Context<'a> {
    pub engine: &'a Engine,
    pub store: &'a dyn Store,
    /// The sources events come from (a registration may name some).
    pub sources: &'a crate::sources::Sources,
    pub max_per_user: u32,
}

/// Registers a webhook for `owner`; returns it with its secret (shown this once).
pub async fn register(
    cx: &Context<'_>,
    owner: &str,
    new: NewWebhook,
) -> Result<WebhookRow, OperationError> {
    let url = check_url(cx, &new.url).await?;
    let events = check_events(new.events.unwrap_or_else(|| vec!["*".into()]))?;
    let sources = check_sources(cx, new.sources)?;
    let filter = check_filter(new.filter.unwrap_or_default())?;
    let headers = check_headers(new.headers.unwrap_or_default())?;
    let description = check_description(new.description.unwrap_or_default())?;
    let batch = new.batch.map(check_batch).transpose()?;
    let secret = match new.secret {
        Some(s) if valid_secret(&s) => s,
        Some(_) => {
            return Err(OperationError::invalid(
                "secret",
                "a secret is `whsec_` followed by base64 of 24 to 64 random bytes; leave it out to have one generated",
            ));
        }
        None => signing::new_whsec(),
    };
    let now = Utc::now();
    let row = WebhookRow {
        id: new_prefixed_id(WEBHOOK_ID_PREFIX.trim_end_matches('_')),
        user_id: owner.to_owned(),
        url,
        events,
        sources,
        filter,
        headers,
        description,
        batch,
        secret,
        previous_secret: None,
        previous_secret_until: None,
        created_at: now,
        updated_at: now,
    };
    if !cx.store.create_webhook(&row, cx.max_per_user).await? {
        return Err(OperationError::LimitReached(format!(
            "a user may register {} webhooks (api.max_webhooks_per_user); delete one first",
            cx.max_per_user
        )));
    }
    if new.enabled == Some(false) {
        cx.engine
            .set_enabled(&row.id, false, "disabled by its owner")
            .await?;
    }
    cx.engine.reload_webhooks().await?;
    Ok(row)
}

/// Applies a change; returns the webhook as it is now.
pub async fn update(
    cx: &Context<'_>,
    mut row: WebhookRow,
    patch: WebhookPatch,
) -> Result<WebhookRow, OperationError> {
    if let Some(url) = patch.url {
        row.url = check_url(cx, &url).await?;
    }
    if let Some(events) = patch.events {
        row.events = check_events(events)?;
    }
    if let Some(sources) = patch.sources {
        row.sources = check_sources(cx, sources)?;
    }
    if let Some(filter) = patch.filter {
        row.filter = check_filter(filter)?;
    }
    if let Some(headers) = patch.headers {
        row.headers = check_headers(headers)?;
    }
    if let Some(description) = patch.description {
        row.description = check_description(description)?;
    }
    if let Some(batch) = patch.batch {
        row.batch = batch.map(check_batch).transpose()?;
    }
    row.updated_at = Utc::now();
    if !cx.store.update_webhook(&row).await? {
        return Err(no_webhook(&row.id));
    }
    if let Some(enabled) = patch.enabled {
        cx.engine
            .set_enabled(&row.id, enabled, "disabled by its owner")
            .await?;
    }
    cx.engine.reload_webhooks().await?;
    Ok(row)
}

/// A new secret (generated, or the one given); the one before keeps signing until the returned time.
pub async fn rotate_secret(
    cx: &Context<'_>,
    mut row: WebhookRow,
    given: Option<String>,
) -> Result<(WebhookRow, DateTime<Utc>), OperationError> {
    let secret = match given {
        Some(s) if valid_secret(&s) => s,
        Some(_) => {
            return Err(OperationError::invalid(
                "secret",
                "a secret is `whsec_` followed by base64 of 24 to 64 random bytes",
            ));
        }
        None => signing::new_whsec(),
    };
    let now = Utc::now();
    let until = now + ROTATION_GRACE;
    row.previous_secret = Some(std::mem::replace(&mut row.secret, secret));
    row.previous_secret_until = Some(until);
    row.updated_at = now;
    if !cx.store.update_webhook(&row).await? {
        return Err(no_webhook(&row.id));
    }
    cx.engine.reload_webhooks().await?;
    Ok((row, until))
}

/// Deletes a webhook; its deliveries still pending fail ("its webhook was deleted").
pub async fn delete(cx: &Context<'_>, id: &str) -> Result<(), OperationError> {
    if !cx.store.delete_webhook(id).await? {
        return Err(no_webhook(id));
    }
    cx.engine.reload_webhooks().await?;
    Ok(())
}

pub fn no_webhook(id: &str) -> OperationError {
    OperationError::NotFound(format!("no webhook has the id `{id}`"))
}

async fn check_url(cx: &Context<'_>, url: &str) -> Result<String, OperationError> {
    cx.engine
        .address_guard()
        .check_url(url.trim())
        .await
        .map(String::from)
        .map_err(|refusal| OperationError::invalid("url", refusal.0))
}

fn check_events(events: Vec<String>) -> Result<Vec<String>, OperationError> {
    if events.is_empty() {
        return Err(OperationError::invalid(
            "events",
            "name at least one event or glob, like [\"library.*\"], or leave it out for every event",
        ));
    }
    if events.len() > MAX_GLOBS {
        return Err(OperationError::invalid(
            "events",
            format!("at most {MAX_GLOBS} globs"),
        ));
    }
    for (i, glob) in events.iter().enumerate() {
        if !EventKind::ALL
            .iter()
            .any(|k| glob_matches(glob, k.as_str()))
        {
            return Err(OperationError::invalid(
                format!("events[{i}]"),
                format!(
                    "`{glob}` matches no event; events look like library.new, health.*, download.grabbed"
                ),
            ));
        }
    }
    Ok(events)
}

fn check_sources(
    cx: &Context<'_>,
    sources: Option<Vec<String>>,
) -> Result<Option<Vec<String>>, OperationError> {
    let Some(sources) = sources else {
        return Ok(None);
    };
    if sources.is_empty() {
        return Err(OperationError::invalid(
            "sources",
            "name at least one source, or leave it out (or null) for every source",
        ));
    }
    for (i, name) in sources.iter().enumerate() {
        if cx.sources.get(name).is_none() {
            return Err(OperationError::invalid(
                format!("sources[{i}]"),
                format!("no source is named `{name}` (GET /api/sources lists them)"),
            ));
        }
    }
    Ok(Some(sources))
}

fn check_filter(
    filter: serde_json::Map<String, Value>,
) -> Result<serde_json::Map<String, Value>, OperationError> {
    for (path, condition) in &filter {
        let field = format!("filter.{path}");
        if !(path.starts_with("data.")
            || path.starts_with("source.")
            || matches!(path.as_str(), "event" | "summary"))
        {
            return Err(OperationError::invalid(
                field,
                "paths start with data., source., or are event/summary (e.g. data.media.year)",
            ));
        }
        let Condition(ops) = serde_json::from_value(condition.clone())
            .map_err(|e| OperationError::invalid(&field, e.to_string()))?;
        for op in ops {
            if let FilterOp::Matches(re) = op
                && let Err(e) = regex::Regex::new(&re)
            {
                return Err(OperationError::invalid(
                    &field,
                    format!("`matches` is not a valid regular expression: {e}"),
                ));
            }
        }
    }
    Ok(filter)
}

fn check_headers(
    headers: BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, OperationError> {
    if headers.len() > MAX_HEADERS {
        return Err(OperationError::invalid(
            "headers",
            format!("at most {MAX_HEADERS} headers"),
        ));
    }
    for (name, value) in &headers {
        let field = format!("headers.{name}");
        if axum::http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(OperationError::invalid(field, "not a valid header name"));
        }
        if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(OperationError::invalid(
                field,
                "hookarr sets this header itself",
            ));
        }
        if axum::http::HeaderValue::from_str(value).is_err() {
            return Err(OperationError::invalid(
                field,
                "not a valid header value (visible ASCII only)",
            ));
        }
    }
    Ok(headers)
}

/// A batch may hold 1 to [`crate::config::MAX_BATCH_EVENTS`] events and wait up to an hour.
fn check_batch(batch: Batch) -> Result<Batch, OperationError> {
    crate::config::check_batch(&batch)
        .map(|()| batch)
        .map_err(|(key, message)| OperationError::invalid(format!("batch.{key}"), message))
}

fn check_description(description: String) -> Result<String, OperationError> {
    if description.chars().count() > MAX_DESCRIPTION {
        return Err(OperationError::invalid(
            "description",
            format!("at most {MAX_DESCRIPTION} characters"),
        ));
    }
    Ok(description)
}

fn valid_secret(s: &str) -> bool {
    signing::whsec_key(s).is_ok_and(|k| (24..=64).contains(&k.len())) && s.starts_with("whsec_")
}

/// Whether a header's value is a credential, shown masked after registration.
pub fn is_credential_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "authorization",
        "token",
        "key",
        "secret",
        "cookie",
        "password",
    ]
    .iter()
    .any(|w| name.contains(w))
}
