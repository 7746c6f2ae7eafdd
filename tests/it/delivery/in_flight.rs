//! Sends in flight, capped per destination, and what one process learns of a target's limits holding the
//! others: counted by real receivers on loopback.

use super::pacing::post_grabs;
use super::*;
use std::time::{Duration, Instant};

/// A Discord webhook answering every request with a 429 (Retry-After 2 s) after 300 ms: one request at a
/// time goes (the chat targets' default), so the storm's first answer pauses the rest — one request, not
/// the five of Discord's burst, before the pause is known. When the target takes messages again, each goes
/// once.
#[tokio::test]
async fn a_storms_first_429_is_heard_before_a_second_request_goes() {
    let rx = Receiver::start().await;
    rx.set_default(
        Reply::status(429)
            .header("retry-after", "2")
            .delay(Duration::from_millis(300)),
    );
    let d = dest(&format!(
        "name: stormy\ntype: discord\nurl: {}\ngroup_window: 0s\nretry: {{max_attempts: 12}}\n",
        rx.url("/api/webhooks/1/tok")
    ));
    let app = app_with(Backend::Sqlite, vec![d], |cfg| cfg.delivery.workers = 16).await;
    let ids = post_grabs(&app, 8).await;
    let first = rx.wait_for(1).await[0].at;
    tokio::time::sleep_until((first + Duration::from_millis(1800)).into()).await;
    let before_the_pause_ended = rx
        .got()
        .iter()
        .filter(|g| g.at < first + Duration::from_millis(1800))
        .count();
    assert_eq!(
        before_the_pause_ended, 1,
        "requests before the first 429's pause ended"
    );
    rx.set_default(Reply::status(200).body(r#"{"id":"1","type":0}"#));
    let body = app
        .wait_api("/api/deliveries?status=succeeded&limit=100", |b| {
            b["items"].as_array().unwrap().len() == ids.len()
        })
        .await;
    assert_eq!(body["items"].as_array().unwrap().len(), ids.len());
    let got = rx.got();
    assert_eq!(
        got.iter().filter(|g| g.status == 200).count(),
        ids.len(),
        "each message taken once"
    );
    app.stop().await;
}

/// `max_in_flight: 2` on a webhook that answers after 250 ms: never more than two requests open at once,
/// where its rate limit alone would send all ten together.
#[tokio::test]
async fn max_in_flight_caps_the_requests_open_at_once() {
    const ANSWER: Duration = Duration::from_millis(250);
    let rx = Receiver::start().await;
    rx.set_default(Reply::status(204).delay(ANSWER));
    let d = dest(&format!(
        "name: capped\ntype: webhook\nurl: {}\nsigning: none\nmax_in_flight: 2\n",
        rx.url("/capped")
    ));
    let app = app_with(Backend::Sqlite, vec![d], |cfg| cfg.delivery.workers = 16).await;
    let ids = post_grabs(&app, 10).await;
    let got = rx.wait_for(ids.len()).await;
    // A request is open from its arrival until its answer, ANSWER later.
    let most_open = got
        .iter()
        .map(|g| {
            got.iter()
                .filter(|o| o.at <= g.at && g.at < o.at + ANSWER)
                .count()
        })
        .max()
        .unwrap();
    assert!(most_open <= 2, "{most_open} requests open at once");
    assert!(most_open >= 1);
    assert_eq!(got.len(), ids.len(), "each once");
    app.stop().await;
}

/// Two processes on one PostgreSQL send to one Discord webhook (5 requests per 2 s window). Each hears only
/// its own answers; the one told that the bucket is spent holds the shared budget to the reset, so neither
/// sends into a spent window: no 429 at all, and every message once.
#[tokio::test]
async fn a_discord_bucket_spent_in_one_process_holds_the_other() {
    if crate::helpers::skip_without_postgres(
        "it::delivery::in_flight::a_discord_bucket_spent_in_one_process_holds_the_other",
    ) {
        return;
    }
    let rx = crate::discord_like::DiscordLike::start(5, Duration::from_secs(2)).await;
    let spec = format!(
        "name: shared\ntype: discord\nurl: {}/api/webhooks/1/tok\ngroup_window: 0s\n",
        rx.base
    );
    let (url, dir) = crate::helpers::fresh_storage(Backend::Postgres).await;
    let first = dest(&spec);
    let mut apps =
        vec![TestApp::spawn_at(url.clone(), dir, |cfg| cfg.destinations = vec![first]).await];
    let second = dest(&spec);
    apps.push(
        TestApp::spawn_at(url, tempfile::tempdir().unwrap(), |cfg| {
            cfg.destinations = vec![second]
        })
        .await,
    );
    const EVENTS: u64 = 14;
    for i in 0..EVENTS {
        let body = crate::helpers::fixture_copy("radarr", "grab", i);
        let (status, r) = apps[i as usize % 2].post_hook("radarr", &body).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{r}");
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while rx.messages().len() < EVENTS as usize {
        assert!(
            Instant::now() < deadline,
            "{} of {EVENTS} messages arrived",
            rx.messages().len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let arrivals = rx.arrivals();
    let limited = arrivals.iter().filter(|a| a.limited).count();
    assert_eq!(limited, 0, "429s of {} requests", arrivals.len());
    assert_eq!(rx.messages().len(), EVENTS as usize, "each message once");
    for app in apps {
        app.stop().await;
    }
}
