//! The joining rules on whole stories, in memory (the stored side is tested through the HTTP routes).

use super::*;
use crate::config::{Person, StuckAfter};
use crate::event::{
    Episode, EpisodeIds, Event, EventData, EventKind, Media, MediaIds, MediaType, Person as Who,
    Release, Request, SourceInfo, User,
};
use crate::storage::NewDelivery;
use chrono::{DateTime, Duration as Span, TimeZone, Utc};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// The stored state, in memory.
#[derive(Default)]
struct Mem {
    keys: HashMap<String, String>,
    stories: HashMap<String, Story>,
    rhythms: BTreeMap<String, Rhythm>,
    derived: Vec<Event>,
    messages: Vec<(String, String)>,
    unmatched: i64,
}

fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + secs, 0).unwrap()
}

fn deliver(story: &Story, _step: &Event, told: &Event) -> Vec<NewDelivery> {
    vec![NewDelivery {
        id: story.id.clone(),
        event_id: told.id.clone(),
        event: told.event.as_str().to_owned(),
        destination: "discord".into(),
        created_at: told.timestamp,
        expires_at: None,
        due_at: told.timestamp,
        group_key: Some(format!("{STORY_PREFIX}{}", story.id)),
    }]
}

fn people() -> Vec<Person> {
    vec![Person {
        name: "Zoë".into(),
        overseerr: Some("zoe@example.org".into()),
        media_user: Some("zoe".into()),
        notify: "zoe-phone".into(),
    }]
}

impl Mem {
    fn joiner<'a>(
        stuck: &'a StuckAfter,
        people: &'a [Person],
        derive: bool,
        now: DateTime<Utc>,
    ) -> Joiner<'a> {
        Joiner {
            stuck_after: stuck,
            people,
            silence_floor: Duration::from_secs(3600),
            derive,
            now,
            deliver: &deliver,
        }
    }

    fn apply(&mut self, w: Writes) {
        for (id, (s, _)) in w.stories {
            self.stories.insert(id, s);
        }
        for (k, id) in w.keys {
            self.keys.insert(k, id);
        }
        self.rhythms.extend(w.rhythms);
        self.messages
            .extend(w.deliveries.iter().map(|d| (d.id.clone(), d.event.clone())));
        self.derived.extend(w.derived);
        self.unmatched += w.unmatched;
    }

    fn join(&mut self, events: Vec<Event>, derive: bool) {
        let (stuck, people) = (StuckAfter::default(), people());
        let now = events.last().map_or(t(0), |e| e.timestamp);
        let joiner = Mem::joiner(&stuck, &people, derive, now);
        let batch = Batch {
            events,
            keys: self.keys.clone(),
            stories: self.stories.clone(),
            rhythms: self.rhythms.clone(),
        };
        let w = joiner.join(batch);
        self.apply(w);
    }

    fn only(&self, kind: TitleKind) -> Vec<&Story> {
        let mut v: Vec<&Story> = self.stories.values().filter(|s| s.kind == kind).collect();
        v.sort_by_key(|s| s.episode);
        v
    }

    fn derived(&self, kind: EventKind) -> Vec<&Event> {
        self.derived.iter().filter(|e| e.event == kind).collect()
    }
}

fn event(kind: EventKind, app: &str, at: i64, media: Media) -> Event {
    let source = SourceInfo {
        name: app.into(),
        app: app.into(),
        event: "x".into(),
        ..SourceInfo::default()
    };
    let mut e = Event::new(kind, t(at), source, EventData::default());
    e.data.media = Some(media);
    e
}

fn dune(ids: MediaIds) -> Media {
    Media {
        kind: MediaType::Movie,
        title: Some("Dune: Part Two".into()),
        year: Some(2024),
        ids,
        ..Media::default()
    }
}

fn tmdb(n: i64) -> MediaIds {
    MediaIds {
        tmdb: Some(n),
        ..MediaIds::default()
    }
}

fn request(kind: EventKind, at: i64) -> Event {
    let mut e = event(kind, "overseerr", at, dune(tmdb(693134)));
    e.data.request = Some(Request {
        id: Some(7),
        requested_by: Some(Who {
            name: Some("zoe".into()),
            email: Some("ZOE@example.org".into()),
            ..Who::default()
        }),
        ..Request::default()
    });
    e
}

