//! One HTTP exchange with a target: send the request, keep what the attempt log needs of the answer, and
//! say what it means.

use crate::config::DestinationType;
use crate::outbound::OutboundRequest;
use crate::outbound::answer::{self, Verdict};
use crate::storage::{AttemptOutcome, AttemptRow};
use chrono::{DateTime, Utc};
use std::time::{Duration, Instant};

/// What one HTTP exchange gave.
#[derive(Debug, Clone)]
pub struct Sent {
    pub started: DateTime<Utc>,
    pub duration: Duration,
    pub status: Option<u16>,
    pub headers: serde_json::Map<String, serde_json::Value>,
    pub body: String,
    pub error: Option<String>,
    /// The body sent, when it is kept (registered webhooks).
    pub request_body: Option<String>,
}

/// The response headers kept in the attempt log.
const KEPT_HEADERS: &[&str] = &[
    "content-type",
    "retry-after",
    "location",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "x-ratelimit-reset-after",
    "x-ratelimit-bucket",
    "x-ratelimit-global",
    "x-ratelimit-scope",
    "x-limit-app-limit",
    "x-limit-app-remaining",
    "x-limit-app-reset",
];

impl Sent {
    /// An exchange that got no answer: `error` says why.
    pub(crate) fn error(started: DateTime<Utc>, clock: Instant, error: String) -> Sent {
        Sent {
            started,
            duration: clock.elapsed(),
            status: None,
            headers: Default::default(),
            body: String::new(),
            error: Some(error),
            request_body: None,
        }
    }

    /// This exchange as attempt number `attempt` of the log, with what it came to.
    pub(super) fn record(&self, attempt: u32, outcome: AttemptOutcome) -> AttemptRow {
        AttemptRow {
            attempt,
            started_at: self.started,
            duration_ms: self.duration.as_millis() as u64,
            outcome,
            status_code: self.status,
            response_headers: self.headers.clone(),
            response_body: (!self.body.is_empty()).then(|| self.body.clone()),
            error: self.error.clone(),
            request_body: self.request_body.clone(),
        }
    }

    /// The verdict: a transport error is retried; otherwise the answer is classified.
    pub fn verdict(&self, kind: DestinationType, now: DateTime<Utc>) -> Verdict {
        let Some(status) = self.status else {
            return Verdict::Retry { after: None };
        };
        let header = |n: &str| self.headers.get(n).and_then(|v| v.as_str());
        let after = answer::retry_after(
            header("retry-after"),
            header("x-ratelimit-reset-after"),
            &self.body,
            now,
        );
        // Only a 429 or 503 may set the wait; other answers follow the schedule.
        let after = matches!(status, 429 | 503).then_some(after).flatten();
        // A type that reads its answers its own way (a Telegram edit that changed nothing, an SMTP reply,
        // Pushover's quota header) says so first.
        kind.target()
            .classify(status, &self.body, &self.headers, after)
            .unwrap_or_else(|| answer::classify(kind, status, &self.body, after))
    }
}

/// Sends one request and reads at most `max_body` bytes of the answer.
pub async fn send(
    client: &reqwest::Client,
    request: OutboundRequest,
    max_body: usize,
    started: DateTime<Utc>,
    clock: Instant,
) -> Sent {
    let mut builder = client
        .request(request.method, &request.url)
        .body(request.body);
    for (k, v) in &request.headers {
        builder = builder.header(k, v);
    }
    let mut response = match builder.send().await {
        Ok(r) => r,
        Err(e) => return Sent::error(started, clock, describe(&e)),
    };
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .filter(|(k, _)| KEPT_HEADERS.contains(&k.as_str()))
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                serde_json::Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned()),
            )
        })
        .collect();
    let mut body = Vec::new();
    let mut error = None;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = max_body.saturating_sub(body.len());
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if body.len() >= max_body {
                    break;
                }
            }
            Ok(None) => break,
            // The status arrived; a broken body does not change what it said.
            Err(e) => {
                error = Some(format!("reading the response failed: {}", describe(&e)));
                break;
            }
        }
    }
    Sent {
        started,
        duration: clock.elapsed(),
        status: Some(status),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        error,
        request_body: None,
    }
}

/// A transport error in words, naming the host and port but never the rest of the URL (which may hold a
/// secret): "connection refused by 127.0.0.1:9", "cannot resolve discord.example (DNS)", "timed out".
fn describe(e: &reqwest::Error) -> String {
    let host = e.url().and_then(|u| u.host_str()).unwrap_or("the target");
    let place = e.url().and_then(|u| {
        let port = u.port_or_known_default()?;
        Some(format!("{}:{port}", u.host_str()?))
    });
    let mut source = std::error::Error::source(e);
    let mut detail = String::new();
    let mut io_kind = None;
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            io_kind = Some(io.kind());
        }
        detail = s.to_string();
        source = s.source();
    }
    let at = place.as_deref().unwrap_or(host);
    if e.is_timeout() {
        return format!("timed out waiting for {at} (delivery.timeout_secs)");
    }
    if e.is_connect() {
        return match io_kind {
            Some(std::io::ErrorKind::ConnectionRefused) => format!(
                "connection refused by {at}: nothing listens there; check the URL's host and port and that \
                 the target runs"
            ),
            _ if detail.contains("dns error") || detail.contains("lookup address") => {
                format!("cannot resolve {host} (DNS): check the host name in the URL")
            }
            _ if detail.is_empty() => format!("cannot connect to {at}"),
            _ => format!("cannot connect to {at}: {detail}"),
        };
    }
    let kind = if e.is_body() || e.is_decode() {
        "bad response body"
    } else if e.is_request() {
        "request failed"
    } else {
        "HTTP error"
    };
    if detail.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {detail}")
    }
}
