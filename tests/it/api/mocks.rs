//! Test sends and mock receivers: a mock records what a registered webhook sends (with its signature
//! checked), answers as it is told (a 503 with `Retry-After`, a 429), and the test endpoints report the
//! target's status, headers and body; test sends are rate-limited per user.

use super::*;
use crate::helpers::{Backend, assert_error, fixture};

async fn mocks_record_what_webhooks_and_test_sends_deliver(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.api.allow_private_targets = true).await;
    let alice = member(&app, "alice").await;
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let mock = mock_checking(&app, &alice.key, secret).await;
    let mock_url = mock["url"].as_str().unwrap().to_owned();
    assert!(
        mock_url.starts_with(&app.base) && mock_url.contains("/mock/mock_"),
        "{mock}"
    );
    let requests = format!("/api/mocks/{}/requests", mock["id"].as_str().unwrap());
    let mock_path = format!("/api/mocks/{}", mock["id"].as_str().unwrap());

    // A registered webhook pointing at the mock: the mock records the signed delivery.
    let hook = register(
        &app,
        &alice.key,
        json!({"url": mock_url, "events": ["download.*"], "secret": secret}),
    )
    .await;
    let (s, _) = app.post_hook("radarr", &fixture("radarr", "grab")).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let recorded = app
        .wait_api(&requests, |p| {
            p["items"].as_array().is_some_and(|i| !i.is_empty())
        })
        .await;
    let first = &recorded["items"][0];
    assert_eq!(first["method"], "POST");
    assert_eq!(first["signature"], "valid", "{first}");
    assert!(
        first["headers"]["webhook-id"]
            .as_str()
            .unwrap()
            .starts_with("dlv_")
    );
    let body: Value = serde_json::from_str(first["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["event"], "download.grabbed");

    // Told to refuse: the webhook's test send reports the 503 and its Retry-After.
    let (s, b) = app
        .call(
            Method::PATCH,
            &mock_path,
            Some(&alice.key),
            Some(
                &json!({"status": 503, "headers": {"Retry-After": "7"}, "body": "down for a bit"}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let test_path = format!("/api/webhooks/{}/test", hook["id"].as_str().unwrap());
    let (s, answer) = app
        .call(Method::POST, &test_path, Some(&alice.key), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{answer}");
    assert_eq!(answer["ok"], false);
    assert_eq!(answer["status"], 503);
    assert_eq!(answer["headers"]["retry-after"], "7");
    assert_eq!(answer["body"], "down for a bit");

    // A test of a URL nobody registered, signed with another secret: the mock says it does not verify.
    let (s, answer) = app
        .call(
            Method::POST,
            "/api/webhooks/test",
            Some(&alice.key),
            Some(&json!({"url": mock_url, "event": "library.new"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{answer}");
    assert!(answer["secret"].as_str().unwrap().starts_with("whsec_"));
    let recorded = app
        .wait_api(&requests, |p| {
            p["items"].as_array().is_some_and(|i| i.len() >= 3)
        })
        .await;
    let latest = &recorded["items"][0];
    assert_eq!(latest["signature"], "invalid", "{latest}");
    assert_eq!(latest["status"], 503);
    let body: Value = serde_json::from_str(latest["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["event"], "library.new");

    // Bad input names the field.
    for (body, field) in [
        (json!({"url": "gopher://x"}), "url"),
        (json!({"url": mock_url, "event": "nope"}), "event"),
    ] {
        let (s, b) = app
            .call(
                Method::POST,
                "/api/webhooks/test",
                Some(&alice.key),
                Some(&body),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
        assert_eq!(b["error"]["details"][0]["field"], field);
    }
    let (s, b) = app
        .call(
            Method::PATCH,
            &mock_path,
            Some(&alice.key),
            Some(&json!({"status": 99})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");

    // Test sends are rate-limited per user, with the wait in Retry-After.
    let mut limited = None;
    for _ in 0..10 {
        let resp = app
            .client
            .post(format!("{}{test_path}", app.base))
            .bearer_auth(&alice.key)
            .send()
            .await
            .unwrap();
        if resp.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(resp);
            break;
        }
    }
    let limited = limited.expect("a burst of test sends is limited");
    let wait: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait >= 1);
    let (_, b) = crate::helpers::json_of(limited).await;
    assert_error(&b, "rate_limited");

    // An unknown mock is a 404 like any other.
    let (s, b) = app.call(Method::POST, "/mock/mock_nope", None, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_error(&b, "not_found");
    app.stop().await;
}

both_backends!(mocks_record_what_webhooks_and_test_sends_deliver);
