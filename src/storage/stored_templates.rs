//! Templates saved in the studio or the API, each overriding the file's or the built-in one of its name, and
//! the history of every save and removal (who, when, what). Every change bumps the configuration's
//! generation in its transaction, like a stored destination's.

use super::dialect::{Dialect, SqlStore};
use super::stored_config::bump_generation;
use super::{StoreError, from_millis, millis};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Row as _, Type};

/// A stored template.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredTemplate {
    /// `discord/default`, `ntfy/my-movies`.
    pub name: String,
    pub body: String,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
}

/// One entry of a template's history: a save (its text), or a removal (`None`).
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateVersion {
    pub id: String,
    pub body: Option<String>,
    pub at: DateTime<Utc>,
    pub by: String,
}

/// Stored templates (part of every [`super::Store`]).
#[async_trait]
pub trait StoredTemplates: Send + Sync + 'static {
    /// Every stored template, by name.
    async fn stored_templates(&self) -> Result<Vec<StoredTemplate>, StoreError>;
    /// Saves a template (new, or over the stored one) and its history entry.
    async fn save_template(&self, template: &StoredTemplate) -> Result<(), StoreError>;
    /// Removes a stored template (the file's or the built-in one is used again), with its history entry;
    /// whether there was one.
    async fn remove_template(
        &self,
        name: &str,
        at: DateTime<Utc>,
        by: &str,
    ) -> Result<bool, StoreError>;
    /// A template's history, newest first.
    async fn template_history(&self, name: &str) -> Result<Vec<TemplateVersion>, StoreError>;
}

#[async_trait]
impl<D> StoredTemplates for SqlStore<D>
where
    D: Dialect,
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    D::Arguments: IntoArguments<D>,
    for<'q> &'q str: Encode<'q, D> + Decode<'q, D> + Type<D> + ColumnIndex<D::Row>,
    for<'q> String: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> Option<String>: Decode<'q, D>,
    for<'q> Option<&'q str>: Encode<'q, D>,
    for<'q> i64: Encode<'q, D> + Decode<'q, D> + Type<D>,
    usize: ColumnIndex<D::Row>,
{
    async fn stored_templates(&self) -> Result<Vec<StoredTemplate>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, body, updated_at, updated_by FROM stored_templates ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StoredTemplate {
                    name: row.try_get("name")?,
                    body: row.try_get("body")?,
                    updated_at: from_millis(row.try_get("updated_at")?),
                    updated_by: row.try_get("updated_by")?,
                })
            })
            .collect()
    }

    async fn save_template(&self, t: &StoredTemplate) -> Result<(), StoreError> {
        let mut tx = D::begin_write(&self.pool).await?;
        sqlx::query(
            "INSERT INTO stored_templates (name, body, updated_at, updated_by) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at, \
             updated_by = excluded.updated_by",
        )
        .bind(&t.name)
        .bind(&t.body)
        .bind(millis(t.updated_at))
        .bind(&t.updated_by)
        .execute(&mut *tx)
        .await?;
        history(&mut tx, &t.name, Some(&t.body), t.updated_at, &t.updated_by).await?;
        bump_generation(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn remove_template(
        &self,
        name: &str,
        at: DateTime<Utc>,
        by: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = D::begin_write(&self.pool).await?;
        let removed = sqlx::query("DELETE FROM stored_templates WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        if D::rows_affected(&removed) == 0 {
            return Ok(false);
        }
        history(&mut tx, name, None, at, by).await?;
        bump_generation(&mut tx).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn template_history(&self, name: &str) -> Result<Vec<TemplateVersion>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, body, at, who FROM template_history WHERE name = $1 ORDER BY at DESC, id DESC",
        )
        .bind(name)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(TemplateVersion {
                    id: row.try_get("id")?,
                    body: row.try_get("body")?,
                    at: from_millis(row.try_get("at")?),
                    by: row.try_get("who")?,
                })
            })
            .collect()
    }
}

/// Writes one history entry inside the change's transaction.
async fn history<D>(
    tx: &mut sqlx::Transaction<'static, D>,
    name: &str,
    body: Option<&str>,
    at: DateTime<Utc>,
    by: &str,
) -> Result<(), StoreError>
where
    D: Dialect,
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    D::Arguments: IntoArguments<D>,
    for<'q> &'q str: Encode<'q, D> + Type<D>,
    for<'q> Option<&'q str>: Encode<'q, D>,
    for<'q> i64: Encode<'q, D> + Type<D>,
{
    sqlx::query(
        "INSERT INTO template_history (id, name, body, at, who) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(crate::event::new_prefixed_id("tpl").as_str())
    .bind(name)
    .bind(body)
    .bind(millis(at))
    .bind(by)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
