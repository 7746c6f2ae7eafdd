//! One destination read and checked on its own, as the API and the page give it (`{name, type, …keys}` or
//! `{name, url}`): the same short-form expansion, deserialization and checks as a `destinations[]` entry of
//! the file, with the same messages; each problem's path is the field's (`url`, `events[1]`).

use super::destination::Destination;
use super::validate::{Problem, Validator};
use serde_json::{Map, Value};
use std::collections::HashSet;

/// A destination read from JSON: its keys, and its long form (what `hookarr.yaml` would say, with the
/// short-form URL expanded), which is what is stored and exported.
#[derive(Debug, Clone)]
pub struct ReadDestination {
    pub destination: Destination,
    pub long_form: Map<String, Value>,
}

/// Reads and checks one destination; `sources` are the source names it may name, `taken` the names in
/// use by other destinations. Every problem is told, each with its field.
pub fn read_destination(
    value: Value,
    sources: &HashSet<String>,
    taken: &HashSet<String>,
) -> Result<ReadDestination, Vec<Problem>> {
    let Value::Object(mut map) = value else {
        return Err(vec![Problem::new(
            "(body)",
            "a destination is a JSON object: {\"name\": …, \"type\": …} or {\"name\": …, \"url\": …}",
        )]);
    };
    if !map.contains_key("type")
        && let Some(kind) = map
            .get("url")
            .and_then(Value::as_str)
            .and_then(web_url_type)
    {
        map.insert("type".into(), Value::String(kind.into()));
    }
    let mut problems = Vec::new();
    if let Err(message) = super::apprise::expand(&mut map) {
        return Err(vec![Problem::new("url", message)]);
    }
    if !map.contains_key("type") && !map.contains_key("url") {
        problems.push(Problem::new(
            "type",
            "missing: give `type` and its keys, or `url` with a service URL (tgram://…, ntfy://…, a Discord webhook URL)",
        ));
        return Err(problems);
    }
    let long_form = map.clone();
    let read: Option<Destination> =
        super::load::deserialize_at("destination", Value::Object(map), &mut problems);
    let mut problems: Vec<Problem> = problems.into_iter().map(relative).collect();
    let Some(destination) = read else {
        return Err(problems);
    };
    let mut seen = taken.clone();
    let mut validator = Validator::default();
    validator.destination("destination", &destination, sources, &mut seen);
    problems.extend(validator.into_problems().into_iter().map(relative));
    if problems.is_empty() {
        Ok(ReadDestination {
            destination,
            long_form,
        })
    } else {
        Err(problems)
    }
}

/// The type a plain web URL stands for: a Discord webhook (`…/api/webhooks/<id>/<token>`, on any host, so
/// that a proxy or a test receiver works too) or a Slack incoming webhook.
fn web_url_type(url: &str) -> Option<&'static str> {
    let parsed = url::Url::parse(url).ok()?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return None;
    }
    let segments: Vec<&str> = parsed.path_segments()?.collect();
    match segments.as_slice() {
        ["api", "webhooks", id, token, ..]
            if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) && !token.is_empty() =>
        {
            Some("discord")
        }
        ["services", ..] if parsed.host_str() == Some("hooks.slack.com") => Some("slack"),
        _ => None,
    }
}

/// `destination.url` → `url`; the whole destination → `(destination)`.
fn relative(p: Problem) -> Problem {
    let path = match p.path.strip_prefix("destination") {
        Some("") => "(destination)".to_owned(),
        Some(rest) => rest.trim_start_matches('.').to_owned(),
        None => p.path,
    };
    Problem::new(path, p.message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sources() -> HashSet<String> {
        ["radarr".to_owned(), "sonarr".to_owned()].into()
    }

    #[test]
    fn a_pasted_discord_webhook_url_is_a_discord_destination() {
        let read = read_destination(
            json!({"name": "movies", "url": "https://discord.com/api/webhooks/1234/abc-DEF"}),
            &sources(),
            &HashSet::new(),
        )
        .unwrap();
        assert_eq!(read.destination.kind.as_str(), "discord");
        assert_eq!(read.long_form["type"], "discord");
    }

    #[test]
    fn a_short_form_url_is_stored_in_its_long_form() {
        let read = read_destination(
            json!({"name": "phone", "url": "ntfys://ntfy.sh/hookarr-alerts"}),
            &sources(),
            &HashSet::new(),
        )
        .unwrap();
        assert_eq!(read.destination.kind.as_str(), "ntfy");
        assert_eq!(read.long_form["topic"], "hookarr-alerts");
        assert!(!read.long_form.contains_key("url"), "{:?}", read.long_form);
    }

    #[test]
    fn every_problem_names_its_field() {
        let problems = read_destination(
            json!({"name": "Bad Name", "type": "discrod", "url": "https://x"}),
            &sources(),
            &HashSet::new(),
        )
        .unwrap_err();
        assert_eq!(problems[0].path, "type", "{problems:?}");
        assert!(problems[0].message.contains("discrod"), "{problems:?}");

        let problems = read_destination(
            json!({"name": "movies", "type": "discord", "url": "https://discord.com/api/webhooks/1/t",
                   "sources": ["lidarr"], "events": ["media.nonsense"]}),
            &sources(),
            &["movies".to_owned()].into(),
        )
        .unwrap_err();
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert!(paths.contains(&"name"), "{problems:?}");
        assert!(paths.contains(&"sources[0]"), "{problems:?}");
        assert!(paths.contains(&"events[0]"), "{problems:?}");
    }
}
