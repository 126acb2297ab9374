//! APIs and API products: list, create (by hand or from an OpenAPI document), read, update,
//! delete, the stored definition, new versions by copy, owner change and lifecycle.

use std::collections::BTreeSet;

use app::publisher::{
    Api, ApiInfo, ApiScope, DefinitionInfo, ErrorItem, LifecycleHistoryItem, LifecycleState,
    Operation, Page, PendingStateChange, Scope, ValidationResponse, lifecycle,
};
use serde_json::{Value, json};
use sqlx::types::Json;
use uuid::Uuid;

use super::openapi::{self, Definition, SpecVersion};
use super::validate::{self, Problems};
use super::{
    API_COLUMNS, Actor, ApiRow, CREATE_SCOPES, DELETE_SCOPES, PRODUCT, PROVIDER_CHANGE, Publisher,
    VIEW_SCOPES, ensure_owner, time,
};
use crate::error::{ApiError, FieldError};

/// `GET /apis?query=&offset=&limit=`.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct ListQuery {
    pub query: Option<String>,
    pub offset: Option<i64>,
    pub limit: Option<i64>,
}

fn conflict(field: &str, message: String) -> ApiError {
    ApiError::Conflict {
        message: message.clone(),
        errors: vec![FieldError::new(field, message)],
    }
}

/// Maps the unique constraints of `api` onto 409s naming the field.
fn map_unique(e: sqlx::Error, api: &Api) -> ApiError {
    if let sqlx::Error::Database(db) = &e {
        match db.constraint() {
            Some("api_context_version_key") => {
                return conflict(
                    "context",
                    format!(
                        "An API with context {} and version {} already exists",
                        api.context, api.version
                    ),
                );
            }
            Some("api_name_version_key") => {
                return conflict(
                    "name",
                    format!(
                        "An API named {} with version {} already exists",
                        api.name, api.version
                    ),
                );
            }
            Some("api_default_version_key") => {
                return conflict(
                    "isDefaultVersion",
                    format!("Another version of {} is already the default", api.context),
                );
            }
            _ => {}
        }
    }
    ApiError::Sqlx(e)
}

/// Scopes named by operations become API scopes (keeping any the publisher described).
fn merge_scopes(api: &mut Api) {
    let named: BTreeSet<String> = api
        .operations
        .iter()
        .flat_map(|o| o.scopes.iter().cloned())
        .collect();
    for name in named {
        if !api.settings.scopes.iter().any(|s| s.scope.name == name) {
            api.settings.scopes.push(ApiScope {
                scope: Scope {
                    display_name: name.clone(),
                    name,
                    ..Default::default()
                },
                shared: false,
            });
        }
    }
}

fn operations_from(def: &Definition) -> Vec<Operation> {
    def.operations
        .iter()
        .map(|o| {
            let mut op = Operation::new(&o.verb, &o.target);
            if !o.auth {
                op.auth_type = "None".into();
            }
            op.scopes = o.scopes.clone();
            op
        })
        .collect()
}

/// Keeps per-operation settings (auth, tier, scopes) of operations that stay.
fn carry_over(old: &[Operation], new: &mut [Operation]) {
    for op in new.iter_mut() {
        if let Some(prev) = old
            .iter()
            .find(|o| o.verb == op.verb && o.target == op.target)
        {
            op.throttling_policy = prev.throttling_policy.clone();
            if op.scopes.is_empty() {
                op.scopes = prev.scopes.clone();
            }
        }
    }
}

/// A fresh OpenAPI 3.0 document for an API made by hand.
fn generated_definition(api: &Api) -> Value {
    let mut doc = json!({
        "openapi": "3.0.1",
        "info": { "title": api.name, "version": api.version },
        "servers": [{ "url": format!("/{}", api.version) }],
        "paths": {},
    });
    if let Some(d) = api.description.as_deref().filter(|d| !d.is_empty()) {
        doc["info"]["description"] = json!(d);
    }
    let ops: Vec<(String, String)> = api
        .operations
        .iter()
        .map(|o| (o.verb.clone(), o.target.clone()))
        .collect();
    openapi::sync_operations(&mut doc, SpecVersion::OpenApi30, &ops);
    doc
}

fn default_operations() -> Vec<Operation> {
    ["GET", "PUT", "POST", "DELETE", "PATCH"]
        .iter()
        .map(|v| Operation::new(v, "/*"))
        .collect()
}

/// Turns a definition's problems into WSO2's 400 body (pointer as `code`).
pub fn definition_error(problems: Vec<openapi::Problem>) -> ApiError {
    let count = problems.len();
    ApiError::BadRequest {
        message: format!(
            "The API definition is invalid: {count} problem{}; first: {} {}",
            if count == 1 { "" } else { "s" },
            problems
                .first()
                .map(|p| if p.pointer.is_empty() {
                    "/"
                } else {
                    p.pointer.as_str()
                })
                .unwrap_or("/"),
            problems.first().map(|p| p.message.as_str()).unwrap_or("")
        ),
        errors: problems
            .into_iter()
            .map(|p| FieldError {
                code: if p.pointer.is_empty() {
                    "/".into()
                } else {
                    p.pointer
                },
                message: p.message,
            })
            .collect(),
    }
}

