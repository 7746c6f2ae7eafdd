//! Request signing for `webhook` destinations: Standard Webhooks v1 and GitHub-style `X-Hub-Signature-256`.
//! Pure functions over the exact bytes sent.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Why a secret cannot sign.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SigningError {
    #[error("a Standard Webhooks secret is `whsec_` followed by base64 of 24–64 random bytes")]
    BadSecret,
}

/// The HMAC key of a `whsec_…` secret: the base64-decoded part after the prefix (padding optional).
pub fn whsec_key(secret: &str) -> Result<Vec<u8>, SigningError> {
    let b64 = secret.strip_prefix("whsec_").unwrap_or(secret);
    let trimmed = b64.trim_end_matches('=');
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(trimmed)
        .map_err(|_| SigningError::BadSecret)
        .and_then(|k| {
            if k.is_empty() {
                Err(SigningError::BadSecret)
            } else {
                Ok(k)
            }
        })
}

/// `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>` for one secret.
pub fn standard_signature(
    secret: &str,
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, SigningError> {
    let key = whsec_key(secret)?;
    let mut mac = HmacSha256::new_from_slice(&key).expect("HMAC takes keys of any length");
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// The `webhook-signature` header value: one entry per secret, space-separated (several during a rotation).
pub fn standard_header(
    secrets: &[String],
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, SigningError> {
    let sigs = secrets
        .iter()
        .map(|s| standard_signature(s, msg_id, timestamp, body))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(sigs.join(" "))
}

/// Whether any `v1,` entry of a `webhook-signature` header is this secret's signature of the message (in
/// constant time). The timestamp is not judged here.
pub fn verify_standard(
    secret: &str,
    msg_id: &str,
    timestamp: &str,
    header: &str,
    body: &[u8],
) -> bool {
    let Ok(ts) = timestamp.parse::<i64>() else {
        return false;
    };
    let Ok(expected) = standard_signature(secret, msg_id, ts, body) else {
        return false;
    };
    header
        .split(' ')
        .filter(|entry| entry.starts_with("v1,"))
        .any(|entry| crate::secrets::secrets_match(entry.as_bytes(), expected.as_bytes()))
}

/// `sha256=<hex HMAC-SHA256(secret as UTF-8, body)>` (GitHub's `X-Hub-Signature-256`).
pub fn hub_signature(secret: &str, body: &[u8]) -> String {
    let mut mac =
        HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A new `whsec_` secret: 24 random bytes.
pub fn new_whsec() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    format!("whsec_{}", STANDARD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpadded_and_unprefixed_secrets_give_the_same_key() {
        let a = whsec_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(a, whsec_key("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap());
        assert_eq!(a.len(), 24);
        assert_eq!(whsec_key("whsec_***"), Err(SigningError::BadSecret));
        assert_eq!(whsec_key("whsec_"), Err(SigningError::BadSecret));
    }

    #[test]
    fn during_a_rotation_both_secrets_sign() {
        let (old, new) = (
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
        );
        let body = b"{\"test\": 2432232314}";
        let header = standard_header(
            &[new.into(), old.into()],
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            body,
        )
        .unwrap();
        let entries: Vec<&str> = header.split(' ').collect();
        assert_eq!(entries.len(), 2);
        assert_eq!(
            entries[1], "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            "the published vector"
        );
        assert_ne!(entries[0], entries[1]);
        assert!(entries[0].starts_with("v1,"));
    }

    #[test]
    fn verification_accepts_any_matching_entry_and_nothing_else() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let (id, ts, body) = (
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            "1614265330",
            b"{\"test\": 2432232314}",
        );
        let good = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        assert!(verify_standard(secret, id, ts, good, body));
        assert!(verify_standard(
            secret,
            id,
            ts,
            &format!("v1,bm9wZQ== {good}"),
            body
        ));
        assert!(!verify_standard(secret, id, ts, "v1,bm9wZQ==", body));
        assert!(!verify_standard(secret, id, "1614265331", good, body));
        assert!(!verify_standard(secret, id, ts, good, b"{}"));
        assert!(!verify_standard(secret, id, ts, "", body));
    }

    #[test]
    fn generated_secrets_round_trip() {
        let s = new_whsec();
        assert!(s.starts_with("whsec_"));
        assert_eq!(whsec_key(&s).unwrap().len(), 24);
        assert_ne!(s, new_whsec());
    }
}
