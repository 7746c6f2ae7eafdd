//! A story as people read it: a headline ("Ready to watch on Jellyfin"), its steps with their times — what a
//! story message, the story page and the API show — and the events hookarr derives from it.

use super::rhythm::Rhythm;
use super::story::{Stage, Story, capitalized};
use super::titles::TitleKind;
use crate::event::{
    Episode, EpisodeIds, Event, EventData, EventKind, Media, MediaIds, MediaType, Silence,
    SourceInfo, StoryRef, span,
};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

/// A story as shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StoryCard {
    pub id: String,
    pub title: String,
    pub stage: String,
    /// "Ready to watch on Jellyfin", "Grabbed Bluray-2160p — downloading (stuck)".
    pub headline: String,
    /// Each step reached, oldest first: `{stage, at}`.
    pub steps: Vec<CardStep>,
    pub requested_by: Option<String>,
    pub available_on: Option<String>,
    pub quality: Option<String>,
    pub poster_url: Option<String>,
    pub overview: Option<String>,
    /// The step's emoji and color for chat targets.
    pub emoji: &'static str,
    pub color: u32,
}

/// One step of a card.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CardStep {
    pub stage: String,
    /// "Requested", "Ready to watch"…
    pub label: &'static str,
    pub at: String,
    /// Unix seconds (Discord shows `<t:…>` in each reader's own time).
    pub unix: i64,
}

/// The card of a story.
pub fn card_of(story: &Story) -> StoryCard {
    let quality = story
        .quality
        .as_deref()
        .map(|q| format!(" {q}"))
        .unwrap_or_default();
    let on = story.available_on.as_deref().unwrap_or("the library");
    let ready = capitalized(crate::event::ready_to(Some(media_type(story.kind))));
    let mut headline = match story.stage {
        Stage::Requested => match &story.requested_by {
            Some(by) => format!("Requested by {by} — waiting for approval"),
            None => "Requested — waiting for approval".to_owned(),
        },
        Stage::Approved => "Approved — waiting for a release".to_owned(),
        Stage::Grabbed => format!("Grabbed{quality} — downloading"),
        Stage::Imported => format!("Imported{quality} — waiting for the media server"),
        Stage::Available => format!("{ready} on {on}"),
        Stage::Played => match &story.played_by {
            Some(by) => format!("{ready} on {on} — {by} has started it"),
            None => format!("{ready} on {on} — played"),
        },
        Stage::Declined => "Request declined".to_owned(),
        Stage::Failed => "Failed — nothing to watch yet".to_owned(),
        Stage::Deleted => "Deleted from the library".to_owned(),
    };
    if story.told_stuck == Some(story.stage) {
        headline.push_str(" (stuck)");
    }
    if story.upgrades > 0 && matches!(story.stage, Stage::Available | Stage::Played) {
        headline.push_str(&format!(" · upgraded{quality}"));
    }
    let (emoji, color) = match story.stage {
        Stage::Requested => ("🙋", 0xF39C12),
        Stage::Approved => ("👍", 0x3498DB),
        Stage::Grabbed => ("📥", 0x3498DB),
        Stage::Imported => ("📦", 0x1ABC9C),
        Stage::Available | Stage::Played => ("🍿", 0x2ECC71),
        Stage::Declined | Stage::Failed => ("❌", 0xE74C3C),
        Stage::Deleted => ("🗑️", 0x95A5A6),
    };
    StoryCard {
        id: story.id.clone(),
        title: story.title.clone(),
        stage: story.stage.as_str().to_owned(),
        headline,
        steps: story
            .steps
            .iter()
            .map(|(stage, at)| CardStep {
                stage: stage.as_str().to_owned(),
                label: label(*stage),
                at: at.to_rfc3339_opts(SecondsFormat::Millis, true),
                unix: at.timestamp(),
            })
            .collect(),
        requested_by: story.requested_by.clone(),
        available_on: story.available_on.clone(),
        quality: story.quality.clone(),
        poster_url: story.poster_url.clone(),
        overview: story.overview.clone(),
        emoji,
        color,
    }
}

fn label(stage: Stage) -> &'static str {
    match stage {
        Stage::Requested => "Requested",
        Stage::Approved => "Approved",
        Stage::Grabbed => "Grabbed",
        Stage::Imported => "Imported",
        Stage::Available => "Ready to watch",
        Stage::Played => "First played",
        Stage::Declined => "Declined",
        Stage::Failed => "Failed",
        Stage::Deleted => "Deleted",
    }
}

