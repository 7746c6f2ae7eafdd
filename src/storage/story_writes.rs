//! What a stories pass writes, in the pass's transaction: the stories, their keys and timeline rows in
//! multi-row statements (each row once per statement, the last write of a key winning), the sources'
//! rhythms, the derived events with their outbox rows, and the story messages.

use super::dialect::{Dialect, SqlStore, rows_per_statement, shaped_chunks, values_list};
use super::story_pass::Joined;
use super::{StoreError, millis};
use crate::event::Event;
use crate::stories::{Story, Writes};
use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Transaction, Type};
use std::collections::HashMap;

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
    /// Writes what a pass changed.
    pub(super) async fn write(
        tx: &mut Transaction<'static, D>,
        w: Writes,
    ) -> Result<Joined, StoreError> {
        // Multi-row statements: a pass writes hundreds of rows. Each row once per statement (PostgreSQL
        // refuses an upsert that touches a row twice), the last write of a key winning.
        let stories: Vec<&(Story, Option<DateTime<Utc>>)> = w.stories.values().collect();
        for chunk in shaped_chunks(&stories, rows_per_statement(9, 64)) {
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
        let keys = last_of(w.keys.iter().map(|(k, id)| (k.as_str(), id.as_str())));
        for chunk in shaped_chunks(&keys, rows_per_statement(2, 128)) {
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
        for chunk in shaped_chunks(&rows, rows_per_statement(5, 128)) {
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
