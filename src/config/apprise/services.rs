//! Each service's short form read into the keys of its long form: Telegram's `tgram://`, ntfy's, Gotify's,
//! Pushover's `pover://`, Matrix's, e-mail's `mailto://`, and Discord's and Slack's own webhook URLs.

use super::{as_http, base, decode, param, secure, split, yes};
use serde_json::{Map, Value, json};
use url::Url;

/// `tgram://{bot_token}/{chat_id}[:topic]?silent=yes&topic=N`. The token holds a `:`, so the URL is split by
/// hand.
pub(super) fn telegram(url: &str) -> Result<Map<String, Value>, String> {
    let (rest, pairs) = split(url);
    let mut parts = rest.split('/').filter(|p| !p.is_empty());
    let token = parts.next().map(decode).unwrap_or_default();
    let token = token.strip_prefix("bot").unwrap_or(&token).to_owned();
    if !token.contains(':') {
        return Err("a Telegram URL looks like tgram://123456789:AAbbCC…/-1001234567890 (the bot token from @BotFather, then the chat id)".into());
    }
    let chats: Vec<String> = parts.map(decode).collect();
    let [chat] = chats.as_slice() else {
        return Err(if chats.is_empty() {
            "name the chat after the token: tgram://TOKEN/CHAT_ID (hookarr does not guess it from the bot's updates)".into()
        } else {
            "one chat per destination: write one destination for each chat".into()
        });
    };
    let mut out = Map::new();
    out.insert("token".into(), json!(token));
    let (chat, topic) = match chat.rsplit_once(':') {
        Some((c, t)) if t.parse::<i64>().is_ok() => (c.to_owned(), Some(t.to_owned())),
        _ => (chat.clone(), None),
    };
    let chat = if chat.parse::<i64>().is_ok() || chat.starts_with('@') {
        chat
    } else {
        format!("@{chat}")
    };
    out.insert("chat_id".into(), json!(chat));
    if let Some(topic) = topic.as_deref().or(param(&pairs, &["topic", "thread"])) {
        let n: i64 = topic
            .parse()
            .map_err(|_| format!("topic `{topic}` is not a number"))?;
        out.insert("thread_id".into(), json!(n));
    }
    if yes(param(&pairs, &["silent"])) {
        out.insert("silent".into(), json!(true));
    }
    Ok(out)
}

/// `ntfy[s]://[user:pass@|token@]host[:port]/topic`, or `ntfys://topic` on ntfy.sh; `?priority=`, `?tags=`
/// (or `xtags`), `?token=`.
pub(super) fn ntfy(url: &str) -> Result<Map<String, Value>, String> {
    let secure = secure(url);
    let u = as_http(url, secure)?;
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned()))
        .collect();
    let topics: Vec<String> = u
        .path_segments()
        .map(|s| s.filter(|p| !p.is_empty()).map(decode).collect())
        .unwrap_or_default();
    let mut out = Map::new();
    let topic = match topics.as_slice() {
        // Only a host: on ntfy.sh, that "host" is the topic.
        [] => {
            out.insert("server".into(), json!("https://ntfy.sh"));
            u.host_str().unwrap_or("").to_owned()
        }
        [topic] => {
            out.insert("server".into(), json!(base(&u)));
            topic.clone()
        }
        _ => return Err("one topic per destination: write one destination for each topic".into()),
    };
    if topic.is_empty() {
        return Err("a ntfy URL looks like ntfys://ntfy.example.org/my-topic".into());
    }
    out.insert("topic".into(), json!(topic));
    let user = decode(u.username());
    let password = u.password().map(decode);
    match (user.as_str(), password) {
        ("", _) => {}
        (token, None) => {
            out.insert("token".into(), json!(token));
        }
        (user, Some(password)) => {
            out.insert("username".into(), json!(user));
            out.insert("password".into(), json!(password));
        }
    }
    if let Some(token) = param(&pairs, &["token"]) {
        out.insert("token".into(), json!(token));
    }
    if let Some(p) = param(&pairs, &["priority"]) {
        out.insert("priority".into(), number_or_text(p));
    }
    if let Some(tags) = param(&pairs, &["xtags", "tags"]) {
        let tags: Vec<&str> = tags
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .collect();
        out.insert("tags".into(), json!(tags));
    }
    Ok(out)
}

/// A query value as a number when it is one (`8`, `60`), else as text (`high`).
pub(super) fn number_or_text(p: &str) -> Value {
    p.parse::<i64>().map_or_else(|_| json!(p), |n| json!(n))
}

