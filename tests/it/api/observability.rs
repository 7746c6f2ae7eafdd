//! What an operator watches: `/metrics` in Prometheus text (counters, the attempt histogram, queue and
//! destination gauges, process gauges), and the audit log of API changes (who, what, from where; a user
//! sees their own; never a secret).

use super::*;
use crate::helpers::{Backend, fixture};
use crate::receiver::Receiver;

/// The value of the sample of `metric` that carries every label of `labels` (`name="value"` pairs).
fn sample(text: &str, metric: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.split(['{', ' '])
                .next()
                .is_some_and(|name| name == metric)
        })
        .find(|l| labels.iter().all(|want| l.contains(want)))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

#[tokio::test]
async fn metrics_count_what_came_in_and_went_out() {
    let rx = Receiver::start().await;
    let url = rx.url("/metrics-sink");
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.destinations = vec![
            serde_norway::from_str(&format!(
                "{{name: metrics-sink, type: webhook, url: '{url}'}}"
            ))
            .unwrap(),
        ];
    })
    .await;
    let (s, _) = app.post_hook("radarr", &fixture("radarr", "grab")).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    rx.wait_for(1).await;
    let wrong = app
        .client
        .post(format!("{}/hooks/radarr?token=wrong", app.base))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    // The delivery's result is written back a moment after the receiver answered.
    let dest = r#"destination="metrics-sink""#;
    let mut text = String::new();
    for _ in 0..100 {
        let resp = app
            .client
            .get(format!("{}/metrics", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "loopback needs no key");
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        text = resp.text().await.unwrap();
        let delivered = sample(
            &text,
            "hookarr_deliveries_total",
            &[dest, r#"outcome="succeeded""#],
        );
        let recorded = sample(&text, "hookarr_delivery_result_lag_seconds_count", &[]);
        if delivered.is_some() && recorded.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let received = sample(
        &text,
        "hookarr_events_received_total",
        &[r#"source="radarr""#, r#"event="download.grabbed""#],
    );
    assert!(received.is_some_and(|n| n >= 1.0), "{text}");
    let rejected = sample(
        &text,
        "hookarr_events_rejected_total",
        &[r#"source="radarr""#, r#"reason="unauthorized""#],
    );
    assert!(rejected.is_some_and(|n| n >= 1.0), "{text}");
    assert_eq!(
        sample(
            &text,
            "hookarr_deliveries_total",
            &[dest, r#"type="webhook""#, r#"outcome="succeeded""#]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "hookarr_delivery_attempt_duration_seconds_count",
            &[dest]
        ),
        Some(1.0),
        "{text}"
    );
    assert!(
        sample(
            &text,
            "hookarr_delivery_attempt_duration_seconds_bucket",
            &[dest, r#"le="+Inf""#]
        )
        .is_some()
    );
    // How long the result waited to be stored after its answer (the window a crash would repeat).
    assert!(
        sample(&text, "hookarr_delivery_result_lag_seconds_count", &[]).is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert_eq!(sample(&text, "hookarr_destination_up", &[dest]), Some(1.0));
    assert_eq!(
        sample(&text, "hookarr_destination_paused", &[dest]),
        Some(0.0)
    );
    for state in ["pending", "due", "dead", "failed", "unrouted"] {
        let label = format!(r#"state="{state}""#);
        assert!(
            sample(&text, "hookarr_queue_depth", &[&label]).is_some(),
            "{state}: {text}"
        );
    }
    assert!(sample(&text, "hookarr_queue_oldest_due_age_seconds", &[]).is_some());
    assert!(sample(&text, "process_resident_memory_bytes", &[]).is_some_and(|b| b > 0.0));
    assert!(sample(&text, "process_open_fds", &[]).is_some_and(|n| n > 0.0));
    app.stop().await;
}

async fn the_audit_log_says_who_changed_what_from_where(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.api.allow_private_targets = true).await;
    let alice = member(&app, "alice").await;
    let bob = member(&app, "bob").await;
    let hook = register(&app, &alice.key, json!({"url": "http://127.0.0.1:9/audit"})).await;
    let path = format!("/api/webhooks/{}", hook["id"].as_str().unwrap());
    let (s, rotated) = app
        .call(
            Method::POST,
            &format!("{path}/rotate-secret"),
            Some(&alice.key),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app
        .call(
            Method::PATCH,
            &path,
            Some(ADMIN_KEY),
            Some(&json!({"description": "by the admin"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app
        .call(Method::DELETE, &path, Some(&alice.key), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    // The admin makes alice a key and deletes it: both are in her audit, not only the admin's.
    let (s, key) = app
        .call(
            Method::POST,
            "/api/keys",
            Some(ADMIN_KEY),
            Some(&json!({"user_id": alice.id, "name": "spare"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let key_path = format!("/api/keys/{}", key["id"].as_str().unwrap());
    let (s, _) = app
        .call(Method::DELETE, &key_path, Some(ADMIN_KEY), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    let (s, own) = app
        .call(Method::GET, "/api/audit", Some(&alice.key), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{own}");
    let actions: Vec<(&str, &str)> = own["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["actor"]["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        vec![
            ("key.deleted", "admin (config key)"),
            ("key.created", "admin (config key)"),
            ("webhook.deleted", "alice"),
            ("webhook.changed", "admin (config key)"),
            ("webhook.secret_rotated", "alice"),
            ("webhook.created", "alice"),
            ("key.created", "admin (config key)"),
            ("user.created", "admin (config key)"),
        ],
        "alice sees what she did and what was done to hers: {own}"
    );
    assert_eq!(own["items"][0]["target"]["id"], key["id"]);
    assert_eq!(own["items"][0]["target"]["owner_id"], alice.id.as_str());
    let deleted = &own["items"][2];
    assert_eq!(deleted["address"], "127.0.0.1");
    assert_eq!(deleted["target"]["id"], hook["id"]);
    assert_eq!(own["items"][3]["detail"]["fields"], json!(["description"]));

    let (_, theirs) = app
        .call(Method::GET, "/api/audit", Some(&bob.key), None)
        .await;
    let text = theirs.to_string();
    assert!(
        !text.contains(hook["id"].as_str().unwrap()),
        "bob sees none of alice's: {text}"
    );
    let (_, all) = app
        .call(Method::GET, "/api/audit", Some(ADMIN_KEY), None)
        .await;
    let text = all.to_string();
    assert!(
        text.contains("webhook.secret_rotated") && text.contains(&bob.id),
        "{text}"
    );
    for secret in [&hook["secret"], &rotated["secret"]] {
        assert!(
            !text.contains(secret.as_str().unwrap()),
            "a secret in the audit log"
        );
    }
    assert!(
        !text.contains(&alice.key) && !text.contains(&bob.key),
        "a key in the audit log"
    );
    app.stop().await;
}

both_backends!(the_audit_log_says_who_changed_what_from_where);

#[tokio::test]
async fn stats_sum_up_each_destination_and_each_user_sees_their_own() {
    let flaky = Receiver::start().await;
    flaky.script([crate::receiver::Reply::status(500)]);
    let steady = Receiver::start().await;
    let url = flaky.url("/stats-sink");
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.api.allow_private_targets = true;
        c.destinations = vec![
            serde_norway::from_str(&format!(
                "{{name: stats-sink, type: webhook, url: '{url}', retry: {{max_attempts: 3, schedule: [0s, 0s, 0s]}}}}"
            ))
            .unwrap(),
        ];
    })
    .await;
    let alice = member(&app, "alice").await;
    let bob = member(&app, "bob").await;
    let hook = register(
        &app,
        &alice.key,
        json!({"url": steady.url("/alice"), "events": ["download.*"]}),
    )
    .await;
    let (s, _) = app.post_hook("radarr", &fixture("radarr", "grab")).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    flaky.wait_for(2).await;
    steady.wait_for(1).await;
    let all = app
        .wait_api("/api/stats", |b| {
            b["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["destination"] == "stats-sink")
                .is_some_and(|i| i["last_hour"]["succeeded"] == 1)
        })
        .await;
    let items = all["items"].as_array().unwrap();
    let sink = items
        .iter()
        .find(|i| i["destination"] == "stats-sink")
        .unwrap();
    assert_eq!(sink["last_hour"]["attempts"], 2, "{sink}");
    assert_eq!(sink["last_hour"]["retries"], 1);
    assert_eq!(sink["last_hour"]["success_rate"], 0.5);
    assert!(sink["last_hour"]["p95_ms"].is_u64());
    assert_eq!(sink["last_day"], sink["last_hour"]);
    assert_eq!(sink["queue_depth"], 0);
    assert!(
        items.iter().any(|i| i["destination"] == hook["id"]),
        "{all}"
    );

    let (s, own) = app
        .call(Method::GET, "/api/stats", Some(&alice.key), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let own = own["items"].as_array().unwrap();
    assert_eq!(own.len(), 1, "only her webhook: {own:?}");
    assert_eq!(own[0]["destination"], hook["id"]);
    assert_eq!(own[0]["last_hour"]["succeeded"], 1);
    let (_, theirs) = app
        .call(Method::GET, "/api/stats", Some(&bob.key), None)
        .await;
    assert_eq!(theirs["items"], json!([]), "bob has no webhook");
    app.stop().await;
}
