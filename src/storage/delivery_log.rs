//! The log of deliveries for operators: listing and reading deliveries with their attempts, retrying
//! finished ones, and counting them per destination and status.

use super::dialect::{Dialect, SqlStore};
use super::{
    AttemptOutcome, AttemptRow, DeliveryQuery, DeliveryRow, DeliveryStatus, Page, RetryFilter,
    StatusCount, StoreError, from_millis, millis,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Row, Type};

/// The deliveries as operators see them (part of every [`super::Store`]).
#[async_trait]
pub trait DeliveryLog: Send + Sync + 'static {
    /// Deliveries matching the query, newest first, a page at a time.
    async fn list_deliveries(&self, q: &DeliveryQuery) -> Result<Page<DeliveryRow>, StoreError>;
    /// One delivery by id.
    async fn get_delivery(&self, id: &str) -> Result<Option<DeliveryRow>, StoreError>;
    /// A delivery's logged attempts, in order.
    async fn attempts(&self, delivery_id: &str) -> Result<Vec<AttemptRow>, StoreError>;
    /// Makes finished deliveries due again now, with a fresh retry schedule: one by id, or by filter.
    async fn retry_deliveries(
        &self,
        id: Option<&str>,
        filter: Option<&RetryFilter>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError>;
    /// Delivery counts per destination and status.
    async fn delivery_counts(&self) -> Result<Vec<StatusCount>, StoreError>;
    /// The queue at `now`: deliveries by state, and since when the oldest due one waits.
    async fn queue_snapshot(&self, now: DateTime<Utc>) -> Result<QueueSnapshot, StoreError>;
    /// Every attempt since `since` (of deliveries created after `created_after`, which bounds the read by
    /// the deliveries' time-ordered ids), with whether its delivery is dead now.
    async fn attempts_since(
        &self,
        created_after: DateTime<Utc>,
        since: DateTime<Utc>,
    ) -> Result<Vec<AttemptSample>, StoreError>;
}

/// One attempt, as the statistics read it.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptSample {
    pub destination: String,
    pub started_at: DateTime<Utc>,
    pub duration_ms: u64,
    pub outcome: AttemptOutcome,
    /// The delivery is dead now, and this was its last attempt.
    pub killed: bool,
}

/// The queue at one moment (for `/metrics`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueueSnapshot {
    /// Pending deliveries, due or not (held, waiting on a retry or a group window).
    pub pending: u64,
    /// Pending deliveries due now.
    pub due: u64,
    pub dead: u64,
    pub failed: u64,
    /// Events stored but not routed yet (their outbox rows): deliveries still to be made.
    pub unrouted: u64,
    /// When the oldest due delivery fell due.
    pub oldest_due_at: Option<DateTime<Utc>>,
}

/// `attempts` counts every attempt, those before a manual retry too; `summary` is the event's, which lists
/// show beside each delivery (`NULL` once the event is purged).
const DELIVERY_COLUMNS: &str = "id, event_id, event, destination, status, \
                                attempts + attempts_before_retry AS attempts, next_attempt_at, \
     expires_at, created_at, updated_at, last_status, last_error, \
     (SELECT summary FROM events e WHERE e.id = deliveries.event_id) AS summary";

