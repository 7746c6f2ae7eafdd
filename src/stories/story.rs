//! One title's story — where it stands, when it reached each step, who asked for it — and how an event moves
//! it: each app's step forward, a failure or deletion that ends it, a later request or grab that reopens it.

use super::titles::{Title, TitleKind};
use crate::event::{Event, EventKind};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Where a story stands.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Requested,
    Approved,
    Grabbed,
    Imported,
    Available,
    Played,
    Declined,
    Failed,
    Deleted,
}

impl Stage {
    pub const ALL: [Stage; 9] = [
        Stage::Requested,
        Stage::Approved,
        Stage::Grabbed,
        Stage::Imported,
        Stage::Available,
        Stage::Played,
        Stage::Declined,
        Stage::Failed,
        Stage::Deleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Requested => "requested",
            Stage::Approved => "approved",
            Stage::Grabbed => "grabbed",
            Stage::Imported => "imported",
            Stage::Available => "available",
            Stage::Played => "played",
            Stage::Declined => "declined",
            Stage::Failed => "failed",
            Stage::Deleted => "deleted",
        }
    }

    pub fn parse(s: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Declined, failed and deleted end a story (until a request or a grab reopens it).
    pub fn ended(self) -> bool {
        matches!(self, Stage::Declined | Stage::Failed | Stage::Deleted)
    }

    /// Whether the story is at `step` or past it on the way to being watched.
    fn reached(self, step: Stage) -> bool {
        !self.ended() && self >= step
    }
}

/// A title's story as stored (one JSON document per story, its stage and dates also in columns).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Story {
    /// `sty_…`
    pub id: String,
    #[schema(value_type = String)]
    pub kind: TitleKind,
    /// "Dune: Part Two (2024)", "Severance S01E02", "Severance season 1".
    pub title: String,
    /// The film, album or book; the series of an episode or season.
    pub name: String,
    pub year: Option<i32>,
    pub season: Option<i32>,
    pub episode: Option<i32>,
    pub episode_title: Option<String>,
    /// An episode's season story.
    pub parent: Option<String>,
    /// A season told as one (its episodes came as a pack): its episodes' steps are told on it.
    pub pack: bool,
    /// Its ids by kind (`tmdb`, `imdb`, `tvdb`, `series_tvdb`…), from every app that named it.
    pub ids: BTreeMap<String, String>,
    pub stage: Stage,
    /// When it reached its stage.
    #[serde(with = "crate::event::millis_rfc3339")]
    pub stage_at: DateTime<Utc>,
    /// When it first reached each stage (of this opening).
    pub steps: BTreeMap<Stage, DateTime<Utc>>,
    pub quality: Option<String>,
    pub poster_url: Option<String>,
    pub overview: Option<String>,
    pub requested_by: Option<String>,
    pub requested_by_email: Option<String>,
    /// Where it can be watched: the media server, or the app that imported it when none is connected.
    pub available_on: Option<String>,
    /// `media_server` or `import`.
    pub available_via: Option<String>,
    pub played_by: Option<String>,
    /// The sources that told of it.
    pub sources: BTreeSet<String>,
    /// Better files that replaced one already there.
    pub upgrades: u32,
    /// A media server adding again what it already had (an upgrade's new file, a rescan).
    pub refires: u32,
    /// `media.available` was told for this opening.
    pub told_available: bool,
    /// `media.stuck` was told for this stage.
    pub told_stuck: Option<Stage>,
    /// Its steps are told on it (not on its season, as a pack's episodes' are).
    #[serde(default = "yes")]
    pub tells: bool,
    /// Ids an app gave that also point at another story, kept apart ("radarr (evt_…) named this title and
    /// sty_… too; kept apart").
    pub conflicts: Vec<String>,
    /// People (of `people:`) who follow it from its page.
    pub followers: Vec<String>,
    #[serde(with = "crate::event::millis_rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "crate::event::millis_rfc3339")]
    pub updated_at: DateTime<Utc>,
    /// Events in its timeline.
    pub events: u32,
}

