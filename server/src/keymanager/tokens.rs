//! The resident key manager's token logic for application clients: issue (client credentials,
//! password, refresh token), revoke (RFC 7009), introspect (RFC 7662).
//!
//! Ephemeral mode (default): issuing writes nothing; a revocation stores the token's `jti`
//! until its expiry and bumps every environment so gateways refuse it within a second.
//! Persistent mode also stores each issued token's SHA-256.

use app::applications::{ApplicationToken, TokenGenerateRequest};
use gateway::jwt::{self, Algorithm, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{KeyManager, parse_id, runtime};
use crate::auth::{secrets, users};
use crate::config::TokenMode;
use crate::error::ApiError;
use crate::publisher::Actor;

/// Claims of an application access (or refresh) token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AppClaims {
    pub iss: String,
    /// The end user: the application owner for client credentials, the signed-in user for the
    /// password grant.
    pub sub: String,
    /// The consumer key.
    pub aud: String,
    pub azp: String,
    pub client_id: String,
    pub exp: i64,
    pub iat: i64,
    pub nbf: i64,
    pub jti: String,
    pub scope: String,
    pub organization: String,
    /// PRODUCTION or SANDBOX.
    pub keytype: String,
    pub application: AppClaim,
    /// Owner of the application.
    pub subscriber: String,
    /// `refresh` on refresh tokens only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_use: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AppClaim {
    pub id: String,
    pub name: String,
    pub owner: String,
    pub tier: String,
}

/// An application's client as the token endpoint needs it (one query).
#[derive(sqlx::FromRow, Clone)]
pub struct AppClient {
    pub key_id: Uuid,
    pub application_id: Uuid,
    pub secret_hash: Option<Vec<u8>>,
    pub grant_types: Vec<String>,
    pub key_type: String,
    pub validity_seconds: i64,
    pub application_name: String,
    pub tier: String,
    pub status: String,
    pub owner: String,
    pub organization: String,
    pub organization_id: Uuid,
    pub algorithm: Option<String>,
}

/// An OAuth 2.0 error (RFC 6749 §5.2): HTTP status, `error` code, description.
#[derive(Debug)]
pub struct GrantError {
    pub status: u16,
    pub error: &'static str,
    pub description: String,
}

impl GrantError {
    fn new(status: u16, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: description.into(),
        }
    }

    fn grant(description: &str) -> Self {
        Self::new(400, "invalid_grant", description)
    }
}

impl From<ApiError> for GrantError {
    fn from(e: ApiError) -> Self {
        tracing::error!(error = ?e, "token service failed");
        Self::new(500, "server_error", "The server could not issue a token")
    }
}

impl From<sqlx::Error> for GrantError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::from(e).into()
    }
}

pub struct Issued {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub scope: String,
    pub expires_in: i64,
}

/// A grant request as the token endpoint received it.
#[derive(Default)]
pub struct GrantRequest<'a> {
    pub grant_type: &'a str,
    pub username: Option<&'a str>,
    pub password: Option<&'a str>,
    pub refresh_token: Option<&'a str>,
    pub scope: Option<&'a str>,
}

pub const REFRESH: &str = "refresh";

