//! `stories:` (when a title's story counts as stuck, when a source counts as silent) and `people:` (who hears
//! about their own requests): the settings of CONTRACT §5.1.

use super::Config;
use super::durations::opt_duration;
use super::validate::Validator;
use serde::Deserialize;
use std::collections::HashSet;
use std::time::Duration;

/// `stories`: the windows after which a waiting stage is `media.stuck`, and the floor of a source's silence.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Stories {
    pub stuck_after: StuckAfter,
    /// A source is never called silent sooner than this after its last event, however regular it was
    /// (default 6 h).
    #[serde(deserialize_with = "opt_duration")]
    pub silent_after_at_least: Option<Duration>,
}

impl Stories {
    /// The floor of a source's silence.
    pub fn silence_floor(&self) -> Duration {
        self.silent_after_at_least
            .unwrap_or(Duration::from_secs(6 * 3600))
    }
}

/// `stories.stuck_after`: how long each stage may wait before its story is `media.stuck`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StuckAfter {
    /// Requested, not approved (default 2 days).
    #[serde(deserialize_with = "opt_duration")]
    pub requested: Option<Duration>,
    /// Approved, not grabbed (default 1 day).
    #[serde(deserialize_with = "opt_duration")]
    pub approved: Option<Duration>,
    /// Grabbed, not imported (default 6 h).
    #[serde(deserialize_with = "opt_duration")]
    pub grabbed: Option<Duration>,
    /// Imported, not in a media server's library (default 30 min; only where a media server is connected).
    #[serde(deserialize_with = "opt_duration")]
    pub imported: Option<Duration>,
}

impl StuckAfter {
    pub fn requested(&self) -> Duration {
        self.requested.unwrap_or(Duration::from_secs(2 * 86_400))
    }
    pub fn approved(&self) -> Duration {
        self.approved.unwrap_or(Duration::from_secs(86_400))
    }
    pub fn grabbed(&self) -> Duration {
        self.grabbed.unwrap_or(Duration::from_secs(6 * 3600))
    }
    pub fn imported(&self) -> Duration {
        self.imported.unwrap_or(Duration::from_secs(30 * 60))
    }
}

/// One of `people`: a person, how the apps know them, and where they want to hear about their requests.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    pub name: String,
    /// Their e-mail or user name in Overseerr/Jellyseerr (matched without regard to case).
    #[serde(default)]
    pub overseerr: Option<String>,
    /// Their user name on Plex, Jellyfin or Emby.
    #[serde(default)]
    pub media_user: Option<String>,
    /// The destination (by name) that tells them, or a service URL of their own (`ntfys://ntfy.sh/zoe`,
    /// `tgram://…`): that becomes a destination `person-<name>` that takes only what they are told.
    pub notify: String,
}

impl Person {
    /// Whether a request app's requester is this person (by e-mail or name, case aside).
    pub fn is_requester(&self, name: Option<&str>, email: Option<&str>) -> bool {
        let Some(mine) = self.overseerr.as_deref().map(str::trim) else {
            return false;
        };
        [name, email]
            .into_iter()
            .flatten()
            .any(|theirs| theirs.trim().eq_ignore_ascii_case(mine))
    }
}

/// `people:`: each named once, told through a destination; one the file does not have may be stored in the
/// database (a warning, not a problem).
pub(super) fn check_people(v: &mut Validator, cfg: &Config) {
    let mut seen = HashSet::new();
    for (i, p) in cfg.people.iter().enumerate() {
        let path = format!("people[{i}]");
        if p.name.trim().is_empty() {
            v.problem(format!("{path}.name"), "a person needs a name");
        } else if !seen.insert(p.name.trim().to_lowercase()) {
            v.problem(
                format!("{path}.name"),
                format!("`{}` is named twice", p.name),
            );
        }
        if p.notify.trim().is_empty() {
            v.problem(
                format!("{path}.notify"),
                "name the destination that tells them (its `name`)",
            );
        } else if !cfg.destinations.iter().any(|d| d.name == p.notify) && !p.notify.contains("://")
        {
            v.warnings.push(format!(
                "{path}.notify: `{}` is not a destination of this file; it must be one made in the page",
                p.notify
            ));
        }
        if p.overseerr.is_none() && p.media_user.is_none() {
            v.warnings.push(format!(
                "{path}: without `overseerr` they are told only about titles they follow"
            ));
        }
    }
}

/// The destinations of people whose `notify` is a URL of their own: `person-<name>` each, taking nothing but
/// what its person is told; their `notify` then names it. A URL that is not one is a problem at its path.
pub(super) fn own_destinations(
    people: &mut [Person],
    taken: &HashSet<String>,
) -> (Vec<super::Destination>, Vec<super::Problem>) {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (i, p) in people.iter_mut().enumerate() {
        if !p.notify.contains("://") {
            continue;
        }
        let slug: String = p
            .name
            .to_lowercase()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .take(40)
            .collect();
        let name = match slug.is_empty() {
            true => format!("person-{}", i + 1),
            false => format!("person-{slug}"),
        };
        let spec = serde_json::json!({"name": name, "url": p.notify});
        match super::read_destination(spec, &HashSet::new(), taken) {
            Ok(read) => {
                let mut d = read.destination;
                d.told_only = true;
                p.notify = d.name.clone();
                out.push(d);
            }
            Err(found) => problems.extend(
                found
                    .into_iter()
                    .map(|f| super::Problem::new(format!("people[{i}].notify"), f.message.clone())),
            ),
        }
    }
    (out, problems)
}
