//! Delivery (CONTRACT §5): routing events to destinations, the queue, sending, retries, rate limits.

mod backend;
pub mod engine;
pub mod group;
pub mod policy;
pub mod quiet;
pub mod route;
mod send;
mod story_routes;

pub use engine::{
    ConfigSource, ConfiguredDestination, Engine, Origin, WEBHOOK_ID_PREFIX, destination_of,
    targets, test_event,
};
pub use send::Sent;
