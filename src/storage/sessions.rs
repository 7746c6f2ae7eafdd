//! Playback sessions: one media-server notification applied to the stored state of its (source, session,
//! item) by [`crate::playback::transition`], inside the caller's write transaction. Each back-end's intake
//! runs it its own way (SQLite through its single writer, PostgreSQL with the row locked).

use super::dialect::Dialect;
use super::{StoreError, millis};
use crate::event::{EventId, EventKind};
use crate::playback::{Outcome, PlayState, SessionState, Signal, transition};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Row as _, Type};

/// Applies `signal` to its session and says what it becomes; the session row is created (as a placeholder)
/// and read with [`Dialect::ROW_LOCK`], so two copies racing to be "first" see each other.
pub(super) async fn playback_step<D>(
    conn: &mut D::Connection,
    source: &str,
    signal: &Signal,
    event: &EventId,
    now: chrono::DateTime<chrono::Utc>,
    window_ms: i64,
) -> Result<Outcome, StoreError>
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
         FROM playback_sessions WHERE source = $1 AND session_key = $2 AND item_key = $3{}",
        D::ROW_LOCK
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
            last_kind: EventKind::parse(row.try_get("last_kind")?)
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
