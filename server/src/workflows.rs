//! Approval workflows. An admin switches approval on per type for the organization
//! (`workflow_setting`). A change that needs approval is written in its pending state — an
//! application `CREATED`, a subscription `ON_HOLD`, a tier change `TIER_UPDATE_PENDING` — in the
//! same transaction as one `workflow` row. A workflow admin approves or rejects it; the decision,
//! its effect on the object, the gateways' snapshot version and the audit entry are one
//! transaction, so a crash leaves either all of them or none. The requester withdrawing the
//! object (deleting the application, unsubscribing) cancels the workflow.

use app::auth::scopes as s;
use app::publisher::Page;
use app::workflows::{
    API_STATE, APPLICATION_CREATION, REVISION_DEPLOYMENT, SUBSCRIPTION_CREATION,
    SUBSCRIPTION_UPDATE, TYPES, USER_SIGNUP, WorkflowDecision, WorkflowInfo, WorkflowSetting,
    parse_type,
};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::error::{ApiError, FieldError};
use crate::keymanager::runtime;
use crate::publisher::{Actor, time};

/// Who may read the queue, decide, and switch approval on or off.
pub const VIEW_SCOPES: &[&str] = &[s::WORKFLOW_VIEW, s::WORKFLOW_APPROVE, s::ADMIN];
pub const APPROVE_SCOPES: &[&str] = &[s::WORKFLOW_APPROVE, s::ADMIN];
pub const SETTINGS_SCOPES: &[&str] = &[s::ADMIN_SETTINGS, s::ADMIN];

pub const PENDING: &str = "CREATED";

/// Inside the requesting change's transaction: must `kind` be approved in this organization
/// (for this tier, where the switch names tiers)?
pub async fn needs_approval(
    conn: &mut PgConnection,
    organization_id: Uuid,
    kind: &str,
    tier: Option<&str>,
) -> sqlx::Result<bool> {
    let row: Option<(bool, Vec<String>)> = sqlx::query_as(
        "SELECT enabled, tiers FROM workflow_setting WHERE organization_id = $1 AND workflow_type = $2",
    )
    .bind(organization_id)
    .bind(kind)
    .fetch_optional(conn)
    .await?;
    Ok(match row {
        Some((true, tiers)) => {
            tiers.is_empty() || tier.is_some_and(|t| tiers.iter().any(|x| x == t))
        }
        _ => false,
    })
}

/// Inside the requesting change's transaction: queue the request for approval.
pub async fn open(
    conn: &mut PgConnection,
    organization_id: Uuid,
    kind: &str,
    object_id: Uuid,
    requested_by: &str,
    description: String,
    properties: Value,
) -> sqlx::Result<Uuid> {
    sqlx::query_scalar(
        "INSERT INTO workflow (organization_id, workflow_type, object_id, description, properties, requested_by)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(organization_id)
    .bind(kind)
    .bind(object_id)
    .bind(description)
    .bind(properties)
    .bind(requested_by)
    .fetch_one(conn)
    .await
}

/// Inside the withdrawing change's transaction: the requester withdrew `object_id` (deleted
/// the application, unsubscribed), so its pending workflows of `kinds` are cancelled.
pub async fn cancel(
    conn: &mut PgConnection,
    kinds: &[&str],
    object_id: Uuid,
    by: &str,
) -> sqlx::Result<u64> {
    let kinds: Vec<String> = kinds.iter().map(|k| k.to_string()).collect();
    Ok(sqlx::query(
        "UPDATE workflow SET status = 'CANCELLED', decided_by = $3, decided_at = now(),
                decision_note = 'withdrawn by the requester'
          WHERE object_id = $1 AND workflow_type = ANY($2) AND status = 'CREATED'",
    )
    .bind(object_id)
    .bind(&kinds)
    .bind(by)
    .execute(conn)
    .await?
    .rows_affected())
}

/// Inside the deleting transaction: an API is going, and with it its subscriptions and the
/// deployments waiting for approval; their pending workflows are cancelled.
pub async fn cancel_for_api(conn: &mut PgConnection, api: Uuid, by: &str) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "UPDATE workflow SET status = 'CANCELLED', decided_by = $2, decided_at = now(),
                decision_note = 'the API was deleted'
          WHERE status = 'CREATED'
            AND ((workflow_type IN ('SUBSCRIPTION_CREATION', 'SUBSCRIPTION_UPDATE')
                  AND object_id IN (SELECT id FROM subscription WHERE api_id = $1))
              OR (workflow_type = 'REVISION_DEPLOYMENT'
                  AND object_id IN (SELECT id FROM pending_deployment WHERE api_id = $1))
              OR (workflow_type = 'API_STATE' AND object_id = $1))",
    )
    .bind(api)
    .bind(by)
    .execute(conn)
    .await?
    .rows_affected())
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    workflow_type: String,
    status: String,
    object_id: Uuid,
    description: String,
    properties: Json<serde_json::Map<String, Value>>,
    requested_by: String,
    created_at: DateTime<Utc>,
    decided_by: Option<String>,
    decided_at: Option<DateTime<Utc>>,
    decision_note: Option<String>,
}

