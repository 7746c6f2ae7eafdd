//! The players Home Assistant is told of (pure): each device a media server (Plex, Jellyfin, Emby, Tautulli)
//! plays on, for the users `mqtt.players` names — `off`, `idle`, `playing` or `paused`, with what plays.
//! Position updates go out at most every [`PROGRESS_EVERY_SECS`]; a player that heard no stop is refreshed
//! only while what it plays could still be playing, then called `off`, and its sensor expires on its own
//! when hookarr stops refreshing it.

use super::link::Message;
use super::topics::{Topics, object_id};
use crate::event::{Event, EventKind};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A player sensor nothing refreshed for this long becomes unavailable in Home Assistant.
pub const EXPIRE_AFTER_SECS: u64 = 300;
/// How often hookarr refreshes a playing or paused player that heard nothing new.
pub const REFRESH_EVERY_SECS: i64 = 60;
/// Position updates of one player at most this often.
pub const PROGRESS_EVERY_SECS: i64 = 10;
/// A player paused or playing with no word for this long past the end of what it plays (or this long at
/// all, when the length is unknown) is taken to be off: its stop never came.
const GRACE_SECS: i64 = 30 * 60;
const UNKNOWN_LENGTH_SECS: i64 = 4 * 3600;

/// What hookarr knows of one player.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlayerDoc {
    /// `<source>_<device>`, as an object id.
    pub id: String,
    pub source: String,
    pub app: String,
    pub device: Option<String>,
    pub client: Option<String>,
    pub user: Option<String>,
    /// `off`, `idle`, `playing` or `paused`.
    pub state: String,
    pub media_type: Option<String>,
    pub title: Option<String>,
    pub series: Option<String>,
    pub season: Option<i32>,
    pub episode: Option<i32>,
    pub episode_title: Option<String>,
    pub year: Option<i32>,
    pub position_ms: Option<i64>,
    pub duration_ms: Option<i64>,
    pub progress: Option<f64>,
    pub poster_url: Option<String>,
    /// The time of the event the state comes from.
    pub event_at: DateTime<Utc>,
    /// When the state was last published.
    pub published_at: Option<DateTime<Utc>>,
}

/// The player an event plays on, when it is a playback event that names one.
pub fn player_id(event: &Event) -> Option<String> {
    let p = event.data.playback.as_ref()?;
    let device = p
        .device
        .as_deref()
        .or(p.client.as_deref())
        .or(p.session_id.as_deref())?;
    Some(object_id(&format!("{}_{device}", event.source.name)))
}

/// The state a playback event puts its player in: a stop that played to the end is a scrobble (Jellyfin,
/// Emby), while Plex scrobbles as it still plays.
fn state_of(event: &Event, was: &str) -> Option<&'static str> {
    let completed = event.data.playback.as_ref().and_then(|p| p.completed) == Some(true);
    Some(match event.event {
        EventKind::PlaybackScrobble if completed => "idle",
        EventKind::PlaybackStart | EventKind::PlaybackResume | EventKind::PlaybackProgress => {
            "playing"
        }
        EventKind::PlaybackPause => "paused",
        EventKind::PlaybackStop => "idle",
        EventKind::PlaybackScrobble => match was {
            "paused" => "paused",
            _ => "playing",
        },
        _ => return None,
    })
}

impl PlayerDoc {
    /// The device's name: its own, then the app's player name, with the server.
    pub fn display_name(&self) -> String {
        let device = self
            .device
            .clone()
            .or_else(|| self.client.clone())
            .unwrap_or_else(|| "Player".into());
        format!("{device} ({})", crate::stories::capitalized(&self.source))
    }

