//! The delivery pipeline end to end: a real hookarr sends to real loopback receivers.

use crate::helpers::{Backend, Corpus, TestApp, fixture};
use crate::receiver::{Receiver, Reply};
use hmac::{Hmac, Mac};
use hookarr::config::{Config, Destination};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn dest(yaml: &str) -> Destination {
    serde_norway::from_str(yaml).unwrap_or_else(|e| panic!("{e}: {yaml}"))
}

async fn app_with(
    backend: Backend,
    dests: Vec<Destination>,
    tweak: impl FnOnce(&mut Config),
) -> TestApp {
    TestApp::spawn_with(backend, |cfg| {
        cfg.destinations = dests;
        tweak(cfg);
    })
    .await
}

/// The one delivery of an event once it has left `pending`.
async fn settled(app: &TestApp, event_id: &str) -> Vec<Value> {
    let body = app
        .wait_api(&format!("/api/deliveries?event={event_id}"), |b| {
            let items = b["items"].as_array().unwrap();
            !items.is_empty() && items.iter().all(|d| d["status"] != "pending")
        })
        .await;
    body["items"].as_array().unwrap().clone()
}

async fn post_download(app: &TestApp) -> String {
    let (status, body) = app
        .post_hook("radarr", &fixture("radarr", "download"))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    body["events"][0].as_str().unwrap().to_owned()
}

