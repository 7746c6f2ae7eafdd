//! `kill -9` under load: 32 clients post while hookarr delivers; the process is killed without warning once
//! enough events were accepted, then started again on the same database. Every event answered 202 must be
//! stored and delivered; sends that were in flight at the kill may go out twice (at-least-once).

use crate::hookarr::{Figures, Hookarr, config, post_until};
use crate::receiver::{Receiver, Reply};
use crate::{Outcome, Scale};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long the target takes to answer each send.
const TARGET_TAKES: Duration = Duration::from_millis(2);

/// How long after the receiver hands over an answer hookarr is taken to have heard it.
const HEARD_IN: Duration = Duration::from_millis(1);

pub async fn run(postgres: bool, scale: Scale) -> Outcome {
    let name = if postgres {
        "kill -9 under load (PostgreSQL)"
    } else {
        "kill -9 under load (SQLite)"
    };
    let dir = tempfile::tempdir().unwrap();
    let storage = if postgres {
        crate::common::fresh_pg().await.0
    } else {
        format!("sqlite://{}/hookarr.db", dir.path().display())
    };
    let rx = Receiver::start().await;
    rx.set_default(Reply::status(204).delay(TARGET_TAKES));
    let cfg = config(
        dir.path(),
        &storage,
        &rx.url("/sink"),
        "    rate_limit: {per_second: 100000, burst: 1000}\n",
    );
    let first = Hookarr::start(&cfg, None);
    let next = AtomicU64::new(0);
    let pid = first.child.id();
    let killed = AtomicBool::new(false);
    let killed_at = Mutex::new(None);
    let lag = Mutex::new(None);
    // The kill lands while the clients are still posting: some requests die with the process, unanswered.
    let accepted = tokio::join!(
        post_until(&first, 32, &next, |_| killed.load(Ordering::Relaxed)),
        async {
            loop {
                tokio::time::sleep(Duration::from_millis(5)).await;
                if next.load(Ordering::Relaxed) as usize >= scale.kill_after {
                    let said = result_lag(&first.metrics().await);
                    *lag.lock().unwrap() = said;
                    let _ = std::process::Command::new("kill")
                        .args(["-9", &pid.to_string()])
                        .status();
                    // The process is gone once `kill` has returned: nothing arrives after this.
                    *killed_at.lock().unwrap() = Some(Instant::now());
                    killed.store(true, Ordering::Relaxed);
                    return;
                }
            }
        }
    )
    .0;
    drop(first);
    let in_flight_at_kill = rx.got().len();
    let second = Hookarr::start(&cfg, None);
    let settled = second.settled(Duration::from_secs(120)).await;
    // Let a duplicate from the restart show up before counting.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stored = second.stored().await;
    let figures = Figures::count(&accepted, &stored, &rx);
    let killed_at = killed_at.lock().unwrap().expect("the kill was sent");
    let (unanswered, unrecorded) = sent_twice(&rx, killed_at);
    let note = format!(
        "killed after {} posts ({} sends had arrived); restarted and drained; of the sends made again, \
         {unanswered} were still unanswered at the kill, {unrecorded} answered but not yet recorded{}",
        next.load(Ordering::Relaxed),
        in_flight_at_kill,
        lag.lock()
            .unwrap()
            .map(|(p50, p99)| format!(
                " (results stored p50 ≤ {p50} ms, p99 ≤ {p99} ms after their answer)"
            ))
            .unwrap_or_default()
    );
    Outcome::new(name, Some(figures))
        .note(note)
        .check(settled, "deliveries still pending 120 s after the restart")
}

/// The sends that arrived twice, split by where the first was at the kill: its answer not yet handed over by
/// the receiver a millisecond before `kill` returned (any at-least-once sender sends these again; under this
/// load the receiver itself answers late), or answered before and not yet recorded by hookarr (what the
/// answered-sends journal and a faster write-back save).
fn sent_twice(rx: &Receiver, killed_at: Instant) -> (usize, usize) {
    // Per delivery: when its first copy was answered (`None`: not yet), and how many copies came.
    let mut first: HashMap<String, (Option<Instant>, Instant, usize)> = HashMap::new();
    for g in rx.got().iter().filter(|g| (200..300).contains(&g.status)) {
        let seen = first
            .entry(g.header("x-hookarr-delivery").to_owned())
            .or_insert((g.answered, g.at, 0));
        if g.at < seen.1 {
            (seen.0, seen.1) = (g.answered, g.at);
        }
        seen.2 += 1;
    }
    first
        .values()
        .fold((0, 0), |(unanswered, unrecorded), (answered, _, copies)| {
            let again = copies - 1;
            // An answer handed over less than a millisecond before the kill may not have reached hookarr.
            let heard =
                answered.is_some_and(|at| killed_at.saturating_duration_since(at) >= HEARD_IN);
            if heard {
                (unanswered, unrecorded + again)
            } else {
                (unanswered + again, unrecorded)
            }
        })
}

/// The p50 and p99 of `hookarr_delivery_result_lag_seconds` in a `/metrics` text, as the upper bounds (ms) of
/// the buckets they fall in; `None` without the histogram.
fn result_lag(metrics: &str) -> Option<(f64, f64)> {
    let buckets: Vec<(f64, f64)> = metrics
        .lines()
        .filter_map(|l| l.strip_prefix("hookarr_delivery_result_lag_seconds_bucket{le=\""))
        .filter_map(|l| {
            let (le, count) = l.split_once("\"} ")?;
            Some((le.parse().ok()?, count.trim().parse().ok()?))
        })
        .collect();
    let total = buckets.last()?.1;
    let at = |q: f64| {
        buckets
            .iter()
            .find(|(_, n)| *n >= q * total)
            .map_or(f64::INFINITY, |(le, _)| le * 1000.0)
    };
    (total > 0.0).then(|| (at(0.5), at(0.99)))
}
