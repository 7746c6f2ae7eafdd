//! Who may call what, generated from the route table (`hookarr::api::route_table()`), never route by route:
//! every route × {no key, a wrong key, the owner's key, another user's key, the admin's key}, under `/api`
//! and `/api/v1`. Objects (a webhook, a key, a delivery) belong to alice; bob is the other user. Each call
//! that may change something gets fresh objects, so one caller's DELETE does not decide the next one's
//! answer.

use super::*;
use crate::helpers::{Backend, assert_error, fixture};
use crate::receiver::Receiver;
use hookarr::api::{Access, Route};

/// What the paths and bodies of the matrix refer to.
struct Objects {
    event: String,
    delivery: String,
    webhook: String,
    key: String,
    /// A user that may be deleted.
    spare_user: String,
    mock: String,
    /// A title's story (of a Radarr grab).
    story: String,
}

/// A body that the route accepts from whoever may call it (so a 4xx means "not allowed", not "bad body").
fn body_for(route: &Route, o: &Objects, alice: &Member) -> Option<Value> {
    let body = match (route.method.as_str(), route.path) {
        ("POST", "/api/users") => {
            json!({"name": format!("u{}", ulid::Ulid::new().to_string().to_lowercase())})
        }
        ("POST", "/api/keys") => json!({"user_id": alice.id, "name": "matrix"}),
        ("POST", "/api/webhooks") => {
            json!({"url": "http://127.0.0.1:9/matrix", "events": ["health.*"]})
        }
        ("PATCH", "/api/webhooks/{id}") => json!({"description": "changed"}),
        ("POST", "/api/deliveries/retry") => json!({"status": "dead"}),
        ("POST", "/api/templates/preview") => json!({"destination": "ops", "event_id": o.event}),
        ("POST", "/api/events/{id}/replay") => json!({"destinations": ["ops"]}),
        ("POST", "/api/webhooks/test") => json!({"url": "http://127.0.0.1:9/adhoc"}),
        ("PATCH", "/api/mocks/{id}") => json!({"status": 202}),
        ("PUT", "/api/templates/{type}/{name}") => json!({"template": "{{json this}}"}),
        ("POST", "/api/destinations")
        | ("POST", "/api/destinations/validate")
        | ("POST", "/api/destinations/test")
        | ("POST", "/api/destinations/routing-preview") => json!({
            "name": format!("d{}", ulid::Ulid::new().to_string().to_lowercase()),
            "type": "webhook",
            "url": "http://127.0.0.1:9/matrix",
        }),
        ("PATCH", "/api/destinations/{name}") => json!({"events": ["*"]}),
        ("POST", "/api/sources") => json!({
            "name": format!("s{}", ulid::Ulid::new().to_string().to_lowercase()),
            "app": "radarr",
        }),
        ("PATCH", "/api/sources/{name}") => json!({"allow_ips": []}),
        ("POST", "/api/stories/{id}/follow") => json!({"person": "Zoë"}),
        ("POST", "/api/people") => json!({
            "name": format!("p{}", ulid::Ulid::new().to_string().to_lowercase()),
            "notify": "ops",
        }),
        _ => return None,
    };
    Some(body)
}

fn concrete_path(route: &Route, o: &Objects) -> String {
    let id = if route.path.starts_with("/api/events/") {
        &o.event
    } else if route.path.starts_with("/api/deliveries/") {
        &o.delivery
    } else if route.path.starts_with("/api/webhooks/") {
        &o.webhook
    } else if route.path.starts_with("/api/keys/") {
        &o.key
    } else if route.path.starts_with("/api/users/") {
        &o.spare_user
    } else if route.path.starts_with("/api/mocks/") || route.path.starts_with("/mock/") {
        &o.mock
    } else if route.path.starts_with("/api/stories/") {
        &o.story
    } else {
        ""
    };
    let name = if route.path.starts_with("/api/sources/") {
        "radarr"
    } else {
        "ops"
    };
    route
        .path
        .replace("{id}", id)
        .replace("{type}", "webhook")
        .replace("{name}", name)
}

