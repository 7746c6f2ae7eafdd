//! Writing back what one attempt came to, in one place: the [`Outcome`] becomes the delivery's new state
//! and its attempt log, and the answer's consequences follow — what it said of its rate-limit bucket, a pause for a 429,
//! a disable when the target is gone, the alert for a dead delivery, and the message id a grab posted.

use super::Engine;
use super::attempt::{Exchanges, Hold, Outcome, unsent_row};
use crate::delivery::policy;
use crate::event::EventKind;
use crate::outbound::answer::Verdict;
use crate::storage::{AttemptOutcome, Claimed, DeliveryResult, DeliveryStatus};
use chrono::{DateTime, Utc};

impl Engine {
    /// Writes back a delivery's outcome, and the same for the members of its group.
    pub(super) async fn record(&self, c: &Claimed, members: &[Claimed], outcome: Outcome) {
        let mut finish = DeliveryResult::pending(&c.id, &c.destination, c.attempts, Utc::now());
        match outcome {
            Outcome::Held(Hold { until, note }) => {
                finish.next_attempt_at = Some(until);
                finish.last_error = note;
            }
            Outcome::Unsent {
                status,
                outcome,
                reason,
            } => {
                finish.status = status;
                finish.attempts += 1;
                let row = unsent_row(finish.attempts, Utc::now(), outcome, reason.clone());
                finish.logged.push(row);
                let kind = self
                    .destination(&c.destination)
                    .map_or("unknown", |d| d.target.kind.as_str());
                crate::metrics::delivery_outcome(&c.destination, kind, status.as_str());
                finish.last_error = Some(reason);
            }
            Outcome::Sent(exchanges) => self.conclude(c, &mut finish, exchanges).await,
        }
        self.settle(finish, members, c.attempts);
    }

    /// The verdict of the last exchange, and its consequences.
    async fn conclude(&self, c: &Claimed, finish: &mut DeliveryResult, exchanges: Exchanges) {
        let dest = exchanges.dest.as_ref();
        let kind = dest.target.kind;
        let clock = std::time::Instant::now();
        for (sent, _) in &exchanges.earlier {
            let said = kind.target().bucket(&sent.headers);
            self.buckets.answered(&c.destination, said, false, clock);
        }
        let said = kind.target().bucket(&exchanges.last.headers);
        let spent_until = said
            .as_ref()
            .filter(|b| b.remaining == 0)
            .and_then(|b| chrono::Duration::from_std(b.reset_after + super::buckets::MARGIN).ok())
            .map(|wait| Utc::now() + wait);
        self.buckets
            .answered(&c.destination, said, exchanges.from_bucket, clock);
        if let Some(until) = spent_until {
            // The other processes do not hear this answer: the shared budget holds them to the reset.
            self.hold_shared(dest, &c.destination, until).await;
        }
        for (sent, outcome) in exchanges.earlier {
            finish.attempts += 1;
            finish.logged.push(sent.record(finish.attempts, outcome));
        }
        let sent = exchanges.last;
        finish.attempts += 1;
        finish.last_status = sent.status;
        finish.at = Utc::now();
        let verdict = sent.verdict(kind, finish.at);
        if exchanges.probe && !matches!(verdict, Verdict::RateLimited { .. }) {
            dest.pace.probe_answered();
            self.wake_claimer.notify_one();
        }
        let outcome = match verdict {
            Verdict::Success => {
                finish.status = DeliveryStatus::Succeeded;
                if let Some(download) = &exchanges.remember_for {
                    self.remember_message(&c.destination, download, &sent, finish.at)
                        .await;
                }
                AttemptOutcome::Succeeded
            }
            Verdict::Retry { after } => {
                let jitter = rand::random::<f64>() * 2.0 - 1.0;
                match policy::next_delay(&dest.schedule, dest.max_attempts, finish.attempts, jitter)
                {
                    Some(delay) => {
                        finish.next_attempt_at =
                            Some(after_secs(finish.at, after.unwrap_or(delay)));
                        AttemptOutcome::Retry
                    }
                    None => {
                        finish.status = DeliveryStatus::Dead;
                        AttemptOutcome::Dead
                    }
                }
            }
            Verdict::RateLimited { after, global } => {
                let until = after_secs(finish.at, after);
                self.pause(dest, until, global, true).await;
                // A 429 is not the target failing: it may take twice the schedule's attempts before giving up.
                if finish.attempts >= dest.max_attempts.saturating_mul(2) {
                    finish.status = DeliveryStatus::Dead;
                    AttemptOutcome::Dead
                } else {
                    finish.next_attempt_at = Some(until);
                    AttemptOutcome::RateLimited
                }
            }
            Verdict::Fail => {
                finish.status = DeliveryStatus::Failed;
                AttemptOutcome::Failed
            }
            Verdict::Disable { reason } => {
                finish.status = DeliveryStatus::Failed;
                self.disable_gone(c, &reason).await;
                AttemptOutcome::Disabled
            }
        };
        finish.last_error = match (finish.status, &sent.error, sent.status) {
            (DeliveryStatus::Succeeded, _, _) => None,
            (_, Some(error), _) => Some(error.clone()),
            (_, None, Some(status)) => Some(format!("HTTP {status}")),
            (_, None, None) => None,
        };
        tell_attempt(c, finish, &sent, &outcome);
        crate::metrics::attempt_duration(&c.destination, sent.duration.as_secs_f64());
        let counted = match finish.status {
            DeliveryStatus::Pending => "retry",
            other => other.as_str(),
        };
        crate::metrics::delivery_outcome(&c.destination, kind.as_str(), counted);
        finish.logged.push(sent.record(finish.attempts, outcome));
        if finish.status == DeliveryStatus::Dead {
            let msg = format!(
                "Delivery {} of {} to {} is dead after {} attempts: {}",
                c.id,
                c.event.event.as_str(),
                c.destination,
                finish.attempts,
                finish.last_error.clone().unwrap_or_default()
            );
            self.emit(EventKind::DeliveryDead, "delivery_dead", msg, c)
                .await;
        }
    }

