//! The SQL both back-ends share, as a macro instantiated once per database type. sqlx's SQLite driver reads
//! `$1` placeholders like PostgreSQL, and the schema uses only types both have (TEXT, BIGINT/INTEGER,
//! BLOB/BYTEA), so one text serves both; what differs (ingest, the hot write path) stays in
//! `sqlite.rs` and `postgres.rs`.

/// A value bound to a dynamically built query.
pub(super) enum Bind {
    Text(String),
    Int(i64),
}

/// The `WHERE … ORDER BY … LIMIT` of an event listing, with its binds.
pub(super) fn event_list_sql(q: &super::EventQuery) -> (String, Vec<Bind>) {
    let mut sql = String::from("SELECT envelope FROM events WHERE 1 = 1");
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
                format!(
                    "event LIKE {} ESCAPE '\\'",
                    next(&mut binds, Bind::Text(super::glob_to_like(g)))
                )
            })
            .collect();
        sql.push_str(&format!(" AND ({})", clauses.join(" OR ")));
    }
    if let Some(source) = &q.source {
        sql.push_str(&format!(
            " AND source = {}",
            next(&mut binds, Bind::Text(source.clone()))
        ));
    }
    if let Some(since) = q.since {
        sql.push_str(&format!(
            " AND received_at >= {}",
            next(&mut binds, Bind::Int(super::millis(since)))
        ));
    }
    if let Some(until) = q.until {
        sql.push_str(&format!(
            " AND received_at < {}",
            next(&mut binds, Bind::Int(super::millis(until)))
        ));
    }
    if let Some(text) = &q.q {
        let pattern = format!("%{}%", super::glob_to_like(&text.to_lowercase()));
        sql.push_str(&format!(
            " AND LOWER(summary) LIKE {} ESCAPE '\\'",
            next(&mut binds, Bind::Text(pattern))
        ));
    }
    if let Some(before) = &q.before {
        sql.push_str(&format!(
            " AND id < {}",
            next(&mut binds, Bind::Text(before.to_string()))
        ));
    }
    let limit = next(&mut binds, Bind::Int(i64::from(q.limit) + 1));
    sql.push_str(&format!(" ORDER BY id DESC LIMIT {limit}"));
    (sql, binds)
}

