//! The HTTP server against slow and greedy clients, over raw TCP on loopback: a head that never ends, a body
//! that stops half-way, a huge declared body, more connections or requests than the caps allow, and a client
//! that leaves once its body is sent.

use crate::helpers::{Backend, TestApp, assert_error, fixture};
use hookarr::config::Config;
use serde_json::Value;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a test waits for the server to act before it calls the server stuck.
const STUCK: Duration = Duration::from_secs(20);

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Reads until the server closes the connection or a whole response (head and `Content-Length` body) is in;
/// returns what was read. Panics if the server neither answers nor closes within [`STUCK`].
async fn read_answer(stream: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let read = async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
            if let Some(whole) = whole_response(&got) {
                got.truncate(whole);
                break;
            }
        }
    };
    tokio::time::timeout(STUCK, read)
        .await
        .expect("the server neither answered nor closed the connection");
    String::from_utf8_lossy(&got).into_owned()
}

/// The length of the first whole response in `bytes`, if it is all there.
fn whole_response(bytes: &[u8]) -> Option<usize> {
    let text = std::str::from_utf8(bytes).ok()?;
    let head_end = text.find("\r\n\r\n")? + 4;
    let length: usize = text[..head_end]
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    (bytes.len() >= head_end + length).then_some(head_end + length)
}

fn status_of(answer: &str) -> u16 {
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer:?}"))
}

fn body_of(answer: &str) -> Value {
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer:?}"))
}

fn header_of<'a>(answer: &'a str, name: &str) -> Option<&'a str> {
    answer.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

async fn app_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    TestApp::spawn_manual(Backend::Sqlite, tweak).await
}