#[async_trait]
impl<D> DeliveryLog for SqlStore<D>
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
    async fn list_deliveries(&self, dq: &DeliveryQuery) -> Result<Page<DeliveryRow>, StoreError> {
        let mut sql = format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE id < $1");
        let mut binds = vec![dq.before.clone().unwrap_or_else(|| "~".into())];
        let filters = [
            ("status", dq.status.map(|s| s.as_str().to_owned())),
            ("destination", dq.destination.clone()),
            ("event_id", dq.event_id.clone()),
        ];
        for (column, value) in filters {
            if let Some(value) = value {
                binds.push(value);
                sql.push_str(&format!(" AND {column} = ${}", binds.len()));
            }
        }
        if let Some(owner) = &dq.owner {
            binds.push(owner.clone());
            sql.push_str(&format!(
                " AND destination IN (SELECT id FROM webhooks WHERE user_id = ${})",
                binds.len()
            ));
        }
        sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", binds.len() + 1));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for b in binds {
            q = q.bind(b);
        }
        let rows = q
            .bind(i64::from(dq.limit) + 1)
            .fetch_all(&self.pool)
            .await?;
        let items = rows
            .iter()
            .map(delivery_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(items, dq.limit, |d| d.id.clone()))
    }

    async fn get_delivery(&self, id: &str) -> Result<Option<DeliveryRow>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(delivery_from_row).transpose()
    }

    async fn attempts(&self, delivery_id: &str) -> Result<Vec<AttemptRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT attempt, started_at, duration_ms, outcome, status_code, response_headers, response_body, \
             error, request_body FROM attempts WHERE delivery_id = $1 ORDER BY attempt",
        )
        .bind(delivery_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let headers: Option<String> = row.try_get("response_headers")?;
                let outcome: String = row.try_get("outcome")?;
                Ok(AttemptRow {
                    attempt: row.try_get::<i64, _>("attempt")? as u32,
                    started_at: from_millis(row.try_get("started_at")?),
                    duration_ms: row.try_get::<i64, _>("duration_ms")?.max(0) as u64,
                    outcome: AttemptOutcome::parse(&outcome).ok_or_else(|| {
                        StoreError::Corrupt(format!("attempt outcome `{outcome}`"))
                    })?,
                    status_code: row
                        .try_get::<Option<i64>, _>("status_code")?
                        .and_then(|s| u16::try_from(s).ok()),
                    response_headers: headers
                        .and_then(|h| serde_json::from_str(&h).ok())
                        .unwrap_or_default(),
                    response_body: row.try_get("response_body")?,
                    error: row.try_get("error")?,
                    request_body: row.try_get("request_body")?,
                })
            })
            .collect()
    }

    async fn retry_deliveries(
        &self,
        id: Option<&str>,
        filter: Option<&RetryFilter>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut sql = String::from(
            "UPDATE deliveries SET status = 'pending', attempts_before_retry = attempts_before_retry + attempts, \
             attempts = 0, next_attempt_at = $1, updated_at = $1, lease_owner = NULL \
             WHERE status IN ('failed', 'dead', 'expired')",
        );
        let mut texts = Vec::new();
        if let Some(id) = id {
            texts.push(id.to_owned());
            sql.push_str(" AND id = $2");
        }
        if let Some(f) = filter {
            texts.push(f.status.as_str().to_owned());
            sql.push_str(&format!(" AND status = ${}", texts.len() + 1));
            if let Some(d) = &f.destination {
                texts.push(d.clone());
                sql.push_str(&format!(" AND destination = ${}", texts.len() + 1));
            }
            if let Some(owner) = &f.owner {
                texts.push(owner.clone());
                sql.push_str(&format!(
                    " AND destination IN (SELECT id FROM webhooks WHERE user_id = ${})",
                    texts.len() + 1
                ));
            }
        }
        let since = filter.and_then(|f| f.since);
        if since.is_some() {
            sql.push_str(&format!(" AND created_at >= ${}", texts.len() + 2));
        }
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(millis(now));
        for t in texts {
            q = q.bind(t);
        }
        if let Some(since) = since {
            q = q.bind(millis(since));
        }
        let mut tx = D::begin_write(&self.pool).await?;
        let done = q.execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(D::rows_affected(&done))
    }

    async fn queue_snapshot(&self, now: DateTime<Utc>) -> Result<QueueSnapshot, StoreError> {
        let mut snapshot = QueueSnapshot::default();
        let rows = sqlx::query(
            "SELECT status, COUNT(*) AS n FROM deliveries \
             WHERE status IN ('pending', 'dead', 'failed') GROUP BY status",
        )
        .fetch_all(&self.pool)
        .await?;
        for row in &rows {
            let n = row.try_get::<i64, _>("n")?.max(0) as u64;
            match row.try_get::<&str, _>("status")? {
                "pending" => snapshot.pending = n,
                "dead" => snapshot.dead = n,
                _ => snapshot.failed = n,
            }
        }
        let due = sqlx::query(
            "SELECT COUNT(*) AS n, MIN(next_attempt_at) AS oldest FROM deliveries \
             WHERE status = 'pending' AND next_attempt_at <= $1",
        )
        .bind(millis(now))
        .fetch_one(&self.pool)
        .await?;
        snapshot.due = due.try_get::<i64, _>("n")?.max(0) as u64;
        snapshot.oldest_due_at = due.try_get::<Option<i64>, _>("oldest")?.map(from_millis);
        let unrouted = sqlx::query("SELECT COUNT(*) AS n FROM outbox")
            .fetch_one(&self.pool)
            .await?;
        snapshot.unrouted = unrouted.try_get::<i64, _>("n")?.max(0) as u64;
        Ok(snapshot)
    }

    async fn attempts_since(
        &self,
        created_after: DateTime<Utc>,
        since: DateTime<Utc>,
    ) -> Result<Vec<AttemptSample>, StoreError> {
        // Delivery ids are `dlv_<ULID>`: the ULID's time prefix orders them by creation.
        let first_id = format!(
            "dlv_{}",
            ulid::Ulid::from_parts(created_after.timestamp_millis().max(0) as u64, 0)
        );
        let rows = sqlx::query(
            "SELECT d.destination, d.status, d.attempts, a.attempt, a.started_at, a.duration_ms, a.outcome \
             FROM deliveries d JOIN attempts a ON a.delivery_id = d.id \
             WHERE d.id >= $1 AND a.started_at >= $2",
        )
        .bind(first_id)
        .bind(millis(since))
        .fetch_all(&self.pool)
        .await?;
        let mut samples = Vec::with_capacity(rows.len());
        for row in &rows {
            let Some(outcome) = AttemptOutcome::parse(row.try_get::<&str, _>("outcome")?) else {
                continue;
            };
            let last = row.try_get::<i64, _>("attempt")? == row.try_get::<i64, _>("attempts")?;
            samples.push(AttemptSample {
                destination: row.try_get("destination")?,
                started_at: from_millis(row.try_get("started_at")?),
                duration_ms: row.try_get::<i64, _>("duration_ms")?.max(0) as u64,
                outcome,
                killed: last && row.try_get::<&str, _>("status")? == "dead",
            });
        }
        Ok(samples)
    }

    async fn delivery_counts(&self) -> Result<Vec<StatusCount>, StoreError> {
        let rows = sqlx::query(
            "SELECT destination, status, COUNT(*) AS n FROM deliveries GROUP BY destination, status \
             ORDER BY destination, status",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut counts = Vec::with_capacity(rows.len());
        for row in &rows {
            let status: String = row.try_get("status")?;
            // A status this binary does not know (written by a newer one) is not counted.
            let Some(status) = DeliveryStatus::parse(&status) else {
                continue;
            };
            counts.push(StatusCount {
                destination: row.try_get("destination")?,
                status,
                count: row.try_get::<i64, _>("n")? as u64,
            });
        }
        Ok(counts)
    }
}

