//! The command line: `serve`, `migrate`, `check-config`, `render`, `send-test`, `replay`, `config export`,
//! `config import`, `sources`, `keys create`, `users list` — what each takes, and the dispatch. Each command's work is in the file named for
//! what it is about: `serve.rs` (the server and its banner), `deliveries.rs` (render, send-test, replay),
//! `accounts.rs` (sources, keys), `config_transfer.rs` (config export and import).

/// Prints a line to stdout, ignoring a closed stdout (a service manager, a pipe whose reader left): the
/// banner must never be what stops the server.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod accounts;
mod backup;
mod config_transfer;
mod deliveries;
mod mqtt;
mod replay;
mod serve;

use crate::config::{self, Loaded};
use crate::storage::{self, Store};
use crate::telemetry::{self, LogFormat};
use anyhow::Context as _;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// What `hookarr --help` ends with: the apps it hears and the services it sends to (a test keeps it true).
pub const APPS_AND_TARGETS: &str = "\
Sources (built in, each at /hooks/<name>): radarr, sonarr, lidarr, readarr, prowlarr, overseerr, jellyseerr, \
plex, jellyfin, emby, tautulli; named in the config: whisparr, apprise (Bazarr, Audiobookshelf), \
generic.
Destinations (type:): discord, slack, home_assistant, webhook, telegram, ntfy, gotify, pushover, matrix, email.";

/// hookarr: webhooks from the media stack's apps, delivered where you want them.
#[derive(Debug, Parser)]
#[command(version, about, after_help = APPS_AND_TARGETS)]
pub struct Cli {
    /// The config file (YAML). Default: hookarr.yaml in the data directory, else config/hookarr.yaml, if
    /// either exists; else built-in defaults.
    #[arg(long, global = true, env = "HOOKARR_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where the database and generated state live. Default: $XDG_DATA_HOME/hookarr
    /// (~/.local/share/hookarr) wherever hookarr starts; ./data for `cargo run` in hookarr's source tree.
    #[arg(long, global = true, env = "HOOKARR_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Log line format.
    #[arg(long, global = true, value_enum, default_value = "human")]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

/// The sub-commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run hookarr: receive webhooks and serve the API.
    Serve {
        /// What this process does: `all` (the default), or with several processes on one PostgreSQL `api`
        /// (receive, API, page) or `worker` (route and deliver). Overrides `server.role`.
        #[arg(long, value_enum)]
        role: Option<config::ServeRole>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Validate the configuration: exit 0, or print every problem with its path and exit 2.
    CheckConfig {
        /// Also print the destinations written as a short form (`url: tgram://…`) in their long form.
        #[arg(long)]
        long_form: bool,
        /// With `--long-form`: print tokens and passwords instead of `***`.
        #[arg(long, requires = "long_form")]
        show_secrets: bool,
    },
    /// Print the request hookarr would send to a destination for an app payload or a stored event; sends nothing.
    #[command(group(clap::ArgGroup::new("what").required(true).args(["payload", "event_id"])))]
    Render {
        /// The destination (its `name` in the config).
        #[arg(long)]
        destination: String,
        /// Parse the payload as this source would.
        #[arg(long, requires = "payload", conflicts_with = "event_id")]
        source: Option<String>,
        /// The app payload file (JSON).
        #[arg(long, requires = "source")]
        payload: Option<PathBuf>,
        /// A stored event instead of a payload.
        #[arg(long)]
        event_id: Option<String>,
    },
    /// Deliver a `test` event to a destination now and print the target's reply.
    SendTest {
        /// The destination (its `name` in the config).
        #[arg(long)]
        destination: String,
    },
    /// Manage API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage users.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Deliver again the events received within a past span: routed as on arrival (to the destinations that
    /// want them now), or to one destination. The running `serve` sends them.
    Replay {
        /// How far back: `30m`, `1h`, `2d`.
        #[arg(long, value_parser = humantime::parse_duration)]
        since: std::time::Duration,
        /// Only to this destination (its `name` in the config), whatever its rules say.
        #[arg(long)]
        destination: Option<String>,
        /// Send every event again, also those that already reached the destination.
        #[arg(long)]
        all: bool,
        /// Print what would be sent; queue nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Move destinations made in the page to and from YAML.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Titles' stories across apps.
    #[command(subcommand)]
    Stories(StoriesCommand),
    /// The MQTT broker of `mqtt:`.
    #[command(subcommand)]
    Mqtt(MqttCommand),
    /// Copy the SQLite database (while `serve` runs) and its secret key into a new folder, checked.
    Backup {
        /// The folder to make (it must not exist, or be empty).
        into: PathBuf,
    },
    /// List the sources and their Connect URLs (tokens masked unless asked for).
    Sources {
        /// Print the tokens in full (paste-ready URLs).
        #[arg(long)]
        show_tokens: bool,
    },
}

/// `hookarr keys …`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create an API key for a user (creating the user if needed) and print it once.
    Create {
        /// The user's name.
        #[arg(long)]
        user: String,
        /// Give a newly created user the admin role.
        #[arg(long)]
        admin: bool,
    },
}

/// `hookarr config …`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the destinations stored in the database (made in the page or the API) as the `destinations:`
    /// of a hookarr.yaml; it holds their secrets.
    Export,
    /// Store the destinations of a YAML file (what `export` prints): new names are added, stored ones
    /// replaced; nothing is stored unless every one passes the checks. The running `serve` uses them at once.
    Import {
        /// The YAML file, with a `destinations:` list.
        file: PathBuf,
    },
}

