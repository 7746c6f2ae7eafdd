//! `hookarr backup DIR` while `serve` runs: the copy holds every event taken before it, opens as a database of
//! its own with the secret key beside it, and a folder that is not empty is refused.

use crate::binary::{BIN, start, token_of, write_config};
use crate::helpers::ADMIN_KEY;
use std::process::Command;

fn backup(config: &std::path::Path, into: &std::path::Path) -> std::process::Output {
    Command::new(BIN)
        .arg("backup")
        .arg(into)
        .arg("--config")
        .arg(config)
        .output()
        .unwrap()
}

#[tokio::test]
async fn a_backup_taken_while_serving_opens_with_every_event_and_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "sqlite://data/hookarr.db", Some(ADMIN_KEY));
    let running = start(&config, dir.path());
    let token = token_of(&running.banner, "radarr");
    let client = reqwest::Client::new();
    for copy in 0..25 {
        assert_eq!(running.post_grab(&client, &token, copy).await.status(), 202);
    }
    let into = dir.path().join("backups/today");
    let out = backup(&config, &into);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("backed up 25 events"), "{said}");
    // The server goes on taking events while and after the copy is made.
    assert_eq!(running.post_grab(&client, &token, 99).await.status(), 202);
    assert_eq!(
        std::fs::read(into.join("secret.key")).unwrap(),
        std::fs::read(dir.path().join("data/secret.key")).unwrap(),
        "the key that opens the stored secrets is beside the copy"
    );
    drop(running);

    // Restored as the database of another server: the 25 events taken before the backup.
    let restored = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", into.join("hookarr.db").display());
    let second = start(
        &write_config(restored.path(), &url, Some(ADMIN_KEY)),
        restored.path(),
    );
    let events = crate::serve::get_json(
        &client,
        &format!("{}/api/events?limit=100", second.base),
        ADMIN_KEY,
    )
    .await;
    assert_eq!(
        events["items"].as_array().map(Vec::len),
        Some(25),
        "{events}"
    );

    // Not over a folder with something in it.
    let again = backup(&config, &into);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("is not an empty folder"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}