#[test]
fn a_film_from_its_request_to_its_first_play_is_one_story_told_ready_once_to_its_requester() {
    let mut m = Mem::default();
    // Jellyfin has been heard from: a media server is connected.
    let mut hello = event(EventKind::Other, "jellyfin", 0, Media::default());
    hello.data.media = None;
    m.join(vec![hello], true);
    let mut grab = event(
        EventKind::DownloadGrabbed,
        "radarr",
        20,
        dune(MediaIds {
            tmdb: Some(693134),
            imdb: Some("tt15239678".into()),
            ..MediaIds::default()
        }),
    );
    grab.data.release = Some(Release {
        quality: Some("Bluray-2160p".into()),
        ..Release::default()
    });
    let import = event(EventKind::LibraryNew, "radarr", 30, dune(tmdb(693134)));
    // Jellyfin knows it by its IMDb id only.
    let mut added = event(
        EventKind::LibraryNew,
        "jellyfin",
        40,
        dune(MediaIds {
            imdb: Some("tt15239678".into()),
            ..MediaIds::default()
        }),
    );
    added.source.server = Some("Basement".into());
    let mut play = event(EventKind::PlaybackStart, "plex", 50, dune(tmdb(693134)));
    play.data.user = Some(User {
        name: Some("kenji".into()),
        ..User::default()
    });
    m.join(
        vec![
            request(EventKind::RequestPending, 1),
            request(EventKind::RequestApproved, 10),
            grab,
        ],
        true,
    );
    m.join(vec![import, added.clone(), play], true);
    let films = m.only(TitleKind::Movie);
    assert_eq!(films.len(), 1, "one story: {:?}", m.stories.keys());
    let s = films[0];
    assert_eq!(s.stage, Stage::Played);
    assert_eq!(s.available_on.as_deref(), Some("Basement"));
    assert_eq!(s.played_by.as_deref(), Some("kenji"));
    assert_eq!(s.events, 6);
    let ready = m.derived(EventKind::MediaAvailable);
    assert_eq!(ready.len(), 1);
    let told = ready[0].data.story.as_ref().unwrap();
    assert_eq!(
        told.tell,
        vec!["Zoë".to_owned()],
        "the requester, by e-mail"
    );
    assert_eq!(told.via.as_deref(), Some("media_server"));
    assert_eq!(
        ready[0].summary,
        "Dune: Part Two (2024) is ready to watch on Basement"
    );
    // One message per step that moved it (requested, approved, grabbed, imported, available); the play
    // moved it too.
    assert_eq!(m.messages.len(), 6, "{:?}", m.messages);
    assert!(m.messages.iter().all(|(id, _)| id == &s.id));
    // Jellyfin adding it again (an upgrade's new file) is no new title.
    let mut again = added;
    again.id = crate::event::EventId::new();
    m.join(vec![again], true);
    assert_eq!(m.derived(EventKind::MediaAvailable).len(), 1);
    assert_eq!(m.only(TitleKind::Movie)[0].refires, 1);
}

fn pack(kind: EventKind, app: &str, at: i64, episodes: std::ops::RangeInclusive<i32>) -> Event {
    let media = Media {
        kind: MediaType::Episode,
        title: Some("Severance".into()),
        series: Some("Severance".into()),
        ids: MediaIds {
            tvdb: Some(371980),
            ..MediaIds::default()
        },
        episodes: episodes
            .map(|n| Episode {
                season: Some(1),
                episode: Some(n),
                ids: EpisodeIds {
                    tvdb: Some(8_000_000 + i64::from(n)),
                    ..EpisodeIds::default()
                },
                ..Episode::default()
            })
            .collect(),
        ..Media::default()
    };
    event(kind, app, at, media)
}

