//! The one-line `summary` of an event, used as the plain-text fallback by every target.

use super::{EventData, EventKind, Media, MediaType, SourceInfo};

/// A short human line describing the event, e.g. `Dune: Part Two (2024) imported — Bluray-2160p`.
pub fn summarize(kind: EventKind, source: &SourceInfo, data: &EventData) -> String {
    let what = data.media.as_ref().map(media_label);
    let what = what.as_deref().unwrap_or("Unknown item");
    let quality = data
        .release
        .as_ref()
        .and_then(|r| r.quality.as_deref())
        .or_else(|| data.file.as_ref().and_then(|f| f.quality.as_deref()));
    let with_quality = |verb: &str| match quality {
        Some(q) => format!("{what} {verb} — {q}"),
        None => format!("{what} {verb}"),
    };
    // A media server by its own name ("Basement NAS"), an Arr by its instance name.
    let app = source
        .server
        .as_deref()
        .or(source.instance.as_deref())
        .unwrap_or(&source.app);
    let health_message = || {
        data.health
            .as_ref()
            .and_then(|h| h.message.clone())
            .unwrap_or_default()
    };
    let release_title = || {
        data.release
            .as_ref()
            .and_then(|r| r.title.clone())
            .unwrap_or_else(|| what.to_owned())
    };
    match kind {
        EventKind::Test => format!("Test notification from {app}"),
        EventKind::DownloadGrabbed => {
            let indexer = data.release.as_ref().and_then(|r| r.indexer.as_deref());
            // An indexer manager's grab knows the release, not the media (and says who asked).
            let grabbed = match &data.media {
                None => format!("{} grabbed", release_title()),
                Some(_) => with_quality("grabbed"),
            };
            let grabbed = match indexer {
                Some(i) => format!("{grabbed} from {i}"),
                None => grabbed,
            };
            match data.grab.as_ref().and_then(|g| g.source.as_deref()) {
                Some(by) if data.media.is_none() => format!("{grabbed} for {by}"),
                _ => grabbed,
            }
        }
        EventKind::DownloadFailed => format!("Download failed: {}", release_title()),
        EventKind::ImportFailed => format!("Import failed: {}", release_title()),
        EventKind::ImportBlocked => match &data.media {
            Some(_) => format!("{what} needs a manual import"),
            None => format!("Manual import needed: {}", release_title()),
        },
        EventKind::LibraryNew => match &source.server {
            Some(server) => format!("{what} added to {server}"),
            None => with_quality("imported"),
        },
        EventKind::LibraryUpgraded => with_quality("upgraded"),
        EventKind::LibraryUpdated => match source.event.to_ascii_lowercase().as_str() {
            "rename" => format!("{what} files renamed"),
            "retag" => format!("{what} files retagged"),
            _ => format!("{what} updated"),
        },
        EventKind::LibraryDeleted => match data.deleted.as_ref().map(|d| d.scope.as_str()) {
            Some("file") => match data.deleted.as_ref().and_then(|d| d.reason.as_deref()) {
                Some(reason) => format!("{what} file deleted ({reason})"),
                None => format!("{what} file deleted"),
            },
            _ => format!("{what} deleted"),
        },
        EventKind::LibraryMonitored => format!("{what} added"),
        EventKind::LibraryRated => {
            let rating = data.media.as_ref().and_then(|m| m.rating);
            match (who(data), rating) {
                (Some(u), Some(r)) => format!("{u} rated {what} {r}/10"),
                (Some(u), None) => format!("{u} rated {what}"),
                (None, Some(r)) => format!("{what} rated {r}/10"),
                (None, None) => format!("{what} rated"),
            }
        }
        EventKind::LibraryWatched => match who(data) {
            Some(u) => format!("{u} marked {what} watched"),
            None => format!("{what} marked watched"),
        },
        EventKind::LibraryUnwatched => match who(data) {
            Some(u) => format!("{u} marked {what} unwatched"),
            None => format!("{what} marked unwatched"),
        },
        EventKind::HealthIssue => {
            let level = data
                .health
                .as_ref()
                .and_then(|h| h.level.as_deref())
                .unwrap_or("issue");
            format!("{app} health {level}: {}", health_message())
        }
        EventKind::HealthRestored => format!("{app} health restored: {}", health_message()),
        EventKind::AppUpdated => {
            let u = data.update.as_ref();
            match (
                u.and_then(|u| u.message.clone()),
                u.and_then(|u| u.new_version.clone()),
            ) {
                (Some(m), _) => m,
                (None, Some(v)) => format!("{app} updated to {v}"),
                (None, None) => format!("{app} updated"),
            }
        }
        // "sarah.k started Oppenheimer (2023) on Living Room Shield"
        EventKind::PlaybackStart => acted(data, "started", what, "started playing"),
        EventKind::PlaybackPause => acted(data, "paused", what, "paused"),
        EventKind::PlaybackResume => acted(data, "resumed", what, "resumed"),
        EventKind::PlaybackStop => acted(data, "stopped", what, "stopped"),
        EventKind::PlaybackScrobble => acted(data, "finished", what, "watched"),
        EventKind::PlaybackProgress => acted(data, "is playing", what, "playing"),
        EventKind::UserCreated => format!("User {} created", user_name(data)),
        EventKind::UserAuthenticated => {
            format!("{} signed in{}", user_name(data), on_device(data))
        }
        EventKind::UserAuthenticationFailed => {
            let from = data
                .user
                .as_ref()
                .and_then(|u| u.remote_address.as_deref())
                .map(|a| format!(" from {a}"))
                .unwrap_or_default();
            format!(
                "Failed sign-in for {}{}{from}",
                user_name(data),
                on_device(data)
            )
        }
        EventKind::SessionCreated => {
            let client = data
                .playback
                .as_ref()
                .and_then(|p| p.client.as_deref())
                .map(|c| format!(" ({c})"))
                .unwrap_or_default();
            format!(
                "New session for {}{}{client}",
                user_name(data),
                on_device(data)
            )
        }
        EventKind::RequestPending
        | EventKind::RequestApproved
        | EventKind::RequestDeclined
        | EventKind::RequestAvailable
        | EventKind::RequestFailed => request_line(kind, data, what),
        EventKind::IssueCreated
        | EventKind::IssueCommented
        | EventKind::IssueResolved
        | EventKind::IssueReopened => issue_line(kind, data, what),
        EventKind::Other => match &data.notification {
            Some(n) => notification_line(n, &source.name),
            None => format!("{app}: {}", source.event),
        },
        EventKind::DeliveryDead => "A delivery ran out of attempts".to_owned(),
        EventKind::DestinationDisabled => "A destination was disabled".to_owned(),
        EventKind::MediaAvailable => {
            let ready = ready_to(data.media.as_ref().map(|m| m.kind));
            match data.story.as_ref().and_then(|s| s.available_on.as_deref()) {
                Some(on) => format!("{what} is {ready} on {on}"),
                None => format!("{what} is {ready}"),
            }
        }
        EventKind::MediaUpgraded => with_quality("upgraded"),
        EventKind::MediaStuck => match &data.story {
            Some(s) => format!(
                "{what} stuck: {} for {}",
                s.stage,
                span(s.waiting_secs.unwrap_or(0))
            ),
            None => format!("{what} is stuck"),
        },
        EventKind::SourceSilent => match &data.silence {
            Some(s) => format!("{} has been quiet for {}", s.source, span(s.quiet_secs)),
            None => "A source went quiet".to_owned(),
        },
        EventKind::SourceBack => match &data.silence {
            Some(s) => format!(
                "{} is back after {} of silence",
                s.source,
                span(s.quiet_secs)
            ),
            None => "A source is back".to_owned(),
        },
    }
}

