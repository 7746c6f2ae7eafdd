//! The command line (CONTRACT §1): `serve`, `migrate`, `check-config`, `render`, `send-test`, `keys create`,
//! `users list`.

use crate::app::{App, Bootstrap};
use crate::config::{self, Loaded};
use crate::secrets::new_api_key;
use crate::storage::{self, Role, Store, StoreError};
use crate::telemetry::{self, LogFormat};
use anyhow::Context as _;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// hookarr: webhooks from Radarr, Sonarr, Lidarr, Plex, Jellyfin and Emby, delivered where you want them.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    /// The config file (YAML). Default: hookarr.yaml in the data directory, else config/hookarr.yaml, if
    /// either exists; else built-in defaults.
    #[arg(long, global = true, env = "HOOKARR_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where the database and generated state live. Default: ./data in hookarr's source tree, else
    /// $XDG_DATA_HOME/hookarr (~/.local/share/hookarr).
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
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Validate the configuration: exit 0, or print every problem with its path and exit 2.
    CheckConfig,
    /// Print the request hookarr would send to a destination for an app payload or a stored event; sends nothing.
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
        #[arg(long, required_unless_present = "source")]
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

/// `hookarr users …`.
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// List users and their roles.
    List,
}

/// Runs the parsed command; the exit code follows CONTRACT §1 (2 for configuration problems).
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    telemetry::init(cli.log_format);
    let data_dir = config::DataDir::choose(cli.data_dir.as_deref());
    let loaded = match config::load(cli.config.as_deref(), &data_dir) {
        Ok(loaded) => loaded,
        Err(problems) => {
            eprintln!(
                "hookarr: the configuration has {} problem(s):",
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
    if matches!(cli.command, Command::CheckConfig | Command::Serve) {
        for warning in &loaded.warnings {
            tracing::warn!(message = "Configuration warning.", warning = %warning);
        }
    }
    match cli.command {
        Command::CheckConfig => {
            let from = loaded
                .path
                .as_ref()
                .map_or("built-in defaults".into(), |p| p.display().to_string());
            if templates_or_print(&loaded).is_none() {
                return Ok(ExitCode::from(2));
            }
            println!("configuration OK ({from})");
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            open_store(&loaded).await?;
            println!("migrations applied");
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve => serve(loaded).await,
        Command::Render {
            destination,
            source,
            payload,
            event_id,
        } => render(loaded, &destination, source.zip(payload), event_id).await,
        Command::SendTest { destination } => send_test(loaded, &destination).await,
        Command::Keys(KeysCommand::Create { user, admin }) => {
            create_key(loaded, &user, admin).await
        }
        Command::Sources { show_tokens } => list_sources(loaded, show_tokens).await,
        Command::Replay { since, destination } => replay(loaded, since, destination).await,
        Command::Users(UsersCommand::List) => {
            let store = open_store(&loaded).await?;
            for u in store.list_users().await? {
                println!("{}\t{}\t{}", u.name, u.role.as_str(), u.id);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
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

async fn render(
    loaded: Loaded,
    destination: &str,
    payload: Option<(String, PathBuf)>,
    event_id: Option<String>,
) -> anyhow::Result<ExitCode> {
    use crate::operations::{OperationError, PreviewEvent};
    use crate::outbound;
    let Some(templates) = templates_or_print(&loaded) else {
        return Ok(ExitCode::from(2));
    };
    let store = open_store(&loaded).await?;
    let targets = crate::delivery::targets(&loaded.config, store.as_ref()).await?;
    let Some(target) = targets.into_iter().find(|t| t.name == destination) else {
        eprintln!("hookarr: no destination named `{destination}` in the config");
        return Ok(ExitCode::from(2));
    };
    let mut source_and_body = None;
    if let Some((source, file)) = payload {
        let (sources, _) =
            crate::sources::Sources::bootstrap(&loaded.config, store.as_ref()).await?;
        let Some(source) = sources.get(&source) else {
            eprintln!("hookarr: no source named `{source}`");
            return Ok(ExitCode::from(2));
        };
        let body =
            std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
        source_and_body = Some((source, body, file));
    }
    let event = match (&source_and_body, &event_id) {
        (Some((source, body, _)), _) => PreviewEvent::Payload { source, body },
        (None, Some(id)) => PreviewEvent::Stored(id),
        (None, None) => unreachable!("clap requires --source/--payload or --event-id"),
    };
    let preview =
        match crate::operations::preview(&templates, store.as_ref(), &target, None, event).await {
            Ok(p) => p,
            Err(OperationError::Invalid { message, .. }) => {
                let file = source_and_body.map(|(_, _, f)| f).unwrap_or_default();
                eprintln!("hookarr: {} {message}", file.display());
                return Ok(ExitCode::from(1));
            }
            Err(OperationError::NotFound(message)) => {
                eprintln!("hookarr: {message}");
                return Ok(ExitCode::from(1));
            }
            Err(e) => return Err(e.into()),
        };
    let now = chrono::Utc::now().timestamp();
    let request = preview.payload.and_then(|payload| {
        outbound::build_request(&target, &preview.event, "dlv_render", &payload, now)
            .map_err(|e| e.to_string())
    });
    let request = match request {
        Ok(request) => request,
        Err(problem) => {
            eprintln!("hookarr: {problem}");
            return Ok(ExitCode::from(1));
        }
    };
    println!("POST {}", outbound::redact_url(&request.url));
    for (k, v) in &request.headers {
        let shown = if k == "authorization" {
            "Bearer ***"
        } else {
            v
        };
        println!("{k}: {shown}");
    }
    println!();
    let body: serde_json::Value = serde_json::from_slice(&request.body)?;
    println!("{}", serde_json::to_string_pretty(&body)?);
    Ok(ExitCode::SUCCESS)
}

async fn send_test(loaded: Loaded, destination: &str) -> anyhow::Result<ExitCode> {
    use crate::operations::OperationError;
    let Some(templates) = templates_or_print(&loaded) else {
        return Ok(ExitCode::from(2));
    };
    let store = open_store(&loaded).await?;
    let engine = crate::delivery::Engine::new(&loaded.config, store, Arc::new(templates)).await?;
    let sent = match crate::operations::send_test(&engine, destination).await {
        Ok(sent) => sent,
        Err(OperationError::NotFound(message)) => {
            eprintln!("hookarr: {message}");
            return Ok(ExitCode::from(2));
        }
        Err(e) => {
            eprintln!("hookarr: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    match (sent.status, &sent.error) {
        (Some(status), _) => println!(
            "{destination}: HTTP {status} in {} ms",
            sent.duration.as_millis()
        ),
        (None, Some(error)) => println!("{destination}: not delivered: {error}"),
        (None, None) => println!("{destination}: not delivered"),
    }
    if let (Some(_), Some(error)) = (sent.status, &sent.error) {
        println!("error: {error}");
    }
    if !sent.body.is_empty() {
        println!(
            "{}",
            crate::outbound::templates::truncate_chars(&sent.body, 2000)
        );
    }
    Ok(if sent.status.is_some_and(|s| (200..300).contains(&s)) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Opens (and migrates) the configured store for a one-shot command.
async fn open_store(loaded: &Loaded) -> anyhow::Result<Arc<dyn Store>> {
    storage::connect(loaded.config.storage.url.expose())
        .await
        .context("Failed to open and migrate the database at storage.url")
}

/// Prints a line to stdout, ignoring a closed stdout (a service manager, a pipe whose reader left): the
/// banner must never be what stops the server.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

async fn serve(loaded: Loaded) -> anyhow::Result<ExitCode> {
    // Handlers first: a SIGTERM that arrives while hookarr starts (or right after its banner) still stops it
    // cleanly instead of killing it.
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(Signals::install()?, shutdown.clone()));
    let database = describe_database(loaded.config.storage.url.expose());
    say!(
        "data directory: {} ({})",
        loaded.data_dir.path.display(),
        loaded.data_dir.rule
    );
    say!("database: {database}");
    match &loaded.path {
        Some(path) => say!("config: {}", path.display()),
        None => say!(
            "config: none (built-in defaults; put one at {} or pass --config)",
            loaded.data_dir.path.join("hookarr.yaml").display()
        ),
    }
    let app = App::build(loaded.config, None).await?;
    print_banner(app.bootstrap());
    tracing::info!(message = "hookarr is listening.", address = %app.local_addr());
    app.run_until_stopped(shutdown).await?;
    tracing::info!(message = "hookarr stopped.");
    Ok(ExitCode::SUCCESS)
}

/// The database of a storage URL, for people: a SQLite file's path, a PostgreSQL URL without its password.
fn describe_database(url: &str) -> String {
    if let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        return format!("SQLite {}", path.split('?').next().unwrap_or(path));
    }
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            let _ = parsed.set_password(None);
            format!("PostgreSQL {parsed}")
        }
        Err(_) => "PostgreSQL (an unreadable URL)".to_owned(),
    }
}

/// Printed to stdout, not the log: the admin key (first start only) and the Connect URLs carry secrets.
fn print_banner(b: &Bootstrap) {
    if let Some(key) = &b.new_admin_key {
        say!("admin key: {key}");
        say!("  (shown once: keep it; create more with `hookarr keys create --user NAME --admin`)");
        say!("admin page: {}/admin", b.public_url);
    }
    say!("Connect URLs (paste into each app's webhook settings):");
    let mut masked = false;
    for c in &b.connect_urls {
        // A token is printed in full only the start that creates it: logs keep what is printed.
        let (url, note) = if b.new_sources.contains(&c.source) {
            (&c.full, " (new)")
        } else {
            masked |= c.full != c.masked;
            (&c.masked, "")
        };
        say!("  {:<18} {url}{note}", source_label(&c.source, &c.app));
    }
    if masked {
        say!("  (tokens hidden; `hookarr sources --show-tokens` prints them)");
    }
    say!(
        "API: {}/api/events (Authorization: Bearer <admin key>)",
        b.public_url
    );
}

/// `hookarr replay --since DURATION [--destination NAME]`: new deliveries for every event received within
/// the span, oldest first, with a running count.
async fn replay(
    loaded: Loaded,
    since: std::time::Duration,
    destination: Option<String>,
) -> anyhow::Result<ExitCode> {
    let Some(templates) = templates_or_print(&loaded) else {
        return Ok(ExitCode::from(2));
    };
    let store = open_store(&loaded).await?;
    let engine =
        crate::delivery::Engine::new(&loaded.config, store.clone(), Arc::new(templates)).await?;
    if let Some(name) = &destination
        && engine.target(name).is_none()
    {
        eprintln!("hookarr: no destination named `{name}` in the config");
        return Ok(ExitCode::from(2));
    }
    let from =
        chrono::Utc::now() - chrono::Duration::from_std(since).context("--since is too long")?;
    // Newest first from the store; replayed oldest first, as they arrived.
    let mut events = Vec::new();
    let mut query = storage::EventQuery {
        since: Some(from),
        limit: 500,
        ..Default::default()
    };
    loop {
        let page = store.list_events(&query).await?;
        let last = page.items.last().map(|e| e.id.clone());
        events.extend(page.items.into_iter().map(|e| e.id));
        match (page.next, last) {
            (Some(_), Some(last)) => query.before = Some(last),
            _ => break,
        }
    }
    events.reverse();
    let names = destination.map(|d| vec![d]);
    let total = events.len();
    let mut deliveries = 0;
    for (i, id) in events.iter().enumerate() {
        let made =
            crate::operations::replay(&engine, store.as_ref(), id.as_str(), names.as_deref())
                .await?;
        deliveries += made.len();
        if (i + 1) % 100 == 0 || i + 1 == total {
            println!(
                "replayed {} of {total} events: {deliveries} deliveries",
                i + 1
            );
        }
    }
    if total == 0 {
        println!(
            "no event received in the last {}",
            humantime::format_duration(since)
        );
    } else {
        println!(
            "the running `hookarr serve` sends them (or the next one started on this database)"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A source as listed beside its URL: its name, and its app when the name does not say it (`radarr-4k
/// (radarr)`).
fn source_label(name: &str, app: &str) -> String {
    if name == app {
        name.to_owned()
    } else {
        format!("{name} ({app})")
    }
}

/// `hookarr sources [--show-tokens]`: every source with its app and Connect URL.
async fn list_sources(loaded: Loaded, show_tokens: bool) -> anyhow::Result<ExitCode> {
    let store = open_store(&loaded).await?;
    let (sources, _) = crate::sources::Sources::bootstrap(&loaded.config, store.as_ref()).await?;
    let listen = loaded
        .config
        .server
        .listen
        .parse()
        .context("server.listen is not an address")?;
    let public_url = crate::app::public_url(&loaded.config, listen);
    for s in sources.iter() {
        say!(
            "{:<18} {}",
            source_label(&s.name, s.app.as_str()),
            s.connect_url(&public_url, show_tokens)
        );
    }
    if !show_tokens && sources.iter().any(|s| s.token.is_some()) {
        say!("(tokens hidden; add --show-tokens to print them)");
    }
    Ok(ExitCode::SUCCESS)
}

async fn create_key(loaded: Loaded, name: &str, admin: bool) -> anyhow::Result<ExitCode> {
    let store = open_store(&loaded).await?;
    let role = if admin { Role::Admin } else { Role::User };
    let user = match store.find_user(name).await? {
        Some(user) => user,
        None => match store.create_user(name, role).await {
            Ok(user) => user,
            Err(StoreError::Conflict(_)) => {
                store.find_user(name).await?.context("user vanished")?
            }
            Err(e) => return Err(e.into()),
        },
    };
    let key = new_api_key();
    store
        .insert_api_key(&user.id, &key.hash, &key.prefix)
        .await?;
    println!("{}", key.key);
    eprintln!(
        "API key for `{}` ({}); shown once.",
        user.name,
        user.role.as_str()
    );
    Ok(ExitCode::SUCCESS)
}

/// Cancels `shutdown` on SIGINT or SIGTERM.
/// SIGINT and SIGTERM, registered with the OS when installed (not when first awaited).
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> anyhow::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                interrupt: signal(SignalKind::interrupt()).context("Failed to handle SIGINT")?,
                terminate: signal(SignalKind::terminate()).context("Failed to handle SIGTERM")?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }
}

async fn stop_on_signal(mut signals: Signals, shutdown: CancellationToken) {
    #[cfg(unix)]
    tokio::select! {
        _ = signals.interrupt.recv() => {}
        _ = signals.terminate.recv() => {}
    }
    #[cfg(not(unix))]
    {
        let _ = &mut signals;
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!(message = "Shutting down: finishing in-flight requests.");
    shutdown.cancel();
}
