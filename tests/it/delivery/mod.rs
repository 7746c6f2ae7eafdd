//! The delivery pipeline end to end: a real hookarr sends to real loopback receivers.

use crate::helpers::{Backend, Corpus, TestApp, fixture};
use crate::receiver::{Receiver, Reply};
use hmac::{Hmac, Mac};
use hookarr::config::{Config, Destination};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;

mod at_ingest;
mod in_flight;
mod messages;
mod operations;
mod pacing;
mod retries;
mod roles;
pub(crate) mod signing;
mod targets;

pub(super) const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

pub(super) fn dest(yaml: &str) -> Destination {
    serde_norway::from_str(yaml).unwrap_or_else(|e| panic!("{e}: {yaml}"))
}

pub(super) async fn app_with(
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

/// Like [`app_with`], but the queue runs only when the test says so ([`TestApp::deliver_pending`]).
pub(super) async fn manual_app_with(
    backend: Backend,
    dests: Vec<Destination>,
    tweak: impl FnOnce(&mut Config),
) -> TestApp {
    TestApp::spawn_manual(backend, |cfg| {
        cfg.destinations = dests;
        tweak(cfg);
    })
    .await
}

/// The deliveries of an event once they have left `pending`: run at once on a manual app, waited for on one
/// whose workers run.
pub(super) async fn settled(app: &TestApp, event_id: &str) -> Vec<Value> {
    if app.is_manual() {
        app.deliver_pending().await;
        let (status, body) = app
            .api_get(&format!("/api/deliveries?event={event_id}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        return body["items"].as_array().unwrap().clone();
    }
    let body = app
        .wait_api(&format!("/api/deliveries?event={event_id}"), |b| {
            let items = b["items"].as_array().unwrap();
            !items.is_empty() && items.iter().all(|d| d["status"] != "pending")
        })
        .await;
    body["items"].as_array().unwrap().clone()
}

pub(super) async fn post_download(app: &TestApp) -> String {
    let (status, body) = app
        .post_hook("radarr", &fixture("radarr", "download"))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    body["events"][0].as_str().unwrap().to_owned()
}

/// One delivery with its attempts (`GET /api/deliveries/{id}`), for a delivery as listed.
pub(super) async fn delivery(app: &TestApp, listed: &Value) -> Value {
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
pub(super) fn outcomes(delivery: &Value) -> Vec<String> {
    delivery["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["outcome"].as_str().unwrap().to_owned())
        .collect()
}

pub(super) async fn body_title(app: &TestApp, accepted: &Value) -> String {
    let id = accepted["events"][0].as_str().unwrap();
    let (_, e) = app.api_get(&format!("/api/events/{id}")).await;
    e["data"]["media"]["title"].as_str().unwrap().to_owned()
}
