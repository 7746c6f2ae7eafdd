//! Loading: read the file, interpolate `${VAR}`, parse YAML, apply `HOOKARR_<SECTION>__<KEY>` overrides,
//! deserialize each section on its own (so one bad section does not hide the problems of the others), then
//! run the semantic checks of [`super::validate`].

use super::destination::Destination;
use super::paths::{DataDir, resolve_sqlite_url};
use super::types::{Config, Secret, SourceConfig};
use super::validate::{Problem, validate};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::fmt;
use std::path::{Path, PathBuf};

/// The default config path, used when it exists and no other is given.
pub const DEFAULT_PATH: &str = "config/hookarr.yaml";

/// Sections whose scalar keys `HOOKARR_<SECTION>__<KEY>` may override.
const SCALAR_SECTIONS: [&str; 5] = ["server", "storage", "admin", "delivery", "api"];
const SECTIONS: [&str; 10] = [
    "server",
    "storage",
    "admin",
    "sources",
    "destinations",
    "delivery",
    "api",
    "stories",
    "people",
    "mqtt",
];

/// A valid configuration and what was noticed while loading it.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    /// The file it came from; `None` when running on defaults.
    pub path: Option<PathBuf>,
    /// The data directory it was loaded for.
    pub data_dir: DataDir,
    /// Things that work but look wrong (a Discord URL on an unusual host, an unknown `HOOKARR_` variable).
    pub warnings: Vec<String>,
}

/// Every problem found, each with its path and the fix.
#[derive(Debug)]
pub struct ConfigProblems(pub Vec<Problem>);

impl fmt::Display for ConfigProblems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigProblems {}

/// Loads the configuration from `path`, else the data directory's `hookarr.yaml` or `config/hookarr.yaml` if
/// present, else the defaults, with the process environment for interpolation and overrides. The database
/// goes in `data_dir` unless the config names one; a relative SQLite path in the config is relative to the
/// config file's folder.
pub fn load(path: Option<&Path>, data_dir: &DataDir) -> Result<Loaded, ConfigProblems> {
    let path = match path {
        Some(p) => Some(p.to_path_buf()),
        None => data_dir.default_config(),
    };
    let text = match &path {
        Some(p) => std::fs::read_to_string(p).map_err(|e| {
            ConfigProblems(vec![Problem::new(
                p.display().to_string(),
                format!("cannot read the config file: {e}; check the path given with --config or HOOKARR_CONFIG"),
            )])
        })?,
        None => String::new(),
    };
    let vars: Vec<(String, String)> = std::env::vars().collect();
    let (mut config, warnings) = load_from_str(&text, |name| std::env::var(name).ok(), &vars)?;
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let config_dir = path
        .as_deref()
        .and_then(Path::parent)
        .map(|dir| cwd.join(dir));
    config.storage.url = Secret(if config.storage.url_given {
        resolve_sqlite_url(
            config.storage.url.expose(),
            config_dir.as_deref().unwrap_or(&cwd),
        )
    } else {
        data_dir.default_storage_url()
    });
    config.templates_dir = config_dir
        .map(|dir| dir.join("templates"))
        .filter(|d| d.is_dir())
        .or_else(|| Some(data_dir.path.join("templates")).filter(|d| d.is_dir()));
    let path = path.map(|p| cwd.join(p));
    config.secret_key = std::env::var(crate::secret_box::KEY_VARIABLE)
        .ok()
        .filter(|k| !k.trim().is_empty())
        .map(Secret);
    config.secret_key_file = Some(crate::secret_box::key_file_for(
        config.storage.url.expose(),
        &data_dir.path,
    ));
    config.file = Some(super::types::ConfigFile {
        path: path.clone(),
        data_dir: data_dir.clone(),
    });
    Ok(Loaded {
        config,
        path,
        data_dir: data_dir.clone(),
        warnings,
    })
}