fn split(scope: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in scope.unwrap_or_default().split_whitespace() {
        if !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    out
}

impl KeyManager {
    /// The resident-key-manager client with this consumer key, if there is one.
    pub async fn app_client(&self, consumer_key: &str) -> Result<Option<AppClient>, ApiError> {
        Ok(sqlx::query_as(
            "SELECT k.id AS key_id, k.application_id, k.secret_hash, k.grant_types, k.key_type,
                    k.validity_seconds, a.name AS application_name, a.throttling_policy AS tier,
                    a.status, u.username AS owner, o.name AS organization,
                    o.id AS organization_id, m.config->>'signingAlgorithm' AS algorithm
               FROM application_key k JOIN key_manager m ON m.id = k.key_manager_id
               JOIN application a ON a.id = k.application_id
               JOIN app_user u ON u.id = a.owner_id
               JOIN organization o ON o.id = a.organization_id
              WHERE k.consumer_key = $1 AND m.type = 'Default' AND m.enabled AND o.enabled",
        )
        .bind(consumer_key)
        .fetch_optional(&self.db)
        .await?)
    }

    /// Checks a client's secret (constant time, keyed hash: no slow hash per request).
    pub fn secret_matches(&self, client: &AppClient, secret: &str) -> bool {
        let presented = secrets::keyed_hash(&self.hash_key, secret);
        client
            .secret_hash
            .as_deref()
            .is_some_and(|h| secrets::ct_eq(h, &presented))
    }

    /// Scopes of `requested` the subject may have: those declared by APIs the application is
    /// subscribed to whose role bindings are empty or include one of the subject's roles.
    async fn grantable(
        &self,
        client: &AppClient,
        subject: &str,
        requested: Vec<String>,
    ) -> Result<Vec<String>, ApiError> {
        if requested.is_empty() {
            return Ok(vec![]);
        }
        let declared: Vec<(String, Vec<String>)> = sqlx::query_as(
            "SELECT sc->'scope'->>'name',
                    ARRAY(SELECT jsonb_array_elements_text(COALESCE(sc->'scope'->'bindings', '[]'::jsonb)))
               FROM subscription s JOIN api a ON a.id = s.api_id,
                    jsonb_array_elements(COALESCE(a.settings->'scopes', '[]'::jsonb)) sc
              WHERE s.application_id = $1 AND sc->'scope'->>'name' = ANY($2)",
        )
        .bind(client.application_id)
        .bind(&requested)
        .fetch_all(&self.db)
        .await?;
        if declared.is_empty() {
            return Ok(vec![]);
        }
        let roles: Vec<String> = sqlx::query_scalar(
            "SELECT r.name FROM app_user u JOIN user_role ur ON ur.user_id = u.id
               JOIN role r ON r.id = ur.role_id
              WHERE u.organization_id = $1 AND u.username = $2",
        )
        .bind(client.organization_id)
        .bind(subject)
        .fetch_all(&self.db)
        .await?;
        Ok(requested
            .into_iter()
            .filter(|s| {
                declared.iter().any(|(name, bindings)| {
                    name == s && (bindings.is_empty() || bindings.iter().any(|b| roles.contains(b)))
                })
            })
            .collect())
    }

    fn algorithm(&self, client: &AppClient) -> Algorithm {
        match client.algorithm.as_deref() {
            Some("ES256") => Algorithm::ES256,
            _ => Algorithm::RS256,
        }
    }

    /// Signs an access token (and a refresh token when the grant and client allow one).
    async fn mint(
        &self,
        client: &AppClient,
        consumer_key: &str,
        subject: &str,
        scopes: Vec<String>,
        validity: i64,
        with_refresh: bool,
    ) -> Result<Issued, GrantError> {
        let now = chrono::Utc::now().timestamp();
        let scope = if scopes.is_empty() {
            "default".to_string()
        } else {
            scopes.join(" ")
        };
        let mut claims = AppClaims {
            iss: self.issuer.clone(),
            sub: subject.to_string(),
            aud: consumer_key.to_string(),
            azp: consumer_key.to_string(),
            client_id: consumer_key.to_string(),
            exp: now + validity,
            iat: now,
            nbf: now,
            jti: Uuid::new_v4().to_string(),
            scope: scope.clone(),
            organization: client.organization.clone(),
            keytype: client.key_type.clone(),
            application: AppClaim {
                id: client.application_id.to_string(),
                name: client.application_name.clone(),
                owner: client.owner.clone(),
                tier: client.tier.clone(),
            },
            subscriber: client.owner.clone(),
            token_use: None,
        };
        let keys = self.keys.current();
        let signer = keys.signer(self.algorithm(client));
        let access_token = signer
            .sign(&claims)
            .map_err(|e| ApiError::Anyhow(anyhow::anyhow!("signing failed: {e}")))?;
        if self.settings.token_mode == TokenMode::Persistent {
            sqlx::query(
                "INSERT INTO access_token (jti, token_hash, application_key_id, scope, expires_at)
                 VALUES ($1, $2, $3, $4, to_timestamp($5))",
            )
            .bind(&claims.jti)
            .bind(secrets::sha256(&access_token))
            .bind(client.key_id)
            .bind(&scope)
            .bind(claims.exp as f64)
            .execute(&self.db)
            .await?;
        }
        let refresh_token =
            if with_refresh && client.grant_types.iter().any(|g| g == "refresh_token") {
                claims.exp = now + self.settings.max_validity_seconds;
                claims.jti = Uuid::new_v4().to_string();
                claims.token_use = Some(REFRESH.into());
                Some(
                    signer
                        .sign(&claims)
                        .map_err(|e| ApiError::Anyhow(anyhow::anyhow!("signing failed: {e}")))?,
                )
            } else {
                None
            };
        Ok(Issued {
            access_token,
            refresh_token,
            scope,
            expires_in: validity,
        })
    }

    /// Verifies one of our own tokens (signature, issuer, expiry).
    pub fn verify_own(&self, token: &str) -> Result<AppClaims, jwt::JwtError> {
        let keys = self.keys.current();
        let validation = Validation {
            issuer: Some(self.issuer.clone()),
            audiences: vec![],
            leeway_seconds: 30,
        };
        let verified = jwt::verify(
            token,
            &keys.verifier,
            &validation,
            chrono::Utc::now().timestamp(),
        )?;
        serde_json::from_value(serde_json::Value::Object(verified.claims))
            .map_err(|_| jwt::JwtError::Malformed("not an application token"))
    }

    async fn is_revoked(&self, jti: &str) -> Result<bool, ApiError> {
        Ok(
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM revoked_token WHERE jti = $1)")
                .bind(jti)
                .fetch_one(&self.db)
                .await?,
        )
    }

    /// The token endpoint for an authenticated application client.
    pub async fn grant(
        &self,
        client: &AppClient,
        consumer_key: &str,
        req: GrantRequest<'_>,
    ) -> Result<Issued, GrantError> {
        if client.status != "APPROVED" {
            return Err(GrantError::new(
                400,
                "unauthorized_client",
                format!(
                    "The application is {} and cannot get tokens yet",
                    client.status
                ),
            ));
        }
        if !app::applications::GRANT_TYPES.contains(&req.grant_type) {
            return Err(GrantError::new(
                400,
                "unsupported_grant_type",
                format!(
                    "`{}` is not supported; use {}",
                    req.grant_type,
                    app::applications::GRANT_TYPES.join(", ")
                ),
            ));
        }
        if !client.grant_types.iter().any(|g| g == req.grant_type) {
            return Err(GrantError::new(
                400,
                "unauthorized_client",
                format!("This client is not allowed the `{}` grant", req.grant_type),
            ));
        }
        match req.grant_type {
            "client_credentials" => {
                let scopes = self
                    .grantable(client, &client.owner, split(req.scope))
                    .await?;
                self.mint(
                    client,
                    consumer_key,
                    &client.owner,
                    scopes,
                    client.validity_seconds,
                    false,
                )
                .await
            }
            "password" => {
                let (Some(username), Some(password)) = (req.username, req.password) else {
                    return Err(GrantError::new(
                        400,
                        "invalid_request",
                        "The password grant needs `username` and `password`",
                    ));
                };
                // `name@organization` of the application's own organization is `name`.
                let username = username
                    .strip_suffix(&format!("@{}", client.organization))
                    .filter(|u| !u.is_empty())
                    .unwrap_or(username);
                let user =
                    match users::authenticate(&self.db, &client.organization, username, password)
                        .await
                        .map_err(ApiError::from)?
                    {
                        users::Authn::Ok { .. } => username.to_string(),
                        _ => return Err(GrantError::grant("Invalid user name or password")),
                    };
                let scopes = self.grantable(client, &user, split(req.scope)).await?;
                self.mint(
                    client,
                    consumer_key,
                    &user,
                    scopes,
                    client.validity_seconds,
                    true,
                )
                .await
            }
            _ => {
                let Some(token) = req.refresh_token else {
                    return Err(GrantError::new(
                        400,
                        "invalid_request",
                        "The refresh_token grant needs `refresh_token`",
                    ));
                };
                let old = self.verify_own(token).map_err(|_| {
                    GrantError::grant("The refresh token is invalid or has expired")
                })?;
                if old.token_use.as_deref() != Some(REFRESH) || old.client_id != consumer_key {
                    return Err(GrantError::grant(
                        "The refresh token was not issued to this client",
                    ));
                }
                if self.is_revoked(&old.jti).await? {
                    return Err(GrantError::grant("The refresh token was revoked"));
                }
                // A refresh may narrow the scopes, never widen them.
                let original = split(Some(&old.scope));
                let scopes = match req.scope {
                    Some(s) if !s.trim().is_empty() => split(Some(s))
                        .into_iter()
                        .filter(|s| original.contains(s))
                        .collect(),
                    _ => original.into_iter().filter(|s| s != "default").collect(),
                };
                self.mint(
                    client,
                    consumer_key,
                    &old.sub,
                    scopes,
                    client.validity_seconds,
                    true,
                )
                .await
            }
        }
    }

    /// RFC 7009: revokes a token issued to `consumer_key`. Unknown, foreign or expired tokens
    /// are answered the same way (200) and change nothing.
    pub async fn revoke(&self, consumer_key: &str, token: &str) -> Result<bool, ApiError> {
        let Ok(claims) = self.verify_own(token) else {
            return Ok(false);
        };
        if claims.client_id != consumer_key {
            return Ok(false);
        }
        self.revoke_claims(&claims).await?;
        Ok(true)
    }

    async fn revoke_claims(&self, claims: &AppClaims) -> Result<(), ApiError> {
        self.revoke_jti(&claims.jti, claims.exp).await
    }

    /// Remembers `jti` as revoked until `exp` (unix seconds), forgets a stored token of that id,
    /// and tells every gateway.
    async fn revoke_jti(&self, jti: &str, exp: i64) -> Result<(), ApiError> {
        let mut tx = self.db.begin().await?;
        sqlx::query(
            "INSERT INTO revoked_token (jti, expires_at) VALUES ($1, to_timestamp($2))
             ON CONFLICT (jti) DO NOTHING",
        )
        .bind(jti)
        .bind(exp as f64)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM access_token WHERE jti = $1")
            .bind(jti)
            .execute(&mut *tx)
            .await?;
        // Expired revocations are of no use any more.
        sqlx::query("DELETE FROM revoked_token WHERE expires_at < now() - interval '1 minute'")
            .execute(&mut *tx)
            .await?;
        runtime::bump_all(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// RFC 7662: what a token is, for a client that may ask.
    pub async fn introspect(&self, token: &str) -> Result<serde_json::Value, ApiError> {
        let inactive = serde_json::json!({ "active": false });
        let Ok(c) = self.verify_own(token) else {
            return Ok(inactive);
        };
        if self.is_revoked(&c.jti).await? {
            return Ok(inactive);
        }
        if self.settings.token_mode == TokenMode::Persistent && c.token_use.is_none() {
            let stored: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM access_token WHERE jti = $1)")
                    .bind(&c.jti)
                    .fetch_one(&self.db)
                    .await?;
            if !stored {
                return Ok(inactive);
            }
        }
        Ok(serde_json::json!({
            "active": true,
            "scope": c.scope,
            "client_id": c.client_id,
            "username": c.sub,
            "token_type": if c.token_use.is_some() { "Refresh" } else { "Bearer" },
            "exp": c.exp,
            "iat": c.iat,
            "nbf": c.nbf,
            "sub": c.sub,
            "aud": c.aud,
            "iss": c.iss,
            "jti": c.jti,
            "organization": c.organization,
            "keytype": c.keytype,
            "application": c.application,
        }))
    }

    /// Persistent mode: the unexpired tokens of one of the actor's OAuth clients (never the
    /// tokens themselves). Ephemeral mode keeps none, and says so.
    pub async fn list_tokens(
        &self,
        actor: &Actor,
        id: &str,
        key_mapping_id: &str,
    ) -> Result<Vec<serde_json::Value>, ApiError> {
        actor.require(super::applications::APP_SCOPES)?;
        let key = self.oauth_key(actor, id, key_mapping_id).await?;
        if self.settings.token_mode != TokenMode::Persistent {
            return Err(ApiError::field(
                "keyMappingId",
                "tokens are not stored (keymanager.token_mode is ephemeral); revoke one with /oauth2/revoke",
            ));
        }
        let rows: Vec<(
            String,
            String,
            chrono::DateTime<chrono::Utc>,
            chrono::DateTime<chrono::Utc>,
        )> = sqlx::query_as(
            "SELECT t.jti, t.scope, t.expires_at, t.created_at FROM access_token t
                  WHERE t.application_key_id = $1 AND t.expires_at > now()
                  ORDER BY t.created_at DESC LIMIT 1000",
        )
        .bind(parse_id(&key.key_mapping_id, "Key mapping")?)
        .fetch_all(&self.db)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(jti, scope, exp, created)| {
                serde_json::json!({
                    "tokenId": jti, "scope": scope,
                    "expiresTime": crate::publisher::time(exp),
                    "createdTime": crate::publisher::time(created),
                })
            })
            .collect())
    }

    /// Persistent mode: revokes one listed token by its id.
    pub async fn revoke_listed(
        &self,
        actor: &Actor,
        id: &str,
        key_mapping_id: &str,
        token_id: &str,
    ) -> Result<(), ApiError> {
        actor.require(super::applications::APP_SCOPES)?;
        let key = self.oauth_key(actor, id, key_mapping_id).await?;
        let exp: Option<chrono::DateTime<chrono::Utc>> = sqlx::query_scalar(
            "SELECT expires_at FROM access_token WHERE jti = $1 AND application_key_id = $2",
        )
        .bind(token_id)
        .bind(parse_id(&key.key_mapping_id, "Key mapping")?)
        .fetch_optional(&self.db)
        .await?;
        let exp = exp.ok_or_else(|| ApiError::NotFound(format!("Token {token_id} not found")))?;
        self.revoke_jti(token_id, exp.timestamp()).await
    }

    /// DevPortal `generate-token`: a client-credentials token for the owner, without the secret
    /// (the owner is signed in; the secret was shown once and is not stored). Optionally revokes
    /// `revokeToken` first.
    pub async fn generate_token(
        &self,
        actor: &Actor,
        id: &str,
        key_mapping_id: &str,
        req: TokenGenerateRequest,
    ) -> Result<ApplicationToken, ApiError> {
        actor.require(super::applications::APP_SCOPES)?;
        let app = self.approved_application(actor, id).await?;
        let key = self.oauth_key(actor, id, key_mapping_id).await?;
        let client = self
            .app_client(&key.consumer_key)
            .await?
            .filter(|c| c.application_id == app.id)
            .ok_or_else(|| {
                ApiError::field(
                    "keyMappingId",
                    "tokens of a third-party key manager come from that provider",
                )
            })?;
        if let Some(old) = req.revoke_token.as_deref().filter(|t| !t.is_empty()) {
            self.revoke(&key.consumer_key, old).await?;
        }
        let validity = match req.validity_period {
            Some(v) if v > 0 => v.min(client.validity_seconds),
            Some(v) if v != -1 => {
                return Err(ApiError::field(
                    "validityPeriod",
                    "seconds, positive (or -1 for the application's)",
                ));
            }
            _ => client.validity_seconds,
        };
        let scopes = self
            .grantable(&client, &client.owner, req.scopes.clone())
            .await?;
        let issued = self
            .mint(
                &client,
                &key.consumer_key,
                &client.owner,
                scopes,
                validity,
                false,
            )
            .await
            .map_err(|e| ApiError::Anyhow(anyhow::anyhow!("{}", e.description)))?;
        Ok(ApplicationToken {
            access_token: issued.access_token,
            token_scopes: issued.scope.split(' ').map(str::to_string).collect(),
            validity_time: issued.expires_in,
        })
    }
}
