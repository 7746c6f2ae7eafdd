//! Gotify (`POST {server}/message` with the application token in `X-Gotify-Key`): title, Markdown message,
//! priority, and `extras` for the click URL and the poster (`client::notification.bigImageUrl`). Gotify has
//! no rate limit and no size limit of its own; 401/403 disable it. API: <https://gotify.net/docs/pushmsg>.

use super::{
    OutboundRequest, OwnKey, Reached, RenderFailure, Target, TargetKind, UrlFinding, body_json,
    first_line, missing, priority_number, set_body_json,
};
use crate::config::Destination;
use crate::event::Event;
use crate::outbound::templates::truncate_chars;
use serde_json::{Value, json};
use std::time::Duration;
use url::Url;

/// The Gotify target type.
pub(super) struct Gotify;

/// Apprise's names for Gotify priorities.
const PRIORITIES: [(&str, i64); 5] = [
    ("low", 0),
    ("moderate", 3),
    ("normal", 5),
    ("high", 8),
    ("emergency", 10),
];

impl TargetKind for Gotify {
    fn where_to_find(&self) -> &'static str {
        "In Gotify: Apps → Create Application → copy its token; the server is your Gotify's address."
    }

    fn example_url(&self) -> &'static str {
        "gotifys://gotify.example.org/<app token>"
    }

    fn check_url(&self, _url: &Url, d: &Destination) -> Vec<UrlFinding> {
        let mut found = Vec::new();
        if d.token.as_ref().is_none_or(|t| t.expose().is_empty()) {
            found.push(missing(
                "token",
                "needs the application's token (Gotify → Apps → the app's token)",
            ));
        }
        if let Some(p) = &d.priority
            && !priority_number(p, &PRIORITIES).is_some_and(|n| (0..=10).contains(&n))
        {
            found.push(missing(
                "priority",
                "Gotify priorities are 0–10 (4+ sound, 8+ vibrate on Android)",
            ));
        }
        found
    }

    /// Gotify itself does not limit; a self-hosted server still deserves a steady pace.
    fn default_rate(&self, _d: &Destination) -> (Duration, u32) {
        (Duration::from_millis(100), 10)
    }

    fn reached(&self) -> Reached {
        Reached::ThroughServer { default: None }
    }

    fn own_keys(&self) -> &'static [OwnKey] {
        &[OwnKey::Server, OwnKey::Token, OwnKey::Priority]
    }

    fn default_group_window(&self) -> Duration {
        Duration::from_secs(30)
    }

    /// `{"title", "message", "extras"?}`: `message` is required, an empty poster or click URL is left out.
    fn hold_to_limits(&self, payload: &mut Value, template: &str) -> Result<(), RenderFailure> {
        let Some(obj) = payload.as_object_mut() else {
            return Err(shape(template));
        };
        if obj
            .get("message")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(shape(template));
        }
        if let Some(n) = obj
            .get_mut("extras")
            .and_then(|e| e.get_mut("client::notification"))
            && let Some(n) = n.as_object_mut()
        {
            if n.get("bigImageUrl").and_then(Value::as_str) == Some("") {
                n.remove("bigImageUrl");
            }
            if n.get("click").and_then(|c| c["url"].as_str()) == Some("") {
                n.remove("click");
            }
        }
        Ok(())
    }

    fn fallback(&self, event: &Event) -> Option<Value> {
        Some(json!({"message": truncate_chars(&event.summary, 4000)}))
    }

    fn address(
        &self,
        target: &Target,
        request: &mut OutboundRequest,
        _delivery_id: &str,
        _now: i64,
    ) -> Result<(), RenderFailure> {
        let mut body = body_json(request)?;
        if let Some(p) = target
            .service
            .priority
            .as_ref()
            .and_then(|p| priority_number(p, &PRIORITIES))
        {
            body.insert("priority".into(), json!(p));
        }
        request.url = format!("{}/message", target.url.trim_end_matches('/'));
        request.headers.push((
            "x-gotify-key".into(),
            target.token.clone().unwrap_or_default(),
        ));
        set_body_json(request, body);
        Ok(())
    }

    fn gone(&self, status: u16, body: &str) -> Option<String> {
        matches!(status, 401 | 403).then(|| {
            let said = serde_json::from_str::<Value>(body)
                .ok()
                .and_then(|v| v["errorDescription"].as_str().map(str::to_owned))
                .unwrap_or_else(|| first_line(body).to_owned());
            format!("Gotify answered {status} `{said}`: check the application token")
        })
    }
}

fn shape(template: &str) -> RenderFailure {
    RenderFailure::Shape(format!(
        "template `{template}` must render {{\"message\": …}} (not empty; and title, priority, extras) for Gotify"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_message_is_refused_and_empty_extras_left_out() {
        let mut p = json!({"title": "t", "message": "m", "extras": {"client::notification": {"bigImageUrl": "", "click": {"url": ""}}}});
        Gotify.hold_to_limits(&mut p, "gotify/default").unwrap();
        assert_eq!(p["extras"]["client::notification"], json!({}));
        let mut empty = json!({"title": "t", "message": ""});
        assert!(Gotify.hold_to_limits(&mut empty, "gotify/default").is_err());
        assert!(Gotify.gone(401, r#"{"error":"Unauthorized","errorCode":401,"errorDescription":"you need to provide a valid access token"}"#).unwrap().contains("valid access token"));
    }
}
