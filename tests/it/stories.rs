//! Stories through the real routes (CONTRACT §5.1): the apps' payloads posted to `/hooks`, joined into one
//! story per title, a `story: true` Discord destination's one message edited to "ready to watch", the requester
//! told once, a season pack under one season, an upgrade that is no new title, a grab that never imports
//! turning `media.stuck`, a source going silent and coming back, and a rebuild that sends nothing.

use crate::delivery::{app_with, dest};
use crate::helpers::{ADMIN_KEY, Backend, TestApp, fixture, fixture_copy};
use crate::receiver::{Receiver, Reply};
use hookarr::config::{Config, Person};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

const DUNE_TMDB: i64 = 693134;
const DUNE_IMDB: &str = "tt15239678";

/// Overseerr's notification about Dune: Part Two, requested by Zoë.
fn overseerr(name: &str) -> Vec<u8> {
    let mut b: Value = serde_json::from_slice(&fixture("overseerr", name)).unwrap();
    b["subject"] = "Dune: Part Two (2024)".into();
    b["media"]["tmdbId"] = DUNE_TMDB.to_string().into();
    serde_json::to_vec(&b).unwrap()
}

/// Jellyfin adding the film to its library (it knows it by its provider ids).
fn jellyfin_added() -> Vec<u8> {
    let mut b: Value = serde_json::from_slice(&fixture("jellyfin", "ItemAdded")).unwrap();
    let o = b.as_object_mut().unwrap();
    for k in [
        "SeriesName",
        "SeriesId",
        "SeasonId",
        "SeasonNumber",
        "EpisodeNumber",
        "Provider_tvdb",
    ] {
        o.remove(k);
    }
    o.insert("ItemType".into(), "Movie".into());
    o.insert("Name".into(), "Dune: Part Two".into());
    o.insert("Year".into(), 2024.into());
    o.insert("Provider_tmdb".into(), DUNE_TMDB.to_string().into());
    o.insert("Provider_imdb".into(), DUNE_IMDB.into());
    serde_json::to_vec(&b).unwrap()
}

/// Plex playing the film.
fn plex_play() -> Vec<u8> {
    let mut b: Value = serde_json::from_slice(&fixture("plex", "media.play")).unwrap();
    b["Metadata"]["title"] = "Dune: Part Two".into();
    b["Metadata"]["year"] = 2024.into();
    b["Metadata"]["Guid"] =
        json!([{"id": format!("imdb://{DUNE_IMDB}")}, {"id": format!("tmdb://{DUNE_TMDB}")}]);
    serde_json::to_vec(&b).unwrap()
}

async fn post(app: &TestApp, source: &str, body: &[u8]) -> String {
    let (status, r) = app.post_hook(source, body).await;
    assert!(status.is_success(), "{source}: {status} {r}");
    r["events"][0].as_str().unwrap().to_owned()
}

/// The one top-level story, once `done` holds for it.
async fn story_when(app: &TestApp, done: impl Fn(&Value) -> bool) -> Value {
    let list = app
        .wait_api("/api/stories", |b| {
            b["items"]
                .as_array()
                .is_some_and(|i| i.len() == 1 && done(&i[0]))
        })
        .await;
    list["items"][0].clone()
}

/// Every delivery settled (none pending).
async fn quiet(app: &TestApp) {
    app.wait_api("/api/deliveries?status=pending", |b| {
        b["items"].as_array().is_some_and(|i| i.is_empty())
    })
    .await;
}

async fn events_named(app: &TestApp, name: &str) -> Vec<Value> {
    let (status, b) = app.api_get(&format!("/api/events?event={name}")).await;
    assert_eq!(status, StatusCode::OK, "{b}");
    b["items"].as_array().unwrap().clone()
}

