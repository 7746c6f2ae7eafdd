//! The normalized event names of CONTRACT §4.1.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

macro_rules! event_kinds {
    ($($variant:ident => $name:literal,)*) => {
        /// A normalized event name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum EventKind {
            $(#[doc = $name] $variant,)*
        }

        impl EventKind {
            /// Every event name, in contract order.
            pub const ALL: &'static [EventKind] = &[$(EventKind::$variant,)*];

            /// The dotted name (`library.new`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(EventKind::$variant => $name,)*
                }
            }

            /// Parses a dotted name; `None` for names the contract does not define.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($name => Some(EventKind::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

event_kinds! {
    Test => "test",
    DownloadGrabbed => "download.grabbed",
    DownloadFailed => "download.failed",
    ImportFailed => "import.failed",
    ImportBlocked => "import.blocked",
    LibraryNew => "library.new",
    LibraryUpgraded => "library.upgraded",
    LibraryUpdated => "library.updated",
    LibraryDeleted => "library.deleted",
    LibraryMonitored => "library.monitored",
    LibraryRated => "library.rated",
    LibraryWatched => "library.watched",
    LibraryUnwatched => "library.unwatched",
    HealthIssue => "health.issue",
    HealthRestored => "health.restored",
    AppUpdated => "app.updated",
    PlaybackStart => "playback.start",
    PlaybackPause => "playback.pause",
    PlaybackResume => "playback.resume",
    PlaybackStop => "playback.stop",
    PlaybackScrobble => "playback.scrobble",
    PlaybackProgress => "playback.progress",
    UserCreated => "user.created",
    UserAuthenticated => "user.authenticated",
    UserAuthenticationFailed => "user.authentication_failed",
    SessionCreated => "session.created",
    RequestPending => "request.pending",
    RequestApproved => "request.approved",
    RequestDeclined => "request.declined",
    RequestAvailable => "request.available",
    RequestFailed => "request.failed",
    IssueCreated => "issue.created",
    IssueCommented => "issue.commented",
    IssueResolved => "issue.resolved",
    IssueReopened => "issue.reopened",
    Other => "other",
    DeliveryDead => "hookarr.delivery_dead",
    DestinationDisabled => "hookarr.destination_disabled",
    MediaAvailable => "media.available",
    MediaUpgraded => "media.upgraded",
    MediaStuck => "media.stuck",
    SourceSilent => "hookarr.source_silent",
    SourceBack => "hookarr.source_back",
}

impl EventKind {
    /// The events hookarr derives from titles' stories and sources' rhythms (CONTRACT §5.1).
    pub fn is_derived(self) -> bool {
        matches!(
            self,
            EventKind::MediaAvailable
                | EventKind::MediaUpgraded
                | EventKind::MediaStuck
                | EventKind::SourceSilent
                | EventKind::SourceBack
        )
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for EventKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        EventKind::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown event name `{s}`")))
    }
}

/// In the API's schema: a string, one of the contract's names.
impl utoipa::PartialSchema for EventKind {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(EventKind::ALL.iter().map(|k| k.as_str())))
            .description(Some("A normalized event name (CONTRACT §4.1)"))
            .into()
    }
}

impl utoipa::ToSchema for EventKind {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_round_trips() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(*kind));
        }
        assert_eq!(EventKind::parse("library.nope"), None);
    }
}
