//! How each destination is doing: its state (enabled, paused, last success and error), its deliveries by
//! status, and its success rate.

use crate::delivery::Engine;
use crate::outbound::targets::OwnKey;
use crate::outbound::{self};
use crate::storage::{DeliveryStatus, DestinationState, Store, StoreError};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// One destination as an operator sees it.
#[derive(Debug, Clone)]
pub struct DestinationSummary {
    pub name: String,
    /// The target type's config name.
    pub kind: &'static str,
    /// Scheme, host and port only: the rest may hold a secret.
    pub redacted_url: String,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<DateTime<Utc>>,
    /// Set while a pause (a 429, `Retry-After`) lasts.
    pub paused_until: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub deliveries: DeliveryCounts,
    /// Succeeded among the finished deliveries; none before any finished.
    pub success_rate: Option<f64>,
    /// Whether a type that signs has a secret to sign with.
    pub signing_secret_set: bool,
    /// The signing secret hookarr generated (the config names none); never one written in the config.
    pub signing_secret: Option<String>,
}

/// A destination's deliveries by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryCounts {
    pub pending: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub dead: u64,
    pub expired: u64,
    pub cancelled: u64,
}

impl DeliveryCounts {
    fn add(&mut self, status: DeliveryStatus, n: u64) {
        let slot = match status {
            DeliveryStatus::Pending => &mut self.pending,
            DeliveryStatus::Succeeded => &mut self.succeeded,
            DeliveryStatus::Failed => &mut self.failed,
            DeliveryStatus::Dead => &mut self.dead,
            DeliveryStatus::Expired => &mut self.expired,
            DeliveryStatus::Cancelled => &mut self.cancelled,
        };
        *slot += n;
    }

    /// Succeeded among the finished; none before any finished.
    pub fn success_rate(&self) -> Option<f64> {
        let done = self.succeeded + self.failed + self.dead + self.expired;
        (done > 0).then(|| self.succeeded as f64 / done as f64)
    }
}

/// The summaries of the named config destinations (names not in the config are left out), in that order.
pub async fn summaries(
    engine: &Engine,
    store: &dyn Store,
    names: &[&str],
) -> Result<Vec<DestinationSummary>, StoreError> {
    let mut states: HashMap<String, DestinationState> = store
        .destination_states()
        .await?
        .into_iter()
        .map(|s| (s.name.clone(), s))
        .collect();
    let mut counts: HashMap<String, DeliveryCounts> = HashMap::new();
    for c in store.delivery_counts().await? {
        counts
            .entry(c.destination)
            .or_default()
            .add(c.status, c.count);
    }
    let now = Utc::now();
    Ok(names
        .iter()
        .filter_map(|name| {
            let target = engine.target(name)?;
            let st = states.remove(*name).unwrap_or_default();
            let deliveries = counts.get(*name).copied().unwrap_or_default();
            let signs = target.kind.target().own_keys().contains(&OwnKey::Secret);
            Some(DestinationSummary {
                name: (*name).to_owned(),
                kind: target.kind.as_str(),
                redacted_url: outbound::redact_url(&target.url),
                enabled: st.disabled_at.is_none(),
                disabled_reason: st.disabled_reason,
                disabled_at: st.disabled_at,
                paused_until: st.paused_until.filter(|t| *t > now),
                last_success_at: st.last_success_at,
                last_error_at: st.last_error_at,
                last_error: st.last_error,
                success_rate: deliveries.success_rate(),
                deliveries,
                signing_secret_set: signs && !target.secrets.is_empty(),
                signing_secret: (signs && target.secret_generated)
                    .then(|| target.secrets.first().cloned())
                    .flatten(),
            })
        })
        .collect())
}
