//! The Publisher's service layer: APIs and API products, their definitions, lifecycle,
//! revisions and deployments. The REST handlers (`http::publisher`) and the portal pages (through
//! `services.rs`) both call it, so both get the same checks.
//!
//! Rights: any publisher-portal user of the organization sees its APIs (unless an API's
//! `accessControl` restricts it to roles); only the owner (`provider`) or an admin
//! (`apim:admin`) edits or deletes one; publishers (`apim:api_publish`) change lifecycle states
//! and deploy.

pub mod apis;
pub mod documents;
pub mod fetch;
pub mod from_definition;
pub mod gateway_policies;
pub mod kubernetes;
pub mod openapi;
pub mod revisions;
pub mod validate;

use app::auth::scopes as s;
use app::publisher::{Api, ApiSettings, Operation};
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use sqlx::types::Json;
use uuid::Uuid;

use crate::config::PublisherSection;
use crate::error::ApiError;

pub const API_MANAGE: &str = "apim:api_manage";
pub const API_DELETE: &str = "apim:api_delete";
pub const API_IMPORT_EXPORT: &str = "apim:api_import_export";
pub const PROVIDER_CHANGE: &str = "apim:api_provider_change";

/// `type` of an API product row.
pub const PRODUCT: &str = "APIPRODUCT";

/// Who asks: from a bearer token or a portal session.
#[derive(Debug, Clone)]
pub struct Actor {
    pub username: String,
    pub organization: String,
    pub scopes: Vec<String>,
}

impl Actor {
    pub fn has(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// Passes when the caller holds any of `scopes`.
    pub fn require(&self, scopes: &[&str]) -> Result<(), ApiError> {
        if scopes.iter().any(|s| self.has(s)) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "The request needs one of the scopes: {}",
                scopes.join(", ")
            )))
        }
    }

    pub fn is_admin(&self) -> bool {
        self.has(s::ADMIN)
    }
}

impl Actor {
    /// The holder of a verified access token.
    pub fn from_claims(claims: &crate::auth::tokens::Claims) -> Self {
        Actor {
            username: claims.sub.clone(),
            organization: claims.organization.clone(),
            scopes: claims.scopes().map(str::to_string).collect(),
        }
    }
}

impl From<&app::auth::CurrentUser> for Actor {
    fn from(u: &app::auth::CurrentUser) -> Self {
        Actor {
            username: u.username.clone(),
            organization: u.organization.clone(),
            scopes: u.scopes.clone(),
        }
    }
}

pub const VIEW_SCOPES: &[&str] = &[s::API_VIEW, s::API_CREATE, s::API_PUBLISH, API_MANAGE];
pub const CREATE_SCOPES: &[&str] = &[s::API_CREATE, API_MANAGE];
pub const PUBLISH_SCOPES: &[&str] = &[s::API_PUBLISH, API_MANAGE];
pub const DELETE_SCOPES: &[&str] = &[API_DELETE, API_MANAGE, API_IMPORT_EXPORT];

/// The service; cheap to clone.
#[derive(Clone)]
pub struct Publisher {
    pub db: PgPool,
    pub settings: PublisherSection,
}

/// One `api` row.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct ApiRow {
    pub id: Uuid,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub name: String,
    pub context: String,
    pub version: String,
    pub provider: String,
    pub lifecycle_status: String,
    pub is_default_version: bool,
    pub description: String,
    pub settings: Json<ApiSettings>,
    pub operations: Json<Vec<Operation>>,
    pub definition_version: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub has_thumbnail: bool,
}

/// Columns of `ApiRow` (the definition is loaded only where needed: it can be megabytes).
pub const API_COLUMNS: &str = "a.id, a.type, a.name, a.context, a.version, a.provider, \
     a.lifecycle_status, a.is_default_version, a.description, a.settings, a.operations, \
     a.definition_version, a.created_at, a.updated_at, \
     EXISTS (SELECT 1 FROM api_thumbnail th WHERE th.api_id = a.id) AS has_thumbnail";

