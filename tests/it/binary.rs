//! The real `hookarr` binary: first and second start, `check-config` exit codes, and SIGKILL right after the
//! 202s losing nothing.

use crate::helpers::{ADMIN_KEY, Backend, fixture, fresh_storage};
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_hookarr");

/// Runs a one-shot command of the binary with `--config`.
fn hookarr_cmd(args: &[&str], config: &Path) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .unwrap()
}

/// A running binary and what it printed up to its `API:` line.
pub(crate) struct Running {
    pub(crate) child: Child,
    pub(crate) banner: Vec<String>,
    pub(crate) base: String,
}

impl Running {
    /// Posts copy `copy` of the Radarr grab fixture to this server with `token`.
    pub(crate) async fn post_grab(
        &self,
        client: &reqwest::Client,
        token: &str,
        copy: u64,
    ) -> reqwest::Response {
        client
            .post(format!("{}/hooks/radarr?token={token}", self.base))
            .header("content-type", "application/json")
            .body(crate::helpers::fixture_copy("radarr", "grab", copy))
            .send()
            .await
            .unwrap()
    }
}

/// A test that fails half-way must not leave its server running.
impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn start(config: &Path, cwd: &Path) -> Running {
    start_logging(config, cwd, "warn", Stdio::inherit())
}

/// Starts `serve` with a log level and a destination for its log (stderr).
pub(crate) fn start_logging(config: &Path, cwd: &Path, level: &str, log: Stdio) -> Running {
    start_command(Command::new(BIN), config, cwd, level, log)
}

/// Starts `serve` from `command` (the binary itself, or a launcher that ends by exec-ing it with the
/// arguments it is given).
pub(crate) fn start_command(
    mut command: Command,
    config: &Path,
    cwd: &Path,
    level: &str,
    log: Stdio,
) -> Running {
    command.current_dir(cwd);
    let (child, banner, base) = crate::serve::spawn_serve(command, config, level, log);
    Running {
        child,
        banner,
        base,
    }
}

pub(crate) fn write_config(
    dir: &Path,
    storage_url: &str,
    admin_key: Option<&str>,
) -> std::path::PathBuf {
    write_config_with(dir, storage_url, admin_key, "")
}

