//! Plex Media Server webhooks (research §2): the JSON of the multipart `payload` part. PascalCase objects
//! (`Account`, `Server`, `Player`, `Metadata`) with camelCase inside; external ids in `Metadata.Guid[]`
//! (new agents) or the legacy `guid` string; positions in milliseconds; no `Player` on library events.

use super::media_server::{PlaybackParts, Sections, parsed, progress};
use super::{InboundError, ParseContext, Parsed, lenient};
use crate::event::{Episode, EpisodeIds, EventKind, Media, MediaIds, MediaType, Track, User};
use crate::playback::{Action, Signal};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
struct Payload {
    #[serde(default, deserialize_with = "lenient::string")]
    event: Option<String>,
    /// `media.rate` has carried the new rating here too.
    #[serde(default, deserialize_with = "lenient::f64_any")]
    rating: Option<f64>,
    #[serde(rename = "Account", default, deserialize_with = "lenient::object")]
    account: Option<Account>,
    #[serde(rename = "Server", default, deserialize_with = "lenient::object")]
    server: Option<Server>,
    #[serde(rename = "Player", default, deserialize_with = "lenient::object")]
    player: Option<Player>,
    #[serde(rename = "Metadata", default, deserialize_with = "lenient::object")]
    metadata: Option<Metadata>,
}

