//! The real `hookarr` binary as the fault suite drives it: a config, a start (optionally through a launcher),
//! distinct Radarr grabs posted to it, and what its API and a receiver say afterwards.

use crate::receiver::Receiver;
use serde_json::Value;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub const ADMIN_KEY: &str = "hk_faults_admin_key_0123456789";

/// The binary under test: this build's, or `HOOKARR_BENCH_BINARY` (another build, for a before/after).
fn binary() -> String {
    std::env::var("HOOKARR_BENCH_BINARY")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_hookarr").to_owned())
}

/// A config on `storage` with one webhook destination `sink` (its YAML lines given after `url`).
pub fn config(dir: &Path, storage: &str, url: &str, dest_extra: &str) -> PathBuf {
    let text = format!(
        "server:\n  listen: 127.0.0.1:0\nstorage:\n  url: {storage}\nadmin:\n  api_key: {ADMIN_KEY}\n\
         destinations:\n  - name: sink\n    type: webhook\n    url: {url}\n    signing: none\n{dest_extra}"
    );
    let path = dir.join("hookarr.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A running hookarr; killed when dropped.
pub struct Hookarr {
    pub child: Child,
    pub base: String,
    pub token: String,
    client: reqwest::Client,
}

impl Drop for Hookarr {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Hookarr {
    /// Starts `serve`; `launcher` (a command that ends by exec-ing its arguments) goes first when given.
    /// The Radarr token comes from `hookarr sources --show-tokens` (a restart masks it in the banner).
    pub fn start(config: &Path, launcher: Option<Command>) -> Hookarr {
        let bin = binary();
        let mut command = launcher.unwrap_or_else(|| Command::new(&bin));
        if command.get_program() != bin.as_str() {
            command.arg(&bin);
        }
        let (child, _, base) =
            crate::serve::spawn_serve(command, config, "error", Stdio::inherit());
        Hookarr {
            child,
            base,
            token: radarr_token(config),
            client: reqwest::Client::new(),
        }
    }

    /// Posts a distinct Radarr grab; the status and, on 2xx, the event id.
    pub async fn post(&self, copy: u64) -> Result<(u16, Option<String>), reqwest::Error> {
        post_grab(&self.client, &self.base, &self.token, copy).await
    }

    /// Status of `GET path` (no credentials).
    pub async fn status_of(&self, path: &str) -> u16 {
        self.get(path)
            .await
            .map_or(0, |resp| resp.status().as_u16())
    }

    /// The `/metrics` text (open on loopback).
    pub async fn metrics(&self) -> String {
        match self.get("/metrics").await {
            Some(resp) => resp.text().await.unwrap_or_default(),
            None => String::new(),
        }
    }

    /// `GET path` without credentials; `None` when no answer came.
    async fn get(&self, path: &str) -> Option<reqwest::Response> {
        self.client
            .get(format!("{}{path}", self.base))
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .ok()
    }

    async fn api(&self, path: &str) -> Value {
        let url = format!("{}{path}", self.base);
        crate::serve::get_json(&self.client, &url, ADMIN_KEY).await
    }

    /// Events stored but not routed yet, from `/metrics` (`hookarr_queue_depth{state="unrouted"}`); `None`
    /// when it cannot be read.
    async fn unrouted(&self) -> Option<u64> {
        let text = self
            .client
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        text.lines()
            .find(|l| l.starts_with("hookarr_queue_depth{state=\"unrouted\"}"))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
            .map(|v| v as u64)
    }

    /// Every stored event id.
    pub async fn stored(&self) -> HashSet<String> {
        let mut ids = HashSet::new();
        let mut cursor = String::new();
        loop {
            let page = self.api(&format!("/api/events?limit=500{cursor}")).await;
            let items = page["items"].as_array();
            for e in items.unwrap_or_else(|| panic!("GET /api/events: {page}")) {
                ids.insert(e["id"].as_str().unwrap().to_owned());
            }
            match page["next_cursor"].as_str() {
                Some(next) => cursor = format!("&cursor={next}"),
                None => return ids,
            }
        }
    }

    /// Waits (up to `limit`) until no delivery is pending.
    pub async fn settled(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            let page = self.api("/api/deliveries?status=pending&limit=1").await;
            // An event still in the outbox (its routing failed, say while the disk was full) has no
            // delivery yet: not settled either.
            let unrouted = self.unrouted().await;
            if page["items"].as_array().is_some_and(Vec::is_empty) && unrouted == Some(0) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        false
    }
}

fn radarr_token(config: &Path) -> String {
    let out = Command::new(binary())
        .args(["sources", "--show-tokens", "--config"])
        .arg(config)
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .find_map(|l| l.split_once("/hooks/radarr?token="))
        .map(|(_, t)| t.split_whitespace().next().unwrap().to_owned())
        .expect("hookarr sources prints the Radarr Connect URL")
}

const GRAB: &[u8] = include_bytes!("../../tests/fixtures/inbound/radarr/grab.json");

/// Posts copy `copy` of the Radarr grab (a distinct body) to the hookarr at `base`; the status and, on 2xx,
/// the event id.
pub async fn post_grab(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    copy: u64,
) -> Result<(u16, Option<String>), reqwest::Error> {
    let mut body: Value = serde_json::from_slice(GRAB).unwrap();
    body["hookarrCopy"] = copy.into();
    let resp = client
        .post(format!("{base}/hooks/radarr?token={token}"))
        .json(&body)
        .timeout(Duration::from_secs(30))
        .send()
        .await?;
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap_or_default();
    Ok((status, body["events"][0].as_str().map(str::to_owned)))
}

/// Keeps posting distinct grabs from `workers` tasks until `stop` says so; returns the ids answered 202.
pub async fn post_until(
    hookarr: &Hookarr,
    workers: usize,
    next: &AtomicU64,
    stop: impl Fn(usize) -> bool + Sync,
) -> HashSet<String> {
    let accepted = std::sync::Mutex::new(HashSet::new());
    let worker = async || {
        loop {
            let n = accepted.lock().unwrap().len();
            if stop(n) {
                return;
            }
            let copy = next.fetch_add(1, Ordering::Relaxed);
            match hookarr.post(copy).await {
                Ok((202, Some(id))) => {
                    accepted.lock().unwrap().insert(id);
                }
                // Refused or unanswered (a full disk, a killed process): try again shortly.
                Ok(_) | Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    };
    futures_util::future::join_all((0..workers).map(|_| worker())).await;
    accepted.into_inner().unwrap()
}

/// What one scenario came to.
#[derive(Debug, Default)]
pub struct Figures {
    pub accepted: usize,
    pub stored: usize,
    pub delivered: usize,
    pub duplicates: usize,
    pub lost: usize,
}

impl Figures {
    /// The figures of `accepted` events against what hookarr stored and the receiver was sent (2xx answers).
    pub fn count(accepted: &HashSet<String>, stored: &HashSet<String>, rx: &Receiver) -> Figures {
        let ok: Vec<_> = rx
            .got()
            .into_iter()
            .filter(|g| (200..300).contains(&g.status))
            .collect();
        let delivered: HashSet<String> = ok
            .iter()
            .filter_map(|g| serde_json::from_slice::<Value>(&g.body).ok())
            .filter_map(|v| v["id"].as_str().map(str::to_owned))
            .collect();
        let deliveries: HashSet<&str> = ok.iter().map(|g| g.header("x-hookarr-delivery")).collect();
        Figures {
            accepted: accepted.len(),
            stored: accepted.intersection(stored).count(),
            delivered: accepted.intersection(&delivered).count(),
            duplicates: ok.len() - deliveries.len(),
            lost: accepted.difference(&delivered).count(),
        }
    }
}
