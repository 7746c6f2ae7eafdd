//! Loopback stand-ins for the services hookarr sends to, each holding a request to what the service's own
//! API documentation asks (`docs/targets.md`): its path and method, its auth header or token, its required
//! fields and limits, and the answers it really gives when something is wrong. A request it would refuse is
//! answered as the service answers, and kept with that answer.

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

/// Which service a fake plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Discord,
    Slack,
    HomeAssistant,
    Webhook,
    Telegram,
    Ntfy,
    Gotify,
    Pushover,
    Matrix,
}

/// The credentials the fakes expect (and the destinations are given).
pub const TELEGRAM_TOKEN: &str = "123456789:AAbbCCddEEffGGhhIIjjKKllMMnnOOppQQr";
pub const TELEGRAM_CHAT: i64 = -1001234567890;
/// The chat id the group has after it became a supergroup.
pub const TELEGRAM_SUPERGROUP: i64 = -1009876543210;
pub const NTFY_TOKEN: &str = "tk_0123456789abcdefghijklmnopqrs";
pub const GOTIFY_TOKEN: &str = "AbCdEfGhIjKlMnO";
pub const PUSHOVER_TOKEN: &str = "azGDORePK8gMaC0QOYAMyEEuzJnyUi";
pub const PUSHOVER_USER: &str = "uQiRzpo4DXghDmr9QzzfQu27cmVRsG";
pub const MATRIX_TOKEN: &str = "syt_aG9va2Fycg_abcdefghijklmnopqrst_0AbCdE";
pub const MATRIX_ROOM: &str = "!media:example.org";
pub const MATRIX_ALIAS: &str = "#media:example.org";

/// One request the fake got, with how it answered.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
    /// The body as JSON (a form body as an object of its fields).
    pub body: Value,
    pub status: u16,
}

#[derive(Default)]
struct FakeState {
    seen: Mutex<Vec<Seen>>,
    /// The credential was revoked: every request gets the service's "unauthorized".
    revoked: AtomicBool,
    /// The next formatted message is refused with the service's 400 (a bad embed, entities it cannot parse).
    refuse_rich: AtomicBool,
    /// The next message is taken, but its answer is lost on the way back (a proxy's 502).
    lose_answer: AtomicBool,
    next_message: AtomicI64,
    /// Telegram: the group became a supergroup (its old chat id answers with the new one).
    migrated: AtomicBool,
    /// Matrix joins asked for.
    joins: AtomicI64,
    /// Telegram messages by id (for edits); Matrix transactions by id (a retransmission posts nothing new).
    messages: Mutex<HashMap<String, Value>>,
}

