//! Joining a batch of events into the stories they name, in memory: the stored side loads the stories the
//! batch's keys point at ([`lookup_keys`]) and writes back what this returns ([`Writes`]) in one transaction.
//! The sweep of stuck stories and silent sources is `sweep.rs`.

use super::rhythm::Rhythm;
use super::story::{Moved, Stage, Story, is_media_server};
use super::titles::{Title, TitleKind, joins_stories, titles_of};
use crate::config::{Person, StuckAfter};
use crate::event::{Event, EventKind, MediaType};
use crate::storage::NewDelivery;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// A batch of events with the stored state they touch.
#[derive(Debug, Default)]
pub struct Batch {
    pub events: Vec<Event>,
    /// Stored keys among the batch's ([`lookup_keys`]) → story id (`""`: a name two stories share).
    pub keys: HashMap<String, String>,
    /// The stories those keys and the batch's story events name, and their seasons.
    pub stories: HashMap<String, Story>,
    /// Every source's rhythm.
    pub rhythms: BTreeMap<String, Rhythm>,
}

/// The stories due a stuck check and every source's rhythm.
#[derive(Debug, Default)]
pub struct Sweep {
    pub due: Vec<Story>,
    pub rhythms: BTreeMap<String, Rhythm>,
}

/// One event in a story's timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineRow {
    pub story_id: String,
    pub event_id: String,
    pub at: DateTime<Utc>,
    pub event: String,
    /// The story's stage after it.
    pub stage: Stage,
}

/// What a batch or a sweep changes.
#[derive(Debug, Default)]
pub struct Writes {
    /// Changed stories, each with when it is next due a stuck check.
    pub stories: BTreeMap<String, (Story, Option<DateTime<Utc>>)>,
    /// Keys to store (new, or a name now shared: `""`).
    pub keys: Vec<(String, String)>,
    pub timeline: Vec<TimelineRow>,
    /// Events derived (`media.*`, `hookarr.source_*`), stored and routed like any other.
    pub derived: Vec<Event>,
    /// Story messages: one delivery per step to each destination with `story: true` that edits.
    pub deliveries: Vec<NewDelivery>,
    pub rhythms: BTreeMap<String, Rhythm>,
    /// Events of a story's kind that named no title.
    pub unmatched: i64,
}

/// The keys to look up for an event: its titles' ids and names (a derived event names its story instead:
/// [`story_named`]).
pub fn lookup_keys(event: &Event) -> Vec<String> {
    let mut out = Vec::new();
    for t in titles_of(event) {
        out.extend(t.keys);
        out.extend(t.name_key);
    }
    out
}

/// The story a derived event is about.
pub fn story_named(event: &Event) -> Option<&str> {
    event.data.story.as_ref().map(|s| s.id.as_str())
}

/// How events join stories and what follows.
pub struct Joiner<'a> {
    pub stuck_after: &'a StuckAfter,
    pub people: &'a [Person],
    pub silence_floor: Duration,
    /// Derive events and story messages (live); a rebuild only rebuilds (nothing is sent again).
    pub derive: bool,
    pub now: DateTime<Utc>,
    /// The story messages of a step (`step`, telling `told`: the step or what it derived): a delivery to each
    /// story destination that shows it.
    pub deliver: &'a (dyn Fn(&Story, &Event, &Event) -> Vec<NewDelivery> + Sync),
}

