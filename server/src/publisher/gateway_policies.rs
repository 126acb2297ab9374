//! Gateway policy mappings (Publisher v4 `/gateway-policies`, WSO2 4.3's gateway policies;
//! scope `apim:gateway_policy_manage`, `apim:gateway_policy_view` to look): an organization's
//! admin puts mediation policies in a mapping and deploys it to gateway environments, where they
//! run before the own policies of every API of the organization. One mapping per organization
//! and environment, as in WSO2. A change reaches the gateways of the environments concerned in
//! the same transaction (their snapshot versions move).

use app::auth::scopes as s;
use app::gateway_policies::{GatewayPolicyDeployment, GatewayPolicyMapping};
use app::publisher::OperationPolicies;
use gateway::snapshot;
use serde_json::json;
use sqlx::types::Json;
use uuid::Uuid;

use super::validate::{self, Problems};
use super::{Actor, Publisher};
use crate::error::{ApiError, FieldError};

pub const VIEW_SCOPES: &[&str] = &[
    "apim:gateway_policy_view",
    s::GATEWAY_POLICY_MANAGE,
    s::ADMIN,
];
pub const MANAGE_SCOPES: &[&str] = &[s::GATEWAY_POLICY_MANAGE, s::ADMIN];

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    display_name: String,
    description: String,
    policies: Json<OperationPolicies>,
    labels: Vec<String>,
}

impl Row {
    fn into_dto(self) -> GatewayPolicyMapping {
        GatewayPolicyMapping {
            id: self.id.to_string(),
            display_name: self.display_name,
            description: self.description,
            policy_mapping: self.policies.0,
            applied_gateway_labels: self.labels,
        }
    }
}

const SELECT: &str = "SELECT m.id, m.display_name, m.description, m.policies,
        COALESCE(ARRAY(SELECT e.name FROM gateway_policy_deployment d
                         JOIN gateway_environment e ON e.id = d.environment_id
                        WHERE d.mapping_id = m.id ORDER BY e.name), '{}') AS labels
   FROM gateway_policy_mapping m JOIN organization o ON o.id = m.organization_id";

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("Gateway policy mapping {id} not found"))
}

fn mapping_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id.trim()).map_err(|_| not_found(id))
}

fn check(m: &GatewayPolicyMapping) -> Result<(), ApiError> {
    let mut p = Problems::default();
    let name = m.display_name.trim();
    if name.is_empty() {
        p.add("displayName", "is required");
    } else if name.chars().count() > 255 {
        p.add("displayName", "takes at most 255 characters");
    }
    if m.description.chars().count() > 1024 {
        p.add("description", "takes at most 1024 characters");
    }
    if m.policy_mapping.is_empty() {
        p.add(
            "policyMapping",
            "attach at least one policy to the request, response or fault flow",
        );
    }
    validate::check_policies(&mut p, "policyMapping", &m.policy_mapping);
    // Here no API definition can fill these in.
    for (i, r) in m.policy_mapping.request.iter().enumerate() {
        let needs = match r.policy_name.as_str() {
            "jsonSchemaValidation" => Some("schema"),
            "mockResponse" => Some("body"),
            _ => None,
        };
        if let Some(param) = needs
            && !r.parameters.contains_key(param)
        {
            p.add(
                &format!("policyMapping.request[{i}].parameters.{param}"),
                "is required in a gateway policy (no API definition to take it from)",
            );
        }
    }
    p.into_result()
}

