//! One SQL implementation for both databases: [`SqlStore<D>`] runs the same statements on SQLite and on
//! PostgreSQL (sqlx's SQLite driver reads `$1` placeholders like PostgreSQL, and the schema uses only types
//! both have: TEXT, BIGINT/INTEGER, BLOB/BYTEA), and [`Dialect`] holds the little that differs — how a write
//! transaction starts, the lock and index clauses of a claim, the migrations, and the state of the ingest
//! path, which each back-end writes its own way (`sqlite.rs`, `postgres.rs`).
//!
//! Every generic impl over `SqlStore<D>` carries the same `where` clause: what sqlx must know about `D` to
//! bind, read and execute the value types the schema uses (`&str`/`String`, `i64`, bytes). Rust does not
//! carry such bounds from a trait to its users, so each impl states them; they hold for both databases.

use super::StoreError;
use sqlx::migrate::Migrator;
use sqlx::{Database, Pool, Transaction};
use std::future::Future;

/// What differs between the two databases.
pub trait Dialect: Database {
    /// `sqlite` or `postgres`, for `/readyz` and logs.
    const BACKEND: &'static str;
    /// Appended to the outbox read of routing: several processes skip each other's rows (PostgreSQL).
    const OUTBOX_LOCK: &'static str;
    /// Appended to the table of the claim's inner select: the index to use (SQLite's planner, without
    /// statistics, would sort every pending row).
    const CLAIM_INDEX: &'static str;
    /// Appended to the claim's inner select: several processes claim without waiting on each other.
    const CLAIM_LOCK: &'static str;
    /// Appended to the read of a playback session: the row stays locked until the step commits.
    const ROW_LOCK: &'static str;

    /// What the store keeps beside its pool for its own ingest path (SQLite's single writer).
    type Writer: Send + Sync + 'static;

    /// The migrations of this database.
    fn migrator() -> &'static Migrator;

    /// Applies pending migrations.
    fn migrate(pool: &Pool<Self>) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A transaction that will write: SQLite takes its write lock at once, so it never fails half-way on a
    /// lock upgrade.
    fn begin_write(
        pool: &Pool<Self>,
    ) -> impl Future<Output = Result<Transaction<'static, Self>, sqlx::Error>> + Send;

    /// How many rows a statement changed.
    fn rows_affected(done: &Self::QueryResult) -> u64;

    /// Tells the other processes sharing the database something on `channel` (PostgreSQL `NOTIFY`);
    /// nothing on SQLite, whose database has one serving process.
    fn announce(
        pool: &Pool<Self>,
        channel: &'static str,
        payload: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Writes delivery results through the store's writer — SQLite's single writer, ahead of the ingests
    /// waiting there; PostgreSQL's connections kept for results — so an answered send is recorded soon after
    /// its answer (one not yet recorded is sent again after a crash).
    fn finish_through(
        writer: &Self::Writer,
        batch: &[super::DeliveryResult],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// What other processes announce on `channel`, as it comes (PostgreSQL `LISTEN`); `None` on SQLite.
    fn announcements(
        pool: &Pool<Self>,
        channel: &'static str,
    ) -> impl Future<Output = Result<Option<Announcements>, StoreError>> + Send;
}

/// Payloads announced by other processes, as they arrive.
pub type Announcements = futures_util::stream::BoxStream<'static, Result<String, StoreError>>;

/// The store: one pool, and what the ingest path of the database keeps.
pub struct SqlStore<D: Dialect> {
    pub(super) pool: Pool<D>,
    pub(super) writer: D::Writer,
}

/// `($1, $2, …), ($k, …)` for `rows` rows of one placeholder per entry of `cols`; a non-empty entry is the
/// SQL type the value is cast to (PostgreSQL needs types in a bare `VALUES` list).
pub(super) fn values_list(rows: usize, cols: &[&str]) -> String {
    let mut out = String::new();
    let mut n = 0;
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for (c, ty) in cols.iter().enumerate() {
            if c > 0 {
                out.push_str(", ");
            }
            n += 1;
            if ty.is_empty() {
                out.push_str(&format!("${n}"));
            } else {
                out.push_str(&format!("CAST(${n} AS {ty})"));
            }
        }
        out.push(')');
    }
    out
}

/// The most values one multi-row statement binds. sqlx binds each of a statement's parameters by name on
/// SQLite, and SQLite finds a name by scanning the statement's list of them: binding a statement costs the
/// square of its parameter count (128-row statements of 7–10 columns were ~4 % of a drain's CPU, perf).
const MAX_BINDS: usize = 256;

/// How many rows of `columns` values each one multi-row statement takes: `max`, or fewer to stay within
/// [`MAX_BINDS`].
pub(super) fn rows_per_statement(columns: usize, max: usize) -> usize {
    (MAX_BINDS / columns.max(1)).clamp(1, max)
}

/// `items` in chunks of at most `max` whose sizes are powers of two (100 → 64, 32, 4): a multi-row statement
/// then comes in a handful of shapes, so each database connection prepares and caches a few statements
/// instead of one per batch size (measured draining 200,000 deliveries: 16 MB less at the peak, and faster).
pub(super) fn shaped_chunks<T>(items: &[T], max: usize) -> impl Iterator<Item = &[T]> {
    let mut rest = items;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let n = rest.len().min(max);
        let size = 1 << (usize::BITS - 1 - n.leading_zeros());
        let (head, tail) = rest.split_at(size);
        rest = tail;
        Some(head)
    })
}

/// `$1, $2, …, $n`: the placeholders of an `IN (…)` list.
pub(super) fn in_list(n: usize) -> String {
    (1..=n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A value bound to a query built at run time.
pub(super) enum Bind {
    Text(String),
    Int(i64),
}

/// Whether a connection given back to the pool may be lent again: only outside any transaction. A
/// transaction whose `COMMIT` failed (a full disk) and whose `ROLLBACK` then failed too (SQLite had already
/// rolled it back) leaves sqlx counting one level of transaction on the connection; lent again, its every
/// `BEGIN` would fail. Such a connection is closed instead (the pool opens a fresh one).
pub(super) async fn out_of_transaction<C: sqlx::Connection>(
    conn: &mut C,
) -> Result<bool, sqlx::Error> {
    if conn.is_in_transaction() {
        // The rollback of a dropped transaction is queued on the connection: a round trip runs it first.
        let _ = conn.ping().await;
    }
    let clean = !conn.is_in_transaction();
    if !clean {
        tracing::warn!(message = "Closing a database connection left inside a transaction.");
    }
    Ok(clean)
}

#[cfg(test)]
mod tests {
    use super::shaped_chunks;

    #[test]
    fn chunks_come_in_powers_of_two_up_to_the_max() {
        let items: Vec<u32> = (0..300).collect();
        let sizes: Vec<usize> = shaped_chunks(&items, 128).map(<[u32]>::len).collect();
        assert_eq!(sizes, [128, 128, 32, 8, 4]);
        let all: Vec<u32> = shaped_chunks(&items, 128).flatten().copied().collect();
        assert_eq!(all, items);
        assert_eq!(shaped_chunks(&items[..1], 128).count(), 1);
        assert_eq!(shaped_chunks::<u32>(&[], 128).count(), 0);
    }
}
