//! The `Store` contract, run unchanged against SQLite and the real PostgreSQL.

use crate::helpers::{Backend, fresh_storage};
use chrono::{Duration, TimeZone, Utc};
use hookarr::event::{Event, EventData, EventId, EventKind, SourceInfo};
use hookarr::storage::{
    self, AttemptRow, DedupeKey, DeliveryQuery, DeliveryResult, DeliveryStatus, EventQuery, Ingest,
    IngestOutcome, NewDelivery, PurgeBefore, RawRequest, Rejected, Role, SourceRow, Store,
    StoreError,
};
use std::sync::Arc;

async fn open(backend: Backend) -> (Arc<dyn Store>, tempfile::TempDir) {
    let (url, dir) = fresh_storage(backend).await;
    (
        storage::connect(&url)
            .await
            .expect("store opens and migrates"),
        dir,
    )
}

fn event(kind: EventKind, source: &str, at: chrono::DateTime<Utc>) -> Event {
    Event {
        id: EventId::new(),
        event: kind,
        timestamp: at,
        source: SourceInfo {
            name: source.into(),
            app: "radarr".into(),
            event: "Grab".into(),
            ..Default::default()
        },
        summary: format!("{kind} from {source}"),
        data: EventData::default(),
    }
}

fn ingest(e: Event, body: &[u8], dedupe: Option<(&str, i64)>) -> Ingest {
    Ingest {
        event: e,
        raw: RawRequest {
            content_type: Some("application/json".into()),
            headers: vec![("user-agent".into(), "Radarr/6".into())],
            body: body.to_vec(),
        },
        dedupe: dedupe.map(|(key, window_ms)| DedupeKey {
            key: key.into(),
            window_ms,
        }),
        routed: None,
    }
}

fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 18, 0, 0).unwrap()
}

async fn ingest_commits_event_raw_and_outbox_together(backend: Backend) {
    let (store, _dir) = open(backend).await;
    assert!(store.ready().await.unwrap());
    let e = event(EventKind::LibraryNew, "radarr", t0());
    let body = b"{\"eventType\":\"Download\",\"bytes\":\"\xc3\xa9\"}";
    let outcome = store.ingest(ingest(e.clone(), body, None)).await.unwrap();
    assert_eq!(outcome, IngestOutcome::Stored(vec![e.id.clone()]));
    assert_eq!(
        store.get_event(&e.id).await.unwrap(),
        Some(e.clone()),
        "the envelope round-trips"
    );
    let raw = store.get_raw(&e.id).await.unwrap().unwrap();
    assert_eq!(raw.body, body.to_vec());
    assert_eq!(raw.headers["user-agent"], "Radarr/6");
    assert_eq!(store.outbox(10).await.unwrap(), vec![e.id.clone()]);
    assert_eq!(store.get_event(&EventId::new()).await.unwrap(), None);
}

async fn dedupe_holds_within_the_window_only(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let first = event(EventKind::DownloadGrabbed, "radarr", t0());
    let window = 60_000;
    let stored = store
        .ingest(ingest(first.clone(), b"{}", Some(("body:abc", window))))
        .await
        .unwrap();
    assert_eq!(stored, IngestOutcome::Stored(vec![first.id.clone()]));
    let repeat = event(
        EventKind::DownloadGrabbed,
        "radarr",
        t0() + Duration::seconds(30),
    );
    let dup = store
        .ingest(ingest(repeat.clone(), b"{}", Some(("body:abc", window))))
        .await
        .unwrap();
    assert_eq!(dup, IngestOutcome::Duplicate(vec![first.id.clone()]));
    assert_eq!(
        store.get_event(&repeat.id).await.unwrap(),
        None,
        "a duplicate stores nothing"
    );
    let other_source = event(
        EventKind::DownloadGrabbed,
        "sonarr",
        t0() + Duration::seconds(30),
    );
    let r = store
        .ingest(ingest(
            other_source.clone(),
            b"{}",
            Some(("body:abc", window)),
        ))
        .await
        .unwrap();
    assert_eq!(
        r,
        IngestOutcome::Stored(vec![other_source.id.clone()]),
        "keys are per source"
    );
    let later = event(
        EventKind::DownloadGrabbed,
        "radarr",
        t0() + Duration::seconds(61),
    );
    let r = store
        .ingest(ingest(later.clone(), b"{}", Some(("body:abc", window))))
        .await
        .unwrap();
    assert_eq!(
        r,
        IngestOutcome::Stored(vec![later.id.clone()]),
        "after the window it is new again"
    );
}

