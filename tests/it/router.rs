//! The inbound route and the read API over real loopback HTTP: auth, every 4xx, PUT, Basic, dedupe, the
//! rejected log, filters and pagination.

use crate::helpers::{ADMIN_KEY, Backend, TestApp, assert_error, fixture, json_of};
use base64::Engine;
use hookarr::config::{BasicAuth, Secret, SourceConfig};
use hookarr::inbound::SourceApp;
use hookarr::secrets::new_api_key;
use hookarr::storage::Role;
use reqwest::StatusCode;
use serde_json::json;

fn basic(user: &[u8], pass: &[u8]) -> String {
    let mut raw = user.to_vec();
    raw.push(b':');
    raw.extend_from_slice(pass);
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

#[tokio::test]
async fn an_accepted_event_is_stored_with_its_raw_body_before_the_202() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let body = fixture("radarr", "grab");
    let (status, resp) = app.post_hook("radarr", &body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{resp}");
    assert_eq!(resp["accepted"], true);
    assert_eq!(resp["duplicate"], false);
    let id = resp["events"][0].as_str().unwrap().to_owned();
    // Committed before the reply: the store has it. (Its outbox marker is checked by the store tests; here the
    // live router may already have turned it into deliveries.)
    let event_id = hookarr::event::EventId::parse(&id).unwrap();
    assert!(app.store.get_event(&event_id).await.unwrap().is_some());
    let (status, event) = app.api_get(&format!("/api/events/{id}?raw=true")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(event["event"], "download.grabbed");
    assert_eq!(event["source"]["version"], "6.0.3.10276");
    assert_eq!(
        event["raw"]["body"].as_str().unwrap().as_bytes(),
        body.as_slice(),
        "raw body kept byte for byte"
    );
    assert_eq!(
        event["raw"]["headers"]["user-agent"],
        "Radarr/6.0.3.10276 (ubuntu 24.04)"
    );
    let (_, same) = app.api_get(&format!("/api/v1/events/{id}")).await;
    assert_eq!(
        same["id"],
        id.as_str(),
        "the /api/v1 prefix serves the same routes"
    );
    assert!(same.get("raw").is_none());
    app.stop().await;
}

#[tokio::test]
async fn every_way_to_present_a_token_works_and_wrong_ones_get_401() {
    let app = TestApp::spawn_with(Backend::Sqlite, |cfg| {
        cfg.sources.push(SourceConfig {
            name: "sonarr-anime".into(),
            app: SourceApp::Sonarr,
            token: None,
            basic: Some(BasicAuth {
                username: "arr".into(),
                password: Secret("pässwort".into()),
            }),
            allow_ips: vec![],
        });
    })
    .await;
    let body = fixture("sonarr", "test");
    let url = |source: &str| format!("{}/hooks/{source}", app.base);
    let token = app.token("sonarr").to_owned();
    let send = |req: reqwest::RequestBuilder| async {
        json_of(req.body(body.clone()).send().await.unwrap()).await
    };

    let (s, _) = send(
        app.client
            .post(url("sonarr"))
            .header("X-Hookarr-Token", &token),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "X-Hookarr-Token");
    let (s, _) = send(app.client.put(format!("{}?token={token}", url("sonarr")))).await;
    assert_eq!(
        s,
        StatusCode::ACCEPTED,
        "PUT, as Arr's Method setting allows"
    );
    let (s, _) = send(
        app.client
            .post(url("sonarr"))
            .header("authorization", basic(b"whoever", token.as_bytes())),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "the token as the Basic password");
    // Arr encodes Basic credentials as ISO-8859-1.
    let latin1: Vec<u8> = "pässwort".chars().map(|c| c as u8).collect();
    let (s, _) = send(
        app.client
            .post(url("sonarr-anime"))
            .header("authorization", basic(b"arr", &latin1)),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "ISO-8859-1 Basic pair");
    let (s, body401) = send(
        app.client
            .post(url("sonarr-anime"))
            .header("authorization", basic(b"arr", b"wrong")),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_error(&body401, "unauthorized");
    let (s, b) = send(app.client.post(url("sonarr"))).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "no token");
    assert_error(&b, "unauthorized");
    let (s, _) = send(app.client.post(format!("{}?token=nope", url("sonarr")))).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "wrong token");
    let (s, _) = send(app.client.post(format!("{}?token={token}", url("radarr")))).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "another source's token");
    let (s, b) = send(app.client.post(format!("{}?token={token}", url("nosuch")))).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_error(&b, "not_found");
    let stored = app.event_ids("/api/events?source=sonarr-anime").await;
    assert_eq!(stored.len(), 1, "only the accepted request was stored");
    app.stop().await;
}

