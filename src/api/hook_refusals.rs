//! Requests to `/hooks/{source}` that stored nothing — a wrong token (401), an address not allowed (403), a
//! mistyped source (404), a body that is not the app's (400, 415) — are what a user meets when an app's
//! Test button fails. Each is logged (a warning, at most ten a second with the rest counted) with the
//! source and the peer's address, and the last one of each source is kept for `/api/sources` and its card on
//! the admin page; the last request to a name no source has is kept apart (such names are anyone's to
//! make up, so they are never a label or a key of their own).

use super::ApiError;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// One refused request.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Refusal {
    pub at: DateTime<Utc>,
    /// The HTTP status it was answered.
    pub status: u16,
    /// What hookarr told the app.
    pub reason: String,
    /// Who sent it.
    pub address: String,
    /// For a name no source has: the name, cut to 64 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// The last refusal of each source, and of unknown names.
#[derive(Debug, Default)]
pub struct HookRefusals {
    by_source: Mutex<HashMap<String, Refusal>>,
    unknown: Mutex<Option<Refusal>>,
}

/// The longest reason kept and logged.
const REASON_CHARS: usize = 300;

/// A refusal's reason as it is logged and kept: what it says may quote the request (a mistyped source's
/// name, a value the body held), so control characters (a forged log line) become spaces and it is cut
/// short.
fn shown_reason(reason: &str) -> String {
    let clean: String = reason
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    crate::outbound::templates::truncate_chars(&clean, REASON_CHARS)
}

impl HookRefusals {
    /// Logs and keeps a refusal of a request to `name` from `peer`; `known`: whether a source has that name.
    pub fn record(&self, name: &str, known: bool, peer: IpAddr, error: &ApiError) {
        let status = error.status().as_u16();
        let reason = shown_reason(&error.to_string());
        let address = peer.to_canonical().to_string();
        let shown_name: String = name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            .take(64)
            .collect();
        crate::telemetry::refusal(|| {
            tracing::warn!(
                message = "A request to a source was refused.",
                source = %if known { shown_name.as_str() } else { "(unknown)" },
                name = %shown_name,
                %address,
                status,
                %reason,
            );
        });
        let refusal = Refusal {
            at: Utc::now(),
            status,
            reason,
            address,
            source: (!known).then_some(shown_name),
        };
        match known {
            true => {
                let mut by_source = self.by_source.lock().expect("refusals lock");
                by_source.insert(name.to_owned(), refusal);
            }
            false => *self.unknown.lock().expect("refusals lock") = Some(refusal),
        }
    }

    /// The last refusal of source `name`.
    pub fn last_of(&self, name: &str) -> Option<Refusal> {
        self.by_source
            .lock()
            .expect("refusals lock")
            .get(name)
            .cloned()
    }

    /// The last request to a name no source has.
    pub fn last_unknown(&self) -> Option<Refusal> {
        self.unknown.lock().expect("refusals lock").clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_request_put_in_a_reason_forges_no_log_line_and_is_cut_short() {
        let refusals = HookRefusals::default();
        let name = format!("radar\nINFO forged line{}", "x".repeat(5000));
        let error = ApiError::NotFound(format!("no source is named `{name}`"));
        refusals.record(&name, false, "192.0.2.1".parse().unwrap(), &error);
        let kept = refusals.last_unknown().unwrap();
        assert!(!kept.reason.contains('\n'), "{}", kept.reason);
        assert!(kept.reason.chars().count() <= REASON_CHARS);
        assert!(
            kept.reason
                .starts_with("no source is named `radar INFO forged line")
        );
        assert_eq!(kept.source.as_deref().map(str::len), Some(64));
    }
}
