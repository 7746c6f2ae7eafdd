//! What Plex, Jellyfin and Emby have in common: positions in ticks or milliseconds, "is this viewer on the
//! LAN", Jellyfin/Emby Guids in two spellings, item type names, and the playback section built from them.

use super::Parsed;
use crate::event::{
    Deleted, Episode, Event, EventData, EventKind, Media, MediaType, Playback, SourceInfo, User,
};
use crate::playback::Signal;
use chrono::{DateTime, Utc};
use std::net::IpAddr;

/// .NET ticks (100 ns) to milliseconds.
pub fn ticks_to_ms(ticks: Option<i64>) -> Option<i64> {
    ticks.filter(|t| *t >= 0).map(|t| t / 10_000)
}

/// How far into the item, 0–1 (three decimals), when both are known and the duration is not 0.
pub fn progress(position_ms: Option<i64>, duration_ms: Option<i64>) -> Option<f64> {
    let (pos, dur) = (position_ms?, duration_ms.filter(|d| *d > 0)?);
    let ratio = (pos as f64 / dur as f64).clamp(0.0, 1.0);
    Some((ratio * 1000.0).round() / 1000.0)
}

/// Whether a remote address is on the viewer's own network (loopback, private, link-local, unique local):
/// `None` when there is no address or it is not one.
pub fn is_local(address: Option<&str>) -> Option<bool> {
    let address = address?.trim();
    // `192.168.1.5:52311`, `[fe80::1]:443`, `::ffff:10.0.0.2`
    let ip: IpAddr = address
        .parse()
        .ok()
        .or_else(|| address.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            let (host, _) = address.rsplit_once(':')?;
            host.parse().ok()
        })?;
    Some(match ip.to_canonical() {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_private() || v4.is_link_local(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.is_unique_local() || v6.is_unicast_link_local(),
    })
}

/// A Jellyfin/Emby Guid in one spelling: 32 lower-case hex digits without dashes (`N` format), whichever
/// form was sent; the empty Guid is `None`. Other ids (Emby's numeric strings) pass unchanged.
pub fn guid(id: Option<String>) -> Option<String> {
    let id = id?;
    let compact: String = id.chars().filter(|c| *c != '-').collect();
    if compact.len() == 32 && compact.chars().all(|c| c.is_ascii_hexdigit()) {
        return (!compact.chars().all(|c| c == '0')).then(|| compact.to_ascii_lowercase());
    }
    Some(id)
}

/// Jellyfin/Emby `BaseItemKind` names.
pub fn media_type(item_type: Option<&str>) -> MediaType {
    match item_type.map(str::to_ascii_lowercase).as_deref() {
        Some("movie") => MediaType::Movie,
        Some("episode") => MediaType::Episode,
        Some("season") => MediaType::Season,
        Some("series") => MediaType::Series,
        Some("audio") => MediaType::Track,
        Some("musicalbum") => MediaType::Album,
        Some("musicartist") => MediaType::Artist,
        _ => MediaType::Other,
    }
}

/// One entry per episode of a multi-episode file (`S01E01–E03`): the first as given, the rest (up to 50)
/// with their numbers only.
pub fn episode_run(first: Episode, last: Option<i32>) -> Vec<Episode> {
    let mut run = vec![first.clone()];
    if let (Some(from), Some(last)) = (first.episode, last) {
        for n in from + 1..=last.min(from + 50) {
            run.push(Episode {
                season: first.season,
                episode: Some(n),
                ..Episode::default()
            });
        }
    }
    run
}

/// The sections a media-server notification fills.
pub struct Sections {
    pub media: Option<Media>,
    pub playback: Option<Playback>,
    pub user: Option<User>,
}

/// The event of a media-server notification, with `data.deleted` on item deletes, and its session signal.
pub fn parsed(
    at: DateTime<Utc>,
    kind: EventKind,
    source: SourceInfo,
    sections: Sections,
    signal: Option<Signal>,
) -> Parsed {
    let data = EventData {
        media: sections.media,
        playback: sections.playback,
        user: sections.user,
        deleted: (kind == EventKind::LibraryDeleted).then(Deleted::item),
        ..EventData::default()
    };
    Parsed {
        event: Event::new(kind, at, source, data),
        playback: signal,
    }
}

/// The fields of `data.playback` the three servers fill.
#[derive(Debug, Default)]
pub struct PlaybackParts {
    pub device: Option<String>,
    pub client: Option<String>,
    pub session_id: Option<String>,
    pub position_ms: Option<i64>,
    pub duration_ms: Option<i64>,
    pub completed: Option<bool>,
    pub local: Option<bool>,
}

impl PlaybackParts {
    /// The section, with `progress` worked out; `None` when nothing is known.
    pub fn build(self) -> Option<Playback> {
        let empty = self.device.is_none()
            && self.client.is_none()
            && self.session_id.is_none()
            && self.position_ms.is_none()
            && self.duration_ms.is_none();
        (!empty).then(|| Playback {
            progress: progress(self.position_ms, self.duration_ms),
            device: self.device,
            client: self.client,
            session_id: self.session_id,
            position_ms: self.position_ms,
            duration_ms: self.duration_ms,
            completed: self.completed,
            local: self.local,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_on_the_lan_are_local() {
        assert_eq!(is_local(Some("192.168.1.54")), Some(true));
        assert_eq!(is_local(Some("10.0.0.2:52311")), Some(true));
        assert_eq!(is_local(Some("::ffff:172.16.4.1")), Some(true));
        assert_eq!(is_local(Some("[fd00::5]:8096")), Some(true));
        assert_eq!(is_local(Some("fe80::1")), Some(true));
        assert_eq!(is_local(Some("198.51.100.200")), Some(false));
        assert_eq!(is_local(Some("2001:db8::1")), Some(false));
        assert_eq!(is_local(Some("somewhere")), None);
        assert_eq!(is_local(None), None);
    }

    #[test]
    fn guids_have_one_spelling() {
        let n = "2c4e6a8b0d1f4a3c5e7b9d1f3a5c7e9b";
        assert_eq!(guid(Some(n.into())).as_deref(), Some(n));
        assert_eq!(
            guid(Some("2C4E6A8B-0D1F-4A3C-5E7B-9D1F3A5C7E9B".into())).as_deref(),
            Some(n)
        );
        assert_eq!(
            guid(Some("00000000-0000-0000-0000-000000000000".into())),
            None
        );
        assert_eq!(guid(Some("105512".into())).as_deref(), Some("105512"));
    }

    #[test]
    fn positions_and_progress() {
        assert_eq!(ticks_to_ms(Some(18_235_000_000)), Some(1_823_500));
        assert_eq!(ticks_to_ms(Some(-1)), None);
        assert_eq!(progress(Some(2_718_000), Some(10_860_000)), Some(0.25));
        assert_eq!(progress(Some(5), Some(0)), None);
        assert_eq!(progress(Some(20), Some(10)), Some(1.0));
    }
}