fn hookarr(event: &str) -> SourceInfo {
    SourceInfo {
        name: "hookarr".into(),
        app: "hookarr".into(),
        event: event.into(),
        version: Some(env!("CARGO_PKG_VERSION").into()),
        ..Default::default()
    }
}

fn media_type(kind: TitleKind) -> MediaType {
    match kind {
        TitleKind::Movie => MediaType::Movie,
        TitleKind::Episode => MediaType::Episode,
        TitleKind::Season => MediaType::Season,
        TitleKind::Album => MediaType::Album,
        TitleKind::Book => MediaType::Book,
    }
}

/// The media a story is about, as a derived event carries it.
fn media_of(story: &Story) -> Media {
    // Title-level ids: an episode's series' (`series_*`; its own are the episode's), else the story's own.
    let prefix = if story.kind == TitleKind::Episode {
        "series_"
    } else {
        ""
    };
    let id = |k: &str| story.ids.get(&format!("{prefix}{k}"));
    let number = |k: &str| id(k).and_then(|v| v.parse().ok());
    let text = |k: &str| story.ids.get(k).cloned();
    let series = matches!(story.kind, TitleKind::Episode | TitleKind::Season);
    Media {
        kind: media_type(story.kind),
        title: Some(story.name.clone()),
        year: story.year,
        overview: story.overview.clone(),
        ids: MediaIds {
            tmdb: number("tmdb"),
            imdb: id("imdb").cloned(),
            tvdb: number("tvdb"),
            tvmaze: number("tvmaze"),
            musicbrainz_album: text("mb"),
            goodreads: text("goodreads"),
            isbn13: text("isbn"),
            asin: text("asin"),
            ..MediaIds::default()
        },
        series: series.then(|| story.name.clone()),
        season: story.season,
        episodes: match story.kind {
            TitleKind::Episode => vec![Episode {
                season: story.season,
                episode: story.episode,
                title: story.episode_title.clone(),
                ids: EpisodeIds {
                    tvdb: story.ids.get("tvdb").and_then(|v| v.parse().ok()),
                    imdb: story.ids.get("imdb").cloned(),
                    tmdb: story.ids.get("tmdb").and_then(|v| v.parse().ok()),
                },
                ..Episode::default()
            }],
            _ => Vec::new(),
        },
        album: (story.kind == TitleKind::Album).then(|| story.name.clone()),
        poster_url: story.poster_url.clone(),
        ..Media::default()
    }
}

fn derived(kind: EventKind, data: EventData, now: DateTime<Utc>) -> Event {
    Event::new(kind, now, hookarr("story"), data)
}

/// `media.available` / `media.upgraded` of a story, after `after` (the step that made it so).
pub fn story_event(
    kind: EventKind,
    story: &Story,
    after: &Event,
    tell: Vec<String>,
    now: DateTime<Utc>,
) -> Event {
    let data = EventData {
        media: Some(media_of(story)),
        release: after.data.release.clone(),
        file: after.data.file.clone(),
        story: Some(StoryRef {
            id: story.id.clone(),
            stage: story.stage.as_str().to_owned(),
            available_on: story.available_on.clone(),
            via: story.available_via.clone(),
            requested_by: story.requested_by.clone(),
            tell,
            ..StoryRef::default()
        }),
        ..EventData::default()
    };
    derived(kind, data, now)
}

/// `media.stuck`: the story has waited `waiting` seconds at its stage.
pub fn stuck_event(story: &Story, waiting: i64, now: DateTime<Utc>) -> Event {
    let data = EventData {
        media: Some(media_of(story)),
        story: Some(StoryRef {
            id: story.id.clone(),
            stage: story.stage.as_str().to_owned(),
            waiting_secs: Some(waiting),
            requested_by: story.requested_by.clone(),
            ..StoryRef::default()
        }),
        ..EventData::default()
    };
    let mut e = derived(EventKind::MediaStuck, data, now);
    e.summary = format!(
        "{} is stuck: {} {} ago and nothing since",
        story.title,
        story.stage.as_str(),
        span(waiting)
    );
    e
}

