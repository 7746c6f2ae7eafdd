//! The fault suite: the real `hookarr` binary under the faults it must survive, each printing what it came to
//! (accepted, stored, delivered, duplicates, lost). Everything runs on loopback.
//!
//! - `kill -9` under load (SQLite, and PostgreSQL when reachable): restarted on the same database;
//! - target down, then up on the same port;
//! - a 429 storm (`Retry-After: 2`): one probe per pause, everything delivered after;
//! - disk full: on a small tmpfs when the machine allows mounting one (root), else a file-size limit;
//! - slow clients: half-sent heads and stalled bodies, beyond `server.max_connections`;
//! - three processes on one PostgreSQL under all of it at once: one killed -9 and restarted, the target
//!   failing then rate limiting, PostgreSQL restarted.
//!
//! `cargo bench --bench faults` (long form, a few minutes) · `cargo bench --profile dev --bench faults --
//! --short` (CI's form, under two minutes, reuses the test build) · `-- --only kill9,down,storm,disk,slow,cluster`.
//! Exits 1 if any accepted event is lost or a check fails.

mod cluster;
#[path = "../common/mod.rs"]
mod common;
mod disk_full;
mod hookarr;
mod kill9;
#[path = "../../tests/it/receiver.rs"]
#[allow(dead_code)]
mod receiver;
#[path = "../../tests/support/serve.rs"]
#[allow(dead_code)]
mod serve;
mod slow_clients;
mod target;

use hookarr::Figures;

/// How big and long each scenario is.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    /// Events accepted before the kill.
    pub kill_after: usize,
    /// Events posted to a target that is down, and how long it stays down.
    pub down_events: u64,
    pub down_for: std::time::Duration,
    /// How long the 429 storm lasts, and the events caught in it.
    pub storm_for: std::time::Duration,
    pub storm_events: u64,
    /// Half-sent requests held open by the slow clients.
    pub slow_clients: usize,
    /// Events posted to the three processes, and how long each target fault lasts there.
    pub cluster_events: usize,
    pub cluster_fault_for: std::time::Duration,
}

impl Scale {
    fn new(short: bool) -> Scale {
        use std::time::Duration;
        if short {
            Scale {
                kill_after: 1_500,
                down_events: 200,
                down_for: Duration::from_secs(5),
                storm_for: Duration::from_secs(8),
                storm_events: 50,
                slow_clients: 300,
                cluster_events: 1_500,
                cluster_fault_for: Duration::from_secs(3),
            }
        } else {
            Scale {
                kill_after: 6_000,
                down_events: 300,
                down_for: Duration::from_secs(60),
                storm_for: Duration::from_secs(20),
                storm_events: 300,
                slow_clients: 700,
                cluster_events: 10_000,
                cluster_fault_for: Duration::from_secs(15),
            }
        }
    }
}

/// One scenario's result: its figures, and the checks that failed (empty when it held).
pub struct Outcome {
    pub name: String,
    pub figures: Option<Figures>,
    /// What else it measured, in words.
    pub note: String,
    pub failures: Vec<String>,
}

impl Outcome {
    pub fn new(name: impl Into<String>, figures: Option<Figures>) -> Outcome {
        let mut failures = Vec::new();
        if let Some(f) = &figures
            && f.lost > 0
        {
            failures.push(format!("{} accepted events lost", f.lost));
        }
        Outcome {
            name: name.into(),
            figures,
            note: String::new(),
            failures,
        }
    }

    /// Adds to the note.
    pub fn note(mut self, note: impl AsRef<str>) -> Outcome {
        if !self.note.is_empty() {
            self.note.push_str("; ");
        }
        self.note.push_str(note.as_ref());
        self
    }

    /// Records a check: `failure` is kept unless `held`.
    pub fn check(mut self, held: bool, failure: impl Into<String>) -> Outcome {
        if !held {
            self.failures.push(failure.into());
        }
        self
    }
}

fn main() -> std::process::ExitCode {
    let short = std::env::args().any(|a| a == "--short");
    let scale = Scale::new(short);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // `--only kill9,storm`: some scenarios (kill9, down, storm, disk, slow, cluster).
    let only: Option<String> = std::env::args().skip_while(|a| a != "--only").nth(1);
    let runs = |key: &str| {
        only.as_deref()
            .is_none_or(|o| o.split(',').any(|k| k == key))
    };
    let outcomes = rt.block_on(async {
        let mut outcomes = Vec::new();
        if runs("kill9") {
            outcomes.push(kill9::run(false, scale).await);
            outcomes.push(match pg_reachable().await {
                true => kill9::run(true, scale).await,
                false => Outcome::new("kill -9 under load (PostgreSQL)", None)
                    .note("skipped: no PostgreSQL on HOOKARR_TEST_PG or 127.0.0.1:5432"),
            });
        }
        if runs("down") {
            outcomes.push(target::down_then_up(scale).await);
        }
        if runs("storm") {
            outcomes.push(target::storm(scale).await);
        }
        if runs("disk") {
            outcomes.push(disk_full::run().await);
        }
        if runs("slow") {
            outcomes.push(slow_clients::run(scale).await);
        }
        if runs("cluster") {
            outcomes.push(match pg_reachable().await {
                true => cluster::run(scale).await,
                false => Outcome::new("3 processes on PostgreSQL, all faults", None)
                    .note("skipped: no PostgreSQL on HOOKARR_TEST_PG or 127.0.0.1:5432"),
            });
        }
        outcomes
    });
    println!(
        "\n{:<40} {:>9} {:>7} {:>10} {:>11} {:>5}  note",
        "scenario", "accepted", "stored", "delivered", "duplicates", "lost"
    );
    let mut failed = false;
    for o in &outcomes {
        match &o.figures {
            Some(f) => println!(
                "{:<40} {:>9} {:>7} {:>10} {:>11} {:>5}  {}",
                o.name, f.accepted, f.stored, f.delivered, f.duplicates, f.lost, o.note
            ),
            None => println!("{:<40} {:>46}  {}", o.name, "", o.note),
        }
        for failure in &o.failures {
            failed = true;
            println!("  FAILED: {failure}");
        }
    }
    if failed {
        std::process::ExitCode::FAILURE
    } else {
        std::process::ExitCode::SUCCESS
    }
}

async fn pg_reachable() -> bool {
    let admin = std::env::var("HOOKARR_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    tokio::time::timeout(
        std::time::Duration::from_secs(3),
        <sqlx::PgConnection as sqlx::Connection>::connect(&admin),
    )
    .await
    .is_ok_and(|c| c.is_ok())
}
