//! The serve lock: at most one `hookarr serve` per SQLite file. The embedded database is single-process by
//! design (one writer task, and a start-up that re-queues every delivery a stopped run had leased), so a
//! second `serve` on the same file must refuse rather than run beside the first. PostgreSQL is shared by
//! several processes on purpose and takes no lock.

use sqlx::sqlite::SqliteConnectOptions;
use std::fs::{File, TryLockError};
use std::path::PathBuf;
use std::str::FromStr as _;

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum ServeLockError {
    /// Another process holds it.
    #[error(
        "another `hookarr serve` is already running on {database} (it holds {lock}); stop it first, or give \
         this one its own storage.url"
    )]
    Held { database: PathBuf, lock: PathBuf },
    /// The lock file could not be opened or locked.
    #[error("cannot lock {lock}: {source}")]
    Io {
        lock: PathBuf,
        source: std::io::Error,
    },
    /// The storage URL is not a SQLite URL that can be read.
    #[error("storage.url: {0}")]
    Url(#[from] sqlx::Error),
}

/// Held for as long as this process serves its database; released when dropped (or when the process dies,
/// however it dies: the operating system drops the lock with the file).
#[derive(Debug)]
pub struct ServeLock {
    /// The locked file (held open for the lock) and the database it locks; `None` where there is no lock.
    held: Option<(File, PathBuf)>,
}

/// The file of a SQLite database URL, as SQLite reads it; `None` for PostgreSQL and an in-memory database.
pub fn sqlite_file(url: &str) -> Result<Option<PathBuf>, sqlx::Error> {
    if super::is_postgres_url(url) {
        return Ok(None);
    }
    let file = SqliteConnectOptions::from_str(url)?
        .get_filename()
        .to_path_buf();
    // sqlx names an in-memory database `file:sqlx-in-memory-<n>`: no file of the user's.
    let in_memory =
        file.as_os_str().is_empty() || url.contains(":memory:") || url.contains("mode=memory");
    Ok((!in_memory).then_some(file))
}

impl ServeLock {
    /// Takes the lock of the database at `url`: `<file>.lock` beside a SQLite file (never the database file
    /// itself, whose own locks SQLite manages), nothing for PostgreSQL or an in-memory database.
    pub fn acquire(url: &str) -> Result<ServeLock, ServeLockError> {
        let Some(database) = sqlite_file(url)? else {
            return Ok(ServeLock { held: None });
        };
        let mut lock = database.clone().into_os_string();
        lock.push(".lock");
        let lock = PathBuf::from(lock);
        if let Some(dir) = lock.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| ServeLockError::Io {
                lock: lock.clone(),
                source,
            })?;
        }
        let io = |source| ServeLockError::Io {
            lock: lock.clone(),
            source,
        };
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => Ok(ServeLock {
                held: Some((file, database)),
            }),
            Err(TryLockError::WouldBlock) => Err(ServeLockError::Held { database, lock }),
            Err(TryLockError::Error(source)) => Err(io(source)),
        }
    }

    /// The SQLite file this process has to itself, if it has one: any delivery still leased in it belongs to
    /// a run that has stopped.
    pub fn database(&self) -> Option<&std::path::Path> {
        self.held.as_ref().map(|(_, database)| database.as_path())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_url_names_its_file_and_only_a_file() {
        assert_eq!(
            sqlite_file("sqlite:///var/lib/hookarr/hookarr.db?mode=rwc").unwrap(),
            Some(PathBuf::from("/var/lib/hookarr/hookarr.db"))
        );
        assert_eq!(sqlite_file("sqlite::memory:").unwrap(), None);
        assert_eq!(sqlite_file("postgres://hookarr@db/hookarr").unwrap(), None);
    }
}