#[test]
fn a_season_pack_is_one_story_per_episode_under_one_for_the_season_told_once() {
    let mut m = Mem::default();
    m.join(
        vec![event(EventKind::Other, "jellyfin", 0, Media::default())],
        true,
    );
    m.join(
        vec![
            pack(EventKind::DownloadGrabbed, "sonarr", 10, 1..=10),
            pack(EventKind::LibraryNew, "sonarr", 20, 1..=10),
        ],
        true,
    );
    assert_eq!(m.only(TitleKind::Episode).len(), 10);
    let seasons = m.only(TitleKind::Season);
    assert_eq!(seasons.len(), 1);
    let season = seasons[0].clone();
    assert!(season.pack);
    assert!(
        m.only(TitleKind::Episode)
            .iter()
            .all(|e| e.parent.as_deref() == Some(season.id.as_str()) && !e.tells)
    );
    assert_eq!(season.stage, Stage::Imported);
    assert_eq!(
        m.messages.len(),
        2,
        "grab and import, on the season's message only"
    );
    // Jellyfin adds each episode by its own ids (no series ids): the first makes the season available.
    let mut adds = Vec::new();
    for n in 1..=10 {
        let mut e = pack(EventKind::LibraryNew, "jellyfin", 30 + i64::from(n), n..=n);
        e.data.media.as_mut().unwrap().ids = MediaIds::default();
        adds.push(e);
    }
    m.join(adds, true);
    assert_eq!(m.only(TitleKind::Episode).len(), 10, "joined, none new");
    assert!(
        m.only(TitleKind::Episode)
            .iter()
            .all(|e| e.stage == Stage::Available)
    );
    let ready = m.derived(EventKind::MediaAvailable);
    assert_eq!(ready.len(), 1, "one media.available for the season");
    assert_eq!(ready[0].data.story.as_ref().unwrap().id, season.id);
    assert_eq!(m.messages.len(), 3);
}

#[test]
fn an_upgrade_of_an_available_film_is_media_upgraded_and_no_new_title() {
    let mut m = Mem::default();
    m.join(
        vec![
            event(EventKind::DownloadGrabbed, "radarr", 1, dune(tmdb(1))),
            event(EventKind::LibraryNew, "radarr", 2, dune(tmdb(1))),
        ],
        true,
    );
    // No media server connected: the import is where it became available.
    let s = m.only(TitleKind::Movie)[0].clone();
    assert_eq!(s.stage, Stage::Available);
    assert_eq!(s.available_via.as_deref(), Some("import"));
    m.join(
        vec![
            event(EventKind::DownloadGrabbed, "radarr", 3, dune(tmdb(1))),
            event(EventKind::LibraryUpgraded, "radarr", 4, dune(tmdb(1))),
        ],
        true,
    );
    assert_eq!(m.stories.len(), 1);
    assert_eq!(m.derived(EventKind::MediaAvailable).len(), 1);
    assert_eq!(m.derived(EventKind::MediaUpgraded).len(), 1);
    assert_eq!(m.only(TitleKind::Movie)[0].upgrades, 1);
}

#[test]
fn titles_that_only_share_a_name_never_join_and_an_event_without_ids_is_unmatched() {
    let mut m = Mem::default();
    m.join(
        vec![
            event(EventKind::DownloadGrabbed, "radarr", 1, dune(tmdb(1))),
            event(EventKind::DownloadGrabbed, "radarr", 2, dune(tmdb(2))),
        ],
        true,
    );
    assert_eq!(
        m.stories.len(),
        2,
        "same name and year, other ids: two titles"
    );
    // An event with no id but that name: which one? Neither.
    m.join(
        vec![event(
            EventKind::LibraryNew,
            "plex",
            3,
            dune(MediaIds::default()),
        )],
        true,
    );
    assert_eq!(m.stories.len(), 2);
    assert!(m.stories.values().all(|s| s.stage == Stage::Grabbed));
    // No id and no year: nothing to join by.
    let mut bare = dune(MediaIds::default());
    bare.year = None;
    m.join(
        vec![event(EventKind::DownloadGrabbed, "radarr", 4, bare)],
        true,
    );
    assert_eq!(m.unmatched, 2, "the ambiguous name and the bare title");
    assert_eq!(m.stories.len(), 2);
}

#[test]
fn ids_that_disagree_are_kept_apart_and_shown() {
    let mut m = Mem::default();
    let a = dune(MediaIds {
        tmdb: Some(1),
        imdb: Some("tt1".into()),
        ..MediaIds::default()
    });
    m.join(
        vec![event(EventKind::DownloadGrabbed, "radarr", 1, a)],
        true,
    );
    // Another app pairs that IMDb id with another TMDB id.
    let b = dune(MediaIds {
        tmdb: Some(2),
        imdb: Some("tt1".into()),
        ..MediaIds::default()
    });
    m.join(
        vec![event(EventKind::DownloadGrabbed, "sonarr", 2, b)],
        true,
    );
    assert_eq!(m.stories.len(), 2, "not joined");
    let second = m.stories.values().find(|s| s.ids["tmdb"] == "2").unwrap();
    assert_eq!(second.conflicts.len(), 1, "{:?}", second.conflicts);
}

