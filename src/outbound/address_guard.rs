//! The SSRF guard (CONTRACT §6): which addresses a webhook registered through the API may reach. Loopback,
//! private, link-local, CGNAT, multicast, unspecified and cloud-metadata addresses — and names that resolve
//! to any of them — are refused unless `api.allow_private_targets`; public hosts need `https://`. The check
//! runs at registration ([`AddressGuard::check_url`]) and again on the addresses a connection is about to use
//! ([`GuardedResolver`], reqwest's resolver), so a name that resolves elsewhere later (DNS rebinding) does
//! not get through. Redirects are never followed (the engine's clients).

pub use super::restricted_ip::restricted_ip;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use url::{Host, Url};

/// Names answered without asking DNS (`api.resolve`: tests, and hosts files of embedders).
pub type Overrides = BTreeMap<String, Vec<IpAddr>>;

/// Why an address may not be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct Refusal(pub String);

/// Names that mean this machine or a cloud metadata service, whatever they resolve to.
fn restricted_name(host: &str) -> Option<&'static str> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host == "localhost" || host.ends_with(".localhost") {
        Some("loopback")
    } else if matches!(
        host.as_str(),
        "metadata" | "metadata.google.internal" | "instance-data" | "instance-data.ec2.internal"
    ) {
        Some("a cloud metadata address")
    } else {
        None
    }
}

/// Looks names up: [`Overrides`] first, else the system resolver.
#[derive(Debug, Clone, Default)]
pub struct Lookup {
    overrides: Arc<Overrides>,
}

impl Lookup {
    pub fn new(overrides: Overrides) -> Lookup {
        let overrides = overrides
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        Lookup {
            overrides: Arc::new(overrides),
        }
    }

    /// The addresses of a name (port 0).
    pub async fn addresses(&self, name: &str) -> std::io::Result<Vec<IpAddr>> {
        if let Some(ips) = self.overrides.get(&name.to_ascii_lowercase()) {
            return Ok(ips.clone());
        }
        let found = tokio::net::lookup_host((name, 0)).await?;
        Ok(found.map(|a| a.ip()).collect())
    }
}

/// The guard of registered webhooks: the policy (`api.allow_private_targets`) and the lookup it checks.
#[derive(Debug, Clone)]
pub struct AddressGuard {
    allow_private: bool,
    lookup: Lookup,
}

impl AddressGuard {
    pub fn new(allow_private: bool, lookup: Lookup) -> AddressGuard {
        AddressGuard {
            allow_private,
            lookup,
        }
    }

    /// Checks a URL at registration: http(s) with a host, `https://` unless the host is private (and private
    /// ones allowed), and every address the host has now.
    pub async fn check_url(&self, raw: &str) -> Result<Url, Refusal> {
        let url = Url::parse(raw)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| {
                Refusal("must be an http(s) URL with a host, like https://example.org/hook".into())
            })?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refusal(
                "must not carry a user name or password; send credentials as `headers`".into(),
            ));
        }
        let host = url.host().expect("checked above");
        let private = crate::config::is_private_host(&host);
        if url.scheme() == "http" && !(private && self.allow_private) {
            return Err(Refusal(if private {
                "points at a private host, which registered webhooks may not reach \
                 (api.allow_private_targets is off)"
                    .into()
            } else {
                "must use https:// (plain http:// is only for private hosts)".into()
            }));
        }
        if self.allow_private {
            return Ok(url);
        }
        match host {
            Host::Ipv4(ip) => self.check_ip(IpAddr::V4(ip), &ip.to_string())?,
            Host::Ipv6(ip) => self.check_ip(IpAddr::V6(ip), &ip.to_string())?,
            Host::Domain(name) => {
                if let Some(what) = restricted_name(name) {
                    return Err(refused(name, what));
                }
                let ips =
                    self.lookup.addresses(name).await.map_err(|e| {
                        Refusal(format!("the host `{name}` does not resolve ({e})"))
                    })?;
                if ips.is_empty() {
                    return Err(Refusal(format!("the host `{name}` has no address")));
                }
                for ip in ips {
                    self.check_ip(ip, name)?;
                }
            }
        }
        Ok(url)
    }

    /// Checks the host of a URL about to be sent to when it is an address (reqwest resolves only names, so
    /// [`GuardedResolver`] never sees these).
    pub fn check_literal(&self, url: &str) -> Result<(), Refusal> {
        if self.allow_private {
            return Ok(());
        }
        match Url::parse(url).ok().as_ref().and_then(Url::host) {
            Some(Host::Ipv4(ip)) => self.check_ip(IpAddr::V4(ip), &ip.to_string()),
            Some(Host::Ipv6(ip)) => self.check_ip(IpAddr::V6(ip), &ip.to_string()),
            Some(Host::Domain(name)) => match restricted_name(name) {
                Some(what) => Err(refused(name, what)),
                None => Ok(()),
            },
            None => Err(Refusal("the URL has no host".into())),
        }
    }

    fn check_ip(&self, ip: IpAddr, host: &str) -> Result<(), Refusal> {
        match restricted_ip(ip) {
            Some(what) if !self.allow_private => Err(if host == ip.to_string() {
                refused(host, what)
            } else {
                Refusal(format!(
                    "`{host}` resolves to {ip}, {what}: registered webhooks may not reach it \
                     (api.allow_private_targets is off)"
                ))
            }),
            _ => Ok(()),
        }
    }

    /// reqwest's resolver for registered webhooks: the same lookup, and the same check of every address.
    pub fn resolver(&self) -> Arc<GuardedResolver> {
        Arc::new(GuardedResolver(self.clone()))
    }
}

