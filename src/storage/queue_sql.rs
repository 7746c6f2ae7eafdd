//! The delivery queue's SQL, shared by both back-ends like [`super::sql`]: instantiated inside the `Store`
//! impl of each. Batches are multi-row statements. What differs per back-end is in the claim: PostgreSQL's
//! `FOR UPDATE SKIP LOCKED` lets several processes claim from one table without waiting on each other, and
//! SQLite is told which index to use.

use super::{DeliveryRow, DeliveryStatus, StoreError, from_millis};

/// `($1, $2, …), ($k, …)` for `rows` rows of one placeholder per entry of `cols`; a non-empty entry is the
/// SQL type the value is cast to (PostgreSQL needs types in a bare `VALUES` list).
pub(super) fn values_list(rows: usize, cols: &[&str]) -> String {
    let mut out = String::new();
    let mut n = 0;
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for (c, ty) in cols.iter().enumerate() {
            if c > 0 {
                out.push_str(", ");
            }
            n += 1;
            if ty.is_empty() {
                out.push_str(&format!("${n}"));
            } else {
                out.push_str(&format!("CAST(${n} AS {ty})"));
            }
        }
        out.push(')');
    }
    out
}

/// `$1, $2, …, $n`: the placeholders of an `IN (…)` list.
pub(super) fn in_list(n: usize) -> String {
    (1..=n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) const DELIVERY_COLUMNS: &str = "id, event_id, event, destination, status, attempts, next_attempt_at, \
     expires_at, created_at, updated_at, last_status, last_error";

pub(super) fn delivery_from_row<R: sqlx::Row>(row: &R) -> Result<DeliveryRow, StoreError>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
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
    })
}

