//! End to end, one event at a time: post an event, wait until it reaches the sink, post the next. Timed
//! from the POST: when its answer came (the sender is free) and when the sink got the delivery.
//!
//! `HOOKARR_BENCH_SVIX=<base url>,<token>` runs svix-server beside hookarr in the same run, against the same
//! sink and with the same client: rounds of each in turn, so both see the same machine. svix-server must
//! allow loopback endpoints (`SVIX_WHITELIST_SUBNETS='[127.0.0.1/32]'`).

use super::Sink;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One system's timings, in milliseconds from the POST.
#[derive(Default)]
pub struct Timings {
    answered: Vec<f64>,
    arrived: Vec<f64>,
    lost: usize,
}

impl Timings {
    pub fn print(&mut self, who: &str) {
        let p = |v: &mut Vec<f64>, q: f64| {
            v.sort_by(f64::total_cmp);
            v.get(((v.len() as f64 - 1.0) * q).round() as usize)
                .copied()
                .unwrap_or(f64::NAN)
        };
        println!(
            "{who:<8} one at a time: answered p50 {:.2} ms p99 {:.2} ms · at the sink p50 {:.2} ms p99 {:.2} ms   ({} events, {} not arrived in 5 s)",
            p(&mut self.answered, 0.5),
            p(&mut self.answered, 0.99),
            p(&mut self.arrived, 0.5),
            p(&mut self.arrived, 0.99),
            self.arrived.len(),
            self.lost
        );
    }
}

/// Where events are posted: hookarr's hook, or svix-server's message API.
pub enum Poster {
    Hookarr {
        url: String,
        body: Vec<u8>,
    },
    Svix {
        messages: String,
        token: String,
        payload: serde_json::Value,
    },
}

impl Poster {
    /// svix-server at `spec` (`<base url>,<token>`): an application of its own with one endpoint, the sink.
    pub async fn svix(client: &reqwest::Client, spec: &str, sink: &str, body: &[u8]) -> Poster {
        let (base, token) = spec
            .split_once(',')
            .expect("HOOKARR_BENCH_SVIX=<base url>,<token>");
        let base = base.trim_end_matches('/');
        let uid = format!(
            "hookarr-bench-{}",
            ulid::Ulid::new().to_string().to_lowercase()
        );
        let post = |path: String, json: serde_json::Value| {
            let req = client
                .post(format!("{base}{path}"))
                .bearer_auth(token)
                .json(&json);
            async move {
                let resp = req.send().await.expect("svix-server reachable");
                let status = resp.status();
                assert!(
                    status.is_success(),
                    "svix-server answered {status}: {}",
                    resp.text().await.unwrap_or_default()
                );
            }
        };
        post(
            "/api/v1/app/".into(),
            serde_json::json!({"name": uid, "uid": uid}),
        )
        .await;
        post(
            format!("/api/v1/app/{uid}/endpoint/"),
            serde_json::json!({"url": sink}),
        )
        .await;
        Poster::Svix {
            messages: format!("{base}/api/v1/app/{uid}/msg/"),
            token: token.to_owned(),
            payload: serde_json::from_slice(body).expect("a JSON body"),
        }
    }

    /// Posts one event; returns the id the sink will see it by, once the POST is answered.
    async fn post(&self, client: &reqwest::Client) -> Option<String> {
        match self {
            Poster::Hookarr { url, body } => {
                let resp = client
                    .post(url)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .ok()?;
                let v: serde_json::Value = resp.json().await.ok()?;
                v["events"][0].as_str().map(str::to_owned)
            }
            Poster::Svix {
                messages,
                token,
                payload,
            } => {
                let id = ulid::Ulid::new().to_string();
                let mut payload = payload.clone();
                payload["id"] = id.clone().into();
                let resp = client
                    .post(messages)
                    .bearer_auth(token)
                    .json(&serde_json::json!({"eventType": "movie.grabbed", "payload": payload}))
                    .send()
                    .await
                    .ok()?;
                resp.status().is_success().then_some(id)
            }
        }
    }
}

/// Posts `n` events one after another to `poster`, each once the previous one reached the sink.
pub async fn run(
    sink: &Arc<Sink>,
    client: &reqwest::Client,
    poster: &Poster,
    n: usize,
    into: &mut Timings,
) {
    for _ in 0..n {
        let start = Instant::now();
        let Some(id) = poster.post(client).await else {
            into.lost += 1;
            continue;
        };
        into.answered.push(ms(start.elapsed()));
        match arrival(sink, &id).await {
            Some(at) => into.arrived.push(ms(at.duration_since(start))),
            None => into.lost += 1,
        }
    }
}

/// When the sink got `id` (waiting at most 5 s).
async fn arrival(sink: &Sink, id: &str) -> Option<Instant> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let notified = sink.arrived.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if let Some(at) = sink.arrivals.lock().unwrap().get(id) {
            return Some(*at);
        }
        if tokio::time::timeout_at(deadline.into(), notified)
            .await
            .is_err()
        {
            return None;
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// svix-server's drain of a backlog of `n`, beside hookarr's: `n` messages posted (32 at a time) to an
/// svix-server whose worker is off, then `worker` (a shell command starting svix-server's worker alone)
/// started; the rate from the first arrival at the sink to the last.
pub async fn svix_drain(
    sink: &Arc<Sink>,
    spec: &str,
    sink_url: &str,
    body: &[u8],
    n: usize,
    worker: &str,
) -> f64 {
    let client = reqwest::Client::new();
    let poster = Arc::new(Poster::svix(&client, spec, sink_url, body).await);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let posts: Vec<_> = (0..32)
        .map(|_| {
            let (client, poster, next) = (client.clone(), poster.clone(), next.clone());
            tokio::spawn(async move {
                while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < n {
                    assert!(
                        poster.post(&client).await.is_some(),
                        "svix-server took a message"
                    );
                }
            })
        })
        .collect();
    for p in posts {
        p.await.unwrap();
    }
    let before = sink.count.load(std::sync::atomic::Ordering::Relaxed);
    let mut child = std::process::Command::new("sh")
        .args(["-c", &format!("exec {worker}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the svix worker command starts");
    let arrived = || sink.count.load(std::sync::atomic::Ordering::Relaxed) - before;
    let deadline = Instant::now() + Duration::from_secs(600);
    while arrived() == 0 {
        assert!(
            Instant::now() < deadline,
            "svix-server's worker sent nothing"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let first = Instant::now();
    while (arrived() as usize) < n {
        assert!(Instant::now() < deadline, "svix-server's worker stalled");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let rate = (n - 1) as f64 / first.elapsed().as_secs_f64();
    let _ = child.kill();
    let _ = child.wait();
    rate
}
