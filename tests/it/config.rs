//! Configuration loading: interpolation, overrides, every problem at once with its path, the example file.

use hookarr::config::{DestinationType, FilterOp, load_from_str};
use std::time::Duration;

fn env(name: &str) -> Option<String> {
    match name {
        "DISCORD_URL" => Some("https://discord.com/api/webhooks/123456/abcDEF".into()),
        "WEBHOOK_SECRET" => Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into()),
        "RADARR4K_TOKEN" => Some("radarr-4k-token".into()),
        "HA_TOKEN" => Some("ha-long-lived-token".into()),
        "TELEGRAM_BOT_TOKEN" => Some("123456789:AAbbCCddEEff".into()),
        "GOTIFY_APP_TOKEN" => Some("AbCdEfGhIjKlMnO".into()),
        "PUSHOVER_APP_TOKEN" => Some("azGDORePK8gMaC0QOYAMyEEuzJnyUi".into()),
        "PUSHOVER_USER_KEY" => Some("uQiRzpo4DXghDmr9QzzfQu27cmVRsG".into()),
        "MATRIX_ACCESS_TOKEN" => Some("syt_aG9va2Fycg_abc".into()),
        "SMTP_PASSWORD" => Some("correct horse".into()),
        _ => None,
    }
}

#[test]
fn no_config_means_the_contract_defaults() {
    let (cfg, warnings) = load_from_str("", env, &[]).unwrap();
    assert_eq!(cfg.server.listen, "0.0.0.0:9494");
    assert_eq!(cfg.storage.url.expose(), "sqlite://data/hookarr.db");
    assert_eq!(
        (cfg.server.max_body_bytes, cfg.server.dedupe_window_secs),
        (1_048_576, 60)
    );
    assert_eq!((cfg.delivery.workers, cfg.delivery.timeout_secs), (32, 30));
    assert_eq!(cfg.api.max_webhooks_per_user, 5);
    assert!(warnings.is_empty());
}

#[test]
fn the_example_config_documents_every_key_and_loads() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/hookarr.example.yaml"
    ))
    .unwrap();
    let (cfg, _) = load_from_str(&text, env, &[]).unwrap_or_else(|p| panic!("{p}"));
    assert!(cfg.sources.iter().any(|s| s.name == "radarr-4k"));
    let discord = cfg
        .destinations
        .iter()
        .find(|d| d.kind == DestinationType::Discord)
        .unwrap();
    assert_eq!(discord.group_window, Some(Duration::from_secs(30)));
    let retry = discord.retry.as_ref().unwrap();
    assert_eq!(retry.schedule[2], Duration::from_secs(60));
    assert_eq!(retry.schedule[6], Duration::from_secs(6 * 3600));
    let kinds: Vec<DestinationType> = cfg.destinations.iter().map(|d| d.kind).collect();
    assert!(
        DestinationType::ALL.iter().all(|k| kinds.contains(k)),
        "every type has an example: {kinds:?}"
    );
    let filter = &discord.filter["data.media.year"];
    assert_eq!(filter.0, vec![FilterOp::Ge(2000.0)]);
    for key in [
        "public_url",
        "max_body_bytes",
        "dedupe_window_secs",
        "header_timeout_secs",
        "body_timeout_secs",
        "max_connections",
        "max_requests_in_flight",
        "retention_days",
        "api_key",
        "allow_ips",
        "events",
        "sources",
        "filter",
        "template",
        "rate_limit",
        "retry",
        "expire_after",
        "group_window",
        "quiet_hours",
        "headers",
        "secret",
        "signing",
        "token",
        "allow_insecure",
        "workers",
        "timeout_secs",
        "max_response_bytes",
        "max_webhooks_per_user",
        "allow_private_targets",
        "server",
        "chat_id",
        "thread_id",
        "silent",
        "topic",
        "tags",
        "priority",
        "user_key",
        "devices",
        "sound",
        "emergency",
        "room",
        "username",
        "password",
        "from",
        "to",
        "tls",
        "story",
        "stuck_after",
        "silent_after_at_least",
        "people",
        "overseerr",
        "media_user",
        "notify",
    ] {
        assert!(
            text.contains(&format!("{key}:")),
            "the example must document `{key}`"
        );
    }
}

