//! The titles an event names, each with the keys that identify it across apps: a film by its TMDB and IMDb
//! ids, an episode by its own ids and by its series' ids with its season and episode numbers, a season by
//! its series' ids and number, an album by its MusicBrainz id, a book by Goodreads, ISBN or ASIN. A title
//! with no id at all is known by its name and year, and only then.

use crate::event::{Event, EventKind, Media, MediaIds, MediaType};
use std::collections::BTreeMap;

/// What a story is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TitleKind {
    Movie,
    Episode,
    Season,
    Album,
    Book,
}

impl TitleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TitleKind::Movie => "movie",
            TitleKind::Episode => "episode",
            TitleKind::Season => "season",
            TitleKind::Album => "album",
            TitleKind::Book => "book",
        }
    }
}

/// One title an event names.
#[derive(Debug, Clone, PartialEq)]
pub struct Title {
    pub kind: TitleKind,
    /// The keys of its ids, strongest first (`movie/tmdb:693134`, `episode/tvdb:81189/s1e2`).
    pub keys: Vec<String>,
    /// `movie/name:dune part two|2024`: registered for every story, looked up only for a title without any
    /// id (and never when two stories share it).
    pub name_key: Option<String>,
    /// Its ids by kind (`tmdb` → `693134`), to tell two stories that disagree apart.
    pub ids: BTreeMap<String, String>,
    /// The film, album or book title; the series' for episodes and seasons.
    pub name: String,
    pub year: Option<i32>,
    pub season: Option<i32>,
    pub episode: Option<i32>,
    pub episode_title: Option<String>,
    /// An episode's season, when the event also names that season (a pack: index into the titles).
    pub parent: Option<usize>,
    /// The season of a pack: one story over its episodes' stories.
    pub pack: bool,
    /// Whether an event naming it may start its story (a grab, a request, an import); playback, ratings and
    /// issues join a story that exists and start none.
    pub creates: bool,
}

impl Title {
    /// "Dune: Part Two (2024)", "Severance S01E02", "Severance season 1".
    pub fn label(&self) -> String {
        match self.kind {
            TitleKind::Episode => format!(
                "{} S{:02}E{:02}",
                self.name,
                self.season.unwrap_or(0),
                self.episode.unwrap_or(0)
            ),
            TitleKind::Season => format!("{} season {}", self.name, self.season.unwrap_or(0)),
            _ => match self.year {
                Some(y) => format!("{} ({y})", self.name),
                None => self.name.clone(),
            },
        }
    }
}

/// The event kinds that may start a story (the others only join one that exists).
pub fn starts_stories(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::RequestPending
            | EventKind::RequestApproved
            | EventKind::RequestDeclined
            | EventKind::RequestAvailable
            | EventKind::RequestFailed
            | EventKind::DownloadGrabbed
            | EventKind::DownloadFailed
            | EventKind::ImportFailed
            | EventKind::ImportBlocked
            | EventKind::LibraryNew
            | EventKind::LibraryUpgraded
    )
}

/// The event kinds a story is told from: its steps, and what joins its timeline.
pub fn joins_stories(kind: EventKind) -> bool {
    starts_stories(kind)
        || matches!(
            kind,
            EventKind::LibraryDeleted
                | EventKind::LibraryMonitored
                | EventKind::LibraryRated
                | EventKind::LibraryWatched
                | EventKind::PlaybackStart
                | EventKind::PlaybackStop
                | EventKind::PlaybackScrobble
                | EventKind::IssueCreated
                | EventKind::IssueResolved
                | EventKind::IssueReopened
        )
}

/// Every title `event` names, episodes before the seasons they belong to; empty when it names none (or is
/// not a story's kind).
pub fn titles_of(event: &Event) -> Vec<Title> {
    if !joins_stories(event.event) {
        return Vec::new();
    }
    let Some(media) = &event.data.media else {
        return Vec::new();
    };
    let creates = starts_stories(event.event);
    match media.kind {
        MediaType::Movie => one(TitleKind::Movie, movie_ids(&media.ids), media, creates),
        MediaType::Album | MediaType::Track => {
            let mut ids = BTreeMap::new();
            put(&mut ids, "mb", media.ids.musicbrainz_album.clone());
            one(TitleKind::Album, ids, media, creates)
        }
        MediaType::Book => {
            let mut ids = BTreeMap::new();
            put(&mut ids, "goodreads", media.ids.goodreads.clone());
            put(&mut ids, "isbn", media.ids.isbn13.clone());
            put(&mut ids, "asin", media.ids.asin.clone());
            one(TitleKind::Book, ids, media, creates)
        }
        MediaType::Episode | MediaType::Season => episodes(event, media, creates),
        // A series request names the seasons it asks for.
        MediaType::Series => match &event.data.request {
            Some(r) => r
                .seasons
                .iter()
                .map(|&s| season(media, s, creates, false))
                .filter(|t| !t.keys.is_empty())
                .collect(),
            None => Vec::new(),
        },
        _ => Vec::new(),
    }
}

