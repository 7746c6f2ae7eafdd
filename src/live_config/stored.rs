//! Destinations stored through the page or the API: checked by the file's validator (and the SSRF guard,
//! since their URLs come over the network), sealed, written with a version check, and put in force at once.
//! A name is unique across the file and the database; a destination of the file is read-only here.

use super::LiveConfig;
use crate::config::{Destination, Problem, ReadDestination};
use crate::delivery::{Engine, Origin};
use crate::storage::{Saved, Store, StoreError, StoredRow};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::collections::HashSet;

/// A stored destination, opened.
#[derive(Debug, Clone)]
pub struct StoredDestination {
    pub spec: Destination,
    /// Its keys as stored (the long form `hookarr.yaml` accepts).
    pub long_form: Map<String, Value>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
}

/// What a change of stored configuration works with: the engine it puts the change in force in, the
/// store, and the source names a destination may name.
pub struct ChangeContext<'a> {
    pub engine: &'a Engine,
    pub store: &'a dyn Store,
    pub sources: &'a HashSet<String>,
}

/// Why a change of a stored destination was refused.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// The destination does not pass the checks: every problem, each with its field.
    #[error("the destination has {} problem(s)", .0.len())]
    Invalid(Vec<Problem>),
    /// It is defined in `hookarr.yaml`: change it there.
    #[error(
        "destination `{0}` lives in hookarr.yaml: change it there (the file is re-read on save, SIGHUP or POST /api/config/reload)"
    )]
    InFile(String),
    /// The name is taken by another stored destination.
    #[error("a destination named `{0}` exists already; choose another name or edit that one")]
    Taken(String),
    /// Someone saved it since the version the change was made on.
    #[error(
        "destination `{name}` was changed by someone else since version {expected} (it is at version {current}); reload it and make the change again"
    )]
    Stale {
        name: String,
        expected: i64,
        current: i64,
    },
    #[error("no stored destination named `{0}`")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl LiveConfig {
    /// Every stored destination that can be opened (one that cannot is logged and kept aside).
    pub(super) async fn read_stored(
        &self,
        store: &dyn Store,
    ) -> Result<Vec<StoredDestination>, StoreError> {
        let rows = store.stored_destinations().await?;
        let mut out = Vec::with_capacity(rows.len());
        let mut unreadable = Vec::new();
        for row in rows {
            match self.open_row(&row) {
                Ok(d) => out.push(d),
                Err(why) => {
                    tracing::error!(message = "A stored destination cannot be read; it is not in force.", destination = %row.name, why = %why);
                    unreadable.push(format!("{}: {why}", row.name));
                }
            }
        }
        *self.unreadable.write().expect("unreadable lock") = unreadable;
        Ok(out)
    }

    fn open_row(&self, row: &StoredRow) -> Result<StoredDestination, String> {
        let plain = self
            .secret_box
            .open(&row.sealed_spec)
            .map_err(|e| e.to_string())?;
        let long_form: Map<String, Value> =
            serde_json::from_str(&plain).map_err(|e| format!("its keys are not readable: {e}"))?;
        let spec: Destination = serde_json::from_value(Value::Object(long_form.clone()))
            .map_err(|e| format!("its keys are not readable by this version: {e}"))?;
        Ok(StoredDestination {
            spec,
            long_form,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
            updated_by: row.updated_by.clone(),
        })
    }

    /// Every stored destination that can be opened, by name.
    pub async fn stored_destinations(
        &self,
        store: &dyn Store,
    ) -> Result<Vec<StoredDestination>, StoreError> {
        self.read_stored(store).await
    }

    /// The stored destination named, opened.
    pub async fn stored_destination(
        &self,
        store: &dyn Store,
        name: &str,
    ) -> Result<Option<StoredDestination>, StoreError> {
        Ok(self
            .read_stored(store)
            .await?
            .into_iter()
            .find(|d| d.spec.name == name))
    }

    /// Checks a destination as it would be stored (nothing is saved): the validator's problems, a name
    /// taken in the file or the database, a template that does not exist, a URL the SSRF guard refuses.
    /// `editing`: the stored destination being changed, whose own name is not a conflict.
    pub async fn check_destination(
        &self,
        cx: &ChangeContext<'_>,
        body: Value,
        editing: Option<&str>,
    ) -> Result<ReadDestination, ChangeError> {
        let (engine, store) = (cx.engine, cx.store);
        let read = crate::config::read_destination(body, cx.sources, &HashSet::new())
            .map_err(ChangeError::Invalid)?;
        let name = read.destination.name.clone();
        if editing != Some(name.as_str()) {
            match engine.origin_of(&name) {
                Some(Origin::File) => return Err(ChangeError::InFile(name)),
                Some(Origin::Stored) => return Err(ChangeError::Taken(name)),
                None if self.stored_destination(store, &name).await?.is_some() => {
                    return Err(ChangeError::Taken(name));
                }
                None => {}
            }
        }
        let mut problems = Vec::new();
        if let Some(template) = &read.destination.template
            && !engine.templates().has(template)
        {
            problems.push(Problem::new(
                "template",
                format!("no template `{template}`: save it in the template studio first, or pick another"),
            ));
        }
        let target = crate::outbound::Target::from_config(&read.destination, None);
        let key = match read.destination.kind.target().reached() {
            crate::outbound::targets::Reached::AtUrl => Some("url"),
            crate::outbound::targets::Reached::ThroughServer { .. } => Some("server"),
            // Published on hookarr's own broker: nothing of the user's to reach.
            crate::outbound::targets::Reached::Broker => None,
        };
        if let Some(key) = key
            && let Err(refusal) = engine.check_webhook_url(&checkable_url(&target.url)).await
        {
            problems.push(Problem::new(key, refusal.to_string()));
        }
        if key.is_none() && !engine.has_mqtt() {
            problems.push(Problem::new(
                "type",
                "an mqtt destination publishes on the broker of the `mqtt:` section of hookarr.yaml, which is not set",
            ));
        }
        if problems.is_empty() {
            Ok(read)
        } else {
            Err(ChangeError::Invalid(problems))
        }
    }

    /// Stores a new destination and puts it in force.
    pub async fn create_destination(
        &self,
        cx: &ChangeContext<'_>,
        body: Value,
        who: &str,
    ) -> Result<StoredDestination, ChangeError> {
        let (engine, store) = (cx.engine, cx.store);
        let read = self.check_destination(cx, body, None).await?;
        let now = Utc::now();
        let row = self.row_of(&read, now, who);
        store
            .insert_stored_destination(&row)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => ChangeError::Taken(row.name.clone()),
                other => ChangeError::Store(other),
            })?;
        self.apply(engine, store).await?;
        Ok(StoredDestination {
            spec: read.destination,
            long_form: read.long_form,
            version: 1,
            created_at: now,
            updated_at: now,
            updated_by: who.to_owned(),
        })
    }

    /// Changes a stored destination: `patch` is merged over its keys (a key set to `null` is removed, a
    /// secret left out is kept). `expected`: the version the change was made on; a later save refuses it.
    pub async fn update_destination(
        &self,
        cx: &ChangeContext<'_>,
        name: &str,
        patch: Map<String, Value>,
        expected: Option<i64>,
        who: &str,
    ) -> Result<StoredDestination, ChangeError> {
        let (engine, store) = (cx.engine, cx.store);
        if engine.origin_of(name) == Some(Origin::File) {
            return Err(ChangeError::InFile(name.to_owned()));
        }
        let current = self
            .stored_destination(store, name)
            .await?
            .ok_or_else(|| ChangeError::NotFound(name.to_owned()))?;
        if let Some(Value::String(renamed)) = patch.get("name")
            && renamed != name
        {
            return Err(ChangeError::Invalid(vec![Problem::new(
                "name",
                "a destination's name cannot change (its deliveries and history are kept under it); make a new one and delete this one",
            )]));
        }
        let mut merged = current.long_form.clone();
        if patch
            .get("url")
            .and_then(Value::as_str)
            .is_some_and(|u| crate::config::short_form_type(u).is_some())
        {
            // A new short-form URL says the whole target again: the old target's keys go.
            merged.retain(|k, _| ROUTING_KEYS.contains(&k.as_str()));
        }
        for (key, value) in patch {
            match value {
                Value::Null => {
                    merged.remove(&key);
                }
                value => {
                    merged.insert(key, value);
                }
            }
        }
        let read = self
            .check_destination(cx, Value::Object(merged), Some(name))
            .await?;
        let now = Utc::now();
        let mut row = self.row_of(&read, now, who);
        row.created_at = current.created_at;
        let version = match store.update_stored_destination(&row, expected).await? {
            Saved::Written(version) => version,
            Saved::Missing => return Err(ChangeError::NotFound(name.to_owned())),
            Saved::Stale(current) => {
                return Err(ChangeError::Stale {
                    name: name.to_owned(),
                    expected: expected.unwrap_or_default(),
                    current,
                });
            }
        };
        self.apply(engine, store).await?;
        Ok(StoredDestination {
            spec: read.destination,
            long_form: read.long_form,
            version,
            created_at: current.created_at,
            updated_at: now,
            updated_by: who.to_owned(),
        })
    }

    /// Deletes a stored destination: its pending deliveries end `cancelled` (returned: how many).
    pub async fn delete_destination(
        &self,
        engine: &Engine,
        store: &dyn Store,
        name: &str,
    ) -> Result<u64, ChangeError> {
        if engine.origin_of(name) == Some(Origin::File) {
            return Err(ChangeError::InFile(name.to_owned()));
        }
        let cancelled = store
            .delete_stored_destination(name)
            .await?
            .ok_or_else(|| ChangeError::NotFound(name.to_owned()))?;
        self.apply(engine, store).await?;
        Ok(cancelled)
    }

    pub(super) fn row_of(
        &self,
        read: &ReadDestination,
        now: DateTime<Utc>,
        who: &str,
    ) -> StoredRow {
        let plain = Value::Object(read.long_form.clone()).to_string();
        StoredRow {
            name: read.destination.name.clone(),
            kind: read.destination.kind.as_str().to_owned(),
            sealed_spec: self.secret_box.seal(&plain),
            version: 1,
            created_at: now,
            updated_at: now,
            updated_by: who.to_owned(),
        }
    }
}

/// The keys of a destination that say what it takes and how it is paced, not where it is: kept when a new
/// short-form URL replaces its target.
const ROUTING_KEYS: [&str; 12] = [
    "name",
    "events",
    "sources",
    "filter",
    "template",
    "rate_limit",
    "max_in_flight",
    "retry",
    "expire_after",
    "group_window",
    "quiet_hours",
    "batch",
];

/// The URL the SSRF guard checks for a target: its own when it is a web URL, else `http://` and its host
/// and port (an SMTP server), so that every address is checked the same way.
fn checkable_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => url.to_owned(),
        Ok(u) => match (u.host_str(), u.port()) {
            (Some(host), Some(port)) => format!("http://{host}:{port}/"),
            (Some(host), None) => format!("http://{host}/"),
            _ => url.to_owned(),
        },
        Err(_) => url.to_owned(),
    }
}
