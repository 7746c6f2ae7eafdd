//! The SSE stream over real HTTP: live events with filters, resumption with `Last-Event-ID` (the missed
//! events replayed, then live ones, each once), `: keepalive`, the per-user limit, bad input, and a stream
//! on one process seeing events ingested by another sharing PostgreSQL.

use super::*;
use crate::helpers::{Backend, assert_error, fixture, fixture_copy};
use std::time::Duration;

/// One message of an event stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub id: String,
    pub event: String,
    pub data: String,
}

/// Reads an open event stream message by message (comments are kept apart).
pub struct SseReader {
    resp: reqwest::Response,
    buffer: String,
    pub comments: Vec<String>,
}

impl SseReader {
    pub async fn open(app: &TestApp, query: &str, key: &str, last_id: Option<&str>) -> SseReader {
        let mut req = app
            .client
            .get(format!("{}/api/events/stream{query}", app.base))
            .bearer_auth(key);
        if let Some(id) = last_id {
            req = req.header("last-event-id", id);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()["content-type"], "text/event-stream");
        SseReader {
            resp,
            buffer: String::new(),
            comments: Vec::new(),
        }
    }

    /// The next message (up to 30 s), or `None` when the stream ended.
    pub async fn next(&mut self) -> Option<Message> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let frame: String = self.buffer.drain(..end + 2).collect();
                let mut m = Message {
                    id: String::new(),
                    event: String::new(),
                    data: String::new(),
                };
                let mut comment = None;
                for line in frame.lines() {
                    match line.split_once(": ") {
                        Some(("", text)) => comment = Some(text.to_owned()),
                        Some(("id", v)) => m.id = v.to_owned(),
                        Some(("event", v)) => m.event = v.to_owned(),
                        Some(("data", v)) => m.data.push_str(v),
                        _ => {}
                    }
                }
                match comment {
                    Some(text) if m.event.is_empty() => self.comments.push(text),
                    _ => return Some(m),
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.resp.chunk())
                .await
                .expect("a message within 30 s")
                .unwrap()?;
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }
}

async fn posted_id(app: &TestApp, source: &str, body: &[u8]) -> String {
    let (s, b) = app.post_hook(source, body).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    b["events"][0].as_str().unwrap().to_owned()
}

async fn live_filtered_and_resumed_without_gap_or_repeat(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = member(&app, "alice").await;
    let mut stream =
        SseReader::open(&app, "?events=download.*&sources=radarr", &alice.key, None).await;
    posted_id(&app, "radarr", &fixture("radarr", "health")).await;
    posted_id(&app, "sonarr", &fixture("sonarr", "grab")).await;
    let first = posted_id(&app, "radarr", &fixture("radarr", "grab")).await;
    let m = stream.next().await.unwrap();
    assert_eq!(
        (m.id.as_str(), m.event.as_str()),
        (first.as_str(), "download.grabbed")
    );
    let envelope: Value = serde_json::from_str(&m.data).unwrap();
    assert_eq!(envelope["id"], first.as_str());
    assert_eq!(envelope["source"]["name"], "radarr");
    drop(stream);

    // Missed while away: replayed on resumption, in order, then live ones follow; each once.
    let missed = [
        posted_id(&app, "radarr", &fixture_copy("radarr", "grab", 1)).await,
        posted_id(&app, "radarr", &fixture_copy("radarr", "grab", 2)).await,
    ];
    posted_id(&app, "radarr", &fixture_copy("radarr", "health", 1)).await;
    let mut stream = SseReader::open(
        &app,
        "?events=download.*&sources=radarr",
        &alice.key,
        Some(&first),
    )
    .await;
    let live = posted_id(&app, "radarr", &fixture_copy("radarr", "grab", 3)).await;
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(stream.next().await.unwrap().id);
    }
    assert_eq!(
        got,
        vec![missed[0].clone(), missed[1].clone(), live.clone()]
    );
    let after = posted_id(&app, "radarr", &fixture_copy("radarr", "grab", 4)).await;
    assert_eq!(
        stream.next().await.unwrap().id,
        after,
        "no repeat of the seam"
    );

    // Bad input names the problem.
    for (query, field) in [
        ("?events=nope.*", "events"),
        ("?sources=radar", "sources"),
        ("?last_event_id=x", "Last-Event-ID"),
    ] {
        let (s, b) = app
            .call(
                Method::GET,
                &format!("/api/events/stream{query}"),
                Some(&alice.key),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{query}: {b}");
        assert_eq!(b["error"]["details"][0]["field"], field);
    }
    app.stop().await;
}

