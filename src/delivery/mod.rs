//! Delivery (CONTRACT §5): routing events to destinations, the queue, sending, retries, rate limits.

pub mod engine;
pub mod group;
pub mod policy;
pub mod quiet;
pub mod route;

pub use engine::{Engine, Sent, http_client, send, targets, test_event};
