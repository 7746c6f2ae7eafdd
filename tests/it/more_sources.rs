//! The sources beyond the Arr apps and media servers, through real HTTP: an `apprise` source taking what Bazarr
//! (Apprise `json://`) and Audiobookshelf (an Apprise API `notify` call) send, Overseerr's verbatim
//! `Authorization` header, and Tautulli's empty and form bodies.

use crate::helpers::{Backend, Corpus, TestApp, report_skip};
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

/// Overseerr sends its "Authorization Header" setting verbatim: the token alone or `Bearer <token>` both let
/// it in (no `?token=` in the URL); a wrong one is a 401; Basic keeps its meaning.
#[tokio::test]
async fn overseerr_reaches_hookarr_with_its_authorization_header() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let token = app.token("overseerr").to_owned();
    let body = Corpus::own().read("overseerr", "media-pending");
    let post = |authorization: String, body: Vec<u8>| {
        reqwest::Client::new()
            .post(format!("{}/hooks/overseerr", app.base))
            .header("content-type", "application/json")
            .header("user-agent", "axios/1.3.4")
            .header("authorization", authorization)
            .body(body)
            .send()
    };
    let bare = post(token.clone(), body.clone()).await.unwrap();
    assert_eq!(bare.status(), StatusCode::ACCEPTED);
    let id = bare.json::<Value>().await.unwrap()["events"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, event) = app.api_get(&format!("/api/events/{id}")).await;
    assert_eq!(event["event"], "request.pending");
    assert_eq!(event["data"]["request"]["requested_by"]["name"], "Zoë");
    let test = Corpus::own().read("overseerr", "test");
    let bearer = post(format!("Bearer {token}"), test.clone()).await.unwrap();
    assert_eq!(bearer.status(), StatusCode::ACCEPTED);
    let wrong = post("Bearer not-the-token".into(), test.clone())
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let basic = post(format!("Basic {token}"), test).await.unwrap();
    assert_eq!(
        basic.status(),
        StatusCode::UNAUTHORIZED,
        "a Basic header is read as Basic, never as a bare token"
    );
    app.stop().await;
}

/// Tautulli without a template sends an empty body: a 400 that says what to paste, and the request is kept in
/// the rejected log; a template sent as a form (a JSON Header set another Content-Type) is read too.
#[tokio::test]
async fn tautulli_is_told_what_to_paste_and_reads_form_bodies() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (status, body) = app
        .post_hook_as("tautulli", "application/json", Vec::new())
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "invalid_payload");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("JSON Data") && message.contains("media.json"),
        "{message}"
    );
    let (_, rejected) = app.api_get("/api/rejected").await;
    let items = rejected["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{rejected}");
    assert_eq!(items[0]["source"], "tautulli", "{rejected}");
    assert!(
        items[0]["reason"].as_str().unwrap().contains("JSON Data"),
        "{rejected}"
    );

    let played: Value =
        serde_json::from_slice(&Corpus::own().read("tautulli", "play-movie")).unwrap();
    let form: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(
            played
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned())),
        )
        .finish();
    let (status, body) = app
        .post_hook_as(
            "tautulli",
            "application/x-www-form-urlencoded",
            form.into_bytes(),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let id = body["events"][0].as_str().unwrap();
    let (_, event) = app.api_get(&format!("/api/events/{id}")).await;
    assert_eq!(event["event"], "playback.start");
    assert_eq!(event["data"]["media"]["title"], "Amélie");
    assert_eq!(event["source"]["server"], "Attic Plex");
    app.stop().await;
}

/// Sends one notification with the real Apprise library (Python, from PyPI: what Bazarr uses) to `url`;
/// `Err` says why Apprise cannot run here.
fn apprise_notify(url: &str, title: &str, body: &str) -> Result<bool, String> {
    let script = "import sys, apprise\n\
                  a = apprise.Apprise()\n\
                  assert a.add(sys.argv[1]), 'Apprise does not take the URL'\n\
                  sys.exit(0 if a.notify(title=sys.argv[2], body=sys.argv[3]) else 1)\n";
    let probe = std::process::Command::new("python3")
        .args(["-c", "import apprise"])
        .output()
        .map_err(|e| format!("no python3 ({e})"))?;
    if !probe.status.success() {
        return Err("no Apprise for python3 (`pip install apprise`)".into());
    }
    let out = std::process::Command::new("python3")
        .args(["-c", script, url, title, body])
        .output()
        .unwrap();
    if !out.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(out.status.success())
}

/// The Apprise URL hookarr prints for Bazarr works with the real Apprise library: its notification
/// becomes an event. The plain `?token=` form, which Apprise drops, is refused — that is why it is not the
/// one shown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_apprise_library_reaches_hookarr_with_the_url_it_prints() {
    let app = TestApp::spawn_with(Backend::Sqlite, |cfg| {
        let source: SourceConfig =
            serde_norway::from_str(&format!("name: bazarr\napp: apprise\ntoken: {TOKEN}\n"))
                .unwrap();
        cfg.sources.push(source);
    })
    .await;
    let (_, sources) = app.api_get("/api/sources").await;
    let bazarr = sources["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "bazarr")
        .unwrap()
        .clone();
    let printed = bazarr["apprise_url"].as_str().unwrap().to_owned();
    assert_eq!(
        printed,
        format!(
            "json://hookarr:{TOKEN}@{}/hooks/bazarr",
            app.base.trim_start_matches("http://")
        )
    );
    let base = app.base.clone();
    let sent = tokio::task::spawn_blocking(move || {
        let shown = apprise_notify(&printed, "Severance (2022)", "German subtitles downloaded")?;
        let plain = format!(
            "json://{}/hooks/bazarr?token={TOKEN}",
            base.trim_start_matches("http://")
        );
        let dropped = apprise_notify(&plain, "t", "b")?;
        let dashed = format!(
            "json://{}/hooks/bazarr?-token={TOKEN}",
            base.trim_start_matches("http://")
        );
        let kept = apprise_notify(&dashed, "Dashed", "query parameter")?;
        Ok::<_, String>((shown, dropped, kept))
    })
    .await
    .unwrap();
    let (shown, dropped, kept) = match sent {
        Ok(sent) => sent,
        Err(why) => return report_skip("the real Apprise library", &why),
    };
    assert!(shown, "Apprise delivers with the printed URL");
    assert!(!dropped, "Apprise drops a plain ?token=: refused (401)");
    assert!(kept, "`?-token=` is kept by Apprise");
    let (_, events) = app.api_get("/api/events?source=bazarr").await;
    let summaries: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["summary"].as_str().unwrap())
        .collect();
    assert_eq!(summaries.len(), 2, "{events}");
    assert!(
        summaries.iter().any(|s| s.contains("Severance (2022)")),
        "{summaries:?}"
    );
    app.stop().await;
}
