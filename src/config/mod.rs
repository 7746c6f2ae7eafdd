//! Configuration (CONTRACT §2): typed structs with their defaults, loaded from YAML with `${VAR}`
//! interpolation and `HOOKARR_<SECTION>__<KEY>` overrides, then validated with every problem reported at once.

pub(crate) mod apprise;
mod destination;
mod durations;
mod filter;
mod interpolate;
mod load;
mod mqtt;
mod one_destination;
mod paths;
mod stories;
mod targets;
mod types;
mod validate;

pub use apprise::short_form_type;
pub use destination::*;
pub use durations::parse_duration;
pub use filter::{Condition, FilterOp};
pub use interpolate::interpolate;
pub use load::{ConfigProblems, Loaded, load, load_from_str};
pub use mqtt::{Mqtt, home_assistant_destination, valid_topic_prefix};
pub use one_destination::{ReadDestination, read_destination};
pub use paths::{DataDir, resolve_sqlite_url};
pub use stories::{Person, Stories, StuckAfter};
pub use targets::{MAX_URL_BYTES, is_private_host};
pub use types::*;
pub use validate::{MAX_BATCH_EVENTS, Problem, check_batch, parse_cidr, valid_name, validate};
