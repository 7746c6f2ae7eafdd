//! Sources made and changed in the page or the API: a new named instance of an app (`radarr-4k`) with a
//! generated token, an allow-list for any source kept in the store, and deleting one that was made there. The
//! built-ins are not deleted, and a source written in hookarr.yaml is changed in the file. Every change is in
//! force here at once, and in the other processes sharing the database at their next look.

use super::{Source, Sources};
use crate::config::{Problem, parse_cidr, valid_name};
use crate::inbound::SourceApp;
use crate::secrets::new_source_token;
use crate::storage::{SourceRow, Store, StoreError};
use std::sync::Arc;

/// Why a change of a source was refused.
#[derive(Debug, thiserror::Error)]
pub enum SourceChangeError {
    /// What was asked does not pass the checks: every problem with its field.
    #[error("the source has {} problem(s)", .0.len())]
    Invalid(Vec<Problem>),
    #[error("source `{0}` lives in hookarr.yaml: change it there")]
    InFile(String),
    #[error(
        "source `{0}` is built in: it cannot be deleted (rotate its token, or set its allow-list)"
    )]
    BuiltIn(String),
    #[error("a source named `{0}` exists already; choose another name")]
    Taken(String),
    #[error("no source is named `{0}`")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A source to make: what the API, the page and `hookarr config import` give.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSource {
    /// Used in its URL: `/hooks/<name>`.
    pub name: String,
    /// Which app sends to it (`radarr`, `sonarr`, `plex`…): how its bodies are read.
    pub app: String,
    /// Its token; left out, a new one is made (the usual way).
    #[serde(default)]
    pub token: Option<String>,
    /// The address ranges it is accepted from (`192.168.1.0/24`); empty or left out: anywhere.
    #[serde(default)]
    pub allow_ips: Vec<String>,
}

/// The allow-list's CIDR ranges, or a problem for each that is not one.
fn checked_allow_ips(allow_ips: &[String], problems: &mut Vec<Problem>) {
    for (i, cidr) in allow_ips.iter().enumerate() {
        if parse_cidr(cidr).is_none() {
            problems.push(Problem::new(
                format!("allow_ips[{i}]"),
                format!("`{cidr}` is not an IP address or CIDR range like 192.168.1.0/24"),
            ));
        }
    }
}

impl Sources {
    /// What stands in the way of a new source (or of replacing one made here, `replacing`): every problem
    /// with its field, or a name in use.
    pub fn check_new(
        &self,
        new: &NewSource,
        replacing: bool,
    ) -> Result<SourceApp, SourceChangeError> {
        let mut problems = Vec::new();
        if !valid_name(&new.name) {
            problems.push(Problem::new(
                "name",
                "use 1–63 lower-case letters, digits, - or _, starting with a letter or digit",
            ));
        }
        let parsed = SourceApp::parse(&new.app);
        if parsed.is_none() {
            let known: Vec<&str> = SourceApp::ALL.iter().map(|a| a.as_str()).collect();
            problems.push(Problem::new(
                "app",
                format!(
                    "`{}` is not an app hookarr reads; one of {}",
                    new.app,
                    known.join(", ")
                ),
            ));
        }
        if new.token.as_ref().is_some_and(|t| t.len() < 8) {
            problems.push(Problem::new(
                "token",
                "too short to be secret; use at least 8 random characters, or leave it out to have one made",
            ));
        }
        checked_allow_ips(&new.allow_ips, &mut problems);
        if let Some(existing) = self.get(&new.name) {
            match (existing.in_file, existing.stored) {
                (true, _) => return Err(SourceChangeError::InFile(new.name.clone())),
                (false, true) if replacing => {}
                _ => return Err(SourceChangeError::Taken(new.name.clone())),
            }
        }
        match parsed.filter(|_| problems.is_empty()) {
            Some(app) => Ok(app),
            None => Err(SourceChangeError::Invalid(problems)),
        }
    }

    /// Makes a source: a named instance of an app with its token (a new one unless given), accepted from
    /// its allow-list (empty: anywhere). `replacing`: one made here of that name is replaced.
    pub async fn create(
        &self,
        store: &dyn Store,
        new: NewSource,
        replacing: bool,
    ) -> Result<Arc<Source>, SourceChangeError> {
        let app = self.check_new(&new, replacing)?;
        if replacing && self.get(&new.name).is_some_and(|s| s.stored) {
            store.delete_stored_source(&new.name).await?;
        }
        let token = new.token.unwrap_or_else(new_source_token);
        let row = SourceRow {
            name: new.name.clone(),
            app: app.as_str().to_owned(),
            token: self.secret_box.seal(&token),
            allow_ips: new.allow_ips,
            stored: true,
        };
        store
            .create_stored_source(&row)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => SourceChangeError::Taken(new.name.clone()),
                other => SourceChangeError::Store(other),
            })?;
        self.reload(store).await?;
        self.get(&new.name)
            .ok_or_else(|| SourceChangeError::NotFound(new.name.clone()))
    }

    /// Sets the allow-list of a source kept in the store (a built-in or one made here).
    pub async fn set_allow_ips(
        &self,
        store: &dyn Store,
        name: &str,
        allow_ips: Vec<String>,
    ) -> Result<Arc<Source>, SourceChangeError> {
        let source = self
            .get(name)
            .ok_or_else(|| SourceChangeError::NotFound(name.to_owned()))?;
        if source.in_file {
            return Err(SourceChangeError::InFile(name.to_owned()));
        }
        let mut problems = Vec::new();
        checked_allow_ips(&allow_ips, &mut problems);
        if !problems.is_empty() {
            return Err(SourceChangeError::Invalid(problems));
        }
        if !store.set_source_allow_ips(name, &allow_ips).await? {
            return Err(SourceChangeError::NotFound(name.to_owned()));
        }
        self.reload(store).await?;
        self.get(name)
            .ok_or_else(|| SourceChangeError::NotFound(name.to_owned()))
    }

    /// Deletes a source made in the page or the API. Its events stay; requests to it are answered `404`.
    pub async fn delete(&self, store: &dyn Store, name: &str) -> Result<(), SourceChangeError> {
        let source = self
            .get(name)
            .ok_or_else(|| SourceChangeError::NotFound(name.to_owned()))?;
        if source.in_file {
            return Err(SourceChangeError::InFile(name.to_owned()));
        }
        if !source.stored {
            return Err(SourceChangeError::BuiltIn(name.to_owned()));
        }
        if !store.delete_stored_source(name).await? {
            return Err(SourceChangeError::NotFound(name.to_owned()));
        }
        self.reload(store).await?;
        Ok(())
    }
}