#[tokio::test]
async fn allow_lists_refuse_other_addresses_with_403() {
    let app = TestApp::spawn_with(Backend::Sqlite, |cfg| {
        for (name, cidr) in [("lan-only", "10.0.0.0/8"), ("local", "127.0.0.0/8")] {
            cfg.sources.push(SourceConfig {
                name: name.into(),
                app: SourceApp::Radarr,
                token: Some(Secret("a-long-enough-token".into())),
                basic: None,
                allow_ips: vec![cidr.into()],
            });
        }
    })
    .await;
    let post = |source: &str| {
        app.client
            .post(format!(
                "{}/hooks/{source}?token=a-long-enough-token",
                app.base
            ))
            .header("content-type", "application/json")
            .body(fixture("radarr", "test"))
            .send()
    };
    let (s, b) = json_of(post("lan-only").await.unwrap()).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_error(&b, "forbidden");
    let (s, _) = json_of(post("local").await.unwrap()).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    app.stop().await;
}

#[tokio::test]
async fn bad_bodies_get_4xx_and_unparseable_ones_are_kept() {
    let app = TestApp::spawn_with(Backend::Sqlite, |cfg| cfg.server.max_body_bytes = 4096).await;
    let token = app.token("radarr").to_owned();
    let post = |ct: &str, body: Vec<u8>| {
        app.client
            .post(format!("{}/hooks/radarr?token={token}", app.base))
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let cases: [(&[u8], &str); 6] = [
        (b"{\"eventType\": ", "not valid JSON"),
        (b"[1,2,3]", "not an array"),
        (b"\"Grab\"", "not a string"),
        (b"", "empty"),
        (b"{\"movie\": {\"title\": \"A\"}}", "`eventType`"),
        (
            b"{\"eventType\": \"Grab\", \"x\": \"\xff\"}",
            "not valid JSON",
        ),
    ];
    for (body, says) in cases {
        let (s, b) = json_of(post("application/json", body.to_vec()).await.unwrap()).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
        assert_error(&b, "invalid_payload");
        assert!(
            b["error"]["message"].as_str().unwrap().contains(says),
            "{b} should say {says}"
        );
    }
    let (s, b) = json_of(post("text/html", fixture("radarr", "test")).await.unwrap()).await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_error(&b, "unsupported_media_type");
    let (s, b) = json_of(post("application/json", vec![b' '; 5000]).await.unwrap()).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    assert_error(&b, "payload_too_large");

    let (s, rejected) = app.api_get("/api/rejected").await;
    assert_eq!(s, StatusCode::OK);
    let items = rejected["items"].as_array().unwrap();
    assert_eq!(
        items.len(),
        cases.len(),
        "every unparseable body is kept, nothing else: {rejected}"
    );
    assert_eq!(
        items[cases.len() - 1]["body"],
        "{\"eventType\": ",
        "oldest last, body as sent"
    );
    assert_eq!(
        app.event_ids("/api/events").await,
        Vec::<String>::new(),
        "nothing half-stored"
    );
    app.stop().await;
}

#[tokio::test]
async fn repeats_within_the_window_are_one_event_but_tests_never_are() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let body = fixture("lidarr", "grab");
    let (s1, first) = app.post_hook("lidarr", &body).await;
    let (s2, again) = app.post_hook("lidarr", &body).await;
    assert_eq!((s1, s2), (StatusCode::ACCEPTED, StatusCode::OK));
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["events"], first["events"]);

    let token = app.token("radarr").to_owned();
    let keyed = |body: Vec<u8>| {
        app.client
            .post(format!("{}/hooks/radarr?token={token}", app.base))
            .header("idempotency-key", "delivery-42")
            .body(body)
            .send()
    };
    let (s1, a) = json_of(keyed(fixture("radarr", "grab")).await.unwrap()).await;
    let (s2, b) = json_of(keyed(fixture("radarr", "download")).await.unwrap()).await;
    assert_eq!(
        (s1, s2),
        (StatusCode::ACCEPTED, StatusCode::OK),
        "same Idempotency-Key, different body"
    );
    assert_eq!(a["events"], b["events"]);

    let test = fixture("radarr", "test");
    let (s1, t1) = app.post_hook("radarr", &test).await;
    let (s2, t2) = app.post_hook("radarr", &test).await;
    assert_eq!(
        (s1, s2),
        (StatusCode::ACCEPTED, StatusCode::ACCEPTED),
        "the Test button always gets through"
    );
    assert_ne!(t1["events"], t2["events"]);
    app.stop().await;
}

