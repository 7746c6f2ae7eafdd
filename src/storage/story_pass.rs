//! Joining stored events into stories, the stored side: a pass takes queued events (routed, not yet joined)
//! with the stories and rhythms they touch, hands them to the joiner, and writes back what it returns — the
//! stories, their keys and timelines, derived events (with their outbox rows) and story messages — in one
//! transaction, and only if the stories' generation did not move since it read (so passes of several
//! processes never write over each other). Also the stuck/silence sweep and the rebuild from every stored
//! event. What a pass writes is `story_writes.rs`.

use super::dialect::{Dialect, SqlStore, in_list, shaped_chunks};
use super::{StoreError, millis, parse_envelope};
use crate::event::Event;
use crate::stories::{Batch, Rhythm, Story, Sweep, Writes, lookup_keys};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Row as _, Transaction, Type};
use std::collections::HashMap;

/// What a pass did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Joined {
    /// Events taken from the queue (or, rebuilding, read).
    pub events: usize,
    /// Stories changed.
    pub stories: Vec<String>,
    /// Events derived (stored with their outbox rows: the router takes them from there).
    pub derived: usize,
    /// Story messages queued.
    pub deliveries: usize,
    /// The stories changed while the pass read them: nothing was written, the next pass reads again.
    pub stale: bool,
}

/// A pass's joiner: a batch in, what it changes out.
pub type JoinFn<'a> = dyn Fn(Batch) -> Writes + Send + Sync + 'a;
/// A sweep's judge: the stories due a stuck check and every rhythm in, what it changes out.
pub type SweepFn<'a> = dyn Fn(Sweep) -> Writes + Send + Sync + 'a;

/// The stored side of stories' joining (part of every [`super::Store`]).
#[async_trait]
pub trait StoryPasses: Send + Sync + 'static {
    /// Joins up to `limit` queued events, oldest first, in one transaction.
    async fn join_queued(&self, limit: u32, join: &JoinFn<'_>) -> Result<Joined, StoreError>;
    /// Looks for stories due a stuck check at `now` and at every source's rhythm, in one transaction.
    async fn sweep_stories(
        &self,
        now: DateTime<Utc>,
        sweep: &SweepFn<'_>,
    ) -> Result<Joined, StoreError>;
    /// The version of the rules the stored stories were built by (0: never built).
    async fn story_rules_version(&self) -> Result<i64, StoreError>;
    /// Forgets every story and joins every stored event again, oldest first, `batch` at a time (events still
    /// queued are left to the live pass), then records `version`. One transaction: a crash leaves the old
    /// stories.
    async fn rebuild_stories(
        &self,
        batch: u32,
        join: &JoinFn<'_>,
        version: i64,
    ) -> Result<Joined, StoreError>;
}