async fn concurrent_repeats_store_exactly_one(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let burst = || {
        (0..16)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    let e = event(EventKind::LibraryNew, "radarr", Utc::now());
                    store
                        .ingest(ingest(e, b"{}", Some(("idem:same", 60_000))))
                        .await
                        .unwrap()
                })
            })
            .collect::<Vec<_>>()
    };
    let mut stored = Vec::new();
    let mut duplicates = Vec::new();
    for t in burst() {
        match t.await.unwrap() {
            IngestOutcome::Stored(ids) => stored.push(ids),
            IngestOutcome::Duplicate(ids) => duplicates.push(ids),
        }
    }
    assert_eq!(
        stored.len(),
        1,
        "exactly one of 16 concurrent repeats is stored"
    );
    // A second burst: repeats of a key stored earlier, several of them in one batch.
    for t in burst() {
        match t.await.unwrap() {
            IngestOutcome::Stored(ids) => panic!("a repeat was stored again: {ids:?}"),
            IngestOutcome::Duplicate(ids) => duplicates.push(ids),
        }
    }
    assert_eq!(duplicates.len(), 31);
    assert!(
        duplicates.iter().all(|d| *d == stored[0]),
        "every duplicate points at the stored event: {duplicates:?}"
    );
    let page = store
        .list_events(&EventQuery {
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
}

async fn a_flood_is_stored_whole(backend: Backend) {
    let (store, _dir) = open(backend).await;
    // More at once than one SQLite statement takes (128 rows), so batches span several statements.
    let tasks: Vec<_> = (0..300)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let e = event(EventKind::LibraryNew, "radarr", Utc::now());
                let key = format!("idem:{}", i / 2); // pairs share a key: one of each pair is a repeat
                let dedupe = (i % 3 != 0).then_some((key.as_str(), 60_000));
                (
                    i,
                    store
                        .ingest(ingest(e, format!("body {i}").as_bytes(), dedupe))
                        .await
                        .unwrap(),
                )
            })
        })
        .collect();
    let mut stored = 0;
    for t in tasks {
        if let (_, IngestOutcome::Stored(ids)) = t.await.unwrap() {
            assert!(
                store.get_raw(&ids[0]).await.unwrap().is_some(),
                "stored events have their raw body"
            );
            stored += 1;
        }
    }
    let mut all = 0;
    let mut before = None;
    loop {
        let page = store
            .list_events(&EventQuery {
                limit: 500,
                before,
                ..Default::default()
            })
            .await
            .unwrap();
        all += page.items.len();
        match page.next {
            Some(next) => before = EventId::parse(&next),
            None => break,
        }
    }
    assert_eq!(
        all, stored,
        "what was answered Stored is exactly what is stored"
    );
    assert_eq!(store.outbox(1000).await.unwrap().len(), stored);
    assert!(
        stored > 150 && stored < 300,
        "repeats were recognised: {stored}"
    );
}

