//! One attempt at one delivery, up to what it came to: the checks that hold it back (destination gone,
//! expired, disabled, paused, waiting for a probe's answer or a rate-limit slot), the message (a group's
//! merged event or digest, rendered), and the exchanges with the target (an edit of a deleted Discord message, or a rich message a
//! chat target refused, is followed by a second). The [`Outcome`] is written back in one place, `record.rs`.

use super::pacing::{Admit, Sending};
use super::{DestinationRuntime, Engine};
use crate::delivery::send::{Sent, send};
use crate::event::Event;
use crate::outbound;
use crate::storage::{AttemptOutcome, AttemptRow, Claimed, DeliveryStatus};
use chrono::{DateTime, Utc};
use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

/// What became of one attempt: the one value [`Engine::record`] writes back.
pub(super) enum Outcome {
    /// Not sent now, and nothing logged (destination disabled or paused, a probe out, or no rate-limit
    /// token: due again at the slot it booked).
    Held(Hold),
    /// Ended without a send; the reason is logged as its attempt.
    Unsent {
        status: DeliveryStatus,
        outcome: AttemptOutcome,
        reason: String,
    },
    /// Sent: the last exchange decides.
    Sent(Exchanges),
}

/// A delivery put off without a send: due again at `until`, with `note` as its last error when given.
pub(super) struct Hold {
    pub(super) until: DateTime<Utc>,
    pub(super) note: Option<String>,
}

/// The exchanges of one attempt with its target.
pub(super) struct Exchanges {
    /// Exchanges before the last, logged with what they came to (`edit_missing`, `rejected_rich`).
    pub(super) earlier: Vec<(Sent, AttemptOutcome)>,
    /// The exchange that decides the delivery's fate.
    pub(super) last: Sent,
    /// On success, keep the posted message's id for this download (a Discord grab, for its import to edit).
    pub(super) remember_for: Option<String>,
    /// This attempt is the probe after a pause: its answer lets the others go, or starts another pause.
    pub(super) probe: bool,
    /// This attempt took a send from its rate-limit bucket (`buckets.rs`).
    pub(super) from_bucket: bool,
    /// Its place among the destination's sends in flight, given back once its answer is written back.
    pub(super) sending: Option<Sending>,
    /// The destination it went to.
    pub(super) dest: Arc<DestinationRuntime>,
}

/// A delivery that may go now.
struct Admitted {
    /// It is the probe after a pause.
    probe: bool,
    /// It took a send from its rate-limit bucket.
    from_bucket: bool,
    /// Its place among the sends in flight.
    sending: Sending,
}

/// The message one attempt sends: the event as shown (a group's merged event or digest) and its payload.
pub(super) struct Message<'e> {
    pub(super) shown: Cow<'e, Event>,
    pub(super) payload: serde_json::Value,
    pub(super) digest: bool,
    /// A story's message: the story's id (its deliveries edit one message).
    pub(super) story: Option<String>,
}

impl Engine {
    /// One attempt at one claimed delivery (with the members of its group claimed in the same batch), start
    /// to finish.
    pub(super) async fn attempt(&self, c: Claimed, mut members: Vec<Claimed>) {
        let outcome = self.try_delivery(&c, &mut members).await;
        self.record(&c, &members, outcome).await;
    }

