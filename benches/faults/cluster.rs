//! Three processes on one PostgreSQL under every fault at once: events posted round-robin to the three while
//! one process is killed -9 and started again, the target fails (503) for a while, then answers 429 for a
//! while, and PostgreSQL itself restarts (`pg_ctlcluster … restart`). Every event answered 202 must be stored
//! and delivered (counted by distinct delivery at the receiver); duplicates are counted.

use crate::hookarr::{Figures, Hookarr, config, post_grab};
use crate::receiver::{Receiver, Reply};
use crate::{Outcome, Scale};
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

/// Concurrent posting clients, spread over the processes.
const CLIENTS: usize = 24;

pub async fn run(scale: Scale) -> Outcome {
    let name = "3 processes on PostgreSQL, all faults";
    let dir = tempfile::tempdir().unwrap();
    let storage = crate::common::fresh_pg().await.0;
    let rx = Receiver::start().await;
    let ok = || Reply::status(204).delay(Duration::from_millis(2));
    rx.set_default(ok());
    let cfg = config(
        dir.path(),
        &storage,
        &rx.url("/sink"),
        "    rate_limit: {per_second: 100000, burst: 1000}\n    retry: {max_attempts: 100, schedule: [0s, 1s, 2s, 5s]}\n",
    );
    // One after the other: the first makes the secret key the others read.
    let mut processes: Vec<Hookarr> = (0..3).map(|_| Hookarr::start(&cfg, None)).collect();
    let token = processes[0].token.clone();
    let bases = RwLock::new(processes.iter().map(|p| p.base.clone()).collect::<Vec<_>>());
    let total = scale.cluster_events;
    let accepted = Mutex::new(HashSet::new());
    let next = AtomicU64::new(0);
    let posting_done = AtomicBool::new(false);
    let client = reqwest::Client::new();

    let poster = async || {
        while accepted.lock().unwrap().len() < total {
            let copy = next.fetch_add(1, Ordering::Relaxed);
            let base = bases.read().unwrap()[copy as usize % 3].clone();
            match post_grab(&client, &base, &token, copy).await {
                Ok((202, Some(id))) => {
                    accepted.lock().unwrap().insert(id);
                }
                // Refused or unanswered (a killed process, PostgreSQL restarting): another copy shortly.
                Ok(_) | Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
        posting_done.store(true, Ordering::Relaxed);
    };
    let reached = |fraction: f64| {
        let accepted = &accepted;
        async move {
            while (accepted.lock().unwrap().len() as f64) < fraction * total as f64 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    };
    let mut notes = Vec::new();
    let mut restarted_pg = None;
    let faults = async {
        reached(0.15).await;
        let killed = processes.remove(1);
        let _ = std::process::Command::new("kill")
            .args(["-9", &killed.child.id().to_string()])
            .status();
        drop(killed);
        tokio::time::sleep(Duration::from_millis(500)).await;
        let again = start_blocking(cfg.clone()).await;
        bases.write().unwrap()[1] = again.base.clone();
        processes.insert(1, again);
        notes.push("process 2 killed -9 at 15 % and started again".to_owned());

        reached(0.30).await;
        rx.set_default(Reply::status(503));
        tokio::time::sleep(scale.cluster_fault_for).await;
        rx.set_default(ok());
        notes.push(format!(
            "target 503 for {} s at 30 %",
            scale.cluster_fault_for.as_secs()
        ));

        reached(0.50).await;
        rx.set_default(Reply::status(429).header("retry-after", "1"));
        tokio::time::sleep(scale.cluster_fault_for).await;
        rx.set_default(ok());
        notes.push(format!(
            "429 (Retry-After: 1) for {} s at 50 %",
            scale.cluster_fault_for.as_secs()
        ));

        reached(0.70).await;
        let started = Instant::now();
        restarted_pg = Some(restart_postgres().await);
        notes.push(match &restarted_pg {
            Some(Ok(())) => format!(
                "PostgreSQL restarted at 70 % ({:.1} s)",
                started.elapsed().as_secs_f64()
            ),
            Some(Err(why)) => format!("PostgreSQL not restarted: {why}"),
            None => unreachable!(),
        });
    };
    let clients = futures_util::future::join_all((0..CLIENTS).map(|_| poster()));
    tokio::join!(clients, faults);
    let settled = processes[0].settled(Duration::from_secs(180)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stored = processes[2].stored().await;
    let accepted = accepted.into_inner().unwrap();
    let figures = Figures::count(&accepted, &stored, &rx);
    let must_restart = std::env::var_os("HOOKARR_TEST_PG").is_some();
    Outcome::new(name, Some(figures))
        .note(notes.join("; "))
        .check(
            settled,
            "deliveries still pending 180 s after the last fault",
        )
        .check(
            !must_restart || matches!(restarted_pg, Some(Ok(()))),
            "PostgreSQL could not be restarted (HOOKARR_TEST_PG is set: CI must restart it)",
        )
}

async fn start_blocking(cfg: PathBuf) -> Hookarr {
    tokio::task::spawn_blocking(move || Hookarr::start(&cfg, None))
        .await
        .unwrap()
}

/// Restarts the local PostgreSQL cluster (this machine's, on 127.0.0.1:5432) and waits until it answers.
async fn restart_postgres() -> Result<(), String> {
    let version = std::fs::read_dir("/etc/postgresql")
        .map_err(|e| format!("no /etc/postgresql ({e})"))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .next()
        .ok_or("no cluster under /etc/postgresql")?;
    let status = tokio::process::Command::new("pg_ctlcluster")
        .args(["--skip-systemctl-redirect", &version, "main", "restart"])
        .status()
        .await
        .map_err(|e| format!("pg_ctlcluster: {e}"))?;
    if !status.success() {
        return Err(format!("pg_ctlcluster exited with {status}"));
    }
    for _ in 0..60 {
        if crate::pg_reachable().await {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err("PostgreSQL did not come back within 30 s".into())
}
