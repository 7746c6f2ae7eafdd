//! What templates can call (CONTRACT §6): the escaping of inserted values, and the helpers `json`,
//! `truncate`, `default`, `join`, `bytes`, `duration`, `upper`, `lower`, `color`, `emoji`, `gt`, `lt`,
//! `starts_with`, `pad` and `percent` (`eq`, `ne`, `and`, `or`, `not` are Handlebars' own).

use handlebars::{
    Context, Handlebars, Helper, HelperDef, HelperResult, JsonRender, Output, RenderContext,
    RenderError, RenderErrorReason, ScopedJson, handlebars_helper,
};
use serde_json::Value;

/// JSON string escaping: what goes between the quotes of a JSON string.
pub fn json_escape(s: &str) -> String {
    let quoted = serde_json::to_string(s).expect("a string serializes");
    quoted[1..quoted.len() - 1].to_owned()
}

/// Slack's escaping (`&`, `<`, `>` as entities) inside JSON string escaping.
pub fn entity_escape(s: &str) -> String {
    json_escape(
        &s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;"),
    )
}

/// HTML's escaping (`&`, `<`, `>` and `"` as entities) inside JSON string escaping: a value in the text or an
/// attribute of the HTML that Telegram, Matrix, Pushover and e-mail show stays text.
pub fn html_escape(s: &str) -> String {
    json_escape(
        &s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;"),
    )
}

/// A registry with every helper, escaping inserted values with `escape`.
pub(super) fn registry(escape: fn(&str) -> String) -> Handlebars<'static> {
    let mut r = Handlebars::new();
    r.register_escape_fn(escape);
    r.set_prevent_indent(true);
    r.register_helper("json", Box::new(JsonHelper));
    r.register_helper("truncate", Box::new(truncate));
    r.register_helper("default", Box::new(default));
    r.register_helper("join", Box::new(join));
    r.register_helper("bytes", Box::new(bytes));
    r.register_helper("duration", Box::new(duration));
    r.register_helper("upper", Box::new(upper));
    r.register_helper("lower", Box::new(lower));
    r.register_helper("color", Box::new(color));
    r.register_helper("emoji", Box::new(emoji));
    r.register_helper("gt", Box::new(gt));
    r.register_helper("lt", Box::new(lt));
    r.register_helper("starts_with", Box::new(starts_with));
    r.register_helper("pad", Box::new(pad));
    r.register_helper("percent", Box::new(percent));
    // eq, ne, and, or, not are built in.
    r
}

/// `{{json value}}`: the value as JSON, written unescaped (it is already valid JSON).
struct JsonHelper;

impl HelperDef for JsonHelper {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let value = h.param(0).map(|p| p.value().clone()).unwrap_or(Value::Null);
        out.write(&serde_json::to_string(&value).map_err(RenderErrorReason::SerdeError)?)?;
        Ok(())
    }

    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let value = h.param(0).map(|p| p.value().clone()).unwrap_or(Value::Null);
        Ok(ScopedJson::Derived(Value::String(value.to_string())))
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        other => other.render(),
    }
}

/// Cuts `s` to at most `n` characters, ending with `…` when cut.
pub fn truncate_chars(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_owned();
    }
    if n == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(n - 1).collect();
    out = out.trim_end().to_owned();
    out.push('…');
    out
}

handlebars_helper!(truncate: |s: Value, n: u64| truncate_chars(&text(&s), n as usize));
handlebars_helper!(default: |a: Value, b: Value| match &a {
    Value::Null => b.clone(),
    Value::String(s) if s.is_empty() => b.clone(),
    _ => a.clone(),
});
handlebars_helper!(join: |list: Value, sep: str| match list {
    Value::Array(items) => items.iter().map(text).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(sep),
    other => text(&other),
});
handlebars_helper!(bytes: |n: Value| n.as_f64().map(human_bytes).unwrap_or_default());
handlebars_helper!(duration: |ms: Value| ms.as_f64().map(human_duration).unwrap_or_default());
handlebars_helper!(upper: |s: Value| text(&s).to_uppercase());
handlebars_helper!(lower: |s: Value| text(&s).to_lowercase());
handlebars_helper!(color: |event: str| event_color(event));
handlebars_helper!(emoji: |event: str| event_emoji(event));
handlebars_helper!(gt: |a: Value, b: Value| matches!((a.as_f64(), b.as_f64()), (Some(a), Some(b)) if a > b));
handlebars_helper!(lt: |a: Value, b: Value| matches!((a.as_f64(), b.as_f64()), (Some(a), Some(b)) if a < b));
handlebars_helper!(pad: |n: Value, width: u64| match n.as_u64() {
    Some(n) => format!("{n:0width$}", width = width as usize),
    None => text(&n),
});
handlebars_helper!(percent: |ratio: Value| ratio
    .as_f64()
    .map(|r| format!("{:.0} %", r * 100.0))
    .unwrap_or_default());
