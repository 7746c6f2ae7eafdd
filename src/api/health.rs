//! `GET /healthz` (the process is up) and `GET /readyz` (database reachable and taking writes, migrations
//! current, delivery workers running; the MQTT broker's state is told beside them).

use super::AppState;
use crate::storage::StorageFault;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use utoipa::ToSchema;

/// How long a storage fault met by an ingest keeps `/readyz` at 503 when nothing has been stored since.
const FAULT_MEMORY: Duration = Duration::from_secs(30);

/// The last storage fault an ingest met, until an ingest is stored again. A full disk can still take the
/// readiness probe's one-row write (SQLite reuses its log's space) while every event fails: `/readyz` must
/// say what the apps see.
#[derive(Debug, Default)]
pub struct IngestFaults(Mutex<Option<(StorageFault, Instant)>>);

impl IngestFaults {
    pub fn record(&self, fault: StorageFault) {
        *self.0.lock().expect("fault lock") = Some((fault, Instant::now()));
    }

    pub fn clear(&self) {
        *self.0.lock().expect("fault lock") = None;
    }

    /// The fault of a failed ingest within the last 30 s with none stored since.
    fn recent(&self) -> Option<StorageFault> {
        self.0
            .lock()
            .expect("fault lock")
            .filter(|(_, at)| at.elapsed() < FAULT_MEMORY)
            .map(|(fault, _)| fault)
    }
}

/// `GET /healthz`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Liveness {
    /// Always `ok`.
    status: &'static str,
}

/// Always 200 while the process serves HTTP.
pub async fn healthz() -> Json<Liveness> {
    Json(Liveness { status: "ok" })
}

/// `GET /readyz`: what is ready and, on a 503, what is not.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` or `not_ready`.
    status: &'static str,
    /// `sqlite` or `postgres`, with `unreachable` when it cannot be read.
    database: String,
    /// `current`, or what to run.
    #[serde(skip_serializing_if = "Option::is_none")]
    migrations: Option<&'static str>,
    /// `ok`, or the storage fault writes meet (`disk_full`, `read_only`…).
    #[serde(skip_serializing_if = "Option::is_none")]
    writes: Option<&'static str>,
    /// `running` or `stopped`.
    #[serde(skip_serializing_if = "Option::is_none")]
    workers: Option<&'static str>,
    /// The MQTT broker's connection, when `mqtt:` is set: what it is doing and, when it is down, why. It
    /// does not make hookarr unready (webhooks are still taken and kept).
    #[serde(skip_serializing_if = "Option::is_none")]
    mqtt: Option<crate::mqtt::LinkState>,
}

impl Readiness {
    fn not_ready(database: impl Into<String>) -> Readiness {
        Readiness {
            status: "not_ready",
            database: database.into(),
            migrations: None,
            writes: None,
            workers: None,
            mqtt: None,
        }
    }
}

/// 200 when the store answers and takes a write, every migration is applied and the delivery workers run,
/// else 503 naming what is wrong.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let backend = state.store.backend();
    let unready = |r: Readiness| (StatusCode::SERVICE_UNAVAILABLE, Json(r));
    let delivers = state.cfg.server.role.delivers();
    if delivers && !state.engine.is_running() {
        return unready(Readiness {
            workers: Some("stopped"),
            ..Readiness::not_ready(backend)
        });
    }
    match state.store.ready().await {
        Ok(true) => {}
        Ok(false) => {
            return unready(Readiness {
                migrations: Some("pending; run `hookarr migrate`"),
                ..Readiness::not_ready(backend)
            });
        }
        Err(error) => {
            error.log("Readiness check failed: the database cannot be read.");
            return unready(Readiness::not_ready(format!("{backend} unreachable")));
        }
    }
    // Reads can work while writes fail (a full disk): ready means an event sent now would be stored.
    let probe = match state.store.write_probe().await {
        Ok(()) => state.ingest_faults.recent().map(|f| (f.as_str(), None)),
        Err(error) => Some((error.fault().map_or("failing", |f| f.as_str()), Some(error))),
    };
    let writes = match probe {
        None => "ok",
        Some((fault, error)) => {
            if let Some(error) = error {
                error.log("Readiness check failed: the database takes no writes.");
            }
            fault
        }
    };
    let status = if writes == "ok" { "ready" } else { "not_ready" };
    let readiness = Readiness {
        status,
        database: backend.to_owned(),
        migrations: Some("current"),
        writes: Some(writes),
        workers: Some(if delivers {
            "running"
        } else {
            "in other processes (role api)"
        }),
        mqtt: state.engine.mqtt().map(|hub| hub.link.state()),
    };
    match status {
        "ready" => (StatusCode::OK, Json(readiness)),
        _ => unready(readiness),
    }
}

/// `GET /api/openapi.json`: the OpenAPI 3.1 document of every route.
pub async fn openapi() -> impl axum::response::IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        super::openapi::document(),
    )
}

/// `GET /metrics`: Prometheus text, the gauges measured now.
pub async fn metrics(
    State(state): State<AppState>,
) -> Result<axum::response::Response, super::ApiError> {
    use axum::response::IntoResponse;
    let text = crate::metrics::render(state.store.as_ref(), &state.engine).await?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}
