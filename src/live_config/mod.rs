//! The configuration in force, without a restart: the file's destinations (the last version of
//! `hookarr.yaml` that passed every check) and those stored through the page or the API
//! (`stored.rs`), merged and put in force in the delivery engine; the templates (`templates.rs`) and the
//! sources likewise. The file is re-read on `SIGHUP`, on
//! `POST /api/config/reload` and when it changes on disk, and the stored ones when any process changes them
//! (`watch.rs`). A reload applies as a whole or not at all: an invalid file leaves the last good one in force
//! and says why.

mod people;
mod stored;
mod templates;
mod transfer;
mod watch;

pub use people::PersonError;
pub use stored::{ChangeContext, ChangeError, StoredDestination};
pub use templates::{TemplateChangeError, kind_of as template_kind};
pub use transfer::Imported;
pub use watch::watch;

use crate::config::{Config, Problem};
use crate::delivery::{ConfiguredDestination, Engine, Origin};
use crate::secret_box::SecretBox;
use crate::storage::{Store, StoreError};
use chrono::{DateTime, Utc};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// The configuration in force and how its last reload went.
pub struct LiveConfig {
    /// The file's configuration in force: the last one that passed every check.
    file: RwLock<Arc<Config>>,
    /// Seals and opens what is stored.
    secret_box: SecretBox,
    /// The templates of the file in force (built-in and the templates folder's): the stored ones go over
    /// these.
    base_templates: RwLock<Arc<crate::outbound::Templates>>,
    /// How the last reading of the file went.
    status: RwLock<FileStatus>,
    /// The store's [`config_generation`](crate::storage::StoredConfig::config_generation) last applied.
    generation: AtomicI64,
    /// The file's content hash when it was last read (a change on disk is told by it).
    file_hash: Mutex<Option<[u8; 32]>>,
    /// Stored destinations that could not be read (sealed with another key, or from a later version).
    unreadable: RwLock<Vec<String>>,
    /// One apply at a time, so that two changes cannot put an older view in force after a newer one.
    applying: tokio::sync::Mutex<()>,
    /// Set by [`LiveConfig::request_reload`] (`SIGHUP`).
    reload_requested: tokio::sync::Notify,
    /// The sources, read again with every change of the stored configuration (one made elsewhere).
    sources: std::sync::OnceLock<Arc<crate::sources::Sources>>,
}

/// How the last reading of the file went.
#[derive(Debug, Clone)]
pub enum FileStatus {
    /// In force since then.
    Applied { at: DateTime<Utc> },
    /// Not applied (the previous version stays in force), with every problem.
    Refused {
        at: DateTime<Utc>,
        problems: Vec<Problem>,
    },
}

/// What a reload of the file changed.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct ReloadReport {
    /// Destinations of the file that are new, changed or gone.
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
    /// Sections changed in the file that take effect at the next start only (`server`, `storage`, `admin`,
    /// `delivery`, `api`).
    pub restart_needed: Vec<String>,
    /// What works but looks wrong.
    pub warnings: Vec<String>,
}

impl LiveConfig {
    /// The configuration `cfg` in force, with its key for stored secrets (made beside the database on first
    /// use).
    pub fn new(
        cfg: &Config,
        templates: Arc<crate::outbound::Templates>,
    ) -> Result<LiveConfig, crate::secret_box::SecretBoxError> {
        Self::with_key(cfg, templates, true)
    }

    /// For a one-shot command beside a `serve`: the same, but a key that does not exist yet is not made
    /// (what is stored then cannot be read, and says so).
    pub fn for_command(
        cfg: &Config,
        templates: Arc<crate::outbound::Templates>,
    ) -> Result<LiveConfig, crate::secret_box::SecretBoxError> {
        Self::with_key(cfg, templates, false)
    }

    fn with_key(
        cfg: &Config,
        templates: Arc<crate::outbound::Templates>,
        make_key: bool,
    ) -> Result<LiveConfig, crate::secret_box::SecretBoxError> {
        let secret_box = SecretBox::for_config(cfg, make_key)?;
        let hash = cfg
            .file
            .as_ref()
            .and_then(|f| f.path.as_deref())
            .and_then(|p| std::fs::read(p).ok())
            .map(|bytes| sha256(&bytes));
        Ok(LiveConfig {
            file: RwLock::new(Arc::new(cfg.clone())),
            secret_box,
            base_templates: RwLock::new(templates),
            status: RwLock::new(FileStatus::Applied { at: Utc::now() }),
            generation: AtomicI64::new(-1),
            file_hash: Mutex::new(hash),
            unreadable: RwLock::default(),
            applying: tokio::sync::Mutex::new(()),
            reload_requested: tokio::sync::Notify::new(),
            sources: std::sync::OnceLock::new(),
        })
    }

