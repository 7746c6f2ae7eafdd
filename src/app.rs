//! Start-up and the run loop: open the store, bootstrap sources and the admin key, serve HTTP and run
//! housekeeping until a shutdown signal.

use crate::api::{self, AppState};
use crate::config::Config;
use crate::secrets::new_api_key;
use crate::sources::Sources;
use crate::storage::{self, PurgeBefore, Role, Store, StoreError, UserRow};
use anyhow::Context as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// How often old events and stale dedupe keys are purged.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(3600);

/// What start-up did that the operator must see once.
#[derive(Debug)]
pub struct Bootstrap {
    /// The admin key, when it was created now (shown once, never again).
    pub new_admin_key: Option<String>,
    /// Built-in sources created now.
    pub new_sources: Vec<String>,
    /// Every source's Connect URL.
    pub connect_urls: Vec<ConnectUrl>,
    /// Where the API and admin page are.
    pub public_url: String,
    /// `http://localhost:<port>` when hookarr also answers there and the public URL names another host (a
    /// container's service name, which the apps reach but a browser does not).
    pub local_url: Option<String>,
}

/// One source's Connect URL, in full and with its token masked (for every start but the first).
#[derive(Debug, Clone)]
pub struct ConnectUrl {
    pub source: String,
    pub app: String,
    /// Paste-ready, with the token.
    pub full: String,
    /// The token hidden: safe for logs.
    pub masked: String,
}

/// A built, bound, not yet running hookarr.
pub struct App {
    /// Held until the server stops: no second `serve` on the same SQLite file.
    serve_lock: storage::ServeLock,
    /// Whether the delivery engine's loops run (tests run the queue by hand instead).
    delivery_workers: bool,
    listener: TcpListener,
    state: AppState,
    bootstrap: Bootstrap,
}

