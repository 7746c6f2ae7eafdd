//! hookarr's own alerts: `hookarr.delivery_dead` and `hookarr.destination_disabled` events, stored through
//! the normal ingest path so they are routed like any other event (never an alert about an alert).

use super::Claimed;
use super::Engine;
use crate::event::{Alert, Event, EventData, EventId, EventKind, Health, SourceInfo};
use crate::storage::{Ingest, RawRequest};
use chrono::Utc;

impl Engine {
    /// Emits a `hookarr.*` event (delivery dead, destination disabled) through the normal ingest path.
    pub(super) async fn emit(
        &self,
        kind: EventKind,
        check: &str,
        message: String,
        about: &Claimed,
    ) {
        let alert = Alert {
            destination: about.destination.clone(),
            delivery: Some(about.id.clone()),
            event: Some(about.event.id.as_str().to_owned()),
        };
        let about = &about.event;
        if about.event.as_str().starts_with("hookarr.") {
            return; // never an alert about an alert
        }
        let event = Event {
            id: EventId::new(),
            event: kind,
            timestamp: Utc::now(),
            source: SourceInfo {
                name: "hookarr".into(),
                app: "hookarr".into(),
                event: check.into(),
                version: Some(env!("CARGO_PKG_VERSION").into()),
                ..Default::default()
            },
            summary: message.clone(),
            data: EventData {
                health: Some(Health {
                    level: Some("error".into()),
                    check: Some(check.into()),
                    message: Some(message),
                    wiki_url: None,
                }),
                alert: Some(alert),
                ..Default::default()
            },
        };
        let raw = RawRequest {
            content_type: Some("application/json".into()),
            headers: Vec::new(),
            body: serde_json::to_vec(&serde_json::json!({"about_event": about.id.as_str()}))
                .unwrap_or_default(),
        };
        match self
            .store
            .ingest(Ingest {
                event,
                raw,
                dedupe: None,
                routed: None,
            })
            .await
        {
            Ok(_) => self.wake_router.notify_one(),
            Err(error) => error.log("Emitting an alert event failed."),
        }
    }
}
