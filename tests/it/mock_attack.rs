//! A user's mock against an admin's session (issue: "a mock can take over the admin page"): the mock answers
//! a page whose script would create an admin user and post the answer back; the admin, logged in, opens its
//! link in a real browser. Nothing may happen: no script runs in hookarr's origin, no cookie is planted.

use crate::admin::browser;
use crate::api::member;
use crate::helpers::{ADMIN_KEY, Backend, TestApp, report_skip};
use hookarr::storage::MockRow;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The attack: read the admin page's CSRF token, create an admin, post it back to this mock, plant a
/// cookie on hookarr's origin, and say so in the title.
const ATTACK: &str = r#"<!doctype html><title>mock</title><script>
(async () => {
  document.cookie = "hookarr_csrf=planted; path=/";
  document.cookie = "planted=1; path=/";
  const page = await (await fetch("/admin/keys")).text();
  const csrf = (page.match(/data-csrf="([^"]+)"/) || [])[1];
  const made = await fetch("/api/users", {method: "POST",
    headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
    body: JSON.stringify({name: "mallory", role: "admin"})});
  await fetch(location.pathname, {method: "POST", body: await made.text()});
  document.title = "taken over";
})();
</script>"#;

/// A mock answering as `headers` say, stored as a mock made before the header allow-list existed.
async fn stored_mock(app: &TestApp, user_id: &str, headers: &[(&str, &str)]) -> String {
    let mock = MockRow {
        id: hookarr::event::new_prefixed_id("mock"),
        user_id: user_id.to_owned(),
        secret: None,
        status: 200,
        delay_ms: 0,
        body: ATTACK.to_owned(),
        headers: headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<BTreeMap<_, _>>(),
        created_at: chrono::Utc::now(),
    };
    assert!(app.store.create_mock(&mock, 20).await.unwrap());
    format!("{}/mock/{}", app.base, mock.id)
}

async fn users(app: &TestApp) -> Vec<String> {
    let (s, page) = app
        .call(Method::GET, "/api/users", Some(ADMIN_KEY), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_users_mock_cannot_take_over_an_admins_session() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let alice = member(&app, "alice").await;
    // Through the API, the headers that would make the page act in hookarr's origin are refused.
    for (name, value) in [
        ("Content-Type", "text/html"),
        ("Set-Cookie", "hookarr_login=planted; Path=/"),
        ("Content-Security-Policy", "default-src *"),
    ] {
        let (s, err) = app
            .call(
                Method::POST,
                "/api/mocks",
                Some(&alice.key),
                Some(&json!({"body": ATTACK, "headers": {name: value}})),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{name}: {err}");
        assert_eq!(
            err["error"]["details"][0]["field"],
            format!("headers.{name}")
        );
    }
    // What the API takes: the same body as text, and as JSON.
    let mut urls = Vec::new();
    for headers in [json!({}), json!({"Content-Type": "application/json"})] {
        let (s, mock) = app
            .call(
                Method::POST,
                "/api/mocks",
                Some(&alice.key),
                Some(&json!({"body": ATTACK, "headers": headers})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{mock}");
        urls.push(mock["url"].as_str().unwrap().to_owned());
    }
    // Mocks stored before the allow-list, with the attack's headers.
    urls.push(stored_mock(&app, &alice.id, &[("Content-Type", "text/html")]).await);
    urls.push(
        stored_mock(
            &app,
            &alice.id,
            &[
                ("Content-Type", "text/html; charset=utf-8"),
                ("Content-Security-Policy", "default-src * 'unsafe-inline'"),
                ("Set-Cookie", "hookarr_login=planted; Path=/"),
                ("X-Content-Type-Options", "sniff"),
            ],
        )
        .await,
    );
    // Every mock answer, whatever it was told, is inert in a browser.
    for url in &urls {
        let resp = app.client.get(url).send().await.unwrap();
        let h = resp.headers();
        assert!(h.get("set-cookie").is_none(), "{url}");
        assert!(
            h["content-security-policy"]
                .to_str()
                .unwrap()
                .starts_with("sandbox;"),
            "{url}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff", "{url}");
        assert!(
            !h["content-type"].to_str().unwrap().contains("html"),
            "{url}: {:?}",
            h["content-type"]
        );
    }
    let users_before = users(&app).await;

    let dir = match browser() {
        Ok(dir) => dir,
        Err(why) => return report_skip("a mock's attack in a real browser", &why),
    };
    let run = tokio::process::Command::new("node")
        .arg(dir.join("mock_attack.mjs"))
        .env("HOOKARR_URL", &app.base)
        .env("HOOKARR_ADMIN_KEY", ADMIN_KEY)
        .env("HOOKARR_MOCK_URLS", urls.join(","))
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(std::time::Duration::from_secs(120), run)
        .await
        .expect("the browser run ends within 2 minutes")
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(seen["loggedInAfter"], true, "{seen}");
    for title in seen["titles"].as_array().unwrap() {
        assert_ne!(title, "taken over", "{seen}");
    }
    assert_eq!(
        seen["cookiesBefore"], seen["cookiesAfter"],
        "no cookie planted or changed"
    );
    assert_eq!(users(&app).await, users_before, "no user was made");
    // Nothing came back to the mocks: each holds the browser's one GET (and the test's), no POST.
    for url in &urls {
        let id = url.rsplit('/').next().unwrap();
        let (s, got) = app
            .call(
                Method::GET,
                &format!("/api/mocks/{id}/requests"),
                Some(&alice.key),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let methods: Vec<&str> = got["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["method"].as_str().unwrap())
            .collect();
        assert!(methods.iter().all(|m| *m == "GET"), "{url}: {methods:?}");
        assert_eq!(methods.len(), 2, "{url}: the test's GET and the browser's");
    }
    app.stop().await;
}
