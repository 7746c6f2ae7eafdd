//! Tautulli (Settings → Notification Agents → Webhook): one user-written JSON template per trigger, rendered by
//! Python's `str.format` — every value a string, a parameter the trigger lacks left as a literal `{name}`, no
//! body at all until a template is pasted. `action` names the trigger; the README's templates name the rest
//! (research: inbound-more §4). Playback triggers become `playback.*`, `created` `library.new`, the server's ups
//! and downs `health.*`, the other triggers `other` with a line saying what happened.

use super::{InboundError, ParseContext, lenient};
use crate::event::{
    Episode, Event, EventData, EventKind, Health, Media, MediaIds, MediaType, Notification,
    Playback, Track, Update, User,
};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// What an empty body (a trigger without a template) is told.
const EMPTY_BODY_HINT: &str = "Tautulli sent no JSON Data: paste hookarr's Tautulli template into this \
     trigger's Data tab (README, \"Tautulli\": media.json for playback and recently added, server.json for the \
     server triggers)";

/// Parses one Tautulli notification into its normalized event.
pub fn parse(ctx: &ParseContext<'_>, body: &[u8]) -> Result<Event, InboundError> {
    if body.trim_ascii().is_empty() {
        return Err(InboundError::EmptyTemplate(EMPTY_BODY_HINT));
    }
    let object: Map<String, Value> = match form_fields(body) {
        Some(fields) => fields,
        None => super::parse_json_object(body)?,
    };
    let p = Params::collect(&object);
    let action = p.raw("action");
    // The Test button sends the template unrendered: `"{action}"`.
    let unrendered = action.as_deref().is_some_and(is_placeholder);
    let action = p.get("action").map(|a| a.to_ascii_lowercase());
    let kind = match action.as_deref() {
        None if unrendered => EventKind::Test,
        None => EventKind::Other,
        Some(a) => kind_of(a),
    };
    let mut source = ctx.source_info(action.clone().unwrap_or_else(|| {
        if unrendered {
            "test".to_owned()
        } else {
            String::new()
        }
    }));
    source.server = p.get("server_name");
    source.version = p.get("tautulli_version").or(source.version);
    let data = if kind == EventKind::Test {
        EventData::default()
    } else {
        normalize(kind, action.as_deref().unwrap_or_default(), &p)
    };
    Ok(Event::new(kind, ctx.received_at, source, data))
}

/// The event of a trigger's `{action}`.
fn kind_of(action: &str) -> EventKind {
    match action {
        "play" => EventKind::PlaybackStart,
        "pause" => EventKind::PlaybackPause,
        "resume" => EventKind::PlaybackResume,
        "stop" => EventKind::PlaybackStop,
        "watched" => EventKind::PlaybackScrobble,
        "created" => EventKind::LibraryNew,
        "intdown" | "extdown" | "plexpydbcorrupt" | "tokenexpired" => EventKind::HealthIssue,
        "intup" | "extup" => EventKind::HealthRestored,
        "test" => EventKind::Test,
        _ => EventKind::Other,
    }
}

fn normalize(kind: EventKind, action: &str, p: &Params) -> EventData {
    let media = media_of(p);
    let playing = matches!(
        action,
        "play"
            | "stop"
            | "pause"
            | "resume"
            | "watched"
            | "buffer"
            | "error"
            | "change"
            | "intro"
            | "credits"
            | "commercial"
            | "concurrent"
            | "newdevice"
    );
    let user = playing
        .then(|| User {
            name: p.get("user").or_else(|| p.get("username")),
            id: p.get("user_id"),
            remote_address: p.get("ip_address").filter(|a| a != "N/A"),
        })
        .filter(|u| *u != User::default());
    let playback = playing
        .then(|| Playback {
            device: p.get("player").or_else(|| p.get("device")),
            client: p.get("product").or_else(|| p.get("platform")),
            session_id: p.get("session_id").or_else(|| p.get("session_key")),
            position_ms: p.number("view_offset"),
            duration_ms: p.number("duration_ms"),
            progress: p
                .get("progress_percent")
                .and_then(|v| v.trim().parse::<f64>().ok())
                .map(|pct| (pct / 100.0).clamp(0.0, 1.0)),
            completed: (action == "watched").then_some(true),
            local: p.get("stream_local").map(|l| l == "1"),
        })
        .filter(|pb| *pb != Playback::default());
    let health = matches!(kind, EventKind::HealthIssue | EventKind::HealthRestored).then(|| {
        let reason = p.get("remote_access_reason");
        let message = match action {
            "intdown" => "The Plex Media Server is unreachable".to_owned(),
            "intup" => "The Plex Media Server is reachable again".to_owned(),
            "extdown" => match reason {
                Some(r) => format!("Plex remote access is down: {r}"),
                None => "Plex remote access is down".to_owned(),
            },
            "extup" => "Plex remote access is back up".to_owned(),
            "plexpydbcorrupt" => "Tautulli found its database corrupt during a backup".to_owned(),
            _ => "Tautulli's Plex token has expired: sign in again in Tautulli".to_owned(),
        };
        Health {
            level: Some(
                if action == "extdown" {
                    "warning"
                } else {
                    "error"
                }
                .to_owned(),
            ),
            check: Some(action.to_owned()),
            message: Some(message),
            wiki_url: None,
        }
    });
    let update = match action {
        "pmsupdate" => p.get("update_version").map(|v| Update {
            new_version: Some(v.clone()),
            message: Some(format!("Plex Media Server {v} is available")),
            previous_version: p.get("server_version"),
        }),
        "plexpyupdate" => p.get("tautulli_update_version").map(|v| Update {
            new_version: Some(v.clone()),
            message: Some(format!("Tautulli {v} is available")),
            previous_version: p.get("tautulli_version"),
        }),
        _ => None,
    };
    let notification = (kind == EventKind::Other)
        .then(|| other_line(action, update.as_ref(), user.as_ref(), media.as_ref()))
        .flatten();
    EventData {
        media,
        user,
        playback,
        health,
        update,
        notification,
        ..EventData::default()
    }
}

