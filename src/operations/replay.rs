//! Replay: an event's deliveries made anew — to the destinations that want it now (routed as on arrival, to
//! enabled destinations only), or to the destinations named, whatever their rules say.

use super::OperationError;
use crate::delivery::Engine;
use crate::event::{Event, EventId, new_prefixed_id};
use crate::storage::{DeliveryQuery, DeliveryStatus, NewDelivery, Store};

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
    let rows = plan(engine, &event, destinations)?;
    store.insert_deliveries(&rows).await?;
    engine.notify_ingest();
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// The deliveries a replay of `event` would make: to `destinations`, or as routed now.
pub fn plan(
    engine: &Engine,
    event: &Event,
    destinations: Option<&[String]>,
) -> Result<Vec<NewDelivery>, OperationError> {
    Ok(match destinations {
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
        None => engine.routes().route(event, &|n| engine.is_enabled(n)),
    })
}

/// The destinations event `id` has reached: those with a succeeded delivery of it.
pub async fn delivered_to(
    store: &dyn Store,
    id: &str,
) -> Result<std::collections::HashSet<String>, OperationError> {
    let mut reached = std::collections::HashSet::new();
    let mut query = DeliveryQuery {
        status: Some(DeliveryStatus::Succeeded),
        event_id: Some(id.to_owned()),
        limit: 500,
        ..Default::default()
    };
    loop {
        let page = store.list_deliveries(&query).await?;
        let last = page.items.last().map(|d| d.id.clone());
        reached.extend(page.items.into_iter().map(|d| d.destination));
        match (page.next, last) {
            (Some(_), Some(last)) => query.before = Some(last),
            _ => return Ok(reached),
        }
    }
}