/// `gotify[s]://host[:port][/path]/{app_token}?priority=N`: the last path segment is the token.
pub(super) fn gotify(url: &str) -> Result<Map<String, Value>, String> {
    let u = as_http(url, secure(url))?;
    let mut segments: Vec<String> = u
        .path_segments()
        .map(|s| s.filter(|p| !p.is_empty()).map(decode).collect())
        .unwrap_or_default();
    let Some(token) = segments.pop() else {
        return Err("a Gotify URL looks like gotifys://gotify.example.org/APP_TOKEN".into());
    };
    let mut server = base(&u);
    for s in &segments {
        server.push('/');
        server.push_str(s);
    }
    let mut out = Map::new();
    out.insert("server".into(), json!(server));
    out.insert("token".into(), json!(token));
    if let Some((_, p)) = u.query_pairs().find(|(k, _)| k == "priority") {
        out.insert("priority".into(), number_or_text(&p));
    }
    Ok(out)
}

/// `pover://{user_key}@{app_token}[/device…]?priority=&sound=&expire=&interval=` (`interval` is Pushover's
/// emergency `retry`; Apprise's own `retry` is its resend count and is not read).
pub(super) fn pushover(url: &str) -> Result<Map<String, Value>, String> {
    let (rest, pairs) = split(url);
    let (user, rest) = rest.split_once('@').ok_or(
        "a Pushover URL looks like pover://USER_KEY@APP_TOKEN (your user key, then the application's token)",
    )?;
    let mut parts = rest.split('/').filter(|p| !p.is_empty());
    let token = parts.next().map(decode).unwrap_or_default();
    if user.is_empty() || token.is_empty() {
        return Err("a Pushover URL looks like pover://USER_KEY@APP_TOKEN".into());
    }
    let devices: Vec<String> = parts.map(decode).collect();
    if devices.iter().any(|d| d.starts_with('#')) {
        return Err("group keys go in the user part: pover://GROUP_KEY@APP_TOKEN".into());
    }
    let mut out = Map::new();
    out.insert("user_key".into(), json!(decode(user)));
    out.insert("token".into(), json!(token));
    if !devices.is_empty() {
        out.insert("devices".into(), json!(devices));
    }
    if let Some(p) = param(&pairs, &["priority"]) {
        out.insert("priority".into(), number_or_text(p));
    }
    if let Some(s) = param(&pairs, &["sound"]) {
        out.insert("sound".into(), json!(s));
    }
    let emergency = out
        .get("priority")
        .is_some_and(|p| p == &json!(2) || p == &json!("emergency"));
    if emergency {
        let retry = param(&pairs, &["interval", "retry"]).unwrap_or("900");
        let expire = param(&pairs, &["expire"]).unwrap_or("3600");
        out.insert(
            "emergency".into(),
            json!({"retry": number_or_text(retry), "expire": number_or_text(expire)}),
        );
    }
    Ok(out)
}

/// `matrix[s]://{access_token}@host[:port]/{#alias:server | !room:server}`; a user and password (Apprise's
/// log-in mode) is refused: hookarr takes an access token.
pub(super) fn matrix(url: &str) -> Result<Map<String, Value>, String> {
    // `#alias` would be read as a fragment: encode it first.
    let (rest, pairs) = split(url);
    let scheme = if secure(url) { "https" } else { "http" };
    let (auth, rest) = rest.rsplit_once('@').ok_or(
        "a Matrix URL looks like matrixs://ACCESS_TOKEN@matrix.example.org/!room:example.org",
    )?;
    if auth.contains(':') {
        return Err("hookarr logs in with an access token, not a password: matrixs://ACCESS_TOKEN@host/!room:host".into());
    }
    let (host, room) = rest.split_once('/').unwrap_or((rest, ""));
    let room = decode(room.trim_matches('/'));
    let token = param(&pairs, &["token"])
        .map(str::to_owned)
        .unwrap_or_else(|| decode(auth));
    if room.is_empty() || room.contains('/') || !(room.starts_with('!') || room.starts_with('#')) {
        return Err(
            "name one room after the host: !roomid:server or #alias:server (as %23alias:server)"
                .into(),
        );
    }
    let server = Url::parse(&format!("{scheme}://{host}"))
        .map_err(|e| format!("cannot read the host `{host}`: {e}"))?;
    let mut out = Map::new();
    out.insert("server".into(), json!(base(&server)));
    out.insert("token".into(), json!(token));
    out.insert("room".into(), json!(room));
    Ok(out)
}

