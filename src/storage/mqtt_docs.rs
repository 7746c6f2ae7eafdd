//! What hookarr keeps for Home Assistant over MQTT: the state docs of sources, players and the hub's
//! switches (JSON, by kind and id), and the discovery configs last announced.

use super::StoreError;
use super::dialect::{Dialect, SqlStore};
use async_trait::async_trait;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Row as _, Type};
use std::collections::BTreeMap;

/// The MQTT state (part of every [`super::Store`]).
#[async_trait]
pub trait MqttDocs: Send + Sync + 'static {
    /// The doc of `kind` (`source`, `player`, `hub`) and `id`.
    async fn mqtt_doc(&self, kind: &str, id: &str) -> Result<Option<String>, StoreError>;
    /// Every doc of `kind`, by id.
    async fn mqtt_docs(&self, kind: &str) -> Result<Vec<(String, String)>, StoreError>;
    /// Saves docs `(kind, id, doc)` (new, or over those there), in one transaction.
    async fn put_mqtt_docs(&self, docs: &[(&str, &str, String)]) -> Result<(), StoreError>;
    /// Removes a doc.
    async fn delete_mqtt_doc(&self, kind: &str, id: &str) -> Result<(), StoreError>;
    /// The discovery configs last announced, by topic.
    async fn announced(&self) -> Result<BTreeMap<String, String>, StoreError>;
    /// Records what was published: a config, or its removal (empty text), in one transaction.
    async fn record_announced(&self, changes: &[(String, String)]) -> Result<(), StoreError>;
}

#[async_trait]
impl<D> MqttDocs for SqlStore<D>
where
    D: Dialect,
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    D::Arguments: IntoArguments<D>,
    for<'q> &'q str: Encode<'q, D> + Decode<'q, D> + Type<D> + ColumnIndex<D::Row>,
    for<'q> String: Encode<'q, D> + Decode<'q, D> + Type<D>,
    usize: ColumnIndex<D::Row>,
{
    async fn mqtt_doc(&self, kind: &str, id: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT doc FROM mqtt_docs WHERE kind = $1 AND id = $2")
            .bind(kind)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("doc")).transpose()?)
    }

    async fn mqtt_docs(&self, kind: &str) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query("SELECT id, doc FROM mqtt_docs WHERE kind = $1 ORDER BY id")
            .bind(kind)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get("doc")?)))
            .collect()
    }

    async fn put_mqtt_docs(&self, docs: &[(&str, &str, String)]) -> Result<(), StoreError> {
        let mut tx = D::begin_write(&self.pool).await?;
        for (kind, id, doc) in docs {
            sqlx::query(
                "INSERT INTO mqtt_docs (kind, id, doc) VALUES ($1, $2, $3) \
                 ON CONFLICT (kind, id) DO UPDATE SET doc = excluded.doc",
            )
            .bind(*kind)
            .bind(*id)
            .bind(doc.as_str())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn delete_mqtt_doc(&self, kind: &str, id: &str) -> Result<(), StoreError> {
        let mut tx = D::begin_write(&self.pool).await?;
        sqlx::query("DELETE FROM mqtt_docs WHERE kind = $1 AND id = $2")
            .bind(kind)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn announced(&self) -> Result<BTreeMap<String, String>, StoreError> {
        let rows = sqlx::query("SELECT topic, config FROM mqtt_announced")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("topic")?, r.try_get("config")?)))
            .collect()
    }

    async fn record_announced(&self, changes: &[(String, String)]) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut tx = D::begin_write(&self.pool).await?;
        for (topic, config) in changes {
            if config.is_empty() {
                sqlx::query("DELETE FROM mqtt_announced WHERE topic = $1")
                    .bind(topic.as_str())
                    .execute(&mut *tx)
                    .await?;
            } else {
                sqlx::query(
                    "INSERT INTO mqtt_announced (topic, config) VALUES ($1, $2) \
                     ON CONFLICT (topic) DO UPDATE SET config = excluded.config",
                )
                .bind(topic.as_str())
                .bind(config.as_str())
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}
