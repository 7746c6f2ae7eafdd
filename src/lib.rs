//! hookarr: a webhook hub for the home media stack.
//!
//! Crate map (dependencies point one way: `api` → `inbound` → `storage` → `event`):

/// The admin page (`/admin`): server-rendered views, logged in with an API key.
pub mod admin;
/// HTTP routes (axum).
pub mod api;
/// Start-up and the run loop.
pub mod app;
/// The command line.
pub mod cli;
/// Configuration: typed structs, loading, interpolation, validation.
pub mod config;
/// A served connection's socket, and learning when its client went away.
pub mod connection;
/// Delivery: routing, the queue, sending, retries, rate limits.
pub mod delivery;
/// The normalized event model (CONTRACT §4). Depends on nothing else of ours.
pub mod event;
/// The live feed of routed events, for the SSE stream.
pub mod feed;
/// The fuzz targets' bodies, shared by `fuzz/` and the replay of its corpora.
#[doc(hidden)]
pub mod fuzzing;
/// App payloads → normalized events. Pure functions.
pub mod inbound;
/// The configuration in force: the file's and the stored, re-read and applied without a restart.
pub mod live_config;
/// Prometheus metrics.
pub mod metrics;
/// Home Assistant over MQTT: the broker link, discovery, sources' and players' state, the hub's controls.
pub mod mqtt;
/// What an operator does (preview, test send, replay, destination health), for the API and the CLI.
pub mod operations;
/// What hookarr sends: templates, target limits, signing.
pub mod outbound;
/// Playback sessions: the rule that derives pause/resume and suppresses duplicate starts.
pub mod playback;
/// Receiving one webhook: parse, then store durably.
pub mod receive;
/// Secrets at rest: what is stored of a destination, sealed with the data directory's key.
pub mod secret_box;
/// Generated secrets and constant-time checks.
pub mod secrets;
/// The HTTP listener: header deadline and connection cap in front of the routes.
pub mod server;
/// Inbound sources: built-in and configured, held in memory.
pub mod sources;
/// Durable storage: the `Store` trait, SQLite and PostgreSQL.
pub mod storage;
/// Each title's story across apps, and the events derived from it (CONTRACT §5.1).
pub mod stories;
/// Logging set-up, and errors logged once a minute.
pub mod telemetry;
