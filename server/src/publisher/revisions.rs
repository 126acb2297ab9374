//! Revisions (immutable snapshots of an API or product), gateway environments, deployments,
//! and the runtime snapshot the control plane serves to an environment's gateways.

use app::auth::scopes as s;
use app::publisher::{
    Api, Deployment, Environment, EnvironmentInput, Revision, RevisionApiInfo, VHost,
};
use chrono::{DateTime, Utc};
use gateway::snapshot::{self, Snapshot};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use super::validate::{self, Problems};
use super::{Actor, PRODUCT, Publisher, parse_id, time};
use crate::error::{ApiError, FieldError, ResultExt};
use app::workflows::REVISION_DEPLOYMENT;

/// Marks environments changed: their gateways pick up a new snapshot version.
pub async fn bump_environments(
    tx: &mut sqlx::PgConnection,
    environments: &[Uuid],
) -> Result<(), ApiError> {
    if !environments.is_empty() {
        sqlx::query("UPDATE gateway_environment SET revision = revision + 1 WHERE id = ANY($1)")
            .bind(environments)
            .execute(tx)
            .await?;
    }
    Ok(())
}

/// Takes an API off every gateway (deleted or retired).
pub async fn undeploy_everywhere(tx: &mut sqlx::PgConnection, api: Uuid) -> Result<(), ApiError> {
    let envs: Vec<Uuid> =
        sqlx::query_scalar("DELETE FROM api_deployment WHERE api_id = $1 RETURNING environment_id")
            .bind(api)
            .fetch_all(&mut *tx)
            .await?;
    bump_environments(tx, &envs).await
}

#[derive(sqlx::FromRow)]
struct RevisionRow {
    id: Uuid,
    number: i32,
    description: String,
    created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct DeploymentRow {
    revision_id: Uuid,
    environment: String,
    vhost: String,
    display_on_devportal: bool,
    status: String,
    deployed_at: DateTime<Utc>,
}

impl DeploymentRow {
    fn to_dto(&self) -> Deployment {
        Deployment {
            revision_uuid: Some(self.revision_id.to_string()),
            name: self.environment.clone(),
            vhost: Some(self.vhost.clone()),
            display_on_devportal: self.display_on_devportal,
            status: Some(self.status.clone()),
            deployed_time: Some(time(self.deployed_at)),
            success_deployed_time: Some(time(self.deployed_at)),
        }
    }
}

#[derive(sqlx::FromRow)]
struct EnvironmentRow {
    id: Uuid,
    name: String,
    display_name: String,
    description: String,
    #[sqlx(rename = "type")]
    kind: String,
    vhosts: Json<Vec<VHost>>,
    gateway_type: String,
}

impl EnvironmentRow {
    fn to_dto(&self) -> Environment {
        let first = self.vhosts.0.first().cloned().unwrap_or_default();
        Environment {
            id: self.id.to_string(),
            name: self.name.clone(),
            display_name: self.display_name.clone(),
            description: self.description.clone(),
            kind: self.kind.clone(),
            server_url: format!("http://{}:{}", first.host, first.http_port.unwrap_or(8280)),
            provider: "gatehouse".into(),
            show_in_api_console: true,
            vhosts: self.vhosts.0.clone(),
            is_read_only: self.name == DEFAULT_ENVIRONMENT,
            gateway_type: wso2_gateway_type(&self.gateway_type).into(),
        }
    }
}

pub const DEFAULT_ENVIRONMENT: &str = "Default";

/// Gateway environments serve every organization: only admins of the platform's own (default)
/// organization change them.
fn ensure_platform_admin(actor: &Actor, platform: &str) -> Result<(), ApiError> {
    if actor.organization == platform {
        return Ok(());
    }
    Err(ApiError::Forbidden(format!(
        "Gateway environments are shared by every organization; only admins of {platform} change them"
    )))
}

/// Our gateway types: `native` (Gatehouse gateways fetch the snapshot) or `kubernetes` (a
/// Kubernetes Gateway API implementation serves the rendered routes). WSO2 4.3 names them
/// `Regular` and `APK`; both spellings are accepted, WSO2's is returned.
fn gateway_type_of(sent: Option<&str>) -> Option<&'static str> {
    match sent.map(|t| t.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") | Some("native") | Some("regular") => Some("native"),
        Some("kubernetes") | Some("apk") => Some("kubernetes"),
        _ => None,
    }
}

fn wso2_gateway_type(ours: &str) -> &'static str {
    if ours == "kubernetes" {
        "APK"
    } else {
        "Regular"
    }
}

