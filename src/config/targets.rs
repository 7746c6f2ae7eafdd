//! Checks of destination URLs (CONTRACT §6): each target's URL shape, and `https://` for public hosts.

use super::types::{Destination, DestinationType};
use super::validate::Validator;
use url::{Host, Url};

impl Validator {
    /// Checks `{path}.url` against what the destination's type accepts; odd but working hosts only warn.
    pub(super) fn target_url(&mut self, path: &str, d: &Destination) {
        let at = format!("{path}.url");
        let url = match Url::parse(d.url.expose()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => u,
            _ => {
                let example = match d.kind {
                    DestinationType::Discord => "https://discord.com/api/webhooks/<id>/<token>",
                    DestinationType::Slack => "https://hooks.slack.com/services/T…/B…/…",
                    DestinationType::HomeAssistant => {
                        "http://homeassistant.local:8123/api/webhook/<id>"
                    }
                    DestinationType::Webhook => "https://example.org/hooks/hookarr",
                };
                return self.problem(at, format!("must be an http(s) URL, like {example}"));
            }
        };
        let host = url.host().expect("checked above");
        if url.scheme() == "http" && !d.allow_insecure && !is_private_host(&host) {
            self.problem(&at, "plain http:// is only allowed to loopback, private or .local hosts; use https://, or set allow_insecure: true");
        }
        let host_str = url.host_str().unwrap_or("");
        let segments: Vec<&str> = url
            .path_segments()
            .map(|s| s.filter(|p| !p.is_empty()).collect())
            .unwrap_or_default();
        match d.kind {
            DestinationType::Discord => {
                let rest = match segments.as_slice() {
                    ["api", v, rest @ ..]
                        if v.starts_with('v') && v[1..].parse::<u32>().is_ok() =>
                    {
                        rest
                    }
                    ["api", rest @ ..] => rest,
                    _ => &[][..],
                };
                if !matches!(rest, ["webhooks", id, token] if id.parse::<u64>().is_ok() && !token.is_empty())
                {
                    self.problem(&at, "a Discord webhook URL looks like https://discord.com/api/webhooks/<id>/<token>");
                }
                let known = [
                    "discord.com",
                    "discordapp.com",
                    "ptb.discord.com",
                    "canary.discord.com",
                    "ptb.discordapp.com",
                    "canary.discordapp.com",
                ];
                if !known.contains(&host_str) {
                    self.warnings.push(format!("{at}: `{host_str}` is not a Discord host; fine for a proxy or test receiver"));
                }
            }
            DestinationType::Slack => {
                if host_str != "hooks.slack.com" {
                    self.warnings.push(format!("{at}: `{host_str}` is not hooks.slack.com; fine for a proxy or test receiver"));
                }
            }
            DestinationType::HomeAssistant => {
                let (webhook, events) = (
                    segments
                        .windows(3)
                        .any(|w| w[0] == "api" && w[1] == "webhook"),
                    segments
                        .windows(3)
                        .any(|w| w[0] == "api" && w[1] == "events"),
                );
                if !webhook && !events {
                    self.problem(&at, "a Home Assistant URL ends in /api/webhook/<id> or /api/events/<event_type>");
                }
                if events && d.token.is_none() {
                    self.problem(
                        format!("{path}.token"),
                        "/api/events/ needs a long-lived access token: add token: ${HA_TOKEN}",
                    );
                }
                if webhook && d.token.is_some() {
                    self.warnings.push(format!(
                        "{path}.token: /api/webhook/ URLs take no token; it is ignored"
                    ));
                }
            }
            DestinationType::Webhook => {}
        }
    }
}

pub(super) fn valid_whsec(s: &str) -> bool {
    use base64::Engine;
    s.strip_prefix("whsec_")
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .is_some_and(|key| key.len() >= 24)
}

/// Loopback, private, link-local, `.local`/`.lan`/`.home.arpa` and single-label names (Docker, LAN hosts).
pub fn is_private_host(host: &Host<&str>) -> bool {
    match host {
        Host::Ipv4(ip) => ip.is_loopback() || ip.is_private() || ip.is_link_local(),
        Host::Ipv6(ip) => {
            ip.is_loopback()
                || (ip.segments()[0] & 0xfe00) == 0xfc00
                || (ip.segments()[0] & 0xffc0) == 0xfe80
        }
        Host::Domain(d) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost"
                || !d.contains('.')
                || [".local", ".lan", ".home.arpa", ".localhost", ".internal"]
                    .iter()
                    .any(|s| d.ends_with(s))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_private_host;
    use url::Url;

    fn private(url: &str) -> bool {
        is_private_host(&Url::parse(url).unwrap().host().unwrap())
    }

    #[test]
    fn lan_and_loopback_hosts_are_private_and_public_ones_are_not() {
        for url in [
            "http://127.0.0.1/",
            "http://10.1.2.3/",
            "http://192.168.1.5:8123/",
            "http://172.20.0.2/",
            "http://169.254.1.1/",
            "http://[::1]/",
            "http://[fd00::5]/",
            "http://[fe80::1]/",
            "http://localhost/",
            "http://homeassistant.local:8123/",
            "http://homeassistant/",
            "http://nas.lan/",
        ] {
            assert!(private(url), "{url} should count as private");
        }
        for url in [
            "http://8.8.8.8/",
            "http://[2001:db8::1]/",
            "http://example.org/",
            "http://172.32.0.1/",
        ] {
            assert!(!private(url), "{url} should count as public");
        }
    }
}
