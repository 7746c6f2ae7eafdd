//! Routing (CONTRACT §5): which destinations want an event — `events` globs, `sources`, and `filter`
//! conditions on dotted paths into the envelope.

use crate::config::{Condition, Destination, FilterOp};
use crate::event::{Event, EventKind, glob_matches, new_prefixed_id};
use crate::storage::NewDelivery;
use regex::Regex;
use serde_json::Value;
use std::time::Duration;

/// One destination's routing rule, compiled.
#[derive(Debug, Clone)]
pub struct Rule {
    pub destination: String,
    events: Vec<String>,
    sources: Option<Vec<String>>,
    filter: Vec<(String, Vec<Op>)>,
    expire_after: Option<Duration>,
    /// Grouping window (CONTRACT §5): Discord and Slack default to 30 s, other types to off.
    pub group_window: Duration,
    /// Quiet hours: events arriving inside are held until the window ends, then sent as one digest.
    pub quiet: Option<super::quiet::Window>,
    /// Batches: events wait up to `max_wait` and go out together, `max_events` at most per request.
    pub batch: Option<crate::config::Batch>,
    /// `story: true`: one message per title (CONTRACT §5.1).
    pub story: StoryMode,
    /// A person's own destination: it takes only what they are told ([`RoutingTable::route`]).
    told_only: bool,
}

/// How a destination takes part in stories.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoryMode {
    /// Every event as it comes.
    Off,
    /// One message per title, edited at each step: the story's steps come from its story, not the router.
    Edits,
    /// A target that cannot edit: the story's steps it chooses (`events`; default available and stuck).
    Steps,
}

#[derive(Debug, Clone)]
enum Op {
    Plain(FilterOp),
    Matches(Regex),
}

impl Rule {
    pub fn new(d: &Destination) -> Rule {
        let filter = d
            .filter
            .iter()
            .map(|(path, Condition(ops))| {
                let ops = ops
                    .iter()
                    .map(|op| match op {
                        // Validated at load: the pattern compiles.
                        FilterOp::Matches(re) => Regex::new(re)
                            .map(Op::Matches)
                            .unwrap_or_else(|_| Op::Plain(op.clone())),
                        other => Op::Plain(other.clone()),
                    })
                    .collect();
                (path.clone(), ops)
            })
            .collect();
        let story = match (d.story, d.kind.target().edits_messages() && d.edit_messages) {
            (false, _) => StoryMode::Off,
            (true, true) => StoryMode::Edits,
            (true, false) => StoryMode::Steps,
        };
        let events = if story == StoryMode::Steps && d.events == ["*"] {
            vec!["media.available".to_owned(), "media.stuck".to_owned()]
        } else {
            d.events.clone()
        };
        Rule {
            destination: d.name.clone(),
            events,
            story,
            told_only: d.told_only,
            sources: d.sources.clone(),
            filter,
            expire_after: d.expire_after,
            quiet: d.quiet_hours.as_ref().and_then(super::quiet::Window::new),
            batch: d.batch,
            group_window: d
                .group_window
                .unwrap_or_else(|| d.kind.target().default_group_window()),
        }
    }

    /// Whether this destination wants the event (`envelope` is the event as JSON, for the filter).
    pub fn wants(&self, event: &Event, envelope: &Value) -> bool {
        if self.told_only {
            return false;
        }
        let name = event.event.as_str();
        // `test` passes the event globs and the filter (a test carries no media to filter on), so an app's Test
        // button reaches every destination that takes that source.
        let test = event.event == EventKind::Test;
        // What hookarr derives from stories (`media.*`, `hookarr.source_*`) is named, never taken by a bare
        // `*`: a destination of every event already has each step they are derived from.
        let derived = event.event.is_derived();
        if !test
            && !self
                .events
                .iter()
                .any(|g| !(derived && g == "*") && glob_matches(g, name))
        {
            return false;
        }
        if let Some(sources) = &self.sources
            && !sources.iter().any(|s| s == &event.source.name)
        {
            return false;
        }
        test || self.filter_holds(envelope)
    }

    /// Whether every `filter` condition holds on the envelope.
    fn filter_holds(&self, envelope: &Value) -> bool {
        self.filter.iter().all(|(path, ops)| {
            let value = lookup(envelope, path);
            ops.iter().all(|op| holds(op, value))
        })
    }

    /// Whether this story destination shows a story's step: the step's name passes its `events` (the
    /// story's own `media.*` always do), one of the story's sources its `sources`, the step its `filter`.
    pub fn wants_step(&self, story: &crate::stories::Story, step: &Event) -> bool {
        let derived = step.event.as_str().starts_with("media.");
        if !derived
            && !self
                .events
                .iter()
                .any(|g| glob_matches(g, step.event.as_str()))
        {
            return false;
        }
        if let Some(sources) = &self.sources
            && !sources.iter().any(|s| story.sources.contains(s))
        {
            return false;
        }
        derived
            || self.filter.is_empty()
            || self.filter_holds(&serde_json::to_value(step).expect("an Event serializes"))
    }

