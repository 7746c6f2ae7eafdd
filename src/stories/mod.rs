//! Stories (CONTRACT §5.1): what every app says about one title — a film, an episode, a season, an album, a
//! book — joined into one timeline, requested → approved → grabbed → imported → in a media server's library →
//! played, from which hookarr derives what no single app can say: `media.available`, `media.upgraded`,
//! `media.stuck`, and a source's silence. Pure: the stored side is `storage::stories`, the loop that feeds it
//! the engine's `stories` room.
//!
//! Rooms: `titles` (which titles an event names, and their keys), `story` (one story and how an event moves
//! it), `join` (a batch of events joined into the stories they name, with what follows from it), `sweep` (stuck
//! stories and silent sources), `rhythm` (each source's usual gaps, and its silence), `card` (a story as a message shows it).

mod card;
mod join;
mod rhythm;
mod story;
mod sweep;
mod titles;

#[cfg(test)]
mod tests;

pub use card::{StoryCard, card_of};
pub use join::{Batch, Joiner, Sweep, TimelineRow, Writes, lookup_keys, story_named};
pub use rhythm::Rhythm;
pub use story::capitalized;
pub use story::{Stage, Story};
pub use titles::{Title, TitleKind, joins_stories, starts_stories, titles_of};

/// The version of the joining rules: a start with stories built by other rules rebuilds them from the
/// stored events (nothing is sent again).
pub const RULES_VERSION: i64 = 1;

/// The group key prefix of a story's message (`story:<id>`): its deliveries to a destination edit one message.
pub const STORY_PREFIX: &str = "story:";

/// Whether an event goes into the stories' queue as it is routed: every app's event (for each source's
/// rhythm) but progress reports, and hookarr's own story events (for the timeline).
pub fn queued(event: &crate::event::Event) -> bool {
    use crate::event::EventKind as K;
    match event.event {
        K::PlaybackProgress | K::DeliveryDead | K::DestinationDisabled | K::Test => false,
        kind => kind.is_derived() || event.source.app != "hookarr",
    }
}

/// Whether a story destination that edits its message gets `event` from its story (one message per title)
/// rather than from the router: the steps of a title's story.
pub fn told_by_story(event: &crate::event::Event) -> bool {
    use crate::event::EventKind as K;
    match event.event {
        K::MediaAvailable | K::MediaUpgraded | K::MediaStuck => true,
        K::RequestPending
        | K::RequestApproved
        | K::RequestDeclined
        | K::RequestAvailable
        | K::RequestFailed
        | K::DownloadGrabbed
        | K::DownloadFailed
        | K::ImportFailed
        | K::ImportBlocked
        | K::LibraryNew
        | K::LibraryUpgraded => !titles_of(event).is_empty(),
        _ => false,
    }
}