#[test]
fn environment_overrides_scalars() {
    let vars = vec![
        (
            "HOOKARR_SERVER__LISTEN".to_owned(),
            "127.0.0.1:8080".to_owned(),
        ),
        ("HOOKARR_DELIVERY__WORKERS".to_owned(), "4".to_owned()),
        (
            "HOOKARR_API__ALLOW_PRIVATE_TARGETS".to_owned(),
            "true".to_owned(),
        ),
        ("HOOKARR_LOGLEVEL".to_owned(), "x".to_owned()),
    ];
    let (cfg, warnings) = load_from_str("server:\n  listen: 0.0.0.0:1\n", env, &vars).unwrap();
    assert_eq!(cfg.server.listen, "127.0.0.1:8080");
    assert_eq!(cfg.delivery.workers, 4);
    assert!(cfg.api.allow_private_targets);
    assert!(
        warnings.iter().any(|w| w.contains("HOOKARR_LOGLEVEL")),
        "{warnings:?}"
    );
    let bad = vec![("HOOKARR_SERVER__LISTN".to_owned(), "x".to_owned())];
    let problems = load_from_str("", env, &bad).unwrap_err().to_string();
    assert!(
        problems.contains("server.listn") && problems.contains("unknown field"),
        "{problems}"
    );
}

#[test]
fn every_problem_is_reported_at_once_with_its_path_and_fix() {
    let text = r#"
server:
  listen: nowhere
  colour: blue
storage:
  url: mysql://x
sources:
  - name: Radarr 4K
    app: radarr
  - name: ok
    app: tivo
    token: long-enough
destinations:
  - name: d1
    type: discord
    url: https://discord.com/api/not-a-webhook
    events: ["libary.*"]
    sources: [nosuch]
    filter:
      data.media.year: {"~": 1}
    retry: {schedule: [10 minutes-ish]}
    max_in_flight: 0
  - name: d1
    type: home_assistant
    url: http://8.8.8.8/api/events/hookarr
    quiet_hours: {from: "25:00", to: "07:00", tz: Mars/Olympus}
    secret: whsec_x
delivery:
  workers: 0
"#;
    let problems = load_from_str(text, env, &[]).unwrap_err();
    let all = problems.to_string();
    for expected in [
        "server.colour: unknown field",
        "storage.url: must start with sqlite://",
        "sources[0].name: use 1–63 lower-case",
        "sources[0]: needs `token:`",
        "sources[1].app: unknown variant `tivo`",
        "destinations[0].url: a Discord webhook URL looks like https://discord.com/api/webhooks/<id>/<token>",
        "destinations[0].retry.schedule",
        "destinations[0].max_in_flight: must be at least 1",
        "destinations[1].name: `d1` is used by another destination",
        "destinations[1].url: plain http:// is only allowed",
        "destinations[1].token: /api/events/ needs a long-lived access token",
        "destinations[1].quiet_hours.from",
        "destinations[1].quiet_hours.tz",
        "destinations[1].secret: only webhook destinations",
        "delivery.workers: must be between 1 and 1024",
    ] {
        assert!(all.contains(expected), "missing `{expected}` in:\n{all}");
    }
    // The first destination failed to deserialize (bad filter op), so its other fields are checked only after
    // the fix; the bad operator itself is named.
    assert!(
        all.contains("unknown operator `~`") || all.contains("destinations[0].filter"),
        "{all}"
    );
    assert!(problems.0.len() >= 14, "{all}");
}

#[test]
fn globs_sources_and_filters_are_checked_against_what_exists() {
    let text = r#"
destinations:
  - name: chat
    type: slack
    url: https://hooks.slack.com/services/T0/B0/x
    events: ["libary.*", "health.*"]
    sources: [radarr, nosuch]
    filter:
      media.year: 2000
"#;
    let all = load_from_str(text, env, &[]).unwrap_err().to_string();
    assert!(
        all.contains("destinations[0].events[0]: `libary.*` matches no event"),
        "{all}"
    );
    assert!(!all.contains("events[1]"), "{all}");
    assert!(
        all.contains("destinations[0].sources[1]: no source is named `nosuch`"),
        "{all}"
    );
    assert!(
        all.contains("destinations[0].filter.media.year: paths start with data."),
        "{all}"
    );
}

