//! Pushover (`POST {server}/1/messages.json`, form-encoded): the application token and the user (or group)
//! key in the body, an HTML message within 1,024 characters, title 250, a supplementary URL (the item's page)
//! within 512, priority −2…2 with emergency's `retry`/`expire`, sound and devices. A 429 is the monthly quota:
//! it waits for `X-Limit-App-Reset`. An invalid token or user key disables it; other 4xx fail (Pushover: the
//! same request will never work); 5xx retry no sooner than 5 s. API: <https://pushover.net/api>.

use super::{
    Escaping, OutboundRequest, OwnKey, Reached, RenderFailure, Target, TargetKind, UrlFinding,
    body_json, header, missing, priority_number, text,
};
use crate::config::Destination;
use crate::event::Event;
use crate::outbound::answer::Verdict;
use crate::outbound::limits::cut;
use crate::outbound::templates::truncate_chars;
use serde_json::{Map, Value, json};
use std::time::Duration;
use url::Url;

/// The Pushover target type.
pub(super) struct Pushover;

/// Apprise's names for Pushover priorities.
const PRIORITIES: [(&str, i64); 5] = [
    ("low", -2),
    ("moderate", -1),
    ("normal", 0),
    ("high", 1),
    ("emergency", 2),
];

impl TargetKind for Pushover {
    fn where_to_find(&self) -> &'static str {
        "On pushover.net: your User Key is on the front page; Create an Application/API Token for the app token."
    }

    fn example_url(&self) -> &'static str {
        "pover://<user key>@<app token>"
    }

    fn check_url(&self, _url: &Url, d: &Destination) -> Vec<UrlFinding> {
        let mut found = Vec::new();
        let key = |k: &Option<crate::config::Secret>| {
            k.as_ref().is_some_and(|k| {
                k.expose().len() == 30 && k.expose().bytes().all(|b| b.is_ascii_alphanumeric())
            })
        };
        if !key(&d.token) {
            found.push(missing(
                "token",
                "needs the application's API token: 30 letters and digits (pushover.net → Your Applications)",
            ));
        }
        if !key(&d.user_key) {
            found.push(missing(
                "user_key",
                "needs your user key (or a group key): 30 letters and digits, from pushover.net",
            ));
        }
        for (i, device) in d.devices.iter().enumerate() {
            if device.is_empty()
                || device.len() > 25
                || !device
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                found.push(missing(
                    "devices",
                    format!("devices[{i}]: a device name is 1–25 letters, digits, _ or -"),
                ));
            }
        }
        let priority = d.priority.as_ref().map(|p| priority_number(p, &PRIORITIES));
        match priority {
            Some(None) => found.push(missing(
                "priority",
                "Pushover priorities are -2 to 2 (or low, moderate, normal, high, emergency)",
            )),
            Some(Some(p)) if !(-2..=2).contains(&p) => found.push(missing(
                "priority",
                "Pushover priorities are -2 to 2 (or low, moderate, normal, high, emergency)",
            )),
            Some(Some(2)) => match d.emergency {
                None => found.push(missing(
                    "emergency",
                    "priority 2 repeats until acknowledged: add emergency: {retry: 5m, expire: 1h}",
                )),
                Some(e) => {
                    if e.retry < Duration::from_secs(30) {
                        found.push(missing("emergency", "emergency.retry must be at least 30s"));
                    }
                    if e.expire > Duration::from_secs(10_800) || e.expire.is_zero() {
                        found.push(missing(
                            "emergency",
                            "emergency.expire must be between 1s and 3h",
                        ));
                    }
                }
            },
            _ if d.emergency.is_some() => found.push(UrlFinding::Warning {
                key: "emergency",
                message: "only priority 2 (emergency) repeats; it is ignored".into(),
            }),
            _ => {}
        }
        if let Some(sound) = &d.sound
            && (sound.is_empty() || sound.len() > 20)
        {
            found.push(missing(
                "sound",
                "a sound's name, like pushover, siren or a custom one",
            ));
        }
        found
    }

    /// Pushover asks for no more than two connections at once; a steady pace well under that.
    fn default_rate(&self, _d: &Destination) -> (Duration, u32) {
        (Duration::from_millis(500), 2)
    }

    fn reached(&self) -> Reached {
        Reached::ThroughServer {
            default: Some("https://api.pushover.net"),
        }
    }

    fn own_keys(&self) -> &'static [OwnKey] {
        &[
            OwnKey::Server,
            OwnKey::Token,
            OwnKey::UserKey,
            OwnKey::Devices,
            OwnKey::Priority,
            OwnKey::Sound,
            OwnKey::Emergency,
        ]
    }

    fn default_group_window(&self) -> Duration {
        Duration::from_secs(30)
    }

    fn escaping(&self) -> Escaping {
        Escaping::Html
    }

    /// `{"title", "message", "url"?, "url_title"?}`: message 1,024, title 250, url 512 (dropped when longer:
    /// a cut URL is a wrong one), url_title 100.
    fn hold_to_limits(&self, payload: &mut Value, template: &str) -> Result<(), RenderFailure> {
        let Some(obj) = payload.as_object_mut() else {
            return Err(shape(template));
        };
        if text(obj, "message").is_none_or(str::is_empty) {
            return Err(shape(template));
        }
        cut(obj, "message", 1024);
        cut(obj, "title", 250);
        cut(obj, "url_title", 100);
        if text(obj, "url").is_some_and(|u| u.is_empty() || u.chars().count() > 512) {
            obj.remove("url");
            obj.remove("url_title");
        }
        Ok(())
    }

    fn fallback(&self, event: &Event) -> Option<Value> {
        Some(json!({"message": truncate_chars(&event.summary, 1024), "html": 0}))
    }

    /// The form Pushover reads: credentials, the message as HTML, and the destination's settings.
    fn address(
        &self,
        target: &Target,
        request: &mut OutboundRequest,
        _delivery_id: &str,
        _now: i64,
    ) -> Result<(), RenderFailure> {
        let payload = body_json(request)?;
        let s = &target.service;
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("token", target.token.as_deref().unwrap_or_default());
        form.append_pair("user", s.user_key.as_deref().unwrap_or_default());
        let html = payload.get("html").is_none_or(|h| h != &json!(0));
        if html {
            form.append_pair("html", "1");
        }
        for (key, value) in &payload {
            let value = match value {
                Value::String(v) => v.clone(),
                Value::Number(n) => n.to_string(),
                _ => continue,
            };
            if key != "html" && !value.is_empty() {
                form.append_pair(key, &value);
            }
        }
        let priority = s
            .priority
            .as_ref()
            .and_then(|p| priority_number(p, &PRIORITIES));
        if let Some(p) = priority {
            form.append_pair("priority", &p.to_string());
            if let (2, Some(e)) = (p, s.emergency) {
                form.append_pair("retry", &e.retry.as_secs().to_string());
                form.append_pair("expire", &e.expire.as_secs().to_string());
            }
        }
        if let Some(sound) = &s.sound {
            form.append_pair("sound", sound);
        }
        if !s.devices.is_empty() {
            form.append_pair("device", &s.devices.join(","));
        }
        request.url = format!("{}/1/messages.json", target.url.trim_end_matches('/'));
        request.headers.retain(|(k, _)| k != "content-type");
        request.headers.push((
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        ));
        request.body = form.finish().into_bytes();
        Ok(())
    }

    /// `{"token": "invalid"}` or `{"user": "invalid"}` (a wrong or deleted token or key): nothing will work
    /// until the config changes.
    fn gone(&self, status: u16, body: &str) -> Option<String> {
        if !(400..500).contains(&status) || status == 429 {
            return None;
        }
        let v = serde_json::from_str::<Value>(body).ok()?;
        let bad: Vec<&str> = ["token", "user"]
            .into_iter()
            .filter(|k| v[*k].as_str() == Some("invalid"))
            .collect();
        (!bad.is_empty() || status == 401).then(|| {
            let errors = v["errors"]
                .as_array()
                .map(|e| {
                    e.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .unwrap_or_default();
            format!(
                "Pushover answered {status} `{errors}`: check the application token and user key"
            )
        })
    }

    /// 429 is the monthly quota, over until `X-Limit-App-Reset`. (A 5xx follows the schedule, whose
    /// retries come 10 s and more apart: Pushover asks for 5 s at least.)
    fn classify(
        &self,
        status: u16,
        _body: &str,
        headers: &Map<String, Value>,
        _retry_after: Option<Duration>,
    ) -> Option<Verdict> {
        match status {
            429 => {
                let now = chrono::Utc::now().timestamp();
                let after = header(headers, "x-limit-app-reset")
                    .and_then(|r| r.trim().parse::<i64>().ok())
                    .map(|reset| {
                        Duration::from_secs(reset.saturating_sub(now).clamp(60, 32 * 86_400) as u64)
                    })
                    .unwrap_or(Duration::from_secs(3600));
                Some(Verdict::RateLimited {
                    after,
                    global: false,
                })
            }
            _ => None,
        }
    }
}

fn shape(template: &str) -> RenderFailure {
    RenderFailure::Shape(format!(
        "template `{template}` must render {{\"message\": …}} (not empty; and title, url, url_title) for Pushover"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quota_waits_for_its_reset_and_a_bad_key_disables() {
        let mut headers = Map::new();
        let reset = chrono::Utc::now().timestamp() + 7200;
        headers.insert("x-limit-app-reset".into(), json!(reset.to_string()));
        match Pushover.classify(429, "{}", &headers, None) {
            Some(Verdict::RateLimited { after, .. }) => {
                assert!((7100..=7200).contains(&after.as_secs()), "{after:?}")
            }
            other => panic!("{other:?}"),
        }
        let bad_user = r#"{"user":"invalid","errors":["user identifier is invalid"],"status":0}"#;
        assert!(
            Pushover
                .gone(400, bad_user)
                .unwrap()
                .contains("user identifier is invalid")
        );
        assert!(
            Pushover
                .gone(400, r#"{"errors":["message cannot be blank"],"status":0}"#)
                .is_none()
        );
    }

    #[test]
    fn limits_cut_the_message_and_drop_a_url_too_long_to_cut() {
        let mut p = json!({"message": "m".repeat(2000), "title": "t".repeat(300), "url": format!("https://x/{}", "u".repeat(600)), "url_title": "page"});
        Pushover.hold_to_limits(&mut p, "pushover/default").unwrap();
        assert_eq!(p["message"].as_str().unwrap().chars().count(), 1024);
        assert_eq!(p["title"].as_str().unwrap().chars().count(), 250);
        assert!(p.get("url").is_none() && p.get("url_title").is_none());
    }
}
