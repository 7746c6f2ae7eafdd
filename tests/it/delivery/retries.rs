//! When the target fails: retries on the schedule, 429 pauses (also Discord's global one), disabling a gone
//! target, dead letters and manual retry, expiry, redirects, timeouts, resets and garbage.

use super::*;

#[tokio::test]
async fn transient_failures_are_retried_on_the_schedule_and_every_attempt_is_logged() {
    let rx = Receiver::start().await;
    rx.script([
        Reply::status(500).body("boom"),
        Reply::status(503).header("retry-after", "0"),
    ]);
    let d = dest(&format!(
        "name: hook\ntype: webhook\nurl: {}\nsigning: none\nretry: {{max_attempts: 5, schedule: [0s, 0s, 0s]}}\n",
        rx.url("/x")
    ));
    let app = app_with(Backend::Sqlite, vec![d], |_| {}).await;
    let event_id = post_download(&app).await;
    let deliveries = settled(&app, &event_id).await;
    assert_eq!(deliveries[0]["status"], "succeeded");
    let got = rx.got();
    assert_eq!(got.len(), 3);
    assert!(
        got.iter()
            .all(|g| g.header("x-hookarr-delivery") == deliveries[0]["id"]),
        "same delivery id on every retry"
    );
    let one = delivery(&app, &deliveries[0]).await;
    let attempts = one["attempts"].as_array().unwrap();
    let outcomes: Vec<&str> = attempts
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["retry", "retry", "succeeded"]);
    assert_eq!(attempts[0]["status_code"], 500);
    assert_eq!(attempts[0]["response_body"], "boom");
    assert_eq!(attempts[1]["response_headers"]["retry-after"], "0");
    app.stop().await;
}

