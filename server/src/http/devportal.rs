//! DevPortal v3 REST: the public catalogue (`/apis`, `/apis/{id}`, `/apis/{id}/swagger`).
//! Anonymous callers see public APIs; a token or a portal session shows what its user may see.

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::routing::{get, post};
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
        .route(
            &format!("{DEVPORTAL}/marketplace-assistant/chat"),
            post(assistant_chat),
        )
        .route(
            &format!("{DEVPORTAL}/apis/{{api_id}}/api-chat"),
            post(api_chat_post),
        )
}

/// What an API chat call produced.
pub enum ApiChatOutcome {
    Plan(app::ai::ApiChatPlan),
    Run(app::ai::ApiChatRun),
}

/// API chat for the REST API and the portal: PREPARE (anyone who sees the API) or EXECUTE
/// (signed in, with an application), counted against the caller's AI allowance.
#[allow(clippy::too_many_arguments)]
pub async fn api_chat(
    ai: &crate::ai::Ai,
    db: &sqlx::PgPool,
    km: &crate::keymanager::KeyManager,
    catalogue: &Catalogue,
    actor: Option<&Caller>,
    api_id: &str,
    action: &str,
    request: app::ai::ApiChatRequest,
) -> Result<ApiChatOutcome, ApiError> {
    if !ai.enabled() {
        return Err(ApiError::NotFound(
            "API chat is switched off (ai.enabled)".into(),
        ));
    }
    let who = actor.map_or_else(
        || "anonymous".to_string(),
        |a| format!("{}/{}", a.organization, a.username),
    );
    match action.to_ascii_uppercase().as_str() {
        "PREPARE" => {
            ai.admit(&who)?;
            crate::ai::chat::prepare(ai, db, catalogue, actor, api_id, &request.command)
                .await
                .map(ApiChatOutcome::Plan)
        }
        "EXECUTE" => {
            let actor = actor.ok_or_else(|| {
                ApiError::Unauthorized("Sign in to call the API with your application".into())
            })?;
            ai.admit(&who)?;
            crate::ai::chat::execute(ai, km, catalogue, actor, api_id, request)
                .await
                .map(ApiChatOutcome::Run)
        }
        _ => Err(ApiError::field("apiChatAction", "PREPARE or EXECUTE")),
    }
}

#[derive(Deserialize)]
struct ApiChatQuery {
    #[serde(rename = "apiChatAction", default)]
    action: String,
}

/// DevPortal v3 `POST /apis/{apiId}/api-chat?apiChatAction=PREPARE|EXECUTE` (WSO2's
/// `apiChatPost`).
async fn api_chat_post(
    State(state): State<AppState>,
    actor: Option<Caller>,
    Path(id): Path<String>,
    Query(q): Query<ApiChatQuery>,
    crate::error::AppJson(request): crate::error::AppJson<app::ai::ApiChatRequest>,
) -> Result<Json<Value>, ApiError> {
    let out = api_chat(
        &state.ai,
        &state.db,
        &state.km,
        &catalogue(&state),
        actor.as_ref(),
        &id,
        &q.action,
        request,
    )
    .await?;
    Ok(Json(match out {
        ApiChatOutcome::Plan(p) => json!(p),
        ApiChatOutcome::Run(r) => json!(r),
    }))
}

/// The marketplace assistant for the REST API and the portal: counted against the visitor's
/// allowance (signed-in users by name, anonymous visitors by address).
pub async fn assistant(
    ai: &crate::ai::Ai,
    db: &sqlx::PgPool,
    catalogue: &Catalogue,
    visitor: Option<&Caller>,
    peer: Option<std::net::IpAddr>,
    request: app::ai::AssistantRequest,
) -> Result<app::ai::AssistantReply, ApiError> {
    if !ai.enabled() {
        return Err(ApiError::NotFound(
            "The marketplace assistant is switched off (ai.enabled)".into(),
        ));
    }
    let who = match (visitor, peer) {
        (Some(a), _) => format!("{}/{}", a.organization, a.username),
        (None, Some(ip)) => format!("anonymous/{ip}"),
        (None, None) => "anonymous".into(),
    };
    ai.admit(&who)?;
    crate::ai::assistant::chat(ai, db, catalogue, visitor, &request.query, &request.history).await
}

/// DevPortal v3 `POST /marketplace-assistant/chat` (`query`, `history`).
async fn assistant_chat(
    State(state): State<AppState>,
    actor: Option<Caller>,
    peer: Option<axum::Extension<ConnectInfo<std::net::SocketAddr>>>,
    crate::error::AppJson(request): crate::error::AppJson<app::ai::AssistantRequest>,
) -> Result<Json<app::ai::AssistantReply>, ApiError> {
    let reply = assistant(
        &state.ai,
        &state.db,
        &catalogue(&state),
        actor.as_ref(),
        peer.map(|axum::Extension(ConnectInfo(a))| a.ip()),
        request,
    )
    .await?;
    Ok(Json(reply))
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