/// Generates, for one database type, the `Store` methods that are plain queries on `self.pool`. The caller
/// passes the methods that differ (`backend`, `migrate`, `ingest`) as `$extra`.
macro_rules! shared_queries {
    ($store:ty, $db:ty, $migrator:expr, { $($extra:tt)* }) => {
        use $crate::storage::sql::{Bind, event_list_sql};
        use $crate::storage::{
            from_millis, headers_json, millis, parse_envelope, EventQuery, Ingest, IngestOutcome,
            Page, Rejected, RejectedRow, Role, SourceRow, Store, StoreError, StoredRaw, UserRow,
        };
        use $crate::event::{Event, EventId, new_prefixed_id};
        use sqlx::Row as _;

        fn user_from_row(row: &<$db as sqlx::Database>::Row) -> Result<UserRow, StoreError> {
            Ok(UserRow {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                role: Role::parse(row.try_get::<&str, _>("role")?),
                created_at: from_millis(row.try_get("created_at")?),
            })
        }

        fn unique_violation(e: sqlx::Error, what: String) -> StoreError {
            match &e {
                sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
                _ => StoreError::Db(e),
            }
        }

        /// One playback notification applied to its session row, inside the caller's write transaction
        /// (`lock` is ` FOR UPDATE` on PostgreSQL; SQLite's single writer needs none).
        pub(super) async fn playback_step(
            conn: &mut <$db as sqlx::Database>::Connection,
            lock: &str,
            source: &str,
            signal: &$crate::playback::Signal,
            event: &EventId,
            now: chrono::DateTime<chrono::Utc>,
            window_ms: i64,
        ) -> Result<$crate::playback::Outcome, StoreError> {
            use $crate::playback::{transition, Outcome, PlayState, SessionState};
            // A row to lock even for a first notification, so two first copies cannot both be "first".
            sqlx::query(
                "INSERT INTO playback_sessions (source, session_key, item_key, state, last_kind, \
                 last_event_id, updated_at) VALUES ($1, $2, $3, 'new', '', '', 0) ON CONFLICT DO NOTHING",
            )
            .bind(source)
            .bind(&signal.session)
            .bind(&signal.item)
            .execute(&mut *conn)
            .await?;
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT state, position_ms, started_at, start_event_id, last_kind, last_event_id, updated_at \
                 FROM playback_sessions WHERE source = $1 AND session_key = $2 AND item_key = $3{lock}"
            )))
            .bind(source)
            .bind(&signal.session)
            .bind(&signal.item)
            .fetch_one(&mut *conn)
            .await?;
            let prev = match PlayState::parse(row.try_get("state")?) {
                Some(state) => Some(SessionState {
                    state,
                    position_ms: row.try_get("position_ms")?,
                    started_at_ms: row.try_get("started_at")?,
                    start_event: row
                        .try_get::<Option<String>, _>("start_event_id")?
                        .and_then(|id| EventId::parse(&id)),
                    last_kind: $crate::event::EventKind::parse(row.try_get("last_kind")?)
                        .ok_or_else(|| StoreError::Corrupt("playback_sessions.last_kind".into()))?,
                    last_event: EventId::parse(row.try_get("last_event_id")?)
                        .ok_or_else(|| StoreError::Corrupt("playback_sessions.last_event_id".into()))?,
                    updated_at_ms: row.try_get("updated_at")?,
                }),
                // The placeholder just inserted.
                None => None,
            };
            let outcome = transition(prev.as_ref(), signal, event, millis(now), window_ms);
            if let Outcome::Emit(_, next) = &outcome {
                sqlx::query(
                    "UPDATE playback_sessions SET state = $4, position_ms = $5, started_at = $6, \
                     start_event_id = $7, last_kind = $8, last_event_id = $9, updated_at = $10 \
                     WHERE source = $1 AND session_key = $2 AND item_key = $3",
                )
                .bind(source)
                .bind(&signal.session)
                .bind(&signal.item)
                .bind(next.state.as_str())
                .bind(next.position_ms)
                .bind(next.started_at_ms)
                .bind(next.start_event.as_ref().map(|id| id.as_str()))
                .bind(next.last_kind.as_str())
                .bind(next.last_event.as_str())
                .bind(next.updated_at_ms)
                .execute(&mut *conn)
                .await?;
            }
            Ok(outcome)
        }

        $crate::storage::queue_sql::queue_helpers!($store, $db);
        $crate::storage::queue_sql::queue_queries!($store, $db);

        #[async_trait::async_trait]
        impl Store for $store {
            $($extra)*

            async fn ready(&self) -> Result<bool, StoreError> {
                let applied: Option<i64> =
                    sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success = TRUE")
                        .fetch_one(&self.pool)
                        .await?;
                let known = $migrator.iter().map(|m| m.version).max();
                Ok(applied == known)
            }

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

            async fn list_rejected(&self, before: Option<String>, limit: u32) -> Result<Page<RejectedRow>, StoreError> {
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
                        Ok(RejectedRow {
                            id: row.try_get("id")?,
                            source: row.try_get("source")?,
                            received_at: from_millis(row.try_get("received_at")?),
                            reason: row.try_get("reason")?,
                            content_type: row.try_get("content_type")?,
                            body: String::from_utf8_lossy(row.try_get::<&[u8], _>("body")?).into_owned(),
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
                    .map(|row| parse_envelope(row.try_get("envelope")?))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Page::from_overfetch(items, q.limit, |e| e.id.to_string()))
            }

            async fn get_event(&self, id: &EventId) -> Result<Option<Event>, StoreError> {
                let envelope: Option<String> = sqlx::query_scalar("SELECT envelope FROM events WHERE id = $1")
                    .bind(id.as_str())
                    .fetch_optional(&self.pool)
                    .await?;
                envelope.as_deref().map(parse_envelope).transpose()
            }

            async fn get_raw(&self, id: &EventId) -> Result<Option<StoredRaw>, StoreError> {
                let row = sqlx::query("SELECT content_type, headers, body FROM event_raw WHERE event_id = $1")
                    .bind(id.as_str())
                    .fetch_optional(&self.pool)
                    .await?;
                let Some(row) = row else { return Ok(None) };
                let headers: &str = row.try_get("headers")?;
                Ok(Some(StoredRaw {
                    content_type: row.try_get("content_type")?,
                    headers: serde_json::from_str(headers).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    body: row.try_get("body")?,
                }))
            }

            async fn outbox(&self, limit: u32) -> Result<Vec<EventId>, StoreError> {
                let ids: Vec<String> = sqlx::query_scalar("SELECT event_id FROM outbox ORDER BY event_id LIMIT $1")
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                Ok(ids.iter().filter_map(|id| EventId::parse(id)).collect())
            }

            async fn list_sources(&self) -> Result<Vec<SourceRow>, StoreError> {
                let rows = sqlx::query("SELECT name, app, token FROM sources ORDER BY created_at, name")
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|row| {
                        Ok(SourceRow { name: row.try_get("name")?, app: row.try_get("app")?, token: row.try_get("token")? })
                    })
                    .collect()
            }

            async fn insert_source(&self, s: &SourceRow) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "INSERT INTO sources (name, app, token, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING",
                )
                .bind(&s.name)
                .bind(&s.app)
                .bind(&s.token)
                .bind(millis(chrono::Utc::now()))
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn create_user(&self, name: &str, role: Role) -> Result<UserRow, StoreError> {
                let user = UserRow {
                    id: new_prefixed_id("usr"),
                    name: name.to_owned(),
                    role,
                    created_at: chrono::Utc::now(),
                };
                sqlx::query("INSERT INTO users (id, name, role, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(&user.id)
                    .bind(&user.name)
                    .bind(role.as_str())
                    .bind(millis(user.created_at))
                    .execute(&self.pool)
                    .await
                    .map_err(|e| unique_violation(e, format!("a user named `{name}`")))?;
                Ok(user)
            }

            async fn find_user(&self, name: &str) -> Result<Option<UserRow>, StoreError> {
                let row = sqlx::query("SELECT id, name, role, created_at FROM users WHERE name = $1")
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(user_from_row).transpose()
            }

            async fn list_users(&self) -> Result<Vec<UserRow>, StoreError> {
                let rows = sqlx::query("SELECT id, name, role, created_at FROM users ORDER BY created_at, name")
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(user_from_row).collect()
            }

            async fn insert_api_key(&self, user_id: &str, key_hash: &str, prefix: &str) -> Result<String, StoreError> {
                let id = new_prefixed_id("key");
                sqlx::query("INSERT INTO api_keys (id, user_id, key_hash, prefix, created_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(&id)
                    .bind(user_id)
                    .bind(key_hash)
                    .bind(prefix)
                    .bind(millis(chrono::Utc::now()))
                    .execute(&self.pool)
                    .await
                    .map_err(|e| unique_violation(e, "that API key".to_owned()))?;
                Ok(id)
            }

            async fn find_key_owner(&self, key_hash: &str) -> Result<Option<UserRow>, StoreError> {
                let row = sqlx::query(
                    "SELECT u.id, u.name, u.role, u.created_at FROM api_keys k JOIN users u ON u.id = k.user_id \
                     WHERE k.key_hash = $1",
                )
                .bind(key_hash)
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map(user_from_row).transpose()
            }

            async fn purge(&self, before: &$crate::storage::PurgeBefore) -> Result<u64, StoreError> {
                let mut total = 0;
                loop {
                    // Small batches keep each write short, so ingest never waits long behind a purge.
                    let done = sqlx::query(
                        "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE received_at < $1 LIMIT 500)",
                    )
                    .bind(millis(before.events))
                    .execute(&self.pool)
                    .await?;
                    total += done.rows_affected();
                    if done.rows_affected() == 0 {
                        break;
                    }
                }
                sqlx::query("DELETE FROM sent_messages WHERE created_at < $1")
                    .bind(millis(before.events))
                    .execute(&self.pool)
                    .await?;
                sqlx::query("DELETE FROM rejected WHERE received_at < $1")
                    .bind(millis(before.events))
                    .execute(&self.pool)
                    .await?;
                // Sessions past their TTL (`crate::playback` ignores them already).
                sqlx::query("DELETE FROM playback_sessions WHERE updated_at < $1")
                    .bind(millis(before.sessions))
                    .execute(&self.pool)
                    .await?;
                sqlx::query("DELETE FROM dedupe_keys WHERE created_at < $1")
                    .bind(millis(before.dedupe_keys))
                    .execute(&self.pool)
                    .await?;
                Ok(total)
            }
        }
    };
}

pub(super) use shared_queries;
