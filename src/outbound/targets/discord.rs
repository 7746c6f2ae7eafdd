//! Discord execute-webhook URLs (`https://discord.com/api/webhooks/<id>/<token>`): an embed per message held to
//! Discord's limits, `?wait=true` so the answer names the message (which an import then edits), pings blocked,
//! 401/404 meaning the webhook is gone, a global 429, and the `X-RateLimit-*` bucket headers.
//! Limits: <https://discord.com/developers/docs/resources/message#embed-object-embed-limits>.

use super::{
    BucketSaid, OutboundRequest, OwnKey, RenderFailure, Target, TargetKind, UrlFinding, header,
    segments, set_query_param,
};
use crate::config::Destination;
use crate::event::Event;
use crate::outbound::limits::{cut, cut_at_obj};
use crate::outbound::templates::truncate_chars;
use serde_json::{Map, Value};
use std::time::Duration;
use url::Url;

/// The Discord target type.
pub(super) struct Discord;

/// The hosts Discord serves webhooks from; others only warn (a proxy, a test receiver).
const HOSTS: [&str; 6] = [
    "discord.com",
    "discordapp.com",
    "ptb.discord.com",
    "canary.discord.com",
    "ptb.discordapp.com",
    "canary.discordapp.com",
];

impl TargetKind for Discord {
    fn where_to_find(&self) -> &'static str {
        "In Discord: Server Settings → Integrations → Webhooks → New Webhook → Copy Webhook URL."
    }

    fn example_url(&self) -> &'static str {
        "https://discord.com/api/webhooks/<id>/<token>"
    }

    fn check_url(&self, url: &Url, _d: &Destination) -> Vec<UrlFinding> {
        let mut found = Vec::new();
        let segments = segments(url);
        let rest = match segments.as_slice() {
            ["api", v, rest @ ..] if v.starts_with('v') && v[1..].parse::<u32>().is_ok() => rest,
            ["api", rest @ ..] => rest,
            _ => &[][..],
        };
        if !matches!(rest, ["webhooks", id, token] if id.parse::<u64>().is_ok() && !token.is_empty())
        {
            found.push(UrlFinding::Problem {
                key: "url",
                message: format!("a Discord webhook URL looks like {}", self.example_url()),
            });
        }
        let host = url.host_str().unwrap_or("");
        if !HOSTS.contains(&host) {
            found.push(UrlFinding::Warning {
                key: "url",
                message: format!(
                    "`{host}` is not a Discord host; fine for a proxy or test receiver"
                ),
            });
        }
        found
    }

    /// 5 requests per 2 s per webhook.
    fn default_in_flight(&self) -> Option<u32> {
        Some(1)
    }

    fn default_rate(&self, _d: &Destination) -> (Duration, u32) {
        (Duration::from_millis(400), 5)
    }

    fn address(
        &self,
        _target: &Target,
        request: &mut OutboundRequest,
        _delivery_id: &str,
        _now: i64,
    ) -> Result<(), RenderFailure> {
        // `wait=true`: the answer is the message, whose id an import's edit needs.
        if let Ok(mut u) = Url::parse(&request.url) {
            set_query_param(&mut u, "wait", Some("true"));
            request.url = u.to_string();
        }
        Ok(())
    }

    fn own_keys(&self) -> &'static [OwnKey] {
        &[OwnKey::Url, OwnKey::EditMessages]
    }

    fn default_group_window(&self) -> Duration {
        Duration::from_secs(30)
    }

    fn hold_to_limits(&self, payload: &mut Value, _template: &str) -> Result<(), RenderFailure> {
        limit(payload);
        Ok(())
    }

    fn fallback(&self, event: &Event) -> Option<Value> {
        Some(serde_json::json!({
            "content": truncate_chars(&event.summary, 2000),
            "allowed_mentions": {"parse": []},
        }))
    }

    fn gone(&self, status: u16, _body: &str) -> Option<String> {
        matches!(status, 401 | 404).then(|| {
            format!("Discord answered {status}: the webhook was deleted or its token is wrong")
        })
    }

    fn rate_limit_is_global(&self, body: &str) -> bool {
        serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|v| v.get("global").and_then(Value::as_bool))
            .unwrap_or(false)
    }

    /// `X-RateLimit-Bucket`, `-Limit`, `-Remaining` and `-Reset-After` (seconds, a float; capped at an hour).
    fn bucket(&self, headers: &Map<String, Value>) -> Option<BucketSaid> {
        let number = |name: &str| header(headers, name)?.trim().parse::<f64>().ok();
        let after = number("x-ratelimit-reset-after").filter(|a| a.is_finite() && *a >= 0.0)?;
        Some(BucketSaid {
            bucket: header(headers, "x-ratelimit-bucket")?.to_owned(),
            limit: number("x-ratelimit-limit").filter(|l| *l >= 1.0)? as u32,
            remaining: number("x-ratelimit-remaining").filter(|r| *r >= 0.0)? as u32,
            reset_after: Duration::from_secs_f64(after.min(3600.0)),
        })
    }

    fn edits_messages(&self) -> bool {
        true
    }

    /// `PATCH …/webhooks/<id>/<token>/messages/<message_id>`, keeping `thread_id`.
    fn as_edit(&self, mut request: OutboundRequest, message_id: &str) -> OutboundRequest {
        if let Ok(mut u) = Url::parse(&request.url) {
            let path = format!("{}/messages/{message_id}", u.path().trim_end_matches('/'));
            u.set_path(&path);
            set_query_param(&mut u, "wait", None);
            request.url = u.to_string();
        }
        request.method = reqwest::Method::PATCH;
        request
    }
}

