//! Chores that one process of a database does for all (the hourly purge): whoever claims a chore's turn runs
//! it; the others, finding it taken, skip it until the next.

use super::dialect::{Dialect, SqlStore};
use super::{StoreError, millis};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};
use std::time::Duration;

/// The chores (part of every [`super::Store`]).
#[async_trait]
pub trait Chores: Send + Sync + 'static {
    /// Claims the turn of chore `name`, done at most once per `every`: true when this process is to do it now.
    async fn claim_chore(
        &self,
        name: &str,
        every: Duration,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
}

#[async_trait]
impl<D> Chores for SqlStore<D>
where
    D: Dialect,
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    D::Arguments: IntoArguments<D>,
    for<'q> &'q str: Encode<'q, D> + Decode<'q, D> + Type<D> + ColumnIndex<D::Row>,
    for<'q> i64: Encode<'q, D> + Decode<'q, D> + Type<D>,
    usize: ColumnIndex<D::Row>,
{
    async fn claim_chore(
        &self,
        name: &str,
        every: Duration,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let now_ms = millis(now);
        let due_before = now_ms - i64::try_from(every.as_millis()).unwrap_or(i64::MAX);
        let mut tx = D::begin_write(&self.pool).await?;
        sqlx::query(
            "INSERT INTO chores (name, last_run) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(i64::MIN / 2)
        .execute(&mut *tx)
        .await?;
        // One statement: of processes racing for the turn, the row's lock lets one through.
        let done =
            sqlx::query("UPDATE chores SET last_run = $1 WHERE name = $2 AND last_run <= $3")
                .bind(now_ms)
                .bind(name)
                .bind(due_before)
                .execute(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(D::rows_affected(&done) == 1)
    }
}
