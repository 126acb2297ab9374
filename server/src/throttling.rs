//! Rate-limiting policies of an organization (Admin v4 `/throttling/policies/application` and
//! `/subscription`; scope `apim:tier_manage`, `apim:tier_view` to read). Built-in ones are
//! seeded per organization and keep their names; custom ones are added, changed and removed
//! (not while an application or subscription uses them). A change reaches every gateway: the
//! policies are part of the snapshot, and the environments' versions move in the same
//! transaction. Advanced (API and resource level) policies are in `advanced`.

pub mod advanced;

use app::auth::scopes as s;
use app::throttling::{
    APPLICATION, BUILT_IN, BlockingCondition, BurstLimit, SUBSCRIPTION, ThrottleLimit,
    ThrottlePolicy, UNLIMITED, data_unit_bytes, unit_seconds,
};
use serde_json::json;
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::error::{ApiError, FieldError, ResultExt};
use crate::publisher::Actor;
use crate::publisher::validate::Problems;

pub const VIEW_SCOPES: &[&str] = &[s::TIER_VIEW, s::TIER_MANAGE, s::ADMIN];
pub const MANAGE_SCOPES: &[&str] = &[s::TIER_MANAGE, s::ADMIN];

/// Seeds the built-in policies of an organization (kept as an admin changed them).
pub async fn seed(conn: &mut PgConnection, organization: Uuid) -> sqlx::Result<()> {
    for (level, name, description, per_minute) in BUILT_IN {
        sqlx::query(
            "INSERT INTO throttling_policy (organization_id, level, name, display_name, description,
                                            request_count, unit_time, time_unit, unlimited, built_in)
             VALUES ($1, $2, $3, $3, $4, $5, 1, 'min', $6, true)
             ON CONFLICT ON CONSTRAINT throttling_policy_name_key DO NOTHING",
        )
        .bind(organization)
        .bind(level)
        .bind(name)
        .bind(description)
        .bind(per_minute)
        .bind(*name == UNLIMITED)
        .execute(&mut *conn)
        .await?;
    }
    advanced::seed(conn, organization).await
}

/// An organization's policies of `level`, tightest first (requests per second; Unlimited last).
async fn tightest_first(db: &PgPool, organization: &str, level: &str) -> sqlx::Result<Vec<Row>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM throttling_policy p JOIN organization o ON o.id = p.organization_id
          WHERE o.name = $1 AND p.level = $2
          ORDER BY p.unlimited, p.data_amount IS NOT NULL,
                   coalesce(p.request_count, p.data_amount * CASE p.data_unit WHEN 'KB' THEN 1
                       WHEN 'MB' THEN 1024 ELSE 1048576 END)::float8
                     / (p.unit_time * CASE p.time_unit WHEN 'sec' THEN 1
                       WHEN 'min' THEN 60 WHEN 'hour' THEN 3600 ELSE 86400 END),
                   p.name"
    )))
    .bind(organization)
    .bind(level)
    .fetch_all(db)
    .await
}

/// The names of an organization's policies of `level`, tightest first (what developers pick
/// from; no scope needed).
pub async fn names(db: &PgPool, organization: &str, level: &str) -> Result<Vec<String>, ApiError> {
    Ok(tightest_first(db, organization, level)
        .await?
        .into_iter()
        .map(|r| r.name)
        .collect())
}

/// DevPortal v3 `GET /throttling-policies/{policyLevel}`: the organization's policies as
/// developers see them (WSO2's `ThrottlingPolicy`), tightest first.
pub async fn devportal_list(
    db: &PgPool,
    organization: &str,
    level: &str,
) -> Result<Vec<serde_json::Value>, ApiError> {
    let rows = tightest_first(db, organization, level_of(level)?).await?;
    Ok(rows
        .iter()
        .map(|r| {
            json!({
                "name": r.name,
                "description": r.description,
                "policyLevel": r.level,
                "attributes": {},
                // A data limit: its amount, in `dataUnit`s (as WSO2 spells it).
                "requestCount": r.request_count.or(r.data_amount),
                "dataUnit": r.data_unit,
                "unitTime": r.unit_time,
                "timeUnit": r.time_unit,
                "rateLimitCount": r.burst_count.unwrap_or(0),
                "rateLimitTimeUnit": r.burst_time_unit,
                "quotaPolicyType": if r.data_amount.is_some() { "BANDWIDTHVOLUME" } else { "REQUESTCOUNT" },
                "tierPlan": r.billing_plan,
                "stopOnQuotaReach": r.stop_on_quota_reach,
            })
        })
        .collect())
}