    /// The doc after playback event `event` and whether to publish it now: `None` when the event is no
    /// playback of a player, or older than what the doc holds; `Some((doc, false))` for a position update
    /// within [`PROGRESS_EVERY_SECS`] of the last publish (kept, not sent).
    pub fn after(doc: Option<PlayerDoc>, event: &Event) -> Option<(PlayerDoc, bool)> {
        let id = player_id(event)?;
        let was = doc.as_ref().map_or("off", |d| d.state.as_str()).to_owned();
        let state = state_of(event, &was)?;
        if doc.as_ref().is_some_and(|d| event.timestamp < d.event_at) {
            return None;
        }
        let p = event.data.playback.clone().unwrap_or_default();
        let media = event.data.media.clone().unwrap_or_default();
        let episode = media.episodes.first();
        let published_at = doc.as_ref().and_then(|d| d.published_at);
        let quiet_update = event.event == EventKind::PlaybackProgress
            && was == state
            && published_at
                .is_some_and(|at| (event.timestamp - at).num_seconds() < PROGRESS_EVERY_SECS);
        let d = PlayerDoc {
            id,
            source: event.source.name.clone(),
            app: event.source.app.clone(),
            device: p.device.clone(),
            client: p.client.clone(),
            user: event.data.user.as_ref().and_then(|u| u.name.clone()),
            state: state.to_owned(),
            media_type: serde_json::to_value(media.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned)),
            title: media.title.clone(),
            series: media.series.clone(),
            season: episode.and_then(|e| e.season).or(media.season),
            episode: episode.and_then(|e| e.episode),
            episode_title: episode.and_then(|e| e.title.clone()),
            year: media.year,
            position_ms: p.position_ms,
            duration_ms: p.duration_ms,
            progress: p
                .progress
                .or_else(|| progress_of(p.position_ms, p.duration_ms)),
            poster_url: media.poster_url.clone(),
            event_at: event.timestamp,
            published_at,
        };
        Some((d, !quiet_update))
    }

    /// The retained state message.
    pub fn message(&self, t: &Topics) -> Message {
        let payload = json!({
            "state": self.state,
            "title": self.title,
            "series": self.series,
            "season": self.season,
            "episode": self.episode,
            "episode_title": self.episode_title,
            "year": self.year,
            "media_type": self.media_type,
            "user": self.user,
            "device": self.device,
            "client": self.client,
            "progress": self.progress,
            "position_s": self.position_ms.map(|ms| ms / 1000),
            "duration_s": self.duration_ms.map(|ms| ms / 1000),
            "poster_url": self.poster_url,
            "server": self.source,
            "since": self.event_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        });
        Message::new(t.player(&self.id), payload.to_string(), true)
    }

    /// What a refresh at `now` publishes: the same state again while it could still be true, `off` once a
    /// stop is overdue; `None` when nothing is due (idle and off need no refresh, their sensor may expire).
    pub fn refresh(&self, now: DateTime<Utc>) -> Option<PlayerDoc> {
        if !matches!(self.state.as_str(), "playing" | "paused") {
            return None;
        }
        if self
            .published_at
            .is_some_and(|at| (now - at).num_seconds() < REFRESH_EVERY_SECS)
        {
            return None;
        }
        let left_secs = match (self.position_ms, self.duration_ms) {
            (Some(at), Some(len)) if len > 0 => (len - at).max(0) / 1000 + GRACE_SECS,
            _ => UNKNOWN_LENGTH_SECS,
        };
        let mut d = self.clone();
        if now - self.event_at > Duration::seconds(left_secs) {
            d.state = "off".into();
        }
        Some(d)
    }
}

