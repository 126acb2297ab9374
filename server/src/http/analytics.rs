//! Analytics over HTTP (ours; WSO2 4.3 sends its analytics to its cloud):
//! - `POST /api/am/gateway/v1/environments/{name}/analytics`: a gateway's batch of events
//!   (gateway token and `X-Gateway-Id` only), added to the per-minute aggregates;
//! - `GET /api/am/publisher/v4/apis/{apiId}/analytics?range=24h`: one API's traffic;
//! - `GET /api/am/devportal/v3/applications/{applicationId}/analytics?range=24h`: one of the
//!   caller's applications;
//! - `GET /api/am/admin/v4/analytics?range=24h`: the organization's traffic.
//!
//! `range` is `1h`, `6h`, `24h` (default), `7d` or `30d`.

use app::analytics::{Range, Report, Scope};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use gateway::analytics::Batch;
use serde::Deserialize;
use serde_json::{Value, json};

use super::caller::Caller;
use super::rest::{ADMIN, DEVPORTAL, PUBLISHER};
use crate::AppState;
use crate::error::{ApiError, AppJson};
use crate::publisher::Publisher;

/// A batch of 10,000 events is about 2.5 MB.
const BATCH_BYTES: usize = 8 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/am/gateway/v1/environments/{name}/analytics",
            post(ingest).layer(DefaultBodyLimit::max(BATCH_BYTES)),
        )
        .route(
            &format!("{PUBLISHER}/apis/{{api_id}}/analytics"),
            get(of_api),
        )
        .route(
            &format!("{DEVPORTAL}/applications/{{application_id}}/analytics"),
            get(of_application),
        )
        .route(&format!("{ADMIN}/analytics"), get(of_organization))
}

async fn ingest(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    AppJson(batch): AppJson<Batch>,
) -> Result<Json<Value>, ApiError> {
    if !super::publisher::authorize_gateway(&state, &headers)? {
        return Err(ApiError::Forbidden(
            "Only a gateway (with the gateway token) sends analytics".into(),
        ));
    }
    let n = crate::analytics::ingest(&state.db, &name, &batch).await?;
    Ok(Json(json!({ "accepted": n })))
}

#[derive(Deserialize)]
struct RangeQuery {
    range: Option<String>,
}

impl RangeQuery {
    fn range(&self) -> Result<Range, ApiError> {
        match self.range.as_deref() {
            None | Some("") => Ok(Range::default()),
            Some(r) => Range::parse(r).ok_or_else(|| {
                ApiError::field("range", format!("`{r}` is not one of 1h, 6h, 24h, 7d, 30d"))
            }),
        }
    }
}

/// The report every portal and REST call uses.
pub async fn report(
    state: &AppState,
    caller: &Caller,
    scope: Scope,
    range: Range,
) -> Result<Report, ApiError> {
    let publisher = Publisher::new(state.db.clone(), state.settings.publisher.clone());
    crate::analytics::report(&state.db, &publisher, &state.km, caller, &scope, range).await
}

async fn of_api(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<RangeQuery>,
) -> Result<Json<Report>, ApiError> {
    let range = q.range()?;
    Ok(Json(
        report(&state, &caller, Scope::Api { id }, range).await?,
    ))
}

async fn of_application(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<RangeQuery>,
) -> Result<Json<Report>, ApiError> {
    let range = q.range()?;
    Ok(Json(
        report(&state, &caller, Scope::Application { id }, range).await?,
    ))
}

async fn of_organization(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<RangeQuery>,
) -> Result<Json<Report>, ApiError> {
    let range = q.range()?;
    Ok(Json(
        report(&state, &caller, Scope::Organization, range).await?,
    ))
}