both_backends!(live_filtered_and_resumed_without_gap_or_repeat);

/// A user holds a few streams at once; the stream keeps the connection alive with comments.
#[tokio::test]
async fn streams_per_user_are_limited_and_kept_alive() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let bob = member(&app, "bob").await;
    let mut open = Vec::new();
    for _ in 0..5 {
        open.push(SseReader::open(&app, "", &bob.key, None).await);
    }
    let (s, b) = app
        .call(Method::GET, "/api/events/stream", Some(&bob.key), None)
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{b}");
    assert_error(&b, "rate_limited");
    // The first keep-alive comes within 15 s (read through the next message, which is the next event).
    let mut first = open.remove(0);
    tokio::time::sleep(Duration::from_secs(16)).await;
    let id = posted_id(&app, "radarr", &fixture("radarr", "grab")).await;
    assert_eq!(first.next().await.unwrap().id, id);
    assert!(
        first.comments.iter().any(|c| c == "keepalive"),
        "comments: {:?}",
        first.comments
    );
    app.stop().await;
}

/// A stream whose client goes away gives its slot back then, not at a later keep-alive (15 s on), so a
/// dashboard that reconnects five streams at once is never turned away.
#[tokio::test]
async fn a_stream_gives_its_slot_back_when_its_client_leaves() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let bob = member(&app, "bob").await;
    // Each round opens the five a user may hold, then closes them; the next round needs every slot back.
    for round in 0..3 {
        let mut open = Vec::new();
        for n in 0..5 {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            let resp = loop {
                let resp = app
                    .client
                    .get(format!("{}/api/events/stream", app.base))
                    .bearer_auth(&bob.key)
                    .send()
                    .await
                    .unwrap();
                if resp.status() == StatusCode::OK {
                    break resp;
                }
                assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "round {round}, stream {n}: the closed streams still hold their slots"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            };
            open.push(resp);
        }
        // Dropping a response mid-stream closes its connection.
        drop(open);
    }
    app.stop().await;
}

/// hookarr's own alerts reach a user's stream only when they are about that user's webhooks: bob's dead
/// webhook, yes; the admin's dead destination, no. The admin's stream has both.
#[tokio::test]
async fn a_users_stream_carries_alerts_about_their_own_webhooks_only() {
    let down = crate::receiver::Receiver::start().await;
    down.set_default(crate::receiver::Reply::status(500));
    let gone = crate::receiver::Receiver::start().await;
    gone.set_default(crate::receiver::Reply::status(410));
    let ops = down.url("/ops");
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.api.allow_private_targets = true;
        c.destinations = vec![
            serde_norway::from_str(&format!(
                "{{name: ops, type: webhook, url: '{ops}', signing: none, retry: {{max_attempts: 1}}}}"
            ))
            .unwrap(),
        ];
    })
    .await;
    let bob = member(&app, "bob").await;
    let hook = register(
        &app,
        &bob.key,
        json!({"url": gone.url("/bob"), "events": ["download.*"]}),
    )
    .await;
    let mut admin = SseReader::open(&app, "?events=hookarr.*", ADMIN_KEY, None).await;
    let mut theirs = SseReader::open(&app, "", &bob.key, None).await;
    posted_id(&app, "radarr", &fixture("radarr", "grab")).await;
    // The admin hears both: ops dead, bob's webhook disabled (410).
    let mut about = Vec::new();
    for _ in 0..2 {
        let m = admin.next().await.expect("an alert");
        let data: Value = serde_json::from_str(&m.data).unwrap();
        about.push(
            data["data"]["alert"]["destination"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    about.sort();
    let mut want = vec!["ops".to_owned(), hook["id"].as_str().unwrap().to_owned()];
    want.sort();
    assert_eq!(about, want);
    // Bob, up to an event posted after both alerts: the grab, his alert, the marker — not ops's.
    let marker = posted_id(&app, "radarr", &fixture("radarr", "health")).await;
    let mut alerts = Vec::new();
    loop {
        let m = theirs.next().await.expect("bob's stream goes on");
        if m.id == marker {
            break;
        }
        if m.event.starts_with("hookarr.") {
            alerts.push(m);
        }
    }
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].event, "hookarr.destination_disabled");
    let data: Value = serde_json::from_str(&alerts[0].data).unwrap();
    assert_eq!(data["data"]["alert"]["destination"], hook["id"]);
    // The event list and one event say the same: ops's alert is not bob's to read.
    let (s, listed) = app
        .call(
            Method::GET,
            "/api/events?event=hookarr.*",
            Some(&bob.key),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let listed: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["data"]["alert"]["destination"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [hook["id"].as_str().unwrap()]);
    let (_, all) = app.api_get("/api/events?event=hookarr.*").await;
    let ops_alert = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["data"]["alert"]["destination"] == "ops")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, _) = app
        .call(
            Method::GET,
            &format!("/api/events/{ops_alert}"),
            Some(&bob.key),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    app.stop().await;
}

