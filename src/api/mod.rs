//! HTTP: the inbound webhook route, the read API, health checks. axum only: handlers extract, call one
//! domain function and map its result; the logic lives in `receive`, `storage` and `inbound`.

mod answer_headers;
mod audit;
mod auth;
mod auth_throttle;
mod bodies;
mod deliveries;
mod destination_changes;
mod destination_trial;
mod destinations;
mod error;
mod events;
pub(crate) mod forms;
mod health;
mod hook_refusals;
mod hooks;
mod json_body;
mod mock_headers;
mod mocks;
mod openapi;
mod overload;
mod people;
mod route_doc;
mod routes;
mod sources;
mod stats;
mod stories;
mod stream;
mod templates;
mod users;
mod webhooks;

pub use audit::{Changed, record as record_audit};
pub use auth::{Access, Caller, authenticate_key, throttled_authenticate};
pub use bodies::text_or_base64;
pub use deliveries::visible as visible_delivery;
pub use error::ApiError;
pub use hook_refusals::Refusal as HookRefusal;
pub use openapi::document as openapi_document;
pub use routes::{Route, table as route_table};

use crate::config::Config;
use crate::sources::Sources;
use crate::storage::{Store, UserRow};
use axum::Router;
use axum::extract::{MatchedPath, Request};
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::{DefaultOnFailure, TraceLayer};

/// What every handler can reach; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub cfg: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub sources: Arc<Sources>,
    /// `admin.api_key` from the config, accepted as the admin's key.
    pub admin_key: Option<String>,
    /// The user a request with the config admin key acts as.
    pub config_admin: UserRow,
    /// The delivery engine (routing wake-ups, destination state, templates).
    pub engine: Arc<crate::delivery::Engine>,
    /// The last storage fault an ingest met, for `/readyz`.
    pub ingest_faults: Arc<health::IngestFaults>,
    /// hookarr's own base URL (`server.public_url`, or the listen address): mock URLs start with it.
    pub public_url: String,
    /// Cancelled when the server stops: open event streams end (clients resume with `Last-Event-ID`).
    pub stopping: tokio_util::sync::CancellationToken,
    /// Open event streams per user.
    pub streams: Arc<stream::StreamSlots>,
    /// The last refused request of each source (`/api/sources`, the Sources page).
    pub hook_refusals: Arc<hook_refusals::HookRefusals>,
    /// Wrong keys per client address (log-in form and Bearer keys).
    pub auth_throttle: Arc<auth_throttle::AuthThrottle>,
    /// The configuration in force (the file's and the stored), changed without a restart.
    pub live: Arc<crate::live_config::LiveConfig>,
    /// Test sends per user (`POST /api/webhooks/…/test`): a few at once, then one every few seconds.
    pub test_sends: Arc<governor::DefaultKeyedRateLimiter<String>>,
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    surface(state, |_| true, true)
}

/// What a `worker` process serves: `/healthz`, `/readyz` and `/metrics` (no hooks, API or page).
pub fn health_router(state: AppState) -> Router {
    surface(state, |path| HEALTH_PATHS.contains(&path), false)
}

/// The routes a `worker` process serves.
const HEALTH_PATHS: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// The routes whose path `keep` takes (and the admin page, when `admin`), with every layer.
fn surface(state: AppState, keep: fn(&str) -> bool, admin: bool) -> Router {
    let body_timeout = std::time::Duration::from_secs(state.cfg.server.body_timeout_secs.max(1));
    let mut api = Router::new();
    let mut root = Router::new();
    if admin {
        root = root.merge(crate::admin::router());
    }
    for routes::Entry { route, handler } in routes::entries() {
        if !keep(route.path) {
            continue;
        }
        let handler = handler.route_layer(axum::middleware::from_fn_with_state(
            (state.clone(), route.access),
            auth::require,
        ));
        match route.path.strip_prefix("/api") {
            Some(path) => api = api.route(path, handler),
            None => root = root.route(route.path, handler),
        }
    }
    root.nest("/api/v1", api.clone())
        .nest("/api", api)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(RequestBodyTimeoutLayer::new(body_timeout))
        .layer(axum::middleware::from_fn_with_state(
            overload::InFlight::new(state.cfg.server.max_requests_in_flight as usize),
            overload::cap_requests,
        ))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn(answer_headers::add))
        .layer(
            TraceLayer::new_for_http()
                // A 5xx is logged where its cause is known (once a minute for a storage fault): never a line
                // per refused request here.
                .on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG))
                .make_span_with(|req: &Request| {
                    // The matched route, never the URI: `?token=` must not reach the logs.
                    let route = req
                        .extensions()
                        .get::<MatchedPath>()
                        .map(MatchedPath::as_str)
                        .unwrap_or("unmatched");
                    tracing::info_span!("request", method = %req.method(), route)
                }),
        )
        .with_state(state)
}

/// A bug must cost one request a 500 in the usual shape, never the connection or the process.
fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    use axum::response::IntoResponse;
    ApiError::Internal(anyhow::anyhow!("a request handler panicked")).into_response()
}

async fn not_found(req: Request) -> ApiError {
    ApiError::NotFound(format!(
        "no route for {} {}",
        req.method(),
        req.uri().path()
    ))
}

async fn method_not_allowed(req: Request) -> ApiError {
    ApiError::MethodNotAllowed(format!(
        "{} does not accept {}",
        req.uri().path(),
        req.method()
    ))
}
