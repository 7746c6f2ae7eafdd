//! Home Assistant over MQTT (CONTRACT §6.1): the broker link (`link.rs`), the topics (`topics.rs`),
//! discovery (`discovery.rs`), what each source and player is said to be (`sources.rs`, `players.rs`), and the
//! announcer that keeps discovery and hookarr's own entities current and answers Home Assistant's commands
//! (`announcer.rs`). [`MqttHub`] is what the delivery engine calls: the Home Assistant destination's
//! deliveries become state messages here, so they go through the durable queue like any other.

mod announcer;
pub mod discovery;
pub mod link;
pub mod players;
pub mod sources;
pub mod topics;

pub use announcer::{Commands, run_announcer};
pub use link::{Link, LinkState, Message, PublishError};
pub use players::PlayerDoc;
pub use sources::SourceDoc;

use crate::config::Mqtt;
use crate::event::{Event, EventKind};
use crate::storage::{Store, StoreError};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use topics::Topics;

/// The name of the destination `mqtt:` makes for Home Assistant's state topics.
pub const HOME_ASSISTANT_DESTINATION: &str = "mqtt-home-assistant";

/// Players not heard of for this long are forgotten: their entities are removed from Home Assistant.
const FORGET_PLAYERS_AFTER_DAYS: i64 = 30;

/// What Home Assistant is told about: the sources hookarr heard from and the players it may publish.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    pub sources: Vec<SourceDoc>,
    pub players: Vec<PlayerDoc>,
}

/// What one delivery to Home Assistant published.
#[derive(Debug, Clone, PartialEq)]
pub struct Told {
    pub messages: usize,
    /// Why nothing was published, when nothing was.
    pub skipped: Option<&'static str>,
}

