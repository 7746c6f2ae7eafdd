//! Webhooks registered through the API, as destinations of the engine: each row becomes a `webhook`
//! destination named by its id, with the same routing, queue, retries, pacing and attempt log as the
//! config's. A change made here is taken in alone ([`Engine::webhook_changed`], called by the API); all are
//! re-read when the store says another process changed them (checked before each routing on PostgreSQL,
//! and every few seconds); when a rotation's grace period ends; and when a delivery names a webhook this
//! process has not seen. Unchanged webhooks keep their runtime and compiled routing rule.

use super::Engine;
use super::destinations::DestinationRuntime;
use crate::config::Destination;
use crate::delivery::route::{RoutingTable, Rule};
use crate::outbound::Target;
use crate::storage::{StoreError, WebhookRow};
use chrono::{DateTime, Utc};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

/// The prefix of registered webhooks' ids, and so of their destination names (config names cannot take it).
pub const WEBHOOK_ID_PREFIX: &str = "wh_";

/// The registered webhooks this process knows, and the routing table they make with the config's rules.
#[derive(Default)]
pub(super) struct Registered {
    by_id: HashMap<String, Known>,
    /// The config's rules, then one per webhook.
    pub(super) routes: Arc<RoutingTable>,
    /// The store's [`webhooks_version`](crate::storage::Webhooks::webhooks_version) these were read at.
    version: (i64, i64),
    /// When the first rotation's old secret stops signing: the runtimes must be rebuilt then.
    grace_ends: Option<DateTime<Utc>>,
}

/// One webhook at run time, with what its runtime and routing rule were built from.
struct Known {
    runtime: Arc<DestinationRuntime>,
    rule: Rule,
    updated_at: DateTime<Utc>,
    /// How many secrets sign (two during a rotation's grace period).
    signing: usize,
}

/// The destination a webhook row stands for: a `webhook` with Standard Webhooks signing and the
/// type's defaults. `None` for a row this binary cannot read (logged).
pub fn destination_of(w: &WebhookRow) -> Option<Destination> {
    let spec = json!({
        "name": w.id,
        "type": "webhook",
        "url": w.url,
        "events": w.events,
        "sources": w.sources,
        "filter": w.filter,
        "headers": w.headers,
        "secret": w.secret,
        "signing": "standard",
        "batch": w.batch,
    });
    match serde_json::from_value(spec) {
        Ok(d) => Some(d),
        Err(error) => {
            tracing::error!(message = "A registered webhook cannot be read; it is skipped.", webhook = %w.id, %error);
            None
        }
    }
}

impl Engine {
    /// Re-reads the registered webhooks: new and changed ones get a fresh runtime, unchanged ones keep
    /// theirs (with its rate limit and pause), deleted ones are dropped; the routing table follows.
    pub async fn reload_webhooks(&self) -> Result<(), StoreError> {
        let version = self.store.webhooks_version().await?;
        let rows = self.store.all_webhooks().await?;
        let now = Utc::now();
        let built = self.install_webhooks(rows, version, now);
        if built {
            // A fresh runtime knows nothing of its stored state yet (disabled by its owner, paused).
            self.refresh_state().await?;
        }
        Ok(())
    }

    /// Replaces the known webhooks with `rows`, keeping the runtimes of unchanged ones; returns whether a
    /// runtime was built.
    fn install_webhooks(
        &self,
        rows: Vec<WebhookRow>,
        version: (i64, i64),
        now: DateTime<Utc>,
    ) -> bool {
        let mut registered = self.registered.write().expect("registered lock");
        let mut by_id = HashMap::with_capacity(rows.len());
        let mut built = false;
        let grace_ends = rows
            .iter()
            .filter_map(|r| r.previous_secret_until)
            .filter(|t| *t > now)
            .min();
        for row in rows {
            let (known, new) = self.known_of(&row, registered.by_id.remove(&row.id), now);
            let Some(known) = known else { continue };
            built |= new;
            by_id.insert(row.id, known);
        }
        *registered = Registered {
            routes: self.routes_with(&by_id),
            by_id,
            version,
            grace_ends,
        };
        built
    }

