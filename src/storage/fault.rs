//! Storage failures that belong to the machine, not to the request — a full disk, a read-only or locked
//! database, a database server out of reach — told apart from the rest so that they are answered
//! `503 storage_unavailable` with `Retry-After` (the apps retry), shown by `/readyz`, and logged once a minute
//! rather than once per request. They pass by themselves when the cause does; nothing needs a restart.

use super::StoreError;

/// A storage failure that passes when its cause does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageFault {
    /// No room left on the disk (or the file may grow no further).
    DiskFull,
    /// The database or its file system is read-only.
    ReadOnly,
    /// Another process holds the database lock longer than the busy timeout.
    Locked,
    /// Writing the database file failed at the disk (an I/O error; a file-size limit gives it too).
    Io,
    /// The database cannot be reached: its server is down, restarting or out of connections.
    Unreachable,
}

impl StorageFault {
    /// Its name in logs and in `/readyz`.
    pub fn as_str(self) -> &'static str {
        match self {
            StorageFault::DiskFull => "disk_full",
            StorageFault::ReadOnly => "read_only",
            StorageFault::Locked => "locked",
            StorageFault::Io => "io_error",
            StorageFault::Unreachable => "unreachable",
        }
    }

    /// What it means, for a client's error message.
    pub fn describe(self) -> &'static str {
        match self {
            StorageFault::DiskFull => "the disk holding hookarr's database is full",
            StorageFault::ReadOnly => "hookarr's database is read-only",
            StorageFault::Locked => "hookarr's database is locked by another process",
            StorageFault::Io => "the disk under hookarr's database fails to write",
            StorageFault::Unreachable => "hookarr's database cannot be reached",
        }
    }

    /// The fault behind a database error, if it is one.
    pub fn of_sqlx(error: &sqlx::Error) -> Option<StorageFault> {
        match error {
            sqlx::Error::Database(db) => db.code().and_then(|code| by_code(&code)),
            sqlx::Error::Io(e) if e.raw_os_error() == Some(28) => Some(StorageFault::DiskFull),
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => Some(StorageFault::Unreachable),
            _ => None,
        }
    }
}

/// PostgreSQL's SQLSTATE is five characters (often all digits); SQLite's result codes are shorter numbers,
/// the primary code in the low byte.
fn by_code(code: &str) -> Option<StorageFault> {
    if code.len() != 5
        && let Ok(n) = code.parse::<i32>()
    {
        return match n & 0xff {
            13 => Some(StorageFault::DiskFull),    // SQLITE_FULL
            8 => Some(StorageFault::ReadOnly),     // SQLITE_READONLY
            5 | 6 => Some(StorageFault::Locked),   // SQLITE_BUSY, SQLITE_LOCKED
            10 => Some(StorageFault::Io),          // SQLITE_IOERR
            14 => Some(StorageFault::Unreachable), // SQLITE_CANTOPEN
            _ => None,
        };
    }
    match code {
        "53100" => Some(StorageFault::DiskFull),
        "58030" => Some(StorageFault::Io),
        "25006" => Some(StorageFault::ReadOnly),
        "55P03" | "40P01" => Some(StorageFault::Locked),
        "53200" | "53300" | "57P01" | "57P02" | "57P03" => Some(StorageFault::Unreachable),
        _ if code.starts_with("08") => Some(StorageFault::Unreachable),
        _ => None,
    }
}

impl StoreError {
    /// The machine's fault behind this error, if it is one (see [`StorageFault`]).
    pub fn fault(&self) -> Option<StorageFault> {
        match self {
            StoreError::Db(e) => StorageFault::of_sqlx(e),
            StoreError::BatchFailed { fault, .. } => *fault,
            StoreError::WriterStopped => Some(StorageFault::Unreachable),
            StoreError::Conflict(_) | StoreError::Corrupt(_) | StoreError::Migrate(_) => None,
        }
    }

    /// The error of a whole batch, for each of its writes.
    pub(super) fn batch_failed(error: &StoreError) -> StoreError {
        let message = match error {
            StoreError::BatchFailed { message, .. } => message.clone(),
            other => other.to_string(),
        };
        StoreError::BatchFailed {
            message,
            fault: error.fault(),
        }
    }

    /// Logs a failure of a background loop (`message`, a fixed sentence): a storage fault once a minute per
    /// kind, with how many were held back; anything else as a warning each time.
    pub fn log(&self, message: &'static str) {
        match self.fault() {
            Some(fault) => crate::telemetry::error_once_a_minute(fault.as_str(), message, self),
            None => tracing::warn!(message, error = %self),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_name_their_fault() {
        assert_eq!(by_code("13"), Some(StorageFault::DiskFull));
        assert_eq!(by_code("1032"), Some(StorageFault::ReadOnly)); // SQLITE_READONLY_DBMOVED
        assert_eq!(by_code("5"), Some(StorageFault::Locked));
        assert_eq!(by_code("53100"), Some(StorageFault::DiskFull));
        assert_eq!(by_code("08006"), Some(StorageFault::Unreachable));
        assert_eq!(by_code("2067"), None); // SQLITE_CONSTRAINT_UNIQUE: the request's, not the machine's
        assert_eq!(by_code("23505"), None);
    }
}
