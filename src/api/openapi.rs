//! The OpenAPI 3.1 document of `GET /api/openapi.json`, built from the route table: each route's method,
//! path, access and summary, and the types its row names for the query, the body and the answer — the same
//! types the handlers read and write, so the document cannot describe a route the router does not have.

use super::auth::Access;
use super::error::ErrorBody;
use super::route_doc::{Answer, SchemaOf, Schemas};
use super::routes::Route;
use axum::http::StatusCode;
use std::collections::BTreeMap;
use utoipa::openapi::path::{HttpMethod, Operation, Parameter, ParameterIn};
use utoipa::openapi::request_body::RequestBody;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
use utoipa::openapi::security::SecurityScheme;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityRequirement};
use utoipa::openapi::{
    Components, Content, Info, OpenApi, Paths, RefOr, Required, Response, Responses, Schema, Tag,
};

/// The document, built once per process.
pub fn document() -> &'static str {
    static DOCUMENT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        build(&super::routes::table())
            .to_json()
            .expect("an OpenAPI document serializes")
    });
    &DOCUMENT
}

/// The OpenAPI document of `routes`.
pub fn build(routes: &[Route]) -> OpenApi {
    let mut schemas: Schemas = Vec::new();
    let error = SchemaOf::of::<ErrorBody>().register(&mut schemas);
    let mut paths = Paths::new();
    let mut tags = std::collections::BTreeSet::new();
    for route in routes {
        let tag = tag_of(route.path);
        tags.insert(tag);
        let operation = operation(route, tag, &error, &mut schemas);
        paths.add_path_operation(route.path, vec![method_of(route)], operation);
    }
    let mut components = Components::new();
    for (name, schema) in schemas {
        if let Some(other) = components.schemas.insert(name.clone(), schema.clone()) {
            // Two types of one name would describe one of them wrongly.
            assert!(other == schema, "two API types are named `{name}`");
        }
    }
    components.add_security_scheme(
        "apiKey",
        SecurityScheme::Http(
            Http::builder()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("hk_…")
                .description(Some(
                    "An API key (`Authorization: Bearer hk_…`): the admin's, or a user's from `POST /api/keys`.",
                ))
                .build(),
        ),
    );
    components.add_security_scheme(
        "sourceToken",
        SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
            "token",
            "The source's token, as printed with its Connect URL (also taken as an `X-Hookarr-Token` header, \
             as `Authorization: Bearer <token>` or the bare token in `Authorization`, or as the HTTP Basic \
             password).",
        ))),
    );
    let mut doc = OpenApi::new(info(), paths);
    doc.components = Some(components);
    doc.tags = Some(tags.into_iter().map(Tag::new).collect());
    doc
}

fn info() -> Info {
    let mut info = Info::new("hookarr", env!("CARGO_PKG_VERSION"));
    info.description = Some(
        "The webhook hub of a home media stack. Every `/api/…` route is also served under `/api/v1/…`. \
         Errors are `{\"error\": {\"code\", \"message\", \"details\"}}`. Each operation says who may call it in \
         `x-hookarr-access`: `anyone`; `source` (a source's token); `user` (any API key); `owner` (any API \
         key, but a user reaches only their own objects — someone else's answers 404); `admin`; `loopback \
         or admin`."
            .to_owned(),
    );
    info
}

fn method_of(route: &Route) -> HttpMethod {
    match route.method.as_str() {
        "GET" => HttpMethod::Get,
        "PUT" => HttpMethod::Put,
        "PATCH" => HttpMethod::Patch,
        "DELETE" => HttpMethod::Delete,
        "POST" => HttpMethod::Post,
        other => unreachable!("the route table has no {other} route"),
    }
}

/// The group a route belongs to: the first segment after `/api` (`webhooks`, `events`…), else the first.
fn tag_of(path: &str) -> &'static str {
    let rest = path.strip_prefix("/api").unwrap_or(path);
    match rest.trim_start_matches('/').split('/').next().unwrap_or("") {
        "hooks" => "inbound",
        "healthz" | "readyz" | "metrics" | "openapi.json" => "health",
        "events" | "rejected" => "events",
        "stories" | "people" => "stories",
        "sources" => "inbound",
        "deliveries" => "deliveries",
        "destinations" | "templates" | "config" => "destinations",
        "users" | "keys" => "users and keys",
        "webhooks" => "webhooks",
        "mocks" | "mock" => "mocks",
        "stats" | "audit" => "observability",
        other => unreachable!("no tag for the route group `{other}`"),
    }
}

