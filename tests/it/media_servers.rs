//! Plex, Jellyfin and Emby through their real transports (Plex multipart with a thumbnail, Jellyfin JSON as
//! text/plain, Emby JSON or the form field `data`), the playback-session rules over HTTP and across a
//! restart, and the ways a form can be broken.

use crate::api::openapi::Documented;
use crate::helpers::{Backend, Corpus, TestApp, assert_error, fixture};
use reqwest::StatusCode;
use serde_json::Value;

const BOUNDARY: &str = "------------------------d74496d66958873e";

/// How a body travels.
#[derive(Debug, Clone, Copy)]
enum Transport {
    /// `multipart/form-data`: the JSON in part `field`, then (optionally) a JPEG `thumb` of this many bytes.
    Multipart {
        field: &'static str,
        thumb: Option<usize>,
    },
    /// `application/x-www-form-urlencoded` with the JSON in `field`.
    UrlEncoded { field: &'static str },
    /// The JSON itself with this content type.
    Body(&'static str),
}

/// A multipart body as Plex builds it: `payload` (JSON), then `thumb`.
fn multipart(field: &str, json: &[u8], thumb: Option<usize>) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"\r\nContent-Type: application/json\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(json);
    if let Some(size) = thumb {
        body.extend_from_slice(
            format!(
                "\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"thumb\"; filename=\"thumb.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
            )
            .as_bytes(),
        );
        // A JPEG header, then filler that contains no boundary.
        body.extend_from_slice(&[0xFF, 0xD8, 0xFF, 0xE0]);
        body.extend(std::iter::repeat_n(0xA5u8, size.saturating_sub(4)));
    }
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn post(
    app: &TestApp,
    source: &str,
    transport: Transport,
    json: &[u8],
) -> (StatusCode, Value) {
    match transport {
        Transport::Multipart { field, thumb } => {
            app.post_hook_as(
                source,
                &format!("multipart/form-data; boundary={BOUNDARY}"),
                multipart(field, json, thumb),
            )
            .await
        }
        Transport::UrlEncoded { field } => {
            let body: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair(field, std::str::from_utf8(json).unwrap())
                .finish();
            app.post_hook_as(
                source,
                "application/x-www-form-urlencoded",
                body.into_bytes(),
            )
            .await
        }
        Transport::Body(content_type) => {
            app.post_hook_as(source, content_type, json.to_vec()).await
        }
    }
}

/// The transport each app's fixtures go through; Emby's alternate between its three.
fn transport_for(app: &str, name: &str, n: usize) -> Transport {
    match app {
        // Plex attaches a poster to these events (research §2).
        "plex" => Transport::Multipart {
            field: "payload",
            thumb: [
                "media.play",
                "media.rate",
                "library.new",
                "library.on.deck",
                "playback.started",
            ]
            .contains(&name)
            .then_some(48 * 1024),
        },
        "jellyfin" => Transport::Body("text/plain; charset=utf-8"),
        _ => [
            Transport::Multipart {
                field: "data",
                thumb: None,
            },
            Transport::UrlEncoded { field: "data" },
            Transport::Body("application/json"),
        ][n % 3],
    }
}

/// The stored event (as the API serves it) of an accepted request.
async fn stored_event(app: &TestApp, answer: &Value) -> Value {
    let id = answer["events"][0].as_str().expect("an event id");
    let (status, event) = app.api_get(&format!("/api/events/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{event}");
    event
}

/// What each fixture becomes, sent in file-name order to one fresh hookarr (so the session rules see
/// them in that order: Jellyfin's paused progress comes before any state and is a pause).
const EXPECTED: [(&str, &str, &str); 34] = [
    ("plex", "admin.database.backup", "other"),
    ("plex", "admin.database.corrupted", "other"),
    ("plex", "device.new", "other"),
    ("plex", "library.new", "library.new"),
    ("plex", "library.on.deck", "other"),
    ("plex", "media.pause", "playback.pause"),
    ("plex", "media.play", "playback.start"),
    ("plex", "media.rate", "library.rated"),
    ("plex", "media.resume", "playback.resume"),
    ("plex", "media.scrobble", "playback.scrobble"),
    ("plex", "media.stop", "playback.stop"),
    ("plex", "playback.started", "playback.start"),
    (
        "jellyfin",
        "AuthenticationFailure",
        "user.authentication_failed",
    ),
    ("jellyfin", "AuthenticationSuccess", "user.authenticated"),
    ("jellyfin", "ItemAdded", "library.new"),
    ("jellyfin", "ItemDeleted", "library.deleted"),
    ("jellyfin", "PlaybackProgress", "playback.pause"),
    ("jellyfin", "PlaybackStart", "playback.start"),
    ("jellyfin", "PlaybackStop", "playback.scrobble"),
    ("jellyfin", "SessionStart", "session.created"),
    ("jellyfin", "UserCreated", "user.created"),
    ("jellyfin", "UserDataSaved", "other"),
    ("emby", "item.markplayed", "library.watched"),
    ("emby", "item.markunplayed", "library.unwatched"),
    ("emby", "item.rate", "library.rated"),
    ("emby", "library.deleted", "library.deleted"),
    ("emby", "library.new", "library.new"),
    ("emby", "playback.pause", "playback.pause"),
    ("emby", "playback.start", "playback.start"),
    ("emby", "playback.stop", "playback.scrobble"),
    ("emby", "playback.unpause", "playback.resume"),
    ("emby", "system.notificationtest", "test"),
    ("emby", "user.authenticated", "user.authenticated"),
    (
        "emby",
        "user.authenticationfailed",
        "user.authentication_failed",
    ),
];

#[tokio::test]
async fn every_media_server_fixture_through_its_transport_matches_its_snapshot() {
    for corpus in Corpus::all() {
        media_server_corpus_matches_its_snapshots(&corpus).await;
    }
}

/// Sends every media-server payload of one corpus to a fresh hookarr, in the order of [`EXPECTED`].
async fn media_server_corpus_matches_its_snapshots(corpus: &Corpus) {
    let app = TestApp::spawn(Backend::Sqlite).await;
    // Every payload on disk is in the table, and the other way round.
    let mut on_disk: Vec<String> = ["plex", "jellyfin", "emby"]
        .into_iter()
        .flat_map(|app| {
            corpus
                .names(app)
                .into_iter()
                .map(move |n| format!("{app}/{n}"))
        })
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = EXPECTED
        .iter()
        .map(|(a, n, _)| format!("{a}/{n}"))
        .collect();
    listed.sort();
    assert_eq!(on_disk, listed, "{corpus:?}");
    // Each stored event, as the API serves it, keeps to the OpenAPI document.
    let documented = Documented::built();
    let one_event = Documented::route(reqwest::Method::GET, "/api/events/{id}");

    for (n, (source, name, expected)) in EXPECTED.iter().enumerate() {
        let transport = transport_for(source, name, n);
        let body = corpus.read(source, name);
        let (status, answer) = post(&app, source, transport, &body).await;
        assert_eq!(
            status,
            StatusCode::ACCEPTED,
            "{corpus:?} {source}/{name} via {transport:?}: {answer}"
        );
        let event = stored_event(&app, &answer).await;
        assert_eq!(event["event"], *expected, "{source}/{name}: {event}");
        documented.check(&one_event, StatusCode::OK, &event);
        let snapshot = format!("{}media__{source}__{name}", corpus.snapshot_prefix);
        insta::assert_json_snapshot!(snapshot, event, {
            ".id" => "[id]",
            ".timestamp" => "[timestamp]",
            ".deliveries" => "[deliveries]",
        });
    }
    app.stop().await;
}

#[tokio::test]
async fn the_raw_body_of_a_form_is_its_json_and_the_thumb_is_dropped() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let json = fixture("plex", "library.new");
    // 5 MB of poster against the default 1 MiB limit: the event is accepted, the thumbnail is not kept.
    let (status, answer) = post(
        &app,
        "plex",
        Transport::Multipart {
            field: "payload",
            thumb: Some(5 * 1024 * 1024),
        },
        &json,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let id = answer["events"][0].as_str().unwrap();
    let resp = app
        .client
        .get(format!("{}/api/events/{id}?raw=true", app.base))
        .bearer_auth(crate::helpers::ADMIN_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let raw: Value = resp.json().await.unwrap();
    assert_eq!(raw["raw"]["content_type"], "application/json");
    assert!(
        raw["raw"]["headers"]["content-type"]
            .as_str()
            .is_some_and(|ct| ct.starts_with("multipart/form-data")),
        "{raw}"
    );
    assert_eq!(
        serde_json::from_str::<Value>(raw["raw"]["body"].as_str().unwrap()).unwrap(),
        serde_json::from_slice::<Value>(&json).unwrap(),
        "the raw body kept is the payload part's JSON, without the thumbnail"
    );
    // The same JSON from Emby as multipart, url-encoded and plain JSON is one event three times over (the
    // dedupe window sees through the transport).
    let emby = fixture("emby", "library.new");
    let mut ids = Vec::new();
    for transport in [
        Transport::Multipart {
            field: "data",
            thumb: None,
        },
        Transport::UrlEncoded { field: "data" },
        Transport::Body("application/json"),
    ] {
        let (status, answer) = post(&app, "emby", transport, &emby).await;
        assert!(status.is_success(), "{transport:?}: {answer}");
        ids.push(answer["events"][0].as_str().unwrap().to_owned());
    }
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    app.stop().await;
}

#[tokio::test]
async fn broken_forms_are_clear_4xx_and_kept() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let multipart_ct = format!("multipart/form-data; boundary={BOUNDARY}");
    // A body that ends mid-part.
    let mut truncated = multipart("payload", &fixture("plex", "media.play"), None);
    truncated.truncate(truncated.len() / 2);
    let cases: Vec<(&str, String, Vec<u8>, StatusCode, &str)> = vec![
        (
            "plex",
            multipart_ct.clone(),
            truncated,
            StatusCode::BAD_REQUEST,
            "invalid_payload",
        ),
        (
            "plex",
            "multipart/form-data".into(),
            multipart("payload", b"{}", None),
            StatusCode::BAD_REQUEST,
            "invalid_payload",
        ),
        (
            "plex",
            multipart_ct.clone(),
            multipart("payload", b"event=media.play", Some(10)),
            StatusCode::BAD_REQUEST,
            "invalid_payload",
        ),
        (
            "plex",
            multipart_ct.clone(),
            multipart("metadata", &fixture("plex", "media.play"), None),
            StatusCode::BAD_REQUEST,
            "invalid_payload",
        ),
        (
            "emby",
            "application/x-www-form-urlencoded".into(),
            b"payload=%7B%7D".to_vec(),
            StatusCode::BAD_REQUEST,
            "invalid_payload",
        ),
        (
            "emby",
            multipart_ct.clone(),
            multipart("data", b"{\"Title\": \"no event\"}", None),
            StatusCode::BAD_REQUEST,
            "invalid_payload",
        ),
        (
            "plex",
            "application/x-www-form-urlencoded".into(),
            b"payload=%7B%7D".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "plex",
            multipart_ct.clone(),
            multipart("payload", &vec![b' '; 2 * 1024 * 1024], None),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ];
    let mut kept = 0;
    for (source, ct, body, expected, code) in cases {
        let (status, answer) = app.post_hook_as(source, &ct, body).await;
        assert_eq!(status, expected, "{source} {ct}: {answer}");
        assert_error(&answer, code);
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(!message.is_empty());
        if expected == StatusCode::BAD_REQUEST {
            kept += 1;
            assert!(message.contains("GET /api/rejected"), "{message}");
        }
    }
    // Every 400 left its body in the rejected log, with the reason.
    let (status, rejected) = app.api_get("/api/rejected").await;
    assert_eq!(status, StatusCode::OK);
    let items = rejected["items"].as_array().unwrap();
    assert_eq!(items.len(), kept, "{rejected}");
    let reasons: Vec<&str> = items
        .iter()
        .map(|r| r["reason"].as_str().unwrap())
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains("no `payload` field")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("no `data` field")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("boundary")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("not valid JSON")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("no `Event` field")),
        "{reasons:?}"
    );
    // The truncated body is kept as it came.
    assert!(
        items
            .iter()
            .any(|r| r["body"].as_str().unwrap().contains("Living Room Shield")),
        "{rejected}"
    );
    // A body cut off inside the thumbnail, after a whole `payload` part: the event is kept (Plex does not
    // retry), and nothing more lands in the rejected log.
    let mut cut = multipart("payload", &fixture("plex", "library.new"), Some(30_000));
    cut.truncate(cut.len() - 20_000);
    let (status, answer) = app.post_hook_as("plex", &multipart_ct, cut).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    assert_eq!(stored_event(&app, &answer).await["event"], "library.new");
    let (_, rejected) = app.api_get("/api/rejected").await;
    assert_eq!(rejected["items"].as_array().unwrap().len(), kept);
    app.stop().await;
}

/// A Jellyfin playback notification for one session and item, as "Send All Properties" sends it.
fn jellyfin_playback(kind: &str, user: &str, position_ticks: i64, paused: bool) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(&fixture("jellyfin", "PlaybackProgress")).unwrap();
    v["NotificationType"] = kind.into();
    v["NotificationUsername"] = user.into();
    v["UserId"] = format!("{:0>32}", user.len()).into();
    v["PlaybackPositionTicks"] = position_ticks.into();
    v["IsPaused"] = paused.into();
    serde_json::to_vec(&v).unwrap()
}

async fn jellyfin(app: &TestApp, body: Vec<u8>) -> (StatusCode, String, bool) {
    let (status, answer) = post(app, "jellyfin", Transport::Body("text/plain"), &body).await;
    assert!(status.is_success(), "{answer}");
    let duplicate = answer["duplicate"].as_bool().unwrap();
    let event = stored_event(app, &answer).await;
    (
        status,
        event["event"].as_str().unwrap().to_owned(),
        duplicate,
    )
}

#[tokio::test]
async fn jellyfin_progress_becomes_pause_and_resume_and_per_user_copies_are_told_once() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let steps = [
        // (notification, user, position in ticks, paused) → (event, duplicate)
        (
            ("PlaybackStart", "mina", 0, false),
            ("playback.start", false),
        ),
        // The same start for the second user in the session.
        (
            ("PlaybackStart", "kenji", 0, false),
            ("playback.start", true),
        ),
        (
            ("PlaybackProgress", "mina", 100_000_000, false),
            ("playback.progress", false),
        ),
        (
            ("PlaybackProgress", "kenji", 100_000_000, false),
            ("playback.progress", true),
        ),
        (
            ("PlaybackProgress", "mina", 180_000_000, true),
            ("playback.pause", false),
        ),
        (
            ("PlaybackProgress", "kenji", 180_000_000, true),
            ("playback.pause", true),
        ),
        (
            ("PlaybackProgress", "mina", 180_000_000, false),
            ("playback.resume", false),
        ),
        (
            ("PlaybackProgress", "mina", 280_000_000, false),
            ("playback.progress", false),
        ),
        (
            ("PlaybackStop", "mina", 300_000_000, false),
            ("playback.stop", false),
        ),
        (
            ("PlaybackStop", "kenji", 300_000_000, false),
            ("playback.stop", true),
        ),
    ];
    let mut first_start = None;
    for ((kind, user, ticks, paused), (expected, duplicate)) in steps {
        let (status, event, was_duplicate) =
            jellyfin(&app, jellyfin_playback(kind, user, ticks, paused)).await;
        assert_eq!(
            (event.as_str(), was_duplicate),
            (expected, duplicate),
            "{kind} {user} {ticks} {paused}"
        );
        assert_eq!(
            status,
            if duplicate {
                StatusCode::OK
            } else {
                StatusCode::ACCEPTED
            }
        );
        if expected == "playback.start" && !duplicate {
            first_start = Some(event);
        }
    }
    assert!(first_start.is_some());
    // Ten notifications, six events.
    let ids = app.event_ids("/api/events?source=jellyfin&limit=50").await;
    assert_eq!(ids.len(), 6, "{ids:?}");
    app.stop().await;
}