/// The methods of `Store` that run the delivery queue, for one database type; expanded inside its impl.
macro_rules! queue_queries {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::storage::Queue for $store {
        async fn route_outbox(
            &self,
            limit: u32,
            route: &(dyn for<'e> Fn(&'e Event) -> Vec<$crate::storage::NewDelivery> + Send + Sync),
        ) -> Result<usize, StoreError> {
            let lock = if self.backend() == "postgres" { " FOR UPDATE OF o SKIP LOCKED" } else { "" };
            // Most polls find nothing: look without taking the write lock.
            let any: Option<String> = sqlx::query_scalar("SELECT event_id FROM outbox LIMIT 1")
                .fetch_optional(&self.pool)
                .await?;
            if any.is_none() {
                return Ok(0);
            }
            let mut tx = self.begin_write().await?;
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT o.event_id, e.envelope FROM outbox o JOIN events e ON e.id = o.event_id \
                 ORDER BY o.event_id LIMIT $1{lock}"
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
            for row in &rows {
                let id: String = row.try_get("event_id")?;
                match parse_envelope(row.try_get("envelope")?) {
                    Ok(event) => deliveries.extend(route(&event)),
                    // A corrupt envelope cannot be routed; dropping its outbox row keeps the queue moving,
                    // and the event itself stays readable through the API.
                    Err(error) => tracing::error!(message = "Unroutable event.", event_id = %id, %error),
                }
                ids.push(id);
            }
            Self::insert_delivery_rows(&mut tx, &deliveries).await?;
            for chunk in ids.chunks(500) {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DELETE FROM outbox WHERE event_id IN ({})",
                    $crate::storage::queue_sql::in_list(chunk.len())
                )));
                for id in chunk {
                    q = q.bind(id);
                }
                q.execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(ids.len())
        }

        async fn insert_deliveries(&self, rows: &[$crate::storage::NewDelivery]) -> Result<(), StoreError> {
            let mut tx = self.begin_write().await?;
            Self::insert_delivery_rows(&mut tx, rows).await?;
            tx.commit().await?;
            Ok(())
        }

        async fn claim_due(
            &self,
            owner: &str,
            now: chrono::DateTime<chrono::Utc>,
            lease_until: chrono::DateTime<chrono::Utc>,
            limit: u32,
        ) -> Result<Vec<$crate::storage::Claimed>, StoreError> {
            // SQLite's planner, without statistics, prefers the (status, id) index and sorts every pending row:
            // the claim would cost as much as the backlog. Name the partial index of due rows.
            let (index, lock) = if self.backend() == "postgres" {
                ("", " FOR UPDATE SKIP LOCKED")
            } else {
                (" INDEXED BY deliveries_due", "")
            };
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE deliveries SET next_attempt_at = $1, lease_owner = $2 WHERE id IN (\
                   SELECT id FROM deliveries{index} WHERE status = 'pending' AND next_attempt_at <= $3 \
                   ORDER BY next_attempt_at, id LIMIT $4{lock}) \
                 RETURNING id, event_id, destination, attempts, created_at, expires_at, group_key"
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
            now: chrono::DateTime<chrono::Utc>,
            lease_until: chrono::DateTime<chrono::Utc>,
        ) -> Result<Vec<$crate::storage::Claimed>, StoreError> {
            // Pending members not held by a live lease (fresh, waiting for the window, or put back for a retry).
            let rows = sqlx::query(
                "UPDATE deliveries SET next_attempt_at = $1, lease_owner = $2 \
                 WHERE destination = $3 AND group_key = $4 AND status = 'pending' AND id <> $5 \
                   AND (lease_owner IS NULL OR next_attempt_at <= $6) \
                 RETURNING id, event_id, destination, attempts, created_at, expires_at, group_key",
            )
            .bind(millis(lease_until))
            .bind(owner)
            .bind(destination)
            .bind(group_key)
            .bind(except)
            .bind(millis(now))
            .fetch_all(&self.pool)
            .await?;
            self.claimed_with_events(rows).await
        }

        async fn remember_message(
            &self,
            destination: &str,
            download_id: &str,
            message_id: &str,
            at: chrono::DateTime<chrono::Utc>,
        ) -> Result<(), StoreError> {
            sqlx::query(
                "INSERT INTO sent_messages (destination, download_id, message_id, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (destination, download_id) DO UPDATE SET message_id = excluded.message_id, \
                 created_at = excluded.created_at",
            )
            .bind(destination)
            .bind(download_id)
            .bind(message_id)
            .bind(millis(at))
            .execute(&self.pool)
            .await?;
            Ok(())
        }

        async fn message_for(&self, destination: &str, download_id: &str) -> Result<Option<String>, StoreError> {
            Ok(sqlx::query_scalar(
                "SELECT message_id FROM sent_messages WHERE destination = $1 AND download_id = $2",
            )
            .bind(destination)
            .bind(download_id)
            .fetch_optional(&self.pool)
            .await?)
        }

        async fn make_due(&self, destination: &str, now: chrono::DateTime<chrono::Utc>) -> Result<u64, StoreError> {
            let done = sqlx::query(
                "UPDATE deliveries SET next_attempt_at = $1 WHERE destination = $2 AND status = 'pending' \
                 AND lease_owner IS NULL AND next_attempt_at > $1",
            )
            .bind(millis(now))
            .bind(destination)
            .execute(&self.pool)
            .await?;
            Ok(done.rows_affected())
        }

        async fn release_leases(&self, now: chrono::DateTime<chrono::Utc>) -> Result<u64, StoreError> {
            let done = sqlx::query(
                "UPDATE deliveries SET next_attempt_at = $1, lease_owner = NULL \
                 WHERE status = 'pending' AND lease_owner IS NOT NULL",
            )
            .bind(millis(now))
            .execute(&self.pool)
            .await?;
            Ok(done.rows_affected())
        }

        async fn finish(&self, batch: &[$crate::storage::DeliveryResult]) -> Result<(), StoreError> {
            if batch.is_empty() {
                return Ok(());
            }
            let mut tx = self.begin_write().await?;
            for chunk in batch.chunks(128) {
                let values = $crate::storage::queue_sql::values_list(
                    chunk.len(),
                    &["TEXT", "TEXT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "TEXT"],
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
                q.execute(&mut *tx).await?;
            }
            let logged: Vec<(&str, &$crate::storage::AttemptRow)> =
                batch.iter().flat_map(|f| f.logged.iter().map(move |a| (f.id.as_str(), a))).collect();
            for chunk in logged.chunks(100) {
                let values = $crate::storage::queue_sql::values_list(chunk.len(), &[""; 9]);
                let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO attempts (delivery_id, attempt, started_at, duration_ms, outcome, status_code, \
                     response_headers, response_body, error) VALUES {values} \
                     ON CONFLICT (delivery_id, attempt) DO NOTHING"
                )));
                for (id, a) in chunk {
                    q = q
                        .bind(*id)
                        .bind(i64::from(a.attempt))
                        .bind(millis(a.started_at))
                        .bind(a.duration_ms as i64)
                        .bind(a.outcome.name().as_ref())
                        .bind(a.status_code.map(i64::from))
                        .bind(serde_json::Value::Object(a.response_headers.clone()).to_string())
                        .bind(a.response_body.as_deref())
                        .bind(a.error.as_deref());
                }
                q.execute(&mut *tx).await?;
            }
            // Health: the newest success and error per destination in this batch.
            let mut health: std::collections::BTreeMap<&str, (Option<i64>, Option<(i64, &str)>)> =
                Default::default();
            for f in batch {
                let entry = health.entry(f.destination.as_str()).or_default();
                if f.logged.is_empty() {
                    continue;
                }
                if f.status == $crate::storage::DeliveryStatus::Succeeded {
                    entry.0 = Some(millis(f.at));
                } else if let Some(err) = f.last_error.as_deref() {
                    entry.1 = Some((millis(f.at), err));
                }
            }
            for (name, (ok, err)) in health {
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
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(())
        }

        async fn list_deliveries(
            &self,
            dq: &$crate::storage::DeliveryQuery,
        ) -> Result<Page<$crate::storage::DeliveryRow>, StoreError> {
            let mut sql = format!(
                "SELECT {} FROM deliveries WHERE id < $1",
                $crate::storage::queue_sql::DELIVERY_COLUMNS
            );
            let mut binds = vec![dq.before.clone().unwrap_or_else(|| "~".into())];
            if let Some(s) = dq.status {
                binds.push(s.as_str().into());
                sql.push_str(&format!(" AND status = ${}", binds.len()));
            }
            if let Some(d) = &dq.destination {
                binds.push(d.clone());
                sql.push_str(&format!(" AND destination = ${}", binds.len()));
            }
            if let Some(e) = &dq.event_id {
                binds.push(e.clone());
                sql.push_str(&format!(" AND event_id = ${}", binds.len()));
            }
            sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", binds.len() + 1));
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for b in binds {
                q = q.bind(b);
            }
            let rows = q.bind(i64::from(dq.limit) + 1).fetch_all(&self.pool).await?;
            let items = rows
                .iter()
                .map($crate::storage::queue_sql::delivery_from_row)
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Page::from_overfetch(items, dq.limit, |d| d.id.clone()))
        }

        async fn get_delivery(&self, id: &str) -> Result<Option<$crate::storage::DeliveryRow>, StoreError> {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {} FROM deliveries WHERE id = $1",
                $crate::storage::queue_sql::DELIVERY_COLUMNS
            )))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
            row.as_ref().map($crate::storage::queue_sql::delivery_from_row).transpose()
        }

        async fn attempts(&self, delivery_id: &str) -> Result<Vec<$crate::storage::AttemptRow>, StoreError> {
            let rows = sqlx::query(
                "SELECT attempt, started_at, duration_ms, outcome, status_code, response_headers, response_body, \
                 error FROM attempts WHERE delivery_id = $1 ORDER BY attempt",
            )
            .bind(delivery_id)
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|row| {
                    let headers: Option<String> = row.try_get("response_headers")?;
                    Ok($crate::storage::AttemptRow {
                        attempt: row.try_get::<i64, _>("attempt")? as u32,
                        started_at: from_millis(row.try_get("started_at")?),
                        duration_ms: row.try_get::<i64, _>("duration_ms")?.max(0) as u64,
                        outcome: {
                            let name: String = row.try_get("outcome")?;
                            $crate::storage::AttemptOutcome::parse(&name).ok_or_else(|| {
                                $crate::storage::StoreError::Corrupt(format!("attempt outcome `{name}`"))
                            })?
                        },
                        status_code: row
                            .try_get::<Option<i64>, _>("status_code")?
                            .and_then(|s| u16::try_from(s).ok()),
                        response_headers: headers
                            .and_then(|h| serde_json::from_str(&h).ok())
                            .unwrap_or_default(),
                        response_body: row.try_get("response_body")?,
                        error: row.try_get("error")?,
                    })
                })
                .collect()
        }

        async fn retry_deliveries(
            &self,
            id: Option<&str>,
            filter: Option<&$crate::storage::RetryFilter>,
            now: chrono::DateTime<chrono::Utc>,
        ) -> Result<u64, StoreError> {
            let mut sql = String::from(
                "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = $1, updated_at = $1, \
                 lease_owner = NULL WHERE status IN ('failed', 'dead', 'expired')",
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
            let mut tx = self.begin_write().await?;
            let done = q.execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(done.rows_affected())
        }

        async fn delivery_counts(&self) -> Result<Vec<$crate::storage::StatusCount>, StoreError> {
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
                let Some(status) = $crate::storage::DeliveryStatus::parse(&status) else { continue };
                counts.push($crate::storage::StatusCount {
                    destination: row.try_get("destination")?,
                    status,
                    count: row.try_get::<i64, _>("n")? as u64,
                });
            }
            Ok(counts)
        }

        async fn destination_states(&self) -> Result<Vec<$crate::storage::DestinationState>, StoreError> {
            let rows = sqlx::query(
                "SELECT name, disabled_at, disabled_reason, paused_until, last_success_at, last_error_at, last_error \
                 FROM destination_state ORDER BY name",
            )
            .fetch_all(&self.pool)
            .await?;
            let t = |row: &<$db as sqlx::Database>::Row, c: &str| -> Result<_, StoreError> {
                Ok(row.try_get::<Option<i64>, _>(c)?.map(from_millis))
            };
            rows.iter()
                .map(|row| {
                    Ok($crate::storage::DestinationState {
                        name: row.try_get("name")?,
                        disabled_at: t(row, "disabled_at")?,
                        disabled_reason: row.try_get("disabled_reason")?,
                        paused_until: t(row, "paused_until")?,
                        last_success_at: t(row, "last_success_at")?,
                        last_error_at: t(row, "last_error_at")?,
                        last_error: row.try_get("last_error")?,
                    })
                })
                .collect()
        }

        async fn set_destination_disabled(
            &self,
            name: &str,
            disabled: Option<(&str, chrono::DateTime<chrono::Utc>)>,
        ) -> Result<(), StoreError> {
            sqlx::query(
                "INSERT INTO destination_state (name, disabled_at, disabled_reason) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET disabled_at = excluded.disabled_at, \
                 disabled_reason = excluded.disabled_reason, \
                 paused_until = CASE WHEN excluded.disabled_at IS NULL THEN NULL ELSE destination_state.paused_until END",
            )
            .bind(name)
            .bind(disabled.map(|d| millis(d.1)))
            .bind(disabled.map(|d| d.0))
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

        async fn set_destination_paused(
            &self,
            name: &str,
            until: Option<chrono::DateTime<chrono::Utc>>,
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
        }
    };
}

