//! Who may use hookarr: the built-in sources with their tokens, users, and the hashes of their API keys.

use super::dialect::{Dialect, SqlStore};
use super::{StoreError, from_millis, millis};
use crate::event::new_prefixed_id;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Row, Type};

/// A built-in source's row.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRow {
    pub name: String,
    pub app: String,
    /// Sealed by the caller ([`crate::secret_box`]); a row from before sealing holds it in clear.
    pub token: String,
    /// CIDR ranges it is accepted from (empty: anywhere).
    pub allow_ips: Vec<String>,
    /// Made through the page or the API (not a built-in): it may be deleted there.
    pub stored: bool,
}

/// A user's role (CONTRACT §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    User,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::User => "user",
        }
    }

    fn parse(s: &str) -> Role {
        if s == "admin" {
            Role::Admin
        } else {
            Role::User
        }
    }
}

/// A user.
#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

/// Sources, users and keys (part of every [`super::Store`]).
#[async_trait]
pub trait Accounts: Send + Sync + 'static {
    /// Built-in sources with their generated tokens.
    async fn list_sources(&self) -> Result<Vec<SourceRow>, StoreError>;
    /// Creates a built-in source unless one of that name exists; returns whether it was created.
    async fn insert_source(&self, row: &SourceRow) -> Result<bool, StoreError>;
    /// Stores a source made through the page or the API; a name taken is a [`StoreError::Conflict`].
    async fn create_stored_source(&self, row: &SourceRow) -> Result<(), StoreError>;
    /// Replaces a source row's allow-list; returns whether the source has a row.
    async fn set_source_allow_ips(
        &self,
        name: &str,
        allow_ips: &[String],
    ) -> Result<bool, StoreError>;
    /// Deletes a source made through the page or the API (never a built-in); returns whether one was.
    async fn delete_stored_source(&self, name: &str) -> Result<bool, StoreError>;
    /// A stored source's token now; `None` for a source with no row.
    async fn source_token(&self, name: &str) -> Result<Option<String>, StoreError>;
    /// Replaces a stored source's token; returns whether the source has a row.
    async fn set_source_token(&self, name: &str, token: &str) -> Result<bool, StoreError>;
    /// Creates a user; a name taken already is a [`StoreError::Conflict`].
    async fn create_user(&self, name: &str, role: Role) -> Result<UserRow, StoreError>;
    /// Creates a user with a fixed id unless it exists (the user the config's admin key acts as).
    async fn ensure_user(&self, user: &UserRow) -> Result<(), StoreError>;
    /// A user by name.
    async fn find_user(&self, name: &str) -> Result<Option<UserRow>, StoreError>;
    /// A user by id.
    async fn get_user(&self, id: &str) -> Result<Option<UserRow>, StoreError>;
    /// Deletes a user with their keys, webhooks and mocks (their webhooks' pending deliveries fail); returns
    /// whether one was deleted.
    async fn delete_user(&self, id: &str) -> Result<bool, StoreError>;
    /// Every user, oldest first.
    async fn list_users(&self) -> Result<Vec<UserRow>, StoreError>;
    /// Stores the hash of a new key for a user; returns the key's id.
    async fn insert_api_key(
        &self,
        user_id: &str,
        key_hash: &str,
        prefix: &str,
        name: &str,
    ) -> Result<KeyRow, StoreError>;
    /// The key with this hash and the user owning it.
    async fn find_key_owner(&self, key_hash: &str) -> Result<Option<KeyOwner>, StoreError>;
    /// Keys newest first: one user's, or everyone's.
    async fn list_api_keys(&self, user_id: Option<&str>) -> Result<Vec<KeyRow>, StoreError>;
    /// Deletes a key (only if `user_id` owns it, when given); returns whether one was deleted.
    /// Deletes a key (of `user_id` when given); returns whose it was, `None` when there was no such key.
    async fn delete_api_key(
        &self,
        id: &str,
        user_id: Option<&str>,
    ) -> Result<Option<String>, StoreError>;
    /// Records that a key was used.
    async fn touch_api_key(&self, id: &str, at: DateTime<Utc>) -> Result<(), StoreError>;
}

