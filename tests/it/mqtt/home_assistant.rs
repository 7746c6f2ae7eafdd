//! What Home Assistant sees on the broker: discovery well-formed and retained, republished when Home
//! Assistant comes online; a Sonarr import firing its event entity and device trigger; a Jellyfin playback
//! driving the player sensor, for the users `mqtt.players` names only; the hub's switch, buttons and notify.

use super::{Broker, Watcher, discovery_rules};
use crate::discord_like::DiscordLike;
use crate::helpers::{Backend, TestApp, fixture};
use hookarr::config::Destination;
use serde_json::Value;
use std::time::Duration;

/// The retained configs a new subscriber gets now.
async fn retained_configs(broker: &Broker) -> Vec<(String, String)> {
    Watcher::retained(broker)
        .await
        .into_iter()
        .filter(|s| s.topic.starts_with("homeassistant/") && s.topic.ends_with("/config"))
        .map(|s| (s.topic, s.payload))
        .collect()
}

/// The payload the broker retains on `topic`.
fn retained_on(retained: &[super::Seen], topic: &str) -> Option<String> {
    retained
        .iter()
        .find(|s| s.topic == topic)
        .map(|s| s.payload.clone())
}

fn config_of(configs: &[(String, String)], topic: &str) -> Value {
    let (_, payload) = configs
        .iter()
        .find(|(t, _)| t == topic)
        .unwrap_or_else(|| panic!("no config at {topic}"));
    serde_json::from_str(payload).unwrap()
}

async fn sources_and_players_appear_with_well_formed_discovery(backend: Backend) {
    let Some(broker) = Broker::start("mqtt::home_assistant") else {
        return;
    };
    let watcher = Watcher::start(&broker).await;
    let app = TestApp::spawn_with(backend, |cfg| broker.configure(cfg, &["mina"])).await;
    watcher
        .wait_for("hookarr/status", |s| s.payload == "online")
        .await;

    // A Sonarr import: the event entity fires `imported`, and so does its device trigger.
    let (status, _) = app
        .post_hook("sonarr", &fixture("sonarr", "download"))
        .await;
    assert_eq!(status, 202);
    let fired = watcher
        .wait_for("hookarr/source/sonarr/event", |_| true)
        .await;
    let fired_json = fired.json();
    assert_eq!(fired_json["event_type"], "imported");
    assert_eq!(fired_json["title"], "Severance");
    watcher
        .wait_for("hookarr/source/sonarr/trigger/imported", |_| true)
        .await;
    let last = watcher
        .wait_for("hookarr/source/sonarr/state", |_| true)
        .await;
    assert_eq!(last.json()["event"], "library.new");

    // A Jellyfin playback: playing, paused, idle.
    for (name, state) in [
        ("PlaybackStart", "playing"),
        ("PlaybackProgress", "paused"),
        ("PlaybackStop", "idle"),
    ] {
        let (status, _) = app.post_hook("jellyfin", &fixture("jellyfin", name)).await;
        assert_eq!(status, 202, "{name}");
        let seen = watcher
            .wait_for("hookarr/player/jellyfin_firefox/state", |s| {
                s.json()["state"] == state
            })
            .await;
        let player = seen.json();
        assert_eq!(player["title"], "Past Lives", "{name}");
        assert_eq!(player["user"], "mina");
        assert!(
            player["poster_url"]
                .as_str()
                .unwrap()
                .starts_with("https://")
        );
    }

    // States are retained, moments are not; everything announced is retained and keeps Home Assistant's rules.
    let retained = Watcher::retained(&broker).await;
    assert_eq!(
        retained_on(&retained, "hookarr/status").as_deref(),
        Some("online")
    );
    assert!(retained_on(&retained, "hookarr/source/sonarr/state").is_some());
    assert!(retained_on(&retained, "hookarr/player/jellyfin_firefox/state").is_some());
    assert!(retained_on(&retained, "hookarr/source/sonarr/event").is_none());
    assert!(retained_on(&retained, "hookarr/source/sonarr/trigger/imported").is_none());
    let configs = retained_configs(&broker).await;
    let problems = discovery_rules::problems(&configs, "homeassistant");
    assert!(problems.is_empty(), "{problems:#?}");
    for topic in [
        "homeassistant/sensor/hookarr_queue_depth/config",
        "homeassistant/sensor/hookarr_dead_deliveries/config",
        "homeassistant/sensor/hookarr_events_last_hour/config",
        "homeassistant/switch/hookarr_quiet_hours/config",
        "homeassistant/button/hookarr_retry_dead/config",
        "homeassistant/button/hookarr_flush_digests/config",
        "homeassistant/notify/hookarr_notify/config",
        "homeassistant/sensor/hookarr_sonarr_last_event/config",
        "homeassistant/sensor/hookarr_sonarr_health/config",
        "homeassistant/binary_sensor/hookarr_sonarr_connectivity/config",
        "homeassistant/sensor/hookarr_player_jellyfin_firefox/config",
    ] {
        config_of(&configs, topic);
    }
    let events = config_of(&configs, "homeassistant/event/hookarr_sonarr_events/config");
    assert!(
        events["event_types"]
            .as_array()
            .unwrap()
            .contains(&fired_json["event_type"]),
        "the firing's type is one the entity declares"
    );
    assert_eq!(events["device"]["via_device"], "hookarr");
    let trigger = config_of(
        &configs,
        "homeassistant/device_automation/hookarr_sonarr_imported/config",
    );
    assert_eq!(trigger["topic"], "hookarr/source/sonarr/trigger/imported");
    assert_eq!(
        trigger["device"], events["device"],
        "the trigger is on the source's device"
    );
    let player = config_of(
        &configs,
        "homeassistant/sensor/hookarr_player_jellyfin_firefox/config",
    );
    assert!(player["expire_after"].as_u64().unwrap() > 0);
    assert_eq!(player["device"]["via_device"], "hookarr_source_jellyfin");

    // The dashboard shows the link and what Home Assistant was told.
    let login = crate::admin::log_in(&app, crate::helpers::ADMIN_KEY).await;
    let page = crate::admin::page(&app, "/admin", &login)
        .await
        .text()
        .await
        .unwrap();
    let card = &page[page.find("data-broker").expect("the MQTT card")..];
    assert!(
        card.contains("connected</span> to <code>127.0.0.1:"),
        "{card}"
    );
    for device in ["hookarr", "Sonarr", "Firefox (Jellyfin)"] {
        assert!(card.contains(&format!("<li>{device} ")), "{device}: {card}");
    }

    // Home Assistant restarts: its birth message makes hookarr announce everything again.
    watcher.clear();
    watcher.publish("homeassistant/status", "online").await;
    let again = watcher
        .wait_until("every config again", |seen| {
            let republished = seen
                .iter()
                .filter(|s| s.topic.ends_with("/config") && !s.payload.is_empty())
                .count();
            (republished >= configs.len()).then_some(republished)
        })
        .await;
    assert_eq!(again, configs.len(), "each config once");
    watcher
        .wait_for("hookarr/player/jellyfin_firefox/state", |s| {
            s.json()["state"] == "idle"
        })
        .await;
    app.stop().await;
    // A clean stop says offline itself.
    watcher
        .wait_for("hookarr/status", |s| s.payload == "offline")
        .await;
}

