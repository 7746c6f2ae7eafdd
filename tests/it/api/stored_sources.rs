//! Sources made through the API: a second Radarr (`radarr-4k`) with its own token, taken at once; its
//! allow-list; deleting it (a built-in and a source of hookarr.yaml stay); bad input refused whole; tokens
//! sealed at rest; and a source made through one process taking requests at another.

use super::*;
use crate::helpers::{Backend, fixture, user_agent};

/// POSTs Radarr's grab to `connect` (a Connect URL); the status.
async fn post_to(app: &TestApp, connect: &str) -> StatusCode {
    app.client
        .post(connect)
        .header("content-type", "application/json")
        .header("user-agent", user_agent("radarr"))
        .body(fixture("radarr", "grab"))
        .send()
        .await
        .unwrap()
        .status()
}

async fn a_second_instance_is_added_limited_and_deleted(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.sources = vec![
            serde_norway::from_str("{name: lidarr-main, app: lidarr, token: 'a-config-token'}")
                .unwrap(),
        ];
    })
    .await;
    let (s, made) = app
        .api_post(
            "/api/sources",
            json!({"name": "radarr-4k", "app": "radarr"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{made}");
    assert_eq!(made["origin"], "stored");
    assert_eq!(made["rotatable"], true);
    let connect = made["connect_url"].as_str().unwrap().to_owned();
    assert!(connect.contains("/hooks/radarr-4k?token="), "{connect}");
    assert_eq!(post_to(&app, &connect).await, StatusCode::ACCEPTED);
    let (_, events) = app.api_get("/api/events?source=radarr-4k").await;
    assert_eq!(events["items"][0]["source"]["name"], "radarr-4k");

    // Its allow-list: only 10.0.0.0/8 now, and this test comes from loopback.
    let path = "/api/sources/radarr-4k";
    let body = json!({"allow_ips": ["10.0.0.0/8"]});
    let (s, limited) = app
        .call(Method::PATCH, path, Some(ADMIN_KEY), Some(&body))
        .await;
    assert_eq!(s, StatusCode::OK, "{limited}");
    assert_eq!(limited["allow_ips"], json!(["10.0.0.0/8"]));
    assert_eq!(post_to(&app, &connect).await, StatusCode::FORBIDDEN);

    // Bad input: each problem named, nothing made.
    let (s, refused) = app
        .api_post(
            "/api/sources",
            json!({"name": "Radarr 4K", "app": "radar", "allow_ips": ["10.0.0.0/33"]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    let fields: Vec<&str> = refused["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "app", "allow_ips[0]"]);
    for (name, status) in [
        ("radarr-4k", StatusCode::CONFLICT),
        ("sonarr", StatusCode::CONFLICT),
        ("lidarr-main", StatusCode::CONFLICT),
    ] {
        let (s, b) = app
            .api_post("/api/sources", json!({"name": name, "app": "radarr"}))
            .await;
        assert_eq!(s, status, "{name}: {b}");
    }
    // A built-in is not deleted; a source of hookarr.yaml is changed in the file.
    let (s, b) = app
        .call(Method::DELETE, "/api/sources/sonarr", Some(ADMIN_KEY), None)
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    let (s, b) = app
        .call(
            Method::PATCH,
            "/api/sources/lidarr-main",
            Some(ADMIN_KEY),
            Some(&json!({"allow_ips": []})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("hookarr.yaml")
    );

    // Deleted: requests to it are 404, its events stay.
    let (s, _) = app.call(Method::DELETE, path, Some(ADMIN_KEY), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(post_to(&app, &connect).await, StatusCode::NOT_FOUND);
    let (_, events) = app.api_get("/api/events?source=radarr-4k").await;
    assert_eq!(events["items"].as_array().unwrap().len(), 1);

    // No token is kept in clear: not the built-ins', not the new one's.
    let tokens: Vec<String> = app
        .store
        .list_sources()
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.token)
        .collect();
    assert!(tokens.iter().all(|t| t.starts_with("v1:")), "{tokens:?}");
    assert!(!tokens.iter().any(|t| t.contains(app.token("radarr"))));
    let actions = app.audit_actions().await;
    for action in ["source.created", "source.changed", "source.deleted"] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
    app.stop().await;
}

both_backends!(a_second_instance_is_added_limited_and_deleted);

/// Made through one process, taking requests at another sharing the PostgreSQL database.
#[tokio::test]
async fn a_source_made_through_one_process_is_taken_by_another() {
    if crate::helpers::skip_without_postgres(
        "api::stored_sources::a_source_made_through_one_process",
    ) {
        return;
    }
    let url = crate::helpers::fresh_pg_database().await;
    // Test apps on PostgreSQL share the key of its secrets (`helpers::SHARED_SECRET_KEY`).
    let one = TestApp::spawn_at(url.clone(), tempfile::tempdir().unwrap(), |_| {}).await;
    let two = TestApp::spawn_at(url, tempfile::tempdir().unwrap(), |_| {}).await;
    let (s, made) = one
        .api_post(
            "/api/sources",
            json!({"name": "sonarr-anime", "app": "sonarr"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{made}");
    let at_two = made["connect_url"]
        .as_str()
        .unwrap()
        .replace(&one.base, &two.base);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let status = two
            .client
            .post(&at_two)
            .header("content-type", "application/json")
            .header("user-agent", user_agent("sonarr"))
            .body(fixture("sonarr", "grab"))
            .send()
            .await
            .unwrap()
            .status();
        if status == StatusCode::ACCEPTED {
            break;
        }
        assert_eq!(status, StatusCode::NOT_FOUND, "before it is known there");
        assert!(
            std::time::Instant::now() < deadline,
            "never known at the second process"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    one.stop().await;
    two.stop().await;
}

/// A process with another key than the one the database's secrets are sealed with does not start, and
/// says how to bring the right key.
#[tokio::test]
async fn another_key_is_refused_at_start_with_how_to_bring_the_right_one() {
    let (url, dir) = crate::helpers::fresh_storage(Backend::Sqlite).await;
    let first = TestApp::spawn_at(url.clone(), dir, |_| {}).await;
    let dir = first.stop_keeping_dir().await;
    let mut cfg = hookarr::config::Config::default();
    cfg.storage.url = hookarr::config::Secret(url.clone());
    cfg.secret_key = Some(hookarr::config::Secret(
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into(),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let error = match hookarr::app::App::build(cfg, Some(listener)).await {
        Ok(_) => panic!("a process with another key started"),
        Err(e) => format!("{e:#}"),
    };
    assert!(error.contains("sealed with another key"), "{error}");
    assert!(error.contains("HOOKARR_SECRET_KEY"), "{error}");
    // The right key (the file beside the database) still opens everything.
    let again = TestApp::spawn_at(url, dir, |_| {}).await;
    let (s, sources) = again.api_get("/api/sources").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        sources["items"].as_array().unwrap().len() >= 11,
        "{sources}"
    );
    again.stop().await;
}
