//! Delivery benchmark: the real `hookarr` binary (release) on a SQLite file, sending to a local sink that
//! answers 204.
//!
//! 1. the sink's own ceiling (this process posting to it at concurrency 32);
//! 2. backlog drain: N events stored and routed first (20,000, then 200,000), then hookarr starts and drains
//!    them — deliveries/s, and hookarr's peak RSS while draining;
//! 3. end to end: a steady 200 events/s posted to /hooks/radarr, latency from POST to arrival at the sink
//!    (p50/p99), and hookarr's RSS idle and under that load.
//!
//! `cargo bench --bench delivery` · `HOOKARR_BENCH_BACKLOGS=20000` (comma list) · `HOOKARR_BENCH_SECS=10`.
//! `HOOKARR_BENCH_WORKERS=32`: `delivery.workers` of the hookarr under test.
//! `HOOKARR_BENCH_WEBHOOKS=100`: that many webhooks registered (as through the API) beside the config's
//! sink, each taking one hundredth of the backlog's events (by `source.instance`), so every event makes two
//! deliveries, one through a registered webhook; the end-to-end run routes through all of their rules.
//! `cargo bench --bench delivery -- --postgres`: the drains on PostgreSQL (`HOOKARR_TEST_PG`, default the
//! local server), by one process and by two processes sharing the database.
//! `cargo bench --bench delivery -- --discord-burst`: 1,000 distinct movie grabs (`HOOKARR_BENCH_BURST`)
//! posted at once for one Discord destination whose receiver takes 5 requests per 2 s with Discord's headers
//! and answers 429 past it: time to deliver all, 429s drawn, messages taken. `HOOKARR_BENCH_BINARY` runs
//! another build of hookarr (an older one, for a before/after).
//! `cargo bench --bench delivery -- --one-at-a-time`: end to end one event at a time
//! (`HOOKARR_BENCH_ONE_AT_A_TIME=1000` events), beside svix-server when `HOOKARR_BENCH_SVIX` names one
//! (`one_at_a_time.rs`). With `HOOKARR_BENCH_SVIX_WORKER` too (a shell command that starts svix-server's
//! worker alone; the one named runs with its worker off), each drain is followed by svix-server's of the
//! same backlog.

mod backlog;
#[path = "../common/mod.rs"]
mod common;
mod discord_burst;
#[path = "../../tests/support/discord_like.rs"]
mod discord_like;
mod one_at_a_time;
#[path = "../../tests/support/serve.rs"]
#[allow(dead_code)]
mod serve;

use axum::body::Bytes;
use hookarr::inbound::SourceApp;
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The sink: counts requests; in timing mode records each event id's arrival.
#[derive(Default)]
struct Sink {
    count: AtomicU64,
    timing: std::sync::atomic::AtomicBool,
    arrivals: Mutex<HashMap<String, Instant>>,
    /// Told of every arrival recorded in timing mode.
    arrived: tokio::sync::Notify,
}

async fn start_sink(sink: Arc<Sink>) -> String {
    async fn handle(
        axum::extract::State(sink): axum::extract::State<Arc<Sink>>,
        body: Bytes,
    ) -> axum::http::StatusCode {
        let now = Instant::now();
        sink.count.fetch_add(1, Ordering::Relaxed);
        if sink.timing.load(Ordering::Relaxed)
            && let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body)
            && let Some(id) = v["id"].as_str()
        {
            sink.arrivals.lock().unwrap().insert(id.to_owned(), now);
            sink.arrived.notify_waiters();
        }
        axum::http::StatusCode::NO_CONTENT
    }
    let app = axum::Router::new().fallback(handle).with_state(sink);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/sink", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

fn config(dir: &std::path::Path, db: &str, sink: &str) -> std::path::PathBuf {
    config_url(dir, &format!("sqlite://{db}"), sink)
}

