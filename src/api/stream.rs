//! `GET /api/events/stream` (CONTRACT §7): events as Server-Sent Events — `id:` the event id, `event:` its
//! name, `data:` its envelope — filtered by `events` globs and `sources`. With `Last-Event-ID` the events
//! after that one are replayed from the store first, then live ones follow: the live feed is joined before
//! the replay starts and an event seen in both is sent once, so the seam has no gap and no duplicate.
//! `: keepalive` every 15 s; a client more than [`crate::feed::FEED_CAPACITY`] events behind is told why
//! and cut (it resumes with `Last-Event-ID`); each user may hold a few streams at once.

use super::auth::Caller;
use super::{ApiError, AppState};
use crate::connection::ClientGone;
use crate::event::{Event, EventId, EventKind, glob_matches};
use crate::operations::alert_scope::Alerts;
use crate::storage::Store;
use axum::Extension;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::Stream;
use serde::Deserialize;
use std::collections::{HashMap, HashSet, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;

/// The stream's message when stories move (not an event: it has no id to resume from).
const STORY_CHANGED: &str = "story.changed";

/// How many streams one user may hold open at once.
pub const STREAMS_PER_USER: usize = 5;
/// Events read from the store per page of a replay.
const REPLAY_PAGE: u32 = 500;
/// How many sent ids a stream remembers to skip repeats at the seam of replay and live.
const SEEN_KEPT: usize = 4 * crate::feed::FEED_CAPACITY;

/// Open streams per user.
#[derive(Debug, Default)]
pub struct StreamSlots {
    per_user: Mutex<HashMap<String, usize>>,
}

/// One open stream's place; given back when the stream ends (its response body is dropped).
struct Slot {
    slots: Arc<StreamSlots>,
    user: String,
}

impl StreamSlots {
    fn take(self: &Arc<Self>, user: &str) -> Option<Slot> {
        let mut per_user = self.per_user.lock().expect("stream slots lock");
        let open = per_user.entry(user.to_owned()).or_default();
        if *open >= STREAMS_PER_USER {
            return None;
        }
        *open += 1;
        Some(Slot {
            slots: self.clone(),
            user: user.to_owned(),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut per_user = self.slots.per_user.lock().expect("stream slots lock");
        if let Some(open) = per_user.get_mut(&self.user) {
            *open = open.saturating_sub(1);
            if *open == 0 {
                per_user.remove(&self.user);
            }
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct StreamParams {
    /// Comma-separated event-name globs.
    events: Option<String>,
    /// Comma-separated source names.
    sources: Option<String>,
    /// For clients that cannot set the `Last-Event-ID` header.
    last_event_id: Option<String>,
}

/// Which events a stream wants.
struct Filter {
    globs: Vec<String>,
    sources: Option<Vec<String>>,
}

impl Filter {
    fn wants(&self, e: &Event) -> bool {
        (self.globs.is_empty() || self.globs.iter().any(|g| glob_matches(g, e.event.as_str())))
            && self
                .sources
                .as_ref()
                .is_none_or(|s| s.contains(&e.source.name))
    }
}

fn list(param: Option<&str>) -> Vec<String> {
    param
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

pub async fn stream(
    State(state): State<AppState>,
    caller: Caller,
    gone: Option<Extension<ClientGone>>,
    headers: HeaderMap,
    params: Result<Query<StreamParams>, QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::invalid_param("query", e.body_text()))?;
    let globs = list(p.events.as_deref());
    for glob in &globs {
        let names = EventKind::ALL.iter().map(|k| k.as_str());
        if !names
            .chain([STORY_CHANGED])
            .any(|name| glob_matches(glob, name))
        {
            return Err(ApiError::invalid_param(
                "events",
                format!("`{glob}` matches no event; events look like library.new, health.*"),
            ));
        }
    }
    let sources = list(p.sources.as_deref());
    for name in &sources {
        if state.sources.get(name).is_none() {
            return Err(ApiError::invalid_param(
                "sources",
                format!("no source is named `{name}`"),
            ));
        }
    }
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or(p.last_event_id);
    let resume = match resume.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(id) => Some(EventId::parse(id).ok_or_else(|| {
            ApiError::invalid_param("Last-Event-ID", format!("`{id}` is not an event id"))
        })?),
    };
    let slot = state
        .streams
        .take(&caller.user.id)
        .ok_or(ApiError::RateLimited {
            message: format!("a user may hold {STREAMS_PER_USER} event streams open at once"),
            retry_after_secs: 5,
        })?;
    // Joined before the replay reads the store: what is routed meanwhile arrives here, so nothing falls
    // between the two.
    let live = state.engine.feed().subscribe();
    let stories = state.engine.feed().subscribe_stories();
    let over = state.stopping.child_token();
    let follow = Follow {
        store: state.store.clone(),
        live,
        stories,
        filter: Filter {
            globs,
            sources: (!sources.is_empty()).then_some(sources),
        },
        replay_after: resume,
        // Ends when the server stops, or at once when the client leaves (its slot is free then).
        over: over.clone(),
        _watching: gone.map(|Extension(g)| g.cancel_on_close(over)),
        alerts: Alerts::for_viewer(caller.scope()),
        pending: VecDeque::new(),
        seen: Seen::default(),
        ended: false,
        _slot: slot,
    };
    let events = futures_util::stream::unfold(follow, |mut f| async move {
        let next = f.next().await?;
        Some((Ok(next), f))
    });
    Ok(Sse::new(events).keep_alive(
        KeepAlive::new()
            .interval(Duration::from_secs(15))
            .text("keepalive"),
    ))
}

/// The ids a stream sent lately, to send each event once.
#[derive(Default)]
struct Seen {
    ids: HashSet<EventId>,
    order: VecDeque<EventId>,
}

impl Seen {
    /// Remembers an id; false when it was sent already.
    fn first_time(&mut self, id: &EventId) -> bool {
        if !self.ids.insert(id.clone()) {
            return false;
        }
        self.order.push_back(id.clone());
        if self.order.len() > SEEN_KEPT
            && let Some(old) = self.order.pop_front()
        {
            self.ids.remove(&old);
        }
        true
    }
}

/// One client's stream: the replay still to read, then the live feed.
struct Follow {
    store: Arc<dyn Store>,
    live: broadcast::Receiver<Arc<Event>>,
    /// Stories changed (`story.changed` messages, when the filter takes them).
    stories: broadcast::Receiver<Arc<Vec<String>>>,
    filter: Filter,
    /// Replay the events after this id before going live.
    replay_after: Option<EventId>,
    /// The server is stopping, or the client closed its connection: the stream ends.
    over: tokio_util::sync::CancellationToken,
    /// Watches the client's connection for as long as the stream lives.
    _watching: Option<tokio_util::sync::DropGuard>,
    /// Which of hookarr's own alerts this viewer may see.
    alerts: Alerts,
    pending: VecDeque<Event>,
    seen: Seen,
    ended: bool,
    _slot: Slot,
}

impl Follow {
    /// The next message of the stream; `None` when it ends.
    async fn next(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                if self.filter.wants(&event)
                    && self.alerts.may_see(self.store.as_ref(), &event).await
                    && self.seen.first_time(&event.id)
                {
                    return Some(message(&event));
                }
                continue;
            }
            if self.ended {
                return None;
            }
            if let Some(after) = self.replay_after.take() {
                match self.store.events_after(Some(&after), REPLAY_PAGE).await {
                    Ok(page) => {
                        if page.len() == REPLAY_PAGE as usize {
                            self.replay_after = page.last().map(|e| e.id.clone());
                        }
                        self.pending.extend(page);
                    }
                    Err(error) => {
                        error.log("Replaying events to a stream failed.");
                        return Some(self.cut("storage_unavailable", "the stored events cannot be read now; reconnect with Last-Event-ID to resume"));
                    }
                }
                continue;
            }
            let received = tokio::select! {
                _ = self.over.cancelled() => return None,
                received = self.live.recv() => received,
                Ok(ids) = self.stories.recv() => {
                    if let Some(message) = self.story_message(&ids).await {
                        return Some(message);
                    }
                    continue;
                }
            };
            match received {
                Ok(event) => self.pending.push_back(Event::clone(&event)),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    return Some(self.cut(
                        "too_slow",
                        &format!("this stream fell {missed} events behind and was cut; reconnect with Last-Event-ID to resume"),
                    ));
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// A `story.changed` message with the changed stories' cards, when the stream's filter takes it (no
    /// `events=`, or a glob matching `story.changed`; `sources=` keeps the stories one of them told of).
    async fn story_message(&self, ids: &[String]) -> Option<SseEvent> {
        if !self.filter.globs.is_empty()
            && !self
                .filter
                .globs
                .iter()
                .any(|g| crate::event::glob_matches(g, STORY_CHANGED))
        {
            return None;
        }
        let mut cards = Vec::new();
        for id in ids {
            if let Ok(Some(story)) = self.store.get_story(id).await
                && self
                    .filter
                    .sources
                    .as_ref()
                    .is_none_or(|s| s.iter().any(|s| story.sources.contains(s)))
            {
                cards.push(crate::stories::card_of(&story));
            }
        }
        (!cards.is_empty()).then(|| {
            SseEvent::default()
                .event(STORY_CHANGED)
                .data(serde_json::json!({"stories": cards}).to_string())
        })
    }

    /// The last message of a stream that is cut, with the reason.
    fn cut(&mut self, reason: &str, message: &str) -> SseEvent {
        self.ended = true;
        SseEvent::default()
            .event("error")
            .data(serde_json::json!({"reason": reason, "message": message}).to_string())
    }
}

fn message(e: &Event) -> SseEvent {
    SseEvent::default()
        .id(e.id.as_str())
        .event(e.event.as_str())
        .data(serde_json::to_string(e).expect("an Event serializes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_follower_that_falls_behind_is_told_why_and_cut_and_gives_its_slot_back() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/feed.db", dir.path().display());
        let store = crate::storage::connect(&url).await.unwrap();
        let feed = crate::feed::Feed::new("wrk_test");
        let slots = Arc::new(StreamSlots::default());
        let mut follow = Follow {
            store,
            live: feed.subscribe(),
            stories: feed.subscribe_stories(),
            filter: Filter {
                globs: Vec::new(),
                sources: None,
            },
            replay_after: None,
            over: tokio_util::sync::CancellationToken::new(),
            _watching: None,
            alerts: Alerts::for_viewer(None),
            pending: VecDeque::new(),
            seen: Seen::default(),
            ended: false,
            _slot: slots.take("usr_a").unwrap(),
        };
        for _ in 1..STREAMS_PER_USER {
            std::mem::forget(slots.take("usr_a").unwrap());
        }
        assert!(
            slots.take("usr_a").is_none(),
            "the user's streams are all taken"
        );
        // Never read while more than the feed holds goes by: the follower's place is lost.
        let burst = crate::feed::FEED_CAPACITY + 5;
        feed.publish((0..burst).map(|_| crate::delivery::test_event()));
        let last = follow.next().await.expect("a last message");
        let text = format!("{last:?}");
        assert!(
            text.contains("too_slow") && text.contains("Last-Event-ID"),
            "{text}"
        );
        assert!(follow.next().await.is_none(), "then the stream ends");
        drop(follow);
        assert!(
            slots.take("usr_a").is_some(),
            "an ended stream gives its slot back"
        );
    }
}
