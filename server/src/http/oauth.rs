//! WSO2-compatible REST authentication: dynamic client registration
//! (`POST /client-registration/v0.17/register`, basic auth of a user) and the token endpoint
//! (`POST /oauth2/token`, password, client-credentials and refresh-token grants), plus `/oauth2/jwks`.
//! Errors from the token endpoint carry RFC 6749's `error`/`error_description` and WSO2's
//! `code`/`message`/`description`, so both kinds of client read them.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::AppState;
use crate::auth::tokens::{Claims, REFRESH};
use crate::auth::{secrets, users};
use crate::error::{ApiError, AppForm, AppJson};
use crate::keymanager::tokens::GrantRequest;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/client-registration/v0.17/register", post(register))
        .route("/oauth2/token", post(token))
        .route("/oauth2/revoke", post(revoke))
        .route("/oauth2/introspect", post(introspect))
        .route("/oauth2/jwks", get(jwks))
        .route("/.well-known/openid-configuration", get(discovery))
        .route(
            "/oauth2/token/.well-known/openid-configuration",
            get(discovery),
        )
        .route("/.well-known/oauth-authorization-server", get(discovery))
        // RFC 8414 §3: the metadata of issuer `{base}/oauth2/token` is at this path.
        .route(
            "/.well-known/oauth-authorization-server/oauth2/token",
            get(discovery),
        )
}

/// Every public key that signs tokens here: the REST API's and the resident key manager's
/// (including retired ones whose tokens may still be valid).
async fn jwks(State(s): State<AppState>) -> Response {
    let mut keys: Vec<serde_json::Value> = s.keys.jwks()["keys"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if let Some(more) = s.km.keys.current().jwks["keys"].as_array() {
        keys.extend(more.iter().cloned());
    }
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(json!({ "keys": keys })),
    )
        .into_response()
}

/// OpenID Provider / OAuth 2.0 Authorization Server metadata (RFC 8414).
async fn discovery(State(s): State<AppState>) -> Json<serde_json::Value> {
    let base = s.settings.public_url();
    Json(json!({
        "issuer": s.km.issuer,
        "token_endpoint": format!("{base}/oauth2/token"),
        "jwks_uri": format!("{base}/oauth2/jwks"),
        "revocation_endpoint": format!("{base}/oauth2/revoke"),
        "introspection_endpoint": format!("{base}/oauth2/introspect"),
        "registration_endpoint": format!("{base}/client-registration/v0.17/register"),
        "grant_types_supported": ["client_credentials", "password", "refresh_token"],
        "response_types_supported": ["token"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256"],
        "subject_types_supported": ["public"],
        "scopes_supported": ["default"],
        "claims_supported": ["iss", "sub", "aud", "azp", "client_id", "exp", "iat", "nbf", "jti", "scope", "organization", "keytype", "application", "subscriber"],
    }))
}

#[derive(Deserialize)]
pub struct TokenParam {
    token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// Client authentication for revoke and introspect: an application client of the resident
/// key manager, by HTTP Basic or form fields. Returns its consumer key.
async fn client_of(
    state: &AppState,
    headers: &HeaderMap,
    p: &TokenParam,
) -> Result<String, OAuthError> {
    let (id, secret) = match (basic_auth(headers), &p.client_id, &p.client_secret) {
        (Some(pair), _, _) => pair,
        (None, Some(id), Some(secret)) => (id.clone(), secret.clone()),
        _ => {
            return Err(OAuthError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Client authentication is required (HTTP Basic with client id and secret)",
            ));
        }
    };
    match state.km.app_client(&id).await? {
        Some(c) if state.km.secret_matches(&c, &secret) => Ok(id),
        _ => Err(OAuthError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Unknown client or wrong client secret",
        )),
    }
}

/// RFC 7009. Always 200 for a well-formed request by an authenticated client, whether or not the
/// token was valid or theirs.
async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<AppForm<TokenParam>, ApiError>,
) -> Result<Response, OAuthError> {
    let AppForm(p) = form?;
    let client = client_of(&state, &headers, &p).await?;
    let Some(token) = p.token.as_deref().filter(|t| !t.is_empty()) else {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "`token` is required",
        ));
    };
    state.km.revoke(&client, token).await?;
    Ok(StatusCode::OK.into_response())
}

