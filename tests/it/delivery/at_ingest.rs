//! Routing at ingest: an event stored while a worker is free is routed and leased in its own transaction
//! and handed to that worker (no outbox row, no router pass, no claim); a repeat lets go of the worker it
//! took; a kill -9 after the 202 still delivers.

use super::*;
use hookarr::receive::{InboundRequest, receive};
use hookarr::sources::Source;
use hookarr::storage::{DeliveryQuery, RawRequest};
use std::time::Duration;

fn radarr() -> Source {
    Source {
        name: "radarr".into(),
        app: hookarr::inbound::SourceApp::Radarr,
        token: None,
        basic: None,
        allow_ips: Vec::new(),
        token_in_store: false,
        stored: false,
        in_file: true,
    }
}

fn grab(copy: u64) -> InboundRequest {
    InboundRequest {
        user_agent: Some("Radarr/6.0.3".into()),
        idempotency_key: None,
        raw: RawRequest {
            content_type: Some("application/json".into()),
            headers: Vec::new(),
            body: crate::helpers::fixture_copy("radarr", "grab", copy),
        },
        unreadable: None,
        received_at: chrono::Utc::now(),
    }
}

/// Waits until the engine routes at ingest (its router has made its first pass over the outbox).
async fn until_routing_at_ingest(app: &TestApp) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !app.engine().routes_at_ingest() {
        assert!(
            std::time::Instant::now() < deadline,
            "the router never caught up with the outbox"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn an_idle_event_is_routed_and_leased_as_it_is_stored(backend: Backend) {
    let rx = Receiver::start().await;
    // Answered after a while, so the delivery is still in flight when the test looks at it.
    rx.set_default(Reply::status(204).delay(Duration::from_millis(500)));
    let spec = format!(
        "name: sink\ntype: webhook\nurl: {}\nsigning: none\n",
        rx.url("/sink")
    );
    let app = app_with(backend, vec![dest(&spec)], |_| {}).await;
    until_routing_at_ingest(&app).await;

    let got = receive(
        app.store.as_ref(),
        Some(app.engine()),
        &radarr(),
        0,
        grab(1),
    )
    .await
    .unwrap();
    assert!(got.routed, "an idle event is routed as it is stored");
    let id = got.events[0].to_string();
    // Nobody told the router (only the HTTP handler does, and only for events it did not route): the event
    // never had an outbox row, and its delivery is there, leased, as the transaction left it.
    assert!(app.store.outbox(10).await.unwrap().is_empty());
    let rows = app
        .store
        .list_deliveries(&DeliveryQuery {
            event_id: Some(id.clone()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .items;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].destination, "sink");
    assert_eq!(rows[0].status, hookarr::storage::DeliveryStatus::Pending);
    let sent = rx.wait_for(1).await;
    assert_eq!(sent[0].json()["id"], id.as_str());
    let done = settled(&app, &id).await;
    assert_eq!(done[0]["status"], "succeeded", "{done:?}");
    assert_eq!(done[0]["attempts"], 1);
    assert_eq!(rx.got().len(), 1, "sent once");
    app.stop().await;
}

async fn a_repeat_lets_go_of_the_worker_it_took(backend: Backend) {
    let rx = Receiver::start().await;
    let spec = format!(
        "name: sink\ntype: webhook\nurl: {}\nsigning: none\n",
        rx.url("/sink")
    );
    // One worker: a slot a repeat kept would leave none for the events after it.
    let app = app_with(backend, vec![dest(&spec)], |cfg| cfg.delivery.workers = 1).await;
    until_routing_at_ingest(&app).await;
    let store = app.store.as_ref();
    let first = receive(store, Some(app.engine()), &radarr(), 60, grab(1))
        .await
        .unwrap();
    let again = receive(store, Some(app.engine()), &radarr(), 60, grab(1))
        .await
        .unwrap();
    assert!(again.duplicate && !again.routed, "{again:?}");
    assert_eq!(again.events, first.events);
    let mut ids = vec![first.events[0].to_string()];
    for copy in 2..5 {
        let got = receive(store, Some(app.engine()), &radarr(), 60, grab(copy))
            .await
            .unwrap();
        ids.push(got.events[0].to_string());
        // Each waits for the one before it, so the one worker is free again for the next.
        rx.wait_for(ids.len()).await;
    }
    let mut delivered: Vec<String> = rx
        .got()
        .iter()
        .map(|g| g.json()["id"].as_str().unwrap().to_owned())
        .collect();
    delivered.sort();
    ids.sort();
    assert_eq!(delivered, ids, "every event once, the repeat never");
    app.stop().await;
}

both_backends!(
    multi_thread: an_idle_event_is_routed_and_leased_as_it_is_stored,
    a_repeat_lets_go_of_the_worker_it_took
);

/// The real binary killed with SIGKILL while the one delivery of an event routed at ingest is on its way:
/// started again on the same database, it sends it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_after_the_202_still_delivers() {
    let dir = tempfile::tempdir().unwrap();
    let (url, _db_dir) = crate::helpers::fresh_storage(Backend::Sqlite).await;
    let rx = Receiver::start().await;
    // The first request is never answered in time: the kill lands while it is in flight.
    rx.script([Reply::status(204).delay(Duration::from_secs(30))]);
    let extra = format!(
        "delivery:\n  timeout_secs: 40\ndestinations:\n  - name: sink\n    type: webhook\n    url: {}\n    signing: none\n",
        rx.url("/sink")
    );
    let config =
        crate::binary::write_config_with(dir.path(), &url, Some(crate::helpers::ADMIN_KEY), &extra);
    let mut running = crate::binary::start(&config, dir.path());
    let token = crate::binary::token_of(&running.banner, "radarr");
    let client = reqwest::Client::new();
    let resp = running.post_grab(&client, &token, 7).await;
    assert_eq!(resp.status(), 202);
    let id = resp.json::<Value>().await.unwrap()["events"][0]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(rx.wait_for(1).await[0].json()["id"], id.as_str());
    running.child.kill().unwrap(); // SIGKILL: the answer is never read, nothing is written back.
    running.child.wait().unwrap();

    let again = crate::binary::start(&config, dir.path());
    let got = rx.wait_for(2).await;
    assert_eq!(
        got[1].json()["id"],
        id.as_str(),
        "sent again after the restart"
    );
    drop(again);
}
