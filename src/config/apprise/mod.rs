//! Apprise-style short forms of destinations (CONTRACT §6): `{name, url: tgram://TOKEN/CHAT}` — the scheme
//! says the type — becomes the long form (`type: telegram, token: …, chat_id: …`) before the config is read,
//! so both are one destination to everything after. The forms and parameters are Apprise's, where hookarr
//! has the same setting (`docs/targets.md`).

mod services;

use serde_json::{Map, Value};
use services::{discord, email, gotify, matrix, ntfy, pushover, slack, telegram};
use url::Url;

/// The schemes that are short forms, and the type each gives.
const SCHEMES: [(&str, &str); 12] = [
    ("tgram", "telegram"),
    ("ntfy", "ntfy"),
    ("ntfys", "ntfy"),
    ("gotify", "gotify"),
    ("gotifys", "gotify"),
    ("pover", "pushover"),
    ("matrix", "matrix"),
    ("matrixs", "matrix"),
    ("mailto", "email"),
    ("mailtos", "email"),
    ("discord", "discord"),
    ("slack", "slack"),
];

/// The type a short-form URL gives, when it is one.
pub fn short_form_type(url: &str) -> Option<&'static str> {
    let scheme = url.split_once("://")?.0.to_ascii_lowercase();
    SCHEMES
        .iter()
        .find(|(s, _)| *s == scheme)
        .map(|(_, kind)| *kind)
}

/// Expands a destination written with a short-form `url` in place: `Ok(true)` when it was one. The
/// destination's own keys win over what the URL says (a `server:` beside a `discord://` URL moves the
/// webhook to that host, for a proxy or a test receiver). The error is about `url`.
pub fn expand(destination: &mut Map<String, Value>) -> Result<bool, String> {
    let Some(Value::String(url)) = destination.get("url") else {
        return Ok(false);
    };
    let Some(kind) = short_form_type(url) else {
        return Ok(false);
    };
    if let Some(Value::String(given)) = destination.get("type")
        && given != kind
    {
        return Err(format!(
            "this URL is a {kind} destination, but `type` says {given}; remove `type` (the scheme says it)"
        ));
    }
    let url = url.clone();
    let keys = match kind {
        "telegram" => telegram(&url)?,
        "ntfy" => ntfy(&url)?,
        "gotify" => gotify(&url)?,
        "pushover" => pushover(&url)?,
        "matrix" => matrix(&url)?,
        "email" => email(&url)?,
        "discord" => discord(&url, destination.get("server"))?,
        _ => slack(&url, destination.get("server"))?,
    };
    destination.remove("url");
    if matches!(kind, "discord" | "slack") {
        destination.remove("server");
    }
    destination.insert("type".into(), Value::String(kind.into()));
    for (key, value) in keys {
        destination.entry(key).or_insert(value);
    }
    Ok(true)
}

/// What follows `scheme://`, split at `?`: the part before, and the query's pairs.
pub(super) fn split(url: &str) -> (&str, Vec<(String, String)>) {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let pairs = url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned()))
        .collect();
    (rest, pairs)
}

pub(super) fn param<'p>(pairs: &'p [(String, String)], names: &[&str]) -> Option<&'p str> {
    names
        .iter()
        .find_map(|n| pairs.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str()))
}

pub(super) fn yes(v: Option<&str>) -> bool {
    v.is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "yes" | "true" | "1" | "on"))
}

/// Percent-decoded (a `+` stays a `+`).
pub(super) fn decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// A URL parsed with the `http` scheme in place of its own (the `url` crate knows hosts only for special
/// schemes).
pub(super) fn as_http(url: &str, secure: bool) -> Result<Url, String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let scheme = if secure { "https" } else { "http" };
    Url::parse(&format!("{scheme}://{rest}")).map_err(|e| format!("cannot read this URL: {e}"))
}

pub(super) fn secure(url: &str) -> bool {
    url.split_once("://")
        .is_some_and(|(s, _)| s.to_ascii_lowercase().ends_with('s'))
}

