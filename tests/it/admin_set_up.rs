//! Setting hookarr up in the page, in a real browser (`tests/browser/set_up.mjs`): a Discord destination
//! added by pasting its URL, tested and saved, a Radarr grab then delivered to it without a restart; its
//! events edited, and the next grab skipped. The receiver says what really arrived.

use crate::admin::{browser, run_browser};
use crate::helpers::{ADMIN_KEY, Backend, TestApp, report_skip};
use crate::receiver::{Receiver, Reply};
use std::path::Path;

#[tokio::test]
async fn a_destination_set_up_in_the_page_takes_events_without_a_restart() {
    let dir = match browser() {
        Ok(dir) => dir,
        Err(why) => return report_skip("setting hookarr up in a real browser", &why),
    };
    let rx = Receiver::start().await;
    rx.set_default(Reply::status(204));
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.api.allow_private_targets = true).await;
    let connect = format!("{}/hooks/radarr?token={}", app.base, app.token("radarr"));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut envs = vec![
        ("HOOKARR_URL", app.base.clone()),
        ("HOOKARR_ADMIN_KEY", ADMIN_KEY.to_owned()),
        (
            "HOOKARR_DISCORD_URL",
            rx.url("/api/webhooks/4242/page-made-token"),
        ),
        ("HOOKARR_CONNECT_URL", connect),
        (
            "HOOKARR_FIXTURES",
            root.join("tests/fixtures/inbound").display().to_string(),
        ),
    ];
    if let Ok(shots) = std::env::var("HOOKARR_SCREENSHOTS") {
        envs.push(("HOOKARR_SCREENSHOTS", shots));
    }
    let said = run_browser(&dir.join("set_up.mjs"), &envs).await;
    assert!(said.contains("set-up: every browser check held"), "{said}");

    // What the Discord receiver got: the test, then the first grab; the second grab never came.
    let got = rx.got();
    let said: Vec<String> = got.iter().map(|g| g.json().to_string()).collect();
    assert_eq!(got.len(), 2, "{said:#?}");
    assert!(
        got.iter()
            .all(|g| g.path == "/api/webhooks/4242/page-made-token")
    );
    assert!(
        said[0].contains("Test message from hookarr"),
        "the test: {}",
        said[0]
    );
    assert!(said[1].contains("copy1"), "the first grab: {}", said[1]);
    app.stop().await;
}