/// RFC 7662, for authenticated clients.
async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<AppForm<TokenParam>, ApiError>,
) -> Result<Response, OAuthError> {
    let AppForm(p) = form?;
    client_of(&state, &headers, &p).await?;
    let Some(token) = p.token.as_deref().filter(|t| !t.is_empty()) else {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "`token` is required",
        ));
    };
    let body = state.km.introspect(token).await?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response())
}

/// `user:password` from a Basic Authorization header.
fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (user, pass) = decoded.split_once(':')?;
    Some((user.to_string(), pass.to_string()))
}

/// The user behind `username`/`password` in the default organization, if the password is right
/// and the account unlocked.
async fn authenticate(
    state: &AppState,
    username: &str,
    pw: &str,
) -> Result<Option<(Uuid, Uuid)>, ApiError> {
    let org = &state.settings.auth.default_organization;
    Ok(
        match users::authenticate_login(&state.db, org, username, pw).await? {
            users::Authn::Ok { user, organization } => Some((user, organization)),
            _ => None,
        },
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterRequest {
    callback_url: Option<String>,
    client_name: Option<String>,
    owner: Option<String>,
    grant_type: Option<String>,
    #[serde(default)]
    saas_app: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterResponse {
    client_id: String,
    client_name: String,
    #[serde(rename = "callBackURL")]
    callback_url: Option<String>,
    client_secret: String,
    is_saas_application: bool,
    app_owner: String,
    json_string: String,
    json_app_attribute: String,
    token_type: Option<String>,
}

const GRANTS: &[&str] = &["password", "client_credentials", "refresh_token"];

/// Registers a REST client for the authenticated user. Registering the same `clientName`
/// again returns the same client id with a fresh secret (secrets are stored hashed, so the old
/// one cannot be shown again).
async fn register(
    State(state): State<AppState>,
    headers: HeaderMap,
    AppJson(req): AppJson<RegisterRequest>,
) -> Result<Response, ApiError> {
    let (username, pw) = basic_auth(&headers).ok_or_else(|| {
        ApiError::Unauthorized("Send the user's credentials as HTTP Basic authentication".into())
    })?;
    let name = req
        .client_name
        .as_deref()
        .map(str::trim)
        .unwrap_or_default()
        .to_string();
    if name.is_empty() {
        return Err(ApiError::field("clientName", "is required"));
    }
    if name.len() > 200 {
        return Err(ApiError::field(
            "clientName",
            "must be at most 200 characters",
        ));
    }
    let grants: Vec<String> = req
        .grant_type
        .as_deref()
        .unwrap_or("password refresh_token")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    if let Some(bad) = grants.iter().find(|g| !GRANTS.contains(&g.as_str())) {
        return Err(ApiError::field(
            "grantType",
            format!("`{bad}` is not supported; use any of {}", GRANTS.join(", ")),
        ));
    }
    let Some((user_id, org)) = authenticate(&state, &username, &pw).await? else {
        return Err(ApiError::Unauthorized(
            "Invalid user name or password".into(),
        ));
    };
    if let Some(owner) = &req.owner
        && owner != &username
    {
        return Err(ApiError::field("owner", "must be the authenticated user"));
    }
    let secret = secrets::random_token(32);
    let secret_hash = secrets::keyed_hash(&state.hash_key, &secret);
    let candidate_id = secrets::random_token(21);
    let mut tx = state.db.begin().await?;
    let client_id: String = sqlx::query_scalar(
        "INSERT INTO oauth_client (organization_id, client_id, secret_hash, client_name, owner_id, callback_url, grant_types, saas_app)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT ON CONSTRAINT oauth_client_owner_name_key DO UPDATE
            SET secret_hash = EXCLUDED.secret_hash, callback_url = EXCLUDED.callback_url,
                grant_types = EXCLUDED.grant_types, saas_app = EXCLUDED.saas_app, updated_at = now()
         RETURNING client_id",
    )
    .bind(org)
    .bind(&candidate_id)
    .bind(&secret_hash)
    .bind(&name)
    .bind(user_id)
    .bind(&req.callback_url)
    .bind(&grants)
    .bind(req.saas_app)
    .fetch_one(&mut *tx)
    .await?;
    crate::audit::record_tx(
        &mut tx,
        Some(org),
        Some(user_id),
        &username,
        "oauth_client.register",
        "oauth_client",
        &client_id,
        json!({ "clientName": name }),
    )
    .await?;
    tx.commit().await?;
    let json_string = json!({
        "grant_types": grants.join(" "),
        "redirect_uris": req.callback_url.clone().unwrap_or_default(),
        "client_name": name,
    })
    .to_string();
    Ok(Json(RegisterResponse {
        client_id,
        client_name: name,
        callback_url: req.callback_url,
        client_secret: secret,
        is_saas_application: req.saas_app,
        app_owner: username,
        json_string,
        json_app_attribute: "{}".into(),
        token_type: None,
    })
    .into_response())
}

/// An OAuth 2.0 error response (RFC 6749 §5.2) that also carries WSO2's error fields.
#[derive(Debug)]
pub struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl OAuthError {
    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: description.into(),
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({
            "error": self.error,
            "error_description": self.description,
            "code": self.status.as_u16(),
            "message": self.error,
            "description": self.description,
            "moreInfo": "",
            "error_list": [],
        });
        let mut resp = (self.status, Json(body)).into_response();
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, "no-store".parse().expect("static"));
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                "Basic realm=\"gatehouse\"".parse().expect("static"),
            );
        }
        resp
    }
}

