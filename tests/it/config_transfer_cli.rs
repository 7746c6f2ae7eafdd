//! `hookarr config export` and `hookarr config import`: a destination made through the API of one running
//! hookarr, exported as YAML that `hookarr.yaml` accepts as it is, imported into another database (whose
//! running server takes it without a restart), and a bad file refused whole.

use crate::binary::{BIN, start, write_config_with};
use crate::helpers::ADMIN_KEY;
use crate::receiver::{Receiver, Reply};
use serde_json::json;
use std::path::Path;
use std::process::{Command, Output};

fn hookarr(args: &[&str], config: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .unwrap()
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_set_up_made_in_the_api_is_exported_as_yaml_and_imported_elsewhere() {
    let rx = Receiver::start().await;
    rx.set_default(Reply::status(204));
    let client = reqwest::Client::new();
    let allow = "api:\n  allow_private_targets: true\n";
    let first = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/hookarr.db", first.path().display());
    let config = write_config_with(first.path(), &db, Some(ADMIN_KEY), allow);
    let running = start(&config, first.path());
    let made = client
        .post(format!("{}/api/destinations", running.base))
        .bearer_auth(ADMIN_KEY)
        .json(
            &json!({"name": "alerts", "type": "webhook", "url": rx.url("/alerts"),
                      "events": ["health.*"], "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 201, "{}", made.text().await.unwrap());
    let source: serde_json::Value = client
        .post(format!("{}/api/sources", running.base))
        .bearer_auth(ADMIN_KEY)
        .json(&json!({"name": "radarr-4k", "app": "radarr", "allow_ips": ["127.0.0.0/8"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let connect = source["connect_url"].as_str().unwrap().to_owned();
    let token = connect.split_once("token=").unwrap().1.to_owned();
    let person = client
        .post(format!("{}/api/people", running.base))
        .bearer_auth(ADMIN_KEY)
        .json(&json!({"name": "Zoë", "overseerr": "zoe@example.org", "notify": "alerts"}))
        .send()
        .await
        .unwrap();
    assert_eq!(person.status(), 200, "{}", person.text().await.unwrap());
    drop(running);

    let out = hookarr(&["config", "export"], &config);
    assert!(out.status.success(), "{out:?}");
    let exported = text(&out.stdout);
    assert!(
        exported.contains("- name: alerts\n  type: webhook\n"),
        "{exported}"
    );
    assert!(
        exported.contains(&rx.url("/alerts")),
        "secrets in clear: {exported}"
    );
    assert!(
        exported.contains("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        "{exported}"
    );
    assert!(
        exported.contains("- name: radarr-4k\n  app: radarr\n"),
        "{exported}"
    );
    assert!(
        exported.contains(&token),
        "the source keeps its token: {exported}"
    );
    assert!(
        exported.contains("people:\n- name: Zoë\n  overseerr: zoe@example.org\n"),
        "{exported}"
    );

    // hookarr.yaml accepts it as it is.
    let as_code = tempfile::tempdir().unwrap();
    let code_db = format!("sqlite://{}/hookarr.db", as_code.path().display());
    let code_config = write_config_with(
        as_code.path(),
        &code_db,
        None,
        &format!("{allow}{exported}"),
    );
    let out = hookarr(&["check-config"], &code_config);
    assert!(out.status.success(), "{out:?}\n{exported}");

    // Imported into another database while its server runs: in force there without a restart.
    let second = tempfile::tempdir().unwrap();
    let second_db = format!("sqlite://{}/hookarr.db", second.path().display());
    let second_config = write_config_with(second.path(), &second_db, Some(ADMIN_KEY), allow);
    let running = start(&second_config, second.path());
    let file = second.path().join("exported.yaml");
    std::fs::write(&file, &exported).unwrap();
    let out = hookarr(
        &["config", "import", file.to_str().unwrap()],
        &second_config,
    );
    assert!(out.status.success(), "{out:?}");
    assert!(
        text(&out.stdout).contains("imported 1 destination(s), 1 source(s) and 1 person(s)"),
        "{out:?}"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let shown: serde_json::Value = client
            .get(format!("{}/api/destinations/alerts", running.base))
            .bearer_auth(ADMIN_KEY)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if shown["origin"] == "stored" {
            assert_eq!(shown["signing_secret_set"], true);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never in force: {shown}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // The app's Connect URL works at the new hookarr as it is: the same name and token.
    let moved = connect.replace(connect.split("/hooks/").next().unwrap(), &running.base);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let status = client
            .post(&moved)
            .header("content-type", "application/json")
            .body(crate::helpers::fixture("radarr", "grab"))
            .send()
            .await
            .unwrap()
            .status();
        if status == 202 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the source never came: {status}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    drop(running);
    let again = hookarr(&["config", "export"], &second_config);
    assert_eq!(
        text(&again.stdout),
        exported,
        "the same destinations, exported from the second database"
    );

    // A bad file: every problem with its path, and nothing stored.
    let bad = second.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "destinations:\n  - {name: fine, type: webhook, url: \"http://127.0.0.1:9/x\"}\n  - {name: broken, type: discrod}\n",
    )
    .unwrap();
    let out = hookarr(&["config", "import", bad.to_str().unwrap()], &second_config);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let said = text(&out.stderr);
    assert!(said.contains("nothing was imported"), "{said}");
    assert!(said.contains("destinations[1].type"), "{said}");
    let out = hookarr(&["config", "export"], &second_config);
    assert!(!text(&out.stdout).contains("fine"), "nothing stored half");
}
