//! The delivery side of the store: the queue (`deliveries`), its log (`attempts`) and each destination's
//! run-time state. Types only; the SQL is in [`super::sql`].

use crate::event::EventId;
use chrono::{DateTime, Utc};

/// Where a delivery stands (CONTRACT §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    Pending,
    Succeeded,
    Failed,
    Dead,
    Expired,
    /// Its destination was deleted while it waited.
    Cancelled,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 6] = [
        DeliveryStatus::Pending,
        DeliveryStatus::Succeeded,
        DeliveryStatus::Failed,
        DeliveryStatus::Dead,
        DeliveryStatus::Expired,
        DeliveryStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Succeeded => "succeeded",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Dead => "dead",
            DeliveryStatus::Expired => "expired",
            DeliveryStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryStatus> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Whether a manual retry may send it again.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            DeliveryStatus::Failed | DeliveryStatus::Dead | DeliveryStatus::Expired
        )
    }
}

/// A delivery the router creates: due at once.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub id: String,
    pub event_id: EventId,
    pub event: String,
    pub destination: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    /// When it is first due: at once, or after the group window.
    pub due_at: DateTime<Utc>,
    /// Deliveries of one destination with the same key, still pending, are sent as one message.
    pub group_key: Option<String>,
}

/// An event's deliveries routed as it is stored, written in its transaction instead of its outbox row.
#[derive(Debug, Clone)]
pub struct RoutedAtIngest {
    /// Inserted due when they say.
    pub deliveries: Vec<NewDelivery>,
    /// Inserted leased to `owner` until `lease_until`: a worker of that process sends them once the event
    /// has committed.
    pub leased: Vec<NewDelivery>,
    pub owner: String,
    pub lease_until: DateTime<Utc>,
    /// Whether the event joins its title's story (a `story_queue` row).
    pub story: bool,
}

impl RoutedAtIngest {
    /// Every row to insert: the delivery, who holds its lease (if anyone), and when it is next due (its
    /// lease's end for a leased one).
    pub(crate) fn rows(&self) -> impl Iterator<Item = (&NewDelivery, Option<&str>, DateTime<Utc>)> {
        let due = self.deliveries.iter().map(|d| (d, None, d.due_at));
        let leased = self
            .leased
            .iter()
            .map(|d| (d, Some(self.owner.as_str()), self.lease_until));
        due.chain(leased)
    }
}

/// A delivery a worker has claimed (leased), with its event.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: String,
    pub destination: String,
    /// Attempts made before this one.
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub group_key: Option<String>,
    pub event: crate::event::Event,
}

/// One attempt as logged.
#[derive(Debug, Clone)]
pub struct AttemptRow {
    pub attempt: u32,
    pub started_at: DateTime<Utc>,
    pub duration_ms: u64,
    /// What the attempt came to, stored and shown by name.
    pub outcome: AttemptOutcome,
    pub status_code: Option<u16>,
    pub response_headers: serde_json::Map<String, serde_json::Value>,
    pub response_body: Option<String>,
    pub error: Option<String>,
    /// The body sent (registered webhooks only).
    pub request_body: Option<String>,
}

/// What one logged attempt came to. Stored and shown by name (`succeeded`, `grouped:retry`…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The target accepted it.
    Succeeded,
    /// It failed in a way worth retrying, and will be (backoff, or the target's `Retry-After`).
    Retry,
    /// It failed and will not be retried: its attempts are used up.
    Dead,
    /// The target answered 429: the destination pauses and the delivery waits for it.
    RateLimited,
    /// It will not be sent: the target refused it for good (a 4xx other than 408/425/429), or its
    /// destination is no longer in the config.
    Failed,
    /// The target said it is gone (Discord 401/404, Slack 404/410, any 410): the destination is disabled.
    Disabled,
    /// The Discord message this delivery was to edit is gone; a new message is posted in the next exchange.
    EditMissing,
    /// A chat target refused the rich message (400); the plain summary goes in the next exchange.
    RejectedRich,
    /// The chat moved (a Telegram group became a supergroup); the message goes to its new id in the next
    /// exchange.
    ChatMoved,
    /// The template did not render a payload; nothing was sent.
    RenderFailed,
    /// `expire_after` passed before it could be sent; nothing was sent.
    Expired,
    /// Sent as part of another delivery's group message; that message came to the inner outcome.
    Grouped(Box<AttemptOutcome>),
}

impl AttemptOutcome {
    const GROUPED: &'static str = "grouped:";

