//! Radarr, Sonarr, Lidarr, Whisparr and Readarr ("Connect → Webhook"), and Prowlarr: one parser for the apps,
//! which share their webhook code. Which of `movie`, `series`, `artist` or `author` is present says what the
//! event is about; Prowlarr's grabs have none of them, but say who asked (`data.grab`).

mod media;
mod payload;

use super::{InboundError, ParseContext};
use crate::event::{
    Deleted, Download, Event, EventData, EventKind, FileInfo, Grab, Health, MediaInfo, Release,
    Update,
};
use payload::{DeletedFiles, MediaFile, Payload};

/// Parses one Arr webhook body into its normalized event.
pub fn parse(ctx: &ParseContext<'_>, body: &[u8]) -> Result<Event, InboundError> {
    let payload: Payload = super::parse_json_object(body)?;
    let app_event = payload
        .event_type
        .clone()
        .ok_or(InboundError::MissingField("eventType"))?;
    let kind = classify(&app_event, &payload);
    let mut source = ctx.source_info(app_event);
    source.instance = payload.instance_name.clone().or(source.instance);
    source.url = payload.application_url.clone();
    let data = normalize(kind, payload);
    Ok(Event::new(kind, ctx.received_at, source, data))
}

/// Maps `eventType` (matched case-insensitively: old Lidarr sent lower case) to the normalized name.
fn classify(event_type: &str, p: &Payload) -> EventKind {
    match event_type.to_ascii_lowercase().as_str() {
        "test" => EventKind::Test,
        "grab" => EventKind::DownloadGrabbed,
        // Sonarr's "On Import Complete" reuses `Download` without `isUpgrade`: always new.
        "download"
            if p.is_upgrade == Some(true)
                && p.episode_files.is_empty()
                && p.file_count.is_none() =>
        {
            EventKind::LibraryUpgraded
        }
        "download" => EventKind::LibraryNew,
        "rename" | "retag" => EventKind::LibraryUpdated,
        "moviedelete" | "moviefiledelete" | "seriesdelete" | "episodefiledelete"
        | "artistdelete" | "albumdelete" | "authordelete" | "bookdelete" | "bookfiledelete" => {
            EventKind::LibraryDeleted
        }
        "movieadded" | "seriesadd" | "artistadd" | "authoradded" => EventKind::LibraryMonitored,
        "health" => EventKind::HealthIssue,
        "healthrestored" => EventKind::HealthRestored,
        "applicationupdate" => EventKind::AppUpdated,
        "manualinteractionrequired" => EventKind::ImportBlocked,
        "downloadfailure" => EventKind::DownloadFailed,
        "importfailure" => EventKind::ImportFailed,
        _ => EventKind::Other,
    }
}

fn normalize(kind: EventKind, mut p: Payload) -> EventData {
    let is_file_delete = matches!(
        p.event_type
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("moviefiledelete" | "episodefiledelete" | "bookfiledelete")
    );
    let files = files_of(&mut p);
    let file = summarize_files(&files, p.destination_path.take());
    let deleted = match kind {
        EventKind::LibraryUpgraded => match std::mem::take(&mut p.deleted_files) {
            DeletedFiles::Files(replaced) => Some(Deleted {
                scope: "file".into(),
                reason: Some("upgrade".into()),
                files: replaced.iter().map(file_info).collect(),
                files_deleted: None,
            }),
            _ => None,
        },
        EventKind::LibraryDeleted if is_file_delete => Some(Deleted {
            scope: "file".into(),
            reason: p.delete_reason.take(),
            files: file.iter().cloned().collect(),
            files_deleted: None,
        }),
        EventKind::LibraryDeleted => Some(Deleted {
            scope: "item".into(),
            reason: p.delete_reason.take(),
            files: Vec::new(),
            files_deleted: match p.deleted_files {
                DeletedFiles::Flag(b) => Some(b),
                _ => None,
            },
        }),
        _ => None,
    };
    let health =
        matches!(kind, EventKind::HealthIssue | EventKind::HealthRestored).then(|| Health {
            level: p.level.take(),
            check: p.check_type.take(),
            message: p.message.take(),
            wiki_url: p.wiki_url.take(),
        });
    let update = (kind == EventKind::AppUpdated).then(|| Update {
        previous_version: p.previous_version.take(),
        new_version: p.new_version.take(),
        message: p.message.take(),
    });
    let has_release = matches!(
        kind,
        EventKind::Test
            | EventKind::DownloadGrabbed
            | EventKind::DownloadFailed
            | EventKind::ImportFailed
            | EventKind::ImportBlocked
            | EventKind::LibraryNew
            | EventKind::LibraryUpgraded
    );
    let release = if has_release {
        release_of(&mut p, files.first())
    } else {
        None
    };
    let download = download_of(&mut p);
    // Prowlarr's grabs say who asked for the release (it knows no media).
    let grab = (p.trigger.is_some() || p.source.is_some() || p.host.is_some()).then(|| Grab {
        trigger: p.trigger.take(),
        source: p.source.take(),
        host: p.host.take(),
    });
    EventData {
        media: media::media_of(&mut p),
        release,
        grab,
        file: if kind == EventKind::LibraryUpdated && files.len() != 1 {
            None
        } else {
            file
        },
        files: if files.len() > 1 {
            files.iter().map(file_info).collect()
        } else {
            Vec::new()
        },
        deleted,
        download,
        health,
        update,
        ..EventData::default()
    }
}

