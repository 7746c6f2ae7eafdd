//! The broker misbehaving: down for 30 s (nothing lost), hookarr killed -9 (offline by its last will, online
//! again on restart), a refused log-in, a certificate that is not valid, nothing listening — each told in
//! `/readyz` while hookarr stays ready for webhooks; and `hookarr mqtt test`.

use super::{Broker, BrokerSetup, Watcher};
use crate::helpers::{Backend, TestApp, fixture_copy};
use hookarr::config::Destination;
use std::collections::HashSet;
use std::process::Command;
use std::time::Duration;

fn bus() -> Destination {
    serde_norway::from_str(
        "{name: bus, type: mqtt, topic: 'media/{source}/{event}', \
         retry: {max_attempts: 100, schedule: [0s, 1s, 2s, 3s]}}",
    )
    .unwrap()
}

/// A `type: mqtt` destination publishes each event's envelope on its topic; with the broker down for 30 s,
/// every event accepted meanwhile arrives once it is back, and Home Assistant's states too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_down_for_30_seconds_loses_nothing() {
    let Some(mut broker) = Broker::start("mqtt::the_broker_down_for_30_seconds_loses_nothing")
    else {
        return;
    };
    let watcher = Watcher::start(&broker).await;
    let app = TestApp::spawn_with(Backend::Sqlite, |cfg| {
        cfg.destinations.push(bus());
        broker.configure(cfg, &[]);
    })
    .await;
    watcher
        .wait_for("hookarr/status", |s| s.payload == "online")
        .await;
    let (_, first) = app
        .post_hook("radarr", &fixture_copy("radarr", "grab", 0))
        .await;
    let seen = watcher
        .wait_for("media/radarr/download.grabbed", |_| true)
        .await;
    assert_eq!(
        seen.json()["id"],
        first["events"][0],
        "the envelope, as the webhook has it"
    );
    let retained = Watcher::retained(&broker).await;
    assert!(
        !retained.iter().any(|s| s.topic.starts_with("media/")),
        "not retained unless asked"
    );

    broker.kill();
    let mut accepted = HashSet::new();
    for copy in 1..=20 {
        let (status, body) = app
            .post_hook("radarr", &fixture_copy("radarr", "grab", copy))
            .await;
        assert_eq!(status, 202, "webhooks are taken while the broker is down");
        accepted.insert(body["events"][0].as_str().unwrap().to_owned());
    }
    let (_, ready) = app.get_plain("/readyz").await;
    assert_eq!(ready["status"], "ready", "{ready}");
    assert_eq!(ready["mqtt"]["connected"], false, "{ready}");
    tokio::time::sleep(Duration::from_secs(30)).await;
    broker.restart();
    let arrived = watcher
        .wait_until("every event published while the broker was down", |seen| {
            let ids: HashSet<String> = seen
                .iter()
                .filter(|s| s.topic == "media/radarr/download.grabbed")
                .filter_map(|s| s.json()["id"].as_str().map(str::to_owned))
                .collect();
            accepted.is_subset(&ids).then_some(ids)
        })
        .await;
    assert_eq!(arrived.len(), 21);
    // Home Assistant's side caught up too: nothing dead, nothing left.
    app.wait_api("/api/deliveries?status=pending", |page| {
        page["items"].as_array().is_some_and(Vec::is_empty)
    })
    .await;
    let (_, dead) = app.api_get("/api/deliveries?status=dead").await;
    assert!(dead["items"].as_array().unwrap().is_empty(), "{dead}");
    watcher
        .wait_for("hookarr/source/radarr/state", |_| true)
        .await;
    app.stop().await;
}

/// Killed -9, hookarr cannot say goodbye: the broker publishes its last will, `offline`; started again, it
/// is `online`.
#[tokio::test]
async fn availability_is_offline_by_last_will_on_kill_9_and_online_on_restart() {
    let Some(broker) = Broker::start("mqtt::availability_is_offline_by_last_will") else {
        return;
    };
    let watcher = Watcher::start(&broker).await;
    let dir = tempfile::tempdir().unwrap();
    let storage = format!("sqlite://{}/hookarr.db", dir.path().display());
    let extra = format!("mqtt:\n  url: {}\n", broker.url());
    let config = crate::binary::write_config_with(dir.path(), &storage, None, &extra);
    let mut running = crate::binary::start(&config, dir.path());
    watcher
        .wait_for("hookarr/status", |s| s.payload == "online")
        .await;
    watcher.clear();
    running.child.kill().unwrap(); // SIGKILL
    running.child.wait().unwrap();
    watcher
        .wait_for("hookarr/status", |s| s.payload == "offline")
        .await;
    let retained = Watcher::retained(&broker).await;
    let status = retained.iter().find(|s| s.topic == "hookarr/status");
    assert_eq!(
        status.map(|s| s.payload.as_str()),
        Some("offline"),
        "the will is retained"
    );
    drop(running);
    watcher.clear();
    let _again = crate::binary::start(&config, dir.path());
    watcher
        .wait_for("hookarr/status", |s| s.payload == "online")
        .await;
}