impl Joiner<'_> {
    /// Joins a batch's events, oldest first.
    pub fn join(&self, mut batch: Batch) -> Writes {
        let mut w = Writes::default();
        let events = std::mem::take(&mut batch.events);
        let mut heard = std::collections::BTreeSet::new();
        for event in &events {
            heard.extend(self.hear(&mut batch, event, &mut w));
            match event.event {
                EventKind::MediaAvailable | EventKind::MediaUpgraded | EventKind::MediaStuck => {
                    self.story_event(&mut batch, event, &mut w)
                }
                _ => self.join_event(&mut batch, event, &mut w),
            }
        }
        w.rhythms = batch
            .rhythms
            .into_iter()
            .filter(|(source, _)| heard.contains(source))
            .collect();
        w
    }

    /// The source's rhythm (and its return from silence); the source whose rhythm changed.
    fn hear(&self, batch: &mut Batch, event: &Event, w: &mut Writes) -> Option<String> {
        let (source, back) = match event.event {
            EventKind::SourceSilent | EventKind::SourceBack => {
                let s = event.data.silence.as_ref()?;
                let r = batch.rhythms.entry(s.source.clone()).or_default();
                r.told_silent = event.event == EventKind::SourceSilent;
                (s.source.clone(), None)
            }
            _ if event.source.app == "hookarr" => return None,
            _ => {
                let r = batch.rhythms.entry(event.source.name.clone()).or_default();
                r.app.clone_from(&event.source.app);
                (event.source.name.clone(), r.heard(event.timestamp))
            }
        };
        if let (Some(quiet), true) = (back, self.derive) {
            let r = &batch.rhythms[&source];
            w.derived.push(super::card::silence_event(
                EventKind::SourceBack,
                &source,
                quiet,
                r,
                self.now,
            ));
        }
        Some(source)
    }

    /// A derived event read back: its story's flags (what a rebuild restores) and its timeline row.
    fn story_event(&self, batch: &mut Batch, event: &Event, w: &mut Writes) {
        let Some(story) = story_named(event).and_then(|id| batch.stories.get_mut(id)) else {
            return;
        };
        match event.event {
            EventKind::MediaAvailable => story.told_available = true,
            EventKind::MediaStuck => {
                let stage = event
                    .data
                    .story
                    .as_ref()
                    .and_then(|s| Stage::parse(&s.stage));
                if stage == Some(story.stage) {
                    story.told_stuck = stage;
                }
            }
            _ => {}
        }
        story.events += 1;
        let story = story.clone();
        self.timeline(&story, event, w);
        self.keep(story, w);
    }

    fn join_event(&self, batch: &mut Batch, event: &Event, w: &mut Writes) {
        let titles = titles_of(event);
        if titles.is_empty() {
            let named_series = event.data.media.as_ref().is_some_and(|m| {
                matches!(
                    m.kind,
                    MediaType::Series | MediaType::Artist | MediaType::Author
                )
            });
            if joins_stories(event.event) && !named_series {
                w.unmatched += 1;
            }
            return;
        }
        let media_servers = batch
            .rhythms
            .values()
            .any(|r| is_media_server(&r.app) && r.last_at.is_some());
        // Seasons first, so that their episodes know them.
        let mut ids: Vec<Option<String>> = vec![None; titles.len()];
        let order = (0..titles.len()).rev();
        for i in order {
            ids[i] = self.find_or_start(batch, event, &titles[i], w);
        }
        for (i, title) in titles.iter().enumerate() {
            let Some(id) = ids[i].clone() else { continue };
            let parent = title.parent.and_then(|p| ids[p].clone());
            self.step(batch, event, title, &id, parent, media_servers, w);
        }
    }

    /// The story a title joins: the one its ids point at (never one whose ids disagree), or a new one when
    /// the event may start it.
    fn find_or_start(
        &self,
        batch: &mut Batch,
        event: &Event,
        title: &Title,
        w: &mut Writes,
    ) -> Option<String> {
        let mut found: Vec<String> = Vec::new();
        let by_name = title.keys.is_empty();
        // A name two stories share finds neither, and starts no third.
        if by_name
            && let Some(name) = &title.name_key
            && batch.keys.get(name).is_some_and(String::is_empty)
        {
            w.unmatched += 1;
            return None;
        }
        let lookups = if by_name {
            title.name_key.iter().collect::<Vec<_>>()
        } else {
            title.keys.iter().collect()
        };
        for key in lookups {
            if let Some(id) = batch.keys.get(key).filter(|id| !id.is_empty())
                && !found.contains(id)
            {
                found.push(id.clone());
            }
        }
        let agrees = |id: &String| {
            batch.stories.get(id).is_some_and(|s| {
                title
                    .ids
                    .iter()
                    .all(|(k, v)| s.ids.get(k).is_none_or(|mine| mine == v))
            })
        };
        let chosen = found.iter().find(|id| agrees(id)).cloned();
        let conflicting: Vec<String> = found
            .iter()
            .filter(|id| Some(*id) != chosen.as_ref())
            .cloned()
            .collect();
        let id = match chosen {
            Some(id) => {
                if title.pack
                    && let Some(s) = batch.stories.get_mut(&id)
                {
                    s.pack = true;
                }
                id
            }
            None if title.creates => {
                let id = story_id(event, title);
                batch
                    .stories
                    .insert(id.clone(), Story::new(id.clone(), title, event));
                id
            }
            None => return None,
        };
        for other in &conflicting {
            let note = format!(
                "{} ({}) named this title and {other} too; kept apart",
                event.source.name, event.id
            );
            if let Some(s) = batch.stories.get_mut(&id)
                && !s.conflicts.contains(&note)
            {
                s.conflicts.push(note);
            }
        }
        // Its keys now point here, unless they already point at another story.
        for key in &title.keys {
            if !batch.keys.contains_key(key) {
                batch.keys.insert(key.clone(), id.clone());
                w.keys.push((key.clone(), id.clone()));
            }
        }
        if let Some(name) = &title.name_key {
            match batch.keys.get(name) {
                None => {
                    batch.keys.insert(name.clone(), id.clone());
                    w.keys.push((name.clone(), id.clone()));
                }
                Some(other) if !other.is_empty() && *other != id => {
                    batch.keys.insert(name.clone(), String::new());
                    w.keys.push((name.clone(), String::new()));
                }
                Some(_) => {}
            }
        }
        Some(id)
    }

    /// Moves one story by the event, and tells what follows.
    #[allow(clippy::too_many_arguments)]
    fn step(
        &self,
        batch: &mut Batch,
        event: &Event,
        title: &Title,
        id: &str,
        parent: Option<String>,
        media_servers: bool,
        w: &mut Writes,
    ) {
        let Some(mut story) = batch.stories.remove(id) else {
            return;
        };
        if story.parent.is_none() && parent.is_some() {
            story.parent = parent;
        }
        story.pack |= title.pack;
        let parent = story.parent.as_ref().and_then(|p| batch.stories.get(p));
        if let Some(p) = parent
            && story.requested_by.is_none()
        {
            story.requested_by.clone_from(&p.requested_by);
            story.requested_by_email.clone_from(&p.requested_by_email);
        }
        let parent_pack = parent.is_some_and(|p| p.pack);
        let moved = story.apply(event, title, media_servers);
        // A person's own play is shown under their name (their media-server user is theirs alone).
        if let Some(by) = story.played_by.as_deref()
            && let Some(p) = self.people.iter().find(|p| {
                p.media_user
                    .as_deref()
                    .is_some_and(|m| m.eq_ignore_ascii_case(by))
            })
        {
            story.played_by = Some(p.name.clone());
        }
        self.timeline(&story, event, w);
        // An episode of a pack that became available makes its season available.
        if moved.became_available
            && parent_pack
            && let Some(p) = story.parent.clone()
            && let Some(mut season) = batch.stories.remove(&p)
        {
            let season_moved = season.episode_available(&story, event.timestamp);
            if season_moved.changed {
                season.events += 1;
                self.timeline(&season, event, w);
            }
            self.tell(&mut season, event, season_moved, true, w);
            self.keep(season.clone(), w);
            batch.stories.insert(p, season);
        }
        let tells = match story.kind {
            TitleKind::Season => story.pack,
            TitleKind::Episode => !parent_pack,
            _ => true,
        };
        story.tells = tells;
        self.tell(&mut story, event, moved, tells, w);
        self.keep(story.clone(), w);
        batch.stories.insert(id.to_owned(), story);
    }

    /// What a step tells: `media.available` / `media.upgraded`, and the story's message.
    fn tell(&self, story: &mut Story, event: &Event, moved: Moved, tells: bool, w: &mut Writes) {
        if !self.derive || !tells {
            return;
        }
        let mut shown = None;
        if moved.became_available {
            story.told_available = true;
            let mut tell = self.requester(story);
            for follower in &story.followers {
                if !tell.contains(follower) {
                    tell.push(follower.clone());
                }
            }
            shown = Some(super::card::story_event(
                EventKind::MediaAvailable,
                story,
                event,
                tell,
                self.now,
            ));
        } else if moved.upgraded {
            shown = Some(super::card::story_event(
                EventKind::MediaUpgraded,
                story,
                event,
                Vec::new(),
                self.now,
            ));
        }
        if moved.changed {
            let told = shown.as_ref().unwrap_or(event);
            w.deliveries.extend((self.deliver)(story, event, told));
        }
        w.derived.extend(shown);
    }

    /// The people (of `people:`) who requested the story.
    fn requester(&self, story: &Story) -> Vec<String> {
        self.people
            .iter()
            .filter(|p| {
                p.is_requester(
                    story.requested_by.as_deref(),
                    story.requested_by_email.as_deref(),
                )
            })
            .map(|p| p.name.clone())
            .collect()
    }

    fn timeline(&self, story: &Story, event: &Event, w: &mut Writes) {
        w.timeline.push(TimelineRow {
            story_id: story.id.clone(),
            event_id: event.id.as_str().to_owned(),
            at: event.timestamp,
            event: event.event.as_str().to_owned(),
            stage: story.stage,
        });
    }

    pub(super) fn keep(&self, story: Story, w: &mut Writes) {
        let due = self.stuck_due(&story);
        w.stories.insert(story.id.clone(), (story, due));
    }
}

/// A story's id: the same for the same first event and title, so a rebuild gives the same ids.
fn story_id(event: &Event, title: &Title) -> String {
    let first = title
        .keys
        .first()
        .or(title.name_key.as_ref())
        .cloned()
        .unwrap_or_else(|| title.label());
    let digest = Sha256::digest(format!("{}|{first}", event.id.as_str()).as_bytes());
    format!("sty_{}", &hex::encode(digest)[..20])
}
