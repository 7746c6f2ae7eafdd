//! Replay: an event's deliveries made anew — to the destinations that want it now (routed as on arrival, to
//! enabled destinations only), or to the destinations named, whatever their rules say.

use super::OperationError;
use crate::delivery::Engine;
use crate::event::{EventId, new_prefixed_id};
use crate::storage::{NewDelivery, Store};

/// Replays event `id`; returns the ids of the new deliveries.
pub async fn replay(
    engine: &Engine,
    store: &dyn Store,
    id: &str,
    destinations: Option<&[String]>,
) -> Result<Vec<String>, OperationError> {
    let event_id = EventId::parse(id).ok_or_else(|| OperationError::no_event(id))?;
    let event = store
        .get_event(&event_id)
        .await?
        .ok_or_else(|| OperationError::no_event(id))?;
    let rows: Vec<NewDelivery> = match destinations {
        Some(names) => {
            let unknown: Vec<&String> = names
                .iter()
                .filter(|n| !engine.has_destination(n))
                .collect();
            if !unknown.is_empty() {
                return Err(OperationError::Invalid {
                    field: "destinations".into(),
                    message: format!("unknown destination(s): {unknown:?}"),
                });
            }
            let now = chrono::Utc::now();
            names
                .iter()
                .map(|n| NewDelivery {
                    id: new_prefixed_id("dlv"),
                    event_id: event.id.clone(),
                    event: event.event.as_str().to_owned(),
                    destination: n.clone(),
                    created_at: now,
                    due_at: now,
                    expires_at: None,
                    group_key: None,
                })
                .collect()
        }
        None => engine.routes().route(&event, &|n| engine.is_enabled(n)),
    };
    store.insert_deliveries(&rows).await?;
    engine.notify_ingest();
    Ok(rows.into_iter().map(|r| r.id).collect())
}
