//! Telegram's Bot API (`{server}/bot<token>/sendMessage`): an HTML message, or `sendPhoto` with the poster and
//! the text as its caption when it fits in 1,024 characters; the import of a download edits the grab's
//! message (`editMessageText` / `editMessageCaption`); `parameters.retry_after` honoured; a revoked token, a
//! chat not found or a bot that was blocked or kicked disable it. API: <https://core.telegram.org/bots/api>.

use super::{
    Escaping, OutboundRequest, OwnKey, Reached, RenderFailure, Target, TargetKind, UrlFinding,
    body_json, first_line, missing, set_body_json,
};
use crate::config::Destination;
use crate::event::Event;
use crate::outbound::answer::Verdict;
use crate::outbound::templates::truncate_chars;
use serde_json::{Map, Value, json};
use std::time::Duration;
use url::Url;

/// The Telegram target type.
pub(super) struct Telegram;

mod message;

use message::{CAPTION_LIMIT, TEXT_LIMIT, api_call, cut_html};

impl TargetKind for Telegram {
    fn where_to_find(&self) -> &'static str {
        "Talk to @BotFather → /newbot → copy the bot token; add the bot to your chat; the chat id is in getUpdates (a group's starts with -100)."
    }

    fn example_url(&self) -> &'static str {
        "tgram://<bot token>/<chat id>"
    }

    fn check_url(&self, _url: &Url, d: &Destination) -> Vec<UrlFinding> {
        let mut found = Vec::new();
        let token = d.token.as_ref().map(|t| t.expose()).unwrap_or("");
        if token.is_empty() {
            found.push(missing(
                "token",
                "needs the bot token from @BotFather: token: ${TELEGRAM_BOT_TOKEN}",
            ));
        } else if !token.split_once(':').is_some_and(|(id, rest)| {
            id.parse::<u64>().is_ok() && !rest.is_empty() && !rest.contains('/')
        }) {
            found.push(missing(
                "token",
                "a bot token looks like 123456789:AAbbCC… (from @BotFather)",
            ));
        }
        match d.chat_id.as_deref() {
            None | Some("") => found.push(missing(
                "chat_id",
                "needs the chat: a number like -1001234567890, or @channelname",
            )),
            Some(chat) if chat.parse::<i64>().is_err() && !chat.starts_with('@') => {
                found.push(missing(
                    "chat_id",
                    "a chat id is a number like -1001234567890, or @channelname",
                ))
            }
            Some(_) => {}
        }
        found
    }

    /// About one message a second to a chat, and at most 20 a minute to a group (a negative chat id).
    fn default_in_flight(&self) -> Option<u32> {
        Some(1)
    }

    fn default_rate(&self, d: &Destination) -> (Duration, u32) {
        if d.chat_id.as_deref().is_some_and(|c| c.starts_with('-')) {
            (Duration::from_secs(3), 1)
        } else {
            (Duration::from_secs(1), 1)
        }
    }

    fn reached(&self) -> Reached {
        Reached::ThroughServer {
            default: Some("https://api.telegram.org"),
        }
    }

    fn own_keys(&self) -> &'static [OwnKey] {
        &[
            OwnKey::Server,
            OwnKey::Token,
            OwnKey::ChatId,
            OwnKey::ThreadId,
            OwnKey::Silent,
            OwnKey::EditMessages,
        ]
    }

    fn default_group_window(&self) -> Duration {
        Duration::from_secs(30)
    }

    fn escaping(&self) -> Escaping {
        Escaping::Html
    }

    /// `{"text": <HTML>, "photo"?: <URL>}`: a photo whose text fits a caption, else a text message within
    /// 4,096 characters (the poster as its link preview).
    fn hold_to_limits(&self, payload: &mut Value, template: &str) -> Result<(), RenderFailure> {
        let Some(obj) = payload.as_object_mut() else {
            return Err(shape(template));
        };
        let Some(text) = obj.get("text").and_then(Value::as_str).map(str::to_owned) else {
            return Err(shape(template));
        };
        let has_photo = obj
            .get("photo")
            .and_then(Value::as_str)
            .is_some_and(|p| !p.is_empty());
        if !has_photo {
            obj.remove("photo");
        }
        let limit = if has_photo && text.chars().count() <= CAPTION_LIMIT {
            CAPTION_LIMIT
        } else {
            TEXT_LIMIT
        };
        let cut = cut_html(&text, limit);
        obj.insert("text".into(), Value::String(cut));
        Ok(())
    }

    fn fallback(&self, event: &Event) -> Option<Value> {
        Some(json!({"text": truncate_chars(&event.summary, TEXT_LIMIT), "parse_mode": null}))
    }

    /// The Bot API call the payload makes, with the chat, its topic and silence.
    fn address(
        &self,
        target: &Target,
        request: &mut OutboundRequest,
        _delivery_id: &str,
        _now: i64,
    ) -> Result<(), RenderFailure> {
        let payload = body_json(request)?;
        let (method, body) = api_call(target, payload);
        request.url = method_url(target, method);
        set_body_json(request, body);
        Ok(())
    }

    fn gone(&self, status: u16, body: &str) -> Option<String> {
        let description = description(body);
        let chat_gone = status == 400
            && (description.contains("chat not found") || description.contains("PEER_ID_INVALID"));
        (matches!(status, 401 | 403 | 404) || chat_gone).then(|| {
            format!(
                "Telegram answered {status} `{}`: check the bot token and that the bot is still in the chat",
                first_line(&description)
            )
        })
    }

    /// A 429's wait is `parameters.retry_after`; an edit that changes nothing is a success.
    fn classify(
        &self,
        status: u16,
        body: &str,
        _headers: &Map<String, Value>,
        retry_after: Option<Duration>,
    ) -> Option<Verdict> {
        match status {
            429 => {
                let after = serde_json::from_str::<Value>(body)
                    .ok()
                    .and_then(|v| v["parameters"]["retry_after"].as_f64())
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .map(|s| Duration::from_secs_f64(s.min(86_400.0)))
                    .or(retry_after)
                    .unwrap_or(Duration::from_secs(1));
                Some(Verdict::RateLimited {
                    after,
                    global: false,
                })
            }
            400 if description(body).contains("message is not modified") => Some(Verdict::Success),
            _ => None,
        }
    }

    /// `400 group chat was upgraded to a supergroup chat` with `parameters.migrate_to_chat_id`.
    fn moved_to(&self, status: u16, body: &str) -> Option<String> {
        if status != 400 {
            return None;
        }
        serde_json::from_str::<Value>(body).ok()?["parameters"]["migrate_to_chat_id"]
            .as_i64()
            .map(|id| id.to_string())
    }

    fn edits_messages(&self) -> bool {
        true
    }

    /// `editMessageCaption` for a photo, `editMessageText` for text, naming the message.
    fn as_edit(&self, mut request: OutboundRequest, message_id: &str) -> OutboundRequest {
        let Ok(Value::Object(mut body)) = serde_json::from_slice::<Value>(&request.body) else {
            return request;
        };
        let method = if body.remove("photo").is_some() {
            "editMessageCaption"
        } else {
            "editMessageText"
        };
        body.remove("message_thread_id");
        body.remove("disable_notification");
        if let Ok(id) = message_id.parse::<i64>() {
            body.insert("message_id".into(), json!(id));
        }
        if let Some((base, _)) = request.url.rsplit_once('/') {
            request.url = format!("{base}/{method}");
        }
        set_body_json(&mut request, body);
        request
    }

    /// "message to edit not found", and an edit of the other kind (a caption on a text message) post anew.
    fn edit_missing(&self, status: u16, body: &str) -> bool {
        let d = description(body);
        status == 400
            && (d.contains("message to edit not found")
                || d.contains("there is no caption")
                || d.contains("there is no text"))
    }

    /// `result.message_id` of the `{ok, result: Message}` answer.
    fn posted_message(&self, body: &str) -> Option<String> {
        serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|v| v["result"]["message_id"].as_i64())
            .map(|id| id.to_string())
    }
}

