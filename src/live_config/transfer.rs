//! A set-up made in the page, as code and back: `hookarr config export` prints the stored destinations, the
//! sources and the people added in the page as the `destinations:`, `sources:` and `people:` of a
//! `hookarr.yaml` (which takes it as it is), and `hookarr config import FILE` stores those of such a file —
//! every one checked first, and none stored unless all pass.

use super::LiveConfig;
use super::stored::{ChangeContext, ChangeError};
use crate::config::Problem;
use crate::sources::{NewSource, Source, SourceChangeError, Sources};
use crate::storage::{StoreError, StoredRow};
use chrono::Utc;
use serde_json::Value;
use std::sync::Arc;

/// What an import stored.
#[derive(Debug, Default)]
pub struct Imported {
    /// Destinations added and replaced.
    pub added: Vec<String>,
    pub replaced: Vec<String>,
    /// Sources added (or replaced).
    pub sources: Vec<String>,
    /// People added (or replaced).
    pub people: Vec<String>,
}

impl LiveConfig {
    /// The stored destinations (name and type first) and the sources added in the page as the YAML of
    /// `hookarr.yaml`, secrets in clear.
    pub async fn export(
        &self,
        store: &dyn crate::storage::Store,
        sources: &[Arc<Source>],
    ) -> Result<String, StoreError> {
        let stored = self.read_stored(store).await?;
        let added: Vec<&Arc<Source>> = sources.iter().filter(|s| s.stored).collect();
        let people = store.stored_people().await?;
        let mut out = format!(
            "# hookarr config export: the {} destination(s) and {} source(s) made in the page, as hookarr.yaml takes them.\n\
             # It holds their secrets in clear: keep it as you keep hookarr.yaml, or move them to environment variables.\n",
            stored.len(),
            added.len()
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
        if !added.is_empty() {
            let sources: Vec<serde_norway::Mapping> = added
                .iter()
                .map(|s| {
                    let mut entry = serde_norway::Mapping::new();
                    entry.insert("name".into(), s.name.clone().into());
                    entry.insert("app".into(), s.app.as_str().into());
                    if let Some(token) = &s.token {
                        entry.insert("token".into(), token.clone().into());
                    }
                    if !s.allow_ips.is_empty() {
                        let list: Vec<String> =
                            s.allow_ips.iter().map(ToString::to_string).collect();
                        entry.insert(
                            "allow_ips".into(),
                            serde_norway::to_value(list).expect("YAML"),
                        );
                    }
                    entry
                })
                .collect();
            root.insert(
                "sources".into(),
                serde_norway::to_value(sources).expect("YAML serializes"),
            );
        }
        root.insert(
            "destinations".into(),
            serde_norway::to_value(items).expect("YAML serializes"),
        );
        if !people.is_empty() {
            root.insert(
                "people".into(),
                serde_norway::to_value(&people).expect("YAML serializes"),
            );
        }
        out.push_str(&serde_norway::to_string(&root).expect("YAML serializes"));
        Ok(out)
    }

    /// Stores the destinations of a `hookarr.yaml`-shaped text: new names are added, stored ones replaced;
    /// a name of the file in force, or any problem, stores nothing. Every problem is returned, each with its
    /// path (`destinations[1].url`).
    pub async fn import(
        &self,
        cx: &ChangeContext<'_>,
        sources: &Sources,
        text: &str,
        who: &str,
    ) -> Result<Imported, Vec<Problem>> {
        let root: Value = serde_norway::from_str(text)
            .map_err(|e| vec![Problem::new("(yaml)", format!("not valid YAML: {e}"))])?;
        let empty = Vec::new();
        let items = match root.get("destinations") {
            Some(Value::Array(items)) => items,
            None | Some(Value::Null)
                if root.get("sources").is_some() || root.get("people").is_some() =>
            {
                &empty
            }
            _ => {
                return Err(vec![Problem::new(
                    "destinations",
                    "missing: the file must have a `destinations:` (or `sources:`) list, as `hookarr config export` prints",
                )]);
            }
        };
        let (new_sources, mut problems) = checked_sources(sources, root.get("sources"));
        let stored = self
            .read_stored(cx.store)
            .await
            .map_err(|e| vec![Problem::new("(database)", e.to_string())])?;
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
        let names: Vec<&str> = checked
            .iter()
            .map(|(r, _)| r.destination.name.as_str())
            .collect();
        let people = self.checked_people(cx, root.get("people"), &names, &mut problems);
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
        for new in new_sources {
            let name = new.name.clone();
            sources
                .create(cx.store, new, true)
                .await
                .map_err(|e| vec![Problem::new(format!("sources: {name}"), e.to_string())])?;
            imported.sources.push(name);
        }
        for person in people {
            cx.store
                .save_person(&person, now, who)
                .await
                .map_err(|e| vec![Problem::new("(database)", e.to_string())])?;
            imported.people.push(person.name);
        }
        self.apply(cx.engine, cx.store)
            .await
            .map_err(|e| vec![Problem::new("(database)", e.to_string())])?;
        Ok(imported)
    }

    /// The `people:` of an imported file, each checked as one added in the page: a name the file in force
    /// does not use, told at a destination in force or imported with it.
    fn checked_people(
        &self,
        cx: &ChangeContext<'_>,
        list: Option<&Value>,
        imported: &[&str],
        problems: &mut Vec<Problem>,
    ) -> Vec<crate::config::Person> {
        let items = match list {
            None | Some(Value::Null) => return Vec::new(),
            Some(Value::Array(items)) => items,
            Some(_) => {
                problems.push(Problem::new("people", "must be a list"));
                return Vec::new();
            }
        };
        let known = cx.engine.destination_names();
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let person: crate::config::Person = match serde_json::from_value(item.clone()) {
                Ok(p) => p,
                Err(e) => {
                    problems.push(Problem::new(format!("people[{i}]"), e.to_string()));
                    continue;
                }
            };
            if person.name.trim().is_empty() {
                problems.push(Problem::new(
                    format!("people[{i}].name"),
                    "a person needs a name",
                ));
            } else if self.in_file(&person.name) {
                problems.push(Problem::new(
                    format!("people[{i}].name"),
                    format!("`{}` is a person of hookarr.yaml", person.name),
                ));
            }
            if !known.contains(&person.notify) && !imported.contains(&person.notify.as_str()) {
                problems.push(Problem::new(
                    format!("people[{i}].notify"),
                    format!("`{}` is not a destination", person.notify),
                ));
            }
            out.push(person);
        }
        out
    }
}

/// The `sources:` of an imported file, each checked like one added in the page (one added before of that
/// name is replaced); every problem with its path (`sources[0].app`).
fn checked_sources(sources: &Sources, list: Option<&Value>) -> (Vec<NewSource>, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut checked = Vec::new();
    let items = match list {
        None | Some(Value::Null) => return (checked, problems),
        Some(Value::Array(items)) => items,
        Some(_) => {
            problems.push(Problem::new("sources", "must be a list"));
            return (checked, problems);
        }
    };
    for (i, item) in items.iter().enumerate() {
        let new: NewSource = match serde_json::from_value(item.clone()) {
            Ok(new) => new,
            Err(e) => {
                problems.push(Problem::new(format!("sources[{i}]"), e.to_string()));
                continue;
            }
        };
        match sources.check_new(&new, true) {
            Ok(_) => checked.push(new),
            Err(SourceChangeError::Invalid(found)) => problems.extend(
                found
                    .into_iter()
                    .map(|p| Problem::new(format!("sources[{i}].{}", p.path), p.message)),
            ),
            Err(other) => problems.push(Problem::new(
                format!("sources[{i}].name"),
                other.to_string(),
            )),
        }
    }
    (checked, problems)
}
