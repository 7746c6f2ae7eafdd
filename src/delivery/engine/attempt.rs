//! One attempt at one delivery: the checks that hold it back (expired, disabled, paused, rate-limited), the
//! render, the send (with the message edit and the plain-text fallback), and the verdict written back as one
//! result with its attempt log.

use super::{Dest, Engine, SHORT_WAIT};
use crate::delivery::policy::{self, Verdict};
use crate::delivery::send::{Sent, send};
use crate::event::{Event, EventKind};
use crate::outbound;
use crate::storage::{AttemptRow, Claimed, DeliveryStatus, Finish};
use chrono::{DateTime, Utc};
use governor::clock::Clock as _;
use std::time::Instant;

impl Engine {
    /// One attempt at one claimed delivery (with the members of its group claimed in the same batch), start
    /// to finish.
    pub(super) async fn attempt(&self, c: Claimed, mut members: Vec<Claimed>) {
        let now = Utc::now();
        let mut finish = Finish::pending(&c.id, &c.destination, c.attempts, now);
        let Some(dest) = self.dests.get(&c.destination) else {
            let reason = format!("destination `{}` is no longer configured", c.destination);
            return self.end_unsent(finish, &members, DeliveryStatus::Failed, "failed", reason);
        };
        if c.expires_at.is_some_and(|t| t <= now) {
            let reason = "expired before it could be delivered (expire_after)".to_owned();
            return self.end_unsent(finish, &members, DeliveryStatus::Expired, "expired", reason);
        }
        if let Some(reason) = self
            .runtime
            .lock()
            .expect("runtime lock")
            .disabled
            .get(&c.destination)
            .cloned()
        {
            // Held, not dropped: re-enabling the destination makes it due again.
            finish.next_attempt_at = Some(now + chrono::Duration::minutes(5));
            finish.last_error = Some(format!("destination disabled: {reason}"));
            return self.settle(finish, &members, c.attempts);
        }
        if let Some(until) = self.pause_until(&c.destination, dest.target.kind, now) {
            finish.next_attempt_at = Some(until);
            return self.settle(finish, &members, c.attempts);
        }
        if let Err(not_until) = dest.limiter.check() {
            let wait = not_until.wait_time_from(governor::clock::DefaultClock::default().now());
            if wait > SHORT_WAIT {
                finish.next_attempt_at =
                    Some(now + chrono::Duration::from_std(wait).unwrap_or_default());
                return self.settle(finish, &members, c.attempts);
            }
            tokio::time::sleep(wait).await;
        }
        // A season pack: the other pending deliveries of the group go out in this one message.
        if let Some(key) = c.group_key.as_deref() {
            members.extend(self.claim_members(&c, key).await);
        }
        let member_events: Vec<Event> = members.iter().map(|m| m.event.clone()).collect();
        let digest = !members.is_empty()
            && c.group_key
                .as_deref()
                .is_some_and(|k| k.starts_with(crate::delivery::group::DIGEST_PREFIX));
        // A single event is shown as it is (no copy); a group as its merged event or digest.
        let shown: std::borrow::Cow<'_, Event> = if members.is_empty() {
            std::borrow::Cow::Borrowed(&c.event)
        } else if digest {
            std::borrow::Cow::Owned(crate::delivery::group::digest(&c.event, &member_events))
        } else {
            std::borrow::Cow::Owned(crate::delivery::group::merge(&c.event, &member_events))
        };
        let group: Vec<Event> = if members.is_empty() {
            Vec::new()
        } else {
            std::iter::once(c.event.clone())
                .chain(member_events)
                .collect()
        };
        let payload = match outbound::render_group_payload(
            &self.templates,
            &dest.target,
            &shown,
            &group,
            digest,
        ) {
            Ok(p) => p,
            Err(e) => {
                let reason = e.to_string();
                return self.end_unsent(
                    finish,
                    &members,
                    DeliveryStatus::Failed,
                    "render_failed",
                    reason,
                );
            }
        };
        // Message lifecycle: the import of a download edits the Discord message its grab posted.
        let download_id = shown.data.download.as_ref().and_then(|d| d.id.clone());
        let edit_of = match &download_id {
            Some(download)
                if !digest
                    && self.edits(dest, &shown, &[EventKind::LibraryNew, EventKind::LibraryUpgraded]) =>
            {
                self.store.message_for(&c.destination, download).await.unwrap_or_else(|error| {
                    tracing::warn!(message = "Reading a Discord message id failed; posting instead.", %error);
                    None
                })
            }
            _ => None,
        };
        let mut sent = self
            .send_payload(dest, &c.event, &c.id, &payload, edit_of.as_deref())
            .await;
        finish.attempts += 1;
        let mut record = sent.record(finish.attempts);
        // The message to edit is gone (deleted in Discord): post a new one. Not a reason to disable.
        if edit_of.is_some() && sent.status == Some(404) {
            record.outcome = "edit_missing".into();
            finish.logged.push(record);
            sent = self
                .send_payload(dest, &c.event, &c.id, &payload, None)
                .await;
            finish.attempts += 1;
            record = sent.record(finish.attempts);
        }
        // A chat target that rejects the rich message gets the plain summary once (CONTRACT §5 fallback).
        if sent.status == Some(400)
            && let Some(plain) = outbound::fallback_payload(dest.target.kind, &shown)
        {
            record.outcome = "rejected_rich".into();
            finish.logged.push(record);
            sent = self.send_payload(dest, &c.event, &c.id, &plain, None).await;
            finish.attempts += 1;
            record = sent.record(finish.attempts);
        }
        finish.last_status = sent.status;
        finish.at = Utc::now();
        let verdict = sent.verdict(dest.target.kind, finish.at);
        self.after_headers(&c.destination, dest.target.kind, &sent, finish.at)
            .await;
        match verdict {
            Verdict::Success => {
                record.outcome = "succeeded".into();
                finish.status = DeliveryStatus::Succeeded;
                // The grab's message id, for the import to edit.
                if let Some(download) = &download_id
                    && edit_of.is_none()
                    && !digest
                    && self.edits(dest, &shown, &[EventKind::DownloadGrabbed])
                {
                    self.remember_message(&c.destination, download, &sent, finish.at)
                        .await;
                }
            }
            Verdict::Retry { after } => {
                let jitter = rand::random::<f64>() * 2.0 - 1.0;
                match policy::next_delay(&dest.schedule, dest.max_attempts, finish.attempts, jitter)
                {
                    Some(delay) => {
                        record.outcome = "retry".into();
                        let delay = after.unwrap_or(delay);
                        finish.next_attempt_at =
                            Some(finish.at + chrono::Duration::from_std(delay).unwrap_or_default());
                    }
                    None => {
                        record.outcome = "dead".into();
                        finish.status = DeliveryStatus::Dead;
                    }
                }
            }
            Verdict::RateLimited { after, global } => {
                record.outcome = "rate_limited".into();
                let until = finish.at + chrono::Duration::from_std(after).unwrap_or_default();
                self.pause(&c.destination, dest.target.kind, until, global, true)
                    .await;
                // A 429 is not the target failing: it may take twice the schedule's attempts before giving up.
                if finish.attempts >= dest.max_attempts.saturating_mul(2) {
                    record.outcome = "dead".into();
                    finish.status = DeliveryStatus::Dead;
                } else {
                    finish.next_attempt_at = Some(until);
                }
            }
            Verdict::Fail => {
                record.outcome = "failed".into();
                finish.status = DeliveryStatus::Failed;
            }
            Verdict::Disable { reason } => {
                record.outcome = "disabled".into();
                finish.status = DeliveryStatus::Failed;
                if self.is_enabled(&c.destination) {
                    if let Err(error) = self.set_enabled(&c.destination, false, &reason).await {
                        tracing::error!(message = "Disabling a destination failed.", %error);
                    }
                    tracing::warn!(message = "Destination disabled.", destination = %c.destination, %reason);
                    let msg = format!("Destination {} was disabled: {reason}", c.destination);
                    self.emit(
                        EventKind::DestinationDisabled,
                        "destination_disabled",
                        msg,
                        &c.event,
                    )
                    .await;
                }
            }
        }
        finish.last_error = match (finish.status, &record.error, sent.status) {
            (DeliveryStatus::Succeeded, _, _) => None,
            (_, Some(error), _) => Some(error.clone()),
            (_, None, Some(status)) => Some(format!("HTTP {status}")),
            (_, None, None) => None,
        };
        let dead = finish.status == DeliveryStatus::Dead;
        finish.logged.push(record);
        tracing::debug!(message = "Delivery attempt.", delivery = %c.id, destination = %c.destination, status = ?sent.status, outcome = finish.status.as_str());
        if dead {
            let msg = format!(
                "Delivery {} of {} to {} is dead after {} attempts: {}",
                c.id,
                c.event.event.as_str(),
                c.destination,
                finish.attempts,
                finish.last_error.clone().unwrap_or_default()
            );
            self.emit(EventKind::DeliveryDead, "delivery_dead", msg, &c.event)
                .await;
        }
        self.settle(finish, &members, c.attempts);
    }

    /// Writes back a delivery's result, and the same for the members of its group.
    pub(super) fn settle(&self, finish: Finish, members: &[Claimed], attempts_before: u32) {
        self.finish_members(members, &finish, attempts_before);
        self.finish(finish);
    }

    /// Ends a delivery without sending it, the reason logged as its attempt.
    pub(super) fn end_unsent(
        &self,
        mut finish: Finish,
        members: &[Claimed],
        status: DeliveryStatus,
        outcome: &str,
        reason: String,
    ) {
        let before = finish.attempts;
        finish.status = status;
        finish.attempts += 1;
        finish.logged.push(note(
            finish.attempts,
            Utc::now(),
            outcome,
            Some(reason.clone()),
        ));
        finish.last_error = Some(reason);
        self.settle(finish, members, before);
    }

    /// Renders and sends `event` to a destination now, outside the queue (`send-test`, the API's test
    /// button). Nothing is stored.
    pub async fn send_now(
        &self,
        name: &str,
        event: &Event,
    ) -> Result<Sent, outbound::RenderFailure> {
        let dest = self.dests.get(name).ok_or_else(|| {
            outbound::RenderFailure::Shape(format!("no destination named `{name}`"))
        })?;
        let payload = outbound::render_payload(&self.templates, &dest.target, event)?;
        let delivery_id = crate::event::new_prefixed_id("dlv");
        Ok(self
            .send_payload(dest, event, &delivery_id, &payload, None)
            .await)
    }

    /// Sends a payload (as an edit of Discord message `edit_of` when given).
    pub(super) async fn send_payload(
        &self,
        dest: &Dest,
        event: &Event,
        delivery_id: &str,
        payload: &serde_json::Value,
        edit_of: Option<&str>,
    ) -> Sent {
        let started = Utc::now();
        let clock = Instant::now();
        let request = match outbound::build_request(
            &dest.target,
            event,
            delivery_id,
            payload,
            started.timestamp(),
        ) {
            Ok(r) => r,
            Err(e) => return Sent::error(started, clock, e.to_string()),
        };
        let request = match edit_of {
            Some(message) => outbound::as_discord_edit(request, message),
            None => request,
        };
        send(
            &self.client,
            request,
            self.max_response_bytes,
            started,
            clock,
        )
        .await
    }
}

impl Finish {
    /// A claimed delivery's result before the attempt: still pending, nothing logged.
    pub(super) fn pending(id: &str, destination: &str, attempts: u32, at: DateTime<Utc>) -> Finish {
        Finish {
            id: id.to_owned(),
            destination: destination.to_owned(),
            status: DeliveryStatus::Pending,
            attempts,
            next_attempt_at: None,
            last_status: None,
            last_error: None,
            logged: Vec::new(),
            at,
        }
    }
}

pub(super) fn note(
    attempt: u32,
    at: DateTime<Utc>,
    outcome: &str,
    error: Option<String>,
) -> AttemptRow {
    AttemptRow {
        attempt,
        started_at: at,
        duration_ms: 0,
        outcome: outcome.into(),
        status_code: None,
        response_headers: Default::default(),
        response_body: None,
        error,
    }
}
