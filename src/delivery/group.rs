//! Grouping (CONTRACT §5, the season-pack problem): grabs, imports and upgrades of one series season (or one
//! album) arriving within a destination's `group_window` become one message. Pure functions: the key that
//! makes events one group, the event a group is shown as, and how a held delivery is told in the log.

use crate::event::{Event, EventKind, MediaType};
use crate::storage::NewDelivery;

/// The group key prefix of a quiet-hours digest (everything held in one window).
pub const DIGEST_PREFIX: &str = "quiet:";

/// The group key prefix of a batch; the key carries the batch's size limit (`batch:<max_events>`), so that
/// whoever claims its members knows how many may go in one request.
pub const BATCH_PREFIX: &str = "batch:";

/// The group key of a destination's batches.
pub fn batch_key(max_events: u32) -> String {
    format!("{BATCH_PREFIX}{}", max_events.max(1))
}

/// The size limit of a batch key; `None` for other groups (no limit).
pub fn batch_limit(key: &str) -> Option<usize> {
    key.strip_prefix(BATCH_PREFIX)?.parse().ok()
}

/// A destination as the story line names it, saying when its delivery is held rather than sent now (its
/// group key tells why): "discord (held for grouping, 30 s window)", "phone (held for quiet hours until
/// 07:00 UTC)", "bus (batched, up to 30 s)" — so a message that comes later is not a silence.
pub fn told_destination(d: &NewDelivery) -> String {
    let wait = (d.due_at - d.created_at).num_seconds();
    match d.group_key.as_deref() {
        Some(key) if key.starts_with(DIGEST_PREFIX) => format!(
            "{} (held for quiet hours until {})",
            d.destination,
            d.due_at.format("%H:%M UTC")
        ),
        Some(key) if key.starts_with(BATCH_PREFIX) => {
            format!("{} (batched, up to {wait} s)", d.destination)
        }
        Some(_) if wait > 0 => format!("{} (held for grouping, {wait} s window)", d.destination),
        _ => d.destination.clone(),
    }
}

/// The event a quiet-hours digest is shown as: the first event, its summary counting them all. Templates
/// render a digest from `events` (with `digest: true`).
pub fn digest(first: &Event, others: &[Event]) -> Event {
    let mut shown = first.clone();
    shown.summary = format!("{} events during quiet hours", others.len() + 1);
    shown
}

/// The events that group.
fn groups(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::DownloadGrabbed | EventKind::LibraryNew | EventKind::LibraryUpgraded
    )
}

/// The group an event belongs to, for one destination: source, event name, and series + season (episodes) or
/// artist + album (tracks, albums). `None` for everything else (a movie is its own message).
pub fn group_key(event: &Event) -> Option<String> {
    if !groups(event.event) {
        return None;
    }
    let media = event.data.media.as_ref()?;
    let scope = match media.kind {
        MediaType::Episode | MediaType::Season => {
            let season = media
                .season
                .or_else(|| media.episodes.first().and_then(|e| e.season))?;
            format!(
                "series:{}|season:{season}",
                media.series.as_deref().or(media.title.as_deref())?
            )
        }
        MediaType::Album | MediaType::Track => format!(
            "artist:{}|album:{}",
            media.artist.as_deref().unwrap_or(""),
            media.album.as_deref().or(media.title.as_deref())?
        ),
        _ => return None,
    };
    Some(format!(
        "{}|{}|{scope}",
        event.source.name,
        event.event.as_str()
    ))
}

