//! Preview: the message a destination would get for an event — a stored one, an app's payload parsed as its
//! source would parse it, or hookarr's `test` event — rendered with its template (or a template text being
//! written) and held to its limits. Nothing is sent or stored.

use super::OperationError;
use crate::event::{Event, EventId};
use crate::outbound::{self, Target, Templates};
use crate::sources::Source;
use crate::storage::Store;
use serde_json::Value;

/// The event a preview renders.
pub enum PreviewEvent<'a> {
    /// A stored event, by id.
    Stored(&'a str),
    /// An app's payload, parsed as `source` parses it.
    Payload { source: &'a Source, body: &'a [u8] },
    /// hookarr's own `test` event.
    Test,
}

/// What a preview gives.
#[derive(Debug)]
pub struct Preview {
    /// The event rendered.
    pub event: Event,
    /// The payload, or what stopped it (a template that does not compile or render, a shape the target
    /// refuses).
    pub payload: Result<Value, String>,
    /// What the target's limits cut from what the template rendered.
    pub warnings: Vec<String>,
}

/// Renders `event` for `target`; `template_text`, when given, replaces its template for this preview only.
pub async fn preview(
    templates: &Templates,
    store: &dyn Store,
    target: &Target,
    template_text: Option<&str>,
    event: PreviewEvent<'_>,
) -> Result<Preview, OperationError> {
    let event = resolve(store, event).await?;
    let mut target = target.clone();
    let extra;
    let templates = match template_text {
        Some(text) => {
            let name = format!("{}/__preview", target.kind.as_str());
            match templates.with_extra(&name, text) {
                Ok(t) => {
                    extra = t;
                    target.template = Some(name);
                    &extra
                }
                Err(problem) => {
                    return Ok(Preview {
                        event,
                        payload: Err(problem.to_string()),
                        warnings: Vec::new(),
                    });
                }
            }
        }
        None => templates,
    };
    let (payload, warnings) = match outbound::render_with_warnings(templates, &target, &event) {
        Ok((payload, warnings)) => (Ok(payload), warnings),
        Err(e) => (Err(e.to_string()), Vec::new()),
    };
    Ok(Preview {
        event,
        payload,
        warnings,
    })
}

async fn resolve(store: &dyn Store, event: PreviewEvent<'_>) -> Result<Event, OperationError> {
    match event {
        PreviewEvent::Stored(id) => {
            let found = match EventId::parse(id) {
                Some(eid) => store.get_event(&eid).await?,
                None => None,
            };
            found.ok_or_else(|| OperationError::no_event(id))
        }
        PreviewEvent::Payload { source, body } => crate::receive::parse_preview(source, body)
            .map_err(|e| OperationError::Invalid {
                field: "payload".into(),
                message: format!("does not parse as a {} payload: {e}", source.app.as_str()),
            }),
        PreviewEvent::Test => Ok(crate::delivery::test_event()),
    }
}
