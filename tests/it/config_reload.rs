//! `hookarr.yaml` re-read without a restart: `POST /api/config/reload` and a change on disk put a valid
//! file in force as a whole; an invalid one is kept out (the last good configuration stays, and the answer,
//! the log and the dashboard say why); a pending delivery of a destination whose URL changed goes to the
//! new URL, once.

use crate::helpers::{ADMIN_KEY, Backend, TestApp, fixture, fixture_copy};
use crate::receiver::{Receiver, Reply};
use reqwest::StatusCode;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A test app whose configuration is read from `yaml`, written to a file it can re-read.
async fn spawn_from_file(
    backend: Backend,
    yaml: &str,
    manual: bool,
) -> (TestApp, tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hookarr.yaml");
    std::fs::write(&path, yaml).unwrap();
    let data_dir = hookarr::config::DataDir {
        path: dir.path().to_path_buf(),
        rule: "a test's folder",
    };
    let loaded = hookarr::config::load(Some(&path), &data_dir).expect("the first file is valid");
    let tweak = move |c: &mut hookarr::config::Config| {
        let storage = c.storage.clone();
        let admin = c.admin.clone();
        *c = loaded.config;
        c.storage = storage;
        c.admin = admin;
    };
    let app = match manual {
        true => TestApp::spawn_manual(backend, tweak).await,
        false => TestApp::spawn_with(backend, tweak).await,
    };
    (app, dir, path)
}

fn yaml_with(destinations: &[(&str, String)]) -> String {
    let mut out = String::from("api:\n  allow_private_targets: true\ndestinations:\n");
    for (name, url) in destinations {
        out.push_str(&format!(
            "  - name: {name}\n    type: webhook\n    url: {url}\n    retry: {{schedule: [1s]}}\n"
        ));
    }
    out
}

async fn reload(app: &TestApp) -> (StatusCode, Value) {
    app.call(
        reqwest::Method::POST,
        "/api/config/reload",
        Some(ADMIN_KEY),
        None,
    )
    .await
}

async fn names(app: &TestApp) -> Vec<String> {
    let (_, page) = app.api_get("/api/destinations").await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Writes `text` over `path` the way editors do: a new file renamed into place.
fn replace_file(path: &Path, text: &str) {
    let next = path.with_extension("yaml.new");
    std::fs::write(&next, text).unwrap();
    std::fs::rename(&next, path).unwrap();
}

async fn a_valid_file_is_applied_whole_and_an_invalid_one_kept_out(backend: Backend) {
    let rx = Receiver::start().await;
    rx.set_default(Reply::status(204));
    let first = yaml_with(&[("first", rx.url("/first"))]);
    let (app, _dir, path) = spawn_from_file(backend, &first, false).await;
    assert_eq!(names(&app).await, ["first"]);

    // A second destination and a second Radarr, applied by the reload.
    let with_source = format!(
        "{}sources:\n  - {{name: radarr-4k, app: radarr, token: file-token-4k}}\n",
        yaml_with(&[("first", rx.url("/first")), ("second", rx.url("/second"))])
    );
    replace_file(&path, &with_source);
    let (s, applied) = reload(&app).await;
    assert_eq!(s, StatusCode::OK, "{applied}");
    assert_eq!(applied["applied"], true);
    assert_eq!(applied["added"], serde_json::json!(["second"]));
    assert_eq!(names(&app).await, ["first", "second"]);
    let posted = app
        .client
        .post(format!("{}/hooks/radarr-4k?token=file-token-4k", app.base))
        .header("content-type", "application/json")
        .body(fixture_copy("radarr", "grab", 4))
        .send()
        .await
        .unwrap();
    assert_eq!(
        posted.status(),
        StatusCode::ACCEPTED,
        "the file's new source takes requests"
    );
    let before = rx.wait_for(2).await.len();

    // An invalid file: 422 with its problems, and the configuration in force is the last good one.
    let broken = yaml_with(&[("first", rx.url("/first")), ("second", rx.url("/second"))])
        .replace("type: webhook\n    url", "type: discrod\n    url");
    replace_file(&path, &broken);
    let (s, refused) = reload(&app).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("hookarr.yaml not applied (2 problem(s))"),
        "{message}"
    );
    assert_eq!(
        refused["error"]["details"][0]["field"], "destinations[0].type",
        "{refused}"
    );
    assert_eq!(names(&app).await, ["first", "second"]);
    let login = crate::admin::log_in(&app, ADMIN_KEY).await;
    let dashboard = crate::admin::page(&app, "/admin", &login)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        dashboard.contains("hookarr.yaml not applied: 2 problems"),
        "the dashboard says so"
    );
    let (s, _) = app.post_hook("radarr", &fixture("radarr", "grab")).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let got = rx.wait_for(before + 2).await;
    let mut paths: Vec<&str> = got[before..].iter().map(|g| g.path.as_str()).collect();
    paths.sort();
    assert_eq!(
        paths,
        ["/first", "/second"],
        "the last good configuration routes"
    );

    // A change on disk is read without being asked: `second` goes, `third` comes.
    replace_file(
        &path,
        &yaml_with(&[("first", rx.url("/first")), ("third", rx.url("/third"))]),
    );
    app.wait_api("/api/destinations", |page| {
        let names: Vec<&str> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["name"].as_str().unwrap())
            .collect();
        names == ["first", "third"]
    })
    .await;
    app.stop().await;
}

