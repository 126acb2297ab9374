//! Publisher v4 `/gateway-policies` (WSO2 4.3's gateway policy mappings): list (with
//! `query=gatewayLabel:…`), add, get, update, delete, and `/{id}/deploy` to deploy to or
//! undeploy from gateway environments.

use app::gateway_policies::{GatewayPolicyDeployment, GatewayPolicyMapping};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::caller::Caller;
use super::rest::PUBLISHER;
use crate::AppState;
use crate::error::{ApiError, AppJson};
use crate::publisher::Publisher;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            &format!("{PUBLISHER}/gateway-policies"),
            get(list).post(create),
        )
        .route(
            &format!("{PUBLISHER}/gateway-policies/{{mapping_id}}"),
            get(one).put(update).delete(remove),
        )
        .route(
            &format!("{PUBLISHER}/gateway-policies/{{mapping_id}}/deploy"),
            post(deploy),
        )
}

fn service(state: &AppState) -> Publisher {
    Publisher::new(state.db.clone(), state.settings.publisher.clone())
}

#[derive(serde::Deserialize)]
struct ListQuery {
    query: Option<String>,
}

async fn list(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let label = match q.query.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        None => None,
        Some(q) => Some(q.strip_prefix("gatewayLabel:").ok_or_else(|| {
            ApiError::field("query", "search with gatewayLabel:<environment name>")
        })?),
    };
    let items = service(&s).gateway_policies(&caller, label).await?;
    let view: Vec<Value> = items
        .iter()
        .map(|m| {
            json!({
                "id": m.id,
                "displayName": m.display_name,
                "description": m.description,
                "appliedGatewayLabels": m.applied_gateway_labels,
            })
        })
        .collect();
    Ok(Json(json!({
        "count": view.len(),
        "list": view,
        "pagination": { "offset": 0, "limit": view.len(), "total": view.len() },
    })))
}

async fn create(
    State(s): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<GatewayPolicyMapping>,
) -> Result<Response, ApiError> {
    let m = service(&s).create_gateway_policy(&caller, body).await?;
    let location = format!("{PUBLISHER}/gateway-policies/{}", m.id);
    let info = json!({ "id": m.id, "displayName": m.display_name, "description": m.description });
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(info),
    )
        .into_response())
}

async fn one(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<GatewayPolicyMapping>, ApiError> {
    Ok(Json(service(&s).gateway_policy(&caller, &id).await?))
}

async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    AppJson(body): AppJson<GatewayPolicyMapping>,
) -> Result<Json<GatewayPolicyMapping>, ApiError> {
    Ok(Json(
        service(&s)
            .update_gateway_policy(&caller, &id, body)
            .await?,
    ))
}

async fn remove(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    service(&s).delete_gateway_policy(&caller, &id).await?;
    Ok(StatusCode::OK)
}

async fn deploy(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    AppJson(body): AppJson<Vec<GatewayPolicyDeployment>>,
) -> Result<Json<Vec<GatewayPolicyDeployment>>, ApiError> {
    Ok(Json(
        service(&s)
            .deploy_gateway_policy(&caller, &id, body)
            .await?,
    ))
}
