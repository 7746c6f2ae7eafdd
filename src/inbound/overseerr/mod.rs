//! Overseerr, Jellyseerr and Seerr (Settings → Notifications → Webhook): the body is the user's own JSON
//! template, so fields are looked up by name wherever they sit, any value may be a string (`""` = unknown) and
//! any object may be `null`. `notification_type` — or, when a template dropped it, the `event` text — names the
//! event; the year lives in `subject` and the 4K flag in `event`. Requests become `request.*`, issues
//! `issue.*`, the Test button `test` (research: inbound-more §1).

mod fields;

use super::{InboundError, ParseContext, lenient};
use crate::event::{
    Comment, Event, EventData, EventKind, Issue, Media, MediaIds, MediaType, Person, Request, User,
};
use fields::{Fields, Section};
use serde_json::{Map, Value};

/// Parses one request-app notification into its normalized event.
pub fn parse(ctx: &ParseContext<'_>, body: &[u8]) -> Result<Event, InboundError> {
    let object: Map<String, Value> = super::parse_json_object(body)?;
    let fields = Fields::collect(&object);
    let notification_type = fields
        .text(&["notificationtype"], None)
        .or_else(|| fields.value_among(&NOTIFICATION_TYPES));
    let event_text = fields.text(&["event"], None);
    let subject = fields.text(&["subject"], None);
    if notification_type.is_none() && event_text.is_none() && subject.is_none() {
        return Err(InboundError::MissingField("notification_type"));
    }
    let (kind, auto_approved) = notification_type
        .as_deref()
        .and_then(by_notification_type)
        .or_else(|| event_text.as_deref().map(by_event_text))
        .unwrap_or((EventKind::Other, false));
    let app_event = notification_type
        .clone()
        .or_else(|| event_text.clone())
        .unwrap_or_else(|| "notification".into());
    let source = ctx.source_info(app_event);
    let data = if kind == EventKind::Test {
        EventData::default()
    } else {
        normalize(kind, auto_approved, &fields, event_text.as_deref(), subject)
    };
    Ok(Event::new(kind, ctx.received_at, source, data))
}

/// Every `notification_type` the apps send to a webhook (and the one they never do).
const NOTIFICATION_TYPES: [&str; 12] = [
    "MEDIA_PENDING",
    "MEDIA_APPROVED",
    "MEDIA_AUTO_APPROVED",
    "MEDIA_AVAILABLE",
    "MEDIA_DECLINED",
    "MEDIA_FAILED",
    "MEDIA_AUTO_REQUESTED",
    "TEST_NOTIFICATION",
    "ISSUE_CREATED",
    "ISSUE_COMMENT",
    "ISSUE_RESOLVED",
    "ISSUE_REOPENED",
];

/// The event of a `notification_type`, and whether the request was approved automatically.
fn by_notification_type(t: &str) -> Option<(EventKind, bool)> {
    Some(match t.trim().to_ascii_uppercase().as_str() {
        "MEDIA_PENDING" | "MEDIA_AUTO_REQUESTED" => (EventKind::RequestPending, false),
        "MEDIA_APPROVED" => (EventKind::RequestApproved, false),
        "MEDIA_AUTO_APPROVED" => (EventKind::RequestApproved, true),
        "MEDIA_AVAILABLE" => (EventKind::RequestAvailable, false),
        "MEDIA_DECLINED" => (EventKind::RequestDeclined, false),
        "MEDIA_FAILED" => (EventKind::RequestFailed, false),
        "TEST_NOTIFICATION" => (EventKind::Test, false),
        "ISSUE_CREATED" => (EventKind::IssueCreated, false),
        "ISSUE_COMMENT" => (EventKind::IssueCommented, false),
        "ISSUE_RESOLVED" => (EventKind::IssueResolved, false),
        "ISSUE_REOPENED" => (EventKind::IssueReopened, false),
        _ => return None,
    })
}

/// The event of the app's `event` text (`New 4K Movie Request`, `Audio Issue Resolved`), for templates that
/// left `notification_type` out.
fn by_event_text(text: &str) -> (EventKind, bool) {
    let t = text.to_ascii_lowercase();
    let kind = if t.contains("request") {
        if t.contains("automatically approved") {
            return (EventKind::RequestApproved, true);
        } else if t.contains("approved") {
            EventKind::RequestApproved
        } else if t.contains("now available") {
            EventKind::RequestAvailable
        } else if t.contains("declined") {
            EventKind::RequestDeclined
        } else if t.contains("failed") {
            EventKind::RequestFailed
        } else if t.starts_with("new ") || t.contains("submitted") {
            EventKind::RequestPending
        } else {
            EventKind::Other
        }
    } else if t.contains("issue") {
        if t.contains("comment") {
            EventKind::IssueCommented
        } else if t.contains("resolved") {
            EventKind::IssueResolved
        } else if t.contains("reopened") {
            EventKind::IssueReopened
        } else if t.contains("reported") {
            EventKind::IssueCreated
        } else {
            EventKind::Other
        }
    } else if t.contains("test") {
        EventKind::Test
    } else {
        EventKind::Other
    };
    (kind, false)
}

