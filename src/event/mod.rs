//! The normalized event of CONTRACT §4: what every inbound payload becomes and what every later stage
//! (storage, routing, templates, the API) sees. Pure data: no axum, sqlx or reqwest in here.

mod ids;
mod kind;
mod summary;

pub use ids::{EventId, new_prefixed_id};
pub use kind::EventKind;
pub use summary::{ready_to, span, summarize};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One normalized event: the envelope of CONTRACT §4.2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Event {
    /// `evt_<ulid>`: sortable by creation time.
    pub id: EventId,
    /// The normalized event name (`library.new`, `health.issue`, …).
    pub event: EventKind,
    /// When hookarr received the payload, in UTC.
    #[serde(with = "millis_rfc3339")]
    pub timestamp: DateTime<Utc>,
    /// Which source sent it and what the app called it.
    pub source: SourceInfo,
    /// One human line, e.g. `Dune: Part Two (2024) imported — Bluray-2160p`.
    pub summary: String,
    /// The normalized sections that apply to this event.
    pub data: EventData,
}

impl Event {
    /// A new event (fresh id) with its one-line summary worked out.
    pub fn new(
        kind: EventKind,
        timestamp: DateTime<Utc>,
        source: SourceInfo,
        data: EventData,
    ) -> Event {
        Event {
            id: EventId::new(),
            event: kind,
            timestamp,
            summary: summarize(kind, &source, &data),
            source,
            data,
        }
    }

    /// Gives the event another name, and the summary that goes with it.
    pub fn rename(&mut self, kind: EventKind) {
        if kind != self.event {
            self.event = kind;
            self.summary = summarize(kind, &self.source, &self.data);
        }
    }
}

/// Where an event came from (`source` in the envelope).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SourceInfo {
    /// The hookarr source name (`radarr`, `radarr-4k`).
    pub name: String,
    /// The app kind (`radarr`, `sonarr`, …).
    pub app: String,
    /// The app's own event name, verbatim (`Download`, `media.play`).
    pub event: String,
    /// The Arr `instanceName`, else the app name from the User-Agent.
    pub instance: Option<String>,
    /// The media server's own name (Plex/Jellyfin/Emby).
    pub server: Option<String>,
    /// The app's version, from the User-Agent or payload.
    pub version: Option<String>,
    /// The app's own URL (`applicationUrl`).
    pub url: Option<String>,
}

/// The sections of an event. A section that does not apply is absent, never `{}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<Media>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<Release>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<Deleted>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download: Option<Download>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub playback: Option<Playback>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<Update>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification: Option<Notification>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grab: Option<Grab>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<Request>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue: Option<Issue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<Comment>,
    /// What a `hookarr.*` alert is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<Alert>,
    /// The title's story a derived event (`media.available`, `media.upgraded`, `media.stuck`) is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub story: Option<StoryRef>,
    /// The source a `hookarr.source_silent` / `hookarr.source_back` is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub silence: Option<Silence>,
    /// Every file of a multi-file import (a season pack, an album, an audiobook in parts); `data.file` is then
    /// their folder and total size. Absent for one file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileInfo>,
}

/// What kind of library item an event is about.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MediaType {
    Movie,
    Episode,
    Series,
    Season,
    Artist,
    Album,
    Track,
    Book,
    Author,
    #[default]
    Other,
}

/// The library item (`data.media`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Media {
    #[serde(rename = "type")]
    pub kind: MediaType,
    /// Movie title; the **series** title for episodes and seasons; album title for albums.
    pub title: Option<String>,
    pub year: Option<i32>,
    pub overview: Option<String>,
    /// Title-level ids (movie, series, artist/album), never an episode's.
    pub ids: MediaIds,
    pub series: Option<String>,
    pub season: Option<i32>,
    pub episodes: Vec<Episode>,
    pub artist: Option<String>,
    pub album: Option<String>,
    pub tracks: Vec<Track>,
    /// The book's author (Readarr); the author's name again on author events.
    pub author: Option<String>,
    pub genres: Vec<String>,
    pub tags: Vec<String>,
    pub poster_url: Option<String>,
    /// 0–10, on `library.rated`.
    pub rating: Option<f64>,
}

/// External ids of the title. Unknown ids are `null` (Arr's `0` becomes `null`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MediaIds {
    pub tmdb: Option<i64>,
    pub imdb: Option<String>,
    pub tvdb: Option<i64>,
    pub tvmaze: Option<i64>,
    pub mal: Option<i64>,
    pub anilist: Option<i64>,
    pub musicbrainz_artist: Option<String>,
    pub musicbrainz_album: Option<String>,
    /// Goodreads book id (Readarr's `goodreadsId`; a string).
    pub goodreads: Option<String>,
    pub goodreads_author: Option<String>,
    /// The monitored edition's ISBN-13 and ASIN.
    pub isbn13: Option<String>,
    pub asin: Option<String>,
}