/// Every file the payload names, whichever field the app used for it.
fn files_of(p: &mut Payload) -> Vec<MediaFile> {
    let single = p
        .movie_file
        .take()
        .or_else(|| p.episode_file.take())
        .or_else(|| p.track_file.take())
        .or_else(|| p.book_file.take());
    let mut files: Vec<MediaFile> = single.into_iter().collect();
    for list in [
        &mut p.episode_files,
        &mut p.track_files,
        &mut p.renamed_movie_files,
        &mut p.renamed_episode_files,
        &mut p.renamed_track_files,
        &mut p.book_files,
        &mut p.renamed_book_files,
    ] {
        files.append(list);
    }
    files
}

/// One file as is; several (Sonarr import complete, a Lidarr album) as their folder and total size.
fn summarize_files(files: &[MediaFile], destination: Option<String>) -> Option<FileInfo> {
    match files {
        [] => None,
        [one] => Some(file_info(one)),
        many => {
            let quality = many[0]
                .quality
                .clone()
                .filter(|q| many.iter().all(|f| f.quality.as_ref() == Some(q)));
            let sizes: Option<Vec<i64>> = many.iter().map(|f| f.size).collect();
            Some(FileInfo {
                path: destination.or_else(|| common_folder(many)),
                relative_path: None,
                size_bytes: sizes
                    .and_then(|s| s.iter().try_fold(0i64, |sum, n| sum.checked_add(*n))),
                quality,
                media_info: many[0].media_info.as_ref().map(media_info),
            })
        }
    }
}

fn common_folder(files: &[MediaFile]) -> Option<String> {
    let first = files.first()?.path.as_deref()?;
    let mut folder = &first[..first.rfind(['/', '\\'])?];
    for f in &files[1..] {
        let path = f.path.as_deref()?;
        while !path.starts_with(folder) {
            folder = &folder[..folder.rfind(['/', '\\'])?];
        }
    }
    (!folder.is_empty()).then(|| folder.to_owned())
}

fn file_info(f: &MediaFile) -> FileInfo {
    FileInfo {
        path: f.path.clone(),
        relative_path: f.relative_path.clone(),
        size_bytes: f.size,
        quality: f.quality.clone(),
        media_info: f.media_info.as_ref().map(media_info),
    }
}

fn media_info(m: &payload::MediaInfo) -> MediaInfo {
    MediaInfo {
        video_codec: m.video_codec.clone(),
        video_dynamic_range: m
            .video_dynamic_range_type
            .clone()
            .or_else(|| m.video_dynamic_range.clone()),
        width: m.width,
        height: m.height,
        audio_codec: m.audio_codec.clone(),
        audio_channels: m.audio_channels,
        audio_languages: m.audio_languages.clone(),
        subtitles: m.subtitles.clone(),
    }
}

/// The release: Grab's `release`, Download's grabbed-release plus the imported file, ManualInteraction's
/// `downloadInfo`, or Lidarr DownloadFailure's top-level fields.
fn release_of(p: &mut Payload, file: Option<&MediaFile>) -> Option<Release> {
    let r = p.release.take().unwrap_or_default();
    let info = p.download_info.take().unwrap_or_default();
    let cfi = p.custom_format_info.take().unwrap_or_default();
    let custom_formats = if r.custom_formats.is_empty() {
        cfi.custom_formats
    } else {
        r.custom_formats
    };
    let release = Release {
        title: r
            .release_title
            .or(r.title)
            .or(info.title)
            .or(info.release_title)
            .or_else(|| p.release_title.take())
            .or_else(|| file.and_then(|f| f.scene_name.clone())),
        quality: r
            .quality
            .or(info.quality)
            .or_else(|| p.quality.take())
            .or_else(|| file.and_then(|f| f.quality.clone())),
        quality_version: r
            .quality_version
            .or(info.quality_version)
            .or(p.quality_version)
            .or_else(|| file.and_then(|f| f.quality_version))
            .filter(|v| *v > 0)
            .and_then(|v| i32::try_from(v).ok()),
        size_bytes: r.size.or(info.size),
        indexer: r.indexer.or(info.indexer),
        group: r
            .release_group
            .or_else(|| file.and_then(|f| f.release_group.clone())),
        custom_formats,
        custom_format_score: cfi.custom_format_score.or(r.custom_format_score),
        languages: match (r.languages.is_empty(), file) {
            (true, Some(f)) => f.languages.clone(),
            _ => r.languages,
        },
        flags: r.indexer_flags,
        categories: r.categories,
        // Prowlarr's stub releases carry `0001-01-01`: unknown.
        published_at: r
            .publish_date
            .filter(|d| crate::inbound::lenient::year_of_date(Some(d)).is_some()),
    };
    (release != Release::default()).then_some(release)
}

fn download_of(p: &mut Payload) -> Option<Download> {
    let download = Download {
        client: p.download_client.take(),
        client_type: p.download_client_type.take(),
        id: p.download_id.take(),
        status: p.download_status.take().map(|s| s.to_ascii_lowercase()),
        messages: std::mem::take(&mut p.download_status_messages)
            .into_iter()
            .flat_map(|m| {
                let title = m.title;
                m.messages.into_iter().map(move |msg| match &title {
                    Some(t) => format!("{t}: {msg}"),
                    None => msg,
                })
            })
            .collect(),
    };
    (download != Download::default()).then_some(download)
}