pub(crate) fn write_config_with(
    dir: &Path,
    storage_url: &str,
    admin_key: Option<&str>,
    extra: &str,
) -> std::path::PathBuf {
    let mut text =
        format!("server:\n  listen: 127.0.0.1:0\nstorage:\n  url: {storage_url}\n{extra}");
    if let Some(key) = admin_key {
        text.push_str(&format!("admin:\n  api_key: {key}\n"));
    }
    let path = dir.join("hookarr.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// GET an API URL of a running binary with the admin key, as JSON.
async fn admin_json(client: &reqwest::Client, url: &str) -> serde_json::Value {
    crate::serve::get_json(client, url, ADMIN_KEY).await
}

pub(crate) fn token_of(banner: &[String], source: &str) -> String {
    banner
        .iter()
        .find_map(|l| l.split_once(&format!("/hooks/{source}?token=")))
        .map(|(_, t)| t.split_whitespace().next().unwrap().to_owned())
        .unwrap_or_else(|| panic!("no Connect URL for {source} in {banner:?}"))
}

#[test]
fn the_first_start_prints_key_and_tokens_later_starts_mask_them_and_sources_shows_them() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!("sqlite://{}/data/hookarr.db", dir.path().display()),
        None,
    );
    let mut first = start(&config, dir.path());
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    let key_lines: Vec<_> = first
        .banner
        .iter()
        .filter(|l| l.starts_with("admin key: hk_"))
        .collect();
    assert_eq!(key_lines.len(), 1, "{:?}", first.banner);
    assert!(
        first
            .banner
            .iter()
            .any(|l| l.starts_with("admin page: http://127.0.0.1:"))
    );
    for app in [
        "radarr", "sonarr", "lidarr", "prowlarr", "plex", "jellyfin", "emby",
    ] {
        assert!(!token_of(&first.banner, app).is_empty());
    }
    let mut second = start(&config, dir.path());
    second.child.kill().unwrap();
    second.child.wait().unwrap();
    assert!(
        !second.banner.iter().any(|l| l.contains("hk_")),
        "the key is shown once: {:?}",
        second.banner
    );
    let radarr = token_of(&first.banner, "radarr");
    assert_eq!(
        token_of(&second.banner, "radarr"),
        "<hidden:",
        "later starts mask the token: {:?}",
        second.banner
    );
    assert!(
        !second.banner.iter().any(|l| l.contains(&radarr)),
        "no token in a later banner (logs keep it): {:?}",
        second.banner
    );
    let sources = |extra: &[&str]| {
        let out = Command::new(BIN)
            .arg("sources")
            .args(extra)
            .arg("--config")
            .arg(&config)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let masked = sources(&[]);
    assert!(masked.contains("/hooks/radarr?token=<hidden"), "{masked}");
    assert!(!masked.contains(&radarr), "{masked}");
    let shown = sources(&["--show-tokens"]);
    assert!(
        shown.contains(&format!("/hooks/radarr?token={radarr}")),
        "tokens are kept, and shown on request: {shown}"
    );
    assert!(
        dir.path().join("data/hookarr.db").exists(),
        "the SQLite file and its folder are created"
    );
}

#[test]
fn check_config_exits_0_or_2_with_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let good = write_config(dir.path(), "sqlite://x.db", None);
    let out = Command::new(BIN)
        .args(["check-config", "--config"])
        .arg(&good)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "server:\n  listen: nope\n  bogus: 1\nstorage:\n  url: ftp://x\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["check-config", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for expected in ["server.listen", "server.bogus", "storage.url"] {
        assert!(
            stderr.contains(expected),
            "{expected} missing from: {stderr}"
        );
    }
    assert!(
        stderr.contains(&format!("the configuration {} has", bad.display())),
        "a refused config names its file: {stderr}"
    );
    let out = Command::new(BIN)
        .args(["check-config", "--config", "/nonexistent/hookarr.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// The help and the usage errors say what a newcomer needs: `--help` lists today's sources and destination
/// types; `render` without what to render names both ways; `send-test` to a mistyped destination lists the
/// names there are.
#[test]
fn help_and_usage_errors_name_what_there_is() {
    let help = Command::new(BIN).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for app in hookarr::inbound::SourceApp::ALL {
        assert!(
            help.contains(app.as_str()),
            "{app} missing from --help:\n{help}"
        );
    }
    for kind in hookarr::config::DestinationType::ALL {
        assert!(
            help.contains(kind.as_str()),
            "{} missing from --help",
            kind.as_str()
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "sqlite://x.db", None);
    let out = hookarr_cmd(&["render", "--destination", "d"], &config);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--payload") && stderr.contains("--event-id"),
        "{stderr}"
    );
    let out = hookarr_cmd(
        &["render", "--destination", "d", "--payload", "x.json"],
        &config,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--source"), "{stderr}");
    std::fs::write(
        &config,
        format!(
            "{}destinations:\n  - {{name: discord, type: webhook, url: 'http://127.0.0.1:9/x', signing: none}}\n  - {{name: phone, type: webhook, url: 'http://127.0.0.1:9/y', signing: none}}\n",
            std::fs::read_to_string(&config).unwrap()
        ),
    )
    .unwrap();
    let out = hookarr_cmd(&["migrate"], &config);
    assert!(out.status.success(), "{out:?}");
    let out = hookarr_cmd(&["send-test", "--destination", "discrd"], &config);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("(there are: discord, phone)"), "{stderr}");
}

/// Posts every Arr fixture concurrently to a hookarr that delivers them to a slow loopback receiver, kills
/// it with SIGKILL as soon as the last 202 arrives (mid-delivery), restarts it on the same database, and finds
/// every accepted event stored and delivered (duplicates allowed, counted).
async fn nothing_accepted_is_lost_on_sigkill(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (url, _db_dir) = fresh_storage(backend).await;
    let rx = crate::receiver::Receiver::start().await;
    rx.set_default(crate::receiver::Reply::status(204).delay(std::time::Duration::from_millis(30)));
    let extra = format!(
        "delivery:\n  workers: 8\n  timeout_secs: 2\ndestinations:\n  - name: sink\n    type: webhook\n    url: {}\n    signing: none\n    rate_limit: {{per_second: 10000, burst: 1000}}\n",
        rx.url("/sink")
    );
    let config = write_config_with(dir.path(), &url, Some(ADMIN_KEY), &extra);
    let mut running = start(&config, dir.path());
    let client = reqwest::Client::new();
    let mut bodies = Vec::new();
    for app in ["radarr", "sonarr", "lidarr"] {
        for name in crate::helpers::Corpus::own().names(app) {
            for copy in 0..4 {
                // Distinct bodies (so dedupe keeps them apart) that still parse as the app's payload.
                let mut body: serde_json::Value =
                    serde_json::from_slice(&fixture(app, &name)).unwrap();
                body["hookarrCopy"] = copy.into();
                bodies.push((app, serde_json::to_vec(&body).unwrap()));
            }
        }
    }
    let tokens: std::collections::HashMap<&str, String> = ["radarr", "sonarr", "lidarr"]
        .into_iter()
        .map(|a| (a, token_of(&running.banner, a)))
        .collect();
    let sends = bodies.iter().map(|(app, body)| {
        client
            .post(format!(
                "{}/hooks/{app}?token={}",
                running.base, tokens[app]
            ))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
    });
    let mut accepted = Vec::new();
    for resp in futures_join(sends).await {
        let resp = resp.unwrap();
        assert_eq!(resp.status(), 202);
        let v: serde_json::Value = resp.json().await.unwrap();
        accepted.push(v["events"][0].as_str().unwrap().to_owned());
    }
    // Kill in the middle of the delivery run: some delivered, most still queued or in flight.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while rx.got().len() < 20 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(
        rx.got().len() < accepted.len(),
        "the kill must land mid-run"
    );
    running.child.kill().unwrap(); // SIGKILL: no shutdown, no flush.
    running.child.wait().unwrap();

    let mut again = start(&config, dir.path());
    let mut found = std::collections::HashSet::new();
    let mut path = "/api/events?limit=500".to_owned();
    loop {
        let page = admin_json(&client, &format!("{}{path}", again.base)).await;
        found.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/events?limit=500&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(accepted.len(), bodies.len());
    // Every accepted event reaches the receiver (after the restart, the killed run's claims fall due again).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let delivered = loop {
        let got: std::collections::HashSet<String> = rx
            .got()
            .iter()
            .map(|g| g.json()["id"].as_str().unwrap().to_owned())
            .collect();
        if accepted.iter().all(|id| got.contains(id)) || std::time::Instant::now() > deadline {
            break got;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    again.child.kill().unwrap();
    again.child.wait().unwrap();
    let undelivered: Vec<_> = accepted
        .iter()
        .filter(|id| !delivered.contains(*id))
        .collect();
    assert!(
        undelivered.is_empty(),
        "{} accepted events never delivered: {undelivered:?}",
        undelivered.len()
    );
    let requests = rx.got().len();
    assert!(requests >= accepted.len());
    println!(
        "{backend:?}: {} events, {requests} deliveries received, {} duplicates",
        accepted.len(),
        requests - accepted.len()
    );
    let missing: Vec<_> = accepted.iter().filter(|id| !found.contains(*id)).collect();
    assert!(
        missing.is_empty(),
        "{} of {} accepted events lost: {missing:?}",
        missing.len(),
        accepted.len()
    );
    let store = hookarr::storage::connect(&url).await.unwrap();
    assert!(
        store.outbox(10_000).await.unwrap().is_empty(),
        "every event was routed"
    );
}

/// Runs all futures concurrently and returns their outputs in order.
async fn futures_join<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

both_backends!(multi_thread: nothing_accepted_is_lost_on_sigkill);

/// Grouping survives a crash: three episodes of one season arrive within a Discord destination's group
/// window, hookarr is SIGKILLed while the window is open, and after it comes back the group goes out once,
/// complete — one message listing the three episodes, and nothing more.
async fn a_group_window_open_at_sigkill_is_sent_once_complete_after_restart(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (url, _db_dir) = fresh_storage(backend).await;
    let rx = crate::receiver::Receiver::start().await;
    rx.set_default(crate::receiver::Reply::status(200).body(r#"{"id": "1"}"#));
    let extra = format!(
        "destinations:\n  - name: chat\n    type: discord\n    url: {}\n    group_window: 3s\n",
        rx.url("/api/webhooks/1/t")
    );
    let config = write_config_with(dir.path(), &url, Some(ADMIN_KEY), &extra);
    let mut running = start(&config, dir.path());
    let token = token_of(&running.banner, "sonarr");
    let client = reqwest::Client::new();
    for episode in [1, 2, 3] {
        let mut body: serde_json::Value =
            serde_json::from_slice(&fixture("sonarr", "download")).unwrap();
        body["episodes"][0]["seasonNumber"] = 2.into();
        body["episodes"][0]["episodeNumber"] = episode.into();
        let resp = client
            .post(format!("{}/hooks/sonarr?token={token}", running.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 202);
    }
    running.child.kill().unwrap(); // SIGKILL, the window still open.
    running.child.wait().unwrap();
    assert!(
        rx.got().is_empty(),
        "nothing went out before the window closed"
    );

    let mut again = start(&config, dir.path());
    let got = rx.wait_for(1).await;
    // Past the window again: nothing more comes.
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    let got_after = rx.got();
    again.child.kill().unwrap();
    again.child.wait().unwrap();
    assert_eq!(
        got_after.len(),
        1,
        "one message: {:?}",
        got_after.iter().map(|g| g.json()).collect::<Vec<_>>()
    );
    let description = got[0].json()["embeds"][0]["description"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(description.contains("3 episodes imported"), "{description}");
    for episode in ["S02E01", "S02E02", "S02E03"] {
        assert!(got[0].json().to_string().contains(episode), "{episode}");
    }
}

both_backends!(multi_thread: a_group_window_open_at_sigkill_is_sent_once_complete_after_restart);

/// A clean stop leaves no write-ahead log beside the SQLite file: what 60 events wrote is folded into it.
#[tokio::test]
async fn a_clean_stop_leaves_no_write_ahead_log() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "sqlite://data/hookarr.db", Some(ADMIN_KEY));
    let mut running = start(&config, dir.path());
    let token = token_of(&running.banner, "radarr");
    let client = reqwest::Client::new();
    for copy in 0..60 {
        assert_eq!(running.post_grab(&client, &token, copy).await.status(), 202);
    }
    let wal = dir.path().join("data/hookarr.db-wal");
    let size = |p: &std::path::Path| std::fs::metadata(p).map_or(0, |m| m.len());
    assert!(size(&wal) > 0, "the events are in the log while it runs");
    let status = Command::new("kill")
        .args(["-TERM", &running.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(running.child.wait().unwrap().code(), Some(0));
    assert_eq!(size(&wal), 0, "the log is folded into the file and emptied");
    let db = std::fs::read(dir.path().join("data/hookarr.db")).unwrap();
    assert!(db.len() > 4096, "the events are in the file");
}

#[test]
fn sigterm_stops_gracefully_with_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "sqlite://data/hookarr.db", Some(ADMIN_KEY));
    let mut running = start(&config, dir.path());
    let status = Command::new("kill")
        .args(["-TERM", &running.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = running.child.wait().unwrap();
    assert_eq!(exit.code(), Some(0), "SIGTERM is a clean stop");
}

#[test]
fn keys_users_and_migrate_commands_work_on_the_same_database() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "sqlite://data/hookarr.db", None);
    let run = |args: &[&str]| {
        let out = Command::new(BIN)
            .args(args)
            .arg("--config")
            .arg(&config)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(run(&["migrate"]).contains("migrations applied"));
    let key = run(&["keys", "create", "--user", "sarah"]);
    assert!(
        key.trim().starts_with("hk_") && key.trim().len() > 40,
        "{key}"
    );
    let admin_key = run(&["keys", "create", "--user", "ops", "--admin"]);
    assert_ne!(key, admin_key);
    let users = run(&["users", "list"]);
    assert!(
        users.lines().any(|l| l.starts_with("sarah\tuser\t")),
        "{users}"
    );
    assert!(
        users.lines().any(|l| l.starts_with("ops\tadmin\t")),
        "{users}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn render_send_test_and_check_config_know_the_destinations_and_templates() {
    let dir = tempfile::tempdir().unwrap();
    let rx = crate::receiver::Receiver::start().await;
    let extra = format!(
        "destinations:\n  - name: chat\n    type: discord\n    url: {}\n  - name: mine\n    type: webhook\n    url: {}\n    template: webhook/mine\n",
        rx.url("/api/webhooks/42/secret-token"),
        rx.url("/mine")
    );
    let db = format!("sqlite://{}/data/hookarr.db", dir.path().display());
    let config = write_config_with(dir.path(), &db, Some(ADMIN_KEY), &extra);
    // The destination's own template is missing: check-config names it and exits 2.
    let out = hookarr_cmd(&["check-config"], &config);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("destinations[1].template"),
        "{out:?}"
    );
    // A broken template is reported with its file and line.
    std::fs::create_dir_all(dir.path().join("templates/webhook")).unwrap();
    std::fs::write(
        dir.path().join("templates/webhook/mine.hbs"),
        "{\n\"a\": {{#if x}}\n",
    )
    .unwrap();
    let out = hookarr_cmd(&["check-config"], &config);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("templates/webhook/mine.hbs:"), "{err}");
    std::fs::write(
        dir.path().join("templates/webhook/mine.hbs"),
        "{\"title\": \"{{data.media.title}}\"}",
    )
    .unwrap();
    let out = hookarr_cmd(&["check-config"], &config);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    // render: the exact request, URL redacted, nothing sent.
    let payload = crate::helpers::fixture_path("radarr", "download");
    let payload = payload.to_str().unwrap();
    let out = hookarr_cmd(
        &[
            "render",
            "--destination",
            "chat",
            "--source",
            "radarr",
            "--payload",
            payload,
        ],
        &config,
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with(&format!("POST {}/…", rx.base)), "{text}");
    assert!(
        !text.contains("secret-token"),
        "the URL's token is not printed"
    );
    assert!(
        text.contains("\"embeds\"") && text.contains("Dune"),
        "{text}"
    );
    let out = hookarr_cmd(
        &[
            "render",
            "--destination",
            "mine",
            "--source",
            "radarr",
            "--payload",
            payload,
        ],
        &config,
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("\"title\": \"Dune"),
        "{out:?}"
    );
    assert!(rx.got().is_empty(), "render sends nothing");
    // send-test: one request, the answer printed, exit 0 on 2xx and 1 otherwise.
    let out = hookarr_cmd(&["send-test", "--destination", "chat"], &config);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("HTTP 204"),
        "{out:?}"
    );
    assert_eq!(rx.got().len(), 1);
    assert_eq!(
        rx.got()[0].json()["embeds"][0]["color"],
        hookarr::outbound::templates::event_color("test")
    );
    rx.set_default(crate::receiver::Reply::status(404).body(r#"{"code": 10015}"#));
    let out = hookarr_cmd(&["send-test", "--destination", "chat"], &config);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("HTTP 404"),
        "{out:?}"
    );
    // The host warning (127.0.0.1 is not Discord's) is check-config's and serve's to say, once.
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("not a Discord host"),
        "{out:?}"
    );
    // Nothing listening: the answer names the host and port and what to check.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let refused = write_config_with(
        dir.path(),
        &db,
        Some(ADMIN_KEY),
        &format!(
            "destinations:\n  - {{name: gone, type: webhook, url: \"http://127.0.0.1:{port}/x\", signing: none}}\n"
        ),
    );
    let out = hookarr_cmd(&["send-test", "--destination", "gone"], &refused);
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains(&format!(
            "gone: not delivered: connection refused by 127.0.0.1:{port}"
        )) && said.contains("check the URL's host and port"),
        "{out:?}"
    );
}

/// At `debug`, through deliveries, retries, a disable and a dead letter, the log never shows a source token,
/// a destination secret, or the secret part of a Discord, Slack or Home Assistant URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_the_log() {
    use crate::receiver::Reply;
    let dir = tempfile::tempdir().unwrap();
    let rx = crate::receiver::Receiver::start().await;
    rx.script([
        Reply::status(500),
        Reply::status(429).header("retry-after", "0"),
    ]);
    let retry = "retry: {max_attempts: 3, schedule: [0s]}";
    let extra = format!(
        "destinations:\n\
         \x20 - {{name: chat, type: discord, url: \"{}\", {retry}}}\n\
         \x20 - {{name: team, type: slack, url: \"{}\", {retry}}}\n\
         \x20 - {{name: ha, type: home_assistant, url: \"{}\", token: ha-token-SECRET, {retry}}}\n\
         \x20 - {{name: gone, type: webhook, url: \"{}\", secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw, {retry}}}\n",
        rx.url("/api/webhooks/42/discord-token-SECRET"),
        rx.url("/services/T1/B1/slack-SECRET"),
        rx.url("/api/events/ha-SECRET"),
        rx.url("/gone?key=query-SECRET"),
    );
    let db = format!("sqlite://{}/data/hookarr.db", dir.path().display());
    let config = write_config_with(dir.path(), &db, Some(ADMIN_KEY), &extra);
    let log_path = dir.path().join("hookarr.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut running = start_logging(&config, dir.path(), "debug", Stdio::from(log));
    let token = token_of(&running.banner, "radarr");
    let client = reqwest::Client::new();
    let post = |name: &'static str| {
        let req = client
            .post(format!("{}/hooks/radarr?token={token}", running.base))
            .header("content-type", "application/json")
            .body(fixture("radarr", name));
        async move { assert_eq!(req.send().await.unwrap().status(), 202) }
    };
    // Until every delivery of `n` events to the four destinations has ended.
    let settled = |n: usize| {
        let url = format!("{}/api/deliveries?limit=500", running.base);
        let client = client.clone();
        async move {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            loop {
                let page = admin_json(&client, &url).await;
                // The app's events only: alerts about the disabled destinations wait for them to come back.
                let items: Vec<&serde_json::Value> = page["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|d| !d["event"].as_str().unwrap().starts_with("hookarr."))
                    .collect();
                if items.len() >= n * 4 && items.iter().all(|d| d["status"] != "pending") {
                    return;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "deliveries did not settle: {page}"
                );
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
    };
    // Deliveries, a retry and a rate limit; then a 410 that disables every destination.
    for name in ["grab", "download", "health"] {
        post(name).await;
    }
    settled(3).await;
    rx.set_default(Reply::status(410));
    post("rename").await;
    settled(4).await;
    running.child.kill().unwrap();
    running.child.wait().unwrap();
    let text = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        text.contains("Destination disabled"),
        "the log has the delivery story at debug: {text}"
    );
    assert!(text.contains(" delivered in "), "{text}");
    for secret in ["SECRET", token.as_str(), "whsec_", ADMIN_KEY] {
        assert!(!text.contains(secret), "`{secret}` appears in the log");
    }
}

/// Waits (up to 30 s) for a child to exit; a child still running then is killed and the test fails.
fn exit_within_30s(mut child: Child) -> std::process::Output {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the command did not exit: {:?}", child.wait_with_output());
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// A second `serve` on the SQLite file a first one serves refuses at once with a message naming the file;
/// once the first has stopped, a new one starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_serve_on_the_same_sqlite_file_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/data/hookarr.db", dir.path().display());
    let config = write_config(dir.path(), &db, Some(ADMIN_KEY));
    let first = start(&config, dir.path());
    let second = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&config)
        .current_dir(dir.path())
        .env_remove("HOOKARR_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = exit_within_30s(second);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{out:?}");
    assert!(
        stderr.contains("another `hookarr serve` is already running on")
            && stderr.contains("data/hookarr.db"),
        "{stderr}"
    );
    drop(first);
    let again = start(&config, dir.path());
    assert!(again.base.starts_with("http://127.0.0.1:"));
}

/// `hookarr send-test` beside a live `serve` on the same SQLite file sends its test and nothing else: the
/// deliveries the server has in flight are not made due again (so they go out once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_test_beside_a_live_serve_sends_nothing_twice() {
    use crate::receiver::{Receiver, Reply};
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::start().await;
    rx.set_default(Reply::status(204).delay(std::time::Duration::from_secs(3)));
    let extra = format!(
        "destinations:\n\
         \x20 - {{name: slow, type: webhook, url: \"{}\", signing: none, sources: [radarr]}}\n\
         \x20 - {{name: probe, type: webhook, url: \"{}\", signing: none, sources: [sonarr]}}\n",
        rx.url("/slow"),
        rx.url("/probe"),
    );
    let db = format!("sqlite://{}/data/hookarr.db", dir.path().display());
    let config = write_config_with(dir.path(), &db, Some(ADMIN_KEY), &extra);
    let running = start(&config, dir.path());
    let token = token_of(&running.banner, "radarr");
    let client = reqwest::Client::new();
    for copy in 0..5 {
        let resp = running.post_grab(&client, &token, copy).await;
        assert_eq!(resp.status(), 202);
    }
    // All five are in flight (the receiver holds each for 3 s).
    rx.wait_for(5).await;
    rx.script([Reply::status(204)]);
    let config_path = config.clone();
    let out = tokio::task::spawn_blocking(move || {
        hookarr_cmd(&["send-test", "--destination", "probe"], &config_path)
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    // Wait for the five to be recorded as delivered, then count what the receiver got.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let page = admin_json(
            &client,
            &format!("{}/api/deliveries?status=succeeded&limit=50", running.base),
        )
        .await;
        if page["items"].as_array().unwrap().len() == 5 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{page}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let paths: Vec<String> = rx.got().into_iter().map(|g| g.path).collect();
    assert_eq!(
        paths.iter().filter(|p| *p == "/slow").count(),
        5,
        "each delivery went out once: {paths:?}"
    );
    assert_eq!(paths.iter().filter(|p| *p == "/probe").count(), 1);
}

/// `check-config --long-form` prints the long form of the destinations written as a short form, secrets as
/// `***` unless `--show-secrets`.
#[test]
fn check_config_prints_the_long_form_of_short_forms() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hookarr.yaml");
    std::fs::write(
        &config,
        "destinations:\n  - name: phone\n    url: tgram://123456789:AAsecret/-1001234567890:42\n  - name: family\n    url: ntfys://tk_hidden@ntfy.example.org/media?priority=high\n",
    )
    .unwrap();
    let out = hookarr_cmd(&["check-config", "--long-form"], &config);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "  - name: phone",
        "    type: telegram",
        "    chat_id: '-1001234567890'",
        "    thread_id: 42",
        "    token: '***'",
        "  - name: family",
        "    type: ntfy",
        "    server: https://ntfy.example.org",
        "    topic: media",
        "    priority: high",
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "no `{line}` in:\n{stdout}"
        );
    }
    assert!(
        !stdout.contains("AAsecret") && !stdout.contains("tk_hidden"),
        "{stdout}"
    );
    let shown = hookarr_cmd(&["check-config", "--long-form", "--show-secrets"], &config);
    let stdout = String::from_utf8_lossy(&shown.stdout);
    assert!(stdout.contains("token: 123456789:AAsecret"), "{stdout}");
    assert!(stdout.contains("token: tk_hidden"), "{stdout}");
}
