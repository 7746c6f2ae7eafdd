//! The HTTP listener in front of the router: every connection is served by hyper with a deadline for its
//! request head, and open connections are capped (`server.max_connections`) so slow or idle clients cannot
//! use up the process's files. A connection past the cap is answered at once and closed: `/healthz` with
//! `200` (the process is up), anything else `503` with `Retry-After` — `/readyz` too, as hookarr cannot take
//! more traffic just then.

use crate::connection::SharedStream;
use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

/// Connections past `max_connections` being answered and closed at once; past these, closed unanswered.
const TURNING_AWAY: usize = 256;
/// How long a connection past the cap has to send its request line.
const TURN_AWAY_READ: Duration = Duration::from_millis(500);
/// How long a stop waits for requests in flight before it closes their connections.
const DRAIN: Duration = Duration::from_secs(30);

/// What the listener holds each connection to.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// The request line and headers must arrive within this.
    pub header_timeout: Duration,
    /// Open connections served at once.
    pub max_connections: usize,
}

impl ConnectionLimits {
    pub fn from_config(server: &crate::config::Server) -> ConnectionLimits {
        ConnectionLimits {
            header_timeout: Duration::from_secs(server.header_timeout_secs.max(1)),
            max_connections: server.max_connections.max(1) as usize,
        }
    }
}

/// Serves `app` on `listener` until `shutdown`, then lets the requests in flight finish (up to 30 s).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: CancellationToken,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        // A client that closes its side right after its request (a proxy giving up) still gets it handled:
        // the request is whole, and its ingest must not be dropped with the connection.
        .half_close(true)
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    let served = Arc::new(Semaphore::new(limits.max_connections));
    let turning_away = Arc::new(Semaphore::new(TURNING_AWAY));
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors (or a connection reset before it was accepted): wait a little
                    // rather than spin.
                    crate::telemetry::error_once_a_minute("accept", "Accepting a connection failed.", &error);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let permit = match served.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                if let Ok(turning) = turning_away.clone().try_acquire_owned() {
                    let max = limits.max_connections;
                    tokio::spawn(async move {
                        turn_away(stream, max).await;
                        drop(turning);
                    });
                }
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let stream = SharedStream::new(stream);
        let gone = stream.watcher();
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            req.extensions_mut().insert(gone.clone());
            app.clone().oneshot(req)
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // A client that goes away or breaks the protocol ends only its own connection.
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(message = "Requests still in flight after 30 s; closing their connections.",);
    }
}

/// Answers a connection past the cap from its request line alone, and closes it: `/healthz` is `200`,
/// everything else `503` with `Retry-After`. What the client sent is read first, so that it sees the answer
/// rather than a reset.
async fn turn_away(mut stream: TcpStream, max_connections: usize) {
    let mut head = [0u8; 1024];
    let n = match tokio::time::timeout(TURN_AWAY_READ, stream.read(&mut head)).await {
        Ok(Ok(n)) => n,
        _ => 0,
    };
    let line = head[..n].split(|b| *b == b'\r').next().unwrap_or_default();
    let (status, body) = if line.starts_with(b"GET /healthz ") {
        ("200 OK", r#"{"status":"ok"}"#.to_owned())
    } else if line.starts_with(b"GET /readyz ") {
        (
            "503 Service Unavailable",
            format!(
                r#"{{"status":"not_ready","connections":"server.max_connections ({max_connections}) reached"}}"#
            ),
        )
    } else {
        (
            "503 Service Unavailable",
            format!(
                r#"{{"error":{{"code":"overloaded","message":"hookarr has server.max_connections ({max_connections}) connections open; retry shortly","details":[]}}}}"#
            ),
        )
    };
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\nretry-after: 1\r\nconnection: close\r\n\
         content-length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(TURN_AWAY_READ, async {
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
    // Whatever else arrived is read before closing, so that the close is not a reset that could destroy the
    // answer on its way.
    while matches!(stream.try_read(&mut head), Ok(n) if n > 0) {}
}
