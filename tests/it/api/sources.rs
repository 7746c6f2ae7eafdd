//! Sources through the API: their Connect URLs, and rotating a token — the old one refused at once, the
//! new one taken, also by another process sharing PostgreSQL; a token written in the config is not
//! rotated here.

use super::*;
use crate::helpers::{Backend, fixture, user_agent};

/// POSTs radarr's test payload with `token`; the status.
async fn post_with(app: &TestApp, token: &str) -> StatusCode {
    app.client
        .post(format!("{}/hooks/radarr?token={token}", app.base))
        .header("content-type", "application/json")
        .header("user-agent", user_agent("radarr"))
        .body(fixture("radarr", "test"))
        .send()
        .await
        .unwrap()
        .status()
}

/// Asks for a new token for source `name` with `key`.
async fn rotate(app: &TestApp, name: &str, key: &str) -> (StatusCode, Value) {
    let path = format!("/api/sources/{name}/rotate-token");
    app.call(Method::POST, &path, Some(key), None).await
}

async fn a_rotated_token_replaces_the_old_one(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.sources = vec![
            serde_norway::from_str(
                "{name: radarr-4k, app: radarr, token: set-in-the-config-0123456789}",
            )
            .unwrap(),
        ];
    })
    .await;
    let old = app.token("radarr").to_owned();
    let (s, listed) = app
        .call(Method::GET, "/api/sources", Some(ADMIN_KEY), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let radarr = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "radarr")
        .unwrap()
        .clone();
    assert!(
        radarr["connect_url"].as_str().unwrap().ends_with(&old),
        "{radarr}"
    );
    assert_eq!(radarr["rotatable"], true);
    assert_eq!(post_with(&app, &old).await, StatusCode::ACCEPTED);

    let (s, rotated) = rotate(&app, "radarr", ADMIN_KEY).await;
    assert_eq!(s, StatusCode::OK, "{rotated}");
    let new = rotated["token"].as_str().unwrap();
    assert_ne!(new, old);
    assert!(rotated["connect_url"].as_str().unwrap().ends_with(new));
    assert_eq!(post_with(&app, &old).await, StatusCode::UNAUTHORIZED);
    assert_eq!(post_with(&app, new).await, StatusCode::ACCEPTED);

    // A token the config sets is changed in the config; no such source is 404; users may not rotate.
    let (s, body) = rotate(&app, "radarr-4k", ADMIN_KEY).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("config")
    );
    let (s, _) = rotate(&app, "nope", ADMIN_KEY).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let alice = member(&app, "alice").await;
    let (s, _) = rotate(&app, "radarr", &alice.key).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // The audit log says who rotated it, never the token.
    let (_, audit) = app
        .call(Method::GET, "/api/audit", Some(ADMIN_KEY), None)
        .await;
    let text = audit.to_string();
    assert!(text.contains("source.token_rotated"), "{text}");
    assert!(!text.contains(new));
    app.stop().await;
}

both_backends!(a_rotated_token_replaces_the_old_one);

/// Rotated through one process, the new token is taken by another sharing the PostgreSQL database (it
/// re-reads the token when a request's does not match), and the old one by neither.
#[tokio::test]
async fn a_token_rotated_on_one_process_is_taken_by_another() {
    if crate::helpers::skip_without_postgres("api::sources::a_token_rotated_on_one_process") {
        return;
    }
    let url = crate::helpers::fresh_pg_database().await;
    let one = TestApp::spawn_at(url.clone(), tempfile::tempdir().unwrap(), |_| {}).await;
    let two = TestApp::spawn_at(url, tempfile::tempdir().unwrap(), |_| {}).await;
    let old = one.token("radarr").to_owned();
    assert_eq!(post_with(&two, &old).await, StatusCode::ACCEPTED);
    let (_, rotated) = rotate(&one, "radarr", ADMIN_KEY).await;
    let new = rotated["token"].as_str().unwrap();
    assert_eq!(post_with(&two, new).await, StatusCode::ACCEPTED);
    assert_eq!(post_with(&two, &old).await, StatusCode::UNAUTHORIZED);
    one.stop().await;
    two.stop().await;
}
