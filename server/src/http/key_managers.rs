//! Admin v4 REST `/key-managers`: list, add, get, edit, remove, and discovery from a provider's
//! well-known URL (`POST /key-managers/discover`, multipart `url` + `type`, as WSO2).

use axum::extract::{Multipart, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use app::applications::KeyManagerDto;

use super::caller::Caller;
use super::rest::ADMIN;
use crate::AppState;
use crate::error::{ApiError, AppJson};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(&format!("{ADMIN}/key-managers"), get(list).post(create))
        .route(&format!("{ADMIN}/key-managers/discover"), post(discover))
        .route(
            &format!("{ADMIN}/key-managers/resident/rotate-signing-key"),
            post(rotate),
        )
        .route(
            &format!("{ADMIN}/key-managers/{{id}}"),
            get(one).put(update).delete(remove),
        )
}

async fn list(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Json<serde_json::Value>, ApiError> {
    let list = s.km.admin_list(&caller).await?;
    Ok(Json(json!({ "count": list.len(), "list": list })))
}

async fn create(
    State(s): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<KeyManagerDto>,
) -> Result<Response, ApiError> {
    let km = s.km.admin_create(&caller, body).await?;
    let id = km.id.clone().unwrap_or_default();
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("{ADMIN}/key-managers/{id}"))],
        Json(km),
    )
        .into_response())
}

async fn one(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<KeyManagerDto>, ApiError> {
    Ok(Json(s.km.admin_get(&caller, &id).await?))
}

async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    AppJson(body): AppJson<KeyManagerDto>,
) -> Result<Json<KeyManagerDto>, ApiError> {
    Ok(Json(s.km.admin_update(&caller, &id, body).await?))
}

async fn remove(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    s.km.admin_delete(&caller, &id).await?;
    Ok(StatusCode::OK)
}

#[derive(serde::Deserialize)]
struct RotateQuery {
    algorithm: Option<String>,
}

/// Ours: a new signing key for the resident key manager (`?algorithm=RS256|ES256`). Tokens
/// signed with the old key keep verifying until they expire.
async fn rotate(
    State(s): State<AppState>,
    caller: Caller,
    axum::extract::Query(q): axum::extract::Query<RotateQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(&[app::auth::scopes::ADMIN])?;
    let alg = match q.algorithm.as_deref().unwrap_or("RS256") {
        "RS256" => gateway::jwt::Algorithm::RS256,
        "ES256" => gateway::jwt::Algorithm::ES256,
        other => {
            return Err(ApiError::field(
                "algorithm",
                format!("`{other}`: RS256 or ES256"),
            ));
        }
    };
    s.km.keys.rotate(alg).await?;
    crate::audit::record(
        &s.db,
        None,
        None,
        &caller.username,
        "signing_key.rotate",
        None,
    )
    .await?;
    let keys = s.km.keys.current();
    Ok(Json(json!({
        "algorithm": alg.as_str(),
        "kid": keys.signer(alg).kid(),
        "jwks": keys.jwks,
    })))
}

async fn discover(
    State(s): State<AppState>,
    caller: Caller,
    mut form: Multipart,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (mut url, mut kind) = (String::new(), String::new());
    while let Some(field) = form.next_field().await.map_err(|e| ApiError::BadRequest {
        message: format!("Malformed multipart body: {e}"),
        errors: vec![],
    })? {
        let name = field.name().unwrap_or_default().to_string();
        let text = field.text().await.map_err(|e| ApiError::BadRequest {
            message: format!("Malformed multipart field {name}: {e}"),
            errors: vec![],
        })?;
        match name.as_str() {
            "url" => url = text,
            "type" => kind = text,
            _ => {}
        }
    }
    if url.is_empty() {
        return Err(ApiError::field("url", "is required"));
    }
    let found = s.km.discover(&caller, &url, &kind).await?;
    // WSO2's `KeyManagerWellKnownResponse`.
    Ok(Json(json!({ "valid": true, "value": found })))
}