/// A name the API can carry, from a document title.
fn name_from_title(title: &str) -> String {
    let cleaned: String = title
        .chars()
        .filter(|c| !"~!@#;:%^*()+={}|\\<>\"',&$[]/".contains(*c))
        .collect();
    cleaned
        .trim()
        .chars()
        .take(60)
        .collect::<String>()
        .trim()
        .to_string()
}

fn context_from(def: &Definition, name: &str) -> String {
    if let Some(base) = def.base_path.as_deref()
        && let Ok(c) = validate::normalize_context(base)
    {
        return c;
    }
    let slug: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let slug = slug
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    format!("/{}", if slug.is_empty() { "api" } else { &slug })
}

/// What `validate-openapi` answers: WSO2's validation response.
pub fn validation_response(
    result: &Result<Definition, Vec<openapi::Problem>>,
    with_content: bool,
) -> ValidationResponse {
    match result {
        Ok(def) => {
            let name = name_from_title(&def.title);
            ValidationResponse {
                is_valid: true,
                content: with_content.then(|| def.value.to_string()),
                info: Some(DefinitionInfo {
                    context: context_from(def, &name),
                    name,
                    version: def.info_version.clone(),
                    description: def.description.clone(),
                    open_api_version: def.spec_version.clone(),
                    endpoints: def.endpoints.clone(),
                    operation_count: def.operations.len(),
                }),
                errors: vec![],
            }
        }
        Err(problems) => ValidationResponse {
            is_valid: false,
            content: None,
            info: None,
            errors: problems
                .iter()
                .map(|p| ErrorItem {
                    code: if p.pointer.is_empty() {
                        "/".into()
                    } else {
                        p.pointer.clone()
                    },
                    message: p.message.clone(),
                })
                .collect(),
        },
    }
}