/// An API key as listed: never the key, only its first characters.
#[derive(Debug, Clone)]
pub struct KeyRow {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// Who a presented key belongs to.
#[derive(Debug, Clone)]
pub struct KeyOwner {
    pub user: UserRow,
    pub key_id: String,
    pub last_used_at: Option<DateTime<Utc>>,
}

#[async_trait]
impl<D> Accounts for SqlStore<D>
where
    D: Dialect,
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    D::Arguments: IntoArguments<D>,
    for<'q> &'q str: Encode<'q, D> + Decode<'q, D> + Type<D> + ColumnIndex<D::Row>,
    for<'q> &'q [u8]: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> String: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> i64: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> Option<&'q str>: Encode<'q, D>,
    for<'q> Option<i64>: Encode<'q, D>,
    for<'q> Vec<u8>: Decode<'q, D> + Type<D>,
    usize: ColumnIndex<D::Row>,
{
    async fn list_sources(&self) -> Result<Vec<SourceRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, app, token, allow_ips, stored FROM sources ORDER BY created_at, name",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let allow_ips: String = row.try_get("allow_ips")?;
                Ok(SourceRow {
                    name: row.try_get("name")?,
                    app: row.try_get("app")?,
                    token: row.try_get("token")?,
                    allow_ips: serde_json::from_str(&allow_ips)
                        .map_err(|e| StoreError::Corrupt(format!("sources.allow_ips: {e}")))?,
                    stored: row.try_get::<i64, _>("stored")? == 1,
                })
            })
            .collect()
    }

    async fn create_stored_source(&self, s: &SourceRow) -> Result<(), StoreError> {
        let mut tx = D::begin_write(&self.pool).await?;
        let done = sqlx::query(
            "INSERT INTO sources (name, app, token, created_at, allow_ips, stored)              VALUES ($1, $2, $3, $4, $5, 1) ON CONFLICT (name) DO NOTHING",
        )
        .bind(&s.name)
        .bind(&s.app)
        .bind(&s.token)
        .bind(millis(chrono::Utc::now()))
        .bind(serde_json::to_string(&s.allow_ips).expect("a list of strings serializes"))
        .execute(&mut *tx)
        .await?;
        if D::rows_affected(&done) == 0 {
            return Err(StoreError::Conflict(format!("source `{}`", s.name)));
        }
        super::stored_config::bump_generation(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_source_allow_ips(
        &self,
        name: &str,
        allow_ips: &[String],
    ) -> Result<bool, StoreError> {
        let mut tx = D::begin_write(&self.pool).await?;
        let done = sqlx::query("UPDATE sources SET allow_ips = $1 WHERE name = $2")
            .bind(serde_json::to_string(allow_ips).expect("a list of strings serializes"))
            .bind(name)
            .execute(&mut *tx)
            .await?;
        let found = D::rows_affected(&done) == 1;
        if found {
            super::stored_config::bump_generation(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(found)
    }

    async fn delete_stored_source(&self, name: &str) -> Result<bool, StoreError> {
        let mut tx = D::begin_write(&self.pool).await?;
        let done = sqlx::query("DELETE FROM sources WHERE name = $1 AND stored = 1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        let found = D::rows_affected(&done) == 1;
        if found {
            super::stored_config::bump_generation(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(found)
    }

    async fn insert_source(&self, s: &SourceRow) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO sources (name, app, token, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(&s.name)
        .bind(&s.app)
        .bind(&s.token)
        .bind(millis(chrono::Utc::now()))
        .execute(&self.pool)
        .await?;
        Ok(D::rows_affected(&done) == 1)
    }

    async fn source_token(&self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT token FROM sources WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn set_source_token(&self, name: &str, token: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE sources SET token = $1 WHERE name = $2")
            .bind(token)
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(D::rows_affected(&done) == 1)
    }

    async fn create_user(&self, name: &str, role: Role) -> Result<UserRow, StoreError> {
        let user = UserRow {
            id: new_prefixed_id("usr"),
            name: name.to_owned(),
            role,
            created_at: chrono::Utc::now(),
        };
        sqlx::query("INSERT INTO users (id, name, role, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&user.id)
            .bind(&user.name)
            .bind(role.as_str())
            .bind(millis(user.created_at))
            .execute(&self.pool)
            .await
            .map_err(|e| unique_violation(e, format!("a user named `{name}`")))?;
        Ok(user)
    }

    async fn find_user(&self, name: &str) -> Result<Option<UserRow>, StoreError> {
        let row = sqlx::query("SELECT id, name, role, created_at FROM users WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn ensure_user(&self, user: &UserRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO users (id, name, role, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&user.id)
        .bind(&user.name)
        .bind(user.role.as_str())
        .bind(millis(user.created_at))
        .execute(&self.pool)
        .await
        .map_err(|e| unique_violation(e, format!("a user named `{}`", user.name)))?;
        Ok(())
    }

    async fn get_user(&self, id: &str) -> Result<Option<UserRow>, StoreError> {
        let row = sqlx::query("SELECT id, name, role, created_at FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn delete_user(&self, id: &str) -> Result<bool, StoreError> {
        let mut tx = D::begin_write(&self.pool).await?;
        super::webhooks::fail_pending(
            &mut tx,
            "destination IN (SELECT id FROM webhooks WHERE user_id = $2)",
            id,
        )
        .await?;
        let done = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(D::rows_affected(&done) == 1)
    }

    async fn list_users(&self) -> Result<Vec<UserRow>, StoreError> {
        let rows =
            sqlx::query("SELECT id, name, role, created_at FROM users ORDER BY created_at, name")
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(user_from_row).collect()
    }

    async fn insert_api_key(
        &self,
        user_id: &str,
        key_hash: &str,
        prefix: &str,
        name: &str,
    ) -> Result<KeyRow, StoreError> {
        let key = KeyRow {
            id: new_prefixed_id("key"),
            user_id: user_id.to_owned(),
            name: name.to_owned(),
            prefix: prefix.to_owned(),
            created_at: Utc::now(),
            last_used_at: None,
        };
        sqlx::query(
            "INSERT INTO api_keys (id, user_id, key_hash, prefix, name, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&key.id)
        .bind(user_id)
        .bind(key_hash)
        .bind(prefix)
        .bind(name)
        .bind(millis(key.created_at))
        .execute(&self.pool)
        .await
        .map_err(|e| unique_violation(e, "that API key".to_owned()))?;
        Ok(key)
    }

    async fn find_key_owner(&self, key_hash: &str) -> Result<Option<KeyOwner>, StoreError> {
        let row = sqlx::query(
            "SELECT u.id, u.name, u.role, u.created_at, k.id AS key_id, k.last_used_at \
             FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.key_hash = $1",
        )
        .bind(key_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref()
            .map(|row| {
                Ok(KeyOwner {
                    user: user_from_row(row)?,
                    key_id: row.try_get("key_id")?,
                    last_used_at: row
                        .try_get::<Option<i64>, _>("last_used_at")?
                        .map(from_millis),
                })
            })
            .transpose()
    }

    async fn list_api_keys(&self, user_id: Option<&str>) -> Result<Vec<KeyRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, user_id, name, prefix, created_at, last_used_at FROM api_keys \
             WHERE ($1 IS NULL OR user_id = $1) ORDER BY id DESC",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(KeyRow {
                    id: row.try_get("id")?,
                    user_id: row.try_get("user_id")?,
                    name: row.try_get("name")?,
                    prefix: row.try_get("prefix")?,
                    created_at: from_millis(row.try_get("created_at")?),
                    last_used_at: row
                        .try_get::<Option<i64>, _>("last_used_at")?
                        .map(from_millis),
                })
            })
            .collect()
    }

    async fn delete_api_key(
        &self,
        id: &str,
        user_id: Option<&str>,
    ) -> Result<Option<String>, StoreError> {
        let owner = sqlx::query(
            "DELETE FROM api_keys WHERE id = $1 AND ($2 IS NULL OR user_id = $2) RETURNING user_id",
        )
        .bind(id)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        owner
            .map(|row| row.try_get::<String, _>("user_id"))
            .transpose()
            .map_err(Into::into)
    }

    async fn touch_api_key(&self, id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
            .bind(millis(at))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

pub(super) fn user_from_row<R: Row>(row: &R) -> Result<UserRow, StoreError>
where
    for<'q> &'q str: Decode<'q, R::Database> + Type<R::Database> + ColumnIndex<R>,
    for<'q> String: Decode<'q, R::Database> + Type<R::Database>,
    for<'q> i64: Decode<'q, R::Database> + Type<R::Database>,
{
    Ok(UserRow {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: Role::parse(row.try_get::<&str, _>("role")?),
        created_at: from_millis(row.try_get("created_at")?),
    })
}

/// A unique value taken already is a conflict the caller can name (`what`), not a database failure.
fn unique_violation(e: sqlx::Error, what: String) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
        _ => StoreError::Db(e),
    }
}
