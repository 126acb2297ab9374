//! The REST APIs under `/api/am/publisher/v4`, `/api/am/devportal/v3` and `/api/am/admin/v4`:
//! the settings of each portal (the scope-role mapping is in `admin_settings.rs`). Every handler
//! states its scopes through `Caller::require`; unknown paths get WSO2's 404 body.

use app::auth::scopes as s;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::caller::Caller;
use crate::AppState;
use crate::error::ApiError;

pub const PUBLISHER: &str = "/api/am/publisher/v4";
pub const DEVPORTAL: &str = "/api/am/devportal/v3";
pub const ADMIN: &str = "/api/am/admin/v4";

pub fn router() -> Router<AppState> {
    let not_found = || async { ApiError::NotFound("No such resource in this REST API".into()) };
    Router::new()
        .route(&format!("{PUBLISHER}/settings"), get(publisher_settings))
        .route(&format!("{DEVPORTAL}/settings"), get(devportal_settings))
        .route(&format!("{ADMIN}/settings"), get(admin_settings))
        .route(
            &format!("{PUBLISHER}/{{*rest}}"),
            axum::routing::any(not_found),
        )
        .route(
            &format!("{DEVPORTAL}/{{*rest}}"),
            axum::routing::any(not_found),
        )
        .route(&format!("{ADMIN}/{{*rest}}"), axum::routing::any(not_found))
}

async fn scope_names(state: &AppState, tag: &str) -> Result<Vec<String>, ApiError> {
    Ok(
        sqlx::query_scalar("SELECT name FROM scope WHERE tag = $1 ORDER BY name")
            .bind(tag)
            .fetch_all(&state.db)
            .await?,
    )
}

/// `GET /api/am/publisher/v4/settings`.
async fn publisher_settings(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    caller.require(&[s::API_VIEW, s::PUBLISHER_SETTINGS, s::API_CREATE])?;
    Ok(Json(json!({
        "devportalUrl": format!("{}/devportal", state.settings.public_url()),
        "environment": [],
        "scopes": scope_names(&state, "publisher").await?,
        "monetizationAttributes": [],
        "externalStoresEnabled": false,
        "docVisibilityEnabled": false,
        "crossTenantSubscriptionEnabled": false,
        "authorizationHeader": "Authorization",
        "isJWTEnabledForLoginTokens": true,
    })))
}

/// `GET /api/am/devportal/v3/settings`: public, like WSO2's.
async fn devportal_settings(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({
        "grantTypes": ["client_credentials", "password", "refresh_token"],
        "scopes": scope_names(&state, "devportal").await?,
        "applicationSharingEnabled": false,
        "mapExistingAuthApps": false,
        "apiGatewayEndpoint": "http://127.0.0.1:8280",
        "monetizationEnabled": false,
        "recommendationEnabled": false,
        "IsUnlimitedTierPaid": false,
        "identityProvider": { "external": false },
        "IsAnonymousModeEnabled": true,
        "IsPasswordChangeEnabled": true,
        "IsJWTEnabledForLoginTokens": true,
        "orgAccessControlEnabled": false,
        "userStorePasswordPattern": "^[\\S]{8,1024}$",
        "passwordPolicyMinLength": 8,
        "passwordPolicyMaxLength": 1024,
        "selfSignUpEnabled": state.settings.auth.self_signup,
    })))
}

/// `GET /api/am/admin/v4/settings`.
async fn admin_settings(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    caller.require(&[s::ADMIN, s::ADMIN_SETTINGS])?;
    Ok(Json(json!({
        "scopes": scope_names(&state, "admin").await?,
        "gatewayTypes": ["Regular"],
        "keyManagerConfiguration": [],
        "analyticsEnabled": false,
        "transactionCounterEnable": false,
    })))
}
