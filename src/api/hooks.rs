//! `POST|PUT /hooks/{source}`: the webhook target of every app (CONTRACT §3).

use super::{ApiError, AppState, forms};
use crate::inbound::{BodyKind, InboundError, SourceApp};
use crate::receive::{InboundRequest, ReceiveError, receive};
use crate::sources::Credentials;
use crate::storage::RawRequest;
use axum::Json;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use base64::Engine;

use std::net::SocketAddr;

/// Headers worth keeping beside the raw body (never `Authorization` or `X-Hookarr-Token`).
const KEPT_HEADERS: [&str; 8] = [
    "user-agent",
    "content-type",
    "content-length",
    "idempotency-key",
    "x-forwarded-for",
    "x-real-ip",
    "forwarded",
    "x-request-id",
];

/// Authenticates, reads and stores one webhook; 202 once the event is committed. A refusal is counted
/// (`hookarr_events_rejected_total`).
pub async fn receive_hook(
    State(state): State<AppState>,
    Path(name): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Received>), ApiError> {
    let known = state.sources.get(&name).is_some();
    let answer = receive_one(state.clone(), &name, peer, query, headers, body).await;
    if let Err(error) = &answer {
        // Unknown names are not labels: anyone can make them up.
        let source = if known { name.as_str() } else { "unknown" };
        crate::metrics::event_rejected(source, rejection_reason(error));
        // Overload and storage faults are told where they happen; the rest is what a user must see.
        if !matches!(
            error,
            ApiError::StorageUnavailable(_) | ApiError::Overloaded(_) | ApiError::Internal(_)
        ) {
            state.hook_refusals.record(&name, known, peer.ip(), error);
        }
    }
    answer
}

/// Why a request from a source stored nothing, as a metric label.
fn rejection_reason(error: &ApiError) -> &'static str {
    match error {
        ApiError::NotFound(_) => "unknown_source",
        ApiError::Forbidden(_) => "ip_not_allowed",
        ApiError::Unauthorized(_) => "unauthorized",
        ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
        ApiError::PayloadTooLarge(_) => "too_large",
        ApiError::RequestTimeout(_) => "timeout",
        ApiError::InvalidPayload(_) | ApiError::Validation { .. } => "unparseable",
        ApiError::StorageUnavailable(_) => "storage_unavailable",
        ApiError::Overloaded(_) => "overloaded",
        _ => "error",
    }
}

async fn receive_one(
    state: AppState,
    name: &str,
    peer: SocketAddr,
    query: Option<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Received>), ApiError> {
    let received_at = chrono::Utc::now();
    let mut source = state.sources.get(name).ok_or_else(|| {
        ApiError::NotFound(format!(
            "no source is named `{name}`; use a Connect URL that hookarr prints at start"
        ))
    })?;
    if !source.ip_allowed(peer.ip()) {
        return Err(ApiError::Forbidden(format!(
            "{} is not in the allow_ips of source `{name}`",
            peer.ip().to_canonical()
        )));
    }
    let presented = credentials(query.as_deref(), &headers);
    // A token that does not match may be one rotated by another process sharing the database.
    if !source.authenticates(&presented)
        && state.sources.refresh(state.store.as_ref(), name).await?
    {
        source = state.sources.get(name).unwrap_or(source);
    }
    if !source.authenticates(&presented) {
        return Err(ApiError::Unauthorized(format!(
            "missing or wrong token for source `{name}`; use the Connect URL hookarr printed (…?token=…), \
             an X-Hookarr-Token header, an Authorization header (`Bearer <token>` or the token alone), or Basic \
             auth"
        )));
    }
    let content_type = header_str(&headers, header::CONTENT_TYPE);
    let Some(kind) = source.app.body_kind(content_type.as_deref()) else {
        return Err(ApiError::UnsupportedMediaType(format!(
            "a {} source cannot read `{}` bodies; {}",
            source.app,
            content_type.unwrap_or_default(),
            match source.app {
                SourceApp::Plex => "Plex sends multipart/form-data with a `payload` part",
                SourceApp::Emby => "send JSON, or a form with the JSON in field `data`",
                _ => "send JSON (application/json)",
            }
        )));
    };
    let limit = state.cfg.server.max_body_bytes;
    let declared = header_str(&headers, header::CONTENT_LENGTH).and_then(|v| v.parse().ok());
    forms::check_declared_length(kind, declared, limit)?;
    // From here on the request is the app's: it is read and stored by a task of its own, which a client
    // going away (a reverse proxy that timed out) does not cancel; what arrived of a body that was cut off is
    // kept in the rejected log. The app's own retry is then a duplicate within the dedupe window.
    let (store, engine) = (state.store.clone(), state.engine.clone());
    let dedupe_window_secs = state.cfg.server.dedupe_window_secs;
    let stored = tokio::spawn(async move {
        let request = read_request(body, kind, content_type, &headers, limit, received_at).await?;
        receive(
            store.as_ref(),
            Some(&engine),
            &source,
            dedupe_window_secs,
            request,
        )
        .await
        .map_err(refusal)
    })
    .await
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("the ingest task failed: {e}")))?;
    let r = match stored {
        Ok(r) => {
            state.ingest_faults.clear();
            r
        }
        Err(error) => {
            if let ApiError::StorageUnavailable(fault) = &error {
                state.ingest_faults.record(*fault);
            }
            return Err(error);
        }
    };
    if !r.duplicate && !r.routed {
        state.engine.notify_ingest();
    }
    let status = if r.duplicate {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    let events = r.events.iter().map(ToString::to_string).collect();
    let received = Received {
        accepted: true,
        events,
        duplicate: r.duplicate,
    };
    Ok((status, Json(received)))
}