/// One delivery with its attempts (`GET /api/deliveries/{id}`), for a delivery as listed.
async fn delivery(app: &TestApp, listed: &Value) -> Value {
    let (status, body) = app
        .api_get(&format!(
            "/api/deliveries/{}",
            listed["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// The outcomes of a delivery's attempts, in order.
fn outcomes(delivery: &Value) -> Vec<String> {
    delivery["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["outcome"].as_str().unwrap().to_owned())
        .collect()
}

/// A Standard Webhooks verifier written from the spec, independent of hookarr's signer: HMAC-SHA256 with the
/// base64-decoded secret over `{id}.{timestamp}.{body}`, any `v1,` entry may match, unknown versions ignored,
/// timestamps within 5 minutes.
fn verify_standard(secret: &str, id: &str, ts: &str, sigs: &str, body: &[u8], now: i64) -> bool {
    use base64::Engine;
    let Ok(ts_num) = ts.parse::<i64>() else {
        return false;
    };
    if (now - ts_num).abs() > 300 {
        return false;
    }
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(body);
    let expected = mac.finalize().into_bytes();
    sigs.split(' ').any(|entry| {
        let Some(sig) = entry.strip_prefix("v1,") else {
            return false;
        };
        base64::engine::general_purpose::STANDARD
            .decode(sig)
            .is_ok_and(|s| s.len() == 32 && s[..] == expected[..])
    })
}

#[test]
fn the_independent_verifier_and_hookarrs_signer_agree_with_every_published_vector() {
    for corpus in Corpus::all() {
        signing_vectors_agree(&corpus);
    }
}

/// The Standard Webhooks and `X-Hub-Signature-256` vectors of one corpus (`signing/`).
fn signing_vectors_agree(corpus: &Corpus) {
    let path = corpus.dir.join("signing/standard-webhooks-vectors.json");
    let vectors: Vec<Value> = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    assert!(vectors.len() >= 5);
    for v in &vectors {
        let (secret, id, ts) = (
            v["secret"].as_str().unwrap(),
            v["msg_id"].as_str().unwrap(),
            v["timestamp"].as_i64().unwrap(),
        );
        let payload = v["payload"].as_str().unwrap().as_bytes();
        let sig = v["signature"].as_str().unwrap();
        assert!(
            verify_standard(secret, id, &ts.to_string(), sig, payload, ts),
            "verifier: {id}"
        );
        assert_eq!(
            hookarr::outbound::signing::standard_signature(secret, id, ts, payload).unwrap(),
            sig
        );
        // Negative cases of the reference suites.
        let flip = if &sig[3..4] == "A" { "B" } else { "A" };
        let tampered = format!("v1,{flip}{}", &sig[4..]);
        assert!(!verify_standard(
            secret,
            id,
            &ts.to_string(),
            &tampered,
            payload,
            ts
        ));
        assert!(!verify_standard(
            secret,
            id,
            &(ts + 1).to_string(),
            sig,
            payload,
            ts + 1
        ));
        assert!(!verify_standard(
            secret,
            id,
            &ts.to_string(),
            sig,
            payload,
            ts + 301
        ));
        assert!(!verify_standard(
            secret,
            id,
            &ts.to_string(),
            "v1,",
            payload,
            ts
        ));
        assert!(!verify_standard(
            secret,
            id,
            &ts.to_string(),
            &sig.replace("v1,", "v2,"),
            payload,
            ts
        ));
        let decoy = format!("v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= {sig}");
        assert!(verify_standard(
            secret,
            id,
            &ts.to_string(),
            &decoy,
            payload,
            ts
        ));
    }
    let hub: Vec<Value> = serde_json::from_slice(
        &std::fs::read(corpus.dir.join("signing/hub-signature-256-vectors.json")).unwrap(),
    )
    .unwrap();
    for v in hub {
        let got = hookarr::outbound::signing::hub_signature(
            v["secret"].as_str().unwrap(),
            v["payload"].as_str().unwrap().as_bytes(),
        );
        assert_eq!(
            got,
            format!("sha256={}", v["hex_hmac_sha256"].as_str().unwrap())
        );
    }
}

async fn signed_webhook_delivery(backend: Backend) {
    let rx = Receiver::start().await;
    let d = dest(&format!(
        "name: hook\ntype: webhook\nurl: {}\nsecret: {SECRET}\nheaders: {{X-Custom: yes}}\n",
        rx.url("/in?k=1")
    ));
    let app = app_with(backend, vec![d], |_| {}).await;
    let event_id = post_download(&app).await;
    let got = rx.wait_for(1).await;
    let req = &got[0];
    let deliveries = settled(&app, &event_id).await;
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0]["status"], "succeeded");
    let delivery_id = deliveries[0]["id"].as_str().unwrap();
    assert_eq!(req.path, "/in");
    assert_eq!(req.query, "k=1");
    assert_eq!(
        req.header("webhook-id"),
        delivery_id,
        "webhook-id is the delivery id"
    );
    assert_eq!(req.header("content-type"), "application/json");
    assert_eq!(req.header("x-hookarr-event"), "library.new");
    assert_eq!(req.header("x-custom"), "yes");
    assert!(req.header("user-agent").starts_with("hookarr/"));
    let now = chrono::Utc::now().timestamp();
    assert!(verify_standard(
        SECRET,
        req.header("webhook-id"),
        req.header("webhook-timestamp"),
        req.header("webhook-signature"),
        &req.body,
        now
    ));
    assert!(!verify_standard(
        "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
        req.header("webhook-id"),
        req.header("webhook-timestamp"),
        req.header("webhook-signature"),
        &req.body,
        now
    ));
    // The body is the stored envelope.
    let (_, stored) = app.api_get(&format!("/api/events/{event_id}")).await;
    let body = req.json();
    assert_eq!(body["id"], event_id);
    assert_eq!(body["data"], stored["data"]);
    assert_eq!(stored["deliveries"][0]["id"], delivery_id);
    // The attempt log.
    let (_, one) = app.api_get(&format!("/api/deliveries/{delivery_id}")).await;
    assert_eq!(one["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(one["attempts"][0]["status_code"], 204);
    assert_eq!(one["attempts"][0]["outcome"], "succeeded");
    app.stop().await;
}

both_backends!(signed_webhook_delivery);

#[tokio::test]
async fn hub_sha256_signing_uses_the_secret_text_and_the_exact_body() {
    let rx = Receiver::start().await;
    let d = dest(&format!(
        "name: hub\ntype: webhook\nurl: {}\nsigning: hub_sha256\nsecret: {SECRET}\n",
        rx.url("/gh")
    ));
    let app = app_with(Backend::Sqlite, vec![d], |_| {}).await;
    post_download(&app).await;
    let req = &rx.wait_for(1).await[0];
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(&req.body);
    assert_eq!(
        req.header("x-hub-signature-256"),
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    );
    assert!(req.header("x-hookarr-timestamp").parse::<i64>().is_ok());
    assert_eq!(req.header("webhook-signature"), "");
    app.stop().await;
}

#[tokio::test]
async fn every_target_type_gets_its_own_request_shape() {
    let rx = Receiver::start().await;
    let dests = vec![
        dest(&format!(
            "name: discord\ntype: discord\nurl: {}\ngroup_window: 0s\n",
            rx.url("/api/webhooks/123/tok")
        )),
        dest(&format!(
            "name: slack\ntype: slack\nurl: {}\ngroup_window: 0s\n",
            rx.url("/services/T1/B1/x")
        )),
        dest(&format!(
            "name: ha-hook\ntype: home_assistant\nurl: {}\n",
            rx.url("/api/webhook/abc")
        )),
        dest(&format!(
            "name: ha-event\ntype: home_assistant\nurl: {}\ntoken: hatoken\n",
            rx.url("/api/events/arr_event")
        )),
    ];
    let app = app_with(Backend::Sqlite, dests, |_| {}).await;
    rx.set_default(Reply::status(200).body("ok"));
    let (status, body) = app.post_hook("sonarr", &fixture("sonarr", "grab")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let got = rx.wait_for(4).await;
    let by = |p: &str| {
        got.iter()
            .find(|g| g.path == p)
            .unwrap_or_else(|| panic!("no request to {p}"))
    };
    let discord = by("/api/webhooks/123/tok");
    assert_eq!(discord.query, "wait=true");
    let d = discord.json();
    assert_eq!(d["allowed_mentions"], json!({"parse": []}));
    let embed = &d["embeds"][0];
    assert!(
        embed["title"]
            .as_str()
            .unwrap()
            .contains(body_title(&app, &body).await.as_str())
    );
    assert_eq!(
        embed["color"],
        hookarr::outbound::templates::event_color("download.grabbed")
    );
    assert!(
        embed["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "Quality")
    );
    let slack = by("/services/T1/B1/x").json();
    assert!(slack["text"].as_str().unwrap().len() > 3);
    assert_eq!(slack["blocks"][0]["type"], "header");
    let hook = by("/api/webhook/abc");
    assert_eq!(hook.json()["event"], "download.grabbed");
    assert_eq!(hook.header("authorization"), "");
    assert_eq!(hook.header("content-type"), "application/json");
    let ev = by("/api/events/arr_event");
    assert_eq!(ev.header("authorization"), "Bearer hatoken");
    assert!(ev.json().is_object());
    for g in &got {
        assert!(g.header("x-hookarr-delivery").starts_with("dlv_"));
    }
    app.stop().await;
}

async fn body_title(app: &TestApp, accepted: &Value) -> String {
    let id = accepted["events"][0].as_str().unwrap();
    let (_, e) = app.api_get(&format!("/api/events/{id}")).await;
    e["data"]["media"]["title"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn transient_failures_are_retried_on_the_schedule_and_every_attempt_is_logged() {
    let rx = Receiver::start().await;
    rx.script([
        Reply::status(500).body("boom"),
        Reply::status(503).header("retry-after", "0"),
    ]);
    let d = dest(&format!(
        "name: hook\ntype: webhook\nurl: {}\nsigning: none\nretry: {{max_attempts: 5, schedule: [0s, 0s, 0s]}}\n",
        rx.url("/x")
    ));
    let app = app_with(Backend::Sqlite, vec![d], |_| {}).await;
    let event_id = post_download(&app).await;
    let deliveries = settled(&app, &event_id).await;
    assert_eq!(deliveries[0]["status"], "succeeded");
    let got = rx.got();
    assert_eq!(got.len(), 3);
    assert!(
        got.iter()
            .all(|g| g.header("x-hookarr-delivery") == deliveries[0]["id"]),
        "same delivery id on every retry"
    );
    let one = delivery(&app, &deliveries[0]).await;
    let attempts = one["attempts"].as_array().unwrap();
    let outcomes: Vec<&str> = attempts
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["retry", "retry", "succeeded"]);
    assert_eq!(attempts[0]["status_code"], 500);
    assert_eq!(attempts[0]["response_body"], "boom");
    assert_eq!(attempts[1]["response_headers"]["retry-after"], "0");
    app.stop().await;
}

#[tokio::test]
async fn a_429_pauses_the_destination_until_retry_after() {
    let rx = Receiver::start().await;
    rx.script([Reply::status(429)
        .header("retry-after", "1")
        .body(r#"{"retry_after": 1.0, "global": false}"#)]);
    let d = dest(&format!(
        "name: discord\ntype: discord\nurl: {}\n",
        rx.url("/api/webhooks/1/t")
    ));
    let app = app_with(Backend::Sqlite, vec![d], |_| {}).await;
    rx.set_default(Reply::status(200).body("{}"));
    let event_id = post_download(&app).await;
    let deliveries = settled(&app, &event_id).await;
    assert_eq!(deliveries[0]["status"], "succeeded");
    let one = delivery(&app, &deliveries[0]).await;
    let attempts = one["attempts"].as_array().unwrap();
    assert_eq!(attempts[0]["outcome"], "rate_limited");
    assert_eq!(attempts[1]["outcome"], "succeeded");
    let t = |a: &Value| {
        chrono::DateTime::parse_from_rfc3339(a["started_at"].as_str().unwrap()).unwrap()
    };
    assert!(
        t(&attempts[1]) - t(&attempts[0]) >= chrono::Duration::milliseconds(990),
        "the pause was honoured: {attempts:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_gone_target_is_disabled_alerted_and_held_until_re_enabled() {
    let rx = Receiver::start().await;
    rx.script([Reply::status(410)]);
    let d = dest(&format!(
        "name: hook\ntype: webhook\nurl: {}\nsigning: none\n",
        rx.url("/x")
    ));
    let app = app_with(Backend::Sqlite, vec![d], |_| {}).await;
    let first = post_download(&app).await;
    assert_eq!(settled(&app, &first).await[0]["status"], "failed");
    let (_, dest) = app.api_get("/api/destinations/hook").await;
    assert_eq!(dest["enabled"], false, "{dest}");
    assert!(dest["disabled_reason"].as_str().unwrap().contains("410"));
    let alerts = app
        .wait_api("/api/events?event=hookarr.*", |b| {
            !b["items"].as_array().unwrap().is_empty()
        })
        .await;
    assert_eq!(alerts["items"][0]["event"], "hookarr.destination_disabled");
    // While disabled, events are not routed to it (CONTRACT §5: enabled destinations only); a replay sends
    // what it missed once it is back.
    let (_, body) = app.post_hook("radarr", &fixture("radarr", "grab")).await;
    let second = body["events"][0].as_str().unwrap().to_owned();
    // Routed while the destination is disabled (so, to nothing), before it is enabled again.
    app.wait_routed().await;
    let (status, enabled) = app
        .api_post("/api/destinations/hook/enable", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{enabled}");
    assert_eq!(enabled["enabled"], true);
    let (status, _) = app
        .api_post(&format!("/api/events/{second}/replay"), json!({}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(settled(&app, &second).await[0]["status"], "succeeded");
    let sent: Vec<String> = rx
        .got()
        .iter()
        .map(|g| g.header("x-hookarr-event").to_owned())
        .collect();
    assert_eq!(sent.len(), 2, "{sent:?}");
    app.stop().await;
}

#[tokio::test]
async fn exhausted_retries_dead_letter_then_manual_and_bulk_retry_deliver() {
    let rx = Receiver::start().await;
    rx.set_default(Reply::status(500));
    let d = dest(&format!(
        // Not `*`: the dead-letter alerts must not be routed here too (they would die as well).
        "name: hook\ntype: webhook\nurl: {}\nsigning: none\nevents: [\"download.*\", \"library.*\"]\nretry: {{max_attempts: 2, schedule: [0s]}}\n",
        rx.url("/x")
    ));
    let app = app_with(Backend::Sqlite, vec![d], |_| {}).await;
    let first = post_download(&app).await;
    let (_, body) = app.post_hook("radarr", &fixture("radarr", "grab")).await;
    let second = body["events"][0].as_str().unwrap().to_owned();
    let dead = settled(&app, &first).await;
    assert_eq!(dead[0]["status"], "dead");
    assert_eq!(dead[0]["attempts"], 2);
    assert_eq!(settled(&app, &second).await[0]["status"], "dead");
    let alerts = app
        .wait_api("/api/events?event=hookarr.delivery_dead", |b| {
            b["items"].as_array().unwrap().len() >= 2
        })
        .await;
    assert!(
        alerts["items"][0]["summary"]
            .as_str()
            .unwrap()
            .contains("dead after 2 attempts")
    );
    let (_, listed) = app.api_get("/api/deliveries?status=dead").await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);
    // Not retryable while it succeeded or is pending: a clear 409.
    rx.set_default(Reply::status(204));
    let id = dead[0]["id"].as_str().unwrap();
    let (status, _) = app
        .api_post(&format!("/api/deliveries/{id}/retry"), json!({}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(settled(&app, &first).await[0]["status"], "succeeded");
    let (status, body) = app
        .api_post(&format!("/api/deliveries/{id}/retry"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = app
        .api_post(
            "/api/deliveries/retry",
            json!({"status": "dead", "destination": "hook"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body["retried"], 1);
    assert_eq!(settled(&app, &second).await[0]["status"], "succeeded");
    let (status, body) = app
        .api_post("/api/deliveries/retry", json!({"status": "bogus"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    app.stop().await;
}

#[tokio::test]
async fn expired_deliveries_are_not_sent_late() {
    // The first attempt fails at once; the retry falls due after the delivery's expiry, so it is not sent.
    let rx = Receiver::start().await;
    rx.set_default(Reply::status(503));
    let d = dest(&format!(
        "name: hook\ntype: webhook\nurl: {}\nsigning: none\nexpire_after: 1s\nretry: {{max_attempts: 5, schedule: [2s]}}\n",
        rx.url("/x")
    ));
    let app = app_with(Backend::Sqlite, vec![d], |_| {}).await;
    let id = post_download(&app).await;
    let d = settled(&app, &id).await;
    assert_eq!(d[0]["status"], "expired");
    let one = delivery(&app, &d[0]).await;
    let outcomes = outcomes(&one);
    assert_eq!(outcomes, ["retry", "expired"]);
    assert_eq!(rx.got().len(), 1, "sent once, never late");
    app.stop().await;
}

#[tokio::test]
async fn routing_follows_globs_sources_and_filters() {
    let rx = Receiver::start().await;
    let dests = vec![
        dest(&format!(
            "name: all\ntype: webhook\nurl: {}\nsigning: none\n",
            rx.url("/all")
        )),
        dest(&format!(
            "name: 4k\ntype: webhook\nurl: {}\nsigning: none\nfilter:\n  data.release.quality: {{in: [Remux-2160p]}}\n",
            rx.url("/4k")
        )),
        dest(&format!(
            "name: health\ntype: webhook\nurl: {}\nsigning: none\nevents: [\"health.*\"]\n",
            rx.url("/health")
        )),
        dest(&format!(
            "name: sonarr-only\ntype: webhook\nurl: {}\nsigning: none\nsources: [sonarr]\n",
            rx.url("/sonarr")
        )),
    ];
    let app = app_with(Backend::Sqlite, dests, |_| {}).await;
    let id = post_download(&app).await;
    let d = settled(&app, &id).await;
    let names: Vec<&str> = d
        .iter()
        .map(|d| d["destination"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["all"]);
    let (_, body) = app.post_hook("radarr", &fixture("radarr", "health")).await;
    let health = body["events"][0].as_str().unwrap().to_owned();
    let mut names: Vec<String> = settled(&app, &health)
        .await
        .iter()
        .map(|d| d["destination"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["all", "health"]);
    // Radarr's Test button reaches every destination that takes radarr, whatever its events and filter.
    let (_, body) = app.post_hook("radarr", &fixture("radarr", "test")).await;
    let test = body["events"][0].as_str().unwrap().to_owned();
    let mut names: Vec<String> = settled(&app, &test)
        .await
        .iter()
        .map(|d| d["destination"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["4k", "all", "health"]);
    app.stop().await;
}

#[tokio::test]
async fn a_template_that_renders_invalid_json_fails_the_delivery_with_the_reason() {
    let rx = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("webhook")).unwrap();
    std::fs::write(
        dir.path().join("webhook/library_new.hbs"),
        "{\"title\": {{data.media.title}} }",
    )
    .unwrap();
    let d = dest(&format!(
        "name: hook\ntype: webhook\nurl: {}\nsigning: none\n",
        rx.url("/x")
    ));
    let templates = dir.path().to_path_buf();
    let app = app_with(Backend::Sqlite, vec![d], |cfg| {
        cfg.templates_dir = Some(templates)
    })
    .await;
    let id = post_download(&app).await;
    let d = settled(&app, &id).await;
    assert_eq!(d[0]["status"], "failed");
    assert!(
        d[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("invalid JSON"),
        "{}",
        d[0]
    );
    let one = delivery(&app, &d[0]).await;
    assert_eq!(one["attempts"][0]["outcome"], "render_failed");
    assert!(rx.got().is_empty());
    // Other events still use the embedded default.
    let (_, body) = app.post_hook("radarr", &fixture("radarr", "grab")).await;
    let grab = body["events"][0].as_str().unwrap().to_owned();
    assert_eq!(settled(&app, &grab).await[0]["status"], "succeeded");
    app.stop().await;
}

#[tokio::test]
async fn redirects_are_not_followed_and_unreachable_targets_are_retried() {
    let rx = Receiver::start().await;
    rx.set_default(Reply::status(302).header("location", &rx.url("/elsewhere")));
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dests = vec![
        dest(&format!(
            "name: redirect\ntype: webhook\nurl: {}\nsigning: none\n",
            rx.url("/x")
        )),
        dest(&format!(
            "name: down\ntype: webhook\nurl: http://127.0.0.1:{closed}/x\nsigning: none\nretry: {{max_attempts: 3, schedule: [0s, 1h]}}\n"
        )),
    ];
    let app = app_with(Backend::Sqlite, dests, |_| {}).await;
    let id = post_download(&app).await;
    let d = app
        .wait_api(&format!("/api/deliveries?event={id}"), |b| {
            let items = b["items"].as_array().unwrap();
            items.len() == 2
                && items
                    .iter()
                    .all(|d| d["status"] != "pending" || d["attempts"].as_u64() >= Some(1))
        })
        .await;
    let by = |n: &str| {
        d["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["destination"] == n)
            .unwrap()
            .clone()
    };
    assert_eq!(by("redirect")["status"], "failed");
    assert_eq!(by("redirect")["last_status"], 302);
    assert_eq!(rx.got().len(), 1, "the redirect was not followed");
    let down = by("down");
    assert_eq!(down["status"], "pending");
    assert!(
        down["last_error"]
            .as_str()
            .unwrap()
            .contains("connection failed"),
        "{down}"
    );
    app.stop().await;
}

#[tokio::test]
async fn replay_preview_and_destination_listing_work() {
    let rx = Receiver::start().await;
    let d = dest(&format!(
        "name: hook\ntype: webhook\nurl: {}\n",
        rx.url("/x")
    ));
    let app = app_with(Backend::Sqlite, vec![d], |_| {}).await;
    let id = post_download(&app).await;
    settled(&app, &id).await;
    let (status, body) = app
        .api_post(
            &format!("/api/events/{id}/replay"),
            json!({"destinations": ["hook"]}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    app.wait_api(
        &format!("/api/deliveries?event={id}&status=succeeded"),
        |b| b["items"].as_array().unwrap().len() == 2,
    )
    .await;
    let (status, body) = app
        .api_post(
            &format!("/api/events/{id}/replay"),
            json!({"destinations": ["nope"]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (_, list) = app.api_get("/api/destinations").await;
    let hook = &list["items"][0];
    assert_eq!(hook["name"], "hook");
    assert_eq!(hook["deliveries"]["succeeded"], 2);
    assert_eq!(hook["success_rate"], 1.0);
    assert!(
        hook["signing_secret"]
            .as_str()
            .unwrap()
            .starts_with("whsec_"),
        "a secret is generated when none is set"
    );
    assert!(
        !hook["url"].as_str().unwrap().contains("/x"),
        "the URL is redacted"
    );
    // Preview: a stored event, a fixture, a broken template; nothing is sent.
    let before = rx.got().len();
    let (status, p) = app
        .api_post(
            "/api/templates/preview",
            json!({"type": "discord", "event_id": id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(p["payload"]["embeds"][0]["title"].is_string(), "{p}");
    let payload: Value = serde_json::from_slice(&fixture("sonarr", "grab")).unwrap();
    let (_, p) = app
        .api_post(
            "/api/templates/preview",
            json!({"type": "slack", "fixture": {"source": "sonarr", "payload": payload}}),
        )
        .await;
    assert_eq!(p["event"], "download.grabbed");
    assert_eq!(p["problems"], json!([]));
    let (_, p) = app
        .api_post(
            "/api/templates/preview",
            json!({"destination": "hook", "template": "{{#if}"}),
        )
        .await;
    assert!(!p["problems"].as_array().unwrap().is_empty(), "{p}");
    let (_, p) = app
        .api_post(
            "/api/templates/preview",
            json!({"type": "webhook", "template": "{\"a\": {{summary}} }"}),
        )
        .await;
    assert!(
        p["problems"][0].as_str().unwrap().contains("invalid JSON"),
        "{p}"
    );
    let (status, t) = app.api_post("/api/destinations/hook/test", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(t["ok"], true, "{t}");
    assert_eq!(rx.got().len(), before + 1, "only the test sent anything");
    assert_eq!(rx.got().last().unwrap().json()["event"], "test");
    let (status, _) = app.api_get("/api/destinations/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.get_plain("/api/deliveries").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.stop().await;
}

#[tokio::test]
async fn a_target_that_hangs_times_out_and_is_retried_later() {
    let rx = Receiver::start().await;
    rx.set_default(Reply::status(204).delay(std::time::Duration::from_secs(5)));
    let d = dest(&format!(
        "name: slow\ntype: webhook\nurl: {}\nsigning: none\n",
        rx.url("/slow")
    ));
    let app = app_with(Backend::Sqlite, vec![d], |cfg| {
        cfg.delivery.timeout_secs = 1
    })
    .await;
    let id = post_download(&app).await;
    let body = app
        .wait_api(&format!("/api/deliveries?event={id}"), |b| {
            b["items"][0]["attempts"].as_u64() == Some(1)
        })
        .await;
    let d = &body["items"][0];
    assert_eq!(d["status"], "pending", "a timeout is retried: {d}");
    assert!(
        d["last_error"].as_str().unwrap().contains("timed out"),
        "{d}"
    );
    let one = delivery(&app, d).await;
    let a = &one["attempts"][0];
    assert_eq!(a["outcome"], "retry");
    assert_eq!(a["status_code"], Value::Null);
    assert!(a["duration_ms"].as_u64().unwrap() >= 900, "{a}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_postgres_split_the_queue_and_send_each_delivery_once() {
    if crate::helpers::skip_without_postgres(
        "it::delivery::two_processes_on_one_postgres_split_the_queue_and_send_each_delivery_once",
    ) {
        return;
    }
    let rx = Receiver::start().await;
    let (url, dir) = crate::helpers::fresh_storage(Backend::Postgres).await;
    let sink = format!(
        "name: sink\ntype: webhook\nurl: {}\nsigning: none\nrate_limit: {{per_second: 100000, burst: 1000}}\n",
        rx.url("/sink")
    );
    let (d1, d2) = (dest(&sink), dest(&sink));
    let a = TestApp::spawn_at(url.clone(), dir, |cfg| cfg.destinations = vec![d1]).await;
    let b = TestApp::spawn_at(url, tempfile::tempdir().unwrap(), |cfg| {
        cfg.destinations = vec![d2]
    })
    .await;
    assert_eq!(
        a.token("radarr"),
        b.token("radarr"),
        "one database, one set of sources"
    );
    rx.set_default(Reply::status(204).delay(std::time::Duration::from_millis(5)));
    let mut accepted = Vec::new();
    for i in 0..120 {
        let app = if i % 2 == 0 { &a } else { &b };
        let mut body: Value = serde_json::from_slice(&fixture("radarr", "grab")).unwrap();
        body["hookarrCopy"] = i.into();
        let (status, r) = app
            .post_hook("radarr", &serde_json::to_vec(&body).unwrap())
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{r}");
        accepted.push(r["events"][0].as_str().unwrap().to_owned());
    }
    let got = rx.wait_for(accepted.len()).await;
    // Let any double send show up before counting.
    a.wait_api("/api/deliveries?status=pending", |b| {
        b["items"].as_array().unwrap().is_empty()
    })
    .await;
    let got_after = rx.got();
    assert_eq!(got_after.len(), got.len().max(accepted.len()));
    let mut delivery_ids: Vec<&str> = got_after
        .iter()
        .map(|g| g.header("x-hookarr-delivery"))
        .collect();
    delivery_ids.sort();
    delivery_ids.dedup();
    assert_eq!(
        delivery_ids.len(),
        accepted.len(),
        "every delivery sent exactly once"
    );
    let events: std::collections::HashSet<String> = got_after
        .iter()
        .map(|g| g.json()["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(accepted.iter().all(|id| events.contains(id)));
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn shutdown_finishes_the_send_in_flight_and_records_it() {
    let rx = Receiver::start().await;
    rx.set_default(Reply::status(204).delay(std::time::Duration::from_millis(300)));
    let d = dest(&format!(
        "name: hook\ntype: webhook\nurl: {}\nsigning: none\n",
        rx.url("/x")
    ));
    let app = app_with(Backend::Sqlite, vec![d], |_| {}).await;
    let id = post_download(&app).await;
    rx.wait_for(1).await; // the request is at the receiver, its answer 300 ms away
    let store = app.store.clone();
    app.stop().await;
    let page = store
        .list_deliveries(&hookarr::storage::DeliveryQuery {
            event_id: Some(id),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        page.items[0].status,
        hookarr::storage::DeliveryStatus::Succeeded,
        "finished, not left leased"
    );
    assert_eq!(store.attempts(&page.items[0].id).await.unwrap().len(), 1);
}

/// Targets that reset the connection or answer bytes that are not HTTP: the attempt fails with the reason,
/// the delivery waits for its retry, nothing crashes.
#[tokio::test]
async fn resets_and_garbage_are_retried_with_the_reason() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let serve = |answer: &'static [u8]| async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let _ = sock.write_all(answer).await;
                // Dropped at once: a reset (or a close mid-answer).
            }
        });
        port
    };
    let reset = serve(b"").await;
    let garbage = serve(b"\x00\x01garbage that is not HTTP\r\n\r\n").await;
    let retry = "retry: {max_attempts: 3, schedule: [0s, 1h]}";
    let dests = vec![
        dest(&format!(
            "name: reset\ntype: webhook\nurl: http://127.0.0.1:{reset}/x\nsigning: none\n{retry}\n"
        )),
        dest(&format!(
            "name: garbage\ntype: webhook\nurl: http://127.0.0.1:{garbage}/x\nsigning: none\n{retry}\n"
        )),
    ];
    let app = app_with(Backend::Sqlite, dests, |_| {}).await;
    let id = post_download(&app).await;
    let body = app
        .wait_api(&format!("/api/deliveries?event={id}"), |b| {
            let items = b["items"].as_array().unwrap();
            items.len() == 2 && items.iter().all(|d| d["attempts"] == 1)
        })
        .await;
    for d in body["items"].as_array().unwrap() {
        assert_eq!(d["status"], "pending", "{d}");
        assert_eq!(d["last_status"], Value::Null);
        assert!(!d["last_error"].as_str().unwrap().is_empty(), "{d}");
        assert!(d["next_attempt_at"].is_string());
    }
    let (status, _) = app.get_plain("/healthz").await;
    assert_eq!(status, StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn a_chat_target_that_rejects_the_rich_message_gets_the_plain_summary() {
    let rx = Receiver::start().await;
    rx.script([Reply::status(400).body(r#"{"code": 50035, "message": "Invalid Form Body"}"#)]);
    let d = dest(&format!(
        "name: chat\ntype: discord\nurl: {}\n",
        rx.url("/api/webhooks/1/t")
    ));
    let app = app_with(Backend::Sqlite, vec![d], |_| {}).await;
    rx.set_default(Reply::status(200).body("{}"));
    let id = post_download(&app).await;
    let d = settled(&app, &id).await;
    assert_eq!(d[0]["status"], "succeeded");
    let got = rx.got();
    assert_eq!(got.len(), 2);
    assert!(got[0].json()["embeds"].is_array());
    let plain = got[1].json();
    assert!(plain.get("embeds").is_none());
    let (_, event) = app.api_get(&format!("/api/events/{id}")).await;
    assert_eq!(plain["content"], event["summary"]);
    let one = delivery(&app, &d[0]).await;
    let outcomes = outcomes(&one);
    assert_eq!(
        outcomes,
        ["rejected_rich", "succeeded"],
        "both attempts are logged"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_global_discord_429_pauses_every_discord_destination() {
    let rx = Receiver::start().await;
    let dests = vec![
        dest(&format!(
            "name: one\ntype: discord\nurl: {}\nevents: [download.grabbed]\n",
            rx.url("/api/webhooks/1/a")
        )),
        dest(&format!(
            "name: two\ntype: discord\nurl: {}\nevents: [library.new]\n",
            rx.url("/api/webhooks/2/b")
        )),
        dest(&format!(
            "name: hook\ntype: webhook\nurl: {}\nsigning: none\nevents: [library.new]\n",
            rx.url("/hook")
        )),
    ];
    let app = app_with(Backend::Sqlite, dests, |_| {}).await;
    rx.script([Reply::status(429)
        .header("retry-after", "2")
        .body(r#"{"retry_after": 2.0, "global": true}"#)]);
    rx.set_default(Reply::status(200).body("{}"));
    let (_, body) = app.post_hook("radarr", &fixture("radarr", "grab")).await;
    let grab = body["events"][0].as_str().unwrap().to_owned();
    let limited = app
        .wait_api(&format!("/api/deliveries?event={grab}"), |b| {
            b["items"][0]["attempts"] == 1
        })
        .await;
    let one = delivery(&app, &limited["items"][0]).await;
    let t = |a: &Value| {
        chrono::DateTime::parse_from_rfc3339(a["started_at"].as_str().unwrap()).unwrap()
    };
    let limited_at = t(&one["attempts"][0]);
    // Another Discord destination waits for the global reset; a webhook does not.
    let new = post_download(&app).await;
    let d = settled(&app, &new).await;
    let attempt_of = |name: &str| {
        let id = d.iter().find(|x| x["destination"] == name).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let app = &app;
        async move { app.api_get(&format!("/api/deliveries/{id}")).await.1["attempts"][0].clone() }
    };
    let two = attempt_of("two").await;
    let hook = attempt_of("hook").await;
    assert!(
        t(&two) - limited_at >= chrono::Duration::milliseconds(1900),
        "discord waited: {two}"
    );
    assert!(
        t(&hook) - limited_at < chrono::Duration::milliseconds(1900),
        "the webhook did not: {hook}"
    );
    app.stop().await;
}

/// The season-pack problem: three imports of one season within the window are one Discord message listing the
/// three episodes; another season, and a movie, are their own messages.
#[tokio::test]
async fn a_season_pack_within_the_group_window_is_one_message() {
    let rx = Receiver::start().await;
    let d = dest(&format!(
        "name: chat\ntype: discord\nurl: {}\ngroup_window: 1s\n",
        rx.url("/api/webhooks/1/t")
    ));
    let app = app_with(Backend::Sqlite, vec![d], |_| {}).await;
    rx.set_default(Reply::status(200).body("{}"));
    let mut ids = Vec::new();
    for (season, episode) in [(2, 3), (2, 1), (2, 2), (3, 1)] {
        let mut body: Value = serde_json::from_slice(&fixture("sonarr", "download")).unwrap();
        body["episodes"][0]["seasonNumber"] = season.into();
        body["episodes"][0]["episodeNumber"] = episode.into();
        let (status, r) = app
            .post_hook("sonarr", &serde_json::to_vec(&body).unwrap())
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{r}");
        ids.push(r["events"][0].as_str().unwrap().to_owned());
    }
    let movie = post_download(&app).await;
    assert_eq!(settled(&app, &movie).await[0]["status"], "succeeded");
    for id in &ids {
        assert_eq!(settled(&app, id).await[0]["status"], "succeeded");
    }
    let got = rx.got();
    assert_eq!(
        got.len(),
        3,
        "season 2 as one message, season 3 and the movie as their own"
    );
    let season2 = got
        .iter()
        .map(|g| g.json())
        .find(|b| {
            b["embeds"][0]["description"]
                .as_str()
                .unwrap_or("")
                .contains("season 2")
        })
        .expect("a season 2 message");
    let embed = &season2["embeds"][0];
    assert!(
        embed["description"]
            .as_str()
            .unwrap()
            .starts_with("Severance season 2: 3 episodes imported"),
        "{embed}"
    );
    let episodes = embed["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "Episodes")
        .unwrap();
    let listed: Vec<&str> = episodes["value"]
        .as_str()
        .unwrap()
        .lines()
        .map(|l| &l[..6])
        .collect();
    assert_eq!(listed, ["S02E01", "S02E02", "S02E03"]);
    // Each member's log names the delivery that carried it.
    let (_, page) = app
        .api_get(&format!("/api/deliveries?event={}", ids[1]))
        .await;
    let one = delivery(&app, &page["items"][0]).await;
    let attempt = &one["attempts"][0];
    assert_eq!(attempt["status_code"], 200);
    assert!(
        attempt["outcome"].as_str().unwrap().starts_with("grouped"),
        "{attempt}"
    );
    app.stop().await;
}

/// Message lifecycle: the import of a download edits the Discord message its grab posted; when that message
/// is gone, the import is posted instead (and the destination stays enabled).
#[tokio::test]
async fn an_import_edits_the_discord_message_of_its_grab() {
    let rx = Receiver::start().await;
    let d = dest(&format!(
        "name: chat\ntype: discord\nurl: {}\n",
        rx.url("/api/webhooks/1/t")
    ));
    let app = app_with(Backend::Sqlite, vec![d], |_| {}).await;
    rx.script([Reply::status(200).body(r#"{"id": "1111", "channel_id": "5"}"#)]);
    let (_, body) = app.post_hook("radarr", &fixture("radarr", "grab")).await;
    let grab = body["events"][0].as_str().unwrap().to_owned();
    assert_eq!(settled(&app, &grab).await[0]["status"], "succeeded");
    rx.set_default(Reply::status(200).body(r#"{"id": "1111"}"#));
    let import = post_download(&app).await;
    assert_eq!(settled(&app, &import).await[0]["status"], "succeeded");
    let got = rx.got();
    assert_eq!(got.len(), 2);
    assert_eq!(
        (got[0].path.as_str(), got[0].query.as_str()),
        ("/api/webhooks/1/t", "wait=true")
    );
    assert_eq!(
        got[1].path, "/api/webhooks/1/t/messages/1111",
        "the import edits the grab's message"
    );
    assert!(
        got[1].json()["embeds"][0]["description"]
            .as_str()
            .unwrap()
            .contains("imported")
    );
    // A second release of the same download id whose message was deleted: PATCH 404, then a new POST.
    rx.script([Reply::status(404).body(r#"{"code": 10008, "message": "Unknown Message"}"#)]);
    let (_, body) = app
        .post_hook("radarr", &fixture("radarr", "download-upgrade"))
        .await;
    let upgrade = body["events"][0].as_str().unwrap().to_owned();
    let d = settled(&app, &upgrade).await;
    assert_eq!(d[0]["status"], "succeeded");
    let got = rx.got();
    let last_two: Vec<&str> = got[got.len() - 2..]
        .iter()
        .map(|g| g.path.as_str())
        .collect();
    // (The upgrade fixture carries the grab's download id.)
    assert_eq!(
        last_two,
        ["/api/webhooks/1/t/messages/1111", "/api/webhooks/1/t"]
    );
    let one = delivery(&app, &d[0]).await;
    assert_eq!(one["attempts"][0]["outcome"], "edit_missing");
    assert_eq!(one["attempts"][1]["outcome"], "succeeded");
    let (_, dest) = app.api_get("/api/destinations/chat").await;
    assert_eq!(
        dest["enabled"], true,
        "a missing message does not disable the webhook"
    );
    app.stop().await;
}

/// Quiet hours: what arrives inside the window is held (not sent, not dropped) until it ends, then goes out
/// as one digest. (The window's end is simulated by making the held deliveries due.)
#[tokio::test]
async fn quiet_hours_hold_everything_for_one_digest() {
    let rx = Receiver::start().await;
    let now = chrono::Utc::now();
    let hhmm = |t: chrono::DateTime<chrono::Utc>| t.format("%H:%M").to_string();
    let d = dest(&format!(
        "name: chat\ntype: discord\nurl: {}\ngroup_window: 0s\nquiet_hours: {{from: \"{}\", to: \"{}\", tz: UTC}}\n",
        rx.url("/api/webhooks/1/t"),
        hhmm(now - chrono::Duration::hours(1)),
        hhmm(now + chrono::Duration::hours(1)),
    ));
    let app = app_with(Backend::Sqlite, vec![d], |_| {}).await;
    rx.set_default(Reply::status(200).body("{}"));
    let first = post_download(&app).await;
    app.post_hook("radarr", &fixture("radarr", "health")).await;
    app.post_hook("sonarr", &fixture("sonarr", "grab")).await;
    let held = app
        .wait_api("/api/deliveries?destination=chat", |b| {
            b["items"].as_array().unwrap().len() == 3
        })
        .await;
    for d in held["items"].as_array().unwrap() {
        assert_eq!(d["status"], "pending");
        let due =
            chrono::DateTime::parse_from_rfc3339(d["next_attempt_at"].as_str().unwrap()).unwrap();
        assert!(
            due > now + chrono::Duration::minutes(55),
            "held until the window ends: {d}"
        );
    }
    assert!(rx.got().is_empty(), "nothing is sent during quiet hours");
    // The window ends.
    app.store
        .make_due("chat", chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(settled(&app, &first).await[0]["status"], "succeeded");
    app.wait_api("/api/deliveries?destination=chat&status=succeeded", |b| {
        b["items"].as_array().unwrap().len() == 3
    })
    .await;
    let got = rx.got();
    assert_eq!(got.len(), 1, "one digest");
    let embed = &got[0].json()["embeds"][0];
    assert_eq!(embed["title"], "🌙 3 events during quiet hours");
    let lines: Vec<&str> = embed["description"].as_str().unwrap().lines().collect();
    assert_eq!(lines.len(), 3, "{embed}");
    assert!(lines.iter().any(|l| l.contains("health")), "{lines:?}");
    app.stop().await;
}
