//! Emby Server webhooks (research §4): PascalCase JSON (`Event` dotted lower-case, `User`, a full `Item`
//! with numeric-string `Id`, `Server`, `Session`, `PlaybackInfo`), sent as the body or as the form field
//! `data` (the transport is unwrapped before this parser sees it).

use super::media_server::{
    PlaybackParts, Sections, episode_run, guid, is_local, media_type, parsed, ticks_to_ms,
};
use super::{InboundError, ParseContext, Parsed, lenient};
use crate::event::{Episode, EpisodeIds, EventKind, Media, MediaIds, MediaType, Track, User};
use crate::playback::{Action, Signal};
use serde::Deserialize;
use std::collections::HashMap;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Payload {
    #[serde(default, deserialize_with = "lenient::string")]
    event: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    title: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    description: Option<String>,
    #[serde(default, deserialize_with = "lenient::object")]
    user: Option<Named>,
    #[serde(default, deserialize_with = "lenient::object")]
    item: Option<Item>,
    #[serde(default, deserialize_with = "lenient::object")]
    server: Option<Server>,
    #[serde(default, deserialize_with = "lenient::object")]
    session: Option<Session>,
    #[serde(default, deserialize_with = "lenient::object")]
    playback_info: Option<PlaybackInfo>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Named {
    #[serde(default, deserialize_with = "lenient::string")]
    name: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Server {
    #[serde(default, deserialize_with = "lenient::string")]
    name: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    version: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Session {
    #[serde(default, deserialize_with = "lenient::string")]
    id: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    remote_end_point: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    client: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    device_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    device_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PlaybackInfo {
    #[serde(default, deserialize_with = "lenient::bool_any")]
    played_to_completion: Option<bool>,
    #[serde(default, deserialize_with = "lenient::i64_any")]
    position_ticks: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Item {
    #[serde(default, deserialize_with = "lenient::string")]
    id: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    name: Option<String>,
    #[serde(rename = "Type", default, deserialize_with = "lenient::string")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    overview: Option<String>,
    #[serde(default, deserialize_with = "lenient::positive_i64")]
    production_year: Option<i64>,
    #[serde(default, deserialize_with = "lenient::string")]
    premiere_date: Option<String>,
    #[serde(default, deserialize_with = "lenient::positive_i64")]
    run_time_ticks: Option<i64>,
    #[serde(default, deserialize_with = "lenient::string_list")]
    genres: Vec<String>,
    #[serde(default, deserialize_with = "lenient::object")]
    provider_ids: Option<HashMap<String, serde_json::Value>>,
    #[serde(default, deserialize_with = "lenient::string")]
    series_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::i64_any")]
    index_number: Option<i64>,
    #[serde(default, deserialize_with = "lenient::i64_any")]
    index_number_end: Option<i64>,
    #[serde(default, deserialize_with = "lenient::i64_any")]
    parent_index_number: Option<i64>,
    #[serde(default, deserialize_with = "lenient::string")]
    album: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    album_artist: Option<String>,
    #[serde(default, deserialize_with = "lenient::string_list")]
    artists: Vec<String>,
    #[serde(default, deserialize_with = "lenient::object")]
    user_data: Option<UserData>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UserData {
    #[serde(default, deserialize_with = "lenient::f64_any")]
    rating: Option<f64>,
}

impl Item {
    /// A provider id (`Tmdb`, `Imdb`, `MusicBrainzAlbum`…), whatever its key's case.
    fn provider(&self, name: &str) -> Option<String> {
        let ids = self.provider_ids.as_ref()?;
        ids.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| lenient::value_to_string(v.clone()))
    }

    fn provider_number(&self, name: &str) -> Option<i64> {
        self.provider(name)?.trim().parse().ok().filter(|n| *n > 0)
    }
}

/// Parses one Emby webhook (the JSON itself, form field `data` already taken out).
pub fn parse(ctx: &ParseContext<'_>, body: &[u8]) -> Result<Parsed, InboundError> {
    let p: Payload = super::parse_json_object(body)?;
    let app_event = p.event.clone().ok_or(InboundError::MissingField("Event"))?;
    let info = p.playback_info.unwrap_or_default();
    let completed = info.played_to_completion.unwrap_or(false);
    let action = match app_event.to_ascii_lowercase().as_str() {
        "playback.start" => Some(Action::Start),
        "playback.pause" => Some(Action::Pause),
        "playback.unpause" => Some(Action::Resume),
        "playback.stop" => Some(Action::Stop { completed }),
        _ => None,
    };
    let kind = match (app_event.to_ascii_lowercase().as_str(), action) {
        (_, Some(action)) => action.kind(),
        ("system.notificationtest" | "system.webhooktest", _) => EventKind::Test,
        ("item.rate", _) => EventKind::LibraryRated,
        ("item.markplayed", _) => EventKind::LibraryWatched,
        ("item.markunplayed", _) => EventKind::LibraryUnwatched,
        ("library.new", _) => EventKind::LibraryNew,
        ("library.deleted", _) => EventKind::LibraryDeleted,
        ("user.authenticated", _) => EventKind::UserAuthenticated,
        ("user.authenticationfailed", _) => EventKind::UserAuthenticationFailed,
        ("user.created", _) => EventKind::UserCreated,
        _ => EventKind::Other,
    };
    let server = p.server.unwrap_or_default();
    let mut source = ctx.source_info(app_event);
    source.server = server.name;
    source.version = server.version.or(source.version);
    let session = p.session.unwrap_or_default();
    let item = p.item;
    let mut media = item.as_ref().map(media_of);
    if kind == EventKind::LibraryRated
        && let Some(m) = media.as_mut()
    {
        m.rating = item
            .as_ref()
            .and_then(|i| i.user_data.as_ref())
            .and_then(|u| u.rating);
    }
    let position_ms = ticks_to_ms(info.position_ticks);
    let remote = session.remote_end_point.clone().or_else(|| {
        // A failed sign-in has no session; its description reads "IP address: 198.51.100.200".
        p.description
            .as_deref()
            .and_then(|d| d.strip_prefix("IP address:"))
            .map(|ip| ip.trim().to_owned())
            .filter(|ip| !ip.is_empty())
    });
    let user = match p.user {
        Some(u) => Some(User {
            name: u.name,
            id: guid(u.id),
            remote_address: remote.clone(),
        }),
        // "Failed login attempt for user admin on Chrome Windows": the only place the name is.
        None if kind == EventKind::UserAuthenticationFailed => Some(User {
            name: p.title.as_deref().and_then(failed_login_user),
            id: None,
            remote_address: remote.clone(),
        }),
        None => None,
    };
    let located = action.is_some()
        || matches!(
            kind,
            EventKind::UserAuthenticated | EventKind::UserAuthenticationFailed
        );
    let playback = located
        .then(|| {
            PlaybackParts {
                device: session.device_name.clone(),
                client: session.client.clone(),
                session_id: session.id.clone(),
                position_ms: action.and(position_ms),
                duration_ms: action
                    .and_then(|_| ticks_to_ms(item.as_ref().and_then(|i| i.run_time_ticks))),
                completed: action.map(|_| completed),
                local: is_local(remote.as_deref()),
            }
            .build()
        })
        .flatten();
    let signal = Signal::of(
        action,
        session.id.clone().or(session.device_id.clone()),
        item.as_ref().and_then(|i| i.id.clone()),
        position_ms,
    );
    let sections = Sections {
        media,
        playback,
        user,
    };
    Ok(parsed(ctx.received_at, kind, source, sections, signal))
}

/// The user name in Emby's English "Failed login attempt for user NAME on DEVICE".
fn failed_login_user(title: &str) -> Option<String> {
    let rest = title.split_once(" for user ")?.1;
    let name = rest
        .rsplit_once(" on ")
        .map_or(rest, |(name, _)| name)
        .trim();
    (!name.is_empty()).then(|| name.to_owned())
}

fn media_of(i: &Item) -> Media {
    let kind = media_type(i.kind.as_deref());
    let as_i32 = |n: Option<i64>| n.and_then(|n| i32::try_from(n).ok());
    let mut media = Media {
        kind,
        title: i.name.clone(),
        year: as_i32(i.production_year)
            .or_else(|| lenient::year_of_date(i.premiere_date.as_deref())),
        overview: i.overview.clone(),
        genres: i.genres.clone(),
        ..Media::default()
    };
    let title_ids = MediaIds {
        tmdb: i.provider_number("Tmdb"),
        imdb: i.provider("Imdb"),
        tvdb: i.provider_number("Tvdb"),
        tvmaze: i.provider_number("TvMaze"),
        ..MediaIds::default()
    };
    let artist = i
        .album_artist
        .clone()
        .or_else(|| i.artists.first().cloned());
    match kind {
        MediaType::Episode => {
            let season = as_i32(i.parent_index_number);
            let first = as_i32(i.index_number);
            media.title = i.series_name.clone().or(media.title);
            media.series = i.series_name.clone();
            media.season = season;
            // An episode's `ProviderIds` are the episode's own.
            let episode = Episode {
                season,
                episode: first,
                title: i.name.clone(),
                air_date: lenient::date_only(i.premiere_date.as_deref()),
                ids: EpisodeIds {
                    tvdb: title_ids.tvdb,
                    imdb: title_ids.imdb,
                    tmdb: title_ids.tmdb,
                },
            };
            media.episodes = episode_run(episode, as_i32(i.index_number_end));
        }
        MediaType::Season => {
            media.title = i.series_name.clone().or(media.title);
            media.series = i.series_name.clone();
            media.season = as_i32(i.index_number);
        }
        MediaType::Track => {
            media.artist = artist;
            media.album = i.album.clone();
            media.tracks = vec![Track {
                number: i.index_number.map(|n| n.to_string()),
                title: i.name.clone(),
            }];
            media.ids.musicbrainz_album = i.provider("MusicBrainzAlbum");
            media.ids.musicbrainz_artist = i
                .provider("MusicBrainzArtist")
                .or_else(|| i.provider("MusicBrainzAlbumArtist"));
        }
        MediaType::Album => {
            media.artist = artist;
            media.album = i.name.clone();
            media.ids.musicbrainz_album = i.provider("MusicBrainzAlbum");
            media.ids.musicbrainz_artist = i.provider("MusicBrainzAlbumArtist");
        }
        MediaType::Artist => {
            media.artist = i.name.clone();
            media.ids.musicbrainz_artist = i.provider("MusicBrainzArtist");
        }
        MediaType::Series => {
            media.series = i.name.clone();
            media.ids = title_ids;
        }
        MediaType::Movie | MediaType::Book | MediaType::Author | MediaType::Other => {
            media.ids = title_ids
        }
    }
    media
}

#[cfg(test)]
mod tests {
    use super::failed_login_user;

    #[test]
    fn the_failed_user_comes_from_the_title() {
        assert_eq!(
            failed_login_user("Failed login attempt for user admin on Chrome Windows").as_deref(),
            Some("admin")
        );
        assert_eq!(
            failed_login_user("Failed login attempt for user bob").as_deref(),
            Some("bob")
        );
        assert_eq!(failed_login_user("Anmeldung fehlgeschlagen"), None);
    }
}
