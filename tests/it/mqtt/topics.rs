//! The MQTT keys checked at load: wildcards where a name must go, a broker URL that is none, an mqtt
//! destination without a broker, a destination taking the Home Assistant destination's name.

use hookarr::config::load_from_str;

fn problems_of(yaml: &str) -> Vec<String> {
    match load_from_str(yaml, |_| None, &[]) {
        Ok(_) => Vec::new(),
        Err(problems) => problems.0.iter().map(|p| p.to_string()).collect(),
    }
}

#[test]
fn wildcards_and_unknown_placeholders_are_refused_naming_the_field() {
    let found = problems_of(
        "mqtt: {url: 'mqtt://127.0.0.1:1883', base_topic: 'home/+', discovery_prefix: 'ha#'}\n\
         destinations:\n  - {name: bus, type: mqtt, topic: 'media/#'}\n  - {name: feed, type: mqtt, topic: 'media/{title}'}\n",
    );
    for (path, says) in [
        ("mqtt.base_topic", "wildcards"),
        ("mqtt.discovery_prefix", "wildcards"),
        ("destinations[0].topic", "wildcards"),
        ("destinations[1].topic", "{title}"),
    ] {
        assert!(
            found
                .iter()
                .any(|p| p.starts_with(path) && p.contains(says)),
            "{path}: {found:#?}"
        );
    }
}

#[test]
fn a_broker_url_a_missing_broker_and_a_taken_name_are_problems() {
    let found = problems_of("mqtt: {url: 'http://127.0.0.1:1883'}\n");
    assert!(found.iter().any(|p| p.starts_with("mqtt.url")), "{found:?}");
    let found = problems_of("destinations:\n  - {name: bus, type: mqtt}\n");
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("destinations[0].type") && p.contains("mqtt:")),
        "{found:?}"
    );
    let found = problems_of(
        "mqtt: {url: 'mqtt://127.0.0.1:1883'}\n\
         destinations:\n  - {name: mqtt-home-assistant, type: webhook, url: 'http://127.0.0.1:9/x'}\n",
    );
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("destinations[0].name") && p.contains("rename")),
        "{found:?}"
    );
    let found = problems_of(
        "mqtt: {url: 'mqtt://127.0.0.1:1883', password: x}\n\
         destinations:\n  - {name: bus, type: mqtt, url: 'mqtt://elsewhere'}\n",
    );
    assert!(
        found.iter().any(|p| p.starts_with("mqtt.username")),
        "{found:?}"
    );
    assert!(
        found.iter().any(|p| p.starts_with("destinations[0].url")),
        "{found:?}"
    );
}

#[test]
fn with_mqtt_set_home_assistant_has_its_destination() {
    let loaded = load_from_str(
        "mqtt: {url: 'mqtt://127.0.0.1:1883', players: [kenji]}\n",
        |_| None,
        &[],
    )
    .unwrap();
    let ha = loaded
        .0
        .destinations
        .iter()
        .find(|d| d.name == "mqtt-home-assistant")
        .expect("made from mqtt:");
    assert!(ha.home_assistant);
    assert!(ha.events.iter().any(|e| e == "hookarr.source_silent"));
}