/// A running fake.
pub struct Fake {
    pub base: String,
    state: Arc<FakeState>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Fake {
    pub async fn start(service: Service) -> Fake {
        let state = Arc::new(FakeState {
            next_message: AtomicI64::new(1),
            ..Default::default()
        });
        let app = Router::new()
            .fallback(handle)
            .with_state((service, state.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Fake { base, state, task }
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }

    /// The requests it accepted (2xx).
    pub fn accepted(&self) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| (200..300).contains(&s.status))
            .collect()
    }

    /// The messages it holds now: Telegram's by id (an edit changes one), Matrix's by transaction id (a
    /// retransmission adds none).
    pub fn messages(&self) -> Vec<Value> {
        self.state
            .messages
            .lock()
            .unwrap()
            .values()
            .cloned()
            .collect()
    }

    /// Telegram: the group becomes a supergroup with a new chat id.
    pub fn migrate_group(&self) {
        self.state.migrated.store(true, Ordering::SeqCst);
    }

    /// How many joins a Matrix fake was asked for.
    pub fn joins(&self) -> i64 {
        self.state.joins.load(Ordering::SeqCst)
    }

    /// Revokes (or restores) the credential.
    pub fn revoke(&self, revoked: bool) {
        self.state.revoked.store(revoked, Ordering::SeqCst);
    }

    /// Refuses the next formatted message as the service refuses a payload it cannot read.
    pub fn refuse_next_rich(&self) {
        self.state.refuse_rich.store(true, Ordering::SeqCst);
    }

    /// Takes the next message but answers 502, as a proxy whose upstream answered too late.
    pub fn lose_next_answer(&self) {
        self.state.lose_answer.store(true, Ordering::SeqCst);
    }
}

type Answer = (u16, Value);

async fn handle(
    State((service, state)): State<(Service, Arc<FakeState>)>,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let headers: HashMap<String, String> = parts
        .headers
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let is_form = headers
        .get("content-type")
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    let body: Value = if is_form {
        Value::Object(
            url::form_urlencoded::parse(&bytes)
                .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
                .collect(),
        )
    } else {
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    };
    let path = parts.uri.path().to_owned();
    let method = parts.method.as_str().to_owned();
    let (status, answer) = answer(service, &state, &method, &path, &headers, &body);
    state.seen.lock().unwrap().push(Seen {
        method,
        path,
        headers,
        body,
        status,
    });
    let mut response = (StatusCode::from_u16(status).unwrap(), answer.to_string()).into_response();
    if service == Service::Pushover {
        let h = response.headers_mut();
        h.insert("x-limit-app-limit", "10000".parse().unwrap());
        h.insert("x-limit-app-remaining", "9000".parse().unwrap());
        h.insert("x-limit-app-reset", "1893456000".parse().unwrap());
    }
    response
}

fn answer(
    service: Service,
    state: &FakeState,
    method: &str,
    path: &str,
    headers: &HashMap<String, String>,
    body: &Value,
) -> Answer {
    let revoked = state.revoked.load(Ordering::SeqCst);
    let refuse = |rich: bool| rich && state.refuse_rich.swap(false, Ordering::SeqCst);
    let header = |n: &str| headers.get(n).map(String::as_str).unwrap_or("");
    match service {
        Service::Discord => {
            if revoked {
                return (
                    401,
                    json!({"message": "Invalid Webhook Token", "code": 50027}),
                );
            }
            if refuse(body.get("embeds").is_some()) {
                return (400, json!({"message": "Invalid Form Body", "code": 50035}));
            }
            let id = state.next_message.fetch_add(1, Ordering::SeqCst);
            (200, json!({"id": id.to_string(), "type": 0}))
        }
        Service::Slack => {
            if revoked {
                return (404, json!("no_service"));
            }
            if refuse(body.get("blocks").is_some()) {
                return (400, json!("invalid_blocks"));
            }
            (200, json!("ok"))
        }
        Service::HomeAssistant | Service::Webhook => {
            if revoked {
                return (410, json!({"message": "gone"}));
            }
            (200, json!({}))
        }
        Service::Telegram => telegram(state, revoked, &refuse, path, body),
        Service::Ntfy => {
            if revoked || header("authorization") != format!("Bearer {NTFY_TOKEN}") {
                return (
                    401,
                    json!({"code": 40101, "http": 401, "error": "unauthorized", "link": "https://ntfy.sh/docs/publish/#authentication"}),
                );
            }
            ntfy(&refuse, method, path, body)
        }
        Service::Gotify => {
            if revoked || header("x-gotify-key") != GOTIFY_TOKEN {
                return (
                    401,
                    json!({"error": "Unauthorized", "errorCode": 401, "errorDescription": "you need to provide a valid access token or user credentials to access this api"}),
                );
            }
            if method != "POST" || path != "/message" {
                return (
                    404,
                    json!({"error": "Not Found", "errorCode": 404, "errorDescription": "page not found"}),
                );
            }
            if body["message"].as_str().is_none_or(str::is_empty) {
                return (
                    400,
                    json!({"error": "Bad Request", "errorCode": 400, "errorDescription": "Field 'message' is required"}),
                );
            }
            if refuse(body.get("extras").is_some()) {
                return (
                    400,
                    json!({"error": "Bad Request", "errorCode": 400, "errorDescription": "invalid extras"}),
                );
            }
            let id = state.next_message.fetch_add(1, Ordering::SeqCst);
            (
                200,
                json!({"id": id, "appid": 1, "message": body["message"], "title": body["title"], "priority": body.get("priority").cloned().unwrap_or(json!(5)), "date": "2026-11-30T12:00:00Z"}),
            )
        }
        Service::Pushover => pushover(revoked, &refuse, method, path, body),
        Service::Matrix => matrix(
            state,
            revoked,
            &refuse,
            method,
            path,
            header("authorization"),
            body,
        ),
    }
}

fn telegram(
    state: &FakeState,
    revoked: bool,
    refuse: &dyn Fn(bool) -> bool,
    path: &str,
    body: &Value,
) -> Answer {
    let bad = |d: &str| {
        (
            400,
            json!({"ok": false, "error_code": 400, "description": format!("Bad Request: {d}")}),
        )
    };
    let Some((token, method)) = path.strip_prefix("/bot").and_then(|p| p.rsplit_once('/')) else {
        return (
            404,
            json!({"ok": false, "error_code": 404, "description": "Not Found"}),
        );
    };
    if revoked || token != TELEGRAM_TOKEN {
        return (
            401,
            json!({"ok": false, "error_code": 401, "description": "Unauthorized"}),
        );
    }
    let migrated = state.migrated.load(Ordering::SeqCst);
    if migrated && body["chat_id"] == json!(TELEGRAM_CHAT) {
        return (
            400,
            json!({"ok": false, "error_code": 400, "description": "Bad Request: group chat was upgraded to a supergroup chat", "parameters": {"migrate_to_chat_id": TELEGRAM_SUPERGROUP}}),
        );
    }
    let chat = if migrated {
        TELEGRAM_SUPERGROUP
    } else {
        TELEGRAM_CHAT
    };
    if body["chat_id"] != json!(chat) {
        return bad("chat not found");
    }
    let html = body["parse_mode"] == "HTML";
    let (field, limit) = match method {
        "sendMessage" | "editMessageText" => ("text", 4096),
        "sendPhoto" | "editMessageCaption" => ("caption", 1024),
        _ => {
            return (
                404,
                json!({"ok": false, "error_code": 404, "description": "Not Found: method not found"}),
            );
        }
    };
    let raw = body[field].as_str().unwrap_or("");
    let text = if html {
        match parse_telegram_html(raw) {
            Ok(t) => t,
            Err(e) => return bad(&format!("can't parse entities: {e}")),
        }
    } else {
        raw.to_owned()
    };
    if refuse(html) {
        return bad("can't parse entities: Unsupported start tag \"blink\" at byte offset 0");
    }
    if text.trim().is_empty() && field == "text" {
        return bad("message text is empty");
    }
    if text.chars().count() > limit {
        return bad(if field == "text" {
            "message is too long"
        } else {
            "message caption is too long"
        });
    }
    if method == "sendPhoto" && body["photo"].as_str().is_none_or(str::is_empty) {
        return bad("there is no photo in the request");
    }
    let mut messages = state.messages.lock().unwrap();
    if method.starts_with("edit") {
        let id = body["message_id"].to_string();
        let Some(old) = messages.get(&id) else {
            return bad("message to edit not found");
        };
        let has_caption = old.get("caption").is_some();
        if has_caption != (field == "caption") {
            return bad(if has_caption {
                "there is no text in the message to edit"
            } else {
                "there is no caption in the message to edit"
            });
        }
        if old[field] == body[field] {
            return bad(
                "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
            );
        }
        let mut new = old.clone();
        new[field] = body[field].clone();
        messages.insert(id, new.clone());
        return (200, json!({"ok": true, "result": new}));
    }
    let id = state.next_message.fetch_add(1, Ordering::SeqCst);
    let message =
        json!({"message_id": id, "chat": {"id": chat, "type": "supergroup"}, field: body[field]});
    messages.insert(id.to_string(), message.clone());
    (200, json!({"ok": true, "result": message}))
}

/// The text a Telegram HTML message shows, or why Telegram would refuse it: only its tags, balanced, and
/// `&` only in `&lt;` `&gt;` `&amp;` `&quot;` or a numeric entity.
pub fn parse_telegram_html(s: &str) -> Result<String, String> {
    const TAGS: [&str; 14] = [
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-spoiler",
    ];
    let mut out = String::new();
    let mut open: Vec<String> = Vec::new();
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        match c {
            '<' => {
                let end = rest.find('>').ok_or("unclosed start tag")?;
                let tag = &rest[1..end];
                let closing = tag.starts_with('/');
                let name: String = tag
                    .trim_start_matches('/')
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect();
                if !TAGS.contains(&name.as_str()) {
                    return Err(format!("Unsupported start tag \"{name}\""));
                }
                if closing {
                    if open.pop().as_deref() != Some(name.as_str()) {
                        return Err(format!("Unexpected end tag \"{name}\""));
                    }
                } else {
                    open.push(name);
                }
                rest = &rest[end + 1..];
            }
            '&' => {
                let end = rest.find(';').ok_or("unclosed entity")?;
                let entity = &rest[1..end];
                let shown = match entity {
                    "lt" => "<",
                    "gt" => ">",
                    "amp" => "&",
                    "quot" => "\"",
                    e if e.starts_with('#') && e[1..].parse::<u32>().is_ok() => "?",
                    e => return Err(format!("Unsupported HTML entity \"&{e};\"")),
                };
                out.push_str(shown);
                rest = &rest[end + 1..];
            }
            '>' => return Err("unescaped >".into()),
            c => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    if let Some(tag) = open.pop() {
        return Err(format!(
            "Can't find end tag corresponding to start tag \"{tag}\""
        ));
    }
    Ok(out)
}

fn ntfy(refuse: &dyn Fn(bool) -> bool, method: &str, path: &str, body: &Value) -> Answer {
    let bad = |code: u32, e: &str| (400, json!({"code": code, "http": 400, "error": e}));
    if method != "POST" || path != "/" {
        return (
            404,
            json!({"code": 40401, "http": 404, "error": "page not found"}),
        );
    }
    let topic = body["topic"].as_str().unwrap_or("");
    let valid_topic = (1..=64).contains(&topic.len())
        && topic
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid_topic {
        return bad(40009, "invalid request: topic invalid");
    }
    if let Some(p) = body.get("priority")
        && !p.as_i64().is_some_and(|p| (1..=5).contains(&p))
    {
        return bad(40007, "invalid priority");
    }
    let message = body["message"].as_str().unwrap_or("");
    if message.len() > 4096 {
        return bad(40014, "invalid request: attachments not allowed");
    }
    if refuse(
        body.get("attach").is_some() || body.get("click").is_some() || body.get("tags").is_some(),
    ) {
        return bad(40013, "invalid request: attachment URL is invalid");
    }
    (
        200,
        json!({"id": "sPs71M8A2T", "time": 1764504000, "event": "message", "topic": topic, "message": message, "title": body["title"]}),
    )
}

fn pushover(
    revoked: bool,
    refuse: &dyn Fn(bool) -> bool,
    method: &str,
    path: &str,
    body: &Value,
) -> Answer {
    let invalid = |key: &str, e: &str| {
        (
            400,
            json!({key: "invalid", "errors": [e], "status": 0, "request": "5042853c-402d-4a18-abcb-168734a801de"}),
        )
    };
    if method != "POST" || path != "/1/messages.json" {
        return (404, json!({"status": 0, "errors": ["not found"]}));
    }
    if revoked || body["token"] != PUSHOVER_TOKEN {
        return invalid(
            "token",
            "application token is invalid, see https://pushover.net/api",
        );
    }
    if body["user"] != PUSHOVER_USER {
        return invalid(
            "user",
            "user identifier is not a valid user, group, or subscribed user key",
        );
    }
    let message = body["message"].as_str().unwrap_or("");
    if message.is_empty() {
        return invalid("message", "message cannot be blank");
    }
    if message.chars().count() > 1024 {
        return invalid("message", "message is too long");
    }
    if body["title"]
        .as_str()
        .is_some_and(|t| t.chars().count() > 250)
    {
        return invalid("title", "title is too long");
    }
    if body["priority"] == "2" {
        let n = |k: &str| body[k].as_str().and_then(|v| v.parse::<u64>().ok());
        if n("retry").is_none_or(|r| r < 30) || n("expire").is_none_or(|e| e > 10_800) {
            return invalid(
                "retry",
                "retry and expire are required for emergency priority",
            );
        }
    }
    if refuse(body["html"] == "1") {
        return invalid("message", "message contains invalid HTML");
    }
    (
        200,
        json!({"status": 1, "request": "647d2300-702c-4b38-8b2f-d56326ae460b"}),
    )
}

fn matrix(
    state: &FakeState,
    revoked: bool,
    refuse: &dyn Fn(bool) -> bool,
    method: &str,
    path: &str,
    authorization: &str,
    body: &Value,
) -> Answer {
    if revoked || authorization != format!("Bearer {MATRIX_TOKEN}") {
        return (
            401,
            json!({"errcode": "M_UNKNOWN_TOKEN", "error": "Invalid access token passed.", "soft_logout": false}),
        );
    }
    let segments: Vec<String> = path
        .split('/')
        .map(|s| {
            url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        })
        .collect();
    let parts: Vec<&str> = segments.iter().map(String::as_str).collect();
    if let ["", "_matrix", "client", "v3", "join", alias] = parts[..] {
        state.joins.fetch_add(1, Ordering::SeqCst);
        return match (method, alias) {
            ("POST", MATRIX_ALIAS) => (200, json!({"room_id": MATRIX_ROOM})),
            ("POST", _) => (
                404,
                json!({"errcode": "M_NOT_FOUND", "error": "Room alias not found"}),
            ),
            _ => (
                405,
                json!({"errcode": "M_UNRECOGNIZED", "error": "Unrecognized request"}),
            ),
        };
    }
    let [
        "",
        "_matrix",
        "client",
        "v3",
        "rooms",
        room,
        "send",
        "m.room.message",
        txn,
    ] = segments.iter().map(String::as_str).collect::<Vec<_>>()[..]
    else {
        return (
            404,
            json!({"errcode": "M_UNRECOGNIZED", "error": "Unrecognized request"}),
        );
    };
    if method != "PUT" {
        return (
            405,
            json!({"errcode": "M_UNRECOGNIZED", "error": "Unrecognized request"}),
        );
    }
    if room != MATRIX_ROOM {
        return (
            403,
            json!({"errcode": "M_FORBIDDEN", "error": format!("User @hookarr:example.org not in room {room}")}),
        );
    }
    if body["msgtype"].as_str().is_none() || body["body"].as_str().is_none_or(str::is_empty) {
        return (
            400,
            json!({"errcode": "M_BAD_JSON", "error": "'body' not in content"}),
        );
    }
    if body.get("format").is_some() && body["formatted_body"].as_str().is_none() {
        return (
            400,
            json!({"errcode": "M_BAD_JSON", "error": "'formatted_body' required with 'format'"}),
        );
    }
    if refuse(body.get("formatted_body").is_some()) {
        return (
            400,
            json!({"errcode": "M_BAD_JSON", "error": "Content too large or malformed"}),
        );
    }
    let mut messages = state.messages.lock().unwrap();
    if let Some(seen) = messages.get(txn) {
        // A retransmission: the first answer again, nothing posted.
        return (200, seen.clone());
    }
    let id = state.next_message.fetch_add(1, Ordering::SeqCst);
    let answer = json!({"event_id": format!("$event{id}")});
    messages.insert(txn.to_owned(), answer.clone());
    if state.lose_answer.swap(false, Ordering::SeqCst) {
        return (502, json!({"error": "Bad Gateway"}));
    }
    (200, answer)
}
