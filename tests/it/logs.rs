//! What the real binary tells at the default level: a line per event received and per delivery outcome,
//! with no secret in them — as text, and as JSON with the same fields.

use crate::binary::{BIN, start_command, token_of, write_config_with};
use crate::helpers::{ADMIN_KEY, fixture};
use crate::receiver::{Receiver, Reply};
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Starts hookarr (`command`) at `info` on a fresh SQLite file in `dir` with `extra` config; its log goes to
/// `hookarr.log` there, whose path is returned.
fn start_logging_to_file(
    command: Command,
    dir: &std::path::Path,
    extra: &str,
) -> (crate::binary::Running, std::path::PathBuf) {
    let db = format!("sqlite://{}/hookarr.db", dir.display());
    let config = write_config_with(dir, &db, Some(ADMIN_KEY), extra);
    let log_path = dir.join("hookarr.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let running = start_command(command, &config, dir, "info", Stdio::from(log));
    (running, log_path)
}

/// The log at `path` once `told` holds for it, or as it is after 20 s.
async fn log_once(path: &std::path::Path, told: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(path).unwrap();
        if told(&text) || Instant::now() > deadline {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Posts the Radarr grab fixture to hookarr at `base`.
async fn post_grab(client: &reqwest::Client, base: &str, token: &str) -> reqwest::Response {
    client
        .post(format!("{base}/hooks/radarr?token={token}"))
        .header("content-type", "application/json")
        .body(fixture("radarr", "grab"))
        .send()
        .await
        .unwrap()
}

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
    let mut command = Command::new(BIN);
    command.args(["--log-format", format]);
    let (running, log_path) = start_logging_to_file(command, dir.path(), &extra);
    let token = token_of(&running.banner, "radarr");
    let resp = post_grab(&reqwest::Client::new(), &running.base, &token).await;
    assert_eq!(resp.status(), 202);
    good.wait_for(1).await;
    bad.wait_for(1).await;
    let text = log_once(&log_path, |text| {
        text.contains("refusing failed") && text.contains("sink delivered in ")
    })
    .await;
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

/// A repeat the dedupe window turns away (Radarr posting the same grab twice) is not told as routed: one
/// event, one story line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeat_is_told_once() {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::start().await;
    let extra = format!(
        "destinations:\n  - {{name: sink, type: webhook, url: \"{}\", signing: none}}\n",
        rx.url("/hook")
    );
    let (running, log_path) = start_logging_to_file(Command::new(BIN), dir.path(), &extra);
    let token = token_of(&running.banner, "radarr");
    let client = reqwest::Client::new();
    let mut answers = Vec::new();
    for _ in 0..2 {
        let resp = post_grab(&client, &running.base, &token).await;
        answers.push((resp.status().as_u16(), resp.json::<Value>().await.unwrap()));
    }
    assert_eq!(answers[0].0, 202, "{answers:?}");
    assert_eq!(answers[1].0, 200, "a repeat is answered 200: {answers:?}");
    assert_eq!(answers[1].1["duplicate"], true, "{answers:?}");
    rx.wait_for(1).await;
    let text = log_once(&log_path, |text| text.contains("sink delivered in ")).await;
    drop(running);
    let told = text
        .lines()
        .filter(|l| l.contains("radarr download.grabbed ‘Dune: Part Two (2024)"))
        .count();
    assert_eq!(told, 1, "one story line for one event:\n{text}");
    assert_eq!(rx.got().len(), 1, "the repeat is not sent");
}

/// Keys and webhook secrets, created, used, rotated and mistyped through the API, never reach the log, even
/// at `debug`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_and_webhook_secrets_never_reach_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::start().await;
    let db = format!("sqlite://{}/hookarr.db", dir.path().display());
    let extra = "api:\n  allow_private_targets: true\n";
    let config = write_config_with(dir.path(), &db, Some(ADMIN_KEY), extra);
    let log_path = dir.path().join("hookarr.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let running = start_command(
        Command::new(BIN),
        &config,
        dir.path(),
        "debug",
        Stdio::from(log),
    );
    let client = reqwest::Client::new();
    let api = |path: &str| format!("{}{path}", running.base);
    let post = |path: &str, key: &str, body: Value| {
        client.post(api(path)).bearer_auth(key).json(&body).send()
    };
    let user: Value = post("/api/users", ADMIN_KEY, serde_json::json!({"name": "bot"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key: Value = post(
        "/api/keys",
        ADMIN_KEY,
        serde_json::json!({"user_id": user["id"]}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let key = key["key"].as_str().unwrap().to_owned();
    let hook: Value = post(
        "/api/webhooks",
        &key,
        serde_json::json!({"url": rx.url("/bot"), "headers": {"Authorization": "Bearer header-secret-123"}}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let rotate = format!(
        "/api/webhooks/{}/rotate-secret",
        hook["id"].as_str().unwrap()
    );
    let rotated: Value = post(&rotate, &key, Value::Null)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let wrong = post(
        "/api/webhooks",
        "hk_mistyped_key_456",
        serde_json::json!({}),
    )
    .await
    .unwrap();
    assert_eq!(wrong.status(), 401);
    let token = token_of(&running.banner, "radarr");
    let resp = running.post_grab(&client, &token, 1).await;
    assert_eq!(resp.status(), 202);
    let got = rx.wait_for(1).await;
    assert_eq!(got[0].header("authorization"), "Bearer header-secret-123");
    // The delivery's line comes after the receiver answered.
    let deadline = Instant::now() + Duration::from_secs(20);
    let text = loop {
        let text = std::fs::read_to_string(&log_path).unwrap();
        if text.contains(" delivered in ") || Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    drop(running);
    assert!(
        text.contains(" delivered in "),
        "the log has the delivery:\n{text}"
    );
    for secret in [
        ADMIN_KEY,
        key.as_str(),
        "hk_mistyped_key_456",
        hook["secret"].as_str().unwrap(),
        rotated["secret"].as_str().unwrap(),
        "header-secret-123",
    ] {
        assert!(!text.contains(secret), "{secret:?} is in the log:\n{text}");
    }
}

/// A request a source refuses — a wrong token, a mistyped source, a body that is not JSON — is a warning
/// with the source and the sender's address (never the token presented), and the last one is on the
/// source in `/api/sources` and on its card; a mistyped source is said on the Sources page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_requests_are_logged_and_shown_on_their_source() {
    let dir = tempfile::tempdir().unwrap();
    let (running, log_path) = start_logging_to_file(Command::new(BIN), dir.path(), "");
    let token = token_of(&running.banner, "sonarr");
    let client = reqwest::Client::new();
    let post = |path: String, content_type: &'static str, body: &'static [u8]| {
        client
            .post(format!("{}{path}", running.base))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let wrong = post(
        "/hooks/radarr?token=hk_wrong_guess_1234".into(),
        "application/json",
        b"{}",
    );
    assert_eq!(wrong.await.unwrap().status(), 401);
    let mistyped = post("/hooks/radar?token=x".into(), "application/json", b"{}");
    assert_eq!(mistyped.await.unwrap().status(), 404);
    let xml = post(
        format!("/hooks/sonarr?token={token}"),
        "application/xml",
        b"<a/>",
    );
    assert_eq!(xml.await.unwrap().status(), 415);
    // The log, once the three are in it.
    let deadline = Instant::now() + Duration::from_secs(20);
    let text = loop {
        let text = std::fs::read_to_string(&log_path).unwrap();
        if text.matches("A request to a source was refused.").count() >= 3
            || Instant::now() > deadline
        {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let line = |needles: &[&str]| {
        assert!(
            text.lines()
                .any(|l| l.contains("WARN") && needles.iter().all(|n| l.contains(n))),
            "no warning with {needles:?} in:\n{text}"
        );
    };
    line(&["source=radarr", "address=127.0.0.1", "status=401"]);
    line(&["source=(unknown)", "name=radar", "status=404"]);
    line(&["source=sonarr", "status=415"]);
    assert!(
        !text.contains("hk_wrong_guess_1234"),
        "the token presented is not logged"
    );
    // /api/sources: the last refusal of each.
    let sources =
        crate::serve::get_json(&client, &format!("{}/api/sources", running.base), ADMIN_KEY).await;
    let of = |name: &str| {
        sources["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .cloned()
            .unwrap()
    };
    assert_eq!(of("radarr")["last_refusal"]["status"], 401, "{sources}");
    assert_eq!(of("radarr")["last_refusal"]["address"], "127.0.0.1");
    assert_eq!(of("sonarr")["last_refusal"]["status"], 415);
    assert_eq!(of("lidarr")["last_refusal"], Value::Null);
    drop(running);
}
