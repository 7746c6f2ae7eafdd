//! Routing and the operator's side: globs, sources and filters; replay, preview and the destination list;
//! several processes on one PostgreSQL; shutdown with a send in flight.

use super::*;

#[tokio::test]
async fn routing_follows_globs_sources_and_filters() {
    let rx = Receiver::start().await;
    let dests = vec![
        dest(&format!(
            "name: all\ntype: webhook\nurl: {}\nsigning: none\n",
            rx.url("/all")
        )),
        dest(&format!(
            "name: 4k\ntype: webhook\nurl: {}\nsigning: none\nfilter:\n  data.release.quality: {{in: [Remux-2160p]}}\n",
            rx.url("/4k")
        )),
        dest(&format!(
            "name: health\ntype: webhook\nurl: {}\nsigning: none\nevents: [\"health.*\"]\n",
            rx.url("/health")
        )),
        dest(&format!(
            "name: sonarr-only\ntype: webhook\nurl: {}\nsigning: none\nsources: [sonarr]\n",
            rx.url("/sonarr")
        )),
    ];
    let app = manual_app_with(Backend::Sqlite, dests, |_| {}).await;
    let id = post_download(&app).await;
    let d = settled(&app, &id).await;
    let names: Vec<&str> = d
        .iter()
        .map(|d| d["destination"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["all"]);
    let (_, body) = app.post_hook("radarr", &fixture("radarr", "health")).await;
    let health = body["events"][0].as_str().unwrap().to_owned();
    let mut names: Vec<String> = settled(&app, &health)
        .await
        .iter()
        .map(|d| d["destination"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["all", "health"]);
    // Radarr's Test button reaches every destination that takes radarr, whatever its events and filter.
    let (_, body) = app.post_hook("radarr", &fixture("radarr", "test")).await;
    let test = body["events"][0].as_str().unwrap().to_owned();
    let mut names: Vec<String> = settled(&app, &test)
        .await
        .iter()
        .map(|d| d["destination"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["4k", "all", "health"]);
    app.stop().await;
}

#[tokio::test]
async fn replay_preview_and_destination_listing_work() {
    let rx = Receiver::start().await;
    let d = dest(&format!(
        "name: hook\ntype: webhook\nurl: {}\n",
        rx.url("/x")
    ));
    let app = app_with(Backend::Sqlite, vec![d], |_| {}).await;
    let id = post_download(&app).await;
    settled(&app, &id).await;
    let (status, body) = app
        .api_post(
            &format!("/api/events/{id}/replay"),
            json!({"destinations": ["hook"]}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    app.wait_api(
        &format!("/api/deliveries?event={id}&status=succeeded"),
        |b| b["items"].as_array().unwrap().len() == 2,
    )
    .await;
    let (status, body) = app
        .api_post(
            &format!("/api/events/{id}/replay"),
            json!({"destinations": ["nope"]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (_, list) = app.api_get("/api/destinations").await;
    let hook = &list["items"][0];
    assert_eq!(hook["name"], "hook");
    assert_eq!(hook["deliveries"]["succeeded"], 2);
    assert_eq!(hook["success_rate"], 1.0);
    assert!(
        hook["signing_secret"]
            .as_str()
            .unwrap()
            .starts_with("whsec_"),
        "a secret is generated when none is set"
    );
    assert_eq!(hook["signing_secret_set"], true);
    assert!(
        !hook["url"].as_str().unwrap().contains("/x"),
        "the URL is redacted"
    );
    // Preview: a stored event, a fixture, a broken template; nothing is sent.
    let before = rx.got().len();
    let (status, p) = app
        .api_post(
            "/api/templates/preview",
            json!({"type": "discord", "event_id": id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(p["payload"]["embeds"][0]["title"].is_string(), "{p}");
    let payload: Value = serde_json::from_slice(&fixture("sonarr", "grab")).unwrap();
    let (_, p) = app
        .api_post(
            "/api/templates/preview",
            json!({"type": "slack", "fixture": {"source": "sonarr", "payload": payload}}),
        )
        .await;
    assert_eq!(p["event"], "download.grabbed");
    assert_eq!(p["problems"], json!([]));
    let (_, p) = app
        .api_post(
            "/api/templates/preview",
            json!({"destination": "hook", "template": "{{#if}"}),
        )
        .await;
    assert!(!p["problems"].as_array().unwrap().is_empty(), "{p}");
    let (_, p) = app
        .api_post(
            "/api/templates/preview",
            json!({"type": "webhook", "template": "{\"a\": {{summary}} }"}),
        )
        .await;
    assert!(
        p["problems"][0].as_str().unwrap().contains("invalid JSON"),
        "{p}"
    );
    let (status, t) = app.api_post("/api/destinations/hook/test", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(t["ok"], true, "{t}");
    assert_eq!(rx.got().len(), before + 1, "only the test sent anything");
    assert_eq!(rx.got().last().unwrap().json()["event"], "test");
    let (status, _) = app.api_get("/api/destinations/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.get_plain("/api/deliveries").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.stop().await;
}

/// A signing secret written in the config never comes back from the API: only that one is set. A secret
/// hookarr generated is shown (the admin learns it nowhere else).
#[tokio::test]
async fn a_configured_signing_secret_is_never_shown() {
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let rx = Receiver::start().await;
    let signed = dest(&format!(
        "name: signed\ntype: webhook\nurl: {}\nsecret: {secret}\n",
        rx.url("/s")
    ));
    let unsigned = dest(&format!(
        "name: plain\ntype: webhook\nurl: {}\nsigning: none\n",
        rx.url("/p")
    ));
    let app = app_with(Backend::Sqlite, vec![signed, unsigned], |_| {}).await;
    for path in ["/api/destinations", "/api/destinations/signed"] {
        let resp = app
            .client
            .get(format!("{}{path}", app.base))
            .bearer_auth(crate::helpers::ADMIN_KEY)
            .send()
            .await
            .unwrap();
        let text = resp.text().await.unwrap();
        assert!(!text.contains(secret), "{path}: {text}");
        assert!(!text.contains("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), "{path}");
    }
    let (_, list) = app.api_get("/api/destinations").await;
    let by_name = |n: &str| {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == n)
            .cloned()
            .unwrap()
    };
    assert_eq!(by_name("signed")["signing_secret_set"], true);
    assert_eq!(by_name("signed")["signing_secret"], serde_json::Value::Null);
    assert_eq!(by_name("plain")["signing_secret_set"], false);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_postgres_split_the_queue_and_send_each_delivery_once() {
    if crate::helpers::skip_without_postgres(
        "it::delivery::two_processes_on_one_postgres_split_the_queue_and_send_each_delivery_once",
    ) {
        return;
    }
    let rx = Receiver::start().await;
    let (url, dir) = crate::helpers::fresh_storage(Backend::Postgres).await;
    let sink = format!(
        "name: sink\ntype: webhook\nurl: {}\nsigning: none\nrate_limit: {{per_second: 100000, burst: 1000}}\n",
        rx.url("/sink")
    );
    let (d1, d2) = (dest(&sink), dest(&sink));
    let a = TestApp::spawn_at(url.clone(), dir, |cfg| cfg.destinations = vec![d1]).await;
    let b = TestApp::spawn_at(url, tempfile::tempdir().unwrap(), |cfg| {
        cfg.destinations = vec![d2]
    })
    .await;
    assert_eq!(
        a.token("radarr"),
        b.token("radarr"),
        "one database, one set of sources"
    );
    rx.set_default(Reply::status(204).delay(std::time::Duration::from_millis(5)));
    let mut accepted = Vec::new();
    for i in 0..120 {
        let app = if i % 2 == 0 { &a } else { &b };
        let body = crate::helpers::fixture_copy("radarr", "grab", i);
        let (status, r) = app.post_hook("radarr", &body).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{r}");
        accepted.push(r["events"][0].as_str().unwrap().to_owned());
    }
    let got = rx.wait_for(accepted.len()).await;
    // Let any double send show up before counting.
    a.wait_api("/api/deliveries?status=pending", |b| {
        b["items"].as_array().unwrap().is_empty()
    })
    .await;
    let got_after = rx.got();
    assert_eq!(got_after.len(), got.len().max(accepted.len()));
    let mut delivery_ids: Vec<&str> = got_after
        .iter()
        .map(|g| g.header("x-hookarr-delivery"))
        .collect();
    delivery_ids.sort();
    delivery_ids.dedup();
    assert_eq!(
        delivery_ids.len(),
        accepted.len(),
        "every delivery sent exactly once"
    );
    let events: std::collections::HashSet<String> = got_after
        .iter()
        .map(|g| g.json()["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(accepted.iter().all(|id| events.contains(id)));
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn shutdown_finishes_the_send_in_flight_and_records_it() {
    let rx = Receiver::start().await;
    rx.set_default(Reply::status(204).delay(std::time::Duration::from_millis(300)));
    let d = dest(&format!(
        "name: hook\ntype: webhook\nurl: {}\nsigning: none\n",
        rx.url("/x")
    ));
    let app = app_with(Backend::Sqlite, vec![d], |_| {}).await;
    let id = post_download(&app).await;
    rx.wait_for(1).await; // the request is at the receiver, its answer 300 ms away
    let store = app.store.clone();
    app.stop().await;
    let page = store
        .list_deliveries(&hookarr::storage::DeliveryQuery {
            event_id: Some(id),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        page.items[0].status,
        hookarr::storage::DeliveryStatus::Succeeded,
        "finished, not left leased"
    );
    assert_eq!(store.attempts(&page.items[0].id).await.unwrap().len(), 1);
}

/// A destination disabled through one process is disabled in the other at once (told over the database,
/// not found at its next 5 s poll): an event posted to the other right after is routed to it no more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disable_in_one_process_is_seen_by_the_other_at_once() {
    if crate::helpers::skip_without_postgres(
        "it::delivery::operations::a_disable_in_one_process_is_seen_by_the_other_at_once",
    ) {
        return;
    }
    let rx = Receiver::start().await;
    rx.set_default(Reply::status(204));
    let (url, dir) = crate::helpers::fresh_storage(Backend::Postgres).await;
    let spec = format!(
        "name: sink\ntype: webhook\nurl: {}\nsigning: none\n",
        rx.url("/sink")
    );
    let (d1, d2) = (dest(&spec), dest(&spec));
    let a = TestApp::spawn_at(url.clone(), dir, |cfg| cfg.destinations = vec![d1]).await;
    let b = TestApp::spawn_at(url, tempfile::tempdir().unwrap(), |cfg| {
        cfg.destinations = vec![d2]
    })
    .await;
    // Routed to while enabled.
    let (status, _) = b
        .post_hook("radarr", &crate::helpers::fixture_copy("radarr", "grab", 0))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    rx.wait_for(1).await;
    let (status, _) = a
        .api_post("/api/destinations/sink/disable", serde_json::json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let body = crate::helpers::fixture_copy("radarr", "grab", 1);
    let (status, r) = b.post_hook("radarr", &body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{r}");
    let id = r["events"][0].as_str().unwrap().to_owned();
    // Routed (its outbox row gone) without a delivery.
    for _ in 0..200 {
        if b.store.outbox(10).await.unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(b.store.outbox(10).await.unwrap().is_empty(), "routed");
    let (_, deliveries) = b.api_get(&format!("/api/deliveries?event={id}")).await;
    assert!(
        deliveries["items"].as_array().unwrap().is_empty(),
        "routed to a destination disabled 300 ms before: {deliveries}"
    );
    a.stop().await;
    b.stop().await;
}
