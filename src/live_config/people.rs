//! People made in the page or the API, beside `hookarr.yaml`'s: checked (a name, a destination that exists),
//! stored, and in force at once — here, and in every process sharing the database within a poll. The file's
//! people are read-only here, as its destinations are.

use super::LiveConfig;
use crate::config::Person;
use crate::delivery::Engine;
use crate::storage::{Store, StoreError};

/// Why a person was not saved or removed.
#[derive(Debug, thiserror::Error)]
pub enum PersonError {
    /// A field that does not pass (its name, and why).
    #[error("{0}: {1}")]
    Invalid(&'static str, String),
    /// A person of `hookarr.yaml`: changed there.
    #[error("`{0}` is a person of hookarr.yaml: change it there")]
    InFile(String),
    #[error("no person `{0}` was added in the page or the API")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The file's people, then the stored ones whose names the file does not use.
pub(super) fn merged(file: &[Person], stored: Vec<Person>) -> Vec<Person> {
    let mut all = file.to_vec();
    for p in stored {
        if all.iter().any(|f| f.name.eq_ignore_ascii_case(&p.name)) {
            tracing::warn!(message = "A stored person has the name of one in hookarr.yaml; the file's is used.", person = %p.name);
            continue;
        }
        all.push(p);
    }
    all
}

impl LiveConfig {
    /// Saves a person (new, or over the stored one), checked; in force when it returns.
    pub async fn save_person(
        &self,
        engine: &Engine,
        store: &dyn Store,
        person: Person,
        by: &str,
    ) -> Result<Person, PersonError> {
        let name = person.name.trim();
        if name.is_empty() || name.chars().count() > 63 {
            return Err(PersonError::Invalid(
                "name",
                "give a name of 1 to 63 characters".into(),
            ));
        }
        if self.in_file(name) {
            return Err(PersonError::InFile(name.to_owned()));
        }
        let notify = person.notify.trim();
        if !engine.destination_names().iter().any(|d| d == notify) {
            return Err(PersonError::Invalid(
                "notify",
                format!("`{notify}` is not a destination; name one of the Destinations page"),
            ));
        }
        let blank = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        let person = Person {
            name: name.to_owned(),
            overseerr: blank(person.overseerr),
            media_user: blank(person.media_user),
            notify: notify.to_owned(),
        };
        store.save_person(&person, chrono::Utc::now(), by).await?;
        self.apply(engine, store).await?;
        Ok(person)
    }

    /// Removes a stored person; in force when it returns.
    pub async fn remove_person(
        &self,
        engine: &Engine,
        store: &dyn Store,
        name: &str,
    ) -> Result<(), PersonError> {
        if self.in_file(name) {
            return Err(PersonError::InFile(name.to_owned()));
        }
        if !store.delete_person(name).await? {
            return Err(PersonError::NotFound(name.to_owned()));
        }
        self.apply(engine, store).await?;
        Ok(())
    }

    /// Whether `hookarr.yaml` has a person of that name.
    pub fn in_file(&self, name: &str) -> bool {
        self.file_config()
            .people
            .iter()
            .any(|p| p.name.eq_ignore_ascii_case(name))
    }
}