    /// The target said it is gone: disable the destination (once) and say so with an alert event.
    async fn disable_gone(&self, c: &Claimed, reason: &str) {
        if !self.is_enabled(&c.destination) {
            return;
        }
        if let Err(error) = self.set_enabled(&c.destination, false, reason).await {
            error.log("Disabling a destination failed.");
        }
        tracing::warn!(message = "Destination disabled.", destination = %c.destination, %reason);
        let msg = format!("Destination {} was disabled: {reason}", c.destination);
        self.emit(
            EventKind::DestinationDisabled,
            "destination_disabled",
            msg,
            c,
        )
        .await;
    }

    /// Writes back a delivery's result, and the same for the members of its group.
    pub(super) fn settle(&self, finish: DeliveryResult, members: &[Claimed], attempts_before: u32) {
        self.finish_members(members, &finish, attempts_before);
        self.finish(finish);
    }
}

/// From this many failed attempts of one delivery on, each further failure is logged as a warning.
const KEEPS_FAILING: u32 = 3;

/// The story line of an attempt: "discord-movies delivered in 212 ms", "… failed (HTTP 400: Invalid Form
/// Body), retry in 1m", "… dead after 5 attempts".
fn tell_attempt(
    c: &Claimed,
    finish: &DeliveryResult,
    sent: &crate::delivery::send::Sent,
    outcome: &AttemptOutcome,
) {
    let ms = sent.duration.as_millis();
    let why = || match (&sent.error, sent.status) {
        (Some(error), _) => error.clone(),
        (None, Some(status)) => {
            let excerpt: String = sent.body.chars().take(120).collect();
            let excerpt = excerpt.trim();
            if excerpt.is_empty() {
                format!("HTTP {status}")
            } else {
                format!("HTTP {status}: {excerpt}")
            }
        }
        (None, None) => "no answer".to_owned(),
    };
    let next = || {
        finish.next_attempt_at.map_or_else(String::new, |at| {
            let wait = (at - finish.at).num_seconds().max(0) as u64;
            humantime::format_duration(std::time::Duration::from_secs(wait)).to_string()
        })
    };
    let (destination, event, delivery) = (
        c.destination.as_str(),
        c.event.event.as_str(),
        c.id.as_str(),
    );
    match outcome {
        AttemptOutcome::Succeeded => crate::telemetry::story("deliveries", || {
            tracing::info!(
                destination,
                event,
                delivery,
                duration_ms = ms as u64,
                "{destination} delivered in {ms} ms ({event})"
            );
        }),
        // The third failure in a row of one delivery is a warning: the destination keeps failing.
        AttemptOutcome::Retry if finish.attempts >= KEEPS_FAILING => {
            tracing::warn!(
                destination,
                event,
                delivery,
                attempts = finish.attempts,
                "{destination} keeps failing: attempt {} ({}), retry in {}",
                finish.attempts,
                why(),
                next()
            );
        }
        AttemptOutcome::Retry => crate::telemetry::story("deliveries", || {
            tracing::info!(
                destination,
                event,
                delivery,
                "{destination} failed ({}), retry in {}",
                why(),
                next()
            );
        }),
        AttemptOutcome::RateLimited => crate::telemetry::story("deliveries", || {
            tracing::info!(
                destination,
                event,
                delivery,
                "{destination} rate limited ({}), paused for {}",
                why(),
                next()
            );
        }),
        AttemptOutcome::Dead => {
            tracing::warn!(
                destination,
                event,
                delivery,
                "{destination} dead after {} attempts ({})",
                finish.attempts,
                why()
            );
        }
        _ => {
            tracing::warn!(
                destination,
                event,
                delivery,
                "{destination} failed ({}), not retried",
                why()
            );
        }
    }
}

fn after_secs(at: DateTime<Utc>, wait: std::time::Duration) -> DateTime<Utc> {
    at + chrono::Duration::from_std(wait).unwrap_or_default()
}

impl DeliveryResult {
    /// A claimed delivery's result before the attempt: still pending, nothing logged.
    pub(super) fn pending(
        id: &str,
        destination: &str,
        attempts: u32,
        at: DateTime<Utc>,
    ) -> DeliveryResult {
        DeliveryResult {
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
