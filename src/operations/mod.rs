//! What an operator does to the delivery pipeline, for the API and the command line alike: preview a
//! destination's message, send it a test, replay an event, and read how each destination is doing. Neither
//! HTTP nor a terminal is known here; each caller shows the results in its own way.

pub mod alert_scope;
pub mod audit;
mod destinations;
pub mod events;
pub mod hub_controls;
mod preview;
mod replay;
pub mod stats;
mod webhook_fields;
pub mod webhooks;

pub use destinations::{DeliveryCounts, DestinationSummary, summaries};
pub use preview::{Preview, PreviewEvent, preview};
pub use replay::{delivered_to, plan as plan_replay, replay};
pub use webhook_fields::{is_credential_header, secret_or_new};

use crate::delivery::{Engine, Sent};
use crate::storage::StoreError;

/// Why an operation could not be done.
#[derive(Debug, thiserror::Error)]
pub enum OperationError {
    /// What it names does not exist (an event, a destination, a source).
    #[error("{0}")]
    NotFound(String),
    /// One of its inputs is wrong: `field` names it.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// A limit would be passed (`api.max_webhooks_per_user`).
    #[error("{0}")]
    LimitReached(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl OperationError {
    /// A wrong input, `field` naming it.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> OperationError {
        OperationError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// A name that is not one of the config's destinations.
    pub fn no_destination(name: &str) -> OperationError {
        OperationError::NotFound(format!("no destination named `{name}` in the config"))
    }

    fn no_event(id: &str) -> OperationError {
        OperationError::NotFound(format!("no event has the id `{id}`"))
    }
}

/// Sends a `test` event to a destination now, outside the queue; nothing is stored.
pub async fn send_test(engine: &Engine, destination: &str) -> Result<Sent, OperationError> {
    if engine.target(destination).is_none() {
        return Err(OperationError::no_destination(destination));
    }
    engine
        .send_now(destination, &crate::delivery::test_event())
        .await
        .map_err(|e| OperationError::Invalid {
            field: "template".into(),
            message: e.to_string(),
        })
}
