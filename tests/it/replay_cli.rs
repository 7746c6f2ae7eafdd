//! `hookarr replay --since`: events that arrived before a destination existed reach it once it does.

use crate::binary::{BIN, start, token_of, write_config_with};
use crate::helpers::ADMIN_KEY;
use crate::receiver::Receiver;
use std::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_since_sends_earlier_events_to_a_new_destination() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (Receiver::start().await, Receiver::start().await);
    let db = format!("sqlite://{}/hookarr.db", dir.path().display());
    let dest = |name: &str, rx: &Receiver| {
        format!(
            "  - {{name: {name}, type: webhook, url: \"{}\", signing: none}}\n",
            rx.url("/hook")
        )
    };
    let config = write_config_with(
        dir.path(),
        &db,
        Some(ADMIN_KEY),
        &format!("destinations:\n{}", dest("old", &old)),
    );
    let running = start(&config, dir.path());
    let token = token_of(&running.banner, "radarr");
    let client = reqwest::Client::new();
    for copy in 0..3 {
        assert_eq!(running.post_grab(&client, &token, copy).await.status(), 202);
    }
    old.wait_for(3).await;
    stop_gracefully(running);

    // A destination added later hears nothing of what came before…
    write_config_with(
        dir.path(),
        &db,
        Some(ADMIN_KEY),
        &format!("destinations:\n{}{}", dest("old", &old), dest("new", &new)),
    );
    // …until those events are replayed to it.
    let replay = |destination: &str| {
        Command::new(BIN)
            .args([
                "replay",
                "--since",
                "1h",
                "--destination",
                destination,
                "--config",
            ])
            .arg(&config)
            .output()
            .unwrap()
    };
    let out = replay("new");
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("replayed 3 of 3 events: 3 deliveries"),
        "{said}"
    );
    let running = start(&config, dir.path());
    let got = new.wait_for(3).await;
    assert_eq!(got.len(), 3);
    assert_eq!(old.got().len(), 3, "only the destination named was sent to");

    // Everything reached both now: a replay as routed sends nothing again, and says so before.
    let run = |args: &[&str]| {
        let out = Command::new(BIN)
            .args(["replay", "--since", "1h"])
            .args(args)
            .arg("--config")
            .arg(&config)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let said = run(&[]);
    assert!(
        said.contains("3 events received in the last 1h: 0 deliveries to make for 0 of them (6 already delivered, skipped"),
        "{said}"
    );
    // --all --dry-run lists all six and queues none.
    let said = run(&["--all", "--dry-run"]);
    assert!(
        said.contains("6 deliveries to make for 3 of them"),
        "{said}"
    );
    assert_eq!(said.matches(" → ").count(), 6, "{said}");
    assert!(said.contains("dry run: nothing was queued"), "{said}");
    let client = reqwest::Client::new();
    let listed = crate::serve::get_json(
        &client,
        &format!("{}/api/deliveries?limit=100", running.base),
        ADMIN_KEY,
    )
    .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 6, "{listed}");
    // Each replay is in the audit log, made at the command line.
    let audit =
        crate::serve::get_json(&client, &format!("{}/api/audit", running.base), ADMIN_KEY).await;
    let replays: Vec<&serde_json::Value> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "events.replayed")
        .collect();
    assert_eq!(
        replays.len(),
        2,
        "the two that queued (not the dry run): {audit}"
    );
    assert!(
        replays[0]["actor"]["name"]
            .as_str()
            .unwrap()
            .starts_with("command line")
    );
    assert_eq!(replays[0]["detail"]["skipped"], 6);
    drop(running);

    let out = replay("nope");
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("no destination named `nope`"), "{said}");
    assert!(said.contains("(there are: old, new)"), "{said}");
}

/// SIGTERM, and wait: the results of the sends made are written (a SIGKILL would send them again).
fn stop_gracefully(mut running: crate::binary::Running) {
    let status = Command::new("kill")
        .args(["-TERM", &running.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(running.child.wait().unwrap().success());
}
