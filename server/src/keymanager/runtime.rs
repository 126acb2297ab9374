//! What gateways need to authenticate callers, added to an environment's runtime snapshot:
//! key managers with their keys, the applications subscribed to APIs deployed there (with their
//! OAuth clients and API keys), the subscriptions, unexpired revocations and the backend-JWT
//! key. Every change to these bumps the environments concerned, so gateways pick it up.

use std::collections::{BTreeSet, HashMap};

use gateway::snapshot::{self, KeyType, Snapshot};
use uuid::Uuid;

use super::{KM_COLUMNS, KeyManager, KmRow, RESIDENT, keys};
use crate::error::ApiError;
use crate::publisher::revisions::bump_environments;

/// Environments where `api` is deployed.
pub async fn bump_for_api(tx: &mut sqlx::PgConnection, api: Uuid) -> Result<(), ApiError> {
    let envs: Vec<Uuid> =
        sqlx::query_scalar("SELECT environment_id FROM api_deployment WHERE api_id = $1")
            .bind(api)
            .fetch_all(&mut *tx)
            .await?;
    bump_environments(tx, &envs).await
}

/// Environments where an API the application is subscribed to is deployed.
pub async fn bump_for_application(
    tx: &mut sqlx::PgConnection,
    application: Uuid,
) -> Result<(), ApiError> {
    let envs: Vec<Uuid> = sqlx::query_scalar(
        "SELECT DISTINCT d.environment_id FROM subscription s
           JOIN api_deployment d ON d.api_id = s.api_id WHERE s.application_id = $1",
    )
    .bind(application)
    .fetch_all(&mut *tx)
    .await?;
    bump_environments(tx, &envs).await
}

