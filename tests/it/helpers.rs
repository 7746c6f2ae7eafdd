//! The test harness: a real hookarr on 127.0.0.1:0 over a fresh SQLite file or a fresh PostgreSQL database,
//! driven over real loopback HTTP.

use hookarr::app::App;
use hookarr::config::{Config, Secret};
use hookarr::storage::Store;
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::Connection as _;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The fixed admin key of test apps.
pub const ADMIN_KEY: &str = "hk_test_admin_key_0123456789";

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A corpus of inbound payloads: `<dir>/inbound/<app>/<name>.json`.
#[derive(Debug, Clone)]
pub struct Corpus {
    /// The folder holding `inbound/`.
    pub dir: PathBuf,
    /// Prepended to snapshot names, so each corpus keeps its own reviewed snapshots.
    pub snapshot_prefix: &'static str,
}

impl Corpus {
    /// The project's own corpus, `tests/fixtures`, written from the research notes: always there.
    pub fn own() -> Self {
        Corpus {
            dir: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"),
            snapshot_prefix: "own__",
        }
    }

    /// The independent corpus `../shared/fixtures`, when it sits beside the repository.
    pub fn shared() -> Option<Self> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures");
        if dir.join("inbound").is_dir() {
            return Some(Corpus {
                dir,
                snapshot_prefix: "",
            });
        }
        static SAID: std::sync::Once = std::sync::Once::new();
        SAID.call_once(|| {
            report_skip(
                "the shared corpus",
                "../shared/fixtures is not beside the repository; the project's own corpus ran",
            )
        });
        None
    }

    /// Every corpus there is: the project's own, then the shared one when present.
    pub fn all() -> Vec<Self> {
        std::iter::once(Self::own()).chain(Self::shared()).collect()
    }

    /// The folder of one app's payloads.
    pub fn app_dir(&self, app: &str) -> PathBuf {
        self.dir.join("inbound").join(app)
    }

    /// The payload names (file stems) of one app, sorted.
    pub fn names(&self, app: &str) -> Vec<String> {
        let dir = self.app_dir(app);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
            .map(|e| {
                let path = e.unwrap().path();
                path.file_stem().unwrap().to_string_lossy().into_owned()
            })
            .collect();
        names.sort();
        names
    }

    /// One payload's bytes.
    pub fn read(&self, app: &str, name: &str) -> Vec<u8> {
        let path = self.app_dir(app).join(format!("{name}.json"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
    }
}

/// One payload of the project's own corpus: `fixture("radarr", "download")`.
pub fn fixture(app: &str, name: &str) -> Vec<u8> {
    Corpus::own().read(app, name)
}

/// The path of one payload of the project's own corpus (for the CLI's `--payload`).
/// A copy of one of the project's own fixtures made distinct by a `hookarrCopy` field (so dedupe keeps the
/// copies apart) that still parses as the app's payload.
pub fn fixture_copy(app: &str, name: &str, copy: u64) -> Vec<u8> {
    let mut body: serde_json::Value = serde_json::from_slice(&fixture(app, name)).unwrap();
    body["hookarrCopy"] = copy.into();
    serde_json::to_vec(&body).unwrap()
}

pub fn fixture_path(app: &str, name: &str) -> PathBuf {
    Corpus::own().app_dir(app).join(format!("{name}.json"))
}

/// Says on the terminal, past the test harness's capture, that part of the suite did not run and why.
pub fn report_skip(what: &str, why: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "SKIPPED {what}: {why}");
}

