//! Applications (DevPortal `/applications`), their OAuth clients per key manager and key type,
//! and their API keys. An application belongs to the user who created it; other users get 404.

use app::applications::{
    self as a, ApiKey, ApiKeyGenerateRequest, ApiKeyInfo, ApiKeyRevokeRequest, Application,
    ApplicationKey, KeyGenerateRequest, KeyMappingRequest,
};
use app::auth::scopes as s;
use app::publisher::Page;
use app::workflows::{APPLICATION_CREATION, SUBSCRIPTION_CREATION, SUBSCRIPTION_UPDATE};
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::types::Json;
use uuid::Uuid;

use super::{KeyManager, KmRow, parse_id, runtime};
use crate::auth::secrets;
use crate::error::{ApiError, ResultExt};
use crate::publisher::{Actor, time};
use crate::workflows;

/// Scopes that let a user manage applications and keys (WSO2: either).
pub const APP_SCOPES: &[&str] = &[s::SUBSCRIBE, "apim:app_manage"];
pub const API_KEY_SCOPES: &[&str] = &[s::SUBSCRIBE, "apim:api_key"];

#[derive(sqlx::FromRow)]
pub struct AppRow {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub description: String,
    pub throttling_policy: String,
    pub token_type: String,
    pub status: String,
    pub attributes: Json<serde_json::Map<String, serde_json::Value>>,
    pub owner: String,
    pub subscription_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const APP_COLUMNS: &str = "a.id, a.organization_id, a.name, a.description, a.throttling_policy, \
     a.token_type, a.status, a.attributes, u.username AS owner, \
     (SELECT count(*) FROM subscription s WHERE s.application_id = a.id) AS subscription_count, \
     a.created_at, a.updated_at";

impl AppRow {
    fn to_dto(&self, keys: Vec<ApplicationKey>) -> Application {
        Application {
            application_id: Some(self.id.to_string()),
            name: self.name.clone(),
            throttling_policy: self.throttling_policy.clone(),
            description: Some(self.description.clone()),
            token_type: self.token_type.clone(),
            status: self.status.clone(),
            groups: vec![],
            subscription_count: self.subscription_count,
            keys,
            attributes: self.attributes.0.clone(),
            subscription_scopes: vec![],
            owner: self.owner.clone(),
            hash_enabled: true,
            created_time: Some(time(self.created_at)),
            updated_time: Some(time(self.updated_at)),
        }
    }
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    id: Uuid,
    key_manager: String,
    key_type: String,
    consumer_key: String,
    mode: String,
    grant_types: Vec<String>,
    callback_url: Option<String>,
    validity_seconds: i64,
}

const KEY_COLUMNS: &str = "k.id, m.name AS key_manager, k.key_type, k.consumer_key, k.mode, \
     k.grant_types, k.callback_url, k.validity_seconds";

impl KeyRow {
    fn to_dto(&self, secret: Option<String>) -> ApplicationKey {
        let mut extra = serde_json::Map::new();
        extra.insert(
            "application_access_token_expiry_time".into(),
            json!(self.validity_seconds),
        );
        ApplicationKey {
            key_mapping_id: self.id.to_string(),
            key_manager: self.key_manager.clone(),
            consumer_key: self.consumer_key.clone(),
            consumer_secret: secret,
            supported_grant_types: self.grant_types.clone(),
            callback_url: self.callback_url.clone(),
            key_state: "COMPLETED".into(),
            key_type: self.key_type.clone(),
            mode: self.mode.clone(),
            token: None,
            additional_properties: extra,
        }
    }
}

fn key_type(value: &str) -> Result<&'static str, ApiError> {
    a::KEY_TYPES
        .iter()
        .copied()
        .find(|k| k.eq_ignore_ascii_case(value))
        .ok_or_else(|| ApiError::field("keyType", "must be PRODUCTION or SANDBOX"))
}