/// What a source is answered: `202` with the new events' ids, or `200` for a body already received.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Received {
    /// Always `true`: the body is stored.
    accepted: bool,
    /// The ids of the events the body became (none for a body that names no event worth keeping).
    events: Vec<String>,
    /// The same body came before (a retry of the app's): nothing new was stored.
    duplicate: bool,
}

/// Reads the body as its kind says and gathers what is kept beside it.
async fn read_request(
    body: Body,
    kind: BodyKind,
    content_type: Option<String>,
    headers: &HeaderMap,
    limit: usize,
    received_at: chrono::DateTime<chrono::Utc>,
) -> Result<InboundRequest, ApiError> {
    let (body, unreadable) = match forms::read(body, kind, content_type.as_deref(), limit).await? {
        forms::Read::Json(json) => (json, None),
        forms::Read::Invalid { raw, error } => (raw, Some(error)),
    };
    Ok(InboundRequest {
        user_agent: header_str(headers, header::USER_AGENT),
        idempotency_key: header_str(headers, "idempotency-key").filter(|k| !k.is_empty()),
        raw: RawRequest {
            // What is kept is the app's JSON; a form's own type stays in the headers.
            content_type: match (kind, &unreadable) {
                (BodyKind::FormField { .. } | BodyKind::FormFields, None) => {
                    Some("application/json".to_owned())
                }
                _ => content_type,
            },
            headers: KEPT_HEADERS
                .iter()
                .filter_map(|h| header_str(headers, *h).map(|v| ((*h).to_owned(), v)))
                .collect(),
            body,
        },
        unreadable,
        received_at,
    })
}

/// The answer to a request that was not stored as an event.
fn refusal(error: ReceiveError) -> ApiError {
    match error {
        ReceiveError::Unparseable(error @ InboundError::BodyTimedOut { .. }) => {
            ApiError::RequestTimeout(format!(
                "{error} (what arrived was kept: GET /api/rejected)"
            ))
        }
        ReceiveError::Unparseable(error) => {
            ApiError::InvalidPayload(format!("{error} (the body was kept: GET /api/rejected)"))
        }
        ReceiveError::Store(error) => error.into(),
    }
}

fn header_str(headers: &HeaderMap, name: impl header::AsHeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Every place a token may come in: `?token=`, `X-Hookarr-Token`, `Authorization: Bearer …` (or the bare
/// token), Basic.
fn credentials(query: Option<&str>, headers: &HeaderMap) -> Credentials {
    let query_token = query.and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.into_owned())
    });
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Basic ").map(<[u8]>::trim_ascii))
        .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .and_then(|decoded| {
            let colon = decoded.iter().position(|&b| b == b':')?;
            Some((decoded[..colon].to_vec(), decoded[colon + 1..].to_vec()))
        });
    let authorization_token = header_str(headers, header::AUTHORIZATION).and_then(|v| {
        let v = v.trim();
        let scheme = v.split_once(' ').map(|(s, _)| s);
        match scheme {
            Some(s) if s.eq_ignore_ascii_case("basic") => None,
            Some(s) if s.eq_ignore_ascii_case("bearer") => Some(v[s.len()..].trim().to_owned()),
            _ => Some(v.to_owned()),
        }
    });
    Credentials {
        query_token,
        header_token: header_str(headers, "x-hookarr-token"),
        authorization_token,
        basic,
    }
}
