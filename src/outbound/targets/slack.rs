//! Slack incoming webhooks (`https://hooks.slack.com/services/T…/B…/…`): Block Kit with a `text` fallback,
//! held to Slack's limits, values escaped for mrkdwn, 404/410 meaning the webhook or channel is gone.
//! Limits: <https://api.slack.com/reference/block-kit/blocks>.

use super::{
    Escaping, OutboundRequest, OwnKey, RenderFailure, Target, TargetKind, UrlFinding, first_line,
};
use crate::config::Destination;
use crate::event::Event;
use crate::outbound::limits::{cut, cut_at};
use crate::outbound::templates::truncate_chars;
use serde_json::Value;
use std::time::Duration;
use url::Url;

/// The Slack target type.
pub(super) struct Slack;

impl TargetKind for Slack {
    fn where_to_find(&self) -> &'static str {
        "In Slack: Apps → Incoming Webhooks → Add to Slack → pick a channel → copy the Webhook URL."
    }

    fn example_url(&self) -> &'static str {
        "https://hooks.slack.com/services/T…/B…/…"
    }

    fn check_url(&self, url: &Url, _d: &Destination) -> Vec<UrlFinding> {
        let host = url.host_str().unwrap_or("");
        if host == "hooks.slack.com" {
            return Vec::new();
        }
        vec![UrlFinding::Warning {
            key: "url",
            message: format!("`{host}` is not hooks.slack.com; fine for a proxy or test receiver"),
        }]
    }

    /// About one message per second per webhook, short bursts allowed.
    fn default_in_flight(&self) -> Option<u32> {
        Some(1)
    }

    fn default_rate(&self, _d: &Destination) -> (Duration, u32) {
        (Duration::from_secs(1), 3)
    }

    fn address(
        &self,
        _target: &Target,
        _request: &mut OutboundRequest,
        _delivery_id: &str,
        _now: i64,
    ) -> Result<(), RenderFailure> {
        Ok(())
    }

    fn own_keys(&self) -> &'static [OwnKey] {
        &[OwnKey::Url]
    }

    fn default_group_window(&self) -> Duration {
        Duration::from_secs(30)
    }

    fn escaping(&self) -> Escaping {
        Escaping::Entities
    }

    fn hold_to_limits(&self, payload: &mut Value, _template: &str) -> Result<(), RenderFailure> {
        limit(payload);
        Ok(())
    }

    fn fallback(&self, event: &Event) -> Option<Value> {
        Some(serde_json::json!({"text": truncate_chars(&event.summary, 4000)}))
    }

    fn gone(&self, status: u16, body: &str) -> Option<String> {
        matches!(status, 404 | 410).then(|| {
            format!(
                "Slack answered {status} `{}`: the webhook or channel is gone",
                first_line(body)
            )
        })
    }
}

/// ≤ 50 blocks; header 150; section text 3000; ≤ 10 fields of ≤ 2000; `text` ≤ 4000 (the recommended size);
/// empty field lists removed (Slack rejects them).
fn limit(payload: &mut Value) {
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
    fn slack_limits_hold() {
        let long = "x".repeat(5000);
        let mut p = json!({"text": long, "blocks": (0..60).map(|_| json!({"type": "section", "text": {"type": "mrkdwn", "text": long}, "fields": (0..12).map(|_| json!({"type": "mrkdwn", "text": long})).collect::<Vec<_>>()})).collect::<Vec<_>>()});
        p["blocks"][0] = json!({"type": "header", "text": {"type": "plain_text", "text": long}});
        limit(&mut p);
        assert_eq!(chars(&p["text"]), 4000);
        let blocks = p["blocks"].as_array().unwrap();
        assert_eq!(blocks.len(), 50);
        assert_eq!(chars(&blocks[0]["text"]["text"]), 150);
        assert_eq!(chars(&blocks[1]["text"]["text"]), 3000);
        assert_eq!(blocks[1]["fields"].as_array().unwrap().len(), 10);
        assert_eq!(chars(&blocks[1]["fields"][0]["text"]), 2000);
    }
}