/// `get_api_webhooks_id_rotate_secret`: unique per method and path.
fn operation_id(route: &Route) -> String {
    let path: String = route
        .path
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let mut id = format!("{}_{}", route.method.as_str().to_lowercase(), path);
    while id.contains("__") {
        id = id.replace("__", "_");
    }
    id.trim_end_matches('_').to_owned()
}

fn operation(route: &Route, tag: &str, error: &RefOr<Schema>, schemas: &mut Schemas) -> Operation {
    let doc = &route.doc;
    let mut op = Operation::new();
    op.tags = Some(vec![tag.to_owned()]);
    op.summary = Some(route.summary.to_owned());
    op.operation_id = Some(operation_id(route));
    op.description = Some(format!("Who may call: {}.", route.access.as_str()));
    let mut parameters: Vec<Parameter> = path_params(route.path);
    if let Some(query) = doc.query {
        parameters.extend(query());
    }
    if !parameters.is_empty() {
        op.parameters = Some(parameters.into_iter().map(RefOr::T).collect());
    }
    if let Some((body, required)) = doc.body {
        let mut request = RequestBody::new();
        request.required = Some(if required {
            Required::True
        } else {
            Required::False
        });
        request.content.insert(
            "application/json".into(),
            RefOr::T(Content::new(Some(body.register(schemas)))),
        );
        op.request_body = Some(RefOr::T(request));
    }
    if doc.raw_body {
        let mut request = RequestBody::new();
        request.required = Some(Required::True);
        request.description =
            Some("The app's own payload: JSON, a form, or multipart (Plex)".into());
        request
            .content
            .insert("*/*".into(), RefOr::T(Content::new(None::<Schema>)));
        op.request_body = Some(RefOr::T(request));
    }
    let mut responses = Responses::new();
    let answer = doc
        .answer
        .expect("every route in the table says what it answers");
    let (status, response) = success(answer, schemas);
    responses
        .responses
        .insert(status.as_u16().to_string(), response.into());
    for (status, why) in errors(route) {
        let response = json_response(why, error.clone());
        responses
            .responses
            .insert(status.as_u16().to_string(), response.into());
    }
    if let Some((status, body)) = doc.or {
        let response = json_response(reason(status), body.register(schemas));
        responses
            .responses
            .insert(status.as_u16().to_string(), response.into());
    }
    op.responses = responses;
    op.security = Some(match route.access {
        Access::Anyone => vec![],
        Access::Source => vec![SecurityRequirement::new::<_, _, &str>("sourceToken", [])],
        // Loopback callers need no key: the empty requirement says "or none".
        Access::LoopbackOrAdmin => vec![
            SecurityRequirement::new::<_, _, &str>("apiKey", []),
            SecurityRequirement::default(),
        ],
        Access::User | Access::Owner | Access::Admin => {
            vec![SecurityRequirement::new::<_, _, &str>("apiKey", [])]
        }
    });
    let mut extensions = utoipa::openapi::extensions::Extensions::default();
    extensions.insert("x-hookarr-access".into(), route.access.as_str().into());
    op.extensions = Some(extensions);
    op
}

/// A response with a JSON body of `schema`.
fn json_response(description: &str, schema: impl Into<RefOr<Schema>>) -> Response {
    Response::builder()
        .description(description)
        .content("application/json", Content::new(Some(schema)))
        .build()
}

/// `OK`, `Created`…: the description of a success.
fn reason(status: StatusCode) -> &'static str {
    status.canonical_reason().unwrap_or("Success")
}

/// `{id}`-style segments of a path as required string parameters.
fn path_params(path: &str) -> Vec<Parameter> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| {
            let mut p = Parameter::new(name);
            p.parameter_in = ParameterIn::Path;
            p.required = Required::True;
            p.schema = Some(ObjectBuilder::new().schema_type(Type::String).into());
            p
        })
        .collect()
}

