//! A multi-statement SQLite script built at run time, its `$N` parameters numbered across statements
//! (the single writer's batches, `sqlite_writer.rs`), and the values it binds — which a statement of either
//! database can bind too (`Arg::bind_to`).

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
        let text = self.values_text(rows);
        self.sql.push_str(&text);
    }

    /// The tuples of `rows`, numbered after the args already in the script, which takes their args.
    pub(super) fn values_text(&mut self, rows: impl Iterator<Item = Vec<Arg<'a>>>) -> String {
        let mut text = String::new();
        for (n, row) in rows.enumerate() {
            if n > 0 {
                text.push_str(", ");
            }
            text.push('(');
            for (c, arg) in row.into_iter().enumerate() {
                if c > 0 {
                    text.push_str(", ");
                }
                self.args.push(arg);
                text.push_str(&format!("${}", self.args.len()));
            }
            text.push(')');
        }
        text
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

impl Arg<'_> {
    /// Binds this value to the next parameter of a query of any database.
    pub(super) fn bind_to<'q, D>(
        &'q self,
        q: sqlx::query::Query<'q, D, D::Arguments>,
    ) -> sqlx::query::Query<'q, D, D::Arguments>
    where
        D: sqlx::Database,
        &'q str: sqlx::Encode<'q, D> + sqlx::Type<D>,
        Option<&'q str>: sqlx::Encode<'q, D> + sqlx::Type<D>,
        i64: sqlx::Encode<'q, D> + sqlx::Type<D>,
        Option<i64>: sqlx::Encode<'q, D> + sqlx::Type<D>,
        &'q [u8]: sqlx::Encode<'q, D> + sqlx::Type<D>,
        Option<&'q [u8]>: sqlx::Encode<'q, D> + sqlx::Type<D>,
    {
        match self {
            Arg::Text(t) => q.bind(*t),
            Arg::MaybeText(t) => q.bind(*t),
            Arg::Owned(t) => q.bind(t.as_str()),
            Arg::Int(i) => q.bind(*i),
            Arg::MaybeInt(i) => q.bind(*i),
            Arg::Blob(b) => q.bind(*b),
            Arg::MaybeBlob(b) => q.bind(*b),
        }
    }
}
