//! The sources beyond the Arr apps and media servers, through real HTTP: an `apprise` source taking what Bazarr
//! (Apprise `json://`) and Audiobookshelf (an Apprise API `notify` call) send.

use crate::helpers::{Backend, Corpus, TestApp};
use crate::receiver::{Receiver, Reply};
use hookarr::config::SourceConfig;
use reqwest::StatusCode;
use serde_json::Value;

const TOKEN: &str = "bazarr-token-0123";

/// Bazarr's and Audiobookshelf's notifications reach a Discord destination with their title and body; the test
/// notifications are `test` events; a body with neither title nor message is a 400 that says so.
#[tokio::test]
async fn apprise_notifications_are_events_and_reach_destinations() {
    let rx = Receiver::start().await;
    rx.set_default(Reply::status(200).body(r#"{"id": "1"}"#));
    let discord: hookarr::config::Destination = serde_norway::from_str(&format!(
        "name: chat\ntype: discord\nurl: {}\ngroup_window: 0s\n",
        rx.url("/api/webhooks/1/t")
    ))
    .unwrap();
    let app = TestApp::spawn_with(Backend::Sqlite, |cfg| {
        for name in ["bazarr", "audiobookshelf"] {
            let source: SourceConfig =
                serde_norway::from_str(&format!("name: {name}\napp: apprise\ntoken: {TOKEN}\n"))
                    .unwrap();
            cfg.sources.push(source);
        }
        cfg.destinations = vec![discord];
    })
    .await;
    let client = reqwest::Client::new();
    let post = |source: &str, ua: &str, body: Vec<u8>| {
        client
            .post(format!("{}/hooks/{source}?token={TOKEN}", app.base))
            .header("content-type", "application/json")
            .header("user-agent", ua.to_owned())
            .body(body)
            .send()
    };
    let corpus = Corpus::own();
    let read = |name: &str| corpus.read("apprise", name);
    let bazarr = post("bazarr", "Apprise", read("bazarr-subtitles-downloaded"))
        .await
        .unwrap();
    assert_eq!(bazarr.status(), StatusCode::ACCEPTED);
    let abs = post(
        "audiobookshelf",
        "axios/1.8.4",
        read("audiobookshelf-episode"),
    )
    .await
    .unwrap();
    assert_eq!(abs.status(), StatusCode::ACCEPTED);
    let test = post("bazarr", "Apprise", read("bazarr-test"))
        .await
        .unwrap();
    assert_eq!(test.status(), StatusCode::ACCEPTED);
    let test_id = test.json::<Value>().await.unwrap()["events"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, event) = app.api_get(&format!("/api/events/{test_id}")).await;
    assert_eq!(event["event"], "test");

    let got = rx.wait_for(3).await;
    let descriptions: Vec<String> = got
        .iter()
        .map(|g| {
            g.json()["embeds"][0]["description"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    assert!(
        descriptions
            .iter()
            .any(|d| d.contains("German subtitles downloaded from opensubtitlescom")),
        "{descriptions:?}"
    );
    assert!(
        descriptions
            .iter()
            .any(|d| d.contains("Listen in Audiobookshelf.")),
        "the body's every line: {descriptions:?}"
    );

    let empty = post(
        "bazarr",
        "Apprise",
        br#"{"version": "1.0", "title": "", "message": "", "type": "info"}"#.to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(empty.status(), StatusCode::BAD_REQUEST);
    let body: Value = empty.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_payload");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("title"),
        "{body}"
    );
    app.stop().await;
}
