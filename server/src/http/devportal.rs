//! DevPortal v3 REST: the public catalogue (`/apis`, `/apis/{id}`, `/apis/{id}/swagger`).
//! Anonymous callers see public APIs; a token or a portal session shows what its user may see.

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::caller::Caller;
use super::rest::DEVPORTAL;
use crate::AppState;
use crate::devportal::Catalogue;
use crate::error::ApiError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(&format!("{DEVPORTAL}/apis"), get(list))
        .route(&format!("{DEVPORTAL}/apis/{{api_id}}"), get(one))
        .route(
            &format!("{DEVPORTAL}/apis/{{api_id}}/swagger"),
            get(swagger),
        )
}

pub fn catalogue(state: &AppState) -> Catalogue {
    Catalogue {
        db: state.db.clone(),
        default_organization: state.settings.auth.default_organization.clone(),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ListQuery {
    query: String,
    limit: Option<i64>,
    offset: Option<i64>,
}

async fn list(
    State(state): State<AppState>,
    actor: Option<Caller>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let page = catalogue(&state)
        .list(
            actor.as_ref(),
            &q.query,
            q.offset.unwrap_or(0),
            q.limit.unwrap_or(25),
        )
        .await?;
    Ok(Json(json!(page)))
}

async fn one(
    State(state): State<AppState>,
    actor: Option<Caller>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let api = catalogue(&state).get(actor.as_ref(), &id).await?;
    Ok(Json(json!(api)))
}

async fn swagger(
    State(state): State<AppState>,
    actor: Option<Caller>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        catalogue(&state).definition(actor.as_ref(), &id).await?,
    ))
}
