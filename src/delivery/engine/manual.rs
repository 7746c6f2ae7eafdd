//! Running the queue by hand, for an engine whose loops were not started (tests, one-shot tools): route every
//! stored event and join it into its story, make one attempt at each delivery due now, write the results back, and repeat for what
//! those attempts made due at once (hookarr's own alerts, an immediate retry) — then return. No worker, no
//! poll interval, no sleep: when it returns, everything that was due has been tried and recorded.

use super::Engine;
use super::workers::by_message;
use crate::event::Event;
use crate::storage::StoreError;
use chrono::Utc;

/// The most deliveries claimed per round.
const ROUND: u32 = 256;

impl Engine {
    /// Runs every due delivery once, and whatever that makes due at once, until nothing is due; returns how
    /// many messages were attempted. Deliveries put off to later (a backoff, a pause, a held destination)
    /// stay pending. Panics when the engine's own loops run (they would race for the same rows).
    pub async fn run_pending(&self) -> Result<usize, StoreError> {
        let mut results = self
            .finish_rx
            .lock()
            .expect("finish lock")
            .take()
            .expect("run_pending is for an engine whose loops were not started");
        let outcome = self.run_rounds(&mut results).await;
        *self.finish_rx.lock().expect("finish lock") = Some(results);
        outcome
    }

    async fn run_rounds(
        &self,
        results: &mut tokio::sync::mpsc::UnboundedReceiver<crate::storage::DeliveryResult>,
    ) -> Result<usize, StoreError> {
        let mut attempted = 0;
        loop {
            let enabled = |name: &str| self.is_enabled(name);
            let routes = self.routes();
            let route = |e: &Event| {
                let mut destinations = routes.route(e, &enabled);
                self.hold_for_switch(&mut destinations);
                destinations
            };
            while self.store.route_outbox(500, &route).await? > 0 {}
            // Stories join what was routed (and queue their messages and derived events); what they derive
            // is routed at once.
            let mut joined = false;
            while self.join_stories().await? > 0 {
                joined = true;
            }
            if joined {
                while self.store.route_outbox(500, &route).await? > 0 {}
            }
            let now = Utc::now();
            let lease = now + chrono::Duration::from_std(self.lease).expect("small");
            let claimed = self.store.claim_due(&self.owner, now, lease, ROUND).await?;
            if claimed.is_empty() {
                return Ok(attempted);
            }
            for (delivery, members) in by_message(claimed) {
                self.attempt(delivery, members).await;
                attempted += 1;
            }
            let mut batch = Vec::new();
            while let Ok(result) = results.try_recv() {
                batch.push(result);
            }
            self.store.finish(&batch).await?;
        }
    }
}
