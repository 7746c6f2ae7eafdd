//! The dashboard's MQTT card (admins): the broker link's state — connected since when, or the problem in words
//! — and what Home Assistant was told: each device announced with its number of entities.

use super::iso;
use crate::api::{ApiError, AppState};
use std::collections::BTreeMap;

/// The link and what was announced.
pub struct BrokerCard {
    pub broker: String,
    pub connected: bool,
    pub since: String,
    pub problem: Option<String>,
    /// Discovery configs published and still wanted.
    pub configs: usize,
    pub devices: Vec<AnnouncedDevice>,
}

/// One device Home Assistant was told of.
pub struct AnnouncedDevice {
    pub name: String,
    pub entities: usize,
}

/// The card, when `mqtt:` is set and the link started.
pub async fn card(state: &AppState) -> Result<Option<BrokerCard>, ApiError> {
    let Some(hub) = state.engine.mqtt() else {
        return Ok(None);
    };
    let link = hub.link.state();
    let announced = hub.announced().await?;
    let mut devices: BTreeMap<String, usize> = BTreeMap::new();
    for config in announced.values() {
        let Ok(config) = serde_json::from_str::<serde_json::Value>(config) else {
            continue;
        };
        if let Some(name) = config["device"]["name"].as_str() {
            *devices.entry(name.to_owned()).or_default() += 1;
        }
    }
    Ok(Some(BrokerCard {
        broker: link.broker,
        connected: link.connected,
        since: iso(&link.since),
        problem: link.problem,
        configs: announced.len(),
        devices: devices
            .into_iter()
            .map(|(name, entities)| AnnouncedDevice { name, entities })
            .collect(),
    }))
}
