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

/// Errors logged at most once a minute, by (kind, message): when each was last logged, and how many were held
/// back since.
type Seen = std::collections::HashMap<(&'static str, &'static str), (std::time::Instant, u64)>;
static THROTTLED: std::sync::Mutex<Option<Seen>> = std::sync::Mutex::new(None);

/// Logs `message` (a fixed sentence) about an error of `kind` (a short stable name: `disk_full`, `accept`) at
/// most once a minute, with how many of the same were held back since the last line: a fault that hits every
/// request writes one line a minute, not one per request.
pub fn error_once_a_minute(
    kind: &'static str,
    message: &'static str,
    error: &dyn std::fmt::Display,
) {
    let held_back = {
        let mut guard = THROTTLED.lock().unwrap_or_else(|p| p.into_inner());
        let seen = guard.get_or_insert_with(Default::default);
        let now = std::time::Instant::now();
        match seen.get_mut(&(kind, message)) {
            Some((last, count))
                if now.duration_since(*last) < std::time::Duration::from_secs(60) =>
            {
                *count += 1;
                return;
            }
            Some((last, count)) => {
                *last = now;
                std::mem::take(count)
            }
            None => {
                seen.insert((kind, message), (now, 0));
                0
            }
        }
    };
    tracing::error!(message, kind, %error, repeated_in_the_last_minute = held_back);
}

/// The story lines (an event received, a delivery made) logged one by one at most this many a second per
/// kind; past it they are counted and told as one line.
const STORY_LINES_PER_SECOND: u64 = 10;

type Stories = std::collections::HashMap<&'static str, (std::time::Instant, u64, u64)>;
static STORIES: std::sync::Mutex<Option<Stories>> = std::sync::Mutex::new(None);

/// Logs one story line of `kind` (`events`, `deliveries`) through `log`, unless more than ten of that kind
/// came within the current second: then it is only counted, and the next line logged after the second says
/// how many were not told one by one. Heavy traffic gives a line a second per kind, not a line per event.
pub fn story(kind: &'static str, log: impl FnOnce()) {
    let untold = {
        let mut guard = STORIES.lock().unwrap_or_else(|p| p.into_inner());
        let stories = guard.get_or_insert_with(Default::default);
        let now = std::time::Instant::now();
        let (window, told, untold) = stories.entry(kind).or_insert((now, 0, 0));
        if now.duration_since(*window) >= std::time::Duration::from_secs(1) {
            *window = now;
            *told = 0;
        }
        if *told >= STORY_LINES_PER_SECOND {
            *untold += 1;
            return;
        }
        *told += 1;
        std::mem::take(untold)
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
