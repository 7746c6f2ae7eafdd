//! `--discord-burst`: many distinct events posted at once for one Discord destination whose receiver takes
//! 5 requests per 2 s with Discord's headers and answers 429 past it.

use super::{discord_like, start};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The burst to one paced Discord-like receiver (5 requests per 2 s).
pub async fn run(n: usize) {
    let rx = discord_like::DiscordLike::start(5, Duration::from_secs(2)).await;
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "server:\n  listen: 127.0.0.1:0\nstorage:\n  url: sqlite://{}\nadmin:\n  api_key: hk_bench_admin_key_0123456789\n\
         delivery:\n  workers: 32\ndestinations:\n  - name: channel\n    type: discord\n    url: {}/api/webhooks/1/tok\n",
        dir.path().join("burst.db").display(),
        rx.base
    );
    let cfg = dir.path().join("hookarr.yaml");
    std::fs::write(&cfg, text).unwrap();
    let running = start(&cfg);
    let grab: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/inbound/radarr/grab.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let url = format!(
        "{}/hooks/radarr?token={}",
        running.base, running.radarr_token
    );
    let client = reqwest::Client::new();
    let started = Instant::now();
    // Posted 32 at a time, as fast as hookarr takes them (more at once would meet its in-flight limit).
    let next = Arc::new(AtomicU64::new(0));
    let posters: Vec<_> = (0..32)
        .map(|_| {
            let (client, url, grab, next) =
                (client.clone(), url.clone(), grab.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n as u64 {
                        return;
                    }
                    let mut body = grab.clone();
                    body["movie"]["title"] = format!("Movie {i}").into();
                    body["hookarrCopy"] = i.into();
                    let r = client.post(&url).json(&body).send().await.unwrap();
                    assert_eq!(r.status(), 202);
                }
            })
        })
        .collect();
    for p in posters {
        p.await.unwrap();
    }
    let deadline = started + Duration::from_secs(n as u64 + 120);
    while rx.messages().len() < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let took = started.elapsed();
    let arrivals = rx.arrivals();
    let first_answer = arrivals.first().map(|a| a.at);
    let limited = arrivals.iter().filter(|a| a.limited).count();
    // The first answer told hookarr the limits; requests that arrived a moment after it were sent knowing them.
    let limited_after = arrivals
        .iter()
        .filter(|a| {
            a.limited && first_answer.is_some_and(|f| a.at > f + Duration::from_millis(100))
        })
        .count();
    let messages = rx.messages().len();
    println!(
        "Discord burst of {n} events (5 per 2 s)  all delivered in {:.1} s (the limit allows {:.1} s)   messages {messages}   requests {}   429s {limited} ({limited_after} after the first answer)",
        took.as_secs_f64(),
        (n.saturating_sub(5) as f64 / 5.0).ceil() * 2.0,
        arrivals.len(),
    );
}
