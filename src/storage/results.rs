//! Writing back what workers did: each delivery's new state, the attempts it logged, and its destination's
//! newest success and error. The statements and their rows are shared: PostgreSQL runs them in the caller's
//! transaction; SQLite's single writer runs them as one script, one round trip to its thread.

use super::dialect::{Dialect, SqlStore, rows_per_statement, shaped_chunks, values_list};
use super::sqlite_script::{Arg, Script};
use super::{AttemptRow, DeliveryResult, DeliveryStatus, StoreError, millis};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};
use std::collections::BTreeMap;

/// Columns of a result's row: `id, status, attempts, next_at, at, code, err`.
const STATE_TYPES: [&str; 7] = [
    "TEXT", "TEXT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "TEXT",
];

/// Columns of a logged attempt's row.
const ATTEMPT_TYPES: [&str; 10] = [
    "TEXT", "BIGINT", "BIGINT", "BIGINT", "TEXT", "BIGINT", "TEXT", "TEXT", "TEXT", "TEXT",
];

/// Columns of a destination's health row: `name, last_success_at, last_error_at, last_error`.
const HEALTH_TYPES: [&str; 4] = ["TEXT", "BIGINT", "BIGINT", "TEXT"];

/// The most rows of one statement (fewer when that would bind too many values).
const MAX_ROWS: usize = 128;

fn states_sql(values: &str) -> String {
    format!(
        "WITH v (id, status, attempts, next_at, at, code, err) AS (VALUES {values}) \
         UPDATE deliveries SET status = v.status, attempts = v.attempts, next_attempt_at = v.next_at, \
         lease_owner = NULL, updated_at = v.at, last_status = COALESCE(v.code, deliveries.last_status), \
         last_error = v.err FROM v WHERE deliveries.id = v.id"
    )
}

/// Numbered after the attempts made before the delivery's last manual retry, so a retried delivery's new
/// attempts are logged beside its old ones. (`WHERE true`: SQLite's upsert after a SELECT needs it to tell the
/// join's ON from the conflict's.)
fn attempts_sql(values: &str) -> String {
    format!(
        "WITH v (delivery_id, attempt, started_at, duration_ms, outcome, status_code, response_headers, \
         response_body, error, request_body) AS (VALUES {values}) \
         INSERT INTO attempts (delivery_id, attempt, started_at, duration_ms, outcome, status_code, \
         response_headers, response_body, error, request_body) \
         SELECT v.delivery_id, v.attempt + d.attempts_before_retry, v.started_at, v.duration_ms, \
         v.outcome, v.status_code, v.response_headers, v.response_body, v.error, v.request_body \
         FROM v JOIN deliveries d ON d.id = v.delivery_id WHERE true \
         ON CONFLICT (delivery_id, attempt) DO NOTHING"
    )
}

fn health_sql(values: &str) -> String {
    format!(
        "INSERT INTO destination_state (name, last_success_at, last_error_at, last_error) \
         VALUES {values} ON CONFLICT (name) DO UPDATE SET \
         last_success_at = COALESCE(excluded.last_success_at, destination_state.last_success_at), \
         last_error_at = COALESCE(excluded.last_error_at, destination_state.last_error_at), \
         last_error = COALESCE(excluded.last_error, destination_state.last_error)"
    )
}

fn state_row(f: &DeliveryResult) -> Vec<Arg<'_>> {
    vec![
        Arg::Text(&f.id),
        Arg::Text(f.status.as_str()),
        Arg::Int(i64::from(f.attempts)),
        Arg::MaybeInt(f.next_attempt_at.map(millis)),
        Arg::Int(millis(f.at)),
        Arg::MaybeInt(f.last_status.map(i64::from)),
        Arg::MaybeText(f.last_error.as_deref()),
    ]
}

fn attempt_row<'a>(id: &'a str, a: &'a AttemptRow) -> Vec<Arg<'a>> {
    vec![
        Arg::Text(id),
        Arg::Int(i64::from(a.attempt)),
        Arg::Int(millis(a.started_at)),
        Arg::Int(a.duration_ms as i64),
        Arg::Owned(a.outcome.name().into_owned()),
        Arg::MaybeInt(a.status_code.map(i64::from)),
        Arg::Owned(serde_json::Value::Object(a.response_headers.clone()).to_string()),
        Arg::MaybeText(a.response_body.as_deref()),
        Arg::MaybeText(a.error.as_deref()),
        Arg::MaybeText(a.request_body.as_deref()),
    ]
}

