//! Durable-ingest benchmark: posts the Arr fixtures to a real hookarr (release build, SQLite file or
//! PostgreSQL) at concurrency 32 and prints requests/s and p50/p99 latency, then the same load against a bare
//! axum handler that answers 202 without storing, and the ratio of the two.
//!
//! `cargo bench --bench ingest` (SQLite) · `cargo bench --bench ingest -- --postgres` (needs PostgreSQL at
//! `HOOKARR_TEST_PG`, default postgres://postgres@127.0.0.1:5432/postgres) · `HOOKARR_BENCH_SECS=5` shortens it.
//! Every request carries a unique `Idempotency-Key`, so each one is a new stored event (dedupe claim included).
//! `-- --plex` posts the Plex fixtures instead, as Plex does: `multipart/form-data` with a 48 KB `thumb` part
//! on the events that carry one, each request from a player of its own (so every playback event is a new
//! session and goes through the session transaction). `-- --to-webhook` routes every event to one webhook
//! destination (a local sink answering 204), so its deliveries are written and sent while the load runs.

mod common;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use hookarr::app::App;
use hookarr::config::{Config, Secret};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

const CONCURRENCY: usize = 32;

/// Unique across runs, so no request repeats an earlier one's `Idempotency-Key`.
static REQUEST_NUMBER: AtomicU64 = AtomicU64::new(0);

struct Run {
    requests: u64,
    errors: u64,
    elapsed: Duration,
    latencies_us: Vec<u64>,
}

impl Run {
    /// Waits for the workers' `(latencies, errors)` and sums them up.
    async fn collect(
        workers: Vec<tokio::task::JoinHandle<(Vec<u64>, u64)>>,
        start: Instant,
    ) -> Run {
        let mut run = Run {
            requests: 0,
            errors: 0,
            elapsed: Duration::ZERO,
            latencies_us: Vec::new(),
        };
        for w in workers {
            let (lat, errors) = w.await.expect("a load worker panicked");
            run.requests += lat.len() as u64;
            run.errors += errors;
            run.latencies_us.extend(lat);
        }
        run.elapsed = start.elapsed();
        run.latencies_us.sort_unstable();
        run
    }

    fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile_ms(&self, p: f64) -> f64 {
        let i = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        self.latencies_us.get(i).copied().unwrap_or(0) as f64 / 1000.0
    }

    fn print(&self, name: &str) {
        println!(
            "{name:<28} {:>9.0} req/s   p50 {:>6.2} ms   p99 {:>6.2} ms   ({} requests, {} errors)",
            self.rps(),
            self.percentile_ms(0.50),
            self.percentile_ms(0.99),
            self.requests,
            self.errors
        );
    }
}

/// `(url, body)` pairs: every Arr fixture, with the token in the URL.
/// One request to repeat: URL, content type, body.
type Payload = (String, &'static str, Vec<u8>);

const BOUNDARY: &str = "bench-boundary-5f1c";
/// Replaced by the request number in Plex bodies, so each request comes from a player of its own.
const PLAYER: &[u8] = b"BENCHPLAYERXXXXXXXXX";

fn payloads(base: &str, token_of: impl Fn(&str) -> String, plex: bool) -> Vec<Payload> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/inbound");
    let mut out = Vec::new();
    let apps: &[&str] = if plex {
        &["plex"]
    } else {
        &["radarr", "sonarr", "lidarr"]
    };
    for app in apps {
        let mut files: Vec<_> = std::fs::read_dir(dir.join(app))
            .expect("fixtures beside the repo")
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            let url = format!("{base}/hooks/{app}?token={}", token_of(app));
            let json = std::fs::read(&f).unwrap();
            if !plex {
                out.push((url, "application/json", json));
                continue;
            }
            let mut v: serde_json::Value = serde_json::from_slice(&json).unwrap();
            if v.get("Player").is_some() {
                v["Player"]["uuid"] = std::str::from_utf8(PLAYER).unwrap().into();
            }
            let event = v["event"].as_str().unwrap_or_default().to_owned();
            let thumb = [
                "media.play",
                "media.rate",
                "library.new",
                "library.on.deck",
                "playback.started",
            ]
            .contains(&event.as_str());
            let mut body = format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"payload\"\r\nContent-Type: application/json\r\n\r\n"
            )
            .into_bytes();
            body.extend_from_slice(&serde_json::to_vec(&v).unwrap());
            if thumb {
                body.extend_from_slice(format!("\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"thumb\"; filename=\"thumb.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").as_bytes());
                body.extend(std::iter::repeat_n(0xA5u8, 48 * 1024));
            }
            body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
            out.push((
                url,
                "multipart/form-data; boundary=bench-boundary-5f1c",
                body,
            ));
        }
    }
    out
}