fn normalize(
    kind: EventKind,
    auto_approved: bool,
    f: &Fields<'_>,
    event_text: Option<&str>,
    subject: Option<String>,
) -> EventData {
    let is_request = matches!(
        kind,
        EventKind::RequestPending
            | EventKind::RequestApproved
            | EventKind::RequestDeclined
            | EventKind::RequestAvailable
            | EventKind::RequestFailed
    );
    let is_issue = matches!(
        kind,
        EventKind::IssueCreated
            | EventKind::IssueCommented
            | EventKind::IssueResolved
            | EventKind::IssueReopened
    );
    let message = f.text(&["message"], None);
    let extra = f.extra();
    let seasons: Vec<i32> = extra
        .get("requested seasons")
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_default();
    let event_lower = event_text.unwrap_or_default().to_ascii_lowercase();
    let is4k = f
        .text(&["is4k", "4k"], Some(Section::Request))
        .and_then(|v| lenient::value_to_bool(&Value::String(v)))
        .unwrap_or(event_lower.starts_with("4k ") || event_lower.starts_with("new 4k "));
    let media = media_of(
        f,
        subject,
        &event_lower,
        !seasons.is_empty(),
        is_request.then_some(message.clone()).flatten(),
    );
    let person = |section, prefix: &str| {
        let key = |field: &str| format!("{prefix}{field}");
        let person = Person {
            name: f.text(&[&key("username"), &key("name"), prefix], section),
            // Jellyseerr's Jellyfin and Emby users have their user name in the e-mail field.
            email: f
                .text(&[&key("email")], section)
                .filter(|e| e.contains('@')),
            avatar: f.text(&[&key("avatar")], section),
        };
        (person != Person::default()).then_some(person)
    };
    let requested_by = person(Some(Section::Request), "requestedby");
    let reported_by = person(Some(Section::Issue), "reportedby");
    let commented_by = person(Some(Section::Comment), "commentedby");
    let actor = match kind {
        EventKind::RequestPending => requested_by.as_ref(),
        EventKind::RequestApproved if auto_approved => requested_by.as_ref(),
        EventKind::IssueCreated => reported_by.as_ref(),
        EventKind::IssueCommented => commented_by.as_ref(),
        _ => None,
    };
    let user = actor.and_then(|p| p.name.clone()).map(|name| User {
        name: Some(name),
        ..User::default()
    });
    let request = is_request.then(|| Request {
        id: f.number(&["requestid"], Some(Section::Request)),
        is4k,
        auto_approved,
        status: kind.as_str().strip_prefix("request.").map(str::to_owned),
        media_status: f.text(&["status", "mediastatus"], Some(Section::Media)),
        media_status_4k: f.text(&["status4k", "mediastatus4k"], Some(Section::Media)),
        seasons,
        requested_by,
    });
    let issue = is_issue.then(|| Issue {
        id: f.number(&["issueid"], Some(Section::Issue)),
        kind: f
            .text(&["issuetype"], Some(Section::Issue))
            .map(|t| t.to_ascii_lowercase())
            .or_else(|| issue_type_of(&event_lower)),
        status: f
            .text(&["issuestatus"], Some(Section::Issue))
            .map(|s| s.to_ascii_lowercase()),
        // An issue's `message` is what its reporter wrote.
        message: message.clone(),
        season: extra
            .get("affected season")
            .and_then(|s| s.trim().parse().ok()),
        episode: extra
            .get("affected episode")
            .and_then(|s| s.trim().parse().ok()),
        reported_by,
    });
    let comment = (kind == EventKind::IssueCommented).then(|| Comment {
        message: f.text(&["commentmessage"], Some(Section::Comment)),
        user: commented_by,
    });
    EventData {
        media,
        user,
        request,
        issue,
        comment,
        ..EventData::default()
    }
}

