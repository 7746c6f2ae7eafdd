//! Any JSON object from a `generic` source (and, until their own parsers land, Plex/Jellyfin/Emby JSON):
//! kept whole as an `other` event named after the app's own event field.

use super::{InboundError, ParseContext, user_agent_product};
use crate::event::{Event, EventData, EventId, EventKind, SourceInfo, summarize};
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
    let (product, version) = user_agent_product(ctx.user_agent);
    let source = SourceInfo {
        name: ctx.source.to_owned(),
        app: ctx.app.as_str().to_owned(),
        event: app_event,
        instance: product,
        server: None,
        version,
        url: None,
    };
    let data = EventData::default();
    Ok(Event {
        id: EventId::new(),
        event: EventKind::Other,
        timestamp: ctx.received_at,
        summary: summarize(EventKind::Other, &source, &data),
        source,
        data,
    })
}