fn success(answer: Answer, schemas: &mut Schemas) -> (StatusCode, Response) {
    match answer {
        Answer::Json(status, body) => (
            status,
            json_response(reason(status), body.register(schemas)),
        ),
        Answer::List(item) => {
            let list = ObjectBuilder::new()
                .property("items", ArrayBuilder::new().items(item.register(schemas)))
                .required("items")
                .property(
                    "next_cursor",
                    ObjectBuilder::new().schema_type(
                        utoipa::openapi::schema::SchemaType::from_iter([Type::String, Type::Null]),
                    ),
                )
                .required("next_cursor")
                .description(Some(
                    "A page, newest first; pass `next_cursor` as `?cursor=` for the next.",
                ))
                .build();
            (StatusCode::OK, json_response("OK", Schema::Object(list)))
        }
        Answer::Empty(status) => (status, Response::new(reason(status))),
        Answer::Text(media, description) => {
            let text = ObjectBuilder::new().schema_type(Type::String).build();
            let response = Response::builder()
                .description(description)
                .content(media, Content::new(Some(Schema::Object(text))))
                .build();
            (StatusCode::OK, response)
        }
        Answer::Document => {
            let object = ObjectBuilder::new().schema_type(Type::Object).build();
            let response = json_response("The OpenAPI 3.1 document", Schema::Object(object));
            (StatusCode::OK, response)
        }
        Answer::AsTold => (
            StatusCode::OK,
            Response::new(
                "The status, headers and body the mock was told to answer (200 and an empty body unless told otherwise).",
            ),
        ),
    }
}

/// Why a keyed route answers `429` whatever it does.
const TOO_MANY_WRONG_KEYS: &str = "Too many wrong API keys from this address: wait `Retry-After` seconds (or a route's own limit)";

/// The errors a route can answer, each with why: those its access, path, query and body imply, and its own.
fn errors(route: &Route) -> BTreeMap<StatusCode, &'static str> {
    let doc = &route.doc;
    let mut errors = BTreeMap::new();
    match route.access {
        Access::Anyone => {}
        Access::Source => {
            errors.insert(
                StatusCode::UNAUTHORIZED,
                "No token, or not this source's token",
            );
        }
        Access::User | Access::Owner => {
            errors.insert(StatusCode::UNAUTHORIZED, "No API key, or an unknown one");
            errors.insert(StatusCode::TOO_MANY_REQUESTS, TOO_MANY_WRONG_KEYS);
        }
        Access::Admin | Access::LoopbackOrAdmin => {
            errors.insert(StatusCode::UNAUTHORIZED, "No API key, or an unknown one");
            errors.insert(StatusCode::TOO_MANY_REQUESTS, TOO_MANY_WRONG_KEYS);
            errors.insert(
                StatusCode::FORBIDDEN,
                "A user's key: this route needs the admin's",
            );
        }
    }
    if route.path.contains('{') {
        errors.insert(
            StatusCode::NOT_FOUND,
            "No such object, or one that belongs to someone else",
        );
    }
    if doc.query.is_some() || doc.body.is_some() || doc.raw_body {
        errors.insert(
            StatusCode::BAD_REQUEST,
            "A parameter or the body is invalid; `details` names each field",
        );
    }
    if doc.body.is_some() || doc.raw_body {
        errors.insert(
            StatusCode::PAYLOAD_TOO_LARGE,
            "The body is over the size limit",
        );
        errors.insert(StatusCode::UNSUPPORTED_MEDIA_TYPE, "The body is not JSON");
    }
    for status in doc.errors {
        errors.insert(*status, own_error(*status));
    }
    errors.insert(
        StatusCode::SERVICE_UNAVAILABLE,
        "Overloaded, or the database cannot take writes now; see `Retry-After`",
    );
    errors
}

fn own_error(status: StatusCode) -> &'static str {
    match status.as_u16() {
        403 => {
            "Not allowed: a user asked for what only an admin may see, or reached their webhook limit"
        }
        404 => "Something the body names does not exist, or belongs to someone else",
        408 => "The body stopped arriving",
        409 => "It exists already, or a limit of this kind of object is reached",
        413 => "The body is over the size limit",
        422 => "What the body says does not pass the checks: `details` names each problem's field",
        429 => "Too many of these just now; see `Retry-After`",
        502 => "The target could not be reached",
        _ => unreachable!("the route table names an error without a reason: {status}"),
    }
}
