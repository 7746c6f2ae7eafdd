//! What every API answer carries, and the shape of every error: `nosniff` and `no-store` (a created key must
//! not sit in a cache), errors in the one JSON shape even where the router rejects a request by itself (a
//! path parameter that is not UTF-8), a `413` that says it closes, and the limits of what a webhook takes
//! (a URL of at most 2,048 characters, header values of visible ASCII).

use super::*;
use crate::helpers::{Backend, assert_error};

#[tokio::test]
async fn api_answers_are_unsniffed_uncached_and_errors_are_json() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let bob = member(&app, "bob").await;
    // A created key, a list, an error, a health check: each nosniff and no-store.
    let created = app
        .client
        .post(format!("{}/api/keys", app.base))
        .bearer_auth(&bob.key)
        .json(&json!({"name": "second"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    for path in [
        "/api/keys",
        "/api/webhooks/nope",
        "/readyz",
        "/api/openapi.json",
    ] {
        let resp = app
            .client
            .get(format!("{}{path}", app.base))
            .bearer_auth(&bob.key)
            .send()
            .await
            .unwrap();
        for resp in [&resp, &created] {
            assert_eq!(
                resp.headers()["x-content-type-options"],
                "nosniff",
                "{path}"
            );
            assert_eq!(resp.headers()["cache-control"], "no-store", "{path}");
        }
    }
    // A path parameter that is not UTF-8: the router's own rejection, in the documented shape.
    let resp = app
        .client
        .get(format!("{}/api/webhooks/%FF%FE", app.base))
        .bearer_auth(&bob.key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: Value = resp.json().await.unwrap();
    assert_error(&body, "validation_failed");
    assert!(
        !body["error"]["message"].as_str().unwrap().is_empty(),
        "{body}"
    );
    // A body over the API's limit: 413 in the shape, and the connection closes, as the answer says.
    let resp = app
        .client
        .post(format!("{}/api/webhooks", app.base))
        .bearer_auth(&bob.key)
        .header("content-type", "application/json")
        .body(vec![b' '; 3 << 20])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(resp.headers()["connection"], "close");
    assert_error(&resp.json().await.unwrap(), "payload_too_large");
    app.stop().await;
}

#[tokio::test]
async fn a_webhook_refuses_long_urls_and_headers_that_are_not_visible_ascii() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.api.allow_private_targets = true).await;
    let bob = member(&app, "bob").await;
    let long = format!("https://example.org/{}", "a".repeat(2100));
    let (s, body) = try_register(&app, &bob.key, &json!({"url": long})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["details"][0]["field"], "url");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("2048"),
        "{body}"
    );
    for value in ["tab\there", "caf\u{e9}", " padded", "bell\u{7}"] {
        let (s, body) = try_register(
            &app,
            &bob.key,
            &json!({"url": "http://127.0.0.1:9/x", "headers": {"X-Team": value}}),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{value:?}: {body}");
        assert_eq!(body["error"]["details"][0]["field"], "headers.X-Team");
    }
    let (s, body) = try_register(
        &app,
        &bob.key,
        &json!({"url": "http://127.0.0.1:9/x", "headers": {"X-Team": "media night"}}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    app.stop().await;
}
