//! hookarr's one integration-test binary (one link, not twenty): modules by area.

#[macro_use]
mod helpers;

mod admin;
mod admin_set_up;
mod answered_journal;
mod api;
mod backup_cli;
mod binary;
mod config;
mod config_reload;
mod config_transfer_cli;
mod container;
mod container_build;
mod data_dir;
mod delivery;
#[path = "../support/discord_like.rs"]
#[allow(dead_code)]
mod discord_like;
mod docs_examples;
mod edge_cases;
mod fixtures;
mod footprint;
mod fuzz_replay;
mod logs;
mod media_servers;
mod mock_attack;
mod more_sources;
mod mqtt;
mod receiver;
mod replay_cli;
mod router;
#[path = "../support/serve.rs"]
mod serve;
mod server_limits;
mod services;
mod storage_faults;
mod store;
mod stories;
mod templated_sources;
