//! The wire shape of Radarr, Sonarr, Lidarr, Whisparr, Readarr and Prowlarr webhooks (research §1, more §2–3),
//! one struct for all of them: the apps share `WebhookBase`, and which of `movie`/`series`/`artist`/`author` is
//! present says which app spoke.
//! Every field is optional and read leniently; unknown fields are ignored (apps add fields in minor releases).

use crate::inbound::lenient;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payload {
    #[serde(default, deserialize_with = "lenient::string")]
    pub event_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub instance_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub application_url: Option<String>,
    /// Prowlarr's grab: `api` (an app fetched the release through Prowlarr) or `manual` (its search page).
    #[serde(default, deserialize_with = "lenient::string")]
    pub trigger: Option<String>,
    /// Prowlarr's grab: who asked (`Sonarr`, `Radarr`, `Prowlarr`…).
    #[serde(default, deserialize_with = "lenient::string")]
    pub source: Option<String>,
    /// Prowlarr's grab: the asking host's name or address.
    #[serde(default, deserialize_with = "lenient::string")]
    pub host: Option<String>,

    // Radarr / Whisparr v2
    pub movie: Option<Movie>,
    pub remote_movie: Option<Movie>,
    pub movie_file: Option<MediaFile>,
    #[serde(default, deserialize_with = "lenient::list")]
    pub renamed_movie_files: Vec<MediaFile>,

    // Sonarr / Whisparr v3
    pub series: Option<Series>,
    #[serde(default, deserialize_with = "lenient::list")]
    pub episodes: Vec<Episode>,
    pub episode_file: Option<MediaFile>,
    #[serde(default, deserialize_with = "lenient::list")]
    pub episode_files: Vec<MediaFile>,
    #[serde(default, deserialize_with = "lenient::list")]
    pub renamed_episode_files: Vec<MediaFile>,
    #[serde(default, deserialize_with = "lenient::i64_any")]
    pub file_count: Option<i64>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub destination_path: Option<String>,

    // Lidarr
    pub artist: Option<Artist>,
    pub album: Option<Album>,
    #[serde(default, deserialize_with = "lenient::list")]
    pub albums: Vec<Album>,
    #[serde(default, deserialize_with = "lenient::list")]
    pub tracks: Vec<Track>,
    #[serde(default, deserialize_with = "lenient::list")]
    pub track_files: Vec<MediaFile>,
    pub track_file: Option<MediaFile>,
    #[serde(default, deserialize_with = "lenient::list")]
    pub renamed_track_files: Vec<MediaFile>,
    /// Lidarr `DownloadFailure` carries the release at the top level.
    #[serde(default, deserialize_with = "quality_name")]
    pub quality: Option<String>,
    #[serde(default, deserialize_with = "lenient::i64_any")]
    pub quality_version: Option<i64>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub release_title: Option<String>,

    // Readarr
    pub author: Option<Author>,
    pub book: Option<Book>,
    #[serde(default, deserialize_with = "lenient::list")]
    pub books: Vec<Book>,
    pub book_file: Option<MediaFile>,
    #[serde(default, deserialize_with = "lenient::list")]
    pub book_files: Vec<MediaFile>,
    #[serde(default, deserialize_with = "lenient::list")]
    pub renamed_book_files: Vec<MediaFile>,

    // Grab / Download / ManualInteractionRequired
    pub release: Option<Release>,
    pub download_info: Option<Release>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub download_client: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub download_client_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub download_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub download_status: Option<String>,
    #[serde(default, deserialize_with = "lenient::list")]
    pub download_status_messages: Vec<StatusMessage>,
    pub custom_format_info: Option<CustomFormatInfo>,
    #[serde(default, deserialize_with = "lenient::bool_any")]
    pub is_upgrade: Option<bool>,
    /// A list of replaced files on `Download`, a bool on `MovieDelete`/`SeriesDelete`/`*Delete`.
    #[serde(default)]
    pub deleted_files: DeletedFiles,
    #[serde(default, deserialize_with = "lenient::string")]
    pub delete_reason: Option<String>,

    // Health / ApplicationUpdate
    #[serde(default, deserialize_with = "lenient::string")]
    pub level: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub message: Option<String>,
    #[serde(rename = "type", default, deserialize_with = "lenient::string")]
    pub check_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub wiki_url: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub previous_version: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub new_version: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Movie {
    #[serde(default, deserialize_with = "lenient::string")]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "lenient::positive_i64")]
    pub year: Option<i64>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub release_date: Option<String>,
    #[serde(default, deserialize_with = "lenient::positive_i64")]
    pub tmdb_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub imdb_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub overview: Option<String>,
    #[serde(default, deserialize_with = "lenient::string_list")]
    pub genres: Vec<String>,
    #[serde(default, deserialize_with = "lenient::list")]
    pub images: Vec<Image>,
    #[serde(default, deserialize_with = "lenient::string_list")]
    pub tags: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Series {
    #[serde(default, deserialize_with = "lenient::string")]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "lenient::positive_i64")]
    pub year: Option<i64>,
    #[serde(default, deserialize_with = "lenient::positive_i64")]
    pub tvdb_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient::positive_i64")]
    pub tv_maze_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient::positive_i64")]
    pub tmdb_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub imdb_id: Option<String>,
    /// Sonarr v5.
    #[serde(default, deserialize_with = "lenient::list")]
    pub mal_ids: Vec<Value>,
    /// Sonarr v5.
    #[serde(default, deserialize_with = "lenient::list")]
    pub ani_list_ids: Vec<Value>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub overview: Option<String>,
    #[serde(default, deserialize_with = "lenient::string_list")]
    pub genres: Vec<String>,
    #[serde(default, deserialize_with = "lenient::list")]
    pub images: Vec<Image>,
    #[serde(default, deserialize_with = "lenient::string_list")]
    pub tags: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Episode {
    #[serde(default, deserialize_with = "lenient::i64_any")]
    pub episode_number: Option<i64>,
    #[serde(default, deserialize_with = "lenient::i64_any")]
    pub season_number: Option<i64>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub air_date: Option<String>,
    #[serde(default, deserialize_with = "lenient::positive_i64")]
    pub tvdb_id: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Artist {
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub mb_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub overview: Option<String>,
    #[serde(default, deserialize_with = "lenient::string_list")]
    pub genres: Vec<String>,
    #[serde(default, deserialize_with = "lenient::list")]
    pub images: Vec<Image>,
    #[serde(default, deserialize_with = "lenient::string_list")]
    pub tags: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Album {
    #[serde(default, deserialize_with = "lenient::string")]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub mb_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub overview: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub release_date: Option<String>,
    #[serde(default, deserialize_with = "lenient::string_list")]
    pub genres: Vec<String>,
    #[serde(default, deserialize_with = "lenient::list")]
    pub images: Vec<Image>,
}

/// Readarr's author: a name and its Goodreads id (no images, overview or genres).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Author {
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub goodreads_id: Option<String>,
}

/// Readarr's book: no year field (the year is the release date's), and its one monitored edition.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Book {
    #[serde(default, deserialize_with = "lenient::string")]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub goodreads_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub release_date: Option<String>,
    #[serde(default, deserialize_with = "lenient::object")]
    pub edition: Option<Edition>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Edition {
    #[serde(default, deserialize_with = "lenient::string")]
    pub isbn13: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub asin: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Track {
    #[serde(default, deserialize_with = "lenient::string")]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub track_number: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    #[serde(default, deserialize_with = "lenient::string")]
    pub cover_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub url: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub remote_url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaFile {
    #[serde(default, deserialize_with = "lenient::string")]
    pub path: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub relative_path: Option<String>,
    #[serde(default, deserialize_with = "quality_name")]
    pub quality: Option<String>,
    #[serde(default, deserialize_with = "lenient::i64_any")]
    pub quality_version: Option<i64>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub release_group: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub scene_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::positive_i64")]
    pub size: Option<i64>,
    #[serde(default, deserialize_with = "lenient::string_list")]
    pub languages: Vec<String>,
    pub media_info: Option<MediaInfo>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaInfo {
    #[serde(default, deserialize_with = "lenient::f64_any")]
    pub audio_channels: Option<f64>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub audio_codec: Option<String>,
    #[serde(default, deserialize_with = "lenient::string_list")]
    pub audio_languages: Vec<String>,
    #[serde(default, deserialize_with = "lenient::positive_i64")]
    pub height: Option<i64>,
    #[serde(default, deserialize_with = "lenient::positive_i64")]
    pub width: Option<i64>,
    #[serde(default, deserialize_with = "lenient::string_list")]
    pub subtitles: Vec<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub video_codec: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub video_dynamic_range_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub video_dynamic_range: Option<String>,
}

/// `release` on Grab/Download, and `downloadInfo` on ManualInteractionRequired (which names the title `title`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Release {
    #[serde(default, deserialize_with = "quality_name")]
    pub quality: Option<String>,
    #[serde(default, deserialize_with = "lenient::i64_any")]
    pub quality_version: Option<i64>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub release_group: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub release_title: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub indexer: Option<String>,
    #[serde(default, deserialize_with = "lenient::positive_i64")]
    pub size: Option<i64>,
    #[serde(default, deserialize_with = "lenient::i64_any")]
    pub custom_format_score: Option<i64>,
    #[serde(default, deserialize_with = "lenient::string_list")]
    pub custom_formats: Vec<String>,
    #[serde(default, deserialize_with = "lenient::string_list")]
    pub languages: Vec<String>,
    #[serde(default, deserialize_with = "lenient::string_list")]
    pub indexer_flags: Vec<String>,
    /// Prowlarr: the indexer's category names.
    #[serde(default, deserialize_with = "lenient::string_list")]
    pub categories: Vec<String>,
    /// Prowlarr: `0001-01-01T00:00:00Z` when unknown.
    #[serde(default, deserialize_with = "lenient::string")]
    pub publish_date: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusMessage {
    #[serde(default, deserialize_with = "lenient::string")]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "lenient::string_list")]
    pub messages: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomFormatInfo {
    #[serde(default, deserialize_with = "lenient::string_list")]
    pub custom_formats: Vec<String>,
    #[serde(default, deserialize_with = "lenient::i64_any")]
    pub custom_format_score: Option<i64>,
}

/// `deletedFiles`: replaced files on an upgrade, or "were files deleted too" on an item delete.
#[derive(Debug, Default)]
pub enum DeletedFiles {
    #[default]
    Absent,
    Flag(bool),
    Files(Vec<MediaFile>),
}

impl<'de> Deserialize<'de> for DeletedFiles {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Bool(b) => DeletedFiles::Flag(b),
            v @ Value::Array(_) => {
                DeletedFiles::Files(serde_json::from_value(v).map_err(serde::de::Error::custom)?)
            }
            _ => DeletedFiles::Absent,
        })
    }
}

/// A quality name: a string (v4+), or Sonarr v3's nested `{"quality": {"name": …}, "revision": …}` entity.
fn quality_name<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) if !s.trim().is_empty() => Some(s),
        Value::Object(o) => o
            .get("quality")
            .and_then(|q| q.get("name").or(Some(q)))
            .or_else(|| o.get("name"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        _ => None,
    })
}