impl Publisher {
    /// The APIs (or products) of the actor's organization the actor may see.
    pub async fn list(
        &self,
        actor: &Actor,
        q: &ListQuery,
        product: bool,
    ) -> Result<Page<ApiInfo>, ApiError> {
        actor.require(VIEW_SCOPES)?;
        let limit = q.limit.unwrap_or(25).clamp(1, 500);
        let offset = q.offset.unwrap_or(0).max(0);
        let search = q
            .query
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                format!(
                    "%{}%",
                    s.replace('\\', "\\\\")
                        .replace('%', "\\%")
                        .replace('_', "\\_")
                )
            });
        // Visible: not restricted, or the actor owns it, is an admin, or has one of its roles.
        let visible = "(a.settings->>'accessControl' IS DISTINCT FROM 'RESTRICTED'
              OR a.provider = $2 OR $3
              OR EXISTS (SELECT 1 FROM app_user u JOIN user_role ur ON ur.user_id = u.id
                           JOIN role r ON r.id = ur.role_id
                          WHERE u.organization_id = a.organization_id AND u.username = $2
                            AND r.name IN (SELECT jsonb_array_elements_text(a.settings->'accessControlRoles'))))";
        let filter = format!(
            "FROM api a JOIN organization o ON o.id = a.organization_id
              WHERE o.name = $1 AND (a.type = 'APIPRODUCT') = $4 AND {visible}
                AND ($5::text IS NULL OR a.name ILIKE $5 OR a.context ILIKE $5
                     OR a.description ILIKE $5 OR a.provider ILIKE $5
                     OR a.settings->'tags' ? trim(both '%' from $5))"
        );
        let total: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) {filter}")))
                .bind(&actor.organization)
                .bind(&actor.username)
                .bind(actor.is_admin())
                .bind(product)
                .bind(&search)
                .fetch_one(&self.db)
                .await?;
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            api: ApiRow,
            deployed_to: Vec<String>,
        }
        let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {API_COLUMNS},
                    ARRAY(SELECT e.name FROM api_deployment d
                            JOIN gateway_environment e ON e.id = d.environment_id
                           WHERE d.api_id = a.id ORDER BY e.name) AS deployed_to
             {filter} ORDER BY lower(a.name), a.version LIMIT $6 OFFSET $7"
        )))
        .bind(&actor.organization)
        .bind(&actor.username)
        .bind(actor.is_admin())
        .bind(product)
        .bind(&search)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.db)
        .await?;
        let list: Vec<ApiInfo> = rows
            .into_iter()
            .map(|r| ApiInfo {
                id: r.api.id.to_string(),
                name: r.api.name.clone(),
                description: Some(r.api.description.clone()),
                context: r.api.context.clone(),
                version: r.api.version.clone(),
                provider: r.api.provider.clone(),
                kind: r.api.kind.clone(),
                life_cycle_status: r.api.lifecycle_status.clone(),
                is_default_version: r.api.is_default_version,
                has_thumbnail: r.api.has_thumbnail,
                security_scheme: r.api.settings.0.security_scheme.clone(),
                created_time: time(r.api.created_at),
                updated_time: time(r.api.updated_at),
                operation_count: r.api.operations.0.len(),
                deployed_to: r.deployed_to,
            })
            .collect();
        let query = q.query.as_deref().map(str::trim).unwrap_or_default();
        let path = if product { "/api-products" } else { "/apis" };
        Ok(Page::new(list, offset, limit, total, |o| {
            super::link(
                path,
                &[
                    ("query", query),
                    ("offset", &o.to_string()),
                    ("limit", &limit.to_string()),
                ],
            )
        }))
    }

    pub async fn get(&self, actor: &Actor, id: &str, product: bool) -> Result<Api, ApiError> {
        Ok(self.load(actor, id, product).await?.to_api())
    }

    /// Creates an API (or product) owned by the actor; with a definition, its operations come
    /// from the document.
    pub async fn create(
        &self,
        actor: &Actor,
        mut api: Api,
        definition: Option<Definition>,
        product: bool,
    ) -> Result<Api, ApiError> {
        actor.require(CREATE_SCOPES)?;
        api.kind = if product {
            PRODUCT.into()
        } else {
            "HTTP".into()
        };
        if product && api.version.trim().is_empty() {
            api.version = "1.0.0".into();
        }
        if let Some(def) = &definition {
            api.operations = operations_from(def);
        } else if !product && api.operations.is_empty() {
            api.operations = default_operations();
        }
        validate::normalize_operations(&mut api.operations);
        validate::check_api(&mut api, product)?;
        self.check_categories(actor, &api.settings.categories)
            .await?;
        self.check_tiers(actor, &api.settings.policies).await?;
        self.check_advanced(actor, &api).await?;
        if product {
            self.resolve_product_apis(actor, &mut api).await?;
        }
        merge_scopes(&mut api);
        let (doc, spec) = match definition {
            Some(d) => (Some(d.value), Some(d.spec_version)),
            None if !product => (Some(generated_definition(&api)), Some("3.0.1".to_string())),
            None => (None, None),
        };
        let mut tx = self.db.begin().await?;
        self.check_context_owner(&mut tx, actor, &api, None).await?;
        if api.is_default_version {
            clear_default(&mut tx, actor, &api.context).await?;
        }
        let id: Uuid = sqlx::query_scalar(
            "INSERT INTO api (organization_id, type, name, context, version, provider,
                              is_default_version, description, settings, operations,
                              definition, definition_version)
             SELECT o.id, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::json, $12
               FROM organization o WHERE o.name = $1
             RETURNING id",
        )
        .bind(&actor.organization)
        .bind(&api.kind)
        .bind(&api.name)
        .bind(&api.context)
        .bind(&api.version)
        .bind(&actor.username)
        .bind(api.is_default_version)
        .bind(api.description.clone().unwrap_or_default())
        .bind(Json(&api.settings))
        .bind(Json(&api.operations))
        .bind(doc.map(|d| d.to_string()))
        .bind(spec)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| map_unique(e, &api))?;
        sqlx::query(
            "INSERT INTO api_lifecycle_event (api_id, previous_state, post_state, username)
             VALUES ($1, NULL, 'CREATED', $2)",
        )
        .bind(id)
        .bind(&actor.username)
        .execute(&mut *tx)
        .await?;
        audit(&mut tx, actor, "create", product, &id.to_string()).await?;
        tx.commit().await?;
        self.get(actor, &id.to_string(), product).await
    }

    /// A context belongs to one API name: other versions share it, other APIs may not.
    async fn check_context_owner(
        &self,
        tx: &mut sqlx::PgConnection,
        actor: &Actor,
        api: &Api,
        except: Option<Uuid>,
    ) -> Result<(), ApiError> {
        let other: Option<String> = sqlx::query_scalar(
            "SELECT a.name FROM api a JOIN organization o ON o.id = a.organization_id
              WHERE o.name = $1 AND a.context = $2 AND a.name <> $3
                AND ($4::uuid IS NULL OR a.id <> $4) LIMIT 1",
        )
        .bind(&actor.organization)
        .bind(&api.context)
        .bind(&api.name)
        .bind(except)
        .fetch_optional(&mut *tx)
        .await?;
        match other {
            Some(name) => Err(conflict(
                "context",
                format!("The context {} is used by the API {name}", api.context),
            )),
            None => Ok(()),
        }
    }

    /// Creates an API from a parsed definition; `additional` is WSO2's `additionalProperties`
    /// (name, version, context, endpointConfig, …); missing ones come from the document.
    pub async fn import(
        &self,
        actor: &Actor,
        def: Definition,
        additional: Option<Value>,
    ) -> Result<Api, ApiError> {
        actor.require(CREATE_SCOPES)?;
        let mut api: Api = match additional {
            Some(v) => serde_json::from_value(v).map_err(|e| {
                ApiError::field(
                    "additionalProperties",
                    format!("does not describe an API: {e}"),
                )
            })?,
            None => Api::default(),
        };
        let mut p = Problems::default();
        if api.name.trim().is_empty() {
            api.name = name_from_title(&def.title);
            if api.name.is_empty() {
                p.add(
                    "additionalProperties.name",
                    "is required: the document's info.title gives no usable name",
                );
            }
        }
        if api.version.trim().is_empty() {
            api.version = def.info_version.trim().replace(char::is_whitespace, "-");
        }
        if api.context.trim().is_empty() {
            api.context = context_from(&def, &api.name);
        }
        if api.description.as_deref().unwrap_or("").is_empty() {
            api.description = def.description.clone();
        }
        if api.settings.endpoint_config.is_none()
            && let Some(url) = def
                .endpoints
                .iter()
                .find(|u| u.starts_with("http://") || u.starts_with("https://"))
        {
            api.settings.endpoint_config = Some(validate::simple_endpoint_config(url, None));
        }
        p.into_result()?;
        self.create(actor, api, Some(def), false).await
    }

    /// Replaces the editable parts of an API (identity fields name, context and version are
    /// fixed after creation, as in WSO2).
    pub async fn update(
        &self,
        actor: &Actor,
        id: &str,
        mut api: Api,
        product: bool,
    ) -> Result<Api, ApiError> {
        let row = self.load_for_edit(actor, id, product).await?;
        let mut p = Problems::default();
        for (field, sent, have) in [
            ("name", &api.name, &row.name),
            ("version", &api.version, &row.version),
        ] {
            if !sent.trim().is_empty() && sent.trim() != have {
                p.add(
                    field,
                    format!("cannot change after creation (is `{have}`); create a new version"),
                );
            }
        }
        if !api.context.trim().is_empty()
            && validate::normalize_context(&api.context).ok().as_deref() != Some(&row.context)
        {
            p.add(
                "context",
                format!("cannot change after creation (is `{}`)", row.context),
            );
        }
        p.into_result()?;
        api.name = row.name.clone();
        api.version = row.version.clone();
        api.context = row.context.clone();
        validate::normalize_operations(&mut api.operations);
        if api.operations.is_empty() && !product {
            return Err(ApiError::field(
                "operations",
                "an API needs at least one operation",
            ));
        }
        validate::check_api(&mut api, product)?;
        self.check_categories(actor, &api.settings.categories)
            .await?;
        self.check_tiers(actor, &api.settings.policies).await?;
        self.check_advanced(actor, &api).await?;
        if product {
            self.resolve_product_apis(actor, &mut api).await?;
        }
        merge_scopes(&mut api);
        let mut tx = self.db.begin().await?;
        if api.is_default_version && !row.is_default_version {
            clear_default(&mut tx, actor, &row.context).await?;
        }
        let definition: Option<Json<Value>> =
            sqlx::query_scalar("SELECT definition FROM api WHERE id = $1 FOR UPDATE")
                .bind(row.id)
                .fetch_one(&mut *tx)
                .await?;
        let definition = match (definition, product) {
            (Some(Json(mut doc)), false) => {
                let version = spec_of(row.definition_version.as_deref());
                let ops: Vec<(String, String)> = api
                    .operations
                    .iter()
                    .map(|o| (o.verb.clone(), o.target.clone()))
                    .collect();
                openapi::sync_operations(&mut doc, version, &ops);
                Some(Json(doc))
            }
            (other, _) => other,
        };
        sqlx::query(
            "UPDATE api SET description = $2, is_default_version = $3, settings = $4,
                            operations = $5, definition = $6::json, updated_at = now()
              WHERE id = $1",
        )
        .bind(row.id)
        .bind(api.description.clone().unwrap_or_default())
        .bind(api.is_default_version)
        .bind(Json(&api.settings))
        .bind(Json(&api.operations))
        .bind(definition.map(|d| d.0.to_string()))
        .execute(&mut *tx)
        .await
        .map_err(|e| map_unique(e, &api))?;
        tx.commit().await?;
        self.get(actor, id, product).await
    }

    pub async fn delete(&self, actor: &Actor, id: &str, product: bool) -> Result<(), ApiError> {
        actor.require(DELETE_SCOPES)?;
        let row = self.load(actor, id, product).await?;
        ensure_owner(actor, &row)?;
        if !product {
            let used_by: Option<String> = sqlx::query_scalar(
                "SELECT p.name FROM api p
                  WHERE p.type = 'APIPRODUCT' AND p.organization_id =
                        (SELECT organization_id FROM api WHERE id = $1)
                    AND EXISTS (SELECT 1 FROM jsonb_array_elements(p.settings->'apis') x
                                 WHERE x->>'apiId' = $1::text)
                  LIMIT 1",
            )
            .bind(row.id)
            .fetch_optional(&self.db)
            .await?;
            if let Some(p) = used_by {
                return Err(conflict(
                    "apiId",
                    format!("The API product {p} uses this API; remove it from the product first"),
                ));
            }
        }
        let mut tx = self.db.begin().await?;
        super::revisions::undeploy_everywhere(&mut tx, row.id).await?;
        crate::workflows::cancel_for_api(&mut tx, row.id, &actor.username).await?;
        sqlx::query("DELETE FROM api WHERE id = $1")
            .bind(row.id)
            .execute(&mut *tx)
            .await?;
        audit(&mut tx, actor, "delete", product, id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `GET /apis/{id}/swagger`: the stored document.
    pub async fn definition(&self, actor: &Actor, id: &str) -> Result<Value, ApiError> {
        let row = self.load(actor, id, false).await?;
        let doc: Option<Json<Value>> =
            sqlx::query_scalar("SELECT definition FROM api WHERE id = $1")
                .bind(row.id)
                .fetch_one(&self.db)
                .await?;
        Ok(doc
            .map(|d| d.0)
            .unwrap_or_else(|| generated_definition(&row.to_api())))
    }

    /// `PUT /apis/{id}/swagger`: replaces the document; operations follow it (settings of
    /// operations that stay are kept).
    pub async fn replace_definition(
        &self,
        actor: &Actor,
        id: &str,
        def: Definition,
    ) -> Result<Value, ApiError> {
        let row = self.load_for_edit(actor, id, false).await?;
        let mut ops = operations_from(&def);
        carry_over(&row.operations.0, &mut ops);
        let mut api = row.to_api();
        api.operations = ops;
        validate::normalize_operations(&mut api.operations);
        let mut p = Problems::default();
        validate::check_operations(&mut p, &api.operations, false);
        p.into_result()?;
        merge_scopes(&mut api);
        sqlx::query(
            "UPDATE api SET operations = $2, settings = $3, definition = $4::json,
                            definition_version = $5, updated_at = now()
              WHERE id = $1",
        )
        .bind(row.id)
        .bind(Json(&api.operations))
        .bind(Json(&api.settings))
        .bind(def.value.to_string())
        .bind(&def.spec_version)
        .execute(&self.db)
        .await?;
        Ok(def.value)
    }

    /// `POST /apis/copy-api`: a new version with everything but revisions, in CREATED.
    pub async fn copy(
        &self,
        actor: &Actor,
        id: &str,
        new_version: &str,
        default_version: bool,
        product: bool,
    ) -> Result<Api, ApiError> {
        actor.require(CREATE_SCOPES)?;
        let row = self.load(actor, id, product).await?;
        let mut p = Problems::default();
        validate::check_version(&mut p, "newVersion", new_version.trim());
        p.into_result()?;
        let definition: Option<Json<Value>> =
            sqlx::query_scalar("SELECT definition FROM api WHERE id = $1")
                .bind(row.id)
                .fetch_one(&self.db)
                .await?;
        let mut api = row.to_api();
        api.version = new_version.trim().to_string();
        api.is_default_version = default_version;
        let def = match definition {
            Some(Json(mut doc)) if !product => {
                if let Some(info) = doc.get_mut("info").and_then(Value::as_object_mut) {
                    info.insert("version".into(), json!(api.version));
                }
                Some(openapi::parse_value(doc).map_err(definition_error)?)
            }
            _ => None,
        };
        let operations = api.operations.clone();
        let created = self.create(actor, api, def, product).await?;
        let new_id = created.id.clone().unwrap_or_default();
        if product {
            return Ok(created);
        }
        // The operations' own settings (auth, tier, scopes) carry over too.
        sqlx::query("UPDATE api SET operations = $2 WHERE id = $1")
            .bind(super::parse_id(&new_id, "API")?)
            .bind(Json(&operations))
            .execute(&self.db)
            .await?;
        self.get(actor, &new_id, product).await
    }

    /// Hands an API to another user of the organization.
    pub async fn change_provider(
        &self,
        actor: &Actor,
        id: &str,
        provider: &str,
    ) -> Result<(), ApiError> {
        // WSO2: `apim:admin` or `apim:api_provider_change` (no Publisher scope besides); the
        // API's owner with a create scope may hand it over too.
        let row = if actor.is_admin() || actor.has(PROVIDER_CHANGE) {
            self.find(actor, id, false).await?
        } else {
            actor.require(CREATE_SCOPES)?;
            self.load(actor, id, false).await?
        };
        if !actor.has(PROVIDER_CHANGE) {
            ensure_owner(actor, &row)?;
        }
        let provider = provider.trim();
        let can_publish: Option<bool> = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM user_role ur JOIN role_scope rs ON rs.role_id = ur.role_id
                             WHERE ur.user_id = u.id
                               AND rs.scope_name IN ('apim:api_create', 'apim:api_manage'))
               FROM app_user u JOIN organization o ON o.id = u.organization_id
              WHERE o.name = $1 AND u.username = $2",
        )
        .bind(&actor.organization)
        .bind(provider)
        .fetch_optional(&self.db)
        .await?;
        match can_publish {
            None => {
                return Err(ApiError::field(
                    "provider",
                    format!("no user `{provider}` in this organization"),
                ));
            }
            Some(false) => {
                return Err(ApiError::field(
                    "provider",
                    format!("`{provider}` cannot create APIs, so cannot own one"),
                ));
            }
            Some(true) => {}
        }
        let mut tx = self.db.begin().await?;
        sqlx::query("UPDATE api SET provider = $2, updated_at = now() WHERE id = $1")
            .bind(row.id)
            .bind(provider)
            .execute(&mut *tx)
            .await?;
        audit(&mut tx, actor, "change_provider", false, id).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn lifecycle_state(
        &self,
        actor: &Actor,
        id: &str,
        product: bool,
    ) -> Result<LifecycleState, ApiError> {
        let row = self.load(actor, id, product).await?;
        let mut conn = self.db.acquire().await?;
        state_view(
            &mut conn,
            &actor.organization,
            row.id,
            &row.lifecycle_status,
        )
        .await
    }

    pub async fn lifecycle_history(
        &self,
        actor: &Actor,
        id: &str,
        product: bool,
    ) -> Result<Vec<LifecycleHistoryItem>, ApiError> {
        let row = self.load(actor, id, product).await?;
        let rows: Vec<(
            Option<String>,
            String,
            String,
            chrono::DateTime<chrono::Utc>,
        )> = sqlx::query_as(
            "SELECT previous_state, post_state, username, created_at
                   FROM api_lifecycle_event WHERE api_id = $1 ORDER BY id",
        )
        .bind(row.id)
        .fetch_all(&self.db)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(previous_state, post_state, user, at)| LifecycleHistoryItem {
                    previous_state,
                    post_state,
                    user,
                    updated_time: time(at),
                },
            )
            .collect())
    }

    /// `POST /apis/change-lifecycle?action=…&lifecycleChecklist=…`. The transition must be
    /// in the lifecycle and not switched off by the organization; with approval of state
    /// changes on, it waits as an `API_STATE` workflow (`workflowStatus: CREATED`).
    pub async fn change_lifecycle(
        &self,
        actor: &Actor,
        id: &str,
        action: &str,
        checklist: &str,
        product: bool,
    ) -> Result<Value, ApiError> {
        let row = self.load_for_publish(actor, id, product).await?;
        let from = row.lifecycle_status.as_str();
        let Some(to) = lifecycle::target(from, action.trim()) else {
            let allowed: Vec<&str> = lifecycle::events(from).map(|(e, _)| e).collect();
            return Err(ApiError::field(
                "action",
                if allowed.is_empty() {
                    format!("`{action}` is not possible: {from} is a final state")
                } else {
                    format!(
                        "`{action}` is not possible from {from}; allowed: {}",
                        allowed.join(", ")
                    )
                },
            ));
        };
        let event = lifecycle::events(from)
            .find(|(e, _)| e.eq_ignore_ascii_case(action.trim()))
            .map(|(e, _)| e)
            .unwrap_or(to);
        let mut deprecate_old = false;
        for item in checklist.split(',').filter(|s| !s.trim().is_empty()) {
            let (name, value) = item.rsplit_once(':').unwrap_or((item, "true"));
            let name = name.trim();
            if !lifecycle::check_items(from).contains(&name) {
                return Err(ApiError::field(
                    "lifecycleChecklist",
                    format!("`{name}` is not a checklist item of {from}"),
                ));
            }
            let on = value.trim().eq_ignore_ascii_case("true");
            if name == lifecycle::DEPRECATE_OLD_VERSIONS {
                deprecate_old = on;
            }
        }
        if to == lifecycle::PUBLISHED || to == lifecycle::PROTOTYPED {
            ensure_deployed(&self.db, row.id, action, product).await?;
        }
        let mut tx = self.db.begin().await?;
        let settings = crate::admin_settings::org_settings(&mut tx, &actor.organization).await?;
        if !settings.allows(from, event) {
            return Err(ApiError::field(
                "action",
                format!(
                    "`{event}` from {from} is switched off in this organization's lifecycle settings"
                ),
            ));
        }
        if to == lifecycle::PUBLISHED
            && settings.require_category
            && row.settings.categories.is_empty()
        {
            return Err(ApiError::field(
                "categories",
                "this organization publishes only APIs with a category; pick one in Basic info",
            ));
        }
        // Serializes state changes of this API (and their approval requests).
        let org: Uuid =
            sqlx::query_scalar("SELECT organization_id FROM api WHERE id = $1 FOR UPDATE")
                .bind(row.id)
                .fetch_one(&mut *tx)
                .await?;
        if let Some(p) = pending_state_change(&mut tx, row.id).await? {
            return Err(ApiError::Conflict {
                message: format!(
                    "A change to {} ({}) is waiting for approval; cancel it first",
                    p.target_state, p.event
                ),
                errors: vec![FieldError::new("action", "a state change is pending")],
            });
        }
        if crate::workflows::needs_approval(&mut tx, org, app::workflows::API_STATE, None).await? {
            crate::workflows::open(
                &mut tx,
                org,
                app::workflows::API_STATE,
                row.id,
                &actor.username,
                format!("{} {} {}: {from} → {to}", row.what(), row.name, row.version),
                json!({
                    "apiId": row.id.to_string(),
                    "apiName": row.name,
                    "apiVersion": row.version,
                    "apiContext": row.context,
                    "apiProvider": row.provider,
                    "apiType": row.kind,
                    "action": event,
                    "currentState": from,
                    "targetState": to,
                    "deprecateOldVersions": deprecate_old,
                }),
            )
            .await?;
            audit(
                &mut tx,
                actor,
                &format!("lifecycle_requested.{to}"),
                product,
                id,
            )
            .await?;
            let state = state_view(&mut tx, &actor.organization, row.id, from).await?;
            tx.commit().await?;
            return Ok(json!({
                "workflowStatus": "CREATED",
                "jsonPayload": "",
                "lifecycleState": state,
            }));
        }
        apply_lifecycle(&mut tx, row.id, from, to, deprecate_old, &actor.username).await?;
        audit(&mut tx, actor, &format!("lifecycle.{to}"), product, id).await?;
        let state = state_view(&mut tx, &actor.organization, row.id, to).await?;
        tx.commit().await?;
        Ok(json!({
            "workflowStatus": "APPROVED",
            "jsonPayload": "",
            "lifecycleState": state,
        }))
    }

    /// `DELETE /apis/{apiId}/lifecycle-state/pending-tasks`: withdraws the state change
    /// waiting for approval (404 when none waits).
    pub async fn cancel_state_change(
        &self,
        actor: &Actor,
        id: &str,
        product: bool,
    ) -> Result<(), ApiError> {
        let row = self.load_for_publish(actor, id, product).await?;
        let mut tx = self.db.begin().await?;
        let n = crate::workflows::cancel(
            &mut tx,
            &[app::workflows::API_STATE],
            row.id,
            &actor.username,
        )
        .await?;
        if n == 0 {
            return Err(ApiError::NotFound(format!(
                "No state change of {} {id} is waiting for approval",
                row.what()
            )));
        }
        audit(&mut tx, actor, "lifecycle_request_cancelled", product, id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Each subscription tier offered must be a subscription policy of the organization.
    async fn check_tiers(&self, actor: &Actor, tiers: &[String]) -> Result<(), ApiError> {
        if tiers.is_empty() {
            return Ok(());
        }
        let known =
            crate::throttling::names(&self.db, &actor.organization, app::throttling::SUBSCRIPTION)
                .await?;
        unknown_entries("policies", tiers, &known, |t| {
            format!(
                "no subscription policy `{t}`; use one of {}",
                known.join(", ")
            )
        })
    }

    /// The API's `apiThrottlingPolicy` and each operation's `throttlingPolicy` must name an
    /// advanced policy of the organization (`Unlimited`, or nothing, limits nothing).
    async fn check_advanced(&self, actor: &Actor, api: &Api) -> Result<(), ApiError> {
        let named = |n: &str| !n.trim().is_empty() && n.trim() != app::throttling::UNLIMITED;
        let api_level = api
            .settings
            .api_throttling_policy
            .as_deref()
            .filter(|n| named(n));
        if api_level.is_none() && !api.operations.iter().any(|o| named(&o.throttling_policy)) {
            return Ok(());
        }
        let known = crate::throttling::advanced::names(&self.db, &actor.organization).await?;
        let message = |n: &str| {
            format!(
                "no advanced throttling policy `{n}`; use one of {}",
                known.join(", ")
            )
        };
        let mut p = Problems::default();
        if let Some(n) = api_level
            && !known.iter().any(|k| k == n.trim())
        {
            p.add("apiThrottlingPolicy", message(n));
        }
        for (i, o) in api.operations.iter().enumerate() {
            let n = o.throttling_policy.trim();
            if named(n) && !known.iter().any(|k| k == n) {
                p.add(&format!("operations[{i}].throttlingPolicy"), message(n));
            }
        }
        p.into_result()
    }

    /// Each category must be one the organization's admins defined (Admin portal).
    async fn check_categories(&self, actor: &Actor, categories: &[String]) -> Result<(), ApiError> {
        if categories.is_empty() {
            return Ok(());
        }
        let known: Vec<String> = sqlx::query_scalar(
            "SELECT c.name FROM api_category c JOIN organization o ON o.id = c.organization_id
              WHERE o.name = $1",
        )
        .bind(&actor.organization)
        .fetch_all(&self.db)
        .await?;
        unknown_entries("categories", categories, &known, |c| {
            format!("no API category `{c}`; an admin adds categories in the Admin portal")
        })
    }

    /// Fills in a product's APIs (name, version) and checks every operation exists in them.
    async fn resolve_product_apis(&self, actor: &Actor, api: &mut Api) -> Result<(), ApiError> {
        let mut p = Problems::default();
        if api.settings.apis.is_empty() {
            p.add(
                "apis",
                "an API product needs operations from at least one API",
            );
        }
        let mut operations = Vec::new();
        for (i, part) in api.settings.apis.iter_mut().enumerate() {
            let source = match self.load(actor, &part.api_id, false).await {
                Ok(r) => r,
                Err(_) => {
                    p.add(
                        &format!("apis[{i}].apiId"),
                        format!("no API {} in this organization", part.api_id),
                    );
                    continue;
                }
            };
            part.name = source.name.clone();
            part.version = source.version.clone();
            if part.operations.is_empty() {
                p.add(
                    &format!("apis[{i}].operations"),
                    "pick at least one operation",
                );
            }
            for (j, op) in part.operations.iter_mut().enumerate() {
                op.verb = op.verb.trim().to_ascii_uppercase();
                match source
                    .operations
                    .0
                    .iter()
                    .find(|o| o.verb == op.verb && o.target == op.target)
                {
                    Some(found) => {
                        op.auth_type = found.auth_type.clone();
                        op.scopes = found.scopes.clone();
                        operations.push(op.clone());
                    }
                    None => p.add(
                        &format!("apis[{i}].operations[{j}]"),
                        format!("{} has no operation {} {}", source.name, op.verb, op.target),
                    ),
                }
            }
        }
        let mut seen = BTreeSet::new();
        for op in &operations {
            if !seen.insert((op.verb.clone(), op.target.clone())) {
                p.add(
                    "apis",
                    format!(
                        "{} {} comes from two APIs; a product's operations must be distinct",
                        op.verb, op.target
                    ),
                );
            }
        }
        p.into_result()?;
        api.operations = operations;
        Ok(())
    }
}

/// Audit entry `api.<what>` or `api_product.<what>` in the change's transaction.
/// Publishing or prototyping needs a deployed revision (the API would not be reachable).
pub async fn ensure_deployed(
    conn: impl sqlx::PgExecutor<'_>,
    api: Uuid,
    action: &str,
    product: bool,
) -> Result<(), ApiError> {
    let deployed: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM api_deployment WHERE api_id = $1)")
            .bind(api)
            .fetch_one(conn)
            .await?;
    if deployed {
        return Ok(());
    }
    Err(ApiError::field(
        "action",
        format!(
            "deploy a revision to a gateway environment before `{action}` (the {} would not be reachable)",
            if product { "API product" } else { "API" }
        ),
    ))
}

