//! `hookarr backup DIR`: a consistent copy of a SQLite database, taken while `serve` runs (SQLite's
//! `VACUUM INTO`, on a read-only connection: the server goes on writing), checked, with the key that seals
//! its stored secrets beside it. On PostgreSQL it says how `pg_dump` does the same.

use crate::config::Loaded;
use crate::storage;
use anyhow::Context as _;
use sqlx::ConnectOptions as _;
use sqlx::sqlite::SqliteConnectOptions;
use std::path::Path;
use std::process::ExitCode;

/// What a backup holds, read back from the copy.
struct Copied {
    events: i64,
    deliveries: i64,
    bytes: u64,
}

pub(super) async fn backup(loaded: Loaded, into: &Path) -> anyhow::Result<ExitCode> {
    let url = loaded.config.storage.url.expose();
    let Some(file) = storage::sqlite_file(url).ok().flatten() else {
        eprintln!(
            "hookarr: `backup` copies a SQLite database; this one is PostgreSQL. Use its own tool, which \
             copies a running database consistently:\n  pg_dump --format=custom --file hookarr.dump \"$DATABASE_URL\"\n\
             and restore with `pg_restore --clean --dbname \"$DATABASE_URL\" hookarr.dump`. Keep the secret key \
             with it (HOOKARR_SECRET_KEY, or {}): the stored destinations' secrets are sealed with it.",
            crate::secret_box::key_file_for(url, &loaded.data_dir.path).display()
        );
        return Ok(ExitCode::from(2));
    };
    if !file.exists() {
        anyhow::bail!(
            "no database at {} (run this where `hookarr serve` runs, or give it that server's --data-dir or --config)",
            file.display()
        );
    }
    if into.exists() && std::fs::read_dir(into).map_or(true, |mut d| d.next().is_some()) {
        eprintln!(
            "hookarr: {} exists and is not an empty folder: a backup goes into a new one (nothing was written)",
            into.display()
        );
        return Ok(ExitCode::from(2));
    }
    std::fs::create_dir_all(into).with_context(|| format!("cannot make {}", into.display()))?;
    let copy = into.join("hookarr.db");
    let copied = copy_database(&file, &copy).await?;
    let key = crate::secret_box::key_file_for(url, &loaded.data_dir.path);
    let key_note = if key.exists() {
        std::fs::copy(&key, into.join("secret.key"))
            .with_context(|| format!("cannot copy {}", key.display()))?;
        "and secret.key (it opens the stored destinations' secrets)".to_owned()
    } else if loaded.config.secret_key.is_some() {
        "; the secret key is HOOKARR_SECRET_KEY: keep it with the copy".to_owned()
    } else {
        "(no secret.key yet: nothing sealed is stored)".to_owned()
    };
    println!(
        "backed up {} events and {} deliveries ({:.1} MB) into {} {key_note}",
        copied.events,
        copied.deliveries,
        copied.bytes as f64 / 1e6,
        copy.display()
    );
    println!(
        "to restore: stop hookarr, copy both files into the data directory ({}) replacing hookarr.db, delete \
         any hookarr.db-wal, hookarr.db-shm and hookarr.db-answered-* beside it, and start it again",
        file.parent().unwrap_or(Path::new(".")).display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `VACUUM INTO` from a read-only connection (a consistent snapshot, the server's writes go on), then the
/// copy is opened and checked.
async fn copy_database(file: &Path, copy: &Path) -> anyhow::Result<Copied> {
    let mut source = SqliteConnectOptions::new()
        .filename(file)
        .read_only(true)
        .busy_timeout(std::time::Duration::from_secs(30))
        .connect()
        .await
        .with_context(|| format!("cannot open {}", file.display()))?;
    let target = copy
        .to_str()
        .context("the backup folder's path is not UTF-8")?;
    sqlx::query("VACUUM INTO ?")
        .bind(target)
        .execute(&mut source)
        .await
        .with_context(|| format!("copying {} into {} failed", file.display(), copy.display()))?;
    let mut copied = SqliteConnectOptions::new()
        .filename(copy)
        .read_only(true)
        .connect()
        .await
        .with_context(|| format!("cannot open the copy {}", copy.display()))?;
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut copied)
        .await?;
    anyhow::ensure!(
        check == "ok",
        "the copy {} fails SQLite's integrity check: {check}",
        copy.display()
    );
    let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events")
        .fetch_one(&mut copied)
        .await?;
    let deliveries: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM deliveries")
        .fetch_one(&mut copied)
        .await?;
    Ok(Copied {
        events,
        deliveries,
        bytes: std::fs::metadata(copy)?.len(),
    })
}