fn delivery_from_row<R: Row>(row: &R) -> Result<DeliveryRow, StoreError>
where
    for<'q> &'q str: ColumnIndex<R>,
    for<'q> String: Decode<'q, R::Database> + Type<R::Database>,
    for<'q> i64: Decode<'q, R::Database> + Type<R::Database>,
{
    let status: String = row.try_get("status")?;
    Ok(DeliveryRow {
        id: row.try_get("id")?,
        event_id: row.try_get("event_id")?,
        event: row.try_get("event")?,
        destination: row.try_get("destination")?,
        status: DeliveryStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("delivery status `{status}`")))?,
        attempts: row.try_get::<i64, _>("attempts")? as u32,
        next_attempt_at: row
            .try_get::<Option<i64>, _>("next_attempt_at")?
            .map(from_millis),
        expires_at: row
            .try_get::<Option<i64>, _>("expires_at")?
            .map(from_millis),
        created_at: from_millis(row.try_get("created_at")?),
        updated_at: from_millis(row.try_get("updated_at")?),
        last_status: row
            .try_get::<Option<i64>, _>("last_status")?
            .and_then(|s| u16::try_from(s).ok()),
        last_error: row.try_get("last_error")?,
        // Only lists select it.
        summary: row.try_get("summary")?,
    })
}