/// Why a delivery to Home Assistant did not happen.
#[derive(Debug, thiserror::Error)]
pub enum TellError {
    #[error(transparent)]
    Publish(#[from] PublishError),
    #[error("the database failed: {0}")]
    Store(#[from] StoreError),
}

/// The MQTT side of hookarr: the link, the topics, and what was announced.
pub struct MqttHub {
    pub link: Link,
    pub topics: Topics,
    store: Arc<dyn Store>,
    /// How long a publish waits for the broker's acknowledgement.
    timeout: Duration,
    /// The discovery configs published (a copy of `mqtt_announced`, read at the first announcement).
    announced: tokio::sync::Mutex<Option<BTreeMap<String, String>>>,
    /// One source's docs are changed by one delivery at a time.
    source_locks: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl MqttHub {
    /// Connects to the broker of `settings` (in the background; it reconnects until `stop`).
    pub fn start(
        settings: Mqtt,
        store: Arc<dyn Store>,
        timeout: Duration,
        stop: CancellationToken,
    ) -> MqttHub {
        let topics = Topics::new(&settings);
        MqttHub {
            link: Link::start(settings, stop),
            topics,
            store,
            timeout,
            announced: tokio::sync::Mutex::new(None),
            source_locks: std::sync::Mutex::default(),
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &Mqtt {
        &self.link.settings
    }

    /// Publishes messages, all at once (the broker keeps each topic's order), waiting for every
    /// acknowledgement.
    pub async fn publish_all(&self, messages: Vec<Message>) -> Result<usize, PublishError> {
        let n = messages.len();
        let sends = messages
            .into_iter()
            .map(|m| self.link.publish(m, self.timeout));
        for result in futures_util::future::join_all(sends).await {
            result?;
        }
        Ok(n)
    }

    /// Publishes one message of a `type: mqtt` destination.
    pub async fn publish(&self, message: Message) -> Result<(), PublishError> {
        self.link.publish(message, self.timeout).await
    }

    /// Tells Home Assistant what `event` changes: its source's state and event entity, its player's state,
    /// a source's connectivity. The source's and player's first event announces them first.
    pub async fn tell(&self, event: &Event) -> Result<Told, TellError> {
        if let Some(silence) = &event.data.silence {
            return self.tell_silence(event.event, &silence.source).await;
        }
        if event.source.app == "hookarr" {
            return Ok(skipped("hookarr's own events have no source device"));
        }
        if is_viewing(event.event)
            && !event
                .data
                .user
                .as_ref()
                .and_then(|u| u.name.as_deref())
                .is_some_and(|u| self.settings().publishes_player_of(u))
        {
            return Ok(skipped(
                "viewing of a user that mqtt.players does not name is not published",
            ));
        }
        let lock = self.source_lock(&event.source.name);
        let _held = lock.lock().await;
        let before = self.doc::<SourceDoc>("source", &event.source.name).await?;
        let new_source = before.is_none();
        let source = SourceDoc::after(before, event);
        // What automations wait on first (a player's state, the event's firing), the source's state after:
        // a broker that holds small packets (Nagle's algorithm, Mosquitto's default) sends the first at once.
        let mut messages = Vec::new();
        let mut player = None;
        if let Some(id) = players::player_id(event) {
            let before = self.doc::<PlayerDoc>("player", &id).await?;
            let new_player = before.is_none();
            if let Some((mut doc, send)) = PlayerDoc::after(before, event) {
                if send {
                    doc.published_at = Some(chrono::Utc::now());
                    messages.push(doc.message(&self.topics));
                }
                player = Some((doc, new_player));
            }
        }
        messages.extend(sources::firing(&self.topics, event));
        messages.extend(source.state_messages(&self.topics));
        // Saved before anything is announced: the announcer, reading them under the same lock as
        // `announce_for`, then never takes a new player or source for one that went away.
        let mut docs = vec![("source", source.name.as_str(), to_json(&source))];
        if let Some((doc, _)) = &player {
            docs.push(("player", doc.id.as_str(), to_json(doc)));
        }
        self.store.put_mqtt_docs(&docs).await?;
        let mut announce = Vec::new();
        if new_source {
            announce.push(source.clone());
        }
        if new_source || player.as_ref().is_some_and(|(_, new)| *new) {
            self.announce_for(&announce, player.as_ref().map(|(p, _)| p))
                .await?;
        }
        let n = self.publish_all(messages).await?;
        Ok(Told {
            messages: n,
            skipped: None,
        })
    }

    /// `hookarr.source_silent` / `source_back`: the source's connectivity.
    async fn tell_silence(&self, kind: EventKind, source: &str) -> Result<Told, TellError> {
        let lock = self.source_lock(source);
        let _held = lock.lock().await;
        let Some(mut doc) = self.doc::<SourceDoc>("source", source).await? else {
            return Ok(skipped("a source Home Assistant was not told of"));
        };
        doc.connected = kind != EventKind::SourceSilent;
        self.publish_all(vec![doc.connectivity(&self.topics)])
            .await?;
        self.put("source", source, &doc).await?;
        Ok(Told {
            messages: 1,
            skipped: None,
        })
    }

    /// Announces a new source's and player's entities now, before their first state.
    async fn announce_for(
        &self,
        new_sources: &[SourceDoc],
        player: Option<&PlayerDoc>,
    ) -> Result<(), TellError> {
        let inventory = Inventory {
            sources: new_sources.to_vec(),
            players: player.cloned().into_iter().collect(),
        };
        let mut wanted = discovery::configs(&self.topics, &inventory);
        // The hub's own are announced by the announcer.
        let hub = discovery::configs(&self.topics, &Inventory::default());
        wanted.retain(|topic, _| !hub.contains_key(topic));
        let mut announced = self.announced().await?;
        let changes: Vec<(String, String)> = wanted
            .into_iter()
            .map(|(topic, config)| (topic, config.to_string()))
            .filter(|(topic, text)| announced.get(topic) != Some(text))
            .collect();
        self.publish_configs(&changes, &mut announced).await
    }

    /// Announces everything wanted for `configured` sources, or only what changed; removes what is no longer
    /// wanted. Returns how many configs were published.
    pub async fn announce(
        &self,
        configured: &HashSet<String>,
        everything: bool,
    ) -> Result<usize, TellError> {
        // Under the lock, so that a delivery's new source or player is either read here or announced after.
        let mut announced = self.announced().await?;
        let inventory = self.inventory(configured).await?;
        let wanted = discovery::configs(&self.topics, &inventory);
        let changes = discovery::changes(&announced, &wanted, everything);
        self.publish_configs(&changes, &mut announced).await?;
        Ok(changes.len())
    }

    /// Publishes configs (retained; an empty one removes its entity) and records them.
    async fn publish_configs(
        &self,
        changes: &[(String, String)],
        announced: &mut tokio::sync::MappedMutexGuard<'_, BTreeMap<String, String>>,
    ) -> Result<(), TellError> {
        for chunk in changes.chunks(50) {
            let messages = chunk
                .iter()
                .map(|(topic, text)| Message::new(topic.clone(), text.clone(), true))
                .collect();
            self.publish_all(messages).await?;
            self.store.record_announced(chunk).await?;
            for (topic, text) in chunk {
                match text.is_empty() {
                    true => announced.remove(topic),
                    false => announced.insert(topic.clone(), text.clone()),
                };
            }
        }
        Ok(())
    }

    /// The retained state of every source and player, published again (a broker that kept nothing after
    /// its restart learns it back).
    pub async fn republish_states(&self, configured: &HashSet<String>) -> Result<usize, TellError> {
        let inventory = self.inventory(configured).await?;
        let mut messages: Vec<Message> = inventory
            .sources
            .iter()
            .flat_map(|s| s.state_messages(&self.topics))
            .collect();
        messages.extend(inventory.players.iter().map(|p| p.message(&self.topics)));
        let mut n = 0;
        for chunk in messages.chunks(50) {
            n += self.publish_all(chunk.to_vec()).await?;
        }
        Ok(n)
    }

    /// Refreshes playing and paused players that heard nothing for a while (and calls off those whose stop
    /// is overdue); forgets players silent for a month.
    pub async fn refresh_players(&self) -> Result<usize, TellError> {
        let now = chrono::Utc::now();
        let mut n = 0;
        for (id, text) in self.store.mqtt_docs("player").await? {
            let Ok(doc) = serde_json::from_str::<PlayerDoc>(&text) else {
                continue;
            };
            if (now - doc.event_at).num_days() >= FORGET_PLAYERS_AFTER_DAYS {
                self.store.delete_mqtt_doc("player", &id).await?;
                continue;
            }
            let named = doc
                .user
                .as_deref()
                .is_some_and(|u| self.settings().publishes_player_of(u));
            // Idle, off, or refreshed a moment ago: nothing to lock for.
            if !named || doc.refresh(now).is_none() {
                continue;
            }
            let lock = self.source_lock(&doc.source);
            let _held = lock.lock().await;
            // Read again under the lock: a delivery may have moved it meanwhile.
            let Some(current) = self.doc::<PlayerDoc>("player", &id).await? else {
                continue;
            };
            if let Some(mut fresh) = current.refresh(now) {
                fresh.published_at = Some(now);
                self.publish_all(vec![fresh.message(&self.topics)]).await?;
                self.put("player", &id, &fresh).await?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// The sources (still configured) and the players (of users still named) Home Assistant is told of.
    pub async fn inventory(&self, configured: &HashSet<String>) -> Result<Inventory, StoreError> {
        let sources = self
            .store
            .mqtt_docs("source")
            .await?
            .into_iter()
            .filter_map(|(_, text)| serde_json::from_str::<SourceDoc>(&text).ok())
            .filter(|s| configured.contains(&s.name))
            .collect();
        let players = self
            .store
            .mqtt_docs("player")
            .await?
            .into_iter()
            .filter_map(|(_, text)| serde_json::from_str::<PlayerDoc>(&text).ok())
            .filter(|p| configured.contains(&p.source))
            .filter(|p| {
                p.user
                    .as_deref()
                    .is_some_and(|u| self.settings().publishes_player_of(u))
            })
            .collect();
        Ok(Inventory { sources, players })
    }

    /// The discovery configs published so far (read from the database the first time).
    pub async fn announced(
        &self,
    ) -> Result<tokio::sync::MappedMutexGuard<'_, BTreeMap<String, String>>, StoreError> {
        let mut guard = self.announced.lock().await;
        if guard.is_none() {
            *guard = Some(self.store.announced().await?);
        }
        Ok(tokio::sync::MutexGuard::map(guard, |a| {
            a.as_mut().expect("read above")
        }))
    }

    fn source_lock(&self, source: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.source_locks
            .lock()
            .expect("source locks")
            .entry(source.to_owned())
            .or_default()
            .clone()
    }

    async fn doc<T: serde::de::DeserializeOwned>(
        &self,
        kind: &str,
        id: &str,
    ) -> Result<Option<T>, StoreError> {
        Ok(self
            .store
            .mqtt_doc(kind, id)
            .await?
            .and_then(|text| serde_json::from_str(&text).ok()))
    }

    async fn put<T: serde::Serialize>(
        &self,
        kind: &str,
        id: &str,
        doc: &T,
    ) -> Result<(), StoreError> {
        self.store.put_mqtt_docs(&[(kind, id, to_json(doc))]).await
    }
}

/// Events that tell what someone watches: published only for the users `mqtt.players` names.
fn is_viewing(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::PlaybackStart
            | EventKind::PlaybackPause
            | EventKind::PlaybackResume
            | EventKind::PlaybackStop
            | EventKind::PlaybackScrobble
            | EventKind::PlaybackProgress
            | EventKind::LibraryWatched
            | EventKind::LibraryUnwatched
            | EventKind::LibraryRated
    )
}

fn to_json<T: serde::Serialize>(doc: &T) -> String {
    serde_json::to_string(doc).expect("a doc serializes")
}

fn skipped(why: &'static str) -> Told {
    Told {
        messages: 0,
        skipped: Some(why),
    }
}
