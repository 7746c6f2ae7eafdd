//! Logging in to the admin page with an API key: a log-in row in the store, its random id in an HttpOnly,
//! SameSite=Strict cookie, a CSRF token per log-in that every state-changing request carries (a form field
//! or the `X-CSRF-Token` header), and an end after [`LOGIN_LASTS`] or on log-out.

use super::views::{Layout, render};
use crate::api::{ApiError, AppState, Caller, Changed, record_audit};
use crate::secrets::{hash_api_key, new_login_token, secrets_match};
use crate::storage::{Login, NewLogin, config_key_marker, is_config_key_marker};
use askama::Template;
use axum::extract::ConnectInfo;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use serde_json::Value;
use std::net::SocketAddr;

/// How long a log-in lasts.
pub const LOGIN_LASTS: chrono::TimeDelta = chrono::TimeDelta::hours(12);
/// The log-in cookie.
const COOKIE: &str = "hookarr_login";
/// The cookie of the log-in form's CSRF token (double submit: the form's field must match it).
const FORM_COOKIE: &str = "hookarr_login_form";

/// The value of cookie `name` in `headers`.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, for the whole site; `Secure` when hookarr is served
/// over https.
fn set_cookie(state: &AppState, name: &str, value: &str, max_age_secs: i64) -> HeaderValue {
    let secure = if state.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}"
    ))
    .expect("cookie values are base64url")
}

/// The log-in the request's cookie names, if it holds.
pub async fn login_of(parts: &Parts, state: &AppState) -> Result<Option<Login>, ApiError> {
    let Some(id) = cookie(&parts.headers, COOKIE) else {
        return Ok(None);
    };
    find_login(state, &hash_api_key(id)).await
}

/// The log-in of `id_hash` if it holds, judged against the config's admin key in force now.
async fn find_login(state: &AppState, id_hash: &str) -> Result<Option<Login>, ApiError> {
    let marker = state.admin_key.as_deref().map(config_key_marker);
    Ok(state
        .store
        .find_login(id_hash, chrono::Utc::now(), marker.as_deref())
        .await?)
}

/// A request that may change something (not GET or HEAD) must carry the log-in's CSRF token in
/// `X-CSRF-Token`.
pub fn check_csrf(parts: &Parts, login: &Login) -> Result<(), ApiError> {
    if matches!(parts.method, Method::GET | Method::HEAD) {
        return Ok(());
    }
    let given = parts
        .headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match secrets_match(given.as_bytes(), login.csrf.as_bytes()) {
        true => Ok(()),
        false => Err(ApiError::Forbidden(
            "this request needs the page's CSRF token (`X-CSRF-Token`); reload the page".into(),
        )),
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    csrf: String,
    problem: Option<String>,
}

/// `GET /admin/login`: the form, with a fresh CSRF token in a cookie and a field.
pub async fn form(State(state): State<AppState>) -> Response {
    login_form(&state, None)
}

fn login_form(state: &AppState, problem: Option<String>) -> Response {
    let csrf = new_login_token();
    let page = LoginPage {
        layout: Layout::anonymous("Log in"),
        csrf: csrf.clone(),
        problem,
    };
    let mut response = render(&page);
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(state, FORM_COOKIE, &csrf, 3600),
    );
    response
}

#[derive(serde::Deserialize)]
pub struct LogInForm {
    key: String,
    csrf: String,
}

