//! The engine's storyteller: a loop that joins routed events into their titles' stories (woken by the
//! router, and once a second for the stuck and silence sweep), queueing what follows in the same
//! transaction — derived events for the router, story messages for the workers — and the story message
//! itself: a story destination's delivery is rendered from the story as it is when it is sent, so that every
//! step edits one message to where the story stands.

use super::Engine;
use crate::config::{Person, Stories};
use crate::event::Event;
use crate::storage::{Claimed, NewDelivery, StoreError};
use crate::stories::{Joiner, STORY_PREFIX, Story};
use chrono::Utc;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Events joined per transaction.
const JOIN_BATCH: u32 = 200;
/// After a pass, the storyteller leaves the database to others for this many times as long as the pass took:
/// joining takes at most a third of the write lock's time.
const YIELD_FACTOR: u32 = 2;
/// How often stories are looked at for a stuck stage, and sources for silence.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// The settings stories are told by (`stories:` and `people:`), replaced when the file is re-read.
#[derive(Debug, Clone, Default)]
pub struct StorySettings {
    pub stories: Stories,
    pub people: Arc<Vec<Person>>,
}

impl Engine {
    /// Puts `stories:` and `people:` in force (the routing table follows at the next rebuild of routes).
    pub fn set_story_settings(&self, stories: Stories, people: Vec<Person>) {
        *self.story_settings.write().expect("story settings lock") = Arc::new(StorySettings {
            stories,
            people: Arc::new(people),
        });
        self.rebuild_routes();
    }

    /// `people:` in force.
    pub fn people(&self) -> Arc<Vec<Person>> {
        self.story_settings().people.clone()
    }

    pub(super) fn story_settings(&self) -> Arc<StorySettings> {
        self.story_settings
            .read()
            .expect("story settings lock")
            .clone()
    }

    /// Wakes the storyteller (events were routed into its queue).
    pub(super) fn wake_storyteller(&self) {
        self.wake_stories.notify_one();
    }

    /// Joins queued events until the queue is empty, sweeps once a second, until `shutdown`.
    pub(super) async fn story_loop(self: Arc<Self>, shutdown: CancellationToken) {
        let mut last_sweep = Instant::now();
        loop {
            let pass = Instant::now();
            match self.join_stories().await {
                // More waiting: go on, but yield the database for twice as long as the pass took, so that
                // a burst of ingest is never held up by joining (stories follow a few seconds behind).
                Ok(n) if n > 0 => {
                    let rest = pass.elapsed() * YIELD_FACTOR;
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(rest) => {}
                    }
                    continue;
                }
                Ok(_) => {}
                Err(error) => error.log("Joining events into stories failed; retrying."),
            }
            if last_sweep.elapsed() >= SWEEP_EVERY {
                last_sweep = Instant::now();
                if let Err(error) = self.sweep_stories().await {
                    error.log("Looking for stuck stories and silent sources failed.");
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.wake_stories.notified() => {}
                _ = tokio::time::sleep(SWEEP_EVERY) => {}
            }
        }
    }

    /// One joining pass; how many queued events it took.
    pub async fn join_stories(&self) -> Result<usize, StoreError> {
        let settings = self.story_settings();
        let routes = self.routes();
        let enabled = |name: &str| self.is_enabled(name);
        let deliver = |story: &Story, step: &Event, told: &Event| -> Vec<NewDelivery> {
            routes.story_deliveries(story, step, told, &enabled)
        };
        let joiner = Joiner {
            stuck_after: &settings.stories.stuck_after,
            people: &settings.people,
            silence_floor: settings.stories.silence_floor(),
            derive: true,
            now: Utc::now(),
            deliver: &deliver,
        };
        let joined = self
            .store
            .join_queued(JOIN_BATCH, &|batch| joiner.join(batch))
            .await?;
        self.after_pass(&joined).await;
        // Read while the stories changed: nothing was written; the queue is read again.
        Ok(if joined.stale { 1 } else { joined.events })
    }

