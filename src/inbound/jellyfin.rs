//! Jellyfin, through jellyfin-plugin-webhook (research §3): a flat bag of PascalCase variables, sent whole by
//! "Send All Properties" (numbers, booleans, `N`-format Guids, ticks) or rendered by a user's template (the
//! same keys, every value possibly a string, Guids possibly with dashes). Both read the same here. Keys are
//! matched exactly, then case-insensitively.

use super::media_server::{
    PlaybackParts, Sections, episode_run, guid, is_local, media_type, parsed, ticks_to_ms,
};
use super::{InboundError, ParseContext, Parsed, lenient};
use crate::event::{Episode, EpisodeIds, EventKind, Media, MediaIds, MediaType, Track, User};
use crate::playback::{Action, Signal};
use serde_json::{Map, Value};

/// The variable bag.
struct Vars(Map<String, Value>);

impl Vars {
    fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key).or_else(|| {
            self.0
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v)
        })
    }

    fn str(&self, key: &str) -> Option<String> {
        self.get(key).cloned().and_then(lenient::value_to_string)
    }

    fn int(&self, key: &str) -> Option<i64> {
        self.get(key).and_then(lenient::value_to_i64)
    }

    fn number(&self, key: &str) -> Option<f64> {
        self.get(key).and_then(lenient::value_to_f64)
    }

    fn flag(&self, key: &str) -> Option<bool> {
        self.get(key).and_then(lenient::value_to_bool)
    }

    fn guid(&self, key: &str) -> Option<String> {
        guid(self.str(key))
    }

    /// `Provider_<name>`: the lower-cased provider key the plugin writes.
    fn provider(&self, name: &str) -> Option<String> {
        self.str(&format!("Provider_{name}"))
    }

    fn provider_number(&self, name: &str) -> Option<i64> {
        self.provider(name)?
            .trim()
            .parse()
            .ok()
            .filter(|n: &i64| *n > 0)
    }
}

/// Parses one Jellyfin webhook body.
pub fn parse(ctx: &ParseContext<'_>, body: &[u8]) -> Result<Parsed, InboundError> {
    let v = Vars(super::parse_json_object(body)?);
    let app_event = v
        .str("NotificationType")
        .ok_or(InboundError::MissingField("NotificationType"))?;
    let completed = v.flag("PlayedToCompletion").unwrap_or(false);
    let action = match app_event.to_ascii_lowercase().as_str() {
        "playbackstart" => Some(Action::Start),
        "playbackprogress" => Some(Action::Progress {
            paused: v.flag("IsPaused").unwrap_or(false),
        }),
        "playbackstop" => Some(Action::Stop { completed }),
        _ => None,
    };
    let save_reason = v.str("SaveReason").unwrap_or_default().to_ascii_lowercase();
    let kind = match (app_event.to_ascii_lowercase().as_str(), action) {
        // Until the session state says otherwise (see `crate::playback`).
        (_, Some(action)) => action.kind(),
        ("generic", _) => EventKind::Test,
        ("itemadded", _) => EventKind::LibraryNew,
        ("itemdeleted", _) => EventKind::LibraryDeleted,
        ("authenticationsuccess", _) => EventKind::UserAuthenticated,
        ("authenticationfailure", _) => EventKind::UserAuthenticationFailed,
        ("usercreated", _) => EventKind::UserCreated,
        ("sessionstart", _) => EventKind::SessionCreated,
        ("userdatasaved", _) if save_reason == "toggleplayed" => {
            if v.flag("Played").unwrap_or(false) {
                EventKind::LibraryWatched
            } else {
                EventKind::LibraryUnwatched
            }
        }
        ("userdatasaved", _) if save_reason == "updateuserrating" => EventKind::LibraryRated,
        // Tasks, plugins, other user changes, the other UserDataSaved reasons, and anything newer.
        _ => EventKind::Other,
    };
    let mut source = ctx.source_info(app_event);
    source.server = v.str("ServerName");
    source.version = v.str("ServerVersion").or(source.version);
    source.url = v.str("ServerUrl");
    let item_id = v.guid("ItemId");
    let mut media = item_id.is_some().then(|| media_of(&v));
    if kind == EventKind::LibraryRated
        && let Some(m) = media.as_mut()
    {
        m.rating = v.number("Rating");
    }
    let position_ms = ticks_to_ms(v.int("PlaybackPositionTicks"));
    let session_id = v.guid("Id");
    let remote = v.str("RemoteEndPoint");
    let user_name = v.str("NotificationUsername").or_else(|| v.str("Username"));
    let user = (user_name.is_some() || v.guid("UserId").is_some()).then(|| User {
        name: user_name,
        id: v.guid("UserId"),
        remote_address: remote.clone(),
    });
    let device = v.str("DeviceName");
    let playback = PlaybackParts {
        client: v.str("ClientName").or_else(|| v.str("Client")),
        session_id: session_id.clone(),
        position_ms: action.and(position_ms),
        duration_ms: action.and_then(|_| ticks_to_ms(v.int("RunTimeTicks"))),
        completed: action.map(|_| completed),
        local: is_local(remote.as_deref()),
        device: device.clone(),
    };
    // Playback, sign-ins and new sessions say where they happened; library events do not.
    let playback = if action.is_some()
        || matches!(
            kind,
            EventKind::SessionCreated
                | EventKind::UserAuthenticated
                | EventKind::UserAuthenticationFailed
        ) {
        playback.build()
    } else {
        None
    };
    // One session per device when the session id was left out of a template.
    let signal = Signal::of(
        action,
        session_id.or_else(|| v.str("DeviceId")),
        item_id,
        position_ms,
    );
    let sections = Sections {
        media,
        playback,
        user,
    };
    Ok(parsed(ctx.received_at, kind, source, sections, signal))
}