/// A Discord receiver answering with message `id`, and an app whose `chat` destination tells stories.
async fn story_chat(id: &str) -> (Receiver, TestApp) {
    let chat = Receiver::start().await;
    chat.set_default(Reply::status(200).body(&format!(r#"{{"id": "{id}"}}"#)));
    let d = dest(&format!(
        "name: chat\ntype: discord\nurl: {}\nstory: true\n",
        chat.url("/api/webhooks/1/t")
    ));
    let app = app_with(Backend::Sqlite, vec![d], |_| {}).await;
    (chat, app)
}

fn zoe() -> Person {
    Person {
        name: "Zoë".into(),
        overseerr: Some("zoe@example.org".into()),
        media_user: Some("zoe".into()),
        notify: "zoe-phone".into(),
    }
}

/// An Overseerr request, its Radarr grab and import, Jellyfin's `ItemAdded` and a Plex play: one story, one
/// Discord message posted then edited to ready to watch, one `media.available`, one message to Zoë.
async fn a_request_to_its_first_play_is_one_story_and_one_edited_message(backend: Backend) {
    let chat = Receiver::start().await;
    let phone = Receiver::start().await;
    chat.set_default(Reply::status(200).body(r#"{"id": "1111", "channel_id": "5"}"#));
    let dests = vec![
        dest(&format!(
            "name: chat\ntype: discord\nurl: {}\nstory: true\nevents: [request.*, download.*, library.*, media.*]\n",
            chat.url("/api/webhooks/1/t")
        )),
        // Zoë's own destination takes nothing by itself: only what she is told.
        dest(&format!(
            "name: zoe-phone\ntype: webhook\nurl: {}\nevents: [health.issue]\nsigning: none\n",
            phone.url("/zoe")
        )),
    ];
    let app = app_with(backend, dests, |cfg: &mut Config| cfg.people = vec![zoe()]).await;
    // Jellyfin has been heard from: a media server is connected, so an import is not yet "ready".
    post(&app, "jellyfin", &fixture("jellyfin", "SessionStart")).await;
    post(&app, "overseerr", &overseerr("media-pending")).await;
    story_when(&app, |s| s["stage"] == "requested").await;
    post(&app, "overseerr", &overseerr("media-approved")).await;
    post(&app, "radarr", &fixture("radarr", "grab")).await;
    story_when(&app, |s| s["stage"] == "grabbed").await;
    quiet(&app).await;
    post(&app, "radarr", &fixture("radarr", "download")).await;
    let s = story_when(&app, |s| s["stage"] == "imported").await;
    assert_eq!(
        s["card"]["headline"],
        "Imported WEBDL-2160p — waiting for the media server"
    );
    quiet(&app).await;
    post(&app, "jellyfin", &jellyfin_added()).await;
    let s = story_when(&app, |s| s["stage"] == "available").await;
    assert_eq!(s["available_on"], "jelly-den");
    quiet(&app).await;
    // The message, edited in place: the last edit says it is ready to watch.
    let got = chat.got();
    let posts: Vec<_> = got.iter().filter(|g| g.query == "wait=true").collect();
    assert_eq!(
        posts.len(),
        1,
        "one message posted: {:?}",
        got.iter()
            .map(|g| (&g.path, g.json()["embeds"][0]["description"].clone()))
            .collect::<Vec<_>>()
    );
    assert!(got.len() >= 3, "then edited");
    assert!(
        got[1..]
            .iter()
            .all(|g| g.path == "/api/webhooks/1/t/messages/1111")
    );
    let last = got.last().unwrap().json();
    let embed = &last["embeds"][0];
    assert!(
        embed["title"]
            .as_str()
            .unwrap()
            .contains("Dune: Part Two (2024)"),
        "{embed}"
    );
    assert!(
        embed["description"]
            .as_str()
            .unwrap()
            .contains("Ready to watch on jelly-den"),
        "{embed}"
    );
    // The first play: the story ends its way; still one message.
    post(&app, "plex", &plex_play()).await;
    let s = story_when(&app, |s| s["stage"] == "played").await;
    quiet(&app).await;
    assert_eq!(
        chat.got().iter().filter(|g| g.query == "wait=true").count(),
        1
    );
    // One media.available, to Zoë once.
    let ready = events_named(&app, "media.available").await;
    assert_eq!(ready.len(), 1, "{ready:?}");
    assert_eq!(ready[0]["data"]["story"]["tell"], json!(["Zoë"]));
    assert_eq!(ready[0]["data"]["story"]["via"], "media_server");
    // Told by the router once the story's pass stored the event: wait for it, then see nothing more came.
    phone.wait_for(1).await;
    quiet(&app).await;
    let told = phone.got();
    assert_eq!(told.len(), 1, "Zoë is told once");
    assert_eq!(told[0].json()["event"], "media.available");
    // The story and its timeline, across four apps.
    let id = s["id"].as_str().unwrap();
    let (status, one) = app.api_get(&format!("/api/stories/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{one}");
    let timeline: Vec<&str> = one["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["event"].as_str().unwrap())
        .collect();
    for step in [
        "request.pending",
        "request.approved",
        "download.grabbed",
        "library.new",
        "media.available",
        "playback.start",
    ] {
        assert!(timeline.contains(&step), "{step} in {timeline:?}");
    }
    let sources: Vec<&str> = one["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(sources, ["jellyfin", "overseerr", "plex", "radarr"]);
    assert_eq!(one["ids"]["imdb"], DUNE_IMDB);
    // Filters.
    let (_, by_stage) = app
        .api_get("/api/stories?stage=played&source=plex&q=dune")
        .await;
    assert_eq!(by_stage["items"].as_array().unwrap().len(), 1);
    let (_, none) = app.api_get("/api/stories?stage=grabbed").await;
    assert!(none["items"].as_array().unwrap().is_empty());
    let (status, bad) = app.api_get("/api/stories?stage=watching").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        bad["error"]["message"].as_str().unwrap().contains("stage"),
        "{bad}"
    );
    let (status, _) = app.api_get("/api/stories/sty_nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.stop().await;
}

both_backends!(a_request_to_its_first_play_is_one_story_and_one_edited_message);

/// Sonarr's grab and import of a 10-episode season: ten episode stories under one season story, one message.
#[tokio::test]
async fn a_season_pack_is_one_story_per_episode_under_its_season() {
    let (chat, app) = story_chat("2222").await;
    let episodes: Vec<Value> = (1..=10)
        .map(|n| json!({"id": 3000 + n, "episodeNumber": n, "seasonNumber": 1, "title": format!("Episode {n}"), "tvdbId": 20_000 + n}))
        .collect();
    let mut grab: Value = serde_json::from_slice(&fixture("sonarr", "grab")).unwrap();
    grab["episodes"] = Value::Array(episodes.clone());
    post(&app, "sonarr", &serde_json::to_vec(&grab).unwrap()).await;
    let mut import: Value = serde_json::from_slice(&fixture("sonarr", "import-complete")).unwrap();
    import["episodes"] = Value::Array(episodes);
    post(&app, "sonarr", &serde_json::to_vec(&import).unwrap()).await;
    let season = story_when(&app, |s| s["stage"] == "available").await;
    assert_eq!(season["kind"], "season");
    assert_eq!(season["title"], "Severance season 1");
    let id = season["id"].as_str().unwrap();
    let (_, one) = app.api_get(&format!("/api/stories/{id}")).await;
    let eps = one["episodes"].as_array().unwrap();
    assert_eq!(eps.len(), 10);
    assert!(
        eps.iter()
            .all(|e| e["stage"] == "available" && e["parent"] == id)
    );
    assert_eq!(eps[9]["title"], "Severance S01E10");
    let (_, all) = app.api_get("/api/stories?episodes=true&limit=50").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 11);
    assert_eq!(
        events_named(&app, "media.available").await.len(),
        1,
        "one for the season"
    );
    quiet(&app).await;
    let got = chat.got();
    assert_eq!(
        got.iter().filter(|g| g.query == "wait=true").count(),
        1,
        "one message for the pack"
    );
    app.stop().await;
}

/// A Radarr import with no media server connected is available at once; its later upgrade is
/// `media.upgraded`, not a new title.
#[tokio::test]
async fn an_upgrade_is_media_upgraded_not_a_new_title() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    post(&app, "radarr", &fixture("radarr", "download")).await;
    let s = story_when(&app, |s| s["stage"] == "available").await;
    assert_eq!(s["available_via"], "import");
    post(&app, "radarr", &fixture("radarr", "download-upgrade")).await;
    story_when(&app, |s| s["upgrades"] == 1).await;
    let upgraded = app
        .wait_api("/api/events?event=media.upgraded", |b| {
            !b["items"].as_array().unwrap().is_empty()
        })
        .await;
    assert_eq!(upgraded["items"].as_array().unwrap().len(), 1);
    assert_eq!(events_named(&app, "media.available").await.len(), 1);
    let (_, list) = app.api_get("/api/stories").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    app.stop().await;
}

/// A grab that never imports turns `media.stuck` once its window passes; the story's message, deleted in
/// Discord meanwhile (404 on the edit), is posted anew and kept.
#[tokio::test]
async fn a_grab_that_never_imports_is_stuck_and_a_deleted_message_is_posted_again() {
    let chat = Receiver::start().await;
    chat.script([Reply::status(200).body(r#"{"id": "3333"}"#)]);
    let d = dest(&format!(
        "name: chat\ntype: discord\nurl: {}\nstory: true\n",
        chat.url("/api/webhooks/1/t")
    ));
    let app = app_with(Backend::Sqlite, vec![d], |cfg: &mut Config| {
        cfg.stories.stuck_after.grabbed = Some(Duration::from_secs(1));
    })
    .await;
    post(&app, "radarr", &fixture("radarr", "grab")).await;
    story_when(&app, |s| s["stage"] == "grabbed").await;
    quiet(&app).await;
    // The message is deleted in Discord: the stuck edit finds it gone.
    chat.script([
        Reply::status(404).body(r#"{"code": 10008, "message": "Unknown Message"}"#),
        Reply::status(200).body(r#"{"id": "4444"}"#),
    ]);
    let stuck = app
        .wait_api("/api/events?event=media.stuck", |b| {
            !b["items"].as_array().unwrap().is_empty()
        })
        .await;
    let told = &stuck["items"][0];
    assert_eq!(told["data"]["story"]["stage"], "grabbed");
    assert!(told["data"]["story"]["waiting_secs"].as_i64().unwrap() >= 1);
    quiet(&app).await;
    let got = chat.got();
    let paths: Vec<(&str, &str)> = got
        .iter()
        .map(|g| (g.path.as_str(), g.query.as_str()))
        .collect();
    assert_eq!(
        paths,
        [
            ("/api/webhooks/1/t", "wait=true"),
            ("/api/webhooks/1/t/messages/3333", ""),
            ("/api/webhooks/1/t", "wait=true"),
        ],
        "posted, edit found it gone, posted anew"
    );
    assert!(
        got[2].json()["embeds"][0]["description"]
            .as_str()
            .unwrap()
            .contains("(stuck)")
    );
    // Told once, however long it stays stuck.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(events_named(&app, "media.stuck").await.len(), 1);
    app.stop().await;
}

/// A source that sent regularly and goes quiet past its rhythm (and the floor) is `hookarr.source_silent`,
/// once; its next event is `hookarr.source_back`.
#[tokio::test]
async fn a_source_going_silent_and_coming_back_is_told_once_each() {
    let app = TestApp::spawn_with(Backend::Sqlite, |cfg: &mut Config| {
        cfg.stories.silent_after_at_least = Some(Duration::from_secs(2));
    })
    .await;
    for copy in 0..8 {
        post(&app, "radarr", &fixture_copy("radarr", "health", copy)).await;
    }
    let silent = app
        .wait_api("/api/events?event=hookarr.source_silent", |b| {
            !b["items"].as_array().unwrap().is_empty()
        })
        .await;
    assert_eq!(silent["items"][0]["data"]["silence"]["source"], "radarr");
    assert!(events_named(&app, "hookarr.source_back").await.is_empty());
    post(&app, "radarr", &fixture_copy("radarr", "health", 99)).await;
    let back = app
        .wait_api("/api/events?event=hookarr.source_back", |b| {
            !b["items"].as_array().unwrap().is_empty()
        })
        .await;
    assert!(
        back["items"][0]["data"]["silence"]["quiet_secs"]
            .as_i64()
            .unwrap()
            >= 2
    );
    assert_eq!(
        events_named(&app, "hookarr.source_silent").await.len(),
        1,
        "no flapping"
    );
    app.stop().await;
}

/// Events that name no title (a Prowlarr grab) join no story and are counted; a rebuild from the stored
/// events gives the same stories and sends nothing.
#[tokio::test]
async fn unmatched_events_are_counted_and_a_rebuild_sends_nothing() {
    let (chat, app) = story_chat("5555").await;
    post(&app, "prowlarr", &fixture("prowlarr", "grab")).await;
    post(&app, "radarr", &fixture("radarr", "grab")).await;
    post(&app, "radarr", &fixture("radarr", "download")).await;
    let before = story_when(&app, |s| s["stage"] == "available").await;
    // Its media.available has come back through the queue into its timeline (what a rebuild reads).
    let id = before["id"].as_str().unwrap();
    app.wait_api(&format!("/api/stories/{id}"), |s| {
        s["timeline"]
            .as_array()
            .is_some_and(|t| t.iter().any(|e| e["event"] == "media.available"))
    })
    .await;
    let list = app.wait_api("/api/stories", |b| b["unmatched"] == 1).await;
    assert_eq!(list["unmatched"], 1);
    quiet(&app).await;
    let sent = chat.got().len();
    let rebuilt = app.rebuild_stories().await;
    assert_eq!(rebuilt.stories.len(), 1);
    let after = story_when(&app, |_| true).await;
    for key in ["id", "stage", "title", "steps", "told_available", "sources"] {
        assert_eq!(before[key], after[key], "{key}");
    }
    let (_, list) = app.api_get("/api/stories").await;
    assert_eq!(list["unmatched"], 1, "counted again, not twice");
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(chat.got().len(), sent, "nothing sent again");
    assert_eq!(events_named(&app, "media.available").await.len(), 1);
    app.stop().await;
}

/// People added through the API are checked (a name, a destination that exists), in force at once — told
/// when what they requested is ready — and removed; the file's are read-only there.
async fn people_added_in_the_api_are_told_and_the_files_stay(backend: Backend) {
    let phone = Receiver::start().await;
    let dests = vec![dest(&format!(
        "name: zoe-phone\ntype: webhook\nurl: {}\nevents: [health.issue]\nsigning: none\n",
        phone.url("/zoe")
    ))];
    let app = app_with(backend, dests, |cfg: &mut Config| {
        cfg.people = vec![Person {
            name: "Kenji".into(),
            overseerr: Some("kenji@example.org".into()),
            media_user: None,
            notify: "zoe-phone".into(),
        }];
    })
    .await;
    let (status, b) = app
        .api_post("/api/people", json!({"name": "Zoë", "notify": "nowhere"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["error"]["details"][0]["field"], "notify");
    let (status, b) = app
        .api_post("/api/people", json!({"name": " ", "notify": "zoe-phone"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    let (status, b) = app
        .api_post(
            "/api/people",
            json!({"name": "Kenji", "notify": "zoe-phone"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "the file's: {b}");
    let (status, b) = app
        .api_post(
            "/api/people",
            json!({"name": "Zoë", "overseerr": "zoe@example.org", "notify": "zoe-phone"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{b}");
    assert_eq!(b["origin"], "stored");
    let (_, listed) = app.api_get("/api/people").await;
    let origins: Vec<(&str, &str)> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["origin"].as_str().unwrap()))
        .collect();
    assert_eq!(origins, [("Kenji", "file"), ("Zoë", "stored")]);
    // Her request becomes available (the Radarr import, no media server heard from): she is told once.
    post(&app, "overseerr", &overseerr("media-pending")).await;
    story_when(&app, |s| s["stage"] == "requested").await;
    post(&app, "radarr", &fixture("radarr", "download")).await;
    story_when(&app, |s| s["stage"] == "available").await;
    quiet(&app).await;
    // Told by the router once the story's pass stored the event: wait for it, then see nothing more came.
    phone.wait_for(1).await;
    quiet(&app).await;
    let told = phone.got();
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].json()["data"]["story"]["tell"], json!(["Zoë"]));
    for (path, expected) in [
        ("/api/people/Zo%C3%AB", StatusCode::NO_CONTENT),
        ("/api/people/Zo%C3%AB", StatusCode::NOT_FOUND),
        ("/api/people/Kenji", StatusCode::CONFLICT),
    ] {
        let (status, b) = app
            .call(reqwest::Method::DELETE, path, Some(ADMIN_KEY), None)
            .await;
        assert_eq!(status, expected, "DELETE {path}: {b}");
    }
    let (_, listed) = app.api_get("/api/people").await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    app.stop().await;
}

both_backends!(people_added_in_the_api_are_told_and_the_files_stay);
