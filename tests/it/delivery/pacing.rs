//! Rate limits that hold across every worker, and one probe after a pause instead of a herd: counted by a
//! real receiver on loopback.

use super::*;
use std::time::{Duration, Instant};

/// Posts `n` distinct Radarr grabs (distinct bodies, so dedupe keeps them apart); returns their event ids.
pub(super) async fn post_grabs(app: &TestApp, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n as u64 {
        let body = crate::helpers::fixture_copy("radarr", "grab", i);
        let (status, r) = app.post_hook("radarr", &body).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{r}");
        ids.push(r["events"][0].as_str().unwrap().to_owned());
    }
    ids
}

/// The most requests that arrived within any window of `span` or less, over arrival times in order.
fn most_within(times: &[Instant], span: Duration) -> usize {
    let mut most = 0;
    let mut start = 0;
    for end in 0..times.len() {
        while times[end] - times[start] > span {
            start += 1;
        }
        most = most.max(end - start + 1);
    }
    most
}

#[tokio::test]
async fn a_rate_limit_holds_across_all_workers_burst_then_pace() {
    let rx = Receiver::start().await;
    let d = dest(&format!(
        "name: paced\ntype: webhook\nurl: {}\nsigning: none\nrate_limit: {{per_second: 10, burst: 5}}\n",
        rx.url("/paced")
    ));
    let app = app_with(Backend::Sqlite, vec![d], |cfg| cfg.delivery.workers = 32).await;
    let ids = post_grabs(&app, 40).await;
    let got = rx.wait_for(ids.len()).await;
    let times: Vec<Instant> = got.iter().map(|g| g.at).collect();
    let first_second = times
        .iter()
        .filter(|t| **t - times[0] <= Duration::from_secs(1))
        .count();
    assert!(
        first_second <= 15,
        "{first_second} requests in the first second"
    );
    // ≤ 5 + 10·t over any window t; 50 ms is allowed for the way from the limiter to the receiver.
    for tenths in 0..=30u32 {
        let span = Duration::from_millis(100 * u64::from(tenths));
        let allowed = 5 + tenths as usize + 1;
        let most = most_within(&times, span);
        assert!(
            most <= allowed,
            "{most} requests within {span:?} (allowed {allowed})"
        );
    }
    let delivered: std::collections::HashSet<String> = got
        .iter()
        .map(|g| g.json()["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(ids.iter().all(|id| delivered.contains(id)), "all delivered");
    assert_eq!(got.len(), ids.len(), "each once");
    app.stop().await;
}

/// Three processes on one PostgreSQL share a destination's limit: between them, never more than its burst
/// and one per period (within one), however the queue is split among them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_holds_across_three_processes_on_one_postgres() {
    if crate::helpers::skip_without_postgres(
        "it::delivery::pacing::a_rate_limit_holds_across_three_processes_on_one_postgres",
    ) {
        return;
    }
    let rx = Receiver::start().await;
    let spec = format!(
        "name: paced\ntype: webhook\nurl: {}\nsigning: none\nrate_limit: {{per_second: 10, burst: 1}}\n",
        rx.url("/paced")
    );
    let (url, dir) = crate::helpers::fresh_storage(Backend::Postgres).await;
    let mut apps =
        vec![TestApp::spawn_at(url.clone(), dir, |cfg| cfg.destinations = vec![dest(&spec)]).await];
    for _ in 0..2 {
        let d = dest(&spec);
        apps.push(
            TestApp::spawn_at(url.clone(), tempfile::tempdir().unwrap(), |cfg| {
                cfg.destinations = vec![d]
            })
            .await,
        );
    }
    let mut ids = Vec::new();
    for i in 0..36u64 {
        let app = &apps[i as usize % 3];
        let body = crate::helpers::fixture_copy("radarr", "grab", i);
        let (status, r) = app.post_hook("radarr", &body).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{r}");
        ids.push(r["events"][0].as_str().unwrap().to_owned());
    }
    let got = rx.wait_for(ids.len()).await;
    let times: Vec<Instant> = got.iter().map(|g| g.at).collect();
    // Burst 1, then one per 100 ms: within any window of t, at most 1 + 10·t, and one more for the way from
    // the budget to the receiver.
    for tenths in 0..=30u32 {
        let span = Duration::from_millis(100 * u64::from(tenths));
        let allowed = 1 + tenths as usize + 1;
        let most = most_within(&times, span);
        assert!(
            most <= allowed,
            "{most} requests within {span:?} (allowed {allowed})"
        );
    }
    let senders: std::collections::HashSet<String> = got
        .iter()
        .map(|g| g.json()["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(senders.len(), ids.len(), "each delivered once");
    for app in apps {
        app.stop().await;
    }
}

#[tokio::test]
async fn a_429_storm_draws_one_probe_per_pause_and_everything_is_delivered_after() {
    const STORM: Duration = Duration::from_secs(20);
    let rx = Receiver::start().await;
    rx.set_default(Reply::status(429).header("retry-after", "2"));
    // The webhook type's default limit (50/s, burst 50): nothing but the pause holds the herd back.
    let d = dest(&format!(
        "name: stormy\ntype: webhook\nurl: {}\nsigning: none\nretry: {{max_attempts: 12}}\n",
        rx.url("/storm")
    ));
    let app = app_with(Backend::Sqlite, vec![d], |cfg| cfg.delivery.workers = 32).await;
    let ids = post_grabs(&app, 30).await;
    let first = rx.wait_for(1).await[0].at;
    let storm_ends = first + STORM;
    tokio::time::sleep_until(storm_ends.into()).await;
    rx.set_default(Reply::status(204));
    let body = app
        .wait_api("/api/deliveries?status=succeeded&limit=100", |b| {
            b["items"].as_array().unwrap().len() == ids.len()
        })
        .await;
    assert_eq!(body["items"].as_array().unwrap().len(), ids.len());
    let got = rx.got();
    // The first round goes out before any 429 is known; after it, each pause lets one probe through.
    let after_first_pause: Vec<&crate::receiver::Got> = got
        .iter()
        .filter(|g| g.status == 429 && g.at > first + Duration::from_millis(1500))
        .collect();
    let pauses = STORM.as_secs() / 2;
    assert!(
        after_first_pause.len() as u64 <= pauses + 2,
        "{} requests answered 429 after the first pause, for {pauses} pauses",
        after_first_pause.len()
    );
    assert!(
        !after_first_pause.is_empty(),
        "probes tested the target during the storm"
    );
    let succeeded = got.iter().filter(|g| g.status == 204).count();
    assert_eq!(succeeded, ids.len(), "each delivered once after the storm");
    app.stop().await;
}

/// Discord pacing by bucket (CONTRACT §5): two webhooks whose answers name one bucket (as the webhooks of one
/// channel can) share its 5 requests per window. Once each has had an answer naming the bucket, a burst of
/// 60 events to both (120 messages) draws no 429 at all, and every message arrives once.
#[tokio::test]
async fn a_burst_to_webhooks_sharing_a_discord_bucket_draws_no_429_once_the_bucket_is_known() {
    let rx = crate::discord_like::DiscordLike::start(5, Duration::from_millis(300)).await;
    let dests = ["one", "two"]
        .iter()
        .enumerate()
        .map(|(i, name)| {
            dest(&format!(
                "name: {name}\ntype: discord\nurl: {}/api/webhooks/{i}/tok\ngroup_window: 0s\n",
                rx.base
            ))
        })
        .collect();
    let app = app_with(Backend::Sqlite, dests, |cfg| cfg.delivery.workers = 32).await;
    let (status, r) = app.post_hook("radarr", &fixture("radarr", "grab")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{r}");
    let wait_messages = async |n: usize| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while rx.messages().len() < n {
            assert!(
                Instant::now() < deadline,
                "{} of {n} messages arrived",
                rx.messages().len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    wait_messages(2).await;
    let learned = rx.arrivals().len();
    let ids = post_grabs(&app, 60).await;
    wait_messages(2 + 2 * ids.len()).await;
    let arrivals = rx.arrivals();
    let limited = arrivals[learned..].iter().filter(|a| a.limited).count();
    assert_eq!(
        limited,
        0,
        "429s after the bucket was known, of {}",
        arrivals.len() - learned
    );
    assert_eq!(rx.messages().len(), 2 + 2 * ids.len(), "each message once");
    let body = app
        .wait_api("/api/deliveries?status=succeeded&limit=200", |b| {
            b["items"].as_array().unwrap().len() == 2 + 2 * ids.len()
        })
        .await;
    assert_eq!(body["items"].as_array().unwrap().len(), 122);
    app.stop().await;
}