    async fn try_delivery(&self, c: &Claimed, members: &mut Vec<Claimed>) -> Outcome {
        let now = Utc::now();
        let Some(runtime) = self.destination_or_reload(&c.destination).await else {
            return Outcome::Unsent {
                status: DeliveryStatus::Failed,
                outcome: AttemptOutcome::Failed,
                reason: format!(
                    "destination `{}` no longer exists (removed from the config, or a deleted webhook)",
                    c.destination
                ),
            };
        };
        let dest = runtime.as_ref();
        if c.expires_at.is_some_and(|t| t <= now) {
            return Outcome::Unsent {
                status: DeliveryStatus::Expired,
                outcome: AttemptOutcome::Expired,
                reason: "expired before it could be delivered (expire_after)".to_owned(),
            };
        }
        let Admitted {
            probe,
            from_bucket,
            sending,
        } = match self.held_back(dest, c, now) {
            Ok(admitted) => admitted,
            Err(hold) => return Outcome::Held(hold),
        };
        if let Err(hold) = self.shared_send(dest, &c.destination, now).await {
            if probe {
                dest.pace.needs_probe();
            }
            if from_bucket {
                self.buckets.give_back(&c.destination);
            }
            return Outcome::Held(hold);
        }
        // A season pack or a batch: the other pending deliveries of the group go out in this one message (a
        // batch up to its size).
        if let Some(key) = c.group_key.as_deref() {
            let room = crate::delivery::group::batch_limit(key)
                .map_or(usize::MAX, |limit| limit.saturating_sub(1 + members.len()));
            members.extend(self.claim_members(c, key, room).await);
        }
        let story = self.story_of(c).await;
        let message = match &story {
            Some(story) => self.story_message(dest, c, story),
            None => self.message(dest, c, members),
        };
        match message {
            Ok(message) => {
                let mut exchanges = self.exchange(&runtime, c, &message).await;
                exchanges.probe = probe;
                exchanges.from_bucket = from_bucket;
                exchanges.sending = Some(sending);
                Outcome::Sent(exchanges)
            }
            Err(e) => {
                if probe {
                    // Nothing went out: the next send probes instead.
                    dest.pace.needs_probe();
                }
                if from_bucket {
                    self.buckets.give_back(&c.destination);
                }
                Outcome::Unsent {
                    status: DeliveryStatus::Failed,
                    outcome: AttemptOutcome::RenderFailed,
                    reason: e.to_string(),
                }
            }
        }
    }

    /// Why the delivery cannot go out now, if it cannot: its destination is disabled (held, not dropped:
    /// re-enabling makes it due again) or paused, a probe is out, its rate-limit bucket is spent until its
    /// reset, or its rate limit has no token (it is put back for the slot it booked, never slept on in the
    /// worker). When it may go, a token (and a send of its bucket) is taken.
    fn held_back(
        &self,
        dest: &DestinationRuntime,
        c: &Claimed,
        now: DateTime<Utc>,
    ) -> Result<Admitted, Hold> {
        if let Some(reason) = dest.disabled() {
            return Err(Hold {
                until: now + chrono::Duration::minutes(5),
                note: Some(format!("destination disabled: {reason}")),
            });
        }
        let clock = Instant::now();
        let paused = self
            .pause_until(dest, now)
            .map(|until| clock + (until - now).to_std().unwrap_or_default());
        let hold_until = |at: Instant| {
            self.wake_claimer_at(at);
            let wait = chrono::Duration::from_std(at - clock).unwrap_or_default();
            Hold {
                until: now + wait,
                note: None,
            }
        };
        // A pause holds everything; otherwise a send is taken from the bucket the target announced, then a
        // token from the destination's own limit.
        let from_bucket = match paused {
            Some(_) => false,
            None => match self.buckets.take(&c.destination, clock) {
                Ok(taken) => taken,
                Err(at) => return Err(hold_until(at)),
            },
        };
        match dest.pace.admit(&c.id, clock, paused) {
            Admit::Send { probe, sending } => Ok(Admitted {
                probe,
                from_bucket,
                sending,
            }),
            Admit::Wait(at) => {
                if from_bucket {
                    self.buckets.give_back(&c.destination);
                }
                Err(hold_until(at))
            }
        }
    }

