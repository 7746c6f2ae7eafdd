//! What hookarr sends: a destination plus an event becomes one HTTP request (CONTRACT §6). Pure: rendering,
//! limits and signing; what differs between target types is in `targets/`, one file each; the sending
//! itself is in `delivery`.

pub mod address_guard;
pub mod answer;
pub mod limits;
pub mod own_mocks;
mod restricted_ip;
pub mod signing;
pub mod targets;
pub mod templates;

use crate::config::{Destination, DestinationType, Signing};
use crate::event::Event;
use serde_json::Value;
use std::collections::BTreeMap;
pub use targets::ServiceKeys;
pub use templates::{TemplateOrigin, TemplateProblem, Templates};

/// Whether `value` may be sent as a header value: visible ASCII and inner spaces, no space at either end (no
/// tab, no control character, nothing beyond ASCII).
pub fn is_visible_header_value(value: &str) -> bool {
    value.bytes().all(|b| (0x20..0x7f).contains(&b)) && value.trim() == value
}

/// A destination as the sender needs it: the config entry with its secrets resolved.
#[derive(Clone)]
pub struct Target {
    pub name: String,
    pub kind: DestinationType,
    /// The full URL, secret parts included: never log it (see [`redact_url`]). For a type reached through a
    /// service, the service's base URL (`server`), to which its file adds the path.
    pub url: String,
    pub template: Option<String>,
    pub headers: BTreeMap<String, String>,
    pub signing: Signing,
    /// Signing secrets, newest first (several during a rotation).
    pub secrets: Vec<String>,
    /// Whether hookarr made the secret (the config names none): the one the API may show, since the admin
    /// learns it nowhere else. A secret written in the config is never shown back.
    pub secret_generated: bool,
    /// The credential: Home Assistant's `/api/events/` Bearer token, Telegram's bot token, ntfy's access
    /// token, Gotify's and Pushover's app token, Matrix's access token. Never logged.
    pub token: Option<String>,
    /// Discord and Telegram: the import of a download edits the message its grab posted.
    pub edit_messages: bool,
    /// The settings of the service types (telegram … email).
    pub service: ServiceKeys,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("url", &redact_url(&self.url))
            .finish_non_exhaustive()
    }
}

impl Target {
    /// The target of a config destination; `generated_secret` signs when the config names none.
    pub fn from_config(d: &Destination, generated_secret: Option<String>) -> Target {
        let secret_generated = d.secret.is_none() && generated_secret.is_some();
        let secrets = match (&d.secret, generated_secret) {
            (Some(s), _) => vec![s.expose().to_owned()],
            (None, Some(g)) => vec![g],
            (None, None) => Vec::new(),
        };
        let url = match (d.kind.target().reached(), &d.url) {
            (_, Some(url)) => url.expose().to_owned(),
            (targets::Reached::ThroughServer { default }, None) => d
                .server
                .as_deref()
                .or(default)
                .unwrap_or_default()
                .trim_end_matches('/')
                .to_owned(),
            (targets::Reached::AtUrl | targets::Reached::Broker, None) => String::new(),
        };
        Target {
            name: d.name.clone(),
            kind: d.kind,
            url,
            template: d.template.clone(),
            headers: d.headers.clone(),
            signing: d.signing.unwrap_or_default(),
            secrets,
            secret_generated,
            token: d.token.as_ref().map(|t| t.expose().to_owned()),
            edit_messages: d.edit_messages,
            service: ServiceKeys::from_config(d),
        }
    }
}

impl Target {
    /// A destination of `kind` that exists only to render with (template previews): default template, a
    /// placeholder URL, a fresh signing secret.
    pub fn preview(kind: DestinationType) -> Target {
        Target {
            name: "preview".into(),
            kind,
            url: "https://example.invalid/preview".into(),
            template: None,
            headers: BTreeMap::new(),
            signing: Signing::Standard,
            secrets: vec![signing::new_whsec()],
            secret_generated: true,
            token: None,
            edit_messages: false,
            service: ServiceKeys::default(),
        }
    }
}