/// The lifecycle state as the organization allows it (its switched-off transitions left out),
/// with the state change waiting for approval, if any.
pub async fn state_view(
    conn: &mut sqlx::PgConnection,
    organization: &str,
    api: Uuid,
    state: &str,
) -> Result<LifecycleState, ApiError> {
    let settings = crate::admin_settings::org_settings(&mut *conn, organization).await?;
    let mut view = LifecycleState::of(state);
    view.available_transitions
        .retain(|t| settings.allows(state, &t.event));
    view.pending = pending_state_change(conn, api).await?;
    Ok(view)
}

async fn pending_state_change(
    conn: &mut sqlx::PgConnection,
    api: Uuid,
) -> sqlx::Result<Option<PendingStateChange>> {
    let row: Option<(Uuid, Json<Value>, String, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(
        "SELECT id, properties, requested_by, created_at FROM workflow
          WHERE object_id = $1 AND workflow_type = 'API_STATE' AND status = 'CREATED'",
    )
    .bind(api)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|(id, Json(p), by, at)| PendingStateChange {
        workflow_id: id.to_string(),
        event: p["action"].as_str().unwrap_or_default().to_string(),
        target_state: p["targetState"].as_str().unwrap_or_default().to_string(),
        requested_by: by,
        requested_at: time(at),
    }))
}