/// `/readyz` once its MQTT problem satisfies `done` (up to 30 s).
async fn readyz_mqtt(app: &TestApp, done: impl Fn(&str) -> bool) -> serde_json::Value {
    let mut last = serde_json::Value::Null;
    for _ in 0..300 {
        let (status, ready) = app.get_plain("/readyz").await;
        assert_eq!(status, 200, "{ready}");
        if ready["mqtt"]["problem"].as_str().is_some_and(&done) {
            return ready;
        }
        last = ready;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("/readyz never told the problem: {last}");
}

/// A broker that refuses the log-in, one whose certificate is not valid, and none at all: `/readyz` names
/// the problem in words, stays 200, and webhooks are still taken.
#[tokio::test]
async fn broker_problems_are_told_and_hookarr_stays_ready() {
    let Some(login) = Broker::start_with(
        "mqtt::broker_problems_are_told",
        BrokerSetup {
            login: Some(("hookarr", "right-password")),
            ..BrokerSetup::default()
        },
    ) else {
        return;
    };
    let app = TestApp::spawn_with(Backend::Sqlite, |cfg| {
        login.configure(cfg, &[]);
        let m = cfg.mqtt.as_mut().unwrap();
        m.username = Some("hookarr".into());
        m.password = Some(hookarr::config::Secret("wrong-password".into()));
    })
    .await;
    let ready = readyz_mqtt(&app, |p| p.contains("refused the user name or password")).await;
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["mqtt"]["connected"], false);
    let login_cookie = crate::admin::log_in(&app, crate::helpers::ADMIN_KEY).await;
    let page = crate::admin::page(&app, "/admin", &login_cookie)
        .await
        .text()
        .await
        .unwrap();
    let card = &page[page.find("data-broker").expect("the MQTT card")..];
    assert!(card.contains("not connected"), "{card}");
    assert!(card.contains("refused the user name or password"), "{card}");
    let (status, _) = app
        .post_hook("radarr", &fixture_copy("radarr", "grab", 1))
        .await;
    assert_eq!(status, 202);
    app.stop().await;

    let tls = Broker::start_with(
        "mqtt::broker_problems_are_told",
        BrokerSetup {
            self_signed_tls: true,
            ..BrokerSetup::default()
        },
    )
    .unwrap();
    let app = TestApp::spawn_with(Backend::Sqlite, |cfg| {
        tls.configure(cfg, &[]);
        cfg.mqtt.as_mut().unwrap().url = format!("mqtts://127.0.0.1:{}", tls.port);
    })
    .await;
    let ready = readyz_mqtt(&app, |p| p.contains("TLS")).await;
    let said = ready["mqtt"]["problem"].as_str().unwrap();
    assert!(said.contains("certificate"), "{said}");
    assert_eq!(ready["status"], "ready");
    app.stop().await;

    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let app = TestApp::spawn_with(Backend::Sqlite, |cfg| {
        tls.configure(cfg, &[]);
        cfg.mqtt.as_mut().unwrap().url = format!("mqtt://127.0.0.1:{port}");
    })
    .await;
    let ready = readyz_mqtt(&app, |p| p.contains("connection refused")).await;
    assert_eq!(ready["status"], "ready");
    app.stop().await;
}

/// `hookarr mqtt test` publishes a test message and says the broker took it; with a refused log-in it says
/// why and exits 1; without `mqtt:` it says what to add and exits 2.
#[tokio::test]
async fn mqtt_test_publishes_or_says_why_not() {
    let Some(broker) = Broker::start_with(
        "mqtt::mqtt_test_publishes_or_says_why_not",
        BrokerSetup {
            login: Some(("hookarr", "right-password")),
            ..BrokerSetup::default()
        },
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let storage = format!("sqlite://{}/hookarr.db", dir.path().display());
    let run = |password: &str| {
        let extra = format!(
            "mqtt:\n  url: {}\n  username: hookarr\n  password: {password}\n",
            broker.url()
        );
        let config = crate::binary::write_config_with(dir.path(), &storage, None, &extra);
        Command::new(env!("CARGO_BIN_EXE_hookarr"))
            .arg("--config")
            .arg(&config)
            .args(["mqtt", "test"])
            .output()
            .unwrap()
    };
    let ok = run("right-password");
    let out = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success(), "{ok:?}");
    assert!(
        out.contains("published a test message on hookarr/test"),
        "{out}"
    );
    let refused = run("wrong-password");
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("refused the user name or password"), "{err}");
    let none = crate::binary::write_config_with(dir.path(), &storage, None, "");
    let missing = Command::new(env!("CARGO_BIN_EXE_hookarr"))
        .arg("--config")
        .arg(&none)
        .args(["mqtt", "test"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("mqtt:"));
}