/// Fresh objects of alice's (the event and its delivery are shared: nothing in the matrix deletes them).
async fn objects(
    app: &TestApp,
    alice: &Member,
    event: &str,
    delivery: &str,
    story: &str,
) -> Objects {
    let webhook = register(
        app,
        &alice.key,
        json!({"url": "http://127.0.0.1:9/spare", "events": ["health.*"]}),
    )
    .await;
    let (s, key) = app
        .call(Method::POST, "/api/keys", Some(&alice.key), None)
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let spare = member(
        app,
        &format!("spare{}", ulid::Ulid::new().to_string().to_lowercase()),
    )
    .await;
    // A stored template `webhook/ops`, for the template routes to find (a delete takes the last round's).
    let (s, saved) = app
        .call(
            Method::PUT,
            "/api/templates/webhook/ops",
            Some(ADMIN_KEY),
            Some(&json!({"template": "{{json this}}"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{saved}");
    // A person added through the API, `ops`, for the people routes to find (a delete takes the last round's).
    let (s, saved) = app
        .call(
            Method::POST,
            "/api/people",
            Some(ADMIN_KEY),
            Some(&json!({"name": "ops", "notify": "ops"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{saved}");
    // A user keeps a handful of mocks: the earlier rounds' go first.
    let (_, mocks) = app
        .call(Method::GET, "/api/mocks", Some(&alice.key), None)
        .await;
    for old in mocks["items"].as_array().unwrap() {
        let path = format!("/api/mocks/{}", old["id"].as_str().unwrap());
        app.call(Method::DELETE, &path, Some(&alice.key), None)
            .await;
    }
    let (s, mock) = app
        .call(Method::POST, "/api/mocks", Some(&alice.key), None)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{mock}");
    Objects {
        event: event.to_owned(),
        delivery: delivery.to_owned(),
        webhook: webhook["id"].as_str().unwrap().to_owned(),
        key: key["id"].as_str().unwrap().to_owned(),
        spare_user: spare.id,
        mock: mock["id"].as_str().unwrap().to_owned(),
        story: story.to_owned(),
    }
}

async fn every_route_answers_each_caller_as_its_access_says(backend: Backend) {
    let rx = Receiver::start().await;
    let ops = rx.url("/ops");
    let app = TestApp::spawn_with(backend, |c| {
        c.api.allow_private_targets = true;
        c.api.max_webhooks_per_user = 1000;
        c.destinations = vec![
            serde_norway::from_str(&format!("{{name: ops, type: webhook, url: '{ops}'}}")).unwrap(),
        ];
        c.people = vec![
            serde_norway::from_str("{name: Zoë, overseerr: zoe@example.org, notify: ops}").unwrap(),
        ];
    })
    .await;
    let alice = member(&app, "alice").await;
    let bob = member(&app, "bob").await;
    // A delivery of alice's: her webhook takes Radarr's health events.
    let own = register(
        &app,
        &alice.key,
        json!({"url": rx.url("/alice"), "events": ["health.*"]}),
    )
    .await;
    let (s, posted) = app.post_hook("radarr", &fixture("radarr", "health")).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let event = posted["events"][0].as_str().unwrap().to_owned();
    let deliveries = app
        .wait_api(
            &format!(
                "/api/deliveries?destination={}",
                own["id"].as_str().unwrap()
            ),
            |p| p["items"].as_array().is_some_and(|i| !i.is_empty()),
        )
        .await;
    let delivery = deliveries["items"][0]["id"].as_str().unwrap().to_owned();
    // A title's story, from a Radarr grab.
    app.post_hook("radarr", &fixture("radarr", "grab")).await;
    let stories = app
        .wait_api("/api/stories", |b| {
            b["items"].as_array().is_some_and(|i| !i.is_empty())
        })
        .await;
    let story = stories["items"][0]["id"].as_str().unwrap().to_owned();

    // Every answer below also keeps to the OpenAPI document: its status listed, its body as described.
    let documented = &super::openapi::Documented::of(&app).await;
    let table = hookarr::api::route_table();
    assert!(table.len() >= 30, "the route table lists every route");
    let mut checked = 0;
    let mut probes: u32 = 0;
    for route in &table {
        if route.access == Access::Source {
            continue; // `/hooks/{source}` takes source tokens: `router.rs` covers them.
        }
        let prefixes: &[&str] = if route.is_api() { &["", "/v1"] } else { &[""] };
        for prefix in prefixes {
            let o = objects(&app, &alice, &event, &delivery, &story).await;
            let path = concrete_path(route, &o).replacen("/api", &format!("/api{prefix}"), 1);
            let body = body_for(route, &o, &alice);
            let mut call = |key: Option<String>| {
                let (method, path, body) = (route.method.clone(), path.clone(), body.clone());
                let app = &app;
                // Wrong keys come each from an address of its own: one address's wrong keys are slowed and
                // then refused (`wrong_keys_from_one_address_are_slowed_then_refused`).
                probes += 1;
                let from = key.as_deref().is_some_and(|k| k == WRONG_KEY).then(|| {
                    std::net::Ipv4Addr::new(127, 1, (probes / 250) as u8, (probes % 250) as u8 + 1)
                });
                async move {
                    let (s, b) =
                        answer(app, from, method, &path, key.as_deref(), body.as_ref()).await;
                    documented.check(route, s, &b);
                    (s, b)
                }
            };
            let what = format!("{} {path}", route.method);
            // `/metrics` is open to this machine: the tests connect over loopback.
            if matches!(route.access, Access::Anyone | Access::LoopbackOrAdmin) {
                let (s, b) = call(None).await;
                assert!(s.is_success(), "{what} needs no key: {s} {b}");
                checked += 1;
                continue;
            }
            let (s, b) = call(None).await;
            assert_eq!(s, StatusCode::UNAUTHORIZED, "{what} without a key: {b}");
            let (s, b) = call(Some(WRONG_KEY.into())).await;
            assert_eq!(s, StatusCode::UNAUTHORIZED, "{what} with a wrong key: {b}");
            let has_id = route.path.contains('{');
            // bob: refused admin routes, "not found" for alice's objects, his own view of lists.
            let (s, b) = call(Some(bob.key.clone())).await;
            match route.access {
                Access::Admin => assert_eq!(s, StatusCode::FORBIDDEN, "{what} as a user: {b}"),
                Access::Owner if has_id => {
                    assert_eq!(s, StatusCode::NOT_FOUND, "{what}: someone else's: {b}")
                }
                Access::Owner if route.path == "/api/keys" && route.method == Method::POST => {
                    assert_eq!(
                        s,
                        StatusCode::NOT_FOUND,
                        "{what}: a key for someone else: {b}"
                    )
                }
                _ => {
                    assert!(allowed(s), "{what} as another user: {s} {b}");
                    let text = b.to_string();
                    for theirs in [&o.webhook, &o.key, &delivery, &o.mock] {
                        assert!(
                            !text.contains(theirs.as_str()),
                            "{what} shows alice's {theirs} to bob: {text}"
                        );
                    }
                }
            }
            // alice: her own objects; admin routes refused.
            let (s, b) = call(Some(alice.key.clone())).await;
            if route.access == Access::Admin {
                assert_eq!(s, StatusCode::FORBIDDEN, "{what} as a user: {b}");
            } else {
                assert!(allowed(s), "{what} as the owner: {s} {b}");
            }
            // The admin: everything (fresh objects, as alice may have deleted hers).
            let o = objects(&app, &alice, &event, &delivery, &story).await;
            let path = concrete_path(route, &o).replacen("/api", &format!("/api{prefix}"), 1);
            let body = body_for(route, &o, &alice);
            let (s, b) = answer(
                &app,
                None,
                route.method.clone(),
                &path,
                Some(ADMIN_KEY),
                body.as_ref(),
            )
            .await;
            documented.check(route, s, &b);
            assert!(allowed(s), "{} {path} as the admin: {s} {b}", route.method);
            checked += 1;
        }
    }
    assert!(
        checked >= 50,
        "{checked} route × prefix combinations checked"
    );
    app.stop().await;
}

/// A route's answer; for the event stream, which never ends, and the Prometheus text, their status only.
/// The key of nobody.
const WRONG_KEY: &str = "hk_not_a_real_key";

/// `method path` with `key`, from loopback address `from` (else 127.0.0.1).
async fn answer(
    app: &TestApp,
    from: Option<std::net::Ipv4Addr>,
    method: Method,
    path: &str,
    key: Option<&str>,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    if from.is_none() && !path.ends_with("/events/stream") && path != "/metrics" {
        return app.call(method, path, key, body).await;
    }
    let client = match from {
        Some(ip) => reqwest::Client::builder()
            .local_address(std::net::IpAddr::V4(ip))
            .build()
            .unwrap(),
        None => app.client.clone(),
    };
    let mut req = client.request(method, format!("{}{path}", app.base));
    if let Some(key) = key {
        req = req.bearer_auth(key);
    }
    if let Some(body) = body {
        req = req.json(body);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    if status.is_success() {
        return (status, Value::Null);
    }
    crate::helpers::json_of(resp).await
}

/// Allowed in: anything but "who are you", "not you" and "no such thing" (a 409 for a delivery that is not
/// retryable, say, is an answer about the object, given to someone who may ask).
fn allowed(s: StatusCode) -> bool {
    !matches!(
        s,
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
    ) && !s.is_server_error()
}

both_backends!(every_route_answers_each_caller_as_its_access_says);

/// The access column itself, pinned: a route that changes who may call it shows up in review as a changed
/// snapshot (the matrix above checks that the router enforces whatever the table says).
#[test]
fn the_route_table_says_who_may_call_each_route() {
    let lines: Vec<String> = hookarr::api::route_table()
        .iter()
        .map(|r| {
            format!(
                "{:<6} {:<40} {}",
                r.method.as_str(),
                r.path,
                r.access.as_str()
            )
        })
        .collect();
    insta::assert_snapshot!(lines.join("\n"));
}

/// Wrong keys from one address are slowed, then refused with `429` and `Retry-After` — Bearer keys and the
/// log-in form alike, all at once or one by one — while the admin, from another address, gets in; each
/// failure and refusal is counted in `/metrics`.
#[tokio::test]
async fn wrong_keys_from_one_address_are_slowed_then_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let from = |last: u8| {
        reqwest::Client::builder()
            .local_address(std::net::IpAddr::V4(std::net::Ipv4Addr::new(
                127, 3, 0, last,
            )))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    };
    let attacker = from(66);
    // 30 wrong keys sent at once: each is counted before any is answered, so the last ones are refused.
    let tries = (0..30).map(|n| {
        attacker
            .get(format!("{}/api/users", app.base))
            .bearer_auth(format!("hk_guess_{n}"))
            .send()
    });
    let answers = futures_util::future::join_all(tries).await;
    let statuses: Vec<StatusCode> = answers
        .iter()
        .map(|r| r.as_ref().unwrap().status())
        .collect();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    let unauthorized = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    assert_eq!(unauthorized + refused, 30, "{statuses:?}");
    // 20 are judged (a failure or two may be forgotten while the burst arrives), the rest refused.
    assert!(
        (20..=22).contains(&unauthorized),
        "20 wrong keys are judged, the rest refused: {statuses:?}"
    );
    let limited = answers
        .into_iter()
        .map(Result::unwrap)
        .find(|r| r.status() == StatusCode::TOO_MANY_REQUESTS)
        .unwrap();
    let retry: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    assert_error(&limited.json().await.unwrap(), "rate_limited");
    // Even the right key is refused from there for now: a refusal tells nothing of a key.
    let admin_there = attacker
        .get(format!("{}/api/users", app.base))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(admin_there.status(), StatusCode::TOO_MANY_REQUESTS);
    // The log-in form from there: refused too, with the page saying when to try again.
    let form = attacker
        .get(format!("{}/admin/login", app.base))
        .send()
        .await
        .unwrap();
    let cookie = form.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let html = form.text().await.unwrap();
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let login = attacker
        .post(format!("{}/admin/login", app.base))
        .header("cookie", cookie)
        .form(&[("key", "hk_guess"), ("csrf", csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(login.headers().contains_key("retry-after"));
    assert!(login.text().await.unwrap().contains("Too many wrong keys"));
    // The admin elsewhere is not locked out, and a right key is not a failure: many in a row go through.
    let admin = from(7);
    for _ in 0..30 {
        let ok = admin
            .get(format!("{}/api/users", app.base))
            .bearer_auth(ADMIN_KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), StatusCode::OK);
    }
    let metrics = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap();
    let text = metrics.text().await.unwrap();
    let count = |outcome: &str| -> f64 {
        text.lines()
            .find(|l| {
                l.starts_with(&format!(
                    "hookarr_auth_failures_total{{outcome=\"{outcome}\"}}"
                ))
            })
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    assert!(count("wrong_key") >= 20.0, "{text}");
    assert!(count("refused") >= 10.0, "{text}");
    app.stop().await;
}
