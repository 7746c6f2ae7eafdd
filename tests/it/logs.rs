//! What the real binary tells at the default level: a line per event received and per delivery outcome,
//! with no secret in them — as text, and as JSON with the same fields.

use crate::binary::{BIN, start_command, token_of, write_config_with};
use crate::helpers::{ADMIN_KEY, fixture};
use crate::receiver::{Receiver, Reply};
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs hookarr at `info` with two destinations (one answering 204, one 400), posts a Radarr grab, and
/// returns its log once both outcomes are in it, with the Radarr token.
async fn log_of_one_grab(format: &str) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let good = Receiver::start().await;
    let bad = Receiver::start().await;
    bad.set_default(Reply::status(400).body(r#"{"message": "Invalid Form Body"}"#));
    let extra = format!(
        "destinations:\n  - {{name: sink, type: webhook, url: \"{}\", signing: none}}\n  - {{name: refusing, type: webhook, url: \"{}\", signing: none}}\n",
        good.url("/hook"),
        bad.url("/hook")
    );
    let db = format!("sqlite://{}/hookarr.db", dir.path().display());
    let config = write_config_with(dir.path(), &db, Some(ADMIN_KEY), &extra);
    let log_path = dir.path().join("hookarr.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut command = Command::new(BIN);
    command.args(["--log-format", format]);
    let running = start_command(command, &config, dir.path(), "info", Stdio::from(log));
    let token = token_of(&running.banner, "radarr");
    let resp = reqwest::Client::new()
        .post(format!("{}/hooks/radarr?token={token}", running.base))
        .header("content-type", "application/json")
        .body(fixture("radarr", "grab"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    good.wait_for(1).await;
    bad.wait_for(1).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let text = loop {
        let text = std::fs::read_to_string(&log_path).unwrap();
        let told = text.contains("refusing failed") && text.contains("sink delivered in ");
        if told || Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    drop(running);
    (text, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_info_the_log_tells_each_event_and_each_delivery() {
    let (text, token) = log_of_one_grab("human").await;
    let has = |needle: &str| {
        assert!(
            text.lines().any(|l| l.contains(needle)),
            "no line with {needle:?} in:\n{text}"
        );
    };
    has(
        "radarr download.grabbed ‘Dune: Part Two (2024) grabbed — WEBDL-2160p from TorrentLeech’ → 2 destinations",
    );
    has("sink delivered in ");
    has(r#"refusing failed (HTTP 400: {"message": "Invalid Form Body"}), not retried"#);
    assert!(!text.contains(&token), "no source token in the log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_json_log_carries_the_same_story_as_fields() {
    let (text, token) = log_of_one_grab("json").await;
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let received = lines
        .iter()
        .find(|l| l["fields"]["event"] == "download.grabbed" && l["fields"]["source"] == "radarr")
        .unwrap_or_else(|| panic!("no event line in {text}"));
    assert_eq!(received["level"], "INFO");
    assert_eq!(received["fields"]["destinations"], 2);
    let delivered = lines
        .iter()
        .find(|l| l["fields"]["destination"] == "sink")
        .unwrap_or_else(|| panic!("no delivery line in {text}"));
    assert!(delivered["fields"]["duration_ms"].is_u64(), "{delivered}");
    assert!(
        delivered["fields"]["message"]
            .as_str()
            .unwrap()
            .starts_with("sink delivered in "),
        "{delivered}"
    );
    assert!(!text.contains(&token), "no source token in the log");
}
