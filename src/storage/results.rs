//! Writing back what workers did, in the caller's transaction (on the caller's connection): each delivery's new state, the attempts it
//! logged, and its destination's newest success and error. Multi-row statements of at most 128 rows.

use super::dialect::{Dialect, SqlStore, rows_per_statement, shaped_chunks, values_list};
use super::{AttemptRow, DeliveryResult, DeliveryStatus, StoreError, millis};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};
use std::collections::BTreeMap;

/// A destination's newest success and error in one batch.
#[derive(Default)]
struct Health<'a> {
    success_at: Option<i64>,
    error: Option<(i64, &'a str)>,
}

impl<D> SqlStore<D>
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
    /// One batch of results: states, attempts, health.
    pub(super) async fn write_results(
        conn: &mut D::Connection,
        batch: &[DeliveryResult],
    ) -> Result<(), StoreError> {
        for chunk in shaped_chunks(batch, rows_per_statement(7, 128)) {
            let values = values_list(
                chunk.len(),
                &[
                    "TEXT", "TEXT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "TEXT",
                ],
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
                "WITH v (id, status, attempts, next_at, at, code, err) AS (VALUES {values}) \
                 UPDATE deliveries SET status = v.status, attempts = v.attempts, next_attempt_at = v.next_at, \
                 lease_owner = NULL, updated_at = v.at, last_status = COALESCE(v.code, deliveries.last_status), \
                 last_error = v.err FROM v WHERE deliveries.id = v.id"
            )));
            for f in chunk {
                q = q
                    .bind(&f.id)
                    .bind(f.status.as_str())
                    .bind(i64::from(f.attempts))
                    .bind(f.next_attempt_at.map(millis))
                    .bind(millis(f.at))
                    .bind(f.last_status.map(i64::from))
                    .bind(f.last_error.as_deref());
            }
            q.execute(&mut *conn).await?;
        }
        Self::log_attempts(conn, batch).await?;
        Self::record_health(conn, batch).await
    }

    /// Appends the attempts a batch of results logged, in multi-row statements.
    async fn log_attempts(
        conn: &mut D::Connection,
        batch: &[DeliveryResult],
    ) -> Result<(), StoreError> {
        let logged: Vec<(&str, &AttemptRow)> = batch
            .iter()
            .flat_map(|f| f.logged.iter().map(move |a| (f.id.as_str(), a)))
            .collect();
        for chunk in shaped_chunks(&logged, rows_per_statement(10, 128)) {
            let values = values_list(
                chunk.len(),
                &[
                    "TEXT", "BIGINT", "BIGINT", "BIGINT", "TEXT", "BIGINT", "TEXT", "TEXT", "TEXT",
                    "TEXT",
                ],
            );
            // Numbered after the attempts made before the delivery's last manual retry, so a retried
            // delivery's new attempts are logged beside its old ones. (`WHERE true`: SQLite's upsert after a
            // SELECT needs it to tell the join's ON from the conflict's.)
            let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
                "WITH v (delivery_id, attempt, started_at, duration_ms, outcome, status_code, response_headers, \
                 response_body, error, request_body) AS (VALUES {values}) \
                 INSERT INTO attempts (delivery_id, attempt, started_at, duration_ms, outcome, status_code, \
                 response_headers, response_body, error, request_body) \
                 SELECT v.delivery_id, v.attempt + d.attempts_before_retry, v.started_at, v.duration_ms, \
                 v.outcome, v.status_code, v.response_headers, v.response_body, v.error, v.request_body \
                 FROM v JOIN deliveries d ON d.id = v.delivery_id WHERE true \
                 ON CONFLICT (delivery_id, attempt) DO NOTHING"
            )));
            for (id, a) in chunk {
                q = q
                    .bind(*id)
                    .bind(i64::from(a.attempt))
                    .bind(millis(a.started_at))
                    .bind(a.duration_ms as i64)
                    .bind(a.outcome.name().into_owned())
                    .bind(a.status_code.map(i64::from))
                    .bind(serde_json::Value::Object(a.response_headers.clone()).to_string())
                    .bind(a.response_body.as_deref())
                    .bind(a.error.as_deref())
                    .bind(a.request_body.as_deref());
            }
            q.execute(&mut *conn).await?;
        }
        Ok(())
    }

    /// Destination health: the newest success and error per destination in a batch of results.
    async fn record_health(
        conn: &mut D::Connection,
        batch: &[DeliveryResult],
    ) -> Result<(), StoreError> {
        let mut health: BTreeMap<&str, Health<'_>> = BTreeMap::new();
        for f in batch {
            let entry = health.entry(f.destination.as_str()).or_default();
            if f.logged.is_empty() {
                continue;
            }
            if f.status == DeliveryStatus::Succeeded {
                entry.success_at = Some(millis(f.at));
            } else if let Some(err) = f.last_error.as_deref() {
                entry.error = Some((millis(f.at), err));
            }
        }
        for (
            name,
            Health {
                success_at: ok,
                error: err,
            },
        ) in health
        {
            if ok.is_none() && err.is_none() {
                continue;
            }
            sqlx::query(
                "INSERT INTO destination_state (name, last_success_at, last_error_at, last_error) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO UPDATE SET \
                 last_success_at = COALESCE(excluded.last_success_at, destination_state.last_success_at), \
                 last_error_at = COALESCE(excluded.last_error_at, destination_state.last_error_at), \
                 last_error = COALESCE(excluded.last_error, destination_state.last_error)",
            )
            .bind(name)
            .bind(ok)
            .bind(err.map(|e| e.0))
            .bind(err.map(|e| e.1))
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }
}