#[derive(sqlx::FromRow)]
struct RuntimeRow {
    organization: String,
    level: String,
    name: String,
    request_count: Option<i64>,
    data_amount: Option<i64>,
    data_unit: Option<String>,
    unit_time: i32,
    time_unit: String,
    burst_count: Option<i32>,
    burst_time_unit: Option<String>,
    stop_on_quota_reach: bool,
}

/// The limited policies of `organizations`, as gateways enforce them.
pub async fn snapshot_policies(
    db: &PgPool,
    organizations: &[String],
) -> Result<Vec<gateway::snapshot::ThrottlingPolicy>, ApiError> {
    let rows: Vec<RuntimeRow> = sqlx::query_as(
        "SELECT o.name AS organization, p.level, p.name, p.request_count, p.data_amount,
                p.data_unit, p.unit_time, p.time_unit, p.burst_count, p.burst_time_unit, p.stop_on_quota_reach
           FROM throttling_policy p JOIN organization o ON o.id = p.organization_id
          WHERE o.name = ANY($1) AND NOT p.unlimited
          ORDER BY o.name, p.level, p.name",
    )
    .bind(organizations)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| gateway::snapshot::ThrottlingPolicy {
            organization: r.organization,
            level: r.level,
            name: r.name,
            requests: r.request_count.map_or(0, |c| u64::try_from(c).unwrap_or(1)),
            bytes: r.data_amount.zip(r.data_unit).map(|(amount, unit)| {
                u64::try_from(amount)
                    .unwrap_or(1)
                    .saturating_mul(data_unit_bytes(&unit).unwrap_or(1))
            }),
            period_seconds: unit_seconds(&r.time_unit).unwrap_or(60)
                * u64::try_from(r.unit_time).unwrap_or(1),
            burst: r
                .burst_count
                .zip(r.burst_time_unit)
                .map(|(c, u)| gateway::snapshot::Rate {
                    requests: u64::try_from(c).unwrap_or(1),
                    period_seconds: unit_seconds(&u).unwrap_or(1),
                }),
            stop_on_quota_reach: r.stop_on_quota_reach,
        })
        .collect())
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    level: String,
    name: String,
    display_name: String,
    description: String,
    request_count: Option<i64>,
    data_amount: Option<i64>,
    data_unit: Option<String>,
    unit_time: i32,
    time_unit: String,
    burst_count: Option<i32>,
    burst_time_unit: Option<String>,
    stop_on_quota_reach: bool,
    billing_plan: String,
    built_in: bool,
}

const COLUMNS: &str = "p.id, p.level, p.name, p.display_name, p.description, p.request_count, \
     p.data_amount, p.data_unit, p.unit_time, p.time_unit, p.burst_count, p.burst_time_unit, p.stop_on_quota_reach, \
     p.billing_plan, p.built_in";

impl Row {
    fn to_dto(&self) -> ThrottlePolicy {
        let burst = self
            .burst_count
            .zip(self.burst_time_unit.clone())
            .map(|(c, u)| BurstLimit {
                rate_limit_count: c.into(),
                rate_limit_time_unit: u,
            });
        let subscription = self.level == SUBSCRIPTION;
        ThrottlePolicy {
            policy_id: self.id.to_string(),
            policy_name: self.name.clone(),
            display_name: self.display_name.clone(),
            description: self.description.clone(),
            is_deployed: true,
            kind: if subscription {
                "SubscriptionThrottlePolicy"
            } else {
                "ApplicationThrottlePolicy"
            }
            .into(),
            default_limit: match (&self.data_amount, &self.data_unit) {
                (Some(amount), Some(unit)) => {
                    ThrottleLimit::bandwidth(*amount, unit, self.unit_time.into(), &self.time_unit)
                }
                _ => ThrottleLimit::requests(
                    self.request_count.unwrap_or(0),
                    self.unit_time.into(),
                    &self.time_unit,
                ),
            },
            rate_limit_count: burst
                .as_ref()
                .filter(|_| subscription)
                .map(|b| b.rate_limit_count),
            rate_limit_time_unit: burst
                .as_ref()
                .filter(|_| subscription)
                .map(|b| b.rate_limit_time_unit.clone()),
            burst_limit: burst.filter(|_| !subscription),
            stop_on_quota_reach: self.stop_on_quota_reach,
            billing_plan: self.billing_plan.clone(),
            built_in: self.built_in,
        }
    }
}