/// The base URL of a parsed URL: scheme, host and port.
pub(super) fn base(u: &Url) -> String {
    let host = u.host_str().unwrap_or("");
    match u.port() {
        Some(p) => format!("{}://{host}:{p}", u.scheme()),
        None => format!("{}://{host}", u.scheme()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn long(url: &str) -> Value {
        let mut d = json!({"name": "x", "url": url});
        let map = d.as_object_mut().unwrap();
        assert!(expand(map).unwrap(), "{url} is a short form");
        map.remove("name");
        d
    }

    fn refused(url: &str) -> String {
        let mut d = json!({"name": "x", "url": url});
        expand(d.as_object_mut().unwrap()).unwrap_err()
    }

    #[test]
    fn telegram_urls_expand_with_token_chat_and_topic() {
        assert_eq!(
            long("tgram://123456789:AAbb-CC_dd/-1001234567890:42?silent=yes"),
            json!({"type": "telegram", "token": "123456789:AAbb-CC_dd", "chat_id": "-1001234567890", "thread_id": 42, "silent": true})
        );
        assert_eq!(
            long("tgram://bot123:abc/mychannel")["chat_id"],
            json!("@mychannel")
        );
        assert!(refused("tgram://123:abc").contains("name the chat"));
        assert!(refused("tgram://123:abc/1/2").contains("one chat per destination"));
        assert!(refused("tgram://nocolon/1").contains("bot token"));
    }

    #[test]
    fn ntfy_urls_expand_for_cloud_self_hosted_and_auth() {
        assert_eq!(
            long("ntfys://my-topic"),
            json!({"type": "ntfy", "server": "https://ntfy.sh", "topic": "my-topic"})
        );
        assert_eq!(
            long("ntfy://alice:s3cret@ntfy.lan:8080/media?priority=high&tags=tv,movie"),
            json!({"type": "ntfy", "server": "http://ntfy.lan:8080", "topic": "media", "username": "alice", "password": "s3cret", "priority": "high", "tags": ["tv", "movie"]})
        );
        assert_eq!(
            long("ntfys://tk_abc@ntfy.example.org/media")["token"],
            json!("tk_abc")
        );
    }

    #[test]
    fn gotify_pushover_and_matrix_urls_expand() {
        assert_eq!(
            long("gotifys://push.example.org/sub/AbCdEf?priority=8"),
            json!({"type": "gotify", "server": "https://push.example.org/sub", "token": "AbCdEf", "priority": 8})
        );
        assert_eq!(
            long(
                "pover://uQiRzpo4DXghDmr9QzzfQu27cmVRsG@azGDORePK8gMaC0QOYAMyEEuzJnyUi/phone?priority=2&sound=siren&interval=60&expire=600"
            ),
            json!({"type": "pushover", "user_key": "uQiRzpo4DXghDmr9QzzfQu27cmVRsG", "token": "azGDORePK8gMaC0QOYAMyEEuzJnyUi", "devices": ["phone"], "priority": 2, "sound": "siren", "emergency": {"retry": 60, "expire": 600}})
        );
        assert_eq!(
            long("matrixs://syt_token@matrix.example.org/%23media:example.org"),
            json!({"type": "matrix", "server": "https://matrix.example.org", "token": "syt_token", "room": "#media:example.org"})
        );
        assert_eq!(
            long("matrix://tok@127.0.0.1:8008/!abc:localhost")["server"],
            json!("http://127.0.0.1:8008")
        );
        assert!(refused("matrixs://bot:password@matrix.org/!a:b").contains("access token"));
    }

    #[test]
    fn mail_urls_expand_secure_unless_told_otherwise() {
        assert_eq!(
            long("mailtos://alerts:pw@smtp.example.org?to=me@example.org,you@example.org"),
            json!({"type": "email", "server": "smtp://smtp.example.org:587", "tls": "starttls", "from": "alerts@smtp.example.org", "to": ["me@example.org", "you@example.org"], "username": "alerts", "password": "pw"})
        );
        assert_eq!(
            long(
                "mailto://127.0.0.1:2525?from=hookarr@example.org&to=me@example.org&mode=insecure"
            ),
            json!({"type": "email", "server": "smtp://127.0.0.1:2525", "tls": "none", "from": "hookarr@example.org", "to": ["me@example.org"]})
        );
        assert_eq!(
            long("mailto://u:p@mail.example.org?mode=ssl&from=a@example.org")["server"],
            json!("smtps://mail.example.org:465")
        );
    }

    #[test]
    fn discord_and_slack_urls_become_their_webhook_urls_under_server() {
        assert_eq!(
            long("discord://hookarr@123456/tok-en"),
            json!({"type": "discord", "url": "https://discord.com/api/webhooks/123456/tok-en"})
        );
        let mut d =
            json!({"name": "x", "url": "discord://1/t", "server": "http://127.0.0.1:9000/"});
        expand(d.as_object_mut().unwrap()).unwrap();
        assert_eq!(d["url"], "http://127.0.0.1:9000/api/webhooks/1/t");
        assert!(d.get("server").is_none());
        assert_eq!(
            long("slack://T1/B2/abc")["url"],
            "https://hooks.slack.com/services/T1/B2/abc"
        );
        assert!(refused("slack://xoxb-123").contains("bot token"));
    }

    #[test]
    fn own_keys_win_and_a_contradicting_type_is_refused() {
        let mut d = json!({"name": "x", "url": "ntfys://t", "priority": 5});
        expand(d.as_object_mut().unwrap()).unwrap();
        assert_eq!(d["priority"], 5);
        let mut d = json!({"name": "x", "type": "slack", "url": "tgram://1:a/2"});
        assert!(
            expand(d.as_object_mut().unwrap())
                .unwrap_err()
                .contains("type")
        );
        let mut d = json!({"name": "x", "url": "https://discord.com/api/webhooks/1/t"});
        assert!(!expand(d.as_object_mut().unwrap()).unwrap());
    }
}
