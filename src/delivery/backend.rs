//! hookarr's apalis `Backend`: the queue's claimer hands leased deliveries to apalis workers through it.

use super::engine::DeliveryJob;
use apalis::prelude::*;
use apalis_core::backend::BackendConfig;
use std::task::{Context, Poll};
use tokio::sync::mpsc;

/// An apalis [`Backend`] over the claimer's channel: the claimer leases due rows from `deliveries` in
/// batches; this hands them to apalis one at a time, and ends when the claimer stops.
pub struct ClaimBackend {
    pub(super) rx: mpsc::Receiver<DeliveryJob>,
}

impl Backend for ClaimBackend {
    type Task = Task<DeliveryJob>;
    type Error = std::io::Error;

    fn poll_ready(
        &mut self,
        _: &mut Context<'_>,
        _: &WorkerContext,
    ) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
        worker: &WorkerContext,
    ) -> Poll<Option<Result<Self::Task, Self::Error>>> {
        self.rx.poll_recv(cx).map(|job| match job {
            Some(j) => Some(Ok(Task::new(j))),
            None => {
                // The claimer has stopped and every claimed job was handed out: tell apalis to stop once the
                // running jobs finish (its shutdown waits for this signal).
                let _ = worker.stop();
                None
            }
        })
    }

    fn poll_close(
        &mut self,
        _: &mut Context<'_>,
        _: &WorkerContext,
    ) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }
}

impl BackendConfig for ClaimBackend {
    type Args = DeliveryJob;
    type Id = RandomId;
    type Kind = apalis_core::backend::finalize::Ephemeral;
    type Config = ();
    type Layer = Identity;

    fn config(&self) -> &Self::Config {
        &()
    }

    fn middleware(&mut self, _: &mut WorkerContext) -> Self::Layer {
        Identity::new()
    }
}
