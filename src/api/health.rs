//! `GET /healthz` (the process is up) and `GET /readyz` (database reachable and taking writes, migrations
//! current, delivery workers running).

use super::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

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
    match state.store.write_probe().await {
        Ok(()) => (
            StatusCode::OK,
            Json(
                json!({"status": "ready", "database": backend, "migrations": "current", "writes": "ok", "workers": "running"}),
            ),
        ),
        Err(error) => {
            error.log("Readiness check failed: the database takes no writes.");
            let fault = error.fault().map_or("failing", |f| f.as_str());
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(
                    json!({"status": "not_ready", "database": backend, "migrations": "current", "writes": fault, "workers": "running"}),
                ),
            )
        }
    }
}