fn config_url(dir: &std::path::Path, storage: &str, sink: &str) -> std::path::PathBuf {
    let workers = std::env::var("HOOKARR_BENCH_WORKERS").unwrap_or_else(|_| "32".into());
    let text = format!(
        "server:\n  listen: 127.0.0.1:0\n  dedupe_window_secs: 0\nstorage:\n  url: {storage}\nadmin:\n  api_key: hk_bench_admin_key_0123456789\n\
         api:\n  allow_private_targets: true\n\
         delivery:\n  workers: {workers}\ndestinations:\n  - name: sink\n    type: webhook\n    url: {sink}\n    secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n    rate_limit: {{per_second: 1000000, burst: 100000}}\n"
    );
    let path = dir.join("hookarr.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

struct Running {
    child: Child,
    base: String,
    radarr_token: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(config: &std::path::Path) -> Running {
    let binary = std::env::var("HOOKARR_BENCH_BINARY")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_hookarr").to_owned());
    let (child, banner, base) =
        serve::spawn_serve(Command::new(binary), config, "warn", Stdio::inherit());
    let token = banner
        .iter()
        .find_map(|line| line.split_once("/hooks/radarr?token="))
        .map(|(_, t)| t.split_whitespace().next().unwrap().to_owned())
        .unwrap_or_default();
    Running {
        child,
        base,
        radarr_token: token,
    }
}

fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn fixtures() -> Vec<(SourceApp, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/inbound");
    let mut out = Vec::new();
    for app in [SourceApp::Radarr, SourceApp::Sonarr, SourceApp::Lidarr] {
        for e in std::fs::read_dir(dir.join(app.as_str())).unwrap() {
            out.push((app, std::fs::read(e.unwrap().path()).unwrap()));
        }
    }
    out
}

/// The body every timed POST sends: the first Radarr fixture.
fn radarr_body() -> Vec<u8> {
    fixtures()
        .into_iter()
        .find(|(a, _)| *a == SourceApp::Radarr)
        .unwrap()
        .1
}

async fn sink_ceiling(url: &str, secs: u64) -> f64 {
    let client = reqwest::Client::new();
    let n = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let start = Instant::now();
    let workers: Vec<_> = (0..32)
        .map(|_| {
            let (client, n, url) = (client.clone(), n.clone(), url.to_owned());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    if client.post(&url).body(r#"{"id":"x"}"#).send().await.is_ok() {
                        n.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    n.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

/// How many webhooks to register beside the config's sink (`HOOKARR_BENCH_WEBHOOKS`, default none).
fn webhook_count() -> usize {
    std::env::var("HOOKARR_BENCH_WEBHOOKS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

async fn end_to_end(sink: &Arc<Sink>, sink_url: &str, secs: u64) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e2e.db");
    let cfg = config(dir.path(), &db.display().to_string(), sink_url);
    {
        // Registered webhooks whose rules every event is checked against (none of them wants these).
        let store = hookarr::storage::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        backlog::register_webhooks(store.as_ref(), webhook_count(), sink_url).await;
    }
    let mut running = start(&cfg);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = rss_mb(running.child.id());
    sink.timing.store(true, Ordering::Relaxed);
    let body = radarr_body();
    let url = format!(
        "{}/hooks/radarr?token={}",
        running.base, running.radarr_token
    );
    let client = reqwest::Client::new();
    let sent: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
    let mut tick = tokio::time::interval(Duration::from_millis(5));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut peak = 0.0f64;
    let mut i = 0u64;
    while Instant::now() < deadline {
        tick.tick().await;
        i += 1;
        if i.is_multiple_of(20) {
            peak = peak.max(rss_mb(running.child.id()));
        }
        let (client, url, body, sent) = (client.clone(), url.clone(), body.clone(), sent.clone());
        tokio::spawn(async move {
            let t = Instant::now();
            let resp = client
                .post(&url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await;
            if let Ok(r) = resp
                && let Ok(v) = r.json::<serde_json::Value>().await
                && let Some(id) = v["events"][0].as_str()
            {
                sent.lock().unwrap().push((id.to_owned(), t));
            }
        });
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let arrivals = sink.arrivals.lock().unwrap().clone();
    let mut lat: Vec<f64> = sent
        .lock()
        .unwrap()
        .iter()
        .filter_map(|(id, t)| {
            arrivals
                .get(id)
                .map(|a| a.duration_since(*t).as_secs_f64() * 1000.0)
        })
        .collect();
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    println!(
        "end to end at 200 events/s      p50 {:.2} ms   p99 {:.2} ms   ({} of {} posted events arrived)",
        pct(0.5),
        pct(0.99),
        lat.len(),
        sent.lock().unwrap().len()
    );
    println!("hookarr RSS                     idle {idle:.1} MB   under 200 events/s {peak:.1} MB");
    running.child.kill().unwrap();
    running.child.wait().unwrap();
}

/// One event at a time, POST to sink, on a fresh SQLite file; svix-server beside it when named (see
/// `one_at_a_time.rs`), in alternating rounds.
async fn one_at_a_time(sink: &Arc<Sink>, sink_url: &str) {
    let n: usize = std::env::var("HOOKARR_BENCH_ONE_AT_A_TIME")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("one.db");
    let cfg = config(dir.path(), &db.display().to_string(), sink_url);
    let running = start(&cfg);
    tokio::time::sleep(Duration::from_secs(2)).await;
    sink.timing.store(true, Ordering::Relaxed);
    let body = radarr_body();
    let client = reqwest::Client::new();
    let hookarr = one_at_a_time::Poster::Hookarr {
        url: format!(
            "{}/hooks/radarr?token={}",
            running.base, running.radarr_token
        ),
        body: body.clone(),
    };
    let svix = match std::env::var("HOOKARR_BENCH_SVIX") {
        Ok(spec) => Some(one_at_a_time::Poster::svix(&client, &spec, sink_url, &body).await),
        Err(_) => None,
    };
    let (mut ours, mut theirs) = (
        one_at_a_time::Timings::default(),
        one_at_a_time::Timings::default(),
    );
    // Warm both (connections, caches), then rounds of each in turn.
    one_at_a_time::run(sink, &client, &hookarr, 20, &mut Default::default()).await;
    if let Some(svix) = &svix {
        one_at_a_time::run(sink, &client, svix, 20, &mut Default::default()).await;
    }
    let rounds = 5;
    for _ in 0..rounds {
        one_at_a_time::run(sink, &client, &hookarr, n / rounds, &mut ours).await;
        if let Some(svix) = &svix {
            one_at_a_time::run(sink, &client, svix, n / rounds, &mut theirs).await;
        }
    }
    ours.print("hookarr");
    if svix.is_some() {
        theirs.print("svix");
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let secs: u64 = std::env::var("HOOKARR_BENCH_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(10);
        let backlogs: Vec<usize> = std::env::var("HOOKARR_BENCH_BACKLOGS")
            .unwrap_or_else(|_| "20000,200000".into())
            .split(',')
            .filter_map(|s| s.trim().parse().ok())
            .collect();
        if std::env::args().any(|a| a == "--discord-burst") {
            let n = std::env::var("HOOKARR_BENCH_BURST")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(1000);
            discord_burst::run(n).await;
            return;
        }
        let sink = Arc::new(Sink::default());
        let sink_url = start_sink(sink.clone()).await;
        if std::env::args().any(|a| a == "--one-at-a-time") {
            one_at_a_time(&sink, &sink_url).await;
            return;
        }
        println!(
            "sink ceiling (this process → sink, 32 concurrent)  {:.0} req/s",
            sink_ceiling(&sink_url, 5).await
        );
        if std::env::args().any(|a| a == "--postgres") {
            for n in backlogs {
                for processes in [1, 2] {
                    let (rate, peak) = backlog::drain(n, &sink, &sink_url, true, processes).await;
                    println!(
                        "PostgreSQL: drain {n:>7} events with {processes} process(es)  {rate:>8.0} deliveries/s   peak RSS {peak:.1} MB"
                    );
                }
            }
            return;
        }
        let svix = std::env::var("HOOKARR_BENCH_SVIX").ok();
        let svix_worker = std::env::var("HOOKARR_BENCH_SVIX_WORKER").ok();
        for n in backlogs {
            let (rate, peak) = backlog::drain(n, &sink, &sink_url, false, 1).await;
            println!(
                "drain a backlog of {n:>7} events  {rate:>8.0} deliveries/s   peak RSS {peak:.1} MB   ({} registered webhooks)",
                webhook_count()
            );
            if let (Some(svix), Some(worker)) = (&svix, &svix_worker) {
                let rate =
                    one_at_a_time::svix_drain(&sink, svix, &sink_url, &radarr_body(), n, worker).await;
                println!("svix-server: drain {n:>7} events  {rate:>8.0} deliveries/s");
            }
        }
        end_to_end(&sink, &sink_url, secs).await;
        one_at_a_time(&sink, &sink_url).await;
    });
}
