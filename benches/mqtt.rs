//! MQTT benchmark, against a real Mosquitto started on a free loopback port:
//!
//! 1. publishing: hookarr's broker link publishing N messages (default 20,000; QoS 1, 64 outstanding), each
//!    acknowledged — messages/s;
//! 2. a running `hookarr serve` (the release binary, SQLite) with 50 sources and 500 players announced to
//!    Home Assistant — its peak and current memory (RSS) and the discovery configs retained;
//! 3. a playback webhook's way to Home Assistant: the time from posting a Jellyfin `PlaybackStart` to the
//!    player's state on the broker, over 300 plays 200 ms apart — p50 / p99.
//!
//! `cargo bench --bench mqtt` · `HOOKARR_BENCH_MESSAGES=20000`.

use futures_util::StreamExt as _;
use hookarr::mqtt::{Link, Message};
use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const SOURCES_PER_APP: usize = 10;
const APPS: [&str; 5] = ["radarr", "sonarr", "overseerr", "lidarr", "jellyfin"];
const PLAYERS: usize = 500;
const PLAYS: usize = 300;
const TOKEN: &str = "bench-source-token";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn fixture(app: &str, name: &str) -> serde_json::Value {
    let path = format!(
        "{}/tests/fixtures/inbound/{app}/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `HOOKARR_BENCH_BROKER_NODELAY=1`: the broker sends without Nagle's algorithm (Mosquitto's
/// `set_tcp_nodelay true`; its default is false).
fn mosquitto(dir: &std::path::Path) -> (Killed, u16) {
    let port = free_port();
    let nodelay = match std::env::var_os("HOOKARR_BENCH_BROKER_NODELAY") {
        Some(_) => "set_tcp_nodelay true\n",
        None => "",
    };
    let conf = dir.join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!("listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nuser root\nmax_queued_messages 100000\n{nodelay}"),
    )
    .unwrap();
    let broker = Killed(
        Command::new("/usr/sbin/mosquitto")
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Debian's mosquitto (apt-get install mosquitto)"),
    );
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return (broker, port);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("mosquitto did not start");
}

/// A subscriber to `#`: each message's topic, payload and when it arrived.
type Heard = Arc<Mutex<Vec<(String, Vec<u8>, Instant)>>>;

async fn subscribe(port: u16) -> Heard {
    let mut o = rumqttc::MqttOptions::new("bench-watcher", "127.0.0.1", port);
    o.set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut events) = rumqttc::AsyncClient::new(o, 1000);
    let heard: Heard = Arc::default();
    let keep = heard.clone();
    let (ready, subscribed) = tokio::sync::oneshot::channel();
    let mut ready = Some(ready);
    tokio::spawn(async move {
        while let Ok(event) = events.poll().await {
            match event {
                rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_)) => {
                    client.try_subscribe("#", rumqttc::QoS::AtMostOnce).unwrap();
                }
                rumqttc::Event::Incoming(rumqttc::Packet::SubAck(_)) => {
                    if let Some(r) = ready.take() {
                        let _ = r.send(());
                    }
                }
                rumqttc::Event::Incoming(rumqttc::Packet::Publish(p)) => {
                    keep.lock()
                        .unwrap()
                        .push((p.topic, p.payload.to_vec(), Instant::now()));
                }
                _ => {}
            }
        }
    });
    subscribed.await.unwrap();
    heard
}

