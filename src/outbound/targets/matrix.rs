//! Matrix (client-server API: `PUT {server}/_matrix/client/v3/rooms/{room}/send/m.room.message/{txn}` with
//! the access token as Bearer): an HTML `formatted_body` with its plain `body`; the transaction id is the
//! delivery id, so a retry of a message the homeserver already took is not posted twice; a room given by its
//! alias is joined once (`POST …/join/{alias}`, which also names its id); `M_LIMIT_EXCEEDED` waits for
//! `Retry-After` or `retry_after_ms`; an unknown token, a room the bot is not in, or an unknown room disable
//! it. Spec: <https://spec.matrix.org/latest/client-server-api/>.

use super::{
    Escaping, OutboundRequest, OwnKey, Reached, RenderFailure, Target, TargetKind, UrlFinding,
    body_json, html_to_text, missing, set_body_json, text,
};
use crate::config::Destination;
use crate::event::Event;
use crate::outbound::answer::Verdict;
use crate::outbound::templates::truncate_chars;
use serde_json::{Map, Value, json};
use std::time::Duration;
use url::Url;

/// The Matrix target type.
pub(super) struct Matrix;

/// An event's content is held well under the 65,536 bytes a whole event may have.
const CONTENT_BYTES: usize = 60_000;

impl TargetKind for Matrix {
    fn where_to_find(&self) -> &'static str {
        "In Element: Settings → Help & About → Access Token; the room id is in Room Settings → Advanced."
    }

    fn example_url(&self) -> &'static str {
        "matrixs://<access token>@matrix.example.org/!<room id>:example.org"
    }

    fn check_url(&self, _url: &Url, d: &Destination) -> Vec<UrlFinding> {
        let mut found = Vec::new();
        if d.token.as_ref().is_none_or(|t| t.expose().is_empty()) {
            found.push(missing(
                "token",
                "needs the bot account's access token (Element: Settings → Help & About → Access token)",
            ));
        }
        match d.room.as_deref() {
            Some(room) if (room.starts_with('!') || room.starts_with('#')) && room.contains(':') => {}
            _ => found.push(missing(
                "room",
                "needs the room: its alias like #media:example.org, or its id like !AbCdEf:example.org",
            )),
        }
        found
    }

    /// Homeservers limit senders to a few messages a second.
    fn default_in_flight(&self) -> Option<u32> {
        Some(1)
    }

    fn default_rate(&self, _d: &Destination) -> (Duration, u32) {
        (Duration::from_millis(500), 5)
    }

    fn reached(&self) -> Reached {
        Reached::ThroughServer { default: None }
    }

    fn own_keys(&self) -> &'static [OwnKey] {
        &[OwnKey::Server, OwnKey::Token, OwnKey::Room]
    }

    fn default_group_window(&self) -> Duration {
        Duration::from_secs(30)
    }

    fn escaping(&self) -> Escaping {
        Escaping::Html
    }

    /// `{"formatted_body": <HTML>, "body"?, "msgtype"?}`: the plain `body` is made from the HTML when the
    /// template gives none (clients without HTML show it), both within the event's size.
    fn hold_to_limits(&self, payload: &mut Value, template: &str) -> Result<(), RenderFailure> {
        let Some(obj) = payload.as_object_mut() else {
            return Err(shape(template));
        };
        let Some(html) = text(obj, "formatted_body").map(str::to_owned) else {
            if text(obj, "body").is_some() {
                return Ok(());
            }
            return Err(shape(template));
        };
        if text(obj, "body").is_none_or(str::is_empty) {
            obj.insert("body".into(), Value::String(html_to_text(&html)));
        }
        let total = html.len() + text(obj, "body").map_or(0, str::len);
        if total > CONTENT_BYTES {
            // The HTML goes first: a cut tag would show as text.
            obj.remove("formatted_body");
            let body = text(obj, "body").unwrap_or_default();
            let end = body.floor_char_boundary(CONTENT_BYTES);
            obj.insert("body".into(), Value::String(body[..end].to_owned()));
        }
        Ok(())
    }

    fn fallback(&self, event: &Event) -> Option<Value> {
        Some(json!({"body": truncate_chars(&event.summary, 4000)}))
    }

    /// The room's send URL, with the delivery id as the transaction id (`.plain` for the plain fallback,
    /// which is another message).
    fn address(
        &self,
        target: &Target,
        request: &mut OutboundRequest,
        delivery_id: &str,
        _now: i64,
    ) -> Result<(), RenderFailure> {
        let mut body = body_json(request)?;
        body.entry("msgtype").or_insert_with(|| json!("m.notice"));
        let txn = if body.contains_key("formatted_body") {
            body.insert("format".into(), json!("org.matrix.custom.html"));
            delivery_id.to_owned()
        } else {
            format!("{delivery_id}.plain")
        };
        let room = target.service.room.as_deref().unwrap_or_default();
        let url = client_url(target, &["rooms", room, "send", "m.room.message", &txn])
            .ok_or_else(|| RenderFailure::Shape("server: not a base URL".into()))?;
        request.method = reqwest::Method::PUT;
        request.url = url;
        request.headers.push(bearer(target));
        set_body_json(request, body);
        Ok(())
    }

    fn edits_messages(&self) -> bool {
        true
    }

    /// The answer's `event_id`: what an edit replaces.
    fn posted_message(&self, body: &str) -> Option<String> {
        serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|v| v["event_id"].as_str().map(str::to_owned))
    }

    /// An edit is a new event that replaces `event_id` (`m.relates_to` `m.replace`, the content in
    /// `m.new_content`, and a `* ` fallback for clients without edits), under a transaction id of its own.
    fn as_edit(&self, mut request: OutboundRequest, event_id: &str) -> OutboundRequest {
        let Ok(Value::Object(content)) = serde_json::from_slice::<Value>(&request.body) else {
            return request;
        };
        let mut edit = content.clone();
        for key in ["body", "formatted_body"] {
            if let Some(Value::String(text)) = edit.get_mut(key) {
                *text = format!("* {text}");
            }
        }
        edit.insert("m.new_content".into(), Value::Object(content));
        edit.insert(
            "m.relates_to".into(),
            json!({"rel_type": "m.replace", "event_id": event_id}),
        );
        request.body = serde_json::to_vec(&edit).expect("a JSON value serializes");
        request.url = format!("{}.edit", request.url);
        request
    }

    fn gone(&self, status: u16, body: &str) -> Option<String> {
        let v = serde_json::from_str::<Value>(body).unwrap_or_default();
        let code = v["errcode"].as_str().unwrap_or("");
        let dead = matches!(
            code,
            "M_UNKNOWN_TOKEN"
                | "M_MISSING_TOKEN"
                | "M_FORBIDDEN"
                | "M_NOT_FOUND"
                | "M_USER_DEACTIVATED"
        ) || matches!(status, 401 | 403);
        dead.then(|| {
            let hint = match code {
                "M_FORBIDDEN" => "invite the bot to the room and let it join",
                "M_NOT_FOUND" => "check the room's id or alias",
                _ => "check the access token",
            };
            format!(
                "Matrix answered {status} {code} `{}`: {hint}",
                v["error"].as_str().unwrap_or("")
            )
        })
    }

    /// `M_LIMIT_EXCEEDED`: the `Retry-After` header, else the body's (deprecated) `retry_after_ms`.
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
        let after = retry_after
            .or_else(|| {
                let v = serde_json::from_str::<Value>(body).ok()?;
                let ms = v["retry_after_ms"]
                    .as_u64()
                    .or_else(|| v["error"]["retry_after_ms"].as_u64())?;
                Some(Duration::from_millis(ms.min(86_400_000)))
            })
            .unwrap_or(Duration::from_secs(1));
        Some(Verdict::RateLimited {
            after,
            global: false,
        })
    }
}

