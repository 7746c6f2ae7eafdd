//! Webhooks that users registered through the API: their address, routing rules and signing secrets, with
//! the per-user limit held inside the transaction that creates one.

use super::dialect::{Dialect, SqlStore};
use super::{Page, StoreError, from_millis, millis};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Row as _, Type};
use std::collections::BTreeMap;

/// A registered webhook as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookRow {
    /// `wh_…`; also its destination name in deliveries and destination state.
    pub id: String,
    pub user_id: String,
    pub url: String,
    /// Event-name globs.
    pub events: Vec<String>,
    /// Source names; `None` is every source.
    pub sources: Option<Vec<String>>,
    /// The filter as given (an object of dotted paths to conditions), validated on the way in.
    pub filter: serde_json::Map<String, Value>,
    pub headers: BTreeMap<String, String>,
    pub description: String,
    /// Send in batches (`{max_events, max_wait}`) instead of one request per event.
    pub batch: Option<crate::config::Batch>,
    pub secret: String,
    /// The secret before the last rotation, still signing until `previous_secret_until`.
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl WebhookRow {
    /// The secrets that sign at `now`: the current one, and the previous one during its grace period.
    pub fn signing_secrets(&self, now: DateTime<Utc>) -> Vec<String> {
        let mut secrets = vec![self.secret.clone()];
        if let (Some(previous), Some(until)) = (&self.previous_secret, self.previous_secret_until)
            && until > now
        {
            secrets.push(previous.clone());
        }
        secrets
    }
}

/// Registered webhooks (part of every [`super::Store`]).
#[async_trait]
pub trait Webhooks: Send + Sync + 'static {
    /// Stores a new webhook unless its owner has `limit` already; returns whether it was stored.
    async fn create_webhook(&self, row: &WebhookRow, limit: u32) -> Result<bool, StoreError>;
    /// One webhook by id.
    async fn get_webhook(&self, id: &str) -> Result<Option<WebhookRow>, StoreError>;
    /// Webhooks newest first, one owner's or everyone's, from before the cursor id.
    async fn list_webhooks(
        &self,
        owner: Option<&str>,
        before: Option<&str>,
        limit: u32,
    ) -> Result<Page<WebhookRow>, StoreError>;
    /// Every webhook (the delivery engine's routing table).
    async fn all_webhooks(&self) -> Result<Vec<WebhookRow>, StoreError>;
    /// Writes a changed webhook (every field but its id, owner and creation time); returns whether it exists.
    async fn update_webhook(&self, row: &WebhookRow) -> Result<bool, StoreError>;
    /// Deletes a webhook, failing its deliveries still pending ("its webhook was deleted") in the same
    /// transaction; returns whether one was deleted.
    async fn delete_webhook(&self, id: &str) -> Result<bool, StoreError>;
    /// Changes when any webhook is created, changed or deleted: their count and latest change.
    async fn webhooks_version(&self) -> Result<(i64, i64), StoreError>;
}

const COLUMNS: &str = "id, user_id, url, events, sources, filter, headers, description, batch, secret, \
     previous_secret, previous_secret_until, created_at, updated_at";

#[async_trait]
impl<D> Webhooks for SqlStore<D>
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
    async fn create_webhook(&self, w: &WebhookRow, limit: u32) -> Result<bool, StoreError> {
        let mut tx = D::begin_write(&self.pool).await?;
        if !room_for_one_more(&mut tx, OwnedTable::Webhooks, &w.user_id, limit).await? {
            return Ok(false);
        }
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO webhooks ({COLUMNS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        )))
        .bind(&w.id)
        .bind(&w.user_id)
        .bind(&w.url)
        .bind(json(&w.events))
        .bind(w.sources.as_ref().map(json).as_deref())
        .bind(json(&w.filter))
        .bind(json(&w.headers))
        .bind(&w.description)
        .bind(w.batch.as_ref().map(json).as_deref())
        .bind(&w.secret)
        .bind(w.previous_secret.as_deref())
        .bind(w.previous_secret_until.map(millis))
        .bind(millis(w.created_at))
        .bind(millis(w.updated_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn get_webhook(&self, id: &str) -> Result<Option<WebhookRow>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM webhooks WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(webhook_from_row::<D>).transpose()
    }

    async fn list_webhooks(
        &self,
        owner: Option<&str>,
        before: Option<&str>,
        limit: u32,
    ) -> Result<Page<WebhookRow>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM webhooks WHERE ($1 IS NULL OR user_id = $1) AND id < $2 \
             ORDER BY id DESC LIMIT $3"
        )))
        .bind(owner)
        .bind(before.unwrap_or("~"))
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        let items = rows
            .iter()
            .map(webhook_from_row::<D>)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(items, limit, |w| w.id.clone()))
    }

    async fn all_webhooks(&self) -> Result<Vec<WebhookRow>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM webhooks ORDER BY id"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(webhook_from_row::<D>).collect()
    }

    async fn update_webhook(&self, w: &WebhookRow) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE webhooks SET url = $1, events = $2, sources = $3, filter = $4, headers = $5, \
             description = $6, secret = $7, previous_secret = $8, previous_secret_until = $9, \
             updated_at = $10, batch = $11 WHERE id = $12",
        )
        .bind(&w.url)
        .bind(json(&w.events))
        .bind(w.sources.as_ref().map(json).as_deref())
        .bind(json(&w.filter))
        .bind(json(&w.headers))
        .bind(&w.description)
        .bind(&w.secret)
        .bind(w.previous_secret.as_deref())
        .bind(w.previous_secret_until.map(millis))
        .bind(millis(w.updated_at))
        .bind(w.batch.as_ref().map(json).as_deref())
        .bind(&w.id)
        .execute(&self.pool)
        .await?;
        Ok(D::rows_affected(&done) == 1)
    }

    async fn delete_webhook(&self, id: &str) -> Result<bool, StoreError> {
        let mut tx = D::begin_write(&self.pool).await?;
        fail_pending(&mut tx, "destination = $2", id).await?;
        let done = sqlx::query("DELETE FROM webhooks WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(D::rows_affected(&done) == 1)
    }

    async fn webhooks_version(&self) -> Result<(i64, i64), StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, COALESCE(MAX(updated_at), 0) AS latest FROM webhooks",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok((row.try_get("n")?, row.try_get("latest")?))
    }
}