both_backends!(sources_and_players_appear_with_well_formed_discovery);

/// Nobody's viewing is published unasked: a user `mqtt.players` does not name has no player and fires no
/// playback event; their delivery says why it published nothing.
#[tokio::test]
async fn viewing_of_users_not_named_is_not_published() {
    let Some(broker) = Broker::start("mqtt::viewing_of_users_not_named_is_not_published") else {
        return;
    };
    let watcher = Watcher::start(&broker).await;
    let app = TestApp::spawn_with(Backend::Sqlite, |cfg| broker.configure(cfg, &["kenji"])).await;
    watcher
        .wait_for("hookarr/status", |s| s.payload == "online")
        .await;
    let (status, _) = app
        .post_hook("jellyfin", &fixture("jellyfin", "PlaybackStart"))
        .await;
    assert_eq!(status, 202);
    let done = app
        .wait_api("/api/deliveries?destination=mqtt-home-assistant", |page| {
            page["items"].as_array().is_some_and(|items| {
                items
                    .iter()
                    .any(|d| d["event"] == "playback.start" && d["status"] == "succeeded")
            })
        })
        .await;
    let id = done["items"][0]["id"].as_str().unwrap();
    let (_, delivery) = app.api_get(&format!("/api/deliveries/{id}")).await;
    let said = delivery["attempts"][0]["response_body"]
        .as_str()
        .unwrap_or_default();
    assert!(said.contains("mqtt.players does not name"), "{delivery}");
    let published: Vec<String> = watcher
        .seen()
        .into_iter()
        .map(|s| s.topic)
        .filter(|t| t.contains("player") || t.starts_with("hookarr/source/jellyfin"))
        .collect();
    assert!(published.is_empty(), "{published:?}");
    app.stop().await;
}