#[tokio::test]
async fn a_head_that_never_ends_is_cut_off_at_the_header_deadline() {
    let app = app_with(|cfg| cfg.server.header_timeout_secs = 1).await;
    let mut slow = connect(&app).await;
    slow.write_all(b"POST /hooks/radarr HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // One header byte at a time, as a slowloris client sends them, for longer than the deadline.
    let dribble = async {
        for _ in 0..40 {
            if slow.write_all(b"X").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    };
    dribble.await;
    let answer = read_answer(&mut slow).await;
    assert!(
        answer.is_empty() || status_of(&answer) == 408,
        "the connection is closed (or answered 408), not kept: {answer:?}"
    );
    let (status, _) = app.get_plain("/healthz").await;
    assert_eq!(status, 200);
    app.stop().await;
}

#[tokio::test]
async fn a_body_that_stops_half_way_gets_408_and_what_arrived_is_kept() {
    let app = app_with(|cfg| cfg.server.body_timeout_secs = 1).await;
    let body = fixture("radarr", "download");
    let half = &body[..body.len() / 2];
    let mut stream = connect(&app).await;
    let head = format!(
        "POST /hooks/radarr?token={} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        app.token("radarr"),
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(half).await.unwrap();
    let answer = read_answer(&mut stream).await;
    assert_eq!(status_of(&answer), 408, "{answer}");
    assert_error(&body_of(&answer), "request_timeout");
    let (status, rejected) = app.api_get("/api/rejected").await;
    assert_eq!(status, 200);
    let items = rejected["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{rejected}");
    assert_eq!(
        items[0]["body"].as_str().unwrap().as_bytes(),
        half,
        "the bytes that arrived are kept"
    );
    assert!(
        items[0]["reason"]
            .as_str()
            .unwrap()
            .contains("stopped arriving"),
        "{rejected}"
    );
    assert!(
        app.event_ids("/api/events").await.is_empty(),
        "nothing half-stored"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_declared_body_over_the_limit_gets_413_before_any_of_it_is_sent() {
    let app = app_with(|_| {}).await;
    let mut stream = connect(&app).await;
    let head = format!(
        "POST /hooks/radarr?token={} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n",
        app.token("radarr"),
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // Not a byte of the body: the answer must not wait for it.
    let answer = read_answer(&mut stream).await;
    assert_eq!(status_of(&answer), 413, "{answer}");
    let body = body_of(&answer);
    assert_error(&body, "payload_too_large");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1000000000"),
        "{body}"
    );
    app.stop().await;
}

#[tokio::test]
async fn past_the_connection_cap_requests_get_503_and_health_checks_still_answer() {
    let app = app_with(|cfg| cfg.server.max_connections = 4).await;
    // Four idle connections take every slot; the server has accepted them once a request on a fifth is
    // turned away.
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(connect(&app).await);
    }
    let ask = async |request: &str| {
        let mut s = connect(&app).await;
        s.write_all(request.as_bytes()).await.unwrap();
        read_answer(&mut s).await
    };
    let answer = ask("GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(status_of(&answer), 503, "{answer}");
    assert_error(&body_of(&answer), "overloaded");
    assert!(header_of(&answer, "retry-after").is_some(), "{answer}");
    let answer = ask("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(status_of(&answer), 200, "the process is up: {answer}");
    let answer = ask("GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(status_of(&answer), 503, "{answer}");
    assert_eq!(body_of(&answer)["status"], "not_ready", "{answer}");
    // A connection that sends nothing is answered and closed too, not kept.
    let mut silent = connect(&app).await;
    let answer = read_answer(&mut silent).await;
    assert_eq!(status_of(&answer), 503, "{answer}");
    // Freed slots serve again.
    drop(idle);
    app.wait_api("/api/events", |b| b["items"].is_array()).await;
    app.stop().await;
}

#[tokio::test]
async fn past_the_request_cap_requests_get_503_and_health_checks_still_answer() {
    // Workers running, so that `/readyz` is 200 when it is answered at all.
    let app =
        TestApp::spawn_with(Backend::Sqlite, |cfg| cfg.server.max_requests_in_flight = 2).await;
    // Two hook requests whose bodies have not finished: both in flight.
    let mut stalled = Vec::new();
    for _ in 0..2 {
        let mut s = connect(&app).await;
        let head = format!(
            "POST /hooks/radarr?token={} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{",
            app.token("radarr")
        );
        s.write_all(head.as_bytes()).await.unwrap();
        stalled.push(s);
    }
    // Once both have reached their handler, a third request is turned away.
    let deadline = std::time::Instant::now() + STUCK;
    let busy = loop {
        assert!(
            std::time::Instant::now() < deadline,
            "never turned away past max_requests_in_flight"
        );
        let resp = app
            .client
            .get(format!("{}/api/events", app.base))
            .bearer_auth(crate::helpers::ADMIN_KEY)
            .send()
            .await
            .unwrap();
        if resp.status() == 503 {
            break resp;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(
        busy.headers().contains_key("retry-after"),
        "503 carries Retry-After: {:?}",
        busy.headers()
    );
    assert_error(&busy.json::<Value>().await.unwrap(), "overloaded");
    let (status, _) = app.get_plain("/healthz").await;
    assert_eq!(status, 200);
    let (status, _) = app.get_plain("/readyz").await;
    assert_eq!(status, 200);
    drop(stalled);
    app.wait_api("/api/events", |b| b["items"].is_array()).await;
    app.stop().await;
}

#[tokio::test]
async fn an_ingest_completes_when_the_client_leaves_right_after_its_body() {
    let app = app_with(|_| {}).await;
    const N: u64 = 60;
    for i in 0..N {
        let body = crate::helpers::fixture_copy("radarr", "grab", i);
        let mut s = connect(&app).await;
        let head = format!(
            "POST /hooks/radarr?token={} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            app.token("radarr"),
            body.len()
        );
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(&body).await.unwrap();
        // Gone before the answer: a reverse proxy that timed out.
        drop(s);
    }
    // Stored in the background of the handlers that nobody waits for: poll until all are in.
    let deadline = std::time::Instant::now() + STUCK;
    let stored = loop {
        let stored = app.event_ids("/api/events?limit=100").await.len();
        if stored as u64 == N || std::time::Instant::now() > deadline {
            break stored;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let (_, rejected) = app.api_get("/api/rejected").await;
    let reasons: Vec<&str> = rejected["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["reason"].as_str())
        .collect();
    assert_eq!(
        stored as u64, N,
        "every request whose body arrived is stored; rejected: {reasons:?}"
    );
    app.stop().await;
}