/// What an `other` trigger says, as a notification title: `Buffering: sarah.k · Oppenheimer`.
fn other_line(
    action: &str,
    update: Option<&Update>,
    user: Option<&User>,
    media: Option<&Media>,
) -> Option<Notification> {
    let what = match action {
        "pmsupdate" | "plexpyupdate" => {
            return update.map(|u| Notification {
                title: u.message.clone(),
                ..Notification::default()
            });
        }
        "buffer" => "Buffering",
        "error" => "Playback error",
        "change" => "Transcode decision changed",
        "intro" => "Intro marker reached",
        "credits" => "Credits marker reached",
        "commercial" => "Commercial marker reached",
        "concurrent" => "Concurrent streams",
        "newdevice" => "New device",
        _ => return None,
    };
    let who = user.and_then(|u| u.name.as_deref());
    let title = media.and_then(|m| m.title.as_deref());
    let body = [who, title]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · ");
    Some(Notification {
        title: Some(what.to_owned()),
        body: Some(body).filter(|b| !b.is_empty()),
        kind: None,
    })
}

/// `data.media` from the metadata parameters; ids of episodes and seasons are the show's (Tautulli reads them
/// from the grandparent), so they are title-level as the contract wants.
fn media_of(p: &Params) -> Option<Media> {
    let kind = match p.get("media_type")?.to_ascii_lowercase().as_str() {
        "movie" => MediaType::Movie,
        "show" => MediaType::Series,
        "season" => MediaType::Season,
        "episode" => MediaType::Episode,
        "artist" => MediaType::Artist,
        "album" => MediaType::Album,
        "track" => MediaType::Track,
        _ => MediaType::Other,
    };
    let show = p.get("show_name");
    let title = match kind {
        MediaType::Series | MediaType::Season | MediaType::Episode => show.clone(),
        MediaType::Track => p.get("track_name"),
        MediaType::Album => p.get("album_name"),
        MediaType::Artist => p.get("artist_name"),
        _ => None,
    }
    // `title` is Tautulli's composite (`Show - Episode`): only the last resort.
    .or_else(|| p.get("title"));
    let season = p.int("season_num");
    let episodes = match kind {
        MediaType::Episode => vec![Episode {
            season,
            episode: p.int("episode_num"),
            title: p.get("episode_name"),
            air_date: lenient::date_only(p.get("air_date").as_deref()),
            ..Episode::default()
        }],
        _ => Vec::new(),
    };
    let tracks = match kind {
        MediaType::Track => vec![Track {
            number: p.get("track_num"),
            title: p.get("track_name"),
        }],
        _ => Vec::new(),
    };
    let musicbrainz = p.get("musicbrainz_id");
    let is_series = matches!(
        kind,
        MediaType::Series | MediaType::Season | MediaType::Episode
    );
    Some(Media {
        kind,
        title,
        year: p.int("year").or_else(|| p.int("show_year")),
        overview: p.get("summary"),
        ids: MediaIds {
            tmdb: p.number("themoviedb_id"),
            imdb: p.get("imdb_id").filter(|i| i.starts_with("tt")),
            tvdb: p.number("thetvdb_id"),
            tvmaze: p.number("tvmaze_id"),
            musicbrainz_artist: musicbrainz.clone().filter(|_| kind == MediaType::Artist),
            musicbrainz_album: musicbrainz.filter(|_| kind == MediaType::Album),
            ..MediaIds::default()
        },
        series: show.filter(|_| is_series),
        season: season.filter(|_| matches!(kind, MediaType::Season | MediaType::Episode)),
        episodes,
        artist: p
            .get("artist_name")
            .or_else(|| p.get("track_artist"))
            .filter(|_| matches!(kind, MediaType::Album | MediaType::Track)),
        album: p
            .get("album_name")
            .filter(|_| matches!(kind, MediaType::Album | MediaType::Track)),
        tracks,
        genres: p
            .get("genres")
            .map(|g| lenient::comma_separated(&g))
            .unwrap_or_default(),
        poster_url: p.get("poster_url").filter(|u| u.starts_with("http")),
        ..Media::default()
    })
}

