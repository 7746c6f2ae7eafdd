//! The request cap: past `server.max_requests_in_flight` requests at once, requests are answered
//! `503 overloaded` with `Retry-After` — except `/healthz` and `/readyz`, which always answer.

use super::ApiError;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Requests in flight, at most `server.max_requests_in_flight`.
#[derive(Clone)]
pub struct InFlight {
    permits: Arc<Semaphore>,
    max: usize,
}

impl InFlight {
    pub fn new(max: usize) -> InFlight {
        InFlight {
            permits: Arc::new(Semaphore::new(max.max(1))),
            max,
        }
    }
}

/// The middleware: health checks pass; others take a slot or get `503`.
pub async fn cap_requests(State(in_flight): State<InFlight>, req: Request, next: Next) -> Response {
    if matches!(req.uri().path(), "/healthz" | "/readyz") {
        return next.run(req).await;
    }
    match in_flight.permits.try_acquire() {
        Ok(_slot) => next.run(req).await,
        Err(_) => ApiError::Overloaded(format!(
            "hookarr is handling as many requests as server.max_requests_in_flight allows ({}); retry \
             shortly",
            in_flight.max
        ))
        .into_response(),
    }
}
