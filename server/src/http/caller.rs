//! Who calls a REST operation: a bearer token from `/oauth2/token`, or a portal session.
//! Handlers state the scopes they need with `require`.

use app::auth::Viewer;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use crate::AppState;
use crate::auth::tokens::TokenError;
use crate::error::ApiError;

/// The caller is the service layer's `Actor`: one type, one `require`.
pub use crate::publisher::Actor as Caller;

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(auth) = parts.headers.get(header::AUTHORIZATION) {
            let value = auth
                .to_str()
                .map_err(|_| ApiError::Unauthorized("Malformed Authorization header".into()))?;
            let token = value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
                .ok_or_else(|| ApiError::Unauthorized("Expected a Bearer token".into()))?;
            let claims = state.keys.verify(token.trim()).map_err(|e| match e {
                TokenError::Expired => ApiError::Unauthorized("Access token has expired".into()),
                _ => ApiError::Unauthorized("Invalid access token".into()),
            })?;
            return Ok(Caller::from_claims(&claims));
        }
        match parts
            .extensions
            .get::<Viewer>()
            .and_then(|v| v.user.clone())
        {
            Some(user) => Ok(Caller::from(&user)),
            None => Err(ApiError::Unauthorized(
                "Send an access token (Authorization: Bearer …) or sign in".into(),
            )),
        }
    }
}

/// For public operations: `None` for an anonymous visitor; a bad token is still refused.
impl axum::extract::OptionalFromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, ApiError> {
        let signed_in = parts
            .extensions
            .get::<Viewer>()
            .is_some_and(|v| v.user.is_some());
        if parts.headers.contains_key(header::AUTHORIZATION) || signed_in {
            <Caller as FromRequestParts<AppState>>::from_request_parts(parts, state)
                .await
                .map(Some)
        } else {
            Ok(None)
        }
    }
}