handlebars_helper!(starts_with: |s: Value, prefix: str| text(&s).starts_with(prefix));

/// `1.4 GB`-style sizes (decimal units, as the Arr apps show them).
pub fn human_bytes(n: f64) -> String {
    const UNITS: [&str; 6] = ["B", "KB", "MB", "GB", "TB", "PB"];
    let mut v = n.max(0.0);
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{v:.0} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// `1h 02m`, `3m 05s`, `42s` from milliseconds.
pub fn human_duration(ms: f64) -> String {
    let secs = (ms.max(0.0) / 1000.0).round() as u64;
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    if h > 0 {
        format!("{h}h {m:02}m")
    } else if m > 0 {
        format!("{m}m {s:02}s")
    } else {
        format!("{s}s")
    }
}

/// The Discord embed colour of an event (an integer, as Discord wants it).
pub fn event_color(event: &str) -> u32 {
    match event {
        "library.new" => 0x2ECC71,
        "library.upgraded" => 0x1ABC9C,
        "download.grabbed" => 0x3498DB,
        "download.failed"
        | "import.failed"
        | "health.issue"
        | "hookarr.delivery_dead"
        | "hookarr.destination_disabled"
        | "user.authentication_failed" => 0xE74C3C,
        "import.blocked" | "media.stuck" | "hookarr.source_silent" => 0xE67E22,
        "media.available" => 0x2ECC71,
        "media.upgraded" => 0x1ABC9C,
        "hookarr.source_back" => 0x27AE60,
        "library.deleted" => 0x95A5A6,
        "health.restored" => 0x27AE60,
        "app.updated" => 0x9B59B6,
        "test" => 0x5865F2,
        "request.pending" => 0xF39C12,
        "request.approved" => 0x3498DB,
        "request.available" => 0x2ECC71,
        "request.declined" | "request.failed" | "issue.created" | "issue.reopened" => 0xE74C3C,
        "issue.resolved" => 0x27AE60,
        "issue.commented" => 0x7289DA,
        e if e.starts_with("playback.") => 0xF1C40F,
        e if e.starts_with("library.") => 0x16A085,
        e if e.starts_with("user.") || e.starts_with("session.") => 0x7F8C8D,
        _ => 0x99AAB5,
    }
}

/// A short symbol for an event's title.
pub fn event_emoji(event: &str) -> &'static str {
    match event {
        "library.new" => "✅",
        "library.upgraded" => "⬆️",
        "download.grabbed" => "📥",
        "download.failed" | "import.failed" => "❌",
        "import.blocked" => "⚠️",
        "library.deleted" => "🗑️",
        "library.updated" => "✏️",
        "library.monitored" => "👀",
        "library.rated" => "⭐",
        "library.watched" => "✔️",
        "library.unwatched" => "↩️",
        "health.issue" => "🩺",
        "health.restored" => "💚",
        "app.updated" => "🆕",
        "playback.start" | "playback.resume" => "▶️",
        "playback.pause" => "⏸️",
        "playback.stop" => "⏹️",
        "playback.scrobble" => "🎬",
        "playback.progress" => "⏩",
        "test" => "🧪",
        "request.pending" => "🙋",
        "request.approved" => "👍",
        "request.available" | "media.available" => "🍿",
        "media.upgraded" => "⬆️",
        "media.stuck" => "⏳",
        "hookarr.source_silent" => "🔇",
        "hookarr.source_back" => "🔊",
        "request.declined" => "🚫",
        "request.failed" => "❌",
        "issue.created" | "issue.reopened" => "🐞",
        "issue.commented" => "💬",
        "issue.resolved" => "✅",
        "hookarr.delivery_dead" | "hookarr.destination_disabled" => "🚨",
        e if e.starts_with("user.") || e.starts_with("session.") => "👤",
        _ => "🔔",
    }
}