/// The User-Agent the app of that name sends (research §1.1, §2–§4).
pub fn user_agent(app: &str) -> &'static str {
    match app {
        "sonarr" => "Sonarr/4.0.17.2952 (alpine 3.21.3)",
        "lidarr" => "Lidarr/2.14.5.4836 (debian 12)",
        "plex" => "PlexMediaServer/1.41.3.9314-a0bfb8370",
        "jellyfin" => "Jellyfin-Server/10.10.7",
        "emby" => "Emby Server/4.8.10.0",
        "apprise" => "Apprise",
        "prowlarr" => "Prowlarr/2.3.6.5169 (ubuntu 24.04)",
        "readarr" => "Readarr/0.4.19.2811 (debian 12)",
        "overseerr" => "axios/1.3.4",
        "jellyseerr" => "node",
        "tautulli" => "python-requests/2.33.1",
        _ => "Radarr/6.0.3.10276 (ubuntu 24.04)",
    }
}

/// The PostgreSQL server tests use: `HOOKARR_TEST_PG`, else the local one with trust auth.
pub fn pg_admin_url() -> String {
    std::env::var("HOOKARR_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Whether a PostgreSQL test must skip: true (with one line on the terminal) when no server answers and
/// `HOOKARR_TEST_PG` is unset. With `HOOKARR_TEST_PG` set (as `.ci/run` does) an unreachable server fails the
/// test instead, so CI never passes with PostgreSQL tests skipped.
pub fn skip_without_postgres(test: &str) -> bool {
    static REACHABLE: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    let url = pg_admin_url();
    let reachable = REACHABLE.get_or_init(|| {
        let parsed = url::Url::parse(&url).map_err(|e| format!("{url} is not a URL: {e}"))?;
        let host = parsed.host_str().unwrap_or("127.0.0.1").to_owned();
        let port = parsed.port().unwrap_or(5432);
        let addrs = std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
            .map_err(|e| format!("cannot resolve {host}: {e}"))?;
        for addr in addrs {
            if std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(2))
                .is_ok()
            {
                return Ok(());
            }
        }
        Err(format!("nothing answers at {host}:{port}"))
    });
    match reachable {
        Ok(()) => false,
        Err(why) if std::env::var_os("HOOKARR_TEST_PG").is_some() => {
            panic!("HOOKARR_TEST_PG is set, but PostgreSQL is unreachable: {why}")
        }
        Err(why) => {
            report_skip(
                test,
                &format!("no PostgreSQL ({why}); start one or set HOOKARR_TEST_PG"),
            );
            true
        }
    }
}

/// Runs an `async fn name(backend: Backend)` as two tests, `name::sqlite` and `name::postgres`; the PostgreSQL
/// one skips (and says so) when no server is reachable. `both_backends!(multi_thread: …)` gives each test two
/// worker threads.
macro_rules! both_backends {
    (multi_thread: $($name:ident),+ $(,)?) => {
        both_backends!(@ #[tokio::test(flavor = "multi_thread", worker_threads = 2)] $($name),+);
    };
    ($($name:ident),+ $(,)?) => {
        both_backends!(@ #[tokio::test] $($name),+);
    };
    (@ #[$attr:meta] $($name:ident),+) => {
        $(mod $name {
            #[$attr]
            async fn sqlite() {
                super::$name(crate::helpers::Backend::Sqlite).await
            }
            #[$attr]
            async fn postgres() {
                if crate::helpers::skip_without_postgres(concat!(module_path!(), "::postgres")) {
                    return;
                }
                super::$name(crate::helpers::Backend::Postgres).await
            }
        })+
    };
}

/// A fresh, empty PostgreSQL database; returns its URL.
pub async fn fresh_pg_database() -> String {
    let admin = pg_admin_url();
    let name = format!(
        "hookarr_test_{}",
        ulid::Ulid::new().to_string().to_lowercase()
    );
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL must be reachable at {admin} for the tests: {e}"));
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .unwrap();
    let (base, _) = admin.rsplit_once('/').expect("a database URL has a path");
    format!("{base}/{name}")
}

/// A storage URL on a fresh database of the backend, and the temp dir that holds SQLite files.
pub async fn fresh_storage(backend: Backend) -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = match backend {
        Backend::Sqlite => format!("sqlite://{}/nested/hookarr.db", dir.path().display()),
        Backend::Postgres => fresh_pg_database().await,
    };
    (url, dir)
}

/// A running hookarr.
pub struct TestApp {
    pub base: String,
    pub store: Arc<dyn Store>,
    /// The delivery engine (for [`TestApp::deliver_pending`]).
    engine: Arc<hookarr::delivery::Engine>,
    /// Whether the engine's loops run; without them, [`TestApp::deliver_pending`] runs the queue.
    delivery_workers: bool,
    /// Source name → token, from the printed Connect URLs.
    pub tokens: HashMap<String, String>,
    pub client: reqwest::Client,
    shutdown: CancellationToken,
    server: Option<tokio::task::JoinHandle<()>>,
    /// The temporary folder of the SQLite file (taken by [`TestApp::stop_keeping_dir`] to restart on it).
    dir: Option<tempfile::TempDir>,
}

/// The key of the stored secrets of every test app on PostgreSQL (base64 of 32 bytes).
pub const SHARED_SECRET_KEY: &str = "q83vEjRWeJCrze8SNFZ4kKu97xI0VniQq83vEjRWeJA=";

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Spawns with the test defaults changed by `tweak`.
    pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Self {
        if std::env::var_os("HOOKARR_TEST_LOG").is_some() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter("hookarr=debug")
                .with_test_writer()
                .try_init();
        }
        let (url, dir) = fresh_storage(backend).await;
        Self::spawn_at(url, dir, tweak).await
    }

    /// Spawns without the delivery engine's loops: nothing is sent until [`TestApp::deliver_pending`].
    pub async fn spawn_manual(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Self {
        let (url, dir) = fresh_storage(backend).await;
        Self::start(url, dir, tweak, false).await
    }

    /// Spawns on an existing storage URL (several processes sharing one PostgreSQL database).
    pub async fn spawn_at(
        url: String,
        dir: tempfile::TempDir,
        tweak: impl FnOnce(&mut Config),
    ) -> Self {
        Self::start(url, dir, tweak, true).await
    }

    async fn start(
        url: String,
        dir: tempfile::TempDir,
        tweak: impl FnOnce(&mut Config),
        delivery_workers: bool,
    ) -> Self {
        let mut cfg = Config::default();
        // Processes sharing a PostgreSQL database share the key of its secrets (a SQLite one's is beside it).
        if url.starts_with("postgres") {
            cfg.secret_key = Some(Secret(SHARED_SECRET_KEY.into()));
        }
        cfg.storage.url = Secret(url);
        cfg.admin.api_key = Some(Secret(ADMIN_KEY.into()));
        tweak(&mut cfg);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let app = App::build(cfg, Some(listener)).await.expect("app builds");
        let base = format!("http://{}", app.local_addr());
        let tokens = app
            .bootstrap()
            .connect_urls
            .iter()
            .filter_map(|c| Some((c.source.clone(), c.full.split_once("?token=")?.1.to_owned())))
            .collect();
        let store = app.store();
        let engine = app.engine();
        let app = if delivery_workers {
            app
        } else {
            app.without_delivery_workers()
        };
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        let server =
            tokio::spawn(async move { app.run_until_stopped(stop).await.expect("server runs") });
        TestApp {
            base,
            store,
            engine,
            delivery_workers,
            tokens,
            client: reqwest::Client::new(),
            shutdown,
            server: Some(server),
            dir: Some(dir),
        }
    }

    /// The delivery engine (to call into the library as the HTTP handlers do).
    pub fn engine(&self) -> &Arc<hookarr::delivery::Engine> {
        &self.engine
    }

    pub fn token(&self, source: &str) -> &str {
        self.tokens
            .get(source)
            .unwrap_or_else(|| panic!("no token for {source}"))
    }

    /// POSTs a JSON body to `/hooks/{source}?token=…` as the app would.
    pub async fn post_hook(&self, source: &str, body: &[u8]) -> (StatusCode, Value) {
        self.post_hook_as(source, "application/json", body.to_vec())
            .await
    }

    /// POSTs a body of any content type (a Plex form, Jellyfin's text/plain) with the app's User-Agent.
    pub async fn post_hook_as(
        &self,
        source: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let req = self
            .client
            .post(format!(
                "{}/hooks/{source}?token={}",
                self.base,
                self.token(source)
            ))
            .header("content-type", content_type)
            .header("user-agent", user_agent(source))
            .body(body);
        json_of(req.send().await.unwrap()).await
    }

    /// GET a path with no credentials.
    pub async fn get_plain(&self, path: &str) -> (StatusCode, Value) {
        json_of(
            self.client
                .get(format!("{}{path}", self.base))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// GET an API path with the admin key.
    pub async fn api_get(&self, path: &str) -> (StatusCode, Value) {
        let req = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(ADMIN_KEY);
        json_of(req.send().await.unwrap()).await
    }

    /// POST a JSON body to an API path with the admin key.
    pub async fn api_post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let req = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(ADMIN_KEY)
            .json(&body);
        json_of(req.send().await.unwrap()).await
    }

    /// Any method on any path, with a key (or none) and a JSON body (or none).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        key: Option<&str>,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(key) = key {
            req = req.bearer_auth(key);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        json_of(req.send().await.unwrap()).await
    }

    /// Polls `path` (up to 30 s) until `done` holds for its body; returns that body.
    /// Builds every story again from the stored events (`hookarr stories rebuild`).
    pub async fn rebuild_stories(&self) -> hookarr::storage::Joined {
        self.engine
            .rebuild_stories()
            .await
            .expect("stories rebuilt")
    }

    pub async fn wait_api(&self, path: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let (status, body) = self.api_get(path).await;
            if status == StatusCode::OK && done(&body) {
                return body;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting on {path}: {body}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Routes every stored event and makes one attempt at each delivery due now (and at whatever that
    /// makes due at once), results recorded, then returns: no waiting. For apps from [`TestApp::spawn_manual`].
    pub async fn deliver_pending(&self) -> usize {
        assert!(
            !self.delivery_workers,
            "deliver_pending is for apps spawned with spawn_manual"
        );
        self.engine.run_pending().await.expect("the queue runs")
    }

    /// Whether this app runs its queue by hand ([`TestApp::spawn_manual`]).
    pub fn is_manual(&self) -> bool {
        !self.delivery_workers
    }

    /// The ids of the events a list path returns (first page), asserting a 200.
    pub async fn event_ids(&self, path: &str) -> Vec<String> {
        let (status, page) = self.api_get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {page}");
        ids_of(&page)
    }

    /// The actions of the audit log, newest first, as the admin sees them.
    pub async fn audit_actions(&self) -> Vec<String> {
        let (status, audit) = self.api_get("/api/audit").await;
        assert_eq!(status, StatusCode::OK, "{audit}");
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_owned())
            .collect()
    }

    /// The temporary folder of its SQLite file (and of its secret key).
    pub fn storage_dir(&self) -> &std::path::Path {
        self.dir.as_ref().expect("the folder is still held").path()
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(server) = self.server.take() {
            server.await.unwrap();
        }
    }

    /// Stops the server and hands back its storage folder, to start another on the same database.
    pub async fn stop_keeping_dir(mut self) -> tempfile::TempDir {
        let dir = self.dir.take().expect("the folder is still held");
        self.stop().await;
        dir
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// The `id`s of a list response's items.
pub fn ids_of(page: &Value) -> Vec<String> {
    let items = page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("not a list response: {page}"));
    items
        .iter()
        .map(|e| e["id"].as_str().expect("items have ids").to_owned())
        .collect()
}

/// Status and JSON body (or `null` for an empty body).
pub async fn json_of(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let bytes = resp.bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("non-JSON body ({e}): {}", String::from_utf8_lossy(&bytes)))
    };
    (status, body)
}

/// Asserts the contract's error shape and code.
pub fn assert_error(body: &Value, code: &str) {
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(body["error"]["details"].is_array(), "{body}");
}