fn refused(host: &str, what: &str) -> Refusal {
    Refusal(format!(
        "`{host}` is {what}: registered webhooks may not reach it (api.allow_private_targets is off)"
    ))
}

/// Resolves for the client of registered webhooks and refuses a connection to any restricted address.
#[derive(Debug)]
pub struct GuardedResolver(AddressGuard);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let guard = self.0.clone();
        Box::pin(async move {
            let host = name.as_str();
            if !guard.allow_private
                && let Some(what) = restricted_name(host)
            {
                return Err(refused(host, what).into());
            }
            let ips = guard.lookup.addresses(host).await?;
            for ip in &ips {
                guard.check_ip(*ip, host)?;
            }
            let addrs: reqwest::dns::Addrs =
                Box::new(ips.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(allow_private: bool, overrides: &[(&str, &str)]) -> AddressGuard {
        let overrides = overrides
            .iter()
            .map(|(n, ip)| (n.to_string(), vec![ip.parse().unwrap()]))
            .collect();
        AddressGuard::new(allow_private, Lookup::new(overrides))
    }

    #[tokio::test]
    async fn registration_refuses_private_targets_without_connecting() {
        // Names come from the overrides: nothing here asks DNS, and nothing connects.
        let g = guard(
            false,
            &[
                ("hooks.example.org", "93.184.215.14"),
                ("sneaky.example.org", "127.0.0.1"),
                ("meta.example.org", "169.254.169.254"),
            ],
        );
        assert!(g.check_url("https://hooks.example.org/in").await.is_ok());
        for (url, says) in [
            ("http://hooks.example.org/in", "must use https://"),
            ("https://127.0.0.2:8080/x", "`127.0.0.2` is loopback"),
            ("https://[::1]/x", "`::1` is loopback"),
            ("https://0.0.0.0/x", "unspecified"),
            ("https://localhost/x", "`localhost` is loopback"),
            ("https://LOCALHOST./x", "loopback"),
            ("https://metadata.google.internal/x", "metadata"),
            (
                "https://sneaky.example.org/x",
                "resolves to 127.0.0.1, loopback",
            ),
            ("https://meta.example.org/x", "resolves to 169.254.169.254"),
            ("https://10.0.0.8/x", "private"),
            ("http://192.168.1.4/x", "private host"),
            ("ftp://hooks.example.org/x", "http(s) URL"),
            ("https://user:pw@hooks.example.org/x", "password"),
        ] {
            let err = g.check_url(url).await.expect_err(url);
            assert!(err.0.contains(says), "{url}: {err}");
        }
    }

    #[tokio::test]
    async fn allowing_private_targets_lets_lan_hosts_in_but_public_http_still_needs_https() {
        let g = guard(true, &[]);
        assert!(g.check_url("http://127.0.0.1:9000/x").await.is_ok());
        assert!(g.check_url("http://homeassistant.local/x").await.is_ok());
        assert!(g.check_literal("http://127.0.0.1:9000/x").is_ok());
        let err = g.check_url("http://8.8.8.8/x").await.unwrap_err();
        assert!(err.0.contains("https://"), "{err}");
    }

    #[tokio::test]
    async fn the_resolver_refuses_a_name_that_now_points_inside() {
        use reqwest::dns::Resolve as _;
        let g = guard(false, &[("rebind.example.org", "127.0.0.1")]);
        let name: reqwest::dns::Name = "rebind.example.org".parse().unwrap();
        let err = match g.resolver().resolve(name).await {
            Ok(_) => panic!("a loopback answer must be refused"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("resolves to 127.0.0.1, loopback"), "{err}");
        let ok = guard(false, &[("public.example.org", "93.184.215.14")]);
        let name: reqwest::dns::Name = "public.example.org".parse().unwrap();
        let addrs: Vec<_> = ok.resolver().resolve(name).await.unwrap().collect();
        assert_eq!(addrs, vec!["93.184.215.14:0".parse().unwrap()]);
        assert!(g.check_literal("https://127.0.0.2/x").is_err());
        assert!(g.check_literal("https://[::1]:8443/x").is_err());
        assert!(g.check_literal("https://93.184.215.14/x").is_ok());
    }
}
