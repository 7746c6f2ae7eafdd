//! The audit log: one row per change made through the API, written after the change, newest first.

use super::dialect::{Dialect, SqlStore};
use super::{Page, StoreError, from_millis, millis};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Row as _, Type};

/// One thing someone did.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub id: String,
    pub at: DateTime<Utc>,
    pub actor_id: String,
    pub actor_name: String,
    /// `webhook.created`, `key.deleted`, `delivery.retried`, …
    pub action: String,
    /// `webhook`, `key`, `user`, `delivery`, `event`, `destination`, `mock`.
    pub target_kind: String,
    pub target_id: String,
    /// Whose object it was (a user sees what was done to theirs).
    pub owner_id: Option<String>,
    /// The address the request came from.
    pub address: Option<String>,
    /// What changed, never a key or a secret.
    pub detail: serde_json::Value,
}

/// The audit log (part of every [`super::Store`]).
#[async_trait]
pub trait Audit: Send + Sync + 'static {
    async fn record_audit(&self, entry: &AuditEntry) -> Result<(), StoreError>;
    /// Newest first; with `user`, only what they did or what was done to theirs.
    async fn list_audit(
        &self,
        user: Option<&str>,
        before: Option<&str>,
        limit: u32,
    ) -> Result<Page<AuditEntry>, StoreError>;
}

#[async_trait]
impl<D> Audit for SqlStore<D>
where
    D: Dialect,
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    D::Arguments: IntoArguments<D>,
    for<'q> &'q str: Encode<'q, D> + Decode<'q, D> + Type<D> + ColumnIndex<D::Row>,
    for<'q> String: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> i64: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> Option<&'q str>: Encode<'q, D>,
    usize: ColumnIndex<D::Row>,
{
    async fn record_audit(&self, e: &AuditEntry) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO audit_log (id, at, actor_id, actor_name, action, target_kind, target_id, \
             owner_id, address, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&e.id)
        .bind(millis(e.at))
        .bind(&e.actor_id)
        .bind(&e.actor_name)
        .bind(&e.action)
        .bind(&e.target_kind)
        .bind(&e.target_id)
        .bind(e.owner_id.as_deref())
        .bind(e.address.as_deref())
        .bind(e.detail.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn list_audit(
        &self,
        user: Option<&str>,
        before: Option<&str>,
        limit: u32,
    ) -> Result<Page<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, at, actor_id, actor_name, action, target_kind, target_id, owner_id, address, \
             detail FROM audit_log WHERE id < $1 AND ($2 IS NULL OR actor_id = $2 OR owner_id = $2) \
             ORDER BY id DESC LIMIT $3",
        )
        .bind(before.unwrap_or("~"))
        .bind(user)
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        let items = rows
            .iter()
            .map(|row| {
                let detail: String = row.try_get("detail")?;
                Ok(AuditEntry {
                    id: row.try_get("id")?,
                    at: from_millis(row.try_get("at")?),
                    actor_id: row.try_get("actor_id")?,
                    actor_name: row.try_get("actor_name")?,
                    action: row.try_get("action")?,
                    target_kind: row.try_get("target_kind")?,
                    target_id: row.try_get("target_id")?,
                    owner_id: row.try_get("owner_id")?,
                    address: row.try_get("address")?,
                    detail: serde_json::from_str(&detail)
                        .map_err(|e| StoreError::Corrupt(format!("audit_log.detail: {e}")))?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Page::from_overfetch(items, limit, |e| e.id.clone()))
    }
}