/// The body with this request's own player id, when it has the placeholder.
fn personal(body: &[u8], n: u64) -> Vec<u8> {
    match body.windows(PLAYER.len()).position(|w| w == PLAYER) {
        Some(at) => {
            let mut out = body.to_vec();
            out[at..at + PLAYER.len()].copy_from_slice(format!("{n:020}").as_bytes());
            out
        }
        None => body.to_vec(),
    }
}

/// `CONCURRENCY` keep-alive clients posting round-robin for `secs`.
async fn load(payloads: Arc<Vec<Payload>>, secs: u64) -> Run {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY)
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(secs);
    let start = Instant::now();
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|w| {
            let (client, payloads) = (client.clone(), payloads.clone());
            tokio::spawn(async move {
                let (mut lat, mut errors) = (Vec::with_capacity(1 << 16), 0u64);
                let mut i = w;
                while Instant::now() < deadline {
                    let (url, content_type, body) = &payloads[i % payloads.len()];
                    i += 1;
                    let n = REQUEST_NUMBER.fetch_add(1, Ordering::Relaxed);
                    let body = personal(body, n);
                    let t = Instant::now();
                    let resp = client
                        .post(url)
                        .header("content-type", *content_type)
                        .header("user-agent", "Radarr/6.0.3.10276 (ubuntu 24.04)")
                        .header("idempotency-key", format!("bench-{n}"))
                        .body(body)
                        .send()
                        .await;
                    match resp {
                        Ok(r) if r.status() == StatusCode::ACCEPTED => {
                            let _ = r.bytes().await;
                            lat.push(t.elapsed().as_micros() as u64);
                        }
                        Ok(r) => {
                            if errors == 0 {
                                eprintln!(
                                    "unexpected {}: {}",
                                    r.status(),
                                    r.text().await.unwrap_or_default()
                                );
                            }
                            errors += 1;
                        }
                        Err(e) => {
                            if errors == 0 {
                                eprintln!("request failed: {e}");
                            }
                            errors += 1;
                        }
                    }
                }
                (lat, errors)
            })
        })
        .collect();
    Run::collect(workers, start).await
}

/// The store alone, no HTTP: `CONCURRENCY` tasks calling `Store::ingest` with the fixtures' parsed events
/// (each a new id and key), to tell the storage cost from the HTTP cost.
async fn store_only(store: Arc<dyn hookarr::storage::Store>, secs: u64) -> Run {
    use hookarr::inbound::{ParseContext, SourceApp};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/inbound");
    let mut parsed = Vec::new();
    for app in [SourceApp::Radarr, SourceApp::Sonarr, SourceApp::Lidarr] {
        for f in std::fs::read_dir(dir.join(app.as_str())).unwrap() {
            let body = std::fs::read(f.unwrap().path()).unwrap();
            let ctx = ParseContext {
                source: app.as_str(),
                app,
                user_agent: None,
                received_at: chrono::Utc::now(),
            };
            parsed.push((hookarr::inbound::parse(&ctx, &body).unwrap().event, body));
        }
    }
    let parsed = Arc::new(parsed);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let start = Instant::now();
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|w| {
            let (store, parsed) = (store.clone(), parsed.clone());
            tokio::spawn(async move {
                let mut lat = Vec::with_capacity(1 << 16);
                let mut i = w;
                while Instant::now() < deadline {
                    let (event, body) = &parsed[i % parsed.len()];
                    i += 1;
                    let mut event = event.clone();
                    event.id = hookarr::event::EventId::new();
                    event.timestamp = chrono::Utc::now();
                    let n = REQUEST_NUMBER.fetch_add(1, Ordering::Relaxed);
                    let ingest = hookarr::storage::Ingest {
                        event,
                        raw: hookarr::storage::RawRequest {
                            content_type: Some("application/json".into()),
                            headers: vec![(
                                "user-agent".into(),
                                "Radarr/6.0.3.10276 (ubuntu 24.04)".into(),
                            )],
                            body: body.clone(),
                        },
                        dedupe: Some(hookarr::storage::DedupeKey {
                            key: format!("idem:store-{n}"),
                            window_ms: 60_000,
                        }),
                        routed: None,
                    };
                    let t = Instant::now();
                    store.ingest(ingest).await.unwrap();
                    lat.push(t.elapsed().as_micros() as u64);
                }
                (lat, 0)
            })
        })
        .collect();
    Run::collect(workers, start).await
}