/// One episode of `media.episodes`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Episode {
    pub season: Option<i32>,
    pub episode: Option<i32>,
    pub title: Option<String>,
    pub air_date: Option<String>,
    pub ids: EpisodeIds,
}

/// Ids of one episode.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EpisodeIds {
    pub tvdb: Option<i64>,
    pub imdb: Option<String>,
    pub tmdb: Option<i64>,
}

/// One track of `media.tracks`. Track numbers are strings (`"A1"` exists).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Track {
    pub number: Option<String>,
    pub title: Option<String>,
}

/// The release that was grabbed or imported (`data.release`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Release {
    pub title: Option<String>,
    pub quality: Option<String>,
    pub quality_version: Option<i32>,
    pub size_bytes: Option<i64>,
    pub indexer: Option<String>,
    pub group: Option<String>,
    pub custom_formats: Vec<String>,
    pub custom_format_score: Option<i64>,
    pub languages: Vec<String>,
    pub flags: Vec<String>,
    /// The indexer's categories (`Movies/UHD`, `TV/HD`; Prowlarr).
    pub categories: Vec<String>,
    /// When the indexer published it, RFC 3339; `null` when unknown.
    pub published_at: Option<String>,
}

/// The file on disk (`data.file`). For a multi-file import, the folder and the total size.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FileInfo {
    pub path: Option<String>,
    pub relative_path: Option<String>,
    pub size_bytes: Option<i64>,
    pub quality: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_info: Option<MediaInfo>,
}

/// Technical details of a file, as the app reports them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MediaInfo {
    pub video_codec: Option<String>,
    pub video_dynamic_range: Option<String>,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub audio_codec: Option<String>,
    pub audio_channels: Option<f64>,
    pub audio_languages: Vec<String>,
    pub subtitles: Vec<String>,
}

/// What was deleted (`data.deleted`): on `library.deleted`, and the replaced files of `library.upgraded`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Deleted {
    /// `item` (the movie/series/artist/album) or `file`.
    pub scope: String,
    /// `upgrade`, `manual`, `missingFromDisk`, … as the app sends it.
    pub reason: Option<String>,
    pub files: Vec<FileInfo>,
    /// For item deletes: whether the app deleted the files from disk too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files_deleted: Option<bool>,
}

impl Deleted {
    /// A whole library item removed (a media server's delete).
    pub fn item() -> Deleted {
        Deleted {
            scope: "item".into(),
            ..Deleted::default()
        }
    }
}

/// The download client's view (`data.download`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Download {
    pub client: Option<String>,
    pub client_type: Option<String>,
    pub id: Option<String>,
    pub status: Option<String>,
    pub messages: Vec<String>,
}

/// A playback session (`data.playback`); the viewer is in `data.user`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Playback {
    pub device: Option<String>,
    pub client: Option<String>,
    pub session_id: Option<String>,
    pub position_ms: Option<i64>,
    pub duration_ms: Option<i64>,
    pub progress: Option<f64>,
    pub completed: Option<bool>,
    pub local: Option<bool>,
}

/// The person acting (`data.user`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct User {
    pub name: Option<String>,
    pub id: Option<String>,
    pub remote_address: Option<String>,
}

/// A health check (`data.health`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Health {
    pub level: Option<String>,
    pub check: Option<String>,
    pub message: Option<String>,
    pub wiki_url: Option<String>,
}

/// An application update (`data.update`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Update {
    pub previous_version: Option<String>,
    pub new_version: Option<String>,
    pub message: Option<String>,
}

/// Who had an indexer manager fetch a release (`data.grab`, Prowlarr): it knows no media, only the caller.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Grab {
    /// `api` (an app fetched the release through it) or `manual` (its own search page).
    pub trigger: Option<String>,
    /// The caller: `Sonarr`, `Radarr`, `Prowlarr`…
    pub source: Option<String>,
    /// The caller's host name or address.
    pub host: Option<String>,
}

/// A person a request app names (`requested_by`, `reported_by`, a comment's `user`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Person {
    /// The display name.
    pub name: Option<String>,
    pub email: Option<String>,
    /// The avatar's URL (may be relative to the request app: Jellyseerr's `/avatarproxy/…`).
    pub avatar: Option<String>,
}