impl Row {
    fn to_dto(&self) -> WorkflowInfo {
        WorkflowInfo {
            workflow_type: self.workflow_type.clone(),
            workflow_status: self.status.clone(),
            created_time: time(self.created_at),
            updated_time: time(self.decided_at.unwrap_or(self.created_at)),
            reference_id: self.id.to_string(),
            properties: self.properties.0.clone(),
            description: self.description.clone(),
            requested_by: self.requested_by.clone(),
            decided_by: self.decided_by.clone(),
            decision_note: self.decision_note.clone(),
        }
    }
}

const COLUMNS: &str = "w.id, w.workflow_type, w.status, w.object_id, w.description, w.properties, \
     w.requested_by, w.created_at, w.decided_by, w.decided_at, w.decision_note";

#[derive(Clone)]
pub struct Workflows {
    pub db: PgPool,
}

fn parse_kind(kind: &str) -> Result<&'static str, ApiError> {
    parse_type(kind).ok_or_else(|| {
        ApiError::field(
            "workflowType",
            format!(
                "`{kind}` is not a workflow type here; use one of {}",
                TYPES.iter().map(|(t, _)| *t).collect::<Vec<_>>().join(", ")
            ),
        )
    })
}

impl Workflows {
    /// The organization's workflows, oldest first: pending ones unless `status` asks otherwise.
    pub async fn list(
        &self,
        actor: &Actor,
        kind: Option<&str>,
        status: Option<&str>,
        offset: i64,
        limit: i64,
    ) -> Result<Page<WorkflowInfo>, ApiError> {
        actor.require(VIEW_SCOPES)?;
        let kind = match kind.map(str::trim).filter(|k| !k.is_empty()) {
            Some(k) => Some(parse_kind(k)?),
            None => None,
        };
        let status = status
            .map(|s| s.trim().to_ascii_uppercase())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| PENDING.into());
        if !["CREATED", "APPROVED", "REJECTED", "CANCELLED"].contains(&status.as_str()) {
            return Err(ApiError::field(
                "status",
                "CREATED, APPROVED, REJECTED or CANCELLED",
            ));
        }
        let (offset, limit) = (offset.max(0), limit.clamp(1, 200));
        let filter = "FROM workflow w JOIN organization o ON o.id = w.organization_id
              WHERE o.name = $1 AND w.status = $2 AND ($3::text IS NULL OR w.workflow_type = $3)";
        let total: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) {filter}")))
                .bind(&actor.organization)
                .bind(&status)
                .bind(kind)
                .fetch_one(&self.db)
                .await?;
        let order = if status == PENDING {
            "w.created_at, w.id"
        } else {
            "w.decided_at DESC, w.id"
        };
        let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} {filter} ORDER BY {order} OFFSET $4 LIMIT $5"
        )))
        .bind(&actor.organization)
        .bind(&status)
        .bind(kind)
        .bind(offset)
        .bind(limit)
        .fetch_all(&self.db)
        .await?;
        let type_q = kind
            .map(|k| format!("&workflowType={k}"))
            .unwrap_or_default();
        Ok(Page::new(
            rows.iter().map(Row::to_dto).collect(),
            offset,
            limit,
            total,
            |o| format!("/workflows?limit={limit}&offset={o}{type_q}"),
        ))
    }

    pub async fn get(&self, actor: &Actor, reference: &str) -> Result<WorkflowInfo, ApiError> {
        actor.require(VIEW_SCOPES)?;
        let id = workflow_id(reference)?;
        let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM workflow w JOIN organization o ON o.id = w.organization_id
              WHERE w.id = $1 AND o.name = $2"
        )))
        .bind(id)
        .bind(&actor.organization)
        .fetch_optional(&self.db)
        .await?;
        row.map(|r| r.to_dto()).ok_or_else(|| not_found(reference))
    }

    /// Approves or rejects a pending workflow; the object changes with it, atomically.
    pub async fn decide(
        &self,
        actor: &Actor,
        reference: &str,
        decision: WorkflowDecision,
    ) -> Result<WorkflowInfo, ApiError> {
        actor.require(APPROVE_SCOPES)?;
        let id = workflow_id(reference)?;
        let approved = match decision.status.trim().to_ascii_uppercase().as_str() {
            "APPROVED" => true,
            "REJECTED" => false,
            _ => return Err(ApiError::field("status", "APPROVED or REJECTED")),
        };
        let note = decision
            .description
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_string);
        if note.as_ref().is_some_and(|n| n.chars().count() > 1000) {
            return Err(ApiError::field("description", "at most 1,000 characters"));
        }
        let mut tx = self.db.begin().await?;
        let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM workflow w JOIN organization o ON o.id = w.organization_id
              WHERE w.id = $1 AND o.name = $2 FOR UPDATE OF w"
        )))
        .bind(id)
        .bind(&actor.organization)
        .fetch_optional(&mut *tx)
        .await?;
        let row = row.ok_or_else(|| not_found(reference))?;
        if row.status != PENDING {
            return Err(ApiError::Conflict {
                message: format!(
                    "Workflow {reference} is already {}{}",
                    row.status,
                    row.decided_by
                        .as_deref()
                        .map(|b| format!(" (by {b})"))
                        .unwrap_or_default()
                ),
                errors: vec![FieldError::new("status", "already decided")],
            });
        }
        apply(&mut tx, &row, approved).await?;
        let new_status = if approved { "APPROVED" } else { "REJECTED" };
        sqlx::query(
            "UPDATE workflow SET status = $2, decided_by = $3, decided_at = now(), decision_note = $4
              WHERE id = $1",
        )
        .bind(row.id)
        .bind(new_status)
        .bind(&actor.username)
        .bind(&note)
        .execute(&mut *tx)
        .await?;
        crate::audit::change_with_detail(
            &mut tx,
            &actor.organization,
            &actor.username,
            &format!("workflow.{}", new_status.to_ascii_lowercase()),
            "workflow",
            &row.id.to_string(),
            json!({
                "workflowType": row.workflow_type,
                "objectId": row.object_id.to_string(),
                "requestedBy": row.requested_by,
                "note": note,
            }),
        )
        .await?;
        tx.commit().await?;
        self.get(actor, reference).await
    }

    /// Every switchable type with its state in the caller's organization.
    pub async fn settings(&self, actor: &Actor) -> Result<Vec<WorkflowSetting>, ApiError> {
        actor.require(&[VIEW_SCOPES, SETTINGS_SCOPES].concat())?;
        let rows: Vec<(String, bool, Vec<String>)> = sqlx::query_as(
            "SELECT w.workflow_type, w.enabled, w.tiers FROM workflow_setting w
               JOIN organization o ON o.id = w.organization_id WHERE o.name = $1",
        )
        .bind(&actor.organization)
        .fetch_all(&self.db)
        .await?;
        Ok(TYPES
            .iter()
            .map(|(kind, _)| {
                let row = rows.iter().find(|r| r.0 == *kind);
                WorkflowSetting {
                    workflow_type: kind.to_string(),
                    enabled: row.is_some_and(|r| r.1),
                    tiers: row.map(|r| r.2.clone()).unwrap_or_default(),
                }
            })
            .collect())
    }

    /// Sets the given switches (types not listed keep theirs). Requests already pending stay
    /// pending when a switch goes off: an admin still decides them.
    pub async fn save_settings(
        &self,
        actor: &Actor,
        settings: Vec<WorkflowSetting>,
    ) -> Result<Vec<WorkflowSetting>, ApiError> {
        actor.require(SETTINGS_SCOPES)?;
        let mut checked = Vec::new();
        for (i, st) in settings.iter().enumerate() {
            let kind = parse_type(&st.workflow_type).ok_or_else(|| {
                ApiError::field(
                    &format!("list[{i}].workflowType"),
                    format!("`{}` is not a workflow type here", st.workflow_type),
                )
            })?;
            let mut tiers: Vec<String> = st
                .tiers
                .iter()
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect();
            tiers.sort();
            tiers.dedup();
            if !tiers.is_empty() && kind == APPLICATION_CREATION {
                return Err(ApiError::field(
                    &format!("list[{i}].tiers"),
                    "only subscription workflows are limited to tiers",
                ));
            }
            checked.push((kind, st.enabled, tiers));
        }
        let mut tx = self.db.begin().await?;
        for (kind, enabled, tiers) in &checked {
            sqlx::query(
                "INSERT INTO workflow_setting (organization_id, workflow_type, enabled, tiers)
                 SELECT id, $2, $3, $4 FROM organization WHERE name = $1
                 ON CONFLICT (organization_id, workflow_type)
                 DO UPDATE SET enabled = $3, tiers = $4, updated_at = now()",
            )
            .bind(&actor.organization)
            .bind(kind)
            .bind(enabled)
            .bind(tiers)
            .execute(&mut *tx)
            .await?;
            crate::audit::change_with_detail(
                &mut tx,
                &actor.organization,
                &actor.username,
                "workflow.settings",
                "workflow_setting",
                kind,
                json!({ "enabled": enabled, "tiers": tiers }),
            )
            .await?;
        }
        tx.commit().await?;
        self.settings(actor).await
    }
}

