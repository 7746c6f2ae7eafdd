//! Trying a destination before it is saved (the page's *Send a test* and *Preview of routing*): the keys as
//! the form has them are checked like a save, then a `test` event is sent to them, or the last events are
//! matched against them. Nothing is stored. On an edit, the secret keys the form leaves empty are the stored
//! ones.

use super::auth::Caller;
use super::destination_changes::{DestinationKeys, context, source_names};
use super::destinations::TestBody;
use super::json_body::required;
use super::{ApiError, AppState};
use crate::delivery::route::Rule;
use crate::storage::EventQuery;
use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use serde::Serialize;
use serde_json::{Map, Value};

/// How many recent events a routing preview matches.
const PREVIEW_EVENTS: u32 = 100;

/// The keys a form sent, with the secret ones of the stored destination of that name where the form left
/// them out (they are write-only: the form never has them).
pub(super) async fn with_stored_secrets(
    state: &AppState,
    mut keys: Map<String, Value>,
) -> Result<Map<String, Value>, ApiError> {
    keys.remove("version");
    let Some(name) = keys.get("name").and_then(Value::as_str) else {
        return Ok(keys);
    };
    if let Some(stored) = state
        .live
        .stored_destination(state.store.as_ref(), name)
        .await?
    {
        for key in super::destinations::SECRET_KEYS {
            if !keys.contains_key(key)
                && let Some(value) = stored.long_form.get(key)
            {
                keys.insert(key.to_owned(), value.clone());
            }
        }
    }
    Ok(keys)
}

/// Checks the keys like a save would (a name in use is no problem here: the form may be editing it).
async fn checked(
    state: &AppState,
    keys: Map<String, Value>,
) -> Result<crate::config::Destination, ApiError> {
    let keys = with_stored_secrets(state, keys).await?;
    let name = keys.get("name").and_then(Value::as_str).map(str::to_owned);
    let sources = source_names(state);
    let read = state
        .live
        .check_destination(
            &context(state, &sources),
            Value::Object(keys),
            name.as_deref(),
        )
        .await?;
    Ok(read.destination)
}

pub async fn test(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<DestinationKeys>, JsonRejection>,
) -> Result<Json<TestBody>, ApiError> {
    let DestinationKeys(keys) = required(body)?;
    let destination = checked(&state, keys).await?;
    super::webhooks::take_test_send(&state, &caller)?;
    let sent = state
        .engine
        .send_unsaved(&destination, &crate::delivery::test_event())
        .await
        .map_err(|e| {
            ApiError::problems(
                "the test cannot be made",
                &[crate::config::Problem::new("template", e.to_string())],
            )
        })?;
    Ok(Json(TestBody::from(&sent)))
}

/// Which of the last events a destination would have taken.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RoutingPreview {
    /// How many of the events it would have taken.
    taken: usize,
    /// The events looked at, newest first.
    events: Vec<PreviewedEvent>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PreviewedEvent {
    id: String,
    event: String,
    source: String,
    summary: String,
    timestamp: chrono::DateTime<chrono::Utc>,
    taken: bool,
}

pub async fn routing_preview(
    State(state): State<AppState>,
    body: Result<Json<DestinationKeys>, JsonRejection>,
) -> Result<Json<RoutingPreview>, ApiError> {
    let DestinationKeys(keys) = required(body)?;
    let destination = checked(&state, keys).await?;
    let rule = Rule::new(&destination);
    let query = EventQuery {
        limit: PREVIEW_EVENTS,
        ..EventQuery::default()
    };
    let page = state.store.list_events(&query).await?;
    let events: Vec<PreviewedEvent> = page
        .items
        .into_iter()
        .map(|event| {
            let envelope = serde_json::to_value(&event).expect("an Event serializes");
            PreviewedEvent {
                taken: rule.wants(&event, &envelope),
                id: event.id.as_str().to_owned(),
                event: event.event.as_str().to_owned(),
                source: event.source.name.clone(),
                summary: event.summary.clone(),
                timestamp: event.timestamp,
            }
        })
        .collect();
    Ok(Json(RoutingPreview {
        taken: events.iter().filter(|e| e.taken).count(),
        events,
    }))
}
