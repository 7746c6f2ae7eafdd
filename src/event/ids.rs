//! Self-describing, time-sortable ids (`evt_01JD…`), after svix's `create_id_type!`.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Mutex;

/// One generator per process, so ids made in the same millisecond still sort in creation order.
static GENERATOR: Mutex<ulid::Generator> = Mutex::new(ulid::Generator::new());

/// A new id with the given prefix: `<prefix>_<ULID>`. ULIDs sort by creation time (monotonic within this
/// process; across processes, to the millisecond).
pub fn new_prefixed_id(prefix: &str) -> String {
    let ulid = GENERATOR
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .generate()
        .unwrap_or_else(|_| ulid::Ulid::new());
    format!("{prefix}_{ulid}")
}

/// The id of a stored event, `evt_<ulid>`.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(transparent)]
#[schema(value_type = String, pattern = "^evt_[0-9A-HJKMNP-TV-Z]{26}$")]
pub struct EventId(String);

impl EventId {
    /// A fresh id.
    pub fn new() -> Self {
        Self(new_prefixed_id("evt"))
    }

    /// Accepts only well-formed `evt_<ulid>` strings, so ids from URLs can be trusted as opaque keys.
    pub fn parse(s: &str) -> Option<Self> {
        let rest = s.strip_prefix("evt_")?;
        ulid::Ulid::from_string(rest).ok()?;
        Some(Self(s.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for EventId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_reject_garbage() {
        let id = EventId::new();
        assert!(id.as_str().starts_with("evt_"));
        assert_eq!(EventId::parse(id.as_str()), Some(id));
        assert_eq!(EventId::parse("evt_nope"), None);
        assert_eq!(EventId::parse("dst_01JD0000000000000000000000"), None);
    }
}