impl App {
    /// Opens the store (migrating it), bootstraps sources and the admin user, and binds the listener
    /// (`listener` is for tests, which bind port 0 themselves).
    pub async fn build(cfg: Config, listener: Option<TcpListener>) -> anyhow::Result<App> {
        // Templates first: a broken one must stop start-up before anything is created (a first start would
        // otherwise make the admin key and never print it).
        let templates = crate::outbound::templates_for(&cfg).map_err(|problems| {
            let list: Vec<String> = problems.iter().map(|p| format!("  - {p}")).collect();
            anyhow::anyhow!(
                "the templates have {} problem(s):\n{}",
                problems.len(),
                list.join("\n")
            )
        })?;
        let templates = Arc::new(templates);
        let serve_lock = storage::ServeLock::acquire(cfg.storage.url.expose())?;
        let live = crate::live_config::LiveConfig::new(&cfg, templates.clone())
            .context("Failed to get the key that seals stored secrets")?;
        let store = storage::connect(cfg.storage.url.expose())
            .await
            .context("Failed to open the database at storage.url")?;
        let listener = match listener {
            Some(l) => l,
            None => TcpListener::bind(&cfg.server.listen)
                .await
                .with_context(|| {
                    format!("Failed to listen on {} (server.listen)", cfg.server.listen)
                })?,
        };
        let addr = listener
            .local_addr()
            .context("Failed to read the bound address")?;
        live.secret_box()
            .check_against(store.as_ref())
            .await
            .context("Failed to check the key that seals stored secrets")?;
        let (sources, new_sources) =
            Sources::bootstrap(&cfg, store.as_ref(), live.secret_box().clone())
                .await
                .context("Failed to set up sources")?;
        let admin_key = cfg
            .admin
            .api_key
            .as_ref()
            .map(|k| k.expose().to_owned())
            .filter(|k| !k.is_empty());
        let config_admin = UserRow {
            id: "usr_config_admin".into(),
            name: "admin (config key)".into(),
            role: Role::Admin,
            created_at: chrono::Utc::now(),
        };
        let new_admin_key = match admin_key {
            // The user the config's key acts as exists, so that what it registers has an owner.
            Some(_) => {
                store
                    .ensure_user(&config_admin)
                    .await
                    .context("Failed to create the config admin's user")?;
                None
            }
            None => ensure_admin(store.as_ref())
                .await
                .context("Failed to create the admin user")?,
        };
        let public_url = public_url(&cfg, addr);
        let connect_urls = sources
            .all()
            .iter()
            .map(|s| ConnectUrl {
                source: s.name.clone(),
                app: s.app.as_str().to_owned(),
                full: s.connect_url(&public_url, true),
                masked: s.connect_url(&public_url, false),
            })
            .collect();
        crate::metrics::install();
        let engine = crate::delivery::Engine::new(&cfg, store.clone(), templates)
            .await
            .context("Failed to start the delivery engine")?;
        engine.know_own_address(&public_url, addr);
        // The stored destinations are in force before anything is routed.
        let live = Arc::new(live);
        live.apply(&engine, store.as_ref())
            .await
            .context("Failed to read the stored configuration")?;
        engine.set_config_source(live.clone());
        let sources = Arc::new(sources);
        live.attach_sources(sources.clone());
        engine
            .rebuild_stories_if_stale()
            .await
            .context("Failed to build the stories from the stored events")?;
        // The database is this process's alone: a stopped run's answered sends are recorded, then its leases
        // released.
        if let Some(database) = serve_lock.database() {
            engine
                .recover_answered(database)
                .await
                .context("Failed to record the answers a stopped run had heard")?;
            engine
                .requeue_abandoned()
                .await
                .context("Failed to re-queue the deliveries a stopped run had claimed")?;
        }
        let state = AppState {
            engine,
            cfg: Arc::new(cfg),
            store,
            sources,
            admin_key,
            config_admin,
            ingest_faults: Arc::default(),
            public_url: public_url.clone(),
            streams: Arc::default(),
            auth_throttle: Arc::default(),
            hook_refusals: Arc::default(),
            live,
            stopping: CancellationToken::new(),
            test_sends: Arc::new(governor::RateLimiter::keyed(
                governor::Quota::per_second(std::num::NonZeroU32::new(1).expect("1 > 0"))
                    .allow_burst(std::num::NonZeroU32::new(5).expect("5 > 0")),
            )),
        };
        Ok(App {
            serve_lock,
            delivery_workers: true,
            listener,
            state,
            bootstrap: Bootstrap {
                new_admin_key,
                new_sources,
                connect_urls,
                local_url: local_url(&public_url, addr),
                public_url,
            },
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// What start-up did, for the banner.
    pub fn bootstrap(&self) -> &Bootstrap {
        &self.bootstrap
    }

    /// Serves without the delivery engine's loops: nothing is routed or sent until someone calls
    /// [`crate::delivery::Engine::run_pending`] (tests that want every delivery to happen at a known point).
    pub fn without_delivery_workers(mut self) -> App {
        self.delivery_workers = false;
        self
    }

    /// The delivery engine, for tests and sub-commands.
    pub fn engine(&self) -> Arc<crate::delivery::Engine> {
        self.state.engine.clone()
    }

    /// The configuration in force (for `SIGHUP`).
    pub fn live_config(&self) -> Arc<crate::live_config::LiveConfig> {
        self.state.live.clone()
    }

    /// The store, for tests and sub-commands.
    pub fn store(&self) -> Arc<dyn Store> {
        self.state.store.clone()
    }

    /// Connects to the MQTT broker of `mqtt:` and starts the announcer (nothing without it).
    async fn start_mqtt(&self, shutdown: CancellationToken) -> Option<tokio::task::JoinHandle<()>> {
        let engine = &self.state.engine;
        if let Err(error) = engine.read_quiet_switch().await {
            error.log("Reading the quiet-hours switch failed; it starts off.");
        }
        let hub = engine.start_mqtt(shutdown.clone())?;
        let controls = crate::operations::hub_controls::HubControls {
            engine: engine.clone(),
            store: self.state.store.clone(),
            sources: self.state.sources.clone(),
        };
        Some(tokio::spawn(crate::mqtt::run_announcer(
            hub,
            Arc::new(controls),
            shutdown,
        )))
    }

    /// Serves until `shutdown` is cancelled, then finishes in-flight requests and returns.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let housekeeping = tokio::spawn(housekeeping(self.state.clone(), shutdown.clone()));
        let watcher = tokio::spawn(crate::live_config::watch(
            self.state.live.clone(),
            self.state.engine.clone(),
            self.state.store.clone(),
            shutdown.clone(),
        ));
        let role = self.state.cfg.server.role;
        let delivery = match (self.delivery_workers, role.delivers()) {
            (true, true) => Some(self.state.engine.start(shutdown.clone())),
            // The workers of other processes route and send; this one tells them what it stored.
            (true, false) => Some(self.state.engine.start_api_only(shutdown.clone())),
            (false, _) => None,
        };
        let announcer = if role.delivers() {
            self.start_mqtt(shutdown.clone()).await
        } else {
            None
        };
        let limits = crate::server::ConnectionLimits::from_config(&self.state.cfg.server);
        // Event streams never end by themselves: a stop ends them, so that the drain does not wait on them.
        let stopping = self.state.stopping.clone();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            stop.cancelled().await;
            stopping.cancel();
        });
        let store = self.state.store.clone();
        let router = if role.serves_api() {
            api::router(self.state)
        } else {
            api::health_router(self.state)
        };
        crate::server::serve(self.listener, router, limits, shutdown.clone()).await;
        shutdown.cancel();
        let _ = housekeeping.await;
        let _ = watcher.await;
        if let Some(delivery) = delivery {
            let _ = delivery.await;
        }
        if let Some(announcer) = announcer {
            let _ = announcer.await;
        }
        // Nothing writes any more: SQLite's log goes back into the file (no megabytes left beside it).
        if let Err(error) = store.checkpoint().await {
            error.log("Checkpointing the database at stop failed; the log is folded in at the next start.");
        }
        drop(self.serve_lock);
        Ok(())
    }
}