async fn publishing(port: u16, n: usize) {
    let settings: hookarr::config::Mqtt = serde_norway::from_str(&format!(
        "url: mqtt://127.0.0.1:{port}\nclient_id: bench-publisher\nbase_topic: bench"
    ))
    .unwrap();
    let stop = CancellationToken::new();
    let link = Link::start(settings, stop.clone());
    let mut state = link.watch();
    while !state.borrow_and_update().connected {
        state.changed().await.unwrap();
    }
    let payload = serde_json::json!({"event": "library.new", "summary": "Dune: Part Two (2024) imported — Bluray-2160p"}).to_string();
    let started = Instant::now();
    let done: Vec<_> = futures_util::stream::iter(0..n)
        .map(|i| {
            let m = Message::new(
                format!("bench/events/radarr/{}", i % 10),
                payload.clone(),
                false,
            );
            let link = link.clone();
            async move { link.publish(m, Duration::from_secs(30)).await }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    let secs = started.elapsed().as_secs_f64();
    assert!(done.iter().all(Result::is_ok), "every publish acknowledged");
    println!(
        "publish: {n} messages acknowledged in {secs:.2} s = {:.0} messages/s (QoS 1, 64 outstanding, {} B each)",
        n as f64 / secs,
        payload.len()
    );
    stop.cancel();
}

fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

async fn post(client: &reqwest::Client, base: &str, source: &str, body: &serde_json::Value) {
    let r = client
        .post(format!("{base}/hooks/{source}?token={TOKEN}"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{source}: {}", r.status());
}

/// A Jellyfin start of play `play` on player `player`.
fn start_of(base: &serde_json::Value, player: usize, play: usize) -> serde_json::Value {
    let mut b = base.clone();
    b["DeviceName"] = format!("Player {player}").into();
    b["DeviceId"] = format!("device-{player}").into();
    b["Id"] = format!("session-{player}-{play}").into();
    b["ItemId"] = format!("item-{play}").into();
    b["Name"] = format!("Film {play}").into();
    b["NotificationUsername"] = format!("user{}", player % 25).into();
    b
}

async fn wait_for(heard: &Heard, what: &str, done: impl Fn(&[(String, Vec<u8>, Instant)]) -> bool) {
    for _ in 0..1200 {
        if done(&heard.lock().unwrap()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never saw {what}");
}

async fn announced_hub(port: u16, dir: &std::path::Path) {
    let listen = free_port();
    let mut sources = String::new();
    for app in APPS {
        for i in 0..SOURCES_PER_APP {
            sources += &format!("  - {{name: {app}-{i}, app: {app}, token: {TOKEN}}}\n");
        }
    }
    let config = dir.join("hookarr.yaml");
    std::fs::write(
        &config,
        format!(
            "server: {{listen: '127.0.0.1:{listen}', max_requests_in_flight: 1024}}\nstorage: {{url: 'sqlite://{}/hookarr.db'}}\nadmin: {{api_key: bench-admin-key-0123456789}}\nsources:\n{sources}mqtt: {{url: 'mqtt://127.0.0.1:{port}', players: ['*']}}\n",
            dir.display()
        ),
    )
    .unwrap();
    let heard = subscribe(port).await;
    let child = Command::new(env!("CARGO_BIN_EXE_hookarr"))
        .arg("--config")
        .arg(&config)
        .arg("serve")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let _serve = Killed(child);
    let base = format!("http://127.0.0.1:{listen}");
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client.get(format!("{base}/readyz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let payloads = [
        ("radarr", fixture("radarr", "download")),
        ("sonarr", fixture("sonarr", "download")),
        ("overseerr", fixture("overseerr", "media-pending")),
        ("lidarr", fixture("lidarr", "download")),
        ("jellyfin", fixture("jellyfin", "ItemAdded")),
    ];
    for (app, body) in &payloads {
        for i in 0..SOURCES_PER_APP {
            post(&client, &base, &format!("{app}-{i}"), body).await;
        }
    }
    let play = fixture("jellyfin", "PlaybackStart");
    for player in 0..PLAYERS {
        let source = format!("jellyfin-{}", player % SOURCES_PER_APP);
        post(&client, &base, &source, &start_of(&play, player, player)).await;
    }
    wait_for(&heard, "every player's state", |h| {
        let players: HashSet<&str> = h
            .iter()
            .filter(|(t, _, _)| t.starts_with("hookarr/player/"))
            .map(|(t, _, _)| t.as_str())
            .collect();
        players.len() >= PLAYERS
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let configs: HashSet<String> = heard
        .lock()
        .unwrap()
        .iter()
        .filter(|(t, p, _)| t.ends_with("/config") && !p.is_empty())
        .map(|(t, _, _)| t.clone())
        .collect();
    let (rss, peak) = rss_kib(pid);
    println!(
        "announced: {} sources and {PLAYERS} players, {} discovery configs; hookarr RSS {:.1} MiB now, peak {:.1} MiB",
        APPS.len() * SOURCES_PER_APP,
        configs.len(),
        rss as f64 / 1024.0,
        peak as f64 / 1024.0
    );

    // Playback to the sensor: one play at a time on player 0, each a new item, 200 ms apart (real plays are
    // seconds apart; back to back, each would wait behind the last one's tail in the broker's Nagle buffer).
    let mut waits = Vec::with_capacity(PLAYS);
    for n in 0..PLAYS {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let body = start_of(&play, 0, PLAYERS + n);
        let title = format!("\"title\":\"Film {}\"", PLAYERS + n);
        let sent = Instant::now();
        post(&client, &base, "jellyfin-0", &body).await;
        let arrived = loop {
            let found = heard.lock().unwrap().iter().rev().find_map(|(t, p, at)| {
                (t == "hookarr/player/jellyfin-0_player_0/state"
                    && String::from_utf8_lossy(p).contains(&title))
                .then_some(*at)
            });
            if let Some(at) = found {
                break at;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
            assert!(
                sent.elapsed() < Duration::from_secs(60),
                "play {n} never reached the broker"
            );
        };
        waits.push(arrived.duration_since(sent));
    }
    waits.sort();
    let at = |q: f64| waits[((waits.len() as f64 * q) as usize).min(waits.len() - 1)];
    println!(
        "playback → sensor: {PLAYS} plays 200 ms apart, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        at(0.50).as_secs_f64() * 1000.0,
        at(0.99).as_secs_f64() * 1000.0,
        waits.last().unwrap().as_secs_f64() * 1000.0
    );
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("HOOKARR_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let dir = tempfile::tempdir().unwrap();
    let (_broker, port) = mosquitto(dir.path());
    publishing(port, n).await;
    announced_hub(port, dir.path()).await;
}
