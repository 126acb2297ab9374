//! Key manager: key managers (the resident one and third-party ones), applications with their
//! OAuth clients and API keys, subscriptions, and the resident token service's logic (issue,
//! revoke, introspect). REST handlers (`http::applications`, `http::oauth`) and portal server
//! functions call this layer; it checks who may do what.

pub mod admin;
pub mod applications;
pub mod keys;
pub mod runtime;
pub mod subscriptions;
pub mod tokens;
pub mod tryout;

use std::sync::Arc;

use app::applications::KeyManagerInfo;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use crate::config::KeyManagerSection;
use crate::error::ApiError;
use crate::publisher::Actor;
use keys::OAuthKeys;

pub const RESIDENT: &str = "Resident Key Manager";
/// WSO2's type name of the resident key manager.
pub const RESIDENT_TYPE: &str = "Default";

/// The services of this module; cheap to clone.
#[derive(Clone)]
pub struct KeyManager {
    pub db: PgPool,
    pub settings: KeyManagerSection,
    pub hash_key: Arc<Vec<u8>>,
    pub keys: Arc<OAuthKeys>,
    /// `iss` of the resident key manager's tokens.
    pub issuer: String,
    /// Base URL of this server (token endpoint etc. for the portal).
    pub public_url: String,
    /// The super organization: only its admins mark a key manager global.
    pub default_organization: String,
}

/// What a key manager row's `config` holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct KmConfig {
    /// Resident: `RS256` or `ES256`.
    pub signing_algorithm: Option<String>,
    pub well_known_endpoint: Option<String>,
    pub jwks_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub revoke_endpoint: Option<String>,
    pub introspection_endpoint: Option<String>,
    pub audiences: Vec<String>,
    pub consumer_key_claim: Option<String>,
    pub scopes_claim: Option<String>,
    pub available_grant_types: Vec<String>,
    pub user_info_endpoint: Option<String>,
    pub authorize_endpoint: Option<String>,
    pub client_registration_endpoint: Option<String>,
    pub additional_properties: serde_json::Map<String, serde_json::Value>,
}

#[derive(sqlx::FromRow, Clone)]
pub struct KmRow {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub display_name: String,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub description: String,
    pub enabled: bool,
    pub global: bool,
    pub issuer: String,
    pub config: sqlx::types::Json<KmConfig>,
    pub permissions: sqlx::types::Json<serde_json::Value>,
}

pub const KM_COLUMNS: &str = "k.id, k.organization_id, k.name, k.display_name, k.type, \
     k.description, k.enabled, k.global, k.issuer, k.config, k.permissions";

impl KmRow {
    pub fn is_resident(&self) -> bool {
        self.kind == RESIDENT_TYPE
    }

    /// Whether a user with `roles` may use this key manager (WSO2's key-manager permissions).
    pub fn visible_to(&self, roles: &[String]) -> bool {
        let kind = self.permissions["permissionType"]
            .as_str()
            .unwrap_or("PUBLIC");
        let listed: Vec<&str> = self.permissions["roles"]
            .as_array()
            .map(|a| a.iter().filter_map(|r| r.as_str()).collect())
            .unwrap_or_default();
        let holds = roles.iter().any(|r| listed.contains(&r.as_str()));
        match kind {
            "ALLOW" => holds,
            "DENY" => !holds,
            _ => true,
        }
    }
}

impl KeyManager {
    /// Creates the organization's resident key manager when it has none (signing with
    /// `keymanager.signing_algorithm`; an admin may change it per key manager) and keeps its
    /// issuer in step with `server.public_url`.
    pub async fn ensure_resident(&self, organization: Uuid) -> anyhow::Result<()> {
        let mut conn = self.db.acquire().await?;
        self.ensure_resident_in(&mut conn, organization).await?;
        Ok(())
    }

    /// `ensure_resident` in the caller's transaction (a new organization gets its resident key
    /// manager together with everything else, or not at all).
    pub async fn ensure_resident_in(
        &self,
        conn: &mut sqlx::PgConnection,
        organization: Uuid,
    ) -> sqlx::Result<()> {
        let config = KmConfig {
            signing_algorithm: Some(self.settings.signing_algorithm.clone()),
            available_grant_types: app::applications::GRANT_TYPES
                .iter()
                .map(|g| g.to_string())
                .collect(),
            ..KmConfig::default()
        };
        sqlx::query(
            "INSERT INTO key_manager (organization_id, name, display_name, type, description, issuer, config)
             VALUES ($1, $2, $2, $3, 'The built-in key manager of this organization', $4, $5)
             ON CONFLICT ON CONSTRAINT key_manager_name_key DO UPDATE SET issuer = EXCLUDED.issuer",
        )
        .bind(organization)
        .bind(RESIDENT)
        .bind(RESIDENT_TYPE)
        .bind(&self.issuer)
        .bind(sqlx::types::Json(config))
        .execute(conn)
        .await?;
        Ok(())
    }

