//! The route table: every route with its method, who may call it and what it does — the one list the router
//! is built from, each route's access check comes from, and the tests walk (the auth matrix).

use super::auth::Access;
use super::{AppState, deliveries, destinations, events, health, hooks, users, webhooks};
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

/// Every route with its handler.
pub(super) fn entries() -> Vec<Entry> {
    use Access::*;
    vec![
        route(
            Method::POST,
            "/hooks/{source}",
            Source,
            "Receive a webhook from a source app",
            post(hooks::receive_hook),
        ),
        route(
            Method::PUT,
            "/hooks/{source}",
            Source,
            "Receive a webhook from a source app (PUT)",
            put(hooks::receive_hook),
        ),
        route(
            Method::GET,
            "/healthz",
            Anyone,
            "The process is up",
            get(health::healthz),
        ),
        route(
            Method::GET,
            "/readyz",
            Anyone,
            "The database takes writes, migrations are current, workers run",
            get(health::readyz),
        ),
        route(
            Method::GET,
            "/api/events",
            User,
            "Normalized events, newest first",
            get(events::list_events),
        ),
        route(
            Method::GET,
            "/api/events/{id}",
            User,
            "One event and its deliveries (an admin may add ?raw=true)",
            get(events::get_event),
        ),
        route(
            Method::POST,
            "/api/events/{id}/replay",
            Admin,
            "Route an event again",
            post(deliveries::replay),
        ),
        route(
            Method::GET,
            "/api/rejected",
            Admin,
            "Bodies that authenticated but could not be parsed",
            get(events::list_rejected),
        ),
        route(
            Method::GET,
            "/api/deliveries",
            Owner,
            "Deliveries with their state",
            get(deliveries::list),
        ),
        route(
            Method::POST,
            "/api/deliveries/retry",
            Owner,
            "Send finished deliveries again (dead-letter redrive)",
            post(deliveries::retry_bulk),
        ),
        route(
            Method::GET,
            "/api/deliveries/{id}",
            Owner,
            "One delivery with every attempt",
            get(deliveries::get),
        ),
        route(
            Method::POST,
            "/api/deliveries/{id}/retry",
            Owner,
            "Send one finished delivery again",
            post(deliveries::retry_one),
        ),
        route(
            Method::GET,
            "/api/destinations",
            Admin,
            "The config's destinations with their health",
            get(destinations::list),
        ),
        route(
            Method::GET,
            "/api/destinations/{name}",
            Admin,
            "One destination with its health",
            get(destinations::get),
        ),
        route(
            Method::POST,
            "/api/destinations/{name}/enable",
            Admin,
            "Enable a destination",
            post(destinations::enable),
        ),
        route(
            Method::POST,
            "/api/destinations/{name}/disable",
            Admin,
            "Disable a destination",
            post(destinations::disable),
        ),
        route(
            Method::POST,
            "/api/destinations/{name}/test",
            Admin,
            "Send a test event to a destination now",
            post(destinations::test),
        ),
        route(
            Method::POST,
            "/api/templates/preview",
            Admin,
            "Render a payload without sending it",
            post(destinations::preview),
        ),
        route(
            Method::POST,
            "/api/users",
            Admin,
            "Create a user",
            post(users::create_user),
        ),
        route(
            Method::GET,
            "/api/users",
            Admin,
            "Every user",
            get(users::list_users),
        ),
        route(
            Method::DELETE,
            "/api/users/{id}",
            Admin,
            "Delete a user with their keys and webhooks",
            delete(users::delete_user),
        ),
        route(
            Method::POST,
            "/api/keys",
            Owner,
            "Create an API key (shown once)",
            post(users::create_key),
        ),
        route(
            Method::GET,
            "/api/keys",
            Owner,
            "API keys (never the keys themselves)",
            get(users::list_keys),
        ),
        route(
            Method::DELETE,
            "/api/keys/{id}",
            Owner,
            "Revoke an API key",
            delete(users::delete_key),
        ),
        route(
            Method::POST,
            "/api/webhooks",
            User,
            "Register a webhook (its secret is shown once)",
            post(webhooks::create),
        ),
        route(
            Method::GET,
            "/api/webhooks",
            Owner,
            "Registered webhooks",
            get(webhooks::list),
        ),
        route(
            Method::GET,
            "/api/webhooks/{id}",
            Owner,
            "One registered webhook",
            get(webhooks::get),
        ),
        route(
            Method::PATCH,
            "/api/webhooks/{id}",
            Owner,
            "Change a registered webhook",
            patch(webhooks::update),
        ),
        route(
            Method::DELETE,
            "/api/webhooks/{id}",
            Owner,
            "Delete a registered webhook",
            delete(webhooks::remove),
        ),
        route(
            Method::POST,
            "/api/webhooks/{id}/rotate-secret",
            Owner,
            "A new signing secret; the old one signs for 24 h more",
            post(webhooks::rotate_secret),
        ),
    ]
}

/// The route table, for documentation and tests.
pub fn table() -> Vec<Route> {
    entries().into_iter().map(|(r, _)| r).collect()
}
