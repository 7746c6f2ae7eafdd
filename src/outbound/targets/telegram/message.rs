//! A Telegram message as the Bot API takes it: `sendPhoto` with the text as caption when it fits, else
//! `sendMessage` with the poster as the link preview, and HTML text cut to the API's limits with no tag left
//! open.

use super::Target;
use crate::outbound::templates::truncate_chars;
use serde_json::{Map, Value, json};

/// A message's text: 1–4096 characters after entities are parsed.
pub(super) const TEXT_LIMIT: usize = 4096;
/// A photo's caption: 0–1024 characters.
pub(super) const CAPTION_LIMIT: usize = 1024;

/// The method and body of the payload: `sendPhoto` when it has a photo and its text fits a caption.
pub(super) fn api_call(
    target: &Target,
    mut payload: Map<String, Value>,
) -> (&'static str, Map<String, Value>) {
    let text = payload
        .remove("text")
        .unwrap_or(Value::String(String::new()));
    let photo = payload.remove("photo");
    let mut body = Map::new();
    let chat = target.service.chat_id.clone().unwrap_or_default();
    body.insert(
        "chat_id".into(),
        chat.parse::<i64>().map_or(json!(chat), |n| json!(n)),
    );
    if let Some(thread) = target.service.thread_id {
        body.insert("message_thread_id".into(), json!(thread));
    }
    if target.service.silent {
        body.insert("disable_notification".into(), json!(true));
    }
    // A template may choose its parse mode; `null` (the plain fallback) sends none.
    match payload.remove("parse_mode") {
        Some(Value::Null) => {}
        Some(mode) => {
            body.insert("parse_mode".into(), mode);
        }
        None => {
            body.insert("parse_mode".into(), json!("HTML"));
        }
    }
    let fits_caption = text
        .as_str()
        .is_some_and(|t| t.chars().count() <= CAPTION_LIMIT);
    let method = match photo {
        Some(photo) if fits_caption => {
            body.insert("photo".into(), photo);
            body.insert("caption".into(), text);
            "sendPhoto"
        }
        Some(photo) => {
            body.insert("text".into(), text);
            body.insert(
                "link_preview_options".into(),
                json!({"url": photo, "prefer_large_media": true, "show_above_text": true}),
            );
            "sendMessage"
        }
        None => {
            body.insert("text".into(), text);
            body.insert("link_preview_options".into(), json!({"is_disabled": true}));
            "sendMessage"
        }
    };
    // What else the template set (reply_markup, protect_content…) goes as it is.
    for (k, v) in payload {
        body.entry(k).or_insert(v);
    }
    (method, body)
}

/// HTML text cut to `limit` characters at a line end when there is one in the last quarter, with any tag
/// left open by the cut closed (an unbalanced tag is a 400 "can't parse entities").
pub(super) fn cut_html(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_owned();
    }
    let room = limit.saturating_sub(16);
    let mut cut = truncate_chars(text, room);
    if let Some(nl) = cut.rfind('\n')
        && nl > cut.len() * 3 / 4
    {
        cut.truncate(nl);
        cut.push('…');
    }
    // An entity or tag cut in half goes.
    if let Some(amp) = cut.rfind('&')
        && !cut[amp..].contains(';')
    {
        cut.truncate(amp);
    }
    if let Some(lt) = cut.rfind('<')
        && !cut[lt..].contains('>')
    {
        cut.truncate(lt);
    }
    let mut open: Vec<String> = Vec::new();
    let mut rest = cut.as_str();
    while let Some(at) = rest.find('<') {
        let end = rest[at..].find('>').map_or(rest.len(), |e| at + e);
        let tag = &rest[at + 1..end];
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        if tag.starts_with('/') {
            if let Some(pos) = open.iter().rposition(|t| *t == name) {
                open.truncate(pos);
            }
        } else if !name.is_empty() {
            open.push(name);
        }
        rest = &rest[(end + 1).min(rest.len())..];
    }
    for tag in open.iter().rev() {
        cut.push_str(&format!("</{tag}>"));
    }
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_closes_the_tags_it_leaves_open_and_drops_half_entities() {
        let text = format!(
            "<b>{}</b>\n<i>{}</i>",
            "a".repeat(10),
            "b &amp; ".repeat(1000)
        );
        let cut = cut_html(&text, 1024);
        assert!(cut.chars().count() <= 1024, "{}", cut.chars().count());
        assert!(cut.ends_with("</i>"), "{cut}");
        assert!(!cut.contains("&am<"));
        assert_eq!(cut_html("<b>short</b>", 1024), "<b>short</b>");
    }

    #[test]
    fn a_photo_goes_with_its_caption_and_a_long_text_takes_the_poster_as_preview() {
        let mut target = Target::preview(crate::config::DestinationType::Telegram);
        target.url = "http://127.0.0.1:9/".into();
        target.token = Some("1:x".into());
        target.service.chat_id = Some("-100".into());
        target.service.thread_id = Some(7);
        let payload = json!({"text": "<b>Dune</b>", "photo": "https://img/p.jpg"});
        let (method, body) = api_call(&target, payload.as_object().unwrap().clone());
        assert_eq!(method, "sendPhoto");
        assert_eq!(
            Value::Object(body),
            json!({"chat_id": -100, "message_thread_id": 7, "parse_mode": "HTML", "photo": "https://img/p.jpg", "caption": "<b>Dune</b>"})
        );
        let long = json!({"text": "x".repeat(2000), "photo": "https://img/p.jpg"});
        let (method, body) = api_call(&target, long.as_object().unwrap().clone());
        assert_eq!(method, "sendMessage");
        assert_eq!(body["link_preview_options"]["url"], "https://img/p.jpg");
    }
}
