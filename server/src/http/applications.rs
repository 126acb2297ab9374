//! DevPortal v3 REST: applications, their OAuth keys and API keys, subscriptions, key managers;
//! and the Publisher's subscription blocking. Thin: the checks live in `keymanager`.

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use app::applications::{
    ApiKeyGenerateRequest, ApiKeyRevokeRequest, Application, ApplicationKey, KeyGenerateRequest,
    KeyMappingRequest, Subscription, TokenGenerateRequest,
};

use super::caller::Caller;
use super::rest::{DEVPORTAL, PUBLISHER};
use crate::AppState;
use crate::error::{ApiError, AppJson};

pub fn router() -> Router<AppState> {
    let d = |p: &str| format!("{DEVPORTAL}{p}");
    Router::new()
        .route(&d("/applications"), get(list_apps).post(create_app))
        .route(
            &d("/applications/{id}"),
            get(get_app).put(update_app).delete(delete_app),
        )
        .route(&d("/applications/{id}/generate-keys"), post(generate_keys))
        .route(&d("/applications/{id}/map-keys"), post(map_keys))
        .route(&d("/applications/{id}/keys"), get(oauth_keys))
        .route(&d("/applications/{id}/oauth-keys"), get(oauth_keys))
        .route(
            &d("/applications/{id}/oauth-keys/{key}"),
            get(oauth_key).put(update_oauth_key),
        )
        .route(
            &d("/applications/{id}/oauth-keys/{key}/regenerate-secret"),
            post(regenerate_secret),
        )
        .route(
            &d("/applications/{id}/oauth-keys/{key}/clean-up"),
            post(clean_up),
        )
        .route(
            &d("/applications/{id}/oauth-keys/{key}/generate-token"),
            post(generate_token),
        )
        .route(
            &d("/applications/{id}/oauth-keys/{key}/tokens"),
            get(list_tokens),
        )
        .route(
            &d("/applications/{id}/oauth-keys/{key}/tokens/{token}"),
            axum::routing::delete(revoke_listed),
        )
        .route(
            &d("/applications/{id}/keys/{key_type}/regenerate-secret"),
            post(legacy_regenerate_secret),
        )
        .route(
            &d("/applications/{id}/keys/{key_type}/clean-up"),
            post(legacy_clean_up),
        )
        .route(
            &d("/applications/{id}/keys/{key_type}/generate-token"),
            post(legacy_generate_token),
        )
        .route(&d("/applications/{id}/api-keys"), get(api_keys))
        .route(
            &d("/applications/{id}/api-keys/{key_type}/generate"),
            post(generate_api_key),
        )
        .route(
            &d("/applications/{id}/api-keys/{key_type}/revoke"),
            post(revoke_api_key),
        )
        .route(&d("/subscriptions"), get(list_subs).post(create_sub))
        .route(
            &d("/subscriptions/{id}"),
            get(get_sub).put(update_sub).delete(delete_sub),
        )
        .route(&d("/key-managers"), get(key_managers))
        .route(
            &format!("{PUBLISHER}/subscriptions/block-subscription"),
            post(block),
        )
        .route(
            &format!("{PUBLISHER}/subscriptions/unblock-subscription"),
            post(unblock),
        )
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ListQuery {
    query: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
    application_id: Option<String>,
    api_id: Option<String>,
}

fn created(location: String, body: serde_json::Value) -> Response {
    (
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(body),
    )
        .into_response()
}

async fn list_apps(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let page =
        s.km.list_applications(
            &caller,
            q.query.as_deref(),
            q.offset.unwrap_or(0),
            q.limit.unwrap_or(25),
        )
        .await?;
    Ok(Json(json!(page)))
}

async fn create_app(
    State(s): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<Application>,
) -> Result<Response, ApiError> {
    let app = s.km.create_application(&caller, body).await?;
    let id = app.application_id.clone().unwrap_or_default();
    Ok(created(
        format!("{DEVPORTAL}/applications/{id}"),
        json!(app),
    ))
}

async fn get_app(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Application>, ApiError> {
    Ok(Json(s.km.get_application(&caller, &id).await?))
}

async fn update_app(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    AppJson(body): AppJson<Application>,
) -> Result<Json<Application>, ApiError> {
    Ok(Json(s.km.update_application(&caller, &id, body).await?))
}

async fn delete_app(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    s.km.delete_application(&caller, &id).await?;
    Ok(StatusCode::OK)
}

async fn generate_keys(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    AppJson(body): AppJson<KeyGenerateRequest>,
) -> Result<Json<ApplicationKey>, ApiError> {
    Ok(Json(s.km.generate_keys(&caller, &id, body).await?))
}

async fn map_keys(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    AppJson(body): AppJson<KeyMappingRequest>,
) -> Result<Json<ApplicationKey>, ApiError> {
    Ok(Json(s.km.map_keys(&caller, &id, body).await?))
}

async fn oauth_keys(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let list = s.km.oauth_keys(&caller, &id).await?;
    Ok(Json(json!({ "count": list.len(), "list": list })))
}

async fn oauth_key(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, key)): Path<(String, String)>,
) -> Result<Json<ApplicationKey>, ApiError> {
    Ok(Json(s.km.oauth_key(&caller, &id, &key).await?))
}

