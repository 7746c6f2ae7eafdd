//! Any JSON object from a `generic` source: kept whole as an `other` event named after the app's own event
//! field.

use super::{InboundError, ParseContext};
use crate::event::{Event, EventData, EventKind};
use serde_json::{Map, Value};

/// The keys apps put their event name under, most specific first.
const EVENT_KEYS: [&str; 5] = ["event", "Event", "NotificationType", "eventType", "type"];

/// Parses any JSON object into an `other` event.
pub fn parse(ctx: &ParseContext<'_>, body: &[u8]) -> Result<Event, InboundError> {
    let object: Map<String, Value> = super::parse_json_object(body)?;
    let app_event = EVENT_KEYS
        .iter()
        .find_map(|k| object.get(*k).and_then(Value::as_str))
        .unwrap_or("unknown")
        .to_owned();
    Ok(Event::new(
        EventKind::Other,
        ctx.received_at,
        ctx.source_info(app_event),
        EventData::default(),
    ))
}