/// `hookarr stories …`.
#[derive(Debug, Subcommand)]
pub enum StoriesCommand {
    /// Build every story again from the stored events (after a change of the joining rules, or to repair);
    /// derives nothing and sends nothing.
    Rebuild,
}

/// `hookarr mqtt …`.
#[derive(Debug, Subcommand)]
pub enum MqttCommand {
    /// Connect to the broker and publish a test message on `<base_topic>/test`; exit 1 with the broker's
    /// answer when it fails.
    Test,
}

/// `hookarr users …`.
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// List users and their roles.
    List,
}

/// Runs the parsed command; exit code 2 for configuration problems, 1 for a failure, 0 otherwise.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    telemetry::init(cli.log_format);
    let data_dir = config::DataDir::choose(cli.data_dir.as_deref());
    let loaded = match config::load(cli.config.as_deref(), &data_dir) {
        Ok(loaded) => loaded,
        Err(problems) => {
            let file = cli
                .config
                .clone()
                .or_else(|| data_dir.default_config())
                .map_or("(built-in defaults)".into(), |p| p.display().to_string());
            eprintln!(
                "hookarr: the configuration {file} has {} problem(s):",
                problems.0.len()
            );
            for p in &problems.0 {
                eprintln!("  - {p}");
            }
            return Ok(ExitCode::from(2));
        }
    };
    // Said where the config is being looked at (checking it, starting the server), not by every one-shot
    // command again.
    if matches!(
        cli.command,
        Command::CheckConfig { .. } | Command::Serve { .. }
    ) {
        for warning in &loaded.warnings {
            tracing::warn!(message = "Configuration warning.", warning = %warning);
        }
    }
    match cli.command {
        Command::CheckConfig {
            long_form,
            show_secrets,
        } => {
            let from = loaded
                .path
                .as_ref()
                .map_or("built-in defaults".into(), |p| p.display().to_string());
            if templates_or_print(&loaded).is_none() {
                return Ok(ExitCode::from(2));
            }
            println!("configuration OK ({from})");
            if long_form {
                print!("{}", long_forms(&loaded.config.long_forms, show_secrets));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            create_store(&loaded).await?;
            println!("migrations applied");
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve { role } => serve::serve(loaded, role).await,
        Command::Render {
            destination,
            source,
            payload,
            event_id,
        } => deliveries::render(loaded, &destination, source.zip(payload), event_id).await,
        Command::SendTest { destination } => deliveries::send_test(loaded, &destination).await,
        Command::Keys(KeysCommand::Create { user, admin }) => {
            accounts::create_key(loaded, &user, admin).await
        }
        Command::Config(ConfigCommand::Export) => config_transfer::export(loaded).await,
        Command::Config(ConfigCommand::Import { file }) => {
            config_transfer::import(loaded, &file).await
        }
        Command::Stories(StoriesCommand::Rebuild) => rebuild_stories(loaded).await,
        Command::Mqtt(MqttCommand::Test) => mqtt::test(loaded).await,
        Command::Backup { into } => backup::backup(loaded, &into).await,
        Command::Sources { show_tokens } => accounts::list_sources(loaded, show_tokens).await,
        Command::Replay {
            since,
            destination,
            all,
            dry_run,
        } => {
            let ask = replay::Ask {
                since,
                destination,
                all,
                dry_run,
            };
            replay::replay(loaded, ask).await
        }
        Command::Users(UsersCommand::List) => {
            let store = open_store(&loaded).await?;
            for u in store.list_users().await? {
                println!("{}\t{}\t{}", u.name, u.role.as_str(), u.id);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The destinations written as short forms, as the YAML of their long form (name and type first); secrets as
/// `***` unless `show_secrets`.
fn long_forms(long_forms: &[serde_json::Value], show_secrets: bool) -> String {
    const SECRET_KEYS: [&str; 4] = ["token", "password", "user_key", "url"];
    if long_forms.is_empty() {
        return "# no destination is written as a short form (url: tgram://…, ntfys://…)\n".into();
    }
    let mut out = String::from(
        "# the destinations written as a short form, in their long form:\ndestinations:\n",
    );
    for d in long_forms {
        let Some(map) = d.as_object() else { continue };
        let mut ordered = serde_norway::Mapping::new();
        for key in ["name", "type"].into_iter().chain(
            map.keys()
                .map(String::as_str)
                .filter(|k| !matches!(*k, "name" | "type")),
        ) {
            let Some(value) = map.get(key) else { continue };
            let value = if !show_secrets && SECRET_KEYS.contains(&key) {
                serde_json::Value::String("***".into())
            } else {
                value.clone()
            };
            ordered.insert(
                key.into(),
                serde_norway::to_value(&value).expect("JSON is YAML"),
            );
        }
        let yaml = serde_norway::to_string(&vec![ordered]).expect("YAML serializes");
        for line in yaml.lines() {
            out.push_str("  ");
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The templates of a config, or every problem printed.
fn templates_or_print(loaded: &Loaded) -> Option<crate::outbound::Templates> {
    match crate::outbound::templates_for(&loaded.config) {
        Ok(t) => Some(t),
        Err(problems) => {
            eprintln!("hookarr: the templates have {} problem(s):", problems.len());
            for p in &problems {
                eprintln!("  - {p}");
            }
            None
        }
    }
}

/// Opens (and migrates) the configured store for a one-shot command.
/// Says that the config has no destination `name`, and the ones it has.
fn say_no_destination<'a>(name: &str, names: impl IntoIterator<Item = &'a str>) {
    let names: Vec<&str> = names.into_iter().collect();
    match names.is_empty() {
        true => eprintln!(
            "hookarr: no destination named `{name}` in the config; it has none yet (README, \"Send it where \
             you read it\")"
        ),
        false => eprintln!(
            "hookarr: no destination named `{name}` in the config (there are: {})",
            names.join(", ")
        ),
    }
}

/// Records what a command changed in the audit log, done by `command line (<login name>)`: the admin's
/// audit shows the changes made at the shell beside those made through the API.
async fn audit(
    store: &dyn Store,
    action: &str,
    kind: &'static str,
    id: &str,
    owner: Option<&str>,
    detail: serde_json::Value,
) {
    use crate::operations::audit::{Actor, Changed, record};
    let target = Changed { kind, id, owner };
    record(store, Actor::command_line(), action, target, detail).await;
}

/// The delivery engine of a one-shot command, with the configuration in force: the file's destinations and
/// the stored ones. Its loops do not run.
async fn engine_in_force(
    loaded: &Loaded,
    store: Arc<dyn Store>,
    templates: Arc<crate::outbound::Templates>,
) -> anyhow::Result<Arc<crate::delivery::Engine>> {
    let engine =
        crate::delivery::Engine::new(&loaded.config, store.clone(), templates.clone()).await?;
    let live = crate::live_config::LiveConfig::for_command(&loaded.config, templates)?;
    live.apply(&engine, store.as_ref()).await?;
    Ok(engine)
}

/// Opens (and migrates) the database, creating it when it does not exist yet: `serve` and `migrate`.
async fn create_store(loaded: &Loaded) -> anyhow::Result<Arc<dyn Store>> {
    storage::connect(loaded.config.storage.url.expose())
        .await
        .context("Failed to open and migrate the database at storage.url")
}

/// Opens the database a running `serve` uses, for the one-shot commands: a SQLite file that is not there is
/// a wrong data directory or config (a second database would print tokens the server rejects), so it is
/// not created — the error says where hookarr looked and how to point it elsewhere.
async fn open_store(loaded: &Loaded) -> anyhow::Result<Arc<dyn Store>> {
    if let Some(file) = storage::sqlite_file(loaded.config.storage.url.expose())
        .ok()
        .flatten()
        && !file.exists()
    {
        let dir = &loaded.data_dir;
        let config = loaded
            .path
            .as_ref()
            .map_or("none".into(), |p| p.display().to_string());
        anyhow::bail!(
            "no database at {} (data directory: {}, {}; config: {config}). Run this where `hookarr serve` \
             runs, or point it at that server's data with --data-dir DIR (HOOKARR_DATA_DIR) or --config FILE; \
             `hookarr serve` prints its data directory when it starts",
            file.display(),
            dir.path.display(),
            dir.rule
        );
    }
    create_store(loaded).await
}

/// The database a running `serve` uses, or — before there is one — a scratch database in memory, for the
/// commands that only try a destination (`render`, `send-test`): they read no state that matters and must
/// work before the first `serve`; nothing they do is kept then.
async fn open_store_or_scratch(loaded: &Loaded) -> anyhow::Result<Arc<dyn Store>> {
    match storage::sqlite_file(loaded.config.storage.url.expose())
        .ok()
        .flatten()
    {
        Some(file) if !file.exists() => storage::connect("sqlite::memory:")
            .await
            .context("Failed to open a scratch database in memory"),
        _ => create_store(loaded).await,
    }
}

/// `hookarr stories rebuild`.
async fn rebuild_stories(loaded: config::Loaded) -> anyhow::Result<ExitCode> {
    let Some(templates) = templates_or_print(&loaded) else {
        return Ok(ExitCode::from(2));
    };
    let store = open_store(&loaded).await?;
    let engine = engine_in_force(&loaded, store.clone(), std::sync::Arc::new(templates)).await?;
    let started = std::time::Instant::now();
    let joined = engine.rebuild_stories().await?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "rebuilt {} stories from {} stored events in {secs:.1} s ({:.0} events/s); nothing was sent",
        joined.stories.len(),
        joined.events,
        joined.events as f64 / secs.max(0.001)
    );
    Ok(ExitCode::SUCCESS)
}
