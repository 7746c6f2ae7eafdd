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
}

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
