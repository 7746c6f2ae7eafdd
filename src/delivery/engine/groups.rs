//! Grouped deliveries (season packs, quiet-hours digests): the rest of a group is leased with its first
//! delivery, and each member ends as the group's one message ended.

use super::Engine;
use crate::storage::{AttemptOutcome, Claimed, DeliveryResult};
use chrono::Utc;

impl Engine {
    /// Leases the rest of a delivery's group, at most `room` of them.
    pub(super) async fn claim_members(&self, c: &Claimed, key: &str, room: usize) -> Vec<Claimed> {
        if room == 0 {
            return Vec::new();
        }
        let now = Utc::now();
        let lease = now + chrono::Duration::from_std(self.lease).expect("small");
        match self
            .store
            .claim_group(
                &c.destination,
                key,
                &c.id,
                &self.owner,
                now,
                lease,
                room as u64,
            )
            .await
        {
            Ok(members) => members,
            Err(error) => {
                // Not fatal: the others will go out as their own messages.
                error.log("Claiming a delivery group failed.");
                Vec::new()
            }
        }
    }

    /// Ends each group member as its group's message ended, its log naming the delivery that carried it.
    pub(super) fn finish_members(
        &self,
        members: &[Claimed],
        primary: &DeliveryResult,
        attempts_before: u32,
    ) {
        let primary_id = &primary.id;
        for m in members {
            let mut f = primary.clone();
            f.id = m.id.clone();
            f.attempts = m.attempts + (primary.attempts - attempts_before);
            f.logged = primary
                .logged
                .last()
                .map(|a| {
                    let mut a = a.clone();
                    a.attempt = f.attempts;
                    a.outcome = AttemptOutcome::Grouped(Box::new(a.outcome));
                    a.error = Some(format!(
                        "sent in one message with {primary_id}{}",
                        a.error.map(|e| format!(": {e}")).unwrap_or_default()
                    ));
                    a
                })
                .into_iter()
                .collect();
            self.finish(f);
        }
    }
}
