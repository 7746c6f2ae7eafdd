//! What an event costs on disk (SQLite): distinct Radarr grabs taken through the hook, the server stopped
//! cleanly (its write-ahead log folded into the file), and the file's size less that of the same database
//! with none. The goal (issue 28): at most 2 KB per Arr event kept. The dedupe key each event also claims
//! lives only until the hourly purge after its window: it is measured apart.

use crate::helpers::{Backend, TestApp, fixture_copy, fresh_storage};
use reqwest::StatusCode;

const EVENTS: u64 = 1000;

/// The size of a fresh database after `events` grabs and a clean stop; `dedupe`: with the default window
/// (each event claims a key), else none.
async fn database_bytes(events: u64, dedupe: bool) -> u64 {
    let (url, dir) = fresh_storage(Backend::Sqlite).await;
    let app = TestApp::spawn_at(url, dir, |cfg| {
        if !dedupe {
            cfg.server.dedupe_window_secs = 0;
        }
    })
    .await;
    for copy in 0..events {
        let (status, r) = app
            .post_hook("radarr", &fixture_copy("radarr", "grab", copy))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{r}");
    }
    let dir = app.stop_keeping_dir().await;
    let file = dir.path().join("nested/hookarr.db");
    assert_eq!(
        std::fs::metadata(dir.path().join("nested/hookarr.db-wal")).map_or(0, |m| m.len()),
        0,
        "the log is folded in at the stop"
    );
    std::fs::metadata(file).unwrap().len()
}

#[tokio::test]
async fn an_arr_event_costs_at_most_two_kilobytes_on_sqlite() {
    let empty = database_bytes(0, false).await;
    let kept = (database_bytes(EVENTS, false).await - empty) as f64 / EVENTS as f64;
    let with_keys = (database_bytes(EVENTS, true).await - empty) as f64 / EVENTS as f64;
    println!(
        "footprint: {kept:.0} bytes per Radarr grab kept, {with_keys:.0} with its dedupe key (until the purge \
         after its window); {EVENTS} events, SQLite, no destination"
    );
    assert!(kept <= 2048.0, "{kept:.0} bytes per event");
    assert!(with_keys > kept, "the dedupe keys take room until purged");
}
