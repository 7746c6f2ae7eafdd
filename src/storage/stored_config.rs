//! Configuration made in the page or the API, kept in the database: destinations (their keys sealed by the
//! caller, [`crate::secret_box`]), each with a version that a save must name, and one generation that every
//! change bumps in the same transaction, so that every process sharing the database notices a change.

use super::dialect::{Dialect, SqlStore};
use super::{StoreError, from_millis, millis};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Row as _, Type};

/// One stored destination; `spec` is its keys as JSON, sealed.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRow {
    pub name: String,
    pub kind: String,
    pub sealed_spec: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Who saved it last (a user's name, or `hookarr config import`).
    pub updated_by: String,
}

/// What a save of a stored destination did.
#[derive(Debug, Clone, PartialEq)]
pub enum Saved {
    /// Written; its new version.
    Written(i64),
    /// No such destination.
    Missing,
    /// Someone saved it since the version named: nothing written; the version it is at.
    Stale(i64),
}

/// Stored configuration (part of every [`super::Store`]).
#[async_trait]
pub trait StoredConfig: Send + Sync + 'static {
    /// Every stored destination, by name.
    async fn stored_destinations(&self) -> Result<Vec<StoredRow>, StoreError>;
    /// Stores a new destination (version 1); a name taken already is a [`StoreError::Conflict`].
    async fn insert_stored_destination(&self, row: &StoredRow) -> Result<(), StoreError>;
    /// Replaces a stored destination's kind and spec when it is still at `expected` (any version when
    /// `None`).
    async fn update_stored_destination(
        &self,
        row: &StoredRow,
        expected: Option<i64>,
    ) -> Result<Saved, StoreError>;
    /// Deletes a stored destination and ends its pending deliveries `cancelled` in the same transaction;
    /// returns how many were cancelled, or `None` when there was no such destination.
    async fn delete_stored_destination(&self, name: &str) -> Result<Option<u64>, StoreError>;
    /// Bumped by every change to stored configuration.
    async fn config_generation(&self) -> Result<i64, StoreError>;
    /// The value sealed with the key of this database's secrets, storing `candidate` first when there is
    /// none (the first process to start decides the key).
    async fn key_check(&self, candidate: &str) -> Result<String, StoreError>;
}

const COLUMNS: &str = "name, kind, spec, version, created_at, updated_at, updated_by";

#[async_trait]
impl<D> StoredConfig for SqlStore<D>
where
    D: Dialect,
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    D::Arguments: IntoArguments<D>,
    for<'q> &'q str: Encode<'q, D> + Decode<'q, D> + Type<D> + ColumnIndex<D::Row>,
    for<'q> String: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> i64: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> Option<i64>: Encode<'q, D>,
    for<'q> Option<String>: Decode<'q, D>,
    usize: ColumnIndex<D::Row>,
{
    async fn stored_destinations(&self) -> Result<Vec<StoredRow>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM stored_destinations ORDER BY name"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StoredRow {
                    name: row.try_get("name")?,
                    kind: row.try_get("kind")?,
                    sealed_spec: row.try_get("spec")?,
                    version: row.try_get("version")?,
                    created_at: from_millis(row.try_get("created_at")?),
                    updated_at: from_millis(row.try_get("updated_at")?),
                    updated_by: row.try_get("updated_by")?,
                })
            })
            .collect()
    }

    async fn insert_stored_destination(&self, row: &StoredRow) -> Result<(), StoreError> {
        let mut tx = D::begin_write(&self.pool).await?;
        let inserted = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO stored_destinations ({COLUMNS}) VALUES ($1, $2, $3, 1, $4, $4, $5) \
             ON CONFLICT (name) DO NOTHING"
        )))
        .bind(&row.name)
        .bind(&row.kind)
        .bind(&row.sealed_spec)
        .bind(millis(row.created_at))
        .bind(&row.updated_by)
        .execute(&mut *tx)
        .await?;
        if D::rows_affected(&inserted) == 0 {
            return Err(StoreError::Conflict(format!("destination `{}`", row.name)));
        }
        bump_generation(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn update_stored_destination(
        &self,
        row: &StoredRow,
        expected: Option<i64>,
    ) -> Result<Saved, StoreError> {
        let mut tx = D::begin_write(&self.pool).await?;
        let updated: Option<i64> = sqlx::query_scalar(
            "UPDATE stored_destinations SET kind = $2, spec = $3, version = version + 1, \
             updated_at = $4, updated_by = $5 WHERE name = $1 AND ($6 IS NULL OR version = $6) \
             RETURNING version",
        )
        .bind(&row.name)
        .bind(&row.kind)
        .bind(&row.sealed_spec)
        .bind(millis(row.updated_at))
        .bind(&row.updated_by)
        .bind(expected)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(version) = updated else {
            let current: Option<i64> =
                sqlx::query_scalar("SELECT version FROM stored_destinations WHERE name = $1")
                    .bind(&row.name)
                    .fetch_optional(&mut *tx)
                    .await?;
            return Ok(current.map_or(Saved::Missing, Saved::Stale));
        };
        bump_generation(&mut tx).await?;
        tx.commit().await?;
        Ok(Saved::Written(version))
    }

    async fn delete_stored_destination(&self, name: &str) -> Result<Option<u64>, StoreError> {
        let mut tx = D::begin_write(&self.pool).await?;
        let deleted = sqlx::query("DELETE FROM stored_destinations WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        if D::rows_affected(&deleted) == 0 {
            return Ok(None);
        }
        let cancelled = sqlx::query(
            "UPDATE deliveries SET status = 'cancelled', next_attempt_at = NULL, lease_owner = NULL, \
             last_error = 'its destination was deleted', updated_at = $1 \
             WHERE status = 'pending' AND destination = $2",
        )
        .bind(millis(Utc::now()))
        .bind(name)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM destination_state WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        bump_generation(&mut tx).await?;
        tx.commit().await?;
        Ok(Some(D::rows_affected(&cancelled)))
    }

    async fn key_check(&self, candidate: &str) -> Result<String, StoreError> {
        sqlx::query(
            "UPDATE config_generation SET key_check = $1 WHERE id = 1 AND key_check IS NULL",
        )
        .bind(candidate)
        .execute(&self.pool)
        .await?;
        let check: Option<String> =
            sqlx::query_scalar("SELECT key_check FROM config_generation WHERE id = 1")
                .fetch_one(&self.pool)
                .await?;
        Ok(check.unwrap_or_else(|| candidate.to_owned()))
    }

    async fn config_generation(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT generation FROM config_generation WHERE id = 1")
                .fetch_one(&self.pool)
                .await?,
        )
    }
}

/// Counts one more change of stored configuration, inside the change's transaction.
pub(super) async fn bump_generation<D>(
    tx: &mut sqlx::Transaction<'static, D>,
) -> Result<(), StoreError>
where
    D: Dialect,
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    D::Arguments: IntoArguments<D>,
{
    sqlx::query("UPDATE config_generation SET generation = generation + 1 WHERE id = 1")
        .execute(&mut **tx)
        .await?;
    Ok(())
}