/// Loads from config text, with `lookup` for `${VAR}` and `vars` scanned for `HOOKARR_*` overrides.
pub fn load_from_str(
    text: &str,
    lookup: impl Fn(&str) -> Option<String>,
    vars: &[(String, String)],
) -> Result<(Config, Vec<String>), ConfigProblems> {
    let text = super::interpolate(text, lookup).map_err(|errs| {
        ConfigProblems(
            errs.into_iter()
                .map(|e| Problem::new("(interpolation)", e))
                .collect(),
        )
    })?;
    let root: Value = if text.trim().is_empty() {
        Value::Object(Map::new())
    } else {
        serde_norway::from_str(&text).map_err(|e| {
            let at = e
                .location()
                .map(|l| format!("line {}, column {}", l.line(), l.column()));
            ConfigProblems(vec![Problem::new(
                at.unwrap_or_else(|| "(yaml)".into()),
                format!("not valid YAML: {e}"),
            )])
        })?
    };
    let mut root = match root {
        Value::Object(map) => map,
        Value::Null => Map::new(),
        other => {
            return Err(ConfigProblems(vec![Problem::new(
                "(root)",
                format!(
                    "the config must be a mapping of sections (server:, storage:, …), not {other}"
                ),
            )]));
        }
    };
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    apply_env_overrides(&mut root, vars, &mut problems, &mut warnings);

    for key in root.keys() {
        if !SECTIONS.contains(&key.as_str()) {
            problems.push(Problem::new(
                key.clone(),
                format!("unknown section; the sections are {}", SECTIONS.join(", ")),
            ));
        }
    }
    let mut section = |name: &str| root.remove(name).filter(|v| !v.is_null());
    let mut config = Config::default();
    if let Some(v) = section("server") {
        config.server = deserialize_at("server", v, &mut problems).unwrap_or_default();
    }
    if let Some(v) = section("storage") {
        let url_given = v.get("url").is_some_and(|u| !u.is_null());
        config.storage = deserialize_at("storage", v, &mut problems).unwrap_or_default();
        config.storage.url_given = url_given;
    }
    if let Some(v) = section("admin") {
        config.admin = deserialize_at("admin", v, &mut problems).unwrap_or_default();
    }
    if let Some(v) = section("delivery") {
        config.delivery = deserialize_at("delivery", v, &mut problems).unwrap_or_default();
    }
    if let Some(v) = section("api") {
        config.api = deserialize_at("api", v, &mut problems).unwrap_or_default();
    }
    if let Some(v) = section("stories") {
        config.stories = deserialize_at("stories", v, &mut problems).unwrap_or_default();
    }
    if let Some(v) = section("mqtt") {
        config.mqtt = deserialize_at("mqtt", v, &mut problems);
    }
    if let Some(v) = section("people") {
        config.people = deserialize_list_except("people", v, &[], &mut problems);
    }
    if let Some(v) = section("sources") {
        config.sources = deserialize_list_except::<SourceConfig>("sources", v, &[], &mut problems);
    }
    if let Some(mut v) = section("destinations") {
        let (long_forms, unreadable) = expand_short_forms(&mut v, &mut problems);
        config.long_forms = long_forms;
        config.destinations =
            deserialize_list_except::<Destination>("destinations", v, &unreadable, &mut problems);
    }
    let taken = config.destinations.iter().map(|d| d.name.clone()).collect();
    let (own, wrong) = super::stories::own_destinations(&mut config.people, &taken);
    config.destinations.extend(own);
    problems.extend(wrong);
    if config.mqtt.is_some() {
        match super::mqtt::home_assistant_destination(&config.destinations) {
            Ok(d) => config.destinations.push(d),
            Err(problem) => problems.push(problem),
        }
    }
    let (semantic, more_warnings) = validate(&config);
    problems.extend(semantic);
    warnings.extend(more_warnings);
    if problems.is_empty() {
        Ok((config, warnings))
    } else {
        Err(ConfigProblems(problems))
    }
}

/// Expands the destinations written as an Apprise-style URL (`url: tgram://…`) into their long form; returns
/// those long forms, and the positions of the short forms that could not be read (their problem is told).
fn expand_short_forms(
    destinations: &mut Value,
    problems: &mut Vec<Problem>,
) -> (Vec<Value>, Vec<usize>) {
    let mut long_forms = Vec::new();
    let mut unreadable = Vec::new();
    let Value::Array(items) = destinations else {
        return (long_forms, unreadable);
    };
    for (i, item) in items.iter_mut().enumerate() {
        let Value::Object(map) = item else { continue };
        match super::apprise::expand(map) {
            Ok(true) => long_forms.push(Value::Object(map.clone())),
            Ok(false) => {}
            Err(message) => {
                problems.push(Problem::new(format!("destinations[{i}].url"), message));
                unreadable.push(i);
            }
        }
    }
    (long_forms, unreadable)
}

