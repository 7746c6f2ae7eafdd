//! Threads whose opening message is being sent right now (a download's grab, claimed and on its way): an
//! edit of that thread (the import) that finds no message yet waits for it, rather than posting a second
//! message — a grab and its import arriving milliseconds apart, claimed by two workers at once, give one
//! edited message as they do seconds apart. Within one process; the wait is bounded.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// Each opening in flight by (destination, thread), with what turns `true` when it is over.
type InFlight = Arc<Mutex<HashMap<(String, String), (String, watch::Receiver<bool>)>>>;

/// The openings in flight.
#[derive(Default)]
pub(super) struct Openers {
    in_flight: InFlight,
}

/// An opening in flight: dropped when its delivery's attempt is over (sent, failed or put back), which
/// wakes the edits waiting for it.
pub(super) struct Opening {
    key: (String, String),
    done: watch::Sender<bool>,
    in_flight: InFlight,
}

impl Drop for Opening {
    fn drop(&mut self) {
        let mut in_flight = self.in_flight.lock().expect("openers lock");
        // Only this opening's entry: a later one of the same thread may have replaced it.
        if in_flight
            .get(&self.key)
            .is_some_and(|(_, r)| r.same_channel(&self.done.subscribe()))
        {
            in_flight.remove(&self.key);
        }
        let _ = self.done.send(true);
    }
}

impl Openers {
    /// Marks the opening of `thread` at `destination` by delivery `owner` as in flight until the returned
    /// guard is dropped.
    pub(super) fn opening(&self, destination: &str, thread: &str, owner: &str) -> Opening {
        let key = (destination.to_owned(), thread.to_owned());
        let (done, waiting) = watch::channel(false);
        self.in_flight
            .lock()
            .expect("openers lock")
            .insert(key.clone(), (owner.to_owned(), waiting));
        Opening {
            key,
            done,
            in_flight: self.in_flight.clone(),
        }
    }

    /// Whether the opening of `thread` at `destination` is in flight.
    pub(super) fn in_flight(&self, destination: &str, thread: &str) -> bool {
        self.in_flight
            .lock()
            .expect("openers lock")
            .contains_key(&(destination.to_owned(), thread.to_owned()))
    }

    /// Waits (up to `limit`) for the opening of `thread` at `destination` if one is in flight and it is not
    /// `asking`'s own; returns whether there was one.
    pub(super) async fn wait_for(
        &self,
        destination: &str,
        thread: &str,
        asking: &str,
        limit: Duration,
    ) -> bool {
        let key = (destination.to_owned(), thread.to_owned());
        let waiting = self
            .in_flight
            .lock()
            .expect("openers lock")
            .get(&key)
            .filter(|(owner, _)| owner != asking)
            .map(|(_, r)| r.clone());
        let Some(mut waiting) = waiting else {
            return false;
        };
        let _ = tokio::time::timeout(limit, waiting.wait_for(|done| *done)).await;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_edit_waits_for_the_opening_in_flight_and_only_for_it() {
        let openers = Arc::new(Openers::default());
        assert!(
            !openers
                .wait_for("discord", "dl-1", "dlv_b", Duration::from_secs(5))
                .await,
            "nothing in flight: no wait"
        );
        let opening = openers.opening("discord", "dl-1", "dlv_a");
        assert!(
            !openers
                .wait_for("discord", "dl-1", "dlv_a", Duration::from_secs(5))
                .await,
            "the opening never waits for itself"
        );
        let waiter = {
            let openers = openers.clone();
            tokio::spawn(async move {
                openers
                    .wait_for("discord", "dl-1", "dlv_b", Duration::from_secs(30))
                    .await
            })
        };
        tokio::task::yield_now().await;
        assert!(
            !waiter.is_finished(),
            "the edit waits while the opening is in flight"
        );
        assert!(
            !openers
                .wait_for("discord", "dl-2", "dlv_b", Duration::from_secs(5))
                .await,
            "another thread does not wait"
        );
        drop(opening);
        assert!(waiter.await.unwrap(), "woken when the opening is over");
        assert!(
            !openers
                .wait_for("discord", "dl-1", "dlv_b", Duration::from_secs(5))
                .await
        );
    }
}
