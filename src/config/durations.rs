//! Durations as a config writes them — `30s`, `10m`, `2h`, or a number of seconds — read and written back.

use serde::{Deserialize, Deserializer};
use std::time::Duration;

/// A duration as `30s`, `10m`, `2h` (or a number of seconds).
pub fn parse_duration(v: &serde_json::Value) -> Result<Duration, String> {
    match v {
        serde_json::Value::Number(n) => n
            .as_u64()
            .map(Duration::from_secs)
            .ok_or_else(|| format!("`{n}` is not a whole number of seconds")),
        serde_json::Value::String(s) => humantime::parse_duration(s.trim())
            .map_err(|_| format!("`{s}` is not a duration; write e.g. `30s`, `10m` or `2h`")),
        other => Err(format!(
            "`{other}` is not a duration; write e.g. `30s`, `10m` or `2h`"
        )),
    }
}

pub(super) fn opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    if v.is_null() {
        return Ok(None);
    }
    parse_duration(&v)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

pub(super) fn durations<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Duration>, D::Error> {
    Vec::<serde_json::Value>::deserialize(d)?
        .iter()
        .map(parse_duration)
        .collect::<Result<_, _>>()
        .map_err(serde::de::Error::custom)
}

pub(super) fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    parse_duration(&serde_json::Value::deserialize(d)?).map_err(serde::de::Error::custom)
}

pub(super) fn humantime_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&humantime::format_duration(*d).to_string())
}
