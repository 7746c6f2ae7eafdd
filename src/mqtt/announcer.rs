//! The announcer: keeps Home Assistant's view of hookarr current. On every connect and whenever Home
//! Assistant says it is `online` it announces everything again (discovery, then every retained state); every
//! [`TICK`] it says `online` again, announces what changed (a source removed from the config goes), publishes
//! the hub's state and refreshes players; and it carries out the commands of the hub's switch, buttons and notify entity.

use super::MqttHub;
use async_trait::async_trait;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

/// How often the hub's state is published and discovery compared with what should be.
const TICK: Duration = Duration::from_secs(30);
/// The longest message the notify entity takes, in bytes.
const NOTIFY_MAX_BYTES: usize = 4096;

/// What Home Assistant's commands do, and what the announcer needs to know of the rest of hookarr.
#[async_trait]
pub trait Commands: Send + Sync {
    /// The names of the sources configured now.
    fn configured_sources(&self) -> HashSet<String>;
    /// The hub's state: `queue_depth`, `dead`, `events_last_hour`, `quiet_hours` (`ON`/`OFF`).
    async fn hub_state(&self) -> anyhow::Result<serde_json::Value>;
    /// Turns the quiet-hours switch on (hold what people are sent) or off (send what it held).
    async fn set_quiet(&self, on: bool) -> anyhow::Result<()>;
    /// Puts every dead delivery back in the queue; how many.
    async fn retry_dead(&self) -> anyhow::Result<u64>;
    /// Sends every held quiet-hours digest now; how many deliveries.
    async fn flush_digests(&self) -> anyhow::Result<u64>;
    /// Sends `message` through hookarr's destinations, as an event.
    async fn notify(&self, message: &str) -> anyhow::Result<()>;
}

/// Runs until `stop`.
pub async fn run_announcer(
    hub: Arc<MqttHub>,
    commands: Arc<dyn Commands>,
    stop: CancellationToken,
) {
    let mut state = hub.link.watch();
    let mut incoming = hub.link.incoming();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut connects_seen = 0;
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            changed = state.changed() => {
                if changed.is_err() {
                    break;
                }
                let now = state.borrow_and_update().clone();
                if now.connected && now.connects != connects_seen {
                    connects_seen = now.connects;
                    everything(&hub, commands.as_ref()).await;
                }
            }
            message = incoming.recv() => match message {
                Ok(m) if m.retained && hub.topics.command_of(&m.topic).is_some() => {
                    tracing::warn!(message = "A retained command was ignored: Home Assistant's commands are not retained.", topic = %m.topic);
                }
                Ok(m) => on_message(&hub, commands.as_ref(), &m.topic, &m.payload).await,
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => break,
            },
            _ = tick.tick() => {
                if hub.link.state().connected {
                    routine(&hub, commands.as_ref()).await;
                }
            }
        }
    }
}

/// Discovery, every retained state, the hub's state: what a new connection or a restarted Home Assistant
/// needs.
async fn everything(hub: &MqttHub, commands: &dyn Commands) {
    let configured = commands.configured_sources();
    match hub.announce(&configured, true).await {
        Ok(n) => tracing::info!(
            message = "Announced hookarr to Home Assistant.",
            configs = n
        ),
        Err(error) => {
            tracing::warn!(message = "Announcing to Home Assistant failed; retrying on the next tick.", %error)
        }
    }
    if let Err(error) = hub.republish_states(&configured).await {
        tracing::warn!(message = "Publishing the sources' and players' states failed.", %error);
    }
    publish_hub_state(hub, commands).await;
}

/// Every tick: `online` again (another process sharing the database and the base topic may have died, and
/// its will said `offline` for all), what changed in discovery, the hub's state, players due a refresh.
async fn routine(hub: &MqttHub, commands: &dyn Commands) {
    let online = super::Message::new(hub.topics.status(), "online", true);
    if let Err(error) = hub.publish(online).await {
        tracing::debug!(message = "Saying online failed.", %error);
    }
    let configured = commands.configured_sources();
    if let Err(error) = hub.announce(&configured, false).await {
        tracing::warn!(message = "Updating Home Assistant's discovery failed.", %error);
    }
    publish_hub_state(hub, commands).await;
    if let Err(error) = hub.refresh_players().await {
        tracing::warn!(message = "Refreshing the players failed.", %error);
    }
}

async fn publish_hub_state(hub: &MqttHub, commands: &dyn Commands) {
    let state = match commands.hub_state().await {
        Ok(s) => s,
        Err(error) => {
            tracing::warn!(message = "Reading the hub's state failed.", %error);
            return;
        }
    };
    let message = super::Message::new(hub.topics.hub_state(), state.to_string(), true);
    if let Err(error) = hub.publish(message).await {
        tracing::debug!(message = "Publishing the hub's state failed.", %error);
    }
}

/// A message on a topic hookarr subscribes to: Home Assistant's birth, or a command.
async fn on_message(hub: &MqttHub, commands: &dyn Commands, topic: &str, payload: &[u8]) {
    if topic == hub.topics.home_assistant_status() {
        if payload == b"online" {
            tracing::info!(message = "Home Assistant came online: announcing again.");
            everything(hub, commands).await;
        }
        return;
    }
    let Some(command) = hub.topics.command_of(topic) else {
        return;
    };
    let text = String::from_utf8_lossy(payload);
    let done = match command {
        "quiet_hours" => match text.trim() {
            "ON" => commands
                .set_quiet(true)
                .await
                .map(|_| "quiet hours on".to_owned()),
            "OFF" => commands
                .set_quiet(false)
                .await
                .map(|_| "quiet hours off".to_owned()),
            other => Err(anyhow::anyhow!("the switch takes ON or OFF, not {other:?}")),
        },
        "retry_dead" => commands
            .retry_dead()
            .await
            .map(|n| format!("{n} dead deliveries retried")),
        "flush_digests" => commands
            .flush_digests()
            .await
            .map(|n| format!("{n} held deliveries sent now")),
        "notify" if payload.len() > NOTIFY_MAX_BYTES => Err(anyhow::anyhow!(
            "a message over {NOTIFY_MAX_BYTES} bytes is not sent"
        )),
        "notify" if text.trim().is_empty() => Err(anyhow::anyhow!("an empty message is not sent")),
        "notify" => commands
            .notify(text.trim())
            .await
            .map(|_| "message sent through hookarr".to_owned()),
        _ => Err(anyhow::anyhow!("no such command")),
    };
    match done {
        Ok(what) => tracing::info!(message = "Home Assistant's command done.", command, %what),
        Err(error) => {
            tracing::warn!(message = "Home Assistant's command was not carried out.", command, %error)
        }
    }
    publish_hub_state(hub, commands).await;
}
