//! Webhooks registered by users (CONTRACT §7): registering within the per-user limit (each field checked by
//! `webhook_fields.rs`, the URL by the SSRF guard), changes, secret rotation with a grace period for the old
//! secret, and deletion. The engine is told of every change.

use super::OperationError;
use super::webhook_fields::{
    check_batch, check_description, check_events, check_filter, check_headers, check_sources,
    secret_or_new,
};
use crate::config::Batch;
use crate::delivery::{Engine, WEBHOOK_ID_PREFIX};
use crate::event::new_prefixed_id;
use crate::storage::{Store, StoreError, WebhookRow};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// Why a webhook its owner switched off is disabled.
const DISABLED_BY_OWNER: &str = "disabled by its owner";

/// How long the secret before a rotation keeps signing.
pub const ROTATION_GRACE: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// `POST /api/webhooks`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// Where to send: `https://` (or, with `api.allow_private_targets`, a private or loopback address).
    pub url: String,
    /// Event-name globs (`library.*`, `health.issue`); default every event.
    #[serde(default)]
    pub events: Option<Vec<String>>,
    /// Only events of these sources (by name); default every source.
    #[serde(default)]
    pub sources: Option<Vec<String>>,
    /// Field conditions, as a destination's `filter` (CONTRACT §5): `{"data.media.type": "movie"}`.
    #[serde(default)]
    pub filter: Option<serde_json::Map<String, Value>>,
    /// Headers sent with every delivery (not those hookarr sets itself).
    #[serde(default)]
    pub headers: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub description: Option<String>,
    /// Default `true`.
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
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub events: Option<Vec<String>>,
    /// `null`: every source again.
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
    let sources = check_sources(cx.sources, new.sources)?;
    let filter = check_filter(new.filter.unwrap_or_default())?;
    let headers = check_headers(new.headers.unwrap_or_default())?;
    let description = check_description(new.description.unwrap_or_default())?;
    let batch = new.batch.map(check_batch).transpose()?;
    let secret = secret_or_new(new.secret, "secret")?;
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
            .set_enabled(&row.id, false, DISABLED_BY_OWNER)
            .await?;
    }
    cx.engine.webhook_changed(&row.id).await?;
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
        row.sources = check_sources(cx.sources, sources)?;
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
            .set_enabled(&row.id, enabled, DISABLED_BY_OWNER)
            .await?;
    }
    cx.engine.webhook_changed(&row.id).await?;
    Ok(row)
}

/// A new secret (generated, or the one given); the one before keeps signing until the returned time.
pub async fn rotate_secret(
    cx: &Context<'_>,
    mut row: WebhookRow,
    given: Option<String>,
) -> Result<(WebhookRow, DateTime<Utc>), OperationError> {
    let secret = secret_or_new(given, "secret")?;
    let now = Utc::now();
    let until = now + ROTATION_GRACE;
    row.previous_secret = Some(std::mem::replace(&mut row.secret, secret));
    row.previous_secret_until = Some(until);
    row.updated_at = now;
    if !cx.store.update_webhook(&row).await? {
        return Err(no_webhook(&row.id));
    }
    cx.engine.webhook_changed(&row.id).await?;
    Ok((row, until))
}

/// Deletes a webhook; its deliveries still pending fail ("its webhook was deleted").
pub async fn delete(cx: &Context<'_>, id: &str) -> Result<(), OperationError> {
    if !cx.store.delete_webhook(id).await? {
        return Err(no_webhook(id));
    }
    cx.engine.webhook_changed(id).await?;
    Ok(())
}

pub fn no_webhook(id: &str) -> OperationError {
    OperationError::NotFound(format!("no webhook has the id `{id}`"))
}

async fn check_url(cx: &Context<'_>, url: &str) -> Result<String, OperationError> {
    let max = crate::config::MAX_URL_BYTES;
    if url.trim().len() > max {
        return Err(OperationError::invalid(
            "url",
            format!("longer than {max} characters"),
        ));
    }
    cx.engine
        .check_webhook_url(url.trim())
        .await
        .map(String::from)
        .map_err(|refusal| OperationError::invalid("url", refusal.0))
}

/// The ids of `user`'s webhooks; `None` (everyone's) without a user — an admin's view.
pub async fn ids_of(
    store: &dyn Store,
    user: Option<&str>,
) -> Result<Option<Vec<String>>, StoreError> {
    let Some(user) = user else {
        return Ok(None);
    };
    let all = store.all_webhooks().await?;
    Ok(Some(
        all.into_iter()
            .filter(|w| w.user_id == user)
            .map(|w| w.id)
            .collect(),
    ))
}