/// Creates the `admin` user and its first key unless an admin exists; returns the key when created.
async fn ensure_admin(store: &dyn Store) -> Result<Option<String>, StoreError> {
    if store
        .list_users()
        .await?
        .iter()
        .any(|u| u.role == Role::Admin)
    {
        return Ok(None);
    }
    let user = match store.create_user("admin", Role::Admin).await {
        Ok(user) => user,
        // Another process sharing the database created it first.
        Err(StoreError::Conflict(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let key = new_api_key();
    store
        .insert_api_key(&user.id, &key.hash, &key.prefix, "")
        .await?;
    Ok(Some(key.key))
}

/// `http://localhost:<port>` when the listener answers on loopback (a wildcard or loopback address) and the
/// public URL names another host.
pub fn local_url(public_url: &str, addr: SocketAddr) -> Option<String> {
    let local = format!("http://localhost:{}", addr.port());
    let answers_locally = addr.ip().is_unspecified() || addr.ip().is_loopback();
    let public_host = url::Url::parse(public_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned));
    let is_local = |h: &str| {
        h == "localhost"
            || h.parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    };
    (answers_locally && !public_host.as_deref().is_some_and(is_local)).then_some(local)
}

/// `server.public_url`, else `http://<host>:<port>` with the machine's name for a wildcard listen address.
pub fn public_url(cfg: &Config, addr: SocketAddr) -> String {
    if let Some(url) = &cfg.server.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host = if addr.ip().is_unspecified() {
        std::fs::read_to_string("/etc/hostname")
            .ok()
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".into())
    } else if addr.is_ipv6() {
        format!("[{}]", addr.ip())
    } else {
        addr.ip().to_string()
    };
    format!("http://{host}:{}", addr.port())
}

/// Hourly: purge events past `storage.retention_days`, dedupe keys past the window, sessions past their TTL.
async fn housekeeping(state: AppState, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(HOUSEKEEPING_EVERY);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        // Several processes on one database: one of them purges each hour.
        let now = chrono::Utc::now();
        match state
            .store
            .claim_chore("purge", HOUSEKEEPING_EVERY - Duration::from_secs(60), now)
            .await
        {
            Ok(true) => {}
            Ok(false) => continue,
            Err(error) => {
                error.log("Claiming the hourly purge failed; will retry next hour.");
                continue;
            }
        }
        let before = PurgeBefore::at(now, &state.cfg.storage, state.cfg.server.dedupe_window_secs);
        match state.store.purge(&before).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(message = "Purged old events.", purged),
            Err(error) => error.log("Purge failed; will retry next hour."),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_browser_is_told_the_local_address_when_the_public_one_is_another_hosts() {
        let any: SocketAddr = "0.0.0.0:9494".parse().unwrap();
        assert_eq!(
            local_url("http://hookarr:9494", any).as_deref(),
            Some("http://localhost:9494")
        );
        assert_eq!(local_url("http://localhost:9494", any), None);
        assert_eq!(local_url("http://127.0.0.1:9494", any), None);
        let lan: SocketAddr = "192.168.1.5:9494".parse().unwrap();
        assert_eq!(
            local_url("http://hookarr:9494", lan),
            None,
            "no loopback listener"
        );
    }
}