/// What a valid policy stores: a request count or an amount of data (`data_amount`
/// `data_unit`) per `unit_time` `time_unit`, and the burst control (requests).
struct Checked {
    request_count: Option<i64>,
    data: Option<(i64, String)>,
    unit_time: i32,
    time_unit: String,
    burst: Option<(i32, String)>,
}

fn check(level: &str, p: &mut ThrottlePolicy) -> Result<Checked, ApiError> {
    let mut problems = Problems::default();
    p.policy_name = p.policy_name.trim().to_string();
    let name_ok = !p.policy_name.is_empty()
        && p.policy_name.chars().count() <= 60
        && p.policy_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if !name_ok {
        problems.add("policyName", "1–60 letters, digits, - _ and .");
    }
    if p.display_name.trim().is_empty() {
        p.display_name = p.policy_name.clone();
    }
    if p.description.chars().count() > 1024 {
        problems.add("description", "at most 1,024 characters");
    }
    // The same limits as advanced policies: a request count, or an amount of data.
    let limit = advanced::limit(&mut problems, "defaultLimit", &p.default_limit);
    let mut out = Checked {
        request_count: None,
        data: None,
        unit_time: 1,
        time_unit: "min".into(),
        burst: None,
    };
    if limit.is_some() {
        let d = &p.default_limit;
        match (&d.request_count, &d.bandwidth) {
            (Some(rc), _) if d.kind == app::throttling::REQUEST_COUNT_LIMIT => {
                out.request_count = Some(rc.request_count);
                out.unit_time = i32::try_from(rc.unit_time).unwrap_or(1);
                out.time_unit = rc.time_unit.clone();
            }
            (_, Some(b)) => {
                out.data = Some((b.data_amount, b.data_unit.clone()));
                out.unit_time = i32::try_from(b.unit_time).unwrap_or(1);
                out.time_unit = b.time_unit.clone();
            }
            _ => {}
        }
    }
    let burst = if level == SUBSCRIPTION {
        p.rate_limit_count.filter(|c| *c > 0).map(|c| BurstLimit {
            rate_limit_count: c,
            rate_limit_time_unit: p
                .rate_limit_time_unit
                .clone()
                .unwrap_or_else(|| "sec".into()),
        })
    } else {
        p.burst_limit.clone().filter(|b| b.rate_limit_count > 0)
    };
    let burst_field = if level == SUBSCRIPTION {
        "rateLimitTimeUnit"
    } else {
        "burstLimit.rateLimitTimeUnit"
    };
    if let Some(b) = &burst {
        if !["sec", "min"].contains(&b.rate_limit_time_unit.as_str()) {
            problems.add(burst_field, "sec or min");
        } else if let Some(limit) = &limit {
            // The burst must be stricter than the quota it sits in.
            let burst_window = unit_seconds(&b.rate_limit_time_unit).unwrap_or(1);
            if burst_window >= limit.period_seconds {
                problems.add(
                    burst_field,
                    "burst control must use a shorter time unit than the quota",
                );
            } else if out
                .request_count
                .is_some_and(|quota| b.rate_limit_count > quota)
            {
                problems.add(
                    burst_field,
                    "burst control allows more than the whole quota",
                );
            }
        }
        out.burst = Some((
            i32::try_from(b.rate_limit_count).unwrap_or(i32::MAX),
            b.rate_limit_time_unit.clone(),
        ));
    }
    if !["FREE", "COMMERCIAL"].contains(&p.billing_plan.as_str()) {
        problems.add("billingPlan", "FREE or COMMERCIAL");
    }
    problems.into_result()?;
    Ok(out)
}

pub struct Throttling<'a> {
    pub db: &'a PgPool,
}