#[test]
fn interpolation_errors_name_the_variable() {
    let all = load_from_str(
        "admin:\n  api_key: ${MISSING}\n  x: ${NEEDED:?set NEEDED to the key}\n",
        env,
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(all.contains("`MISSING` is not set"), "{all}");
    assert!(all.contains("set NEEDED to the key"), "{all}");
    let (cfg, _) = load_from_str("admin:\n  api_key: ${MISSING:-}\n", env, &[]).unwrap();
    assert!(
        cfg.admin.api_key.is_none_or(|k| k.expose().is_empty()),
        "an empty default leaves the key unset"
    );
}

#[test]
fn durations_take_units() {
    let text = "destinations:\n  - {name: w, type: webhook, url: 'https://example.org/h', expire_after: 2h, group_window: 45}\n";
    let (cfg, _) = load_from_str(text, env, &[]).unwrap();
    assert_eq!(
        cfg.destinations[0].expire_after,
        Some(Duration::from_secs(7200))
    );
    assert_eq!(
        cfg.destinations[0].group_window,
        Some(Duration::from_secs(45))
    );
    let all = load_from_str("destinations:\n  - {name: w, type: webhook, url: 'https://example.org/h', expire_after: soon}\n", env, &[])
        .unwrap_err()
        .to_string();
    assert!(
        all.contains("destinations[0].expire_after") && all.contains("`soon` is not a duration"),
        "{all}"
    );
}

/// The minimal example as shipped is refused for its placeholder URL (so `check-config` says what to paste);
/// with a real URL it loads without warnings and routes what its comment promises: a grab, an import, a
/// health problem of the *arr apps — not Plex's "added" of the same episode, a rename, a rating, a delete.
#[test]
fn the_minimal_example_wants_a_real_url_and_routes_grabs_imports_and_health_only() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/hookarr.minimal.yaml"
    ))
    .unwrap();
    let problems = load_from_str(&text, |_| None, &[]).unwrap_err().0;
    let told: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(
        told[0].contains("destinations[0].url") && told[0].contains("placeholder"),
        "{told:?}"
    );
    let mine = text.replace(
        "123456789012345678/replace-this-with-your-webhook-token",
        "987654321098765432/aBcDeFgHiJkLmNoPqRsTuVwXyZ",
    );
    let (cfg, warnings) = load_from_str(&mine, |_| None, &[]).unwrap_or_else(|p| panic!("{p}"));
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(cfg.destinations[0].kind, DestinationType::Discord);
    let table = hookarr::delivery::route::RoutingTable {
        rules: cfg
            .destinations
            .iter()
            .map(hookarr::delivery::route::Rule::new)
            .collect(),
        people: Default::default(),
    };
    let routed = |source: &str, event: &str| {
        let e: hookarr::event::Event = serde_json::from_value(serde_json::json!({
            "id": "evt_01HZZZZZZZZZZZZZZZZZZZZZZZ", "event": event,
            "timestamp": "2026-12-07T00:00:00.000Z",
            "source": {"name": source, "app": source, "event": "x"},
            "summary": "s", "data": {}
        }))
        .unwrap();
        !table.route(&e, &|_| true).is_empty()
    };
    for (source, event) in [
        ("radarr", "download.grabbed"),
        ("sonarr", "library.new"),
        ("radarr", "library.upgraded"),
        ("sonarr", "health.issue"),
    ] {
        assert!(routed(source, event), "{source} {event} is told");
    }
    for (source, event) in [
        ("plex", "library.new"),
        ("jellyfin", "library.new"),
        ("sonarr", "library.updated"),
        ("sonarr", "library.deleted"),
        ("plex", "library.rated"),
        ("sonarr", "health.restored"),
    ] {
        assert!(!routed(source, event), "{source} {event} is not told");
    }
}

#[test]
fn a_misspelt_type_is_one_problem_not_two() {
    let text = "destinations:\n  - name: d\n    type: discrod\n    url: https://discord.com/api/webhooks/1/t\n";
    let problems = load_from_str(text, |_| None, &[]).unwrap_err().0;
    let told: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(told[0].contains("unknown variant `discrod`"), "{told:?}");
}

#[test]
fn batches_are_for_webhooks_within_their_limits() {
    let good = "destinations:\n  - {name: bus, type: webhook, url: 'https://bus.example.org/in', batch: {max_events: 50, max_wait: 30s}}\n";
    let (cfg, _) = load_from_str(good, env, &[]).unwrap_or_else(|p| panic!("{p}"));
    let batch = cfg.destinations[0].batch.unwrap();
    assert_eq!(
        (batch.max_events, batch.max_wait),
        (50, std::time::Duration::from_secs(30))
    );
    let bad = "destinations:\n  - {name: chat, type: discord, url: '${DISCORD_URL}', batch: {max_events: 5, max_wait: 10s}}\n  - {name: bus, type: webhook, url: 'https://bus.example.org/in', batch: {max_events: 0, max_wait: 2h}}\n";
    let problems = load_from_str(bad, env, &[]).unwrap_err().to_string();
    for (path, says) in [
        (
            "destinations[0].batch",
            "only webhook destinations take batches",
        ),
        ("destinations[1].batch.max_events", "from 1 to 1000"),
    ] {
        assert!(
            problems.contains(path) && problems.contains(says),
            "{path}: {problems}"
        );
    }
}