    /// The user's roles (key-manager visibility is by role).
    pub async fn roles_of(&self, actor: &Actor) -> Result<Vec<String>, ApiError> {
        Ok(sqlx::query_scalar(
            "SELECT r.name FROM app_user u JOIN organization o ON o.id = u.organization_id
               JOIN user_role ur ON ur.user_id = u.id JOIN role r ON r.id = ur.role_id
              WHERE o.name = $1 AND u.username = $2",
        )
        .bind(&actor.organization)
        .bind(&actor.username)
        .fetch_all(&self.db)
        .await?)
    }

    /// Enabled key managers the actor may use: the organization's and the global one.
    pub async fn usable(&self, actor: &Actor) -> Result<Vec<KmRow>, ApiError> {
        let rows: Vec<KmRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {KM_COLUMNS} FROM key_manager k JOIN organization o ON o.id = k.organization_id
              WHERE k.enabled AND (o.name = $1 OR k.global)
              ORDER BY k.type <> 'Default', k.name"
        )))
        .bind(&actor.organization)
        .fetch_all(&self.db)
        .await?;
        let roles = self.roles_of(actor).await?;
        Ok(rows.into_iter().filter(|k| k.visible_to(&roles)).collect())
    }

    /// A usable key manager by name or id; the resident one when `name` is empty. Another
    /// organization's, a disabled one or one hidden from the user's roles is refused.
    pub async fn usable_one(&self, actor: &Actor, name: Option<&str>) -> Result<KmRow, ApiError> {
        let name = name.map(str::trim).filter(|n| !n.is_empty());
        let all = self.usable(actor).await?;
        let wanted = name.unwrap_or(RESIDENT);
        if let Some(k) = all
            .into_iter()
            .find(|k| k.name == wanted || k.id.to_string() == wanted)
        {
            return Ok(k);
        }
        // One that exists but is restricted to roles the user lacks: 403, not "unknown".
        let hidden: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM key_manager k JOIN organization o ON o.id = k.organization_id
                             WHERE k.enabled AND (o.name = $1 OR k.global)
                               AND (k.name = $2 OR k.id::text = $2))",
        )
        .bind(&actor.organization)
        .bind(wanted)
        .fetch_one(&self.db)
        .await?;
        if hidden {
            return Err(ApiError::Forbidden(format!(
                "The key manager {wanted} is restricted to roles you do not have"
            )));
        }
        Err(ApiError::field(
            "keyManager",
            format!("no key manager `{wanted}` is available to you"),
        ))
    }

    /// DevPortal `GET /key-managers`.
    pub async fn infos(&self, actor: &Actor) -> Result<Vec<KeyManagerInfo>, ApiError> {
        Ok(self
            .usable(actor)
            .await?
            .iter()
            .map(|k| self.info(k))
            .collect())
    }

    pub fn info(&self, k: &KmRow) -> KeyManagerInfo {
        let resident = k.is_resident();
        let endpoint = |own: &Option<String>, path: &str| {
            if resident {
                format!("{}{path}", self.public_url)
            } else {
                own.clone().unwrap_or_default()
            }
        };
        KeyManagerInfo {
            id: k.id.to_string(),
            name: k.name.clone(),
            kind: k.kind.clone(),
            display_name: if k.display_name.is_empty() {
                k.name.clone()
            } else {
                k.display_name.clone()
            },
            description: k.description.clone(),
            enabled: k.enabled,
            available_grant_types: k.config.available_grant_types.clone(),
            token_endpoint: endpoint(&k.config.token_endpoint, "/oauth2/token"),
            revoke_endpoint: endpoint(&k.config.revoke_endpoint, "/oauth2/revoke"),
            enable_token_generation: resident,
            enable_o_auth_app_creation: resident,
            enable_map_o_auth_consumer_apps: true,
            token_type: "DIRECT".into(),
            global: k.global,
        }
    }
}

/// Records a change made by `actor` in the audit log, in the change's transaction.
pub(crate) async fn audit(
    tx: &mut sqlx::PgConnection,
    actor: &Actor,
    action: &str,
    target_type: &str,
    target_id: &str,
) -> Result<(), ApiError> {
    crate::audit::change(
        tx,
        &actor.organization,
        &actor.username,
        action,
        target_type,
        target_id,
    )
    .await?;
    Ok(())
}

/// A UUID from a path segment, or 404 naming what was looked for.
pub fn parse_id(id: &str, what: &str) -> Result<Uuid, ApiError> {
    crate::publisher::parse_id(id, what)
}