    /// Has every change of the stored configuration read the sources again too.
    pub fn attach_sources(&self, sources: Arc<crate::sources::Sources>) {
        let _ = self.sources.set(sources);
    }

    /// What seals and opens what is stored (source tokens too).
    pub fn secret_box(&self) -> &SecretBox {
        &self.secret_box
    }

    /// The file's configuration in force.
    pub fn file_config(&self) -> Arc<Config> {
        self.file.read().expect("file config lock").clone()
    }

    /// How the last reading of the file went.
    pub fn file_status(&self) -> FileStatus {
        self.status.read().expect("status lock").clone()
    }

    /// Stored destinations that could not be read, each with why.
    pub fn unreadable(&self) -> Vec<String> {
        self.unreadable.read().expect("unreadable lock").clone()
    }

    /// Puts in force the file's destinations in force and every stored one, as the store has them now.
    pub async fn apply(&self, engine: &Engine, store: &dyn Store) -> Result<(), StoreError> {
        let _one_at_a_time = self.applying.lock().await;
        self.apply_locked(engine, store, None).await
    }

    async fn apply_locked(
        &self,
        engine: &Engine,
        store: &dyn Store,
        templates: Option<Arc<crate::outbound::Templates>>,
    ) -> Result<(), StoreError> {
        let generation = store.config_generation().await?;
        let stored = self.read_stored(store).await?;
        if let Some(templates) = templates {
            *self.base_templates.write().expect("templates lock") = templates;
        }
        let templates = self.templates_with_stored(store).await?;
        let file = self.file_config();
        let mut merged = ConfiguredDestination::from_file(&file.destinations);
        for s in stored {
            if merged.iter().any(|m| m.spec.name == s.spec.name) {
                tracing::warn!(message = "A stored destination has the name of one in hookarr.yaml; the file's is used.", destination = %s.spec.name);
                continue;
            }
            merged.push(ConfiguredDestination {
                spec: s.spec,
                origin: Origin::Stored,
            });
        }
        let people = people::merged(&file.people, store.stored_people().await?);
        engine.set_story_settings(file.stories.clone(), people);
        engine.apply_destinations(merged, Some(templates)).await?;
        if let Some(sources) = self.sources.get() {
            sources.reload(store).await?;
        }
        self.generation.store(generation, Ordering::SeqCst);
        Ok(())
    }

    /// Whether the store's configuration changed since it was last applied (by this process or another).
    pub(crate) async fn stored_changed(&self, store: &dyn Store) -> Result<bool, StoreError> {
        Ok(store.config_generation().await? != self.generation.load(Ordering::SeqCst))
    }

    /// Re-reads the file and puts it in force when every check passes; otherwise the configuration in force
    /// stays, and the problems are returned (and shown until a reading passes).
    pub async fn reload_file(
        &self,
        engine: &Engine,
        store: &dyn Store,
    ) -> Result<ReloadReport, Vec<Problem>> {
        let _one_at_a_time = self.applying.lock().await;
        let current = self.file_config();
        let Some(origin) = current.file.clone() else {
            return Err(vec![Problem::new(
                "(config)",
                "hookarr runs without a config file: there is nothing to re-read",
            )]);
        };
        let bytes = origin.path.as_deref().and_then(|p| std::fs::read(p).ok());
        *self.file_hash.lock().expect("file hash lock") = bytes.as_deref().map(sha256);
        let outcome = self.read_file(&origin, &current, engine, store).await;
        let outcome = match outcome {
            Ok((next, templates, report)) => {
                if let Some(sources) = self.sources.get() {
                    sources.set_file_sources(next.sources.clone());
                }
                *self.file.write().expect("file config lock") = Arc::new(next);
                match self.apply_locked(engine, store, Some(templates)).await {
                    Ok(()) => Ok(report),
                    Err(error) => Err(vec![Problem::new(
                        "(database)",
                        format!("the new configuration could not be put in force: {error}"),
                    )]),
                }
            }
            Err(problems) => Err(problems),
        };
        let at = Utc::now();
        *self.status.write().expect("status lock") = match &outcome {
            Ok(report) => {
                tracing::info!(message = "hookarr.yaml re-read and applied.", added = ?report.added, changed = ?report.changed, removed = ?report.removed, restart_needed = ?report.restart_needed);
                FileStatus::Applied { at }
            }
            Err(problems) => {
                let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
                tracing::error!(message = "hookarr.yaml not applied; the previous configuration stays in force.", problems = %list.join("; "));
                FileStatus::Refused {
                    at,
                    problems: problems.clone(),
                }
            }
        };
        outcome
    }