/// One HTTP request, ready to send.
#[derive(Debug, Clone)]
pub struct OutboundRequest {
    /// `POST`; `PATCH` for a Discord message edit, `PUT` for a Matrix message.
    pub method: reqwest::Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The templates a config uses: embedded defaults plus its override folder; every destination's own
/// `template` must exist. Every problem is reported.
pub fn templates_for(cfg: &crate::config::Config) -> Result<Templates, Vec<TemplateProblem>> {
    let templates = Templates::load(cfg.templates_dir.as_deref())?;
    let missing = missing_templates(cfg, &templates);
    if missing.is_empty() {
        Ok(templates)
    } else {
        Err(missing)
    }
}

/// The templates the config's destinations name that `templates` does not have, each told.
pub fn missing_templates(
    cfg: &crate::config::Config,
    templates: &Templates,
) -> Vec<TemplateProblem> {
    cfg.destinations
        .iter()
        .enumerate()
        .filter_map(|(i, d)| {
            let name = d.template.as_deref()?;
            (!templates.has(name)).then(|| TemplateProblem {
                file: format!("destinations[{i}].template"),
                line: None,
                message: format!(
                    "no template `{name}`: create {}/{name}.hbs, or save it in the template studio",
                    cfg.templates_dir
                        .as_deref()
                        .unwrap_or(std::path::Path::new("templates"))
                        .display()
                ),
            })
        })
        .collect()
}

/// A payload that could not be made: the delivery fails with this reason.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum RenderFailure {
    #[error("template `{template}` failed to render: {message}")]
    Template { template: String, message: String },
    #[error("template `{template}` rendered invalid JSON: {message}")]
    InvalidJson { template: String, message: String },
    #[error("{0}")]
    Shape(String),
    #[error("cannot sign: {0}")]
    Signing(String),
}

/// The JSON payload of `event` for `target`: its template rendered, parsed and held to the target's limits.
pub fn render_payload(
    templates: &Templates,
    target: &Target,
    event: &Event,
) -> Result<Value, RenderFailure> {
    render_group_payload(templates, target, event, &[], false)
}

/// The payload of a group (CONTRACT §5): `shown` is the merged event; templates also see `events`, the
/// envelope of every event of the group (none for a single event), and `digest: true` for a quiet-hours
/// digest.
pub fn render_group_payload(
    templates: &Templates,
    target: &Target,
    shown: &Event,
    group: &[Event],
    digest: bool,
) -> Result<Value, RenderFailure> {
    let mut context = serde_json::to_value(shown).expect("an Event serializes");
    if digest {
        context["digest"] = Value::Bool(true);
    }
    if !group.is_empty() {
        let all: Vec<Value> = group
            .iter()
            .map(|e| serde_json::to_value(e).expect("an Event serializes"))
            .collect();
        context["events"] = Value::Array(all);
    }
    render_context(templates, target, shown, context)
}

/// A story's message (a destination with `story: true`): `step` is the delivery's event, the card where its
/// story stands now (`story` in the context); the type's `story` template unless the destination names one.
pub fn render_story_payload(
    templates: &Templates,
    target: &Target,
    step: &Event,
    card: &crate::stories::StoryCard,
) -> Result<Value, RenderFailure> {
    let mut context = serde_json::to_value(step).expect("an Event serializes");
    context["story"] = serde_json::to_value(card).expect("a card serializes");
    context["summary"] = Value::String(format!("{}: {}", card.title, card.headline));
    render_context(templates, target, step, context)
}

fn render_context(
    templates: &Templates,
    target: &Target,
    event: &Event,
    context: Value,
) -> Result<Value, RenderFailure> {
    let (mut payload, name) = render_unheld(templates, target, event, context)?;
    target.kind.target().hold_to_limits(&mut payload, &name)?;
    Ok(payload)
}

/// The payload as the template renders it, before the target's limits; and the template's name.
fn render_unheld(
    templates: &Templates,
    target: &Target,
    event: &Event,
    context: Value,
) -> Result<(Value, String), RenderFailure> {
    let story = format!("{}/story", target.kind.as_str());
    let name =
        if context.get("story").is_some() && target.template.is_none() && templates.has(&story) {
            story
        } else {
            templates.resolve(
                target.kind,
                target.template.as_deref(),
                event.event.as_str(),
                context.get("digest").is_some(),
            )
        };
    // `{{json this}}` (the built-in webhook template) outputs the context itself: skip rendering and re-parsing.
    let kind = target.kind.target();
    let payload = if templates.is_envelope(&name) {
        context
    } else {
        let text = templates
            .render(kind.escaping(), &name, &context)
            .map_err(|e| RenderFailure::Template {
                template: name.clone(),
                message: e.to_string(),
            })?;
        serde_json::from_str(&text).map_err(|e| RenderFailure::InvalidJson {
            template: name.clone(),
            message: e.to_string(),
        })?
    };
    Ok((payload, name))
}

/// The payload for `event`, and what the target's limits cut from what the template rendered ("embeds[0]
/// .description: 7120 characters, cut to 4096"): the template studio's warnings.
pub fn render_with_warnings(
    templates: &Templates,
    target: &Target,
    event: &Event,
) -> Result<(Value, Vec<String>), RenderFailure> {
    let context = serde_json::to_value(event).expect("an Event serializes");
    let (rendered, name) = render_unheld(templates, target, event, context)?;
    let mut held = rendered.clone();
    target.kind.target().hold_to_limits(&mut held, &name)?;
    let mut warnings = Vec::new();
    limits::cuts("", &rendered, &held, &mut warnings);
    Ok((held, warnings))
}