/// The request that joins the room of an alias (`#media:example.org`): the homeserver answers
/// `{"room_id": "!…"}`, and joining a room the bot is already in changes nothing.
pub fn join_request(target: &Target, alias: &str) -> OutboundRequest {
    OutboundRequest {
        method: reqwest::Method::POST,
        // An unusable server was refused by `check-config`; this request would then fail to send.
        url: client_url(target, &["join", alias]).unwrap_or_default(),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            bearer(target),
        ],
        body: b"{}".to_vec(),
    }
}

/// `{server}/_matrix/client/v3/<segments>`, each segment percent-encoded (room ids and aliases hold `!`, `#`
/// and `:`).
fn client_url(target: &Target, segments: &[&str]) -> Option<String> {
    let mut url = Url::parse(&format!("{}/", target.url.trim_end_matches('/'))).ok()?;
    url.path_segments_mut()
        .ok()?
        .pop_if_empty()
        .extend(["_matrix", "client", "v3"])
        .extend(segments);
    Some(url.to_string())
}

/// The access token as the `Authorization` header.
fn bearer(target: &Target) -> (String, String) {
    (
        "authorization".into(),
        format!("Bearer {}", target.token.as_deref().unwrap_or_default()),
    )
}

/// The room id a join's answer names.
pub fn joined_room(body: &str) -> Option<String> {
    serde_json::from_str::<Value>(body)
        .ok()?
        .get("room_id")?
        .as_str()
        .filter(|id| id.starts_with('!'))
        .map(str::to_owned)
}

fn shape(template: &str) -> RenderFailure {
    RenderFailure::Shape(format!(
        "template `{template}` must render {{\"formatted_body\": <HTML>}} or {{\"body\": <text>}} for Matrix"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_429_waits_for_retry_after_else_retry_after_ms() {
        let none = Map::new();
        let body =
            r#"{"errcode":"M_LIMIT_EXCEEDED","error":"Too many requests","retry_after_ms":2500}"#;
        let wait = |header| match Matrix.classify(429, body, &none, header) {
            Some(Verdict::RateLimited { after, .. }) => after,
            other => panic!("{other:?}"),
        };
        assert_eq!(wait(None), Duration::from_millis(2500));
        assert_eq!(
            wait(Some(Duration::from_secs(9))),
            Duration::from_secs(9),
            "the header first"
        );
        assert!(
            Matrix
                .gone(
                    401,
                    r#"{"errcode":"M_UNKNOWN_TOKEN","error":"Invalid access token passed."}"#
                )
                .is_some()
        );
        assert!(Matrix.gone(400, r#"{"errcode":"M_BAD_JSON"}"#).is_none());
    }

    #[test]
    fn the_plain_body_is_made_from_the_html_and_a_huge_one_loses_its_html() {
        let mut p = json!({"formatted_body": "<b>Dune</b><br>Tom &amp; Jerry"});
        Matrix.hold_to_limits(&mut p, "matrix/default").unwrap();
        assert_eq!(p["body"], "Dune\nTom & Jerry");
        let mut huge = json!({"formatted_body": "<b>x</b>".repeat(10_000)});
        Matrix.hold_to_limits(&mut huge, "matrix/default").unwrap();
        assert!(huge.get("formatted_body").is_none());
        assert!(huge["body"].as_str().unwrap().len() <= CONTENT_BYTES);
    }
}