fn yes() -> bool {
    true
}

/// What an event did to a story.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Moved {
    /// Its stage or what its message shows changed.
    pub changed: bool,
    /// It is now available, and was not.
    pub became_available: bool,
    /// A better file replaced one that was available.
    pub upgraded: bool,
}

/// Apps whose `library.new` means "in a media server's library".
pub fn is_media_server(app: &str) -> bool {
    matches!(app, "plex" | "jellyfin" | "emby" | "tautulli")
}

impl Story {
    /// A new story for `title`, started by `event` (its stage set by [`Story::apply`]).
    pub fn new(id: String, title: &Title, event: &Event) -> Story {
        Story {
            id,
            kind: title.kind,
            title: title.label(),
            name: title.name.clone(),
            year: title.year,
            season: title.season,
            episode: title.episode,
            episode_title: title.episode_title.clone(),
            parent: None,
            pack: title.pack,
            ids: BTreeMap::new(),
            stage: Stage::Requested,
            stage_at: event.timestamp,
            steps: BTreeMap::new(),
            quality: None,
            poster_url: None,
            overview: None,
            requested_by: None,
            requested_by_email: None,
            available_on: None,
            available_via: None,
            played_by: None,
            sources: BTreeSet::new(),
            upgrades: 0,
            refires: 0,
            told_available: false,
            told_stuck: None,
            tells: true,
            conflicts: Vec::new(),
            followers: Vec::new(),
            created_at: event.timestamp,
            updated_at: event.timestamp,
            events: 0,
        }
    }

    fn reach(&mut self, stage: Stage, at: DateTime<Utc>, moved: &mut Moved) {
        if self.stage == stage && !self.steps.is_empty() {
            return;
        }
        if self.stage.ended() && !stage.ended() {
            // Reopened (a new request or grab after a decline, failure or deletion): its steps start over.
            self.steps.clear();
            self.told_available = false;
        }
        if stage == Stage::Deleted {
            self.told_available = false;
            self.available_on = None;
            self.available_via = None;
        }
        self.stage = stage;
        self.stage_at = at;
        self.steps.entry(stage).or_insert(at);
        self.told_stuck = None;
        moved.changed = true;
    }

    /// Whether it is at `step` or past it (a new story is nowhere yet).
    fn at_least(&self, step: Stage) -> bool {
        !self.steps.is_empty() && self.stage.reached(step)
    }