async fn update_oauth_key(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, key)): Path<(String, String)>,
    AppJson(body): AppJson<ApplicationKey>,
) -> Result<Json<ApplicationKey>, ApiError> {
    Ok(Json(s.km.update_oauth_key(&caller, &id, &key, body).await?))
}

async fn regenerate_secret(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, key)): Path<(String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let k = s.km.regenerate_secret(&caller, &id, &key).await?;
    // WSO2's `ConsumerSecretInfo`, plus the whole key.
    Ok(Json(json!({
        "consumerKey": k.consumer_key,
        "consumerSecret": k.consumer_secret,
        "key": k,
    })))
}

async fn clean_up(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, key)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    s.km.clean_up_keys(&caller, &id, &key).await?;
    Ok(StatusCode::OK)
}

async fn generate_token(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, key)): Path<(String, String)>,
    AppJson(body): AppJson<TokenGenerateRequest>,
) -> Result<Response, ApiError> {
    let token = s.km.generate_token(&caller, &id, &key, body).await?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(json!(token))).into_response())
}

/// Ours, persistent mode: the client's live tokens (ids, scopes, expiry).
async fn list_tokens(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, key)): Path<(String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let list = s.km.list_tokens(&caller, &id, &key).await?;
    Ok(Json(json!({ "count": list.len(), "list": list })))
}

async fn revoke_listed(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, key, token)): Path<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    s.km.revoke_listed(&caller, &id, &key, &token).await?;
    Ok(StatusCode::OK)
}

async fn legacy_regenerate_secret(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, key_type)): Path<(String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let key = s.km.resident_key_id(&caller, &id, &key_type).await?;
    regenerate_secret(State(s), caller, Path((id, key))).await
}

async fn legacy_clean_up(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, key_type)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let key = s.km.resident_key_id(&caller, &id, &key_type).await?;
    clean_up(State(s), caller, Path((id, key))).await
}

async fn legacy_generate_token(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, key_type)): Path<(String, String)>,
    body: AppJson<TokenGenerateRequest>,
) -> Result<Response, ApiError> {
    let key = s.km.resident_key_id(&caller, &id, &key_type).await?;
    generate_token(State(s), caller, Path((id, key)), body).await
}

async fn api_keys(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let list = s.km.api_keys(&caller, &id).await?;
    Ok(Json(json!({ "count": list.len(), "list": list })))
}

async fn generate_api_key(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, key_type)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    // WSO2's portal sends `{}` or nothing at all.
    let req: ApiKeyGenerateRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ApiKeyGenerateRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest {
            message: format!("Malformed JSON body: {e}"),
            errors: vec![],
        })?
    };
    let key = s.km.generate_api_key(&caller, &id, &key_type, req).await?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(json!(key))).into_response())
}

async fn revoke_api_key(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, key_type)): Path<(String, String)>,
    AppJson(body): AppJson<ApiKeyRevokeRequest>,
) -> Result<StatusCode, ApiError> {
    s.km.revoke_api_key(&caller, &id, &key_type, body).await?;
    Ok(StatusCode::OK)
}

async fn list_subs(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let page =
        s.km.list_subscriptions(
            &caller,
            q.application_id.as_deref(),
            q.api_id.as_deref(),
            q.offset.unwrap_or(0),
            q.limit.unwrap_or(25),
        )
        .await?;
    Ok(Json(json!(page)))
}

async fn create_sub(
    State(s): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<Subscription>,
) -> Result<Response, ApiError> {
    let catalogue = super::devportal::catalogue(&s);
    let sub = s.km.create_subscription(&catalogue, &caller, body).await?;
    let id = sub.subscription_id.clone().unwrap_or_default();
    Ok(created(
        format!("{DEVPORTAL}/subscriptions/{id}"),
        json!(sub),
    ))
}

async fn get_sub(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Subscription>, ApiError> {
    Ok(Json(s.km.get_subscription(&caller, &id).await?))
}

async fn update_sub(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    AppJson(body): AppJson<Subscription>,
) -> Result<Json<Subscription>, ApiError> {
    let catalogue = super::devportal::catalogue(&s);
    Ok(Json(
        s.km.update_subscription(&catalogue, &caller, &id, body)
            .await?,
    ))
}

async fn delete_sub(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    s.km.delete_subscription(&caller, &id).await?;
    Ok(StatusCode::OK)
}

async fn key_managers(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Json<serde_json::Value>, ApiError> {
    // WSO2: `apim:subscribe` (a developer's token), as every other key operation here.
    caller.require(crate::keymanager::applications::APP_SCOPES)?;
    let list = s.km.infos(&caller).await?;
    Ok(Json(json!({ "count": list.len(), "list": list })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockQuery {
    subscription_id: String,
    block_state: Option<String>,
}

async fn block(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<BlockQuery>,
) -> Result<StatusCode, ApiError> {
    let state = q.block_state.as_deref().unwrap_or("BLOCKED");
    s.km.set_subscription_state(&caller, &q.subscription_id, state)
        .await?;
    Ok(StatusCode::OK)
}

async fn unblock(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<BlockQuery>,
) -> Result<StatusCode, ApiError> {
    s.km.set_subscription_state(&caller, &q.subscription_id, "UNBLOCKED")
        .await?;
    Ok(StatusCode::OK)
}
