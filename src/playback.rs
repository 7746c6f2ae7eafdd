//! Playback sessions: what hookarr remembers per (source, session or player, item) so that media-server
//! notifications become the events people expect. Jellyfin has no pause or resume notification (a pause is a
//! `PlaybackProgress` whose `IsPaused` flipped), sends each playback notification once per user watching,
//! and Plex tells the owner `playback.started` for a play its `media.play` already announced. The state lives
//! in the database ([`crate::storage::Store::playback_transition`]), so it survives a restart and is shared
//! by every process on one PostgreSQL; this module is the pure rule that turns (state, notification) into an
//! event.

use crate::event::{EventId, EventKind};

/// Sessions not heard of for this long are forgotten (and purged).
pub const SESSION_TTL_MS: i64 = 24 * 60 * 60 * 1000;

/// What a media server said about one session and item.
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    /// The session or player: Jellyfin/Emby session id, Plex player id.
    pub session: String,
    /// The item being played: Plex `ratingKey`, Jellyfin/Emby item id.
    pub item: String,
    pub action: Action,
    pub position_ms: Option<i64>,
}

impl Signal {
    /// The signal of a notification: only for playback actions, and only when it names its session and item
    /// (without them there is no state to consult, and the event keeps the action's own name).
    pub fn of(
        action: Option<Action>,
        session: Option<String>,
        item: Option<String>,
        position_ms: Option<i64>,
    ) -> Option<Signal> {
        Some(Signal {
            action: action?,
            session: session?,
            item: item?,
            position_ms,
        })
    }
}

/// The notification, before the session state is taken into account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Start,
    Pause,
    Resume,
    /// Jellyfin's periodic progress, with whether the player is paused now.
    Progress {
        paused: bool,
    },
    /// A stop; `completed` when the app says it played to the end (`PlayedToCompletion`).
    Stop {
        completed: bool,
    },
    /// Plex's "watched" mark (> 90 %), sent while still playing.
    Scrobble,
}

impl Action {
    /// The event this notification is on its own, before the session state is asked (a Jellyfin progress
    /// report is `playback.progress` until the state says its pause flag flipped).
    pub fn kind(self) -> EventKind {
        match self {
            Action::Start => EventKind::PlaybackStart,
            Action::Pause => EventKind::PlaybackPause,
            Action::Resume => EventKind::PlaybackResume,
            Action::Progress { .. } => EventKind::PlaybackProgress,
            Action::Stop { completed: true } | Action::Scrobble => EventKind::PlaybackScrobble,
            Action::Stop { completed: false } => EventKind::PlaybackStop,
        }
    }
}

/// Where a session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlayState {
    Playing,
    Paused,
    Stopped,
}

impl PlayState {
    pub fn as_str(self) -> &'static str {
        match self {
            PlayState::Playing => "playing",
            PlayState::Paused => "paused",
            PlayState::Stopped => "stopped",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "playing" => Some(PlayState::Playing),
            "paused" => Some(PlayState::Paused),
            "stopped" => Some(PlayState::Stopped),
            _ => None,
        }
    }
}

/// The remembered state of one (source, session, item).
#[derive(Debug, Clone, PartialEq)]
pub struct SessionState {
    pub state: PlayState,
    pub position_ms: Option<i64>,
    /// When the current play started, and the event that said so.
    pub started_at_ms: Option<i64>,
    pub start_event: Option<EventId>,
    /// The last event this session produced.
    pub last_kind: EventKind,
    pub last_event: EventId,
    pub updated_at_ms: i64,
}

/// What a notification becomes.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A new event of this kind; the session moves to the new state.
    Emit(EventKind, SessionState),
    /// A repeat of what this event already said (another user of the same session, Plex's owner copy): store
    /// nothing; the state stays.
    Duplicate(EventId),
}