    /// Moves the story by one event of `title`. `media_servers` says whether any media server is connected
    /// (else an Arr import is where it becomes available).
    pub fn apply(&mut self, event: &Event, title: &Title, media_servers: bool) -> Moved {
        let mut moved = Moved::default();
        let at = event.timestamp;
        let was_available = self.stage.reached(Stage::Available);
        self.events += 1;
        self.updated_at = self.updated_at.max(at);
        self.sources.insert(event.source.name.clone());
        for (k, v) in &title.ids {
            self.ids.entry(k.clone()).or_insert_with(|| v.clone());
        }
        self.take_details(event);
        let app = event.source.app.as_str();
        let d = &event.data;
        match event.event {
            EventKind::RequestPending if !self.at_least(Stage::Requested) => {
                self.reach(Stage::Requested, at, &mut moved)
            }
            EventKind::RequestApproved if !self.at_least(Stage::Approved) => {
                self.reach(Stage::Approved, at, &mut moved)
            }
            EventKind::RequestDeclined if !was_available => {
                self.reach(Stage::Declined, at, &mut moved)
            }
            EventKind::RequestFailed | EventKind::DownloadFailed | EventKind::ImportFailed
                if !self.at_least(Stage::Imported) =>
            {
                self.reach(Stage::Failed, at, &mut moved)
            }
            EventKind::DownloadGrabbed => {
                if !self.at_least(Stage::Grabbed) {
                    self.reach(Stage::Grabbed, at, &mut moved);
                }
                if let Some(q) = d.release.as_ref().and_then(|r| r.quality.clone())
                    && !self.at_least(Stage::Imported)
                {
                    self.quality = Some(q);
                }
            }
            EventKind::ImportBlocked if !self.at_least(Stage::Grabbed) => {
                self.reach(Stage::Grabbed, at, &mut moved)
            }
            EventKind::LibraryNew | EventKind::RequestAvailable
                if is_media_server(app) || event.event == EventKind::RequestAvailable =>
            {
                if was_available {
                    self.refires += u32::from(event.event == EventKind::LibraryNew);
                } else {
                    let on = event
                        .source
                        .server
                        .clone()
                        .or_else(|| event.source.instance.clone())
                        .unwrap_or_else(|| app_name(app));
                    self.available_on = Some(on);
                    self.available_via = Some("media_server".into());
                    self.reach(Stage::Available, at, &mut moved);
                }
            }
            EventKind::LibraryNew | EventKind::LibraryUpgraded => {
                self.quality = file_quality(event).or(self.quality.take());
                if event.event == EventKind::LibraryUpgraded && self.at_least(Stage::Imported) {
                    self.upgrades += 1;
                    moved.changed = true;
                    moved.upgraded = was_available;
                } else if !self.at_least(Stage::Imported) {
                    self.reach(Stage::Imported, at, &mut moved);
                    if !media_servers {
                        let on = event
                            .source
                            .instance
                            .clone()
                            .unwrap_or_else(|| app_name(app));
                        self.available_on = Some(on);
                        self.available_via = Some("import".into());
                        self.reach(Stage::Available, at, &mut moved);
                    }
                }
            }
            EventKind::LibraryDeleted => {
                let item = d.deleted.as_ref().is_some_and(|x| x.scope == "item");
                if item {
                    self.reach(Stage::Deleted, at, &mut moved);
                }
            }
            EventKind::PlaybackStart | EventKind::PlaybackStop | EventKind::PlaybackScrobble
                if self.played_by.is_none() =>
            {
                self.played_by = d.user.as_ref().and_then(|u| u.name.clone());
                self.steps.entry(Stage::Played).or_insert(at);
                if self.stage == Stage::Available {
                    self.reach(Stage::Played, at, &mut moved);
                }
            }
            _ => {}
        }
        moved.became_available =
            !was_available && self.stage.reached(Stage::Available) && !self.told_available;
        moved
    }

    /// An episode of this season (a pack) became available: so is the season, on the same server.
    pub fn episode_available(&mut self, episode: &Story, at: DateTime<Utc>) -> Moved {
        let mut moved = Moved::default();
        if !self.stage.reached(Stage::Available) {
            self.available_on = episode.available_on.clone();
            self.available_via = episode.available_via.clone();
            self.reach(Stage::Available, at, &mut moved);
            moved.became_available = !self.told_available;
        }
        moved
    }

    /// Keeps what the message shows: poster, overview, requester.
    fn take_details(&mut self, event: &Event) {
        if let Some(m) = &event.data.media {
            if self.poster_url.is_none() {
                self.poster_url = m.poster_url.clone();
            }
            if self.overview.is_none() {
                self.overview = m.overview.clone();
            }
            if self.year.is_none() {
                self.year = m.year;
            }
        }
        if let Some(p) = event
            .data
            .request
            .as_ref()
            .and_then(|r| r.requested_by.as_ref())
            && self.requested_by.is_none()
        {
            self.requested_by = p.name.clone();
            self.requested_by_email = p.email.clone();
        }
    }
}

fn file_quality(event: &Event) -> Option<String> {
    let d = &event.data;
    d.file
        .as_ref()
        .and_then(|f| f.quality.clone())
        .or_else(|| d.release.as_ref().and_then(|r| r.quality.clone()))
}

/// "Jellyfin", "Radarr": an app's name as people write it.
fn app_name(app: &str) -> String {
    capitalized(app)
}

/// The text with its first letter in upper case.
pub fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
