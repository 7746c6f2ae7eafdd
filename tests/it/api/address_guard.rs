//! The SSRF guard over real HTTP, without a byte leaving loopback: registration refuses private, loopback
//! and metadata targets (names resolve through the test's own table, `api.resolve`), and a webhook stored
//! before its name pointed inside is refused at connect time — the receiver listening at that address
//! proves nothing connected.

use super::*;
use crate::helpers::{Backend, assert_error, fixture};
use crate::receiver::Receiver;
use hookarr::storage::WebhookRow;

async fn private_targets_are_refused_at_registration_and_at_connect_time(backend: Backend) {
    let rx = Receiver::start().await;
    let port = url::Url::parse(&rx.url("/")).unwrap().port().unwrap();
    let app = TestApp::spawn_with(backend, |c| {
        c.api.allow_private_targets = false;
        c.api.resolve = [
            ("sneaky.test".to_owned(), vec!["127.0.0.1".parse().unwrap()]),
            (
                "meta.test".to_owned(),
                vec!["169.254.169.254".parse().unwrap()],
            ),
        ]
        .into_iter()
        .collect();
    })
    .await;
    let alice = member(&app, "alice").await;

    // At registration: refused with the reason, nothing stored.
    for (url, says) in [
        (format!("https://127.0.0.2:{port}/x"), "loopback"),
        (format!("https://[::1]:{port}/x"), "loopback"),
        (format!("https://0.0.0.0:{port}/x"), "unspecified"),
        (format!("https://localhost:{port}/x"), "loopback"),
        (
            format!("https://sneaky.test:{port}/x"),
            "resolves to 127.0.0.1",
        ),
        ("https://meta.test/latest/meta-data".to_owned(), "metadata"),
        (
            "https://169.254.169.254/latest/meta-data".to_owned(),
            "metadata",
        ),
        ("https://10.0.0.7/x".to_owned(), "private"),
        (format!("http://127.0.0.1:{port}/x"), "private host"),
    ] {
        let (s, b) = try_register(&app, &alice.key, &json!({"url": url})).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{url}: {b}");
        assert_error(&b, "validation_failed");
        assert_eq!(b["error"]["details"][0]["field"], "url");
        let message = b["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{url}: {message}");
    }
    let (_, listed) = app
        .call(Method::GET, "/api/webhooks", Some(&alice.key), None)
        .await;
    assert_eq!(listed["items"], json!([]));

    // At connect time: rows stored as if registered while their names pointed elsewhere.
    let now = chrono::Utc::now();
    let mut ids = Vec::new();
    for (i, host) in [
        "127.0.0.1",
        "localhost",
        "sneaky.test",
        "[::1]",
        "0.0.0.0",
        "127.0.0.2",
    ]
    .into_iter()
    .enumerate()
    {
        let row = WebhookRow {
            id: format!("wh_guard{i}"),
            user_id: alice.id.clone(),
            url: format!("http://{host}:{port}/inside"),
            events: vec!["*".into()],
            sources: None,
            filter: Default::default(),
            headers: Default::default(),
            description: String::new(),
            secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
            previous_secret: None,
            previous_secret_until: None,
            batch: None,
            created_at: now,
            updated_at: now,
        };
        assert!(app.store.create_webhook(&row, 100).await.unwrap());
        ids.push(row.id);
    }
    // A change through the API makes the engine read the webhooks again.
    let (s, b) = app
        .call(
            Method::PATCH,
            &format!("/api/webhooks/{}", ids[0]),
            Some(&alice.key),
            Some(&json!({"description": "stored before the guard"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, _) = app.post_hook("radarr", &fixture("radarr", "grab")).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    for id in &ids {
        let page = app
            .wait_api(&format!("/api/deliveries?destination={id}"), |p| {
                p["items"][0]["attempts"].as_u64().is_some_and(|n| n >= 1)
            })
            .await;
        let delivery = page["items"][0]["id"].as_str().unwrap();
        let (_, detail) = app.api_get(&format!("/api/deliveries/{delivery}")).await;
        let error = detail["attempts"][0]["error"].as_str().unwrap_or_default();
        assert!(
            error.contains("registered webhooks may not reach it"),
            "{id}: {detail}"
        );
    }
    assert!(rx.got().is_empty(), "nothing connected: {:?}", rx.got());
    app.stop().await;
}

both_backends!(private_targets_are_refused_at_registration_and_at_connect_time);

/// hookarr's own mock receivers can be registered on a default install (the guard refuses loopback and
/// private addresses): the mock records the signed delivery. Nothing else on hookarr's own address opens:
/// its API and a path that climbs out of `/mock/` stay refused.
#[tokio::test]
async fn hookarrs_own_mocks_are_allowed_and_nothing_else_on_its_address() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.api.allow_private_targets = false).await;
    let alice = member(&app, "alice").await;
    let mock = mock_checking(&app, &alice.key, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").await;
    let mock_url = mock["url"].as_str().unwrap().to_owned();
    assert!(mock_url.starts_with(&app.base), "{mock_url}");
    for url in [
        format!("{}/api/users", app.base),
        format!("{mock_url}/../../api/users"),
        format!("{}/mock/not_a_mock", app.base),
    ] {
        let (s, body) = try_register(&app, &alice.key, &json!({"url": url})).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{url}: {body}");
        assert_error(&body, "validation_failed");
    }
    let hook = register(
        &app,
        &alice.key,
        json!({"url": mock_url, "events": ["download.*"], "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}),
    )
    .await;
    assert_eq!(hook["url"], mock_url.as_str());
    let (s, _) = app.post_hook("radarr", &fixture("radarr", "grab")).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let requests = app
        .wait_api(
            &format!("/api/mocks/{}/requests", mock["id"].as_str().unwrap()),
            |b| b["items"].as_array().is_some_and(|i| !i.is_empty()),
        )
        .await;
    // The admin's key reads it too; the request is alice's delivery, signed.
    assert_eq!(requests["items"][0]["method"], "POST");
    assert_eq!(requests["items"][0]["signature"], "valid");
    // The receiver test of the API reaches it as well.
    let (s, tested) = app
        .call(
            Method::POST,
            "/api/webhooks/test",
            Some(&alice.key),
            Some(&json!({"url": mock_url})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{tested}");
    assert_eq!(tested["status"], 200, "{tested}");
    app.stop().await;
}
