//! Registered webhooks end to end: registration and its checks, the per-user limit, signed deliveries
//! through the same queue as config destinations, owners inspecting and retrying their own deliveries,
//! rotation (both signatures verify with the independent verifier), and a webhook registered through one
//! process delivered by another.

use super::*;
use crate::delivery::signing::verify_standard;
use crate::helpers::{Backend, assert_error, fixture, fixture_copy};
use crate::receiver::{Got, Receiver, Reply};

fn signature_ok(secret: &str, got: &Got) -> bool {
    verify_standard(
        secret,
        got.header("webhook-id"),
        got.header("webhook-timestamp"),
        got.header("webhook-signature"),
        &got.body,
        chrono::Utc::now().timestamp(),
    )
}

async fn registered_webhooks_are_delivered_signed_and_owned(backend: Backend) {
    let rx = Receiver::start().await;
    let app = TestApp::spawn_with(backend, |c| c.api.allow_private_targets = true).await;
    let alice = member(&app, "alice").await;
    let bob = member(&app, "bob").await;
    let hook = register(
        &app,
        &alice.key,
        json!({
            "url": rx.url("/alice"),
            "events": ["download.grabbed"],
            "sources": ["radarr"],
            "headers": {"X-Team": "movies", "Authorization": "Bearer shh"},
            "description": "the movie bot",
        }),
    )
    .await;
    let id = hook["id"].as_str().unwrap().to_owned();
    let secret = hook["secret"].as_str().unwrap().to_owned();
    assert!(
        id.starts_with("wh_") && secret.starts_with("whsec_"),
        "{hook}"
    );
    assert_eq!(hook["enabled"], true);

    // The secret is never shown again, and credential headers are masked.
    let path = format!("/api/webhooks/{id}");
    let (s, shown) = app.call(Method::GET, &path, Some(&alice.key), None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(shown.get("secret").is_none(), "{shown}");
    assert!(!shown.to_string().contains(&secret));
    assert_eq!(shown["headers"]["X-Team"], "movies");
    assert_eq!(shown["headers"]["Authorization"], "********");

    // Only what it asked for arrives: a health event and a Sonarr grab do not.
    let (s, _) = app.post_hook("radarr", &fixture("radarr", "health")).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let (s, _) = app.post_hook("sonarr", &fixture("sonarr", "grab")).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let (s, _) = app.post_hook("radarr", &fixture("radarr", "grab")).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let got = rx.wait_for(1).await;
    let first = &got[0];
    assert_eq!(first.path, "/alice");
    assert_eq!(first.json()["event"], "download.grabbed");
    assert_eq!(first.json()["source"]["name"], "radarr");
    assert_eq!(first.header("x-team"), "movies");
    assert_eq!(first.header("authorization"), "Bearer shh");
    assert!(signature_ok(&secret, first), "the signature verifies");
    let delivery = first.header("webhook-id").to_owned();

    // The owner sees the delivery and its attempts; someone else does not, even by id.
    let list = app
        .call(Method::GET, "/api/deliveries", Some(&alice.key), None)
        .await
        .1;
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![delivery.as_str()], "{list}");
    assert_eq!(list["items"][0]["destination"], id.as_str());
    let (s, others) = app
        .call(Method::GET, "/api/deliveries", Some(&bob.key), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(others["items"], json!([]), "bob sees none of alice's");
    let one = format!("/api/deliveries/{delivery}");
    let (s, _) = app.call(Method::GET, &one, Some(&bob.key), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let detail = app.wait_api(&one, |d| d["status"] == "succeeded").await;
    assert_eq!(detail["attempts"][0]["status_code"], 204, "{detail}");
    let sent = detail["attempts"][0]["request_body"].as_str().unwrap();
    assert_eq!(
        sent.as_bytes(),
        &first.body[..],
        "the owner sees what was sent"
    );
    let (s, _) = app
        .call(Method::POST, &format!("{one}/retry"), Some(&bob.key), None)
        .await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "bob cannot retry alice's delivery"
    );
    let (s, b) = app
        .call(
            Method::POST,
            &format!("{one}/retry"),
            Some(&alice.key),
            None,
        )
        .await;
    assert_eq!(
        s,
        StatusCode::CONFLICT,
        "a succeeded delivery is not retried: {b}"
    );

    // Rotation: the answer shows the new secret once; both secrets sign during the grace period.
    let (s, rotated) = app
        .call(
            Method::POST,
            &format!("{path}/rotate-secret"),
            Some(&alice.key),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{rotated}");
    let new_secret = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    let grace = rotated["previous_secret_expires_at"].as_str().unwrap();
    let grace = chrono::DateTime::parse_from_rfc3339(grace).unwrap();
    let hours = (grace.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_minutes();
    assert!((23 * 60..=24 * 60).contains(&hours), "{rotated}");
    let (s, _) = app
        .post_hook("radarr", &fixture_copy("radarr", "grab", 1))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let got = rx.wait_for(2).await;
    let second = &got[1];
    let entries: Vec<&str> = second.header("webhook-signature").split(' ').collect();
    assert_eq!(entries.len(), 2, "both secrets sign: {entries:?}");
    for (one_secret, entry) in [(&new_secret, entries[0]), (&secret, entries[1])] {
        let alone = verify_standard(
            one_secret,
            second.header("webhook-id"),
            second.header("webhook-timestamp"),
            entry,
            &second.body,
            chrono::Utc::now().timestamp(),
        );
        assert!(alone, "each signature verifies with its own secret");
    }

    // Disabled by its owner: new events are not routed to it.
    let (s, b) = app
        .call(
            Method::PATCH,
            &path,
            Some(&alice.key),
            Some(&json!({"enabled": false})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["enabled"], false);
    assert_eq!(b["disabled_reason"], "disabled by its owner");
    let (s, _) = app
        .post_hook("radarr", &fixture_copy("radarr", "grab", 2))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let (s, b) = app
        .call(
            Method::PATCH,
            &path,
            Some(&alice.key),
            Some(&json!({"enabled": true, "events": ["download.*"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["events"], json!(["download.*"]));
    let (s, _) = app
        .post_hook("radarr", &fixture_copy("radarr", "grab", 3))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let got = rx.wait_for(3).await;
    assert_eq!(got.len(), 3, "the event sent while disabled was not routed");
    assert_eq!(got[2].json()["data"]["hookarrCopy"], Value::Null);
    app.stop().await;
}

async fn registration_checks_its_input_and_the_limit(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.api.allow_private_targets = true;
        c.api.max_webhooks_per_user = 2;
    })
    .await;
    let alice = member(&app, "alice").await;
    let url = "http://127.0.0.1:9/in";
    let bad = [
        (json!({"url": "ftp://example.org/x"}), "url"),
        (json!({"url": "not a url"}), "url"),
        (json!({"url": url, "events": ["libary.*"]}), "events[0]"),
        (json!({"url": url, "events": []}), "events"),
        (json!({"url": url, "sources": ["radar"]}), "sources[0]"),
        (
            json!({"url": url, "filter": {"data.media.year": {"~=": 3}}}),
            "filter.data.media.year",
        ),
        (
            json!({"url": url, "filter": {"media.year": 2000}}),
            "filter.media.year",
        ),
        (
            json!({"url": url, "filter": {"data.x": {"matches": "("}}}),
            "filter.data.x",
        ),
        (
            json!({"url": url, "headers": {"Content-Type": "text/plain"}}),
            "headers.Content-Type",
        ),
        (
            json!({"url": url, "headers": {"bad header": "x"}}),
            "headers.bad header",
        ),
        (json!({"url": url, "secret": "whsec_short"}), "secret"),
        (
            json!({"url": url, "description": "x".repeat(501)}),
            "description",
        ),
    ];
    for (body, field) in bad {
        let (s, b) = try_register(&app, &alice.key, &body).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {b}");
        assert_error(&b, "validation_failed");
        assert_eq!(b["error"]["details"][0]["field"], field, "{b}");
    }
    for (raw, code) in [
        ("{not json", "invalid_payload"),
        (
            r#"{"url": "http://127.0.0.1:9/", "colour": "red"}"#,
            "invalid_payload",
        ),
    ] {
        let resp = app
            .client
            .post(format!("{}/api/webhooks", app.base))
            .bearer_auth(&alice.key)
            .header("content-type", "application/json")
            .body(raw)
            .send()
            .await
            .unwrap();
        let (s, b) = crate::helpers::json_of(resp).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{raw}: {b}");
        assert_error(&b, code);
    }
    let resp = app
        .client
        .post(format!("{}/api/webhooks", app.base))
        .bearer_auth(&alice.key)
        .header("content-type", "application/json")
        .body(format!(
            r#"{{"url": "{url}", "description": "{}"}}"#,
            "x".repeat(3 << 20)
        ))
        .send()
        .await
        .unwrap();
    let (s, b) = crate::helpers::json_of(resp).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{b}");
    assert_error(&b, "payload_too_large");
    let (_, listed) = app
        .call(Method::GET, "/api/webhooks", Some(&alice.key), None)
        .await;
    assert_eq!(listed["items"], json!([]), "nothing half-stored");

    // A secret given is used; the limit holds, and deleting one frees a place.
    let given = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let first = register(&app, &alice.key, json!({"url": url, "secret": given})).await;
    assert_eq!(first["secret"], given);
    register(&app, &alice.key, json!({"url": url})).await;
    let (s, b) = try_register(&app, &alice.key, &json!({"url": url})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert_error(&b, "webhook_limit_reached");
    let other = member(&app, "bob").await;
    register(&app, &other.key, json!({"url": url})).await;
    let first_path = format!("/api/webhooks/{}", first["id"].as_str().unwrap());
    let (s, _) = app
        .call(Method::DELETE, &first_path, Some(&alice.key), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    register(&app, &alice.key, json!({"url": url})).await;
    app.stop().await;
}

both_backends!(
    registered_webhooks_are_delivered_signed_and_owned,
    registration_checks_its_input_and_the_limit
);

/// Registered through one process, routed and delivered by another sharing the PostgreSQL database.
#[tokio::test]
async fn a_webhook_registered_on_one_process_is_delivered_by_another() {
    if crate::helpers::skip_without_postgres("api::webhooks::a_webhook_registered_on_one_process") {
        return;
    }
    let rx = Receiver::start().await;
    rx.set_default(Reply::status(204));
    let url = crate::helpers::fresh_pg_database().await;
    let tweak = |c: &mut hookarr::config::Config| c.api.allow_private_targets = true;
    let one = TestApp::spawn_at(url.clone(), tempfile::tempdir().unwrap(), tweak).await;
    let two = TestApp::spawn_at(url, tempfile::tempdir().unwrap(), tweak).await;
    let alice = member(&one, "alice").await;
    let hook = register(
        &one,
        &alice.key,
        json!({"url": rx.url("/x"), "events": ["download.*"]}),
    )
    .await;
    // Only the second process runs from here: it must learn of the webhook from the database.
    one.stop().await;
    let (s, _) = two.post_hook("radarr", &fixture("radarr", "grab")).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let got = rx.wait_for(1).await;
    assert!(signature_ok(hook["secret"].as_str().unwrap(), &got[0]));
    two.stop().await;
}

async fn a_batching_webhook_gets_events_together_each_delivery_kept(backend: Backend) {
    let rx = Receiver::start().await;
    let app = TestApp::spawn_with(backend, |c| c.api.allow_private_targets = true).await;
    let alice = member(&app, "alice").await;
    for (batch, field) in [
        (
            json!({"max_events": 0, "max_wait": "1s"}),
            "batch.max_events",
        ),
        (json!({"max_events": 5, "max_wait": "2h"}), "batch.max_wait"),
    ] {
        let body = json!({"url": rx.url("/b"), "batch": batch});
        let (s, b) = try_register(&app, &alice.key, &body).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
        assert_eq!(b["error"]["details"][0]["field"], field);
    }
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let hook = register(
        &app,
        &alice.key,
        json!({"url": rx.url("/batches"), "events": ["download.*"], "secret": secret,
               "batch": {"max_events": 3, "max_wait": "1s"}}),
    )
    .await;
    assert_eq!(hook["batch"], json!({"max_events": 3, "max_wait": "1s"}));
    let mut posted = Vec::new();
    for copy in 0..5 {
        let (s, b) = app
            .post_hook("radarr", &fixture_copy("radarr", "grab", copy))
            .await;
        assert_eq!(s, StatusCode::ACCEPTED);
        posted.push(b["events"][0].as_str().unwrap().to_owned());
    }
    let got = rx.wait_for(2).await;
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    for request in &got {
        assert!(
            signature_ok(secret, request),
            "a batch is signed as one body"
        );
        let body = request.json();
        assert_eq!(body["batch_id"], request.header("webhook-id"));
        let events = body["events"].as_array().unwrap();
        sizes.push(events.len());
        seen.extend(events.iter().map(|e| e["id"].as_str().unwrap().to_owned()));
    }
    sizes.sort();
    assert_eq!(sizes, vec![2, 3], "at most max_events per request");
    seen.sort();
    posted.sort();
    assert_eq!(seen, posted, "every event once");
    // Each event keeps its own delivery, all succeeded.
    let path = format!(
        "/api/deliveries?destination={}",
        hook["id"].as_str().unwrap()
    );
    let list = app
        .wait_api(&path, |p| {
            p["items"]
                .as_array()
                .is_some_and(|i| i.len() == 5 && i.iter().all(|d| d["status"] == "succeeded"))
        })
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 5);
    app.stop().await;
}

both_backends!(a_batching_webhook_gets_events_together_each_delivery_kept);
