//! Stories benchmark: joining a backlog. N stored events (default 100,000: six per film — an Overseerr
//! request and its approval, Radarr's grab and import, Jellyfin adding it, a Plex play — for N/6 films) in a
//! fresh SQLite file, routed (which queues them for their stories), then:
//!
//! 1. the live pass: the engine's storyteller joining the queue, `JOIN_BATCH` events per transaction, with
//!    everything it derives (`media.available`, story messages) stored — events/s;
//! 2. `hookarr stories rebuild`: every story forgotten and built again from the stored events — events/s
//!    and stories/s.
//!
//! `cargo bench --bench stories` · `HOOKARR_BENCH_EVENTS=100000`.

use hookarr::config::Config;
use hookarr::delivery::route::RoutingTable;
use hookarr::event::EventId;
use hookarr::inbound::{ParseContext, SourceApp, parse};
use hookarr::storage::{Ingest, RawRequest};
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

fn fixture(app: &str, name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/inbound/{app}/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

/// The six payloads of film `i`.
fn film(i: u64, t: &Templates) -> Vec<(SourceApp, Vec<u8>)> {
    let tmdb = 100_000 + i;
    let imdb = format!("tt{}", 20_000_000 + i);
    let mut out = Vec::new();
    for name in ["pending", "approved"] {
        let mut b = t.request.clone();
        b["notification_type"] = format!("MEDIA_{}", name.to_uppercase()).into();
        b["subject"] = format!("Film {i} (2024)").into();
        b["media"]["tmdbId"] = tmdb.to_string().into();
        out.push((SourceApp::Overseerr, b));
    }
    for base in [&t.grab, &t.download] {
        let mut b = base.clone();
        for key in ["movie", "remoteMovie"] {
            if b.get(key).is_some() {
                b[key]["tmdbId"] = tmdb.into();
                b[key]["imdbId"] = imdb.clone().into();
                b[key]["title"] = format!("Film {i}").into();
            }
        }
        b["downloadId"] = format!("DL{i}").into();
        out.push((SourceApp::Radarr, b));
    }
    let mut added = t.added.clone();
    let o = added.as_object_mut().unwrap();
    for k in [
        "SeriesName",
        "SeriesId",
        "SeasonId",
        "SeasonNumber",
        "EpisodeNumber",
        "Provider_tvdb",
    ] {
        o.remove(k);
    }
    o.insert("ItemType".into(), "Movie".into());
    o.insert("Name".into(), format!("Film {i}").into());
    o.insert("Provider_tmdb".into(), tmdb.to_string().into());
    o.insert("Provider_imdb".into(), imdb.clone().into());
    out.push((SourceApp::Jellyfin, added));
    let mut play = t.play.clone();
    play["Metadata"]["title"] = format!("Film {i}").into();
    play["Metadata"]["Guid"] =
        serde_json::json!([{"id": format!("imdb://{imdb}")}, {"id": format!("tmdb://{tmdb}")}]);
    play["Player"]["uuid"] = format!("player-{i}").into();
    out.push((SourceApp::Plex, play));
    out.into_iter()
        .map(|(app, v)| (app, serde_json::to_vec(&v).unwrap()))
        .collect()
}

struct Templates {
    request: Value,
    grab: Value,
    download: Value,
    added: Value,
    play: Value,
}

#[tokio::main]
async fn main() {
    let n: u64 = std::env::var("HOOKARR_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/stories.db", dir.path().display());
    let store = hookarr::storage::connect(&url).await.unwrap();
    let t = Arc::new(Templates {
        request: fixture("overseerr", "media-pending"),
        grab: fixture("radarr", "grab"),
        download: fixture("radarr", "download"),
        added: fixture("jellyfin", "ItemAdded"),
        play: fixture("plex", "media.play"),
    });
    let films = n / 6;
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let (store, t, next) = (store.clone(), t.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= films {
                        return;
                    }
                    for (app, body) in film(i, &t) {
                        let ctx = ParseContext {
                            source: app.as_str(),
                            app,
                            user_agent: None,
                            received_at: chrono::Utc::now(),
                        };
                        let mut event = parse(&ctx, &body).unwrap().event;
                        event.id = EventId::new();
                        let raw = RawRequest {
                            content_type: Some("application/json".into()),
                            headers: Vec::new(),
                            body,
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
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let nobody = RoutingTable::default();
    while store
        .route_outbox(1000, &|e| nobody.route(e, &|_| true))
        .await
        .unwrap()
        > 0
    {}
    let events = films * 6;
    println!(
        "stored and routed {events} events ({films} films) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let templates = Arc::new(hookarr::outbound::Templates::load(None).unwrap());
    let engine = hookarr::delivery::Engine::new(&Config::default(), store.clone(), templates)
        .await
        .unwrap();
    let started = Instant::now();
    let mut joined = 0;
    loop {
        let n = engine.join_stories().await.unwrap();
        if n == 0 {
            break;
        }
        joined += n;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "live pass: {joined} queued events joined in {secs:.1} s: {:.0} events/s",
        joined as f64 / secs
    );
    let (_, list) = (
        (),
        store
            .list_stories(&hookarr::storage::StoryQuery {
                stage: Some(hookarr::stories::Stage::Played),
                limit: 1,
                ..Default::default()
            })
            .await
            .unwrap(),
    );
    assert!(!list.items.is_empty(), "films reached their first play");
    let started = Instant::now();
    let rebuilt = engine.rebuild_stories().await.unwrap();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "rebuild: {} stored events, {} stories in {secs:.1} s: {:.0} events/s, {:.0} stories/s",
        rebuilt.events,
        rebuilt.stories.len(),
        rebuilt.events as f64 / secs,
        rebuilt.stories.len() as f64 / secs
    );
}
