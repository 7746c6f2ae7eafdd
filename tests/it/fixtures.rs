//! Every Arr payload of each corpus (the project's own `tests/fixtures`, and `../shared/fixtures` when present)
//! parses, and its normalized event matches a reviewed snapshot (id and time redacted); every payload of every
//! app renders for every target type.

use crate::api::openapi::Documented;
use crate::helpers::{Corpus, user_agent};
use chrono::TimeZone;
use hookarr::event::{Event, EventKind};
use hookarr::inbound::{ParseContext, SourceApp, parse};

pub fn parse_as(
    app: SourceApp,
    ua: &str,
    body: &[u8],
) -> Result<Event, hookarr::inbound::InboundError> {
    let ctx = ParseContext {
        source: app.as_str(),
        app,
        user_agent: Some(ua),
        received_at: chrono::Utc
            .with_ymd_and_hms(2026, 11, 25, 18, 0, 0)
            .unwrap(),
    };
    parse(&ctx, body).map(|p| p.event)
}

/// A payload of the project's own corpus parsed as its app sends it.
pub fn parse_fixture(app: SourceApp, name: &str) -> Event {
    parse_from(&Corpus::own(), app, name)
}

pub fn parse_from(corpus: &Corpus, app: SourceApp, name: &str) -> Event {
    let body = corpus.read(app.as_str(), name);
    parse_as(app, user_agent(app.as_str()), &body).unwrap_or_else(|e| panic!("{app}/{name}: {e}"))
}

#[test]
fn every_arr_fixture_matches_its_snapshot() {
    // Each event also keeps to the OpenAPI document's `Event` schema.
    let documented = Documented::built();
    for corpus in Corpus::all() {
        let mut seen = 0;
        let apps = [
            SourceApp::Radarr,
            SourceApp::Sonarr,
            SourceApp::Lidarr,
            SourceApp::Readarr,
            SourceApp::Prowlarr,
        ];
        for app in apps
            .into_iter()
            .filter(|a| corpus.app_dir(a.as_str()).is_dir())
        {
            for name in corpus.names(app.as_str()) {
                let event = parse_from(&corpus, app, &name);
                assert_ne!(
                    event.event,
                    EventKind::Other,
                    "{corpus:?} {app}/{name} should map to a known event"
                );
                documented.check_schema("Event", &serde_json::to_value(&event).unwrap());
                let snapshot = format!("{}{}__{name}", corpus.snapshot_prefix, app.as_str());
                insta::assert_json_snapshot!(snapshot, event, {
                    ".id" => "[id]",
                    ".timestamp" => "[timestamp]",
                });
                seen += 1;
            }
        }
        assert!(
            seen >= 30,
            "expected every Arr payload of {corpus:?}, saw {seen}"
        );
    }
}

#[test]
fn fixtures_map_to_the_contract_event_names() {
    let cases = [
        (SourceApp::Radarr, "test", "test"),
        (SourceApp::Radarr, "grab", "download.grabbed"),
        (SourceApp::Radarr, "download", "library.new"),
        (SourceApp::Radarr, "download-upgrade", "library.upgraded"),
        (SourceApp::Radarr, "rename", "library.updated"),
        (SourceApp::Radarr, "movie-delete", "library.deleted"),
        (SourceApp::Radarr, "movie-file-delete", "library.deleted"),
        (SourceApp::Radarr, "movie-added", "library.monitored"),
        (SourceApp::Radarr, "health", "health.issue"),
        (SourceApp::Radarr, "health-restored", "health.restored"),
        (SourceApp::Radarr, "application-update", "app.updated"),
        (
            SourceApp::Radarr,
            "manual-interaction-required",
            "import.blocked",
        ),
        (SourceApp::Sonarr, "import-complete", "library.new"),
        (SourceApp::Sonarr, "series-add", "library.monitored"),
        (SourceApp::Sonarr, "episode-file-delete", "library.deleted"),
        (SourceApp::Lidarr, "download-failure", "download.failed"),
        (SourceApp::Lidarr, "import-failure", "import.failed"),
        (SourceApp::Lidarr, "artist-add", "library.monitored"),
        (SourceApp::Lidarr, "album-delete", "library.deleted"),
        (SourceApp::Prowlarr, "test", "test"),
        (SourceApp::Prowlarr, "grab", "download.grabbed"),
        (SourceApp::Prowlarr, "grab-manual", "download.grabbed"),
        (SourceApp::Prowlarr, "grab-v1", "download.grabbed"),
        (SourceApp::Prowlarr, "health", "health.issue"),
        (SourceApp::Prowlarr, "health-restored", "health.restored"),
        (SourceApp::Prowlarr, "application-update", "app.updated"),
        (SourceApp::Readarr, "test", "test"),
        (SourceApp::Readarr, "grab", "download.grabbed"),
        (SourceApp::Readarr, "download", "library.new"),
        (SourceApp::Readarr, "download-audiobook", "library.new"),
        (SourceApp::Readarr, "download-upgrade", "library.upgraded"),
        (SourceApp::Readarr, "rename", "library.updated"),
        (SourceApp::Readarr, "retag", "library.updated"),
        (SourceApp::Readarr, "author-added", "library.monitored"),
        (SourceApp::Readarr, "author-delete", "library.deleted"),
        (SourceApp::Readarr, "book-delete", "library.deleted"),
        (SourceApp::Readarr, "book-file-delete", "library.deleted"),
        (SourceApp::Readarr, "health", "health.issue"),
        (SourceApp::Readarr, "application-update", "app.updated"),
    ];
    for (app, file, expected) in cases {
        let event = parse_fixture(app, file);
        assert_eq!(event.event.as_str(), expected, "{app}/{file}");
    }
}

