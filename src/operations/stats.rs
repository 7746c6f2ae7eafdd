//! How each destination and registered webhook is doing (`GET /api/stats`): over the last hour and the last
//! day, its attempts, success rate, p50/p95 latency, retries and deliveries that went dead, and its queue
//! now — computed from the attempt log.

use super::OperationError;
use crate::storage::{AttemptOutcome, AttemptSample, DeliveryStatus, Store};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// The longest a delivery's retries run (the default schedule's sum is under 9 h): attempts of a day are
/// those of the deliveries created within a day and this much before.
const LONGEST_RETRY_SPAN: Duration = Duration::hours(12);

/// One window's figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = StatsWindow)]
pub struct Window {
    pub attempts: u64,
    pub succeeded: u64,
    /// Succeeded attempts over attempts that reached a verdict (`null` without any).
    pub success_rate: Option<f64>,
    pub p50_ms: Option<u64>,
    pub p95_ms: Option<u64>,
    pub retries: u64,
    pub dead: u64,
}

/// One destination's figures.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DestinationStats {
    pub destination: String,
    /// Pending deliveries now.
    pub queue_depth: u64,
    pub last_hour: Window,
    pub last_day: Window,
}

/// The figures of `destinations` (all there are when `None`), by name.
pub async fn stats(
    store: &dyn Store,
    destinations: Option<&[String]>,
    now: DateTime<Utc>,
) -> Result<Vec<DestinationStats>, OperationError> {
    let day = now - Duration::hours(24);
    let hour = now - Duration::hours(1);
    let samples = store.attempts_since(day - LONGEST_RETRY_SPAN, day).await?;
    let wanted = |name: &str| destinations.is_none_or(|d| d.iter().any(|w| w == name));
    let mut by_destination: BTreeMap<String, (Vec<&AttemptSample>, u64)> = BTreeMap::new();
    for name in destinations.into_iter().flatten() {
        by_destination.entry(name.clone()).or_default();
    }
    for s in samples.iter().filter(|s| wanted(&s.destination)) {
        by_destination
            .entry(s.destination.clone())
            .or_default()
            .0
            .push(s);
    }
    for count in store.delivery_counts().await? {
        if count.status == DeliveryStatus::Pending && wanted(&count.destination) {
            by_destination.entry(count.destination).or_default().1 = count.count;
        }
    }
    Ok(by_destination
        .into_iter()
        .map(|(destination, (samples, queue_depth))| DestinationStats {
            destination,
            queue_depth,
            last_hour: window(samples.iter().copied().filter(|s| s.started_at >= hour)),
            last_day: window(samples.iter().copied()),
        })
        .collect())
}

fn window<'a>(samples: impl Iterator<Item = &'a AttemptSample>) -> Window {
    let mut w = Window::default();
    let mut verdicts = 0u64;
    let mut latencies = Vec::new();
    for s in samples {
        if matches!(
            s.outcome,
            AttemptOutcome::RenderFailed | AttemptOutcome::Expired
        ) {
            // Nothing was sent.
            continue;
        }
        w.attempts += 1;
        latencies.push(s.duration_ms);
        match s.outcome {
            AttemptOutcome::Succeeded => {
                w.succeeded += 1;
                verdicts += 1;
            }
            AttemptOutcome::Retry | AttemptOutcome::RateLimited => {
                w.retries += 1;
                verdicts += 1;
            }
            AttemptOutcome::Dead | AttemptOutcome::Failed | AttemptOutcome::Disabled => {
                verdicts += 1
            }
            // An exchange before the last of one attempt (an edit's message gone, a rich message refused).
            _ => {}
        }
        if s.killed {
            w.dead += 1;
        }
    }
    w.success_rate = (verdicts > 0).then(|| w.succeeded as f64 / verdicts as f64);
    latencies.sort_unstable();
    let pct = |p: f64| {
        (!latencies.is_empty())
            .then(|| latencies[((latencies.len() - 1) as f64 * p).round() as usize])
    };
    w.p50_ms = pct(0.50);
    w.p95_ms = pct(0.95);
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(outcome: AttemptOutcome, ms: u64, killed: bool) -> AttemptSample {
        AttemptSample {
            destination: "d".into(),
            started_at: Utc::now(),
            duration_ms: ms,
            outcome,
            killed,
        }
    }

    #[test]
    fn a_window_counts_verdicts_and_percentiles() {
        let mut samples: Vec<AttemptSample> = (1..=18)
            .map(|ms| sample(AttemptOutcome::Succeeded, ms, false))
            .collect();
        samples.push(sample(AttemptOutcome::Retry, 100, false));
        samples.push(sample(AttemptOutcome::Dead, 200, true));
        samples.push(sample(AttemptOutcome::RenderFailed, 0, false));
        let w = window(samples.iter());
        assert_eq!((w.attempts, w.succeeded, w.retries, w.dead), (20, 18, 1, 1));
        assert_eq!(w.success_rate, Some(0.9));
        assert_eq!(w.p50_ms, Some(11));
        assert_eq!(w.p95_ms, Some(100));
        assert_eq!(window(std::iter::empty()), Window::default());
    }
}