/// A JSON Header that sets another `Content-Type` makes Tautulli send the template's top-level keys as a form
/// (`action=play&title=…`) under that type: read it as the object it was.
fn form_fields(body: &[u8]) -> Option<Map<String, Value>> {
    let text = std::str::from_utf8(body.trim_ascii()).ok()?;
    if text.starts_with(['{', '[']) || !text.contains('=') {
        return None;
    }
    let fields: Map<String, Value> = url::form_urlencoded::parse(text.as_bytes())
        .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
        .collect();
    fields.contains_key("action").then_some(fields)
}

/// The body's parameters by key: a flat object as the README's templates make, nested ones read too (first
/// key wins). Values are text; `""` and a literal `{param}` are unknown.
struct Params(HashMap<String, Value>);

impl Params {
    fn collect(object: &Map<String, Value>) -> Params {
        fn walk(object: &Map<String, Value>, into: &mut HashMap<String, Value>) {
            for (key, value) in object {
                match value {
                    Value::Object(inner) => walk(inner, into),
                    leaf => {
                        into.entry(key.to_ascii_lowercase())
                            .or_insert_with(|| leaf.clone());
                    }
                }
            }
        }
        let mut params = HashMap::new();
        walk(object, &mut params);
        Params(params)
    }

    /// The value as sent, placeholders included.
    fn raw(&self, key: &str) -> Option<String> {
        lenient::value_to_string(self.0.get(key)?.clone())
    }

    /// The value when the trigger filled it in.
    fn get(&self, key: &str) -> Option<String> {
        self.raw(key)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty() && !is_placeholder(v))
    }

    /// A whole number (`"2"`; a range such as `"1-10"` of a grouped notification is none).
    fn int(&self, key: &str) -> Option<i32> {
        self.get(key)?.parse().ok()
    }

    /// A positive number (an id, milliseconds).
    fn number(&self, key: &str) -> Option<i64> {
        self.get(key)?.parse().ok().filter(|n| *n > 0)
    }
}

/// A parameter Tautulli left unrendered: `{update_version}`, `{title:[:20]}`, `{user!u}`.
fn is_placeholder(v: &str) -> bool {
    let Some(inner) = v.trim().strip_prefix('{').and_then(|r| r.strip_suffix('}')) else {
        return false;
    };
    let name = inner.split([':', '!']).next().unwrap_or_default();
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbound::SourceApp;

    fn parse_body(body: &str) -> Result<Event, InboundError> {
        let ctx = ParseContext {
            source: "tautulli",
            app: SourceApp::Tautulli,
            user_agent: Some("python-requests/2.33.1"),
            received_at: chrono::Utc::now(),
        };
        parse(&ctx, body.as_bytes())
    }

    #[test]
    fn placeholders_are_recognised() {
        assert!(is_placeholder("{update_version}"));
        assert!(is_placeholder("{title:[:20]}"));
        assert!(is_placeholder("{user!u}"));
        assert!(!is_placeholder("{}"));
        assert!(!is_placeholder("{not a param}"));
        assert!(!is_placeholder("Oppenheimer"));
    }

    #[test]
    fn an_empty_body_says_which_template_to_paste() {
        let e = parse_body("  ").unwrap_err();
        assert_eq!(e, InboundError::EmptyTemplate(EMPTY_BODY_HINT));
        assert!(e.to_string().contains("media.json"), "{e}");
    }

    #[test]
    fn a_form_sent_under_another_content_type_is_read() {
        let e = parse_body("action=watched&media_type=movie&title=Am%C3%A9lie&user=Ruth").unwrap();
        assert_eq!(e.event, EventKind::PlaybackScrobble);
        assert_eq!(e.summary, "Ruth finished Amélie");
        assert!(matches!(
            parse_body("title=no+action"),
            Err(InboundError::NotJson(_))
        ));
    }

    #[test]
    fn an_unrendered_template_is_the_test_button() {
        let e = parse_body(r#"{"action": "{action}", "title": "{title}"}"#).unwrap();
        assert_eq!(e.event, EventKind::Test);
        assert_eq!(e.source.instance, None, "python-requests names no app");
    }

    #[test]
    fn an_episode_is_titled_by_its_show_and_ranges_are_not_episodes() {
        let e = parse_body(
            r#"{"action": "created", "media_type": "episode", "title": "Severance - Hello, Ms. Cobel",
                "show_name": "Severance", "season_num": "2", "episode_num": "1-3", "update_version": "{update_version}"}"#,
        )
        .unwrap();
        assert_eq!(e.event, EventKind::LibraryNew);
        let m = e.data.media.unwrap();
        assert_eq!(m.title.as_deref(), Some("Severance"));
        assert_eq!(m.season, Some(2));
        assert_eq!(m.episodes[0].episode, None);
        assert_eq!(e.data.update, None);
    }
}
