//! Where the real binary keeps its state: the same database from any working folder, and relative paths in
//! the config resolved against the config file's folder.

use crate::binary::{BIN, start_command, token_of};
use std::path::Path;
use std::process::{Command, Stdio};

/// The binary with a home of its own and no data-directory variables from the test's environment.
fn hookarr_at_home(home: &Path) -> Command {
    let mut command = Command::new(BIN);
    command
        .env("HOME", home)
        .env_remove("XDG_DATA_HOME")
        .env_remove("HOOKARR_DATA_DIR");
    command
}

fn line<'a>(banner: &'a [String], prefix: &str) -> &'a str {
    banner
        .iter()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no `{prefix}` line in {banner:?}"))
}

#[test]
fn started_from_two_folders_hookarr_uses_one_database_and_keeps_its_tokens() {
    let root = tempfile::tempdir().unwrap();
    let (home, a, b) = (
        root.path().join("home"),
        root.path().join("a"),
        root.path().join("b"),
    );
    for dir in [&home, &a, &b] {
        std::fs::create_dir(dir).unwrap();
    }
    // A config without `storage.url`: the database goes in the data directory.
    let config = root.path().join("hookarr.yaml");
    std::fs::write(&config, "server:\n  listen: 127.0.0.1:0\n").unwrap();
    let first = start_command(
        hookarr_at_home(&home),
        &config,
        &a,
        "warn",
        Stdio::inherit(),
    );
    let expected = home.join(".local/share/hookarr/hookarr.db");
    assert_eq!(
        line(&first.banner, "database: "),
        format!("SQLite {}", expected.display())
    );
    assert!(line(&first.banner, "data directory: ").ends_with("(the user's data directory)"));
    assert_eq!(
        line(&first.banner, "config: "),
        config.display().to_string()
    );
    let token = token_of(&first.banner, "radarr");
    drop(first);
    let second = start_command(
        hookarr_at_home(&home),
        &config,
        &b,
        "warn",
        Stdio::inherit(),
    );
    assert_eq!(
        line(&second.banner, "database: "),
        format!("SQLite {}", expected.display()),
        "another folder, the same database"
    );
    drop(second);
    let shown = hookarr_at_home(&home)
        .args(["sources", "--show-tokens", "--config"])
        .arg(&config)
        .current_dir(&b)
        .output()
        .unwrap();
    let shown = String::from_utf8(shown.stdout).unwrap();
    assert!(
        shown.contains(&format!("/hooks/radarr?token={token}")),
        "the tokens pasted into the apps still hold: {shown}"
    );
    assert!(expected.is_file());
    assert!(
        !a.join("data").exists() && !b.join("data").exists(),
        "nothing in the working folders"
    );
}

#[test]
fn a_relative_database_path_is_relative_to_the_config_file_and_data_dir_is_honoured() {
    let root = tempfile::tempdir().unwrap();
    let (conf_dir, cwd, data) = (
        root.path().join("etc"),
        root.path().join("elsewhere"),
        root.path().join("state"),
    );
    for dir in [&conf_dir, &cwd] {
        std::fs::create_dir(dir).unwrap();
    }
    let config = conf_dir.join("hookarr.yaml");
    std::fs::write(
        &config,
        "server:\n  listen: 127.0.0.1:0\nstorage:\n  url: sqlite://db/hookarr.db\n",
    )
    .unwrap();
    let running = start_command(
        hookarr_at_home(root.path()),
        &config,
        &cwd,
        "warn",
        Stdio::inherit(),
    );
    let expected = conf_dir.join("db/hookarr.db");
    assert_eq!(
        line(&running.banner, "database: "),
        format!("SQLite {}", expected.display())
    );
    drop(running);
    assert!(expected.is_file() && !cwd.join("db").exists());

    // --data-dir (here as HOOKARR_DATA_DIR) holds the database when the config names none.
    std::fs::write(&config, "server:\n  listen: 127.0.0.1:0\n").unwrap();
    let mut command = hookarr_at_home(root.path());
    command.env("HOOKARR_DATA_DIR", &data);
    let running = start_command(command, &config, &cwd, "warn", Stdio::inherit());
    assert_eq!(
        line(&running.banner, "database: "),
        format!("SQLite {}", data.join("hookarr.db").display())
    );
    assert!(line(&running.banner, "data directory: ").ends_with("(--data-dir / HOOKARR_DATA_DIR)"));
}

/// One rule for an installed binary wherever it starts: inside a clone of the source tree too, it uses the
/// user's data directory (only a build of that tree, `cargo run`, uses its `./data`). And a command other
/// than `serve` that finds no database says where it looked and how to point it, instead of making a
/// second one whose tokens the running server would reject.
#[test]
fn an_installed_binary_uses_one_data_directory_and_commands_never_make_a_second_database() {
    let root = tempfile::tempdir().unwrap();
    let (home, clone, bin_dir) = (
        root.path().join("home"),
        root.path().join("clone"),
        root.path().join("bin"),
    );
    for dir in [&home, &clone, &bin_dir] {
        std::fs::create_dir(dir).unwrap();
    }
    std::fs::write(clone.join("Cargo.toml"), "[package]\nname = \"hookarr\"\n").unwrap();
    let installed = bin_dir.join("hookarr");
    std::fs::copy(BIN, &installed).unwrap();
    let at_home = |cwd: &Path| {
        let mut command = Command::new(&installed);
        command
            .env("HOME", &home)
            .env_remove("XDG_DATA_HOME")
            .env_remove("HOOKARR_DATA_DIR")
            .env_remove("HOOKARR_CONFIG")
            .current_dir(cwd);
        command
    };
    // Before any `serve`: `sources` finds no database, says where it looked, and makes none.
    let out = at_home(&clone)
        .args(["sources", "--show-tokens"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    let user_db = home.join(".local/share/hookarr/hookarr.db");
    assert!(
        said.contains(&format!("no database at {}", user_db.display())),
        "{said}"
    );
    assert!(said.contains("--data-dir"), "{said}");
    assert!(
        !user_db.exists() && !clone.join("data").exists(),
        "no database made"
    );
    // `serve` from inside the clone: the user's data directory, not the clone's ./data.
    let config = root.path().join("hookarr.yaml");
    std::fs::write(&config, "server:\n  listen: 127.0.0.1:0\n").unwrap();
    let running = start_command(at_home(&clone), &config, &clone, "warn", Stdio::inherit());
    assert_eq!(
        line(&running.banner, "database: "),
        format!("SQLite {}", user_db.display())
    );
    let token = token_of(&running.banner, "radarr");
    drop(running);
    // Now `sources` from anywhere prints the tokens that server takes.
    let out = at_home(root.path())
        .args(["sources", "--show-tokens", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains(&token));
}
