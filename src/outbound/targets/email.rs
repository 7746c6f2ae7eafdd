//! E-mail over SMTP (`lettre`): a subject and an HTML body with its plain-text part, to one or more
//! recipients, through `server` (`smtp://host:587` with STARTTLS required, `smtps://host:465` with implicit
//! TLS, or plain SMTP to a loopback or private host with `tls: none`), logging in when a user is given. The
//! reply code is the attempt's status: 2xx sent, 4xx tried again, 535 (log-in refused) disables it, other
//! 5xx fail. The Message-ID carries the delivery id.

use super::{
    Escaping, OwnKey, Reached, RenderFailure, Target, TargetKind, UrlFinding, html_to_text,
    missing, text,
};
use crate::config::{Destination, SmtpTls, is_private_host};
use crate::delivery::Sent;
use crate::event::Event;
use crate::outbound::OutboundRequest;
use crate::outbound::answer::Verdict;
use crate::outbound::limits::cut;
use chrono::Utc;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::{Map, Value};
use std::time::{Duration, Instant};
use url::Url;

/// The e-mail target type.
pub struct Email;

impl TargetKind for Email {
    fn where_to_find(&self) -> &'static str {
        "Your mail provider's SMTP server, port, user name and an app password (Gmail, Outlook and Fastmail call it an app password)."
    }

    fn example_url(&self) -> &'static str {
        "mailtos://user:password@smtp.example.org?to=me@example.org"
    }

    fn check_url(&self, url: &Url, d: &Destination) -> Vec<UrlFinding> {
        let mut found = Vec::new();
        if d.from
            .as_deref()
            .is_none_or(|f| f.parse::<Mailbox>().is_err())
        {
            found.push(missing(
                "from",
                "needs the sender: an address like hookarr@example.org, or \"hookarr <hookarr@example.org>\"",
            ));
        }
        if d.to.is_empty() {
            found.push(missing("to", "needs at least one recipient"));
        }
        for (i, to) in d.to.iter().enumerate() {
            if to.parse::<Mailbox>().is_err() {
                found.push(missing(
                    "to",
                    format!("to[{i}]: `{to}` is not an e-mail address"),
                ));
            }
        }
        if d.username.is_some() != d.password.is_some() {
            found.push(missing("password", "username and password go together"));
        }
        let plain = tls_of(url.scheme(), d.tls) == SmtpTls::None;
        // `smtp:` is not a special scheme: its host is read as text, so an address is parsed here.
        let host = url.host_str().and_then(|h| url::Host::parse(h).ok());
        let private = match &host {
            Some(url::Host::Domain(d)) => is_private_host(&url::Host::Domain(d.as_str())),
            Some(url::Host::Ipv4(ip)) => is_private_host(&url::Host::Ipv4(*ip)),
            Some(url::Host::Ipv6(ip)) => is_private_host(&url::Host::Ipv6(*ip)),
            None => false,
        };
        if plain && !private {
            found.push(missing(
                "tls",
                "plain SMTP (tls: none) only goes to loopback or private hosts; use STARTTLS or smtps://",
            ));
        }
        if url.scheme() == "smtps" && d.tls == Some(SmtpTls::Starttls) {
            found.push(missing(
                "tls",
                "smtps:// is implicit TLS; write smtp:// for STARTTLS",
            ));
        }
        found
    }

    fn default_rate(&self, _d: &Destination) -> (Duration, u32) {
        (Duration::from_secs(1), 5)
    }

    fn reached(&self) -> Reached {
        Reached::ThroughServer { default: None }
    }

    fn schemes(&self) -> &'static [&'static str] {
        &["smtp", "smtps"]
    }

    fn own_keys(&self) -> &'static [OwnKey] {
        &[
            OwnKey::Server,
            OwnKey::From,
            OwnKey::To,
            OwnKey::Username,
            OwnKey::Password,
            OwnKey::Tls,
        ]
    }

    fn default_group_window(&self) -> Duration {
        Duration::from_secs(60)
    }

    fn escaping(&self) -> Escaping {
        Escaping::Html
    }

    /// `{"subject", "html", "text"?}`: the text part is made from the HTML when the template gives none;
    /// the subject is one line of at most 200 characters.
    fn hold_to_limits(&self, payload: &mut Value, template: &str) -> Result<(), RenderFailure> {
        let Some(obj) = payload.as_object_mut() else {
            return Err(shape(template));
        };
        let (Some(subject), Some(html)) = (text(obj, "subject"), text(obj, "html")) else {
            return Err(shape(template));
        };
        let subject = subject.lines().next().unwrap_or("").trim().to_owned();
        let plain = html_to_text(html);
        obj.insert("subject".into(), Value::String(subject));
        cut(obj, "subject", 200);
        if text(obj, "text").is_none_or(str::is_empty) {
            obj.insert("text".into(), Value::String(plain));
        }
        Ok(())
    }

    fn fallback(&self, _event: &Event) -> Option<Value> {
        // SMTP takes any body: a refusal is not about formatting.
        None
    }

    /// Mail does not go over HTTP (`Mailer` sends it): the request only shows what would be sent
    /// (`hookarr render`), as `SMTP smtp://host:port/…` and the rendered message.
    fn address(
        &self,
        _target: &Target,
        request: &mut OutboundRequest,
        _delivery_id: &str,
        _now: i64,
    ) -> Result<(), RenderFailure> {
        request.method = reqwest::Method::from_bytes(b"SMTP").expect("a valid method token");
        request.headers.retain(|(k, _)| k.starts_with("x-hookarr-"));
        Ok(())
    }

    /// SMTP reply codes: 2xx sent; 4xx transient (try again); 530/534/535 the log-in (disable); other 5xx
    /// permanent.
    fn classify(
        &self,
        status: u16,
        body: &str,
        _headers: &Map<String, Value>,
        _retry_after: Option<Duration>,
    ) -> Option<Verdict> {
        Some(match status {
            200..=399 => Verdict::Success,
            400..=499 => Verdict::Retry { after: None },
            530 | 534 | 535 => Verdict::Disable {
                reason: format!(
                    "the mail server refused the log-in ({status} {}): check username and password",
                    body.lines().next().unwrap_or("").trim()
                ),
            },
            _ => Verdict::Fail,
        })
    }
}