async fn a_pending_delivery_goes_to_the_new_url_once(backend: Backend) {
    let old = Receiver::start().await;
    old.set_default(Reply::status(503));
    let new = Receiver::start().await;
    new.set_default(Reply::status(204));
    let (app, _dir, path) =
        spawn_from_file(backend, &yaml_with(&[("chat", old.url("/old"))]), true).await;
    let (s, _) = app
        .post_hook("radarr", &fixture_copy("radarr", "grab", 7))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    app.deliver_pending().await;
    assert_eq!(
        old.got().len(),
        1,
        "the first attempt failed at the old URL"
    );

    replace_file(&path, &yaml_with(&[("chat", new.url("/new"))]));
    let (s, applied) = reload(&app).await;
    assert_eq!(s, StatusCode::OK, "{applied}");
    assert_eq!(applied["changed"], serde_json::json!(["chat"]));
    // Its retry falls due after a second; until then, nothing is sent anywhere.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while new.got().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the retry never reached the new URL"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        app.deliver_pending().await;
    }
    app.deliver_pending().await;
    assert_eq!(new.got().len(), 1, "sent once");
    assert_eq!(old.got().len(), 1, "never again to the old URL");
    let (_, page) = app.api_get("/api/deliveries?destination=chat").await;
    assert_eq!(page["items"][0]["status"], "succeeded", "{page}");
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    app.stop().await;
}

both_backends!(
    a_valid_file_is_applied_whole_and_an_invalid_one_kept_out,
    a_pending_delivery_goes_to_the_new_url_once
);

/// The real binary: a `SIGHUP` (which would end a process that does not handle it) re-reads the file, and
/// hookarr keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_rereads_the_file_and_hookarr_keeps_running() {
    use crate::binary::{start, write_config_with};
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/hookarr.db", dir.path().display());
    let allow = "api:\n  allow_private_targets: true\n";
    let config = write_config_with(dir.path(), &db, Some(ADMIN_KEY), allow);
    let mut running = start(&config, dir.path());
    let added = format!(
        "{allow}destinations:\n  - {{name: later, type: webhook, url: \"http://127.0.0.1:9/later\"}}\n"
    );
    write_config_with(dir.path(), &db, Some(ADMIN_KEY), &added);
    let status = std::process::Command::new("kill")
        .args(["-HUP", &running.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let client = reqwest::Client::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let answer = client
            .get(format!("{}/api/destinations/later", running.base))
            .bearer_auth(ADMIN_KEY)
            .send()
            .await
            .unwrap();
        if answer.status() == StatusCode::OK {
            let shown: Value = answer.json().await.unwrap();
            assert_eq!(shown["origin"], "file");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never re-read");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        running.child.try_wait().unwrap().is_none(),
        "still running after SIGHUP"
    );
}
