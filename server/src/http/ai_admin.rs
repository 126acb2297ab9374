//! The AI index for admins (ours; WSO2 4.3 has none, its AI runs in its cloud):
//! - `GET /api/am/admin/v4/ai-index`: the model, how much of the organization's catalogue is
//!   embedded with it, what is queued and what keeps failing;
//! - `POST /api/am/admin/v4/ai-index/reindex`: embed every listed API again (202, the number
//!   queued); the indexer works through them in the background and `GET` shows the progress.

use app::ai::{AiAdminCall, AiAdminReply};
use app::auth::scopes as s;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::caller::Caller;
use super::rest::ADMIN;
use crate::AppState;
use crate::error::ApiError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(&format!("{ADMIN}/ai-index"), get(status))
        .route(&format!("{ADMIN}/ai-index/reindex"), post(reindex))
}

/// The one entry for the REST API and the Admin portal: admins of the caller's organization.
pub async fn call(
    ai: &crate::ai::Ai,
    db: &sqlx::PgPool,
    caller: &Caller,
    call: AiAdminCall,
) -> Result<AiAdminReply, ApiError> {
    caller.require(&[s::ADMIN, s::ADMIN_SETTINGS])?;
    match call {
        AiAdminCall::Status => Ok(AiAdminReply::Status(Box::new(
            crate::ai::index::status(ai, db, &caller.organization).await?,
        ))),
        AiAdminCall::Reindex => {
            if !ai.enabled() {
                return Err(ApiError::Conflict {
                    message: "The AI features are switched off (ai.enabled): nothing to embed"
                        .into(),
                    errors: Vec::new(),
                });
            }
            let apis = crate::ai::index::reindex(db, &caller.organization).await?;
            tracing::info!(
                organization = %caller.organization,
                by = %caller.username,
                apis,
                "AI index: re-embedding queued"
            );
            Ok(AiAdminReply::Queued { apis })
        }
    }
}

async fn status(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    match call(&state.ai, &state.db, &caller, AiAdminCall::Status).await? {
        AiAdminReply::Status(s) => Ok(Json(json!(s))),
        AiAdminReply::Queued { .. } => Err(ApiError::Anyhow(anyhow::anyhow!("unexpected reply"))),
    }
}

async fn reindex(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    match call(&state.ai, &state.db, &caller, AiAdminCall::Reindex).await? {
        AiAdminReply::Queued { apis } => {
            Ok((StatusCode::ACCEPTED, Json(json!({ "queued": apis }))))
        }
        AiAdminReply::Status(_) => Err(ApiError::Anyhow(anyhow::anyhow!("unexpected reply"))),
    }
}