    /// The routing table of the config's rules and one per webhook of `by_id`, in the order of their ids
    /// (the order they were registered in).
    fn routes_with(&self, by_id: &HashMap<String, Known>) -> Arc<RoutingTable> {
        let mut ids: Vec<&String> = by_id.keys().collect();
        ids.sort();
        let mut rules = self.configured().rules.clone();
        rules.extend(ids.into_iter().map(|id| by_id[id].rule.clone()));
        Arc::new(RoutingTable {
            rules,
            people: self.story_settings().people.clone(),
        })
    }

    /// The runtime of webhook `row`: `previous` when the row has not changed since it was built, else a new
    /// one (then `true`); `None` for a row this binary cannot read.
    fn known_of(
        &self,
        row: &WebhookRow,
        previous: Option<Known>,
        now: DateTime<Utc>,
    ) -> (Option<Known>, bool) {
        let secrets = row.signing_secrets(now);
        match previous {
            Some(k) if k.updated_at == row.updated_at && k.signing == secrets.len() => {
                (Some(k), false)
            }
            _ => {
                let Some(d) = destination_of(row) else {
                    return (None, false);
                };
                let mut target = Target::from_config(&d, None);
                target.secrets = secrets.clone();
                let mut runtime = DestinationRuntime::new(&d, target, self.lease);
                runtime.guarded = true;
                let known = Known {
                    runtime: Arc::new(runtime),
                    rule: Rule::new(&d),
                    updated_at: row.updated_at,
                    signing: secrets.len(),
                };
                (Some(known), true)
            }
        }
    }

    /// Rebuilds the routing table after the configuration's destinations changed.
    pub(super) fn rebuild_routes(&self) {
        let mut registered = self.registered.write().expect("registered lock");
        registered.routes = self.routes_with(&registered.by_id);
    }

    /// Takes in the change of one webhook made through this process (registered, changed or deleted)
    /// without reading the others: one row and the store's version are read, the routing table is rebuilt
    /// from memory. When the store shows more than this one change (another process's), all are read again.
    pub async fn webhook_changed(&self, id: &str) -> Result<(), StoreError> {
        let row = self.store.get_webhook(id).await?;
        let version = self.store.webhooks_version().await?;
        let now = Utc::now();
        let built = {
            let mut registered = self.registered.write().expect("registered lock");
            let (count, latest) = registered.version;
            let changed_at = |r: &WebhookRow| latest.max(r.updated_at.timestamp_millis());
            let only_this = match (&row, registered.by_id.contains_key(id)) {
                (Some(r), false) => version == (count + 1, changed_at(r)),
                (Some(r), true) => version == (count, changed_at(r)),
                (None, true) => version.0 == count - 1 && version.1 <= latest,
                (None, false) => version == registered.version,
            };
            if !only_this {
                None
            } else {
                let previous = registered.by_id.remove(id);
                let mut built = false;
                if let Some(row) = &row {
                    let (known, new) = self.known_of(row, previous, now);
                    if let Some(known) = known {
                        registered.by_id.insert(row.id.clone(), known);
                    }
                    built = new;
                    if let Some(until) = row.previous_secret_until.filter(|t| *t > now) {
                        registered.grace_ends =
                            Some(registered.grace_ends.map_or(until, |t| t.min(until)));
                    }
                }
                registered.routes = self.routes_with(&registered.by_id);
                registered.version = version;
                Some(built)
            }
        };
        match built {
            None => self.reload_webhooks().await,
            Some(true) => self.refresh_state().await,
            Some(false) => Ok(()),
        }
    }

