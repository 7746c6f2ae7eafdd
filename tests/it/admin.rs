//! The admin page: log-in, cookies, CSRF and headers over plain HTTP; then every view in a real browser
//! (Debian's Chromium driven by playwright-core: `tests/browser/admin.mjs`) when both are installed — else
//! the browser part says SKIPPED, which `.ci/run` does not accept.

use crate::api::{member, register};
use crate::helpers::{ADMIN_KEY, Backend, TestApp, report_skip};
use crate::receiver::{Receiver, Reply};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_SECURITY_POLICY, LOCATION, SET_COOKIE};
use serde_json::json;
use std::path::Path;

/// A client that keeps no cookies and follows no redirects, so each answer is seen as sent.
fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The value of the `name=` cookie a response sets.
fn set_cookie<'a>(resp: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    resp.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
}

fn cookie_value(set_cookie: &str) -> &str {
    set_cookie
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
}

/// The hidden `csrf` field of a page.
fn csrf_field(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    html[at..at + html[at..].find('"').unwrap()].to_owned()
}

/// Logs in with `key` as a browser would: the form (its CSRF cookie and field), then the post. Returns
/// the log-in cookie's value.
pub(crate) async fn log_in(app: &TestApp, key: &str) -> String {
    let client = plain_client();
    let form = client
        .get(format!("{}/admin/login", app.base))
        .send()
        .await
        .unwrap();
    let form_cookie = set_cookie(&form, "hookarr_login_form").unwrap().to_owned();
    let html = form.text().await.unwrap();
    let resp = client
        .post(format!("{}/admin/login", app.base))
        .header(
            "cookie",
            format!("hookarr_login_form={}", cookie_value(&form_cookie)),
        )
        .form(&[("key", key), ("csrf", &csrf_field(&html))])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()[LOCATION], "/admin");
    let login = set_cookie(&resp, "hookarr_login").expect("a log-in cookie");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(login.contains(flag), "{flag} in {login}");
    }
    cookie_value(login).to_owned()
}