/// "ready to watch", "ready to listen to", "ready to read": what a title becomes when it is available.
pub fn ready_to(kind: Option<MediaType>) -> &'static str {
    match kind {
        Some(MediaType::Album | MediaType::Track | MediaType::Artist) => "ready to listen to",
        Some(MediaType::Book | MediaType::Author) => "ready to read",
        _ => "ready to watch",
    }
}

/// A wait in words: "45 s", "35 min", "6 h 20 min", "2 days 3 h".
pub fn span(secs: i64) -> String {
    let secs = secs.max(0);
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{secs} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (1, 0, _) => "1 day".to_owned(),
        (1, h, _) => format!("1 day {h} h"),
        (d, 0, _) => format!("{d} days"),
        (d, h, _) => format!("{d} days {h} h"),
    }
}

/// An Apprise notification in one line: its title and the first line of its body (`Bazarr notification:
/// Dune (2021) : German subtitles downloaded…`), or whichever of the two it has.
fn notification_line(n: &super::Notification, source: &str) -> String {
    let title = n.title.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let body = n
        .body
        .as_deref()
        .and_then(|b| b.lines().map(str::trim).find(|l| !l.is_empty()));
    let line = match (title, body) {
        (Some(t), Some(b)) => format!("{t}: {b}"),
        (Some(t), None) => t.to_owned(),
        (None, Some(b)) => b.to_owned(),
        (None, None) => format!("{source}: a notification"),
    };
    crate::outbound::templates::truncate_chars(&line, 300)
}

/// "Zoë requested Dune: Part Two (2024) in 4K", "Dune: Part Two (2024) is now available in 4K".
fn request_line(kind: EventKind, data: &EventData, what: &str) -> String {
    let request = data.request.as_ref();
    let in_4k = if request.is_some_and(|r| r.is4k) {
        " in 4K"
    } else {
        ""
    };
    let by = request
        .and_then(|r| r.requested_by.as_ref())
        .and_then(|p| p.name.as_deref());
    let auto = request.is_some_and(|r| r.auto_approved);
    match (kind, by) {
        (EventKind::RequestPending, Some(by)) => format!("{by} requested {what}{in_4k}"),
        (EventKind::RequestPending, None) => format!("{what} requested{in_4k}"),
        (EventKind::RequestApproved, Some(by)) if auto => {
            format!("{by} requested {what}{in_4k} (approved automatically)")
        }
        (EventKind::RequestApproved, _) => format!("Request for {what}{in_4k} approved"),
        (EventKind::RequestDeclined, _) => format!("Request for {what}{in_4k} declined"),
        (EventKind::RequestAvailable, _) => format!("{what} is now available{in_4k}"),
        _ => format!("Request for {what}{in_4k} failed"),
    }
}

