//! The delivery queue: routing outbox events into deliveries, leasing due deliveries (and the rest of a
//! group) to a worker, and writing back what workers did. Batches are multi-row statements; PostgreSQL's
//! `FOR UPDATE SKIP LOCKED` ([`Dialect::CLAIM_LOCK`]) lets several processes claim from one table without
//! waiting on each other.

use super::dialect::{Dialect, SqlStore, in_list, rows_per_statement, shaped_chunks, values_list};
use super::{
    Claimed, DeliveryResult, NewDelivery, StoreError, from_millis, millis, parse_envelope,
};
use crate::event::Event;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Row as _, Transaction, Type};
use std::collections::HashMap;

/// The delivery queue (part of every [`super::Store`]).
#[async_trait]
pub trait Queue: Send + Sync + 'static {
    /// Routes up to `limit` outbox events, oldest first: `route` names each event's deliveries, which are
    /// inserted in the same transaction that deletes the outbox rows (several processes skip each other's rows
    /// on PostgreSQL). Returns how many events were routed.
    async fn route_outbox(
        &self,
        limit: u32,
        route: &(dyn for<'e> Fn(&'e Event) -> Vec<NewDelivery> + Send + Sync),
    ) -> Result<usize, StoreError>;
    /// Inserts deliveries due at once (replay).
    async fn insert_deliveries(&self, rows: &[NewDelivery]) -> Result<(), StoreError>;
    /// Leases up to `limit` due pending deliveries to `owner` until `lease_until`, oldest due first.
    async fn claim_due(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Claimed>, StoreError>;
    /// Leases the other pending deliveries of a group (same destination and key) not held by a live lease,
    /// oldest first, at most `limit`.
    #[allow(clippy::too_many_arguments)]
    async fn claim_group(
        &self,
        destination: &str,
        group_key: &str,
        except: &str,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<Claimed>, StoreError>;
    /// Makes a destination's waiting deliveries (not leased by a live worker) due now: it was re-enabled.
    async fn make_due(&self, destination: &str, now: DateTime<Utc>) -> Result<u64, StoreError>;
    /// Makes the held deliveries whose group key starts with `group_prefix` due now (held quiet-hours
    /// digests); how many.
    async fn make_held_due(
        &self,
        group_prefix: &str,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError>;
    /// Makes every leased pending delivery due now (a single-process SQLite start: no other process can hold
    /// a lease, so the leases are a killed run's). Returns how many.
    async fn release_leases(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
    /// Writes back what workers did, in one transaction.
    async fn finish(&self, batch: &[DeliveryResult]) -> Result<(), StoreError>;
    /// Of results a stopped run heard of but may not have written (the answered-sends journal), those whose
    /// deliveries do not show them yet: still pending, and last changed no later than the result.
    async fn unrecorded(
        &self,
        results: Vec<DeliveryResult>,
    ) -> Result<Vec<DeliveryResult>, StoreError>;
}

#[async_trait]
impl<D> Queue for SqlStore<D>
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
    async fn route_outbox(
        &self,
        limit: u32,
        route: &(dyn for<'e> Fn(&'e Event) -> Vec<NewDelivery> + Send + Sync),
    ) -> Result<usize, StoreError> {
        // Most polls find nothing: look without taking the write lock.
        let any: Option<String> = sqlx::query_scalar("SELECT event_id FROM outbox LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        if any.is_none() {
            return Ok(0);
        }
        let mut tx = D::begin_write(&self.pool).await?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT o.event_id, e.envelope, e.envelope_z FROM outbox o JOIN events e ON e.id = o.event_id \
             ORDER BY o.event_id LIMIT $1{}",
            D::OUTBOX_LOCK
        )))
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            // End the transaction now: a dropped one would hold SQLite's write lock until its connection
            // is next used.
            tx.commit().await?;
            return Ok(0);
        }
        let mut ids = Vec::with_capacity(rows.len());
        let mut deliveries = Vec::new();
        // Routed events join their titles' stories next (`story_pass.rs`), in the order they are queued here.
        let mut for_stories = Vec::new();
        for row in &rows {
            let id: String = row.try_get("event_id")?;
            match parse_envelope(row.try_get("envelope")?, row.try_get("envelope_z")?) {
                Ok(event) => {
                    deliveries.extend(route(&event));
                    if crate::stories::queued(&event) {
                        for_stories.push(id.clone());
                    }
                }
                // A corrupt envelope cannot be routed; dropping its outbox row keeps the queue moving,
                // and the event itself stays readable through the API.
                Err(error) => {
                    tracing::error!(message = "Unroutable event.", event_id = %id, %error)
                }
            }
            ids.push(id);
        }
        Self::insert_delivery_rows(&mut tx, &deliveries).await?;
        for chunk in shaped_chunks(&for_stories, 256) {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO story_queue (event_id) VALUES {} ON CONFLICT (event_id) DO NOTHING",
                values_list(chunk.len(), &[""])
            )));
            for id in chunk {
                q = q.bind(id);
            }
            q.execute(&mut *tx).await?;
        }
        for chunk in shaped_chunks(&ids, rows_per_statement(1, 512)) {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM outbox WHERE event_id IN ({})",
                in_list(chunk.len())
            )));
            for id in chunk {
                q = q.bind(id);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(ids.len())
    }

    async fn insert_deliveries(&self, rows: &[NewDelivery]) -> Result<(), StoreError> {
        let mut tx = D::begin_write(&self.pool).await?;
        Self::insert_delivery_rows(&mut tx, rows).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn claim_due(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Claimed>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE deliveries SET next_attempt_at = $1, lease_owner = $2 WHERE id IN (\
               SELECT id FROM deliveries{} WHERE status = 'pending' AND next_attempt_at <= $3 \
               ORDER BY next_attempt_at, id LIMIT $4{}) \
             RETURNING id, event_id, destination, attempts, created_at, expires_at, group_key",
            D::CLAIM_INDEX,
            D::CLAIM_LOCK
        )))
        .bind(millis(lease_until))
        .bind(owner)
        .bind(millis(now))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        self.claimed_with_events(rows).await
    }

    async fn claim_group(
        &self,
        destination: &str,
        group_key: &str,
        except: &str,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<Claimed>, StoreError> {
        // Pending members not held by a live lease (fresh, waiting for the window, or put back for a retry).
        let rows = sqlx::query(
            "UPDATE deliveries SET next_attempt_at = $1, lease_owner = $2 WHERE id IN \
             (SELECT id FROM deliveries WHERE destination = $3 AND group_key = $4 AND status = 'pending' \
               AND id <> $5 AND (lease_owner IS NULL OR next_attempt_at <= $6) ORDER BY id LIMIT $7) \
             RETURNING id, event_id, destination, attempts, created_at, expires_at, group_key",
        )
        .bind(millis(lease_until))
        .bind(owner)
        .bind(destination)
        .bind(group_key)
        .bind(except)
        .bind(millis(now))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        self.claimed_with_events(rows).await
    }

    async fn make_due(&self, destination: &str, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE deliveries SET next_attempt_at = $1 WHERE destination = $2 AND status = 'pending' \
             AND lease_owner IS NULL AND next_attempt_at > $1",
        )
        .bind(millis(now))
        .bind(destination)
        .execute(&self.pool)
        .await?;
        Ok(D::rows_affected(&done))
    }

    async fn make_held_due(
        &self,
        group_prefix: &str,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        // The prefixes hookarr makes hold no LIKE wildcard (`%`, `_`).
        debug_assert!(!group_prefix.contains(['%', '_']));
        let done = sqlx::query(
            "UPDATE deliveries SET next_attempt_at = $1 WHERE group_key LIKE $2 AND status = 'pending' \
             AND lease_owner IS NULL AND next_attempt_at > $1",
        )
        .bind(millis(now))
        .bind(format!("{group_prefix}%"))
        .execute(&self.pool)
        .await?;
        Ok(D::rows_affected(&done))
    }

    async fn release_leases(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE deliveries SET next_attempt_at = $1, lease_owner = NULL \
             WHERE status = 'pending' AND lease_owner IS NOT NULL",
        )
        .bind(millis(now))
        .execute(&self.pool)
        .await?;
        Ok(D::rows_affected(&done))
    }

    async fn finish(&self, batch: &[DeliveryResult]) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        // Each database's own way: not behind the ingests waiting for a connection or the write lock.
        D::finish_through(&self.writer, batch).await
    }

    async fn unrecorded(
        &self,
        results: Vec<DeliveryResult>,
    ) -> Result<Vec<DeliveryResult>, StoreError> {
        let mut changed_at: HashMap<String, i64> = HashMap::new();
        for chunk in results.chunks(rows_per_statement(1, 512)) {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT id, updated_at FROM deliveries WHERE status = 'pending' AND id IN ({})",
                in_list(chunk.len())
            )));
            for result in chunk {
                q = q.bind(result.id.as_str());
            }
            for row in q.fetch_all(&self.pool).await? {
                changed_at.insert(row.try_get("id")?, row.try_get("updated_at")?);
            }
        }
        // A result is never older than the change that made its delivery due (its claim does not change
        // `updated_at`); a committed one set `updated_at` to its own time, so writing it again changes nothing.
        Ok(results
            .into_iter()
            .filter(|f| changed_at.get(&f.id).is_some_and(|&at| at <= millis(f.at)))
            .collect())
    }
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
    /// Claimed rows with their events loaded in one query, oldest first.
    async fn claimed_with_events(&self, rows: Vec<D::Row>) -> Result<Vec<Claimed>, StoreError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let event_ids: Vec<String> = rows
            .iter()
            .map(|r| r.try_get("event_id"))
            .collect::<Result<_, _>>()?;
        let mut unique = event_ids.clone();
        unique.sort();
        unique.dedup();
        let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT id, envelope, envelope_z FROM events WHERE id IN ({})",
            in_list(unique.len())
        )));
        for id in &unique {
            q = q.bind(id);
        }
        let mut envelopes = HashMap::new();
        for row in q.fetch_all(&self.pool).await? {
            let id: String = row.try_get("id")?;
            envelopes.insert(
                id,
                parse_envelope(row.try_get("envelope")?, row.try_get("envelope_z")?)?,
            );
        }
        let mut remaining: HashMap<&str, usize> = HashMap::new();
        for id in &event_ids {
            *remaining.entry(id.as_str()).or_default() += 1;
        }
        let mut claimed = Vec::with_capacity(rows.len());
        for (row, event_id) in rows.iter().zip(event_ids.iter()) {
            // Moved out on its last use: most events have one delivery per claim.
            let uses = remaining
                .get_mut(event_id.as_str())
                .map(|n| {
                    *n -= 1;
                    *n
                })
                .unwrap_or(0);
            let event = if uses == 0 {
                envelopes.remove(event_id)
            } else {
                envelopes.get(event_id).cloned()
            };
            // The event was purged between routing and now: nothing left to send.
            let Some(event) = event else { continue };
            claimed.push(Claimed {
                id: row.try_get("id")?,
                destination: row.try_get("destination")?,
                attempts: row.try_get::<i64, _>("attempts")? as u32,
                created_at: from_millis(row.try_get("created_at")?),
                expires_at: row
                    .try_get::<Option<i64>, _>("expires_at")?
                    .map(from_millis),
                group_key: row.try_get("group_key")?,
                event,
            });
        }
        claimed.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(claimed)
    }

    /// Inserts deliveries (due at once) inside a caller's transaction, in multi-row statements.
    pub(super) async fn insert_delivery_rows(
        tx: &mut Transaction<'static, D>,
        rows: &[NewDelivery],
    ) -> Result<(), StoreError> {
        for chunk in shaped_chunks(rows, rows_per_statement(10, 128)) {
            let values = values_list(chunk.len(), &[""; 10]);
            let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO deliveries (id, event_id, event, destination, status, next_attempt_at, \
                 expires_at, created_at, updated_at, group_key) VALUES {values}"
            )));
            for d in chunk {
                let created = millis(d.created_at);
                q = q
                    .bind(&d.id)
                    .bind(d.event_id.as_str())
                    .bind(&d.event)
                    .bind(&d.destination)
                    .bind("pending")
                    .bind(millis(d.due_at))
                    .bind(d.expires_at.map(millis))
                    .bind(created)
                    .bind(created)
                    .bind(d.group_key.as_deref());
            }
            q.execute(&mut **tx).await?;
        }
        Ok(())
    }
}
