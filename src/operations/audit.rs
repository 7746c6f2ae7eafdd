//! Writing the audit log, for the API and the command line alike: who (a user and their address, or the
//! command line), did what, to what and whose. Nothing written carries a key or a secret; a failure to write
//! is logged and does not undo the change, which has happened.

use crate::event::new_prefixed_id;
use crate::storage::{AuditEntry, Store};
use serde_json::Value;

/// What was changed: its kind (`webhook`, `key`, …), id, and whose it is.
pub struct Changed<'a> {
    pub kind: &'static str,
    pub id: &'a str,
    pub owner: Option<&'a str>,
}

/// Who changed it.
pub struct Actor {
    pub id: String,
    pub name: String,
    pub address: Option<std::net::IpAddr>,
}

impl Actor {
    /// Whoever runs a command at the shell: `command line (<login name>)`.
    pub fn command_line() -> Actor {
        let login = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| "unknown".into());
        Actor {
            id: "cli".into(),
            name: format!("command line ({login})"),
            address: None,
        }
    }
}

/// Records a change in the audit log.
pub async fn record(
    store: &dyn Store,
    actor: Actor,
    action: &str,
    target: Changed<'_>,
    detail: Value,
) {
    let entry = AuditEntry {
        id: new_prefixed_id("aud"),
        at: chrono::Utc::now(),
        actor_id: actor.id,
        actor_name: actor.name,
        action: action.to_owned(),
        target_kind: target.kind.to_owned(),
        target_id: target.id.to_owned(),
        owner_id: target.owner.map(str::to_owned),
        address: actor.address.map(|a| a.to_string()),
        detail,
    };
    if let Err(error) = store.record_audit(&entry).await {
        error.log("Writing the audit log failed.");
    }
}
