//! ntfy (`POST {server}/` with a JSON body naming the topic): title, message, tags, priority, click and the
//! poster as `attach`; an access token as Bearer or a user and password as Basic; the message held to 4,096
//! bytes (a longer one would become an attachment, refused by servers without them); 401/403 disable it; a
//! 429 (which carries no `Retry-After`) waits for the bucket's refill. API: <https://docs.ntfy.sh/publish/>.

use super::{
    OutboundRequest, OwnKey, Reached, RenderFailure, Target, TargetKind, UrlFinding, body_json,
    first_line, missing, priority_number, set_body_json,
};
use crate::config::Destination;
use crate::event::Event;
use crate::outbound::answer::Verdict;
use crate::outbound::templates::truncate_chars;
use serde_json::{Map, Value, json};
use std::time::Duration;
use url::Url;

/// The ntfy target type.
pub(super) struct Ntfy;

/// The server's default message limit, in bytes.
const MESSAGE_BYTES: usize = 4096;
/// The priority names ntfy reads.
const PRIORITIES: [(&str, i64); 7] = [
    ("min", 1),
    ("low", 2),
    ("default", 3),
    ("high", 4),
    ("max", 5),
    ("urgent", 5),
    ("emergency", 5),
];

impl TargetKind for Ntfy {
    fn where_to_find(&self) -> &'static str {
        "Pick a topic name (it is your address on ntfy.sh or your own server); subscribe to it in the ntfy app."
    }

    fn example_url(&self) -> &'static str {
        "ntfys://ntfy.example.org/<topic>"
    }

    fn check_url(&self, _url: &Url, d: &Destination) -> Vec<UrlFinding> {
        let mut found = Vec::new();
        match d.topic.as_deref() {
            Some(t)
                if (1..=64).contains(&t.len())
                    && t.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') => {}
            _ => found.push(missing(
                "topic",
                "needs a topic: 1–64 letters, digits, - or _ (as in ntfy.sh/<topic>)",
            )),
        }
        if let Some(p) = &d.priority
            && !priority_number(p, &PRIORITIES).is_some_and(|n| (1..=5).contains(&n))
        {
            found.push(missing(
                "priority",
                "ntfy priorities are 1–5, or min, low, default, high, max",
            ));
        }
        if d.token.is_some() && (d.username.is_some() || d.password.is_some()) {
            found.push(missing(
                "token",
                "log in with an access token or with username and password, not both",
            ));
        }
        if d.username.is_some() != d.password.is_some() {
            found.push(missing("password", "username and password go together"));
        }
        found
    }

    /// ntfy's visitor bucket: 60 requests, refilled one per 5 s; a steady 1 per 5 s keeps clear of it.
    fn default_rate(&self, _d: &Destination) -> (Duration, u32) {
        (Duration::from_secs(5), 30)
    }

    fn reached(&self) -> Reached {
        Reached::ThroughServer {
            default: Some("https://ntfy.sh"),
        }
    }

    fn own_keys(&self) -> &'static [OwnKey] {
        &[
            OwnKey::Server,
            OwnKey::Topic,
            OwnKey::Token,
            OwnKey::Username,
            OwnKey::Password,
            OwnKey::Priority,
            OwnKey::Tags,
        ]
    }

    fn default_group_window(&self) -> Duration {
        Duration::from_secs(30)
    }

    /// `{"title", "message", …}`: the message within 4,096 bytes, the title within 250 characters.
    fn hold_to_limits(&self, payload: &mut Value, template: &str) -> Result<(), RenderFailure> {
        let Some(obj) = payload.as_object_mut() else {
            return Err(shape(template));
        };
        let Some(message) = obj.get("message").and_then(Value::as_str) else {
            return Err(shape(template));
        };
        let held = cut_bytes(message, MESSAGE_BYTES);
        obj.insert("message".into(), Value::String(held));
        crate::outbound::limits::cut(obj, "title", 250);
        for key in ["attach", "click", "icon"] {
            if obj.get(key).and_then(Value::as_str) == Some("") {
                obj.remove(key);
            }
        }
        Ok(())
    }

    fn fallback(&self, event: &Event) -> Option<Value> {
        Some(json!({"message": truncate_chars(&event.summary, 1000)}))
    }

    /// The topic, and the destination's priority and tags over the template's; its credentials.
    fn address(
        &self,
        target: &Target,
        request: &mut OutboundRequest,
        _delivery_id: &str,
        _now: i64,
    ) -> Result<(), RenderFailure> {
        let mut body = body_json(request)?;
        let s = &target.service;
        body.insert(
            "topic".into(),
            json!(s.topic.as_deref().unwrap_or_default()),
        );
        if let Some(p) = s
            .priority
            .as_ref()
            .and_then(|p| priority_number(p, &PRIORITIES))
        {
            body.insert("priority".into(), json!(p));
        }
        if !s.tags.is_empty() {
            let mut tags: Vec<Value> = s.tags.iter().map(|t| json!(t)).collect();
            if let Some(Value::Array(own)) = body.remove("tags") {
                tags.extend(own);
            }
            body.insert("tags".into(), Value::Array(tags));
        }
        request.url = format!("{}/", target.url.trim_end_matches('/'));
        if let Some(token) = &target.token {
            request
                .headers
                .push(("authorization".into(), format!("Bearer {token}")));
        } else if let (Some(user), Some(password)) = (&s.username, &s.password) {
            use base64::Engine;
            let basic =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            request
                .headers
                .push(("authorization".into(), format!("Basic {basic}")));
        }
        set_body_json(request, body);
        Ok(())
    }

    fn gone(&self, status: u16, body: &str) -> Option<String> {
        matches!(status, 401 | 403).then(|| {
            format!(
                "ntfy answered {status} `{}`: check the token or password, and that it may publish to the topic",
                first_line(body)
            )
        })
    }

    /// A 429 names its limit in `code`: the request bucket refills one per 5 s; a daily quota (42908) or the
    /// topic limit (42904) lasts much longer.
    fn classify(
        &self,
        status: u16,
        body: &str,
        _headers: &Map<String, Value>,
        retry_after: Option<Duration>,
    ) -> Option<Verdict> {
        if status != 429 {
            return None;
        }
        let code = serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|v| v["code"].as_i64());
        let after = match code {
            Some(42908 | 42904) => Duration::from_secs(3600),
            _ => retry_after.unwrap_or(Duration::from_secs(5)),
        };
        Some(Verdict::RateLimited {
            after,
            global: false,
        })
    }
}