#[tokio::test]
async fn a_429_pauses_the_destination_until_retry_after() {
    let rx = Receiver::start().await;
    rx.script([Reply::status(429)
        .header("retry-after", "1")
        .body(r#"{"retry_after": 1.0, "global": false}"#)]);
    let d = dest(&format!(
        "name: discord\ntype: discord\nurl: {}\n",
        rx.url("/api/webhooks/1/t")
    ));
    let app = app_with(Backend::Sqlite, vec![d], |_| {}).await;
    rx.set_default(Reply::status(200).body("{}"));
    let event_id = post_download(&app).await;
    let deliveries = settled(&app, &event_id).await;
    assert_eq!(deliveries[0]["status"], "succeeded");
    let one = delivery(&app, &deliveries[0]).await;
    let attempts = one["attempts"].as_array().unwrap();
    assert_eq!(attempts[0]["outcome"], "rate_limited");
    assert_eq!(attempts[1]["outcome"], "succeeded");
    let t = |a: &Value| {
        chrono::DateTime::parse_from_rfc3339(a["started_at"].as_str().unwrap()).unwrap()
    };
    assert!(
        t(&attempts[1]) - t(&attempts[0]) >= chrono::Duration::milliseconds(990),
        "the pause was honoured: {attempts:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_gone_target_is_disabled_alerted_and_held_until_re_enabled() {
    let rx = Receiver::start().await;
    rx.script([Reply::status(410)]);
    let d = dest(&format!(
        "name: hook\ntype: webhook\nurl: {}\nsigning: none\n",
        rx.url("/x")
    ));
    let app = manual_app_with(Backend::Sqlite, vec![d], |_| {}).await;
    let first = post_download(&app).await;
    assert_eq!(settled(&app, &first).await[0]["status"], "failed");
    let (_, dest) = app.api_get("/api/destinations/hook").await;
    assert_eq!(dest["enabled"], false, "{dest}");
    assert!(dest["disabled_reason"].as_str().unwrap().contains("410"));
    let (_, alerts) = app.api_get("/api/events?event=hookarr.*").await;
    assert_eq!(alerts["items"][0]["event"], "hookarr.destination_disabled");
    // While disabled, events are not routed to it (CONTRACT §5: enabled destinations only); a replay sends
    // what it missed once it is back.
    let (_, body) = app.post_hook("radarr", &fixture("radarr", "grab")).await;
    let second = body["events"][0].as_str().unwrap().to_owned();
    // Routed while the destination is disabled: to nothing.
    assert_eq!(app.deliver_pending().await, 0);
    let (status, enabled) = app
        .api_post("/api/destinations/hook/enable", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{enabled}");
    assert_eq!(enabled["enabled"], true);
    let (status, _) = app
        .api_post(&format!("/api/events/{second}/replay"), json!({}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(settled(&app, &second).await[0]["status"], "succeeded");
    let sent: Vec<String> = rx
        .got()
        .iter()
        .map(|g| g.header("x-hookarr-event").to_owned())
        .collect();
    assert_eq!(sent.len(), 2, "{sent:?}");
    app.stop().await;
}

#[tokio::test]
async fn exhausted_retries_dead_letter_then_manual_and_bulk_retry_deliver() {
    let rx = Receiver::start().await;
    rx.set_default(Reply::status(500));
    let d = dest(&format!(
        // Not `*`: the dead-letter alerts must not be routed here too (they would die as well).
        "name: hook\ntype: webhook\nurl: {}\nsigning: none\nevents: [\"download.*\", \"library.*\"]\nretry: {{max_attempts: 2, schedule: [0s]}}\n",
        rx.url("/x")
    ));
    let app = app_with(Backend::Sqlite, vec![d], |_| {}).await;
    let first = post_download(&app).await;
    let (_, body) = app.post_hook("radarr", &fixture("radarr", "grab")).await;
    let second = body["events"][0].as_str().unwrap().to_owned();
    let dead = settled(&app, &first).await;
    assert_eq!(dead[0]["status"], "dead");
    assert_eq!(dead[0]["attempts"], 2);
    assert_eq!(settled(&app, &second).await[0]["status"], "dead");
    let alerts = app
        .wait_api("/api/events?event=hookarr.delivery_dead", |b| {
            b["items"].as_array().unwrap().len() >= 2
        })
        .await;
    assert!(
        alerts["items"][0]["summary"]
            .as_str()
            .unwrap()
            .contains("dead after 2 attempts")
    );
    let (_, listed) = app.api_get("/api/deliveries?status=dead").await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);
    // Not retryable while it succeeded or is pending: a clear 409.
    rx.set_default(Reply::status(204));
    let id = dead[0]["id"].as_str().unwrap();
    let (status, _) = app
        .api_post(&format!("/api/deliveries/{id}/retry"), json!({}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(settled(&app, &first).await[0]["status"], "succeeded");
    // The retry's attempt is logged after the two before it, and counted with them.
    let (_, one) = app.api_get(&format!("/api/deliveries/{id}")).await;
    let numbers: Vec<u64> = one["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["attempt"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [1, 2, 3], "{one}");
    assert_eq!(one["attempts"][2]["outcome"], "succeeded");
    let (_, listed) = app.api_get(&format!("/api/deliveries?event={first}")).await;
    assert_eq!(listed["items"][0]["attempts"], 3);
    let (status, body) = app
        .api_post(&format!("/api/deliveries/{id}/retry"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = app
        .api_post(
            "/api/deliveries/retry",
            json!({"status": "dead", "destination": "hook"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body["retried"], 1);
    assert_eq!(settled(&app, &second).await[0]["status"], "succeeded");
    let (status, body) = app
        .api_post("/api/deliveries/retry", json!({"status": "bogus"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    app.stop().await;
}

#[tokio::test]
async fn expired_deliveries_are_not_sent_late() {
    // The first attempt fails at once; the retry falls due after the delivery's expiry, so it is not sent.
    let rx = Receiver::start().await;
    rx.set_default(Reply::status(503));
    let d = dest(&format!(
        "name: hook\ntype: webhook\nurl: {}\nsigning: none\nexpire_after: 1s\nretry: {{max_attempts: 5, schedule: [2s]}}\n",
        rx.url("/x")
    ));
    let app = app_with(Backend::Sqlite, vec![d], |_| {}).await;
    let id = post_download(&app).await;
    let d = settled(&app, &id).await;
    assert_eq!(d[0]["status"], "expired");
    let one = delivery(&app, &d[0]).await;
    let outcomes = outcomes(&one);
    assert_eq!(outcomes, ["retry", "expired"]);
    assert_eq!(rx.got().len(), 1, "sent once, never late");
    app.stop().await;
}

#[tokio::test]
async fn redirects_are_not_followed_and_unreachable_targets_are_retried() {
    let rx = Receiver::start().await;
    rx.set_default(Reply::status(302).header("location", &rx.url("/elsewhere")));
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dests = vec![
        dest(&format!(
            "name: redirect\ntype: webhook\nurl: {}\nsigning: none\n",
            rx.url("/x")
        )),
        dest(&format!(
            "name: down\ntype: webhook\nurl: http://127.0.0.1:{closed}/x\nsigning: none\nretry: {{max_attempts: 3, schedule: [0s, 1h]}}\n"
        )),
    ];
    let app = app_with(Backend::Sqlite, dests, |_| {}).await;
    let id = post_download(&app).await;
    let d = app
        .wait_api(&format!("/api/deliveries?event={id}"), |b| {
            let items = b["items"].as_array().unwrap();
            items.len() == 2
                && items
                    .iter()
                    .all(|d| d["status"] != "pending" || d["attempts"].as_u64() >= Some(1))
        })
        .await;
    let by = |n: &str| {
        d["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["destination"] == n)
            .unwrap()
            .clone()
    };
    assert_eq!(by("redirect")["status"], "failed");
    assert_eq!(by("redirect")["last_status"], 302);
    assert_eq!(rx.got().len(), 1, "the redirect was not followed");
    let down = by("down");
    assert_eq!(down["status"], "pending");
    assert!(
        down["last_error"]
            .as_str()
            .unwrap()
            .starts_with("connection refused by 127.0.0.1:"),
        "the error names the refusing host and port: {down}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_target_that_hangs_times_out_and_is_retried_later() {
    let rx = Receiver::start().await;
    rx.set_default(Reply::status(204).delay(std::time::Duration::from_secs(5)));
    let d = dest(&format!(
        "name: slow\ntype: webhook\nurl: {}\nsigning: none\n",
        rx.url("/slow")
    ));
    let app = app_with(Backend::Sqlite, vec![d], |cfg| {
        cfg.delivery.timeout_secs = 1
    })
    .await;
    let id = post_download(&app).await;
    let body = app
        .wait_api(&format!("/api/deliveries?event={id}"), |b| {
            b["items"][0]["attempts"].as_u64() == Some(1)
        })
        .await;
    let d = &body["items"][0];
    assert_eq!(d["status"], "pending", "a timeout is retried: {d}");
    assert!(
        d["last_error"].as_str().unwrap().contains("timed out"),
        "{d}"
    );
    let one = delivery(&app, d).await;
    let a = &one["attempts"][0];
    assert_eq!(a["outcome"], "retry");
    assert_eq!(a["status_code"], Value::Null);
    assert!(a["duration_ms"].as_u64().unwrap() >= 900, "{a}");
    app.stop().await;
}

/// Targets that reset the connection or answer bytes that are not HTTP: the attempt fails with the reason,
/// the delivery waits for its retry, nothing crashes.
#[tokio::test]
async fn resets_and_garbage_are_retried_with_the_reason() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let serve = |answer: &'static [u8]| async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let _ = sock.write_all(answer).await;
                // Dropped at once: a reset (or a close mid-answer).
            }
        });
        port
    };
    let reset = serve(b"").await;
    let garbage = serve(b"\x00\x01garbage that is not HTTP\r\n\r\n").await;
    let retry = "retry: {max_attempts: 3, schedule: [0s, 1h]}";
    let dests = vec![
        dest(&format!(
            "name: reset\ntype: webhook\nurl: http://127.0.0.1:{reset}/x\nsigning: none\n{retry}\n"
        )),
        dest(&format!(
            "name: garbage\ntype: webhook\nurl: http://127.0.0.1:{garbage}/x\nsigning: none\n{retry}\n"
        )),
    ];
    let app = app_with(Backend::Sqlite, dests, |_| {}).await;
    let id = post_download(&app).await;
    let body = app
        .wait_api(&format!("/api/deliveries?event={id}"), |b| {
            let items = b["items"].as_array().unwrap();
            items.len() == 2 && items.iter().all(|d| d["attempts"] == 1)
        })
        .await;
    for d in body["items"].as_array().unwrap() {
        assert_eq!(d["status"], "pending", "{d}");
        assert_eq!(d["last_status"], Value::Null);
        assert!(!d["last_error"].as_str().unwrap().is_empty(), "{d}");
        assert!(d["next_attempt_at"].is_string());
    }
    let (status, _) = app.get_plain("/healthz").await;
    assert_eq!(status, StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn a_global_discord_429_pauses_every_discord_destination() {
    let rx = Receiver::start().await;
    let dests = vec![
        dest(&format!(
            "name: one\ntype: discord\nurl: {}\nevents: [download.grabbed]\n",
            rx.url("/api/webhooks/1/a")
        )),
        dest(&format!(
            "name: two\ntype: discord\nurl: {}\nevents: [library.new]\n",
            rx.url("/api/webhooks/2/b")
        )),
        dest(&format!(
            "name: hook\ntype: webhook\nurl: {}\nsigning: none\nevents: [library.new]\n",
            rx.url("/hook")
        )),
    ];
    let app = app_with(Backend::Sqlite, dests, |_| {}).await;
    rx.script([Reply::status(429)
        .header("retry-after", "2")
        .body(r#"{"retry_after": 2.0, "global": true}"#)]);
    rx.set_default(Reply::status(200).body("{}"));
    let (_, body) = app.post_hook("radarr", &fixture("radarr", "grab")).await;
    let grab = body["events"][0].as_str().unwrap().to_owned();
    let limited = app
        .wait_api(&format!("/api/deliveries?event={grab}"), |b| {
            b["items"][0]["attempts"] == 1
        })
        .await;
    let one = delivery(&app, &limited["items"][0]).await;
    let t = |a: &Value| {
        chrono::DateTime::parse_from_rfc3339(a["started_at"].as_str().unwrap()).unwrap()
    };
    let limited_at = t(&one["attempts"][0]);
    // Another Discord destination waits for the global reset; a webhook does not.
    let new = post_download(&app).await;
    let d = settled(&app, &new).await;
    let attempt_of = |name: &str| {
        let id = d.iter().find(|x| x["destination"] == name).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let app = &app;
        async move { app.api_get(&format!("/api/deliveries/{id}")).await.1["attempts"][0].clone() }
    };
    let two = attempt_of("two").await;
    let hook = attempt_of("hook").await;
    assert!(
        t(&two) - limited_at >= chrono::Duration::milliseconds(1900),
        "discord waited: {two}"
    );
    assert!(
        t(&hook) - limited_at < chrono::Duration::milliseconds(1900),
        "the webhook did not: {hook}"
    );
    app.stop().await;
}
