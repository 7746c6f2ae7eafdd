//! Where hookarr keeps its state, whatever folder it is started from: the data directory (the database, the
//! default config file), and paths written in the config resolved against the config file's own folder.
//!
//! The data directory is `--data-dir` / `HOOKARR_DATA_DIR` when given; else `./data` when a build of the
//! source tree runs in it (`cargo run`: what a contributor expects); else the user's data directory,
//! `$XDG_DATA_HOME/hookarr` or `~/.local/share/hookarr` — so an installed `hookarr` started from any folder,
//! the source tree included, finds the same database, admin key and source tokens. (The container image sets
//! `HOOKARR_DATA_DIR=/config`.)

use std::path::{Path, PathBuf};

/// The data directory and why it is that one.
#[derive(Debug, Clone)]
pub struct DataDir {
    pub path: PathBuf,
    /// The rule that chose it, for the start-up banner.
    pub rule: &'static str,
}

impl DataDir {
    /// The data directory by the rule above (`given`: `--data-dir` / `HOOKARR_DATA_DIR`), always absolute.
    pub fn choose(given: Option<&Path>) -> DataDir {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        if let Some(dir) = given {
            return DataDir {
                path: cwd.join(dir),
                rule: "--data-dir / HOOKARR_DATA_DIR",
            };
        }
        if is_source_tree(&cwd) && runs_from_build_of(&cwd) {
            return DataDir {
                path: cwd.join("data"),
                rule: "./data of the source tree (`cargo run`)",
            };
        }
        let user_dir = std::env::var_os("XDG_DATA_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| {
                std::env::var_os("HOME")
                    .filter(|v| !v.is_empty())
                    .map(|home| Path::new(&home).join(".local/share"))
            });
        match user_dir {
            Some(dir) => DataDir {
                path: dir.join("hookarr"),
                rule: "the user's data directory",
            },
            None => DataDir {
                path: cwd.join("data"),
                rule: "./data (no HOME to find a data directory)",
            },
        }
    }

    /// The config file used when none is given: `hookarr.yaml` in the data directory, else
    /// `config/hookarr.yaml` in the working directory (the source tree's, or an older set-up's).
    pub fn default_config(&self) -> Option<PathBuf> {
        [
            self.path.join("hookarr.yaml"),
            PathBuf::from(super::load::DEFAULT_PATH),
        ]
        .into_iter()
        .find(|p| p.is_file())
    }

    /// The database when the config names none.
    pub fn default_storage_url(&self) -> String {
        format!("sqlite://{}", self.path.join("hookarr.db").display())
    }
}

/// Whether this process is a build of the tree at `dir` (`cargo run`: the binary under `dir/target`), not an
/// installed `hookarr` that happens to start there.
fn runs_from_build_of(dir: &Path) -> bool {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.canonicalize().ok())
        .zip(dir.join("target").canonicalize().ok())
        .is_some_and(|(exe, target)| exe.starts_with(target))
}

/// Whether `dir` is hookarr's own source tree (its `Cargo.toml` names the package).
fn is_source_tree(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("Cargo.toml"))
        .is_ok_and(|manifest| manifest.contains("name = \"hookarr\""))
}

/// A SQLite URL whose path is relative, made absolute against `base`; any other URL as it is.
pub fn resolve_sqlite_url(url: &str, base: &Path) -> String {
    let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    else {
        return url.to_owned();
    };
    let (path, query) = match rest.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (rest, None),
    };
    if path.is_empty() || path == ":memory:" || Path::new(path).is_absolute() {
        return url.to_owned();
    }
    let absolute = base.join(path);
    match query {
        Some(q) => format!("sqlite://{}?{q}", absolute.display()),
        None => format!("sqlite://{}", absolute.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_sqlite_paths_resolve_against_the_base_and_others_stay() {
        let base = Path::new("/etc/hookarr");
        assert_eq!(
            resolve_sqlite_url("sqlite://state/hookarr.db", base),
            "sqlite:///etc/hookarr/state/hookarr.db"
        );
        assert_eq!(
            resolve_sqlite_url("sqlite:hookarr.db?mode=rwc", base),
            "sqlite:///etc/hookarr/hookarr.db?mode=rwc"
        );
        for kept in [
            "sqlite:///var/lib/hookarr/hookarr.db",
            "sqlite::memory:",
            "postgres://hookarr@db/hookarr",
        ] {
            assert_eq!(resolve_sqlite_url(kept, base), kept);
        }
    }
}
