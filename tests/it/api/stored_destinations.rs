//! Destinations made, changed and deleted through the API, in force without a restart: the checks of the
//! file with the same messages, names unique across the file and the database, a version check against
//! lost updates, pending deliveries of a deleted one ended `cancelled`, secrets write-only in answers and
//! sealed at rest, the audit log, and a change made through one process in force in another.

use super::*;
use crate::helpers::{Backend, assert_error, fixture, fixture_copy};
use crate::receiver::{Receiver, Reply};

/// A file destination `chat` (so that a stored one can collide with it) and private targets allowed (the
/// receivers are on loopback).
fn with_file_destination(rx: &Receiver) -> impl FnOnce(&mut hookarr::config::Config) {
    let url = rx.url("/file-chat");
    move |c| {
        c.api.allow_private_targets = true;
        c.destinations.push(
            serde_json::from_value(
                json!({"name": "chat", "type": "webhook", "url": url, "events": ["health.*"]}),
            )
            .unwrap(),
        );
    }
}

/// Every file under `dir`, in sub-folders too.
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

async fn patch(app: &TestApp, name: &str, body: Value) -> (StatusCode, Value) {
    let path = format!("/api/destinations/{name}");
    app.call(Method::PATCH, &path, Some(ADMIN_KEY), Some(&body))
        .await
}

async fn deliveries_to(app: &TestApp, destination: &str) -> Vec<Value> {
    let (s, page) = app
        .api_get(&format!("/api/deliveries?destination={destination}"))
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    page["items"].as_array().unwrap().clone()
}

