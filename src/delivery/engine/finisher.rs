//! The finisher: delivery results to the database in batches, the next batch on its way while the last
//! commits, so an answered send is recorded soon after its answer (every answered send not yet recorded is
//! sent again after a crash).

use super::Engine;
use crate::storage::DeliveryResult;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// The most results written in one batch.
const BATCH: usize = 256;

/// The most batches being written at once. Two keeps the store busy (one committing, the next queued
/// behind it — on SQLite in its single writer's queue) without racing batches of one delivery: a delivery
/// has one result in flight at a time, for it is claimed again only once that result is stored.
const WRITES_AT_ONCE: usize = 2;

impl Engine {
    pub(super) async fn finish_loop(
        self: Arc<Self>,
        mut rx: mpsc::UnboundedReceiver<DeliveryResult>,
    ) {
        let mut writing = JoinSet::new();
        loop {
            // Wait for a place first, so that what comes meanwhile joins the next batch.
            while writing.len() >= WRITES_AT_ONCE {
                writing.join_next().await;
            }
            let mut batch = Vec::with_capacity(BATCH);
            let received = tokio::select! {
                n = rx.recv_many(&mut batch, BATCH) => n,
                // No more results can come: close the channel, then drain what is buffered.
                _ = self.workers_done.cancelled(), if !rx.is_closed() => {
                    rx.close();
                    continue;
                }
            };
            if received == 0 {
                break;
            }
            writing.spawn(self.clone().write_results(batch));
        }
        while writing.join_next().await.is_some() {}
    }

    /// Writes one batch, retrying a failed write: the results are not lost while the process lives (and if
    /// it dies, the leases expire and the deliveries are sent again).
    async fn write_results(self: Arc<Self>, batch: Vec<DeliveryResult>) {
        while let Err(error) = self.store.finish(&batch).await {
            error.log("Writing delivery results failed; retrying.");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let now = chrono::Utc::now();
        for result in &batch {
            let lag = (now - result.at).num_microseconds().unwrap_or(i64::MAX);
            crate::metrics::result_lag(lag.max(0) as f64 / 1e6);
        }
    }
}
