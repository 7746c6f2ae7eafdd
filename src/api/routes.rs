//! The route table: every route with its method, who may call it and what it does — the one list the router
//! is built from, each route's access check comes from, and the tests walk (the auth matrix).

use super::auth::Access;
use super::{
    AppState, audit, deliveries, destinations, events, health, hooks, mocks, stats, stream, users,
    webhooks,
};
use axum::http::Method;
use axum::routing::{MethodRouter, delete, get, patch, post, put};

/// One route as the world sees it.
#[derive(Debug, Clone)]
pub struct Route {
    pub method: Method,
    /// The path as axum matches it (`{id}` for a parameter); `/api/…` routes are also served under `/api/v1`.
    pub path: &'static str,
    pub access: Access,
    pub summary: &'static str,
}

impl Route {
    /// Whether the route is part of the versioned API (served under `/api` and `/api/v1`).
    pub fn is_api(&self) -> bool {
        self.path.starts_with("/api/")
    }
}

type Entry = (Route, MethodRouter<AppState>);

fn route(
    method: Method,
    path: &'static str,
    access: Access,
    summary: &'static str,
    handler: MethodRouter<AppState>,
) -> Entry {
    (
        Route {
            method,
            path,
            access,
            summary,
        },
        handler,
    )
}

/// Every route with its handler: one line each, read as a table.
#[rustfmt::skip]
pub(super) fn entries() -> Vec<Entry> {
    use Access::*;
    use Method as M;
    vec![
        route(M::POST,   "/hooks/{source}", Source, "Receive a webhook from a source app", post(hooks::receive_hook)),
        route(M::PUT,    "/hooks/{source}", Source, "Receive a webhook from a source app (PUT)", put(hooks::receive_hook)),
        route(M::GET,    "/healthz", Anyone, "The process is up", get(health::healthz)),
        route(M::GET,    "/readyz", Anyone, "The database takes writes, migrations are current, workers run", get(health::readyz)),
        route(M::GET,    "/metrics", LoopbackOrAdmin, "Prometheus metrics", get(health::metrics)),
        route(M::GET,    "/api/events", User, "Normalized events, newest first", get(events::list_events)),
        route(M::GET,    "/api/events/stream", User, "Events live as Server-Sent Events; Last-Event-ID resumes", get(stream::stream)),
        route(M::GET,    "/api/events/{id}", User, "One event and its deliveries (an admin may add ?raw=true)", get(events::get_event)),
        route(M::POST,   "/api/events/{id}/replay", Admin, "Route an event again", post(deliveries::replay)),
        route(M::GET,    "/api/rejected", Admin, "Bodies that authenticated but could not be parsed", get(events::list_rejected)),
        route(M::GET,    "/api/deliveries", Owner, "Deliveries with their state", get(deliveries::list)),
        route(M::POST,   "/api/deliveries/retry", Owner, "Send finished deliveries again (dead-letter redrive)", post(deliveries::retry_bulk)),
        route(M::GET,    "/api/deliveries/{id}", Owner, "One delivery with every attempt", get(deliveries::get)),
        route(M::POST,   "/api/deliveries/{id}/retry", Owner, "Send one finished delivery again", post(deliveries::retry_one)),
        route(M::GET,    "/api/destinations", Admin, "The config's destinations with their health", get(destinations::list)),
        route(M::GET,    "/api/destinations/{name}", Admin, "One destination with its health", get(destinations::get)),
        route(M::POST,   "/api/destinations/{name}/enable", Admin, "Enable a destination", post(destinations::enable)),
        route(M::POST,   "/api/destinations/{name}/disable", Admin, "Disable a destination", post(destinations::disable)),
        route(M::POST,   "/api/destinations/{name}/test", Admin, "Send a test event to a destination now", post(destinations::test)),
        route(M::POST,   "/api/templates/preview", Admin, "Render a payload without sending it", post(destinations::preview)),
        route(M::POST,   "/api/users", Admin, "Create a user", post(users::create_user)),
        route(M::GET,    "/api/users", Admin, "Every user", get(users::list_users)),
        route(M::DELETE, "/api/users/{id}", Admin, "Delete a user with their keys and webhooks", delete(users::delete_user)),
        route(M::POST,   "/api/keys", Owner, "Create an API key (shown once)", post(users::create_key)),
        route(M::GET,    "/api/keys", Owner, "API keys (never the keys themselves)", get(users::list_keys)),
        route(M::DELETE, "/api/keys/{id}", Owner, "Revoke an API key", delete(users::delete_key)),
        route(M::POST,   "/api/webhooks", User, "Register a webhook (its secret is shown once)", post(webhooks::create)),
        route(M::GET,    "/api/webhooks", Owner, "Registered webhooks", get(webhooks::list)),
        route(M::GET,    "/api/webhooks/{id}", Owner, "One registered webhook", get(webhooks::get)),
        route(M::PATCH,  "/api/webhooks/{id}", Owner, "Change a registered webhook", patch(webhooks::update)),
        route(M::DELETE, "/api/webhooks/{id}", Owner, "Delete a registered webhook", delete(webhooks::remove)),
        route(M::POST,   "/api/webhooks/{id}/rotate-secret", Owner, "A new signing secret; the old one signs for 24 h more", post(webhooks::rotate_secret)),
        route(M::POST,   "/api/webhooks/{id}/test", Owner, "Send a signed test event to a webhook now", post(webhooks::test)),
        route(M::POST,   "/api/webhooks/test", User, "Send a signed test event to any URL now", post(webhooks::test_url)),
        route(M::GET,    "/api/stats", User, "Per destination and webhook, the last hour and day: success rate, latency, retries, dead, queue", get(stats::get)),
        route(M::GET,    "/api/audit", User, "Who changed what, when, from where (a user: what they did and what was done to theirs)", get(audit::list)),
        route(M::POST,   "/api/mocks", User, "Create a mock receiver", post(mocks::create)),
        route(M::GET,    "/api/mocks", Owner, "Mock receivers", get(mocks::list)),
        route(M::PATCH,  "/api/mocks/{id}", Owner, "Change how a mock answers", patch(mocks::update)),
        route(M::DELETE, "/api/mocks/{id}", Owner, "Delete a mock receiver", delete(mocks::remove)),
        route(M::GET,    "/api/mocks/{id}/requests", Owner, "What a mock received, newest first", get(mocks::requests)),
        route(M::POST,   "/mock/{id}", Anyone, "A mock receiver: records the request (GET, POST, PUT, PATCH or DELETE), answers as told", get(mocks::receive).post(mocks::receive).put(mocks::receive).patch(mocks::receive).delete(mocks::receive)),
    ]
}

/// The route table, for documentation and tests.
pub fn table() -> Vec<Route> {
    entries().into_iter().map(|(r, _)| r).collect()
}
