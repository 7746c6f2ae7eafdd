//! `serve --role`: an `api` process takes webhooks and leaves routing and sending to `worker` processes
//! on the same PostgreSQL, which serve nothing but their health over HTTP.

use super::*;
use hookarr::config::ServeRole;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_process_stores_and_a_worker_process_delivers() {
    if crate::helpers::skip_without_postgres(
        "it::delivery::roles::an_api_process_stores_and_a_worker_process_delivers",
    ) {
        return;
    }
    let rx = Receiver::start().await;
    let spec = format!(
        "name: sink\ntype: webhook\nurl: {}\nsigning: none\n",
        rx.url("/sink")
    );
    let (url, dir) = crate::helpers::fresh_storage(Backend::Postgres).await;
    let d = dest(&spec);
    let api = TestApp::spawn_at(url.clone(), dir, |cfg| {
        cfg.destinations = vec![d];
        cfg.server.role = ServeRole::Api;
    })
    .await;
    let mut ids = Vec::new();
    for copy in 0..3 {
        let body = crate::helpers::fixture_copy("radarr", "grab", copy);
        let (status, r) = api.post_hook("radarr", &body).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{r}");
        ids.push(r["events"][0].as_str().unwrap().to_owned());
    }
    // Stored, and nobody routes them yet: the api process does not.
    assert_eq!(api.store.outbox(10).await.unwrap().len(), 3);
    let (status, ready) = api.get_plain("/readyz").await;
    assert_eq!(status, StatusCode::OK, "{ready}");
    assert_eq!(ready["workers"], "in other processes (role api)");

    let d = dest(&spec);
    let worker = TestApp::spawn_at(url, tempfile::tempdir().unwrap(), |cfg| {
        cfg.destinations = vec![d];
        cfg.server.role = ServeRole::Worker;
    })
    .await;
    // What arrived before any worker ran, and what arrives while one runs, is delivered by it, once.
    let body = crate::helpers::fixture_copy("radarr", "grab", 3);
    let (status, r) = api.post_hook("radarr", &body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{r}");
    ids.push(r["events"][0].as_str().unwrap().to_owned());
    let got = rx.wait_for(ids.len()).await;
    let mut delivered: Vec<String> = got
        .iter()
        .map(|g| g.json()["id"].as_str().unwrap().to_owned())
        .collect();
    delivered.sort();
    ids.sort();
    assert_eq!(delivered, ids);

    // The worker serves its health, and nothing else.
    let (status, ready) = worker.get_plain("/readyz").await;
    assert_eq!(status, StatusCode::OK, "{ready}");
    assert_eq!(ready["workers"], "running");
    let (status, _) = worker
        .post_hook("radarr", &crate::helpers::fixture_copy("radarr", "grab", 9))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no webhooks at a worker");
    let (status, _) = worker.api_get("/api/events").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no API at a worker");
    api.stop().await;
    worker.stop().await;
}

/// `serve --role worker` on a SQLite file stops before it starts, saying why (exit 2).
#[test]
fn serve_with_a_role_on_sqlite_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let config = crate::binary::write_config(dir.path(), "sqlite://data/hookarr.db", None);
    let out = std::process::Command::new(crate::binary::BIN)
        .args(["serve", "--role", "worker", "--config"])
        .arg(&config)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("`worker` needs PostgreSQL"), "{said}");
    assert!(!dir.path().join("data/hookarr.db").exists(), "nothing made");
}
