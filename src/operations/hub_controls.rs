//! hookarr's controls in Home Assistant — the quiet-hours switch, the retry-dead and flush-digests buttons and
//! the notify entity — carried out on the engine and the store, each written to the audit log as done by
//! `home-assistant (mqtt)`; and the hub's state those entities show.

use crate::delivery::Engine;
use crate::event::{Event, EventData, EventId, EventKind, SourceInfo};
use crate::sources::Sources;
use crate::storage::{AuditEntry, DeliveryStatus, Ingest, RawRequest, RetryFilter, Store};
use async_trait::async_trait;
use chrono::Utc;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::Arc;

/// The source name of a message Home Assistant sends through hookarr.
pub const HOME_ASSISTANT_SOURCE: &str = "home-assistant";

/// The controls, on the engine, store and sources of one process.
pub struct HubControls {
    pub engine: Arc<Engine>,
    pub store: Arc<dyn Store>,
    pub sources: Arc<Sources>,
}

impl HubControls {
    async fn audit(&self, action: &str, target: &str, detail: Value) {
        let entry = AuditEntry {
            id: crate::event::new_prefixed_id("aud"),
            at: Utc::now(),
            actor_id: "mqtt".into(),
            actor_name: "home-assistant (mqtt)".into(),
            action: action.into(),
            target_kind: "hub".into(),
            target_id: target.into(),
            owner_id: None,
            address: None,
            detail,
        };
        if let Err(error) = self.store.record_audit(&entry).await {
            error.log("Recording a Home Assistant command in the audit log failed.");
        }
    }
}

#[async_trait]
impl crate::mqtt::Commands for HubControls {
    fn configured_sources(&self) -> HashSet<String> {
        self.sources.all().iter().map(|s| s.name.clone()).collect()
    }

    async fn hub_state(&self) -> anyhow::Result<Value> {
        let now = Utc::now();
        let queue = self.store.queue_snapshot(now).await?;
        let minutes = self
            .store
            .events_per_minute(now - chrono::Duration::hours(1))
            .await?;
        let on = self.engine.quiet_switch().is_some();
        Ok(json!({
            "queue_depth": queue.pending + queue.unrouted,
            "dead": queue.dead,
            "events_last_hour": minutes.iter().map(|(_, n)| n).sum::<u64>(),
            "quiet_hours": if on { "ON" } else { "OFF" },
        }))
    }

    async fn set_quiet(&self, on: bool) -> anyhow::Result<()> {
        let released = self.engine.set_quiet_switch(on).await?;
        self.audit(
            "hub.quiet_hours",
            "quiet_hours",
            json!({"on": on, "released": released}),
        )
        .await;
        Ok(())
    }

    async fn retry_dead(&self) -> anyhow::Result<u64> {
        let filter = RetryFilter {
            status: DeliveryStatus::Dead,
            destination: None,
            owner: None,
            since: None,
        };
        let n = self
            .store
            .retry_deliveries(None, Some(&filter), Utc::now())
            .await?;
        self.engine.notify_ingest();
        self.audit(
            "deliveries.retried",
            "*",
            json!({"status": "dead", "retried": n}),
        )
        .await;
        Ok(n)
    }

    async fn flush_digests(&self) -> anyhow::Result<u64> {
        let n = self.engine.flush_held(None).await?;
        self.audit("hub.digests_flushed", "digests", json!({"deliveries": n}))
            .await;
        Ok(n)
    }

    async fn notify(&self, message: &str) -> anyhow::Result<()> {
        let event = Event {
            id: EventId::new(),
            event: EventKind::Other,
            timestamp: Utc::now(),
            source: SourceInfo {
                name: HOME_ASSISTANT_SOURCE.into(),
                // Told by hookarr itself: the Home Assistant destination never echoes it back.
                app: "hookarr".into(),
                event: "notify".into(),
                instance: Some("Home Assistant".into()),
                ..SourceInfo::default()
            },
            summary: message.to_owned(),
            data: EventData::default(),
        };
        let raw = RawRequest {
            content_type: Some("text/plain".into()),
            headers: Vec::new(),
            body: message.as_bytes().to_vec(),
        };
        self.store
            .ingest(Ingest {
                event,
                raw,
                dedupe: None,
                routed: None,
            })
            .await?;
        self.engine.notify_ingest();
        Ok(())
    }
}