/// The quiet-hours switch holds what people are sent and releases it as one digest when turned off; the
/// notify entity sends a message through hookarr's destinations; both are in the audit log.
#[tokio::test]
async fn the_quiet_switch_holds_and_releases_and_notify_sends_through_hookarr() {
    let Some(broker) = Broker::start("mqtt::the_quiet_switch") else {
        return;
    };
    let discord = DiscordLike::start(100, Duration::from_secs(1)).await;
    let watcher = Watcher::start(&broker).await;
    // A retained command, left on the broker before hookarr connects: never carried out (it would be again
    // at every connect).
    watcher
        .client
        .publish(
            "hookarr/hub/notify/set",
            rumqttc::QoS::AtLeastOnce,
            true,
            "stale",
        )
        .await
        .unwrap();
    let app = TestApp::spawn_with(Backend::Sqlite, |cfg| {
        let d: Destination = serde_norway::from_str(&format!(
            "{{name: chat, type: discord, url: '{}/api/webhooks/1/tok', group_window: 0s}}",
            discord.base
        ))
        .unwrap();
        cfg.destinations.push(d);
        broker.configure(cfg, &[]);
    })
    .await;
    watcher
        .wait_for("hookarr/hub/state", |s| s.json()["quiet_hours"] == "OFF")
        .await;
    watcher.publish("hookarr/hub/quiet_hours/set", "ON").await;
    watcher
        .wait_for("hookarr/hub/state", |s| s.json()["quiet_hours"] == "ON")
        .await;
    for copy in 0..2 {
        let body = crate::helpers::fixture_copy("radarr", "grab", copy);
        assert_eq!(app.post_hook("radarr", &body).await.0, 202);
    }
    // Held, while Home Assistant (a machine) still hears of them.
    app.wait_api("/api/deliveries?destination=chat&status=pending", |page| {
        page["items"].as_array().is_some_and(|i| i.len() == 2)
    })
    .await;
    watcher
        .wait_for("hookarr/source/radarr/event", |_| true)
        .await;
    assert!(discord.messages().is_empty(), "held while the switch is on");
    watcher.publish("hookarr/hub/quiet_hours/set", "OFF").await;
    app.wait_api(
        "/api/deliveries?destination=chat&status=succeeded",
        |page| page["items"].as_array().is_some_and(|i| i.len() == 2),
    )
    .await;
    assert_eq!(
        discord.messages().len(),
        1,
        "one digest: {:?}",
        discord.messages()
    );

    watcher
        .publish("hookarr/hub/notify/set", "Dinner is ready")
        .await;
    let page = app
        .wait_api("/api/events?source=home-assistant", |page| {
            page["items"].as_array().is_some_and(|i| !i.is_empty())
        })
        .await;
    assert_eq!(page["items"][0]["summary"], "Dinner is ready");
    for _ in 0..100 {
        if discord
            .messages()
            .iter()
            .any(|m| m.contains("Dinner is ready"))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        discord
            .messages()
            .iter()
            .any(|m| m.contains("Dinner is ready")),
        "{:?}",
        discord.messages()
    );
    // The retained one, delivered when hookarr subscribed (before anything live), was ignored.
    let (_, events) = app.api_get("/api/events?source=home-assistant").await;
    let said: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["summary"].as_str().unwrap())
        .collect();
    assert_eq!(said, ["Dinner is ready"]);
    let actions = app.audit_actions().await;
    assert_eq!(
        actions.iter().filter(|a| *a == "hub.quiet_hours").count(),
        2,
        "{actions:?}"
    );
    app.stop().await;
}

/// Across a restart the unique ids stay the same; a user taken off `mqtt.players` has their player removed
/// from Home Assistant (an empty retained config) while the sources stay.
#[tokio::test]
async fn a_restart_keeps_the_ids_and_removes_the_players_no_longer_named() {
    let Some(broker) = Broker::start("mqtt::a_restart_keeps_the_ids") else {
        return;
    };
    let watcher = Watcher::start(&broker).await;
    let (url, dir) = crate::helpers::fresh_storage(Backend::Sqlite).await;
    let app = TestApp::spawn_at(url.clone(), dir, |cfg| broker.configure(cfg, &["mina"])).await;
    let (status, _) = app
        .post_hook("jellyfin", &fixture("jellyfin", "PlaybackStart"))
        .await;
    assert_eq!(status, 202);
    watcher
        .wait_for("hookarr/player/jellyfin_firefox/state", |_| true)
        .await;
    let before = retained_configs(&broker).await;
    let player = "homeassistant/sensor/hookarr_player_jellyfin_firefox/config";
    config_of(&before, player);
    let dir = app.stop_keeping_dir().await;

    watcher.clear();
    let app = TestApp::spawn_at(url, dir, |cfg| broker.configure(cfg, &[])).await;
    watcher.wait_for(player, |s| s.payload.is_empty()).await;
    let after = retained_configs(&broker).await;
    assert!(after.iter().all(|(t, _)| t != player), "the player is gone");
    let ids = |configs: &[(String, String)]| -> std::collections::BTreeSet<String> {
        configs
            .iter()
            .filter(|(t, _)| t != player)
            .map(|(t, p)| {
                format!(
                    "{t} {}",
                    serde_json::from_str::<Value>(p).unwrap()["unique_id"]
                )
            })
            .collect()
    };
    assert_eq!(
        ids(&before),
        ids(&after),
        "the same entities, the same unique ids"
    );
    app.stop().await;
}