async fn listing_filters_and_pages(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let kinds = [
        EventKind::DownloadGrabbed,
        EventKind::LibraryNew,
        EventKind::UserAuthenticationFailed,
        EventKind::HealthIssue,
    ];
    let mut ids = Vec::new();
    for (i, kind) in kinds.iter().enumerate() {
        let e = event(
            *kind,
            if i % 2 == 0 { "radarr" } else { "sonarr" },
            t0() + Duration::minutes(i as i64),
        );
        ids.push(e.id.clone());
        store.ingest(ingest(e, b"{}", None)).await.unwrap();
    }
    let list = |q: EventQuery| {
        let store = store.clone();
        async move {
            store
                .list_events(&q)
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|e| e.id)
                .collect::<Vec<_>>()
        }
    };
    let q = |f: fn(&mut EventQuery)| {
        let mut q = EventQuery {
            limit: 50,
            ..Default::default()
        };
        f(&mut q);
        q
    };
    assert_eq!(
        list(q(|_| {})).await,
        ids.iter().rev().cloned().collect::<Vec<_>>()
    );
    assert_eq!(
        list(q(|q| q.events = vec!["library.*".into()])).await,
        vec![ids[1].clone()]
    );
    assert_eq!(
        list(q(|q| q.events = vec!["user.authentication_failed".into()])).await,
        vec![ids[2].clone()],
        "`_` in names is literal, not a LIKE wildcard"
    );
    assert_eq!(
        list(q(|q| q.events = vec!["user.authentication?failed".into()])).await,
        vec![]
    );
    assert_eq!(
        list(q(|q| q.source = Some("sonarr".into()))).await,
        vec![ids[3].clone(), ids[1].clone()]
    );
    assert_eq!(
        list(q(|q| {
            q.since = Some(t0() + Duration::minutes(1));
            q.until = Some(t0() + Duration::minutes(3));
        }))
        .await,
        vec![ids[2].clone(), ids[1].clone()]
    );
    assert_eq!(
        list(q(|q| q.q = Some("HEALTH.ISSUE".into()))).await,
        vec![ids[3].clone()],
        "text search ignores case"
    );
    let first = store
        .list_events(&EventQuery {
            limit: 3,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(first.items.len(), 3);
    let cursor = EventId::parse(&first.next.expect("more remain")).unwrap();
    let rest = store
        .list_events(&EventQuery {
            limit: 3,
            before: Some(cursor),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        rest.items.iter().map(|e| e.id.clone()).collect::<Vec<_>>(),
        vec![ids[0].clone()]
    );
    assert_eq!(rest.next, None);
}

async fn users_keys_and_sources(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let admin = store.create_user("admin", Role::Admin).await.unwrap();
    assert!(matches!(
        store.create_user("admin", Role::User).await,
        Err(StoreError::Conflict(_))
    ));
    let key = store
        .insert_api_key(&admin.id, "hash-1", "hk_abc", "laptop")
        .await
        .unwrap();
    let owner = store.find_key_owner("hash-1").await.unwrap().unwrap();
    assert_eq!(owner.user.name, "admin");
    assert_eq!(owner.key_id, key.id);
    assert_eq!(owner.last_used_at, None);
    let used = chrono::Utc::now();
    store.touch_api_key(&key.id, used).await.unwrap();
    let listed = store.list_api_keys(Some(&admin.id)).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, "laptop");
    assert_eq!(
        listed[0].last_used_at.map(|t| t.timestamp_millis()),
        Some(used.timestamp_millis())
    );
    let other = store.create_user("sarah", Role::User).await.unwrap();
    assert_eq!(
        store
            .delete_api_key(&key.id, Some(&other.id))
            .await
            .unwrap(),
        None,
        "a key is deleted only by its owner"
    );
    assert!(store.delete_user(&other.id).await.unwrap());
    assert!(store.get_user(&other.id).await.unwrap().is_none());
    assert!(store.find_key_owner("hash-2").await.unwrap().is_none());
    assert_eq!(
        store.find_user("admin").await.unwrap().map(|u| u.role),
        Some(Role::Admin)
    );
    assert_eq!(store.list_users().await.unwrap().len(), 1);

    let row = SourceRow {
        name: "radarr".into(),
        app: "radarr".into(),
        token: "t1".into(),
        allow_ips: Vec::new(),
        stored: false,
    };
    assert!(store.insert_source(&row).await.unwrap());
    let again = SourceRow {
        token: "t2".into(),
        ..row.clone()
    };
    assert!(
        !store.insert_source(&again).await.unwrap(),
        "an existing source keeps its token"
    );
    assert_eq!(store.list_sources().await.unwrap()[0].token, "t1");

    // Made through the API: a name taken is a conflict, its allow-list is kept, and only it may be deleted.
    let extra = SourceRow {
        name: "radarr-4k".into(),
        app: "radarr".into(),
        token: "t3".into(),
        allow_ips: vec!["10.0.0.0/8".into()],
        stored: true,
    };
    let generation = store.config_generation().await.unwrap();
    store.create_stored_source(&extra).await.unwrap();
    assert!(matches!(
        store.create_stored_source(&extra).await,
        Err(hookarr::storage::StoreError::Conflict(_))
    ));
    assert!(
        store.config_generation().await.unwrap() > generation,
        "other processes learn of it"
    );
    let listed = store.list_sources().await.unwrap();
    assert_eq!(listed[1], extra);
    assert!(
        store
            .set_source_allow_ips("radarr", &["192.168.1.0/24".into()])
            .await
            .unwrap()
    );
    assert_eq!(
        store.list_sources().await.unwrap()[0].allow_ips,
        ["192.168.1.0/24"]
    );
    assert!(
        !store.delete_stored_source("radarr").await.unwrap(),
        "a built-in stays"
    );
    assert!(store.delete_stored_source("radarr-4k").await.unwrap());
    assert_eq!(store.list_sources().await.unwrap().len(), 1);
}

async fn rejected_bodies_are_kept_and_old_data_purged(backend: Backend) {
    let (store, _dir) = open(backend).await;
    for (at, body) in [
        (t0() - Duration::days(40), b"{old".to_vec()),
        (t0(), b"{oops".to_vec()),
    ] {
        store
            .insert_rejected(Rejected {
                id: hookarr::event::new_prefixed_id("rej"),
                source: "radarr".into(),
                received_at: at,
                reason: "the body is not valid JSON".into(),
                raw: RawRequest {
                    content_type: None,
                    headers: vec![],
                    body,
                },
            })
            .await
            .unwrap();
    }
    let page = store.list_rejected(None, 10).await.unwrap();
    assert_eq!(
        (page.items.len(), page.items[0].body.as_str()),
        (2, "{oops"),
        "newest first"
    );

    let old = event(EventKind::LibraryNew, "radarr", t0() - Duration::days(40));
    let new = event(EventKind::LibraryNew, "radarr", t0());
    store
        .ingest(ingest(old.clone(), b"old", Some(("k-old", 1000))))
        .await
        .unwrap();
    store
        .ingest(ingest(new.clone(), b"new", None))
        .await
        .unwrap();
    let audit = |at| hookarr::storage::AuditEntry {
        id: hookarr::event::new_prefixed_id("aud"),
        at,
        actor_id: "usr_a".into(),
        actor_name: "a".into(),
        action: "webhook.created".into(),
        target_kind: "webhook".into(),
        target_id: "wh_a".into(),
        owner_id: None,
        address: None,
        detail: serde_json::Value::Null,
    };
    store
        .record_audit(&audit(t0() - Duration::days(40)))
        .await
        .unwrap();
    store.record_audit(&audit(t0())).await.unwrap();
    let purged = store
        .purge(&PurgeBefore {
            events: t0() - Duration::days(30),
            progress: t0() - Duration::days(30),
            dedupe_keys: t0() - Duration::minutes(1),
            sessions: t0() - Duration::days(1),
        })
        .await
        .unwrap();
    assert_eq!(purged, 1);
    assert_eq!(store.get_event(&old.id).await.unwrap(), None);
    assert!(
        store.get_raw(&old.id).await.unwrap().is_none(),
        "raw bodies go with their event"
    );
    assert_eq!(
        store.outbox(10).await.unwrap(),
        vec![new.id.clone()],
        "outbox rows go with their event"
    );
    assert!(store.get_event(&new.id).await.unwrap().is_some());
    let left = store.list_rejected(None, 10).await.unwrap().items;
    assert_eq!(
        left.iter().map(|r| r.body.as_str()).collect::<Vec<_>>(),
        ["{oops"],
        "old rejected bodies are purged too"
    );
    let kept = store.list_audit(None, None, 10).await.unwrap().items;
    assert_eq!(kept.len(), 1, "the audit log follows the retention");
    assert_eq!(kept[0].at.timestamp_millis(), t0().timestamp_millis());
}

/// Runs each contract test on both back-ends.
/// Routes `n` events, each to destination `d`, and returns the deliveries' ids in event order.
async fn routed(store: &Arc<dyn Store>, n: usize) -> Vec<String> {
    for i in 0..n {
        let e = event(
            EventKind::LibraryNew,
            "radarr",
            t0() + Duration::seconds(i as i64),
        );
        store.ingest(ingest(e, b"{}", None)).await.unwrap();
    }
    let route = |e: &Event| {
        vec![NewDelivery {
            id: hookarr::event::new_prefixed_id("dlv"),
            event_id: e.id.clone(),
            event: e.event.as_str().into(),
            destination: "d".into(),
            created_at: Utc::now(),
            due_at: Utc::now(),
            expires_at: None,
            group_key: None,
        }]
    };
    assert_eq!(store.route_outbox(500, &route).await.unwrap(), n);
    assert!(
        store.outbox(10).await.unwrap().is_empty(),
        "routing empties the outbox"
    );
    assert_eq!(store.route_outbox(500, &route).await.unwrap(), 0);
    let page = store
        .list_deliveries(&DeliveryQuery {
            limit: 500,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut ids: Vec<String> = page.items.iter().map(|d| d.id.clone()).collect();
    ids.reverse();
    ids
}

fn finish(
    id: &str,
    status: DeliveryStatus,
    attempts: u32,
    next: Option<chrono::DateTime<Utc>>,
) -> DeliveryResult {
    DeliveryResult {
        id: id.into(),
        destination: "d".into(),
        status,
        attempts,
        next_attempt_at: next,
        last_status: Some(503),
        last_error: (status != DeliveryStatus::Succeeded).then(|| "HTTP 503".into()),
        logged: vec![AttemptRow {
            attempt: attempts,
            started_at: Utc::now(),
            duration_ms: 3,
            outcome: hookarr::storage::AttemptOutcome::Retry,
            status_code: Some(503),
            response_headers: serde_json::json!({"retry-after": "5"})
                .as_object()
                .unwrap()
                .clone(),
            response_body: Some("busy".into()),
            error: None,
            request_body: Some(r#"{"sent": true}"#.into()),
        }],
        at: Utc::now(),
    }
}

async fn claims_lease_due_deliveries_oldest_first_and_leases_expire(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let ids = routed(&store, 5).await;
    let now = Utc::now();
    let lease = now + Duration::seconds(60);
    let first = store.claim_due("w1", now, lease, 2).await.unwrap();
    let got: Vec<&str> = first.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(got, [ids[0].as_str(), ids[1].as_str()], "oldest first");
    assert_eq!(
        first[0].event.event,
        EventKind::LibraryNew,
        "the event comes with it"
    );
    let second = store.claim_due("w2", now, lease, 10).await.unwrap();
    assert_eq!(second.len(), 3, "leased rows are not claimed twice");
    assert!(
        store
            .claim_due("w3", now, lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // A worker that died never finishes: after its lease the rows are due again.
    let after = store
        .claim_due(
            "w3",
            lease + Duration::seconds(1),
            lease + Duration::seconds(61),
            10,
        )
        .await
        .unwrap();
    assert_eq!(after.len(), 5);
    // Retry later, succeed, die: each is written back with its attempt.
    let later = now + Duration::seconds(30);
    store
        .finish(&[
            finish(&ids[0], DeliveryStatus::Pending, 1, Some(later)),
            finish(&ids[1], DeliveryStatus::Succeeded, 1, None),
            finish(&ids[2], DeliveryStatus::Dead, 8, None),
        ])
        .await
        .unwrap();
    let d0 = store.get_delivery(&ids[0]).await.unwrap().unwrap();
    assert_eq!(
        (d0.status, d0.attempts, d0.last_status),
        (DeliveryStatus::Pending, 1, Some(503))
    );
    assert_eq!(
        d0.next_attempt_at.map(|t| t.timestamp_millis()),
        Some(later.timestamp_millis())
    );
    let attempts = store.attempts(&ids[0]).await.unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].response_headers["retry-after"], "5");
    assert_eq!(attempts[0].response_body.as_deref(), Some("busy"));
    assert_eq!(
        attempts[0].request_body.as_deref(),
        Some(r#"{"sent": true}"#)
    );
    assert!(
        store
            .claim_due("w4", now + Duration::seconds(29), later, 10)
            .await
            .unwrap()
            .iter()
            .all(|c| c.id != ids[0])
    );
    // Retry: only finished ones, with a fresh schedule.
    assert_eq!(
        store
            .retry_deliveries(Some(&ids[1]), None, now)
            .await
            .unwrap(),
        0,
        "succeeded is not retried"
    );
    assert_eq!(
        store
            .retry_deliveries(Some(&ids[2]), None, now)
            .await
            .unwrap(),
        1
    );
    // Its attempts still count (and its next ones are logged after them); its retry schedule starts over.
    let d2 = store.get_delivery(&ids[2]).await.unwrap().unwrap();
    assert_eq!((d2.status, d2.attempts), (DeliveryStatus::Pending, 8));
    let claimed = store
        .claim_due("w5", now + Duration::seconds(1), later, 10)
        .await
        .unwrap();
    let again = claimed.iter().find(|c| c.id == ids[2]).expect("due again");
    assert_eq!(again.attempts, 0, "a fresh schedule");
    let counts = store.delivery_counts().await.unwrap();
    let count = |st: DeliveryStatus| {
        counts
            .iter()
            .find(|c| c.status == st)
            .map_or(0, |c| c.count)
    };
    assert_eq!(count(DeliveryStatus::Succeeded), 1);
    assert_eq!(count(DeliveryStatus::Pending), 4);
    let states = store.destination_states().await.unwrap();
    assert!(states[0].last_success_at.is_some() && states[0].last_error.is_some());
    // Purging the events takes their deliveries and attempts with them.
    store
        .purge(&PurgeBefore {
            events: Utc::now() + Duration::days(1),
            progress: Utc::now() + Duration::days(1),
            dedupe_keys: Utc::now(),
            sessions: Utc::now() - Duration::days(1),
        })
        .await
        .unwrap();
    assert!(store.get_delivery(&ids[0]).await.unwrap().is_none());
    assert!(store.attempts(&ids[0]).await.unwrap().is_empty());
}

async fn destination_state_and_secrets_persist(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let s1 = store
        .destination_secret("hook", "whsec_first")
        .await
        .unwrap();
    let s2 = store
        .destination_secret("hook", "whsec_second")
        .await
        .unwrap();
    assert_eq!(
        (s1.as_str(), s2.as_str()),
        ("whsec_first", "whsec_first"),
        "generated once, then kept"
    );
    let until = Utc::now() + Duration::seconds(30);
    store
        .set_destination_paused("hook", Some(until))
        .await
        .unwrap();
    store
        .set_destination_disabled("hook", Some(("gone", Utc::now())))
        .await
        .unwrap();
    let st = store.destination_states().await.unwrap();
    assert_eq!(st[0].disabled_reason.as_deref(), Some("gone"));
    assert!(st[0].paused_until.is_some());
    store.set_destination_disabled("hook", None).await.unwrap();
    let st = store.destination_states().await.unwrap();
    assert!(
        st[0].disabled_at.is_none() && st[0].paused_until.is_none(),
        "re-enabling lifts the pause"
    );
}

/// Copies of one playback notification racing each other (one per user in a Jellyfin session, several
/// processes on PostgreSQL) produce exactly one event; the state then drives pause/resume and is purged
/// a day after its last notification.
async fn playback_sessions_tell_each_play_once(backend: Backend) {
    use hookarr::playback::{Action, Outcome, Signal};
    let (store, _dir) = open(backend).await;
    let signal = |action, position_ms| Signal {
        session: "5b1d9f0e3a7c4e2b8d6f1a3c5e7b9d0f".into(),
        item: "f1e2d3c4b5a6478899aabbccddeeff00".into(),
        action,
        position_ms: Some(position_ms),
    };
    let copies: Vec<_> = (0..16)
        .map(|_| {
            let store = store.clone();
            let start = signal(Action::Start, 0);
            tokio::spawn(async move {
                let id = EventId::new();
                let outcome = store
                    .playback_transition("jellyfin", &start, &id, t0(), 60_000)
                    .await
                    .unwrap();
                (id, outcome)
            })
        })
        .collect();
    let mut emitted = Vec::new();
    let mut duplicates = Vec::new();
    for copy in copies {
        match copy.await.unwrap() {
            (id, Outcome::Emit(kind, _)) => emitted.push((id, kind)),
            (_, Outcome::Duplicate(first)) => duplicates.push(first),
        }
    }
    assert_eq!(emitted.len(), 1, "one start of 16 copies: {emitted:?}");
    assert_eq!(emitted[0].1, EventKind::PlaybackStart);
    assert_eq!(duplicates.len(), 15);
    assert!(duplicates.iter().all(|d| *d == emitted[0].0));

    let at = |secs| t0() + Duration::seconds(secs);
    let kind_of = |outcome: Outcome| match outcome {
        Outcome::Emit(kind, _) => kind.as_str().to_owned(),
        Outcome::Duplicate(_) => "duplicate".to_owned(),
    };
    let paused = signal(Action::Progress { paused: true }, 30_000);
    let outcome = store
        .playback_transition("jellyfin", &paused, &EventId::new(), at(10), 60_000)
        .await
        .unwrap();
    assert_eq!(kind_of(outcome), "playback.pause");
    // The same session and item from another source is another session.
    let outcome = store
        .playback_transition(
            "jellyfin-2",
            &signal(Action::Start, 0),
            &EventId::new(),
            at(11),
            60_000,
        )
        .await
        .unwrap();
    assert_eq!(kind_of(outcome), "playback.start");
    // Sessions last heard of before the cut-off are purged: a resume then has no pause to end.
    let playing = signal(Action::Progress { paused: false }, 30_000);
    store
        .purge(&PurgeBefore {
            events: t0() - Duration::days(30),
            progress: t0() - Duration::days(30),
            dedupe_keys: t0(),
            sessions: at(12),
        })
        .await
        .unwrap();
    let outcome = store
        .playback_transition("jellyfin", &playing, &EventId::new(), at(13), 60_000)
        .await
        .unwrap();
    assert_eq!(kind_of(outcome), "playback.progress");
}

/// A chore (the hourly purge) is done by one process per turn: of claims racing for a turn exactly one wins,
/// and the next turn comes only after its interval.
async fn a_chore_is_claimed_once_per_turn(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let every = std::time::Duration::from_secs(3600);
    let now = Utc::now();
    assert!(store.claim_chore("a-chore", every, now).await.unwrap());
    assert!(
        !store
            .claim_chore("a-chore", every, now + Duration::minutes(30))
            .await
            .unwrap()
    );
    assert!(
        store.claim_chore("other", every, now).await.unwrap(),
        "chores are apart"
    );
    let later = now + Duration::minutes(61);
    let racing = (0..8).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.claim_chore("a-chore", every, later).await.unwrap() })
    });
    let mut won = 0;
    for r in racing {
        won += usize::from(r.await.unwrap());
    }
    assert_eq!(won, 1, "one claim of the racing eight");
}

/// The rate budget several processes share: the burst, then one per period, and the wait said.
async fn a_rate_budget_grants_its_burst_then_one_per_period(backend: Backend) {
    use hookarr::storage::Lease;
    let (store, _dir) = open(backend).await;
    let now = 1_000_000_000_000i64;
    let lease = |want, at| {
        let store = store.clone();
        async move {
            store
                .lease_sends("paced", want, 100_000, 2, at)
                .await
                .unwrap()
        }
    };
    assert_eq!(lease(5, now).await, Lease::Granted(2), "the burst");
    assert_eq!(lease(1, now).await, Lease::WaitMicros(100_000));
    assert_eq!(
        lease(3, now + 100_000).await,
        Lease::Granted(1),
        "one period later, one"
    );
}

/// `playback.progress` reports go at their own, shorter retention; every other event keeps the long one.
async fn progress_reports_are_purged_sooner(backend: Backend) {
    let (store, _dir) = open(backend).await;
    let three_days = t0() - Duration::days(3);
    let old_progress = event(EventKind::PlaybackProgress, "jellyfin", three_days);
    let old_start = event(EventKind::PlaybackStart, "jellyfin", three_days);
    let new_progress = event(
        EventKind::PlaybackProgress,
        "jellyfin",
        t0() - Duration::hours(1),
    );
    for (e, body) in [
        (&old_progress, b"a".as_slice()),
        (&old_start, b"b"),
        (&new_progress, b"c"),
    ] {
        store.ingest(ingest(e.clone(), body, None)).await.unwrap();
    }
    let purged = store
        .purge(&PurgeBefore {
            events: t0() - Duration::days(30),
            progress: t0() - Duration::days(2),
            dedupe_keys: t0(),
            sessions: t0() - Duration::days(1),
        })
        .await
        .unwrap();
    assert_eq!(purged, 1);
    assert_eq!(store.get_event(&old_progress.id).await.unwrap(), None);
    assert!(store.get_event(&old_start.id).await.unwrap().is_some());
    assert!(store.get_event(&new_progress.id).await.unwrap().is_some());
}

both_backends!(
    a_chore_is_claimed_once_per_turn,
    progress_reports_are_purged_sooner,
    a_rate_budget_grants_its_burst_then_one_per_period,
    claims_lease_due_deliveries_oldest_first_and_leases_expire,
    destination_state_and_secrets_persist,
    ingest_commits_event_raw_and_outbox_together,
    dedupe_holds_within_the_window_only,
    concurrent_repeats_store_exactly_one,
    a_flood_is_stored_whole,
    listing_filters_and_pages,
    users_keys_and_sources,
    rejected_bodies_are_kept_and_old_data_purged,
    playback_sessions_tell_each_play_once,
);