/// "kenji reported an audio issue with Severance (2022)", "Subtitle issue with Dune (2021) reopened".
fn issue_line(kind: EventKind, data: &EventData, what: &str) -> String {
    let issue = data.issue.as_ref();
    let problem = match issue.and_then(|i| i.kind.as_deref()) {
        Some("video") => "video issue",
        Some("audio") => "audio issue",
        Some("subtitles") => "subtitle issue",
        _ => "issue",
    };
    let reporter = issue
        .and_then(|i| i.reported_by.as_ref())
        .and_then(|p| p.name.as_deref());
    let commenter = data
        .comment
        .as_ref()
        .and_then(|c| c.user.as_ref())
        .and_then(|p| p.name.as_deref());
    let article = if problem.starts_with(['a', 'i']) {
        "an"
    } else {
        "a"
    };
    let capital = |s: &str| {
        let mut c = s.chars();
        c.next()
            .map(|f| f.to_uppercase().chain(c).collect::<String>())
            .unwrap_or_default()
    };
    match (kind, reporter, commenter) {
        (EventKind::IssueCreated, Some(by), _) => {
            format!("{by} reported {article} {problem} with {what}")
        }
        (EventKind::IssueCreated, None, _) => format!("{} reported with {what}", capital(problem)),
        (EventKind::IssueCommented, _, Some(by)) => {
            format!("{by} commented on the {problem} with {what}")
        }
        (EventKind::IssueCommented, _, None) => format!("New comment on the {problem} with {what}"),
        (EventKind::IssueResolved, ..) => format!("{} with {what} resolved", capital(problem)),
        _ => format!("{} with {what} reopened", capital(problem)),
    }
}

fn user_name(data: &EventData) -> &str {
    who(data).unwrap_or("unknown user")
}

fn who(data: &EventData) -> Option<&str> {
    data.user.as_ref().and_then(|u| u.name.as_deref())
}

/// ` on Living Room Shield`, or nothing.
fn on_device(data: &EventData) -> String {
    data.playback
        .as_ref()
        .and_then(|p| p.device.as_deref())
        .map(|d| format!(" on {d}"))
        .unwrap_or_default()
}

/// `{user} {verb} {object} on {device}` when the user is known, else `{object} {passive}`.
fn acted(data: &EventData, verb: &str, object: &str, passive: &str) -> String {
    match who(data) {
        Some(user) => format!("{user} {verb} {object}{}", on_device(data)),
        None => format!("{object} {passive}{}", on_device(data)),
    }
}

/// `Title (Year)`, `Series S02E01–E03`, `Artist — Album (Year)`.
fn media_label(m: &Media) -> String {
    let title = m.title.as_deref().unwrap_or("Unknown");
    let with_year = |t: &str| match m.year {
        Some(y) => format!("{t} ({y})"),
        None => t.to_owned(),
    };
    match m.kind {
        MediaType::Episode | MediaType::Season => {
            let series = m.series.as_deref().unwrap_or(title);
            match (episode_span(m), m.season) {
                (Some(span), _) => format!("{series} {span}"),
                // A whole season (a media server's or Tautulli's grouped "added").
                (None, Some(season)) if m.kind == MediaType::Season => {
                    format!("{series} S{season:02}")
                }
                (None, _) => series.to_owned(),
            }
        }
        MediaType::Album => match m.artist.as_deref() {
            Some(artist) => format!("{artist} — {}", with_year(title)),
            None => with_year(title),
        },
        MediaType::Track => match m.artist.as_deref() {
            Some(artist) => format!("{artist} — {title}"),
            None => title.to_owned(),
        },
        MediaType::Book => match m.author.as_deref() {
            Some(author) => format!("{} by {author}", with_year(title)),
            None => with_year(title),
        },
        _ => with_year(title),
    }
}

/// `S02E01`, `S02E01–E03` for a run in one season, `S02 (5 episodes)` otherwise.
fn episode_span(m: &Media) -> Option<String> {
    let eps = &m.episodes;
    let first = eps.first()?;
    let season = first.season?;
    let same_season = eps.iter().all(|e| e.season == Some(season));
    let numbers: Option<Vec<i32>> = eps.iter().map(|e| e.episode).collect();
    match (same_season, numbers) {
        (true, Some(n)) if n.len() == 1 => Some(format!("S{season:02}E{:02}", n[0])),
        (true, Some(n)) if n.windows(2).all(|w| w[1] == w[0] + 1) => {
            Some(format!("S{season:02}E{:02}–E{:02}", n[0], n[n.len() - 1]))
        }
        (true, _) => Some(format!("S{season:02} ({} episodes)", eps.len())),
        (false, _) => Some(format!("{} episodes", eps.len())),
    }
}