#[async_trait]
impl<D> StoryPasses for SqlStore<D>
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
    async fn join_queued(&self, limit: u32, join: &JoinFn<'_>) -> Result<Joined, StoreError> {
        // Most passes find nothing: look without taking the write lock.
        let any: Option<String> = sqlx::query_scalar("SELECT event_id FROM story_queue LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        if any.is_none() {
            return Ok(Joined::default());
        }
        // Read and joined without the write lock (ingest goes on meanwhile); written only if no other pass,
        // sweep, follow or rebuild changed the stories since (the generation in `story_state.lock`), else
        // the next pass reads again.
        let generation: i64 =
            sqlx::query_scalar("SELECT value FROM story_state WHERE name = 'lock'")
                .fetch_one(&self.pool)
                .await?;
        let mut conn = self.pool.acquire().await?;
        let rows = sqlx::query(
            "SELECT q.event_id, e.envelope, e.envelope_z FROM story_queue q LEFT JOIN events e ON e.id = q.event_id \
             ORDER BY q.event_id LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&mut *conn)
        .await?;
        let mut taken = Vec::with_capacity(rows.len());
        let mut events = Vec::with_capacity(rows.len());
        for row in &rows {
            taken.push(row.try_get::<String, _>("event_id")?);
            // A purged event (or a corrupt envelope) leaves the queue with nothing to join.
            if let Some(envelope) = row.try_get::<Option<String>, _>("envelope")?
                && let Ok(event) = parse_envelope(&envelope, row.try_get("envelope_z")?)
            {
                events.push(event);
            }
        }
        let batch = Self::load_batch(&mut conn, events).await?;
        drop(conn);
        let writes = join(batch);
        let mut tx = D::begin_write(&self.pool).await?;
        let claimed = sqlx::query(
            "UPDATE story_state SET value = value + 1 WHERE name = 'lock' AND value = $1",
        )
        .bind(generation)
        .execute(&mut *tx)
        .await?;
        if D::rows_affected(&claimed) == 0 {
            tx.rollback().await?;
            return Ok(Joined {
                stale: true,
                ..Joined::default()
            });
        }
        let mut joined = Self::write(&mut tx, writes).await?;
        for chunk in shaped_chunks(&taken, 256) {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM story_queue WHERE event_id IN ({})",
                in_list(chunk.len())
            )));
            for id in chunk {
                q = q.bind(id);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        joined.events = taken.len();
        Ok(joined)
    }

    async fn sweep_stories(
        &self,
        now: DateTime<Utc>,
        sweep: &SweepFn<'_>,
    ) -> Result<Joined, StoreError> {
        let due: Option<String> = sqlx::query_scalar(
            "SELECT id FROM stories WHERE stuck_due_at IS NOT NULL AND stuck_due_at <= $1 LIMIT 1",
        )
        .bind(millis(now))
        .fetch_optional(&self.pool)
        .await?;
        // Whether any source is newly silent is judged on a read first: most sweeps find nothing to do and
        // take no write lock.
        let rhythms = Self::rhythms(&self.pool).await?;
        let silent = !rhythms.is_empty()
            && !sweep(Sweep {
                due: Vec::new(),
                rhythms,
            })
            .derived
            .is_empty();
        if due.is_none() && !silent {
            return Ok(Joined::default());
        }
        let mut tx = Self::locked(&self.pool).await?;
        let rows = sqlx::query(
            "SELECT doc FROM stories WHERE stuck_due_at IS NOT NULL AND stuck_due_at <= $1 \
             ORDER BY stuck_due_at LIMIT 200",
        )
        .bind(millis(now))
        .fetch_all(&mut *tx)
        .await?;
        let due = rows
            .iter()
            .map(|r| story_doc(r.try_get("doc")?))
            .collect::<Result<Vec<_>, _>>()?;
        let rhythms = Self::rhythms(&mut *tx).await?;
        let writes = sweep(Sweep { due, rhythms });
        let joined = Self::write(&mut tx, writes).await?;
        tx.commit().await?;
        Ok(joined)
    }

    async fn story_rules_version(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT value FROM story_state WHERE name = 'rules_version'")
                .fetch_optional(&self.pool)
                .await?
                .unwrap_or(0),
        )
    }

    async fn rebuild_stories(
        &self,
        batch: u32,
        join: &JoinFn<'_>,
        version: i64,
    ) -> Result<Joined, StoreError> {
        let mut tx = Self::locked(&self.pool).await?;
        for table in ["stories", "story_keys", "story_timeline", "source_rhythm"] {
            sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}")))
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE story_state SET value = 0 WHERE name = 'unmatched'")
            .execute(&mut *tx)
            .await?;
        let mut after = String::new();
        let mut total = Joined::default();
        loop {
            let rows = sqlx::query(
                "SELECT id, envelope, envelope_z FROM events WHERE id > $1 \
                 AND id NOT IN (SELECT event_id FROM story_queue) ORDER BY id LIMIT $2",
            )
            .bind(&after)
            .bind(i64::from(batch))
            .fetch_all(&mut *tx)
            .await?;
            let Some(last) = rows.last() else { break };
            after = last.try_get("id")?;
            let events: Vec<Event> = rows
                .iter()
                .filter_map(|r| {
                    let plain = r.try_get::<String, _>("envelope").ok()?;
                    parse_envelope(&plain, r.try_get("envelope_z").ok()?).ok()
                })
                .filter(crate::stories::queued)
                .collect();
            total.events += rows.len();
            let loaded = Self::load_batch(&mut *tx, events).await?;
            let joined = Self::write(&mut tx, join(loaded)).await?;
            total.stories.extend(joined.stories);
        }
        sqlx::query("UPDATE story_state SET value = $1 WHERE name = 'rules_version'")
            .bind(version)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        total.stories.sort();
        total.stories.dedup();
        Ok(total)
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
    /// A write transaction holding the stories' lock: the `lock` row of `story_state`, whose value (the
    /// stories' generation) it moves on, so that a joining pass that read before it writes nothing.
    async fn locked(pool: &sqlx::Pool<D>) -> Result<Transaction<'static, D>, StoreError> {
        let mut tx = D::begin_write(pool).await?;
        sqlx::query("UPDATE story_state SET value = value + 1 WHERE name = 'lock'")
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    async fn rhythms<'e, E>(
        executor: E,
    ) -> Result<std::collections::BTreeMap<String, Rhythm>, StoreError>
    where
        E: Executor<'e, Database = D>,
    {
        let rows = sqlx::query("SELECT source, doc FROM source_rhythm")
            .fetch_all(executor)
            .await?;
        let mut out = std::collections::BTreeMap::new();
        for row in rows {
            let doc: String = row.try_get("doc")?;
            if let Ok(r) = serde_json::from_str(&doc) {
                out.insert(row.try_get("source")?, r);
            }
        }
        Ok(out)
    }

    /// The stored keys, stories (with their seasons) and rhythms a batch of events touches.
    async fn load_batch(conn: &mut D::Connection, events: Vec<Event>) -> Result<Batch, StoreError> {
        let mut keys: Vec<String> = events.iter().flat_map(lookup_keys).collect();
        keys.sort();
        keys.dedup();
        let mut found = HashMap::new();
        for chunk in shaped_chunks(&keys, 256) {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT key, story_id FROM story_keys WHERE key IN ({})",
                in_list(chunk.len())
            )));
            for k in chunk {
                q = q.bind(k);
            }
            for row in q.fetch_all(&mut *conn).await? {
                found.insert(row.try_get("key")?, row.try_get("story_id")?);
            }
        }
        let mut wanted: Vec<String> = found
            .values()
            .filter(|v: &&String| !v.is_empty())
            .cloned()
            .collect();
        wanted.extend(
            events
                .iter()
                .filter_map(|e| crate::stories::story_named(e).map(str::to_owned)),
        );
        let mut stories = HashMap::new();
        // Twice: the stories, then the seasons of their episodes.
        for _ in 0..2 {
            wanted.sort();
            wanted.dedup();
            wanted.retain(|id| !stories.contains_key(id));
            for chunk in shaped_chunks(&wanted, 256) {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT doc FROM stories WHERE id IN ({})",
                    in_list(chunk.len())
                )));
                for id in chunk {
                    q = q.bind(id);
                }
                for row in q.fetch_all(&mut *conn).await? {
                    let story = story_doc(row.try_get("doc")?)?;
                    stories.insert(story.id.clone(), story);
                }
            }
            wanted = stories.values().filter_map(|s| s.parent.clone()).collect();
        }
        Ok(Batch {
            events,
            keys: found,
            stories,
            rhythms: Self::rhythms(&mut *conn).await?,
        })
    }
}

pub(super) fn story_doc(doc: String) -> Result<Story, StoreError> {
    serde_json::from_str(&doc).map_err(|e| StoreError::Corrupt(format!("a stored story: {e}")))
}
