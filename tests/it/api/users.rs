//! Users and API keys through the API: created by an admin, keys managed by their owners, shown once,
//! stored hashed, revoked at once, and a deleted user's keys stop working.

use super::*;
use crate::helpers::{Backend, assert_error};

async fn users_and_keys(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.api.allow_private_targets = true).await;
    let alice = member(&app, "alice").await;
    let bob = member(&app, "bob").await;

    // Bad input names the problem; nothing is created.
    let bad = [
        (json!({"name": "alice"}), StatusCode::CONFLICT, "conflict"),
        (
            json!({"name": "carol", "role": "root"}),
            StatusCode::BAD_REQUEST,
            "validation_failed",
        ),
        (
            json!({"name": "has space"}),
            StatusCode::BAD_REQUEST,
            "validation_failed",
        ),
        (
            json!({"name": "dave", "colour": "red"}),
            StatusCode::BAD_REQUEST,
            "invalid_payload",
        ),
    ];
    for (body, status, code) in bad {
        let (s, b) = app
            .call(Method::POST, "/api/users", Some(ADMIN_KEY), Some(&body))
            .await;
        assert_eq!(s, status, "{body}: {b}");
        assert_error(&b, code);
    }
    let (s, users) = app
        .call(Method::GET, "/api/users", Some(ADMIN_KEY), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let names: Vec<&str> = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"alice") && names.contains(&"bob"),
        "{users}"
    );
    assert!(
        !names.contains(&"carol") && !names.contains(&"dave"),
        "{users}"
    );

    // A user makes a second key of their own (no body needed); it is shown once and works.
    let (s, second) = app
        .call(Method::POST, "/api/keys", Some(&alice.key), None)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{second}");
    let second_key = second["key"].as_str().unwrap().to_owned();
    assert!(second_key.starts_with("hk_"));
    assert_eq!(second["user_id"], alice.id.as_str());
    let (s, _) = app
        .call(Method::GET, "/api/events", Some(&second_key), None)
        .await;
    assert_eq!(s, StatusCode::OK);

    // Lists show prefixes and when a key was last used, never a key.
    let listed = app
        .wait_api("/api/keys", |page| {
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["id"] == second["id"] && !k["last_used_at"].is_null())
        })
        .await;
    let text = listed.to_string();
    for key in [&alice.key, &bob.key, &second_key] {
        assert!(!text.contains(key.as_str()), "a key was listed: {text}");
    }
    let (s, own) = app
        .call(Method::GET, "/api/keys", Some(&alice.key), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let owners: Vec<&str> = own["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["user_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        owners,
        vec![alice.id.as_str(); 2],
        "a user lists their own keys"
    );

    // Nobody makes or revokes keys of someone else (as if they did not exist).
    let (s, b) = app
        .call(
            Method::POST,
            "/api/keys",
            Some(&bob.key),
            Some(&json!({"user_id": alice.id})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
    let second_path = format!("/api/keys/{}", second["id"].as_str().unwrap());
    let (s, _) = app
        .call(Method::DELETE, &second_path, Some(&bob.key), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app
        .call(Method::DELETE, &second_path, Some(&alice.key), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, b) = app
        .call(Method::GET, "/api/events", Some(&second_key), None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "a revoked key stops at once");
    assert_error(&b, "unauthorized");

    // A deleted user's keys and webhooks go with them; what their webhooks still had to send fails.
    let hook = register(
        &app,
        &bob.key,
        json!({"url": "http://127.0.0.1:9/never", "events": ["health.*"]}),
    )
    .await;
    let (s, _) = app
        .post_hook("radarr", &crate::helpers::fixture("radarr", "health"))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let waiting = format!(
        "/api/deliveries?destination={}",
        hook["id"].as_str().unwrap()
    );
    // Nothing listens on port 9: the first attempt fails and the delivery waits for its retry.
    app.wait_api(&waiting, |p| p["items"][0]["attempts"] == 1)
        .await;
    let (s, b) = app
        .call(
            Method::DELETE,
            &format!("/api/users/{}", bob.id),
            Some(ADMIN_KEY),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (s, _) = app
        .call(Method::GET, "/api/events", Some(&bob.key), None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "a deleted user's key");
    let (s, _) = app
        .call(
            Method::GET,
            &format!("/api/webhooks/{}", hook["id"].as_str().unwrap()),
            Some(ADMIN_KEY),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "a deleted user's webhook");
    let (_, left) = app.api_get(&waiting).await;
    assert_eq!(left["items"][0]["status"], "failed", "{left}");
    assert_eq!(left["items"][0]["last_error"], "its webhook was deleted");
    app.stop().await;
}

both_backends!(users_and_keys);