/// A stream on one process sees what another process sharing the PostgreSQL database ingested and routed.
#[tokio::test]
async fn a_stream_sees_events_another_process_ingested() {
    if crate::helpers::skip_without_postgres("api::stream::a_stream_sees_events_another_process") {
        return;
    }
    let url = crate::helpers::fresh_pg_database().await;
    let one = TestApp::spawn_at(url.clone(), tempfile::tempdir().unwrap(), |_| {}).await;
    let two = TestApp::spawn_at(url, tempfile::tempdir().unwrap(), |_| {}).await;
    let alice = member(&one, "alice").await;
    let mut stream = SseReader::open(&one, "?events=download.*", &alice.key, None).await;
    // Several events, so that some are routed by the other process whichever router wins each.
    let mut ids = Vec::new();
    for copy in 0..6 {
        ids.push(posted_id(&two, "radarr", &fixture_copy("radarr", "grab", copy)).await);
    }
    let mut got = Vec::new();
    while got.len() < ids.len() {
        got.push(stream.next().await.unwrap().id);
    }
    got.sort();
    ids.sort();
    assert_eq!(got, ids);
    one.stop().await;
    two.stop().await;
}

/// Stories moving are on the stream (`story.changed` with their cards), whichever process sharing the
/// PostgreSQL database joined them; a stream asking only for other events does not get them.
#[tokio::test]
async fn a_stream_hears_stories_change_whichever_process_joined_them() {
    if crate::helpers::skip_without_postgres("api::stream::a_stream_hears_stories_change") {
        return;
    }
    let url = crate::helpers::fresh_pg_database().await;
    let one = TestApp::spawn_at(url.clone(), tempfile::tempdir().unwrap(), |_| {}).await;
    let two = TestApp::spawn_at(url, tempfile::tempdir().unwrap(), |_| {}).await;
    let alice = member(&one, "alice").await;
    let mut stories = SseReader::open(&one, "?events=story.changed", &alice.key, None).await;
    let mut grabs = SseReader::open(&one, "?events=download.*", &alice.key, None).await;
    posted_id(&two, "radarr", &fixture("radarr", "grab")).await;
    let m = stories.next().await.unwrap();
    assert_eq!(m.event, "story.changed");
    let data: serde_json::Value = serde_json::from_str(&m.data).unwrap();
    let card = &data["stories"][0];
    assert_eq!(card["title"], "Dune: Part Two (2024)");
    assert_eq!(card["stage"], "grabbed");
    assert!(
        card["headline"].as_str().unwrap().starts_with("Grabbed"),
        "{card}"
    );
    assert_eq!(
        grabs.next().await.unwrap().event,
        "download.grabbed",
        "only what it asked for"
    );
    one.stop().await;
    two.stop().await;
}
