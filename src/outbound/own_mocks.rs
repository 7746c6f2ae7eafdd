//! hookarr's own mock receivers as targets of registered webhooks. Their URL is hookarr's own address
//! (`server.public_url`, often a private or loopback one), which the SSRF guard refuses — yet a user who
//! makes a mock wants to register it. So a URL that is exactly `<public_url>/mock/<id>` (or the listen
//! address's) is let through at registration, and sent to hookarr's own listener over loopback; nothing
//! else on that host or on loopback opens up.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use url::Url;

/// hookarr's own addresses, and where its listener is reached from this process.
#[derive(Debug, Clone)]
pub struct OwnMocks {
    /// `scheme://host:port` of each address a mock URL may name.
    origins: Vec<String>,
    /// `http://127.0.0.1:port`: where the listener is reached from here.
    local: String,
}

impl OwnMocks {
    pub fn new(public_url: &str, listen: SocketAddr) -> OwnMocks {
        let local_ip = match listen.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        let local = format!("http://{}", SocketAddr::new(local_ip, listen.port()));
        let origins = [public_url, local.as_str()]
            .into_iter()
            .filter_map(|u| Url::parse(u).ok())
            .filter_map(|u| origin(&u))
            .collect();
        OwnMocks { origins, local }
    }

    /// Where to send a request for `url` when it is one of hookarr's own mocks: the same mock over
    /// loopback. `None` for every other URL.
    pub fn local_url(&self, url: &str) -> Option<String> {
        let parsed = Url::parse(url).ok()?;
        if !parsed.username().is_empty()
            || parsed.password().is_some()
            || parsed.fragment().is_some()
        {
            return None;
        }
        let own = origin(&parsed).is_some_and(|o| self.origins.contains(&o));
        let id = parsed.path().strip_prefix("/mock/")?;
        let is_id = id.starts_with("mock_")
            && id.len() <= 64
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !own || !is_id {
            return None;
        }
        Some(match parsed.query() {
            Some(q) => format!("{}/mock/{id}?{q}", self.local),
            None => format!("{}/mock/{id}", self.local),
        })
    }
}

/// `scheme://host:port`, the port always written.
fn origin(url: &Url) -> Option<String> {
    Some(format!(
        "{}://{}:{}",
        url.scheme(),
        url.host_str()?.to_ascii_lowercase(),
        url.port_or_known_default()?
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hookarrs_own_mock_urls_are_its_own() {
        let own = OwnMocks::new("http://nas.lan:9494", "0.0.0.0:9494".parse().unwrap());
        let local = |u: &str| own.local_url(u);
        assert_eq!(
            local("http://nas.lan:9494/mock/mock_01ABC").as_deref(),
            Some("http://127.0.0.1:9494/mock/mock_01ABC")
        );
        assert_eq!(
            local("http://NAS.lan:9494/mock/mock_01ABC?x=1").as_deref(),
            Some("http://127.0.0.1:9494/mock/mock_01ABC?x=1")
        );
        assert_eq!(
            local("http://127.0.0.1:9494/mock/mock_01ABC").as_deref(),
            Some("http://127.0.0.1:9494/mock/mock_01ABC")
        );
        for other in [
            "http://nas.lan:9494/admin",
            "http://nas.lan:9494/api/users",
            "http://nas.lan:9494/mock/mock_01ABC/../../api/users",
            "http://nas.lan:9494/mock/../admin",
            "http://nas.lan:9494/mock/mock_1/extra",
            "http://nas.lan:9494/mock/other_1",
            "http://nas.lan:9495/mock/mock_01ABC",
            "https://nas.lan:9494/mock/mock_01ABC",
            "http://nas.lan.evil.example:9494/mock/mock_01ABC",
            "http://user:pw@nas.lan:9494/mock/mock_01ABC",
            "http://127.0.0.1:6379/mock/mock_01ABC",
            "http://169.254.169.254/mock/mock_01ABC",
        ] {
            assert_eq!(local(other), None, "{other}");
        }
    }
}