/// The state change itself, in the caller's transaction: the API (and with "deprecate old
/// versions" its published older versions) moves, the history records it, a retired API
/// leaves every gateway. Used directly and by the approval of an `API_STATE` workflow.
pub async fn apply_lifecycle(
    tx: &mut sqlx::PgConnection,
    api: Uuid,
    from: &str,
    to: &str,
    deprecate_old: bool,
    username: &str,
) -> Result<(), ApiError> {
    let mut changed = vec![(api, from.to_string(), to.to_string())];
    if deprecate_old && to == lifecycle::PUBLISHED {
        let old: Vec<(Uuid, String)> = sqlx::query_as(
            "SELECT o.id, o.lifecycle_status FROM api o JOIN api a ON a.id = $1
              WHERE o.organization_id = a.organization_id AND o.name = a.name AND o.id <> a.id
                AND o.type = a.type AND o.lifecycle_status = 'PUBLISHED'
                FOR UPDATE OF o",
        )
        .bind(api)
        .fetch_all(&mut *tx)
        .await?;
        changed.extend(
            old.into_iter()
                .map(|(id, state)| (id, state, lifecycle::DEPRECATED.to_string())),
        );
    }
    for (api_id, previous, next) in &changed {
        sqlx::query("UPDATE api SET lifecycle_status = $2, updated_at = now() WHERE id = $1")
            .bind(api_id)
            .bind(next)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO api_lifecycle_event (api_id, previous_state, post_state, username)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(api_id)
        .bind(previous)
        .bind(next)
        .bind(username)
        .execute(&mut *tx)
        .await?;
    }
    if to == lifecycle::RETIRED {
        // A retired API leaves every gateway.
        super::revisions::undeploy_everywhere(&mut *tx, api).await?;
    }
    Ok(())
}

