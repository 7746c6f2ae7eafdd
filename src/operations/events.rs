//! Reading events as someone may see them: one event with the deliveries of it they may see, and each
//! source's last event.

use super::OperationError;
use super::alert_scope::Alerts;
use crate::event::{Event, EventId};
use crate::storage::{DeliveryQuery, DeliveryRow, EventQuery, Store, StoreError};

/// The event `id` and its deliveries — only those to `owner`'s webhooks when an owner is given; an owner
/// does not find one of hookarr's alerts about someone else's destination ([`super::alert_scope`]).
pub async fn event_and_deliveries(
    store: &dyn Store,
    id: &str,
    owner: Option<&str>,
) -> Result<(Event, Vec<DeliveryRow>), OperationError> {
    let not_found = || OperationError::NotFound(format!("no event has the id `{id}`"));
    let event_id = EventId::parse(id).ok_or_else(not_found)?;
    let event = store.get_event(&event_id).await?.ok_or_else(not_found)?;
    if !Alerts::for_viewer(owner).may_see(store, &event).await {
        return Err(not_found());
    }
    let deliveries = store
        .list_deliveries(&DeliveryQuery {
            event_id: Some(event_id.to_string()),
            owner: owner.map(str::to_owned),
            limit: 500,
            ..Default::default()
        })
        .await?
        .items;
    Ok((event, deliveries))
}

/// The newest event of source `name`, if any came.
pub async fn last_event_of(store: &dyn Store, name: &str) -> Result<Option<Event>, StoreError> {
    let query = EventQuery {
        source: Some(name.to_owned()),
        limit: 1,
        ..Default::default()
    };
    Ok(store.list_events(&query).await?.items.pop())
}