/// The event a group is shown as: the first event, with every member's episodes (or tracks) in order, file
/// sizes added up, and a summary that counts them ("Severance season 2: 3 episodes imported — WEBDL-2160p").
pub fn merge(first: &Event, others: &[Event]) -> Event {
    let mut merged = first.clone();
    if others.is_empty() {
        return merged;
    }
    let all = std::iter::once(first).chain(others);
    if let Some(media) = merged.data.media.as_mut() {
        let mut episodes: Vec<_> = all
            .clone()
            .filter_map(|e| e.data.media.as_ref())
            .flat_map(|m| m.episodes.clone())
            .collect();
        episodes.sort_by_key(|e| (e.season, e.episode));
        episodes.dedup_by_key(|e| (e.season, e.episode));
        media.episodes = episodes;
        let mut tracks: Vec<_> = all
            .clone()
            .filter_map(|e| e.data.media.as_ref())
            .flat_map(|m| m.tracks.clone())
            .collect();
        tracks.dedup_by(|a, b| a.number == b.number && a.title == b.title);
        media.tracks = tracks;
    }
    let sizes: Vec<i64> = all
        .clone()
        .filter_map(|e| e.data.file.as_ref()?.size_bytes)
        .collect();
    if let Some(file) = merged.data.file.as_mut() {
        file.size_bytes = Some(sizes.iter().fold(0i64, |a, b| a.saturating_add(*b)));
        file.relative_path = None;
        file.path = None;
    }
    let media = merged.data.media.as_ref();
    let (count, unit) = match media {
        Some(m) if !m.episodes.is_empty() => (m.episodes.len(), "episodes"),
        Some(m) if !m.tracks.is_empty() => (m.tracks.len(), "tracks"),
        _ => (others.len() + 1, "items"),
    };
    let verb = match merged.event {
        EventKind::DownloadGrabbed => "grabbed",
        EventKind::LibraryUpgraded => "upgraded",
        _ => "imported",
    };
    let what = match media {
        Some(m) if matches!(m.kind, MediaType::Episode | MediaType::Season) => {
            let season = m
                .season
                .or_else(|| m.episodes.first().and_then(|e| e.season));
            let title = m
                .series
                .as_deref()
                .or(m.title.as_deref())
                .unwrap_or("Unknown series");
            match season {
                Some(s) => format!("{title} season {s}"),
                None => title.to_owned(),
            }
        }
        Some(m) => match (&m.artist, &m.album) {
            (Some(artist), Some(album)) => format!("{artist} — {album}"),
            _ => m.title.clone().unwrap_or_else(|| "Unknown album".into()),
        },
        None => "Unknown".into(),
    };
    let quality = merged.data.release.as_ref().and_then(|r| r.quality.clone());
    merged.summary = match quality {
        Some(q) => format!("{what}: {count} {unit} {verb} — {q}"),
        None => format!("{what}: {count} {unit} {verb}"),
    };
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(group_key: Option<&str>, wait_secs: i64) -> NewDelivery {
        let now = chrono::Utc::now();
        NewDelivery {
            id: "dlv_1".into(),
            event_id: crate::event::EventId::new(),
            event: "library.new".into(),
            destination: "discord".into(),
            created_at: now,
            due_at: now + chrono::Duration::seconds(wait_secs),
            expires_at: None,
            group_key: group_key.map(str::to_owned),
        }
    }

    #[test]
    fn a_held_delivery_says_why_and_for_how_long() {
        assert_eq!(told_destination(&delivery(None, 0)), "discord");
        assert_eq!(
            told_destination(&delivery(Some("sonarr:series:1:s2:library.new"), 30)),
            "discord (held for grouping, 30 s window)"
        );
        assert_eq!(
            told_destination(&delivery(Some("batch:20"), 30)),
            "discord (batched, up to 30 s)"
        );
        assert!(
            told_destination(&delivery(Some("quiet:1765000000"), 3600))
                .starts_with("discord (held for quiet hours until ")
        );
    }
    use crate::event::{Episode, EventData, EventId, FileInfo, Media, Release, SourceInfo};

    fn episode_event(kind: EventKind, season: i32, episode: i32) -> Event {
        Event {
            id: EventId::new(),
            event: kind,
            timestamp: chrono::Utc::now(),
            source: SourceInfo {
                name: "sonarr".into(),
                app: "sonarr".into(),
                event: "Download".into(),
                ..Default::default()
            },
            summary: format!("Severance S{season:02}E{episode:02} imported"),
            data: EventData {
                media: Some(Media {
                    kind: MediaType::Episode,
                    title: Some("Severance".into()),
                    series: Some("Severance".into()),
                    episodes: vec![Episode {
                        season: Some(season),
                        episode: Some(episode),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
                release: Some(Release {
                    quality: Some("WEBDL-2160p".into()),
                    ..Default::default()
                }),
                file: Some(FileInfo {
                    size_bytes: Some(1_000),
                    relative_path: Some(format!("e{episode}.mkv")),
                    ..Default::default()
                }),
                ..Default::default()
            },
        }
    }

    #[test]
    fn one_season_of_one_event_kind_is_one_group() {
        let a = episode_event(EventKind::LibraryNew, 2, 1);
        let b = episode_event(EventKind::LibraryNew, 2, 5);
        assert_eq!(group_key(&a), group_key(&b));
        assert!(group_key(&a).is_some());
        assert_ne!(
            group_key(&a),
            group_key(&episode_event(EventKind::LibraryNew, 3, 1)),
            "another season"
        );
        assert_ne!(
            group_key(&a),
            group_key(&episode_event(EventKind::DownloadGrabbed, 2, 1)),
            "another event"
        );
        assert_eq!(
            group_key(&episode_event(EventKind::HealthIssue, 2, 1)),
            None
        );
        let mut movie = a.clone();
        movie.data.media.as_mut().unwrap().kind = MediaType::Movie;
        assert_eq!(group_key(&movie), None);
    }

    #[test]
    fn a_group_is_shown_as_one_event_with_every_episode() {
        let first = episode_event(EventKind::LibraryNew, 2, 3);
        let others = [
            episode_event(EventKind::LibraryNew, 2, 1),
            episode_event(EventKind::LibraryNew, 2, 2),
            episode_event(EventKind::LibraryNew, 2, 1),
        ];
        let m = merge(&first, &others);
        let eps: Vec<i32> = m
            .data
            .media
            .as_ref()
            .unwrap()
            .episodes
            .iter()
            .map(|e| e.episode.unwrap())
            .collect();
        assert_eq!(eps, [1, 2, 3]);
        assert_eq!(
            m.summary,
            "Severance season 2: 3 episodes imported — WEBDL-2160p"
        );
        assert_eq!(m.data.file.as_ref().unwrap().size_bytes, Some(4_000));
        assert_eq!(m.id, first.id);
        assert_eq!(
            merge(&first, &[]),
            first,
            "a group of one is the event itself"
        );
    }
}