fn shape(template: &str) -> RenderFailure {
    RenderFailure::Shape(format!(
        "template `{template}` must render {{\"message\": …}} (and title, tags, click, attach) for ntfy"
    ))
}

/// `s` within `max` bytes, cut at a character boundary with `…`.
fn cut_bytes(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let end = s.floor_char_boundary(max - '…'.len_utf8());
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_429_waits_for_the_refill_or_the_quota() {
        let none = Map::new();
        let wait = |body: &str| match Ntfy.classify(429, body, &none, None) {
            Some(Verdict::RateLimited { after, .. }) => after,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            wait(r#"{"code":42901,"http":429,"error":"limit reached: too many requests"}"#),
            Duration::from_secs(5)
        );
        assert_eq!(
            wait(r#"{"code":42908,"http":429,"error":"daily message quota reached"}"#),
            Duration::from_secs(3600)
        );
        assert!(
            Ntfy.gone(403, r#"{"code":40301,"http":403,"error":"forbidden"}"#)
                .is_some()
        );
        assert!(Ntfy.gone(400, r#"{"code":40009}"#).is_none());
    }

    #[test]
    fn the_message_is_held_to_4096_bytes_not_characters() {
        let mut p = json!({"title": "t", "message": "é".repeat(3000), "attach": ""});
        Ntfy.hold_to_limits(&mut p, "ntfy/default").unwrap();
        let m = p["message"].as_str().unwrap();
        assert!(m.len() <= 4096, "{}", m.len());
        assert!(m.ends_with('…'));
        assert!(p.get("attach").is_none(), "an empty poster is left out");
    }
}