fn level_of(kind: &str) -> Result<&'static str, ApiError> {
    match kind {
        APPLICATION => Ok(APPLICATION),
        SUBSCRIPTION => Ok(SUBSCRIPTION),
        _ => Err(ApiError::NotFound(format!("No {kind} policies"))),
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("Throttling policy {id} not found"))
}

impl Throttling<'_> {
    /// The organization's policies of `level`, built-in first.
    pub async fn list(&self, actor: &Actor, level: &str) -> Result<Vec<ThrottlePolicy>, ApiError> {
        actor.require(VIEW_SCOPES)?;
        let level = level_of(level)?;
        let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM throttling_policy p JOIN organization o ON o.id = p.organization_id
              WHERE o.name = $1 AND p.level = $2
              ORDER BY NOT p.built_in, p.unlimited, p.request_count, p.name"
        )))
        .bind(&actor.organization)
        .bind(level)
        .fetch_all(self.db)
        .await?;
        Ok(rows.iter().map(Row::to_dto).collect())
    }

    async fn row(
        &self,
        conn: &mut PgConnection,
        actor: &Actor,
        level: &str,
        id: &str,
    ) -> Result<Row, ApiError> {
        let uuid = Uuid::parse_str(id.trim()).map_err(|_| not_found(id))?;
        let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM throttling_policy p JOIN organization o ON o.id = p.organization_id
              WHERE p.id = $1 AND o.name = $2 AND p.level = $3 FOR UPDATE OF p"
        )))
        .bind(uuid)
        .bind(&actor.organization)
        .bind(level)
        .fetch_optional(conn)
        .await?;
        row.ok_or_else(|| not_found(id))
    }

    pub async fn get(
        &self,
        actor: &Actor,
        level: &str,
        id: &str,
    ) -> Result<ThrottlePolicy, ApiError> {
        actor.require(VIEW_SCOPES)?;
        let level = level_of(level)?;
        let mut conn = self.db.acquire().await?;
        Ok(self.row(&mut conn, actor, level, id).await?.to_dto())
    }

    pub async fn create(
        &self,
        actor: &Actor,
        level: &str,
        mut p: ThrottlePolicy,
    ) -> Result<ThrottlePolicy, ApiError> {
        actor.require(MANAGE_SCOPES)?;
        let level = level_of(level)?;
        let c = check(level, &mut p)?;
        let mut tx = self.db.begin().await?;
        let id: Uuid = sqlx::query_scalar(
            "INSERT INTO throttling_policy (organization_id, level, name, display_name, description,
                    request_count, unit_time, time_unit, burst_count, burst_time_unit,
                    stop_on_quota_reach, billing_plan, data_amount, data_unit)
             SELECT o.id, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14
               FROM organization o
              WHERE o.name = $1
             RETURNING id",
        )
        .bind(&actor.organization)
        .bind(level)
        .bind(&p.policy_name)
        .bind(p.display_name.trim())
        .bind(p.description.trim())
        .bind(c.request_count)
        .bind(c.unit_time)
        .bind(&c.time_unit)
        .bind(c.burst.as_ref().map(|b| b.0))
        .bind(c.burst.as_ref().map(|b| b.1.clone()))
        .bind(p.stop_on_quota_reach)
        .bind(&p.billing_plan)
        .bind(c.data.as_ref().map(|d| d.0))
        .bind(c.data.as_ref().map(|d| d.1.clone()))
        .fetch_one(&mut *tx)
        .await
        .on_constraint("throttling_policy_name_key", || ApiError::Conflict {
            message: format!("A {level} policy named {} exists", p.policy_name),
            errors: vec![FieldError::new("policyName", "is taken")],
        })?;
        audit(&mut tx, actor, "create", level, &p.policy_name, &c).await?;
        tx.commit().await?;
        self.get(actor, level, &id.to_string()).await
    }

    /// Changes a policy's limits and texts; its name stays (applications and subscriptions
    /// refer to it by name), as in WSO2.
    pub async fn update(
        &self,
        actor: &Actor,
        level: &str,
        id: &str,
        mut p: ThrottlePolicy,
    ) -> Result<ThrottlePolicy, ApiError> {
        actor.require(MANAGE_SCOPES)?;
        let level = level_of(level)?;
        let mut tx = self.db.begin().await?;
        let row = self.row(&mut tx, actor, level, id).await?;
        if !p.policy_name.trim().is_empty() && p.policy_name.trim() != row.name {
            return Err(ApiError::field(
                "policyName",
                format!(
                    "cannot change (is `{}`); applications and subscriptions use it by name",
                    row.name
                ),
            ));
        }
        p.policy_name = row.name.clone();
        if row.name == UNLIMITED {
            return Err(ApiError::field(
                "policyName",
                "Unlimited has no limits to change",
            ));
        }
        let c = check(level, &mut p)?;
        sqlx::query(
            "UPDATE throttling_policy
                SET display_name = $2, description = $3, request_count = $4, unit_time = $5,
                    time_unit = $6, burst_count = $7, burst_time_unit = $8,
                    stop_on_quota_reach = $9, billing_plan = $10, data_amount = $11,
                    data_unit = $12, updated_at = now()
              WHERE id = $1",
        )
        .bind(row.id)
        .bind(p.display_name.trim())
        .bind(p.description.trim())
        .bind(c.request_count)
        .bind(c.unit_time)
        .bind(&c.time_unit)
        .bind(c.burst.as_ref().map(|b| b.0))
        .bind(c.burst.as_ref().map(|b| b.1.clone()))
        .bind(p.stop_on_quota_reach)
        .bind(&p.billing_plan)
        .bind(c.data.as_ref().map(|d| d.0))
        .bind(c.data.as_ref().map(|d| d.1.clone()))
        .execute(&mut *tx)
        .await?;
        crate::keymanager::runtime::bump_all(&mut tx).await?;
        audit(&mut tx, actor, "update", level, &row.name, &c).await?;
        tx.commit().await?;
        self.get(actor, level, id).await
    }

    /// Removes a custom policy no application or subscription uses (409 naming how many do).
    pub async fn delete(&self, actor: &Actor, level: &str, id: &str) -> Result<(), ApiError> {
        actor.require(MANAGE_SCOPES)?;
        let level = level_of(level)?;
        let mut tx = self.db.begin().await?;
        let row = self.row(&mut tx, actor, level, id).await?;
        if row.built_in {
            return Err(ApiError::field("policyId", "built-in policies stay"));
        }
        // A tier an API still offers would leave that API naming an undefined tier.
        let offered: i64 = if level == SUBSCRIPTION {
            sqlx::query_scalar(
                "SELECT count(*) FROM api a JOIN organization o ON o.id = a.organization_id
                  WHERE o.name = $1 AND a.settings->'policies' ? $2",
            )
            .bind(&actor.organization)
            .bind(&row.name)
            .fetch_one(&mut *tx)
            .await?
        } else {
            0
        };
        if offered > 0 {
            return Err(ApiError::Conflict {
                message: format!(
                    "{} is offered by {offered} API(s); take it off their subscription tiers first",
                    row.name
                ),
                errors: vec![FieldError::new("policyId", "offered by APIs")],
            });
        }
        let used: i64 = if level == APPLICATION {
            sqlx::query_scalar(
                "SELECT count(*) FROM application a JOIN organization o ON o.id = a.organization_id
                  WHERE o.name = $1 AND a.throttling_policy = $2",
            )
        } else {
            sqlx::query_scalar(
                "SELECT count(*) FROM subscription s JOIN application a ON a.id = s.application_id
                   JOIN organization o ON o.id = a.organization_id
                  WHERE o.name = $1 AND (s.throttling_policy = $2 OR s.requested_throttling_policy = $2)",
            )
        }
        .bind(&actor.organization)
        .bind(&row.name)
        .fetch_one(&mut *tx)
        .await?;
        if used > 0 {
            return Err(ApiError::Conflict {
                message: format!(
                    "{} is used by {used} {}; move them to another policy first",
                    row.name,
                    if level == APPLICATION {
                        "application(s)"
                    } else {
                        "subscription(s)"
                    }
                ),
                errors: vec![FieldError::new("policyId", "in use")],
            });
        }
        sqlx::query("DELETE FROM throttling_policy WHERE id = $1")
            .bind(row.id)
            .execute(&mut *tx)
            .await?;
        crate::keymanager::runtime::bump_all(&mut tx).await?;
        crate::keymanager::audit(
            &mut tx,
            actor,
            &format!("throttling.{level}.delete"),
            "throttling_policy",
            &row.name,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

async fn audit(
    tx: &mut PgConnection,
    actor: &Actor,
    what: &str,
    level: &str,
    name: &str,
    c: &Checked,
) -> Result<(), ApiError> {
    crate::audit::change_with_detail(
        tx,
        &actor.organization,
        &actor.username,
        &format!("throttling.{level}.{what}"),
        "throttling_policy",
        name,
        json!({
            "requestCount": c.request_count,
            "data": c.data.as_ref().map(|d| json!({"amount": d.0, "unit": d.1})),
            "unitTime": c.unit_time,
            "timeUnit": c.time_unit,
            "burst": c.burst.as_ref().map(|b| json!({"count": b.0, "unit": b.1})),
        }),
    )
    .await?;
    Ok(())
}

// ----- Deny policies ----------------------------------------------------------------------------

pub const DENY_VIEW_SCOPES: &[&str] = &[s::BL_VIEW, s::BL_MANAGE, s::ADMIN];
pub const DENY_MANAGE_SCOPES: &[&str] = &[s::BL_MANAGE, s::ADMIN];

/// The condition as the gateway reads it: (value, invert), or the field at fault.
fn deny_runtime(kind: &str, value: &serde_json::Value) -> Result<(String, bool), (String, String)> {
    let text = |v: &serde_json::Value| v.as_str().map(|s| s.trim().to_string());
    let ip = |v: &serde_json::Value, field: &str| {
        text(v)
            .filter(|s| s.parse::<std::net::IpAddr>().is_ok())
            .ok_or_else(|| {
                (
                    format!("conditionValue.{field}"),
                    "is not an IP address".to_string(),
                )
            })
    };
    let invert = value
        .get("invert")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    match kind {
        "API" => match text(value) {
            Some(c) if c.starts_with('/') && !c.contains(char::is_whitespace) => Ok((c, false)),
            _ => Err((
                "conditionValue".into(),
                "an API context such as /pizzashack/1.0.0".into(),
            )),
        },
        "APPLICATION" => match text(value) {
            Some(a)
                if a.split_once(':')
                    .is_some_and(|(o, n)| !o.is_empty() && !n.is_empty()) =>
            {
                Ok((a, false))
            }
            _ => Err((
                "conditionValue".into(),
                "owner:application, e.g. alice:Mobile app".into(),
            )),
        },
        "USER" => match text(value) {
            Some(u) if !u.is_empty() => Ok((u, false)),
            _ => Err(("conditionValue".into(), "a user name".into())),
        },
        "IP" => Ok((ip(&value["fixedIp"], "fixedIp")?, invert)),
        "IPRANGE" => {
            let (a, b) = (
                ip(&value["startingIp"], "startingIp")?,
                ip(&value["endingIp"], "endingIp")?,
            );
            let (pa, pb): (std::net::IpAddr, std::net::IpAddr) = (
                a.parse().unwrap_or(std::net::Ipv4Addr::UNSPECIFIED.into()),
                b.parse().unwrap_or(std::net::Ipv4Addr::UNSPECIFIED.into()),
            );
            if pa.is_ipv4() != pb.is_ipv4() || pa > pb {
                return Err((
                    "conditionValue.endingIp".into(),
                    "must be of the same family as startingIp and not below it".into(),
                ));
            }
            Ok((format!("{a}-{b}"), invert))
        }
        _ => Err((
            "conditionType".into(),
            "API, APPLICATION, IP, IPRANGE or USER".into(),
        )),
    }
}

type DenyRow = (Uuid, String, Json<serde_json::Value>, bool);

fn deny_dto((id, kind, value, enabled): DenyRow) -> BlockingCondition {
    BlockingCondition {
        condition_id: id.to_string(),
        condition_type: kind,
        condition_value: value.0,
        condition_status: enabled,
    }
}

impl Throttling<'_> {
    pub async fn deny_list(&self, actor: &Actor) -> Result<Vec<BlockingCondition>, ApiError> {
        actor.require(DENY_VIEW_SCOPES)?;
        let rows: Vec<DenyRow> = sqlx::query_as(
            "SELECT d.id, d.condition_type, d.condition_value, d.enabled FROM deny_policy d
               JOIN organization o ON o.id = d.organization_id
              WHERE o.name = $1 ORDER BY d.created_at, d.id",
        )
        .bind(&actor.organization)
        .fetch_all(self.db)
        .await?;
        Ok(rows.into_iter().map(deny_dto).collect())
    }

    pub async fn deny_get(&self, actor: &Actor, id: &str) -> Result<BlockingCondition, ApiError> {
        actor.require(DENY_VIEW_SCOPES)?;
        self.deny_list(actor)
            .await?
            .into_iter()
            .find(|d| d.condition_id == id.trim())
            .ok_or_else(|| ApiError::NotFound(format!("Deny policy {id} not found")))
    }

    /// Adds a condition; it reaches every gateway within a second (the environments' versions
    /// move in the same transaction).
    pub async fn deny_create(
        &self,
        actor: &Actor,
        c: BlockingCondition,
    ) -> Result<BlockingCondition, ApiError> {
        actor.require(DENY_MANAGE_SCOPES)?;
        let kind = c.condition_type.trim().to_ascii_uppercase();
        deny_runtime(&kind, &c.condition_value)
            .map_err(|(field, message)| ApiError::field(&field, message))?;
        let mut tx = self.db.begin().await?;
        let id: Uuid = sqlx::query_scalar(
            "INSERT INTO deny_policy (organization_id, condition_type, condition_value, enabled, created_by)
             SELECT id, $2, $3, $4, $5 FROM organization WHERE name = $1 RETURNING id",
        )
        .bind(&actor.organization)
        .bind(&kind)
        .bind(&c.condition_value)
        .bind(c.condition_status)
        .bind(&actor.username)
        .fetch_one(&mut *tx)
        .await?;
        crate::keymanager::runtime::bump_all(&mut tx).await?;
        crate::audit::change_with_detail(
            &mut tx,
            &actor.organization,
            &actor.username,
            "deny_policy.create",
            "deny_policy",
            &id.to_string(),
            json!({ "type": kind, "value": c.condition_value, "enabled": c.condition_status }),
        )
        .await?;
        tx.commit().await?;
        self.deny_get(actor, &id.to_string()).await
    }

    /// `PATCH /throttling/deny-policy/{id}` with `conditionStatus`: switches it on or off.
    pub async fn deny_set_status(
        &self,
        actor: &Actor,
        id: &str,
        enabled: bool,
    ) -> Result<BlockingCondition, ApiError> {
        actor.require(DENY_MANAGE_SCOPES)?;
        let uuid = Uuid::parse_str(id.trim())
            .map_err(|_| ApiError::NotFound(format!("Deny policy {id} not found")))?;
        let mut tx = self.db.begin().await?;
        let n = sqlx::query(
            "UPDATE deny_policy d SET enabled = $3 FROM organization o
              WHERE d.id = $1 AND o.id = d.organization_id AND o.name = $2",
        )
        .bind(uuid)
        .bind(&actor.organization)
        .bind(enabled)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(ApiError::NotFound(format!("Deny policy {id} not found")));
        }
        crate::keymanager::runtime::bump_all(&mut tx).await?;
        let action = if enabled {
            "deny_policy.enable"
        } else {
            "deny_policy.disable"
        };
        crate::keymanager::audit(&mut tx, actor, action, "deny_policy", id).await?;
        tx.commit().await?;
        self.deny_get(actor, id).await
    }

    pub async fn deny_delete(&self, actor: &Actor, id: &str) -> Result<(), ApiError> {
        actor.require(DENY_MANAGE_SCOPES)?;
        let uuid = Uuid::parse_str(id.trim())
            .map_err(|_| ApiError::NotFound(format!("Deny policy {id} not found")))?;
        let mut tx = self.db.begin().await?;
        let n = sqlx::query(
            "DELETE FROM deny_policy d USING organization o
              WHERE d.id = $1 AND o.id = d.organization_id AND o.name = $2",
        )
        .bind(uuid)
        .bind(&actor.organization)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(ApiError::NotFound(format!("Deny policy {id} not found")));
        }
        crate::keymanager::runtime::bump_all(&mut tx).await?;
        crate::keymanager::audit(&mut tx, actor, "deny_policy.delete", "deny_policy", id).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The enabled deny policies of `organizations`, as gateways enforce them.
pub async fn snapshot_deny_policies(
    db: &PgPool,
    organizations: &[String],
) -> Result<Vec<gateway::snapshot::DenyPolicy>, ApiError> {
    let rows: Vec<(String, String, Json<serde_json::Value>)> = sqlx::query_as(
        "SELECT o.name, d.condition_type, d.condition_value FROM deny_policy d
           JOIN organization o ON o.id = d.organization_id
          WHERE o.name = ANY($1) AND d.enabled ORDER BY o.name, d.created_at, d.id",
    )
    .bind(organizations)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(organization, kind, value)| {
            let (value, invert) = deny_runtime(&kind, &value.0).ok()?;
            Some(gateway::snapshot::DenyPolicy {
                organization,
                kind,
                value,
                invert,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(count: i64, unit: &str, burst: Option<(i64, &str)>) -> ThrottlePolicy {
        ThrottlePolicy {
            policy_id: String::new(),
            policy_name: "Custom".into(),
            display_name: String::new(),
            description: String::new(),
            is_deployed: true,
            kind: String::new(),
            default_limit: ThrottleLimit::requests(count, 1, unit),
            burst_limit: burst.map(|(c, u)| BurstLimit {
                rate_limit_count: c,
                rate_limit_time_unit: u.into(),
            }),
            rate_limit_count: None,
            rate_limit_time_unit: None,
            stop_on_quota_reach: true,
            billing_plan: "FREE".into(),
            built_in: false,
        }
    }

    fn fields(r: Result<Checked, ApiError>) -> Vec<String> {
        match r {
            Err(ApiError::BadRequest { errors, .. }) => {
                errors.into_iter().map(|e| e.code).collect()
            }
            Err(e) => panic!("{e:?}"),
            Ok(_) => vec![],
        }
    }

    #[test]
    fn burst_control_sits_inside_the_quota() {
        assert!(
            fields(check(
                APPLICATION,
                &mut policy(1000, "min", Some((50, "sec")))
            ))
            .is_empty()
        );
        assert_eq!(
            fields(check(
                APPLICATION,
                &mut policy(1000, "min", Some((50, "min")))
            )),
            ["burstLimit.rateLimitTimeUnit"]
        );
        assert_eq!(
            fields(check(
                APPLICATION,
                &mut policy(10, "min", Some((50, "sec")))
            )),
            ["burstLimit.rateLimitTimeUnit"]
        );
        assert_eq!(
            fields(check(APPLICATION, &mut policy(0, "week", None))),
            [
                "defaultLimit.requestCount.requestCount",
                "defaultLimit.requestCount.timeUnit"
            ]
        );
    }

    #[test]
    fn a_policy_may_limit_data_instead_of_requests() {
        let mut p = policy(1, "min", Some((50, "sec")));
        p.default_limit = ThrottleLimit::bandwidth(5, "MB", 1, "min");
        let c = check(SUBSCRIPTION, &mut p).unwrap();
        assert_eq!(c.data, Some((5, "MB".to_string())));
        assert_eq!(c.request_count, None);
        assert_eq!((c.unit_time, c.time_unit.as_str()), (1, "min"));
        // Burst control (requests) still sits inside the quota's time unit.
        p.burst_limit = Some(BurstLimit {
            rate_limit_count: 5,
            rate_limit_time_unit: "min".into(),
        });
        assert_eq!(
            fields(check(APPLICATION, &mut p)),
            ["burstLimit.rateLimitTimeUnit"]
        );
        p.burst_limit = None;
        p.default_limit = ThrottleLimit::bandwidth(0, "TB", 1, "min");
        assert_eq!(
            fields(check(APPLICATION, &mut p)),
            [
                "defaultLimit.bandwidth.dataAmount",
                "defaultLimit.bandwidth.dataUnit"
            ]
        );
        p.default_limit.kind = "BANDWIDTH".into();
        assert_eq!(fields(check(APPLICATION, &mut p)), ["defaultLimit.type"]);
    }
}