fn is_host(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 255
        && h.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// Checks an environment an admin sends; every problem names its field.
fn check_environment(input: &mut EnvironmentInput) -> Result<(), ApiError> {
    let mut p = Problems::default();
    input.name = input.name.trim().to_string();
    if input.name.is_empty() || input.name.len() > 255 {
        p.add("name", "is required (at most 255 characters)");
    } else if !input
        .name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        p.add(
            "name",
            "use letters, digits, - _ and . (it appears in URLs and gateway settings)",
        );
    }
    if input.display_name.trim().is_empty() {
        input.display_name = input.name.clone();
    }
    match gateway_type_of(input.gateway_type.as_deref()) {
        Some(t) => input.gateway_type = Some(t.into()),
        None => p.add(
            "gatewayType",
            "must be native (Regular) or kubernetes (APK)",
        ),
    }
    let kind = input.kind.get_or_insert_with(|| "hybrid".into());
    if !["hybrid", "production", "sandbox"].contains(&kind.as_str()) {
        p.add("type", "must be hybrid, production or sandbox");
    }
    if input.vhosts.is_empty() {
        p.add("vhosts", "name at least one virtual host");
    }
    let mut seen = std::collections::HashSet::new();
    for (i, v) in input.vhosts.iter_mut().enumerate() {
        v.host = v.host.trim().to_ascii_lowercase();
        if !is_host(&v.host) {
            p.add(
                &format!("vhosts[{i}].host"),
                format!("`{}` is not a host name", v.host),
            );
        } else if !seen.insert(v.host.clone()) {
            p.add(
                &format!("vhosts[{i}].host"),
                format!("`{}` is listed twice", v.host),
            );
        }
        if v.http_port.is_none() && v.https_port.is_none() {
            v.http_port = Some(8280);
        }
        if v.http_port == Some(0) || v.https_port == Some(0) {
            p.add(&format!("vhosts[{i}]"), "ports must be 1 to 65535");
        }
    }
    p.into_result()
}

fn revision_of(id: &str) -> Result<Uuid, ApiError> {
    parse_id(id, "Revision")
}

/// The gateway's runtime form of an API or product revision (`snapshot.apis[]`).
fn artifact(
    api: &Api,
    id: Uuid,
    organization: &str,
    sources: &[(String, Api)],
    definition: Option<&Value>,
) -> Result<snapshot::Api, ApiError> {
    let to_op = |o: &app::publisher::Operation| {
        let mut op = snapshot::Operation {
            method: o.verb.clone(),
            target: o.target.clone(),
            endpoints: None,
            open: !o.secured(),
            scopes: o.scopes.clone(),
            policies: validate::gateway_policies(&o.operation_policies),
            throttling_policy: advanced_policy(Some(&o.throttling_policy)),
            ..Default::default()
        };
        if let Some(doc) = definition {
            super::from_definition::fill(doc, &api.settings.api_policies, &mut op);
        }
        op
    };
    let endpoints_of = |a: &Api, field: &str| -> Result<snapshot::Endpoints, ApiError> {
        let mut p = Problems::default();
        let found = a
            .settings
            .endpoint_config
            .as_ref()
            .and_then(|cfg| validate::endpoints(&mut p, cfg));
        p.into_result()?;
        found.ok_or_else(|| {
            ApiError::field(
                field,
                format!(
                    "{} has no production endpoint; set one before deploying",
                    a.name
                ),
            )
        })
    };
    if api.kind != PRODUCT {
        return Ok(snapshot::Api {
            id: id.to_string(),
            name: api.name.clone(),
            context: api.context.clone(),
            version: api.version.clone(),
            is_default_version: api.is_default_version,
            endpoints: endpoints_of(api, "endpointConfig")?,
            operations: api.operations.iter().map(to_op).collect(),
            organization: organization.to_string(),
            security: security(api),
            max_tps: max_tps(api),
            policies: validate::gateway_policies(&api.settings.api_policies),
            throttling_policy: advanced_policy(api.settings.api_throttling_policy.as_ref()),
        });
    }
    // A product routes each operation to its own API's endpoints: the first API's serve as the
    // product's, operations of the others carry theirs.
    let mut main: Option<snapshot::Endpoints> = None;
    let mut operations = Vec::new();
    for part in &api.settings.apis {
        let source = sources
            .iter()
            .find(|(id, _)| *id == part.api_id)
            .map(|(_, a)| a)
            .ok_or_else(|| ApiError::field("apis", format!("API {} is gone", part.api_id)))?;
        let e = endpoints_of(source, "apis")?;
        let main = main.get_or_insert_with(|| e.clone());
        for op in &part.operations {
            // Security of an operation is its API's: the product only picks it.
            let own = source
                .operations
                .iter()
                .find(|o| o.verb == op.verb && o.target == op.target)
                .unwrap_or(op);
            operations.push(snapshot::Operation {
                endpoints: (*main != e).then(|| e.clone()),
                ..to_op(own)
            });
        }
    }
    Ok(snapshot::Api {
        id: id.to_string(),
        name: api.name.clone(),
        context: api.context.clone(),
        version: api.version.clone(),
        is_default_version: api.is_default_version,
        endpoints: main.ok_or_else(|| ApiError::field("apis", "the product has no APIs"))?,
        operations,
        organization: organization.to_string(),
        security: security(api),
        max_tps: max_tps(api),
        policies: validate::gateway_policies(&api.settings.api_policies),
        throttling_policy: advanced_policy(api.settings.api_throttling_policy.as_ref()),
    })
}

/// An advanced policy name as the gateway reads it: none for Unlimited (or nothing).
fn advanced_policy(name: Option<&String>) -> Option<String> {
    name.map(|n| n.trim())
        .filter(|n| !n.is_empty() && *n != app::throttling::UNLIMITED)
        .map(str::to_string)
}