pub fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl ApiRow {
    pub fn is_product(&self) -> bool {
        self.kind == PRODUCT
    }

    pub fn to_api(&self) -> Api {
        Api {
            id: Some(self.id.to_string()),
            name: self.name.clone(),
            description: Some(self.description.clone()),
            context: self.context.clone(),
            version: self.version.clone(),
            provider: Some(self.provider.clone()),
            life_cycle_status: Some(self.lifecycle_status.clone()),
            is_default_version: self.is_default_version,
            kind: self.kind.clone(),
            has_thumbnail: self.has_thumbnail,
            is_revision: false,
            revision_id: None,
            created_time: Some(time(self.created_at)),
            last_updated_time: Some(time(self.updated_at)),
            settings: self.settings.0.clone(),
            operations: self.operations.0.clone(),
        }
    }

    fn what(&self) -> &'static str {
        if self.is_product() {
            "API product"
        } else {
            "API"
        }
    }
}

/// Parses an id from a path; a malformed one is simply not found.
/// A page link: `path?k=v&…` with every value URL-encoded and empty ones left out.
pub fn link(path: &str, params: &[(&str, &str)]) -> String {
    let kept: Vec<(&str, &str)> = params
        .iter()
        .copied()
        .filter(|(_, v)| !v.is_empty())
        .collect();
    match serde_urlencoded::to_string(&kept) {
        Ok(q) if !q.is_empty() => format!("{path}?{q}"),
        _ => path.to_string(),
    }
}

pub fn parse_id(id: &str, what: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| ApiError::NotFound(format!("{what} {id} not found")))
}

impl Publisher {
    pub fn new(db: PgPool, settings: PublisherSection) -> Self {
        Self { db, settings }
    }

    /// Loads an API or product the actor may see, or 404 (also for other organizations').
    pub async fn load(&self, actor: &Actor, id: &str, product: bool) -> Result<ApiRow, ApiError> {
        actor.require(VIEW_SCOPES)?;
        self.find(actor, id, product).await
    }

    /// `load` for callers that checked other scopes (documents): the organization and
    /// `accessControl` rules only.
    pub async fn find(&self, actor: &Actor, id: &str, product: bool) -> Result<ApiRow, ApiError> {
        let what = if product { "API product" } else { "API" };
        let uuid = parse_id(id, what)?;
        let row: Option<ApiRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {API_COLUMNS} FROM api a JOIN organization o ON o.id = a.organization_id
              WHERE a.id = $1 AND o.name = $2"
        )))
        .bind(uuid)
        .bind(&actor.organization)
        .fetch_optional(&self.db)
        .await?;
        let row = row
            .filter(|r| r.is_product() == product)
            .ok_or_else(|| ApiError::NotFound(format!("{what} {id} not found")))?;
        if !self.may_view(actor, &row).await? {
            return Err(ApiError::NotFound(format!("{what} {id} not found")));
        }
        Ok(row)
    }

    async fn may_view(&self, actor: &Actor, row: &ApiRow) -> Result<bool, ApiError> {
        let s = &row.settings.0;
        if s.access_control != "RESTRICTED" || actor.is_admin() || row.provider == actor.username {
            return Ok(true);
        }
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM app_user u
                    JOIN organization o ON o.id = u.organization_id
                    JOIN user_role ur ON ur.user_id = u.id
                    JOIN role r ON r.id = ur.role_id
                   WHERE o.name = $1 AND u.username = $2 AND r.name = ANY($3))",
        )
        .bind(&actor.organization)
        .bind(&actor.username)
        .bind(&s.access_control_roles)
        .fetch_one(&self.db)
        .await?)
    }

    /// Loads for a change only the owner or an admin may make.
    pub async fn load_for_edit(
        &self,
        actor: &Actor,
        id: &str,
        product: bool,
    ) -> Result<ApiRow, ApiError> {
        actor.require(CREATE_SCOPES)?;
        let row = self.load(actor, id, product).await?;
        ensure_owner(actor, &row)?;
        Ok(row)
    }

    /// Loads for a lifecycle change or deployment: the owner, an admin, or a publisher.
    pub async fn load_for_publish(
        &self,
        actor: &Actor,
        id: &str,
        product: bool,
    ) -> Result<ApiRow, ApiError> {
        actor.require(&[s::API_PUBLISH, API_MANAGE, s::API_CREATE])?;
        let row = self.load(actor, id, product).await?;
        if !actor.has(s::API_PUBLISH) {
            ensure_owner(actor, &row)?;
        }
        Ok(row)
    }
}

pub fn ensure_owner(actor: &Actor, row: &ApiRow) -> Result<(), ApiError> {
    if row.provider == actor.username || actor.is_admin() {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "Only the {}'s owner ({}) or an admin may change it",
            row.what(),
            row.provider
        )))
    }
}