/// Content 2000; ≤ 10 embeds; per embed title 256, description 4096, ≤ 25 fields (name 256, value 1024, empty
/// values replaced by `-`), footer 2048, author 256; all embeds together ≤ 6000. Pings are blocked.
fn limit(payload: &mut Value) {
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
        budget -= cut(e, "title", 256.min(budget));
        budget -= cut_at_obj(e, "footer", "text", 2048.min(budget));
        budget -= cut_at_obj(e, "author", "name", 256.min(budget));
        if let Some(Value::Array(fields)) = e.get_mut("fields") {
            budget = limit_fields(fields, budget);
        }
        budget -= cut(e, "description", 4096.min(budget));
        if e.get("description")
            .and_then(Value::as_str)
            .is_some_and(str::is_empty)
        {
            e.remove("description");
        }
    }
}

/// At most 25 fields, none empty, within what is left of the budget; returns what is left then.
fn limit_fields(fields: &mut Vec<Value>, mut budget: usize) -> usize {
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
    budget
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
        limit(&mut p);
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
        limit(&mut p);
        assert_eq!(p, before);
    }

    fn request(url: &str) -> OutboundRequest {
        OutboundRequest {
            method: reqwest::Method::POST,
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    #[test]
    fn a_discord_edit_patches_the_message_and_keeps_the_thread() {
        let edit = Discord.as_edit(
            request("https://discord.com/api/webhooks/1/tok?thread_id=9&wait=true"),
            "777",
        );
        assert_eq!(edit.method, reqwest::Method::PATCH);
        assert_eq!(
            edit.url,
            "https://discord.com/api/webhooks/1/tok/messages/777?thread_id=9"
        );
    }

    #[test]
    fn discord_gets_wait_true_once() {
        let target = crate::outbound::Target::preview(crate::config::DestinationType::Discord);
        for (url, expected) in [
            (
                "https://d.com/api/webhooks/1/t",
                "https://d.com/api/webhooks/1/t?wait=true",
            ),
            (
                "https://d.com/api/webhooks/1/t?thread_id=5&wait=false",
                "https://d.com/api/webhooks/1/t?thread_id=5&wait=true",
            ),
        ] {
            let mut r = request(url);
            Discord.address(&target, &mut r, "dlv_1", 0).unwrap();
            assert_eq!(r.url, expected);
        }
    }

    #[test]
    fn the_bucket_headers_are_read_and_bad_ones_ignored() {
        let headers = |remaining: &str, after: &str| {
            let mut m = Map::new();
            m.insert("x-ratelimit-bucket".into(), "abcd1234".into());
            m.insert("x-ratelimit-limit".into(), "5".into());
            m.insert("x-ratelimit-remaining".into(), remaining.into());
            m.insert("x-ratelimit-reset-after".into(), after.into());
            m
        };
        assert_eq!(
            Discord.bucket(&headers("0", "1.5")),
            Some(BucketSaid {
                bucket: "abcd1234".into(),
                limit: 5,
                remaining: 0,
                reset_after: Duration::from_millis(1500)
            })
        );
        assert_eq!(Discord.bucket(&headers("0", "nan")), None);
        assert_eq!(Discord.bucket(&headers("x", "1")), None);
        assert_eq!(
            Discord.bucket(&headers("3", "99999")).unwrap().reset_after,
            Duration::from_secs(3600)
        );
        let mut no_bucket = headers("1", "1");
        no_bucket.remove("x-ratelimit-bucket");
        assert_eq!(Discord.bucket(&no_bucket), None);
    }
}
