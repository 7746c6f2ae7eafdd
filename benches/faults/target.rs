//! A target that fails: down (connections refused) then up on the same port, and a 429 storm with
//! `Retry-After: 2`.

use crate::hookarr::{Figures, Hookarr, config, post_until};
use crate::receiver::{Receiver, Reply};
use crate::{Outcome, Scale};
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

/// Events posted while the target refuses connections; it comes back after `scale.down_for`.
pub async fn down_then_up(scale: Scale) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/sink");
    let cfg = config(
        dir.path(),
        &format!("sqlite://{}/hookarr.db", dir.path().display()),
        &url,
        "    rate_limit: {per_second: 100000, burst: 1000}\n    retry: {max_attempts: 100, schedule: [0s, 1s, 2s, 5s, 10s]}\n",
    );
    let hookarr = Hookarr::start(&cfg, None);
    let next = AtomicU64::new(0);
    let n = scale.down_events as usize;
    let accepted = post_until(&hookarr, 8, &next, |k| k >= n).await;
    tokio::time::sleep(scale.down_for).await;
    let rx = Receiver::start_on(&format!("127.0.0.1:{port}")).await;
    let back = Instant::now();
    let settled = hookarr.settled(Duration::from_secs(120)).await;
    let after = back.elapsed();
    let stored = hookarr.stored().await;
    let figures = Figures::count(&accepted, &stored, &rx);
    Outcome::new("target down, then up", Some(figures))
        .note(format!(
            "down {} s; all settled {:.1} s after it came back",
            scale.down_for.as_secs(),
            after.as_secs_f64()
        ))
        .check(
            settled,
            "deliveries still pending 120 s after the target came back",
        )
}

/// A storm of 429 + `Retry-After: 2`: each pause should let one probe through, and everything goes after.
pub async fn storm(scale: Scale) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::start().await;
    rx.set_default(Reply::status(429).header("retry-after", "2"));
    // The webhook type's default limit (50/s, burst 50): nothing but the pause holds the herd back.
    let cfg = config(
        dir.path(),
        &format!("sqlite://{}/hookarr.db", dir.path().display()),
        &rx.url("/storm"),
        "    retry: {max_attempts: 50}\n",
    );
    let hookarr = Hookarr::start(&cfg, None);
    let next = AtomicU64::new(0);
    let n = scale.storm_events as usize;
    let accepted = post_until(&hookarr, 8, &next, |k| k >= n).await;
    let first = rx.wait_for(1).await[0].at;
    tokio::time::sleep_until((first + scale.storm_for).into()).await;
    rx.set_default(Reply::status(204));
    let settled = hookarr.settled(Duration::from_secs(120)).await;
    let stored = hookarr.stored().await;
    let got = rx.got();
    let first_round = got
        .iter()
        .filter(|g| g.status == 429 && g.at <= first + Duration::from_millis(1500))
        .count();
    let probes = got
        .iter()
        .filter(|g| g.status == 429 && g.at > first + Duration::from_millis(1500))
        .count();
    let pauses = scale.storm_for.as_secs() / 2;
    let figures = Figures::count(&accepted, &stored, &rx);
    Outcome::new("429 storm (Retry-After: 2)", Some(figures))
        .note(format!(
            "{} s storm: {first_round} requests before the first pause, then {probes} over ~{pauses} pauses",
            scale.storm_for.as_secs()
        ))
        .check(settled, "deliveries still pending 120 s after the storm")
        .check(
            probes as u64 <= pauses + 2,
            format!("{probes} requests after the first pause, for {pauses} pauses"),
        )
}
