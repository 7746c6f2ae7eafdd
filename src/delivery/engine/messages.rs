//! Message lifecycle: the id of the message that opened a thread (Discord, Telegram) is kept, so later events of
//! the same thread edit that message instead of posting new ones — a grab's import edits the grab's message, a
//! request's approval and availability edit the request's card.

use super::{DestinationRuntime, Engine};
use crate::delivery::send::Sent;
use crate::event::{Event, EventKind};
use chrono::{DateTime, Utc};

/// The message an event belongs to, for destinations that edit messages.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Thread {
    /// What the kept message id is filed under: the download id, or `request:<source>:<request id>`.
    pub key: String,
    /// The event edits the thread's message when one was kept.
    pub edits: bool,
    /// The event's message is kept for the thread when it posted a new one.
    pub opens: bool,
}

/// The thread of an event: a download (its grab opens, its import edits) or a request (each notification edits
/// the card the first one posted, or posts and keeps it).
pub(super) fn thread_of(event: &Event) -> Option<Thread> {
    let download = || event.data.download.as_ref()?.id.clone();
    match event.event {
        EventKind::DownloadGrabbed => Some(Thread {
            key: download()?,
            edits: false,
            opens: true,
        }),
        EventKind::LibraryNew | EventKind::LibraryUpgraded => Some(Thread {
            key: download()?,
            edits: true,
            opens: false,
        }),
        EventKind::RequestPending
        | EventKind::RequestApproved
        | EventKind::RequestDeclined
        | EventKind::RequestAvailable
        | EventKind::RequestFailed => {
            let id = event.data.request.as_ref()?.id?;
            Some(Thread {
                key: format!("request:{}:{id}", event.source.name),
                edits: true,
                opens: true,
            })
        }
        _ => None,
    }
}

/// A story's message: every step edits the message its first step posted (or posts and keeps it).
pub(super) fn story_thread(story: &str) -> Thread {
    Thread {
        key: format!("{}{story}", crate::stories::STORY_PREFIX),
        edits: true,
        opens: true,
    }
}

impl Engine {
    /// Keeps the id of the message that opened a thread (from the `?wait=true` answer).
    pub(super) async fn remember_message(
        &self,
        destination: &str,
        thread: &str,
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
                .remember_message(destination, thread, &message, at)
                .await
        {
            error.log("Saving a posted message id failed.");
        }
    }

    /// The message that opened `thread` at a destination, if one was kept. A failed read is not fatal: the
    /// event is posted as a new message.
    pub(super) async fn message_for(&self, destination: &str, thread: &str) -> Option<String> {
        self.store
            .message_for(destination, thread)
            .await
            .unwrap_or_else(|error| {
                error.log("Reading a posted message id failed; posting instead.");
                None
            })
    }

    /// Marks the thread a claimed delivery opens (a grab's download) as in flight, when its destination edits
    /// messages: an edit claimed meanwhile waits for it ([`super::openers`]).
    pub(super) fn opening_of(&self, c: &super::Claimed) -> Option<super::openers::Opening> {
        // A story's first step posts its message; a later step claimed meanwhile waits for it.
        if let Some(key) = c
            .group_key
            .as_deref()
            .filter(|k| k.starts_with(crate::stories::STORY_PREFIX))
        {
            return (!self.openers.in_flight(&c.destination, key))
                .then(|| self.openers.opening(&c.destination, key, &c.id));
        }
        let thread = thread_of(&c.event).filter(|t| t.opens && !t.edits)?;
        let dest = self.destination(&c.destination)?;
        self.edits_messages(&dest)
            .then(|| self.openers.opening(&c.destination, &thread.key, &c.id))
    }

    /// The message to edit for `thread` at a destination: the one kept, or — when its opening message is
    /// on its way right now — the one it posts, once it has (waiting at most a third of this delivery's own
    /// lease, so that the wait never outlives the claim).
    pub(super) async fn message_to_edit(
        &self,
        destination: &str,
        thread: &str,
        asking: &str,
    ) -> Option<String> {
        if let Some(kept) = self.message_for(destination, thread).await {
            return Some(kept);
        }
        let limit = self.lease / 3;
        match self
            .openers
            .wait_for(destination, thread, asking, limit)
            .await
        {
            true => self.message_for(destination, thread).await,
            false => None,
        }
    }

    /// Whether a destination takes part in message threads: its type edits messages and its config lets it.
    pub(super) fn edits_messages(&self, dest: &DestinationRuntime) -> bool {
        dest.target.kind.target().edits_messages() && dest.target.edit_messages
    }
}
