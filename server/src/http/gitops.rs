//! Declarative configuration over HTTP (ours; WSO2's `apictl` exports one API or application
//! at a time and never the portal state): the `gatehouse` CLI's two calls.
//! - `GET /api/am/admin/v4/configuration/export[?apis=Name:1.0.0,…]`: the organization (or
//!   the named APIs) as files (`{"files": {path: YAML}, "binary": {path: base64}}`);
//! - `POST /api/am/admin/v4/configuration/import[?dryRun=true]` with such a body: the plan,
//!   applied unless dry.
//!
//! Both need `apim:admin` in the organization.

use axum::extract::{DefaultBodyLimit, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::caller::Caller;
use super::rest::ADMIN;
use crate::AppState;
use crate::error::{ApiError, AppJson};
use crate::gitops::{Bundle, Gitops, Plan, Selection};

/// Documents' files included, a configuration stays well under this.
const BUNDLE_BYTES: usize = 64 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(&format!("{ADMIN}/configuration/export"), get(export))
        .route(
            &format!("{ADMIN}/configuration/import"),
            post(import).layer(DefaultBodyLimit::max(BUNDLE_BYTES)),
        )
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ExportQuery {
    apis: Option<String>,
}

async fn export(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ExportQuery>,
) -> Result<Json<Bundle>, ApiError> {
    let selection = Selection::parse(q.apis.as_deref())?;
    let g = Gitops::new(&state, &caller).await?;
    Ok(Json(g.export(&selection).await?))
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ImportQuery {
    dry_run: bool,
}

async fn import(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ImportQuery>,
    AppJson(bundle): AppJson<Bundle>,
) -> Result<Json<Plan>, ApiError> {
    let g = Gitops::new(&state, &caller).await?;
    Ok(Json(g.import(&bundle, q.dry_run).await?))
}