/// Every environment (revocations, key-manager changes).
pub async fn bump_all(tx: &mut sqlx::PgConnection) -> Result<(), ApiError> {
    sqlx::query("UPDATE gateway_environment SET revision = revision + 1")
        .execute(tx)
        .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct KeyEntry {
    key_hash: Vec<u8>,
    application_id: Uuid,
    key_type: String,
    expires_at: Option<i64>,
    permitted_ips: Vec<String>,
    permitted_referrers: Vec<String>,
}

#[derive(sqlx::FromRow)]
struct AppEntry {
    id: Uuid,
    name: String,
    organization: String,
    owner: String,
    tier: String,
}

impl KeyManager {
    /// The snapshot's name of a key manager: the resident one by its WSO2 name, others by id
    /// (names are unique only within an organization).
    fn runtime_name(k: &KmRow) -> String {
        if k.is_resident() {
            RESIDENT.to_string()
        } else {
            k.id.to_string()
        }
    }

    /// Adds the security part to a snapshot whose `apis` are filled.
    pub async fn fill_snapshot(&self, snap: &mut Snapshot) -> Result<(), ApiError> {
        let api_ids: Vec<Uuid> = snap
            .apis
            .iter()
            .filter_map(|a| Uuid::parse_str(&a.id).ok())
            .collect();
        let orgs: BTreeSet<&str> = snap.apis.iter().map(|a| a.organization.as_str()).collect();
        let orgs: Vec<String> = orgs.into_iter().map(str::to_string).collect();

        // Key managers: the resident token service once (its clients are unique across
        // organizations), the third-party ones of the organizations served here, the global one.
        let current = self.keys.current();
        let mut managers = vec![snapshot::KeyManager {
            name: RESIDENT.into(),
            organization: String::new(),
            global: false,
            issuer: self.issuer.clone(),
            jwks: Some(current.jwks.clone()),
            jwks_url: None,
            audiences: vec![],
            consumer_key_claim: "azp".into(),
            scopes_claim: "scope".into(),
        }];
        let third: Vec<KmRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {KM_COLUMNS} FROM key_manager k JOIN organization o ON o.id = k.organization_id
              WHERE k.enabled AND k.type <> 'Default' AND (o.name = ANY($1) OR k.global)
              ORDER BY k.name"
        )))
        .bind(&orgs)
        .fetch_all(&self.db)
        .await?;
        let org_names: HashMap<Uuid, String> = sqlx::query_as("SELECT id, name FROM organization")
            .fetch_all(&self.db)
            .await?
            .into_iter()
            .collect();
        for k in &third {
            let cfg = &k.config.0;
            managers.push(snapshot::KeyManager {
                name: Self::runtime_name(k),
                organization: org_names
                    .get(&k.organization_id)
                    .cloned()
                    .unwrap_or_default(),
                global: k.global,
                issuer: k.issuer.clone(),
                jwks: None,
                jwks_url: cfg.jwks_endpoint.clone(),
                audiences: cfg.audiences.clone(),
                consumer_key_claim: cfg
                    .consumer_key_claim
                    .clone()
                    .unwrap_or_else(|| "azp".into()),
                scopes_claim: cfg.scopes_claim.clone().unwrap_or_else(|| "scope".into()),
            });
        }

        let subs: Vec<(Uuid, Uuid, String, String)> = sqlx::query_as(
            "SELECT application_id, api_id, throttling_policy, status FROM subscription
              WHERE api_id = ANY($1) ORDER BY application_id, api_id",
        )
        .bind(&api_ids)
        .fetch_all(&self.db)
        .await?;
        let app_ids: Vec<Uuid> = subs
            .iter()
            .map(|s| s.0)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let apps: Vec<AppEntry> = sqlx::query_as(
            "SELECT a.id, a.name, o.name AS organization, u.username AS owner,
                    a.throttling_policy AS tier
               FROM application a JOIN organization o ON o.id = a.organization_id
               JOIN app_user u ON u.id = a.owner_id
              WHERE a.id = ANY($1) AND a.status = 'APPROVED' ORDER BY a.id",
        )
        .bind(&app_ids)
        .fetch_all(&self.db)
        .await?;
        let app_keys: Vec<(Uuid, Uuid, String, String, String)> = sqlx::query_as(
            "SELECT k.application_id, k.key_manager_id, m.type, k.consumer_key, k.key_type
               FROM application_key k JOIN key_manager m ON m.id = k.key_manager_id
              WHERE k.application_id = ANY($1) AND m.enabled ORDER BY k.consumer_key",
        )
        .bind(&app_ids)
        .fetch_all(&self.db)
        .await?;
        let mut keys_by_app: HashMap<Uuid, Vec<snapshot::ApplicationKey>> = HashMap::new();
        for (app, km, kind, consumer_key, key_type) in app_keys {
            let key_manager = if kind == super::RESIDENT_TYPE {
                RESIDENT.to_string()
            } else {
                km.to_string()
            };
            keys_by_app
                .entry(app)
                .or_default()
                .push(snapshot::ApplicationKey {
                    key_manager,
                    consumer_key,
                    key_type: KeyType::parse(&key_type).unwrap_or_default(),
                });
        }
        snap.applications = apps
            .into_iter()
            .map(|a| snapshot::Application {
                keys: keys_by_app.remove(&a.id).unwrap_or_default(),
                id: a.id.to_string(),
                name: a.name,
                organization: a.organization,
                owner: a.owner,
                tier: a.tier,
            })
            .collect();
        snap.subscriptions = subs
            .into_iter()
            .map(|(app, api, tier, status)| snapshot::Subscription {
                application_id: app.to_string(),
                api_id: api.to_string(),
                tier,
                status,
            })
            .collect();

        let api_keys: Vec<KeyEntry> = sqlx::query_as(
            "SELECT key_hash, application_id, key_type,
                        extract(epoch FROM expires_at)::bigint AS expires_at, permitted_ips,
                        permitted_referrers
                   FROM api_key WHERE application_id = ANY($1)
                    AND (expires_at IS NULL OR expires_at > now()) ORDER BY key_hash",
        )
        .bind(&app_ids)
        .fetch_all(&self.db)
        .await?;
        snap.api_keys = api_keys
            .into_iter()
            .map(|k| snapshot::ApiKey {
                sha256: hex(&k.key_hash),
                application_id: k.application_id.to_string(),
                key_type: KeyType::parse(&k.key_type).unwrap_or_default(),
                expires_at: k.expires_at,
                permitted_ips: k.permitted_ips,
                permitted_referrers: k.permitted_referrers,
            })
            .collect();

        let revoked: Vec<(String, i64)> = sqlx::query_as(
            "SELECT jti, extract(epoch FROM expires_at)::bigint FROM revoked_token
              WHERE expires_at > now() ORDER BY jti",
        )
        .fetch_all(&self.db)
        .await?;
        snap.revoked_tokens = revoked
            .into_iter()
            .map(|(jti, exp)| snapshot::RevokedToken { jti, exp })
            .collect();

        snap.throttling_policies = crate::throttling::snapshot_policies(&self.db, &orgs).await?;
        snap.deny_policies = crate::throttling::snapshot_deny_policies(&self.db, &orgs).await?;
        snap.advanced_policies =
            crate::throttling::advanced::snapshot_policies(&self.db, &orgs).await?;
        snap.key_managers = managers;
        let wants_backend_jwt = snap
            .apis
            .iter()
            .any(|a| a.security.as_ref().is_some_and(|s| s.backend_jwt.is_some()));
        if wants_backend_jwt {
            let (kid, pkcs8) = keys::environment_backend_key(&self.db, &snap.environment).await?;
            snap.backend_jwt_key = Some(snapshot::SigningKey { kid, pkcs8 });
        }
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
