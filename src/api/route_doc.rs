//! What each row of the route table says beyond method, path and access — the types of its query, body and
//! answer, and the errors of its own — for the OpenAPI document ([`super::openapi`]) to be built from.

use axum::http::StatusCode;
use std::borrow::Cow;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::openapi::{Ref, RefOr, Schema};
use utoipa::{IntoParams, ToSchema};

/// The schemas a document collects, by name.
pub type Schemas = Vec<(String, RefOr<Schema>)>;

/// A type of the API as the document names it: a `$ref` to its schema, and the schemas it needs.
#[derive(Clone, Copy)]
pub struct SchemaOf {
    name: fn() -> Cow<'static, str>,
    schema: fn() -> RefOr<Schema>,
    needs: fn(&mut Schemas),
}

impl SchemaOf {
    pub fn of<T: ToSchema>() -> SchemaOf {
        SchemaOf {
            name: T::name,
            schema: T::schema,
            needs: T::schemas,
        }
    }

    /// Adds the schema (and those it refers to) to `schemas`; answers the `$ref` to it.
    pub fn register(&self, schemas: &mut Schemas) -> RefOr<Schema> {
        let name = (self.name)().into_owned();
        schemas.push((name.clone(), (self.schema)()));
        (self.needs)(schemas);
        Ref::from_schema_name(name).into()
    }
}

impl std::fmt::Debug for SchemaOf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&(self.name)())
    }
}

/// What a route answers when it succeeds.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    /// A JSON body of one type.
    Json(StatusCode, SchemaOf),
    /// `{"items": [...], "next_cursor": ...}` of one type (CONTRACT §7).
    List(SchemaOf),
    /// No body.
    Empty(StatusCode),
    /// Text of a media type (Prometheus, Server-Sent Events).
    Text(&'static str, &'static str),
    /// Whatever a mock was told to answer.
    AsTold,
    /// The OpenAPI document.
    Document,
}

/// What a route takes and answers, beyond its method, path and access.
#[derive(Debug, Clone, Copy)]
pub struct Doc {
    pub(super) query: Option<fn() -> Vec<Parameter>>,
    pub(super) body: Option<(SchemaOf, bool)>,
    pub(super) answer: Option<Answer>,
    /// A second answer that is not an error (`/readyz`'s 503, a duplicate's 200).
    pub(super) or: Option<(StatusCode, SchemaOf)>,
    /// Takes the app's own payload, of any media type.
    pub(super) raw_body: bool,
    /// Errors of this route beyond those its access, path, query and body imply.
    pub(super) errors: &'static [StatusCode],
}

impl Doc {
    pub const fn new() -> Doc {
        Doc {
            query: None,
            body: None,
            answer: None,
            or: None,
            raw_body: false,
            errors: &[],
        }
    }
}

/// Query parameters of a `Deserialize` struct that derives `IntoParams`.
pub fn params_of<P: IntoParams>() -> Vec<Parameter> {
    P::into_params(|| Some(ParameterIn::Query))
}
