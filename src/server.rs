//! The HTTP listener in front of the router: every connection is served by hyper with a deadline for its
//! request head, and open connections are capped (`server.max_connections`) so slow or idle clients cannot
//! use up the process's files. A few connections past the cap are still served, for `/healthz` and `/readyz`
//! only; past those, a connection is answered `503` with `Retry-After` and closed at once.

use crate::api::HealthOnly;
use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

/// Connections served past `max_connections`, for health checks only.
const HEALTH_CONNECTIONS: usize = 16;
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
    let for_health = Arc::new(Semaphore::new(HEALTH_CONNECTIONS));
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
        let (permit, health_only) = match served.clone().try_acquire_owned() {
            Ok(permit) => (permit, false),
            Err(_) => match for_health.clone().try_acquire_owned() {
                Ok(permit) => (permit, true),
                Err(_) => {
                    turn_away(&stream, limits.max_connections);
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            if health_only {
                req.extensions_mut().insert(HealthOnly);
            }
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

/// Answers a connection past every cap with `503` and closes it, without waiting on the client.
fn turn_away(stream: &TcpStream, max_connections: usize) {
    let body = format!(
        r#"{{"error":{{"code":"overloaded","message":"hookarr has server.max_connections ({max_connections}) connections open; retry shortly","details":[]}}}}"#
    );
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\n\
         connection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    // A fresh socket's send buffer takes this whole; if not, the client still sees the connection close.
    let _ = stream.try_write(response.as_bytes());
}
