//! Keeps the configuration in force current: twice a second it looks whether the stored configuration
//! changed (through this process or another sharing the database) and whether `hookarr.yaml` changed on
//! disk; a `SIGHUP` (which `serve` turns into [`LiveConfig::request_reload`]) re-reads the file at once.

use super::LiveConfig;
use crate::delivery::Engine;
use crate::storage::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often the store's generation and the file are looked at: a change made through another process is in
/// force here within a second.
const LOOK_EVERY: Duration = Duration::from_millis(500);

impl LiveConfig {
    /// Asks the watcher to re-read the file now (`SIGHUP`).
    pub fn request_reload(&self) {
        self.reload_requested.notify_one();
    }
}

/// Runs until `shutdown`: applies stored changes, and re-reads the file when asked or changed on disk.
pub async fn watch(
    live: Arc<LiveConfig>,
    engine: Arc<Engine>,
    store: Arc<dyn Store>,
    shutdown: CancellationToken,
) {
    let mut tick = tokio::time::interval(LOOK_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let asked = tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = live.reload_requested.notified() => true,
            _ = tick.tick() => false,
        };
        if asked || live.file_changed_on_disk() {
            let why = if asked {
                "asked (SIGHUP)"
            } else {
                "changed on disk"
            };
            tracing::info!(message = "Re-reading hookarr.yaml.", why);
            // The outcome is logged and kept for the dashboard by `reload_file`.
            let _ = live.reload_file(&engine, store.as_ref()).await;
            continue;
        }
        match live.stored_changed(store.as_ref()).await {
            Ok(false) => {}
            Ok(true) => {
                if let Err(error) = live.apply(&engine, store.as_ref()).await {
                    error.log("Putting the stored configuration in force failed; will retry.");
                }
            }
            Err(error) => error.log("Reading the stored configuration's generation failed."),
        }
    }
}
