//! The destinations of the configuration in force — the file's and those stored through the page or the API
//! — as the engine runs them, replaced as a whole when the configuration changes
//! ([`Engine::apply_destinations`]): a destination whose keys did not change keeps its runtime (its rate
//! limit, pause and what its service told), a changed one gets a new runtime (its pending deliveries go to
//! its new URL at their next attempt), and the routing table follows. A delivery in flight keeps the runtime
//! it started with until its attempt ends.

use super::Engine;
use super::destinations::DestinationRuntime;
use crate::config::Destination;
use crate::delivery::route::Rule;
use crate::outbound::targets::OwnKey;
use crate::outbound::{self, Target, Templates};
use crate::storage::{Store, StoreError};
use std::collections::HashMap;
use std::sync::Arc;

/// Where the engine's configuration comes from: asked to catch up when a delivery names a destination this
/// process does not know yet (made through another process sharing the database, in force here within the
/// next look).
#[async_trait::async_trait]
pub trait ConfigSource: Send + Sync {
    /// Puts the configuration in force again when it changed since it was last applied.
    async fn refresh_if_changed(
        &self,
        engine: &Engine,
        store: &dyn Store,
    ) -> Result<(), StoreError>;
}

/// Where a destination of the configuration lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// `hookarr.yaml`: read-only in the page and the API.
    File,
    /// The database: made in the page or the API, editable there.
    Stored,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::File => "file",
            Origin::Stored => "stored",
        }
    }
}

/// One destination of the configuration: its keys and where they live.
#[derive(Debug, Clone)]
pub struct ConfiguredDestination {
    pub spec: Destination,
    pub origin: Origin,
}

impl ConfiguredDestination {
    /// The destinations of `hookarr.yaml`, as they are configured.
    pub fn from_file(destinations: &[Destination]) -> Vec<ConfiguredDestination> {
        destinations
            .iter()
            .map(|d| ConfiguredDestination {
                spec: d.clone(),
                origin: Origin::File,
            })
            .collect()
    }
}

/// The configuration's destinations at run time, in order (the file's, then the stored).
#[derive(Default)]
pub(super) struct Configured {
    pub(super) entries: Vec<ConfiguredDestination>,
    pub(super) rules: Vec<Rule>,
    pub(super) runtimes: HashMap<String, Arc<DestinationRuntime>>,
}

/// Resolves destinations into send targets, generating and storing a webhook signing secret where none is
/// written.
pub async fn targets(
    destinations: &[Destination],
    store: &dyn Store,
) -> Result<Vec<Target>, StoreError> {
    let mut out = Vec::new();
    for d in destinations {
        let generated = if d.kind.target().own_keys().contains(&OwnKey::Secret)
            && d.secret.is_none()
            && d.signing.unwrap_or_default() != crate::config::Signing::None
        {
            Some(
                store
                    .destination_secret(&d.name, &outbound::signing::new_whsec())
                    .await?,
            )
        } else {
            None
        };
        out.push(Target::from_config(d, generated));
    }
    Ok(out)
}

impl Engine {
    /// Puts `destinations` in force (and `templates`, when given): unchanged ones keep their runtime, new
    /// and changed ones get a new one, removed ones are dropped; the routing table is rebuilt. The next
    /// routing and the next attempt use them.
    pub async fn apply_destinations(
        &self,
        destinations: Vec<ConfiguredDestination>,
        templates: Option<Arc<Templates>>,
    ) -> Result<(), StoreError> {
        let before = self.configured();
        let mut runtimes = HashMap::with_capacity(destinations.len());
        let mut built = false;
        for entry in &destinations {
            let unchanged = before
                .entries
                .iter()
                .find(|e| e.spec.name == entry.spec.name)
                .filter(|e| e.spec == entry.spec && e.origin == entry.origin)
                .and_then(|_| before.runtimes.get(&entry.spec.name));
            let runtime = match unchanged {
                Some(runtime) => runtime.clone(),
                None => {
                    built = true;
                    Arc::new(self.runtime_of(entry).await?)
                }
            };
            runtimes.insert(entry.spec.name.clone(), runtime);
        }
        if let Some(templates) = templates {
            *self.templates.write().expect("templates lock") = templates;
        }
        let rules = destinations.iter().map(|e| Rule::new(&e.spec)).collect();
        *self.configured.write().expect("configured lock") = Arc::new(Configured {
            entries: destinations,
            rules,
            runtimes,
        });
        self.rebuild_routes();
        if built {
            // A fresh runtime knows nothing yet of its stored state (disabled, paused).
            self.refresh_state().await?;
        }
        self.wake_claimer.notify_one();
        Ok(())
    }

    /// The runtime of one destination; a stored one is sent through the SSRF guard, like a registered
    /// webhook (its URL came through the network, not from the operator's file).
    async fn runtime_of(
        &self,
        entry: &ConfiguredDestination,
    ) -> Result<DestinationRuntime, StoreError> {
        let target = targets(std::slice::from_ref(&entry.spec), self.store.as_ref())
            .await?
            .remove(0);
        let mut runtime =
            DestinationRuntime::new(&entry.spec, target, self.lease).with_mailer(self.timeout);
        runtime.guarded = entry.origin == Origin::Stored;
        Ok(runtime)
    }

    /// Tells the engine where its configuration comes from (once, at start-up).
    pub fn set_config_source(&self, source: Arc<dyn ConfigSource>) {
        let _ = self.config_source.set(source);
    }

    /// Has the configuration caught up with the store (a destination made through another process).
    pub(super) async fn refresh_config(&self) {
        if let Some(source) = self.config_source.get()
            && let Err(error) = source.refresh_if_changed(self, self.store.as_ref()).await
        {
            error.log("Reading the stored configuration failed.");
        }
    }

    /// The configuration's destinations now.
    pub(super) fn configured(&self) -> Arc<Configured> {
        self.configured.read().expect("configured lock").clone()
    }

    /// The configuration's destinations, in order, with where each lives.
    pub fn configured_destinations(&self) -> Vec<ConfiguredDestination> {
        self.configured().entries.clone()
    }

    /// The configuration's destination names, in order.
    pub fn destination_names(&self) -> Vec<String> {
        self.configured()
            .entries
            .iter()
            .map(|e| e.spec.name.clone())
            .collect()
    }

    /// A configuration destination's target, as it is in force now.
    pub fn target(&self, name: &str) -> Option<Target> {
        self.configured()
            .runtimes
            .get(name)
            .map(|d| d.target.clone())
    }

    /// Where a configuration destination lives, when there is one of that name.
    pub fn origin_of(&self, name: &str) -> Option<Origin> {
        self.configured()
            .entries
            .iter()
            .find(|e| e.spec.name == name)
            .map(|e| e.origin)
    }

    /// The templates in force.
    pub fn templates(&self) -> Arc<Templates> {
        self.templates.read().expect("templates lock").clone()
    }
}
