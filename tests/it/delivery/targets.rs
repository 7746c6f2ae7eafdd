//! Each target type's request: its shape, the plain-text fallback of chat targets, and a template that
//! renders invalid JSON.

use super::*;

#[tokio::test]
async fn every_target_type_gets_its_own_request_shape() {
    let rx = Receiver::start().await;
    let dests = vec![
        dest(&format!(
            "name: discord\ntype: discord\nurl: {}\ngroup_window: 0s\n",
            rx.url("/api/webhooks/123/tok")
        )),
        dest(&format!(
            "name: slack\ntype: slack\nurl: {}\ngroup_window: 0s\n",
            rx.url("/services/T1/B1/x")
        )),
        dest(&format!(
            "name: ha-hook\ntype: home_assistant\nurl: {}\n",
            rx.url("/api/webhook/abc")
        )),
        dest(&format!(
            "name: ha-event\ntype: home_assistant\nurl: {}\ntoken: hatoken\n",
            rx.url("/api/events/arr_event")
        )),
    ];
    let app = manual_app_with(Backend::Sqlite, dests, |_| {}).await;
    rx.set_default(Reply::status(200).body("ok"));
    let (status, body) = app.post_hook("sonarr", &fixture("sonarr", "grab")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(app.deliver_pending().await, 4);
    let got = rx.got();
    let by = |p: &str| {
        got.iter()
            .find(|g| g.path == p)
            .unwrap_or_else(|| panic!("no request to {p}"))
    };
    let discord = by("/api/webhooks/123/tok");
    assert_eq!(discord.query, "wait=true");
    let d = discord.json();
    assert_eq!(d["allowed_mentions"], json!({"parse": []}));
    let embed = &d["embeds"][0];
    assert!(
        embed["title"]
            .as_str()
            .unwrap()
            .contains(body_title(&app, &body).await.as_str())
    );
    assert_eq!(
        embed["color"],
        hookarr::outbound::templates::event_color("download.grabbed")
    );
    assert!(
        embed["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "Quality")
    );
    let slack = by("/services/T1/B1/x").json();
    assert!(slack["text"].as_str().unwrap().len() > 3);
    assert_eq!(slack["blocks"][0]["type"], "header");
    let hook = by("/api/webhook/abc");
    assert_eq!(hook.json()["event"], "download.grabbed");
    assert_eq!(hook.header("authorization"), "");
    assert_eq!(hook.header("content-type"), "application/json");
    let ev = by("/api/events/arr_event");
    assert_eq!(ev.header("authorization"), "Bearer hatoken");
    assert!(ev.json().is_object());
    for g in &got {
        assert!(g.header("x-hookarr-delivery").starts_with("dlv_"));
    }
    app.stop().await;
}

#[tokio::test]
async fn a_chat_target_that_rejects_the_rich_message_gets_the_plain_summary() {
    let rx = Receiver::start().await;
    rx.script([Reply::status(400).body(r#"{"code": 50035, "message": "Invalid Form Body"}"#)]);
    let d = dest(&format!(
        "name: chat\ntype: discord\nurl: {}\n",
        rx.url("/api/webhooks/1/t")
    ));
    let app = manual_app_with(Backend::Sqlite, vec![d], |_| {}).await;
    rx.set_default(Reply::status(200).body("{}"));
    let id = post_download(&app).await;
    let d = settled(&app, &id).await;
    assert_eq!(d[0]["status"], "succeeded");
    let got = rx.got();
    assert_eq!(got.len(), 2);
    assert!(got[0].json()["embeds"].is_array());
    let plain = got[1].json();
    assert!(plain.get("embeds").is_none());
    let (_, event) = app.api_get(&format!("/api/events/{id}")).await;
    assert_eq!(plain["content"], event["summary"]);
    let one = delivery(&app, &d[0]).await;
    let outcomes = outcomes(&one);
    assert_eq!(
        outcomes,
        ["rejected_rich", "succeeded"],
        "both attempts are logged"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_template_that_renders_invalid_json_fails_the_delivery_with_the_reason() {
    let rx = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("webhook")).unwrap();
    std::fs::write(
        dir.path().join("webhook/library_new.hbs"),
        "{\"title\": {{data.media.title}} }",
    )
    .unwrap();
    let d = dest(&format!(
        "name: hook\ntype: webhook\nurl: {}\nsigning: none\n",
        rx.url("/x")
    ));
    let templates = dir.path().to_path_buf();
    let app = manual_app_with(Backend::Sqlite, vec![d], |cfg| {
        cfg.templates_dir = Some(templates)
    })
    .await;
    let id = post_download(&app).await;
    let d = settled(&app, &id).await;
    assert_eq!(d[0]["status"], "failed");
    assert!(
        d[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("invalid JSON"),
        "{}",
        d[0]
    );
    let one = delivery(&app, &d[0]).await;
    assert_eq!(one["attempts"][0]["outcome"], "render_failed");
    assert!(rx.got().is_empty());
    // Other events still use the embedded default.
    let (_, body) = app.post_hook("radarr", &fixture("radarr", "grab")).await;
    let grab = body["events"][0].as_str().unwrap().to_owned();
    assert_eq!(settled(&app, &grab).await[0]["status"], "succeeded");
    app.stop().await;
}
