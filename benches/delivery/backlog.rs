//! A backlog stored and routed before hookarr starts (with webhooks registered as through the API, when
//! asked), and its drain by one or more processes.

use super::{Running, Sink, common, config_url, fixtures, rss_mb, start, webhook_count};
use hookarr::delivery::route::{RoutingTable, Rule};
use hookarr::event::EventId;
use hookarr::inbound::{ParseContext, parse};
use hookarr::storage::{Ingest, RawRequest};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Registers `count` webhooks to the sink, as the API would; webhook `k` takes the events whose
/// `source.instance` is `bench-k`. Returns their routing rules.
pub async fn register_webhooks(
    store: &dyn hookarr::storage::Store,
    count: usize,
    sink: &str,
) -> Vec<Rule> {
    if count == 0 {
        return Vec::new();
    }
    let user = store
        .create_user("bench", hookarr::storage::Role::User)
        .await
        .unwrap();
    let now = chrono::Utc::now();
    let mut rules = Vec::new();
    for k in 0..count {
        let mut filter = serde_json::Map::new();
        filter.insert("source.instance".into(), format!("bench-{k}").into());
        let row = hookarr::storage::WebhookRow {
            id: format!("wh_bench{k:03}"),
            user_id: user.id.clone(),
            url: sink.to_owned(),
            events: vec!["*".into()],
            sources: None,
            filter,
            headers: Default::default(),
            description: String::new(),
            secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
            previous_secret: None,
            previous_secret_until: None,
            batch: None,
            created_at: now,
            updated_at: now,
        };
        assert!(store.create_webhook(&row, u32::MAX).await.unwrap());
        rules.push(Rule::new(&hookarr::delivery::destination_of(&row).unwrap()));
    }
    rules
}

/// Stores and routes `n` events into a fresh database, as if hookarr had received them and then stopped;
/// with registered webhooks, event `i` is also theirs number `i % webhooks`.
async fn fill_backlog(db_url: &str, n: usize, dest_yaml: &str, sink: &str) {
    let store = hookarr::storage::connect(db_url).await.unwrap();
    let fixtures = Arc::new(fixtures());
    let webhooks = webhook_count();
    let mut rules = vec![Rule::new(&serde_norway::from_str(dest_yaml).unwrap())];
    rules.extend(register_webhooks(store.as_ref(), webhooks, sink).await);
    let router = RoutingTable {
        rules,
        people: Default::default(),
    };
    let next = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let (store, fixtures, next) = (store.clone(), fixtures.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                    if i >= n {
                        return;
                    }
                    let (app, body) = &fixtures[i % fixtures.len()];
                    let ctx = ParseContext {
                        source: app.as_str(),
                        app: *app,
                        user_agent: None,
                        received_at: chrono::Utc::now(),
                    };
                    let mut event = parse(&ctx, body).unwrap().event;
                    event.id = EventId::new();
                    if webhooks > 0 {
                        event.source.instance = Some(format!("bench-{}", i % webhooks));
                    }
                    let raw = RawRequest {
                        content_type: Some("application/json".into()),
                        headers: Vec::new(),
                        body: body.clone(),
                    };
                    store
                        .ingest(Ingest {
                            event,
                            raw,
                            dedupe: None,
                            routed: None,
                        })
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    while store
        .route_outbox(1000, &|e| router.route(e, &|_| true))
        .await
        .unwrap()
        > 0
    {}
}

/// Drains a backlog of `n` with `processes` hookarr processes on one database (SQLite file, or PostgreSQL);
/// returns deliveries/s and the peak RSS of one process.
pub async fn drain(
    n: usize,
    sink: &Arc<Sink>,
    sink_url: &str,
    postgres: bool,
    processes: usize,
) -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let db_url = if postgres {
        common::fresh_pg().await.0
    } else {
        format!("sqlite://{}", dir.path().join("bench.db").display())
    };
    let cfg = config_url(dir.path(), &db_url, sink_url);
    let dest_yaml = format!("name: sink\ntype: webhook\nurl: {sink_url}\n");
    fill_backlog(&db_url, n, &dest_yaml, sink_url).await;
    // Every event goes to the sink, and to one registered webhook when there are some.
    let deliveries = if webhook_count() > 0 { 2 * n } else { n };
    let before = sink.count.load(Ordering::Relaxed);
    let mut running: Vec<Running> = (0..processes).map(|_| start(&cfg)).collect();
    let start = Instant::now();
    let mut peak = 0.0f64;
    while sink.count.load(Ordering::Relaxed) - before < deliveries as u64 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        for r in &running {
            peak = peak.max(rss_mb(r.child.id()));
        }
        assert!(start.elapsed() < Duration::from_secs(1800), "drain stalled");
    }
    let rate = deliveries as f64 / start.elapsed().as_secs_f64();
    for r in &mut running {
        r.child.kill().unwrap();
        r.child.wait().unwrap();
    }
    (rate, peak)
}
