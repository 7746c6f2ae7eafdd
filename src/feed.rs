//! Every event as it is routed, for whoever follows live (the SSE stream): a bounded broadcast in this
//! process, fed by its router after each routing commit and, when several processes share PostgreSQL, by
//! the others' announcements (`NOTIFY`), which name the events they routed. A follower that falls more than
//! [`FEED_CAPACITY`] events behind loses its place (and is told so) instead of holding memory.

use crate::event::{Event, EventId};
use std::sync::Arc;
use tokio::sync::broadcast;

/// How far a follower may fall behind the newest event before it is cut off.
pub const FEED_CAPACITY: usize = 1024;

/// The most bytes of ids one announcement carries (PostgreSQL's payload limit is 8000).
const ANNOUNCEMENT_BYTES: usize = 7000;

/// What an announcement of changed stories says after its origin.
const STORIES: &str = "stories ";
/// What an announcement that a destination was disabled, enabled or paused says after its origin.
const DESTINATIONS: &str = "destinations";
const STORED: &str = "stored";

/// The live feed of routed events.
pub struct Feed {
    tx: broadcast::Sender<Arc<Event>>,
    /// The ids of stories a joining pass of this process changed.
    stories: broadcast::Sender<Arc<Vec<String>>>,
    /// This process, so that it skips its own announcements.
    origin: String,
}

impl Feed {
    pub fn new(origin: &str) -> Feed {
        let (tx, _) = broadcast::channel(FEED_CAPACITY);
        let (stories, _) = broadcast::channel(FEED_CAPACITY);
        Feed {
            tx,
            stories,
            origin: origin.to_owned(),
        }
    }

    /// Follows the events routed from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }

    /// Follows the stories changed from now on (by this process's joining passes).
    pub fn subscribe_stories(&self) -> broadcast::Receiver<Arc<Vec<String>>> {
        self.stories.subscribe()
    }

    /// Tells followers which stories a pass changed.
    pub fn publish_stories(&self, ids: &[String]) {
        if self.stories.receiver_count() > 0 {
            let _ = self.stories.send(Arc::new(ids.to_vec()));
        }
    }

    /// Whether anyone in this process follows (else routed events are not copied for the feed).
    pub fn has_followers(&self) -> bool {
        self.tx.receiver_count() > 0
    }

    pub fn publish(&self, events: impl IntoIterator<Item = Event>) {
        for event in events {
            // No follower is not an error: the event is simply not wanted live.
            let _ = self.tx.send(Arc::new(event));
        }
    }

    /// The announcements naming routed events: `<origin> <id>,<id>…`, split to fit a `NOTIFY` payload.
    pub fn announcements(&self, ids: &[EventId]) -> Vec<String> {
        let mut out = Vec::new();
        let mut current = String::new();
        for id in ids {
            if !current.is_empty() && current.len() + id.as_str().len() + 1 > ANNOUNCEMENT_BYTES {
                out.push(format!("{} {current}", self.origin));
                current.clear();
            }
            if !current.is_empty() {
                current.push(',');
            }
            current.push_str(id.as_str());
        }
        if !current.is_empty() {
            out.push(format!("{} {current}", self.origin));
        }
        out
    }

    /// The ids another process announced; `None` for this process's own announcement or a foreign one.
    pub fn announced_ids(&self, payload: &str) -> Option<Vec<EventId>> {
        let (origin, ids) = payload.split_once(' ')?;
        if origin == self.origin || ids.starts_with(STORIES) || ids == DESTINATIONS || ids == STORED
        {
            return None;
        }
        Some(ids.split(',').filter_map(EventId::parse).collect())
    }

    /// The announcements naming stories a pass changed: `<origin> stories <id>,<id>…`.
    pub fn story_announcements(&self, ids: &[String]) -> Vec<String> {
        ids.chunks(ANNOUNCEMENT_BYTES / 32)
            .map(|chunk| format!("{} {STORIES}{}", self.origin, chunk.join(",")))
            .collect()
    }

    /// The announcement that this process disabled, enabled or paused a destination: `<origin> destinations`.
    pub fn destinations_announcement(&self) -> String {
        format!("{} {DESTINATIONS}", self.origin)
    }

    /// The announcement that this process stored events for the others to route: `<origin> stored`.
    pub fn stored_announcement(&self) -> String {
        format!("{} {STORED}", self.origin)
    }

    /// Whether another process (an `api` one) announced that it stored events.
    pub fn announced_stored(&self, payload: &str) -> bool {
        payload
            .split_once(' ')
            .is_some_and(|(origin, rest)| origin != self.origin && rest == STORED)
    }

    /// Whether another process announced that a destination's state changed.
    pub fn announced_destinations(&self, payload: &str) -> bool {
        payload
            .split_once(' ')
            .is_some_and(|(origin, rest)| origin != self.origin && rest == DESTINATIONS)
    }

    /// The stories another process's pass changed; `None` for anything else.
    pub fn announced_stories(&self, payload: &str) -> Option<Vec<String>> {
        let (origin, rest) = payload.split_once(' ')?;
        let ids = rest.strip_prefix(STORIES)?;
        (origin != self.origin).then(|| ids.split(',').map(str::to_owned).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_fit_a_notify_payload_and_skip_their_own_process() {
        let here = Feed::new("wrk_a");
        let there = Feed::new("wrk_b");
        let ids: Vec<EventId> = (0..500).map(|_| EventId::new()).collect();
        let said = here.announcements(&ids);
        assert!(said.len() > 1, "500 ids do not fit one payload");
        assert!(said.iter().all(|p| p.len() <= ANNOUNCEMENT_BYTES + 10));
        assert!(said.iter().all(|p| here.announced_ids(p).is_none()));
        let heard: Vec<EventId> = said
            .iter()
            .flat_map(|p| there.announced_ids(p).unwrap())
            .collect();
        assert_eq!(heard, ids);
        assert!(here.announcements(&[]).is_empty());
        let changed = here.destinations_announcement();
        assert!(there.announced_destinations(&changed));
        assert!(!here.announced_destinations(&changed), "not its own");
        assert!(there.announced_ids(&changed).is_none());
        let stories: Vec<String> = (0..500).map(|i| format!("sty_{i:020}")).collect();
        let said = here.story_announcements(&stories);
        assert!(said.iter().all(|p| p.len() <= 8000));
        assert!(
            said.iter().all(|p| there.announced_ids(p).is_none()),
            "no events in them"
        );
        assert!(said.iter().all(|p| here.announced_stories(p).is_none()));
        let heard: Vec<String> = said
            .iter()
            .flat_map(|p| there.announced_stories(p).unwrap())
            .collect();
        assert_eq!(heard, stories);
    }
}