/// Progress in percent, from position and length.
fn progress_of(position: Option<i64>, duration: Option<i64>) -> Option<f64> {
    match (position, duration) {
        (Some(p), Some(d)) if d > 0 => Some(((p as f64 / d as f64) * 1000.0).round() / 10.0),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{EventData, Media, MediaType, Playback, SourceInfo, User};

    fn play(kind: EventKind, at: i64, position_ms: i64) -> Event {
        Event::new(
            kind,
            DateTime::from_timestamp(at, 0).unwrap(),
            SourceInfo {
                name: "jellyfin".into(),
                app: "jellyfin".into(),
                ..SourceInfo::default()
            },
            EventData {
                media: Some(Media {
                    kind: MediaType::Movie,
                    title: Some("Dune".into()),
                    ..Media::default()
                }),
                playback: Some(Playback {
                    device: Some("Living Room TV".into()),
                    client: Some("Jellyfin Android TV".into()),
                    position_ms: Some(position_ms),
                    duration_ms: Some(600_000),
                    ..Playback::default()
                }),
                user: Some(User {
                    name: Some("kenji".into()),
                    ..User::default()
                }),
                ..EventData::default()
            },
        )
    }

    fn published(d: (PlayerDoc, bool)) -> PlayerDoc {
        let (mut d, send) = d;
        assert!(send);
        d.published_at = Some(d.event_at);
        d
    }

    #[test]
    fn start_pause_stop_move_the_player_and_progress_is_sent_at_most_every_ten_seconds() {
        let d = published(PlayerDoc::after(None, &play(EventKind::PlaybackStart, 100, 0)).unwrap());
        assert_eq!(
            (d.state.as_str(), d.id.as_str()),
            ("playing", "jellyfin_living_room_tv")
        );
        let (kept, send) = PlayerDoc::after(
            Some(d.clone()),
            &play(EventKind::PlaybackProgress, 105, 5_000),
        )
        .unwrap();
        assert!(!send, "five seconds after the last publish");
        assert_eq!(kept.position_ms, Some(5_000));
        let d = published(
            PlayerDoc::after(Some(kept), &play(EventKind::PlaybackProgress, 111, 11_000)).unwrap(),
        );
        assert_eq!(d.progress, Some(1.8));
        let d = published(
            PlayerDoc::after(Some(d), &play(EventKind::PlaybackPause, 112, 12_000)).unwrap(),
        );
        assert_eq!(d.state, "paused");
        assert!(
            PlayerDoc::after(Some(d.clone()), &play(EventKind::PlaybackProgress, 90, 0)).is_none(),
            "an older event changes nothing"
        );
        let mut scrobble = play(EventKind::PlaybackScrobble, 115, 15_000);
        let (d, _) = PlayerDoc::after(Some(d), &scrobble).unwrap();
        assert_eq!(d.state, "paused", "Plex scrobbles while it still plays");
        scrobble.data.playback.as_mut().unwrap().completed = Some(true);
        let (d, _) = PlayerDoc::after(Some(d), &scrobble).unwrap();
        assert_eq!(d.state, "idle", "a stop that played to the end");
        let d = published(
            PlayerDoc::after(Some(d), &play(EventKind::PlaybackStop, 120, 20_000)).unwrap(),
        );
        assert_eq!(d.state, "idle");
        assert!(d.refresh(d.event_at + Duration::hours(5)).is_none());
    }

    #[test]
    fn a_player_whose_stop_never_came_is_refreshed_then_turned_off() {
        let d = published(PlayerDoc::after(None, &play(EventKind::PlaybackStart, 0, 0)).unwrap());
        let start = d.event_at;
        assert!(
            d.refresh(start + Duration::seconds(30)).is_none(),
            "refreshed a minute apart"
        );
        let again = d.refresh(start + Duration::seconds(61)).unwrap();
        assert_eq!(again.state, "playing");
        // 10 minutes of film and 30 of grace: past them, the stop is overdue.
        let late = d
            .refresh(start + Duration::seconds(600 + 1800 + 1))
            .unwrap();
        assert_eq!(late.state, "off");
    }

    #[test]
    fn a_hostile_device_name_is_one_topic_level_without_wildcards() {
        let mut e = play(EventKind::PlaybackStart, 0, 0);
        e.data.playback.as_mut().unwrap().device = Some("../#/+ evil\u{0}".into());
        let (d, _) = PlayerDoc::after(None, &e).unwrap();
        assert!(
            d.id.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
            "{}",
            d.id
        );
        let m: crate::config::Mqtt = serde_norway::from_str("url: mqtt://h").unwrap();
        let topic = d.message(&Topics::new(&m)).topic;
        assert_eq!(topic.split('/').count(), 4, "{topic}");
    }

    #[test]
    fn a_playback_without_a_device_client_or_session_is_no_player() {
        let mut e = play(EventKind::PlaybackStart, 0, 0);
        e.data.playback = Some(Playback::default());
        assert!(PlayerDoc::after(None, &e).is_none());
        let library = play(EventKind::LibraryNew, 0, 0);
        assert!(PlayerDoc::after(None, &library).is_none());
    }
}