    /// The message for a delivery and its group members: a single event as it is (no copy), a group as its
    /// merged event or quiet-hours digest, rendered by the destination's template.
    fn message<'e>(
        &self,
        dest: &DestinationRuntime,
        c: &'e Claimed,
        members: &[Claimed],
    ) -> Result<Message<'e>, outbound::RenderFailure> {
        let batch = c
            .group_key
            .as_deref()
            .is_some_and(|k| k.starts_with(crate::delivery::group::BATCH_PREFIX));
        if batch {
            // One request for the batch: every event's envelope, named by the delivery that carries them.
            let events: Vec<&Event> = std::iter::once(&c.event)
                .chain(members.iter().map(|m| &m.event))
                .collect();
            return Ok(Message {
                shown: Cow::Borrowed(&c.event),
                payload: serde_json::json!({"batch_id": c.id, "events": events}),
                digest: false,
                story: None,
            });
        }
        let digest = !members.is_empty()
            && c.group_key
                .as_deref()
                .is_some_and(|k| k.starts_with(crate::delivery::group::DIGEST_PREFIX));
        let group: Vec<Event> = if members.is_empty() {
            Vec::new()
        } else {
            std::iter::once(c.event.clone())
                .chain(members.iter().map(|m| m.event.clone()))
                .collect()
        };
        let shown = if members.is_empty() {
            Cow::Borrowed(&c.event)
        } else if digest {
            Cow::Owned(crate::delivery::group::digest(&c.event, &group[1..]))
        } else {
            Cow::Owned(crate::delivery::group::merge(&c.event, &group[1..]))
        };
        let payload = outbound::render_group_payload(
            &self.templates(),
            &dest.target,
            &shown,
            &group,
            digest,
        )?;
        Ok(Message {
            shown,
            payload,
            digest,
            story: None,
        })
    }

    /// Sends the message: as the edit of the message its thread opened when there is one — a download's grab,
    /// a request's first notification — (posting anew when that message is gone), and as the plain summary
    /// when a chat target refuses the rich message (CONTRACT §5 fallback).
    async fn exchange(
        &self,
        dest: &Arc<DestinationRuntime>,
        c: &Claimed,
        message: &Message<'_>,
    ) -> Exchanges {
        let thread = match &message.story {
            Some(id) => Some(super::messages::story_thread(id)),
            None => (!message.digest && self.edits_messages(dest))
                .then(|| super::messages::thread_of(&message.shown))
                .flatten(),
        };
        let edit_of = match &thread {
            Some(t) if t.edits => self.message_to_edit(&c.destination, &t.key, &c.id).await,
            _ => None,
        };
        let mut earlier = Vec::new();
        let mut last = self
            .send_payload(dest, &c.event, &c.id, &message.payload, edit_of.as_deref())
            .await;
        // The chat moved (a Telegram group became a supergroup): the same message to where it is now.
        let kind = dest.target.kind.target();
        if let Some(moved) = last.status.and_then(|s| kind.moved_to(s, &last.body)) {
            tracing::warn!(
                message = "The destination's chat moved: write its new id in the config.",
                destination = %dest.target.name,
                chat_id = %moved
            );
            dest.learn(|l| l.chat_id = Some(moved));
            earlier.push((last, AttemptOutcome::ChatMoved));
            last = self
                .send_payload(dest, &c.event, &c.id, &message.payload, edit_of.as_deref())
                .await;
        }
        // The message to edit is gone (deleted in Discord): post a new one, which the thread keeps from now on.
        // Not a reason to disable.
        let mut posted_anew = edit_of.is_none();
        if edit_of.is_some()
            && last
                .status
                .is_some_and(|s| kind.edit_missing(s, &last.body))
        {
            posted_anew = true;
            earlier.push((last, AttemptOutcome::EditMissing));
            last = self
                .send_payload(dest, &c.event, &c.id, &message.payload, None)
                .await;
        }
        if last.status == Some(400)
            && let Some(plain) = dest.target.kind.target().fallback(&message.shown)
        {
            earlier.push((last, AttemptOutcome::RejectedRich));
            last = self.send_payload(dest, &c.event, &c.id, &plain, None).await;
        }
        let remember_for = thread.filter(|t| t.opens && posted_anew).map(|t| t.key);
        Exchanges {
            earlier,
            last,
            remember_for,
            probe: false,
            from_bucket: false,
            sending: None,
            dest: dest.clone(),
        }
    }

    /// Renders and sends `event` to a destination now, outside the queue (`send-test`, the API's test
    /// button). Nothing is stored.
    pub async fn send_now(
        &self,
        name: &str,
        event: &Event,
    ) -> Result<Sent, outbound::RenderFailure> {
        let dest = self.destination_or_reload(name).await.ok_or_else(|| {
            outbound::RenderFailure::Shape(format!("no destination named `{name}`"))
        })?;
        let payload = outbound::render_payload(&self.templates(), &dest.target, event)?;
        let delivery_id = crate::event::new_prefixed_id("dlv");
        Ok(self
            .send_payload(&dest, event, &delivery_id, &payload, None)
            .await)
    }

    /// Sends a payload (as an edit of Discord message `edit_of` when given).
    pub(super) async fn send_payload(
        &self,
        dest: &DestinationRuntime,
        event: &Event,
        delivery_id: &str,
        payload: &serde_json::Value,
        edit_of: Option<&str>,
    ) -> Sent {
        let started = Utc::now();
        let clock = Instant::now();
        if dest.target.kind == crate::config::DestinationType::Email {
            return match &dest.mailer {
                Some(mailer) => mailer.send(&dest.target, payload, delivery_id).await,
                None => Sent::error(
                    started,
                    clock,
                    "the e-mail destination's SMTP client could not be set up (see the log at start)".into(),
                ),
            };
        }
        if dest.target.kind == crate::config::DestinationType::Mqtt {
            return self.send_mqtt(dest, event, payload).await;
        }
        // A Matrix alias is joined before its first message: a refused join is this attempt's answer.
        if let Err(sent) = self.join_matrix_alias(dest, started, clock).await {
            return sent;
        }
        let target = dest.current_target();
        let request = match outbound::build_request(
            &target,
            event,
            delivery_id,
            payload,
            started.timestamp(),
        ) {
            Ok(r) => r,
            Err(e) => return Sent::error(started, clock, e.to_string()),
        };
        let mut request = match edit_of {
            Some(message) => dest.target.kind.target().as_edit(request, message),
            None => request,
        };
        // An owner inspects what their webhook was sent; the config's destinations keep no copy.
        let kept_body = dest.guarded.then(|| {
            let text = String::from_utf8_lossy(&request.body);
            let cut = text.floor_char_boundary(self.max_response_bytes.min(text.len()));
            text[..cut].to_owned()
        });
        let client =
            if let Some(local) = dest.guarded.then(|| self.own_mock(&request.url)).flatten() {
                // hookarr's own mock: reached over loopback, the guard's business is elsewhere.
                request.url = local;
                &self.client
            } else if dest.guarded {
                // reqwest resolves names only: an address in the URL is checked here.
                if let Err(refusal) = self.guard.check_literal(&request.url) {
                    return Sent::error(started, clock, format!("refused: {refusal}"));
                }
                &self.guarded_client
            } else {
                &self.client
            };
        let mut sent = send(client, request, self.max_response_bytes, started, clock).await;
        sent.request_body = kept_body;
        sent
    }
}

