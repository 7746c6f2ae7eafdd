//! What Home Assistant is told of each source (pure): its last event, its open health issues, whether it is
//! heard from, and the firing of its event entity and device trigger — folded from its events into a
//! [`SourceDoc`] kept in the database, and the messages each event gives.

use super::link::Message;
use super::topics::Topics;
use crate::event::{Event, EventKind};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// What hookarr knows of a source for Home Assistant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceDoc {
    pub name: String,
    pub app: String,
    /// The app's own name for itself (`Radarr 4K`), when it says.
    pub instance: Option<String>,
    pub version: Option<String>,
    pub last_event_at: DateTime<Utc>,
    pub last_event: String,
    pub summary: String,
    /// Open health issues, oldest first.
    pub health: Vec<HealthIssue>,
    /// Heard from (`false` once hookarr said it went silent).
    pub connected: bool,
}

/// One open health issue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthIssue {
    /// The app's name for the check (`IndexerStatusCheck`), else its message.
    pub check: String,
    pub level: Option<String>,
    pub message: Option<String>,
    pub wiki_url: Option<String>,
    pub since: DateTime<Utc>,
}

impl SourceDoc {
    /// The device's name: the app's own name for itself, else the source's.
    pub fn display_name(&self) -> String {
        self.instance
            .clone()
            .filter(|i| !i.trim().is_empty())
            .unwrap_or_else(|| crate::stories::capitalized(&self.name))
    }

    /// The doc after `event` of this source (`None`: the source is new).
    pub fn after(doc: Option<SourceDoc>, event: &Event) -> SourceDoc {
        let mut d = doc.unwrap_or_else(|| SourceDoc {
            name: event.source.name.clone(),
            app: event.source.app.clone(),
            instance: None,
            version: None,
            last_event_at: event.timestamp,
            last_event: String::new(),
            summary: String::new(),
            health: Vec::new(),
            connected: true,
        });
        d.app = event.source.app.clone();
        if event.source.instance.is_some() {
            d.instance = event.source.instance.clone();
        }
        if event.source.version.is_some() {
            d.version = event.source.version.clone();
        }
        if event.timestamp >= d.last_event_at || d.last_event.is_empty() {
            d.last_event_at = event.timestamp;
            d.last_event = event.event.as_str().to_owned();
            d.summary = event.summary.clone();
        }
        d.connected = true;
        if let Some(h) = &event.data.health {
            let check = h
                .check
                .clone()
                .or_else(|| h.message.clone())
                .unwrap_or_else(|| "health".into());
            match event.event {
                EventKind::HealthIssue => {
                    let since = d
                        .health
                        .iter()
                        .find(|i| i.check == check)
                        .map_or(event.timestamp, |i| i.since);
                    d.health.retain(|i| i.check != check);
                    d.health.push(HealthIssue {
                        check,
                        level: h.level.clone(),
                        message: h.message.clone(),
                        wiki_url: h.wiki_url.clone(),
                        since,
                    });
                }
                EventKind::HealthRestored => d.health.retain(|i| i.check != check),
                _ => {}
            }
        }
        d
    }

    /// The retained state topics of the source: last event, health, connectivity.
    pub fn state_messages(&self, t: &Topics) -> Vec<Message> {
        let state = json!({
            "at": self.last_event_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "event": self.last_event,
            "summary": self.summary,
            "app": self.app,
            "version": self.version,
        });
        let health = json!({
            "count": self.health.len(),
            "issues": self.health,
        });
        vec![
            Message::new(t.source(&self.name, "state"), state.to_string(), true),
            Message::new(t.source(&self.name, "health"), health.to_string(), true),
            self.connectivity(t),
        ]
    }

    /// Connectivity alone (hookarr's silence watch changes only it).
    pub fn connectivity(&self, t: &Topics) -> Message {
        let on = match self.connected {
            true => "ON",
            false => "OFF",
        };
        Message::new(t.source(&self.name, "connectivity"), on, true)
    }
}

/// The event entity's firing and the device trigger of `event` (neither retained: each is a moment).
pub fn firing(t: &Topics, event: &Event) -> Vec<Message> {
    let ty = super::discovery::event_type(&event.source.app, event.event);
    let media = event.data.media.as_ref();
    let payload = json!({
        "event_type": ty,
        "event": event.event.as_str(),
        "summary": event.summary,
        "title": media.and_then(|m| m.title.clone()),
        "year": media.and_then(|m| m.year),
        "season": media.and_then(|m| m.season),
        "episodes": media.map(|m| m.episodes.iter().filter_map(|e| e.episode).collect::<Vec<_>>()),
        "quality": event.data.release.as_ref().and_then(|r| r.quality.clone()),
        "user": event.data.user.as_ref().and_then(|u| u.name.clone()),
        "event_id": event.id.as_str(),
    })
    .to_string();
    let name = &event.source.name;
    vec![
        Message::new(t.source(name, "event"), payload.clone(), false),
        Message::new(t.source(name, &format!("trigger/{ty}")), payload, false),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{EventData, Health, SourceInfo};

    fn health(kind: EventKind, check: &str, at: i64) -> Event {
        let mut e = Event::new(
            kind,
            DateTime::from_timestamp(at, 0).unwrap(),
            SourceInfo {
                name: "sonarr".into(),
                app: "sonarr".into(),
                instance: Some("Sonarr".into()),
                ..SourceInfo::default()
            },
            EventData {
                health: Some(Health {
                    check: Some(check.into()),
                    level: Some("warning".into()),
                    message: Some(format!("{check} failing")),
                    ..Health::default()
                }),
                ..EventData::default()
            },
        );
        e.summary = check.to_owned();
        e
    }

    #[test]
    fn health_issues_open_and_close_by_their_check() {
        let d = SourceDoc::after(None, &health(EventKind::HealthIssue, "IndexerCheck", 10));
        let d = SourceDoc::after(Some(d), &health(EventKind::HealthIssue, "DiskCheck", 20));
        let d = SourceDoc::after(Some(d), &health(EventKind::HealthIssue, "IndexerCheck", 30));
        assert_eq!(d.health.len(), 2);
        let indexer = d.health.iter().find(|i| i.check == "IndexerCheck").unwrap();
        assert_eq!(
            indexer.since.timestamp(),
            10,
            "a repeat keeps when it opened"
        );
        let d = SourceDoc::after(
            Some(d),
            &health(EventKind::HealthRestored, "IndexerCheck", 40),
        );
        assert_eq!(
            d.health.iter().map(|i| &i.check).collect::<Vec<_>>(),
            ["DiskCheck"]
        );
        assert_eq!(d.display_name(), "Sonarr");
        assert_eq!(d.last_event_at.timestamp(), 40);
    }

    #[test]
    fn an_older_event_does_not_replace_the_last_one() {
        let d = SourceDoc::after(None, &health(EventKind::HealthIssue, "A", 50));
        let d = SourceDoc::after(Some(d), &health(EventKind::HealthIssue, "B", 20));
        assert_eq!(d.last_event_at.timestamp(), 50);
        assert_eq!(d.summary, "A");
    }
}
