//! People added in the page or the API, beside those of `hookarr.yaml`: each change bumps the configuration's
//! generation in its transaction, like a stored destination's.

use super::dialect::{Dialect, SqlStore};
use super::stored_config::bump_generation;
use super::{StoreError, millis};
use crate::config::Person;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Row as _, Type};

/// Stored people (part of every [`super::Store`]).
#[async_trait]
pub trait StoredPeople: Send + Sync + 'static {
    /// Every stored person, by name.
    async fn stored_people(&self) -> Result<Vec<Person>, StoreError>;
    /// Saves a person (new, or over the stored one of that name).
    async fn save_person(
        &self,
        person: &Person,
        at: DateTime<Utc>,
        by: &str,
    ) -> Result<(), StoreError>;
    /// Removes a stored person; whether there was one.
    async fn delete_person(&self, name: &str) -> Result<bool, StoreError>;
}

#[async_trait]
impl<D> StoredPeople for SqlStore<D>
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
    async fn stored_people(&self) -> Result<Vec<Person>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, overseerr, media_user, notify FROM stored_people ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Person {
                    name: row.try_get("name")?,
                    overseerr: row.try_get("overseerr")?,
                    media_user: row.try_get("media_user")?,
                    notify: row.try_get("notify")?,
                })
            })
            .collect()
    }

    async fn save_person(&self, p: &Person, at: DateTime<Utc>, by: &str) -> Result<(), StoreError> {
        let mut tx = D::begin_write(&self.pool).await?;
        sqlx::query(
            "INSERT INTO stored_people (name, overseerr, media_user, notify, updated_at, updated_by) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO UPDATE SET overseerr = excluded.overseerr, \
             media_user = excluded.media_user, notify = excluded.notify, updated_at = excluded.updated_at, \
             updated_by = excluded.updated_by",
        )
        .bind(p.name.as_str())
        .bind(p.overseerr.as_deref())
        .bind(p.media_user.as_deref())
        .bind(p.notify.as_str())
        .bind(millis(at))
        .bind(by)
        .execute(&mut *tx)
        .await?;
        bump_generation(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_person(&self, name: &str) -> Result<bool, StoreError> {
        let mut tx = D::begin_write(&self.pool).await?;
        let done = sqlx::query("DELETE FROM stored_people WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        let gone = D::rows_affected(&done) > 0;
        if gone {
            bump_generation(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(gone)
    }
}
