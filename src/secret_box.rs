//! Secrets at rest: what the page and the API store of a destination (its URL, its tokens) is sealed with
//! XChaCha20-Poly1305 under a key kept beside the database (`secret.key` in the data directory, made on
//! first use, readable by its owner only) or given as `HOOKARR_SECRET_KEY`; a copy of the database alone
//! holds no token in clear.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use std::path::{Path, PathBuf};

/// The environment variable that supplies the key (base64 of 32 bytes), instead of the file.
pub const KEY_VARIABLE: &str = "HOOKARR_SECRET_KEY";

/// The prefix of a sealed value: its format's version.
const SEALED_PREFIX: &str = "v1:";

/// Seals and opens values with one key.
#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
    /// Where the key came from, for messages.
    origin: String,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretBox")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

/// Why a key could not be had, or a value not opened.
#[derive(Debug, thiserror::Error)]
pub enum SecretBoxError {
    #[error("{0}")]
    Key(String),
    #[error(
        "a stored secret cannot be opened with the key from {0}: it was sealed with another key (copy the data directory's secret.key from where the database was made, or set HOOKARR_SECRET_KEY to that key)"
    )]
    WrongKey(String),
    #[error("a stored secret is not in a format this version reads")]
    Format,
}

impl SecretBox {
    /// The key from `HOOKARR_SECRET_KEY` (`variable`) when set, else the file `path`, made with a new random
    /// key when it does not exist; `None` for `path` keeps a key for this process only (a database in memory).
    pub fn open_or_create(
        variable: Option<&str>,
        path: Option<&Path>,
    ) -> Result<SecretBox, SecretBoxError> {
        if let Some(text) = variable.map(str::trim).filter(|t| !t.is_empty()) {
            return Self::from_text(text, KEY_VARIABLE);
        }
        let Some(path) = path else {
            return Ok(Self::from_key(
                &random_key(),
                "this process (a database in memory)",
            ));
        };
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_text(text.trim(), &path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = random_key();
                write_key_file(path, &STANDARD.encode(key)).map_err(|e| {
                    SecretBoxError::Key(format!(
                        "cannot write the secret key to {}: {e}; make the data directory writable or set {KEY_VARIABLE}",
                        path.display()
                    ))
                })?;
                tracing::info!(message = "Made the key that seals stored secrets; keep it with the database.", path = %path.display());
                Ok(Self::from_key(&key, &path.display().to_string()))
            }
            Err(e) => Err(SecretBoxError::Key(format!(
                "cannot read the secret key {}: {e}",
                path.display()
            ))),
        }
    }

    fn from_text(text: &str, origin: &str) -> Result<SecretBox, SecretBoxError> {
        let bytes = STANDARD.decode(text).ok().filter(|b| b.len() == 32).ok_or_else(|| {
            SecretBoxError::Key(format!(
                "the secret key from {origin} is not 32 bytes in base64 (make one with `openssl rand -base64 32`)"
            ))
        })?;
        let mut key = [0u8; 32];
        key.copy_from_slice(&bytes);
        Ok(Self::from_key(&key, origin))
    }

    fn from_key(key: &[u8; 32], origin: &str) -> SecretBox {
        SecretBox {
            cipher: XChaCha20Poly1305::new(key.into()),
            origin: origin.to_owned(),
        }
    }

    /// `v1:` and the base64 of a random 24-byte nonce and the ciphertext of `plain`.
    pub fn seal(&self, plain: &str) -> String {
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(&XNonce::from(nonce), plain.as_bytes())
            .expect("XChaCha20-Poly1305 seals any length a string has");
        let mut out = nonce.to_vec();
        out.extend(sealed);
        format!("{SEALED_PREFIX}{}", STANDARD.encode(out))
    }

    /// The plain text of a value [`seal`](Self::seal) made with the same key.
    pub fn open(&self, sealed: &str) -> Result<String, SecretBoxError> {
        let bytes = sealed
            .strip_prefix(SEALED_PREFIX)
            .and_then(|b| STANDARD.decode(b).ok())
            .filter(|b| b.len() > 24)
            .ok_or(SecretBoxError::Format)?;
        let (nonce, ciphertext) = bytes.split_at(24);
        let nonce: [u8; 24] = nonce.try_into().map_err(|_| SecretBoxError::Format)?;
        let plain = self
            .cipher
            .decrypt(&XNonce::from(nonce), ciphertext)
            .map_err(|_| SecretBoxError::WrongKey(self.origin.clone()))?;
        String::from_utf8(plain).map_err(|_| SecretBoxError::Format)
    }
}