/// Apprise notifications (Bazarr's json://, Audiobookshelf's Apprise API call): `other` events with their title,
/// body and type, tests by their title; the sender's own Apprise URLs never reach the event.
#[test]
fn every_apprise_fixture_matches_its_snapshot() {
    let documented = Documented::built();
    for corpus in Corpus::all() {
        if !corpus.app_dir("apprise").is_dir() {
            continue;
        }
        for name in corpus.names("apprise") {
            let ua = if name.starts_with("audiobookshelf") {
                "axios/1.8.4"
            } else {
                "Apprise"
            };
            let body = corpus.read("apprise", &name);
            let event = parse_as(SourceApp::Apprise, ua, &body)
                .unwrap_or_else(|e| panic!("apprise/{name}: {e}"));
            let expected = if name.ends_with("-test") {
                EventKind::Test
            } else {
                EventKind::Other
            };
            assert_eq!(event.event, expected, "apprise/{name}");
            let n = event.data.notification.as_ref().expect("a notification");
            assert!(n.title.is_some() && n.body.is_some(), "apprise/{name}");
            let json = serde_json::to_value(&event).unwrap();
            assert!(
                !json.to_string().contains("://"),
                "apprise/{name}: no sender URL in {json}"
            );
            documented.check_schema("Event", &json);
            let snapshot = format!("{}apprise__{name}", corpus.snapshot_prefix);
            insta::assert_json_snapshot!(snapshot, event, {
                ".id" => "[id]",
                ".timestamp" => "[timestamp]",
            });
        }
    }
}

/// Prowlarr knows the release, not the media: its grab says who asked; an unknown size or a date of year 1 is
/// not a value.
#[test]
fn a_prowlarr_grab_says_who_asked_and_has_no_media() {
    let api = parse_fixture(SourceApp::Prowlarr, "grab");
    assert!(api.data.media.is_none());
    let grab = api.data.grab.as_ref().unwrap();
    assert_eq!(
        (
            grab.trigger.as_deref(),
            grab.source.as_deref(),
            grab.host.as_deref()
        ),
        (Some("api"), Some("Sonarr"), Some("sonarr"))
    );
    let release = api.data.release.as_ref().unwrap();
    assert_eq!(release.size_bytes, None);
    assert_eq!(release.indexer.as_deref(), Some("TorrentLeech"));
    assert_eq!(api.source.url, None, "an empty applicationUrl is none");
    assert_eq!(
        api.summary,
        "Shōgun.2024.S01E01.Anjin.1080p.DSNP.WEB-DL.DDP5.1.H.264-NTb grabbed from TorrentLeech for Sonarr"
    );
    let manual = parse_fixture(SourceApp::Prowlarr, "grab-manual");
    let release = manual.data.release.as_ref().unwrap();
    assert_eq!(release.size_bytes, Some(71_830_325_248));
    assert_eq!(release.flags, ["freeleech", "internal"]);
    assert_eq!(
        manual.data.download.as_ref().unwrap().client.as_deref(),
        Some("qBittorrent")
    );
    let old = parse_fixture(SourceApp::Prowlarr, "grab-v1");
    assert!(old.data.grab.is_none());
    assert_eq!(
        old.summary,
        "The.Last.of.Us.S02E03.1080p.WEB.H264-SuccessfulCrab grabbed from NZBgeek"
    );
}

#[test]
fn an_upgrade_carries_the_replaced_files() {
    let event = parse_fixture(SourceApp::Radarr, "download-upgrade");
    let deleted = event.data.deleted.expect("upgrade has deleted files");
    assert_eq!(deleted.scope, "file");
    assert_eq!(deleted.reason.as_deref(), Some("upgrade"));
    assert_eq!(deleted.files.len(), 1);
    assert_eq!(deleted.files[0].quality.as_deref(), Some("WEBDL-1080p"));
    assert_eq!(
        event.data.release.unwrap().quality.as_deref(),
        Some("Bluray-1080p")
    );
}