/// `POST /admin/login`: an API key (admin or user) opens a log-in.
pub async fn log_in(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    form: Result<Form<LogInForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let Ok(Form(form)) = form else {
        return Ok(login_form(
            &state,
            Some("The form came incomplete; log in again.".into()),
        ));
    };
    let expected = cookie(&headers, FORM_COOKIE).unwrap_or("");
    if expected.is_empty() || !secrets_match(form.csrf.as_bytes(), expected.as_bytes()) {
        return Ok(login_form(
            &state,
            Some("The form had expired; log in again.".into()),
        ));
    }
    let address = peer.map(|Extension(ConnectInfo(p))| p.ip().to_canonical());
    let (user, key_id) =
        match crate::api::throttled_authenticate(&state, form.key.trim(), address).await {
            Ok(found) => found,
            Err(ApiError::Unauthorized(_)) => {
                return Ok(login_form(
                    &state,
                    Some("That API key is not valid (revoked, or mistyped).".into()),
                ));
            }
            Err(ApiError::RateLimited {
                retry_after_secs, ..
            }) => {
                let mut page = login_form(
                    &state,
                    Some(format!(
                        "Too many wrong keys from this address: try again in {retry_after_secs} s."
                    )),
                );
                *page.status_mut() = axum::http::StatusCode::TOO_MANY_REQUESTS;
                page.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
                return Ok(page);
            }
            Err(other) => return Err(other),
        };
    let id = new_login_token();
    let now = chrono::Utc::now();
    // A key of the store is named by its id; the config's key (no id) by a hash of it, so that a new
    // `admin.api_key` ends the log-ins of the old one.
    let key_id = key_id.or_else(|| state.admin_key.as_deref().map(config_key_marker));
    let login = NewLogin {
        id_hash: hash_api_key(&id),
        user_id: user.id.clone(),
        key_id,
        csrf: new_login_token(),
        created_at: now,
        expires_at: now + LOGIN_LASTS,
    };
    state.store.create_login(&login).await?;
    let caller = Caller { user, address };
    let detail = serde_json::json!({"key": login.key_id.as_deref().map(key_shown)});
    audit_login(&state, &caller, "login.started", &login.id_hash, detail).await;
    let mut response = Redirect::to("/admin").into_response();
    let headers = response.headers_mut();
    let cookie = set_cookie(&state, COOKIE, &id, LOGIN_LASTS.num_seconds());
    headers.append(header::SET_COOKIE, cookie);
    headers.append(header::SET_COOKIE, set_cookie(&state, FORM_COOKIE, "", 0));
    Ok(response)
}

/// Records a log-in's start or end in the audit log: the log-in is named by the start of its id's hash
/// (never the id, which is the cookie).
async fn audit_login(
    state: &AppState,
    caller: &Caller,
    action: &'static str,
    id_hash: &str,
    detail: Value,
) {
    let id = format!("login_{}", &id_hash[..12.min(id_hash.len())]);
    let target = Changed {
        kind: "login",
        id: &id,
        owner: Some(&caller.user.id),
    };
    record_audit(state, caller, action, target, detail).await;
}

/// How a log-in's key is named in the audit log: its id, or `admin.api_key` for the config's.
fn key_shown(key_id: &str) -> &str {
    match is_config_key_marker(key_id) {
        true => "admin.api_key",
        false => key_id,
    }
}

#[derive(serde::Deserialize)]
pub struct LogOutForm {
    csrf: String,
}

/// `POST /admin/logout`: ends the log-in (the form carries its CSRF token).
pub async fn log_out(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    form: Result<Form<LogOutForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let csrf = form.map(|Form(f)| f.csrf).unwrap_or_default();
    if let Some(id) = cookie(&headers, COOKIE) {
        let id_hash = hash_api_key(id);
        if let Some(login) = find_login(&state, &id_hash).await? {
            if !secrets_match(csrf.as_bytes(), login.csrf.as_bytes()) {
                return Err(ApiError::Forbidden(
                    "the log-out form's CSRF token does not match; reload the page".into(),
                ));
            }
            state.store.delete_login(&id_hash).await?;
            let address = peer.map(|Extension(ConnectInfo(p))| p.ip().to_canonical());
            let caller = Caller {
                user: login.user,
                address,
            };
            audit_login(&state, &caller, "login.ended", &id_hash, Value::Null).await;
        }
    }
    let mut response = Redirect::to("/admin/login").into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, set_cookie(&state, COOKIE, "", 0));
    Ok(response)
}