    /// Re-reads the webhooks only when they are out of date: one was registered, changed or deleted since
    /// they were read (one small query, for changes made by another process), or a rotation's grace period
    /// ended. Before each routing on a database shared with other processes, so that an event is never
    /// routed by an out-of-date table, and every few seconds.
    pub(super) async fn reload_webhooks_if_stale(&self) -> Result<(), StoreError> {
        let version = self.store.webhooks_version().await?;
        let stale = {
            let registered = self.registered.read().expect("registered lock");
            registered.version != version || registered.grace_ends.is_some_and(|t| t <= Utc::now())
        };
        if stale {
            self.reload_webhooks().await?;
        }
        Ok(())
    }

    /// A destination by name: the config's, else a registered webhook's.
    pub(super) fn destination(&self, name: &str) -> Option<Arc<DestinationRuntime>> {
        if let Some(d) = self.configured().runtimes.get(name) {
            return Some(d.clone());
        }
        let registered = self.registered.read().expect("registered lock");
        registered.by_id.get(name).map(|k| k.runtime.clone())
    }

    /// A destination by name; one this process has not seen yet (a webhook registered, or a destination
    /// stored, through another process) is looked for in the store first.
    pub(super) async fn destination_or_reload(
        &self,
        name: &str,
    ) -> Option<Arc<DestinationRuntime>> {
        if let Some(d) = self.destination(name) {
            return Some(d);
        }
        if !name.starts_with(WEBHOOK_ID_PREFIX) {
            self.refresh_config().await;
            return self.destination(name);
        }
        if let Err(error) = self.reload_webhooks().await {
            error.log("Reading the registered webhooks failed.");
        }
        self.destination(name)
    }

    /// Every destination: the config's, then the registered webhooks.
    pub(super) fn all_destinations(&self) -> Vec<(String, Arc<DestinationRuntime>)> {
        let mut all: Vec<_> = self
            .configured()
            .runtimes
            .iter()
            .map(|(n, d)| (n.clone(), d.clone()))
            .collect();
        let registered = self.registered.read().expect("registered lock");
        all.extend(
            registered
                .by_id
                .iter()
                .map(|(n, k)| (n.clone(), k.runtime.clone())),
        );
        all
    }

    /// The routing table now: the config's rules and one per registered webhook.
    pub fn routes(&self) -> Arc<RoutingTable> {
        self.registered
            .read()
            .expect("registered lock")
            .routes
            .clone()
    }

    /// Sends `event` now to a URL nobody registered (the API's test of a receiver), signed with `secret`,
    /// through the SSRF guard like a registered webhook. Nothing is stored.
    pub async fn send_to_url(
        &self,
        url: &str,
        secret: &str,
        event: &crate::event::Event,
    ) -> Result<crate::delivery::Sent, crate::outbound::RenderFailure> {
        let spec = json!({"name": "test", "type": "webhook", "url": url, "secret": secret});
        let d: Destination = serde_json::from_value(spec)
            .map_err(|e| crate::outbound::RenderFailure::Shape(e.to_string()))?;
        self.send_unsaved(&d, event).await
    }

    /// Sends `event` now to a destination that is not saved (the page's test before saving), through the SSRF
    /// guard; a webhook without a secret signs with a throwaway one. Nothing is stored.
    pub async fn send_unsaved(
        &self,
        d: &Destination,
        event: &crate::event::Event,
    ) -> Result<crate::delivery::Sent, crate::outbound::RenderFailure> {
        let mut target = Target::from_config(d, None);
        if target.secrets.is_empty() {
            target.secrets = vec![crate::outbound::signing::new_whsec()];
        }
        let mut runtime = DestinationRuntime::new(d, target, self.lease).with_mailer(self.timeout);
        runtime.guarded = true;
        let payload = crate::outbound::render_payload(&self.templates(), &runtime.target, event)?;
        let delivery_id = crate::event::new_prefixed_id("dlv");
        Ok(self
            .send_payload(&runtime, event, &delivery_id, &payload, None)
            .await)
    }

    /// Whether a destination of this name exists (in the config, or registered).
    pub fn has_destination(&self, name: &str) -> bool {
        self.destination(name).is_some()
    }
}
