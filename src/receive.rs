//! Receiving one webhook: parse it as its source's app would send it, then store the event, its raw body and
//! its outbox marker in one transaction, or keep the body in the rejected log when it cannot be parsed.
//! Called by the HTTP handler after authentication; knows nothing of HTTP itself.

use crate::delivery::engine::Engine;
use crate::event::{EventId, EventKind, new_prefixed_id};
use crate::inbound::{self, InboundError, ParseContext};
use crate::playback::Outcome;
use crate::sources::Source;
use crate::storage::{DedupeKey, Ingest, IngestOutcome, RawRequest, Rejected, Store, StoreError};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// An authenticated request's parts.
#[derive(Debug, Clone)]
pub struct InboundRequest {
    pub user_agent: Option<String>,
    pub idempotency_key: Option<String>,
    /// What is kept: the app's JSON (taken out of its form, if it came in one), or the body as received.
    pub raw: RawRequest,
    /// Why the body could not be taken out of its form (it is then kept in the rejected log as it came).
    pub unreadable: Option<InboundError>,
    pub received_at: DateTime<Utc>,
}

/// What was done with a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub events: Vec<EventId>,
    /// A repeat within the dedupe window: nothing new was stored.
    pub duplicate: bool,
    /// Routed as it was stored (its deliveries are on their way): the router has nothing to do for it.
    pub routed: bool,
}

/// Why a request was not stored as an event.
#[derive(Debug, thiserror::Error)]
pub enum ReceiveError {
    /// The body could not be parsed; it was kept in the rejected log.
    #[error(transparent)]
    Unparseable(InboundError),
    /// Storage failed; nothing was stored, the sender should retry.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Parses and stores one request. Returns only once the event is committed. With the engine of a process
/// that delivers, the event may be routed as it is stored and its deliveries handed straight to the
/// workers (`delivery::engine::at_ingest`).
#[tracing::instrument(name = "receive", skip_all, fields(source = %source.name, app = %source.app))]
pub async fn receive(
    store: &dyn Store,
    engine: Option<&Arc<Engine>>,
    source: &Source,
    dedupe_window_secs: u64,
    mut request: InboundRequest,
) -> Result<Received, ReceiveError> {
    let ctx = ParseContext {
        source: &source.name,
        app: source.app,
        user_agent: request.user_agent.as_deref(),
        received_at: request.received_at,
    };
    let window_ms = i64::try_from(dedupe_window_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    let parsed = match request.unreadable.take() {
        Some(error) => Err(error),
        None => inbound::parse(&ctx, &request.raw.body),
    };
    let parsed = match parsed {
        Ok(parsed) => parsed,
        Err(error) => {
            tracing::warn!(message = "Rejected an unparseable body; it is kept in the rejected log.", source = %source.name, app = %source.app, %error);
            store
                .insert_rejected(Rejected {
                    id: new_prefixed_id("rej"),
                    source: source.name.clone(),
                    received_at: request.received_at,
                    reason: error.to_string(),
                    raw: request.raw,
                })
                .await?;
            return Err(ReceiveError::Unparseable(error));
        }
    };
    let mut event = parsed.event;
    // Media-server playback: the session state decides the event's name, or that it only repeats one.
    if let Some(signal) = &parsed.playback {
        match store
            .playback_transition(
                &source.name,
                signal,
                &event.id,
                request.received_at,
                window_ms,
            )
            .await?
        {
            Outcome::Emit(kind, _) => event.rename(kind),
            Outcome::Duplicate(first) => {
                tracing::debug!(message = "Repeat of a playback event of the same session; nothing stored.", source = %source.name, first = %first);
                return Ok(Received {
                    events: vec![first],
                    duplicate: true,
                    routed: false,
                });
            }
        }
    }
    // The Test button must always get through, so `test` is never de-duplicated. A playback notification
    // was just judged by its session, which knows a repeat from a new report that happens to have the same
    // bytes (Plex bodies carry no time: pause, resume, pause at one position); only an Idempotency-Key
    // still applies to it.
    let judged = parsed.playback.is_some() && request.idempotency_key.is_none();
    let dedupe =
        (dedupe_window_secs > 0 && event.event != EventKind::Test && !judged).then(|| DedupeKey {
            key: match &request.idempotency_key {
                // Keys are the sender's choice; long ones are stored by their hash.
                Some(k) if k.len() <= 128 => format!("idem:{k}"),
                Some(k) => format!("idem-sha256:{}", hex::encode(Sha256::digest(k.as_bytes()))),
                None => format!("body:{}", hex::encode(Sha256::digest(&request.raw.body))),
            },
            window_ms,
        });
    let (event_id, kind) = (event.id.clone(), event.event);
    let (routed_rows, routed) = match engine {
        Some(engine) => engine.route_at_ingest(&event).await.unzip(),
        None => (None, None),
    };
    let outcome = store
        .ingest(Ingest {
            event,
            raw: request.raw,
            dedupe,
            routed: routed_rows,
        })
        .await?;
    // Its leased deliveries go to the workers once stored; a duplicate's (never stored) are let go.
    let routed = match (&outcome, engine, routed) {
        (IngestOutcome::Stored(_), Some(engine), Some(routed)) => {
            engine.routed_event_stored(routed);
            true
        }
        _ => false,
    };
    match &outcome {
        IngestOutcome::Stored(_) => {
            crate::metrics::event_received(&source.name, kind.as_str());
            tracing::debug!(message = "Stored event.", source = %source.name, event = %kind, id = %event_id)
        }
        IngestOutcome::Duplicate(first) => {
            tracing::debug!(message = "Repeat within the dedupe window; nothing stored.", source = %source.name, first = ?first)
        }
    }
    Ok(match outcome {
        IngestOutcome::Stored(events) => Received {
            events,
            duplicate: false,
            routed,
        },
        IngestOutcome::Duplicate(events) => Received {
            events,
            duplicate: true,
            routed: false,
        },
    })
}

/// Parses a body as `source` would, storing nothing (template previews, `hookarr render`).
pub fn parse_preview(source: &Source, body: &[u8]) -> Result<crate::event::Event, String> {
    let ctx = ParseContext {
        source: &source.name,
        app: source.app,
        user_agent: None,
        received_at: Utc::now(),
    };
    inbound::parse(&ctx, body)
        .map(|p| p.event)
        .map_err(|e| e.to_string())
}