/// The request for a payload: the target's URL form, headers and signature. `now` is this attempt's time
/// (unix seconds), signed into `webhook-timestamp`.
pub fn build_request(
    target: &Target,
    event: &Event,
    delivery_id: &str,
    payload: &Value,
    now: i64,
) -> Result<OutboundRequest, RenderFailure> {
    let mut request = OutboundRequest {
        method: reqwest::Method::POST,
        url: target.url.clone(),
        headers: vec![
            ("content-type".to_owned(), "application/json".to_owned()),
            (
                "x-hookarr-event".to_owned(),
                event.event.as_str().to_owned(),
            ),
            ("x-hookarr-delivery".to_owned(), delivery_id.to_owned()),
        ],
        body: serde_json::to_vec(payload).expect("a JSON value serializes"),
    };
    target
        .kind
        .target()
        .address(target, &mut request, delivery_id, now)?;
    Ok(request)
}

impl OutboundRequest {
    /// The request as it may be shown (`hookarr render`): the method and the redacted URL, the headers with
    /// credentials as `***`, and the body — pretty JSON, or a form's fields one per line — with the credentials
    /// a body carries (Pushover's `token` and `user`) as `***`.
    pub fn shown(&self) -> String {
        const SECRET_HEADERS: [&str; 2] = ["authorization", "x-gotify-key"];
        const SECRET_FIELDS: [&str; 2] = ["token", "user"];
        let mut out = format!("{} {}\n", self.method, redact_url(&self.url));
        for (k, v) in &self.headers {
            let shown = if SECRET_HEADERS.contains(&k.as_str()) {
                "***"
            } else {
                v
            };
            out.push_str(&format!("{k}: {shown}\n"));
        }
        out.push('\n');
        let form = self.headers.iter().any(|(k, v)| {
            k == "content-type" && v.starts_with("application/x-www-form-urlencoded")
        });
        if form {
            for (k, v) in url::form_urlencoded::parse(&self.body) {
                let v = if SECRET_FIELDS.contains(&k.as_ref()) {
                    "***".into()
                } else {
                    v
                };
                out.push_str(&format!("{k}={v}\n"));
            }
        } else {
            match serde_json::from_slice::<Value>(&self.body) {
                Ok(body) => {
                    out.push_str(&serde_json::to_string_pretty(&body).expect("JSON serializes"));
                    out.push('\n');
                }
                Err(_) => out.push_str(&String::from_utf8_lossy(&self.body)),
            }
        }
        out
    }
}

/// A URL safe to log: scheme, host and port only — Discord, Slack and Home Assistant keep their secret in the
/// path, webhooks may keep one in the query, Telegram's bot token is in the path.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => match u.port() {
            Some(p) => format!("{}://{}:{p}/…", u.scheme(), u.host_str().unwrap_or("")),
            None => format!("{}://{}/…", u.scheme(), u.host_str().unwrap_or("")),
        },
        Err(_) => "<invalid url>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shown_request_masks_credentials_in_headers_and_bodies() {
        let form = OutboundRequest {
            method: reqwest::Method::POST,
            url: "https://api.pushover.net/1/messages.json".into(),
            headers: vec![
                (
                    "content-type".into(),
                    "application/x-www-form-urlencoded".into(),
                ),
                ("x-gotify-key".into(), "gotify-secret".into()),
            ],
            body: b"token=app-secret&user=user-secret&message=Dune+%282021%29".to_vec(),
        };
        let shown = form.shown();
        for secret in ["app-secret", "user-secret", "gotify-secret"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("message=Dune (2021)"), "{shown}");
        let telegram = OutboundRequest {
            method: reqwest::Method::PUT,
            url: "https://api.telegram.org/bot123:secret/sendMessage".into(),
            headers: vec![("authorization".into(), "Bearer tok".into())],
            body: br#"{"text": "hi"}"#.to_vec(),
        };
        let shown = telegram.shown();
        assert!(
            shown.starts_with("PUT https://api.telegram.org/…\n"),
            "{shown}"
        );
        assert!(
            !shown.contains("secret") && !shown.contains("tok\n"),
            "{shown}"
        );
    }

    #[test]
    fn urls_are_redacted_after_the_host() {
        assert_eq!(
            redact_url("https://discord.com/api/webhooks/1/secret"),
            "https://discord.com/…"
        );
        assert_eq!(
            redact_url("http://127.0.0.1:8123/api/webhook/abc?x=1"),
            "http://127.0.0.1:8123/…"
        );
    }
}
