//! `/health` (the process answers) and `/ready` (database reachable, migrations applied).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::{AppState, MIGRATOR};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(|| async { Json(json!({ "status": "UP" })) }))
        .route("/ready", get(ready))
}

async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let latest = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    let applied: Result<Option<i64>, _> =
        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&state.db)
            .await;
    match applied {
        Ok(Some(v)) if v >= latest => (
            StatusCode::OK,
            Json(json!({ "status": "READY", "database": "UP", "migration": v })),
        ),
        Ok(v) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                json!({ "status": "NOT_READY", "database": "UP", "migration": v, "expected": latest }),
            ),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: database check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "NOT_READY", "database": "DOWN" })),
            )
        }
    }
}
