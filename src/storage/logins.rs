//! Log-ins to the admin page ([`crate::admin`]): each is the SHA-256 of the id its cookie holds, the user,
//! the API key it was made with, its CSRF token and when it ends.

use super::accounts::user_from_row;
use super::dialect::{Dialect, SqlStore};
use super::{StoreError, UserRow, from_millis, millis};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Row as _, Type};

/// A new log-in.
#[derive(Debug, Clone)]
pub struct NewLogin {
    pub id_hash: String,
    pub user_id: String,
    /// The API key logged in with: its id, or for the config's `admin.api_key` the
    /// [`config_key_marker`] of that key, so that changing `admin.api_key` ends its log-ins.
    pub key_id: Option<String>,
    pub csrf: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// What a log-in made with the config's `admin.api_key` keeps of it: `config:` and the key's SHA-256, never
/// the key.
pub fn config_key_marker(admin_key: &str) -> String {
    format!("config:{}", crate::secrets::hash_api_key(admin_key))
}

/// Whether a log-in's `key_id` is a [`config_key_marker`] (the config's key) rather than a stored key's id.
pub fn is_config_key_marker(key_id: &str) -> bool {
    key_id.starts_with("config:")
}

/// A log-in that holds: its user and its CSRF token.
#[derive(Debug, Clone)]
pub struct Login {
    pub user: UserRow,
    pub csrf: String,
    pub expires_at: DateTime<Utc>,
}

/// Admin page log-ins (part of every [`super::Store`]).
#[async_trait]
pub trait Logins: Send + Sync + 'static {
    /// Stores a log-in (and forgets those that have ended).
    async fn create_login(&self, login: &NewLogin) -> Result<(), StoreError>;
    /// The log-in of `id_hash` if it has not expired and the key it was made with still holds: an API key
    /// that still exists, or the config's admin key whose [`config_key_marker`] is `config_key` (the key in
    /// force now; `None` when the config has none).
    async fn find_login(
        &self,
        id_hash: &str,
        now: DateTime<Utc>,
        config_key: Option<&str>,
    ) -> Result<Option<Login>, StoreError>;
    /// Ends a log-in (log-out).
    async fn delete_login(&self, id_hash: &str) -> Result<(), StoreError>;
}

#[async_trait]
impl<D> Logins for SqlStore<D>
where
    D: Dialect,
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    D::Arguments: IntoArguments<D>,
    for<'q> &'q str: Encode<'q, D> + Decode<'q, D> + Type<D> + ColumnIndex<D::Row>,
    for<'q> String: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> i64: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> Option<&'q str>: Encode<'q, D>,
{
    async fn create_login(&self, l: &NewLogin) -> Result<(), StoreError> {
        let mut tx = D::begin_write(&self.pool).await?;
        sqlx::query("DELETE FROM admin_logins WHERE expires_at <= $1")
            .bind(millis(l.created_at))
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO admin_logins (id_hash, user_id, key_id, csrf, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&l.id_hash)
        .bind(&l.user_id)
        .bind(l.key_id.as_deref())
        .bind(&l.csrf)
        .bind(millis(l.created_at))
        .bind(millis(l.expires_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn find_login(
        &self,
        id_hash: &str,
        now: DateTime<Utc>,
        config_key: Option<&str>,
    ) -> Result<Option<Login>, StoreError> {
        let row = sqlx::query(
            "SELECT u.id, u.name, u.role, u.created_at, l.csrf, l.expires_at \
             FROM admin_logins l JOIN users u ON u.id = l.user_id \
             WHERE l.id_hash = $1 AND l.expires_at > $2 \
             AND (l.key_id = $3 OR EXISTS (SELECT 1 FROM api_keys k WHERE k.id = l.key_id))",
        )
        .bind(id_hash)
        .bind(millis(now))
        // A log-in from before markers (NULL) matches nothing: it ends, and its user logs in again.
        .bind(config_key.unwrap_or(""))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref()
            .map(|row| {
                Ok(Login {
                    user: user_from_row(row)?,
                    csrf: row.try_get("csrf")?,
                    expires_at: from_millis(row.try_get("expires_at")?),
                })
            })
            .transpose()
    }

    async fn delete_login(&self, id_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM admin_logins WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