    /// One sweep: stories stuck past their window, sources silent past their rhythm.
    pub async fn sweep_stories(&self) -> Result<(), StoreError> {
        let settings = self.story_settings();
        let routes = self.routes();
        let enabled = |name: &str| self.is_enabled(name);
        let deliver = |story: &Story, step: &Event, told: &Event| -> Vec<NewDelivery> {
            routes.story_deliveries(story, step, told, &enabled)
        };
        let now = Utc::now();
        let joiner = Joiner {
            stuck_after: &settings.stories.stuck_after,
            people: &settings.people,
            silence_floor: settings.stories.silence_floor(),
            derive: true,
            now,
            deliver: &deliver,
        };
        let joined = self
            .store
            .sweep_stories(now, &|sweep| joiner.sweep(sweep))
            .await?;
        self.after_pass(&joined).await;
        Ok(())
    }

    /// Rebuilds every story from the stored events when the joining rules changed since they were built
    /// (nothing is sent again). Returns whether it did.
    pub async fn rebuild_stories_if_stale(&self) -> Result<bool, StoreError> {
        if self.store.story_rules_version().await? == crate::stories::RULES_VERSION {
            return Ok(false);
        }
        let joined = self.rebuild_stories().await?;
        tracing::info!(
            message =
                "Stories built from the stored events (their rules changed); nothing was sent.",
            events = joined.events,
            stories = joined.stories.len()
        );
        Ok(true)
    }

    /// Forgets every story and joins every stored event again, deriving and sending nothing.
    pub async fn rebuild_stories(&self) -> Result<crate::storage::Joined, StoreError> {
        let settings = self.story_settings();
        let nothing = |_: &Story, _: &Event, _: &Event| Vec::new();
        let joiner = Joiner {
            stuck_after: &settings.stories.stuck_after,
            people: &settings.people,
            silence_floor: settings.stories.silence_floor(),
            derive: false,
            now: Utc::now(),
            deliver: &nothing,
        };
        self.store
            .rebuild_stories(
                500,
                &|batch| joiner.join(batch),
                crate::stories::RULES_VERSION,
            )
            .await
    }

    async fn after_pass(&self, joined: &crate::storage::Joined) {
        if joined.derived > 0 {
            self.wake_router.notify_one();
        }
        if joined.deliveries > 0 {
            self.wake_claimer.notify_one();
        }
        if !joined.stories.is_empty() {
            self.feed.publish_stories(&joined.stories);
            // Followers on the other processes sharing the database hear of them too.
            if self.store.backend() == "postgres" {
                for payload in self.feed.story_announcements(&joined.stories) {
                    if let Err(error) = self.store.announce_routed(&payload).await {
                        error.log("Announcing changed stories failed.");
                    }
                }
            }
        }
    }

    /// The story a delivery's message shows, when it is a story message (group `story:<id>`).
    pub(super) async fn story_of(&self, c: &Claimed) -> Option<Story> {
        let id = c.group_key.as_deref()?.strip_prefix(STORY_PREFIX)?;
        match self.store.get_story(id).await {
            Ok(story) => story,
            Err(error) => {
                error.log("Reading a story for its message failed; the step is sent as it is.");
                None
            }
        }
    }

    /// A story's message: the card of where the story stands now (whichever of its steps this delivery
    /// carries), so that every edit shows the latest.
    pub(super) fn story_message<'e>(
        &self,
        dest: &super::DestinationRuntime,
        c: &'e Claimed,
        story: &crate::stories::Story,
    ) -> Result<super::attempt::Message<'e>, crate::outbound::RenderFailure> {
        let card = crate::stories::card_of(story);
        let payload = crate::outbound::render_story_payload(
            &self.templates(),
            &dest.target,
            &c.event,
            &card,
        )?;
        let mut shown = c.event.clone();
        shown.summary = format!("{}: {}", card.title, card.headline);
        Ok(super::attempt::Message {
            shown: std::borrow::Cow::Owned(shown),
            payload,
            digest: false,
            story: Some(story.id.clone()),
        })
    }
}