fn check_application(app: &mut Application, policies: &[String]) -> Result<(), ApiError> {
    app.name = app.name.trim().to_string();
    if app.name.is_empty() {
        return Err(ApiError::field("name", "is required"));
    }
    if app.name.chars().count() > 100 {
        return Err(ApiError::field("name", "must be at most 100 characters"));
    }
    if app.throttling_policy.trim().is_empty() {
        app.throttling_policy = "Unlimited".into();
    }
    if !policies.contains(&app.throttling_policy) {
        return Err(ApiError::field(
            "throttlingPolicy",
            format!(
                "`{}` is not an application policy; use one of {}",
                app.throttling_policy,
                policies.join(", ")
            ),
        ));
    }
    if app.description.as_deref().is_some_and(|d| d.len() > 1000) {
        return Err(ApiError::field(
            "description",
            "must be at most 1000 characters",
        ));
    }
    if app.attributes.len() > 20 {
        return Err(ApiError::field("attributes", "at most 20 attributes"));
    }
    for (k, v) in &app.attributes {
        let key_ok = !k.is_empty()
            && k.len() <= 100
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || " _.-".contains(c));
        if !key_ok {
            return Err(ApiError::field(
                "attributes",
                format!("`{k}`: names are 1–100 letters, digits, spaces, _ . -"),
            ));
        }
        match v.as_str() {
            None => {
                return Err(ApiError::field(
                    &format!("attributes.{k}"),
                    "attribute values are strings",
                ));
            }
            Some(v) if v.chars().count() > 1000 => {
                return Err(ApiError::field(
                    &format!("attributes.{k}"),
                    "at most 1000 characters",
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

fn conflict_name(name: &str) -> ApiError {
    ApiError::Conflict {
        message: format!("You already have an application named {name}"),
        errors: vec![crate::error::FieldError::new(
            "name",
            "an application with this name exists",
        )],
    }
}

impl KeyManager {
    /// An application the actor owns, or 404.
    pub async fn own_application(&self, actor: &Actor, id: &str) -> Result<AppRow, ApiError> {
        let uuid = parse_id(id, "Application")?;
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {APP_COLUMNS} FROM application a JOIN app_user u ON u.id = a.owner_id
               JOIN organization o ON o.id = a.organization_id
              WHERE a.id = $1 AND o.name = $2 AND u.username = $3"
        )))
        .bind(uuid)
        .bind(&actor.organization)
        .bind(&actor.username)
        .fetch_optional(&self.db)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("Application {id} not found")))
    }

    /// An application the actor owns that may hold keys and subscriptions: approved, not
    /// waiting for approval or rejected.
    pub async fn approved_application(&self, actor: &Actor, id: &str) -> Result<AppRow, ApiError> {
        let app = self.own_application(actor, id).await?;
        let why = match app.status.as_str() {
            "APPROVED" => return Ok(app),
            "CREATED" => "is waiting for an administrator's approval",
            "REJECTED" => "was rejected by an administrator",
            other => {
                return Err(ApiError::Anyhow(anyhow::anyhow!(
                    "application status {other}"
                )));
            }
        };
        Err(ApiError::Conflict {
            message: format!("Application {} {why}", app.name),
            errors: vec![crate::error::FieldError::new("applicationId", why)],
        })
    }

    async fn keys_of(&self, app: Uuid) -> Result<Vec<KeyRow>, ApiError> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {KEY_COLUMNS} FROM application_key k JOIN key_manager m ON m.id = k.key_manager_id
              WHERE k.application_id = $1 ORDER BY m.name, k.key_type"
        )))
        .bind(app)
        .fetch_all(&self.db)
        .await?)
    }

    pub async fn list_applications(
        &self,
        actor: &Actor,
        query: Option<&str>,
        offset: i64,
        limit: i64,
    ) -> Result<Page<Application>, ApiError> {
        actor.require(APP_SCOPES)?;
        let offset = offset.max(0);
        let limit = limit.clamp(1, 500);
        let pattern = query.map(str::trim).filter(|q| !q.is_empty()).map(|q| {
            let escaped = q
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("%{escaped}%")
        });
        let filter = "FROM application a JOIN app_user u ON u.id = a.owner_id
               JOIN organization o ON o.id = a.organization_id
              WHERE o.name = $1 AND u.username = $2 AND ($3::text IS NULL OR a.name ILIKE $3)";
        let total: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) {filter}")))
                .bind(&actor.organization)
                .bind(&actor.username)
                .bind(&pattern)
                .fetch_one(&self.db)
                .await?;
        let rows: Vec<AppRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {APP_COLUMNS} {filter} ORDER BY lower(a.name) OFFSET $4 LIMIT $5"
        )))
        .bind(&actor.organization)
        .bind(&actor.username)
        .bind(&pattern)
        .bind(offset)
        .bind(limit)
        .fetch_all(&self.db)
        .await?;
        let list = rows.iter().map(|r| r.to_dto(vec![])).collect();
        let query = query.map(str::trim).unwrap_or_default();
        Ok(Page::new(list, offset, limit, total, |o| {
            crate::publisher::link(
                "/applications",
                &[
                    ("query", query),
                    ("offset", &o.to_string()),
                    ("limit", &limit.to_string()),
                ],
            )
        }))
    }

    pub async fn get_application(&self, actor: &Actor, id: &str) -> Result<Application, ApiError> {
        actor.require(APP_SCOPES)?;
        let row = self.own_application(actor, id).await?;
        let keys = self.keys_of(row.id).await?;
        Ok(row.to_dto(keys.iter().map(|k| k.to_dto(None)).collect()))
    }

    pub async fn create_application(
        &self,
        actor: &Actor,
        mut app: Application,
    ) -> Result<Application, ApiError> {
        actor.require(APP_SCOPES)?;
        let policies =
            crate::throttling::names(&self.db, &actor.organization, "application").await?;
        check_application(&mut app, &policies)?;
        let mut tx = self.db.begin().await?;
        let (id, organization): (Uuid, Uuid) = sqlx::query_as(
            "INSERT INTO application (organization_id, owner_id, name, description, throttling_policy, attributes)
             SELECT o.id, u.id, $3, $4, $5, $6 FROM organization o
               JOIN app_user u ON u.organization_id = o.id AND u.username = $2
              WHERE o.name = $1
             RETURNING id, organization_id",
        )
        .bind(&actor.organization)
        .bind(&actor.username)
        .bind(&app.name)
        .bind(app.description.as_deref().unwrap_or_default())
        .bind(&app.throttling_policy)
        .bind(Json(&app.attributes))
        .fetch_optional(&mut *tx)
        .await
        .on_constraint("application_owner_name_key", || conflict_name(&app.name))?
        .ok_or_else(|| ApiError::Forbidden("Only portal users own applications".into()))?;
        super::audit(
            &mut tx,
            actor,
            "application.create",
            "application",
            &id.to_string(),
        )
        .await?;
        if workflows::needs_approval(&mut tx, organization, APPLICATION_CREATION, None).await? {
            sqlx::query("UPDATE application SET status = 'CREATED' WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            workflows::open(
                &mut tx,
                organization,
                APPLICATION_CREATION,
                id,
                &actor.username,
                format!(
                    "Create the application {} for {} with the policy {}",
                    app.name, actor.username, app.throttling_policy
                ),
                json!({
                    "applicationName": app.name,
                    "applicationTier": app.throttling_policy,
                    "applicationDescription": app.description.clone().unwrap_or_default(),
                    "userName": actor.username,
                }),
            )
            .await?;
        }
        tx.commit().await?;
        self.get_application(actor, &id.to_string()).await
    }

    pub async fn update_application(
        &self,
        actor: &Actor,
        id: &str,
        mut app: Application,
    ) -> Result<Application, ApiError> {
        actor.require(APP_SCOPES)?;
        let row = self.own_application(actor, id).await?;
        let policies =
            crate::throttling::names(&self.db, &actor.organization, "application").await?;
        check_application(&mut app, &policies)?;
        let mut tx = self.db.begin().await?;
        sqlx::query(
            "UPDATE application SET name = $2, description = $3, throttling_policy = $4,
                    attributes = $5, updated_at = now() WHERE id = $1",
        )
        .bind(row.id)
        .bind(&app.name)
        .bind(app.description.as_deref().unwrap_or_default())
        .bind(&app.throttling_policy)
        .bind(Json(&app.attributes))
        .execute(&mut *tx)
        .await
        .on_constraint("application_owner_name_key", || conflict_name(&app.name))?;
        super::audit(&mut tx, actor, "application.update", "application", id).await?;
        // The tier and name travel to the gateways.
        runtime::bump_for_application(&mut tx, row.id).await?;
        tx.commit().await?;
        self.get_application(actor, id).await
    }

    pub async fn delete_application(&self, actor: &Actor, id: &str) -> Result<(), ApiError> {
        actor.require(APP_SCOPES)?;
        let row = self.own_application(actor, id).await?;
        let mut tx = self.db.begin().await?;
        runtime::bump_for_application(&mut tx, row.id).await?;
        // Pending requests for it or its subscriptions are withdrawn with it.
        workflows::cancel(&mut tx, &[APPLICATION_CREATION], row.id, &actor.username).await?;
        let subs: Vec<Uuid> =
            sqlx::query_scalar("SELECT id FROM subscription WHERE application_id = $1")
                .bind(row.id)
                .fetch_all(&mut *tx)
                .await?;
        for sub in subs {
            workflows::cancel(
                &mut tx,
                &[SUBSCRIPTION_CREATION, SUBSCRIPTION_UPDATE],
                sub,
                &actor.username,
            )
            .await?;
        }
        sqlx::query("DELETE FROM application WHERE id = $1")
            .bind(row.id)
            .execute(&mut *tx)
            .await?;
        super::audit(&mut tx, actor, "application.delete", "application", id).await?;
        tx.commit().await?;
        Ok(())
    }

    fn validity(&self, requested: Option<&str>) -> Result<i64, ApiError> {
        let Some(v) = requested.map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(self.settings.default_validity_seconds);
        };
        let secs: i64 = v
            .parse()
            .map_err(|_| ApiError::field("validityTime", "must be a number of seconds"))?;
        if secs <= 0 || secs > self.settings.max_validity_seconds {
            return Err(ApiError::field(
                "validityTime",
                format!(
                    "must be between 1 and {} seconds",
                    self.settings.max_validity_seconds
                ),
            ));
        }
        Ok(secs)
    }

    fn grant_types(&self, km: &KmRow, requested: &[String]) -> Result<Vec<String>, ApiError> {
        if requested.is_empty() {
            return Ok(vec!["client_credentials".into()]);
        }
        let available = &km.config.available_grant_types;
        let mut out = Vec::new();
        for g in requested {
            if !available.contains(g) {
                return Err(ApiError::field(
                    "grantTypesToBeSupported",
                    format!(
                        "`{g}` is not offered by {}; use any of {}",
                        km.name,
                        available.join(", ")
                    ),
                ));
            }
            if !out.contains(g) {
                out.push(g.clone());
            }
        }
        Ok(out)
    }

    /// `POST /applications/{id}/generate-keys`: a new OAuth client at the resident key manager
    /// for one key type. The secret is in this answer only.
    pub async fn generate_keys(
        &self,
        actor: &Actor,
        id: &str,
        req: KeyGenerateRequest,
    ) -> Result<ApplicationKey, ApiError> {
        actor.require(APP_SCOPES)?;
        let app = self.approved_application(actor, id).await?;
        let key_type = key_type(&req.key_type)?;
        let km = self.usable_one(actor, req.key_manager.as_deref()).await?;
        if !km.is_resident() {
            return Err(ApiError::field(
                "keyManager",
                format!(
                    "{} creates its clients itself: create the client there and map it with /map-keys",
                    km.name
                ),
            ));
        }
        let grants = self.grant_types(&km, &req.grant_types_to_be_supported)?;
        let validity = self.validity(req.validity_time.as_deref())?;
        let callback = req
            .callback_url
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty());
        let consumer_key = secrets::random_token(21);
        let secret = secrets::random_token(32);
        let hash = secrets::keyed_hash(&self.hash_key, &secret);
        let mut tx = self.db.begin().await?;
        let key_id: Uuid = sqlx::query_scalar(
            "INSERT INTO application_key (application_id, key_manager_id, key_type, consumer_key,
                    secret_hash, grant_types, callback_url, validity_seconds)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(app.id)
        .bind(km.id)
        .bind(key_type)
        .bind(&consumer_key)
        .bind(&hash)
        .bind(&grants)
        .bind(&callback)
        .bind(validity)
        .fetch_one(&mut *tx)
        .await
        .on_constraint("application_key_type_key", || ApiError::Conflict {
            message: format!(
                "{} already has {key_type} keys at {}; regenerate the secret or clean them up first",
                app.name, km.name
            ),
            errors: vec![crate::error::FieldError::new(
                "keyType",
                "keys of this type exist",
            )],
        })?;
        super::audit(
            &mut tx,
            actor,
            "application.keys.generate",
            "application",
            id,
        )
        .await?;
        runtime::bump_for_application(&mut tx, app.id).await?;
        tx.commit().await?;
        let row = self.key_row(app.id, &key_id.to_string()).await?;
        Ok(row.to_dto(Some(secret)))
    }

    /// `POST /applications/{id}/map-keys`: an existing client of a third-party key manager (or
    /// of the resident one, with its secret) becomes this application's.
    pub async fn map_keys(
        &self,
        actor: &Actor,
        id: &str,
        req: KeyMappingRequest,
    ) -> Result<ApplicationKey, ApiError> {
        actor.require(APP_SCOPES)?;
        let app = self.approved_application(actor, id).await?;
        let key_type = key_type(&req.key_type)?;
        let km = self.usable_one(actor, req.key_manager.as_deref()).await?;
        let consumer_key = req.consumer_key.trim().to_string();
        if consumer_key.is_empty() || consumer_key.len() > 512 {
            return Err(ApiError::field(
                "consumerKey",
                "is required (the client id at the key manager)",
            ));
        }
        // A resident client is created here, never mapped: mapping would let anyone claim a
        // client id they do not hold the secret of.
        if km.is_resident() {
            return Err(ApiError::field(
                "keyManager",
                "clients of the resident key manager are created with /generate-keys",
            ));
        }
        let mut tx = self.db.begin().await?;
        let key_id: Uuid = sqlx::query_scalar(
            "INSERT INTO application_key (application_id, key_manager_id, key_type, consumer_key,
                    mode, grant_types, validity_seconds)
             VALUES ($1, $2, $3, $4, 'MAPPED', $5, $6) RETURNING id",
        )
        .bind(app.id)
        .bind(km.id)
        .bind(key_type)
        .bind(&consumer_key)
        .bind(&km.config.available_grant_types)
        .bind(self.settings.default_validity_seconds)
        .fetch_one(&mut *tx)
        .await
        .on_constraint("application_key_type_key", || {
            ApiError::field(
                "keyType",
                "this application already has keys of this type there",
            )
        })
        .on_constraint("application_key_consumer_key", || {
            ApiError::field(
                "consumerKey",
                "this client is mapped to an application already",
            )
        })?;
        super::audit(&mut tx, actor, "application.keys.map", "application", id).await?;
        runtime::bump_for_application(&mut tx, app.id).await?;
        tx.commit().await?;
        Ok(self
            .key_row(app.id, &key_id.to_string())
            .await?
            .to_dto(None))
    }

    /// Declarative import (`server::gitops`): a resident client with the consumer key and secret
    /// the configuration names, so tokens keep working after a move between installations. Only
    /// an organization admin reaches this; the secret is stored hashed like a generated one, and a
    /// consumer key in use anywhere on this server is refused (`consumerKey`).
    #[allow(clippy::too_many_arguments)]
    pub async fn import_resident_key(
        &self,
        actor: &Actor,
        id: &str,
        key_type: &str,
        consumer_key: &str,
        secret: &str,
        grant_types: &[String],
        callback_url: Option<&str>,
        validity_seconds: i64,
    ) -> Result<(), ApiError> {
        let app = self.approved_application(actor, id).await?;
        let key_type = self::key_type(key_type)?;
        let km = self.usable_one(actor, None).await?;
        let grants = self.grant_types(&km, grant_types)?;
        let validity = self.validity(Some(&validity_seconds.to_string()))?;
        let consumer_key = consumer_key.trim();
        if consumer_key.len() < 8 || consumer_key.len() > 512 {
            return Err(ApiError::field(
                "consumerKey",
                "must be 8 to 512 characters",
            ));
        }
        if secret.len() < 16 {
            return Err(ApiError::field(
                "consumerSecret",
                "must be at least 16 characters",
            ));
        }
        let hash = secrets::keyed_hash(&self.hash_key, secret);
        let mut tx = self.db.begin().await?;
        sqlx::query(
            "INSERT INTO application_key (application_id, key_manager_id, key_type, consumer_key,
                    secret_hash, grant_types, callback_url, validity_seconds)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(app.id)
        .bind(km.id)
        .bind(key_type)
        .bind(consumer_key)
        .bind(&hash)
        .bind(&grants)
        .bind(callback_url.map(str::trim).filter(|c| !c.is_empty()))
        .bind(validity)
        .execute(&mut *tx)
        .await
        .on_constraint("application_key_type_key", || {
            ApiError::field("keyType", "this application already has keys of this type")
        })
        .on_constraint("application_key_consumer_key", || {
            ApiError::field("consumerKey", "is in use by another application")
        })
        .on_constraint("application_key_created_consumer_key", || {
            ApiError::field(
                "consumerKey",
                "is in use by an application of another organization on this server",
            )
        })?;
        super::audit(&mut tx, actor, "application.keys.import", "application", id).await?;
        runtime::bump_for_application(&mut tx, app.id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether `secret` is the stored secret of the application's resident client `consumer_key`.
    pub async fn stored_secret_is(
        &self,
        app: Uuid,
        consumer_key: &str,
        secret: &str,
    ) -> Result<bool, ApiError> {
        let stored: Option<Option<Vec<u8>>> = sqlx::query_scalar(
            "SELECT secret_hash FROM application_key WHERE application_id = $1 AND consumer_key = $2",
        )
        .bind(app)
        .bind(consumer_key)
        .fetch_optional(&self.db)
        .await?;
        let want = secrets::keyed_hash(&self.hash_key, secret);
        Ok(stored
            .flatten()
            .is_some_and(|h| subtle::ConstantTimeEq::ct_eq(h.as_slice(), want.as_slice()).into()))
    }

    /// Declarative import: the resident client's secret becomes `secret` (stored hashed).
    pub async fn set_resident_secret(
        &self,
        actor: &Actor,
        id: &str,
        consumer_key: &str,
        secret: &str,
    ) -> Result<(), ApiError> {
        let app = self.own_application(actor, id).await?;
        if secret.len() < 16 {
            return Err(ApiError::field(
                "consumerSecret",
                "must be at least 16 characters",
            ));
        }
        let mut tx = self.db.begin().await?;
        sqlx::query(
            "UPDATE application_key SET secret_hash = $3, updated_at = now()
              WHERE application_id = $1 AND consumer_key = $2 AND mode = 'CREATED'",
        )
        .bind(app.id)
        .bind(consumer_key)
        .bind(secrets::keyed_hash(&self.hash_key, secret))
        .execute(&mut *tx)
        .await?;
        super::audit(&mut tx, actor, "application.keys.import", "application", id).await?;
        runtime::bump_for_application(&mut tx, app.id).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn key_row(&self, app: Uuid, key_mapping_id: &str) -> Result<KeyRow, ApiError> {
        let kid = parse_id(key_mapping_id, "Key mapping")?;
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {KEY_COLUMNS} FROM application_key k JOIN key_manager m ON m.id = k.key_manager_id
              WHERE k.application_id = $1 AND k.id = $2"
        )))
        .bind(app)
        .bind(kid)
        .fetch_optional(&self.db)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("Key mapping {key_mapping_id} not found")))
    }

    pub async fn oauth_keys(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<Vec<ApplicationKey>, ApiError> {
        actor.require(APP_SCOPES)?;
        let app = self.own_application(actor, id).await?;
        Ok(self
            .keys_of(app.id)
            .await?
            .iter()
            .map(|k| k.to_dto(None))
            .collect())
    }

    pub async fn oauth_key(
        &self,
        actor: &Actor,
        id: &str,
        key_mapping_id: &str,
    ) -> Result<ApplicationKey, ApiError> {
        actor.require(APP_SCOPES)?;
        let app = self.own_application(actor, id).await?;
        Ok(self.key_row(app.id, key_mapping_id).await?.to_dto(None))
    }

    /// `PUT /applications/{id}/oauth-keys/{keyMappingId}`: grant types, callback URL, validity.
    pub async fn update_oauth_key(
        &self,
        actor: &Actor,
        id: &str,
        key_mapping_id: &str,
        req: ApplicationKey,
    ) -> Result<ApplicationKey, ApiError> {
        actor.require(APP_SCOPES)?;
        let app = self.own_application(actor, id).await?;
        let row = self.key_row(app.id, key_mapping_id).await?;
        let km = self.usable_one(actor, Some(&row.key_manager)).await?;
        let grants = self.grant_types(&km, &req.supported_grant_types)?;
        let validity = match req
            .additional_properties
            .get("application_access_token_expiry_time")
        {
            Some(v) => self.validity(Some(&v.to_string().replace('"', "")))?,
            None => row.validity_seconds,
        };
        let mut tx = self.db.begin().await?;
        sqlx::query(
            "UPDATE application_key SET grant_types = $2, callback_url = $3, validity_seconds = $4,
                    updated_at = now() WHERE id = $1",
        )
        .bind(row.id)
        .bind(&grants)
        .bind(req.callback_url.filter(|c| !c.trim().is_empty()))
        .bind(validity)
        .execute(&mut *tx)
        .await?;
        super::audit(&mut tx, actor, "application.keys.update", "application", id).await?;
        tx.commit().await?;
        Ok(self.key_row(app.id, key_mapping_id).await?.to_dto(None))
    }

    /// A new secret; the old one stops working at once. Shown in this answer only.
    pub async fn regenerate_secret(
        &self,
        actor: &Actor,
        id: &str,
        key_mapping_id: &str,
    ) -> Result<ApplicationKey, ApiError> {
        actor.require(APP_SCOPES)?;
        let app = self.approved_application(actor, id).await?;
        let row = self.key_row(app.id, key_mapping_id).await?;
        if row.mode == "MAPPED" {
            return Err(ApiError::field(
                "keyMappingId",
                "a mapped client's secret is managed by its key manager",
            ));
        }
        let secret = secrets::random_token(32);
        let mut tx = self.db.begin().await?;
        sqlx::query(
            "UPDATE application_key SET secret_hash = $2, updated_at = now() WHERE id = $1",
        )
        .bind(row.id)
        .bind(secrets::keyed_hash(&self.hash_key, &secret))
        .execute(&mut *tx)
        .await?;
        super::audit(
            &mut tx,
            actor,
            "application.keys.regenerate_secret",
            "application",
            id,
        )
        .await?;
        tx.commit().await?;
        Ok(row.to_dto(Some(secret)))
    }

    /// Removes the client: its tokens stop working at the gateways (the client no longer maps
    /// to the application).
    pub async fn clean_up_keys(
        &self,
        actor: &Actor,
        id: &str,
        key_mapping_id: &str,
    ) -> Result<(), ApiError> {
        actor.require(APP_SCOPES)?;
        let app = self.own_application(actor, id).await?;
        let row = self.key_row(app.id, key_mapping_id).await?;
        let mut tx = self.db.begin().await?;
        sqlx::query("DELETE FROM application_key WHERE id = $1")
            .bind(row.id)
            .execute(&mut *tx)
            .await?;
        super::audit(
            &mut tx,
            actor,
            "application.keys.clean_up",
            "application",
            id,
        )
        .await?;
        runtime::bump_for_application(&mut tx, app.id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The key mapping of `key_type` at the resident key manager (WSO2's older
    /// `/keys/{keyType}` paths).
    pub async fn resident_key_id(
        &self,
        actor: &Actor,
        id: &str,
        key_type_name: &str,
    ) -> Result<String, ApiError> {
        let app = self.own_application(actor, id).await?;
        let kt = key_type(key_type_name)?;
        self.keys_of(app.id)
            .await?
            .into_iter()
            .find(|k| k.key_type == kt && k.key_manager == super::RESIDENT)
            .map(|k| k.id.to_string())
            .ok_or_else(|| ApiError::NotFound(format!("{kt} keys of {} not found", app.name)))
    }

    /// `POST /applications/{id}/api-keys/{keyType}/generate`.
    pub async fn generate_api_key(
        &self,
        actor: &Actor,
        id: &str,
        key_type_name: &str,
        req: ApiKeyGenerateRequest,
    ) -> Result<ApiKey, ApiError> {
        actor.require(API_KEY_SCOPES)?;
        let app = self.approved_application(actor, id).await?;
        let kt = key_type(key_type_name)?;
        let validity = req.validity_period.unwrap_or(-1);
        if validity == 0 || validity < -1 {
            return Err(ApiError::field(
                "validityPeriod",
                "seconds until expiry, or -1 for none",
            ));
        }
        let list = |name: &str| -> Result<Vec<String>, ApiError> {
            match req.additional_properties.get(name) {
                None | Some(serde_json::Value::Null) => Ok(vec![]),
                Some(serde_json::Value::String(s)) => Ok(s
                    .split(',')
                    .map(|x| x.trim().to_string())
                    .filter(|x| !x.is_empty())
                    .collect()),
                Some(_) => Err(ApiError::field(
                    &format!("additionalProperties.{name}"),
                    "a comma-separated string",
                )),
            }
        };
        let ips = list("permittedIP")?;
        for ip in &ips {
            if gateway::snapshot::parse_cidr(ip).is_none() {
                return Err(ApiError::field(
                    "additionalProperties.permittedIP",
                    format!("`{ip}` is not an IP address or CIDR range"),
                ));
            }
        }
        let referrers = list("permittedReferer")?;
        let key = format!("gk_{}", secrets::random_token(32));
        let prefix: String = key.chars().take(10).collect();
        let expires = (validity > 0).then(|| Utc::now() + chrono::Duration::seconds(validity));
        let mut tx = self.db.begin().await?;
        let key_id: Uuid = sqlx::query_scalar(
            "INSERT INTO api_key (application_id, key_type, key_hash, key_prefix, permitted_ips,
                    permitted_referrers, expires_at, created_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(app.id)
        .bind(kt)
        .bind(secrets::sha256(&key))
        .bind(&prefix)
        .bind(&ips)
        .bind(&referrers)
        .bind(expires)
        .bind(&actor.username)
        .fetch_one(&mut *tx)
        .await?;
        super::audit(
            &mut tx,
            actor,
            "application.api_key.generate",
            "application",
            id,
        )
        .await?;
        runtime::bump_for_application(&mut tx, app.id).await?;
        tx.commit().await?;
        Ok(ApiKey {
            apikey: key,
            validity_time: validity,
            key_id: key_id.to_string(),
            key_prefix: prefix,
        })
    }

    pub async fn api_keys(&self, actor: &Actor, id: &str) -> Result<Vec<ApiKeyInfo>, ApiError> {
        actor.require(API_KEY_SCOPES)?;
        let app = self.own_application(actor, id).await?;
        type Row = (
            Uuid,
            String,
            String,
            Vec<String>,
            Vec<String>,
            Option<DateTime<Utc>>,
            DateTime<Utc>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, key_type, key_prefix, permitted_ips, permitted_referrers, expires_at, created_at
               FROM api_key WHERE application_id = $1 ORDER BY created_at",
        )
        .bind(app.id)
        .fetch_all(&self.db)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, kt, prefix, ips, refs, exp, created)| ApiKeyInfo {
                key_id: id.to_string(),
                key_type: kt,
                key_prefix: prefix,
                permitted_ips: ips,
                permitted_referrers: refs,
                expires_time: exp.map(time),
                created_time: time(created),
            })
            .collect())
    }

    /// `POST /applications/{id}/api-keys/{keyType}/revoke` with the key (WSO2) or its id.
    pub async fn revoke_api_key(
        &self,
        actor: &Actor,
        id: &str,
        key_type_name: &str,
        req: ApiKeyRevokeRequest,
    ) -> Result<(), ApiError> {
        actor.require(API_KEY_SCOPES)?;
        let app = self.own_application(actor, id).await?;
        let kt = key_type(key_type_name)?;
        let (by_hash, by_id) = match (&req.apikey, &req.key_id) {
            (Some(k), _) if !k.trim().is_empty() => (Some(secrets::sha256(k.trim())), None),
            (_, Some(kid)) => (None, Some(parse_id(kid, "API key")?)),
            _ => return Err(ApiError::field("apikey", "name the key to revoke")),
        };
        let mut tx = self.db.begin().await?;
        let gone = sqlx::query(
            "DELETE FROM api_key WHERE application_id = $1 AND key_type = $2
                AND (key_hash = $3 OR id = $4)",
        )
        .bind(app.id)
        .bind(kt)
        .bind(by_hash)
        .bind(by_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if gone == 0 {
            return Err(ApiError::NotFound(format!(
                "No such {kt} API key of {}",
                app.name
            )));
        }
        super::audit(
            &mut tx,
            actor,
            "application.api_key.revoke",
            "application",
            id,
        )
        .await?;
        runtime::bump_for_application(&mut tx, app.id).await?;
        tx.commit().await?;
        Ok(())
    }
}
