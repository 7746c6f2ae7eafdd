//! Reading an inbound body as its app sends it: JSON as it is, or the JSON inside a form (Plex's multipart
//! `payload` part, Emby's `data` field, Jellyfin's GenericForm fields). Multipart bodies are streamed, so a
//! large poster (Plex's `thumb` part) is skipped without being held in memory and never fails a request;
//! only the JSON must fit in `server.max_body_bytes`.

use super::ApiError;
use crate::inbound::{BodyKind, FormKind, InboundError};
use axum::body::Body;
use futures_util::StreamExt;
use std::sync::{Arc, Mutex};

/// A multipart request may be this large in all (the JSON part still must fit `max_body_bytes`): Plex
/// thumbnails are tens of KB, but nothing bounds them.
const MAX_FORM_BYTES: u64 = 64 * 1024 * 1024;

/// What was read.
#[derive(Debug)]
pub enum Read {
    /// The app's JSON.
    Json(Vec<u8>),
    /// The body could not be taken apart: the reason, and the bytes read (at most `max_body_bytes`), for
    /// the rejected log.
    Invalid { raw: Vec<u8>, error: InboundError },
}

/// Refuses a body whose declared `Content-Length` is over what its kind may be, before any of it is read.
pub fn check_declared_length(
    kind: BodyKind,
    content_length: Option<u64>,
    limit: usize,
) -> Result<(), ApiError> {
    let most = match kind {
        BodyKind::FormField {
            kind: FormKind::Multipart,
            ..
        } => MAX_FORM_BYTES.max(limit as u64),
        _ => limit as u64,
    };
    match content_length {
        Some(declared) if declared > most => Err(ApiError::PayloadTooLarge(format!(
            "the body is declared as {declared} bytes (Content-Length), over the {most} this source may \
             send (server.max_body_bytes)"
        ))),
        _ => Ok(()),
    }
}

/// Reads a body of the given kind. Errors are only "too large" (413); a malformed, stalled or cut-off body
/// is `Read::Invalid`, with what arrived of it.
pub async fn read(
    body: Body,
    kind: BodyKind,
    content_type: Option<&str>,
    limit: usize,
) -> Result<Read, ApiError> {
    let bytes = match kind {
        BodyKind::FormField {
            kind: FormKind::Multipart,
            field,
        } => return multipart(body, content_type.unwrap_or_default(), field, limit).await,
        _ => match whole(body, limit).await? {
            Ok(bytes) => bytes,
            Err(incomplete) => return Ok(incomplete),
        },
    };
    Ok(match kind {
        BodyKind::FormField { field, .. } => form_field(bytes, field),
        BodyKind::FormFields => Read::Json(form_fields(&bytes)),
        BodyKind::Json => Read::Json(bytes),
    })
}

/// The whole body, or (as `Err`) what arrived of one that stalled or was cut off.
async fn whole(body: Body, limit: usize) -> Result<Result<Vec<u8>, Read>, ApiError> {
    let mut stream = body.into_data_stream();
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(chunk) if bytes.len() + chunk.len() > limit => return Err(too_large(limit)),
            Ok(chunk) => bytes.extend_from_slice(&chunk),
            Err(e) => {
                let error = incomplete(&e, bytes.len());
                return Ok(Err(Read::Invalid { raw: bytes, error }));
            }
        }
    }
    Ok(Ok(bytes))
}

/// Why a body ended early: its read timed out, or the connection went.
fn incomplete(error: &(dyn std::error::Error + 'static), received: usize) -> InboundError {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        if e.is::<tower_http::timeout::TimeoutError>() {
            return InboundError::BodyTimedOut { received };
        }
        cause = e.source();
    }
    InboundError::BodyCut { received }
}

fn too_large(limit: usize) -> ApiError {
    ApiError::PayloadTooLarge(format!(
        "the body is over server.max_body_bytes ({limit} bytes)"
    ))
}

/// `data=<json>` (Emby): the JSON is the text of one url-encoded field.
fn form_field(bytes: Vec<u8>, name: &'static str) -> Read {
    match url::form_urlencoded::parse(&bytes).find(|(k, _)| k == name) {
        Some((_, json)) => Read::Json(json.into_owned().into_bytes()),
        None => Read::Invalid {
            raw: bytes,
            error: InboundError::MissingFormField(name),
        },
    }
}