/// Names each entry of `sent` that is not in `known`, as `field[i]`.
fn unknown_entries(
    field: &str,
    sent: &[String],
    known: &[String],
    message: impl Fn(&str) -> String,
) -> Result<(), ApiError> {
    let mut p = Problems::default();
    for (i, entry) in sent.iter().enumerate() {
        if !known.contains(entry) {
            p.add(&format!("{field}[{i}]"), message(entry));
        }
    }
    p.into_result()
}

pub async fn audit(
    tx: &mut sqlx::PgConnection,
    actor: &Actor,
    what: &str,
    product: bool,
    id: &str,
) -> Result<(), ApiError> {
    let kind = if product { "api_product" } else { "api" };
    crate::audit::change(
        tx,
        &actor.organization,
        &actor.username,
        &format!("{kind}.{what}"),
        kind,
        id,
    )
    .await?;
    Ok(())
}

fn spec_of(version: Option<&str>) -> SpecVersion {
    match version {
        Some(v) if v.starts_with("2") => SpecVersion::Swagger2,
        Some(v) if v.starts_with("3.1") => SpecVersion::OpenApi31,
        _ => SpecVersion::OpenApi30,
    }
}

async fn clear_default(
    tx: &mut sqlx::PgConnection,
    actor: &Actor,
    context: &str,
) -> Result<(), ApiError> {
    sqlx::query(
        "UPDATE api SET is_default_version = false
          WHERE is_default_version AND context = $2
            AND organization_id = (SELECT id FROM organization WHERE name = $1)",
    )
    .bind(&actor.organization)
    .bind(context)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