/// `mailto[s]://[user[:password]@]host[:port][/to…]?to=&from=&smtp=&mode=starttls|ssl|insecure`. Unlike
/// Apprise, `mailto://` is secured with STARTTLS too: plain SMTP needs `mode=insecure`.
pub(super) fn email(url: &str) -> Result<Map<String, Value>, String> {
    let u = as_http(url, false)?;
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned()))
        .collect();
    let host = u.host_str().unwrap_or("").to_owned();
    let user = decode(u.username());
    let mode = param(&pairs, &["mode"])
        .unwrap_or("starttls")
        .to_ascii_lowercase();
    let (tls, scheme, default_port) = match mode.as_str() {
        "starttls" => ("starttls", "smtp", 587),
        "ssl" | "implicit" => ("implicit", "smtps", 465),
        "insecure" => ("none", "smtp", 25),
        other => {
            return Err(format!(
                "mode `{other}` is not one of starttls, ssl, insecure"
            ));
        }
    };
    let smtp_host = param(&pairs, &["smtp"]).unwrap_or(&host).to_owned();
    let port = param(&pairs, &["port"])
        .and_then(|p| p.parse::<u16>().ok())
        .or(u.port())
        .unwrap_or(default_port);
    if smtp_host.is_empty() {
        return Err(
            "a mail URL looks like mailtos://user:password@smtp.example.org?to=me@example.org"
                .into(),
        );
    }
    let mut to: Vec<String> = u
        .path_segments()
        .map(|s| s.filter(|p| !p.is_empty()).map(decode).collect())
        .unwrap_or_default();
    if let Some(more) = param(&pairs, &["to"]) {
        to.extend(
            more.split([',', ' '])
                .filter(|a| !a.is_empty())
                .map(str::to_owned),
        );
    }
    let from = param(&pairs, &["from"])
        .map(str::to_owned)
        .or_else(|| (!user.is_empty()).then(|| format!("{user}@{host}")))
        .filter(|f| f.contains('@'))
        .ok_or("name the sender with ?from=hookarr@example.org")?;
    if to.is_empty() {
        to.push(from.clone());
    }
    let mut out = Map::new();
    out.insert(
        "server".into(),
        json!(format!("{scheme}://{smtp_host}:{port}")),
    );
    out.insert("tls".into(), json!(tls));
    out.insert("from".into(), json!(from));
    out.insert("to".into(), json!(to));
    if !user.is_empty() {
        out.insert("username".into(), json!(user));
    }
    if let Some(password) = param(&pairs, &["pass", "password"])
        .map(str::to_owned)
        .or_else(|| u.password().map(decode))
    {
        out.insert("password".into(), json!(password));
    }
    Ok(out)
}

/// `discord://[botname@]{webhook_id}/{webhook_token}` → `https://discord.com/api/webhooks/{id}/{token}` (or
/// under `server`).
pub(super) fn discord(url: &str, server: Option<&Value>) -> Result<Map<String, Value>, String> {
    let (rest, _) = split(url);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
    let [id, token] = parts.as_slice() else {
        return Err("a Discord URL looks like discord://WEBHOOK_ID/WEBHOOK_TOKEN".into());
    };
    let base = server
        .and_then(Value::as_str)
        .unwrap_or("https://discord.com");
    let mut out = Map::new();
    out.insert(
        "url".into(),
        json!(format!(
            "{}/api/webhooks/{id}/{token}",
            base.trim_end_matches('/')
        )),
    );
    Ok(out)
}

/// `slack://[botname@]{T…}/{B…}/{secret}` → `https://hooks.slack.com/services/T…/B…/secret` (or under
/// `server`). Slack's bot-token mode (`xoxb-…`) is not a webhook and is refused.
pub(super) fn slack(url: &str, server: Option<&Value>) -> Result<Map<String, Value>, String> {
    let (rest, _) = split(url);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
    let [a, b, c] = parts.as_slice() else {
        return Err(if rest.starts_with("xox") {
            "a bot token (xoxb-…) is not an incoming webhook; use slack://T…/B…/… from the webhook's URL".into()
        } else {
            "a Slack URL looks like slack://T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX".into()
        });
    };
    let base = server
        .and_then(Value::as_str)
        .unwrap_or("https://hooks.slack.com");
    let mut out = Map::new();
    out.insert(
        "url".into(),
        json!(format!(
            "{}/services/{a}/{b}/{c}",
            base.trim_end_matches('/')
        )),
    );
    Ok(out)
}
