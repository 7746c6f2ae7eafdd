//! The tracing subscriber: human output on a terminal, JSON with `--log-format json`; level from `RUST_LOG`.

use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

/// Installs the global subscriber (once; later calls are no-ops, which tests rely on).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Human => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
    };
}

/// A budget of log lines per key and time window: the lines past it are counted, and the next line let
/// through says how many were held back. Errors and story lines use one each.
struct Throttle {
    window: std::time::Duration,
    per_window: u64,
    seen: std::sync::Mutex<Option<std::collections::HashMap<ThrottleKey, Window>>>,
}

type ThrottleKey = (&'static str, &'static str);
/// When a key's window began, its lines let through in it, and those held back since the last one through.
type Window = (std::time::Instant, u64, u64);

impl Throttle {
    const fn new(window: std::time::Duration, per_window: u64) -> Throttle {
        Throttle {
            window,
            per_window,
            seen: std::sync::Mutex::new(None),
        }
    }

    /// `None` when the line is held back; else how many of its key were held back before it.
    fn admit(&self, key: ThrottleKey) -> Option<u64> {
        let mut guard = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let now = std::time::Instant::now();
        let (began, through, held) = guard
            .get_or_insert_with(Default::default)
            .entry(key)
            .or_insert((now, 0, 0));
        if now.duration_since(*began) >= self.window {
            *began = now;
            *through = 0;
        }
        if *through >= self.per_window {
            *held += 1;
            return None;
        }
        *through += 1;
        Some(std::mem::take(held))
    }
}

/// One line a minute per (kind, message) of error.
static ERRORS: Throttle = Throttle::new(std::time::Duration::from_secs(60), 1);

/// Logs `message` (a fixed sentence) about an error of `kind` (a short stable name: `disk_full`, `accept`) at
/// most once a minute, with how many of the same were held back since the last line: a fault that hits every
/// request writes one line a minute, not one per request.
pub fn error_once_a_minute(
    kind: &'static str,
    message: &'static str,
    error: &dyn std::fmt::Display,
) {
    if let Some(held_back) = ERRORS.admit((kind, message)) {
        tracing::error!(message, kind, %error, repeated_in_the_last_minute = held_back);
    }
}

/// The story lines (an event received, a delivery made) logged one by one at most this many a second per
/// kind; past it they are counted and told as one line.
const STORY_LINES_PER_SECOND: u64 = 10;

static STORIES: Throttle = Throttle::new(std::time::Duration::from_secs(1), STORY_LINES_PER_SECOND);

/// Logs one story line of `kind` (`events`, `deliveries`) through `log`, unless more than ten of that kind
/// came within the current second: then it is only counted, and the next line logged after the second says
/// how many were not told one by one. Heavy traffic gives a line a second per kind, not a line per event.
pub fn story(kind: &'static str, log: impl FnOnce()) {
    let Some(untold) = STORIES.admit((kind, "")) else {
        return;
    };
    if untold > 0 {
        tracing::info!(
            kind,
            untold,
            "… and {untold} more {kind} not logged one by one (over {STORY_LINES_PER_SECOND} a second)"
        );
    }
    log();
}

/// The refused requests of sources, logged one by one at most this many a second.
static REFUSALS: Throttle =
    Throttle::new(std::time::Duration::from_secs(1), STORY_LINES_PER_SECOND);

/// Logs one refused request through `log`, unless more than ten came within the current second: then it is
/// counted, and the next line logged says how many were not told one by one.
pub fn refusal(log: impl FnOnce()) {
    let Some(untold) = REFUSALS.admit(("refusals", "")) else {
        return;
    };
    if untold > 0 {
        tracing::warn!(
            untold,
            "… and {untold} more refused requests not logged one by one (over {STORY_LINES_PER_SECOND} a second)"
        );
    }
    log();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_throttle_lets_its_budget_through_then_counts_until_the_next_window() {
        let throttle = Throttle::new(std::time::Duration::from_millis(50), 2);
        assert_eq!(throttle.admit(("k", "")), Some(0));
        assert_eq!(throttle.admit(("k", "")), Some(0));
        assert_eq!(throttle.admit(("k", "")), None);
        assert_eq!(throttle.admit(("k", "")), None);
        assert_eq!(
            throttle.admit(("other", "")),
            Some(0),
            "each key its own budget"
        );
        std::thread::sleep(std::time::Duration::from_millis(60));
        assert_eq!(
            throttle.admit(("k", "")),
            Some(2),
            "the next line says how many were held"
        );
    }
}