/// Applies one notification to a session's state. `window_ms` is the dedupe window (0 turns duplicate
/// suppression off; pause/resume derivation stays on).
pub fn transition(
    prev: Option<&SessionState>,
    signal: &Signal,
    event: &EventId,
    now_ms: i64,
    window_ms: i64,
) -> Outcome {
    let prev = prev.filter(|p| now_ms.saturating_sub(p.updated_at_ms) < SESSION_TTL_MS);
    let was_paused = prev.is_some_and(|p| p.state == PlayState::Paused);
    let (kind, state) = match signal.action {
        // A progress report whose pause flag flipped is the pause or resume Jellyfin never sends.
        Action::Progress { paused: true } if !was_paused => {
            (EventKind::PlaybackPause, PlayState::Paused)
        }
        Action::Progress { paused: false } if was_paused => {
            (EventKind::PlaybackResume, PlayState::Playing)
        }
        action @ Action::Progress { paused: true } | action @ Action::Pause => {
            (action.kind(), PlayState::Paused)
        }
        action @ (Action::Start | Action::Resume | Action::Progress { paused: false }) => {
            (action.kind(), PlayState::Playing)
        }
        action @ Action::Stop { .. } => (action.kind(), PlayState::Stopped),
        // Plex scrobbles while the item still plays: the state does not move.
        Action::Scrobble => (
            Action::Scrobble.kind(),
            prev.map_or(PlayState::Playing, |p| p.state),
        ),
    };
    if let Some(p) = prev.filter(|p| window_ms > 0 && now_ms - p.updated_at_ms < window_ms)
        && let Some(first) = duplicate_of(p, signal, kind, now_ms, window_ms)
    {
        return Outcome::Duplicate(first);
    }
    let is_start = signal.action == Action::Start;
    Outcome::Emit(
        kind,
        SessionState {
            state,
            position_ms: signal.position_ms,
            started_at_ms: if is_start {
                Some(now_ms)
            } else {
                prev.and_then(|p| p.started_at_ms)
            },
            start_event: if is_start {
                Some(event.clone())
            } else {
                prev.and_then(|p| p.start_event.clone())
            },
            last_kind: kind,
            last_event: event.clone(),
            updated_at_ms: now_ms,
        },
    )
}

