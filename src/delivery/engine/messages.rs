//! Message lifecycle: the id of the message a grab posted (Discord, Telegram) is kept, so the import of the
//! same download can edit that message instead of posting a new one.

use super::{DestinationRuntime, Engine};
use crate::delivery::send::Sent;
use crate::event::{Event, EventKind};
use chrono::{DateTime, Utc};

impl Engine {
    /// Keeps the id of the Discord message a grab posted (from the `?wait=true` answer).
    pub(super) async fn remember_message(
        &self,
        destination: &str,
        download: &str,
        sent: &Sent,
        at: DateTime<Utc>,
    ) {
        let kind = self
            .destination(destination)
            .map(|d| d.target.kind.target());
        let message = kind.and_then(|k| k.posted_message(&sent.body));
        if let Some(message) = message
            && let Err(error) = self
                .store
                .remember_message(destination, download, &message, at)
                .await
        {
            error.log("Saving a posted message id failed.");
        }
    }

    /// The Discord message the grab of `download` posted to a destination, if one was kept. A failed read
    /// is not fatal: the import is posted as a new message.
    pub(super) async fn message_for(&self, destination: &str, download: &str) -> Option<String> {
        self.store
            .message_for(destination, download)
            .await
            .unwrap_or_else(|error| {
                error.log("Reading a posted message id failed; posting instead.");
                None
            })
    }

    /// Whether a Discord destination that edits messages takes part in the lifecycle for this event.
    pub(super) fn edits(
        &self,
        dest: &DestinationRuntime,
        event: &Event,
        kinds: &[EventKind],
    ) -> bool {
        dest.target.kind.target().edits_messages()
            && dest.target.edit_messages
            && kinds.contains(&event.event)
    }
}
