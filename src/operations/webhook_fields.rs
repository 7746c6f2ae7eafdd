//! What the fields of a registered webhook may be: each checked on its own, the error naming the field and
//! the fix (the URL, which needs the SSRF guard, is checked in `webhooks.rs`).

use super::OperationError;
use crate::config::{Batch, Condition, FilterOp};
use crate::event::{EventKind, glob_matches};
use crate::outbound::signing;
use serde_json::Value;
use std::collections::BTreeMap;

/// Headers a registration may not set: hookarr writes them itself.
const RESERVED_HEADERS: [&str; 10] = [
    "content-type",
    "content-length",
    "host",
    "user-agent",
    "transfer-encoding",
    "connection",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "x-hookarr-event",
];

const MAX_HEADERS: usize = 20;
const MAX_DESCRIPTION: usize = 500;
const MAX_GLOBS: usize = 50;

pub(super) fn check_events(events: Vec<String>) -> Result<Vec<String>, OperationError> {
    if events.is_empty() {
        return Err(OperationError::invalid(
            "events",
            "name at least one event or glob, like [\"library.*\"], or leave it out for every event",
        ));
    }
    if events.len() > MAX_GLOBS {
        return Err(OperationError::invalid(
            "events",
            format!("at most {MAX_GLOBS} globs"),
        ));
    }
    for (i, glob) in events.iter().enumerate() {
        if !EventKind::ALL
            .iter()
            .any(|k| glob_matches(glob, k.as_str()))
        {
            return Err(OperationError::invalid(
                format!("events[{i}]"),
                format!(
                    "`{glob}` matches no event; events look like library.new, health.*, download.grabbed"
                ),
            ));
        }
    }
    Ok(events)
}

pub(super) fn check_sources(
    known: &crate::sources::Sources,
    sources: Option<Vec<String>>,
) -> Result<Option<Vec<String>>, OperationError> {
    let Some(sources) = sources else {
        return Ok(None);
    };
    if sources.is_empty() {
        return Err(OperationError::invalid(
            "sources",
            "name at least one source, or leave it out (or null) for every source",
        ));
    }
    for (i, name) in sources.iter().enumerate() {
        if known.get(name).is_none() {
            return Err(OperationError::invalid(
                format!("sources[{i}]"),
                format!("no source is named `{name}` (GET /api/sources lists them)"),
            ));
        }
    }
    Ok(Some(sources))
}

pub(super) fn check_filter(
    filter: serde_json::Map<String, Value>,
) -> Result<serde_json::Map<String, Value>, OperationError> {
    for (path, condition) in &filter {
        let field = format!("filter.{path}");
        if !(path.starts_with("data.")
            || path.starts_with("source.")
            || matches!(path.as_str(), "event" | "summary"))
        {
            return Err(OperationError::invalid(
                field,
                "paths start with data., source., or are event/summary (e.g. data.media.year)",
            ));
        }
        let Condition(ops) = serde_json::from_value(condition.clone())
            .map_err(|e| OperationError::invalid(&field, e.to_string()))?;
        for op in ops {
            if let FilterOp::Matches(re) = op
                && let Err(e) = regex::Regex::new(&re)
            {
                return Err(OperationError::invalid(
                    &field,
                    format!("`matches` is not a valid regular expression: {e}"),
                ));
            }
        }
    }
    Ok(filter)
}

pub(super) fn check_headers(
    headers: BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, OperationError> {
    if headers.len() > MAX_HEADERS {
        return Err(OperationError::invalid(
            "headers",
            format!("at most {MAX_HEADERS} headers"),
        ));
    }
    for (name, value) in &headers {
        let field = format!("headers.{name}");
        if axum::http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(OperationError::invalid(field, "not a valid header name"));
        }
        if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(OperationError::invalid(
                field,
                "hookarr sets this header itself",
            ));
        }
        if !crate::outbound::is_visible_header_value(value) {
            return Err(OperationError::invalid(
                field,
                "not a valid header value (visible ASCII only, no space at either end)",
            ));
        }
    }
    Ok(headers)
}

/// A batch may hold 1 to [`crate::config::MAX_BATCH_EVENTS`] events and wait up to an hour.
pub(super) fn check_batch(batch: Batch) -> Result<Batch, OperationError> {
    crate::config::check_batch(&batch)
        .map(|()| batch)
        .map_err(|(key, message)| OperationError::invalid(format!("batch.{key}"), message))
}

pub(super) fn check_description(description: String) -> Result<String, OperationError> {
    if description.chars().count() > MAX_DESCRIPTION {
        return Err(OperationError::invalid(
            "description",
            format!("at most {MAX_DESCRIPTION} characters"),
        ));
    }
    Ok(description)
}

/// The secret given, if it is a `whsec_` secret of 24 to 64 bytes, else a new one; `field` names it in the
/// error.
pub fn secret_or_new(given: Option<String>, field: &str) -> Result<String, OperationError> {
    match given {
        Some(s)
            if signing::whsec_key(&s).is_ok_and(|k| (24..=64).contains(&k.len()))
                && s.starts_with("whsec_") =>
        {
            Ok(s)
        }
        Some(_) => Err(OperationError::invalid(
            field,
            "a secret is `whsec_` followed by base64 of 24 to 64 random bytes; leave it out to have one generated",
        )),
        None => Ok(signing::new_whsec()),
    }
}

/// Whether a header's value is a credential, shown masked after registration.
pub fn is_credential_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "authorization",
        "token",
        "key",
        "secret",
        "cookie",
        "password",
    ]
    .iter()
    .any(|w| name.contains(w))
}
