//! A multi-statement SQLite script built at run time, its `$N` parameters numbered across statements
//! (the single writer's batch, `sqlite_writer.rs`).

/// A multi-statement query under construction, its `$N` numbered across all statements.
#[derive(Default)]
pub(super) struct Script<'a> {
    pub(super) sql: String,
    pub(super) args: Vec<Arg<'a>>,
}

/// One bound value of a script.
pub(super) enum Arg<'a> {
    Text(&'a str),
    MaybeText(Option<&'a str>),
    Owned(String),
    Int(i64),
    MaybeInt(Option<i64>),
    Blob(&'a [u8]),
    MaybeBlob(Option<&'a [u8]>),
}

impl<'a> Script<'a> {
    /// Appends `VALUES (…), (…)`-style tuples, one per row, each of the row's args.
    pub(super) fn values(&mut self, rows: impl Iterator<Item = Vec<Arg<'a>>>) {
        for (n, row) in rows.enumerate() {
            if n > 0 {
                self.sql.push_str(", ");
            }
            self.sql.push('(');
            for (c, arg) in row.into_iter().enumerate() {
                if c > 0 {
                    self.sql.push_str(", ");
                }
                self.args.push(arg);
                self.sql.push_str(&format!("${}", self.args.len()));
            }
            self.sql.push(')');
        }
    }

    pub(super) fn query(
        self,
    ) -> sqlx::query::Query<'a, sqlx::Sqlite, sqlx::sqlite::SqliteArguments> {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(self.sql));
        for arg in self.args {
            q = match arg {
                Arg::Text(t) => q.bind(t),
                Arg::MaybeText(t) => q.bind(t),
                Arg::Owned(t) => q.bind(t),
                Arg::Int(i) => q.bind(i),
                Arg::MaybeInt(i) => q.bind(i),
                Arg::Blob(b) => q.bind(b),
                Arg::MaybeBlob(b) => q.bind(b),
            };
        }
        q
    }
}