    /// When an undelivered delivery of this event stops being worth sending.
    pub fn expiry(&self, event: &Event) -> Option<Duration> {
        self.expire_after.or_else(|| {
            event
                .event
                .as_str()
                .starts_with("playback.")
                .then(|| Duration::from_secs(600))
        })
    }
}

/// The value at a dotted path (`data.media.year`); array elements by index (`data.media.episodes.0.season`).
pub fn lookup<'a>(root: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = root;
    for part in path.split('.') {
        cur = match cur {
            Value::Object(map) => map.get(part)?,
            Value::Array(items) => items.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    (!cur.is_null()).then_some(cur)
}

fn equals(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        // Filters are written in YAML, so `"2024"` and `2024` should agree; strings compare case-sensitively.
        (Value::String(s), Value::Number(n)) | (Value::Number(n), Value::String(s)) => {
            s.parse::<f64>().ok() == n.as_f64()
        }
        // A list field holds when any element equals (`data.media.genres: Drama`).
        (Value::Array(items), plain) if !plain.is_array() => items.iter().any(|i| equals(i, plain)),
        _ => a == b,
    }
}

fn number(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn holds(op: &Op, value: Option<&Value>) -> bool {
    match op {
        Op::Matches(re) => match value {
            Some(Value::String(s)) => re.is_match(s),
            Some(Value::Array(items)) => items
                .iter()
                .any(|i| i.as_str().is_some_and(|s| re.is_match(s))),
            Some(other) => re.is_match(&other.to_string()),
            None => false,
        },
        Op::Plain(op) => match op {
            FilterOp::Equals(want) => value.is_some_and(|v| equals(v, want)),
            FilterOp::In(list) => value.is_some_and(|v| list.iter().any(|w| equals(v, w))),
            FilterOp::Not(unwanted) => !value.is_some_and(|v| equals(v, unwanted)),
            FilterOp::Gt(n) => number(value).is_some_and(|v| v > *n),
            FilterOp::Ge(n) => number(value).is_some_and(|v| v >= *n),
            FilterOp::Lt(n) => number(value).is_some_and(|v| v < *n),
            FilterOp::Le(n) => number(value).is_some_and(|v| v <= *n),
            FilterOp::Exists(want) => value.is_some() == *want,
            FilterOp::Matches(_) => false,
        },
    }
}

/// Every rule, applied to events.
#[derive(Debug, Clone, Default)]
pub struct RoutingTable {
    pub rules: Vec<Rule>,
    /// `people:`: a derived event that names them (`data.story.tell`) goes to each one's destination too.
    pub people: std::sync::Arc<Vec<crate::config::Person>>,
}

impl RoutingTable {
    /// The deliveries of an event: one per wanting destination among `enabled`.
    pub fn route(&self, event: &Event, enabled: &dyn Fn(&str) -> bool) -> Vec<NewDelivery> {
        // Filters read the envelope as JSON; build it only when some destination has a filter.
        let envelope = if self.rules.iter().any(|r| !r.filter.is_empty()) {
            serde_json::to_value(event).expect("an Event serializes")
        } else {
            Value::Null
        };
        let now = chrono::Utc::now();
        // A story destination that edits its message gets a title's steps from its story.
        let from_story = self.rules.iter().any(|r| r.story == StoryMode::Edits)
            && crate::stories::told_by_story(event);
        let mut out: Vec<NewDelivery> = self
            .rules
            .iter()
            .filter(|r| !(from_story && r.story == StoryMode::Edits))
            .filter(|r| enabled(&r.destination) && r.wants(event, &envelope))
            .map(|r| {
                // Quiet hours hold everything until the window ends (one digest group per window); otherwise a
                // groupable event waits out the group window, so that the rest of its season can join it.
                let quiet_until = r.quiet.as_ref().and_then(|w| w.ends_after(now));
                let group_key = match (quiet_until, r.batch) {
                    (Some(end), _) => Some(format!(
                        "{}{}",
                        super::group::DIGEST_PREFIX,
                        end.timestamp()
                    )),
                    (None, Some(batch)) => Some(super::group::batch_key(batch.max_events)),
                    (None, None) => (!r.group_window.is_zero())
                        .then(|| super::group::group_key(event))
                        .flatten(),
                };
                let wait = match (quiet_until, r.batch) {
                    (Some(end), _) => (end - now).to_std().unwrap_or_default(),
                    (None, Some(batch)) => batch.max_wait,
                    (None, None) if group_key.is_some() => r.group_window,
                    (None, None) => Duration::ZERO,
                };
                NewDelivery {
                    id: new_prefixed_id("dlv"),
                    event_id: event.id.clone(),
                    event: event.event.as_str().to_owned(),
                    destination: r.destination.clone(),
                    created_at: now,
                    due_at: now + chrono::Duration::from_std(wait).unwrap_or_default(),
                    expires_at: r
                        .expiry(event)
                        .and_then(|d| chrono::Duration::from_std(d).ok())
                        .map(|d| event.timestamp + d),
                    group_key,
                }
            })
            .collect();
        self.tell_people(event, enabled, now, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(yaml: &str) -> Rule {
        let d: Destination = serde_norway::from_str(yaml).unwrap();
        Rule::new(&d)
    }

    fn event(kind: &str, source: &str, data: Value) -> (Event, Value) {
        let envelope = json!({
            "id": "evt_01JD0000000000000000000000", "event": kind, "timestamp": "2026-11-25T18:00:00.000Z",
            "source": {"name": source, "app": "radarr", "event": "Download"},
            "summary": "s", "data": data,
        });
        // The rule reads name and source from the event, and filter paths from the envelope JSON.
        let mut bare = envelope.clone();
        bare["data"] = json!({});
        (serde_json::from_value(bare).unwrap(), envelope)
    }

    const BASE: &str = "name: d\ntype: webhook\nurl: https://example.org/h\n";

    #[test]
    fn globs_and_sources_select() {
        let r = rule(&format!(
            "{BASE}events: [\"library.*\", health.issue]\nsources: [radarr-4k]\n"
        ));
        let (e, v) = event("library.new", "radarr-4k", json!({}));
        assert!(r.wants(&e, &v));
        let (e, v) = event("library.new", "radarr", json!({}));
        assert!(!r.wants(&e, &v));
        let (e, v) = event("download.grabbed", "radarr-4k", json!({}));
        assert!(!r.wants(&e, &v));
        let (e, v) = event("test", "radarr-4k", json!({}));
        assert!(r.wants(&e, &v), "test passes the event globs");
        let (e, v) = event("test", "radarr", json!({}));
        assert!(!r.wants(&e, &v), "but not the sources");
        let filtered = rule(&format!(
            "{BASE}filter:\n  data.release.quality: Bluray-2160p\n"
        ));
        assert!(
            filtered.wants(&e, &v),
            "nor the filter: a test has no media"
        );
    }

    #[test]
    fn every_filter_operator_holds_or_not() {
        let data = json!({"media": {"type": "movie", "title": "Dune", "year": 2024, "genres": ["Drama", "Sci-Fi"], "ids": {}},
                          "release": {"quality": "Bluray-2160p"}, "user": {"name": "kenji"}});
        let (e, v) = event("library.new", "radarr", data);
        let cases = [
            ("data.release.quality: Bluray-2160p", true),
            ("data.release.quality: Bluray-1080p", false),
            (
                "data.release.quality: {in: [Remux-2160p, Bluray-2160p]}",
                true,
            ),
            ("data.release.quality: {in: [WEBDL-1080p]}", false),
            ("data.user.name: {not: kids}", true),
            ("data.user.name: {not: kenji}", false),
            ("data.playback.user: {not: kids}", true),
            ("source.name: {matches: \"^rad\"}", true),
            ("source.name: {matches: \"^son\"}", false),
            ("data.media.year: {\">=\": 2000}", true),
            ("data.media.year: {\">\": 2024}", false),
            ("data.media.year: {\"<\": 2025, \"<=\": 2024}", true),
            ("data.media.year: {\"<\": 2024}", false),
            ("data.media.year: \"2024\"", true),
            ("data.media.genres: Drama", true),
            ("data.media.genres: {matches: \"^Sci\"}", true),
            ("data.health: {exists: false}", true),
            ("data.media: {exists: true}", true),
            ("data.media.overview: {exists: true}", false),
            (
                "data.media.year: {\">=\": 2000}\n  data.media.type: episode",
                false,
            ),
        ];
        for (filter, want) in cases {
            let r = rule(&format!("{BASE}filter:\n  {filter}\n"));
            assert_eq!(r.wants(&e, &v), want, "{filter}");
        }
    }

    #[test]
    fn playback_expires_after_ten_minutes_by_default() {
        let r = rule(BASE);
        let (e, _) = event("playback.start", "plex", json!({}));
        assert_eq!(r.expiry(&e), Some(Duration::from_secs(600)));
        let (e, _) = event("library.new", "radarr", json!({}));
        assert_eq!(r.expiry(&e), None);
        let r = rule(&format!("{BASE}expire_after: 1h\n"));
        assert_eq!(r.expiry(&e), Some(Duration::from_secs(3600)));
    }
}
