//! Templates saved in the studio or the API: a template is checked by compiling it and rendering it, for
//! its type, against a sample payload of every app and the test event (any problem: nothing saved), stored
//! with its history, and in force at once over the file's or the built-in one of its name; removing it
//! brings that one back.

use super::LiveConfig;
use crate::config::DestinationType;
use crate::delivery::Engine;
use crate::operations::PreviewEvent;
use crate::outbound::templates::samples::SAMPLES;
use crate::outbound::{Target, TemplateProblem, Templates};
use crate::sources::Sources;
use crate::storage::{Store, StoreError, StoredTemplate};
use chrono::Utc;
use std::sync::Arc;

/// Why a template change was refused.
#[derive(Debug, thiserror::Error)]
pub enum TemplateChangeError {
    /// The name is not `<type>/<name>` of a known type and a plain name.
    #[error("{0}")]
    BadName(String),
    /// It does not compile or render: every problem (a compile error with its line).
    #[error("the template has {} problem(s)", .0.len())]
    Invalid(Vec<TemplateProblem>),
    /// There is no stored template of that name to remove.
    #[error(
        "no stored template `{0}` (the file's and the built-in ones are changed in their files)"
    )]
    NotStored(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl LiveConfig {
    /// The stored templates as `(name, text)`.
    pub(super) async fn stored_template_texts(
        &self,
        store: &dyn Store,
    ) -> Result<Vec<(String, String)>, StoreError> {
        Ok(store
            .stored_templates()
            .await?
            .into_iter()
            .map(|t| (t.name, t.body))
            .collect())
    }

    /// The file's templates with the stored ones over them (one that no longer compiles is left out, logged).
    pub(super) async fn templates_with_stored(
        &self,
        store: &dyn Store,
    ) -> Result<Arc<Templates>, StoreError> {
        let stored = self.stored_template_texts(store).await?;
        let base = self.base_templates.read().expect("templates lock").clone();
        if stored.is_empty() {
            return Ok(base);
        }
        let (templates, problems) = base.with_stored(&stored);
        for problem in problems {
            tracing::error!(message = "A stored template does not compile; the file's or built-in one is used.", %problem);
        }
        Ok(Arc::new(templates))
    }

    /// Checks `text` as template `name` of type `kind`: it compiles, and renders for every sample payload
    /// and the test event.
    pub async fn check_template(
        &self,
        store: &dyn Store,
        sources: &Sources,
        name: &str,
        text: &str,
    ) -> Result<(), TemplateChangeError> {
        let kind = kind_of(name)?;
        let base = self.base_templates.read().expect("templates lock").clone();
        base.with_extra(name, text)
            .map_err(|p| TemplateChangeError::Invalid(vec![p]))?;
        let target = sample_target(kind, name);
        let mut problems = Vec::new();
        let samples: Vec<_> = SAMPLES
            .iter()
            .filter_map(|s| Some((s.label, sources.get(s.source)?, s.payload.as_bytes())))
            .collect();
        let events = samples
            .iter()
            .map(|(label, source, body)| {
                let event = PreviewEvent::Payload {
                    source: source.as_ref(),
                    body,
                };
                (*label, event)
            })
            .chain([("the test event", PreviewEvent::Test)]);
        for (label, event) in events {
            let preview =
                crate::operations::preview(&base, store, &target, Some(text), event).await;
            let failure = match preview {
                Ok(p) => p.payload.err(),
                // A sample this version cannot parse is no fault of the template.
                Err(_) => None,
            };
            if let Some(message) = failure {
                problems.push(TemplateProblem {
                    file: name.to_owned(),
                    line: None,
                    message: format!("rendering {label}: {message}"),
                });
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(TemplateChangeError::Invalid(problems))
        }
    }

    /// Checks and stores a template, and puts it in force.
    pub async fn save_template(
        &self,
        engine: &Engine,
        store: &dyn Store,
        sources: &Sources,
        name: &str,
        text: &str,
        who: &str,
    ) -> Result<(), TemplateChangeError> {
        self.check_template(store, sources, name, text).await?;
        let template = StoredTemplate {
            name: name.to_owned(),
            body: text.to_owned(),
            updated_at: Utc::now(),
            updated_by: who.to_owned(),
        };
        store.save_template(&template).await?;
        self.apply(engine, store).await?;
        Ok(())
    }

    /// Removes a stored template: the file's or the built-in one of its name is used again.
    pub async fn remove_template(
        &self,
        engine: &Engine,
        store: &dyn Store,
        name: &str,
        who: &str,
    ) -> Result<(), TemplateChangeError> {
        // A name no template can have names no stored one either.
        if kind_of(name).is_err() || !store.remove_template(name, Utc::now(), who).await? {
            return Err(TemplateChangeError::NotStored(name.to_owned()));
        }
        self.apply(engine, store).await?;
        Ok(())
    }

    /// The templates of the file in force, without the stored ones.
    pub fn base_templates(&self) -> Arc<Templates> {
        self.base_templates.read().expect("templates lock").clone()
    }
}

/// The type of template `name` (`discord/my-movies` → discord), or why the name is refused.
pub fn kind_of(name: &str) -> Result<DestinationType, TemplateChangeError> {
    let bad = || {
        TemplateChangeError::BadName(format!(
            "`{name}` is not a template name: <type>/<name>, the type one of {}, the name of lower-case letters, digits, -, _ and .",
            DestinationType::ALL.map(|t| t.as_str()).join(", ")
        ))
    };
    let (kind, rest) = name.split_once('/').ok_or_else(bad)?;
    let kind = DestinationType::ALL
        .into_iter()
        .find(|t| t.as_str() == kind)
        .ok_or_else(bad)?;
    let plain = !rest.is_empty()
        && rest.len() <= 63
        && !rest.starts_with('.')
        && rest.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
        });
    if plain { Ok(kind) } else { Err(bad()) }
}

/// A destination of type `kind` that renders with template `name`, for checks (it is never sent to).
fn sample_target(kind: DestinationType, name: &str) -> Target {
    let spec = serde_json::json!({
        "name": "template-check",
        "type": kind.as_str(),
        "url": "http://127.0.0.1/template-check",
        "template": name,
    });
    let d: crate::config::Destination =
        serde_json::from_value(spec).expect("a destination of any type with a url reads");
    Target::from_config(&d, None)
}
