//! Events as stored: the event list with its filters, one event and its raw request, the outbox of events
//! not yet routed, the rejected bodies, and the purge of what is past its retention.

use super::dialect::{Bind, Dialect, SqlStore};
use super::{
    EventQuery, Page, PurgeBefore, Rejected, RejectedRow, StoreError, StoredRaw, from_millis,
    glob_to_like, headers_json, millis, parse_envelope,
};
use crate::event::{Event, EventId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Row as _, Type};

/// Events and what came with them (part of every [`super::Store`]). Storing them is [`super::Intake`].
#[async_trait]
pub trait Events: Send + Sync + 'static {
    /// Keeps a body that could not be parsed.
    async fn insert_rejected(&self, rejected: Rejected) -> Result<(), StoreError>;
    /// Rejected bodies, newest first, a page at a time (`before`: the previous page's last id).
    async fn list_rejected(
        &self,
        before: Option<String>,
        limit: u32,
    ) -> Result<Page<RejectedRow>, StoreError>;
    /// Events matching the query, newest first, a page at a time.
    async fn list_events(&self, query: &EventQuery) -> Result<Page<Event>, StoreError>;
    /// One event by id.
    async fn get_event(&self, id: &EventId) -> Result<Option<Event>, StoreError>;
    /// How many events arrived in each minute since `since` that had any: (minute start, count), oldest
    /// first.
    async fn events_per_minute(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, u64)>, StoreError>;
    /// Events after an id (from the oldest when `None`), oldest first: a resumed stream's replay.
    async fn events_after(
        &self,
        after: Option<&EventId>,
        limit: u32,
    ) -> Result<Vec<Event>, StoreError>;
    /// The events of these ids that exist, oldest first.
    async fn events_by_ids(&self, ids: &[EventId]) -> Result<Vec<Event>, StoreError>;
    /// The request an event came in, as kept.
    async fn get_raw(&self, id: &EventId) -> Result<Option<StoredRaw>, StoreError>;
    /// Events not yet routed, oldest first.
    async fn outbox(&self, limit: u32) -> Result<Vec<EventId>, StoreError>;
    /// Deletes what is older than its cut-off: events (with their raw bodies, outbox rows, deliveries and
    /// attempts) and rejected bodies, dedupe keys, playback sessions; in batches. Returns how many events
    /// went.
    async fn purge(&self, before: &PurgeBefore) -> Result<u64, StoreError>;
}