/// Fails the pending deliveries to the webhooks that `webhooks` (an SQL condition on `deliveries`, its value
/// bound as `$2`) selects, as their webhooks are deleted: they would never be sent.
pub(super) async fn fail_pending<D>(
    tx: &mut sqlx::Transaction<'static, D>,
    webhooks: &str,
    value: &str,
) -> Result<(), StoreError>
where
    D: Dialect,
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    D::Arguments: IntoArguments<D>,
    for<'q> &'q str: Encode<'q, D> + Type<D>,
    for<'q> i64: Encode<'q, D> + Type<D>,
{
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE deliveries SET status = 'failed', next_attempt_at = NULL, lease_owner = NULL, \
         last_error = 'its webhook was deleted', updated_at = $1 WHERE status = 'pending' AND {webhooks}"
    )))
    .bind(millis(Utc::now()))
    .bind(value)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The tables whose rows count against a per-user limit.
#[derive(Debug, Clone, Copy)]
pub(super) enum OwnedTable {
    Webhooks,
    Mocks,
}

/// Whether `user_id` owns fewer than `limit` rows of `table`, counted with the owner's row locked (on
/// PostgreSQL; SQLite's write transaction is exclusive already) so that two creations at once count one
/// after the other. A user that does not exist is an error.
pub(super) async fn room_for_one_more<D>(
    tx: &mut sqlx::Transaction<'static, D>,
    table: OwnedTable,
    user_id: &str,
    limit: u32,
) -> Result<bool, StoreError>
where
    D: Dialect,
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    D::Arguments: IntoArguments<D>,
    for<'q> &'q str: Encode<'q, D> + Type<D>,
    for<'q> i64: Decode<'q, D> + Type<D>,
    usize: ColumnIndex<D::Row>,
{
    let owner = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT id FROM users WHERE id = $1{}",
        D::ROW_LOCK
    )))
    .bind(user_id)
    .fetch_optional(&mut **tx)
    .await?;
    if owner.is_none() {
        return Err(StoreError::Corrupt(format!(
            "user `{user_id}` does not exist"
        )));
    }
    let table = match table {
        OwnedTable::Webhooks => "webhooks",
        OwnedTable::Mocks => "mocks",
    };
    let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM {table} WHERE user_id = $1"
    )))
    .bind(user_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(count < i64::from(limit))
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("lists and maps of strings serialize")
}

fn parse<T: serde::de::DeserializeOwned>(column: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("webhooks.{column}: {e}")))
}

fn webhook_from_row<D: Dialect>(row: &D::Row) -> Result<WebhookRow, StoreError>
where
    for<'q> &'q str: Decode<'q, D> + Type<D> + ColumnIndex<D::Row>,
    for<'q> String: Decode<'q, D> + Type<D>,
    for<'q> i64: Decode<'q, D> + Type<D>,
{
    let sources: Option<String> = row.try_get("sources")?;
    let batch: Option<String> = row.try_get("batch")?;
    Ok(WebhookRow {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        url: row.try_get("url")?,
        events: parse("events", row.try_get("events")?)?,
        sources: sources
            .as_deref()
            .map(|s| parse("sources", s))
            .transpose()?,
        filter: parse("filter", row.try_get("filter")?)?,
        headers: parse("headers", row.try_get("headers")?)?,
        description: row.try_get("description")?,
        batch: batch.as_deref().map(|b| parse("batch", b)).transpose()?,
        secret: row.try_get("secret")?,
        previous_secret: row.try_get("previous_secret")?,
        previous_secret_until: row
            .try_get::<Option<i64>, _>("previous_secret_until")?
            .map(from_millis),
        created_at: from_millis(row.try_get("created_at")?),
        updated_at: from_millis(row.try_get("updated_at")?),
    })
}