impl From<ApiError> for OAuthError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::UnsupportedMediaType(d) | ApiError::BadRequest { message: d, .. } => {
                OAuthError::new(StatusCode::BAD_REQUEST, "invalid_request", d)
            }
            // Only storage and signing failures reach here: log the cause, tell the client
            // nothing more.
            other => {
                tracing::error!(error = ?other, "token endpoint failed");
                OAuthError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "The server could not issue a token",
                )
            }
        }
    }
}

#[derive(Deserialize)]
pub struct TokenRequest {
    grant_type: Option<String>,
    username: Option<String>,
    password: Option<String>,
    scope: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    refresh_token: Option<String>,
}

#[derive(Serialize)]
pub struct TokenResponse {
    access_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    scope: String,
    token_type: &'static str,
    expires_in: i64,
}

async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<AppForm<TokenRequest>, ApiError>,
) -> Result<Response, OAuthError> {
    let AppForm(req) = form?;
    let (client_id, client_secret) =
        match (basic_auth(&headers), &req.client_id, &req.client_secret) {
            (Some(pair), _, _) => pair,
            (None, Some(id), Some(secret)) => (id.clone(), secret.clone()),
            _ => {
                return Err(OAuthError::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "Client authentication is required (HTTP Basic with client id and secret)",
                ));
            }
        };
    let grant = req.grant_type.as_deref().unwrap_or_default();
    if grant.is_empty() {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "`grant_type` is required",
        ));
    }
    // Applications' clients (resident key manager) first: they are the hot path.
    if let Some(app_client) = state.km.app_client(&client_id).await? {
        if !state.km.secret_matches(&app_client, &client_secret) {
            return Err(OAuthError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Unknown client or wrong client secret",
            ));
        }
        let issued = state
            .km
            .grant(
                &app_client,
                &client_id,
                GrantRequest {
                    grant_type: grant,
                    username: req.username.as_deref(),
                    password: req.password.as_deref(),
                    refresh_token: req.refresh_token.as_deref(),
                    scope: req.scope.as_deref(),
                },
            )
            .await
            .map_err(|e| {
                OAuthError::new(
                    StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
                    e.error,
                    e.description,
                )
            })?;
        let mut resp = Json(TokenResponse {
            access_token: issued.access_token,
            refresh_token: issued.refresh_token,
            scope: issued.scope,
            token_type: "Bearer",
            expires_in: issued.expires_in,
        })
        .into_response();
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, "no-store".parse().expect("static"));
        return Ok(resp);
    }
    let client: Option<(Uuid, Vec<u8>, Uuid, Vec<String>)> = sqlx::query_as(
        "SELECT organization_id, secret_hash, owner_id, grant_types FROM oauth_client WHERE client_id = $1",
    )
    .bind(&client_id)
    .fetch_optional(&state.db)
    .await
    .map_err(ApiError::from)?;
    let presented = secrets::keyed_hash(&state.hash_key, &client_secret);
    let Some((org, _, owner_id, grants)) = client.filter(|c| secrets::ct_eq(&c.1, &presented))
    else {
        return Err(OAuthError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Unknown client or wrong client secret",
        ));
    };
    if !GRANTS.contains(&grant) {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!("`{grant}` is not supported; use {}", GRANTS.join(", ")),
        ));
    }
    if !grants.iter().any(|g| g == grant) {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            format!("This client is not registered for the `{grant}` grant"),
        ));
    }
    let invalid_grant =
        |msg: &str| OAuthError::new(StatusCode::BAD_REQUEST, "invalid_grant", msg.to_string());
    // Who the token is for, and the scopes asked for.
    let (user_id, requested): (Uuid, Vec<String>) = match grant {
        "password" => {
            let (Some(username), Some(pw)) = (req.username.as_deref(), req.password.as_deref())
            else {
                return Err(OAuthError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "The password grant needs `username` and `password`",
                ));
            };
            match authenticate(&state, username, pw).await? {
                Some((id, user_org)) if user_org == org => (id, split_scopes(req.scope.as_deref())),
                _ => return Err(invalid_grant("Invalid user name or password")),
            }
        }
        "refresh_token" => {
            let Some(rt) = req.refresh_token.as_deref() else {
                return Err(OAuthError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "The refresh_token grant needs `refresh_token`",
                ));
            };
            let old = state
                .keys
                .verify_refresh(rt)
                .map_err(|_| invalid_grant("The refresh token is invalid or has expired"))?;
            if old.client_id != client_id {
                return Err(invalid_grant(
                    "The refresh token was issued to another client",
                ));
            }
            let creds = users::credentials(&state.db, &old.organization, &old.sub)
                .await
                .map_err(ApiError::from)?
                .ok_or_else(|| invalid_grant("The user is gone"))?;
            // A refresh may narrow the scopes, never widen them.
            let original: Vec<String> = old.scopes().map(str::to_string).collect();
            let requested = match req.scope.as_deref() {
                Some(s) if !s.trim().is_empty() => split_scopes(Some(s))
                    .into_iter()
                    .filter(|s| original.contains(s))
                    .collect(),
                _ => original,
            };
            (creds.id, requested)
        }
        _ => (owner_id, split_scopes(req.scope.as_deref())),
    };
    let user = users::current_user(&state.db, user_id)
        .await
        .map_err(ApiError::from)?
        .ok_or_else(|| invalid_grant("The user is locked or gone"))?;
    // Grant what was asked for and the user holds; WSO2 does the same.
    let granted: Vec<String> = requested
        .into_iter()
        .filter(|s| user.has_scope(s))
        .collect();
    let now = chrono::Utc::now().timestamp();
    let ttl = state.settings.auth.token_ttl_seconds;
    let mut claims = Claims {
        iss: state.keys.issuer().to_string(),
        sub: user.username.clone(),
        aud: client_id.clone(),
        exp: now + ttl,
        iat: now,
        jti: Uuid::new_v4().to_string(),
        scope: granted.join(" "),
        client_id,
        organization: user.organization.clone(),
        token_use: None,
    };
    let access_token = state.keys.sign(&claims).map_err(ApiError::from)?;
    // Users' grants get a refresh token when the client may use one; client credentials do not.
    let refresh_token =
        if grant != "client_credentials" && grants.iter().any(|g| g == "refresh_token") {
            claims.exp = now + state.settings.auth.refresh_ttl_seconds;
            claims.jti = Uuid::new_v4().to_string();
            claims.token_use = Some(REFRESH.to_string());
            Some(state.keys.sign(&claims).map_err(ApiError::from)?)
        } else {
            None
        };
    let mut resp = Json(TokenResponse {
        access_token,
        refresh_token,
        scope: claims.scope,
        token_type: "Bearer",
        expires_in: ttl,
    })
    .into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, "no-store".parse().expect("static"));
    Ok(resp)
}

fn split_scopes(scope: Option<&str>) -> Vec<String> {
    scope
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}
