//! Messages that are more than one delivery: season packs grouped into one message, a grab's Discord
//! message edited by its import, a request's card edited as the request moves on, and the quiet-hours digest.

use super::*;

/// The season-pack problem: three imports of one season within the window are one Discord message listing the
/// three episodes; another season, and a movie, are their own messages.
#[tokio::test]
async fn a_season_pack_within_the_group_window_is_one_message() {
    let rx = Receiver::start().await;
    let d = dest(&format!(
        "name: chat\ntype: discord\nurl: {}\ngroup_window: 1s\n",
        rx.url("/api/webhooks/1/t")
    ));
    let app = app_with(Backend::Sqlite, vec![d], |_| {}).await;
    rx.set_default(Reply::status(200).body("{}"));
    let mut ids = Vec::new();
    for (season, episode) in [(2, 3), (2, 1), (2, 2), (3, 1)] {
        let mut body: Value = serde_json::from_slice(&fixture("sonarr", "download")).unwrap();
        body["episodes"][0]["seasonNumber"] = season.into();
        body["episodes"][0]["episodeNumber"] = episode.into();
        let (status, r) = app
            .post_hook("sonarr", &serde_json::to_vec(&body).unwrap())
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{r}");
        ids.push(r["events"][0].as_str().unwrap().to_owned());
    }
    let movie = post_download(&app).await;
    assert_eq!(settled(&app, &movie).await[0]["status"], "succeeded");
    for id in &ids {
        assert_eq!(settled(&app, id).await[0]["status"], "succeeded");
    }
    let got = rx.got();
    assert_eq!(
        got.len(),
        3,
        "season 2 as one message, season 3 and the movie as their own"
    );
    let season2 = got
        .iter()
        .map(|g| g.json())
        .find(|b| {
            b["embeds"][0]["description"]
                .as_str()
                .unwrap_or("")
                .contains("season 2")
        })
        .expect("a season 2 message");
    let embed = &season2["embeds"][0];
    assert!(
        embed["description"]
            .as_str()
            .unwrap()
            .starts_with("Severance season 2: 3 episodes imported"),
        "{embed}"
    );
    let episodes = embed["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "Episodes")
        .unwrap();
    let listed: Vec<&str> = episodes["value"]
        .as_str()
        .unwrap()
        .lines()
        .map(|l| &l[..6])
        .collect();
    assert_eq!(listed, ["S02E01", "S02E02", "S02E03"]);
    // Each member's log names the delivery that carried it.
    let (_, page) = app
        .api_get(&format!("/api/deliveries?event={}", ids[1]))
        .await;
    let one = delivery(&app, &page["items"][0]).await;
    let attempt = &one["attempts"][0];
    assert_eq!(attempt["status_code"], 200);
    assert!(
        attempt["outcome"].as_str().unwrap().starts_with("grouped"),
        "{attempt}"
    );
    app.stop().await;
}

/// Message lifecycle: the import of a download edits the Discord message its grab posted; when that message
/// is gone, the import is posted instead (and the destination stays enabled).
#[tokio::test]
async fn an_import_edits_the_discord_message_of_its_grab() {
    let rx = Receiver::start().await;
    let d = dest(&format!(
        "name: chat\ntype: discord\nurl: {}\n",
        rx.url("/api/webhooks/1/t")
    ));
    let app = app_with(Backend::Sqlite, vec![d], |_| {}).await;
    rx.script([Reply::status(200).body(r#"{"id": "1111", "channel_id": "5"}"#)]);
    let (_, body) = app.post_hook("radarr", &fixture("radarr", "grab")).await;
    let grab = body["events"][0].as_str().unwrap().to_owned();
    assert_eq!(settled(&app, &grab).await[0]["status"], "succeeded");
    rx.set_default(Reply::status(200).body(r#"{"id": "1111"}"#));
    let import = post_download(&app).await;
    assert_eq!(settled(&app, &import).await[0]["status"], "succeeded");
    let got = rx.got();
    assert_eq!(got.len(), 2);
    assert_eq!(
        (got[0].path.as_str(), got[0].query.as_str()),
        ("/api/webhooks/1/t", "wait=true")
    );
    assert_eq!(
        got[1].path, "/api/webhooks/1/t/messages/1111",
        "the import edits the grab's message"
    );
    assert!(
        got[1].json()["embeds"][0]["description"]
            .as_str()
            .unwrap()
            .contains("imported")
    );
    // A second release of the same download id whose message was deleted: PATCH 404, then a new POST.
    rx.script([Reply::status(404).body(r#"{"code": 10008, "message": "Unknown Message"}"#)]);
    let (_, body) = app
        .post_hook("radarr", &fixture("radarr", "download-upgrade"))
        .await;
    let upgrade = body["events"][0].as_str().unwrap().to_owned();
    let d = settled(&app, &upgrade).await;
    assert_eq!(d[0]["status"], "succeeded");
    let got = rx.got();
    let last_two: Vec<&str> = got[got.len() - 2..]
        .iter()
        .map(|g| g.path.as_str())
        .collect();
    // (The upgrade fixture carries the grab's download id.)
    assert_eq!(
        last_two,
        ["/api/webhooks/1/t/messages/1111", "/api/webhooks/1/t"]
    );
    let one = delivery(&app, &d[0]).await;
    assert_eq!(one["attempts"][0]["outcome"], "edit_missing");
    assert_eq!(one["attempts"][1]["outcome"], "succeeded");
    let (_, dest) = app.api_get("/api/destinations/chat").await;
    assert_eq!(
        dest["enabled"], true,
        "a missing message does not disable the webhook"
    );
    app.stop().await;
}

/// A grab and its import arriving milliseconds apart — the import claimed while the grab's message is still
/// on its way — give one message, edited, as they do seconds apart: the import waits for the grab's id.
#[tokio::test]
async fn an_import_right_behind_its_grab_edits_the_grabs_message() {
    let rx = Receiver::start().await;
    let d = dest(&format!(
        "name: chat\ntype: discord\nurl: {}\n",
        rx.url("/api/webhooks/1/t")
    ));
    let app = app_with(Backend::Sqlite, vec![d], |_| {}).await;
    // Discord takes its time to answer the grab's post.
    rx.script([Reply::status(200)
        .body(r#"{"id": "2222", "channel_id": "5"}"#)
        .delay(std::time::Duration::from_millis(700))]);
    rx.set_default(Reply::status(200).body(r#"{"id": "2222"}"#));
    let (_, body) = app.post_hook("radarr", &fixture("radarr", "grab")).await;
    let grab = body["events"][0].as_str().unwrap().to_owned();
    let import = post_download(&app).await;
    assert_eq!(settled(&app, &grab).await[0]["status"], "succeeded");
    assert_eq!(settled(&app, &import).await[0]["status"], "succeeded");
    let paths: Vec<String> = rx.got().iter().map(|g| g.path.clone()).collect();
    assert_eq!(
        paths,
        ["/api/webhooks/1/t", "/api/webhooks/1/t/messages/2222"],
        "one post, then its edit"
    );
    app.stop().await;
}

/// A request's card: the first notification of a request posts it, the later ones (approved, available) edit
/// it in place; another request gets its own card; a card deleted in Discord is posted anew and the next
/// notification edits the new one.
#[tokio::test]
async fn a_request_card_is_edited_as_the_request_moves_on() {
    let rx = Receiver::start().await;
    let d = dest(&format!(
        "name: requests\ntype: discord\nurl: {}\n",
        rx.url("/api/webhooks/1/t")
    ));
    let app = app_with(Backend::Sqlite, vec![d], |_| {}).await;
    // `again` changes the body, so that a notification sent twice is not a duplicate.
    let post_as = |name: &'static str, again: bool| {
        let app = &app;
        async move {
            let mut payload: Value = serde_json::from_slice(&fixture("overseerr", name)).unwrap();
            if again {
                payload["message"] = "Sent again.".into();
            }
            let payload = serde_json::to_vec(&payload).unwrap();
            let (status, body) = app.post_hook("overseerr", &payload).await;
            assert_eq!(status, StatusCode::ACCEPTED, "{body}");
            let id = body["events"][0].as_str().unwrap().to_owned();
            let d = settled(app, &id).await;
            assert_eq!(d[0]["status"], "succeeded", "{name}: {d:?}");
        }
    };
    let post = |name: &'static str| post_as(name, false);
    rx.set_default(Reply::status(200).body(r#"{"id": "2001", "channel_id": "5"}"#));
    post("media-pending").await;
    post("media-approved").await;
    post("media-available").await;
    // Another request (45): its own card.
    rx.set_default(Reply::status(200).body(r#"{"id": "2002", "channel_id": "5"}"#));
    post("media-failed").await;
    let paths: Vec<String> = rx.got().iter().map(|g| g.path.clone()).collect();
    assert_eq!(
        paths,
        [
            "/api/webhooks/1/t",
            "/api/webhooks/1/t/messages/2001",
            "/api/webhooks/1/t/messages/2001",
            "/api/webhooks/1/t",
        ]
    );
    let last_edit = rx.got()[2].json();
    assert!(
        last_edit["embeds"][0]["description"]
            .as_str()
            .unwrap()
            .starts_with("Dune (2021) is now available"),
        "{last_edit}"
    );
    // Request 41's card was deleted: the edit finds no message, a new card is posted and kept.
    rx.script([
        Reply::status(404).body(r#"{"code": 10008, "message": "Unknown Message"}"#),
        Reply::status(200).body(r#"{"id": "2003", "channel_id": "5"}"#),
    ]);
    post_as("media-approved", true).await;
    rx.set_default(Reply::status(200).body(r#"{"id": "2003"}"#));
    post_as("media-available", true).await;
    let got = rx.got();
    let last: Vec<&str> = got[got.len() - 3..]
        .iter()
        .map(|g| g.path.as_str())
        .collect();
    assert_eq!(
        last,
        [
            "/api/webhooks/1/t/messages/2001",
            "/api/webhooks/1/t",
            "/api/webhooks/1/t/messages/2003",
        ]
    );
    app.stop().await;
}

/// Quiet hours: what arrives inside the window is held (not sent, not dropped) until it ends, then goes out
/// as one digest. (The window's end is simulated by making the held deliveries due.)
#[tokio::test]
async fn quiet_hours_hold_everything_for_one_digest() {
    let rx = Receiver::start().await;
    let now = chrono::Utc::now();
    let hhmm = |t: chrono::DateTime<chrono::Utc>| t.format("%H:%M").to_string();
    let d = dest(&format!(
        "name: chat\ntype: discord\nurl: {}\ngroup_window: 0s\nquiet_hours: {{from: \"{}\", to: \"{}\", tz: UTC}}\n",
        rx.url("/api/webhooks/1/t"),
        hhmm(now - chrono::Duration::hours(1)),
        hhmm(now + chrono::Duration::hours(1)),
    ));
    let app = app_with(Backend::Sqlite, vec![d], |_| {}).await;
    rx.set_default(Reply::status(200).body("{}"));
    let first = post_download(&app).await;
    app.post_hook("radarr", &fixture("radarr", "health")).await;
    app.post_hook("sonarr", &fixture("sonarr", "grab")).await;
    let held = app
        .wait_api("/api/deliveries?destination=chat", |b| {
            b["items"].as_array().unwrap().len() == 3
        })
        .await;
    for d in held["items"].as_array().unwrap() {
        assert_eq!(d["status"], "pending");
        let due =
            chrono::DateTime::parse_from_rfc3339(d["next_attempt_at"].as_str().unwrap()).unwrap();
        assert!(
            due > now + chrono::Duration::minutes(55),
            "held until the window ends: {d}"
        );
    }
    assert!(rx.got().is_empty(), "nothing is sent during quiet hours");
    // The window ends.
    app.store
        .make_due("chat", chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(settled(&app, &first).await[0]["status"], "succeeded");
    app.wait_api("/api/deliveries?destination=chat&status=succeeded", |b| {
        b["items"].as_array().unwrap().len() == 3
    })
    .await;
    let got = rx.got();
    assert_eq!(got.len(), 1, "one digest");
    let embed = &got[0].json()["embeds"][0];
    assert_eq!(embed["title"], "🌙 3 events during quiet hours");
    let lines: Vec<&str> = embed["description"].as_str().unwrap().lines().collect();
    assert_eq!(lines.len(), 3, "{embed}");
    assert!(lines.iter().any(|l| l.contains("health")), "{lines:?}");
    app.stop().await;
}
