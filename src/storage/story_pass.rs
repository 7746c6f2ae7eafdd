//! Joining stored events into stories, the stored side: a pass takes queued events (routed, not yet joined)
//! with the stories and rhythms they touch, hands them to the joiner, and writes back what it returns — the
//! stories, their keys and timelines, derived events (with their outbox rows) and story messages — in the
//! same transaction, locked so that one process joins at a time. Also the stuck/silence sweep and the
//! rebuild from every stored event.

use super::dialect::{Dialect, SqlStore, in_list, shaped_chunks, values_list};
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
            "SELECT q.event_id, e.envelope FROM story_queue q LEFT JOIN events e ON e.id = q.event_id \
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
                && let Ok(event) = parse_envelope(&envelope)
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
                "SELECT id, envelope FROM events WHERE id > $1 \
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
                .filter_map(|r| r.try_get::<String, _>("envelope").ok())
                .filter_map(|e| parse_envelope(&e).ok())
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

    /// Writes what a pass changed.
    async fn write(tx: &mut Transaction<'static, D>, w: Writes) -> Result<Joined, StoreError> {
        // Multi-row statements: a pass writes hundreds of rows. Each row once per statement (PostgreSQL
        // refuses an upsert that touches a row twice), the last write of a key winning.
        let stories: Vec<&(Story, Option<DateTime<Utc>>)> = w.stories.values().collect();
        for chunk in shaped_chunks(&stories, 64) {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO stories (id, kind, stage, title, parent_id, sources, updated_at, stuck_due_at, doc) \
                 VALUES {} ON CONFLICT (id) DO UPDATE SET \
                 kind = excluded.kind, stage = excluded.stage, title = excluded.title, \
                 parent_id = excluded.parent_id, sources = excluded.sources, \
                 updated_at = excluded.updated_at, stuck_due_at = excluded.stuck_due_at, doc = excluded.doc",
                values_list(chunk.len(), &[""; 9])
            )));
            for (story, due) in chunk.iter().copied() {
                let sources = format!(
                    ",{},",
                    story.sources.iter().cloned().collect::<Vec<_>>().join(",")
                );
                q = q
                    .bind(story.id.as_str())
                    .bind(story.kind.as_str())
                    .bind(story.stage.as_str())
                    .bind(story.title.as_str())
                    .bind(story.parent.as_deref())
                    .bind(sources)
                    .bind(millis(story.updated_at))
                    .bind(due.map(millis))
                    .bind(serde_json::to_string(story).expect("a story serializes"));
            }
            q.execute(&mut **tx).await?;
        }
        let keys: Vec<(&str, &str)> =
            last_of(w.keys.iter().map(|(k, id)| ((k.as_str(), ""), id.as_str())))
                .into_iter()
                .map(|((k, _), id)| (k, id))
                .collect();
        for chunk in shaped_chunks(&keys, 128) {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO story_keys (key, story_id) VALUES {} \
                 ON CONFLICT (key) DO UPDATE SET story_id = excluded.story_id",
                values_list(chunk.len(), &["", ""])
            )));
            for (key, id) in chunk {
                q = q.bind(*key).bind(*id);
            }
            q.execute(&mut **tx).await?;
        }
        let rows = last_of(
            w.timeline
                .iter()
                .map(|r| ((r.story_id.as_str(), r.event_id.as_str()), r)),
        );
        for chunk in shaped_chunks(&rows, 128) {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO story_timeline (story_id, event_id, at, event, stage) VALUES {} \
                 ON CONFLICT (story_id, event_id) DO UPDATE SET stage = excluded.stage",
                values_list(chunk.len(), &[""; 5])
            )));
            for (_, row) in chunk {
                q = q
                    .bind(row.story_id.as_str())
                    .bind(row.event_id.as_str())
                    .bind(millis(row.at))
                    .bind(row.event.as_str())
                    .bind(row.stage.as_str());
            }
            q.execute(&mut **tx).await?;
        }
        for (source, rhythm) in &w.rhythms {
            sqlx::query(
                "INSERT INTO source_rhythm (source, doc) VALUES ($1, $2) \
                 ON CONFLICT (source) DO UPDATE SET doc = excluded.doc",
            )
            .bind(source.as_str())
            .bind(serde_json::to_string(rhythm).expect("a rhythm serializes"))
            .execute(&mut **tx)
            .await?;
        }
        for event in &w.derived {
            Self::insert_derived(tx, event).await?;
        }
        Self::insert_delivery_rows(tx, &w.deliveries).await?;
        if w.unmatched > 0 {
            sqlx::query("UPDATE story_state SET value = value + $1 WHERE name = 'unmatched'")
                .bind(w.unmatched)
                .execute(&mut **tx)
                .await?;
        }
        Ok(Joined {
            events: 0,
            stories: w.stories.into_keys().collect(),
            derived: w.derived.len(),
            deliveries: w.deliveries.len(),
            stale: false,
        })
    }

    /// A derived event with its raw record (what it was derived from) and its outbox row.
    async fn insert_derived(
        tx: &mut Transaction<'static, D>,
        event: &Event,
    ) -> Result<(), StoreError> {
        let at = millis(event.timestamp);
        sqlx::query(
            "INSERT INTO events (id, event, source, received_at, summary, envelope) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(event.id.as_str())
        .bind(event.event.as_str())
        .bind(event.source.name.as_str())
        .bind(at)
        .bind(event.summary.as_str())
        .bind(super::envelope_json(event))
        .execute(&mut **tx)
        .await?;
        let about = serde_json::json!({"derived_from": event.data.story.as_ref().map(|s| &s.id)
            .or(event.data.silence.as_ref().map(|s| &s.source))});
        sqlx::query(
            "INSERT INTO event_raw (event_id, content_type, headers, body) VALUES ($1, $2, $3, $4)",
        )
        .bind(event.id.as_str())
        .bind(Some("application/json"))
        .bind("{}")
        .bind(serde_json::to_vec(&about).unwrap_or_default().as_slice())
        .execute(&mut **tx)
        .await?;
        sqlx::query("INSERT INTO outbox (event_id, created_at) VALUES ($1, $2)")
            .bind(event.id.as_str())
            .bind(at)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

/// Each key's last value, in the order the keys first came.
fn last_of<K: Eq + std::hash::Hash + Copy, V>(items: impl Iterator<Item = (K, V)>) -> Vec<(K, V)> {
    let mut at: HashMap<K, usize> = HashMap::new();
    let mut out: Vec<(K, V)> = Vec::new();
    for (k, v) in items {
        match at.get(&k) {
            Some(&i) => out[i].1 = v,
            None => {
                at.insert(k, out.len());
                out.push((k, v));
            }
        }
    }
    out
}

pub(super) fn story_doc(doc: String) -> Result<Story, StoreError> {
    serde_json::from_str(&doc).map_err(|e| StoreError::Corrupt(format!("a stored story: {e}")))
}
