//! Lenient field readers for app payloads. Apps disagree with themselves across versions (ids as numbers or
//! strings, `trackNumber` as a string, `0`/`""` meaning "unknown"), so parsing accepts every shape seen in the
//! wild and normalizes "unknown" to `None`. Used with `#[serde(default, deserialize_with = "…")]`.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A string; numbers become their decimal text; `""`, whitespace-only and `null` become `None`.
pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(value_to_string(Value::deserialize(d)?))
}

/// An integer; numeric strings are parsed; `0`, negatives and anything else become `None`
/// (Arr sends `0` for an unknown id or year).
pub fn positive_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(value_to_i64(&Value::deserialize(d)?).filter(|n| *n > 0))
}

/// An integer where `0` is a real value (season 0 = specials, quality version 0).
pub fn i64_any<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(value_to_i64(&Value::deserialize(d)?))
}

/// A float; numeric strings are parsed.
pub fn f64_any<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(value_to_f64(&Value::deserialize(d)?))
}

/// A boolean; `"true"`/`"false"` strings (templated Jellyfin bodies) are accepted.
pub fn bool_any<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(value_to_bool(&Value::deserialize(d)?))
}

/// A list of strings. Accepts a list of strings/numbers, a list of `{name}` objects (Arr languages), or a
/// comma-separated string (Jellyfin `Genres`). Empty entries are dropped.
pub fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|v| match v {
                Value::Object(mut o) => o
                    .remove("name")
                    .or_else(|| o.remove("Name"))
                    .and_then(value_to_string),
                other => value_to_string(other),
            })
            .collect(),
        Value::String(s) => comma_separated(&s),
        _ => Vec::new(),
    })
}

/// `Drama, Comedy` → `["Drama", "Comedy"]`; empty entries dropped.
pub fn comma_separated(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// An object read as `T`, where `null` or a non-object (a string where an object belongs) means absent.
pub fn object<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    match Value::deserialize(d)? {
        v @ Value::Object(_) => serde_json::from_value(v)
            .map(Some)
            .map_err(serde::de::Error::custom),
        _ => Ok(None),
    }
}

/// A list of `T`, where `null` or a non-list means empty.
pub fn list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    match Value::deserialize(d)? {
        Value::Array(items) => items
            .into_iter()
            .map(|v| serde_json::from_value(v).map_err(serde::de::Error::custom))
            .collect(),
        _ => Ok(Vec::new()),
    }
}

/// [`string`] of a value already read.
pub fn value_to_string(v: Value) -> Option<String> {
    match v {
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// [`f64_any`] of a value already read.
pub fn value_to_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// [`bool_any`] of a value already read.
pub fn value_to_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// [`i64_any`] of a value already read.
pub fn value_to_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n
            .as_i64()
            // A whole float within range (`5.0`) counts; `1e300` does not.
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e18)
                    .map(|f| f as i64)
            }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The year of a `yyyy-MM-dd…` date, ignoring the `9999-12-31` and `0001-01-01` placeholders.
pub fn year_of_date(date: Option<&str>) -> Option<i32> {
    let year: i32 = date?.get(..4)?.parse().ok()?;
    (1800..=2200).contains(&year).then_some(year)
}

/// The `yyyy-MM-dd` part of a date, ignoring placeholders.
pub fn date_only(date: Option<&str>) -> Option<String> {
    year_of_date(date)?;
    date?.get(..10).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct T {
        #[serde(default, deserialize_with = "positive_i64")]
        id: Option<i64>,
        #[serde(default, deserialize_with = "string")]
        s: Option<String>,
        #[serde(default, deserialize_with = "string_list")]
        l: Vec<String>,
    }

    fn t(json: &str) -> T {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn unknown_means_none() {
        assert_eq!(t(r#"{}"#).id, None);
        assert_eq!(t(r#"{"id": null}"#).id, None);
        assert_eq!(t(r#"{"id": 0}"#).id, None);
        assert_eq!(t(r#"{"id": ""}"#).id, None);
        assert_eq!(t(r#"{"id": "42"}"#).id, Some(42));
        assert_eq!(t(r#"{"id": 4294967296}"#).id, Some(4_294_967_296));
        assert_eq!(t(r#"{"id": 12.0}"#).id, Some(12));
        assert_eq!(
            t(r#"{"id": 1e300}"#).id,
            None,
            "out of range is unknown, not i64::MAX"
        );
        assert_eq!(t(r#"{"s": ""}"#).s, None);
        assert_eq!(t(r#"{"s": 7}"#).s.as_deref(), Some("7"));
    }

    #[test]
    fn lists_take_every_shape() {
        assert_eq!(t(r#"{"l": [{"id": 1, "name": "English"}]}"#).l, ["English"]);
        assert_eq!(t(r#"{"l": "Drama, Comedy"}"#).l, ["Drama", "Comedy"]);
        assert_eq!(t(r#"{"l": null}"#).l, Vec::<String>::new());
    }

    #[test]
    fn placeholder_dates_have_no_year() {
        assert_eq!(year_of_date(Some("9999-12-31")), None);
        assert_eq!(year_of_date(Some("0001-01-01T00:00:00Z")), None);
        assert_eq!(year_of_date(Some("1997-05-21T00:00:00Z")), Some(1997));
    }
}