fn media_of(v: &Vars) -> Media {
    let kind = media_type(v.str("ItemType").as_deref());
    let as_i32 = |n: Option<i64>| n.and_then(|n| i32::try_from(n).ok());
    let premiere = v.str("PremiereDate");
    // `Year` of an episode is the series' year; its own is its premiere date's.
    let year = match kind {
        MediaType::Episode => lenient::year_of_date(premiere.as_deref()),
        _ => None,
    }
    .or_else(|| as_i32(v.int("Year").filter(|y| *y > 0)))
    .or_else(|| lenient::year_of_date(premiere.as_deref()));
    let server_url = v
        .str("ServerUrl")
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"));
    let poster_url = match (server_url, v.guid("ItemId")) {
        (Some(base), Some(id)) => Some(format!(
            "{}/Items/{id}/Images/Primary",
            base.trim_end_matches('/')
        )),
        _ => None,
    };
    let mut media = Media {
        kind,
        title: v.str("Name"),
        year,
        overview: v.str("Overview"),
        genres: v
            .str("Genres")
            .map(|g| lenient::comma_separated(&g))
            .unwrap_or_default(),
        poster_url,
        ..Media::default()
    };
    let title_ids = || MediaIds {
        tmdb: v.provider_number("tmdb"),
        imdb: v.provider("imdb"),
        tvdb: v.provider_number("tvdb"),
        tvmaze: v.provider_number("tvmaze"),
        ..MediaIds::default()
    };
    match kind {
        MediaType::Episode => {
            let season = as_i32(v.int("SeasonNumber"));
            let first = as_i32(v.int("EpisodeNumber"));
            media.title = v.str("SeriesName").or(media.title);
            media.series = v.str("SeriesName");
            media.season = season;
            // The provider ids of an episode item are the episode's.
            let ids = EpisodeIds {
                tvdb: v.provider_number("tvdb"),
                imdb: v.provider("imdb"),
                tmdb: v.provider_number("tmdb"),
            };
            let air_date = lenient::date_only(premiere.as_deref());
            let episode = Episode {
                season,
                episode: first,
                title: v.str("Name"),
                air_date,
                ids,
            };
            media.episodes = episode_run(episode, as_i32(v.int("EpisodeNumberEnd")));
        }
        MediaType::Season => {
            media.title = v.str("SeriesName").or(media.title);
            media.series = v.str("SeriesName");
            media.season = as_i32(v.int("SeasonNumber"));
        }
        MediaType::Series => {
            media.series = v.str("Name");
            media.ids = title_ids();
        }
        MediaType::Track => {
            media.artist = v.str("Artist");
            media.album = v.str("Album");
            media.tracks = vec![Track {
                number: None,
                title: v.str("Name"),
            }];
            media.ids.musicbrainz_album = v.provider("musicbrainzalbum");
            media.ids.musicbrainz_artist = v
                .provider("musicbrainzartist")
                .or_else(|| v.provider("musicbrainzalbumartist"));
        }
        MediaType::Album => {
            media.artist = v.str("Artist");
            media.album = v.str("Name");
            media.ids.musicbrainz_album = v.provider("musicbrainzalbum");
            media.ids.musicbrainz_artist = v.provider("musicbrainzalbumartist");
        }
        MediaType::Artist => {
            media.artist = v.str("Name");
            media.ids.musicbrainz_artist = v.provider("musicbrainzartist");
        }
        MediaType::Movie | MediaType::Book | MediaType::Author | MediaType::Other => {
            media.ids = title_ids()
        }
    }
    media
}
