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
