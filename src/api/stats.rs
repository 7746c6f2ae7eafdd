//! `GET /api/stats`: per destination and registered webhook, the last hour and day — an admin sees all, a
//! user their own webhooks.

use super::auth::Caller;
use super::{ApiError, AppState};
use crate::operations::stats::{DestinationStats, stats};
use axum::Json;
use axum::extract::State;

/// `GET /api/stats`: one item per destination and webhook.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Stats {
    items: Vec<DestinationStats>,
}

pub async fn get(State(state): State<AppState>, caller: Caller) -> Result<Json<Stats>, ApiError> {
    let own = crate::operations::webhooks::ids_of(state.store.as_ref(), caller.scope()).await?;
    let items: Vec<DestinationStats> =
        stats(state.store.as_ref(), own.as_deref(), chrono::Utc::now()).await?;
    Ok(Json(Stats { items }))
}
