//! A full disk under the real binary: the process's file-size limit is lowered with `prlimit` (as unprivileged
//! as a test can make SQLite's writes fail for want of room), then raised again — hookarr must answer
//! `503 storage_unavailable` with `Retry-After` meanwhile, say so on `/readyz`, log it once a minute rather
//! than per request, lose nothing it accepted, and work again without a restart.

use crate::binary::{BIN, start_command, token_of, write_config_with};
use crate::helpers::{ADMIN_KEY, report_skip};
use crate::receiver::Receiver;
use serde_json::Value;
use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Sets the soft file-size limit of a running process (`None`: unlimited).
fn set_file_size_limit(pid: u32, bytes: Option<u64>) {
    let limit = bytes.map_or("unlimited".to_owned(), |b| b.to_string());
    let status = Command::new("prlimit")
        .arg(format!("--pid={pid}"))
        .arg(format!("--fsize={limit}:unlimited"))
        .status()
        .expect("prlimit runs");
    assert!(status.success(), "prlimit --fsize={limit}");
}

fn size_of(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_answers_503_readyz_turns_and_all_recovers_without_a_restart() {
    if Command::new("prlimit").arg("--version").output().is_err() {
        report_skip(
            "it::storage_faults::a_full_disk_answers_503_readyz_turns_and_all_recovers_without_a_restart",
            "no prlimit (util-linux) on this machine",
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::start().await;
    let extra = format!(
        "destinations:\n  - name: sink\n    type: webhook\n    url: {}\n    signing: none\n    rate_limit: {{per_second: 100000, burst: 1000}}\n",
        rx.url("/sink")
    );
    let db = dir.path().join("data/hookarr.db");
    let config = write_config_with(
        dir.path(),
        &format!("sqlite://{}", db.display()),
        Some(ADMIN_KEY),
        &extra,
    );
    let log_path = dir.path().join("hookarr.log");
    let log = std::fs::File::create(&log_path).unwrap();
    // A write past the limit raises SIGXFSZ, which would kill the process: the launcher ignores it (an ignored
    // signal stays ignored across exec), so the write fails with EFBIG as on a full disk.
    let mut launcher = Command::new("bash");
    launcher
        .args(["-c", "trap '' XFSZ; exec \"$0\" \"$@\"", BIN])
        .env("RUST_BACKTRACE", "1");
    let running = start_command(launcher, &config, dir.path(), "info", Stdio::from(log));
    let pid = running.child.id();
    let token = token_of(&running.banner, "radarr");
    let client = reqwest::Client::new();
    let copies = std::sync::atomic::AtomicU64::new(0);
    let post = async || {
        let copy = copies.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let resp = running.post_grab(&client, &token, copy).await;
        let status = resp.status().as_u16();
        let retry_after = resp.headers().contains_key("retry-after");
        let body: Value = resp.json().await.unwrap();
        (status, retry_after, body)
    };
    let readyz = async || {
        let resp = reqwest::get(format!("{}/readyz", running.base))
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
    };
    let mut accepted = HashSet::new();
    for _ in 0..10 {
        let (status, _, body) = post().await;
        assert_eq!(status, 202, "{body}");
        accepted.insert(body["events"][0].as_str().unwrap().to_owned());
    }
    rx.wait_for(accepted.len()).await;

    // The disk fills: no file may grow past its size now.
    let wal = dir.path().join("data/hookarr.db-wal");
    set_file_size_limit(pid, Some(size_of(&db).max(size_of(&wal))));
    let refused = loop {
        let (status, retry_after, body) = post().await;
        match status {
            202 => {
                accepted.insert(body["events"][0].as_str().unwrap().to_owned());
            }
            503 => break (retry_after, body),
            other => panic!("a full disk answered {other}: {body}"),
        }
        assert!(
            copies.load(std::sync::atomic::Ordering::Relaxed) < 20_000,
            "the writes never failed"
        );
    };
    assert!(refused.0, "503 carries Retry-After");
    assert_eq!(
        refused.1["error"]["code"], "storage_unavailable",
        "{}",
        refused.1
    );
    let mut more_refused = 0;
    for _ in 0..30 {
        let (status, _, body) = post().await;
        match status {
            503 => more_refused += 1,
            202 => {
                accepted.insert(body["events"][0].as_str().unwrap().to_owned());
            }
            other => panic!("a full disk answered {other}: {body}"),
        }
    }
    assert!(
        more_refused > 0,
        "writes keep failing while the disk is full"
    );
    let (status, ready) = readyz().await;
    assert_eq!(status, 503, "/readyz while writes fail: {ready}");
    assert_ne!(ready["writes"], "ok", "{ready}");

    // Room again: hookarr comes back by itself. The app retries as told; once a retry is stored, /readyz
    // says ready again.
    set_file_size_limit(pid, None);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, _, body) = post().await;
        if status == 202 {
            accepted.insert(body["events"][0].as_str().unwrap().to_owned());
            let (status, ready) = readyz().await;
            assert_eq!(status, 200, "/readyz once writes work: {ready}");
            break;
        }
        assert!(Instant::now() < deadline, "writes never recovered: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // One at a time, each delivered before the next: the writes go round every pooled connection, so one
    // left inside a failed transaction would be lent again.
    for _ in 0..12 {
        let (status, _, body) = post().await;
        assert_eq!(status, 202, "after recovery: {body}");
        let id = body["events"][0].as_str().unwrap().to_owned();
        accepted.insert(id.clone());
        let deadline = Instant::now() + Duration::from_secs(10);
        while !rx.got().iter().any(|g| g.json()["id"] == id.as_str()) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // Everything accepted is delivered — the engine's own connections came back too.
    let deadline = Instant::now() + Duration::from_secs(30);
    let delivered = loop {
        let delivered: HashSet<String> = rx
            .got()
            .iter()
            .map(|g| g.json()["id"].as_str().unwrap().to_owned())
            .collect();
        if accepted.is_subset(&delivered) || Instant::now() > deadline {
            break delivered;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let lost = accepted.difference(&delivered).count();
    assert_eq!(
        lost,
        0,
        "{lost} of {} accepted events never delivered",
        accepted.len()
    );
    drop(running);

    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        !log.contains("non-zero transaction depth"),
        "a pooled connection was lent inside a transaction"
    );
    assert!(
        !log.contains("stack backtrace"),
        "no backtrace per request, even with RUST_BACKTRACE=1"
    );
    let per_request = log
        .lines()
        .filter(|l| l.contains("A request could not be stored."))
        .count();
    assert!(
        (1..=2).contains(&per_request),
        "{} refused requests logged {per_request} lines (once a minute per kind of fault)",
        more_refused + 1
    );
}