/// GETs an admin path with the log-in cookie.
pub(crate) async fn page(app: &TestApp, path: &str, login: &str) -> reqwest::Response {
    plain_client()
        .get(format!("{}{path}", app.base))
        .header("cookie", format!("hookarr_login={login}"))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn logging_in_and_out_with_a_key() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let client = plain_client();
    // Not logged in: `/` and every view lead to the log-in form.
    let root = client.get(format!("{}/", app.base)).send().await.unwrap();
    assert_eq!(root.headers()[LOCATION], "/admin");
    for path in ["/admin", "/admin/sources", "/admin/events"] {
        let resp = client
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(resp.headers()[LOCATION], "/admin/login", "{path}");
    }
    // A wrong key: the form again, saying so, and no log-in cookie.
    let form = client
        .get(format!("{}/admin/login", app.base))
        .send()
        .await
        .unwrap();
    let form_cookie = cookie_value(set_cookie(&form, "hookarr_login_form").unwrap()).to_owned();
    let csrf = csrf_field(&form.text().await.unwrap());
    let wrong = client
        .post(format!("{}/admin/login", app.base))
        .header("cookie", format!("hookarr_login_form={form_cookie}"))
        .form(&[("key", "hk_wrong"), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert!(set_cookie(&wrong, "hookarr_login").is_none());
    assert!(wrong.text().await.unwrap().contains("not valid"));
    // The right key without the form's cookie (a post from another site): refused.
    let forged = client
        .post(format!("{}/admin/login", app.base))
        .form(&[("key", ADMIN_KEY), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert!(set_cookie(&forged, "hookarr_login").is_none());

    let login = log_in(&app, ADMIN_KEY).await;
    let dashboard = page(&app, "/admin", &login).await;
    assert_eq!(dashboard.status(), StatusCode::OK);
    let html = dashboard.text().await.unwrap();
    assert!(html.contains("<h1>Dashboard</h1>"));
    // Log-out needs the page's CSRF token; then the cookie no longer opens anything.
    let no_token = client
        .post(format!("{}/admin/logout", app.base))
        .header("cookie", format!("hookarr_login={login}"))
        .form(&[("csrf", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), StatusCode::FORBIDDEN);
    assert_eq!(page(&app, "/admin", &login).await.status(), StatusCode::OK);
    let out = client
        .post(format!("{}/admin/logout", app.base))
        .header("cookie", format!("hookarr_login={login}"))
        .form(&[("csrf", csrf_field(&html))])
        .send()
        .await
        .unwrap();
    assert_eq!(out.headers()[LOCATION], "/admin/login");
    assert!(
        set_cookie(&out, "hookarr_login")
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(
        page(&app, "/admin", &login).await.status(),
        StatusCode::SEE_OTHER
    );
    // The log-in and the log-out are in the audit log, with the address; the cookie's id is not.
    let (_, audit) = app
        .call(reqwest::Method::GET, "/api/audit", Some(ADMIN_KEY), None)
        .await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["login.ended", "login.started"], "{audit}");
    assert_eq!(audit["items"][1]["address"], "127.0.0.1");
    assert_eq!(audit["items"][1]["detail"]["key"], "admin.api_key");
    assert!(!audit.to_string().contains(&login), "{audit}");
    app.stop().await;
}

/// Sources: a card for every built-in app with its Connect URL and set-up steps; Tautulli's card carries the two
/// templates it needs pasted, each with a copy button.
#[tokio::test]
async fn the_sources_page_has_every_app_and_tautullis_templates() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let login = log_in(&app, ADMIN_KEY).await;
    let html = page(&app, "/admin/sources", &login)
        .await
        .text()
        .await
        .unwrap();
    for built_in in hookarr::inbound::SourceApp::BUILT_IN {
        assert!(
            html.contains(&format!("data-source=\"{}\"", built_in.as_str())),
            "a card for {built_in}"
        );
    }
    for i in 0..2 {
        assert!(
            html.contains(&format!("<textarea id=\"template-tautulli-{i}\" readonly")),
            "template {i}"
        );
        assert!(html.contains(&format!("data-copy=\"template-tautulli-{i}\"")));
    }
    // The text is the template, escaped for HTML.
    assert!(html.contains("{action}") && html.contains("{update_version}"));
    assert!(
        !html.contains("template-radarr-0"),
        "only Tautulli needs one"
    );
    assert!(!html.contains("class=\"refused\""), "nothing refused yet");
    // A wrong token for radarr and a mistyped source: each said where the user looks; a source whose event
    // arrived is green.
    let (s, _) = app
        .post_hook("sonarr", &crate::helpers::fixture("sonarr", "test"))
        .await;
    assert_eq!(s, reqwest::StatusCode::ACCEPTED);
    for path in ["/hooks/radarr?token=wrong", "/hooks/radar?token=wrong"] {
        let resp = app
            .client
            .post(format!("{}{path}", app.base))
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_client_error());
    }
    let html = page(&app, "/admin/sources", &login)
        .await
        .text()
        .await
        .unwrap();
    let card = |name: &str| {
        let start = html.find(&format!("data-source=\"{name}\"")).unwrap();
        let end = html[start..].find("</section>").unwrap();
        html[start..start + end].to_owned()
    };
    assert!(
        card("radarr").contains("class=\"refused\""),
        "{}",
        card("radarr")
    );
    assert!(
        card("radarr").contains("answered 401"),
        "{}",
        card("radarr")
    );
    assert!(!card("lidarr").contains("refused"));
    assert!(html.contains("<code>/hooks/radar</code>, which no source is named"));
    let at = html.find("data-source=\"sonarr\"").unwrap();
    let sonarr_start = html[..at].rfind("<section").unwrap();
    assert!(html[sonarr_start..].starts_with("<section class=\"card source received\""));
    app.stop().await;
}

/// The page's scripts call the API with the log-in cookie: reads need nothing more, changes need the
/// log-in's CSRF token; revoking the key a log-in was made with ends the log-in.
async fn the_cookie_reaches_the_api_with_its_csrf_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alice = member(&app, "alice").await;
    let login = log_in(&app, &alice.key).await;
    let html = page(&app, "/admin", &login).await.text().await.unwrap();
    let csrf = csrf_field(&html);
    let client = plain_client();
    let cookie = format!("hookarr_login={login}");
    let read = client
        .get(format!("{}/api/webhooks", app.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    let mock = |token: Option<&str>| {
        let mut req = client
            .post(format!("{}/api/mocks", app.base))
            .header("cookie", &cookie);
        if let Some(token) = token {
            req = req.header("x-csrf-token", token);
        }
        req.send()
    };
    let refused = mock(None).await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("CSRF"));
    assert_eq!(
        mock(Some("wrong")).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        mock(Some(&csrf)).await.unwrap().status(),
        StatusCode::CREATED
    );
    // A user's cookie is that user: admin routes stay closed.
    let users = client
        .get(format!("{}/api/users", app.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(users.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        page(&app, "/admin/sources", &login).await.status(),
        StatusCode::FORBIDDEN,
        "the sources view shows every token: admins only"
    );

    // Revoke the key the log-in was made with: the log-in ends with it.
    let (_, keys) = app
        .call(reqwest::Method::GET, "/api/keys", Some(&alice.key), None)
        .await;
    let key_id = keys["items"][0]["id"].as_str().unwrap().to_owned();
    let (s, _) = app
        .call(
            reqwest::Method::DELETE,
            &format!("/api/keys/{key_id}"),
            Some(ADMIN_KEY),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        page(&app, "/admin", &login).await.status(),
        StatusCode::SEE_OTHER
    );
    let after = client
        .get(format!("{}/api/webhooks", app.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    app.stop().await;
}

both_backends!(the_cookie_reaches_the_api_with_its_csrf_token);

#[tokio::test]
async fn pages_and_assets_carry_their_headers() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let login = log_in(&app, ADMIN_KEY).await;
    let dashboard = page(&app, "/admin", &login).await;
    let csp = dashboard.headers()[CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    for part in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(part), "{part} in {csp}");
    }
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(dashboard.headers()["cache-control"], "no-store");
    assert_eq!(dashboard.headers()["x-frame-options"], "DENY");
    let html = dashboard.text().await.unwrap();
    assert!(
        !html.contains("<script>") && !html.contains(" style="),
        "no inline script or style"
    );
    // The assets' names carry their content's hash and may be cached for good; other names are 404.
    let assets: Vec<String> = html
        .match_indices("/admin/assets/")
        .map(|(at, _)| html[at..at + html[at..].find('"').unwrap()].to_owned())
        .collect();
    assert_eq!(
        assets.len(),
        3,
        "a stylesheet, an icon and a script: {assets:?}"
    );
    for url in assets {
        assert!(
            url.ends_with(".css") || url.ends_with(".js") || url.ends_with(".svg"),
            "{url}"
        );
        let asset = page(&app, &url, &login).await;
        assert_eq!(asset.status(), StatusCode::OK, "{url}");
        let cache = asset.headers()["cache-control"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(cache.contains("immutable"), "{url}: {cache}");
    }
    let stale = page(&app, "/admin/assets/app.000000000000.css", &login).await;
    assert_eq!(stale.status(), StatusCode::NOT_FOUND);
    app.stop().await;
}

/// What the browser run needs, or why it cannot run here.
pub(crate) fn browser() -> Result<std::path::PathBuf, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    if !Path::new("/usr/bin/chromium").exists() {
        return Err("no /usr/bin/chromium (Debian's `chromium` package)".into());
    }
    if !dir.join("node_modules/playwright-core").exists() {
        return Err("no playwright-core: run `npm ci` in tests/browser".into());
    }
    if std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_err()
    {
        return Err("no node".into());
    }
    Ok(dir)
}

/// Runs a browser script with `envs` and hands back what it printed; it must end with success (it prints
/// what failed otherwise).
pub(crate) async fn run_browser(script: &Path, envs: &[(&str, String)]) -> String {
    let mut command = tokio::process::Command::new("node");
    command.arg(script).kill_on_drop(true);
    for (name, value) in envs {
        command.env(name, value);
    }
    let out = tokio::time::timeout(std::time::Duration::from_secs(300), command.output())
        .await
        .expect("the browser run ends within 5 minutes")
        .expect("node runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "the browser checks failed:\n{text}");
    text
}

#[tokio::test]
async fn the_admin_page_in_a_real_browser() {
    let dir = match browser() {
        Ok(dir) => dir,
        Err(why) => return report_skip("the admin page in a real browser", &why),
    };
    // "ops" takes sonarr's events and fails twice (then dead: two attempts), then answers 204; nothing else
    // is sent there before the browser retries it. "archive" answers 204 (the replay goes there).
    let rx = Receiver::start().await;
    rx.script([Reply::status(500), Reply::status(500)]);
    let ops = rx.url("/ops");
    let sink = Receiver::start().await;
    let archive = sink.url("/archive");
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.api.allow_private_targets = true;
        c.destinations = vec![
            serde_norway::from_str(&format!(
                "{{name: ops, type: discord, url: '{ops}', sources: [sonarr], \
                 retry: {{max_attempts: 2, schedule: [0s]}}}}"
            ))
            .unwrap(),
            serde_norway::from_str(&format!(
                "{{name: archive, type: webhook, url: '{archive}', events: [health.restored]}}"
            ))
            .unwrap(),
            // A service target for the studio (nothing is routed to it).
            serde_norway::from_str(&format!(
                "{{name: phone, type: telegram, server: '{}', token: '1:abc', chat_id: 5, events: [health.restored]}}",
                sink.base
            ))
            .unwrap(),
        ];
    })
    .await;
    let alice = member(&app, "alice").await;
    let bob = member(&app, "bob").await;
    // Their webhooks answer 204 from the sink too (the scripted failures are ops's alone).
    let hook = |owner: &str| json!({"url": sink.url(&format!("/{owner}")), "events": ["health.*"]});
    let own = register(&app, &alice.key, hook("alice")).await;
    let other = register(&app, &bob.key, hook("bob")).await;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shots = std::env::var("HOOKARR_SCREENSHOTS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir().join("hookarr-admin-screenshots"));
    let envs = [
        ("HOOKARR_URL", app.base.clone()),
        ("HOOKARR_ADMIN_KEY", ADMIN_KEY.to_owned()),
        ("HOOKARR_USER_KEY", alice.key.clone()),
        ("HOOKARR_OWN_HOOK", own["id"].as_str().unwrap().to_owned()),
        (
            "HOOKARR_OTHER_HOOK",
            other["id"].as_str().unwrap().to_owned(),
        ),
        (
            "HOOKARR_FIXTURES",
            root.join("tests/fixtures/inbound").display().to_string(),
        ),
        ("HOOKARR_SCREENSHOTS", shots.display().to_string()),
    ];
    let said = run_browser(&dir.join("admin.mjs"), &envs).await;
    assert!(said.contains("every browser check held"), "{said}");
    app.stop().await;
}

/// A log-in ends when its time is up: its cookie then opens nothing, page or API.
#[tokio::test]
async fn a_log_in_expires() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let now = chrono::Utc::now();
    // The user the config's admin key acts as.
    let user_id = "usr_config_admin".to_owned();
    let login = |id: &str, expires_at| hookarr::storage::NewLogin {
        id_hash: hookarr::secrets::hash_api_key(id),
        user_id: user_id.clone(),
        key_id: Some(hookarr::storage::config_key_marker(ADMIN_KEY)),
        csrf: "csrf".into(),
        created_at: now - chrono::TimeDelta::hours(13),
        expires_at,
    };
    app.store
        .create_login(&login("still-on", now + chrono::TimeDelta::hours(1)))
        .await
        .unwrap();
    app.store
        .create_login(&login("timed-out", now - chrono::TimeDelta::seconds(1)))
        .await
        .unwrap();
    assert_eq!(
        page(&app, "/admin", "still-on").await.status(),
        StatusCode::OK
    );
    let ended = page(&app, "/admin", "timed-out").await;
    assert_eq!(ended.status(), StatusCode::SEE_OTHER);
    assert_eq!(ended.headers()[LOCATION], "/admin/login");
    let api = plain_client()
        .get(format!("{}/api/events", app.base))
        .header("cookie", "hookarr_login=timed-out")
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    app.stop().await;
}

/// A log-in made with the config's `admin.api_key` ends when that key changes: the next start, with a new key,
/// does not take the old log-in's cookie; a log-in made with the new key holds.
#[tokio::test]
async fn a_new_config_admin_key_ends_the_old_keys_log_ins() {
    let (url, dir) = crate::helpers::fresh_storage(Backend::Sqlite).await;
    let app = TestApp::spawn_at(url.clone(), dir, |_| {}).await;
    let old = log_in(&app, ADMIN_KEY).await;
    assert_eq!(page(&app, "/admin", &old).await.status(), StatusCode::OK);
    let dir = app.stop_keeping_dir().await;
    let new_key = "hk_a_new_admin_key_after_a_leak_0123456789";
    let app = TestApp::spawn_at(url, dir, |c| {
        c.admin.api_key = Some(hookarr::config::Secret(new_key.into()));
    })
    .await;
    let ended = page(&app, "/admin", &old).await;
    assert_eq!(
        ended.status(),
        StatusCode::SEE_OTHER,
        "the old key's log-in ended"
    );
    let api = plain_client()
        .get(format!("{}/api/events", app.base))
        .header("cookie", format!("hookarr_login={old}"))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    let new = log_in(&app, new_key).await;
    assert_eq!(page(&app, "/admin", &new).await.status(), StatusCode::OK);
    app.stop().await;
}

/// Lists show their newest page and link to the older ones; a half-sent log-in form gets the form again.
#[tokio::test]
async fn lists_page_back_and_a_broken_form_is_asked_again() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    for n in 0..101 {
        let body = crate::helpers::fixture_copy("radarr", "health", n);
        let (s, b) = app.post_hook("radarr", &body).await;
        assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    }
    let login = log_in(&app, ADMIN_KEY).await;
    let newest = page(&app, "/admin/events?source=radarr", &login)
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(newest.matches("/admin/events/evt_").count(), 100);
    let at = newest.find("Older events").expect("a link to older events");
    let href_at = newest[..at].rfind("href=\"").unwrap() + 6;
    let href = newest[href_at..href_at + newest[href_at..].find('"').unwrap()]
        .replace("&amp;", "&")
        .replace("&#38;", "&");
    assert!(
        href.contains("source=radarr") && href.contains("before=evt_"),
        "{href}"
    );
    let older = page(&app, &href, &login).await.text().await.unwrap();
    assert_eq!(
        older.matches("/admin/events/evt_").count(),
        1,
        "the 101st: {href}"
    );
    assert!(!older.contains("Older events"));
    assert!(
        !older.contains("data-live-events"),
        "an older page is not live"
    );

    let broken = plain_client()
        .post(format!("{}/admin/login", app.base))
        .form(&[("key", ADMIN_KEY)])
        .send()
        .await
        .unwrap();
    assert_eq!(broken.status(), StatusCode::OK);
    assert!(set_cookie(&broken, "hookarr_login").is_none());
    assert!(broken.text().await.unwrap().contains("log in again"));
    app.stop().await;
}

/// What a new user's first look found unclear: the deliveries list is in creation order, says so and names
/// what each delivered; the studio opens on an event an app sent, not on one of hookarr's own alerts; the
/// dashboard chart says what its axes are; the page has an icon.
#[tokio::test]
async fn the_pages_name_what_they_show() {
    let rx = Receiver::start().await;
    rx.set_default(Reply::status(500));
    let ops = rx.url("/ops");
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.api.allow_private_targets = true;
        c.destinations = vec![
            serde_norway::from_str(&format!(
                "{{name: ops, type: discord, url: '{ops}', retry: {{max_attempts: 1}}, group_window: 0s}}"
            ))
            .unwrap(),
        ];
    })
    .await;
    let (s, _) = app
        .post_hook("radarr", &crate::helpers::fixture("radarr", "grab"))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    // The grab's delivery dies: hookarr's own alert is then the newest event.
    let events = app
        .wait_api("/api/events", |b| {
            b["items"][0]["event"] == "hookarr.delivery_dead"
        })
        .await;
    let grab_id = events["items"][1]["id"].as_str().unwrap().to_owned();
    let login = log_in(&app, ADMIN_KEY).await;
    let html = page(&app, "/admin/deliveries", &login)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("<th scope=\"col\">Created</th>"), "{html}");
    assert!(
        html.contains("Dune: Part Two (2024) grabbed"),
        "the event's summary: {html}"
    );
    let studio = page(&app, "/admin/studio?destination=ops", &login)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        studio.contains(&format!("value=\"{grab_id}\" selected")),
        "the studio opens on the grab, not the alert"
    );
    let dashboard = page(&app, "/admin", &login).await.text().await.unwrap();
    assert!(dashboard.contains("60 min ago") && dashboard.contains("events a minute"));
    assert!(dashboard.contains("rel=\"icon\""));
    let icon = app
        .client
        .get(format!("{}/favicon.ico", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(icon.status(), StatusCode::OK);
    assert_eq!(icon.headers()["content-type"], "image/svg+xml");
    app.stop().await;
}
