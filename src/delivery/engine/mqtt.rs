//! The engine's MQTT side: the broker connection it publishes through (started with `serve`), the send of an
//! mqtt destination's delivery (a publish, or the Home Assistant state of an event), and the quiet-hours
//! switch Home Assistant turns, which holds what people are sent until it is turned off.

use super::Engine;
use super::destinations::DestinationRuntime;
use crate::config::DestinationType;
use crate::delivery::Sent;
use crate::event::Event;
use crate::mqtt::{Message, MqttHub};
use crate::storage::{NewDelivery, StoreError};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

/// How long the switch holds a delivery at most, when nobody turns it off.
const SWITCH_HOLDS_AT_MOST_DAYS: i64 = 7;
/// The group key prefix of what the quiet-hours switch holds (a kind of quiet-hours digest).
const SWITCH_PREFIX: &str = "switch-";

impl Engine {
    /// Connects to the broker of `mqtt:` (once; `None` without it). Its link runs until `stop`; each time it
    /// connects again, what waits for the broker is made due (paced by each destination's rate limit).
    pub fn start_mqtt(self: &Arc<Self>, stop: CancellationToken) -> Option<Arc<MqttHub>> {
        let settings = self.mqtt_settings.clone()?;
        let mut started = false;
        let hub = self
            .mqtt
            .get_or_init(|| {
                started = true;
                Arc::new(MqttHub::start(
                    settings,
                    self.store.clone(),
                    self.timeout,
                    stop.clone(),
                ))
            })
            .clone();
        if started {
            tokio::spawn(self.clone().resume_on_reconnect(hub.link.watch(), stop));
        }
        Some(hub)
    }

    /// Makes the pending deliveries of every mqtt destination due whenever the link connects again.
    async fn resume_on_reconnect(
        self: Arc<Self>,
        mut state: tokio::sync::watch::Receiver<crate::mqtt::LinkState>,
        stop: CancellationToken,
    ) {
        let mut connects = 0;
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                changed = state.changed() => if changed.is_err() { return },
            }
            let now = state.borrow_and_update().clone();
            if !now.connected || now.connects == connects {
                continue;
            }
            connects = now.connects;
            let names: Vec<String> = self
                .configured()
                .runtimes
                .iter()
                .filter(|(_, r)| r.target.kind == DestinationType::Mqtt)
                .map(|(name, _)| name.clone())
                .collect();
            for name in names {
                if let Err(error) = self.store.make_due(&name, Utc::now()).await {
                    error.log("Resuming the deliveries that waited for the broker failed.");
                }
            }
            self.wake_claimer.notify_one();
        }
    }

    /// Whether `mqtt:` is set (an mqtt destination has a broker).
    pub fn has_mqtt(&self) -> bool {
        self.mqtt_settings.is_some()
    }

    /// The broker link, once started.
    pub fn mqtt(&self) -> Option<&Arc<MqttHub>> {
        self.mqtt.get()
    }

    /// Sends an mqtt destination's delivery: the Home Assistant state of the event, or the rendered payload
    /// on the destination's topic. The broker's acknowledgement is the answer.
    pub(super) async fn send_mqtt(
        &self,
        dest: &DestinationRuntime,
        event: &Event,
        payload: &serde_json::Value,
    ) -> Sent {
        let started = Utc::now();
        let clock = Instant::now();
        let Some(hub) = self.mqtt.get() else {
            let why = match self.has_mqtt() {
                true => "the MQTT broker connection has not started yet",
                false => "no MQTT broker: add the `mqtt:` section to hookarr.yaml",
            };
            return Sent::error(started, clock, why.into());
        };
        let answer = if dest.target.service.home_assistant {
            hub.tell(event)
                .await
                .map(|told| match told.skipped {
                    Some(why) => format!("nothing published: {why}"),
                    None => format!(
                        "{} messages acknowledged by {}",
                        told.messages,
                        hub.link.state().broker
                    ),
                })
                .map_err(|e| e.to_string())
        } else {
            let pattern = dest.target.service.topic.clone().unwrap_or_else(|| {
                crate::outbound::targets::mqtt::default_pattern(&hub.settings().base_topic)
            });
            let topic = crate::outbound::targets::mqtt::topic_for(&pattern, event);
            let body = serde_json::to_vec(payload).expect("a JSON value serializes");
            hub.publish(Message::new(
                topic.clone(),
                body,
                dest.target.service.retain,
            ))
            .await
            .map(|()| format!("acknowledged by {} on {topic}", hub.link.state().broker))
            .map_err(|e| e.to_string())
        };
        match answer {
            Ok(body) => Sent {
                started,
                duration: clock.elapsed(),
                status: Some(200),
                headers: Default::default(),
                body,
                error: None,
                request_body: None,
            },
            Err(error) => Sent::error(started, clock, error),
        }
    }

    /// Whether the quiet-hours switch holds what people are sent, since when.
    pub fn quiet_switch(&self) -> Option<DateTime<Utc>> {
        *self.quiet_switch.read().expect("quiet switch lock")
    }

    /// Turns the switch on (from now) or off; off sends what it held.
    pub async fn set_quiet_switch(&self, on: bool) -> Result<u64, StoreError> {
        let now = Utc::now();
        let doc = serde_json::json!({"since": on.then_some(now)}).to_string();
        self.store.put_mqtt_docs(&[("hub", "quiet", doc)]).await?;
        let was = std::mem::replace(
            &mut *self.quiet_switch.write().expect("quiet switch lock"),
            on.then_some(now),
        );
        match (was, on) {
            (Some(_), false) => self.flush_held(Some(SWITCH_PREFIX)).await,
            _ => Ok(0),
        }
    }

    /// Reads the switch as it was left (at start).
    pub async fn read_quiet_switch(&self) -> Result<(), StoreError> {
        let since = self
            .store
            .mqtt_doc("hub", "quiet")
            .await?
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .and_then(|v| serde_json::from_value::<DateTime<Utc>>(v["since"].clone()).ok());
        *self.quiet_switch.write().expect("quiet switch lock") = since;
        Ok(())
    }

    /// Makes held quiet-hours digests due now (those of the switch only, with `only`); how many deliveries.
    pub async fn flush_held(&self, only: Option<&str>) -> Result<u64, StoreError> {
        let prefix = format!(
            "{}{}",
            crate::delivery::group::DIGEST_PREFIX,
            only.unwrap_or("")
        );
        let n = self.store.make_held_due(&prefix, Utc::now()).await?;
        self.wake_claimer.notify_one();
        Ok(n)
    }

    /// While the switch is on, what goes to people (chat, push and mail destinations) is held as one digest
    /// until it is turned off; machines (webhooks, Home Assistant, MQTT) still get everything at once.
    pub(super) fn hold_for_switch(&self, deliveries: &mut [NewDelivery]) {
        let Some(since) = self.quiet_switch() else {
            return;
        };
        for d in deliveries.iter_mut() {
            let Some(kind) = self
                .configured()
                .runtimes
                .get(&d.destination)
                .map(|r| r.target.kind)
            else {
                continue; // a registered webhook: a machine
            };
            if matches!(
                kind,
                DestinationType::Mqtt | DestinationType::Webhook | DestinationType::HomeAssistant
            ) {
                continue;
            }
            d.group_key = Some(format!(
                "{}{SWITCH_PREFIX}{}",
                crate::delivery::group::DIGEST_PREFIX,
                since.timestamp()
            ));
            d.due_at = d.created_at + chrono::Duration::days(SWITCH_HOLDS_AT_MOST_DAYS);
        }
    }
}
