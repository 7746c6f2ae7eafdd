//! Disk full: the database on a small tmpfs that fills up (when this machine lets the suite mount one, as
//! root), else under a file-size limit (`prlimit`). hookarr must answer `503 storage_unavailable` while writes
//! fail — never 500 — lose nothing it accepted, and come back by itself once there is room.

use crate::Outcome;
use crate::hookarr::{Figures, Hookarr, config, post_until};
use crate::receiver::Receiver;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How the disk is filled and emptied.
enum Filler {
    Tmpfs(std::path::PathBuf),
    FileSizeLimit,
}

impl Filler {
    fn make_room(&self, pid: u32) {
        match self {
            Filler::Tmpfs(mount) => sh(
                "mount",
                &["-o", "remount,size=64m", &mount.display().to_string()],
            ),
            Filler::FileSizeLimit => sh(
                "prlimit",
                &[&format!("--pid={pid}"), "--fsize=unlimited:unlimited"],
            ),
        }
    }
}

fn sh(program: &str, args: &[&str]) {
    let ok = Command::new(program)
        .args(args)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "{program} {args:?} failed");
}

pub async fn run() -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let mount = dir.path().join("disk");
    std::fs::create_dir(&mount).unwrap();
    let tmpfs = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=3m", "tmpfs"])
        .arg(&mount)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let filler = if tmpfs {
        Filler::Tmpfs(mount.clone())
    } else {
        Filler::FileSizeLimit
    };
    let outcome = fill_and_recover(&mount, &filler).await;
    if tmpfs {
        let _ = Command::new("umount").arg(&mount).status();
    }
    outcome
}

async fn fill_and_recover(data: &std::path::Path, filler: &Filler) -> Outcome {
    let rx = Receiver::start().await;
    let cfg = config(
        data,
        &format!("sqlite://{}/hookarr.db", data.display()),
        &rx.url("/sink"),
        "    rate_limit: {per_second: 100000, burst: 1000}\n",
    );
    // A write past a file-size limit raises SIGXFSZ: ignored by the launcher, it fails with EFBIG instead.
    let mut launcher = Command::new("bash");
    launcher.args(["-c", "trap '' XFSZ; exec \"$0\" \"$@\""]);
    let hookarr = Hookarr::start(&cfg, Some(launcher));
    let pid = hookarr.child.id();
    if let Filler::FileSizeLimit = filler {
        let db = std::fs::metadata(data.join("hookarr.db")).map_or(0, |m| m.len());
        let wal = std::fs::metadata(data.join("hookarr.db-wal")).map_or(0, |m| m.len());
        sh(
            "prlimit",
            &[
                &format!("--pid={pid}"),
                &format!("--fsize={}:unlimited", db.max(wal)),
            ],
        );
    }
    // Post until the disk is full (every answer then 503), and a little longer.
    let next = AtomicU64::new(0);
    let mut statuses = std::collections::BTreeMap::<u16, u64>::new();
    let mut accepted = std::collections::HashSet::new();
    let mut refused_in_a_row = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    while refused_in_a_row < 50 && Instant::now() < deadline {
        let copy = next.fetch_add(1, Ordering::Relaxed);
        let (status, id) = hookarr.post(copy).await.unwrap_or((0, None));
        *statuses.entry(status).or_default() += 1;
        match (status, id) {
            (202, Some(id)) => {
                accepted.insert(id);
                refused_in_a_row = 0;
            }
            _ => refused_in_a_row += 1,
        }
    }
    let full_ready = hookarr.status_of("/readyz").await;
    filler.make_room(pid);
    let room = Instant::now();
    // As the apps do after a 503: retry now and then, until it is stored and /readyz agrees.
    let mut recovered = None;
    while room.elapsed() < Duration::from_secs(30) {
        let copy = next.fetch_add(1, Ordering::Relaxed);
        if let Ok((202, Some(id))) = hookarr.post(copy).await {
            accepted.insert(id);
            if hookarr.status_of("/readyz").await == 200 {
                recovered = Some(room.elapsed());
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let after = post_until(&hookarr, 4, &next, |n| n >= 50).await;
    accepted.extend(after);
    let settled = hookarr.settled(Duration::from_secs(60)).await;
    let stored = hookarr.stored().await;
    let figures = Figures::count(&accepted, &stored, &rx);
    let how = match filler {
        Filler::Tmpfs(_) => "3 MB tmpfs",
        Filler::FileSizeLimit => "file-size limit (no tmpfs here)",
    };
    let answers: Vec<String> = statuses.iter().map(|(s, n)| format!("{n}×{s}")).collect();
    Outcome::new("disk full, then room again", Some(figures))
        .note(format!(
            "{how}: answers while filling {}; /readyz full {full_ready}; ready again after {}",
            answers.join(" "),
            recovered.map_or("never".to_owned(), |d| format!("{:.1} s", d.as_secs_f64()))
        ))
        .check(statuses.contains_key(&503), "the disk never filled: no 503")
        .check(
            statuses.keys().all(|s| matches!(s, 202 | 503)),
            format!("answers other than 202/503 while the disk filled: {answers:?}"),
        )
        .check(
            full_ready == 503,
            format!("/readyz answered {full_ready} while writes failed"),
        )
        .check(
            recovered.is_some(),
            "/readyz never turned 200 after room came back",
        )
        .check(settled, "deliveries still pending after recovery")
}