/// Deserializes one section, reporting every field-level error: after each error the offending key is
/// removed and the rest tried again (its default stands in), so one typo does not hide the next.
pub(super) fn deserialize_at<T: DeserializeOwned>(
    path: &str,
    mut v: Value,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    // Keys taken out after their own error: their absence is not a second problem.
    let mut removed: Vec<String> = Vec::new();
    for _ in 0..50 {
        let error = match serde_path_to_error::deserialize(v.clone()) {
            Ok(t) => return Some(t),
            Err(e) => e,
        };
        let inner = error.path().to_string();
        let full = if inner == "." {
            path.to_owned()
        } else {
            format!("{path}.{inner}")
        };
        let segments: Vec<_> = error.path().iter().cloned().collect();
        let message = error.into_inner().to_string();
        let already_told = removed
            .iter()
            .any(|key| message == format!("missing field `{key}`"));
        if already_told {
            return None;
        }
        problems.push(Problem::new(full, explain_serde(&message)));
        if let Some(serde_path_to_error::Segment::Map { key }) = segments.last() {
            removed.push(key.clone());
        }
        if !remove_at(&mut v, &segments) {
            return None;
        }
    }
    None
}

/// Removes the value at `path`; false when there is nothing to remove (the error is about the whole value).
fn remove_at(v: &mut Value, path: &[serde_path_to_error::Segment]) -> bool {
    use serde_path_to_error::Segment;
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut node = v;
    for segment in parents {
        node = match (segment, node) {
            (Segment::Map { key }, Value::Object(map)) => match map.get_mut(key) {
                Some(child) => child,
                None => return false,
            },
            (Segment::Seq { index }, Value::Array(items)) => match items.get_mut(*index) {
                Some(child) => child,
                None => return false,
            },
            _ => return false,
        };
    }
    match (last, node) {
        (Segment::Map { key }, Value::Object(map)) => map.remove(key).is_some(),
        (Segment::Seq { index }, Value::Array(items)) if *index < items.len() => {
            items.remove(*index);
            true
        }
        _ => false,
    }
}

/// Each list entry on its own (but those at `except`), so every bad entry is reported and the good ones are
/// still checked.
fn deserialize_list_except<T: DeserializeOwned>(
    path: &str,
    v: Value,
    except: &[usize],
    problems: &mut Vec<Problem>,
) -> Vec<T> {
    let Value::Array(items) = v else {
        problems.push(Problem::new(
            path,
            format!("must be a list (each entry starting with `- `), not {v}"),
        ));
        return Vec::new();
    };
    items
        .into_iter()
        .enumerate()
        // Entries whose problem is already told: read on, they would only add problems that follow from it.
        .filter(|(i, _)| !except.contains(i))
        .filter_map(|(i, item)| deserialize_at(&format!("{path}[{i}]"), item, problems))
        .collect()
}

/// serde's wording, with the fix spelled out where it is not obvious.
fn explain_serde(message: &str) -> String {
    if message.starts_with("unknown field") {
        format!("{message}; remove it or fix its spelling (see config/hookarr.example.yaml)")
    } else if message.starts_with("missing field") {
        format!("{message}; add it")
    } else {
        message.to_owned()
    }
}

/// `HOOKARR_SERVER__LISTEN=…` sets `server.listen`. Values are read as YAML scalars (`32`, `true`, text).
fn apply_env_overrides(
    root: &mut Map<String, Value>,
    vars: &[(String, String)],
    problems: &mut Vec<Problem>,
    warnings: &mut Vec<String>,
) {
    for (name, value) in vars {
        let Some(rest) = name.strip_prefix("HOOKARR_") else {
            continue;
        };
        let Some((section, key)) = rest.split_once("__") else {
            // HOOKARR_TEST_* and HOOKARR_BENCH_* belong to the test suite and benchmarks.
            if !matches!(rest, "CONFIG" | "ADMIN_KEY" | "SECRET_KEY")
                && !rest.starts_with("TEST_")
                && !rest.starts_with("BENCH_")
            {
                warnings.push(format!(
                    "environment variable {name} is not a hookarr setting; overrides look like HOOKARR_SERVER__LISTEN"
                ));
            }
            continue;
        };
        let (section, key) = (section.to_ascii_lowercase(), key.to_ascii_lowercase());
        if !SCALAR_SECTIONS.contains(&section.as_str()) {
            problems.push(Problem::new(
                name.clone(),
                format!(
                    "`{section}` cannot be set from the environment; the sections that can are {}",
                    SCALAR_SECTIONS.join(", ")
                ),
            ));
            continue;
        }
        let parsed: Value =
            serde_norway::from_str(value).unwrap_or_else(|_| Value::String(value.clone()));
        let parsed = match parsed {
            Value::Array(_) | Value::Object(_) => Value::String(value.clone()),
            scalar => scalar,
        };
        let entry = root
            .entry(section)
            .or_insert_with(|| Value::Object(Map::new()));
        if entry.is_null() {
            *entry = Value::Object(Map::new());
        }
        if let Value::Object(map) = entry {
            map.insert(key, parsed);
        }
    }
}