/// Each service type says which of its keys is missing or wrong, the keys of other types are refused, and a
/// short form that cannot be read is one problem on its `url`.
#[test]
fn service_destinations_name_what_they_need() {
    let text = "destinations:
  - {name: tg, type: telegram, token: nope}
  - {name: ntfy, type: ntfy, topic: 'a b', priority: 9}
  - {name: gotify, type: gotify, token: t}
  - {name: po, type: pushover, token: short, user_key: short, priority: 2}
  - {name: mx, type: matrix, server: 'https://m.example.org', token: t, room: 'media'}
  - {name: mail, type: email, server: 'smtp://mail.example.org', tls: none, from: nobody, to: []}
  - {name: mixed, type: discord, url: 'https://discord.com/api/webhooks/1/t', chat_id: 5}
  - {name: odd, type: telegram, url: 'https://api.telegram.org', token: '1:a', chat_id: 5}
  - {name: short, url: 'tgram://123:abc'}
";
    let all = load_from_str(text, env, &[]).unwrap_err().to_string();
    for expected in [
        "destinations[0].token: a bot token looks like",
        "destinations[0].chat_id: needs the chat",
        "destinations[1].topic: needs a topic",
        "destinations[1].priority: ntfy priorities are 1–5",
        "destinations[2].server: missing: a gotify destination needs its server",
        "destinations[3].token: needs the application's API token",
        "destinations[3].user_key: needs your user key",
        "destinations[3].emergency: priority 2 repeats until acknowledged",
        "destinations[4].room: needs the room: its alias",
        "destinations[5].from: needs the sender",
        "destinations[5].to: needs at least one recipient",
        "destinations[5].tls: plain SMTP (tls: none) only goes to loopback or private hosts",
        "destinations[6].chat_id: only telegram destinations take `chat_id`",
        "destinations[7].url: a telegram destination takes `server:`",
        "destinations[8].url: name the chat after the token",
    ] {
        assert!(all.contains(expected), "missing `{expected}` in:\n{all}");
    }
}

/// A person's `notify` may be a service URL of their own: it becomes a destination that takes nothing but
/// what they are told — not the events its type would take, not an app's Test button — and a URL that is not
/// one is a problem at the person's path.
#[test]
fn a_persons_own_url_is_a_destination_that_takes_only_what_they_are_told() {
    use hookarr::delivery::route::{RoutingTable, Rule};
    use hookarr::event::{Event, EventData, EventKind, SourceInfo, StoryRef};
    let text = "people:\n  - {name: Zoë, overseerr: zoe@example.org, notify: 'ntfys://ntfy.sh/zoe-movies'}\n";
    let (cfg, _) = load_from_str(text, |_| None, &[]).unwrap_or_else(|p| panic!("{p}"));
    assert_eq!(cfg.people[0].notify, "person-zo");
    let own = cfg
        .destinations
        .iter()
        .find(|d| d.name == "person-zo")
        .unwrap();
    assert_eq!(own.kind, DestinationType::Ntfy);
    let table = RoutingTable {
        rules: cfg.destinations.iter().map(Rule::new).collect(),
        people: std::sync::Arc::new(cfg.people.clone()),
    };
    let event = |kind, tell: Vec<String>| {
        let source = SourceInfo {
            name: "hookarr".into(),
            app: "hookarr".into(),
            ..SourceInfo::default()
        };
        let mut e = Event::new(kind, chrono::Utc::now(), source, EventData::default());
        e.data.story = Some(StoryRef {
            id: "sty_1".into(),
            stage: "available".into(),
            tell,
            ..StoryRef::default()
        });
        e
    };
    let to = |e: &Event| -> Vec<String> {
        table
            .route(e, &|_| true)
            .into_iter()
            .map(|d| d.destination)
            .collect()
    };
    assert_eq!(
        to(&event(EventKind::MediaAvailable, vec!["Zoë".into()])),
        ["person-zo"]
    );
    assert!(
        to(&event(EventKind::MediaAvailable, Vec::new())).is_empty(),
        "not told: nothing"
    );
    assert!(
        to(&event(EventKind::Test, Vec::new())).is_empty(),
        "not an app's Test button"
    );
    let wrong = "people:\n  - {name: Zoë, notify: 'nope://x'}\n";
    let problems = load_from_str(wrong, |_| None, &[]).unwrap_err().0;
    assert!(
        problems.iter().any(|p| p.path == "people[0].notify"),
        "{problems:?}"
    );
}

#[test]
fn a_role_of_its_own_needs_postgresql() {
    let text = "server:\n  role: worker\nstorage:\n  url: sqlite://data/hookarr.db\n";
    let all = load_from_str(text, env, &[]).unwrap_err().to_string();
    assert!(
        all.contains("server.role: `worker` needs PostgreSQL"),
        "{all}"
    );
    let shared = "server:\n  role: worker\nstorage:\n  url: postgres://hookarr@127.0.0.1/hookarr\n";
    assert!(load_from_str(shared, env, &[]).is_ok());
}
