//! The answered-sends journal (SQLite): a send the target answered, killed -9 before its result was written,
//! is recorded at the next start and not sent again.

use crate::binary::{start, token_of, write_config_with};
use crate::helpers::{ADMIN_KEY, Backend, fresh_storage};
use crate::receiver::{Receiver, Reply};
use hookarr::storage::{DeliveryQuery, DeliveryStatus};
use sqlx::Connection as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The size of the journal files beside `database`.
fn journal_bytes(database: &Path) -> u64 {
    [0, 1]
        .iter()
        .map(|n| {
            let mut path = database.as_os_str().to_owned();
            path.push(format!("-answered-{n}"));
            std::fs::metadata(PathBuf::from(path)).map_or(0, |m| m.len())
        })
        .sum()
}

/// The target answers a grab's send after a moment; meanwhile the test takes SQLite's write lock, so the
/// answer cannot be written. Killed -9 once the answer is in the journal, hookarr starts again on the same
/// file: the delivery is succeeded with its attempt logged, and the target saw it once, while a grab posted
/// after the restart goes out as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_heard_before_a_kill_is_recorded_at_the_next_start_not_sent_again() {
    let dir = tempfile::tempdir().unwrap();
    let (url, db_dir) = fresh_storage(Backend::Sqlite).await;
    let database = db_dir.path().join("nested/hookarr.db");
    let rx = Receiver::start().await;
    rx.script([Reply::status(204).delay(Duration::from_millis(500))]);
    // Anything after the first request is held until the kill.
    rx.set_default(Reply::status(204).delay(Duration::from_secs(120)));
    let extra = format!(
        "delivery:\n  workers: 4\n  timeout_secs: 30\ndestinations:\n  - name: sink\n    type: webhook\n    \
         url: {}\n    signing: none\n",
        rx.url("/sink")
    );
    let config = write_config_with(dir.path(), &url, Some(ADMIN_KEY), &extra);
    let mut running = start(&config, dir.path());
    let client = reqwest::Client::new();
    let token = token_of(&running.banner, "radarr");

    assert_eq!(running.post_grab(&client, &token, 0).await.status(), 202);
    let answered = rx.wait_for(1).await[0].json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The write lock, taken while the target still thinks over its answer.
    let mut blocker = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut blocker)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while journal_bytes(&database) == 0 {
        assert!(Instant::now() < deadline, "the answer was never noted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    running.child.kill().unwrap(); // SIGKILL: the answer is noted, not written.
    running.child.wait().unwrap();
    drop(blocker); // Rolled back: nothing the test did stays.

    let store = hookarr::storage::connect(&url).await.unwrap();
    let before = store
        .list_deliveries(&DeliveryQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(before.items.len(), 1);
    assert_eq!(
        before.items[0].status,
        DeliveryStatus::Pending,
        "the kill came before the result was written"
    );
    let delivery = before.items[0].id.clone();

    rx.set_default(Reply::status(204));
    let again = start(&config, dir.path());
    // The restarted run takes new events: one more grab arrives and is delivered once.
    assert_eq!(again.post_grab(&client, &token, 1).await.status(), 202);
    rx.wait_for(2).await;
    let row = store.get_delivery(&delivery).await.unwrap().unwrap();
    assert_eq!(row.status, DeliveryStatus::Succeeded);
    assert_eq!(row.attempts, 1);
    let attempts = store.attempts(&delivery).await.unwrap();
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert_eq!(attempts[0].status_code, Some(204));
    // Nothing left pending: the restart's queue ran, and the first delivery was not in it.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let counts = store.delivery_counts().await.unwrap();
        let pending: u64 = counts
            .iter()
            .filter(|c| c.status == DeliveryStatus::Pending)
            .map(|c| c.count)
            .sum();
        if pending == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "deliveries still pending");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let sent_first = rx
        .got()
        .iter()
        .filter(|g| g.json()["id"].as_str() == Some(answered.as_str()))
        .count();
    assert_eq!(
        sent_first, 1,
        "the answered send went out again after the restart"
    );
    drop(again);
}