    /// The stored name.
    pub fn name(&self) -> std::borrow::Cow<'static, str> {
        let plain = match self {
            AttemptOutcome::Succeeded => "succeeded",
            AttemptOutcome::Retry => "retry",
            AttemptOutcome::Dead => "dead",
            AttemptOutcome::RateLimited => "rate_limited",
            AttemptOutcome::Failed => "failed",
            AttemptOutcome::Disabled => "disabled",
            AttemptOutcome::EditMissing => "edit_missing",
            AttemptOutcome::RejectedRich => "rejected_rich",
            AttemptOutcome::ChatMoved => "chat_moved",
            AttemptOutcome::RenderFailed => "render_failed",
            AttemptOutcome::Expired => "expired",
            AttemptOutcome::Grouped(inner) => {
                return format!("{}{}", Self::GROUPED, inner.name()).into();
            }
        };
        plain.into()
    }

    /// Reads a stored name back.
    pub fn parse(name: &str) -> Option<AttemptOutcome> {
        if let Some(inner) = name.strip_prefix(Self::GROUPED) {
            return Some(AttemptOutcome::Grouped(Box::new(Self::parse(inner)?)));
        }
        Some(match name {
            "succeeded" => AttemptOutcome::Succeeded,
            "retry" => AttemptOutcome::Retry,
            "dead" => AttemptOutcome::Dead,
            "rate_limited" => AttemptOutcome::RateLimited,
            "failed" => AttemptOutcome::Failed,
            "disabled" => AttemptOutcome::Disabled,
            "edit_missing" => AttemptOutcome::EditMissing,
            "rejected_rich" => AttemptOutcome::RejectedRich,
            "chat_moved" => AttemptOutcome::ChatMoved,
            "render_failed" => AttemptOutcome::RenderFailed,
            "expired" => AttemptOutcome::Expired,
            _ => return None,
        })
    }
}

/// What a worker writes back for one claimed delivery.
#[derive(Debug, Clone)]
pub struct DeliveryResult {
    pub id: String,
    pub destination: String,
    pub status: DeliveryStatus,
    /// Attempts made in all, this one included.
    pub attempts: u32,
    /// When a pending delivery is next due.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    /// The attempt to log (none when the delivery was only put back, e.g. for a rate limit).
    pub logged: Vec<AttemptRow>,
    pub at: DateTime<Utc>,
}

/// A delivery as stored.
#[derive(Debug, Clone)]
pub struct DeliveryRow {
    pub id: String,
    pub event_id: String,
    pub event: String,
    pub destination: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    /// The summary of the event it delivers (`None` once the event was purged).
    pub summary: Option<String>,
}

/// Filters of `GET /api/deliveries`.
#[derive(Debug, Clone, Default)]
pub struct DeliveryQuery {
    pub status: Option<DeliveryStatus>,
    pub destination: Option<String>,
    pub event_id: Option<String>,
    /// Only deliveries to the webhooks this user registered.
    pub owner: Option<String>,
    pub before: Option<String>,
    pub limit: u32,
}

/// Which finished deliveries a bulk retry sends again.
#[derive(Debug, Clone)]
pub struct RetryFilter {
    pub status: DeliveryStatus,
    pub destination: Option<String>,
    /// Only deliveries to the webhooks this user registered.
    pub owner: Option<String>,
    pub since: Option<DateTime<Utc>>,
}

/// A destination's run-time state.
#[derive(Debug, Clone, Default)]
pub struct DestinationState {
    pub name: String,
    pub disabled_at: Option<DateTime<Utc>>,
    pub disabled_reason: Option<String>,
    pub paused_until: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

/// How many deliveries of a destination are in a state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCount {
    pub destination: String,
    pub status: DeliveryStatus,
    pub count: u64,
}

#[cfg(test)]
mod tests {
    use super::AttemptOutcome;

    #[test]
    fn attempt_outcomes_are_read_back_by_their_stored_names() {
        let all = [
            AttemptOutcome::Succeeded,
            AttemptOutcome::Retry,
            AttemptOutcome::Dead,
            AttemptOutcome::RateLimited,
            AttemptOutcome::Failed,
            AttemptOutcome::Disabled,
            AttemptOutcome::EditMissing,
            AttemptOutcome::RejectedRich,
            AttemptOutcome::ChatMoved,
            AttemptOutcome::RenderFailed,
            AttemptOutcome::Expired,
        ];
        for outcome in all {
            let grouped = AttemptOutcome::Grouped(Box::new(outcome.clone()));
            assert_eq!(grouped.name(), format!("grouped:{}", outcome.name()));
            for o in [outcome, grouped] {
                assert_eq!(AttemptOutcome::parse(&o.name()), Some(o.clone()));
            }
        }
        assert_eq!(AttemptOutcome::parse("fallback"), None);
        assert_eq!(AttemptOutcome::parse("grouped:"), None);
    }
}
