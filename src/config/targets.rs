//! Checks of how destinations are reached (CONTRACT §6): a `url` or a `server` as its type wants, `https://`
//! for public hosts, and each target type's own checks.

use super::destination::Destination;
use super::validate::Validator;
use crate::outbound::targets::{Reached, UrlFinding};
use url::{Host, Url};

/// The longest URL a destination or a registered webhook may have (browsers and most servers stop near it).
pub const MAX_URL_BYTES: usize = 2048;

impl Validator {
    /// Checks `{path}.url` (or `{path}.server`): an http(s) URL (`smtp(s)://` for e-mail), `https://` for
    /// public hosts, and what its target type wants (each type's own check, in `outbound/targets/`); odd but
    /// working hosts only warn.
    pub(super) fn target_url(&mut self, path: &str, d: &Destination) {
        let kind = d.kind.target();
        let example = kind.example_url();
        let (key, given) = match (kind.reached(), &d.url) {
            (Reached::AtUrl, Some(url)) => ("url", Some(url.expose().to_owned())),
            (Reached::AtUrl, None) => {
                return self.problem(
                    format!("{path}.url"),
                    format!(
                        "missing: a {} destination needs its url, like {example}",
                        d.kind.as_str()
                    ),
                );
            }
            (Reached::ThroughServer { default }, _) => {
                let server = d.server.clone().or(default.map(str::to_owned));
                if server.is_none() {
                    return self.problem(
                        format!("{path}.server"),
                        format!(
                            "missing: a {} destination needs its server's address (or write it as a short form like {example})",
                            d.kind.as_str()
                        ),
                    );
                }
                ("server", server)
            }
            (Reached::Broker, _) => {
                for (key, set) in [("url", d.url.is_some()), ("server", d.server.is_some())] {
                    if set {
                        self.problem(
                            format!("{path}.{key}"),
                            format!("a {} destination publishes on the broker of the `mqtt:` section: remove `{key}`", d.kind.as_str()),
                        );
                    }
                }
                return self.findings(path, kind.check_keys(d));
            }
        };
        let at = format!("{path}.{key}");
        if given.as_deref().is_some_and(|u| u.len() > MAX_URL_BYTES) {
            return self.problem(
                at,
                format!("longer than {MAX_URL_BYTES} characters: no target takes a URL that long"),
            );
        }
        let schemes = kind.schemes();
        let url = match Url::parse(given.as_deref().unwrap_or_default()) {
            Ok(u) if schemes.contains(&u.scheme()) && u.host().is_some() => u,
            _ => {
                let wanted = schemes
                    .iter()
                    .map(|s| format!("{s}://"))
                    .collect::<Vec<_>>()
                    .join(" or ");
                return self.problem(
                    at,
                    format!("must be a {wanted} URL with a host, like {example}"),
                );
            }
        };
        let host = url.host().expect("checked above");
        if url.scheme() == "http" && !d.allow_insecure && !is_private_host(&host) {
            self.problem(&at, "plain http:// is only allowed to loopback, private or .local hosts; use https://, or set allow_insecure: true");
        }
        self.findings(path, kind.check_url(&url, d));
    }

    /// Tells what a target type's check found.
    fn findings(&mut self, path: &str, found: Vec<UrlFinding>) {
        for finding in found {
            match finding {
                UrlFinding::Problem { key, message } => {
                    self.problem(format!("{path}.{key}"), message)
                }
                UrlFinding::Warning { key, message } => {
                    self.warnings.push(format!("{path}.{key}: {message}"))
                }
            }
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
