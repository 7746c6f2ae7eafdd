//! hookarr's one integration-test binary (one link, not twenty): modules by area.

mod binary;
mod config;
mod delivery;
mod edge_cases;
mod fixtures;
mod helpers;
mod media_servers;
mod receiver;
mod router;
mod store;