fn shape(template: &str) -> RenderFailure {
    RenderFailure::Shape(format!(
        "template `{template}` must render {{\"subject\": …, \"html\": …}} for e-mail"
    ))
}

/// The security of a connection: the destination's `tls`, else the scheme's.
fn tls_of(scheme: &str, tls: Option<SmtpTls>) -> SmtpTls {
    tls.unwrap_or(if scheme == "smtps" {
        SmtpTls::Implicit
    } else {
        SmtpTls::Starttls
    })
}

/// An SMTP client for one destination.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl Mailer {
    /// The client of an e-mail target (its `server`, TLS mode and log-in), with `timeout` per command.
    pub fn new(target: &Target, timeout: Duration) -> Result<Mailer, String> {
        let url = Url::parse(&target.url).map_err(|e| format!("server: {e}"))?;
        let host = url.host_str().ok_or("server: no host")?.to_owned();
        let tls = tls_of(url.scheme(), target.service.tls);
        let port = url.port().unwrap_or(match tls {
            SmtpTls::Implicit => 465,
            SmtpTls::Starttls => 587,
            SmtpTls::None => 25,
        });
        let params = || TlsParameters::new(host.clone()).map_err(|e| format!("TLS: {e}"));
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone())
            .port(port)
            .timeout(Some(timeout));
        builder = match tls {
            SmtpTls::Starttls => builder.tls(Tls::Required(params()?)),
            SmtpTls::Implicit => builder.tls(Tls::Wrapper(params()?)),
            SmtpTls::None => builder.tls(Tls::None),
        };
        if let (Some(user), Some(password)) = (&target.service.username, &target.service.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Mailer {
            transport: builder.build(),
        })
    }

    /// Sends the rendered `{subject, html, text}` as one message to every recipient.
    pub async fn send(&self, target: &Target, payload: &Value, delivery_id: &str) -> Sent {
        let started = Utc::now();
        let clock = Instant::now();
        let message = match message(target, payload, delivery_id) {
            Ok(m) => m,
            Err(e) => return Sent::error(started, clock, e),
        };
        match self.transport.send(message).await {
            Ok(response) => Sent {
                started,
                duration: clock.elapsed(),
                status: response.code().to_string().parse().ok(),
                headers: Map::new(),
                body: response.message().collect::<Vec<_>>().join("\n"),
                error: None,
                request_body: None,
            },
            Err(e) => match e.status() {
                // The server answered: its code decides.
                Some(code) => Sent {
                    started,
                    duration: clock.elapsed(),
                    status: code.to_string().parse().ok(),
                    headers: Map::new(),
                    body: e.to_string(),
                    error: Some(e.to_string()),
                    request_body: None,
                },
                None => Sent::error(started, clock, describe(&e, &target.url)),
            },
        }
    }
}

/// The message: From, To, Subject, a Message-ID naming the delivery, and the text and HTML parts.
fn message(target: &Target, payload: &Value, delivery_id: &str) -> Result<Message, String> {
    let field = |k: &str| payload.get(k).and_then(Value::as_str).unwrap_or_default();
    let from: Mailbox = target
        .service
        .from
        .as_deref()
        .unwrap_or_default()
        .parse()
        .map_err(|e| format!("from: {e}"))?;
    let mut builder = Message::builder()
        .from(from)
        .subject(field("subject"))
        .message_id(Some(format!("<{delivery_id}@hookarr>")));
    for to in &target.service.to {
        builder = builder.to(to.parse().map_err(|e| format!("to `{to}`: {e}"))?);
    }
    builder
        .multipart(MultiPart::alternative_plain_html(
            field("text").to_owned(),
            field("html").to_owned(),
        ))
        .map_err(|e| format!("cannot build the message: {e}"))
}

/// A transport error in words, naming the server's host and port only.
fn describe(e: &lettre::transport::smtp::Error, server: &str) -> String {
    let at = crate::outbound::redact_url(server);
    if e.is_timeout() {
        format!("timed out waiting for the mail server {at} (delivery.timeout_secs)")
    } else if e.is_tls() {
        format!("TLS with the mail server {at} failed: {e}")
    } else {
        format!("cannot talk to the mail server {at}: {e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_text_part_is_made_from_the_html() {
        let mut p = json!({"subject": "Dune (2021)\nsecond line", "html": "<h1>Dune</h1><p>Tom &amp; Jerry &lt;3</p>"});
        Email.hold_to_limits(&mut p, "email/default").unwrap();
        assert_eq!(p["subject"], "Dune (2021)");
        assert_eq!(p["text"], "Dune\nTom & Jerry <3");
    }
}
