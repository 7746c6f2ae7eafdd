//! Mock receivers and the requests they recorded (each keeps its latest [`MOCK_REQUESTS_KEPT`]).

use super::dialect::{Dialect, SqlStore};
use super::webhooks::{OwnedTable, room_for_one_more};
use super::{StoreError, from_millis, millis};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Row as _, Type};
use std::collections::BTreeMap;

/// How many requests a mock keeps (older ones are dropped as new ones arrive).
pub const MOCK_REQUESTS_KEPT: i64 = 100;

/// A mock receiver: who owns it and how it answers.
#[derive(Debug, Clone, PartialEq)]
pub struct MockRow {
    /// `mock_…`: its URL is `/mock/{id}`.
    pub id: String,
    pub user_id: String,
    /// A `whsec_…` secret to check Standard Webhooks signatures with.
    pub secret: Option<String>,
    pub status: u16,
    pub delay_ms: u64,
    pub body: String,
    pub headers: BTreeMap<String, String>,
    pub created_at: DateTime<Utc>,
}

/// One request a mock received.
#[derive(Debug, Clone, PartialEq)]
pub struct MockRequest {
    pub id: String,
    pub mock_id: String,
    pub received_at: DateTime<Utc>,
    pub method: String,
    pub query: String,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
    /// `valid`, `invalid`, `missing` (no signature headers) or `not_checked` (the mock has no secret).
    pub signature: String,
    /// The status it was answered with.
    pub status: u16,
}

/// Mock receivers (part of every [`super::Store`]).
#[async_trait]
pub trait Mocks: Send + Sync + 'static {
    /// Stores a new mock unless its owner has `limit` already; returns whether it was stored.
    async fn create_mock(&self, row: &MockRow, limit: u32) -> Result<bool, StoreError>;
    async fn get_mock(&self, id: &str) -> Result<Option<MockRow>, StoreError>;
    /// One owner's mocks or everyone's, newest first.
    async fn list_mocks(&self, owner: Option<&str>) -> Result<Vec<MockRow>, StoreError>;
    /// Changes how a mock answers; returns whether it exists.
    async fn update_mock(&self, row: &MockRow) -> Result<bool, StoreError>;
    async fn delete_mock(&self, id: &str) -> Result<bool, StoreError>;
    /// Records a request, dropping the mock's oldest beyond [`MOCK_REQUESTS_KEPT`].
    async fn record_mock_request(&self, req: &MockRequest) -> Result<(), StoreError>;
    /// A mock's requests, newest first.
    async fn mock_requests(
        &self,
        mock_id: &str,
        limit: u32,
    ) -> Result<Vec<MockRequest>, StoreError>;
}

const MOCK_COLUMNS: &str = "id, user_id, secret, status, delay_ms, body, headers, created_at";

#[async_trait]
impl<D> Mocks for SqlStore<D>
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
    async fn create_mock(&self, m: &MockRow, limit: u32) -> Result<bool, StoreError> {
        let mut tx = D::begin_write(&self.pool).await?;
        if !room_for_one_more(&mut tx, OwnedTable::Mocks, &m.user_id, limit).await? {
            return Ok(false);
        }
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO mocks ({MOCK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        )))
        .bind(&m.id)
        .bind(&m.user_id)
        .bind(m.secret.as_deref())
        .bind(i64::from(m.status))
        .bind(m.delay_ms as i64)
        .bind(&m.body)
        .bind(json(&m.headers))
        .bind(millis(m.created_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn get_mock(&self, id: &str) -> Result<Option<MockRow>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {MOCK_COLUMNS} FROM mocks WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(mock_from_row::<D>).transpose()
    }

    async fn list_mocks(&self, owner: Option<&str>) -> Result<Vec<MockRow>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {MOCK_COLUMNS} FROM mocks WHERE ($1 IS NULL OR user_id = $1) ORDER BY id DESC"
        )))
        .bind(owner)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(mock_from_row::<D>).collect()
    }

    async fn update_mock(&self, m: &MockRow) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE mocks SET secret = $1, status = $2, delay_ms = $3, body = $4, headers = $5 \
             WHERE id = $6",
        )
        .bind(m.secret.as_deref())
        .bind(i64::from(m.status))
        .bind(m.delay_ms as i64)
        .bind(&m.body)
        .bind(json(&m.headers))
        .bind(&m.id)
        .execute(&self.pool)
        .await?;
        Ok(D::rows_affected(&done) == 1)
    }

    async fn delete_mock(&self, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM mocks WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(D::rows_affected(&done) == 1)
    }

    async fn record_mock_request(&self, r: &MockRequest) -> Result<(), StoreError> {
        let mut tx = D::begin_write(&self.pool).await?;
        sqlx::query(
            "INSERT INTO mock_requests (id, mock_id, received_at, method, query, headers, body, \
             signature, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&r.id)
        .bind(&r.mock_id)
        .bind(millis(r.received_at))
        .bind(&r.method)
        .bind(&r.query)
        .bind(json(&r.headers))
        .bind(r.body.as_slice())
        .bind(&r.signature)
        .bind(i64::from(r.status))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM mock_requests WHERE mock_id = $1 AND id NOT IN \
             (SELECT id FROM mock_requests WHERE mock_id = $1 ORDER BY id DESC LIMIT $2)",
        )
        .bind(&r.mock_id)
        .bind(MOCK_REQUESTS_KEPT)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn mock_requests(
        &self,
        mock_id: &str,
        limit: u32,
    ) -> Result<Vec<MockRequest>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, mock_id, received_at, method, query, headers, body, signature, status \
             FROM mock_requests WHERE mock_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(mock_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let headers: String = row.try_get("headers")?;
                Ok(MockRequest {
                    id: row.try_get("id")?,
                    mock_id: row.try_get("mock_id")?,
                    received_at: from_millis(row.try_get("received_at")?),
                    method: row.try_get("method")?,
                    query: row.try_get("query")?,
                    headers: serde_json::from_str(&headers)
                        .map_err(|e| StoreError::Corrupt(format!("mock_requests.headers: {e}")))?,
                    body: row.try_get("body")?,
                    signature: row.try_get("signature")?,
                    status: u16::try_from(row.try_get::<i64, _>("status")?).unwrap_or(0),
                })
            })
            .collect()
    }
}

fn json(headers: &BTreeMap<String, String>) -> String {
    serde_json::to_string(headers).expect("a map of strings serializes")
}

fn mock_from_row<D: Dialect>(row: &D::Row) -> Result<MockRow, StoreError>
where
    for<'q> &'q str: Decode<'q, D> + Type<D> + ColumnIndex<D::Row>,
    for<'q> String: Decode<'q, D> + Type<D>,
    for<'q> i64: Decode<'q, D> + Type<D>,
{
    let headers: String = row.try_get("headers")?;
    Ok(MockRow {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        secret: row.try_get("secret")?,
        status: u16::try_from(row.try_get::<i64, _>("status")?).unwrap_or(200),
        delay_ms: row.try_get::<i64, _>("delay_ms")?.max(0) as u64,
        body: row.try_get("body")?,
        headers: serde_json::from_str(&headers)
            .map_err(|e| StoreError::Corrupt(format!("mocks.headers: {e}")))?,
        created_at: from_millis(row.try_get("created_at")?),
    })
}
