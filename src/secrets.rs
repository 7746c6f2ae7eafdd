//! Generated secrets (source tokens, API keys) and their constant-time checks.

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// `n` random bytes from the OS-seeded CSPRNG, base64url without padding.
fn random_b64(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// An admin page log-in id or CSRF token: 32 random bytes, URL-safe.
pub fn new_login_token() -> String {
    random_b64(32)
}

/// A source token: 24 random bytes, URL-safe so it pastes into `?token=`.
pub fn new_source_token() -> String {
    random_b64(24)
}

/// A new API key `hk_…` (32 random bytes) with its storage hash and its display prefix.
pub struct NewApiKey {
    pub key: String,
    pub hash: String,
    pub prefix: String,
}

/// Generates an API key.
pub fn new_api_key() -> NewApiKey {
    let key = format!("hk_{}", random_b64(32));
    NewApiKey {
        hash: hash_api_key(&key),
        prefix: key[..10].to_owned(),
        key,
    }
}

/// The stored form of an API key: hex SHA-256. Keys carry 256 random bits, so a slow hash adds nothing.
pub fn hash_api_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Compares two secrets in time independent of where they differ (and of their lengths, by hashing first).
pub fn secrets_match(given: &[u8], expected: &[u8]) -> bool {
    Sha256::digest(given)
        .ct_eq(&Sha256::digest(expected))
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_hash_stably() {
        let a = new_api_key();
        let b = new_api_key();
        assert_ne!(a.key, b.key);
        assert!(a.key.starts_with("hk_") && a.key.len() > 40);
        assert_eq!(hash_api_key(&a.key), a.hash);
        assert!(a.key.starts_with(&a.prefix));
    }

    #[test]
    fn secrets_compare_exactly() {
        assert!(secrets_match(b"abc", b"abc"));
        assert!(!secrets_match(b"abc", b"abd"));
        assert!(!secrets_match(b"abc", b"abcd"));
    }
}
