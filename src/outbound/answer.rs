//! What a target's answer means (CONTRACT §5): success, try again (when the target says), slow down, fail
//! for good, or the destination is gone — each target type's own reading first (`targets/`), then the
//! generic rules; and the wait a `429` or `503` asks for. Pure functions, tested without clocks or servers.

use crate::config::DestinationType;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// What to do after one attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// 2xx (Slack: body `ok`).
    Success,
    /// Transient: try again on the schedule (`after` overrides the schedule when the target said so).
    Retry { after: Option<Duration> },
    /// 429: pause the destination (all Discord destinations when `global`) until `after` has passed; the
    /// attempt is not counted against the schedule.
    RateLimited { after: Duration, global: bool },
    /// Permanent: no retry.
    Fail,
    /// Permanent and the destination is gone: disable it.
    Disable { reason: String },
}

/// Classifies one HTTP answer. `retry_after` is the parsed `Retry-After` (or Discord's body `retry_after`).
pub fn classify(
    kind: DestinationType,
    status: u16,
    body: &str,
    retry_after: Option<Duration>,
) -> Verdict {
    let success = (200..300).contains(&status);
    if success {
        // Slack answers `200 ok`; anything else in a 2xx body is still accepted (proxies, test receivers).
        return Verdict::Success;
    }
    // What only this type's answers mean (`outbound/targets/`) comes first, then the generic rules.
    let target = kind.target();
    if status == 429 {
        return Verdict::RateLimited {
            after: retry_after.unwrap_or(Duration::from_secs(1)),
            global: target.rate_limit_is_global(body),
        };
    }
    if let Some(reason) = target.gone(status, body) {
        return Verdict::Disable { reason };
    }
    match status {
        410 => Verdict::Disable {
            reason: "the target answered 410 Gone".into(),
        },
        408 | 425 => Verdict::Retry { after: retry_after },
        501 => Verdict::Fail,
        500..=599 => Verdict::Retry { after: retry_after },
        _ => Verdict::Fail,
    }
}

/// The wait a 429 or 503 asks for: Discord's body `retry_after` (float seconds) first, then `Retry-After`
/// (seconds, or an HTTP date), then `X-RateLimit-Reset-After`.
pub fn retry_after(
    header: Option<&str>,
    reset_after: Option<&str>,
    body: &str,
    now: DateTime<Utc>,
) -> Option<Duration> {
    let from_body = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("retry_after").and_then(serde_json::Value::as_f64))
        .filter(|s| s.is_finite() && *s >= 0.0);
    if let Some(secs) = from_body {
        return Some(Duration::from_secs_f64(secs.min(86_400.0)));
    }
    if let Some(h) = header.map(str::trim) {
        if let Ok(secs) = h.parse::<f64>()
            && secs.is_finite()
            && secs >= 0.0
        {
            return Some(Duration::from_secs_f64(secs.min(86_400.0)));
        }
        if let Ok(at) = DateTime::parse_from_rfc2822(h) {
            let wait = at.with_timezone(&Utc) - now;
            return Some(wait.to_std().unwrap_or(Duration::ZERO));
        }
    }
    reset_after
        .and_then(|r| r.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| Duration::from_secs_f64(s.min(86_400.0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use DestinationType::*;

    #[test]
    fn answers_are_classified_as_the_contract_says() {
        assert_eq!(classify(Webhook, 204, "", None), Verdict::Success);
        assert_eq!(classify(Slack, 200, "ok", None), Verdict::Success);
        for s in [408, 425, 500, 502, 503, 504, 599] {
            assert!(
                matches!(classify(Webhook, s, "", None), Verdict::Retry { .. }),
                "{s}"
            );
        }
        for s in [400, 401, 403, 404, 405, 413, 422, 501, 302, 301] {
            assert_eq!(classify(Webhook, s, "", None), Verdict::Fail, "{s}");
        }
        assert!(matches!(
            classify(Discord, 401, "", None),
            Verdict::Disable { .. }
        ));
        assert!(matches!(
            classify(Discord, 404, "", None),
            Verdict::Disable { .. }
        ));
        assert_eq!(classify(Discord, 403, "", None), Verdict::Fail);
        assert!(matches!(
            classify(Slack, 404, "no_service", None),
            Verdict::Disable { .. }
        ));
        assert!(matches!(
            classify(Slack, 410, "channel_is_archived", None),
            Verdict::Disable { .. }
        ));
        assert!(matches!(
            classify(HomeAssistant, 410, "", None),
            Verdict::Disable { .. }
        ));
        assert_eq!(classify(Slack, 400, "invalid_blocks", None), Verdict::Fail);
        assert_eq!(
            classify(
                Discord,
                429,
                r#"{"retry_after": 1.5, "global": true}"#,
                Some(Duration::from_millis(1500))
            ),
            Verdict::RateLimited {
                after: Duration::from_millis(1500),
                global: true
            }
        );
        assert_eq!(
            classify(Slack, 429, r#"{"global": true}"#, None),
            Verdict::RateLimited {
                after: Duration::from_secs(1),
                global: false
            }
        );
    }

    #[test]
    fn retry_after_reads_every_form() {
        let now = DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            retry_after(Some("120"), None, "", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            retry_after(Some("Wed, 21 Oct 2015 07:28:30 GMT"), None, "", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_after(Some("Wed, 21 Oct 2015 07:27:00 GMT"), None, "", now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            retry_after(
                Some("65"),
                None,
                r#"{"retry_after": 64.57, "global": false}"#,
                now
            ),
            Some(Duration::from_secs_f64(64.57))
        );
        assert_eq!(
            retry_after(None, Some("0.25"), "", now),
            Some(Duration::from_millis(250))
        );
        assert_eq!(retry_after(Some("soon"), None, "<html>", now), None);
        assert_eq!(retry_after(Some("-5"), None, "", now), None);
    }
}
