//! Apps that notify through Apprise (Bazarr, Audiobookshelf, anything with an Apprise URL field): Apprise's
//! `json://` notification `{version, title, message, attachments, type}` and the Apprise API's `notify` call
//! `{urls, title, body, type?}` become one `other` event carrying the title, body and type — a test when the
//! title says so. Free text only: no ids, no structured fields. The `urls` of an Apprise API call hold the
//! sender's own service secrets: they are never read into the event.

use super::{InboundError, ParseContext};
use crate::event::{Event, EventData, EventKind, Notification};
use serde_json::{Map, Value};

/// The keys a title may come under (Apprise lets the user rename them; these are its own and the usual ones).
const TITLE_KEYS: [&str; 3] = ["title", "subject", "head"];
/// The keys a body may come under: `message` (json://), `body` (Apprise API), and the usual others.
const BODY_KEYS: [&str; 4] = ["message", "body", "text", "content"];

/// Parses one Apprise notification into an `other` (or `test`) event.
pub fn parse(ctx: &ParseContext<'_>, body: &[u8]) -> Result<Event, InboundError> {
    let object: Map<String, Value> = super::parse_json_object(body)?;
    let text = |keys: &[&str]| {
        keys.iter().find_map(|k| match object.get(*k)? {
            Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
            Value::Null | Value::String(_) | Value::Array(_) | Value::Object(_) => None,
            other => Some(other.to_string()),
        })
    };
    let title = text(&TITLE_KEYS);
    let message = text(&BODY_KEYS);
    if title.is_none() && message.is_none() {
        return Err(InboundError::MissingField("title` or `message"));
    }
    let kind = object
        .get("type")
        .and_then(Value::as_str)
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty());
    let is_test = [title.as_deref(), message.as_deref()]
        .into_iter()
        .flatten()
        .any(|t| t.to_ascii_lowercase().contains("test notification"));
    let event = if is_test {
        EventKind::Test
    } else {
        EventKind::Other
    };
    let app_event = if is_test {
        "test".to_owned()
    } else {
        kind.clone().unwrap_or_else(|| "notification".into())
    };
    let data = EventData {
        notification: Some(Notification {
            title,
            body: message,
            kind,
        }),
        ..Default::default()
    };
    Ok(Event::new(
        event,
        ctx.received_at,
        ctx.source_info(app_event),
        data,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbound::SourceApp;

    fn parse_body(body: &str) -> Result<Event, InboundError> {
        let ctx = ParseContext {
            source: "bazarr",
            app: SourceApp::Apprise,
            user_agent: Some("Apprise"),
            received_at: chrono::Utc::now(),
        };
        parse(&ctx, body.as_bytes())
    }

    #[test]
    fn json_notifications_and_api_calls_become_other_events_with_their_text() {
        let bazarr = parse_body(r#"{"version": "1.0", "title": "Bazarr notification", "message": "Dune (2021) : German subtitles downloaded from opensubtitlescom with a score of 95.83%.", "attachments": [], "type": "info"}"#).unwrap();
        assert_eq!(bazarr.event, EventKind::Other);
        assert_eq!(bazarr.source.event, "info");
        let n = bazarr.data.notification.as_ref().unwrap();
        assert_eq!(n.title.as_deref(), Some("Bazarr notification"));
        assert_eq!(n.kind.as_deref(), Some("info"));
        assert_eq!(
            bazarr.summary,
            "Bazarr notification: Dune (2021) : German subtitles downloaded from opensubtitlescom with a score of 95.83%."
        );
        let abs = parse_body(r#"{"urls": ["discord://1/secret"], "title": "New Darknet Diaries Episode!", "body": "Episode 150 is out\nListen now"}"#).unwrap();
        assert_eq!(
            abs.summary,
            "New Darknet Diaries Episode!: Episode 150 is out"
        );
        assert_eq!(
            abs.data.notification.as_ref().unwrap().body.as_deref(),
            Some("Episode 150 is out\nListen now")
        );
        let json = serde_json::to_string(&abs).unwrap();
        assert!(
            !json.contains("secret"),
            "the sender's Apprise URLs stay out: {json}"
        );
    }

    #[test]
    fn test_buttons_are_tests_and_an_empty_notification_is_refused() {
        for body in [
            r#"{"version": "1.0", "title": "Bazarr test notification", "message": "Test notification", "attachments": [], "type": "info"}"#,
            r#"{"urls": [], "title": "Test Notification on Abs 2.36.0", "body": "Test notification body"}"#,
        ] {
            assert_eq!(parse_body(body).unwrap().event, EventKind::Test, "{body}");
        }
        assert!(matches!(
            parse_body(r#"{"version": "1.0", "title": "", "message": "  ", "type": "info"}"#),
            Err(InboundError::MissingField(_))
        ));
        // Renamed keys and a non-string value still read.
        let odd = parse_body(r#"{"subject": "Backup done", "text": 42}"#).unwrap();
        assert_eq!(odd.summary, "Backup done: 42");
    }
}
