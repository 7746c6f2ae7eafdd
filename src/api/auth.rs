//! `Authorization: Bearer hk_…` for the API: [`Caller`] for the handler, and [`require`], the check every
//! route gets from its [`Access`] in the route table.

use super::auth_throttle::Verdict;
use super::{ApiError, AppState};
use crate::secrets::{hash_api_key, secrets_match};
use crate::storage::{Role, UserRow};
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

/// An authenticated API caller, and the address they called from.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: UserRow,
    pub address: Option<std::net::IpAddr>,
}

impl Caller {
    pub fn is_admin(&self) -> bool {
        self.user.role == Role::Admin
    }

    /// The owner whose objects a list shows: `None` (everyone's) for an admin, else the caller.
    pub fn scope(&self) -> Option<&str> {
        (!self.is_admin()).then_some(self.user.id.as_str())
    }

    /// Whether the caller may see and change an object owned by `owner_id`.
    pub fn may_touch(&self, owner_id: &str) -> bool {
        self.is_admin() || self.user.id == owner_id
    }
}

/// How stale `api_keys.last_used_at` may get before a request writes it again: one write a minute per key,
/// not one per request.
const LAST_USED_RESOLUTION: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // The route's access check (`routes.rs`) authenticated the request already.
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let address = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|peer| peer.0.ip().to_canonical());
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        if let Some(key) = bearer {
            let (user, _) = throttled_authenticate(state, key, address).await?;
            return Ok(Caller { user, address });
        }
        // The admin page's scripts call the API with the page's log-in cookie.
        if let Some(login) = crate::admin::login_of(parts, state).await? {
            crate::admin::check_csrf(parts, &login)?;
            return Ok(Caller {
                user: login.user,
                address,
            });
        }
        Err(ApiError::Unauthorized(
            "send an API key as `Authorization: Bearer hk_…`".into(),
        ))
    }
}

/// [`authenticate_key`] for a client at `address`, which wrong keys slow down and then refuse for a while
/// ([`super::auth_throttle`]).
pub async fn throttled_authenticate(
    state: &AppState,
    key: &str,
    address: Option<std::net::IpAddr>,
) -> Result<(UserRow, Option<String>), ApiError> {
    let now = std::time::Instant::now();
    let if_wrong_wait = match state.auth_throttle.attempt(address, now) {
        Verdict::Go { if_wrong_wait } => if_wrong_wait,
        Verdict::Refuse { retry_after_secs } => {
            return Err(ApiError::RateLimited {
                message: "too many wrong API keys from this address; wait and try again".into(),
                retry_after_secs,
            });
        }
    };
    let found = authenticate_key(state, key).await;
    match &found {
        Ok(_) => state.auth_throttle.succeeded(address, now),
        Err(ApiError::Unauthorized(_)) => {
            crate::metrics::auth_failure("wrong_key");
            if !if_wrong_wait.is_zero() {
                tokio::time::sleep(if_wrong_wait).await;
            }
        }
        // The key was not judged (the store failed): not a failure of the client's.
        Err(_) => state.auth_throttle.succeeded(address, now),
    }
    found
}

/// The user an API key belongs to, and the key's id (`None` for the config's `admin.api_key`).
pub async fn authenticate_key(
    state: &AppState,
    key: &str,
) -> Result<(UserRow, Option<String>), ApiError> {
    if let Some(configured) = &state.admin_key
        && secrets_match(key.as_bytes(), configured.as_bytes())
    {
        return Ok((state.config_admin.clone(), None));
    }
    match state.store.find_key_owner(&hash_api_key(key)).await? {
        Some(owner) => {
            let now = chrono::Utc::now();
            if owner
                .last_used_at
                .is_none_or(|t| now - t >= LAST_USED_RESOLUTION)
            {
                // Off the request's path: a busy or failing database must not cost an API call.
                let store = state.store.clone();
                let key_id = owner.key_id.clone();
                tokio::spawn(async move {
                    if let Err(e) = store.touch_api_key(&key_id, now).await {
                        e.log("Recording when an API key was used failed.");
                    }
                });
            }
            Ok((owner.user, Some(owner.key_id)))
        }
        None => Err(ApiError::Unauthorized(
            "that API key is not valid (revoked, or mistyped)".into(),
        )),
    }
}

/// Who may call a route (the route table's column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: health checks, the OpenAPI document, mock receivers.
    Anyone,
    /// A source's token (`/hooks/{source}`), checked by the route itself.
    Source,
    /// Any user; what they see is limited to what their role allows.
    User,
    /// Any user, for their own objects (someone else's answer 404); an admin for everyone's.
    Owner,
    /// Admins only.
    Admin,
    /// Anyone connecting from this machine (loopback), else admins (`/metrics`).
    LoopbackOrAdmin,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Anyone => "anyone",
            Access::Source => "source",
            Access::User => "user",
            Access::Owner => "owner",
            Access::Admin => "admin",
            Access::LoopbackOrAdmin => "loopback or admin",
        }
    }
}

/// Whether the request came over loopback (IPv4, IPv6, or IPv4-mapped IPv6); unknown is not.
fn from_this_machine(req: &axum::extract::Request) -> bool {
    req.extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .is_some_and(|peer| peer.0.ip().to_canonical().is_loopback())
}

/// Authenticates a request as its route's [`Access`] says, before anything else of it is read; the
/// [`Caller`] it finds is kept for the handler.
pub async fn require(
    axum::extract::State((state, access)): axum::extract::State<(AppState, Access)>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if matches!(access, Access::Anyone | Access::Source) {
        return next.run(req).await;
    }
    if access == Access::LoopbackOrAdmin && from_this_machine(&req) {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let caller = match Caller::from_request_parts(&mut parts, &state).await {
        Ok(caller) => caller,
        Err(e) => return e.into_response(),
    };
    if matches!(access, Access::Admin | Access::LoopbackOrAdmin) && !caller.is_admin() {
        return ApiError::Forbidden("this route needs an admin API key".into()).into_response();
    }
    parts.extensions.insert(caller);
    next.run(axum::extract::Request::from_parts(parts, body))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_peers_count_as_this_machine() {
        let with_peer = |peer: Option<&str>| {
            let mut req = axum::extract::Request::new(axum::body::Body::empty());
            if let Some(peer) = peer {
                let addr: std::net::SocketAddr = peer.parse().unwrap();
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(addr));
            }
            from_this_machine(&req)
        };
        assert!(with_peer(Some("127.0.0.1:5000")));
        assert!(with_peer(Some("127.8.9.1:5000")));
        assert!(with_peer(Some("[::1]:5000")));
        assert!(with_peer(Some("[::ffff:127.0.0.1]:5000")));
        assert!(!with_peer(Some("192.168.1.20:5000")));
        assert!(!with_peer(Some("[::ffff:10.0.0.1]:5000")));
        assert!(!with_peer(Some("[2001:db8::1]:5000")));
        assert!(!with_peer(None), "no known peer is not this machine");
    }
}
