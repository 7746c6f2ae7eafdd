//! Routing for stories (CONTRACT §5.1): the people a derived event names, each told at their destination,
//! and a story's message for each `story: true` destination that edits — what the storyteller queues.

use super::route::{RoutingTable, StoryMode};
use crate::event::{Event, new_prefixed_id};
use crate::storage::NewDelivery;

impl RoutingTable {
    /// The people a derived event names (its requester, the title's followers), each at their destination
    /// unless it has the event already.
    pub(super) fn tell_people(
        &self,
        event: &Event,
        enabled: &dyn Fn(&str) -> bool,
        now: chrono::DateTime<chrono::Utc>,
        out: &mut Vec<NewDelivery>,
    ) {
        let Some(story) = &event.data.story else {
            return;
        };
        for name in &story.tell {
            let Some(person) = self.people.iter().find(|p| &p.name == name) else {
                continue;
            };
            let known = self.rules.iter().any(|r| r.destination == person.notify);
            if !known {
                tracing::warn!(message = "A person's destination does not exist; they were not told.", person = %person.name, destination = %person.notify);
                continue;
            }
            if !enabled(&person.notify) || out.iter().any(|d| d.destination == person.notify) {
                continue;
            }
            out.push(NewDelivery {
                id: new_prefixed_id("dlv"),
                event_id: event.id.clone(),
                event: event.event.as_str().to_owned(),
                destination: person.notify.clone(),
                created_at: now,
                due_at: now,
                expires_at: None,
                group_key: None,
            });
        }
    }

    /// A story's message for each story destination that edits and shows this step (`told`: the step, or
    /// what it derived), one message per story and destination (group `story:<id>`).
    pub fn story_deliveries(
        &self,
        story: &crate::stories::Story,
        step: &Event,
        told: &Event,
        enabled: &dyn Fn(&str) -> bool,
    ) -> Vec<NewDelivery> {
        let now = chrono::Utc::now();
        self.rules
            .iter()
            .filter(|r| r.story == StoryMode::Edits && enabled(&r.destination))
            .filter(|r| r.wants_step(story, step) || r.wants_step(story, told))
            .map(|r| NewDelivery {
                id: new_prefixed_id("dlv"),
                event_id: told.id.clone(),
                event: told.event.as_str().to_owned(),
                destination: r.destination.clone(),
                created_at: now,
                due_at: now,
                expires_at: None,
                group_key: Some(format!("{}{}", crate::stories::STORY_PREFIX, story.id)),
            })
            .collect()
    }
}