/// WSO2's `maxTps` as the gateway enforces it.
fn max_tps(api: &Api) -> Option<snapshot::MaxTps> {
    let m = api.settings.max_tps.as_ref()?;
    let rate = |count: Option<i64>, unit: &Option<String>| {
        let requests = u64::try_from(count?).ok().filter(|c| *c > 0)?;
        Some(snapshot::Rate {
            requests,
            period_seconds: app::publisher::MaxTps::unit_seconds(unit.as_deref())?,
        })
    };
    let out = snapshot::MaxTps {
        production: rate(m.production, &m.production_time_unit),
        sandbox: rate(m.sandbox, &m.sandbox_time_unit),
    };
    (out.production.is_some() || out.sandbox.is_some()).then_some(out)
}

/// How the gateway authenticates callers of `api` (WSO2's `securityScheme`): OAuth2 bearer
/// tokens, API keys, or both. Schemes the gateway does not implement yet (basic auth, mutual
/// TLS) leave the API secured by what remains; an API with none of them still needs a token.
fn security(api: &Api) -> Option<snapshot::Security> {
    let s = &api.settings;
    let has = |scheme: &str| s.security_scheme.iter().any(|x| x == scheme);
    let api_key = has("api_key");
    Some(snapshot::Security {
        oauth2: has("oauth2") || !api_key,
        authorization_header: s
            .authorization_header
            .clone()
            .filter(|h| !h.trim().is_empty())
            .unwrap_or_else(|| "Authorization".into()),
        api_key,
        api_key_header: if s.api_key_header.trim().is_empty() {
            app::publisher::DEFAULT_API_KEY_HEADER.into()
        } else {
            s.api_key_header.clone()
        },
        api_key_query: s.api_key_in_query,
        backend_jwt: s.enable_backend_jwt.then(|| snapshot::BackendJwt {
            header: if s.backend_jwt_header.trim().is_empty() {
                app::publisher::DEFAULT_BACKEND_JWT_HEADER.into()
            } else {
                s.backend_jwt_header.clone()
            },
            ttl_seconds: 900,
        }),
    })
}

impl Publisher {
    async fn deployments_of(&self, api: Uuid) -> Result<Vec<DeploymentRow>, ApiError> {
        Ok(sqlx::query_as(
            "SELECT d.revision_id, e.name AS environment, d.vhost, d.display_on_devportal,
                    d.status, d.deployed_at
               FROM api_deployment d JOIN gateway_environment e ON e.id = d.environment_id
              WHERE d.api_id = $1
             UNION ALL
             -- Waiting for approval (WSO2 shows these as CREATED).
             SELECT p.revision_id, e.name, p.vhost, p.display_on_devportal, 'CREATED', p.requested_at
               FROM pending_deployment p JOIN gateway_environment e ON e.id = p.environment_id
              WHERE p.api_id = $1
             ORDER BY 2, 5",
        )
        .bind(api)
        .fetch_all(&self.db)
        .await?)
    }

    pub async fn list_revisions(
        &self,
        actor: &Actor,
        id: &str,
        product: bool,
    ) -> Result<Vec<Revision>, ApiError> {
        let row = self.load(actor, id, product).await?;
        let revisions: Vec<RevisionRow> = sqlx::query_as(
            "SELECT id, number, description, created_at FROM api_revision
              WHERE api_id = $1 ORDER BY number",
        )
        .bind(row.id)
        .fetch_all(&self.db)
        .await?;
        let deployments = self.deployments_of(row.id).await?;
        Ok(revisions
            .into_iter()
            .map(|r| Revision {
                id: r.id.to_string(),
                display_name: format!("Revision {}", r.number),
                description: r.description,
                created_time: time(r.created_at),
                api_info: RevisionApiInfo {
                    id: row.id.to_string(),
                },
                deployment_info: deployments
                    .iter()
                    .filter(|d| d.revision_id == r.id)
                    .map(DeploymentRow::to_dto)
                    .collect(),
            })
            .collect())
    }

    pub async fn get_revision(
        &self,
        actor: &Actor,
        id: &str,
        revision: &str,
        product: bool,
    ) -> Result<Revision, ApiError> {
        let rid = revision_of(revision)?;
        self.list_revisions(actor, id, product)
            .await?
            .into_iter()
            .find(|r| r.id == rid.to_string())
            .ok_or_else(|| ApiError::NotFound(format!("Revision {revision} not found")))
    }

    /// Snapshots the working copy as the next revision (at most `max_revisions`).
    pub async fn create_revision(
        &self,
        actor: &Actor,
        id: &str,
        description: &str,
        product: bool,
    ) -> Result<Revision, ApiError> {
        let row = self.load_for_publish(actor, id, product).await?;
        if description.chars().count() > 255 {
            return Err(ApiError::field(
                "description",
                "must be at most 255 characters",
            ));
        }
        let mut tx = self.db.begin().await?;
        // Serialises revision numbering per API.
        let definition: Option<Json<Value>> =
            sqlx::query_scalar("SELECT definition FROM api WHERE id = $1 FOR UPDATE")
                .bind(row.id)
                .fetch_one(&mut *tx)
                .await?;
        let (count, last): (i64, Option<i32>) =
            sqlx::query_as("SELECT count(*), max(number) FROM api_revision WHERE api_id = $1")
                .bind(row.id)
                .fetch_one(&mut *tx)
                .await?;
        let max = i64::from(self.settings.max_revisions);
        if count >= max {
            return Err(ApiError::BadRequest {
                message: format!(
                    "Maximum number of revisions ({max}) reached; delete an undeployed revision first"
                ),
                errors: vec![FieldError::new(
                    "revision",
                    format!("at most {max} revisions per API"),
                )],
            });
        }
        let snapshot = serde_json::json!({
            "api": row.to_api(),
            "definition": definition.map(|d| d.0),
        });
        let number = last.unwrap_or(0) + 1;
        let rid: Uuid = sqlx::query_scalar(
            "INSERT INTO api_revision (api_id, number, description, snapshot, created_by)
             VALUES ($1, $2, $3, $4::json, $5) RETURNING id",
        )
        .bind(row.id)
        .bind(number)
        .bind(description.trim())
        .bind(snapshot.to_string())
        .bind(&actor.username)
        .fetch_one(&mut *tx)
        .await?;
        super::apis::audit(&mut tx, actor, "revision.create", product, id).await?;
        tx.commit().await?;
        self.get_revision(actor, id, &rid.to_string(), product)
            .await
    }

