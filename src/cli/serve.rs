//! `hookarr serve`: where it keeps things, the start-up banner (the admin key once, the Connect URLs), and
//! the run until SIGINT or SIGTERM.

use super::accounts::source_label;
use crate::app::{App, Bootstrap};
use crate::config::Loaded;
use anyhow::Context as _;
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;

pub(super) async fn serve(
    mut loaded: Loaded,
    role: Option<crate::config::ServeRole>,
) -> anyhow::Result<ExitCode> {
    if let Some(role) = role {
        loaded.config.server.role = role;
    }
    let role = loaded.config.server.role;
    if let Some(why) = role.refusal(loaded.config.storage.url.expose()) {
        eprintln!("hookarr: --role {why}");
        return Ok(ExitCode::from(2));
    }
    // Handlers first: a SIGTERM that arrives while hookarr starts (or right after its banner) still stops it
    // cleanly instead of killing it.
    let shutdown = CancellationToken::new();
    let mut signals = Signals::install()?;
    #[cfg(unix)]
    let hangup = signals.hangup.take();
    tokio::spawn(stop_on_signal(signals, shutdown.clone()));
    let database = describe_database(loaded.config.storage.url.expose());
    say!(
        "data directory: {} ({})",
        loaded.data_dir.path.display(),
        loaded.data_dir.rule
    );
    say!("database: {database}");
    if role != crate::config::ServeRole::All {
        say!(
            "role: {} ({})",
            role.as_str(),
            if role.delivers() {
                "routes and delivers; HTTP only for /healthz, /readyz and /metrics"
            } else {
                "receives webhooks, serves the API and the page; workers deliver"
            }
        );
    }
    match &loaded.path {
        Some(path) => say!("config: {}", path.display()),
        None => say!(
            "config: none (built-in defaults; put one at {} or pass --config)",
            loaded.data_dir.path.join("hookarr.yaml").display()
        ),
    }
    let app = App::build(loaded.config, None).await?;
    #[cfg(unix)]
    if let Some(mut hangup) = hangup {
        let live = app.live_config();
        tokio::spawn(async move {
            while hangup.recv().await.is_some() {
                live.request_reload();
            }
        });
    }
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
        if let Some(local) = &b.local_url {
            say!(
                "  (in a browser on the machine hookarr runs on, or through its published port: {local}/admin)"
            );
        }
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

/// Cancels `shutdown` on SIGINT or SIGTERM.
/// SIGINT and SIGTERM, registered with the OS when installed (not when first awaited).
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    /// `SIGHUP`: re-read hookarr.yaml (without a handler it would end the process).
    #[cfg(unix)]
    hangup: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn install() -> anyhow::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                interrupt: signal(SignalKind::interrupt()).context("Failed to handle SIGINT")?,
                terminate: signal(SignalKind::terminate()).context("Failed to handle SIGTERM")?,
                hangup: Some(signal(SignalKind::hangup()).context("Failed to handle SIGHUP")?),
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
