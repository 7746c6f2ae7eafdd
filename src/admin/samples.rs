//! App payloads the template studio offers to render against when no stored event fits: one of each kind
//! people style first, from the project's own corpus (`tests/fixtures/inbound`, written from the research).

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
                "../../tests/fixtures/inbound/",
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
];