#[test]
fn sonarr_import_complete_sums_its_files() {
    let event = parse_fixture(SourceApp::Sonarr, "import-complete");
    let media = event.data.media.unwrap();
    assert_eq!(media.episodes.len(), 3);
    assert_eq!(media.season, Some(2));
    assert_eq!(media.title.as_deref(), Some("Severance"));
    let file = event.data.file.unwrap();
    assert_eq!(
        file.size_bytes,
        Some(7_516_192_768 + 7_301_444_403 + 7_086_696_038)
    );
    assert_eq!(
        file.path.as_deref(),
        Some("/data/media/tv/Severance/Season 02")
    );
    assert_eq!(event.summary, "Severance S02E01–E03 imported — WEBDL-2160p");
}

/// Every fixture of every app rendered for every target type by the embedded default templates: the payload
/// is valid JSON in the target's shape, within its limits, and matches a reviewed snapshot.
#[test]
fn every_fixture_renders_for_every_target_type() {
    let templates = hookarr::outbound::Templates::load(None).unwrap();
    for corpus in Corpus::all() {
        let rendered = render_corpus(&templates, &corpus);
        assert!(rendered >= 600, "rendered {rendered} of {corpus:?}");
    }
}

/// Renders every payload of one corpus for every target type; returns how many were rendered.
fn render_corpus(templates: &hookarr::outbound::Templates, corpus: &Corpus) -> usize {
    use hookarr::config::DestinationType;
    use hookarr::outbound::{Target, render_payload};
    let target = Target::preview;
    let mut rendered = 0;
    // The built-in apps, and the Apprise source where the corpus has its payloads.
    let apps = SourceApp::BUILT_IN
        .into_iter()
        .chain([SourceApp::Apprise])
        .filter(|app| corpus.app_dir(app.as_str()).is_dir());
    for app in apps {
        for name in corpus.names(app.as_str()) {
            let mut event = parse_from(corpus, app, &name);
            event.id = hookarr::event::EventId::parse("evt_01JD00000000000000000000AA").unwrap();
            for kind in DestinationType::ALL {
                let payload = render_payload(templates, &target(kind), &event)
                    .unwrap_or_else(|e| panic!("{app}/{name} as {}: {e}", kind.as_str()));
                match kind {
                    DestinationType::Discord => {
                        let embed = &payload["embeds"][0];
                        assert!(
                            embed["title"]
                                .as_str()
                                .is_some_and(|t| !t.is_empty() && t.chars().count() <= 256)
                        );
                        for f in embed["fields"].as_array().unwrap() {
                            assert!(
                                !f["value"].as_str().unwrap().trim().is_empty(),
                                "{app}/{name}: empty field {f}"
                            );
                        }
                        assert_eq!(payload["allowed_mentions"]["parse"], serde_json::json!([]));
                    }
                    DestinationType::Slack => {
                        assert!(payload["text"].as_str().is_some_and(|t| !t.is_empty()));
                        let first = if event.event.as_str().starts_with("playback.") {
                            "section"
                        } else {
                            "header"
                        };
                        assert_eq!(payload["blocks"][0]["type"], first);
                    }
                    DestinationType::HomeAssistant => {
                        assert_eq!(payload["event"], event.event.as_str())
                    }
                    DestinationType::Webhook | DestinationType::Mqtt => {
                        assert_eq!(payload, serde_json::to_value(&event).unwrap())
                    }
                    DestinationType::Telegram => {
                        let text = payload["text"].as_str().unwrap();
                        let limit = if payload.get("photo").is_some() {
                            1024
                        } else {
                            4096
                        };
                        assert!(!text.is_empty() && text.chars().count() <= limit);
                        assert!(text.contains("<b>"), "{app}/{name}: {text}");
                    }
                    DestinationType::Ntfy => {
                        let message = payload["message"].as_str().unwrap();
                        assert!(!message.is_empty() && message.len() <= 4096);
                        assert!(payload["title"].as_str().is_some_and(|t| !t.is_empty()));
                    }
                    DestinationType::Gotify => {
                        assert!(payload["message"].as_str().is_some_and(|m| !m.is_empty()));
                        assert_eq!(
                            payload["extras"]["client::display"]["contentType"],
                            "text/markdown"
                        );
                    }
                    DestinationType::Pushover => {
                        let message = payload["message"].as_str().unwrap();
                        assert!(!message.is_empty() && message.chars().count() <= 1024);
                    }
                    DestinationType::Matrix => {
                        assert!(payload["body"].as_str().is_some_and(|b| !b.is_empty()));
                        assert!(payload["formatted_body"].as_str().is_some());
                    }
                    DestinationType::Email => {
                        let subject = payload["subject"].as_str().unwrap();
                        assert!(!subject.is_empty() && !subject.contains('\n'));
                        assert!(payload["text"].as_str().is_some_and(|t| !t.is_empty()));
                    }
                }
                rendered += 1;
                // MQTT's default is the envelope, as the webhook's (whose snapshots show it): asserted above.
                if kind == DestinationType::Mqtt {
                    continue;
                }
                insta::assert_json_snapshot!(
                    format!(
                        "{}render__{}__{}__{name}",
                        corpus.snapshot_prefix,
                        kind.as_str(),
                        app.as_str()
                    ),
                    payload
                );
            }
        }
    }
    rendered
}