impl Publisher {
    /// The organization's mappings, with where each is deployed; `label` keeps those deployed
    /// on that environment (WSO2's `query=gatewayLabel:…`).
    pub async fn gateway_policies(
        &self,
        actor: &Actor,
        label: Option<&str>,
    ) -> Result<Vec<GatewayPolicyMapping>, ApiError> {
        actor.require(VIEW_SCOPES)?;
        let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE o.name = $1 ORDER BY m.display_name"
        )))
        .bind(&actor.organization)
        .fetch_all(&self.db)
        .await?;
        Ok(rows
            .into_iter()
            .map(Row::into_dto)
            .filter(|m| label.is_none_or(|l| m.applied_gateway_labels.iter().any(|x| x == l)))
            .collect())
    }

    pub async fn gateway_policy(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<GatewayPolicyMapping, ApiError> {
        actor.require(VIEW_SCOPES)?;
        let uuid = mapping_id(id)?;
        let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE o.name = $1 AND m.id = $2"
        )))
        .bind(&actor.organization)
        .bind(uuid)
        .fetch_optional(&self.db)
        .await?;
        row.map(Row::into_dto).ok_or_else(|| not_found(id))
    }

    pub async fn create_gateway_policy(
        &self,
        actor: &Actor,
        m: GatewayPolicyMapping,
    ) -> Result<GatewayPolicyMapping, ApiError> {
        actor.require(MANAGE_SCOPES)?;
        check(&m)?;
        let mut tx = self.db.begin().await?;
        let id: Uuid = sqlx::query_scalar(
            "INSERT INTO gateway_policy_mapping (organization_id, display_name, description, policies, created_by)
             SELECT id, $2, $3, $4, $5 FROM organization WHERE name = $1 RETURNING id",
        )
        .bind(&actor.organization)
        .bind(m.display_name.trim())
        .bind(m.description.trim())
        .bind(Json(&m.policy_mapping))
        .bind(&actor.username)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| duplicate(e, &m.display_name))?;
        crate::audit::change_with_detail(
            &mut tx,
            &actor.organization,
            &actor.username,
            "gateway_policy.create",
            "gateway_policy",
            &id.to_string(),
            json!({ "displayName": m.display_name.trim() }),
        )
        .await?;
        tx.commit().await?;
        self.gateway_policy(actor, &id.to_string()).await
    }

    /// Changes a mapping; the environments it is deployed to get it at once.
    pub async fn update_gateway_policy(
        &self,
        actor: &Actor,
        id: &str,
        m: GatewayPolicyMapping,
    ) -> Result<GatewayPolicyMapping, ApiError> {
        actor.require(MANAGE_SCOPES)?;
        let uuid = mapping_id(id)?;
        check(&m)?;
        let mut tx = self.db.begin().await?;
        let n = sqlx::query(
            "UPDATE gateway_policy_mapping m
                SET display_name = $3, description = $4, policies = $5, updated_at = now()
               FROM organization o
              WHERE m.id = $1 AND o.id = m.organization_id AND o.name = $2",
        )
        .bind(uuid)
        .bind(&actor.organization)
        .bind(m.display_name.trim())
        .bind(m.description.trim())
        .bind(Json(&m.policy_mapping))
        .execute(&mut *tx)
        .await
        .map_err(|e| duplicate(e, &m.display_name))?
        .rows_affected();
        if n == 0 {
            return Err(not_found(id));
        }
        let envs: Vec<Uuid> = sqlx::query_scalar(
            "SELECT environment_id FROM gateway_policy_deployment WHERE mapping_id = $1",
        )
        .bind(uuid)
        .fetch_all(&mut *tx)
        .await?;
        super::revisions::bump_environments(&mut tx, &envs).await?;
        crate::keymanager::audit(
            &mut tx,
            actor,
            "gateway_policy.update",
            "gateway_policy",
            id,
        )
        .await?;
        tx.commit().await?;
        self.gateway_policy(actor, id).await
    }

    /// Removes a mapping that is deployed nowhere (409 naming the environments otherwise).
    pub async fn delete_gateway_policy(&self, actor: &Actor, id: &str) -> Result<(), ApiError> {
        actor.require(MANAGE_SCOPES)?;
        let current = self.gateway_policy(actor, id).await?;
        if !current.applied_gateway_labels.is_empty() {
            return Err(ApiError::Conflict {
                message: format!(
                    "{} is deployed to {}; undeploy it first",
                    current.display_name,
                    current.applied_gateway_labels.join(", ")
                ),
                errors: vec![],
            });
        }
        let mut tx = self.db.begin().await?;
        sqlx::query("DELETE FROM gateway_policy_mapping WHERE id = $1")
            .bind(mapping_id(id)?)
            .execute(&mut *tx)
            .await?;
        crate::keymanager::audit(
            &mut tx,
            actor,
            "gateway_policy.delete",
            "gateway_policy",
            id,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// `POST /gateway-policies/{id}/deploy`: deploys to (`gatewayDeployment: true`) or
    /// undeploys from the environments named by `gatewayLabel`. All or nothing; answers the
    /// mapping's deployments afterwards.
    pub async fn deploy_gateway_policy(
        &self,
        actor: &Actor,
        id: &str,
        changes: Vec<GatewayPolicyDeployment>,
    ) -> Result<Vec<GatewayPolicyDeployment>, ApiError> {
        actor.require(MANAGE_SCOPES)?;
        let current = self.gateway_policy(actor, id).await?;
        let uuid = mapping_id(id)?;
        if changes.is_empty() {
            return Err(ApiError::field(
                "body",
                "name at least one environment: [{\"gatewayLabel\": \"Default\", \"gatewayDeployment\": true}]",
            ));
        }
        let environments: Vec<(Uuid, String)> =
            sqlx::query_as("SELECT id, name FROM gateway_environment")
                .fetch_all(&self.db)
                .await?;
        let mut p = Problems::default();
        let mut targets = Vec::new();
        for (i, c) in changes.iter().enumerate() {
            match environments
                .iter()
                .find(|(_, n)| *n == c.gateway_label.trim())
            {
                Some((env, _)) => targets.push((*env, c.gateway_deployment)),
                None => p.add(
                    &format!("[{i}].gatewayLabel"),
                    format!("no gateway environment `{}`", c.gateway_label),
                ),
            }
        }
        p.into_result()?;
        let mut tx = self.db.begin().await?;
        let mut changed = Vec::new();
        for (env, deploy) in targets {
            if deploy {
                let other: Option<String> = sqlx::query_scalar(
                    "SELECT m.display_name FROM gateway_policy_deployment d
                       JOIN gateway_policy_mapping m ON m.id = d.mapping_id
                       JOIN organization o ON o.id = d.organization_id
                      WHERE o.name = $1 AND d.environment_id = $2 AND d.mapping_id <> $3",
                )
                .bind(&actor.organization)
                .bind(env)
                .bind(uuid)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(other) = other {
                    let name = environments
                        .iter()
                        .find(|(e, _)| *e == env)
                        .map(|(_, n)| n.as_str())
                        .unwrap_or_default();
                    return Err(ApiError::Conflict {
                        message: format!(
                            "{name} already runs the gateway policy mapping {other}; undeploy it there first"
                        ),
                        errors: vec![FieldError::new("gatewayLabel", format!("{name} is taken"))],
                    });
                }
                let n = sqlx::query(
                    "INSERT INTO gateway_policy_deployment (mapping_id, environment_id, organization_id, deployed_by)
                     SELECT $1, $2, id, $4 FROM organization WHERE name = $3
                     ON CONFLICT (mapping_id, environment_id) DO NOTHING",
                )
                .bind(uuid)
                .bind(env)
                .bind(&actor.organization)
                .bind(&actor.username)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if n > 0 {
                    changed.push(env);
                }
            } else {
                let n = sqlx::query(
                    "DELETE FROM gateway_policy_deployment WHERE mapping_id = $1 AND environment_id = $2",
                )
                .bind(uuid)
                .bind(env)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if n > 0 {
                    changed.push(env);
                }
            }
        }
        super::revisions::bump_environments(&mut tx, &changed).await?;
        crate::audit::change_with_detail(
            &mut tx,
            &actor.organization,
            &actor.username,
            "gateway_policy.deploy",
            "gateway_policy",
            id,
            json!({ "displayName": current.display_name, "changes": changes }),
        )
        .await?;
        tx.commit().await?;
        let now = self.gateway_policy(actor, id).await?;
        Ok(now
            .applied_gateway_labels
            .into_iter()
            .map(|label| GatewayPolicyDeployment {
                gateway_label: label,
                gateway_deployment: true,
                mapping_uuid: Some(now.id.clone()),
            })
            .collect())
    }
}

fn duplicate(e: sqlx::Error, name: &str) -> ApiError {
    if let sqlx::Error::Database(db) = &e
        && db.constraint() == Some("gateway_policy_mapping_name_key")
    {
        return ApiError::Conflict {
            message: format!("A gateway policy mapping named {} exists", name.trim()),
            errors: vec![FieldError::new("displayName", "is taken")],
        };
    }
    e.into()
}

/// The mappings deployed to `environment`, as its gateways run them.
pub async fn snapshot_sets(
    db: &sqlx::PgPool,
    environment: &str,
) -> Result<Vec<snapshot::GatewayPolicySet>, ApiError> {
    let rows: Vec<(Uuid, String, String, Json<OperationPolicies>)> = sqlx::query_as(
        "SELECT m.id, m.display_name, o.name, m.policies
           FROM gateway_policy_deployment d
           JOIN gateway_environment e ON e.id = d.environment_id
           JOIN gateway_policy_mapping m ON m.id = d.mapping_id
           JOIN organization o ON o.id = d.organization_id
          WHERE e.name = $1
          ORDER BY o.name, d.deployed_at",
    )
    .bind(environment)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, name, organization, policies)| snapshot::GatewayPolicySet {
                id: id.to_string(),
                name,
                organization,
                policies: validate::gateway_policies(&policies.0),
            },
        )
        .collect())
}
