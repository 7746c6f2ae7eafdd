//! Prometheus metrics (CONTRACT §7 `/metrics`): the names hookarr counts under, the process-wide recorder
//! (`metrics` with its Prometheus exporter), and what is measured when scraped — the queue from the store,
//! each destination's state from the engine, the process from `/proc`.

use crate::delivery::Engine;
use crate::storage::Store;
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

pub const EVENTS_RECEIVED: &str = "hookarr_events_received_total";
pub const EVENTS_REJECTED: &str = "hookarr_events_rejected_total";
pub const DELIVERIES: &str = "hookarr_deliveries_total";
pub const RETRIES: &str = "hookarr_delivery_retries_total";
pub const ATTEMPT_DURATION: &str = "hookarr_delivery_attempt_duration_seconds";
pub const RESULT_LAG: &str = "hookarr_delivery_result_lag_seconds";
pub const RATE_LIMITED: &str = "hookarr_rate_limited_total";
pub const AUTH_FAILURES: &str = "hookarr_auth_failures_total";
pub const QUEUE_DEPTH: &str = "hookarr_queue_depth";
pub const OLDEST_DUE_AGE: &str = "hookarr_queue_oldest_due_age_seconds";
pub const DESTINATION_UP: &str = "hookarr_destination_up";
pub const DESTINATION_PAUSED: &str = "hookarr_destination_paused";
pub const DESTINATION_DISABLED: &str = "hookarr_destination_disabled";

/// The process's recorder, installed on first use.
fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full(ATTEMPT_DURATION.into()),
                &[
                    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
                ],
            )
            .expect("the bucket list is not empty")
            .set_buckets_for_metric(
                Matcher::Full(RESULT_LAG.into()),
                &[
                    0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0,
                ],
            )
            .expect("the bucket list is not empty")
            .install_recorder()
            // Another recorder installed first (an embedder's): hookarr's counters go to it, and `/metrics`
            // renders this one, empty.
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder().handle())
    })
}

/// Installs the recorder (at start, so that counters from the first request on are kept).
pub fn install() {
    handle();
}

/// An event stored from a source.
pub fn event_received(source: &str, event: &str) {
    counter!(EVENTS_RECEIVED, "source" => source.to_owned(), "event" => event.to_owned())
        .increment(1);
}

/// A request from a source that stored nothing, and why (`unparseable`, `too_large`, `timeout`, …).
pub fn event_rejected(source: &str, reason: &'static str) {
    counter!(EVENTS_REJECTED, "source" => source.to_owned(), "reason" => reason).increment(1);
}

/// A delivery finished (`succeeded`, `failed`, `dead`, `expired`) or will be tried again (`retry`).
pub fn delivery_outcome(destination: &str, kind: &'static str, outcome: &'static str) {
    counter!(DELIVERIES, "destination" => destination.to_owned(), "type" => kind, "outcome" => outcome)
        .increment(1);
    if outcome == "retry" {
        counter!(RETRIES, "destination" => destination.to_owned()).increment(1);
    }
}

/// How long one exchange with a target took.
pub fn attempt_duration(destination: &str, seconds: f64) {
    histogram!(ATTEMPT_DURATION, "destination" => destination.to_owned()).record(seconds);
}

/// How long after an attempt's answer its result was stored: the window in which a crash would have the
/// delivery sent again.
pub fn result_lag(seconds: f64) {
    histogram!(RESULT_LAG).record(seconds);
}

/// A target said "slow down" (a 429, `Retry-After`, a spent bucket).
pub fn rate_limited(destination: &str) {
    counter!(RATE_LIMITED, "destination" => destination.to_owned()).increment(1);
}

/// A wrong API key (`wrong_key`), or a try refused for the address's earlier wrong keys (`refused`).
pub fn auth_failure(outcome: &'static str) {
    counter!(AUTH_FAILURES, "outcome" => outcome).increment(1);
}

/// The Prometheus text of everything, with the gauges measured now.
pub async fn render(
    store: &dyn Store,
    engine: &Engine,
) -> Result<String, crate::storage::StoreError> {
    let now = chrono::Utc::now();
    let queue = store.queue_snapshot(now).await?;
    for (state, count) in [
        ("pending", queue.pending),
        ("due", queue.due),
        ("dead", queue.dead),
        ("failed", queue.failed),
        ("unrouted", queue.unrouted),
    ] {
        gauge!(QUEUE_DEPTH, "state" => state).set(count as f64);
    }
    let age = queue
        .oldest_due_at
        .map(|t| (now - t).num_milliseconds().max(0) as f64 / 1000.0)
        .unwrap_or(0.0);
    gauge!(OLDEST_DUE_AGE).set(age);
    for d in engine.destination_health(now) {
        let name = d.name;
        gauge!(DESTINATION_UP, "destination" => name.clone())
            .set(f64::from(u8::from(!d.disabled && !d.paused)));
        gauge!(DESTINATION_PAUSED, "destination" => name.clone())
            .set(f64::from(u8::from(d.paused)));
        gauge!(DESTINATION_DISABLED, "destination" => name).set(f64::from(u8::from(d.disabled)));
    }
    process_gauges();
    let handle = handle();
    handle.run_upkeep();
    Ok(handle.render())
}

/// The usual `process_*` gauges, from `/proc/self` (Linux; elsewhere none).
fn process_gauges() {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return;
    };
    // Fields after the command name, which is in parentheses and may hold spaces.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| fields.get(n).and_then(|f| f.parse::<f64>().ok());
    // Linux reports times in clock ticks (100 per second on every mainstream
    // kernel configuration) and memory in pages of 4 KiB on x86-64 and arm64.
    const TICKS: f64 = 100.0;
    const PAGE: f64 = 4096.0;
    if let (Some(utime), Some(stime)) = (field(11), field(12)) {
        gauge!("process_cpu_seconds_total").set((utime + stime) / TICKS);
    }
    if let Some(rss) = field(21) {
        gauge!("process_resident_memory_bytes").set(rss * PAGE);
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        gauge!("process_open_fds").set(fds.count() as f64);
    }
    if let Some(started) = process_start_time(field(19)) {
        gauge!("process_start_time_seconds").set(started);
    }
}

/// The process's start as unix seconds: boot time plus its start in ticks after boot.
fn process_start_time(ticks_after_boot: Option<f64>) -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let boot: f64 = stat
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    Some(boot + ticks_after_boot? / 100.0)
}
