//! The apps whose bodies are the user's own template — Overseerr, Jellyseerr (and Seerr) and Tautulli: every
//! fixture of each corpus normalizes to its contract event and a reviewed snapshot, and each quirk of the
//! research (values as strings, renamed keys, `…bestv2null`, text-only 4K and year, literal `{param}`s, the
//! empty body) is a case of its own.

use crate::api::openapi::Documented;
use crate::fixtures::{parse_as, parse_fixture, parse_from};
use crate::helpers::Corpus;
use hookarr::event::{EventKind, MediaType};
use hookarr::inbound::{InboundError, SourceApp};

/// The event each fixture must become, by app and file name.
fn expected(app: SourceApp, name: &str) -> &'static str {
    match (app, name) {
        (SourceApp::Tautulli, name) => match name.split('-').next().unwrap() {
            "play" => "playback.start",
            "pause" => "playback.pause",
            "resume" => "playback.resume",
            "stop" => "playback.stop",
            "watched" => "playback.scrobble",
            "created" => "library.new",
            "intdown" | "extdown" | "tokenexpired" => "health.issue",
            "intup" | "extup" => "health.restored",
            "test" => "test",
            _ => "other",
        },
        (_, "test") => "test",
        (_, n) if n.starts_with("media-pending") || n == "custom-template" => "request.pending",
        (_, "media-approved" | "media-auto-approved") => "request.approved",
        (_, n) if n.starts_with("media-available") => "request.available",
        (_, "media-declined") => "request.declined",
        (_, "media-failed") => "request.failed",
        (_, "issue-created") => "issue.created",
        (_, "issue-comment") => "issue.commented",
        (_, "issue-resolved") => "issue.resolved",
        (_, "issue-reopened") => "issue.reopened",
        (app, name) => panic!("no expectation for {app}/{name}"),
    }
}

#[test]
fn every_request_app_and_tautulli_fixture_matches_its_snapshot() {
    let documented = Documented::built();
    let apps = [
        SourceApp::Overseerr,
        SourceApp::Jellyseerr,
        SourceApp::Tautulli,
    ];
    for corpus in Corpus::all() {
        for app in apps
            .into_iter()
            .filter(|a| corpus.app_dir(a.as_str()).is_dir())
        {
            let names = corpus.names(app.as_str());
            assert!(!names.is_empty(), "{corpus:?} has no {app} payloads");
            for name in names {
                let event = parse_from(&corpus, app, &name);
                assert_eq!(event.event.as_str(), expected(app, &name), "{app}/{name}");
                let json = serde_json::to_value(&event).unwrap();
                documented.check_schema("Event", &json);
                // No placeholder of either app survives into an event.
                let text = json.to_string();
                assert!(
                    !text.contains("{{") && !text.contains("\"{"),
                    "{app}/{name}: {text}"
                );
                let snapshot = format!("{}{}__{name}", corpus.snapshot_prefix, app.as_str());
                insta::assert_json_snapshot!(snapshot, event, {
                    ".id" => "[id]",
                    ".timestamp" => "[timestamp]",
                });
            }
        }
    }
}

#[test]
fn a_request_reads_its_year_4k_seasons_and_requester_from_text() {
    let e = parse_fixture(SourceApp::Overseerr, "media-pending-4k-series");
    let media = e.data.media.as_ref().unwrap();
    assert_eq!(media.kind, MediaType::Series);
    assert_eq!(
        (media.title.as_deref(), media.year),
        (Some("Severance"), Some(2022))
    );
    assert_eq!(
        (media.ids.tmdb, media.ids.tvdb),
        (Some(95396), Some(371980))
    );
    let request = e.data.request.as_ref().unwrap();
    assert!(request.is4k);
    assert!(!request.auto_approved);
    assert_eq!(request.id, Some(42));
    assert_eq!(request.seasons, [1, 2]);
    assert_eq!(request.status.as_deref(), Some("pending"));
    assert_eq!(request.media_status_4k.as_deref(), Some("PENDING"));
    let by = request.requested_by.as_ref().unwrap();
    assert_eq!(by.name.as_deref(), Some("Zoë"));
    assert_eq!(e.data.user.as_ref().unwrap().name.as_deref(), Some("Zoë"));
    assert_eq!(e.summary, "Zoë requested Severance (2022) in 4K");

    let auto = parse_fixture(SourceApp::Overseerr, "media-auto-approved");
    assert!(auto.data.request.as_ref().unwrap().auto_approved);
    assert_eq!(
        auto.summary,
        "marco requested The Bear (2022) (approved automatically)"
    );
    let available = parse_fixture(SourceApp::Overseerr, "media-available");
    assert_eq!(available.summary, "Dune (2021) is now available");
    assert!(
        available.data.user.is_none(),
        "nobody acted on an availability"
    );
    let available_4k = parse_fixture(SourceApp::Overseerr, "media-available-4k");
    assert_eq!(
        available_4k.summary,
        "Severance (2022) is now available in 4K"
    );
}

#[test]
fn a_title_without_a_poster_has_none_and_an_empty_overview_is_null() {
    let e = parse_fixture(SourceApp::Overseerr, "media-failed");
    let media = e.data.media.as_ref().unwrap();
    assert_eq!(media.poster_url, None, "…bestv2null is not a poster");
    assert_eq!(media.overview, None);
    assert_eq!(e.summary, "Request for Perfect Days (2023) failed");
}

