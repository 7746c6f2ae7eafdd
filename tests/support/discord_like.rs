//! A receiver that rate-limits as Discord's webhook routes do: one bucket shared by every webhook on it (as
//! the webhooks of one channel can be), a fixed window of `limit` requests that starts with the first request
//! after the last window ended, the `X-RateLimit-Bucket`, `-Limit`, `-Remaining`, `-Reset-After` headers on
//! every answer, and past the limit a 429 with `retry_after` in its body and `Retry-After`. It answers a
//! message as Discord's `?wait=true` does and counts what it took and what it refused. Used by the
//! integration tests and the delivery benchmark.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What arrived, in order: when, and whether it was answered 429.
#[derive(Debug, Clone, Copy)]
pub struct Arrival {
    pub at: Instant,
    pub limited: bool,
}

struct Window {
    limit: u32,
    length: Duration,
    started: Option<Instant>,
    used: u32,
    arrivals: Vec<Arrival>,
    /// The text of each message taken (its embed titles or content).
    messages: Vec<String>,
}

pub struct DiscordLike {
    pub base: String,
    window: Arc<Mutex<Window>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for DiscordLike {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl DiscordLike {
    /// A receiver taking `limit` requests per `length` window.
    pub async fn start(limit: u32, length: Duration) -> DiscordLike {
        let window = Arc::new(Mutex::new(Window {
            limit,
            length,
            started: None,
            used: 0,
            arrivals: Vec::new(),
            messages: Vec::new(),
        }));
        let app = axum::Router::new()
            .fallback(answer)
            .with_state(window.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        DiscordLike { base, window, task }
    }

    /// Every request so far.
    pub fn arrivals(&self) -> Vec<Arrival> {
        self.window.lock().unwrap().arrivals.clone()
    }

    /// The messages it took.
    pub fn messages(&self) -> Vec<String> {
        self.window.lock().unwrap().messages.clone()
    }
}

async fn answer(State(window): State<Arc<Mutex<Window>>>, body: axum::body::Bytes) -> Response {
    let now = Instant::now();
    let mut w = window.lock().unwrap();
    let ended = w.started.is_none_or(|s| now >= s + w.length);
    if ended {
        w.started = Some(now);
        w.used = 0;
    }
    let reset_after = (w.started.unwrap() + w.length).saturating_duration_since(now);
    let limited = w.used >= w.limit;
    w.arrivals.push(Arrival { at: now, limited });
    let limit = w.limit;
    let headers = |remaining: u32| {
        [
            ("x-ratelimit-bucket", "c0ffee1234".to_owned()),
            ("x-ratelimit-limit", limit.to_string()),
            ("x-ratelimit-remaining", remaining.to_string()),
            (
                "x-ratelimit-reset-after",
                format!("{:.3}", reset_after.as_secs_f64()),
            ),
        ]
    };
    if limited {
        let h = headers(0);
        let body = serde_json::json!({
            "message": "You are being rate limited.",
            "retry_after": (reset_after.as_secs_f64() * 1000.0).ceil() / 1000.0,
            "global": false
        });
        let mut r = (StatusCode::TOO_MANY_REQUESTS, body.to_string()).into_response();
        for (k, v) in h {
            r.headers_mut().insert(k, v.parse().unwrap());
        }
        let retry = reset_after.as_secs_f64().ceil().max(1.0).to_string();
        r.headers_mut()
            .insert("retry-after", retry.parse().unwrap());
        r.headers_mut()
            .insert("x-ratelimit-scope", "user".parse().unwrap());
        return r;
    }
    w.used += 1;
    let text = serde_json::from_slice::<serde_json::Value>(&body)
        .map(|v| {
            v["embeds"][0]["title"]
                .as_str()
                .or(v["content"].as_str())
                .unwrap_or("")
                .to_owned()
        })
        .unwrap_or_default();
    w.messages.push(text);
    let id = w.messages.len();
    let h = headers(limit - w.used);
    let mut r = (
        StatusCode::OK,
        serde_json::json!({"id": id.to_string(), "type": 0}).to_string(),
    )
        .into_response();
    for (k, v) in h {
        r.headers_mut().insert(k, v.parse().unwrap());
    }
    r
}
