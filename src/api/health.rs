//! `GET /healthz` (the process is up) and `GET /readyz` (database reachable, migrations current, delivery
//! workers running).

use super::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

/// Always 200 while the process serves HTTP.
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// 200 when the store answers, every migration is applied and the delivery workers run, else 503 naming what
/// is wrong.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let backend = state.store.backend();
    if !state.engine.is_running() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not_ready", "database": backend, "workers": "stopped"})),
        );
    }
    match state.store.ready().await {
        Ok(true) => (
            StatusCode::OK,
            Json(
                json!({"status": "ready", "database": backend, "migrations": "current", "workers": "running"}),
            ),
        ),
        Ok(false) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                json!({"status": "not_ready", "database": backend, "migrations": "pending; run `hookarr migrate`"}),
            ),
        ),
        Err(error) => {
            tracing::warn!(message = "Readiness check failed.", %error);
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "not_ready", "database": format!("{backend} unreachable")})),
            )
        }
    }
}
