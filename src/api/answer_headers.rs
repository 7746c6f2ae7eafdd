//! What every answer outside the admin page carries (the admin page sets its own, stricter ones): never
//! sniffed into another type, never kept by a cache (a created key or secret passes through), and an error
//! always in the one JSON shape — a plain-text rejection from the router (a path parameter that is not
//! UTF-8, a query that does not parse) is rewritten into it.

use super::ApiError;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The most of a plain-text rejection kept as the message.
const MESSAGE_BYTES: usize = 4 * 1024;

pub async fn add(req: Request, next: Next) -> Response {
    if req.uri().path().starts_with("/admin") {
        return next.run(req).await;
    }
    // A mock answers what its user told it, plain text included.
    let is_mock = req.uri().path().starts_with("/mock/");
    let response = next.run(req).await;
    let mut response = match !is_mock && is_plain_rejection(&response) {
        true => as_json_error(response).await,
        false => response,
    };
    let headers = response.headers_mut();
    headers
        .entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

fn is_plain_rejection(response: &Response) -> bool {
    let status = response.status();
    (status.is_client_error() || status.is_server_error())
        && response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("text/plain"))
}

async fn as_json_error(response: Response) -> Response {
    let (parts, body) = response.into_parts();
    let text = match axum::body::to_bytes(body, MESSAGE_BYTES).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_owned(),
        Err(_) => String::new(),
    };
    let message = match text.is_empty() {
        true => parts
            .status
            .canonical_reason()
            .unwrap_or("error")
            .to_owned(),
        false => text,
    };
    match ApiError::of_status(parts.status, message.clone()) {
        Some(error) => {
            let mut response = error.into_response();
            *response.status_mut() = parts.status;
            for name in [header::RETRY_AFTER, header::ALLOW, header::CONNECTION] {
                if let Some(v) = parts.headers.get(&name) {
                    response.headers_mut().insert(name, v.clone());
                }
            }
            response
        }
        None => Response::from_parts(parts, axum::body::Body::from(message)),
    }
}
