//! Every target type against a loopback stand-in of its service (`fakes.rs`, `smtp.rs`) that holds each
//! request to the service's documented API and answers as the service does: the recipe (every app's payloads
//! sent to every type, then a revoked credential, then a refused rich message), and what only some services
//! do (Telegram's edits, Matrix's transaction ids, SMTP's reply codes, the short forms).

mod fakes;
mod smtp;

use crate::helpers::{Backend, Corpus, TestApp, fixture, fixture_copy};
use fakes::{Fake, Service};
use hookarr::config::{Destination, DestinationType};
use reqwest::StatusCode;
use serde_json::Value;
use smtp::SmtpServer;
use std::time::Duration;

/// What stands in for one destination's service.
enum StandIn {
    Http(Fake),
    Smtp(SmtpServer),
}

const SMTP_USER: &str = "hookarr";
const SMTP_PASSWORD: &str = "correct horse";

/// The stand-in of a type's service, and the destination that sends to it (long form; no grouping, no rate
/// limit worth the name, so the recipe's many events go out at once).
async fn stand_in(kind: DestinationType) -> (StandIn, Destination) {
    use fakes::*;
    let service = match kind {
        DestinationType::Discord => Service::Discord,
        DestinationType::Slack => Service::Slack,
        DestinationType::HomeAssistant => Service::HomeAssistant,
        DestinationType::Webhook => Service::Webhook,
        DestinationType::Telegram => Service::Telegram,
        DestinationType::Ntfy => Service::Ntfy,
        DestinationType::Gotify => Service::Gotify,
        DestinationType::Pushover => Service::Pushover,
        DestinationType::Matrix => Service::Matrix,
        DestinationType::Mqtt => {
            unreachable!("MQTT is tested against a real broker in tests/it/mqtt")
        }
        DestinationType::Email => {
            let smtp = SmtpServer::start(Some((SMTP_USER, SMTP_PASSWORD))).await;
            let d = format!(
                "type: email\nserver: smtp://127.0.0.1:{}\ntls: none\nfrom: hookarr <hookarr@example.org>\nto: [me@example.org, you@example.org]\nusername: {SMTP_USER}\npassword: {SMTP_PASSWORD}\n",
                smtp.port
            );
            return (StandIn::Smtp(smtp), destination(kind, &d));
        }
    };
    let fake = Fake::start(service).await;
    let base = &fake.base;
    let d = match kind {
        DestinationType::Discord => format!("type: discord\nurl: {base}/api/webhooks/1/tok\n"),
        DestinationType::Slack => format!("type: slack\nurl: {base}/services/T1/B1/x\n"),
        DestinationType::HomeAssistant => {
            format!("type: home_assistant\nurl: {base}/api/webhook/abc\n")
        }
        DestinationType::Webhook => format!("type: webhook\nurl: {base}/in\nsigning: none\n"),
        DestinationType::Telegram => format!(
            "type: telegram\nserver: {base}\ntoken: \"{TELEGRAM_TOKEN}\"\nchat_id: {TELEGRAM_CHAT}\n"
        ),
        DestinationType::Ntfy => {
            format!("type: ntfy\nserver: {base}\ntopic: media\ntoken: {NTFY_TOKEN}\n")
        }
        DestinationType::Gotify => format!("type: gotify\nserver: {base}\ntoken: {GOTIFY_TOKEN}\n"),
        DestinationType::Pushover => format!(
            "type: pushover\nserver: {base}\ntoken: {PUSHOVER_TOKEN}\nuser_key: {PUSHOVER_USER}\npriority: emergency\nemergency: {{retry: 60s, expire: 1h}}\nsound: siren\ndevices: [phone, tablet]\n"
        ),
        DestinationType::Matrix => {
            format!(
                "type: matrix\nserver: {base}\ntoken: {MATRIX_TOKEN}\nroom: \"{MATRIX_ROOM}\"\n"
            )
        }
        DestinationType::Email | DestinationType::Mqtt => unreachable!("above"),
    };
    (StandIn::Http(fake), destination(kind, &d))
}

