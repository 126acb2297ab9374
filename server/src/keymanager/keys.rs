//! Signing keys of the resident key manager: one active RS256 and one active ES256 key
//! (`signing_key.purpose = 'oauth'`). Rotation makes a new active key and retires the old one;
//! a retired key stays in the JWKS (so tokens it signed keep verifying) until every token it
//! could have signed has expired. Signing uses ring (`gateway::jwt`), fast enough for the
//! token endpoint's hot path.

use std::sync::{Arc, RwLock};

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use gateway::jwt::{Algorithm, KeySet, Signer};
use rsa::pkcs8::EncodePrivateKey;
use sqlx::PgPool;

use crate::auth::secrets;

/// The keys in use, swapped whole on rotation or reload.
pub struct Keys {
    pub rs256: Signer,
    pub es256: Signer,
    /// Public keys of the active and still-valid retired keys.
    pub jwks: serde_json::Value,
    pub verifier: KeySet,
}

impl Keys {
    pub fn signer(&self, alg: Algorithm) -> &Signer {
        match alg {
            Algorithm::ES256 => &self.es256,
            _ => &self.rs256,
        }
    }
}

pub struct OAuthKeys {
    db: PgPool,
    /// Retired keys stay published this long (the longest token validity allowed).
    keep_retired_seconds: i64,
    current: RwLock<Arc<Keys>>,
}

fn alg_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::ES256 => "ES256",
        _ => "RS256",
    }
}

/// A fresh private key in PKCS#8 DER.
pub fn generate(alg: Algorithm) -> anyhow::Result<Vec<u8>> {
    match alg {
        Algorithm::ES256 => {
            let (_, der) = Signer::generate_es256("new").context("ES256 key generation")?;
            Ok(der)
        }
        _ => {
            let key = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048)
                .context("RSA key generation")?;
            Ok(key.to_pkcs8_der().context("pkcs8")?.as_bytes().to_vec())
        }
    }
}

impl OAuthKeys {
    /// Loads the keys, creating any that are missing.
    pub async fn load_or_create(db: PgPool, keep_retired_seconds: i64) -> anyhow::Result<Self> {
        let keys = load(&db, keep_retired_seconds).await?;
        Ok(Self {
            db,
            keep_retired_seconds,
            current: RwLock::new(Arc::new(keys)),
        })
    }

    pub fn current(&self) -> Arc<Keys> {
        self.current.read().expect("keys lock").clone()
    }

    /// Reads the keys again (another replica may have rotated them).
    pub async fn reload(&self) -> anyhow::Result<()> {
        let keys = load(&self.db, self.keep_retired_seconds).await?;
        *self.current.write().expect("keys lock") = Arc::new(keys);
        Ok(())
    }

    /// A new active key for `alg`; the old one is retired but still verifies.
    pub async fn rotate(&self, alg: Algorithm) -> anyhow::Result<()> {
        let der = tokio::task::spawn_blocking(move || generate(alg)).await??;
        let mut tx = self.db.begin().await?;
        sqlx::query(
            "UPDATE signing_key SET retired_at = now()
              WHERE purpose = 'oauth' AND algorithm = $1 AND retired_at IS NULL",
        )
        .bind(alg_name(alg))
        .execute(&mut *tx)
        .await?;
        insert(&mut tx, alg, &der).await?;
        // Gateways get the new JWKS with their next snapshot.
        sqlx::query("UPDATE gateway_environment SET revision = revision + 1")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.reload().await
    }
}

async fn insert(tx: &mut sqlx::PgConnection, alg: Algorithm, der: &[u8]) -> anyhow::Result<String> {
    let kid = secrets::random_token(12);
    let signer = Signer::from_pkcs8(&kid, alg, der).context("new signing key unusable")?;
    sqlx::query(
        "INSERT INTO signing_key (kid, algorithm, private_der, public_jwk, purpose)
         VALUES ($1, $2, $3, $4, 'oauth')",
    )
    .bind(&kid)
    .bind(alg_name(alg))
    .bind(der)
    .bind(signer.public_jwk())
    .execute(tx)
    .await?;
    Ok(kid)
}