#[tokio::test]
async fn events_filter_and_paginate_newest_first() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut ids = Vec::new();
    for (source, file) in [
        ("radarr", "grab"),
        ("radarr", "download"),
        ("sonarr", "grab"),
        ("sonarr", "health"),
        ("lidarr", "download"),
    ] {
        let (s, r) = app.post_hook(source, &fixture(source, file)).await;
        assert_eq!(s, StatusCode::ACCEPTED, "{source}/{file}: {r}");
        ids.push(r["events"][0].as_str().unwrap().to_owned());
    }
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    // Radarr's and Lidarr's imports are also, with no media server heard from, the film's and the album's
    // `media.available` (hookarr's).
    let derived = app
        .wait_api("/api/events?event=media.*", |b| {
            b["items"].as_array().is_some_and(|i| i.len() == 2)
        })
        .await;
    let derived = crate::helpers::ids_of(&derived);
    let apps = |listed: Vec<String>| -> Vec<String> {
        listed
            .into_iter()
            .filter(|id| !derived.contains(id))
            .collect()
    };
    assert_eq!(apps(app.event_ids("/api/events").await), newest_first);
    assert_eq!(
        app.event_ids("/api/events?event=download.*").await,
        [ids[2].clone(), ids[0].clone()]
    );
    assert_eq!(
        app.event_ids("/api/events?event=health.*,library.new&source=sonarr")
            .await,
        [ids[3].clone()]
    );
    assert_eq!(
        apps(app.event_ids("/api/events?q=a%20la%20sala").await),
        [ids[4].clone()]
    );
    assert!(
        app.event_ids("/api/events?since=2999-01-01T00:00:00Z")
            .await
            .is_empty()
    );

    let mut seen = Vec::new();
    let mut path = "/api/events?limit=2".to_owned();
    loop {
        let (s, page) = app.api_get(&path).await;
        assert_eq!(s, StatusCode::OK);
        seen.extend(crate::helpers::ids_of(&page));
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/events?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(apps(seen), newest_first, "pages cover every event once");

    for bad in [
        "/api/events?limit=0",
        "/api/events?limit=501",
        "/api/events?cursor=zzz",
        "/api/events?since=yesterday",
    ] {
        let (s, b) = app.api_get(bad).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
        assert_error(&b, "validation_failed");
    }
    let (s, b) = app
        .api_get("/api/events/evt_01JD0000000000000000000000")
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_error(&b, "not_found");
    app.stop().await;
}

#[tokio::test]
async fn the_api_needs_a_key_and_admin_routes_an_admin() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let get = |path: &str, key: Option<&str>| {
        let req = app.client.get(format!("{}{path}", app.base));
        let req = match key {
            Some(k) => req.bearer_auth(k),
            None => req,
        };
        req.send()
    };
    let (s, b) = json_of(get("/api/events", None).await.unwrap()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_error(&b, "unauthorized");
    let (s, _) = json_of(get("/api/events", Some("hk_wrong")).await.unwrap()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let user = app.store.create_user("sarah", Role::User).await.unwrap();
    let key = new_api_key();
    app.store
        .insert_api_key(&user.id, &key.hash, &key.prefix, "")
        .await
        .unwrap();
    let (s, _) = json_of(get("/api/events", Some(&key.key)).await.unwrap()).await;
    assert_eq!(s, StatusCode::OK, "users read events");
    let (s, b) = json_of(get("/api/rejected", Some(&key.key)).await.unwrap()).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "the rejected log is admin-only");
    assert_error(&b, "forbidden");
    let (s, _) = json_of(get("/api/rejected", Some(ADMIN_KEY)).await.unwrap()).await;
    assert_eq!(s, StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json_and_health_checks_pass() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (s, b) = app.get_plain("/nope").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_error(&b, "not_found");
    let (s, b) = app.get_plain("/hooks/radarr").await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    assert!(b["error"]["message"].as_str().unwrap().contains("GET"));
    let (s, b) = app.get_plain("/healthz").await;
    assert_eq!((s, b), (StatusCode::OK, json!({"status": "ok"})));
    let (s, b) = app.get_plain("/readyz").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["migrations"], "current");
    assert_eq!(b["workers"], "running");
    app.stop().await;
}