/// `hookarr.source_silent` / `hookarr.source_back` of a source quiet for `quiet` seconds.
pub fn silence_event(
    kind: EventKind,
    source: &str,
    quiet: i64,
    rhythm: &Rhythm,
    now: DateTime<Utc>,
) -> Event {
    let data = EventData {
        silence: Some(Silence {
            source: source.to_owned(),
            quiet_secs: quiet,
            usual_gap_secs: rhythm.usual_gap().unwrap_or(0),
            last_event_at: rhythm
                .last_at
                .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true)),
        }),
        ..EventData::default()
    };
    derived(kind, data, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stories::{Title, titles_of};

    fn story_of(kind: EventKind, media: Media) -> (Story, Title, Event) {
        let source = SourceInfo {
            name: "sonarr".into(),
            app: "sonarr".into(),
            ..SourceInfo::default()
        };
        let data = EventData {
            media: Some(media),
            ..EventData::default()
        };
        let event = Event::new(kind, Utc::now(), source, data);
        let title = titles_of(&event).remove(0);
        let mut story = Story::new("sty_1".into(), &title, &event);
        story.apply(&event, &title, false);
        (story, title, event)
    }

    #[test]
    fn an_episodes_derived_media_carries_its_series_ids_as_the_titles_and_its_own_as_the_episodes()
    {
        let media = Media {
            kind: MediaType::Episode,
            title: Some("Severance".into()),
            series: Some("Severance".into()),
            ids: MediaIds {
                tvdb: Some(371980),
                imdb: Some("tt11280740".into()),
                ..MediaIds::default()
            },
            episodes: vec![Episode {
                season: Some(1),
                episode: Some(2),
                ids: EpisodeIds {
                    tvdb: Some(8_000_002),
                    ..EpisodeIds::default()
                },
                ..Episode::default()
            }],
            ..Media::default()
        };
        let (story, _, _) = story_of(EventKind::DownloadGrabbed, media);
        let m = media_of(&story);
        assert_eq!(
            m.ids.tvdb,
            Some(371980),
            "the series' tvdb id, not the episode's"
        );
        assert_eq!(m.ids.imdb.as_deref(), Some("tt11280740"));
        assert_eq!(m.episodes[0].ids.tvdb, Some(8_000_002));
    }

    /// What an app names a title is the attacker's text: every story template keeps it as text — valid JSON,
    /// its quotes and line breaks escaped, and its markup as entities where the target reads HTML.
    #[test]
    fn a_hostile_title_stays_text_in_every_story_template() {
        let hostile = "Dune\"}],\"x\":1,\n<b>bold</b> & \u{202e}";
        let media = Media {
            kind: MediaType::Movie,
            title: Some(hostile.into()),
            year: Some(2024),
            ids: MediaIds {
                tmdb: Some(1),
                ..MediaIds::default()
            },
            poster_url: Some("https://img.example/p.jpg\" onerror=\"x".into()),
            ..Media::default()
        };
        let (story, _, event) = story_of(EventKind::DownloadGrabbed, media);
        let card = card_of(&story);
        let templates = crate::outbound::Templates::load(None).unwrap();
        for yaml in [
            "{name: d, type: discord, url: 'https://discord.com/api/webhooks/1/t'}",
            "{name: t, type: telegram, token: '1:a', chat_id: '5'}",
            "{name: m, type: matrix, server: 'https://matrix.example.org', token: t, room: '!r:example.org'}",
        ] {
            let d: crate::config::Destination = serde_norway::from_str(yaml).unwrap();
            let target = crate::outbound::Target::from_config(&d, None);
            let payload = crate::outbound::render_story_payload(&templates, &target, &event, &card)
                .unwrap_or_else(|e| panic!("{yaml}: {e}"));
            assert!(payload.get("x").is_none(), "{yaml}: {payload}");
            let html = match d.kind {
                crate::config::DestinationType::Discord => {
                    let title = payload["embeds"][0]["title"].as_str().unwrap();
                    assert!(title.contains(hostile), "{payload}");
                    continue;
                }
                crate::config::DestinationType::Matrix => payload["formatted_body"].as_str(),
                _ => payload["text"].as_str(),
            }
            .unwrap_or_else(|| panic!("{yaml}: {payload}"));
            assert!(
                !html.contains("<b>bold</b>") && html.contains("&lt;b&gt;bold&lt;/b&gt;"),
                "{yaml}: {html}"
            );
            assert!(
                !html.contains("\" onerror"),
                "an attribute stays shut: {html}"
            );
        }
    }
}
