//! `GET /healthz` (the process is up) and `GET /readyz` (database reachable and taking writes, migrations
//! current, delivery workers running).

use super::AppState;
use crate::storage::StorageFault;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};
use std::sync::Mutex;
use std::time::{Duration, Instant};

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

/// Always 200 while the process serves HTTP.
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// 200 when the store answers and takes a write, every migration is applied and the delivery workers run,
/// else 503 naming what is wrong.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let backend = state.store.backend();
    if !state.engine.is_running() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not_ready", "database": backend, "workers": "stopped"})),
        );
    }
    match state.store.ready().await {
        Ok(true) => {}
        Ok(false) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(
                    json!({"status": "not_ready", "database": backend, "migrations": "pending; run `hookarr migrate`"}),
                ),
            );
        }
        Err(error) => {
            error.log("Readiness check failed: the database cannot be read.");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "not_ready", "database": format!("{backend} unreachable")})),
            );
        }
    }
    // Reads can work while writes fail (a full disk): ready means an event sent now would be stored.
    let probe = match state.store.write_probe().await {
        Ok(()) => state.ingest_faults.recent().map(|f| (f.as_str(), None)),
        Err(error) => Some((error.fault().map_or("failing", |f| f.as_str()), Some(error))),
    };
    match probe {
        None => (
            StatusCode::OK,
            Json(
                json!({"status": "ready", "database": backend, "migrations": "current", "writes": "ok", "workers": "running"}),
            ),
        ),
        Some((fault, error)) => {
            if let Some(error) = error {
                error.log("Readiness check failed: the database takes no writes.");
            }
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(
                    json!({"status": "not_ready", "database": backend, "migrations": "current", "writes": fault, "workers": "running"}),
                ),
            )
        }
    }
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