fn random_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    key
}

/// Writes a new key file, readable and writable by its owner only, never over an existing one.
fn write_key_file(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

impl SecretBox {
    /// The key of a configuration: `HOOKARR_SECRET_KEY`, else the key file beside its database (`make_key`:
    /// made when missing; else a missing one is a key for this process only, which opens nothing stored).
    pub fn for_config(
        cfg: &crate::config::Config,
        make_key: bool,
    ) -> Result<SecretBox, SecretBoxError> {
        let key_file = cfg.secret_key_file.clone().or_else(|| {
            crate::storage::sqlite_file(cfg.storage.url.expose())
                .ok()
                .flatten()
                .map(|file| file.with_file_name("secret.key"))
        });
        let key_file = key_file.filter(|f| make_key || f.exists());
        Self::open_or_create(
            cfg.secret_key.as_ref().map(|k| k.expose()),
            key_file.as_deref(),
        )
    }

    /// Opens a value that may predate sealing: a sealed one is opened, anything else is taken as it is.
    pub fn open_or_plain(&self, value: &str) -> Result<String, SecretBoxError> {
        if value.starts_with(SEALED_PREFIX) {
            self.open(value)
        } else {
            Ok(value.to_owned())
        }
    }

    /// Whether a stored value is sealed.
    pub fn is_sealed(value: &str) -> bool {
        value.starts_with(SEALED_PREFIX)
    }
}

/// What the key check of a database holds, sealed.
const KEY_CHECK: &str = "hookarr secret key check";

impl SecretBox {
    /// Checks that this key is the one the database's secrets are sealed with (the first process to start
    /// on a database decides it); another key is refused with how to bring the right one.
    pub async fn check_against(
        &self,
        store: &dyn crate::storage::Store,
    ) -> Result<(), anyhow::Error> {
        let check = store.key_check(&self.seal(KEY_CHECK)).await?;
        match self.open(&check) {
            Ok(text) if text == KEY_CHECK => Ok(()),
            _ => Err(anyhow::anyhow!(
                "the database's stored secrets are sealed with another key than the one from {}: copy secret.key from the data directory of the process that first used this database (or set HOOKARR_SECRET_KEY to that key on every process)",
                self.origin
            )),
        }
    }
}

/// Where the key of a database lives: beside its SQLite file, else in the data directory.
pub fn key_file_for(storage_url: &str, data_dir: &Path) -> PathBuf {
    match crate::storage::sqlite_file(storage_url) {
        Ok(Some(file)) => file
            .parent()
            .map(|dir| dir.join("secret.key"))
            .unwrap_or_else(|| PathBuf::from("secret.key")),
        _ => data_dir.join("secret.key"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_with_its_key_and_not_with_another() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        let one = SecretBox::open_or_create(None, Some(&path)).unwrap();
        let sealed = one.seal("https://discord.com/api/webhooks/1/token");
        assert!(!sealed.contains("discord"), "sealed: {sealed}");
        assert_ne!(
            sealed,
            one.seal("https://discord.com/api/webhooks/1/token"),
            "a fresh nonce each time"
        );
        let again = SecretBox::open_or_create(None, Some(&path)).unwrap();
        assert_eq!(
            again.open(&sealed).unwrap(),
            "https://discord.com/api/webhooks/1/token"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let other =
            SecretBox::open_or_create(Some(&STANDARD.encode([7u8; 32])), Some(&path)).unwrap();
        let error = other.open(&sealed).unwrap_err().to_string();
        assert!(error.contains("HOOKARR_SECRET_KEY"), "{error}");
        assert!(matches!(
            one.open("plain text"),
            Err(SecretBoxError::Format)
        ));
    }

    #[test]
    fn a_key_of_the_wrong_shape_is_refused_with_how_to_make_one() {
        let error = SecretBox::open_or_create(Some("c2hvcnQ="), None)
            .unwrap_err()
            .to_string();
        assert!(error.contains("openssl rand -base64 32"), "{error}");
    }
}