/// The reference: axum reading the body and answering 202, storing nothing.
async fn bare_handler(shutdown: CancellationToken) -> String {
    async fn accept(body: axum::body::Bytes) -> (StatusCode, axum::Json<serde_json::Value>) {
        std::hint::black_box(body);
        (
            StatusCode::ACCEPTED,
            axum::Json(serde_json::json!({"accepted": true, "events": [], "duplicate": false})),
        )
    }
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = Router::new()
        .route("/hooks/{source}", post(accept))
        .route("/sink", post(|| async { StatusCode::NO_CONTENT }));
    tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await
            .unwrap();
    });
    base
}

async fn bench() {
    let secs: u64 = std::env::var("HOOKARR_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let postgres = std::env::args().any(|a| a == "--postgres");
    let plex = std::env::args().any(|a| a == "--plex");
    let dir = tempfile::tempdir().unwrap();
    let (storage, pg_db) = if postgres {
        let (url, name) = common::fresh_pg().await;
        (url, Some(name))
    } else {
        (
            format!("sqlite://{}/hookarr.db", dir.path().display()),
            None,
        )
    };
    let to_webhook = std::env::args().any(|a| a == "--to-webhook");
    let shutdown = CancellationToken::new();
    let bare_base = bare_handler(shutdown.clone()).await;
    let mut cfg = if to_webhook {
        let yaml = format!(
            "api:\n  allow_private_targets: true\ndestinations:\n  - name: sink\n    type: webhook\n    \
             url: {bare_base}/sink\n    rate_limit: {{per_second: 1000000, burst: 100000}}\n"
        );
        hookarr::config::load_from_str(&yaml, |_| None, &[])
            .unwrap()
            .0
    } else {
        Config::default()
    };
    cfg.storage.url = Secret(storage);
    cfg.admin.api_key = Some(Secret("hk_bench_admin_key_0123456789".into()));
    let app = App::build(cfg, Some(TcpListener::bind("127.0.0.1:0").await.unwrap()))
        .await
        .unwrap();
    let base = format!("http://{}", app.local_addr());
    let urls = app.bootstrap().connect_urls.clone();
    let token_of = |app: &str| {
        urls.iter()
            .find(|c| c.source == app)
            .and_then(|c| c.full.split_once("?token="))
            .unwrap()
            .1
            .to_owned()
    };
    let hookarr_payloads = Arc::new(payloads(&base, token_of, plex));
    let store = app.store();
    let stop = shutdown.clone();
    let server = tokio::spawn(async move { app.run_until_stopped(stop).await.unwrap() });
    let bare_payloads = Arc::new(payloads(&bare_base, |_| "x".into(), plex));

    println!(
        "hookarr ingest benchmark: {} payloads, concurrency {CONCURRENCY}, {secs} s each, backend {}{}",
        hookarr_payloads.len(),
        store.backend(),
        if to_webhook {
            ", each event routed to one webhook"
        } else {
            ""
        }
    );
    // A short warm-up of both, then the measured runs.
    load(bare_payloads.clone(), 1).await;
    load(hookarr_payloads.clone(), 1).await;
    let bare = load(bare_payloads, secs).await;
    bare.print("bare axum handler (202)");
    let ingest = load(hookarr_payloads, secs).await;
    ingest.print(&format!("hookarr durable ingest ({})", store.backend()));
    println!("ratio ingest / bare: {:.2}", ingest.rps() / bare.rps());
    store_only(store.clone(), secs)
        .await
        .print(&format!("store alone, no HTTP ({})", store.backend()));
    let stored = store
        .list_events(&hookarr::storage::EventQuery {
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        !stored.items.is_empty() && ingest.errors == 0,
        "every request must have been stored"
    );
    shutdown.cancel();
    server.await.unwrap();
    drop(store);
    if postgres {
        let admin = std::env::var("HOOKARR_TEST_PG")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
            .await
            .unwrap();
        let name = pg_db.expect("a PostgreSQL run made a database");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await
        .unwrap();
    }
}

fn main() {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(bench());
}
