//! The finisher: delivery results to the database in batches, the next batch on its way while the last
//! commits, so an answered send is recorded soon after its answer (every answered send not yet recorded is
//! sent again after a crash — unless the answered-sends journal noted it, `answered.rs`).

use super::Engine;
use super::answered::{AnsweredJournal, Slot};
use crate::storage::DeliveryResult;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// The most results written in one batch.
const BATCH: usize = 256;

/// The most batches being written at once, as many as the store has room for (a delivery has one result in
/// flight at a time, for it is claimed again only once that result is stored, so batches never race).
const WRITES_AT_ONCE: usize = crate::storage::RESULT_WRITES_AT_ONCE;

/// How many results of a written batch were noted in each journal file.
type Noted = [usize; 2];

impl Engine {
    pub(super) async fn finish_loop(
        self: Arc<Self>,
        mut rx: mpsc::UnboundedReceiver<DeliveryResult>,
    ) {
        let mut journal = self.answered.lock().expect("journal lock").take();
        let mut waiting: VecDeque<(DeliveryResult, Slot)> = VecDeque::new();
        let mut writing: JoinSet<Noted> = JoinSet::new();
        let mut open = true;
        loop {
            while writing.len() < WRITES_AT_ONCE && !waiting.is_empty() {
                let take = waiting.len().min(BATCH);
                let mut noted = [0; 2];
                let batch = waiting
                    .drain(..take)
                    .map(|(result, slot)| {
                        noted[slot] += 1;
                        result
                    })
                    .collect();
                writing.spawn(self.clone().write_results(batch, noted));
            }
            if !open && waiting.is_empty() && writing.is_empty() {
                break;
            }
            let mut heard = Vec::with_capacity(BATCH);
            tokio::select! {
                // Results are noted the moment they are heard of, whether or not a write can start.
                n = rx.recv_many(&mut heard, BATCH), if open => {
                    if n == 0 {
                        open = false;
                        continue;
                    }
                    let slot = journal.as_mut().map_or(0, |j| j.note(&heard));
                    waiting.extend(heard.into_iter().map(|result| (result, slot)));
                }
                Some(written) = writing.join_next(), if !writing.is_empty() => {
                    if let (Some(journal), Ok(noted)) = (journal.as_mut(), written) {
                        recorded(journal, noted);
                    }
                }
                // No more results can come: close the channel, then drain what is buffered.
                _ = self.workers_done.cancelled(), if !rx.is_closed() => rx.close(),
            }
        }
        if let Some(journal) = journal.as_mut() {
            journal.clear();
        }
    }

    /// Writes one batch, retrying a failed write: the results are not lost while the process lives (and if
    /// it dies, the journal has them or the leases expire and the deliveries are sent again).
    async fn write_results(self: Arc<Self>, batch: Vec<DeliveryResult>, noted: Noted) -> Noted {
        while let Err(error) = self.store.finish(&batch).await {
            error.log("Writing delivery results failed; retrying.");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let now = chrono::Utc::now();
        for result in &batch {
            let lag = (now - result.at).num_microseconds().unwrap_or(i64::MAX);
            crate::metrics::result_lag(lag.max(0) as f64 / 1e6);
        }
        noted
    }
}

fn recorded(journal: &mut AnsweredJournal, noted: Noted) {
    for (slot, count) in noted.into_iter().enumerate() {
        if count > 0 {
            journal.recorded(slot, count);
        }
    }
}
