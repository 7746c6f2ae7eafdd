//! `kill -9` under load: 32 clients post while hookarr delivers; the process is killed without warning once
//! enough events were accepted, then started again on the same database. Every event answered 202 must be
//! stored and delivered; sends that were in flight at the kill may go out twice (at-least-once).

use crate::hookarr::{Figures, Hookarr, config, post_until};
use crate::receiver::{Receiver, Reply};
use crate::{Outcome, Scale};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

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
    rx.set_default(Reply::status(204).delay(Duration::from_millis(2)));
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
    // The kill lands while the clients are still posting: some requests die with the process, unanswered.
    let accepted = tokio::join!(
        post_until(&first, 32, &next, |_| killed.load(Ordering::Relaxed)),
        async {
            loop {
                tokio::time::sleep(Duration::from_millis(5)).await;
                if next.load(Ordering::Relaxed) as usize >= scale.kill_after {
                    let _ = std::process::Command::new("kill")
                        .args(["-9", &pid.to_string()])
                        .status();
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
    let note = format!(
        "killed after {} posts ({} sends had arrived); restarted and drained",
        next.load(Ordering::Relaxed),
        in_flight_at_kill
    );
    Outcome::new(name, Some(figures))
        .note(note)
        .check(settled, "deliveries still pending 120 s after the restart")
}