    /// Reads and checks the file: the configuration, its templates, and what changed.
    async fn read_file(
        &self,
        origin: &crate::config::ConfigFile,
        current: &Config,
        engine: &Engine,
        store: &dyn Store,
    ) -> Result<(Config, Arc<crate::outbound::Templates>, ReloadReport), Vec<Problem>> {
        let loaded =
            crate::config::load(origin.path.as_deref(), &origin.data_dir).map_err(|e| e.0)?;
        let next = loaded.config;
        // The templates are checked against every destination that will be in force, stored ones included.
        let stored = self.read_stored(store).await.map_err(|e| {
            vec![Problem::new(
                "(database)",
                format!("cannot read the stored destinations: {e}"),
            )]
        })?;
        let mut all = next.clone();
        all.destinations.extend(
            stored
                .into_iter()
                .map(|s| s.spec)
                .filter(|d| !next.destinations.iter().any(|f| f.name == d.name)),
        );
        let as_problems = |problems: Vec<crate::outbound::TemplateProblem>| {
            problems
                .into_iter()
                .map(|p| Problem::new(p.file.clone(), p.message.clone()))
                .collect::<Vec<_>>()
        };
        let templates =
            crate::outbound::Templates::load(next.templates_dir.as_deref()).map_err(as_problems)?;
        let stored_templates = self.stored_template_texts(store).await.map_err(|e| {
            vec![Problem::new(
                "(database)",
                format!("cannot read the stored templates: {e}"),
            )]
        })?;
        let (with_stored, _) = templates.with_stored(&stored_templates);
        let missing = crate::outbound::missing_templates(&all, &with_stored);
        if !missing.is_empty() {
            return Err(as_problems(missing));
        }
        let mut report = ReloadReport {
            warnings: loaded.warnings,
            restart_needed: restart_needed(current, &next),
            ..ReloadReport::default()
        };
        let in_force = engine.configured_destinations();
        for d in &next.destinations {
            match in_force.iter().find(|e| e.spec.name == d.name) {
                None => report.added.push(d.name.clone()),
                Some(e) if e.spec != *d || e.origin != Origin::File => {
                    report.changed.push(d.name.clone())
                }
                Some(_) => {}
            }
        }
        for e in in_force.iter().filter(|e| e.origin == Origin::File) {
            if !next.destinations.iter().any(|d| d.name == e.spec.name) {
                report.removed.push(e.spec.name.clone());
            }
        }
        Ok((next, Arc::new(templates), report))
    }

    /// Whether the file's content differs from what was last read.
    pub(crate) fn file_changed_on_disk(&self) -> bool {
        let Some(path) = self
            .file_config()
            .file
            .as_ref()
            .and_then(|f| f.path.clone())
        else {
            return false;
        };
        let now = std::fs::read(&path).ok().map(|b| sha256(&b));
        *self.file_hash.lock().expect("file hash lock") != now
    }

    /// Whether hookarr was started with a file it can re-read.
    pub fn has_file(&self) -> bool {
        self.file_config()
            .file
            .as_ref()
            .is_some_and(|f| f.path.is_some())
    }
}

#[async_trait::async_trait]
impl crate::delivery::ConfigSource for LiveConfig {
    async fn refresh_if_changed(
        &self,
        engine: &Engine,
        store: &dyn Store,
    ) -> Result<(), StoreError> {
        if self.stored_changed(store).await? {
            self.apply(engine, store).await?;
        }
        Ok(())
    }
}

/// The sections of `next` that differ from `current` and are read only at start-up.
fn restart_needed(current: &Config, next: &Config) -> Vec<String> {
    let mut sections = Vec::new();
    let differs = |a: String, b: String| a != b;
    if differs(
        format!("{:?}", current.server),
        format!("{:?}", next.server),
    ) {
        sections.push("server".to_owned());
    }
    if current.storage.url.expose() != next.storage.url.expose()
        || current.storage.retention_days != next.storage.retention_days
    {
        sections.push("storage".to_owned());
    }
    if current.admin.api_key != next.admin.api_key {
        sections.push("admin".to_owned());
    }
    if differs(
        format!("{:?}", current.delivery),
        format!("{:?}", next.delivery),
    ) {
        sections.push("delivery".to_owned());
    }
    if differs(format!("{:?}", current.api), format!("{:?}", next.api)) {
        sections.push("api".to_owned());
    }
    if differs(
        format!("{:?}", current.sources),
        format!("{:?}", next.sources),
    ) {
        sections.push("sources".to_owned());
    }
    sections
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).into()
}