impl Engine {
    /// Joins the room of a Matrix destination given by its alias, once: the join names the room id, which
    /// the destination's messages then go to. Nothing for every other destination.
    async fn join_matrix_alias(
        &self,
        dest: &DestinationRuntime,
        started: DateTime<Utc>,
        clock: Instant,
    ) -> Result<(), Sent> {
        use outbound::targets::matrix;
        let alias = match dest.target.service.room.as_deref() {
            Some(room)
                if dest.target.kind == crate::config::DestinationType::Matrix
                    && room.starts_with('#') =>
            {
                room
            }
            _ => return Ok(()),
        };
        if dest.learned().room.is_some() {
            return Ok(());
        }
        let join = matrix::join_request(&dest.target, alias);
        let sent = send(&self.client, join, self.max_response_bytes, started, clock).await;
        match sent.status {
            Some(200..=299) => match matrix::joined_room(&sent.body) {
                Some(room) => {
                    dest.learn(|l| l.room = Some(room));
                    Ok(())
                }
                // Not what a homeserver answers: tried again later.
                None => Err(Sent {
                    status: None,
                    error: Some(format!("joining {alias} answered no room id")),
                    ..sent
                }),
            },
            _ => Err(sent),
        }
    }
}

/// An attempt that sent nothing, logged with its reason.
pub(super) fn unsent_row(
    attempt: u32,
    at: DateTime<Utc>,
    outcome: AttemptOutcome,
    reason: String,
) -> AttemptRow {
    AttemptRow {
        attempt,
        started_at: at,
        duration_ms: 0,
        outcome,
        status_code: None,
        response_headers: Default::default(),
        response_body: None,
        error: Some(reason),
        request_body: None,
    }
}
