//! Signed access tokens (JWT, ES256) for the REST APIs. Keys live in `signing_key`; the
//! newest is used for signing, all unretired ones verify, and `/oauth2/jwks` publishes them.
//! Tokens are never stored: a token is valid while its signature and `exp` are.

use std::collections::HashMap;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use p256::ecdsa::SigningKey;
use p256::pkcs8::EncodePrivateKey;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

/// Claims of an access token the server issues.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    /// Space-separated, as in RFC 6749.
    pub scope: String,
    pub client_id: String,
    pub organization: String,
    /// `refresh` on refresh tokens; absent on access tokens. Neither is accepted as the other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_use: Option<String>,
}

pub const REFRESH: &str = "refresh";

impl Claims {
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.split_whitespace()
    }
}

pub struct KeySet {
    issuer: String,
    signing_kid: String,
    signing: EncodingKey,
    verifying: HashMap<String, DecodingKey>,
    jwks: serde_json::Value,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("token is malformed or its signature is invalid")]
    Invalid,
    #[error("token has expired")]
    Expired,
    #[error("token was signed with an unknown key")]
    UnknownKey,
    #[error("a refresh token is not an access token")]
    WrongUse,
}

impl KeySet {
    /// Loads the unretired keys, creating the first one when there is none.
    pub async fn load_or_create(db: &PgPool, issuer: String) -> anyhow::Result<Self> {
        let mut rows = load(db).await?;
        if rows.is_empty() {
            create(db).await.context("Failed to create a signing key")?;
            rows = load(db).await?;
        }
        let mut verifying = HashMap::new();
        let mut jwks = Vec::new();
        for (kid, _, jwk) in &rows {
            let x = jwk["x"].as_str().context("signing key without x")?;
            let y = jwk["y"].as_str().context("signing key without y")?;
            verifying.insert(kid.clone(), DecodingKey::from_ec_components(x, y)?);
            jwks.push(jwk.clone());
        }
        // Rows come newest first.
        let (kid, der, _) = rows.into_iter().next().context("no signing key")?;
        Ok(Self {
            issuer,
            signing_kid: kid,
            signing: EncodingKey::from_ec_der(&der),
            verifying,
            jwks: serde_json::json!({ "keys": jwks }),
        })
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn jwks(&self) -> &serde_json::Value {
        &self.jwks
    }

    pub fn sign(&self, claims: &Claims) -> anyhow::Result<String> {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.signing_kid.clone());
        jsonwebtoken::encode(&header, claims, &self.signing).context("Failed to sign a token")
    }

    /// Verifies an access token.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let claims = self.verify_any(token)?;
        if claims.token_use.is_some() {
            return Err(TokenError::WrongUse);
        }
        Ok(claims)
    }

    /// Verifies a refresh token.
    pub fn verify_refresh(&self, token: &str) -> Result<Claims, TokenError> {
        let claims = self.verify_any(token)?;
        if claims.token_use.as_deref() != Some(REFRESH) {
            return Err(TokenError::WrongUse);
        }
        Ok(claims)
    }

    fn verify_any(&self, token: &str) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid)?;
        let kid = header.kid.ok_or(TokenError::UnknownKey)?;
        let key = self.verifying.get(&kid).ok_or(TokenError::UnknownKey)?;
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_issuer(&[&self.issuer]);
        validation.validate_aud = false;
        validation.leeway = 30;
        jsonwebtoken::decode::<Claims>(token, key, &validation)
            .map(|d| d.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })
    }
}

async fn load(db: &PgPool) -> sqlx::Result<Vec<(String, Vec<u8>, serde_json::Value)>> {
    sqlx::query_as(
        "SELECT kid, private_der, public_jwk FROM signing_key
          WHERE retired_at IS NULL AND algorithm = 'ES256' AND purpose = 'rest' ORDER BY created_at DESC, kid",
    )
    .fetch_all(db)
    .await
}

async fn create(db: &PgPool) -> anyhow::Result<()> {
    let key = SigningKey::random(&mut p256::elliptic_curve::rand_core::OsRng);
    let der = key.to_pkcs8_der().context("pkcs8")?.as_bytes().to_vec();
    let point = key.verifying_key().to_encoded_point(false);
    let kid = super::secrets::random_token(12);
    let jwk = serde_json::json!({
        "kty": "EC",
        "crv": "P-256",
        "x": URL_SAFE_NO_PAD.encode(point.x().context("x")?),
        "y": URL_SAFE_NO_PAD.encode(point.y().context("y")?),
        "kid": kid,
        "use": "sig",
        "alg": "ES256",
    });
    sqlx::query(
        "INSERT INTO signing_key (kid, algorithm, private_der, public_jwk) VALUES ($1, 'ES256', $2, $3)",
    )
    .bind(&kid)
    .bind(der)
    .bind(jwk)
    .execute(db)
    .await?;
    Ok(())
}