#[async_trait]
impl<D> Events for SqlStore<D>
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
    async fn insert_rejected(&self, r: Rejected) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO rejected (id, source, received_at, reason, content_type, headers, body) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&r.id)
        .bind(&r.source)
        .bind(millis(r.received_at))
        .bind(&r.reason)
        .bind(r.raw.content_type.as_deref())
        .bind(headers_json(&r.raw.headers))
        .bind(r.raw.body.as_slice())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn list_rejected(
        &self,
        before: Option<String>,
        limit: u32,
    ) -> Result<Page<RejectedRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, source, received_at, reason, content_type, body FROM rejected \
             WHERE id < $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(before.unwrap_or_else(|| "~".into()))
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        let items = rows
            .iter()
            .map(|row| {
                let body: &[u8] = row.try_get("body")?;
                Ok(RejectedRow {
                    id: row.try_get("id")?,
                    source: row.try_get("source")?,
                    received_at: from_millis(row.try_get("received_at")?),
                    reason: row.try_get("reason")?,
                    content_type: row.try_get("content_type")?,
                    body: String::from_utf8_lossy(body).into_owned(),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Page::from_overfetch(items, limit, |r| r.id.clone()))
    }

    async fn list_events(&self, q: &EventQuery) -> Result<Page<Event>, StoreError> {
        let (sql, binds) = event_list_sql(q);
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for b in binds {
            query = match b {
                Bind::Text(s) => query.bind(s),
                Bind::Int(i) => query.bind(i),
            };
        }
        let rows = query.fetch_all(&self.pool).await?;
        let items = rows
            .iter()
            .map(|row| parse_envelope(row.try_get("envelope")?, row.try_get("envelope_z")?))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(items, q.limit, |e| e.id.to_string()))
    }

    async fn get_event(&self, id: &EventId) -> Result<Option<Event>, StoreError> {
        let row = sqlx::query("SELECT envelope, envelope_z FROM events WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| parse_envelope(row.try_get("envelope")?, row.try_get("envelope_z")?))
            .transpose()
    }

    async fn events_per_minute(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, u64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT received_at / 60000 AS minute, COUNT(*) AS n FROM events \
             WHERE received_at >= $1 GROUP BY received_at / 60000 ORDER BY minute",
        )
        .bind(millis(since))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let minute: i64 = row.try_get("minute")?;
                let n: i64 = row.try_get("n")?;
                Ok((from_millis(minute * 60_000), n as u64))
            })
            .collect()
    }

    async fn events_after(
        &self,
        after: Option<&EventId>,
        limit: u32,
    ) -> Result<Vec<Event>, StoreError> {
        let rows = sqlx::query(
            "SELECT envelope, envelope_z FROM events WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after.map(EventId::as_str).unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| parse_envelope(row.try_get("envelope")?, row.try_get("envelope_z")?))
            .collect()
    }

    async fn events_by_ids(&self, ids: &[EventId]) -> Result<Vec<Event>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let marks: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT envelope, envelope_z FROM events WHERE id IN ({}) ORDER BY id",
            marks.join(", ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in ids {
            q = q.bind(id.as_str());
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| parse_envelope(row.try_get("envelope")?, row.try_get("envelope_z")?))
            .collect()
    }

    async fn get_raw(&self, id: &EventId) -> Result<Option<StoredRaw>, StoreError> {
        let row = sqlx::query(
            "SELECT content_type, headers, body, body_z FROM event_raw WHERE event_id = $1",
        )
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let headers: &str = row.try_get("headers")?;
        Ok(Some(StoredRaw {
            content_type: row.try_get("content_type")?,
            headers: serde_json::from_str(headers)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            body: super::unpack(row.try_get("body")?, row.try_get("body_z")?)?.into_owned(),
        }))
    }

    async fn outbox(&self, limit: u32) -> Result<Vec<EventId>, StoreError> {
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT event_id FROM outbox ORDER BY event_id LIMIT $1")
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
        Ok(ids.iter().filter_map(|id| EventId::parse(id)).collect())
    }

    async fn purge(&self, before: &PurgeBefore) -> Result<u64, StoreError> {
        let mut total = 0;
        let batches = [
            (
                "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE received_at < $1 LIMIT 500)",
                before.events,
            ),
            // Progress reports go sooner; the (event, id) index finds them.
            (
                "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE event = 'playback.progress' \
                 AND received_at < $1 LIMIT 500)",
                before.progress,
            ),
        ];
        for (sql, cut_off) in batches {
            loop {
                // Small batches keep each write short, so ingest never waits long behind a purge.
                let done = sqlx::query(sql)
                    .bind(millis(cut_off))
                    .execute(&self.pool)
                    .await?;
                let n = D::rows_affected(&done);
                total += n;
                if n == 0 {
                    break;
                }
            }
        }
        let cut_offs = [
            (
                "DELETE FROM sent_messages WHERE created_at < $1",
                before.events,
            ),
            ("DELETE FROM rejected WHERE received_at < $1", before.events),
            // The audit log and what mocks recorded follow the events' retention.
            ("DELETE FROM audit_log WHERE at < $1", before.events),
            (
                "DELETE FROM mock_requests WHERE received_at < $1",
                before.events,
            ),
            // Sessions past their TTL (`crate::playback` ignores them already).
            (
                "DELETE FROM playback_sessions WHERE updated_at < $1",
                before.sessions,
            ),
            (
                "DELETE FROM dedupe_keys WHERE created_at < $1",
                before.dedupe_keys,
            ),
        ];
        for (sql, cut_off) in cut_offs {
            sqlx::query(sql)
                .bind(millis(cut_off))
                .execute(&self.pool)
                .await?;
        }
        Ok(total)
    }
}

/// The `WHERE … ORDER BY … LIMIT` of an event listing, with its binds.
fn event_list_sql(q: &EventQuery) -> (String, Vec<Bind>) {
    let mut sql = String::from("SELECT envelope, envelope_z FROM events WHERE 1 = 1");
    let mut binds = Vec::new();
    let next = |binds: &mut Vec<Bind>, b: Bind| {
        binds.push(b);
        format!("${}", binds.len())
    };
    if !q.events.is_empty() {
        let clauses: Vec<String> = q
            .events
            .iter()
            .map(|g| {
                let like = next(&mut binds, Bind::Text(glob_to_like(g)));
                format!("event LIKE {like} ESCAPE '\\'")
            })
            .collect();
        sql.push_str(&format!(" AND ({})", clauses.join(" OR ")));
    }
    if let Some(source) = &q.source {
        let p = next(&mut binds, Bind::Text(source.clone()));
        sql.push_str(&format!(" AND source = {p}"));
    }
    if let Some(since) = q.since {
        let p = next(&mut binds, Bind::Int(millis(since)));
        sql.push_str(&format!(" AND received_at >= {p}"));
    }
    if let Some(until) = q.until {
        let p = next(&mut binds, Bind::Int(millis(until)));
        sql.push_str(&format!(" AND received_at < {p}"));
    }
    if let Some(text) = &q.q {
        let pattern = format!("%{}%", glob_to_like(&text.to_lowercase()));
        let p = next(&mut binds, Bind::Text(pattern));
        sql.push_str(&format!(" AND LOWER(summary) LIKE {p} ESCAPE '\\'"));
    }
    if let Some(before) = &q.before {
        let p = next(&mut binds, Bind::Text(before.to_string()));
        sql.push_str(&format!(" AND id < {p}"));
    }
    let limit = next(&mut binds, Bind::Int(i64::from(q.limit) + 1));
    sql.push_str(&format!(" ORDER BY id DESC LIMIT {limit}"));
    (sql, binds)
}