/// The decision's effect on the waiting object.
async fn apply(conn: &mut PgConnection, row: &Row, approved: bool) -> Result<(), ApiError> {
    match row.workflow_type.as_str() {
        APPLICATION_CREATION => {
            sqlx::query(
                "UPDATE application SET status = $2, updated_at = now()
                  WHERE id = $1 AND status = 'CREATED'",
            )
            .bind(row.object_id)
            .bind(if approved { "APPROVED" } else { "REJECTED" })
            .execute(&mut *conn)
            .await?;
        }
        SUBSCRIPTION_CREATION => {
            let api: Option<Uuid> = sqlx::query_scalar(
                "UPDATE subscription SET status = $2, updated_at = now()
                  WHERE id = $1 AND status = 'ON_HOLD' RETURNING api_id",
            )
            .bind(row.object_id)
            .bind(if approved { "UNBLOCKED" } else { "REJECTED" })
            .fetch_optional(&mut *conn)
            .await?;
            if let Some(api) = api {
                runtime::bump_for_api(conn, api).await?;
            }
        }
        SUBSCRIPTION_UPDATE => {
            let api: Option<Uuid> = sqlx::query_scalar(
                "UPDATE subscription
                    SET throttling_policy = CASE WHEN $2 THEN coalesce(requested_throttling_policy, throttling_policy)
                                                 ELSE throttling_policy END,
                        requested_throttling_policy = NULL, status = 'UNBLOCKED', updated_at = now()
                  WHERE id = $1 AND status = 'TIER_UPDATE_PENDING' RETURNING api_id",
            )
            .bind(row.object_id)
            .bind(approved)
            .fetch_optional(&mut *conn)
            .await?;
            if let Some(api) = api {
                runtime::bump_for_api(conn, api).await?;
            }
        }
        REVISION_DEPLOYMENT if approved => {
            // What was live on the environment is replaced, as a direct deployment would.
            let env: Option<Uuid> = sqlx::query_scalar(
                "WITH p AS (DELETE FROM pending_deployment WHERE id = $1 RETURNING *)
                 INSERT INTO api_deployment (api_id, environment_id, revision_id, vhost,
                                             display_on_devportal, artifact, deployed_by)
                 SELECT api_id, environment_id, revision_id, vhost, display_on_devportal,
                        artifact, requested_by FROM p
                 ON CONFLICT (api_id, environment_id) DO UPDATE
                   SET revision_id = EXCLUDED.revision_id, vhost = EXCLUDED.vhost,
                       display_on_devportal = EXCLUDED.display_on_devportal,
                       artifact = EXCLUDED.artifact, deployed_by = EXCLUDED.deployed_by,
                       deployed_at = now(), status = 'APPROVED'
                 RETURNING environment_id",
            )
            .bind(row.object_id)
            .fetch_optional(&mut *conn)
            .await?;
            if let Some(env) = env {
                crate::publisher::revisions::bump_environments(conn, &[env]).await?;
            }
        }
        REVISION_DEPLOYMENT => {
            sqlx::query("DELETE FROM pending_deployment WHERE id = $1")
                .bind(row.object_id)
                .execute(&mut *conn)
                .await?;
        }
        API_STATE if approved => {
            // The API moves only from the state the request was made in.
            let p = &row.properties.0;
            let (from, to) = (
                p.get("currentState")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
                p.get("targetState")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
            );
            let current: Option<(String, String)> =
                sqlx::query_as("SELECT lifecycle_status, type FROM api WHERE id = $1 FOR UPDATE")
                    .bind(row.object_id)
                    .fetch_optional(&mut *conn)
                    .await?;
            let Some((current, kind)) = current else {
                return Err(ApiError::Conflict {
                    message: "The API of this request is gone; reject the request".into(),
                    errors: vec![FieldError::new("status", "the API is gone")],
                });
            };
            if current != from {
                return Err(ApiError::Conflict {
                    message: format!(
                        "The API is now {current}, not {from} as when this was asked; reject the request"
                    ),
                    errors: vec![FieldError::new("status", "the API's state changed")],
                });
            }
            if to == app::publisher::lifecycle::PUBLISHED
                || to == app::publisher::lifecycle::PROTOTYPED
            {
                let action = p.get("action").and_then(Value::as_str).unwrap_or(to);
                crate::publisher::apis::ensure_deployed(
                    &mut *conn,
                    row.object_id,
                    action,
                    kind == "APIPRODUCT",
                )
                .await?;
            }
            let deprecate_old = p
                .get("deprecateOldVersions")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            crate::publisher::apis::apply_lifecycle(
                conn,
                row.object_id,
                from,
                to,
                deprecate_old,
                &row.requested_by,
            )
            .await?;
        }
        API_STATE => {}
        USER_SIGNUP if approved => {
            sqlx::query(
                "UPDATE app_user SET pending_approval = false, updated_at = now() WHERE id = $1",
            )
            .bind(row.object_id)
            .execute(&mut *conn)
            .await?;
        }
        USER_SIGNUP => {
            // WSO2 removes a rejected sign-up: the name is free again.
            sqlx::query("DELETE FROM app_user WHERE id = $1 AND pending_approval")
                .bind(row.object_id)
                .execute(&mut *conn)
                .await?;
        }
        other => {
            return Err(ApiError::Anyhow(anyhow::anyhow!(
                "workflow {} has the unknown type {other}",
                row.id
            )));
        }
    }
    Ok(())
}

fn workflow_id(reference: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(reference.trim()).map_err(|_| not_found(reference))
}

fn not_found(reference: &str) -> ApiError {
    ApiError::NotFound(format!("Workflow {reference} not found"))
}

/// What a subscription workflow shows the approver.
pub fn subscription_properties(
    api: &app::devportal::CatalogueApi,
    application: &str,
    tier: &str,
    subscriber: &str,
) -> Value {
    json!({
        "apiId": api.id,
        "apiName": api.name,
        "apiVersion": api.version,
        "apiContext": api.context,
        "apiProvider": api.provider,
        "applicationName": application,
        "tier": tier,
        "subscriber": subscriber,
    })
}