fn movie_ids(ids: &MediaIds) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    put(&mut out, "tmdb", ids.tmdb.map(|n| n.to_string()));
    put(&mut out, "imdb", ids.imdb.clone());
    out
}

fn series_ids(ids: &MediaIds) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    put(&mut out, "tvdb", ids.tvdb.map(|n| n.to_string()));
    put(&mut out, "tmdb", ids.tmdb.map(|n| n.to_string()));
    put(&mut out, "imdb", ids.imdb.clone());
    put(&mut out, "tvmaze", ids.tvmaze.map(|n| n.to_string()));
    out
}

fn put(map: &mut BTreeMap<String, String>, kind: &str, value: Option<String>) {
    if let Some(v) = value.map(|v| v.trim().to_ascii_lowercase())
        && !v.is_empty()
        && v != "0"
    {
        map.insert(kind.to_owned(), v);
    }
}

/// The strongest ids first: the order keys are tried in.
const STRENGTH: &[&str] = &[
    "tmdb",
    "tvdb",
    "mb",
    "goodreads",
    "isbn",
    "asin",
    "imdb",
    "tvmaze",
];

fn keys(kind: TitleKind, ids: &BTreeMap<String, String>, suffix: &str) -> Vec<String> {
    STRENGTH
        .iter()
        .filter_map(|k| {
            ids.get(*k)
                .map(|v| format!("{}/{k}:{v}{suffix}", kind.as_str()))
        })
        .collect()
}

fn name_key(kind: TitleKind, media: &Media) -> Option<String> {
    let name = media.title.as_deref()?.trim().to_lowercase();
    let year = media.year?;
    (!name.is_empty()).then(|| format!("{}/name:{name}|{year}", kind.as_str()))
}

fn one(kind: TitleKind, ids: BTreeMap<String, String>, media: &Media, creates: bool) -> Vec<Title> {
    let keys = keys(kind, &ids, "");
    let name_key = name_key(kind, media);
    if keys.is_empty() && name_key.is_none() {
        return Vec::new();
    }
    vec![Title {
        kind,
        keys,
        name_key,
        ids,
        name: media
            .title
            .clone()
            .or_else(|| media.album.clone())
            .unwrap_or_default(),
        year: media.year,
        season: None,
        episode: None,
        episode_title: None,
        parent: None,
        pack: false,
        creates,
    }]
}

fn season(media: &Media, number: i32, creates: bool, pack: bool) -> Title {
    let ids = series_ids(&media.ids);
    Title {
        kind: TitleKind::Season,
        keys: keys(TitleKind::Season, &ids, &format!("/s{number}")),
        name_key: None,
        ids,
        name: series_name(media),
        year: media.year,
        season: Some(number),
        episode: None,
        episode_title: None,
        parent: None,
        pack,
        creates,
    }
}

fn series_name(media: &Media) -> String {
    media
        .series
        .clone()
        .or_else(|| media.title.clone())
        .unwrap_or_default()
}

/// Each episode by its own ids and its series' (with its numbers); the seasons of a pack (an event naming
/// more than one episode of a season) as titles of their own, which a single episode joins but never starts.
fn episodes(event: &Event, media: &Media, creates: bool) -> Vec<Title> {
    let series = series_ids(&media.ids);
    let mut out: Vec<Title> = Vec::new();
    let mut per_season: BTreeMap<i32, usize> = BTreeMap::new();
    for e in &media.episodes {
        *per_season.entry(e.season.unwrap_or(0)).or_default() += 1;
    }
    for e in &media.episodes {
        let (Some(s), Some(n)) = (e.season, e.episode) else {
            continue;
        };
        let mut ids = BTreeMap::new();
        put(&mut ids, "tvdb", e.ids.tvdb.map(|v| v.to_string()));
        put(&mut ids, "tmdb", e.ids.tmdb.map(|v| v.to_string()));
        put(&mut ids, "imdb", e.ids.imdb.clone());
        let mut keys = keys(TitleKind::Episode, &ids, "");
        keys.extend(self::keys(
            TitleKind::Episode,
            &series,
            &format!("/s{s}e{n}"),
        ));
        if keys.is_empty() {
            continue;
        }
        // The episode's ids and its series' side by side, the series' marked as such.
        let mut all = ids;
        for (k, v) in &series {
            all.insert(format!("series_{k}"), v.clone());
        }
        out.push(Title {
            kind: TitleKind::Episode,
            keys,
            name_key: None,
            ids: all,
            name: series_name(media),
            year: media.year,
            season: Some(s),
            episode: Some(n),
            episode_title: e.title.clone(),
            parent: None,
            pack: false,
            creates,
        });
    }
    if series.is_empty() || matches!(event.event, EventKind::LibraryDeleted) {
        return out;
    }
    // Each season these episodes are in: a pack's starts its story, a single episode's only joins one.
    let episodes = out.len();
    for (number, count) in per_season {
        let pack = count > 1;
        let title = season(media, number, creates && pack, pack);
        if title.keys.is_empty() {
            continue;
        }
        let index = out.len();
        for t in out[..episodes].iter_mut() {
            if t.season == Some(number) {
                t.parent = Some(index);
            }
        }
        out.push(title);
    }
    out
}
