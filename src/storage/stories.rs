//! Stories as read: the list with its filters, one story with its timeline and episodes, the count of events
//! that named no title, and following a title. Joining them is `story_pass.rs`.

use super::dialect::{Bind, Dialect, SqlStore};
use super::story_pass::story_doc;
use super::{Page, StoreError, from_millis, glob_to_like, millis};
use crate::stories::{Stage, Story};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Row as _, Type};

/// `GET /api/stories` filters.
#[derive(Debug, Clone, Default)]
pub struct StoryQuery {
    pub stage: Option<Stage>,
    /// A source that told of it.
    pub source: Option<String>,
    /// Words of its title.
    pub q: Option<String>,
    /// Only top-level stories (no season's episodes).
    pub top: bool,
    /// The previous page's cursor.
    pub before: Option<String>,
    pub limit: u32,
}

/// One event of a story's timeline, as listed.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct TimelineEntry {
    pub event_id: String,
    pub event: String,
    #[serde(with = "crate::event::millis_rfc3339")]
    pub at: DateTime<Utc>,
    /// The source that sent it (`hookarr` for derived events).
    pub source: Option<String>,
    pub summary: Option<String>,
    /// The story's stage after it.
    pub stage: String,
}

/// Stories as read (part of every [`super::Store`]).
#[async_trait]
pub trait Stories: Send + Sync + 'static {
    /// Stories most recently changed first, a page at a time.
    async fn list_stories(&self, q: &StoryQuery) -> Result<Page<Story>, StoreError>;
    async fn get_story(&self, id: &str) -> Result<Option<Story>, StoreError>;
    /// A story's events, oldest first.
    async fn story_timeline(&self, id: &str) -> Result<Vec<TimelineEntry>, StoreError>;
    /// A season's episodes.
    async fn story_children(&self, id: &str) -> Result<Vec<Story>, StoreError>;
    /// Events of a story's kind that named no title.
    async fn unmatched_events(&self) -> Result<i64, StoreError>;
    /// Adds a person to a story's followers; the story as it is now (`None`: no such story).
    async fn follow_story(&self, id: &str, person: &str) -> Result<Option<Story>, StoreError>;
}

#[async_trait]
impl<D> Stories for SqlStore<D>
where
    D: Dialect,
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    D::Arguments: IntoArguments<D>,
    for<'q> &'q str: Encode<'q, D> + Decode<'q, D> + Type<D> + ColumnIndex<D::Row>,
    for<'q> String: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> Option<String>: Decode<'q, D>,
    for<'q> i64: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> Option<i64>: Encode<'q, D>,
    usize: ColumnIndex<D::Row>,
{
    async fn list_stories(&self, q: &StoryQuery) -> Result<Page<Story>, StoreError> {
        let mut sql = String::from("SELECT updated_at, id, doc FROM stories WHERE 1 = 1");
        let mut binds = Vec::new();
        let next = |binds: &mut Vec<Bind>, b: Bind| {
            binds.push(b);
            format!("${}", binds.len())
        };
        if let Some(stage) = q.stage {
            let p = next(&mut binds, Bind::Text(stage.as_str().to_owned()));
            sql.push_str(&format!(" AND stage = {p}"));
        }
        if let Some(source) = &q.source {
            let p = next(
                &mut binds,
                Bind::Text(format!("%,{},%", glob_to_like(source))),
            );
            sql.push_str(&format!(" AND sources LIKE {p} ESCAPE '\\'"));
        }
        if let Some(text) = &q.q {
            let p = next(
                &mut binds,
                Bind::Text(format!("%{}%", glob_to_like(&text.to_lowercase()))),
            );
            sql.push_str(&format!(" AND LOWER(title) LIKE {p} ESCAPE '\\'"));
        }
        if q.top {
            sql.push_str(" AND parent_id IS NULL");
        }
        if let Some((at, id)) = q.before.as_deref().and_then(|c| c.split_once('_')) {
            let at: i64 = at.parse().unwrap_or(i64::MAX);
            let a = next(&mut binds, Bind::Int(at));
            let b = next(&mut binds, Bind::Text(id.to_owned()));
            sql.push_str(&format!(
                " AND (updated_at < {a} OR (updated_at = {a} AND id < {b}))"
            ));
        }
        let limit = next(&mut binds, Bind::Int(i64::from(q.limit) + 1));
        sql.push_str(&format!(" ORDER BY updated_at DESC, id DESC LIMIT {limit}"));
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for b in binds {
            query = match b {
                Bind::Text(s) => query.bind(s),
                Bind::Int(n) => query.bind(n),
            };
        }
        let rows = query.fetch_all(&self.pool).await?;
        let items = rows
            .into_iter()
            .map(|r| story_doc(r.try_get("doc")?))
            .collect::<Result<Vec<Story>, StoreError>>()?;
        Ok(Page::from_overfetch(items, q.limit, |s| {
            format!("{}_{}", millis(s.updated_at), s.id)
        }))
    }

    async fn get_story(&self, id: &str) -> Result<Option<Story>, StoreError> {
        let doc: Option<String> = sqlx::query_scalar("SELECT doc FROM stories WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        doc.map(story_doc).transpose()
    }

    async fn story_timeline(&self, id: &str) -> Result<Vec<TimelineEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT t.event_id, t.event, t.at, t.stage, e.source, e.summary FROM story_timeline t \
             LEFT JOIN events e ON e.id = t.event_id WHERE t.story_id = $1 ORDER BY t.at, t.event_id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(TimelineEntry {
                    event_id: r.try_get("event_id")?,
                    event: r.try_get("event")?,
                    at: from_millis(r.try_get("at")?),
                    source: r.try_get("source")?,
                    summary: r.try_get("summary")?,
                    stage: r.try_get("stage")?,
                })
            })
            .collect()
    }

    async fn story_children(&self, id: &str) -> Result<Vec<Story>, StoreError> {
        let rows: Vec<String> =
            sqlx::query_scalar("SELECT doc FROM stories WHERE parent_id = $1 ORDER BY title")
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
        let mut out = rows
            .into_iter()
            .map(story_doc)
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by_key(|s| (s.season, s.episode));
        Ok(out)
    }

    async fn unmatched_events(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT value FROM story_state WHERE name = 'unmatched'")
                .fetch_optional(&self.pool)
                .await?
                .unwrap_or(0),
        )
    }

    async fn follow_story(&self, id: &str, person: &str) -> Result<Option<Story>, StoreError> {
        // Under the stories' lock: a joining pass that read the story before writes nothing and reads again.
        let mut tx = D::begin_write(&self.pool).await?;
        sqlx::query("UPDATE story_state SET value = value + 1 WHERE name = 'lock'")
            .execute(&mut *tx)
            .await?;
        let doc: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(
            "SELECT doc FROM stories WHERE id = $1".to_owned(),
        ))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(doc) = doc else {
            tx.commit().await?;
            return Ok(None);
        };
        let mut story = story_doc(doc)?;
        if !story.followers.iter().any(|f| f == person) {
            story.followers.push(person.to_owned());
            sqlx::query("UPDATE stories SET doc = $1 WHERE id = $2")
                .bind(serde_json::to_string(&story).expect("a story serializes"))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Some(story))
    }
}