fn shape(template: &str) -> RenderFailure {
    RenderFailure::Shape(format!(
        "template `{template}` must render {{\"text\": …}} (and \"photo\" for a poster) for Telegram"
    ))
}

fn method_url(target: &Target, method: &str) -> String {
    format!(
        "{}/bot{}/{method}",
        target.url.trim_end_matches('/'),
        target.token.as_deref().unwrap_or_default()
    )
}

/// The `description` of an error answer.
fn description(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["description"].as_str().map(str::to_owned))
        .unwrap_or_else(|| body.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn telegram_answers_mean_what_the_bot_api_says() {
        let none = Map::new();
        let limited = r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}"#;
        assert_eq!(
            Telegram.classify(429, limited, &none, Some(Duration::from_secs(1))),
            Some(Verdict::RateLimited {
                after: Duration::from_secs(7),
                global: false
            })
        );
        let same = r#"{"ok":false,"error_code":400,"description":"Bad Request: message is not modified: specified new message content and reply markup are exactly the same"}"#;
        assert_eq!(
            Telegram.classify(400, same, &none, None),
            Some(Verdict::Success)
        );
        assert_eq!(
            Telegram.classify(
                400,
                r#"{"description":"Bad Request: can't parse entities"}"#,
                &none,
                None
            ),
            None
        );
        assert!(Telegram.gone(403, r#"{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}"#).is_some());
        assert!(
            Telegram
                .gone(
                    400,
                    r#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#
                )
                .is_some()
        );
        assert!(
            Telegram
                .gone(400, r#"{"description":"Bad Request: message is too long"}"#)
                .is_none()
        );
        assert!(Telegram.edit_missing(
            400,
            r#"{"description":"Bad Request: message to edit not found"}"#
        ));
        assert_eq!(
            Telegram
                .posted_message(r#"{"ok":true,"result":{"message_id":42}}"#)
                .as_deref(),
            Some("42")
        );
    }

    #[test]
    fn a_method_is_called_on_the_bots_own_path() {
        let mut target = Target::preview(crate::config::DestinationType::Telegram);
        target.url = "http://127.0.0.1:9/".into();
        target.token = Some("1:x".into());
        assert_eq!(
            method_url(&target, "sendMessage"),
            "http://127.0.0.1:9/bot1:x/sendMessage"
        );
    }
}