/// The attempts a batch of results logged, each with its delivery's id.
fn logged(batch: &[DeliveryResult]) -> Vec<(&str, &AttemptRow)> {
    batch
        .iter()
        .flat_map(|f| f.logged.iter().map(move |a| (f.id.as_str(), a)))
        .collect()
}

/// A destination's newest success and error in one batch.
#[derive(Default)]
struct Health<'a> {
    success_at: Option<i64>,
    error: Option<(i64, &'a str)>,
}

/// Destination health: the newest success and error per destination in a batch of results, as rows.
fn health_rows(batch: &[DeliveryResult]) -> Vec<Vec<Arg<'_>>> {
    let mut health: BTreeMap<&str, Health<'_>> = BTreeMap::new();
    for f in batch.iter().filter(|f| !f.logged.is_empty()) {
        let entry = health.entry(f.destination.as_str()).or_default();
        if f.status == DeliveryStatus::Succeeded {
            entry.success_at = Some(millis(f.at));
        } else if let Some(err) = f.last_error.as_deref() {
            entry.error = Some((millis(f.at), err));
        }
    }
    health
        .into_iter()
        .filter(|(_, h)| h.success_at.is_some() || h.error.is_some())
        .map(
            |(
                name,
                Health {
                    success_at: ok,
                    error: err,
                },
            )| {
                vec![
                    Arg::Text(name),
                    Arg::MaybeInt(ok),
                    Arg::MaybeInt(err.map(|e| e.0)),
                    Arg::MaybeText(err.map(|e| e.1)),
                ]
            },
        )
        .collect()
}

/// SQLite: the results of `batches`, from `BEGIN IMMEDIATE` to `COMMIT`, as one script.
pub(super) fn results_script<'a>(
    batches: impl Iterator<Item = &'a [DeliveryResult]>,
) -> Script<'a> {
    let mut script = Script {
        sql: "BEGIN IMMEDIATE; ".into(),
        args: Vec::new(),
    };
    let mut statement = |mut rows: Vec<Vec<Arg<'a>>>, columns: usize, sql: fn(&str) -> String| {
        let per_statement = rows_per_statement(columns, MAX_ROWS);
        while !rows.is_empty() {
            let rest = rows.split_off(rows.len().min(per_statement));
            let values = script.values_text(std::mem::replace(&mut rows, rest).into_iter());
            script.sql.push_str(&sql(&values));
            script.sql.push_str("; ");
        }
    };
    for batch in batches {
        statement(batch.iter().map(state_row).collect(), 7, states_sql);
        let attempts = logged(batch).into_iter().map(|(id, a)| attempt_row(id, a));
        statement(attempts.collect(), 10, attempts_sql);
        statement(health_rows(batch), 4, health_sql);
    }
    script.sql.push_str("COMMIT;");
    script
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
    for<'q> Option<&'q [u8]>: Encode<'q, D>,
    for<'q> Option<i64>: Encode<'q, D>,
    for<'q> Vec<u8>: Decode<'q, D> + Type<D>,
    usize: ColumnIndex<D::Row>,
{
    /// One batch of results — states, attempts, health — on the caller's connection (in its transaction).
    pub(super) async fn write_results(
        conn: &mut D::Connection,
        batch: &[DeliveryResult],
    ) -> Result<(), StoreError> {
        Self::run_rows(
            conn,
            batch.iter().map(state_row).collect(),
            &STATE_TYPES,
            states_sql,
        )
        .await?;
        let attempts = logged(batch).into_iter().map(|(id, a)| attempt_row(id, a));
        Self::run_rows(conn, attempts.collect(), &ATTEMPT_TYPES, attempts_sql).await?;
        Self::run_rows(conn, health_rows(batch), &HEALTH_TYPES, health_sql).await
    }

    /// `sql` over `rows`, in multi-row statements of at most [`MAX_ROWS`].
    async fn run_rows(
        conn: &mut D::Connection,
        rows: Vec<Vec<Arg<'_>>>,
        types: &[&str],
        sql: fn(&str) -> String,
    ) -> Result<(), StoreError> {
        for chunk in shaped_chunks(&rows, rows_per_statement(types.len(), MAX_ROWS)) {
            let text = sql(&values_list(chunk.len(), types));
            let mut q = sqlx::query(sqlx::AssertSqlSafe(text));
            for arg in chunk.iter().flatten() {
                q = arg.bind_to(q);
            }
            q.execute(&mut *conn).await?;
        }
        Ok(())
    }
}
