//! The integration API: who may call what (generated from the route table), users and keys, registered
//! webhooks end to end, and the SSRF guard.

use crate::helpers::{ADMIN_KEY, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

mod access;
mod address_guard;
mod answers;
mod mocks;
mod observability;
pub mod openapi;
mod sources;
mod stored_destinations;
mod stored_sources;
mod stored_templates;
mod stream;
mod users;
mod webhooks;

/// A user made through the API, with one key.
pub struct Member {
    pub id: String,
    pub key: String,
}

/// Creates a user (role `user`) and a key for them, as an admin would.
pub async fn member(app: &TestApp, name: &str) -> Member {
    let (s, user) = app
        .call(
            Method::POST,
            "/api/users",
            Some(ADMIN_KEY),
            Some(&json!({"name": name})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{user}");
    let id = user["id"].as_str().unwrap().to_owned();
    let (s, key) = app
        .call(
            Method::POST,
            "/api/keys",
            Some(ADMIN_KEY),
            Some(&json!({"user_id": id, "name": "test"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{key}");
    Member {
        id,
        key: key["key"].as_str().unwrap().to_owned(),
    }
}

/// Tries to register a webhook with `key`; returns the answer.
pub async fn try_register(app: &TestApp, key: &str, body: &Value) -> (StatusCode, Value) {
    app.call(Method::POST, "/api/webhooks", Some(key), Some(body))
        .await
}

/// Registers a webhook with `key`, asserting a 201; returns the answer (with the secret).
pub async fn register(app: &TestApp, key: &str, body: Value) -> Value {
    let (s, hook) = try_register(app, key, &body).await;
    assert_eq!(s, StatusCode::CREATED, "{hook}");
    hook
}

/// Creates a mock receiver with `key` that checks signatures made with `secret`; returns the answer.
pub async fn mock_checking(app: &TestApp, key: &str, secret: &str) -> Value {
    let (s, mock) = app
        .call(
            Method::POST,
            "/api/mocks",
            Some(key),
            Some(&json!({"secret": secret})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{mock}");
    mock
}