async fn a_destination_made_through_the_api_is_in_force_at_once(backend: Backend) {
    let rx = Receiver::start().await;
    rx.set_default(Reply::status(204));
    let app = TestApp::spawn_with(backend, with_file_destination(&rx)).await;
    let discord_url = rx.url("/api/webhooks/123/the-webhook-token");

    // Pasting a Discord webhook URL is enough.
    let (s, made) = app
        .api_post(
            "/api/destinations",
            json!({"name": "movies", "url": discord_url, "events": ["download.*"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{made}");
    assert_eq!(made["type"], "discord");
    assert_eq!(made["origin"], "stored");
    assert_eq!(made["version"], 1);
    assert_eq!(made["secrets_set"], json!(["url"]));
    assert_eq!(made["settings"]["events"], json!(["download.*"]));
    assert!(
        !made.to_string().contains("the-webhook-token"),
        "a secret is never answered: {made}"
    );
    let (_, listed) = app.api_get("/api/destinations").await;
    let origins: Vec<(&str, &str)> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["name"].as_str().unwrap(), d["origin"].as_str().unwrap()))
        .collect();
    assert_eq!(origins, [("chat", "file"), ("movies", "stored")]);

    // The next event goes to it: no restart.
    let (s, _) = app.post_hook("radarr", &fixture("radarr", "grab")).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let got = rx.wait_for(1).await;
    assert_eq!(got[0].path, "/api/webhooks/123/the-webhook-token");
    assert!(got[0].json()["embeds"].is_array(), "a Discord message");

    // A change names the version it was made on; the next grab is skipped, and a stale save is refused.
    let (s, changed) = patch(
        &app,
        "movies",
        json!({"events": ["library.*"], "version": 1}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{changed}");
    assert_eq!(changed["version"], 2);
    assert_eq!(
        changed["secrets_set"],
        json!(["url"]),
        "a secret left out is kept"
    );
    let (s, stale) = patch(&app, "movies", json!({"events": ["*"], "version": 1})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{stale}");
    assert!(
        stale["error"]["message"]
            .as_str()
            .unwrap()
            .contains("version 2"),
        "{stale}"
    );
    let (s, _) = app
        .post_hook("radarr", &fixture_copy("radarr", "grab", 1))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let (s, _) = app
        .post_hook("radarr", &fixture("radarr", "download"))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let got = rx.wait_for(2).await;
    assert!(got[1].json()["embeds"].is_array());
    let events: Vec<String> = deliveries_to(&app, "movies")
        .await
        .iter()
        .map(|d| d["event"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        events,
        ["library.new", "download.grabbed"],
        "the second grab was not routed to it"
    );

    // The secret is sealed at rest: neither the stored row nor the database file holds it.
    let rows = app.store.stored_destinations().await.unwrap();
    assert_eq!(rows.len(), 1);
    assert!(!rows[0].sealed_spec.contains("the-webhook-token"));
    if backend == Backend::Sqlite {
        let files = files_under(app.storage_dir());
        assert!(files.iter().any(|f| f.ends_with("secret.key")), "{files:?}");
        assert!(
            files
                .iter()
                .any(|f| f.extension().is_some_and(|e| e == "db")),
            "{files:?}"
        );
        for file in files {
            let bytes = std::fs::read(&file).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            assert!(
                !text.contains("the-webhook-token"),
                "{} holds the token in clear",
                file.display()
            );
        }
    }

    // Every change is in the audit log.
    let (_, audit) = app.api_get("/api/audit").await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"destination.created"), "{actions:?}");
    assert!(actions.contains(&"destination.changed"), "{actions:?}");
    assert!(!audit.to_string().contains("the-webhook-token"));
    app.stop().await;
}

async fn a_bad_destination_is_refused_whole_with_the_field_named(backend: Backend) {
    let rx = Receiver::start().await;
    let app = TestApp::spawn_with(backend, with_file_destination(&rx)).await;
    let cases = [
        (
            json!({"name": "x", "type": "discrod", "url": rx.url("/a")}),
            "type",
            "discrod",
        ),
        (
            json!({"name": "x", "type": "pushover", "token": "azGDORePK8gMaC0QOYAMyEEuzJnyUi", "user_key": "short"}),
            "user_key",
            "",
        ),
        (
            json!({"name": "x", "type": "webhook", "url": rx.url("/a"), "template": "webhook/none-such"}),
            "template",
            "none-such",
        ),
        (
            json!({"name": "x", "type": "discord", "url": rx.url("/api/webhooks/1/t"), "events": ["download.nonsense"]}),
            "events[0]",
            "",
        ),
        // A header value that would smuggle another header into every request.
        (
            json!({"name": "x", "type": "webhook", "url": rx.url("/a"), "headers": {"X-Team": "a\r\nX-Injected: 1"}}),
            "headers.X-Team",
            "header value",
        ),
    ];
    for (body, field, names) in cases {
        let (s, refused) = app.api_post("/api/destinations", body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {refused}");
        assert_error(&refused, "validation_failed");
        let details = refused["error"]["details"].as_array().unwrap();
        let found = details.iter().find(|d| d["field"] == field);
        let found = found.unwrap_or_else(|| panic!("{body}: no problem at {field}: {refused}"));
        assert!(
            found["message"].as_str().unwrap().contains(names),
            "{found}"
        );
        // The check says the same and saves nothing.
        let (s, checked) = app
            .api_post("/api/destinations/validate", body.clone())
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(checked["valid"], false);
        assert!(
            checked["problems"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["field"] == field),
            "{checked}"
        );
    }
    let (s, _) = app.api_get("/api/destinations/x").await;
    assert_eq!(s, StatusCode::NOT_FOUND, "nothing was stored half");
    assert!(app.store.stored_destinations().await.unwrap().is_empty());

    // A name the file uses, or a change of the file's destination, says the file is where it lives.
    let (s, taken) = app
        .api_post(
            "/api/destinations",
            json!({"name": "chat", "type": "webhook", "url": rx.url("/b")}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{taken}");
    assert!(
        taken["error"]["message"]
            .as_str()
            .unwrap()
            .contains("hookarr.yaml"),
        "{taken}"
    );
    for method in [Method::PATCH, Method::DELETE] {
        let (s, body) = app
            .call(
                method,
                "/api/destinations/chat",
                Some(ADMIN_KEY),
                Some(&json!({"events": ["*"]})),
            )
            .await;
        assert_eq!(s, StatusCode::CONFLICT, "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("hookarr.yaml")
        );
    }
    // A second one of the same name.
    let ok = json!({"name": "hooks", "type": "webhook", "url": rx.url("/c")});
    assert_eq!(
        app.api_post("/api/destinations", ok.clone()).await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        app.api_post("/api/destinations", ok).await.0,
        StatusCode::CONFLICT
    );
    app.stop().await;
}

/// A URL the SSRF guard refuses is refused like any other problem (checked without connecting).
#[tokio::test]
async fn a_stored_destination_must_pass_the_address_guard() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (s, refused) = app
        .api_post(
            "/api/destinations",
            json!({"name": "inside", "url": "http://10.1.2.3/api/webhooks/1/token"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["error"]["details"][0]["field"], "url", "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("allow_private_targets"),
        "{refused}"
    );
    app.stop().await;
}

async fn deleting_a_destination_cancels_its_pending_deliveries(backend: Backend) {
    let rx = Receiver::start().await;
    rx.set_default(Reply::status(500));
    let app = TestApp::spawn_manual(backend, |c| c.api.allow_private_targets = true).await;
    let (s, _) = app
        .api_post(
            "/api/destinations",
            json!({"name": "flaky", "type": "webhook", "url": rx.url("/down")}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = app.post_hook("radarr", &fixture("radarr", "grab")).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    app.deliver_pending().await;
    let pending = deliveries_to(&app, "flaky").await;
    assert_eq!(
        pending[0]["status"], "pending",
        "waiting on its retry: {pending:?}"
    );

    let (s, deleted) = app
        .call(
            Method::DELETE,
            "/api/destinations/flaky",
            Some(ADMIN_KEY),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{deleted}");
    assert_eq!(deleted["cancelled"], 1);
    let ended = deliveries_to(&app, "flaky").await;
    assert_eq!(
        ended[0]["status"], "cancelled",
        "kept in the log: {ended:?}"
    );
    let (s, _) = app.api_get("/api/destinations/flaky").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Nothing more is sent to it.
    app.deliver_pending().await;
    assert_eq!(rx.got().len(), 1);
    let (s, _) = app
        .call(
            Method::DELETE,
            "/api/destinations/flaky",
            Some(ADMIN_KEY),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    app.stop().await;
}

async fn a_destination_is_tried_before_it_is_saved(backend: Backend) {
    let rx = Receiver::start().await;
    rx.set_default(Reply::status(204));
    let app = TestApp::spawn_with(backend, |c| c.api.allow_private_targets = true).await;
    let (s, _) = app.post_hook("radarr", &fixture("radarr", "grab")).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let (s, _) = app.post_hook("radarr", &fixture("radarr", "health")).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let unsaved = json!({"name": "trial", "type": "webhook", "url": rx.url("/trial"), "events": ["download.*"]});

    // A test goes out, signed, and nothing is stored.
    let (s, sent) = app
        .api_post("/api/destinations/test", unsaved.clone())
        .await;
    assert_eq!(s, StatusCode::OK, "{sent}");
    assert_eq!(sent["ok"], true, "{sent}");
    let got = rx.wait_for(1).await;
    assert_eq!(got[0].path, "/trial");
    assert_eq!(got[0].json()["event"], "test");
    assert!(!got[0].header("webhook-signature").is_empty());
    assert!(app.store.stored_destinations().await.unwrap().is_empty());

    // Which of the last events it would have taken.
    let (s, preview) = app
        .api_post("/api/destinations/routing-preview", unsaved)
        .await;
    assert_eq!(s, StatusCode::OK, "{preview}");
    assert_eq!(preview["taken"], 1, "{preview}");
    let taken: Vec<(&str, bool)> = preview["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["event"].as_str().unwrap(), e["taken"].as_bool().unwrap()))
        .collect();
    assert_eq!(taken, [("health.issue", false), ("download.grabbed", true)]);

    // Editing a stored one: the form has no secrets, and the stored URL is used.
    let (s, _) = app
        .api_post(
            "/api/destinations",
            json!({"name": "kept", "type": "webhook", "url": rx.url("/kept")}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, sent) = app
        .api_post(
            "/api/destinations/test",
            json!({"name": "kept", "type": "webhook", "events": ["health.*"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{sent}");
    assert_eq!(rx.wait_for(2).await[1].path, "/kept");
    let (s, checked) = app
        .api_post(
            "/api/destinations/validate",
            json!({"name": "kept", "type": "webhook"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(checked["valid"], true, "{checked}");

    // What would not pass is refused like a save, and nothing is sent.
    let (s, refused) = app
        .api_post(
            "/api/destinations/test",
            json!({"name": "trial", "type": "webhook"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["error"]["details"][0]["field"], "url");
    assert_eq!(rx.got().len(), 2);
    app.stop().await;
}

both_backends!(
    a_destination_is_tried_before_it_is_saved,
    a_destination_made_through_the_api_is_in_force_at_once,
    a_bad_destination_is_refused_whole_with_the_field_named,
    deleting_a_destination_cancels_its_pending_deliveries
);

/// Made through one process, in force in another sharing the PostgreSQL database.
#[tokio::test]
async fn a_destination_made_through_one_process_is_in_force_in_another() {
    if crate::helpers::skip_without_postgres(
        "api::stored_destinations::a_destination_made_through_one_process",
    ) {
        return;
    }
    let rx = Receiver::start().await;
    rx.set_default(Reply::status(204));
    let url = crate::helpers::fresh_pg_database().await;
    // Test apps on PostgreSQL share the key of its secrets (`helpers::SHARED_SECRET_KEY`).
    let tweak = |c: &mut hookarr::config::Config| c.api.allow_private_targets = true;
    let one = TestApp::spawn_at(url.clone(), tempfile::tempdir().unwrap(), tweak).await;
    let two = TestApp::spawn_at(url, tempfile::tempdir().unwrap(), tweak).await;
    let (s, _) = one
        .api_post(
            "/api/destinations",
            json!({"name": "shared", "type": "webhook", "url": rx.url("/shared")}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    two.wait_api("/api/destinations", |page| {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["name"] == "shared")
    })
    .await;
    // Only the second process runs from here: it routes and sends to the destination it learned of.
    one.stop().await;
    let (s, _) = two.post_hook("radarr", &fixture("radarr", "grab")).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let got = rx.wait_for(1).await;
    assert_eq!(got[0].path, "/shared");
    two.stop().await;
}