    pub async fn delete_revision(
        &self,
        actor: &Actor,
        id: &str,
        revision: &str,
        product: bool,
    ) -> Result<(), ApiError> {
        let row = self.load_for_publish(actor, id, product).await?;
        let rid = revision_of(revision)?;
        let deployed: Vec<String> = sqlx::query_scalar(
            "SELECT e.name FROM api_deployment d JOIN gateway_environment e ON e.id = d.environment_id
              WHERE d.revision_id = $1",
        )
        .bind(rid)
        .fetch_all(&self.db)
        .await?;
        if !deployed.is_empty() {
            return Err(ApiError::field(
                "revisionId",
                format!(
                    "the revision is deployed to {}; undeploy it first",
                    deployed.join(", ")
                ),
            ));
        }
        let mut tx = self.db.begin().await?;
        // Deployments of it waiting for approval go with it.
        let pending: Vec<Uuid> =
            sqlx::query_scalar("SELECT id FROM pending_deployment WHERE revision_id = $1")
                .bind(rid)
                .fetch_all(&mut *tx)
                .await?;
        for p in pending {
            crate::workflows::cancel(&mut tx, &[REVISION_DEPLOYMENT], p, &actor.username).await?;
        }
        let done = sqlx::query("DELETE FROM api_revision WHERE id = $1 AND api_id = $2")
            .bind(rid)
            .bind(row.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        if done.rows_affected() == 0 {
            return Err(ApiError::NotFound(format!("Revision {revision} not found")));
        }
        Ok(())
    }

    /// Copies a revision back into the working copy (not name, context, version, owner or
    /// lifecycle state).
    pub async fn restore_revision(
        &self,
        actor: &Actor,
        id: &str,
        revision: &str,
        product: bool,
    ) -> Result<Api, ApiError> {
        let row = self.load_for_edit(actor, id, product).await?;
        let rid = revision_of(revision)?;
        let snapshot: Option<Json<Value>> =
            sqlx::query_scalar("SELECT snapshot FROM api_revision WHERE id = $1 AND api_id = $2")
                .bind(rid)
                .bind(row.id)
                .fetch_optional(&self.db)
                .await?;
        let Json(snapshot) =
            snapshot.ok_or_else(|| ApiError::NotFound(format!("Revision {revision} not found")))?;
        let api: Api = serde_json::from_value(snapshot["api"].clone())
            .map_err(|e| ApiError::Anyhow(anyhow::anyhow!("revision {rid} unreadable: {e}")))?;
        let definition = snapshot.get("definition").cloned().filter(|d| !d.is_null());
        sqlx::query(
            "UPDATE api SET description = $2, settings = $3, operations = $4,
                            definition = COALESCE($5::json, definition), updated_at = now()
              WHERE id = $1",
        )
        .bind(row.id)
        .bind(api.description.unwrap_or_default())
        .bind(Json(&api.settings))
        .bind(Json(&api.operations))
        .bind(definition.map(|d| d.to_string()))
        .execute(&self.db)
        .await?;
        self.get(actor, id, product).await
    }

    pub async fn environments(&self) -> Result<Vec<Environment>, ApiError> {
        let rows = self.environment_rows().await?;
        Ok(rows.iter().map(EnvironmentRow::to_dto).collect())
    }

    pub async fn deployments(
        &self,
        actor: &Actor,
        id: &str,
        product: bool,
    ) -> Result<Vec<Deployment>, ApiError> {
        let row = self.load(actor, id, product).await?;
        Ok(self
            .deployments_of(row.id)
            .await?
            .iter()
            .map(DeploymentRow::to_dto)
            .collect())
    }

    /// Deploys a revision to environments (replacing what was live there for this API).
    pub async fn deploy(
        &self,
        actor: &Actor,
        id: &str,
        revision: &str,
        targets: Vec<Deployment>,
        product: bool,
    ) -> Result<Vec<Deployment>, ApiError> {
        let row = self.load_for_publish(actor, id, product).await?;
        if row.lifecycle_status == app::publisher::lifecycle::RETIRED {
            return Err(ApiError::field(
                "revisionId",
                "a retired API cannot be deployed",
            ));
        }
        let rid = revision_of(revision)?;
        if targets.is_empty() {
            return Err(ApiError::field(
                "body",
                "name at least one environment: [{\"name\": \"Default\", \"vhost\": \"localhost\"}]",
            ));
        }
        let snapshot: Option<Json<Value>> =
            sqlx::query_scalar("SELECT snapshot FROM api_revision WHERE id = $1 AND api_id = $2")
                .bind(rid)
                .bind(row.id)
                .fetch_optional(&self.db)
                .await?;
        let Json(snapshot) = snapshot.ok_or_else(|| {
            ApiError::field("revisionId", format!("no revision {revision} of this API"))
        })?;
        let api: Api = serde_json::from_value(snapshot["api"].clone())
            .map_err(|e| ApiError::Anyhow(anyhow::anyhow!("revision {rid} unreadable: {e}")))?;
        let sources = if product {
            let mut out = Vec::new();
            for part in &api.settings.apis {
                let source = self.load(actor, &part.api_id, false).await?;
                out.push((part.api_id.clone(), source.to_api()));
            }
            out
        } else {
            vec![]
        };
        let definition = snapshot.get("definition").filter(|d| d.is_object());
        let runtime = artifact(&api, row.id, &actor.organization, &sources, definition)?;
        // The gateway refuses a snapshot with problems; refuse them here, where they can be fixed.
        let problems = Snapshot {
            apis: vec![runtime.clone()],
            // The environment's backend-JWT key joins when the snapshot is served.
            backend_jwt_key: Some(snapshot::SigningKey {
                kid: "environment".into(),
                pkcs8: String::new(),
            }),
            ..Snapshot::default()
        }
        .problems();
        if !problems.is_empty() {
            return Err(ApiError::BadRequest {
                message: format!(
                    "This revision cannot run on a gateway: {}",
                    problems
                        .iter()
                        .map(|p| p.message.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
                errors: problems
                    .into_iter()
                    .map(|p| {
                        FieldError::new(
                            "revisionId",
                            format!("{}: {}", p.at.trim_start_matches("apis[0]."), p.message),
                        )
                    })
                    .collect(),
            });
        }
        let environments = self.environment_rows().await?;
        let mut p = Problems::default();
        let mut resolved = Vec::new();
        for (i, t) in targets.iter().enumerate() {
            let Some(env) = environments.iter().find(|e| e.name == t.name) else {
                p.add(
                    &format!("[{i}].name"),
                    format!(
                        "no gateway environment `{}`; known: {}",
                        t.name,
                        environments
                            .iter()
                            .map(|e| e.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
                continue;
            };
            let vhost = match t.vhost.as_deref().filter(|v| !v.is_empty()) {
                Some(v) if env.vhosts.0.iter().any(|h| h.host == v) => v.to_string(),
                Some(v) => {
                    p.add(
                        &format!("[{i}].vhost"),
                        format!("`{v}` is not a virtual host of {}", env.name),
                    );
                    continue;
                }
                None => env
                    .vhosts
                    .0
                    .first()
                    .map(|h| h.host.clone())
                    .unwrap_or_else(|| "localhost".into()),
            };
            resolved.push((env.id, vhost, t.display_on_devportal, env.name.clone()));
        }
        p.into_result()?;
        let mut tx = self.db.begin().await?;
        let organization: Uuid =
            sqlx::query_scalar("SELECT organization_id FROM api WHERE id = $1")
                .bind(row.id)
                .fetch_one(&mut *tx)
                .await?;
        if crate::workflows::needs_approval(&mut tx, organization, REVISION_DEPLOYMENT, None)
            .await?
        {
            let number: i32 = sqlx::query_scalar("SELECT number FROM api_revision WHERE id = $1")
                .bind(rid)
                .fetch_one(&mut *tx)
                .await?;
            for (env, vhost, display, env_name) in resolved {
                let pending: Uuid = sqlx::query_scalar(
                    "INSERT INTO pending_deployment (api_id, environment_id, revision_id, vhost,
                                                     display_on_devportal, artifact, requested_by)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                )
                .bind(row.id)
                .bind(env)
                .bind(rid)
                .bind(&vhost)
                .bind(display)
                .bind(Json(&runtime))
                .bind(&actor.username)
                .fetch_one(&mut *tx)
                .await
                .on_constraint("pending_deployment_one_per_environment", || ApiError::Conflict {
                    message: format!(
                        "A deployment of {} to {env_name} already waits for approval; cancel it first",
                        row.name
                    ),
                    errors: vec![FieldError::new("name", "a deployment waits for approval here")],
                })?;
                let live: Option<i32> = sqlx::query_scalar(
                    "SELECT r.number FROM api_deployment d JOIN api_revision r ON r.id = d.revision_id
                      WHERE d.api_id = $1 AND d.environment_id = $2",
                )
                .bind(row.id)
                .bind(env)
                .fetch_optional(&mut *tx)
                .await?;
                crate::workflows::open(
                    &mut tx,
                    organization,
                    REVISION_DEPLOYMENT,
                    pending,
                    &actor.username,
                    format!(
                        "Deploy revision {number} of {} {} to {env_name}",
                        row.name, row.version
                    ),
                    serde_json::json!({
                        "apiId": row.id.to_string(),
                        "apiName": row.name,
                        "apiVersion": row.version,
                        "apiContext": row.context,
                        "revision": format!("Revision {number}"),
                        "revisionId": rid.to_string(),
                        "environment": env_name,
                        "vhost": vhost,
                        "liveRevision": live.map(|n| format!("Revision {n}")).unwrap_or_else(|| "none".into()),
                        "operations": runtime.operations.len(),
                    }),
                )
                .await?;
            }
            super::apis::audit(&mut tx, actor, "deploy.requested", product, id).await?;
            tx.commit().await?;
            return self.deployments(actor, id, product).await;
        }
        let mut changed = Vec::new();
        for (env, vhost, display, _) in resolved {
            sqlx::query(
                "INSERT INTO api_deployment (api_id, environment_id, revision_id, vhost,
                                             display_on_devportal, artifact, deployed_by)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (api_id, environment_id) DO UPDATE
                   SET revision_id = EXCLUDED.revision_id, vhost = EXCLUDED.vhost,
                       display_on_devportal = EXCLUDED.display_on_devportal,
                       artifact = EXCLUDED.artifact, deployed_by = EXCLUDED.deployed_by,
                       deployed_at = now(), status = 'APPROVED'",
            )
            .bind(row.id)
            .bind(env)
            .bind(rid)
            .bind(&vhost)
            .bind(display)
            .bind(Json(&runtime))
            .bind(&actor.username)
            .execute(&mut *tx)
            .await?;
            changed.push(env);
        }
        bump_environments(&mut tx, &changed).await?;
        super::apis::audit(&mut tx, actor, "deploy", product, id).await?;
        tx.commit().await?;
        self.deployments(actor, id, product).await
    }

    /// Takes the revision off the named environments (all where it is live if `all`).
    pub async fn undeploy(
        &self,
        actor: &Actor,
        id: &str,
        revision: &str,
        targets: Vec<Deployment>,
        all: bool,
        product: bool,
    ) -> Result<Vec<Deployment>, ApiError> {
        let row = self.load_for_publish(actor, id, product).await?;
        let rid = revision_of(revision)?;
        let names: Vec<String> = targets.into_iter().map(|t| t.name).collect();
        if names.is_empty() && !all {
            return Err(ApiError::field(
                "body",
                "name the environments to undeploy from, or set allEnvironments=true",
            ));
        }
        let mut tx = self.db.begin().await?;
        let envs: Vec<Uuid> = sqlx::query_scalar(
            "DELETE FROM api_deployment d USING gateway_environment e
              WHERE e.id = d.environment_id AND d.api_id = $1 AND d.revision_id = $2
                AND ($3 OR e.name = ANY($4))
              RETURNING d.environment_id",
        )
        .bind(row.id)
        .bind(rid)
        .bind(all)
        .bind(&names)
        .fetch_all(&mut *tx)
        .await?;
        if envs.is_empty() {
            return Err(ApiError::field(
                "revisionId",
                "the revision is not deployed to the named environments",
            ));
        }
        bump_environments(&mut tx, &envs).await?;
        super::apis::audit(&mut tx, actor, "undeploy", product, id).await?;
        tx.commit().await?;
        self.deployments(actor, id, product).await
    }

    /// Withdraws a deployment waiting for approval
    /// (`POST /apis/{apiId}/cancel-revision-workflow/{revisionId}/{envName}`).
    pub async fn cancel_deployment(
        &self,
        actor: &Actor,
        id: &str,
        revision: &str,
        environment: &str,
        product: bool,
    ) -> Result<Vec<Deployment>, ApiError> {
        let row = self.load_for_publish(actor, id, product).await?;
        let rid = revision_of(revision)?;
        let mut tx = self.db.begin().await?;
        let pending: Option<Uuid> = sqlx::query_scalar(
            "DELETE FROM pending_deployment p USING gateway_environment e
              WHERE e.id = p.environment_id AND p.api_id = $1 AND p.revision_id = $2 AND e.name = $3
             RETURNING p.id",
        )
        .bind(row.id)
        .bind(rid)
        .bind(environment)
        .fetch_optional(&mut *tx)
        .await?;
        let pending = pending.ok_or_else(|| {
            ApiError::NotFound(format!(
                "No deployment of this revision to {environment} waits for approval"
            ))
        })?;
        crate::workflows::cancel(&mut tx, &[REVISION_DEPLOYMENT], pending, &actor.username).await?;
        super::apis::audit(&mut tx, actor, "deploy.cancelled", product, id).await?;
        tx.commit().await?;
        self.deployments(actor, id, product).await
    }

    /// Admin: adds a gateway environment.
    pub async fn create_environment(
        &self,
        actor: &Actor,
        mut input: EnvironmentInput,
        platform: &str,
    ) -> Result<Environment, ApiError> {
        actor.require(&[s::ADMIN, s::ENVIRONMENT_MANAGE])?;
        ensure_platform_admin(actor, platform)?;
        check_environment(&mut input)?;
        let mut tx = self.db.begin().await?;
        let row: EnvironmentRow = sqlx::query_as(
            "INSERT INTO gateway_environment (name, display_name, description, type, vhosts, gateway_type)
             VALUES ($1, $2, $3, $4, $5, $6)
             RETURNING id, name, display_name, description, type, vhosts, gateway_type",
        )
        .bind(&input.name)
        .bind(input.display_name.trim())
        .bind(input.description.trim())
        .bind(input.kind.as_deref().unwrap_or("hybrid"))
        .bind(Json(&input.vhosts))
        .bind(input.gateway_type.as_deref())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(db)
                if db.constraint() == Some("gateway_environment_name_key") =>
            {
                ApiError::Conflict {
                    message: format!("An environment named {} exists", input.name),
                    errors: vec![FieldError::new("name", "is taken")],
                }
            }
            _ => ApiError::Sqlx(e),
        })?;
        crate::audit::change(
            &mut tx,
            &actor.organization,
            &actor.username,
            "environment.create",
            "environment",
            &row.name,
        )
        .await?;
        tx.commit().await?;
        Ok(row.to_dto())
    }

    /// An environment an admin may change: (id, name); 404 if unknown, 400 for `Default`.
    async fn changeable_environment(
        &self,
        actor: &Actor,
        id: &str,
        field: &str,
        platform: &str,
    ) -> Result<(Uuid, String), ApiError> {
        actor.require(&[s::ADMIN, s::ENVIRONMENT_MANAGE])?;
        ensure_platform_admin(actor, platform)?;
        let uuid = parse_id(id, "Environment")?;
        let name: Option<String> =
            sqlx::query_scalar("SELECT name FROM gateway_environment WHERE id = $1")
                .bind(uuid)
                .fetch_optional(&self.db)
                .await?;
        let name = name.ok_or_else(|| ApiError::NotFound(format!("Environment {id} not found")))?;
        if name == DEFAULT_ENVIRONMENT {
            return Err(ApiError::field(
                field,
                "the Default environment is read-only",
            ));
        }
        Ok((uuid, name))
    }

    /// Admin: changes display name, description, type and virtual hosts (not the name, which
    /// gateways are configured with). `Default` is read-only.
    pub async fn update_environment(
        &self,
        actor: &Actor,
        id: &str,
        mut input: EnvironmentInput,
        platform: &str,
    ) -> Result<Environment, ApiError> {
        let (uuid, current) = self
            .changeable_environment(actor, id, "name", platform)
            .await?;
        if input.name.trim().is_empty() {
            input.name = current.clone();
        }
        check_environment(&mut input)?;
        if input.name != current {
            return Err(ApiError::field(
                "name",
                format!("cannot change (is `{current}`); gateways are configured with it"),
            ));
        }
        let mut tx = self.db.begin().await?;
        let row: EnvironmentRow = sqlx::query_as(
            "UPDATE gateway_environment
                SET display_name = $2, description = $3, type = $4, vhosts = $5,
                    gateway_type = $6, revision = revision + 1
              WHERE id = $1
             RETURNING id, name, display_name, description, type, vhosts, gateway_type",
        )
        .bind(uuid)
        .bind(input.display_name.trim())
        .bind(input.description.trim())
        .bind(input.kind.as_deref().unwrap_or("hybrid"))
        .bind(Json(&input.vhosts))
        .bind(input.gateway_type.as_deref())
        .fetch_one(&mut *tx)
        .await?;
        crate::audit::change_with_detail(
            &mut tx,
            &actor.organization,
            &actor.username,
            "environment.update",
            "environment",
            &row.name,
            serde_json::json!({ "vhosts": &input.vhosts, "gatewayType": &row.gateway_type }),
        )
        .await?;
        tx.commit().await?;
        Ok(row.to_dto())
    }

    /// Admin: removes an environment nothing is deployed to.
    pub async fn delete_environment(
        &self,
        actor: &Actor,
        id: &str,
        platform: &str,
    ) -> Result<(), ApiError> {
        let (uuid, name) = self
            .changeable_environment(actor, id, "environmentId", platform)
            .await?;
        let deployed: i64 =
            sqlx::query_scalar("SELECT count(*) FROM api_deployment WHERE environment_id = $1")
                .bind(uuid)
                .fetch_one(&self.db)
                .await?;
        if deployed > 0 {
            return Err(ApiError::Conflict {
                message: format!(
                    "{deployed} API revision(s) are deployed to {name}; undeploy them first"
                ),
                errors: vec![FieldError::new("environmentId", "has deployments")],
            });
        }
        let mut tx = self.db.begin().await?;
        sqlx::query("DELETE FROM gateway_environment WHERE id = $1")
            .bind(uuid)
            .execute(&mut *tx)
            .await?;
        crate::audit::change(
            &mut tx,
            &actor.organization,
            &actor.username,
            "environment.delete",
            "environment",
            &name,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn environment_rows(&self) -> Result<Vec<EnvironmentRow>, ApiError> {
        Ok(sqlx::query_as(
            "SELECT id, name, display_name, description, type, vhosts, gateway_type
               FROM gateway_environment ORDER BY name",
        )
        .fetch_all(&self.db)
        .await?)
    }

    /// The version of an environment's snapshot.
    pub async fn environment_version(&self, environment: &str) -> Result<i64, ApiError> {
        let version: Option<i64> =
            sqlx::query_scalar("SELECT revision FROM gateway_environment WHERE name = $1")
                .bind(environment)
                .fetch_optional(&self.db)
                .await?;
        version.ok_or_else(|| ApiError::NotFound(format!("No gateway environment {environment}")))
    }

    /// A gateway asked for the environment's snapshot holding `version` (None: none yet).
    pub async fn record_gateway(
        &self,
        environment: &str,
        gateway: &str,
        version: Option<i64>,
    ) -> Result<(), ApiError> {
        let gateway: String = gateway.chars().take(200).collect();
        sqlx::query(
            "INSERT INTO gateway_instance (environment_id, gateway_id, snapshot_version, last_contact)
             SELECT id, $2, $3, now() FROM gateway_environment WHERE name = $1
             ON CONFLICT (environment_id, gateway_id)
             DO UPDATE SET snapshot_version = coalesce(EXCLUDED.snapshot_version, gateway_instance.snapshot_version),
                           last_contact = now()",
        )
        .bind(environment)
        .bind(gateway)
        .bind(version)
        .execute(&self.db)
        .await?;
        Ok(())
    }

    /// A gateway's diagnostics report (`gateway` sends it with its token every few seconds).
    pub async fn record_diagnostics(
        &self,
        environment: &str,
        gateway: &str,
        report: &Value,
    ) -> Result<(), ApiError> {
        let gateway: String = gateway.chars().take(200).collect();
        let done = sqlx::query(
            "INSERT INTO gateway_instance (environment_id, gateway_id, last_contact, diagnostics, diagnostics_at)
             SELECT id, $2, now(), $3, now() FROM gateway_environment WHERE name = $1
             ON CONFLICT (environment_id, gateway_id)
             DO UPDATE SET diagnostics = EXCLUDED.diagnostics, diagnostics_at = now(),
                           last_contact = now()",
        )
        .bind(environment)
        .bind(gateway)
        .bind(Json(report))
        .execute(&self.db)
        .await?;
        if done.rows_affected() == 0 {
            return Err(ApiError::NotFound(format!(
                "No gateway environment {environment}"
            )));
        }
        Ok(())
    }

    /// The last diagnostics report of `gateway` in `environment` (Admin portal, Admin v4).
    pub async fn gateway_diagnostics(
        &self,
        actor: &Actor,
        environment: &str,
        gateway: &str,
    ) -> Result<Option<app::publisher::GatewayDiagnostics>, ApiError> {
        actor.require(&[s::ADMIN, s::ENVIRONMENT_READ, s::ENVIRONMENT_MANAGE])?;
        /// (report, when it came)
        type Row = (Option<Json<Value>>, Option<DateTime<Utc>>);
        let row: Option<Row> = sqlx::query_as(
            "SELECT g.diagnostics, g.diagnostics_at
               FROM gateway_instance g JOIN gateway_environment e ON e.id = g.environment_id
              WHERE e.name = $1 AND g.gateway_id = $2",
        )
        .bind(environment)
        .bind(gateway)
        .fetch_optional(&self.db)
        .await?;
        // An unknown gateway has no report either.
        let Some((report, at)) = row else {
            return Ok(None);
        };
        Ok(match (report, at) {
            (Some(Json(report)), Some(at)) => Some(app::publisher::GatewayDiagnostics {
                environment: environment.to_string(),
                gateway_id: gateway.to_string(),
                reported_at: time(at),
                seconds_ago: (Utc::now() - at).num_seconds().max(0),
                report,
            }),
            _ => None,
        })
    }

    /// Gateways seen in the last `within` of each environment, newest first.
    pub async fn gateways(
        &self,
        actor: &Actor,
    ) -> Result<Vec<app::publisher::GatewayInstance>, ApiError> {
        actor.require(&[s::ADMIN, s::ENVIRONMENT_READ, s::ENVIRONMENT_MANAGE])?;
        /// (environment, gateway, version held, last contact, environment's version)
        type Row = (String, String, Option<i64>, DateTime<Utc>, i64);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT e.name, g.gateway_id, g.snapshot_version, g.last_contact, e.revision
               FROM gateway_instance g JOIN gateway_environment e ON e.id = g.environment_id
              WHERE g.last_contact > now() - interval '1 day'
              ORDER BY e.name, g.last_contact DESC",
        )
        .fetch_all(&self.db)
        .await?;
        let now = Utc::now();
        Ok(rows
            .into_iter()
            .map(
                |(environment, id, version, last, current)| app::publisher::GatewayInstance {
                    environment,
                    gateway_id: id,
                    snapshot_version: version,
                    current_version: current,
                    last_contact: time(last),
                    seconds_ago: (now - last).num_seconds().max(0),
                },
            )
            .collect())
    }

    /// The runtime snapshot of an environment: every deployed, not retired revision.
    pub async fn environment_snapshot(&self, environment: &str) -> Result<Snapshot, ApiError> {
        let version = self.environment_version(environment).await?;
        let artifacts: Vec<Json<snapshot::Api>> = sqlx::query_scalar(
            "SELECT d.artifact FROM api_deployment d
               JOIN gateway_environment e ON e.id = d.environment_id
               JOIN api a ON a.id = d.api_id
              WHERE e.name = $1 AND a.lifecycle_status <> 'RETIRED'
              ORDER BY a.context, a.version",
        )
        .bind(environment)
        .fetch_all(&self.db)
        .await?;
        Ok(Snapshot {
            version: u64::try_from(version).unwrap_or(0),
            environment: environment.to_string(),
            apis: artifacts.into_iter().map(|a| a.0).collect(),
            gateway_policies: super::gateway_policies::snapshot_sets(&self.db, environment).await?,
            ..Snapshot::default()
        })
    }
}