async fn load(db: &PgPool, keep_retired_seconds: i64) -> anyhow::Result<Keys> {
    // Two replicas starting at once must not both create a key: serialise on an advisory lock.
    let mut tx = db.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(7341001)")
        .execute(&mut *tx)
        .await?;
    for alg in [Algorithm::RS256, Algorithm::ES256] {
        let active: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM signing_key
                             WHERE purpose = 'oauth' AND algorithm = $1 AND retired_at IS NULL)",
        )
        .bind(alg_name(alg))
        .fetch_one(&mut *tx)
        .await?;
        if !active {
            let der = tokio::task::spawn_blocking(move || generate(alg)).await??;
            insert(&mut tx, alg, &der).await?;
        }
    }
    // Keys retired longer ago than any token lives are of no use any more.
    sqlx::query(
        "DELETE FROM signing_key WHERE purpose = 'oauth'
            AND retired_at < now() - make_interval(secs => $1)",
    )
    .bind(keep_retired_seconds as f64)
    .execute(&mut *tx)
    .await?;
    let rows: Vec<(String, String, Vec<u8>, serde_json::Value, bool)> = sqlx::query_as(
        "SELECT kid, algorithm, private_der, public_jwk, retired_at IS NULL
           FROM signing_key WHERE purpose = 'oauth' ORDER BY created_at DESC, kid",
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut rs256 = None;
    let mut es256 = None;
    let mut published = Vec::new();
    for (kid, alg, der, jwk, active) in rows {
        published.push(jwk);
        if !active {
            continue;
        }
        let alg = if alg == "ES256" {
            Algorithm::ES256
        } else {
            Algorithm::RS256
        };
        let signer = Signer::from_pkcs8(&kid, alg, &der)
            .with_context(|| format!("signing key {kid} is unreadable"))?;
        match alg {
            Algorithm::ES256 => es256 = es256.or(Some(signer)),
            _ => rs256 = rs256.or(Some(signer)),
        }
    }
    let jwks = serde_json::json!({ "keys": published });
    Ok(Keys {
        rs256: rs256.context("no active RS256 key")?,
        es256: es256.context("no active ES256 key")?,
        verifier: KeySet::from_jwks(&jwks).context("own JWKS unusable")?,
        jwks,
    })
}

/// A backend-JWT key for a gateway environment: `(kid, base64 PKCS#8)`, created on first use.
pub async fn environment_backend_key(
    db: &PgPool,
    environment: &str,
) -> anyhow::Result<(String, String)> {
    let existing: Option<(Option<String>, Option<Vec<u8>>)> = sqlx::query_as(
        "SELECT backend_jwt_kid, backend_jwt_key FROM gateway_environment WHERE name = $1",
    )
    .bind(environment)
    .fetch_optional(db)
    .await?;
    if let Some((Some(kid), Some(der))) = existing {
        return Ok((kid, STANDARD.encode(der)));
    }
    let der = tokio::task::spawn_blocking(|| generate(Algorithm::RS256)).await??;
    let kid = secrets::random_token(12);
    // Another replica may have won the race: keep whichever was stored first.
    let (kid, der): (String, Vec<u8>) = sqlx::query_as(
        "UPDATE gateway_environment
            SET backend_jwt_kid = COALESCE(backend_jwt_kid, $2),
                backend_jwt_key = COALESCE(backend_jwt_key, $3)
          WHERE name = $1
         RETURNING backend_jwt_kid, backend_jwt_key",
    )
    .bind(environment)
    .bind(&kid)
    .bind(&der)
    .fetch_one(db)
    .await?;
    Ok((kid, STANDARD.encode(der)))
}
