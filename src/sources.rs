//! Inbound sources: the six built-ins (tokens generated on first start and kept in the store) merged with the
//! config's `sources`, held in memory so that authenticating a webhook costs no database round trip.

use crate::config::{Config, SourceConfig};
use crate::inbound::SourceApp;
use crate::secrets::{new_source_token, secrets_match};
use crate::storage::{SourceRow, Store, StoreError};
use ipnet::IpNet;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

/// What it takes to post to one source.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub app: SourceApp,
    /// The token accepted as `?token=`, `X-Hookarr-Token` or Basic password.
    pub token: Option<String>,
    /// A user/password pair accepted as Basic auth.
    pub basic: Option<(String, String)>,
    /// Empty means any address.
    pub allow_ips: Vec<IpNet>,
}

/// The credentials a request presented.
#[derive(Debug, Default)]
pub struct Credentials {
    pub query_token: Option<String>,
    pub header_token: Option<String>,
    /// Basic auth as raw bytes: Arr encodes `user:pass` as ISO-8859-1, other clients as UTF-8.
    pub basic: Option<(Vec<u8>, Vec<u8>)>,
}

/// What a Connect URL shows in place of a token that is not printed.
pub const MASKED_TOKEN: &str = "<hidden: hookarr sources --show-tokens>";

impl Source {
    /// The URL to paste into the app's webhook settings, with its token in full or masked; a source with Basic
    /// auth only says so.
    pub fn connect_url(&self, public_url: &str, show_token: bool) -> String {
        match &self.token {
            Some(_) if !show_token => {
                format!("{public_url}/hooks/{}?token={MASKED_TOKEN}", self.name)
            }
            Some(t) => format!(
                "{public_url}/hooks/{}?token={}",
                self.name,
                url::form_urlencoded::byte_serialize(t.as_bytes()).collect::<String>()
            ),
            None => format!("{public_url}/hooks/{} (Basic auth)", self.name),
        }
    }

    /// Whether a request from `ip` may post here.
    pub fn ip_allowed(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.allow_ips.is_empty() || self.allow_ips.iter().any(|net| net.contains(&ip))
    }

    /// Whether the credentials match, compared in constant time.
    pub fn authenticates(&self, c: &Credentials) -> bool {
        let mut ok = false;
        if let Some(token) = &self.token {
            let t = token.as_bytes();
            ok |= c
                .query_token
                .as_deref()
                .is_some_and(|q| secrets_match(q.as_bytes(), t));
            ok |= c
                .header_token
                .as_deref()
                .is_some_and(|h| secrets_match(h.as_bytes(), t));
            ok |= c
                .basic
                .as_ref()
                .is_some_and(|(_, pass)| either_encoding(pass, |p| secrets_match(p, t)));
        }
        if let (Some((user, pass)), Some((u, p))) = (&self.basic, &c.basic) {
            let user_ok = either_encoding(u, |u| secrets_match(u, user.as_bytes()));
            let pass_ok = either_encoding(p, |p| secrets_match(p, pass.as_bytes()));
            ok |= user_ok & pass_ok;
        }
        ok
    }
}

/// Tries the bytes as UTF-8 and as ISO-8859-1 (each byte one code point), as Arr sends Basic credentials.
fn either_encoding(bytes: &[u8], check: impl Fn(&[u8]) -> bool) -> bool {
    let latin1: String = bytes.iter().map(|&b| char::from(b)).collect();
    check(bytes) | check(latin1.as_bytes())
}

/// Every source, by name.
#[derive(Debug, Default)]
pub struct Sources {
    by_name: BTreeMap<String, Arc<Source>>,
}

impl Sources {
    /// Creates the built-in sources that do not exist yet (with fresh tokens), then merges the config's.
    /// Returns the registry and the names created now.
    pub async fn bootstrap(
        cfg: &Config,
        store: &dyn Store,
    ) -> Result<(Self, Vec<String>), StoreError> {
        let mut created = Vec::new();
        for app in SourceApp::BUILT_IN {
            let overridden = cfg
                .sources
                .iter()
                .any(|s| s.name == app.as_str() && (s.token.is_some() || s.basic.is_some()));
            if overridden {
                continue;
            }
            let row = SourceRow {
                name: app.as_str().into(),
                app: app.as_str().into(),
                token: new_source_token(),
            };
            if store.insert_source(&row).await? {
                created.push(row.name);
            }
        }
        let mut by_name = BTreeMap::new();
        for row in store.list_sources().await? {
            let Some(app) = SourceApp::parse(&row.app) else {
                continue;
            };
            let source = Source {
                name: row.name.clone(),
                app,
                token: Some(row.token),
                basic: None,
                allow_ips: Vec::new(),
            };
            by_name.insert(row.name, Arc::new(source));
        }
        for s in &cfg.sources {
            let stored_token = by_name.get(&s.name).and_then(|b| b.token.clone());
            by_name.insert(s.name.clone(), Arc::new(from_config(s, stored_token)));
        }
        Ok((Self { by_name }, created))
    }

    /// The source of that name.
    pub fn get(&self, name: &str) -> Option<Arc<Source>> {
        self.by_name.get(name).cloned()
    }

    /// All sources, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Source>> {
        self.by_name.values()
    }
}

fn from_config(s: &SourceConfig, stored_token: Option<String>) -> Source {
    let token = match (&s.token, &s.basic) {
        (Some(t), _) => Some(t.expose().to_owned()),
        (None, Some(_)) => None,
        (None, None) => stored_token,
    };
    Source {
        name: s.name.clone(),
        app: s.app,
        token,
        basic: s
            .basic
            .as_ref()
            .map(|b| (b.username.clone(), b.password.expose().to_owned())),
        allow_ips: s
            .allow_ips
            .iter()
            .filter_map(|c| crate::config::parse_cidr(c))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source() -> Source {
        Source {
            name: "radarr".into(),
            app: SourceApp::Radarr,
            token: Some("pässwörd-token".into()),
            basic: Some(("arr".into(), "s3cret".into())),
            allow_ips: vec!["192.168.1.0/24".parse().unwrap()],
        }
    }

    #[test]
    fn tokens_match_in_every_place_and_encoding() {
        let s = source();
        let q = Credentials {
            query_token: Some("pässwörd-token".into()),
            ..Default::default()
        };
        assert!(s.authenticates(&q));
        let latin1: Vec<u8> = "pässwörd-token".chars().map(|c| c as u8).collect();
        let basic = Credentials {
            basic: Some((b"anyone".to_vec(), latin1)),
            ..Default::default()
        };
        assert!(s.authenticates(&basic));
        let pair = Credentials {
            basic: Some((b"arr".to_vec(), b"s3cret".to_vec())),
            ..Default::default()
        };
        assert!(s.authenticates(&pair));
        let wrong_user = Credentials {
            basic: Some((b"bob".to_vec(), b"s3cret".to_vec())),
            ..Default::default()
        };
        assert!(!s.authenticates(&wrong_user));
        assert!(!s.authenticates(&Credentials::default()));
        let wrong = Credentials {
            header_token: Some("nope".into()),
            ..Default::default()
        };
        assert!(!s.authenticates(&wrong));
    }

    #[test]
    fn allow_lists_accept_mapped_addresses() {
        let s = source();
        assert!(s.ip_allowed("192.168.1.20".parse().unwrap()));
        assert!(s.ip_allowed("::ffff:192.168.1.20".parse().unwrap()));
        assert!(!s.ip_allowed("10.0.0.1".parse().unwrap()));
    }
}
