//! Which of hookarr's own alerts (`hookarr.delivery_dead`, `hookarr.destination_disabled`) a user may see:
//! an admin all of them, a user only those about their own webhooks — never the config's destinations, nor
//! another user's webhooks. The event list, one event ([`super::events`]) and the event stream all ask here.

use crate::event::Event;
use crate::storage::Store;
use std::collections::HashMap;

/// What one viewer may see of the alerts, with what was judged kept (a stream or a page asks often).
pub struct Alerts {
    /// The user, when not an admin.
    viewer: Option<String>,
    judged: HashMap<String, bool>,
}

impl Alerts {
    pub fn for_viewer(user: Option<&str>) -> Alerts {
        Alerts {
            viewer: user.map(str::to_owned),
            judged: HashMap::new(),
        }
    }

    pub async fn may_see(&mut self, store: &dyn Store, event: &Event) -> bool {
        let Some(viewer) = &self.viewer else {
            return true;
        };
        if !event.event.as_str().starts_with("hookarr.") {
            return true;
        }
        let Some(alert) = &event.data.alert else {
            return false;
        };
        // A config destination is nobody's but the admin's.
        if !alert
            .destination
            .starts_with(crate::delivery::WEBHOOK_ID_PREFIX)
        {
            return false;
        }
        if let Some(seen) = self.judged.get(&alert.destination) {
            return *seen;
        }
        let theirs = match store.get_webhook(&alert.destination).await {
            Ok(Some(w)) => &w.user_id == viewer,
            // Gone: not theirs.
            Ok(None) => false,
            Err(error) => {
                error.log("Reading a webhook's owner for an event stream failed.");
                return false;
            }
        };
        self.judged.insert(alert.destination.clone(), theirs);
        theirs
    }
}

/// Keeps, of a page of events, those `viewer` may see (`None`: an admin, all).
pub async fn visible(store: &dyn Store, viewer: Option<&str>, events: Vec<Event>) -> Vec<Event> {
    let mut alerts = Alerts::for_viewer(viewer);
    let mut kept = Vec::with_capacity(events.len());
    for event in events {
        if alerts.may_see(store, &event).await {
            kept.push(event);
        }
    }
    kept
}