fn destination(kind: DestinationType, yaml: &str) -> Destination {
    let yaml = format!(
        "name: {}\n{yaml}group_window: 0s\nrate_limit: {{per_second: 1000, burst: 1000}}\nretry: {{max_attempts: 3, schedule: [0s]}}\n",
        kind.as_str().replace('_', "-")
    );
    serde_norway::from_str(&yaml).unwrap_or_else(|e| panic!("{e}: {yaml}"))
}

/// Every destination valid as the config checks it.
fn checked(dests: &[Destination]) {
    let cfg = hookarr::config::Config {
        destinations: dests.to_vec(),
        ..Default::default()
    };
    let (problems, _) = hookarr::config::validate(&cfg);
    assert!(problems.is_empty(), "{problems:?}");
}

/// Posts a payload; returns its events.
async fn post(app: &TestApp, source: &str, body: &[u8]) -> Vec<String> {
    let (status, r) = app.post_hook(source, body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{r}");
    r["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_owned())
        .collect()
}

/// Runs the queue until nothing is due.
async fn drain(app: &TestApp) {
    while app.deliver_pending().await > 0 {}
}

async fn destination_state(app: &TestApp, kind: DestinationType) -> Value {
    let name = kind.as_str().replace('_', "-");
    let (status, body) = app.api_get(&format!("/api/destinations/{name}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// The recipe, for every target type: every payload of the Arr apps and Jellyfin is rendered, sent and taken
/// by the stand-in of its service (which refuses what the service would); a revoked credential, answered as the
/// service answers it, disables the destination; and a rich message the service refuses is followed by the
/// plain summary, where the type has one.
#[tokio::test]
async fn every_target_type_sends_fails_and_falls_back_as_its_service_asks() {
    let mut stand_ins = Vec::new();
    let mut dests = Vec::new();
    // MQTT is no HTTP or SMTP service: its suite (tests/it/mqtt) runs against a real broker.
    for kind in DestinationType::ALL
        .into_iter()
        .filter(|k| *k != DestinationType::Mqtt)
    {
        let (s, d) = stand_in(kind).await;
        stand_ins.push((kind, s));
        dests.push(d);
    }
    checked(&dests);
    let app = TestApp::spawn_manual(Backend::Sqlite, |cfg| cfg.destinations = dests).await;
    let corpus = Corpus::own();
    let mut events = 0;
    for app_name in ["radarr", "sonarr", "lidarr", "jellyfin"] {
        for name in corpus.names(app_name) {
            events += post(&app, app_name, &corpus.read(app_name, &name))
                .await
                .len();
        }
    }
    assert!(events >= 40, "{events} events");
    drain(&app).await;
    for (kind, s) in &stand_ins {
        match s {
            StandIn::Http(fake) => {
                let seen = fake.seen();
                let refused: Vec<_> = seen.iter().filter(|s| s.status >= 300).collect();
                assert!(refused.is_empty(), "{kind:?} refused {refused:#?}");
                assert_eq!(seen.len(), events, "{kind:?}: one request per event");
            }
            StandIn::Smtp(smtp) => {
                let mails = smtp.mails();
                assert_eq!(mails.len(), events, "one mail per event");
                assert!(mails.iter().all(|m| m.user.as_deref() == Some(SMTP_USER)));
            }
        }
        let state = destination_state(&app, *kind).await;
        assert_eq!(
            state["deliveries"]["succeeded"], events,
            "{kind:?}: {state}"
        );
    }

    // A revoked credential (a deleted webhook, a blocked bot, a changed password) disables each one.
    for (_, s) in &stand_ins {
        match s {
            StandIn::Http(fake) => fake.revoke(true),
            StandIn::Smtp(smtp) => smtp.set_password("changed"),
        }
    }
    post(&app, "radarr", &fixture_copy("radarr", "download", 1)).await;
    drain(&app).await;
    let secrets = [
        fakes::TELEGRAM_TOKEN,
        fakes::NTFY_TOKEN,
        fakes::GOTIFY_TOKEN,
        fakes::PUSHOVER_TOKEN,
        fakes::PUSHOVER_USER,
        fakes::MATRIX_TOKEN,
        SMTP_PASSWORD,
    ];
    let (_, deliveries) = app.api_get("/api/deliveries?limit=200").await;
    for d in deliveries["items"].as_array().unwrap().iter().take(40) {
        let (_, one) = app
            .api_get(&format!("/api/deliveries/{}", d["id"].as_str().unwrap()))
            .await;
        let text = one.to_string();
        assert!(
            secrets.iter().all(|s| !text.contains(s)),
            "a secret in {text}"
        );
    }
    for (kind, _) in &stand_ins {
        let state = destination_state(&app, *kind).await;
        let text = state.to_string();
        assert!(
            secrets.iter().all(|s| !text.contains(s)),
            "a secret in {text}"
        );
        assert_eq!(state["enabled"], false, "{kind:?}: {state}");
        let reason = state["disabled_reason"].as_str().unwrap();
        assert!(!reason.is_empty(), "{kind:?}");
    }

    // Back, and a rich message refused as the service refuses one: the plain summary follows.
    for (kind, s) in &stand_ins {
        match s {
            StandIn::Http(fake) => {
                fake.revoke(false);
                fake.refuse_next_rich();
            }
            StandIn::Smtp(smtp) => smtp.set_password(SMTP_PASSWORD),
        }
        let name = kind.as_str().replace('_', "-");
        let (status, body) = app
            .api_post(&format!("/api/destinations/{name}/enable"), Value::Null)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let id = post(&app, "radarr", &fixture_copy("radarr", "download", 2)).await;
    drain(&app).await;
    let (_, event) = app.api_get(&format!("/api/events/{}", id[0])).await;
    let summary = event["summary"].as_str().unwrap();
    for (kind, s) in &stand_ins {
        let has_fallback = kind
            .target()
            .fallback(&hookarr::delivery::test_event())
            .is_some();
        match s {
            StandIn::Http(fake) => {
                let seen = fake.seen();
                let last = seen.last().unwrap();
                assert!(last.status < 300, "{kind:?}: {last:?}");
                if has_fallback {
                    let refused = &seen[seen.len() - 2];
                    assert_eq!(refused.status, 400, "{kind:?}");
                    let plain = last.body.to_string();
                    assert!(plain.contains(&summary[..20]), "{kind:?}: {plain}");
                }
            }
            StandIn::Smtp(smtp) => assert_eq!(smtp.mails().len(), events + 1),
        }
        let state = destination_state(&app, *kind).await;
        assert_eq!(
            state["deliveries"]["succeeded"],
            events + 1,
            "{kind:?}: {state}"
        );
    }
    app.stop().await;
}

/// What each service was sent, field by field, for one movie import.
#[tokio::test]
async fn each_service_gets_its_documented_request() {
    let mut stand_ins = Vec::new();
    let mut dests = Vec::new();
    for kind in [
        DestinationType::Telegram,
        DestinationType::Ntfy,
        DestinationType::Gotify,
        DestinationType::Pushover,
        DestinationType::Matrix,
        DestinationType::Email,
    ] {
        let (s, d) = stand_in(kind).await;
        stand_ins.push((kind, s));
        dests.push(d);
    }
    let app = TestApp::spawn_manual(Backend::Sqlite, |cfg| cfg.destinations = dests).await;
    let id = post(&app, "radarr", &fixture("radarr", "download")).await;
    drain(&app).await;
    let (_, event) = app.api_get(&format!("/api/events/{}", id[0])).await;
    let poster = event["data"]["media"]["poster_url"].as_str().unwrap();
    let (_, deliveries) = app
        .api_get(&format!("/api/deliveries?event={}", id[0]))
        .await;
    let delivery_to = |name: &str| {
        deliveries["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["destination"] == name)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    for (kind, s) in &stand_ins {
        if let StandIn::Smtp(smtp) = s {
            let mail = &smtp.mails()[0];
            assert_eq!(mail.from, "hookarr@example.org");
            assert_eq!(mail.to, ["me@example.org", "you@example.org"]);
            let data = &mail.data;
            assert!(data.contains("Subject: "), "{data}");
            assert!(data.contains("multipart/alternative"), "{data}");
            assert!(
                data.contains("text/plain") && data.contains("text/html"),
                "{data}"
            );
            assert!(
                data.contains(&format!("Message-ID: <{}@hookarr>", delivery_to("email"))),
                "{data}"
            );
            continue;
        }
        let StandIn::Http(fake) = s else {
            unreachable!()
        };
        let got = &fake.accepted()[0];
        let b = &got.body;
        match kind {
            DestinationType::Telegram => {
                assert_eq!(got.path, format!("/bot{}/sendPhoto", fakes::TELEGRAM_TOKEN));
                assert_eq!(b["photo"], poster);
                assert_eq!(b["parse_mode"], "HTML");
                let caption = fakes::parse_telegram_html(b["caption"].as_str().unwrap()).unwrap();
                assert!(caption.starts_with("✅ Dune: Part Two (2024)"), "{caption}");
            }
            DestinationType::Ntfy => {
                assert_eq!(got.path, "/");
                assert_eq!(b["topic"], "media");
                assert_eq!(b["attach"], poster);
                assert_eq!(b["title"], "✅ Dune: Part Two (2024)");
                assert!(b["message"].as_str().unwrap().contains("WEBDL-2160p"));
            }
            DestinationType::Gotify => {
                assert_eq!(got.path, "/message");
                assert_eq!(got.headers["x-gotify-key"], fakes::GOTIFY_TOKEN);
                assert_eq!(b["extras"]["client::notification"]["bigImageUrl"], poster);
                assert!(
                    b["message"]
                        .as_str()
                        .unwrap()
                        .contains("**Quality** WEBDL-2160p")
                );
            }
            DestinationType::Pushover => {
                assert_eq!(got.path, "/1/messages.json");
                for (k, v) in [
                    ("html", "1"),
                    ("priority", "2"),
                    ("retry", "60"),
                    ("expire", "3600"),
                    ("sound", "siren"),
                    ("device", "phone,tablet"),
                ] {
                    assert_eq!(b[k], v, "{k}: {b}");
                }
                assert!(b["message"].as_str().unwrap().contains("<b>Quality</b>"));
            }
            DestinationType::Matrix => {
                assert_eq!(got.method, "PUT");
                let txn = got.path.rsplit('/').next().unwrap();
                assert_eq!(
                    txn,
                    delivery_to("matrix"),
                    "the transaction id is the delivery id"
                );
                assert_eq!(b["msgtype"], "m.notice");
                assert_eq!(b["format"], "org.matrix.custom.html");
                assert!(
                    b["body"]
                        .as_str()
                        .unwrap()
                        .starts_with("✅ Dune: Part Two (2024)\n")
                );
                assert!(
                    !b["body"].as_str().unwrap().contains('<'),
                    "the plain body has no tags"
                );
            }
            other => unreachable!("{other:?}"),
        }
    }
    app.stop().await;
}

/// Telegram's grab → import story: the import edits the grab's message (its caption, as it has the poster),
/// and an edit of a message that is gone posts anew.
#[tokio::test]
async fn a_telegram_import_edits_the_message_of_its_grab() {
    let (s, d) = stand_in(DestinationType::Telegram).await;
    let StandIn::Http(fake) = s else {
        unreachable!()
    };
    let app = TestApp::spawn_manual(Backend::Sqlite, |cfg| cfg.destinations = vec![d]).await;
    grab_then_import(&app).await;
    let seen = fake.seen();
    let methods: Vec<&str> = seen
        .iter()
        .map(|s| s.path.rsplit('/').next().unwrap())
        .collect();
    assert_eq!(methods, ["sendPhoto", "editMessageCaption"], "{seen:#?}");
    assert_eq!(seen[1].body["message_id"], 1);
    assert!(seen.iter().all(|s| s.status == 200));
    let messages = fake.messages();
    assert_eq!(messages.len(), 1, "one message, edited");
    assert!(
        messages[0]["caption"]
            .as_str()
            .unwrap()
            .contains("imported")
    );
    app.stop().await;
}

/// A Telegram group that became a supergroup answers with its new chat id: the message goes there at once
/// (both exchanges logged), and so do the next ones.
#[tokio::test]
async fn a_telegram_group_that_became_a_supergroup_is_followed() {
    let (s, d) = stand_in(DestinationType::Telegram).await;
    let StandIn::Http(fake) = s else {
        unreachable!()
    };
    fake.migrate_group();
    let app = TestApp::spawn_manual(Backend::Sqlite, |cfg| cfg.destinations = vec![d]).await;
    let first = post(&app, "radarr", &fixture("radarr", "download")).await;
    drain(&app).await;
    post(&app, "sonarr", &fixture("sonarr", "download")).await;
    drain(&app).await;
    let chats: Vec<(u16, Value)> = fake
        .seen()
        .iter()
        .map(|s| (s.status, s.body["chat_id"].clone()))
        .collect();
    let (old, new) = (
        Value::from(fakes::TELEGRAM_CHAT),
        Value::from(fakes::TELEGRAM_SUPERGROUP),
    );
    assert_eq!(chats, [(400, old), (200, new.clone()), (200, new)]);
    let (_, listed) = app
        .api_get(&format!("/api/deliveries?event={}", first[0]))
        .await;
    let id = listed["items"][0]["id"].as_str().unwrap();
    let (_, one) = app.api_get(&format!("/api/deliveries/{id}")).await;
    let outcomes: Vec<&str> = one["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["chat_moved", "succeeded"]);
    app.stop().await;
}

/// Matrix: a message the homeserver took but whose answer was lost is sent again with the same transaction id,
/// and the homeserver posts it once.
#[tokio::test]
async fn a_matrix_retry_reuses_its_transaction_id() {
    let (s, d) = stand_in(DestinationType::Matrix).await;
    let StandIn::Http(fake) = s else {
        unreachable!()
    };
    let app = TestApp::spawn_manual(Backend::Sqlite, |cfg| cfg.destinations = vec![d]).await;
    fake.lose_next_answer();
    let id = post(&app, "radarr", &fixture("radarr", "download")).await;
    drain(&app).await;
    let (_, d) = app
        .api_get(&format!("/api/deliveries?event={}", id[0]))
        .await;
    assert_eq!(d["items"][0]["status"], "succeeded", "{d}");
    let seen = fake.seen();
    assert_eq!(
        seen.iter().map(|s| s.status).collect::<Vec<_>>(),
        [502, 200]
    );
    assert_eq!(seen[0].path, seen[1].path, "the same transaction id");
    assert_eq!(fake.messages().len(), 1, "posted once");
    app.stop().await;
}

/// A Matrix room given by its alias (as Apprise URLs give it) is joined once, through the join that names
/// its id; an alias the homeserver does not know disables the destination with the homeserver's answer.
#[tokio::test]
async fn a_matrix_alias_is_joined_once_and_an_unknown_one_disables() {
    let fake = Fake::start(Service::Matrix).await;
    let host = fake.base.trim_start_matches("http://");
    let token = fakes::MATRIX_TOKEN;
    let yaml = format!(
        "destinations:\n  - name: room\n    url: matrix://{token}@{host}/%23media:example.org\n  - name: nowhere\n    url: matrix://{token}@{host}/%23gone:example.org\n"
    );
    let (cfg, _) =
        hookarr::config::load_from_str(&yaml, |_| None, &[]).unwrap_or_else(|p| panic!("{p}"));
    assert_eq!(
        cfg.destinations[0].room.as_deref(),
        Some(fakes::MATRIX_ALIAS)
    );
    let dests = cfg.destinations;
    let app = TestApp::spawn_manual(Backend::Sqlite, |cfg| cfg.destinations = dests).await;
    post(&app, "radarr", &fixture("radarr", "download")).await;
    post(&app, "radarr", &fixture("radarr", "grab")).await;
    drain(&app).await;
    let rooms: Vec<String> = fake
        .accepted()
        .into_iter()
        // (hookarr's own `destination_disabled` event goes to `room` too.)
        .filter(|s| s.method == "PUT" && !s.headers["x-hookarr-event"].starts_with("hookarr."))
        .map(|s| s.path)
        .collect();
    assert_eq!(rooms.len(), 2, "{:?}", fake.seen());
    let room_id =
        url::form_urlencoded::byte_serialize(fakes::MATRIX_ROOM.as_bytes()).collect::<String>();
    assert!(
        rooms
            .iter()
            .all(|p| p.contains(&room_id) || p.contains(fakes::MATRIX_ROOM)),
        "{rooms:?}"
    );
    // One join for `room` (then remembered), one refused for `nowhere`.
    assert_eq!(fake.joins(), 2);
    let (status, state) = app.api_get("/api/destinations/nowhere").await;
    assert_eq!(status, StatusCode::OK, "{state}");
    assert_eq!(state["enabled"], false, "{state}");
    assert!(
        state["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("M_NOT_FOUND"),
        "{state}"
    );
    app.stop().await;
}

/// SMTP reply codes decide: a 4xx is tried again, a 5xx fails, a refused log-in disables.
#[tokio::test]
async fn smtp_replies_decide_as_smtp_says() {
    let (s, mut d) = stand_in(DestinationType::Email).await;
    let StandIn::Smtp(smtp) = s else {
        unreachable!()
    };
    d.retry = Some(hookarr::config::Retry {
        max_attempts: 3,
        schedule: vec![Duration::ZERO, Duration::from_secs(3600)],
    });
    // Workers that keep time: the retry waits its hour.
    let app = TestApp::spawn_with(Backend::Sqlite, |cfg| cfg.destinations = vec![d]).await;
    smtp.refuse_recipients(Some("451 4.3.0 Mailbox temporarily unavailable"));
    let id = post(&app, "radarr", &fixture("radarr", "download")).await;
    let path = format!("/api/deliveries?event={}", id[0]);
    let d = app
        .wait_api(&path, |b| b["items"][0]["attempts"] == 1)
        .await;
    assert_eq!(d["items"][0]["status"], "pending", "tried again later: {d}");
    assert_eq!(d["items"][0]["last_status"], 451, "{d}");
    smtp.refuse_recipients(Some("550 5.1.1 No such user"));
    let id = post(&app, "radarr", &fixture_copy("radarr", "download", 1)).await;
    let path = format!("/api/deliveries?event={}", id[0]);
    let d = app
        .wait_api(&path, |b| b["items"][0]["status"] == "failed")
        .await;
    assert_eq!(d["items"][0]["last_status"], 550, "{d}");
    assert!(smtp.mails().is_empty());
    let state = destination_state(&app, DestinationType::Email).await;
    assert_eq!(
        state["enabled"], true,
        "a refused recipient does not disable"
    );
    app.stop().await;
}

/// STARTTLS is required unless `tls: none`: a server that does not offer it gets no mail and no password.
#[tokio::test]
async fn no_mail_goes_out_unencrypted_when_starttls_is_required() {
    let smtp = SmtpServer::start(Some((SMTP_USER, SMTP_PASSWORD))).await;
    let d = destination(
        DestinationType::Email,
        &format!(
            "type: email\nserver: smtp://127.0.0.1:{}\nfrom: hookarr@example.org\nto: [me@example.org]\nusername: {SMTP_USER}\npassword: {SMTP_PASSWORD}\n",
            smtp.port
        ),
    );
    checked(std::slice::from_ref(&d));
    let app = TestApp::spawn_manual(Backend::Sqlite, |cfg| cfg.destinations = vec![d]).await;
    let id = post(&app, "radarr", &fixture("radarr", "download")).await;
    app.deliver_pending().await;
    let (_, d) = app
        .api_get(&format!("/api/deliveries?event={}", id[0]))
        .await;
    let error = d["items"][0]["last_error"].as_str().unwrap_or_default();
    assert!(error.contains("STARTTLS") || error.contains("TLS"), "{d}");
    assert!(smtp.mails().is_empty());
    assert!(smtp.logins().is_empty(), "the password was never sent");
    app.stop().await;
}

/// A destination written as a short form reaches the same service as its long form, through `server:`.
#[tokio::test]
async fn a_short_form_destination_reaches_its_service() {
    let fake = Fake::start(Service::Telegram).await;
    let yaml = format!(
        "destinations:\n  - name: tg\n    url: tgram://{}/{}\n    server: {}\n",
        fakes::TELEGRAM_TOKEN,
        fakes::TELEGRAM_CHAT,
        fake.base
    );
    let (cfg, _) = hookarr::config::load_from_str(&yaml, |_| None, &[]).unwrap();
    assert_eq!(cfg.destinations[0].kind, DestinationType::Telegram);
    let dests = cfg.destinations;
    let app = TestApp::spawn_manual(Backend::Sqlite, |cfg| cfg.destinations = dests).await;
    post(&app, "radarr", &fixture("radarr", "download")).await;
    drain(&app).await;
    let got = fake.accepted();
    assert_eq!(got.len(), 1, "{:?}", fake.seen());
    assert_eq!(got[0].body["chat_id"], fakes::TELEGRAM_CHAT);
    app.stop().await;
}

/// Matrix edits: a `story: true` room gets one message per title, each later step an `m.replace` of it
/// (the new content in `m.new_content`, a `* ` fallback body, a transaction id of its own).
#[tokio::test]
async fn a_matrix_story_is_one_message_replaced_at_each_step() {
    let (s, mut d) = stand_in(DestinationType::Matrix).await;
    let StandIn::Http(fake) = s else {
        unreachable!()
    };
    d.story = true;
    let app = TestApp::spawn_manual(Backend::Sqlite, |cfg| cfg.destinations = vec![d]).await;
    grab_then_import(&app).await;
    let seen = fake.seen();
    assert_eq!(
        seen.len(),
        2,
        "{:?}",
        seen.iter().map(|s| &s.path).collect::<Vec<_>>()
    );
    let first = &seen[0].body;
    assert!(
        first["formatted_body"]
            .as_str()
            .unwrap()
            .contains("Grabbed"),
        "{first}"
    );
    let edit = &seen[1].body;
    assert!(seen[1].path.ends_with(".edit"), "{}", seen[1].path);
    assert_eq!(edit["m.relates_to"]["rel_type"], "m.replace");
    assert_eq!(
        edit["m.relates_to"]["event_id"], "$event1",
        "the first message the homeserver took"
    );
    assert!(edit["body"].as_str().unwrap().starts_with("* "), "{edit}");
    assert!(
        edit["m.new_content"]["formatted_body"]
            .as_str()
            .unwrap()
            .contains("Ready to watch on"),
        "{edit}"
    );
    assert_eq!(fake.messages().len(), 2);
    app.stop().await;
}

/// Radarr's grab, delivered, then its import, delivered.
async fn grab_then_import(app: &TestApp) {
    post(app, "radarr", &fixture("radarr", "grab")).await;
    drain(app).await;
    post(app, "radarr", &fixture("radarr", "download")).await;
    drain(app).await;
}