/// A media request (`data.request`, Overseerr/Jellyseerr).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Request {
    /// The request app's id of the request.
    pub id: Option<i64>,
    /// A 4K request (the app says so only in its event text).
    pub is4k: bool,
    /// Approved on creation (the requester may auto-approve).
    pub auto_approved: bool,
    /// `pending`, `approved`, `declined`, `available` or `failed`: what this event says of the request.
    pub status: Option<String>,
    /// The media's status in the request app (`PENDING`, `PROCESSING`, `PARTIALLY_AVAILABLE`, `AVAILABLE`, …).
    pub media_status: Option<String>,
    pub media_status_4k: Option<String>,
    /// The requested seasons of a series (0 = specials).
    pub seasons: Vec<i32>,
    pub requested_by: Option<Person>,
}

/// A reported problem with a title (`data.issue`, Overseerr/Jellyseerr).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Issue {
    pub id: Option<i64>,
    /// `video`, `audio`, `subtitles` or `other`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// `open` or `resolved`.
    pub status: Option<String>,
    /// What the reporter wrote (the issue's first comment).
    pub message: Option<String>,
    pub season: Option<i32>,
    pub episode: Option<i32>,
    pub reported_by: Option<Person>,
}

/// A comment on an issue (`data.comment`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Comment {
    pub message: Option<String>,
    pub user: Option<Person>,
}

/// What one of hookarr's own alerts (`hookarr.delivery_dead`, `hookarr.destination_disabled`) is about
/// (`data.alert`): the destination — a registered webhook's id, or a config destination's name — the
/// delivery, and the event that was being delivered.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Alert {
    pub destination: String,
    pub delivery: Option<String>,
    pub event: Option<String>,
}

/// The story a derived event is about (`data.story`): where it stands and, for `media.stuck`, how long it has
/// waited there.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StoryRef {
    /// `sty_…`: `GET /api/stories/{id}`.
    pub id: String,
    /// The stage the story is at (`requested`, `approved`, `grabbed`, `imported`, `available`, `played`…).
    pub stage: String,
    /// `media.stuck`: seconds the story has waited at `stage`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_secs: Option<i64>,
    /// `media.available`: where it can be watched (the media server's name), or the app that imported it
    /// when no media server is connected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_on: Option<String>,
    /// `media.available`: `media_server` (a media server has it in its library) or `import` (an Arr imported
    /// it and no media server is connected).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// Who requested it (the request app's name for them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_by: Option<String>,
    /// The people (of `people:`) told about this event: its requester and the title's followers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tell: Vec<String>,
    /// For a season: how many of its episodes the story holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub episodes: Option<u32>,
}

/// A source that went quiet, or came back (`data.silence`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Silence {
    /// The hookarr source name.
    pub source: String,
    /// How long it had been quiet (at `source_silent`: so far; at `source_back`: in all), in seconds.
    pub quiet_secs: i64,
    /// Its usual gap between events, learned from its history, in seconds.
    pub usual_gap_secs: i64,
    /// When it was last heard from before the silence.
    pub last_event_at: Option<String>,
}

/// A free-text notification (`data.notification`): what an app that speaks Apprise (Bazarr, Audiobookshelf)
/// sends — a title, a body, and Apprise's type.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Notification {
    pub title: Option<String>,
    pub body: Option<String>,
    /// Apprise's notification type: `info`, `success`, `warning` or `failure`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// Timestamps as RFC 3339 with milliseconds and `Z`, as the contract shows.
pub mod millis_rfc3339 {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Millis, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

/// `Option<DateTime>` as RFC 3339 with milliseconds, or `null` (serialize only).
pub mod opt_millis_rfc3339 {
    use chrono::{DateTime, Utc};
    use serde::Serializer;

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => super::millis_rfc3339::serialize(t, s),
            None => s.serialize_none(),
        }
    }
}

/// Whether an event name matches a glob (`*` matches any run of characters, including dots):
/// `library.*`, `*.failed`, `*`.
pub fn glob_matches(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod glob_tests {
    use super::glob_matches;

    #[test]
    fn globs_match_like_shells() {
        assert!(glob_matches("*", "library.new"));
        assert!(glob_matches("library.*", "library.new"));
        assert!(!glob_matches("library.*", "health.issue"));
        assert!(glob_matches("*.failed", "download.failed"));
        assert!(glob_matches("download.grabbed", "download.grabbed"));
        assert!(!glob_matches("download.grabbed", "download.grabbed2"));
        assert!(glob_matches("l*y.*w", "library.new"));
        assert!(!glob_matches("a*a", "a"));
    }
}