/// Jellyfin's GenericForm: every url-encoded field a string value of one JSON object (first one wins).
fn form_fields(bytes: &[u8]) -> Vec<u8> {
    let mut object = serde_json::Map::new();
    for (k, v) in url::form_urlencoded::parse(bytes) {
        object
            .entry(k.into_owned())
            .or_insert_with(|| serde_json::Value::String(v.into_owned()));
    }
    serde_json::Value::Object(object).to_string().into_bytes()
}

/// Streams a multipart body: the named part is kept (up to `limit`), every other part is read and dropped.
/// Once the JSON is in hand, nothing after it (a truncated or broken thumbnail) fails the request.
async fn multipart(
    body: Body,
    content_type: &str,
    field: &'static str,
    limit: usize,
) -> Result<Read, ApiError> {
    // What was read, up to `limit`, for the rejected log if the body turns out broken; `None` once the
    // JSON is read, when the rest is no longer worth copying.
    let seen = Arc::new(Mutex::new(Some(Vec::new())));
    let tee = Arc::clone(&seen);
    let stream = body.into_data_stream().map(move |chunk| {
        if let Ok(bytes) = &chunk
            && let Ok(mut seen) = tee.lock()
            && let Some(seen) = seen.as_mut()
        {
            let room = limit.saturating_sub(seen.len());
            seen.extend_from_slice(&bytes[..bytes.len().min(room)]);
        }
        chunk
    });
    let invalid = |error: InboundError| {
        let raw = seen.lock().ok().and_then(|s| s.clone()).unwrap_or_default();
        Ok(Read::Invalid { raw, error })
    };
    let boundary = match multer::parse_boundary(content_type) {
        Ok(b) => b,
        Err(e) => {
            // Read what there is (bounded) so the rejected log has it.
            let _ = stream
                .take_while(|c| std::future::ready(c.is_ok()))
                .count()
                .await;
            return invalid(InboundError::BadForm(e.to_string()));
        }
    };
    let limits = multer::SizeLimit::new()
        .whole_stream(MAX_FORM_BYTES.max(limit as u64))
        .for_field(field, limit as u64);
    let mut form = multer::Multipart::with_constraints(
        stream,
        boundary,
        multer::Constraints::new().size_limit(limits),
    );
    let mut json: Option<Vec<u8>> = None;
    let broken = loop {
        let mut part = match form.next_field().await {
            Ok(Some(part)) => part,
            Ok(None) => break None,
            Err(e) => break Some(e),
        };
        if json.is_none() && part.name() == Some(field) {
            match part.bytes().await {
                Ok(bytes) => {
                    json = Some(bytes.to_vec());
                    if let Ok(mut seen) = seen.lock() {
                        *seen = None;
                    }
                }
                Err(e) => break Some(e),
            }
        } else {
            // A thumbnail (or anything else): read through and dropped.
            let name = part.name().unwrap_or("").to_owned();
            let mut size = 0usize;
            let end = loop {
                match part.chunk().await {
                    Ok(Some(chunk)) => size += chunk.len(),
                    Ok(None) => break None,
                    Err(e) => break Some(e),
                }
            };
            tracing::debug!(message = "Dropped a form part.", part = %name, bytes = size);
            if let Some(e) = end {
                break Some(e);
            }
        }
    };
    match (json, broken) {
        (Some(json), None) => Ok(Read::Json(json)),
        (Some(json), Some(e)) => {
            // Plex does not retry: an event is worth more than its poster.
            tracing::debug!(message = "The form broke after its JSON part; the JSON is kept.", error = %e);
            Ok(Read::Json(json))
        }
        (None, Some(e)) => {
            let received = seen
                .lock()
                .ok()
                .and_then(|s| s.as_ref().map(Vec::len))
                .unwrap_or_default();
            form_error(e, limit, received, invalid)
        }
        (None, None) => invalid(InboundError::MissingFormField(field)),
    }
}

fn form_error(
    e: multer::Error,
    limit: usize,
    received: usize,
    invalid: impl FnOnce(InboundError) -> Result<Read, ApiError>,
) -> Result<Read, ApiError> {
    match e {
        multer::Error::FieldSizeExceeded { .. } => Err(too_large(limit)),
        multer::Error::StreamSizeExceeded { limit } => Err(ApiError::PayloadTooLarge(format!(
            "the form is over {limit} bytes in all"
        ))),
        multer::Error::StreamReadFailed(cause) => invalid(incomplete(cause.as_ref(), received)),
        other => invalid(InboundError::BadForm(other.to_string())),
    }
}