/// Two processes on one PostgreSQL, one broker: each event fires Home Assistant's event entity once (its
/// delivery is claimed by one process), whichever process took the webhook.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_postgres_fire_each_event_once() {
    if crate::helpers::skip_without_postgres(
        "mqtt::two_processes_on_one_postgres_fire_each_event_once",
    ) {
        return;
    }
    let Some(broker) = Broker::start("mqtt::two_processes_on_one_postgres_fire_each_event_once")
    else {
        return;
    };
    let watcher = Watcher::start(&broker).await;
    let (url, dir) = crate::helpers::fresh_storage(Backend::Postgres).await;
    let own_id = |cfg: &mut hookarr::config::Config, n: u32| {
        broker.configure(cfg, &[]);
        cfg.mqtt.as_mut().unwrap().client_id = Some(format!("hookarr-process-{n}"));
    };
    let a = TestApp::spawn_at(url.clone(), dir, |cfg| own_id(cfg, 1)).await;
    let b = TestApp::spawn_at(url, tempfile::tempdir().unwrap(), |cfg| own_id(cfg, 2)).await;
    let mut accepted = std::collections::HashSet::new();
    for copy in 0..10 {
        let app = if copy % 2 == 0 { &a } else { &b };
        let body = crate::helpers::fixture_copy("radarr", "grab", copy);
        let (status, r) = app.post_hook("radarr", &body).await;
        assert_eq!(status, 202, "{r}");
        accepted.insert(r["events"][0].as_str().unwrap().to_owned());
    }
    let firings = watcher
        .wait_until("a firing of every event", |seen| {
            let fired: Vec<String> = seen
                .iter()
                .filter(|s| s.topic == "hookarr/source/radarr/event")
                .map(|s| s.json()["event_id"].as_str().unwrap().to_owned())
                .collect();
            let distinct: std::collections::HashSet<&String> = fired.iter().collect();
            (distinct.len() >= accepted.len()).then_some(fired)
        })
        .await;
    // Let a second firing of any show up before counting.
    a.wait_api("/api/deliveries?status=pending", |page| {
        page["items"].as_array().is_some_and(Vec::is_empty)
    })
    .await;
    let fired = watcher
        .seen()
        .iter()
        .filter(|s| s.topic == "hookarr/source/radarr/event")
        .count();
    assert_eq!(fired, accepted.len(), "each event once: {firings:?}");
    a.stop().await;
    b.stop().await;
}

/// A device name a media server sends is the player's name in Home Assistant and on the dashboard's card:
/// shown there as text, never as markup; its topic stays one level.
#[tokio::test]
async fn a_hostile_device_name_stays_text_on_the_dashboard() {
    let Some(broker) = Broker::start("mqtt::a_hostile_device_name_stays_text") else {
        return;
    };
    let watcher = Watcher::start(&broker).await;
    let app = TestApp::spawn_with(Backend::Sqlite, |cfg| broker.configure(cfg, &["*"])).await;
    let mut body: Value = serde_json::from_slice(&fixture("jellyfin", "PlaybackStart")).unwrap();
    body["DeviceName"] = "<img src=x onerror=alert(1)>/#".into();
    let (status, _) = app.post_hook("jellyfin", body.to_string().as_bytes()).await;
    assert_eq!(status, 202);
    let state = watcher
        .wait_until("the player's state", |seen| {
            seen.iter()
                .find(|s| s.topic.starts_with("hookarr/player/") && s.topic.ends_with("/state"))
                .cloned()
        })
        .await;
    assert_eq!(state.topic.split('/').count(), 4, "{}", state.topic);
    assert_eq!(
        state.json()["device"],
        "<img src=x onerror=alert(1)>/#",
        "kept as sent, in JSON"
    );
    let login = crate::admin::log_in(&app, crate::helpers::ADMIN_KEY).await;
    let page = crate::admin::page(&app, "/admin", &login)
        .await
        .text()
        .await
        .unwrap();
    let card = &page[page.find("data-broker").expect("the MQTT card")..];
    assert!(!card.contains("<img src=x"), "{card}");
    assert!(
        card.contains("&#60;img src=x onerror=alert(1)&#62;"),
        "{card}"
    );
    app.stop().await;
}