#[tokio::test]
async fn plex_owner_copy_of_a_play_is_not_a_second_start() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let play = fixture("plex", "media.play");
    // The owner's `playback.started` for the same player and item.
    let mut started: Value = serde_json::from_slice(&fixture("plex", "playback.started")).unwrap();
    let play_json: Value = serde_json::from_slice(&play).unwrap();
    started["Player"] = play_json["Player"].clone();
    let thumb = Transport::Multipart {
        field: "payload",
        thumb: Some(1000),
    };
    let (status, first) = post(&app, "plex", thumb, &play).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{first}");
    let (status, second) = post(&app, "plex", thumb, &serde_json::to_vec(&started).unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(second["duplicate"], true);
    assert_eq!(second["events"], first["events"]);
    // Another player's start of the same film is another play.
    let (status, other) = post(&app, "plex", thumb, &fixture("plex", "playback.started")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{other}");
    // Pause, resume, and pause again at the same position: Plex sends the same bytes twice (its bodies
    // carry no time), and both pauses are events; a repeat of the last one is not.
    let no_thumb = Transport::Multipart {
        field: "payload",
        thumb: None,
    };
    let mut names = Vec::new();
    for name in ["media.pause", "media.resume", "media.pause", "media.pause"] {
        let (status, answer) = post(&app, "plex", no_thumb, &fixture("plex", name)).await;
        assert!(status.is_success(), "{answer}");
        let event = stored_event(&app, &answer).await;
        names.push(format!(
            "{} {}",
            event["event"].as_str().unwrap(),
            if answer["duplicate"] == true {
                "dup"
            } else {
                "new"
            }
        ));
    }
    assert_eq!(
        names,
        [
            "playback.pause new",
            "playback.resume new",
            "playback.pause new",
            "playback.pause dup"
        ]
    );
    app.stop().await;
}

/// The session state lives in the database: a pause before a restart is resumed after it.
async fn session_state_survives_a_restart(backend: Backend) {
    let (url, dir) = crate::helpers::fresh_storage(backend).await;
    let app = TestApp::spawn_at(url.clone(), dir, |_| {}).await;
    let (_, event, _) = jellyfin(&app, jellyfin_playback("PlaybackStart", "mina", 0, false)).await;
    assert_eq!(event, "playback.start");
    let (_, event, _) = jellyfin(
        &app,
        jellyfin_playback("PlaybackProgress", "mina", 50_000_000, true),
    )
    .await;
    assert_eq!(event, "playback.pause");
    let tokens = app.tokens.clone();
    let dir = app.stop_keeping_dir().await;

    let app = TestApp::spawn_at(url, dir, |_| {}).await;
    assert_eq!(app.tokens, tokens, "the same sources after the restart");
    // The second user's copy of the pause is still a copy; the resume is a resume, not progress.
    let (status, event, duplicate) = jellyfin(
        &app,
        jellyfin_playback("PlaybackProgress", "kenji", 50_000_000, true),
    )
    .await;
    assert_eq!(
        (status, event.as_str(), duplicate),
        (StatusCode::OK, "playback.pause", true)
    );
    let (_, event, duplicate) = jellyfin(
        &app,
        jellyfin_playback("PlaybackProgress", "mina", 50_000_000, false),
    )
    .await;
    assert_eq!((event.as_str(), duplicate), ("playback.resume", false));
    app.stop().await;
}

both_backends!(session_state_survives_a_restart);

#[tokio::test]
async fn templated_jellyfin_json_reads_like_send_all_properties() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    // A user's template: the same keys, every value a string, Guids with dashes.
    let all: Value = serde_json::from_slice(&fixture("jellyfin", "ItemAdded")).unwrap();
    let mut templated = serde_json::Map::new();
    for (k, v) in all.as_object().unwrap() {
        let text = match v {
            Value::String(s) if s.len() == 32 && s.chars().all(|c| c.is_ascii_hexdigit()) => {
                format!(
                    "{}-{}-{}-{}-{}",
                    &s[..8],
                    &s[8..12],
                    &s[12..16],
                    &s[16..20],
                    &s[20..]
                )
            }
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        templated.insert(k.clone(), Value::String(text));
    }
    let (status, a) = post(
        &app,
        "jellyfin",
        Transport::Body("text/plain"),
        &fixture("jellyfin", "ItemAdded"),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{a}");
    let (status, b) = post(
        &app,
        "jellyfin",
        Transport::Body("application/json"),
        &serde_json::to_vec(&templated).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{b}");
    // GenericForm: the same keys as url-encoded fields (and a "Fields" extra the plugin adds, ignored).
    let form: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(
            templated
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str().unwrap())),
        )
        .append_pair("HomeLabel", "den")
        .finish();
    let (status, c) = app
        .post_hook_as(
            "jellyfin",
            "application/x-www-form-urlencoded",
            form.into_bytes(),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{c}");
    let a = stored_event(&app, &a).await;
    for other in [b, c] {
        let other = stored_event(&app, &other).await;
        assert_eq!(other["data"], a["data"]);
        assert_eq!(other["summary"], a["summary"]);
    }
    app.stop().await;
}

#[tokio::test]
async fn plex_legacy_guids_and_string_section_ids() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut v: Value = serde_json::from_slice(&fixture("plex", "library.new")).unwrap();
    let meta = v["Metadata"].as_object_mut().unwrap();
    meta.remove("Guid");
    meta.insert(
        "guid".into(),
        "com.plexapp.agents.thetvdb://371980/2/1?lang=en".into(),
    );
    meta.insert("librarySectionID".into(), "2".into());
    let (status, answer) = post(
        &app,
        "plex",
        Transport::Multipart {
            field: "payload",
            thumb: None,
        },
        &serde_json::to_vec(&v).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let event = stored_event(&app, &answer).await;
    let media = &event["data"]["media"];
    // The legacy episode guid names the series; the episode's own ids are unknown.
    assert_eq!(media["ids"]["tvdb"], 371980);
    assert_eq!(media["episodes"][0]["ids"]["tvdb"], Value::Null);
    assert_eq!(media["episodes"][0]["season"], 2);
    assert_eq!(media["episodes"][0]["episode"], 1);
    assert!(
        event["data"].get("playback").is_none(),
        "no Player on library events"
    );
    app.stop().await;
}