/// `data.media`: the title and year out of `subject` (`Dune: Part Two (2024)`), the ids, the poster.
fn media_of(
    f: &Fields<'_>,
    subject: Option<String>,
    event_lower: &str,
    has_seasons: bool,
    overview: Option<String>,
) -> Option<Media> {
    let tmdb = f.number(&["tmdbid", "mediatmdbid", "tmdb"], Some(Section::Media));
    let tvdb = f.number(&["tvdbid", "mediatvdbid", "tvdb"], Some(Section::Media));
    let media_type = f.text(&["mediatype"], Some(Section::Media));
    if subject.is_none() && tmdb.is_none() && tvdb.is_none() {
        return None;
    }
    let kind = match media_type
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("movie") => MediaType::Movie,
        Some("tv") => MediaType::Series,
        _ if event_lower.contains("series") || has_seasons => MediaType::Series,
        _ if event_lower.contains("movie") => MediaType::Movie,
        _ => MediaType::Other,
    };
    let (title, year) = match subject {
        Some(s) => split_year(&s),
        None => (None, None),
    };
    // A title without a TMDB poster arrives as the image base URL followed by `null`.
    let poster_url = f
        .text(&["image", "imageurl", "poster", "posterurl"], None)
        .filter(|u| !u.ends_with("null") && !u.ends_with("undefined"));
    Some(Media {
        kind,
        title,
        year,
        overview,
        ids: MediaIds {
            tmdb,
            tvdb,
            ..MediaIds::default()
        },
        poster_url,
        ..Media::default()
    })
}

/// `Dune: Part Two (2024)` → (`Dune: Part Two`, 2024); a subject without a year is all title.
fn split_year(subject: &str) -> (Option<String>, Option<i32>) {
    let s = subject.trim();
    let year = s
        .strip_suffix(')')
        .and_then(|rest| rest.rsplit_once(" ("))
        .and_then(|(title, year)| {
            let y: i32 = year.parse().ok().filter(|_| year.len() == 4)?;
            Some((title.trim_end().to_owned(), y))
        });
    match year {
        Some((title, y)) if !title.is_empty() => (Some(title), Some(y)),
        _ => (Some(s.to_owned()).filter(|s| !s.is_empty()), None),
    }
}

/// The issue's kind from the event text, for templates without `issue_type`.
fn issue_type_of(event_lower: &str) -> Option<String> {
    ["video", "audio", "subtitle"]
        .into_iter()
        .find(|k| event_lower.contains(&format!("{k} issue")))
        .map(|k| if k == "subtitle" { "subtitles" } else { k }.to_owned())
        .or_else(|| event_lower.contains("issue").then(|| "other".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbound::SourceApp;

    fn parse_body(body: &str) -> Result<Event, InboundError> {
        let ctx = ParseContext {
            source: "overseerr",
            app: SourceApp::Overseerr,
            user_agent: Some("axios/1.3.4"),
            received_at: chrono::Utc::now(),
        };
        parse(&ctx, body.as_bytes())
    }

    #[test]
    fn subjects_split_into_title_and_year() {
        assert_eq!(
            split_year("Dune: Part Two (2024)"),
            (Some("Dune: Part Two".into()), Some(2024))
        );
        assert_eq!(split_year("Shōgun"), (Some("Shōgun".into()), None));
        assert_eq!(
            split_year("Blade Runner (Final Cut)"),
            (Some("Blade Runner (Final Cut)".into()), None)
        );
        assert_eq!(split_year("(2024)"), (Some("(2024)".into()), None));
    }

    #[test]
    fn a_flat_template_without_notification_type_reads_from_the_event_text() {
        let e = parse_body(
            r#"{"event": "New 4K Series Request", "subject": "Severance (2022)", "tmdb": 95396,
                "requestedBy_username": "Zoë", "extra": [{"name": "Requested Seasons", "value": "1, 2"}]}"#,
        )
        .unwrap();
        assert_eq!(e.event, EventKind::RequestPending);
        let r = e.data.request.as_ref().unwrap();
        assert!(r.is4k);
        assert_eq!(r.seasons, [1, 2]);
        assert_eq!(e.data.media.as_ref().unwrap().kind, MediaType::Series);
        assert_eq!(e.summary, "Zoë requested Severance (2022) in 4K");
        assert_eq!(e.source.instance, None, "axios names no app");
    }

    #[test]
    fn a_body_that_names_no_notification_is_refused() {
        assert_eq!(
            parse_body(r#"{"foo": "bar"}"#).unwrap_err(),
            InboundError::MissingField("notification_type")
        );
    }

    #[test]
    fn a_renamed_type_key_is_found_by_its_value_and_placeholders_are_unknown() {
        let e = parse_body(
            r#"{"kind": "MEDIA_DECLINED", "subject": "Cats (2019)", "media": {"tmdbId": "{{media_tmdbid}}"}}"#,
        )
        .unwrap();
        assert_eq!(e.event, EventKind::RequestDeclined);
        assert_eq!(e.data.media.as_ref().unwrap().ids.tmdb, None);
        assert_eq!(e.summary, "Request for Cats (2019) declined");
    }
}