#[derive(Debug, Default, Deserialize)]
struct Account {
    #[serde(default, deserialize_with = "lenient::string")]
    id: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    title: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Server {
    #[serde(default, deserialize_with = "lenient::string")]
    title: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Player {
    #[serde(default, deserialize_with = "lenient::bool_any")]
    local: Option<bool>,
    #[serde(default, deserialize_with = "lenient::string")]
    public_address: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    title: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    uuid: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    #[serde(rename = "type", default, deserialize_with = "lenient::string")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    rating_key: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    guid: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    grandparent_guid: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    parent_guid: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    title: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    parent_title: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    grandparent_title: Option<String>,
    #[serde(default, deserialize_with = "lenient::i64_any")]
    index: Option<i64>,
    #[serde(default, deserialize_with = "lenient::i64_any")]
    parent_index: Option<i64>,
    #[serde(default, deserialize_with = "lenient::positive_i64")]
    year: Option<i64>,
    #[serde(default, deserialize_with = "lenient::positive_i64")]
    parent_year: Option<i64>,
    #[serde(default, deserialize_with = "lenient::string")]
    originally_available_at: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    summary: Option<String>,
    #[serde(default, deserialize_with = "lenient::f64_any")]
    user_rating: Option<f64>,
    #[serde(default, deserialize_with = "lenient::i64_any")]
    view_offset: Option<i64>,
    #[serde(default, deserialize_with = "lenient::positive_i64")]
    duration: Option<i64>,
    #[serde(rename = "Genre", default, deserialize_with = "lenient::list")]
    genres: Vec<Tag>,
    #[serde(rename = "Guid", default, deserialize_with = "lenient::list")]
    guids: Vec<GuidEntry>,
}

#[derive(Debug, Default, Deserialize)]
struct Tag {
    #[serde(default, deserialize_with = "lenient::string")]
    tag: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct GuidEntry {
    #[serde(default, deserialize_with = "lenient::string")]
    id: Option<String>,
}

/// Parses the `payload` JSON of one Plex webhook.
pub fn parse(ctx: &ParseContext<'_>, body: &[u8]) -> Result<Parsed, InboundError> {
    let p: Payload = super::parse_json_object(body)?;
    let app_event = p.event.clone().ok_or(InboundError::MissingField("event"))?;
    let action = match app_event.as_str() {
        "media.play" | "playback.started" => Some(Action::Start),
        "media.pause" => Some(Action::Pause),
        "media.resume" => Some(Action::Resume),
        "media.stop" => Some(Action::Stop { completed: false }),
        "media.scrobble" => Some(Action::Scrobble),
        _ => None,
    };
    let kind = match (action, app_event.as_str()) {
        (Some(action), _) => action.kind(),
        (None, "media.rate") => EventKind::LibraryRated,
        (None, "library.new") => EventKind::LibraryNew,
        // library.on.deck, admin.database.*, device.new and whatever Plex adds next.
        _ => EventKind::Other,
    };
    let mut source = ctx.source_info(app_event);
    source.server = p.server.as_ref().and_then(|s| s.title.clone());
    let player = p.player.unwrap_or_default();
    let mut media = p.metadata.as_ref().map(media_of);
    if kind == EventKind::LibraryRated
        && let Some(m) = media.as_mut()
    {
        m.rating = p.metadata.as_ref().and_then(|m| m.user_rating).or(p.rating);
    }
    let position_ms = p.metadata.as_ref().and_then(|m| m.view_offset);
    let duration_ms = p.metadata.as_ref().and_then(|m| m.duration);
    let signal = Signal::of(
        action,
        player.uuid.clone(),
        p.metadata.as_ref().and_then(|m| m.rating_key.clone()),
        position_ms,
    );
    // The person acting: the viewer, the rater. Library and admin events are nobody's doing.
    let acting = action.is_some() || kind == EventKind::LibraryRated;
    let user = acting.then(|| User {
        name: p.account.as_ref().and_then(|a| a.title.clone()),
        id: p.account.as_ref().and_then(|a| a.id.clone()),
        remote_address: player.public_address.clone(),
    });
    let playback = if source.event == "device.new" {
        // The device that first connected.
        PlaybackParts {
            device: player.title.clone(),
            session_id: player.uuid.clone(),
            local: player.local,
            ..PlaybackParts::default()
        }
        .build()
    } else if action.is_some() {
        PlaybackParts {
            device: player.title.clone(),
            client: None,
            session_id: player.uuid.clone(),
            position_ms,
            duration_ms,
            completed: Some(
                kind == EventKind::PlaybackScrobble
                    || progress(position_ms, duration_ms).is_some_and(|p| p >= 0.9),
            ),
            local: player.local,
        }
        .build()
    } else {
        None
    };
    let sections = Sections {
        media,
        playback,
        user,
    };
    Ok(parsed(ctx.received_at, kind, source, sections, signal))
}

/// External ids found in a Plex guid: `imdb://tt…`, `tmdb://…`, `tvdb://…`, `mbid://…`, and the legacy
/// agents' `com.plexapp.agents.imdb://tt…?lang=en`, `…themoviedb://…`, `…thetvdb://81189/1/2`,
/// `…hama://tvdb-81189`.
#[derive(Debug, Default, PartialEq)]
struct Found {
    imdb: Option<String>,
    tmdb: Option<i64>,
    tvdb: Option<i64>,
    mbid: Option<String>,
}

impl Found {
    fn add(&mut self, guid: &str) {
        let Some((scheme, rest)) = guid.split_once("://") else {
            return;
        };
        let id = rest.split(['?', '/']).next().unwrap_or("");
        let agent = scheme.rsplit('.').next().unwrap_or(scheme);
        let number = |s: &str| s.parse::<i64>().ok().filter(|n| *n > 0);
        match agent {
            "imdb" if id.starts_with("tt") => self.imdb = self.imdb.take().or(Some(id.into())),
            "tmdb" | "themoviedb" => self.tmdb = self.tmdb.or(number(id)),
            "tvdb" | "thetvdb" => self.tvdb = self.tvdb.or(number(id)),
            "mbid" | "musicbrainz" if !id.is_empty() => {
                self.mbid = self.mbid.take().or(Some(id.into()))
            }
            "hama" => {
                if let Some(n) = id.strip_prefix("tvdb-").or(id.strip_prefix("tvdb2-")) {
                    self.tvdb = self.tvdb.or(number(n));
                }
            }
            _ => {}
        }
    }

    fn of<'a>(guids: impl IntoIterator<Item = &'a str>) -> Found {
        let mut found = Found::default();
        for g in guids {
            found.add(g);
        }
        found
    }
}

fn media_of(m: &Metadata) -> Media {
    let kind = match m.kind.as_deref() {
        Some("movie") => MediaType::Movie,
        Some("episode") => MediaType::Episode,
        Some("season") => MediaType::Season,
        Some("show") => MediaType::Series,
        Some("track") => MediaType::Track,
        Some("album") => MediaType::Album,
        Some("artist") => MediaType::Artist,
        _ => MediaType::Other,
    };
    // The item's own ids: `Guid[]`, else the legacy `guid`.
    let own = if m.guids.is_empty() {
        Found::of(m.guid.as_deref())
    } else {
        Found::of(m.guids.iter().filter_map(|g| g.id.as_deref()))
    };
    let year = m
        .year
        .or(m.parent_year)
        .and_then(|y| i32::try_from(y).ok())
        .or_else(|| lenient::year_of_date(m.originally_available_at.as_deref()));
    let as_i32 = |n: Option<i64>| n.and_then(|n| i32::try_from(n).ok());
    let mut media = Media {
        kind,
        title: m.title.clone(),
        year,
        overview: m.summary.clone(),
        genres: m.genres.iter().filter_map(|g| g.tag.clone()).collect(),
        ..Media::default()
    };
    match kind {
        MediaType::Episode => {
            // A legacy episode guid (`…thetvdb://81189/1/2`) names the series; so does the show's own guid.
            let series = Found::of(
                [m.grandparent_guid.as_deref(), m.guid.as_deref()]
                    .into_iter()
                    .flatten()
                    .filter(|g| g.starts_with("com.plexapp.agents.")),
            );
            media.ids = MediaIds {
                tvdb: series.tvdb,
                tmdb: series.tmdb,
                imdb: series.imdb,
                ..MediaIds::default()
            };
            let own = if m.guids.is_empty() {
                Found::default()
            } else {
                own
            };
            media.title = m.grandparent_title.clone().or(m.title.clone());
            media.series = m.grandparent_title.clone();
            media.season = as_i32(m.parent_index);
            media.episodes = vec![Episode {
                season: as_i32(m.parent_index),
                episode: as_i32(m.index),
                title: m.title.clone(),
                air_date: lenient::date_only(m.originally_available_at.as_deref()),
                ids: EpisodeIds {
                    tvdb: own.tvdb,
                    imdb: own.imdb,
                    tmdb: own.tmdb,
                },
            }];
        }
        MediaType::Season => {
            media.title = m.parent_title.clone().or(m.title.clone());
            media.series = m.parent_title.clone();
            media.season = as_i32(m.index);
            media.ids = series_ids(Found::of(m.parent_guid.as_deref()));
        }
        MediaType::Track => {
            media.artist = m.grandparent_title.clone();
            media.album = m.parent_title.clone();
            media.tracks = vec![Track {
                number: m.index.map(|n| n.to_string()),
                title: m.title.clone(),
            }];
            media.ids.musicbrainz_album = Found::of(m.parent_guid.as_deref()).mbid;
            media.ids.musicbrainz_artist = Found::of(m.grandparent_guid.as_deref()).mbid;
        }
        MediaType::Album => {
            media.artist = m.parent_title.clone();
            media.album = m.title.clone();
            media.ids.musicbrainz_album = own.mbid;
            media.ids.musicbrainz_artist = Found::of(m.parent_guid.as_deref()).mbid;
        }
        MediaType::Artist => {
            media.artist = m.title.clone();
            media.ids.musicbrainz_artist = own.mbid;
        }
        MediaType::Movie
        | MediaType::Series
        | MediaType::Book
        | MediaType::Author
        | MediaType::Other => {
            media.ids = series_ids(own);
            if kind == MediaType::Series {
                media.series = m.title.clone();
            }
        }
    }
    media
}

fn series_ids(found: Found) -> MediaIds {
    MediaIds {
        imdb: found.imdb,
        tmdb: found.tmdb,
        tvdb: found.tvdb,
        ..MediaIds::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_and_legacy_guids_give_ids() {
        let f = Found::of(["imdb://tt15398776", "tmdb://872585", "tvdb://343339"]);
        assert_eq!(
            f,
            Found {
                imdb: Some("tt15398776".into()),
                tmdb: Some(872585),
                tvdb: Some(343339),
                mbid: None
            }
        );
        assert_eq!(
            Found::of(["com.plexapp.agents.imdb://tt0111161?lang=en"]).imdb,
            Some("tt0111161".into())
        );
        assert_eq!(
            Found::of(["com.plexapp.agents.thetvdb://81189/1/2?lang=en"]).tvdb,
            Some(81189)
        );
        assert_eq!(
            Found::of(["com.plexapp.agents.themoviedb://278?lang=en"]).tmdb,
            Some(278)
        );
        assert_eq!(
            Found::of(["com.plexapp.agents.hama://tvdb-81797/1/1?lang=en"]).tvdb,
            Some(81797)
        );
        assert_eq!(
            Found::of([
                "plex://movie/5d776d1723d5a9001fa1ec13",
                "local://12",
                "garbage"
            ]),
            Found::default()
        );
    }
}
