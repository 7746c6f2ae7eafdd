//! App payloads the template studio offers to render against when no stored event fits, and a template is
//! checked against before it is saved: one of each kind people style first, from the project's own corpus
//! (`tests/fixtures/inbound`, written from the research).

/// A sample: what the studio calls it, the source that parses it, and the payload as the app sends it.
pub struct Sample {
    pub label: &'static str,
    pub source: &'static str,
    pub payload: &'static str,
}

macro_rules! sample {
    ($label:literal, $app:literal, $file:literal) => {
        Sample {
            label: $label,
            source: $app,
            payload: include_str!(concat!(
                "../../../tests/fixtures/inbound/",
                $app,
                "/",
                $file,
                ".json"
            )),
        }
    };
}

pub const SAMPLES: &[Sample] = &[
    sample!("Radarr: a movie grabbed", "radarr", "grab"),
    sample!("Radarr: a movie imported", "radarr", "download"),
    sample!("Sonarr: an episode imported", "sonarr", "download"),
    sample!(
        "Sonarr: a season pack imported",
        "sonarr",
        "download-multi-episode"
    ),
    sample!("Sonarr: a health issue", "sonarr", "health"),
    sample!("Lidarr: an album imported", "lidarr", "download"),
    sample!("Plex: playback started", "plex", "media.play"),
    sample!("Plex: new in the library", "plex", "library.new"),
    sample!("Jellyfin: playback started", "jellyfin", "PlaybackStart"),
    sample!("Emby: playback started", "emby", "playback.start"),
    sample!("Prowlarr: a release grabbed for Sonarr", "prowlarr", "grab"),
    sample!(
        "Readarr: an audiobook imported",
        "readarr",
        "download-audiobook"
    ),
    sample!(
        "Overseerr: a 4K series requested",
        "overseerr",
        "media-pending-4k-series"
    ),
    sample!(
        "Overseerr: a request available",
        "overseerr",
        "media-available"
    ),
    sample!("Overseerr: an issue reported", "overseerr", "issue-created"),
    sample!("Tautulli: playback started", "tautulli", "play-movie"),
];

#[cfg(test)]
mod tests {
    use super::SAMPLES;
    use crate::inbound::{ParseContext, SourceApp, parse};

    #[test]
    fn every_sample_is_a_payload_its_app_parses() {
        for s in SAMPLES {
            let app = SourceApp::parse(s.source).expect("a sample's source is an app's name");
            let ctx = ParseContext {
                source: s.source,
                app,
                user_agent: None,
                received_at: chrono::Utc::now(),
            };
            let parsed =
                parse(&ctx, s.payload.as_bytes()).unwrap_or_else(|e| panic!("{}: {e}", s.label));
            assert_ne!(
                parsed.event.event,
                crate::event::EventKind::Other,
                "{}: a sample shows a known event",
                s.label
            );
        }
    }
}
