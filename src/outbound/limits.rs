//! Truncating rendered payloads to a target's limits (CONTRACT §6) — counting characters, not bytes — so a
//! long overview or a 40-episode season pack never earns a 400. Each target type's own limits are in its
//! file under `targets/`.

use super::templates::truncate_chars;
use serde_json::{Map, Value};

/// Cuts the string at `key` of `obj` to `max` characters; returns how many characters it keeps.
pub(crate) fn cut(obj: &mut Map<String, Value>, key: &str, max: usize) -> usize {
    match obj.get_mut(key) {
        Some(Value::String(s)) => {
            let trimmed = s.trim();
            let t = truncate_chars(trimmed, max);
            let n = t.chars().count();
            *s = t;
            n
        }
        _ => 0,
    }
}

/// Cuts the string at a path of nested objects; returns how many characters it keeps.
pub(crate) fn cut_at(v: &mut Value, path: &[&str], max: usize) -> usize {
    let mut cur = v;
    for key in &path[..path.len() - 1] {
        match cur.get_mut(*key) {
            Some(next) => cur = next,
            None => return 0,
        }
    }
    match cur.as_object_mut() {
        Some(obj) => cut(obj, path[path.len() - 1], max),
        None => 0,
    }
}

/// Cuts the string at `outer.key` of `e`; returns how many characters it keeps.
pub(crate) fn cut_at_obj(e: &mut Map<String, Value>, outer: &str, key: &str, max: usize) -> usize {
    match e.get_mut(outer).and_then(Value::as_object_mut) {
        Some(o) => cut(o, key, max),
        None => 0,
    }
}
/// What holding a payload to its limits changed: each string cut, list shortened or value left out or
/// replaced, by its path (`embeds[0].fields`), from the payload as `rendered` to the payload as `held`.
/// Trimmed whitespace and what the target adds (Discord's `allowed_mentions`) are not worth a word.
pub fn cuts(path: &str, rendered: &Value, held: &Value, out: &mut Vec<String>) {
    let at = |key: &str| match path {
        "" => key.to_owned(),
        _ => format!("{path}.{key}"),
    };
    match (rendered, held) {
        (Value::String(before), Value::String(after)) => {
            let (n, m) = (before.trim().chars().count(), after.chars().count());
            if before.trim() != after && m < n {
                out.push(format!("{path}: {n} characters, cut to {m}"));
            } else if before.trim() != after {
                out.push(format!("{path}: {before:?} is sent as {after:?}"));
            }
        }
        (Value::Array(before), Value::Array(after)) => {
            if after.len() < before.len() {
                out.push(format!(
                    "{path}: {} items, only the first {} are sent",
                    before.len(),
                    after.len()
                ));
            }
            for (i, (b, a)) in before.iter().zip(after).enumerate() {
                cuts(&format!("{path}[{i}]"), b, a, out);
            }
        }
        (Value::Object(before), Value::Object(after)) => {
            for (key, b) in before {
                match after.get(key) {
                    Some(a) => cuts(&at(key), b, a, out),
                    None => out.push(format!("{}: left out", at(key))),
                }
            }
        }
        (before, after) if before != after => {
            out.push(format!("{path}: {before} is sent as {after}"));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_name_what_the_limits_changed_by_path() {
        let rendered = serde_json::json!({
            "content": " hi ",
            "embeds": [{"title": "x".repeat(300), "fields": [{"name": "", "value": "v"}, {"name": "a", "value": "b"}]}],
            "extra": 1,
        });
        let held = serde_json::json!({
            "content": "hi",
            "embeds": [{"title": "x".repeat(256), "fields": [{"name": "-", "value": "v"}]}],
            "allowed_mentions": {"parse": []},
        });
        let mut out = Vec::new();
        cuts("", &rendered, &held, &mut out);
        assert_eq!(
            out,
            [
                "embeds[0].fields: 2 items, only the first 1 are sent",
                "embeds[0].fields[0].name: \"\" is sent as \"-\"",
                "embeds[0].title: 300 characters, cut to 256",
                "extra: left out",
            ]
        );
    }
}
