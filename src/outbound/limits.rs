//! Discord's and Slack's message limits (CONTRACT §6), enforced after rendering by truncating — counting
//! characters, not bytes — so a long overview or a 40-episode season pack never earns a 400.

use super::templates::truncate_chars;
use serde_json::{Map, Value};

/// Cuts the string at `key` of `obj` to `max` characters; returns how many characters it keeps.
fn cut(obj: &mut Map<String, Value>, key: &str, max: usize) -> usize {
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

fn cut_at(v: &mut Value, path: &[&str], max: usize) -> usize {
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

/// Discord: content 2000; ≤ 10 embeds; per embed title 256, description 4096, ≤ 25 fields (name 256, value
/// 1024, empty values replaced by `-`), footer 2048, author 256; all embeds together ≤ 6000. Blocks pings.
pub fn discord(payload: &mut Value) {
    let Some(obj) = payload.as_object_mut() else {
        return;
    };
    cut(obj, "content", 2000);
    obj.entry("allowed_mentions")
        .or_insert_with(|| serde_json::json!({"parse": []}));
    let Some(Value::Array(embeds)) = obj.get_mut("embeds") else {
        return;
    };
    embeds.truncate(10);
    let mut budget: usize = 6000;
    for embed in embeds.iter_mut() {
        let Some(e) = embed.as_object_mut() else {
            continue;
        };
        // Title, footer and author first: they identify the message; description and fields fill the rest.
        let used = cut(e, "title", 256.min(budget));
        budget -= used;
        let used = cut_at_obj(e, "footer", "text", 2048.min(budget));
        budget -= used;
        let used = cut_at_obj(e, "author", "name", 256.min(budget));
        budget -= used;
        if let Some(Value::Array(fields)) = e.get_mut("fields") {
            fields.truncate(25);
            let mut kept = Vec::with_capacity(fields.len());
            for mut f in fields.drain(..) {
                let Some(fo) = f.as_object_mut() else {
                    continue;
                };
                for key in ["name", "value"] {
                    let empty = fo
                        .get(key)
                        .and_then(Value::as_str)
                        .is_none_or(|s| s.trim().is_empty());
                    if empty {
                        fo.insert(key.into(), Value::String("-".into()));
                    }
                }
                // Leave room for the description's first lines before spending the budget on fields.
                let reserve = 200.min(budget);
                let room = budget - reserve;
                if room < 2 {
                    break;
                }
                let n = cut(fo, "name", 256.min(room - 1));
                let v = cut(fo, "value", 1024.min(room - n));
                budget -= n + v;
                kept.push(f);
            }
            *fields = kept;
        }
        let used = cut(e, "description", 4096.min(budget));
        budget -= used;
        if e.get("description")
            .and_then(Value::as_str)
            .is_some_and(str::is_empty)
        {
            e.remove("description");
        }
    }
}

fn cut_at_obj(e: &mut Map<String, Value>, outer: &str, key: &str, max: usize) -> usize {
    match e.get_mut(outer).and_then(Value::as_object_mut) {
        Some(o) => cut(o, key, max),
        None => 0,
    }
}

/// Slack: ≤ 50 blocks; header 150; section text 3000; ≤ 10 fields of ≤ 2000; `text` ≤ 4000 (the recommended
/// size); empty field lists removed (Slack rejects them).
pub fn slack(payload: &mut Value) {
    let Some(obj) = payload.as_object_mut() else {
        return;
    };
    cut(obj, "text", 4000);
    let Some(Value::Array(blocks)) = obj.get_mut("blocks") else {
        return;
    };
    blocks.truncate(50);
    for block in blocks.iter_mut() {
        match block.get("type").and_then(Value::as_str) {
            Some("header") => {
                cut_at(block, &["text", "text"], 150);
            }
            Some("section") => {
                cut_at(block, &["text", "text"], 3000);
                if let Some(Value::Array(fields)) = block.get_mut("fields") {
                    fields.truncate(10);
                    for f in fields.iter_mut() {
                        cut_at(f, &["text"], 2000);
                    }
                    if fields.is_empty() {
                        block.as_object_mut().map(|b| b.remove("fields"));
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn chars(v: &Value) -> usize {
        v.as_str().map(|s| s.chars().count()).unwrap_or(0)
    }

    #[test]
    fn discord_limits_hold_for_a_huge_message() {
        let long = "é".repeat(10_000);
        let fields: Vec<Value> = (0..40).map(|i| json!({"name": long.clone(), "value": if i == 0 { json!("") } else { json!(long.clone()) }})).collect();
        let mut p = json!({"content": long, "embeds": (0..12).map(|_| json!({"title": long, "description": long, "fields": fields, "footer": {"text": long}})).collect::<Vec<_>>()});
        discord(&mut p);
        assert_eq!(chars(&p["content"]), 2000);
        let embeds = p["embeds"].as_array().unwrap();
        assert_eq!(embeds.len(), 10);
        let mut total = 0;
        for e in embeds {
            total += chars(&e["title"]) + chars(&e["description"]) + chars(&e["footer"]["text"]);
            assert!(chars(&e["title"]) <= 256);
            let fields = e["fields"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default();
            assert!(fields.len() <= 25);
            for f in fields {
                assert!(chars(&f["name"]) <= 256 && chars(&f["value"]) <= 1024);
                assert!(chars(&f["value"]) > 0);
                total += chars(&f["name"]) + chars(&f["value"]);
            }
        }
        assert!(total <= 6000, "{total}");
        assert_eq!(
            embeds[0]["title"].as_str().unwrap().chars().last(),
            Some('…')
        );
        assert_eq!(p["allowed_mentions"], json!({"parse": []}));
    }

    #[test]
    fn discord_keeps_a_small_message_as_it_is() {
        let mut p = json!({"embeds": [{"title": "Dune", "description": "ok", "fields": [{"name": "a", "value": "b"}]}], "allowed_mentions": {"parse": ["users"]}});
        let before = p.clone();
        discord(&mut p);
        assert_eq!(p, before);
    }

    #[test]
    fn slack_limits_hold() {
        let long = "x".repeat(5000);
        let mut p = json!({"text": long, "blocks": (0..60).map(|_| json!({"type": "section", "text": {"type": "mrkdwn", "text": long}, "fields": (0..12).map(|_| json!({"type": "mrkdwn", "text": long})).collect::<Vec<_>>()})).collect::<Vec<_>>()});
        p["blocks"][0] = json!({"type": "header", "text": {"type": "plain_text", "text": long}});
        slack(&mut p);
        assert_eq!(chars(&p["text"]), 4000);
        let blocks = p["blocks"].as_array().unwrap();
        assert_eq!(blocks.len(), 50);
        assert_eq!(chars(&blocks[0]["text"]["text"]), 150);
        assert_eq!(chars(&blocks[1]["text"]["text"]), 3000);
        assert_eq!(blocks[1]["fields"].as_array().unwrap().len(), 10);
        assert_eq!(chars(&blocks[1]["fields"][0]["text"]), 2000);
    }
}