/// Inherent helpers of the queue methods, for one store type.
macro_rules! queue_helpers {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Claimed rows with their events loaded in one query, oldest first.
            async fn claimed_with_events(
                &self,
                rows: Vec<<$db as sqlx::Database>::Row>,
            ) -> Result<Vec<$crate::storage::Claimed>, $crate::storage::StoreError> {
                use sqlx::Row as _;
                use $crate::storage::from_millis;
                if rows.is_empty() {
                    return Ok(Vec::new());
                }
                let event_ids: Vec<String> =
                    rows.iter().map(|r| r.try_get("event_id")).collect::<Result<_, _>>()?;
                let mut unique = event_ids.clone();
                unique.sort();
                unique.dedup();
                let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT id, envelope FROM events WHERE id IN ({})",
                    $crate::storage::queue_sql::in_list(unique.len())
                )));
                for id in &unique {
                    q = q.bind(id);
                }
                let mut envelopes = std::collections::HashMap::new();
                for row in q.fetch_all(&self.pool).await? {
                    let id: String = row.try_get("id")?;
                    envelopes.insert(id, $crate::storage::parse_envelope(row.try_get("envelope")?)?);
                }
                let mut remaining: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
                for id in &event_ids {
                    *remaining.entry(id.as_str()).or_default() += 1;
                }
                let mut claimed = Vec::with_capacity(rows.len());
                for (row, event_id) in rows.iter().zip(event_ids.iter()) {
                    // The event was purged between routing and now: nothing left to send.
                    // Moved out on its last use: most events have one delivery per claim.
                    let uses = remaining.get_mut(event_id.as_str()).map(|n| { *n -= 1; *n }).unwrap_or(0);
                    let event = if uses == 0 { envelopes.remove(event_id) } else { envelopes.get(event_id).cloned() };
                    let Some(event) = event else { continue };
                    claimed.push($crate::storage::Claimed {
                        id: row.try_get("id")?,
                        destination: row.try_get("destination")?,
                        attempts: row.try_get::<i64, _>("attempts")? as u32,
                        created_at: from_millis(row.try_get("created_at")?),
                        expires_at: row.try_get::<Option<i64>, _>("expires_at")?.map(from_millis),
                    group_key: row.try_get("group_key")?,
                        event,
                    });
                }
                claimed.sort_by(|a, b| a.id.cmp(&b.id));
                Ok(claimed)
            }

            /// Inserts deliveries (due at once) inside a caller's transaction, in multi-row statements.
            async fn insert_delivery_rows(
                tx: &mut sqlx::Transaction<'static, $db>,
                rows: &[$crate::storage::NewDelivery],
            ) -> Result<(), $crate::storage::StoreError> {
                use $crate::storage::millis;
                for chunk in rows.chunks(100) {
                    let values = $crate::storage::queue_sql::values_list(chunk.len(), &[""; 10]);
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
    };
}

pub(super) use {queue_helpers, queue_queries};
