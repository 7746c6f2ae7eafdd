//! What a mock may answer with, and what every mock answer carries, so that nothing a user puts in a mock
//! runs script or sets state in hookarr's own origin: a mock is served under `/mock/{id}`, beside the admin
//! page, and an admin may open its link.
//!
//! Two walls: a mock's headers are an allow-list (what a receiver's retries and parsers look at — the status,
//! `Retry-After`, rate-limit headers, a JSON or text `Content-Type`, `X-…` headers), checked when it is made
//! and again when it answers (a mock stored before the list existed); and every answer is a sandboxed,
//! unsniffable, uncacheable document whatever its body, so even a body that looks like a page is inert.

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};

/// Headers a mock may answer with, besides `X-…` and `RateLimit…` ones.
const ALLOWED: &[&str] = &[
    "retry-after",
    "content-type",
    "content-language",
    "etag",
    "last-modified",
    "expires",
    "age",
    "vary",
];

/// `X-…` headers that would change how a browser treats hookarr's origin.
const DENIED_X: &[&str] = &[
    "x-content-type-options",
    "x-frame-options",
    "x-xss-protection",
    "x-dns-prefetch-control",
    "x-permitted-cross-domain-policies",
    "x-download-options",
    "x-ua-compatible",
];

/// The media types a mock's `Content-Type` may name: data, never a document a browser would run.
const DATA_TYPES: &[&str] = &[
    "application/json",
    "text/plain",
    "application/octet-stream",
    "application/x-www-form-urlencoded",
    "text/csv",
];

/// Why a mock may not answer with this header, or `None` when it may.
pub fn refusal(name: &str, value: &str) -> Option<String> {
    if HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Some("not a valid header name".into());
    }
    if !crate::outbound::is_visible_header_value(value) {
        return Some("not a valid header value (visible ASCII only)".into());
    }
    let lower = name.to_ascii_lowercase();
    let allowed = ALLOWED.contains(&lower.as_str())
        || lower.starts_with("ratelimit")
        || (lower.starts_with("x-") && !DENIED_X.contains(&lower.as_str()));
    if !allowed {
        return Some(format!(
            "a mock may not answer `{name}`: it is served from hookarr's own origin. It may answer \
             Retry-After, Content-Type (JSON or text), RateLimit-…, X-… (but not X-Frame-Options and the like), \
             ETag, Last-Modified, Expires, Age, Vary and Content-Language"
        ));
    }
    if lower == "content-type" && !is_data_type(value) {
        return Some(format!(
            "a mock's Content-Type is one of {}, optionally with parameters (`; charset=utf-8`): never a \
             page a browser would run",
            DATA_TYPES.join(", ")
        ));
    }
    None
}

/// Whether a `Content-Type` names a data type: one of [`DATA_TYPES`] or a `+json` type.
fn is_data_type(value: &str) -> bool {
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    DATA_TYPES.contains(&essence.as_str())
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Puts the mock's own headers on its answer (those still allowed), then the headers that make any answer
/// inert in a browser: sandboxed with no sources (no script, an opaque origin: no cookies, no same-origin
/// requests), never sniffed into a page, never framed, never cached, no referrer.
pub fn apply(headers: &mut HeaderMap, own: &std::collections::BTreeMap<String, String>) {
    for (name, value) in own {
        if refusal(name, value).is_some() {
            continue;
        }
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.insert(name, value);
        }
    }
    let forced: [(HeaderName, &'static str); 6] = [
        (
            header::CONTENT_SECURITY_POLICY,
            "sandbox; default-src 'none'; frame-ancestors 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            HeaderName::from_static("cross-origin-resource-policy"),
            "same-origin",
        ),
    ];
    for (name, value) in forced {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers.remove(header::SET_COOKIE);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn what_a_receiver_needs_is_allowed() {
        for (name, value) in [
            ("Retry-After", "30"),
            ("Content-Type", "application/json; charset=utf-8"),
            ("content-type", "application/problem+json"),
            ("Content-Type", "text/plain"),
            ("X-RateLimit-Remaining", "0"),
            ("RateLimit-Reset", "2"),
            ("X-Request-Id", "abc 123"),
        ] {
            assert_eq!(refusal(name, value), None, "{name}: {value}");
        }
    }

    #[test]
    fn what_could_act_in_hookarrs_origin_is_refused() {
        for (name, value) in [
            ("Set-Cookie", "hookarr_login=planted; Path=/"),
            ("Content-Type", "text/html"),
            ("Content-Type", "TEXT/HTML; charset=utf-8"),
            ("Content-Type", "image/svg+xml"),
            ("Content-Type", "application/xhtml+xml"),
            ("Content-Type", "text/xml"),
            ("Content-Security-Policy", "default-src *"),
            ("Location", "https://example.org/"),
            ("Refresh", "0; url=https://example.org/"),
            ("Link", "</x.css>; rel=stylesheet"),
            ("Access-Control-Allow-Origin", "*"),
            ("Clear-Site-Data", "\"cookies\""),
            ("Content-Disposition", "inline"),
            ("WWW-Authenticate", "Basic realm=\"hookarr\""),
            ("X-Frame-Options", "ALLOWALL"),
            ("X-Content-Type-Options", "sniff"),
            ("Strict-Transport-Security", "max-age=0"),
            ("Service-Worker-Allowed", "/"),
        ] {
            assert!(refusal(name, value).is_some(), "{name}: {value}");
        }
    }

    #[test]
    fn values_are_visible_ascii_with_no_space_at_the_ends() {
        for value in ["a\tb", "caf\u{e9}", " 30", "30 ", "a\u{7f}"] {
            assert!(refusal("Retry-After", value).is_some(), "{value:?}");
        }
        assert!(refusal("X-Ok", "two words").is_none());
    }

    #[test]
    fn a_stored_mock_from_before_the_list_is_served_inert() {
        let own: BTreeMap<String, String> = [
            ("Content-Type", "text/html"),
            ("Set-Cookie", "a=b"),
            ("Content-Security-Policy", "default-src *"),
            ("Retry-After", "5"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        apply(&mut headers, &own);
        assert_eq!(headers[header::CONTENT_TYPE], "text/plain");
        assert!(headers.get(header::SET_COOKIE).is_none());
        assert!(
            headers[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap()
                .starts_with("sandbox;")
        );
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(headers[header::RETRY_AFTER], "5");
    }
}
