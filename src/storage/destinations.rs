//! What hookarr keeps about each destination: disabled (and why), paused (until when), its last success
//! and error, its signing secret when generated, and the messages it posted that a later delivery edits.

use super::dialect::{Dialect, SqlStore};
use super::{DestinationState, StoreError, from_millis, millis};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Row as _, Type};

/// Destination state (part of every [`super::Store`]).
#[async_trait]
pub trait Destinations: Send + Sync + 'static {
    /// The stored state of every destination that has one.
    async fn destination_states(&self) -> Result<Vec<DestinationState>, StoreError>;
    /// Disables (with a reason) or re-enables a destination; re-enabling also lifts a pause.
    async fn set_destination_disabled(
        &self,
        name: &str,
        disabled: Option<(&str, DateTime<Utc>)>,
    ) -> Result<(), StoreError>;
    /// Pauses a destination until a time (its rate limit), or lifts the pause.
    async fn set_destination_paused(
        &self,
        name: &str,
        until: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError>;
    /// The stored signing secret of a destination, storing `candidate` first if it has none.
    async fn destination_secret(&self, name: &str, candidate: &str) -> Result<String, StoreError>;
    /// Remembers the message a destination posted for a download (a grab's, for its import to edit).
    async fn remember_message(
        &self,
        destination: &str,
        download_id: &str,
        message_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// The message a destination posted for a download, if any.
    async fn message_for(
        &self,
        destination: &str,
        download_id: &str,
    ) -> Result<Option<String>, StoreError>;
}

#[async_trait]
impl<D> Destinations for SqlStore<D>
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
    async fn destination_states(&self) -> Result<Vec<DestinationState>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, disabled_at, disabled_reason, paused_until, last_success_at, last_error_at, \
             last_error FROM destination_state ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        let time = |row: &D::Row, c: &str| -> Result<_, StoreError> {
            Ok(row.try_get::<Option<i64>, _>(c)?.map(from_millis))
        };
        rows.iter()
            .map(|row| {
                Ok(DestinationState {
                    name: row.try_get("name")?,
                    disabled_at: time(row, "disabled_at")?,
                    disabled_reason: row.try_get("disabled_reason")?,
                    paused_until: time(row, "paused_until")?,
                    last_success_at: time(row, "last_success_at")?,
                    last_error_at: time(row, "last_error_at")?,
                    last_error: row.try_get("last_error")?,
                })
            })
            .collect()
    }

    async fn set_destination_disabled(
        &self,
        name: &str,
        disabled: Option<(&str, DateTime<Utc>)>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO destination_state (name, disabled_at, disabled_reason) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET disabled_at = excluded.disabled_at, \
             disabled_reason = excluded.disabled_reason, \
             paused_until = CASE WHEN excluded.disabled_at IS NULL THEN NULL \
             ELSE destination_state.paused_until END",
        )
        .bind(name)
        .bind(disabled.map(|d| millis(d.1)))
        .bind(disabled.map(|d| d.0))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn set_destination_paused(
        &self,
        name: &str,
        until: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO destination_state (name, paused_until) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET paused_until = excluded.paused_until",
        )
        .bind(name)
        .bind(until.map(millis))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn destination_secret(&self, name: &str, candidate: &str) -> Result<String, StoreError> {
        sqlx::query(
            "INSERT INTO destination_state (name, secret) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET secret = COALESCE(destination_state.secret, excluded.secret)",
        )
        .bind(name)
        .bind(candidate)
        .execute(&self.pool)
        .await?;
        let secret: Option<String> =
            sqlx::query_scalar("SELECT secret FROM destination_state WHERE name = $1")
                .bind(name)
                .fetch_one(&self.pool)
                .await?;
        Ok(secret.unwrap_or_else(|| candidate.to_owned()))
    }

    async fn remember_message(
        &self,
        destination: &str,
        download_id: &str,
        message_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sent_messages (destination, download_id, message_id, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (destination, download_id) DO UPDATE SET \
             message_id = excluded.message_id, created_at = excluded.created_at",
        )
        .bind(destination)
        .bind(download_id)
        .bind(message_id)
        .bind(millis(at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn message_for(
        &self,
        destination: &str,
        download_id: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT message_id FROM sent_messages WHERE destination = $1 AND download_id = $2",
        )
        .bind(destination)
        .bind(download_id)
        .fetch_optional(&self.pool)
        .await?)
    }
}
