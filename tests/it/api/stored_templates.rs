//! Templates saved through the API: listed with their origin, checked by rendering for every app's sample
//! before they are saved (a compile error names its line; nothing saved), in force at once for the next
//! render, removed back to the built-in one, with their history and the audit log.

use super::*;
use crate::helpers::{Backend, assert_error, fixture, fixture_copy};
use crate::receiver::{Receiver, Reply};

async fn put(app: &TestApp, name: &str, template: &str) -> (StatusCode, Value) {
    let path = format!("/api/templates/{name}");
    let body = json!({ "template": template });
    app.call(Method::PUT, &path, Some(ADMIN_KEY), Some(&body))
        .await
}

fn origin_of<'a>(list: &'a Value, name: &str) -> Option<&'a str> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .and_then(|t| t["origin"].as_str())
}

async fn templates_are_saved_checked_and_in_force_at_once(backend: Backend) {
    let rx = Receiver::start().await;
    rx.set_default(Reply::status(204));
    let url = rx.url("/hook");
    let app = TestApp::spawn_with(backend, move |c| {
        c.api.allow_private_targets = true;
        c.destinations.push(
            serde_json::from_value(json!({"name": "plain", "type": "webhook", "url": url,
                                           "signing": "none", "template": "webhook/default"}))
            .unwrap(),
        );
    })
    .await;
    let (_, list) = app.api_get("/api/templates").await;
    assert_eq!(
        origin_of(&list, "webhook/default"),
        Some("built_in"),
        "{list}"
    );

    // A template that does not compile: its line is named, and nothing is saved.
    let (s, refused) = put(
        &app,
        "webhook/default",
        "{\n  \"title\": \"{{#if data.media}}\"\n}",
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_error(&refused, "validation_failed");
    assert_eq!(refused["error"]["details"][0]["field"], "template");
    assert!(
        refused["error"]["details"][0]["line"].is_number(),
        "{refused}"
    );
    // One that compiles but renders no JSON for some app's payload: the sample is named.
    let (s, refused) = put(
        &app,
        "webhook/default",
        "{\"title\": {{data.media.title}} }",
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("rendering"),
        "{refused}"
    );
    let (_, list) = app.api_get("/api/templates").await;
    assert_eq!(origin_of(&list, "webhook/default"), Some("built_in"));
    // A name that is not <type>/<name>.
    let (s, bad) = put(&app, "carrier-pigeon/default", "{}").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");

    // Saved: the next render uses it, with no restart.
    let text =
        "{\"what\": \"{{event}}\", \"said\": \"{{summary}}\", \"by\": \"the stored template\"}";
    let (s, saved) = put(&app, "webhook/default", text).await;
    assert_eq!(s, StatusCode::OK, "{saved}");
    assert_eq!(saved["origin"], "stored");
    assert_eq!(saved["updated_by"], "admin (config key)");
    let (s, _) = app.post_hook("radarr", &fixture("radarr", "grab")).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let got = rx.wait_for(1).await;
    assert_eq!(
        got[0].json()["by"],
        "the stored template",
        "{}",
        got[0].json()
    );

    // Removed: the built-in one again.
    let (s, removed) = app
        .call(
            Method::DELETE,
            "/api/templates/webhook/default",
            Some(ADMIN_KEY),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{removed}");
    assert_eq!(removed["origin"], "built_in");
    let (s, _) = app
        .post_hook("radarr", &fixture_copy("radarr", "grab", 3))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let got = rx.wait_for(2).await;
    assert!(got[1].json().get("by").is_none(), "{}", got[1].json());
    let (s, _) = app
        .call(
            Method::DELETE,
            "/api/templates/webhook/default",
            Some(ADMIN_KEY),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "nothing stored to remove");

    // Its history: the save and the removal, newest first, the text kept to be restored.
    let (s, history) = app.api_get("/api/templates/webhook/default/history").await;
    assert_eq!(s, StatusCode::OK, "{history}");
    let items = history["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{history}");
    assert!(items[0]["template"].is_null(), "the removal");
    assert_eq!(items[1]["template"], text);
    let actions = app.audit_actions().await;
    assert!(
        actions.iter().any(|a| a == "template.saved")
            && actions.iter().any(|a| a == "template.removed"),
        "{actions:?}"
    );
    app.stop().await;
}

both_backends!(templates_are_saved_checked_and_in_force_at_once);
