//! Admin v4 REST `/workflows` (WSO2's queue of pending approvals, one request's details, and
//! `update-workflow-status` to approve or reject) and `/workflow-settings` (ours: which types
//! need approval in the caller's organization; WSO2 keeps this in a registry file).

use app::workflows::{WorkflowDecision, WorkflowInfo, WorkflowSetting};
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::caller::Caller;
use super::rest::ADMIN;
use crate::AppState;
use crate::error::{ApiError, AppJson};
use crate::workflows::Workflows;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(&format!("{ADMIN}/workflows"), get(list))
        .route(
            &format!("{ADMIN}/workflows/update-workflow-status"),
            post(decide),
        )
        .route(&format!("{ADMIN}/workflows/{{reference}}"), get(one))
        .route(
            &format!("{ADMIN}/workflow-settings"),
            get(settings).put(save_settings),
        )
}

fn workflows(s: &AppState) -> Workflows {
    Workflows { db: s.db.clone() }
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ListQuery {
    workflow_type: Option<String>,
    status: Option<String>,
    offset: Option<i64>,
    limit: Option<i64>,
}

async fn list(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let page = workflows(&s)
        .list(
            &caller,
            q.workflow_type.as_deref(),
            q.status.as_deref(),
            q.offset.unwrap_or(0),
            q.limit.unwrap_or(25),
        )
        .await?;
    // WSO2's WorkflowList carries next / previous at the top level as well.
    let mut body = json!(page);
    body["next"] = json!(page.pagination.next);
    body["previous"] = json!(page.pagination.previous);
    Ok(Json(body))
}

async fn one(
    State(s): State<AppState>,
    caller: Caller,
    Path(reference): Path<String>,
) -> Result<Json<WorkflowInfo>, ApiError> {
    Ok(Json(workflows(&s).get(&caller, &reference).await?))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DecideQuery {
    workflow_reference_id: Option<String>,
}

async fn decide(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<DecideQuery>,
    AppJson(decision): AppJson<WorkflowDecision>,
) -> Result<Json<Value>, ApiError> {
    let reference = q
        .workflow_reference_id
        .filter(|r| !r.trim().is_empty())
        .ok_or_else(|| ApiError::field("workflowReferenceId", "required (query parameter)"))?;
    let done = workflows(&s).decide(&caller, &reference, decision).await?;
    // WSO2 answers with the `Workflow` it applied.
    Ok(Json(json!({
        "status": done.workflow_status,
        "attributes": {},
        "description": done.decision_note,
        "workflow": done,
    })))
}

async fn settings(State(s): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let list = workflows(&s).settings(&caller).await?;
    Ok(Json(json!({ "count": list.len(), "list": list })))
}

#[derive(Deserialize)]
struct SettingsBody {
    list: Vec<WorkflowSetting>,
}

async fn save_settings(
    State(s): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<SettingsBody>,
) -> Result<Json<Value>, ApiError> {
    let list = workflows(&s).save_settings(&caller, body.list).await?;
    Ok(Json(json!({ "count": list.len(), "list": list })))
}
