//! A set-up made in the page, as code and back: `hookarr config export` prints the stored destinations as
//! the `destinations:` of a `hookarr.yaml` (which takes it as it is), and `hookarr config import FILE` stores
//! the destinations of such a file — every one checked first, and none stored unless all pass.

use super::LiveConfig;
use super::stored::{ChangeContext, ChangeError};
use crate::config::Problem;
use crate::storage::{StoreError, StoredRow};
use chrono::Utc;
use serde_json::Value;

/// What an import stored.
#[derive(Debug, Default)]
pub struct Imported {
    pub added: Vec<String>,
    pub replaced: Vec<String>,
}

impl LiveConfig {
    /// The stored destinations as the YAML of `hookarr.yaml` (name and type first), secrets in clear.
    pub async fn export(&self, store: &dyn crate::storage::Store) -> Result<String, StoreError> {
        let stored = self.read_stored(store).await?;
        let mut out = format!(
            "# hookarr config export: the {} destination(s) stored in the database, as hookarr.yaml takes them.\n\
             # It holds their secrets in clear: keep it as you keep hookarr.yaml, or move them to environment variables.\n",
            stored.len()
        );
        let items: Vec<serde_norway::Mapping> = stored
            .iter()
            .map(|d| {
                let mut ordered = serde_norway::Mapping::new();
                let keys = ["name", "type"].into_iter().chain(
                    d.long_form
                        .keys()
                        .map(String::as_str)
                        .filter(|k| !matches!(*k, "name" | "type")),
                );
                for key in keys {
                    if let Some(value) = d.long_form.get(key) {
                        let value = serde_norway::to_value(value).expect("JSON is YAML");
                        ordered.insert(key.into(), value);
                    }
                }
                ordered
            })
            .collect();
        let mut root = serde_norway::Mapping::new();
        root.insert(
            "destinations".into(),
            serde_norway::to_value(items).expect("YAML serializes"),
        );
        out.push_str(&serde_norway::to_string(&root).expect("YAML serializes"));
        Ok(out)
    }

    /// Stores the destinations of a `hookarr.yaml`-shaped text: new names are added, stored ones replaced;
    /// a name of the file in force, or any problem, stores nothing. Every problem is returned, each with its
    /// path (`destinations[1].url`).
    pub async fn import(
        &self,
        cx: &ChangeContext<'_>,
        text: &str,
        who: &str,
    ) -> Result<Imported, Vec<Problem>> {
        let root: Value = serde_norway::from_str(text)
            .map_err(|e| vec![Problem::new("(yaml)", format!("not valid YAML: {e}"))])?;
        let Some(Value::Array(items)) = root.get("destinations") else {
            return Err(vec![Problem::new(
                "destinations",
                "missing: the file must have a `destinations:` list (what `hookarr config export` prints)",
            )]);
        };
        let stored = self
            .read_stored(cx.store)
            .await
            .map_err(|e| vec![Problem::new("(database)", e.to_string())])?;
        let mut problems = Vec::new();
        let mut checked = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (i, item) in items.iter().enumerate() {
            let at = |p: Problem| Problem::new(format!("destinations[{i}].{}", p.path), p.message);
            let name = item.get("name").and_then(Value::as_str).unwrap_or_default();
            let existing = stored.iter().find(|d| d.spec.name == name);
            if !name.is_empty() && !seen.insert(name.to_owned()) {
                problems.push(Problem::new(
                    format!("destinations[{i}].name"),
                    format!("`{name}` is in the file twice"),
                ));
                continue;
            }
            match self
                .check_destination(cx, item.clone(), existing.map(|_| name))
                .await
            {
                Ok(read) => checked.push((read, existing.map(|d| d.created_at))),
                Err(ChangeError::Invalid(found)) => problems.extend(found.into_iter().map(at)),
                Err(other) => problems.push(Problem::new(
                    format!("destinations[{i}].name"),
                    other.to_string(),
                )),
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let now = Utc::now();
        let mut imported = Imported::default();
        for (read, created_at) in checked {
            let mut row: StoredRow = self.row_of(&read, now, who);
            let store_error = |e: StoreError| vec![Problem::new("(database)", e.to_string())];
            match created_at {
                Some(created_at) => {
                    row.created_at = created_at;
                    cx.store
                        .update_stored_destination(&row, None)
                        .await
                        .map_err(store_error)?;
                    imported.replaced.push(row.name);
                }
                None => {
                    cx.store
                        .insert_stored_destination(&row)
                        .await
                        .map_err(store_error)?;
                    imported.added.push(row.name);
                }
            }
        }
        self.apply(cx.engine, cx.store)
            .await
            .map_err(|e| vec![Problem::new("(database)", e.to_string())])?;
        Ok(imported)
    }
}
