//! The route table: every route with its method, who may call it, what it does, and what it takes and
//! answers — the one list the router is built from, each route's access check comes from, the OpenAPI
//! document is generated from, and the tests walk (the auth matrix).

use super::auth::Access;
use super::bodies::{DeliveryBody, DeliveryWithAttempts, RejectedBody};
use super::route_doc::{Answer, Doc, SchemaOf, params_of};
use super::{
    AppState, audit, deliveries, destination_changes, destination_trial, destinations, events,
    health, hooks, mocks, people, sources, stats, stories, stream, templates, users, webhooks,
};
use axum::http::{Method, StatusCode};
use axum::routing::{MethodRouter, delete, get, patch, post, put};
use utoipa::{IntoParams, ToSchema};

/// One route as the world sees it.
#[derive(Debug, Clone)]
pub struct Route {
    pub method: Method,
    /// The path as axum matches it (`{id}` for a parameter); `/api/…` routes are also served under `/api/v1`.
    pub path: &'static str,
    pub access: Access,
    pub summary: &'static str,
    /// What it takes and answers, for the OpenAPI document.
    pub(super) doc: Doc,
}

impl Route {
    /// Whether the route is part of the versioned API (served under `/api` and `/api/v1`).
    pub fn is_api(&self) -> bool {
        self.path.starts_with("/api/")
    }
}

/// A row of the table: the route and its handler.
pub(super) struct Entry {
    pub(super) route: Route,
    pub(super) handler: MethodRouter<AppState>,
}

fn route(
    method: Method,
    path: &'static str,
    access: Access,
    summary: &'static str,
    handler: MethodRouter<AppState>,
) -> Entry {
    let route = Route {
        method,
        path,
        access,
        summary,
        doc: Doc::new(),
    };
    Entry { route, handler }
}

/// What a row says about its query, body and answer.
impl Entry {
    fn query<P: IntoParams>(mut self) -> Self {
        self.route.doc.query = Some(params_of::<P>);
        self
    }
    fn body<T: ToSchema>(mut self) -> Self {
        self.route.doc.body = Some((SchemaOf::of::<T>(), true));
        self
    }
    /// A body that may be left out (an empty body, or `null`, takes the defaults).
    fn optional_body<T: ToSchema>(mut self) -> Self {
        self.route.doc.body = Some((SchemaOf::of::<T>(), false));
        self
    }
    fn answers<T: ToSchema>(mut self, status: u16) -> Self {
        self.route.doc.answer = Some(Answer::Json(status_code(status), SchemaOf::of::<T>()));
        self
    }
    /// Also answers `status` with a `T` (instead of the error body).
    fn or<T: ToSchema>(mut self, status: u16) -> Self {
        self.route.doc.or = Some((status_code(status), SchemaOf::of::<T>()));
        self
    }
    fn lists<T: ToSchema>(mut self) -> Self {
        self.route.doc.answer = Some(Answer::List(SchemaOf::of::<T>()));
        self
    }
    fn no_content(mut self) -> Self {
        self.route.doc.answer = Some(Answer::Empty(StatusCode::NO_CONTENT));
        self
    }
    fn text(mut self, media: &'static str, what: &'static str) -> Self {
        self.route.doc.answer = Some(Answer::Text(media, what));
        self
    }
    fn answers_as_told(mut self) -> Self {
        self.route.doc.answer = Some(Answer::AsTold);
        self
    }
    /// Takes whatever the app sends (JSON, a form, multipart): the source's parser reads it.
    fn takes_any_body(mut self) -> Self {
        self.route.doc.raw_body = true;
        self
    }
    fn answers_document(mut self) -> Self {
        self.route.doc.answer = Some(Answer::Document);
        self
    }
    /// Errors of its own, beyond those its access, path, query and body imply.
    fn errors(mut self, errors: &'static [StatusCode]) -> Self {
        self.route.doc.errors = errors;
        self
    }
}

fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).expect("the route table names real status codes")
}

const CONFLICT: StatusCode = StatusCode::CONFLICT;
const FORBIDDEN: StatusCode = StatusCode::FORBIDDEN;
const NOT_FOUND: StatusCode = StatusCode::NOT_FOUND;
const RATE_LIMITED: StatusCode = StatusCode::TOO_MANY_REQUESTS;
const SLOW_BODY: StatusCode = StatusCode::REQUEST_TIMEOUT;
const TOO_LARGE: StatusCode = StatusCode::PAYLOAD_TOO_LARGE;
const UNPROCESSABLE: StatusCode = StatusCode::UNPROCESSABLE_ENTITY;

/// Every route with its handler: one row each, read as a table.
#[rustfmt::skip]
pub(super) fn entries() -> Vec<Entry> {
    use Access::*;
    use Method as M;
    vec![
        route(M::POST,   "/hooks/{source}", Source, "Receive a webhook from a source app", post(hooks::receive_hook))
            .answers::<hooks::Received>(202).or::<hooks::Received>(200).errors(&[FORBIDDEN, SLOW_BODY]).takes_any_body(),
        route(M::PUT,    "/hooks/{source}", Source, "Receive a webhook from a source app (PUT)", put(hooks::receive_hook))
            .answers::<hooks::Received>(202).or::<hooks::Received>(200).errors(&[FORBIDDEN, SLOW_BODY]).takes_any_body(),
        route(M::GET,    "/healthz", Anyone, "The process is up", get(health::healthz))
            .answers::<health::Liveness>(200),
        route(M::GET,    "/readyz", Anyone, "The database takes writes, migrations are current, workers run", get(health::readyz))
            .answers::<health::Readiness>(200).or::<health::Readiness>(503),
        route(M::GET,    "/metrics", LoopbackOrAdmin, "Prometheus metrics", get(health::metrics))
            .text("text/plain; version=0.0.4", "Prometheus text exposition"),
        route(M::GET,    "/api/openapi.json", Anyone, "This document: OpenAPI 3.1 of every route", get(health::openapi))
            .answers_document(),
        route(M::GET,    "/api/events", User, "Normalized events, newest first", get(events::list_events))
            .query::<events::EventParams>().lists::<crate::event::Event>(),
        route(M::GET,    "/api/events/stream", User, "Events live as Server-Sent Events; Last-Event-ID resumes", get(stream::stream))
            .query::<stream::StreamParams>().text("text/event-stream", "`id:` the event id, `event:` its name, `data:` the event as JSON; `: keepalive` every 15 s").errors(&[RATE_LIMITED]),
        route(M::GET,    "/api/events/{id}", User, "One event and its deliveries (an admin may add ?raw=true)", get(events::get_event))
            .query::<events::GetParams>().answers::<events::EventWithDeliveries>(200).errors(&[FORBIDDEN]),
        route(M::POST,   "/api/events/{id}/replay", Admin, "Route an event again", post(deliveries::replay))
            .optional_body::<deliveries::Replay>().answers::<deliveries::Replayed>(202),
        route(M::GET,    "/api/stories", User, "Titles' stories across apps, most recently moved first", get(stories::list_stories))
            .query::<stories::StoryParams>().answers::<stories::StoryList>(200),
        route(M::GET,    "/api/stories/{id}", User, "One story with its timeline and a season's episodes", get(stories::get_story))
            .answers::<stories::StoryWithTimeline>(200),
        route(M::POST,   "/api/stories/{id}/follow", Admin, "A person (of people:) follows a title: told when it is ready to watch", post(stories::follow_story))
            .body::<stories::Follow>().answers::<stories::StoryBody>(200),
        route(M::GET,    "/api/people", Admin, "Who is told about their own requests: hookarr.yaml's and those added here", get(people::list))
            .lists::<people::PersonBody>(),
        route(M::POST,   "/api/people", Admin, "Add a person (or change one added here): told at a destination", post(people::save))
            .body::<people::PersonFields>().answers::<people::PersonBody>(200).errors(&[CONFLICT, UNPROCESSABLE]),
        route(M::DELETE, "/api/people/{name}", Admin, "Remove a person added here", delete(people::remove))
            .no_content().errors(&[CONFLICT]),
        route(M::GET,    "/api/rejected", Admin, "Bodies that authenticated but could not be parsed", get(events::list_rejected))
            .query::<events::PageParams>().lists::<RejectedBody>(),
        route(M::GET,    "/api/deliveries", Owner, "Deliveries with their state", get(deliveries::list))
            .query::<deliveries::ListParams>().lists::<DeliveryBody>(),
        route(M::POST,   "/api/deliveries/retry", Owner, "Send finished deliveries again (dead-letter redrive)", post(deliveries::retry_bulk))
            .body::<deliveries::BulkRetry>().answers::<deliveries::Retried>(202),
        route(M::GET,    "/api/deliveries/{id}", Owner, "One delivery with every attempt", get(deliveries::get))
            .answers::<DeliveryWithAttempts>(200),
        route(M::POST,   "/api/deliveries/{id}/retry", Owner, "Send one finished delivery again", post(deliveries::retry_one))
            .answers::<deliveries::Retried>(202).errors(&[CONFLICT]),
        route(M::GET,    "/api/destinations", Admin, "Every destination (of hookarr.yaml and stored) with its health", get(destinations::list))
            .lists::<destinations::DestinationBody>(),
        route(M::POST,   "/api/destinations", Admin, "Store a new destination: {name, type, …keys} or {name, url}; in force at once", post(destination_changes::create))
            .body::<destination_changes::DestinationKeys>().answers::<destinations::DestinationBody>(201).errors(&[CONFLICT, UNPROCESSABLE]),
        route(M::POST,   "/api/destinations/validate", Admin, "Check a destination without saving it", post(destination_changes::validate))
            .body::<destination_changes::DestinationKeys>().answers::<destination_changes::DestinationCheck>(200),
        route(M::POST,   "/api/destinations/test", Admin, "Send a test event to a destination before saving it", post(destination_trial::test))
            .body::<destination_changes::DestinationKeys>().answers::<destinations::TestBody>(200).errors(&[UNPROCESSABLE, RATE_LIMITED]),
        route(M::POST,   "/api/destinations/routing-preview", Admin, "Which of the last 100 events a destination would have taken, before saving it", post(destination_trial::routing_preview))
            .body::<destination_changes::DestinationKeys>().answers::<destination_trial::RoutingPreview>(200).errors(&[UNPROCESSABLE]),
        route(M::GET,    "/api/destinations/{name}", Admin, "One destination with its health", get(destinations::get))
            .answers::<destinations::DestinationBody>(200),
        route(M::PATCH,  "/api/destinations/{name}", Admin, "Change a stored destination (the keys given; `version` guards against a lost update)", patch(destination_changes::update))
            .body::<destination_changes::DestinationKeys>().answers::<destinations::DestinationBody>(200).errors(&[CONFLICT, UNPROCESSABLE]),
        route(M::DELETE, "/api/destinations/{name}", Admin, "Delete a stored destination; its pending deliveries end cancelled", delete(destination_changes::remove))
            .answers::<destination_changes::DestinationDeleted>(200).errors(&[CONFLICT]),
        route(M::POST,   "/api/destinations/{name}/enable", Admin, "Enable a destination", post(destinations::enable))
            .answers::<destinations::DestinationBody>(200),
        route(M::POST,   "/api/destinations/{name}/disable", Admin, "Disable a destination", post(destinations::disable))
            .answers::<destinations::DestinationBody>(200),
        route(M::POST,   "/api/destinations/{name}/test", Admin, "Send a test event to a destination now", post(destinations::test))
            .answers::<destinations::TestBody>(200),
        route(M::GET,    "/api/templates", Admin, "Every template with where it comes from: built-in, file or stored", get(templates::list))
            .lists::<templates::TemplateBody>(),
        route(M::PUT,    "/api/templates/{type}/{name}", Admin, "Save a template (checked by rendering it for every app's sample); in force at once", put(templates::save))
            .body::<templates::TemplateText>().answers::<templates::TemplateBody>(200).errors(&[UNPROCESSABLE]),
        route(M::DELETE, "/api/templates/{type}/{name}", Admin, "Remove a stored template: the file's or built-in one is used again", delete(templates::remove))
            .answers::<templates::TemplateRemoved>(200),
        route(M::GET,    "/api/templates/{type}/{name}/history", Admin, "A template's saves and removals, newest first, each with its text", get(templates::history))
            .lists::<templates::TemplateVersionBody>(),
        route(M::POST,   "/api/templates/preview", Admin, "Render a payload without sending it", post(destinations::preview))
            .body::<destinations::PreviewRequest>().answers::<destinations::Preview>(200),
        route(M::POST,   "/api/config/reload", Admin, "Re-read hookarr.yaml: applied as a whole, or 422 with its problems and nothing applied", post(destination_changes::reload))
            .answers::<destination_changes::ConfigReloaded>(200).errors(&[UNPROCESSABLE]),
        route(M::GET,    "/api/sources", Admin, "Every source with its Connect URL and last event", get(sources::list))
            .lists::<sources::SourceBody>(),
        route(M::POST,   "/api/sources", Admin, "Add a source: a named instance of an app (radarr-4k), with its own token and allow-list", post(sources::create))
            .body::<crate::sources::NewSource>().answers::<sources::SourceBody>(201).errors(&[CONFLICT, UNPROCESSABLE]),
        route(M::PATCH,  "/api/sources/{name}", Admin, "Set a source's allow-list (a source of hookarr.yaml is changed in the file)", patch(sources::update))
            .body::<sources::SourcePatch>().answers::<sources::SourceBody>(200).errors(&[CONFLICT, UNPROCESSABLE]),
        route(M::DELETE, "/api/sources/{name}", Admin, "Delete a source made in the page or the API (its events stay)", delete(sources::remove))
            .no_content().errors(&[CONFLICT]),
        route(M::POST,   "/api/sources/{name}/rotate-token", Admin, "A new token for a source (paste its new Connect URL into the app)", post(sources::rotate_token))
            .answers::<sources::RotatedToken>(200).errors(&[CONFLICT]),
        route(M::POST,   "/api/users", Admin, "Create a user", post(users::create_user))
            .body::<users::NewUser>().answers::<users::UserBody>(201).errors(&[CONFLICT]),
        route(M::GET,    "/api/users", Admin, "Every user", get(users::list_users))
            .lists::<users::UserBody>(),
        route(M::DELETE, "/api/users/{id}", Admin, "Delete a user with their keys and webhooks", delete(users::delete_user))
            .no_content().errors(&[CONFLICT]),
        route(M::POST,   "/api/keys", Owner, "Create an API key (shown once)", post(users::create_key))
            .optional_body::<users::NewKey>().answers::<users::CreatedKey>(201).errors(&[NOT_FOUND]),
        route(M::GET,    "/api/keys", Owner, "API keys (never the keys themselves)", get(users::list_keys))
            .query::<users::KeyParams>().lists::<users::KeyBody>(),
        route(M::DELETE, "/api/keys/{id}", Owner, "Revoke an API key", delete(users::delete_key))
            .no_content(),
        route(M::POST,   "/api/webhooks", User, "Register a webhook (its secret is shown once)", post(webhooks::create))
            .body::<crate::operations::webhooks::NewWebhook>().answers::<webhooks::WebhookWithSecret>(201).errors(&[FORBIDDEN]),
        route(M::GET,    "/api/webhooks", Owner, "Registered webhooks", get(webhooks::list))
            .query::<events::PageParams>().lists::<webhooks::WebhookBody>(),
        route(M::GET,    "/api/webhooks/{id}", Owner, "One registered webhook", get(webhooks::get))
            .answers::<webhooks::WebhookBody>(200),
        route(M::PATCH,  "/api/webhooks/{id}", Owner, "Change a registered webhook", patch(webhooks::update))
            .body::<crate::operations::webhooks::WebhookPatch>().answers::<webhooks::WebhookBody>(200),
        route(M::DELETE, "/api/webhooks/{id}", Owner, "Delete a registered webhook", delete(webhooks::remove))
            .no_content(),
        route(M::POST,   "/api/webhooks/{id}/rotate-secret", Owner, "A new signing secret; the old one signs for 24 h more", post(webhooks::rotate_secret))
            .optional_body::<webhooks::Rotate>().answers::<webhooks::WebhookWithSecret>(200),
        route(M::POST,   "/api/webhooks/{id}/test", Owner, "Send a signed test event to a webhook now", post(webhooks::test))
            .answers::<destinations::TestBody>(200).errors(&[RATE_LIMITED]),
        route(M::POST,   "/api/webhooks/test", User, "Send a signed test event to any URL now", post(webhooks::test_url))
            .body::<webhooks::UrlTest>().answers::<webhooks::UrlTestBody>(200).errors(&[RATE_LIMITED]),
        route(M::GET,    "/api/stats", User, "Per destination and webhook, the last hour and day: success rate, latency, retries, dead, queue", get(stats::get))
            .answers::<stats::Stats>(200),
        route(M::GET,    "/api/audit", User, "Who changed what, when, from where (a user: what they did and what was done to theirs)", get(audit::list))
            .query::<events::PageParams>().lists::<audit::AuditBody>(),
        route(M::POST,   "/api/mocks", User, "Create a mock receiver", post(mocks::create))
            .optional_body::<mocks::MockSpec>().answers::<mocks::MockBody>(201).errors(&[CONFLICT]),
        route(M::GET,    "/api/mocks", Owner, "Mock receivers", get(mocks::list))
            .lists::<mocks::MockBody>(),
        route(M::PATCH,  "/api/mocks/{id}", Owner, "Change how a mock answers", patch(mocks::update))
            .body::<mocks::MockSpec>().answers::<mocks::MockBody>(200),
        route(M::DELETE, "/api/mocks/{id}", Owner, "Delete a mock receiver", delete(mocks::remove))
            .no_content(),
        route(M::GET,    "/api/mocks/{id}/requests", Owner, "What a mock received, newest first", get(mocks::requests))
            .lists::<mocks::RecordedRequest>(),
        route(M::POST,   "/mock/{id}", Anyone, "A mock receiver: records the request, answers as told", post(mocks::receive))
            .answers_as_told().errors(&[TOO_LARGE]),
        route(M::GET,    "/mock/{id}", Anyone, "A mock receiver (GET)", get(mocks::receive))
            .answers_as_told().errors(&[TOO_LARGE]),
        route(M::PUT,    "/mock/{id}", Anyone, "A mock receiver (PUT)", put(mocks::receive))
            .answers_as_told().errors(&[TOO_LARGE]),
        route(M::PATCH,  "/mock/{id}", Anyone, "A mock receiver (PATCH)", patch(mocks::receive))
            .answers_as_told().errors(&[TOO_LARGE]),
        route(M::DELETE, "/mock/{id}", Anyone, "A mock receiver (DELETE)", delete(mocks::receive))
            .answers_as_told().errors(&[TOO_LARGE]),
    ]
}

/// The route table, for documentation and tests.
pub fn table() -> Vec<Route> {
    entries().into_iter().map(|e| e.route).collect()
}
