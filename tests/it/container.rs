//! The container image without a container engine: the binary in a scratch folder laid out like the image
//! (`/usr/local/bin/hookarr`, a `/config` volume), started by the image's entrypoint as root with
//! `PUID`/`PGID`, and judged by the image's health check.

use crate::binary::start_command;
use crate::helpers::report_skip;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::{Command, Stdio};

const NOBODY: u32 = 65534;

#[test]
fn the_entrypoint_runs_hookarr_as_puid_with_config_as_its_data_directory() {
    let name =
        "it::container::the_entrypoint_runs_hookarr_as_puid_with_config_as_its_data_directory";
    let root = std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false);
    let setpriv = Command::new("setpriv").arg("--version").output().is_ok();
    if !root || !setpriv {
        report_skip(
            name,
            "needs root and setpriv (util-linux), as the image's entrypoint does",
        );
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    std::fs::set_permissions(scratch.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin_dir = scratch.path().join("usr/local/bin");
    std::fs::create_dir_all(&bin_dir).unwrap();
    let bin = bin_dir.join("hookarr");
    std::fs::copy(crate::binary::BIN, &bin).unwrap();
    let volume = scratch.path().join("config");
    std::fs::create_dir(&volume).unwrap();
    let config = volume.join("hookarr.yaml");
    std::fs::write(&config, "server:\n  listen: 127.0.0.1:0\n").unwrap();
    let repo = env!("CARGO_MANIFEST_DIR");
    let mut entrypoint = Command::new("sh");
    entrypoint
        .arg(format!("{repo}/contrib/docker/entrypoint.sh"))
        .arg(&bin)
        .env("HOOKARR_DATA_DIR", &volume)
        .env("PUID", NOBODY.to_string())
        .env("PGID", NOBODY.to_string())
        .env("TZ", "Europe/Berlin");
    let running = start_command(
        entrypoint,
        &config,
        scratch.path(),
        "warn",
        Stdio::inherit(),
    );
    let banner = running.banner.join("\n");
    assert!(
        banner.contains(&format!("data directory: {}", volume.display())),
        "{banner}"
    );
    let status = std::fs::read_to_string(format!("/proc/{}/status", running.child.id())).unwrap();
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert!(
        uid_line
            .split_whitespace()
            .skip(1)
            .all(|id| id == NOBODY.to_string()),
        "hookarr runs as PUID, not root: {uid_line}"
    );
    let db = std::fs::metadata(volume.join("hookarr.db")).unwrap();
    assert_eq!(
        (db.uid(), db.gid()),
        (NOBODY, NOBODY),
        "the volume's files are PUID:PGID's"
    );
    let port = running.base.rsplit(':').next().unwrap().to_owned();
    let health = Command::new("bash")
        .arg(format!("{repo}/contrib/docker/healthcheck.sh"))
        .env("HOOKARR_HEALTHCHECK_PORT", &port)
        .output()
        .unwrap();
    assert!(
        health.status.success(),
        "the HEALTHCHECK passes: {health:?}"
    );
    drop(running);
    let health = Command::new("bash")
        .arg(format!("{repo}/contrib/docker/healthcheck.sh"))
        .env("HOOKARR_HEALTHCHECK_PORT", &port)
        .output()
        .unwrap();
    assert!(!health.status.success(), "and fails once hookarr is gone");
}