/// Whether a notification only repeats what the session already said (within the window).
fn duplicate_of(
    p: &SessionState,
    signal: &Signal,
    kind: EventKind,
    now_ms: i64,
    window_ms: i64,
) -> Option<EventId> {
    match signal.action {
        // A second start of a play that has not stopped: another user in the session, or Plex's owner copy.
        Action::Start => (p.state != PlayState::Stopped
            && p.started_at_ms.is_some_and(|t| now_ms - t < window_ms))
        .then(|| {
            p.start_event
                .clone()
                .unwrap_or_else(|| p.last_event.clone())
        }),
        Action::Stop { .. } => (p.state == PlayState::Stopped).then(|| p.last_event.clone()),
        // Progress at the position and in the state already recorded: a per-user copy of the last report
        // (which may have been a pause or resume).
        Action::Progress { paused } => (p.position_ms == signal.position_ms
            && (p.state == PlayState::Paused) == paused)
            .then(|| p.last_event.clone()),
        // The same event at the same position: a per-user copy.
        _ => (p.last_kind == kind && p.position_ms == signal.position_ms)
            .then(|| p.last_event.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: i64 = 60_000;

    fn signal(action: Action, position_ms: i64) -> Signal {
        Signal {
            session: "s".into(),
            item: "i".into(),
            action,
            position_ms: Some(position_ms),
        }
    }

    /// Runs notifications through the rule at the given times, returning each outcome's event name (or
    /// `dup`) and the final state.
    fn run(steps: &[(i64, Action, i64)]) -> (Vec<String>, Option<SessionState>) {
        let mut state: Option<SessionState> = None;
        let mut names = Vec::new();
        for (n, (at, action, pos)) in steps.iter().enumerate() {
            let id = EventId::parse(&format!("evt_{n:026}")).expect("id");
            match transition(state.as_ref(), &signal(*action, *pos), &id, *at, WINDOW) {
                Outcome::Emit(kind, next) => {
                    names.push(kind.as_str().to_owned());
                    state = Some(next);
                }
                Outcome::Duplicate(first) => names.push(format!("dup of {first}")),
            }
        }
        (names, state)
    }

    #[test]
    fn jellyfin_progress_becomes_pause_and_resume_when_is_paused_flips() {
        let (names, state) = run(&[
            (0, Action::Start, 0),
            (10_000, Action::Progress { paused: false }, 10_000),
            (20_000, Action::Progress { paused: true }, 19_000),
            (30_000, Action::Progress { paused: true }, 19_000),
            (90_000, Action::Progress { paused: true }, 19_000),
            (100_000, Action::Progress { paused: false }, 19_500),
            (110_000, Action::Progress { paused: false }, 29_500),
        ]);
        assert_eq!(
            names,
            [
                "playback.start",
                "playback.progress",
                "playback.pause",
                "dup of evt_00000000000000000000000002",
                // Outside the window a still-paused report is plain progress, not a second pause.
                "playback.progress",
                "playback.resume",
                "playback.progress",
            ]
        );
        assert_eq!(state.expect("state").state, PlayState::Playing);
    }

    #[test]
    fn a_paused_progress_with_no_state_is_a_pause() {
        let (names, _) = run(&[(0, Action::Progress { paused: true }, 5_000)]);
        assert_eq!(names, ["playback.pause"]);
    }

    #[test]
    fn second_starts_within_the_window_are_duplicates_of_the_first() {
        let (names, _) = run(&[
            (0, Action::Start, 0),
            (400, Action::Start, 0),
            (59_000, Action::Start, 1_000),
            (61_000, Action::Start, 0),
        ]);
        assert_eq!(
            names,
            [
                "playback.start",
                "dup of evt_00000000000000000000000000",
                "dup of evt_00000000000000000000000000",
                // A minute later it is a new play.
                "playback.start",
            ]
        );
    }

    #[test]
    fn a_start_after_a_stop_is_a_new_play() {
        let (names, _) = run(&[
            (0, Action::Start, 0),
            (5_000, Action::Stop { completed: false }, 5_000),
            (6_000, Action::Stop { completed: false }, 5_000),
            (7_000, Action::Start, 5_000),
        ]);
        assert_eq!(
            names,
            [
                "playback.start",
                "playback.stop",
                "dup of evt_00000000000000000000000001",
                "playback.start",
            ]
        );
    }

    #[test]
    fn a_completed_stop_is_a_scrobble_and_plex_scrobbles_keep_playing() {
        let (names, state) = run(&[
            (0, Action::Start, 0),
            (1_000, Action::Scrobble, 900),
            (1_500, Action::Scrobble, 900),
            (2_000, Action::Stop { completed: true }, 1_000),
        ]);
        assert_eq!(
            names,
            [
                "playback.start",
                "playback.scrobble",
                "dup of evt_00000000000000000000000001",
                "playback.scrobble",
            ]
        );
        assert_eq!(state.expect("state").state, PlayState::Stopped);
    }

    #[test]
    fn a_zero_window_never_suppresses_but_still_derives() {
        let id = EventId::new();
        let first = transition(None, &signal(Action::Start, 0), &id, 0, 0);
        let Outcome::Emit(_, state) = first else {
            panic!("a first start is emitted")
        };
        let again = transition(Some(&state), &signal(Action::Start, 0), &id, 1, 0);
        assert!(matches!(again, Outcome::Emit(EventKind::PlaybackStart, _)));
        let pause = transition(
            Some(&state),
            &signal(Action::Progress { paused: true }, 0),
            &id,
            2,
            0,
        );
        assert!(matches!(pause, Outcome::Emit(EventKind::PlaybackPause, _)));
    }

    #[test]
    fn state_older_than_a_day_is_forgotten() {
        let id = EventId::new();
        let Outcome::Emit(_, paused) = transition(None, &signal(Action::Pause, 0), &id, 0, WINDOW)
        else {
            panic!("emitted")
        };
        // Paused a day ago: a paused progress now is a pause again, not progress.
        let later = transition(
            Some(&paused),
            &signal(Action::Progress { paused: true }, 0),
            &id,
            SESSION_TTL_MS + 1,
            WINDOW,
        );
        assert!(matches!(later, Outcome::Emit(EventKind::PlaybackPause, _)));
    }
}