#[tokio::test]
async fn postgres_serves_the_same_inbound_route() {
    if crate::helpers::skip_without_postgres("it::router::postgres_serves_the_same_inbound_route") {
        return;
    }
    let app = TestApp::spawn(Backend::Postgres).await;
    let (s, r) = app
        .post_hook("sonarr", &fixture("sonarr", "import-complete"))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{r}");
    let (s2, r2) = app
        .post_hook("sonarr", &fixture("sonarr", "import-complete"))
        .await;
    assert_eq!((s2, &r2["events"]), (StatusCode::OK, &r["events"]));
    let (_, events) = app.api_get("/api/events?event=library.new").await;
    assert_eq!(
        events["items"][0]["data"]["media"]["episodes"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let (s, b) = app.get_plain("/readyz").await;
    assert_eq!((s, &b["database"]), (StatusCode::OK, &json!("postgres")));
    app.stop().await;
}

/// A payload posted to another app's source — Sonarr's webhook pasted with Radarr's Connect URL, Plex's JSON
/// at an Arr source — is refused with a 400 that names the app it is and the URL to use, and kept in the
/// rejected log; the sources it belongs to take it.
#[tokio::test]
async fn another_apps_payload_is_refused_with_the_url_to_use() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let senders = [
        ("radarr", "grab"),
        ("sonarr", "download"),
        ("lidarr", "download"),
        ("readarr", "download"),
        ("plex", "media.play"),
        ("jellyfin", "PlaybackStart"),
        ("emby", "playback.start"),
        ("overseerr", "media-approved"),
        ("tautulli", "created-movie"),
    ];
    // Sources that take JSON (Plex's source takes only its form); Whisparr's takes Radarr's and Sonarr's,
    // and each request app's takes the other's.
    let sources = [
        "radarr",
        "sonarr",
        "lidarr",
        "readarr",
        "prowlarr",
        "jellyfin",
        "emby",
        "overseerr",
        "jellyseerr",
        "tautulli",
    ];
    let mut refused = 0;
    for (sender, fixture_name) in senders {
        let body = fixture(sender, fixture_name);
        for source in sources {
            let same = source == sender || matches!((source, sender), ("jellyseerr", "overseerr"));
            if same {
                continue;
            }
            let (s, answer) = app
                .post_hook_as(source, "application/json", body.clone())
                .await;
            assert_eq!(s, StatusCode::BAD_REQUEST, "{sender} at {source}: {answer}");
            let message = answer["error"]["message"].as_str().unwrap();
            assert!(
                message.contains(&format!("this is a {sender} payload, but `{source}` is a")),
                "{sender} at {source}: {message}"
            );
            assert!(
                message.contains(&format!("/hooks/{sender}?token=")),
                "{message}"
            );
            refused += 1;
        }
    }
    let (_, rejected) = app.api_get("/api/rejected?limit=100").await;
    assert_eq!(
        rejected["items"].as_array().unwrap().len(),
        refused,
        "each kept"
    );
    let (_, events) = app.api_get("/api/events").await;
    assert!(
        events["items"].as_array().unwrap().is_empty(),
        "nothing stored as an event"
    );
    // Health checks and tests carry no media: they say nothing of their app, and pass.
    let (s, _) = app
        .post_hook_as("radarr", "application/json", fixture("sonarr", "health"))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    app.stop().await;
}