#[test]
fn a_grab_that_never_imports_is_stuck_once() {
    let mut m = Mem::default();
    m.join(
        vec![event(
            EventKind::DownloadGrabbed,
            "radarr",
            0,
            dune(tmdb(1)),
        )],
        true,
    );
    let stuck = StuckAfter {
        grabbed: Some(Duration::from_secs(3600)),
        ..StuckAfter::default()
    };
    let people = people();
    for (at, expect) in [(1800, 0), (3700, 1), (9000, 1)] {
        let joiner = Mem::joiner(&stuck, &people, true, t(at));
        let due: Vec<Story> = m.stories.values().cloned().collect();
        let w = joiner.sweep(Sweep {
            due,
            rhythms: BTreeMap::new(),
        });
        m.apply(w);
        assert_eq!(m.derived(EventKind::MediaStuck).len(), expect, "at {at}");
    }
    let told = &m.derived(EventKind::MediaStuck)[0];
    assert_eq!(told.data.story.as_ref().unwrap().waiting_secs, Some(3700));
    assert_eq!(told.data.story.as_ref().unwrap().stage, "grabbed");
    assert_eq!(
        m.messages.len(),
        2,
        "the grab's message, then edited to stuck"
    );
    // The import ends the wait.
    m.join(
        vec![event(EventKind::LibraryNew, "radarr", 9100, dune(tmdb(1)))],
        true,
    );
    assert_eq!(m.only(TitleKind::Movie)[0].stage, Stage::Available);
}

#[test]
fn a_rebuild_from_the_stored_events_gives_the_same_stories_and_derives_nothing() {
    let events = vec![
        event(EventKind::Other, "jellyfin", 0, Media::default()),
        request(EventKind::RequestPending, 1),
        event(EventKind::DownloadGrabbed, "radarr", 2, dune(tmdb(693134))),
        event(EventKind::LibraryNew, "radarr", 3, dune(tmdb(693134))),
        pack(EventKind::DownloadGrabbed, "sonarr", 4, 1..=3),
        event(EventKind::LibraryNew, "jellyfin", 5, dune(tmdb(693134))),
    ];
    let mut live = Mem::default();
    for e in &events {
        live.join(vec![e.clone()], true);
    }
    // What the live pass derived is stored and joined too, as the router hands it back.
    let derived = live.derived.clone();
    live.join(derived.clone(), true);
    let mut all = events;
    all.extend(derived);
    all.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    let mut rebuilt = Mem::default();
    rebuilt.join(all, false);
    assert!(
        rebuilt.derived.is_empty() && rebuilt.messages.is_empty(),
        "nothing sent again"
    );
    let stages = |m: &Mem| {
        let mut v: Vec<(String, Stage, bool)> = m
            .stories
            .values()
            .map(|s| (s.id.clone(), s.stage, s.told_available))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    assert_eq!(stages(&live), stages(&rebuilt));
    assert_eq!(
        live.stories.len(),
        5,
        "a film, three episodes and their season"
    );
}

#[test]
fn a_decline_ends_a_story_and_a_later_request_reopens_it() {
    let mut m = Mem::default();
    m.join(
        vec![
            request(EventKind::RequestPending, 1),
            request(EventKind::RequestDeclined, 2),
        ],
        true,
    );
    assert_eq!(m.only(TitleKind::Movie)[0].stage, Stage::Declined);
    m.join(vec![request(EventKind::RequestPending, 3)], true);
    let s = m.only(TitleKind::Movie)[0];
    assert_eq!(s.stage, Stage::Requested);
    assert_eq!(s.steps.len(), 1, "its steps start over");
    // Zoë's own play is shown under her name.
    let mut play = event(EventKind::PlaybackStart, "jellyfin", 5, dune(tmdb(693134)));
    play.data.user = Some(User {
        name: Some("ZOE".into()),
        ..User::default()
    });
    m.join(vec![play], true);
    assert_eq!(
        m.only(TitleKind::Movie)[0].played_by.as_deref(),
        Some("Zoë")
    );
    let _ = Span::zero();
}