#[test]
fn a_users_own_template_is_read_by_key_wherever_it_sits() {
    // `type` for notification_type, the subject nested, a number and a boolean typed as literals.
    let e = parse_fixture(SourceApp::Overseerr, "custom-template");
    assert_eq!(e.event, EventKind::RequestPending);
    let media = e.data.media.as_ref().unwrap();
    assert_eq!(media.title.as_deref(), Some("Past Lives"));
    assert_eq!(media.ids.tmdb, Some(666277));
    assert!(media.poster_url.as_deref().unwrap().ends_with(".jpg"));
    let request = e.data.request.as_ref().unwrap();
    assert_eq!(request.id, Some(46));
    assert!(request.is4k);
    assert_eq!(e.summary, "Léa requested Past Lives (2023) in 4K");
}

#[test]
fn issues_and_comments_say_who_wrote_what() {
    let created = parse_fixture(SourceApp::Overseerr, "issue-created");
    let issue = created.data.issue.as_ref().unwrap();
    assert_eq!(issue.kind.as_deref(), Some("audio"));
    assert_eq!(issue.status.as_deref(), Some("open"));
    assert_eq!((issue.season, issue.episode), (Some(1), Some(2)));
    assert!(issue.message.as_deref().unwrap().starts_with("The centre"));
    assert!(created.data.request.is_none());
    assert_eq!(
        created.summary,
        "kenji reported an audio issue with Severance (2022)"
    );
    let comment = parse_fixture(SourceApp::Overseerr, "issue-comment");
    let c = comment.data.comment.as_ref().unwrap();
    assert!(
        c.message
            .as_deref()
            .unwrap()
            .starts_with("Replaced the file")
    );
    assert_eq!(
        c.user.as_ref().unwrap().name.as_deref(),
        Some("Admin"),
        "the commenter, not the reporter"
    );
    assert_eq!(
        comment.data.user.as_ref().unwrap().name.as_deref(),
        Some("Admin")
    );
    assert_eq!(
        comment.summary,
        "Admin commented on the audio issue with Severance (2022)"
    );
    let reopened = parse_fixture(SourceApp::Overseerr, "issue-reopened");
    assert_eq!(reopened.summary, "Subtitle issue with Dune (2021) reopened");
    let jellyseerr = parse_fixture(SourceApp::Jellyseerr, "issue-created");
    let by = jellyseerr.data.issue.unwrap().reported_by.unwrap();
    assert_eq!(
        by.email, None,
        "a Jellyfin user name in the e-mail field is not one"
    );
    assert_eq!(
        by.avatar.as_deref(),
        Some("/avatarproxy/8c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f")
    );
}

#[test]
fn tautulli_titles_episodes_by_their_show_and_drops_literal_placeholders() {
    let watched = parse_fixture(SourceApp::Tautulli, "watched-episode");
    let media = watched.data.media.as_ref().unwrap();
    assert_eq!(
        media.title.as_deref(),
        Some("Slow Horses"),
        "not `Show - Episode`"
    );
    assert_eq!(
        media.episodes[0].title.as_deref(),
        Some("Negotiating with Tigers")
    );
    assert_eq!(
        (media.episodes[0].season, media.episodes[0].episode),
        (Some(4), Some(3))
    );
    assert_eq!(media.ids.tvdb, Some(359492), "the show's ids, title-level");
    let playback = watched.data.playback.as_ref().unwrap();
    assert_eq!(playback.progress, Some(0.87));
    assert_eq!(playback.local, Some(true));
    assert_eq!(watched.source.server.as_deref(), Some("Attic Plex"));
    assert_eq!(
        watched.summary,
        "Grandma Ruth finished Slow Horses S04E03 on Kitchen TV"
    );
    // ASCII-escaped JSON reads as the text it escapes.
    let play = parse_fixture(SourceApp::Tautulli, "play-movie");
    assert_eq!(
        play.data.media.as_ref().unwrap().title.as_deref(),
        Some("Amélie")
    );
    // A server trigger with the media template: every media parameter is a literal `{name}`.
    let down = parse_fixture(SourceApp::Tautulli, "intdown-media-template");
    assert!(down.data.media.is_none(), "{:?}", down.data.media);
    assert!(down.data.user.is_none());
    assert_eq!(
        down.summary,
        "Attic Plex health error: The Plex Media Server is unreachable"
    );
    let grouped = parse_fixture(SourceApp::Tautulli, "created-season-grouped");
    assert_eq!(grouped.data.media.as_ref().unwrap().season, Some(4));
    let update = parse_fixture(SourceApp::Tautulli, "pmsupdate");
    assert_eq!(
        update.summary,
        "Plex Media Server 1.41.4.9463-630c9f557 is available"
    );
}

#[test]
fn tautulli_without_a_template_is_told_what_to_paste() {
    let err = parse_as(SourceApp::Tautulli, "python-requests/2.33.1", b"").unwrap_err();
    assert!(matches!(err, InboundError::EmptyTemplate(_)));
    assert!(err.to_string().contains("media.json"), "{err}");
}

/// The README shows Tautulli's two templates inline; they are the shipped files (`docs/tautulli/`), key for key.
#[test]
fn the_readme_shows_the_shipped_tautulli_templates() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let section = &readme[readme.find("**Tautulli**").expect("a Tautulli section")..];
    let blocks: Vec<serde_json::Value> = section
        .split("```json\n")
        .skip(1)
        .take(2)
        .map(|b| serde_json::from_str(&b[..b.find("```").unwrap()]).unwrap())
        .collect();
    for (block, file) in blocks.iter().zip(["media.json", "server.json"]) {
        let shipped: serde_json::Value =
            serde_json::from_slice(&std::fs::read(root.join("docs/tautulli").join(file)).unwrap())
                .unwrap();
        assert_eq!(block, &shipped, "README vs docs/tautulli/{file}");
    }
    assert_eq!(blocks.len(), 2);
}
