//! Advanced policies of an organization (Admin v4 `/throttling/policies/advanced`, WSO2's
//! `AdvancedThrottlePolicy`; the tier scopes). An API's `apiThrottlingPolicy` and each
//! operation's `throttlingPolicy` name one; the gateways count every request to that API or
//! operation against it, requests matching a conditional group against the group's limit.
//! Built-in ones are seeded per organization; a policy an API uses is not deleted.

use app::throttling::{
    ADVANCED, AdvancedThrottlePolicy, BANDWIDTH_LIMIT, BUILT_IN_ADVANCED, ConditionalGroup,
    HEADER_CONDITION, IP_CONDITION, JWT_CLAIMS_CONDITION, QUERY_PARAMETER_CONDITION,
    REQUEST_COUNT_LIMIT, ThrottleCondition, ThrottleLimit, UNLIMITED, data_unit_bytes,
    unit_seconds,
};
use gateway::snapshot::{self, Condition};
use serde_json::json;
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{MANAGE_SCOPES, Throttling, VIEW_SCOPES};
use crate::error::{ApiError, FieldError, ResultExt};
use crate::publisher::Actor;
use crate::publisher::validate::Problems;

/// Bounds on what one request evaluates.
const MAX_GROUPS: usize = 20;
const MAX_CONDITIONS: usize = 10;

/// Seeds the built-in advanced policies of an organization (kept as an admin changed them).
pub async fn seed(conn: &mut PgConnection, organization: Uuid) -> sqlx::Result<()> {
    for (name, description, per_minute) in BUILT_IN_ADVANCED {
        sqlx::query(
            "INSERT INTO advanced_throttling_policy (organization_id, name, display_name,
                    description, default_limit, unlimited, built_in)
             VALUES ($1, $2, $2, $3, $4, $5, true)
             ON CONFLICT ON CONSTRAINT advanced_throttling_policy_name_key DO NOTHING",
        )
        .bind(organization)
        .bind(name)
        .bind(description)
        .bind(Json(ThrottleLimit::requests(*per_minute, 1, "min")))
        .bind(*name == UNLIMITED)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    name: String,
    display_name: String,
    description: String,
    default_limit: Json<ThrottleLimit>,
    conditional_groups: Json<Vec<ConditionalGroup>>,
    built_in: bool,
}

const COLUMNS: &str = "p.id, p.name, p.display_name, p.description, p.default_limit, \
     p.conditional_groups, p.built_in";

impl Row {
    fn to_dto(&self) -> AdvancedThrottlePolicy {
        AdvancedThrottlePolicy {
            policy_id: self.id.to_string(),
            policy_name: self.name.clone(),
            display_name: self.display_name.clone(),
            description: self.description.clone(),
            is_deployed: true,
            kind: "AdvancedThrottlePolicy".into(),
            default_limit: self.default_limit.0.clone(),
            conditional_groups: self.conditional_groups.0.clone(),
            built_in: self.built_in,
        }
    }
}

/// A limit's period in seconds, or the problems with it (`at` names the limit's object).
fn period(p: &mut Problems, at: &str, time_unit: &str, unit_time: i64) -> Option<u64> {
    let time_ok = (1..=i64::from(i32::MAX)).contains(&unit_time);
    if !time_ok {
        p.add(&format!("{at}.unitTime"), "at least 1");
    }
    let seconds = unit_seconds(time_unit);
    if seconds.is_none() {
        p.add(&format!("{at}.timeUnit"), "sec, min, hour or day");
    }
    Some(seconds? * u64::try_from(unit_time).ok()?).filter(|_| time_ok)
}

/// A limit as the gateway counts it, or the problems with it (`at` names the limit).
pub(super) fn limit(p: &mut Problems, at: &str, l: &ThrottleLimit) -> Option<snapshot::Limit> {
    match (l.kind.as_str(), &l.request_count, &l.bandwidth) {
        (REQUEST_COUNT_LIMIT, Some(rc), _) => {
            let at = format!("{at}.requestCount");
            if rc.request_count < 1 {
                p.add(&format!("{at}.requestCount"), "at least 1");
            }
            let period_seconds = period(p, &at, &rc.time_unit, rc.unit_time);
            Some(snapshot::Limit {
                requests: Some(u64::try_from(rc.request_count).ok().filter(|c| *c > 0)?),
                bytes: None,
                period_seconds: period_seconds?,
            })
        }
        (BANDWIDTH_LIMIT, _, Some(b)) => {
            let at = format!("{at}.bandwidth");
            if b.data_amount < 1 {
                p.add(&format!("{at}.dataAmount"), "at least 1");
            }
            let unit = data_unit_bytes(&b.data_unit);
            if unit.is_none() {
                p.add(&format!("{at}.dataUnit"), "KB, MB or GB");
            }
            let period_seconds = period(p, &at, &b.time_unit, b.unit_time);
            let amount = u64::try_from(b.data_amount).ok().filter(|a| *a > 0)?;
            let Some(bytes) = amount.checked_mul(unit?) else {
                p.add(&format!("{at}.dataAmount"), "too large");
                return None;
            };
            Some(snapshot::Limit {
                requests: None,
                bytes: Some(bytes),
                period_seconds: period_seconds?,
            })
        }
        (REQUEST_COUNT_LIMIT, None, _) => {
            p.add(
                &format!("{at}.requestCount"),
                "is required for REQUESTCOUNTLIMIT",
            );
            None
        }
        (BANDWIDTH_LIMIT, _, None) => {
            p.add(&format!("{at}.bandwidth"), "is required for BANDWIDTHLIMIT");
            None
        }
        (other, _, _) => {
            p.add(
                &format!("{at}.type"),
                format!("`{other}` is not a limit type; use REQUESTCOUNTLIMIT or BANDWIDTHLIMIT"),
            );
            None
        }
    }
}

/// A condition as the gateway runs it, or the problems with it (`at` names the condition).
fn condition(p: &mut Problems, at: &str, c: &ThrottleCondition) -> Option<Condition> {
    let invert = c.invert_condition;
    let pattern = |p: &mut Problems, field: &str, value: &str| {
        if value.is_empty() {
            p.add(&format!("{at}.{field}"), "is required");
            return false;
        }
        match snapshot::pattern_regex(value) {
            Ok(_) => true,
            Err(e) => {
                p.add(&format!("{at}.{field}"), e);
                false
            }
        }
    };
    let missing = |p: &mut Problems, object: &str| {
        p.add(
            &format!("{at}.{object}"),
            format!("is required for {}", c.kind),
        );
        None
    };
    match c.kind.as_str() {
        HEADER_CONDITION => {
            let Some(h) = &c.header_condition else {
                return missing(p, "headerCondition");
            };
            let name = h.header_name.trim();
            let name_ok = !name.is_empty() && hyper_name_ok(name);
            if !name_ok {
                p.add(&format!("{at}.headerCondition.headerName"), "a header name");
            }
            let value_ok = pattern(p, "headerCondition.headerValue", &h.header_value);
            (name_ok && value_ok).then(|| Condition::Header {
                name: name.to_string(),
                pattern: h.header_value.clone(),
                invert,
            })
        }
        QUERY_PARAMETER_CONDITION => {
            let Some(q) = &c.query_parameter_condition else {
                return missing(p, "queryParameterCondition");
            };
            let name = q.parameter_name.trim();
            if name.is_empty() {
                p.add(
                    &format!("{at}.queryParameterCondition.parameterName"),
                    "is required",
                );
            }
            let value_ok = pattern(
                p,
                "queryParameterCondition.parameterValue",
                &q.parameter_value,
            );
            (!name.is_empty() && value_ok).then(|| Condition::Query {
                name: name.to_string(),
                pattern: q.parameter_value.clone(),
                invert,
            })
        }
        JWT_CLAIMS_CONDITION => {
            let Some(j) = &c.jwt_claims_condition else {
                return missing(p, "jwtClaimsCondition");
            };
            let name = j.claim_url.trim();
            if name.is_empty() {
                p.add(&format!("{at}.jwtClaimsCondition.claimUrl"), "is required");
            }
            let value_ok = pattern(p, "jwtClaimsCondition.attribute", &j.attribute);
            (!name.is_empty() && value_ok).then(|| Condition::Claim {
                name: name.to_string(),
                pattern: j.attribute.clone(),
                invert,
            })
        }
        IP_CONDITION => {
            let Some(ip) = &c.ip_condition else {
                return missing(p, "ipCondition");
            };
            let parse = |p: &mut Problems, field: &str, v: &Option<String>| {
                let v = v.as_deref().unwrap_or_default().trim();
                match v.parse::<std::net::IpAddr>() {
                    Ok(a) => Some(a),
                    Err(_) => {
                        let why = if v.is_empty() {
                            "is required".to_string()
                        } else {
                            format!("`{v}` is not an IPv4 or IPv6 address")
                        };
                        p.add(&format!("{at}.ipCondition.{field}"), why);
                        None
                    }
                }
            };
            match ip.ip_condition_type.as_str() {
                "IPSPECIFIC" => parse(p, "specificIP", &ip.specific_ip).map(|a| Condition::Ip {
                    address: a.to_string(),
                    invert,
                }),
                "IPRANGE" => {
                    let from = parse(p, "startingIP", &ip.starting_ip);
                    let to = parse(p, "endingIP", &ip.ending_ip);
                    let (from, to) = (from?, to?);
                    if from.is_ipv4() != to.is_ipv4() || from > to {
                        p.add(
                            &format!("{at}.ipCondition.endingIP"),
                            "must be of the same family as startingIP and not below it",
                        );
                        return None;
                    }
                    Some(Condition::IpRange {
                        from: from.to_string(),
                        to: to.to_string(),
                        invert,
                    })
                }
                other => {
                    p.add(
                        &format!("{at}.ipCondition.ipConditionType"),
                        format!("`{other}` is not IPSPECIFIC or IPRANGE"),
                    );
                    None
                }
            }
        }
        other => {
            p.add(
                &format!("{at}.type"),
                format!(
                    "`{other}` is not a condition type; use HEADERCONDITION, IPCONDITION, \
                     JWTCLAIMSCONDITION or QUERYPARAMETERCONDITION"
                ),
            );
            None
        }
    }
}

/// An HTTP header name (RFC 9110 token characters).
fn hyper_name_ok(name: &str) -> bool {
    name.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Checks a policy (trimming its names); the gateway's form of its limits and groups.
fn check(
    p: &mut AdvancedThrottlePolicy,
) -> Result<(snapshot::Limit, Vec<snapshot::ConditionalGroup>), ApiError> {
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
    if p.display_name.chars().count() > 512 {
        problems.add("displayName", "at most 512 characters");
    }
    if p.description.chars().count() > 1024 {
        problems.add("description", "at most 1,024 characters");
    }
    let default = limit(&mut problems, "defaultLimit", &p.default_limit);
    if p.conditional_groups.len() > MAX_GROUPS {
        problems.add("conditionalGroups", format!("at most {MAX_GROUPS} groups"));
    }
    let mut groups = Vec::new();
    for (g, group) in p.conditional_groups.iter_mut().enumerate() {
        let at = format!("conditionalGroups[{g}]");
        group.description = group.description.trim().to_string();
        let limit = limit(&mut problems, &format!("{at}.limit"), &group.limit);
        if group.conditions.is_empty() {
            problems.add(
                &format!("{at}.conditions"),
                "a group needs at least one condition",
            );
        }
        if group.conditions.len() > MAX_CONDITIONS {
            problems.add(
                &format!("{at}.conditions"),
                format!("at most {MAX_CONDITIONS} conditions"),
            );
        }
        let mut conditions = Vec::new();
        for (i, c) in group.conditions.iter_mut().enumerate() {
            c.kind = c.kind.trim().to_ascii_uppercase();
            let at = format!("{at}.conditions[{i}]");
            if let Some(compiled) = condition(&mut problems, &at, c) {
                if let Some(k) = conditions.iter().position(|x| *x == compiled) {
                    problems.add(&at, format!("repeats conditions[{k}]"));
                }
                conditions.push(compiled);
            }
        }
        // Conditions are all required: their order does not matter when comparing groups.
        let mut key = conditions.clone();
        key.sort_by_key(|c| format!("{c:?}"));
        if let Some(k) = groups.iter().position(|(other, _): &(Vec<Condition>, _)| {
            let mut o = other.clone();
            o.sort_by_key(|c| format!("{c:?}"));
            !key.is_empty() && o == key
        }) {
            problems.add(
                &format!("{at}.conditions"),
                format!(
                    "the same conditions as conditionalGroups[{k}]; that group always matches first"
                ),
            );
        }
        groups.push((conditions, limit));
    }
    problems.into_result()?;
    let default = default.ok_or_else(|| ApiError::field("defaultLimit", "is invalid"))?;
    let groups = groups
        .into_iter()
        .map(|(conditions, limit)| {
            Ok(snapshot::ConditionalGroup {
                conditions,
                limit: limit.ok_or_else(|| ApiError::field("conditionalGroups", "is invalid"))?,
            })
        })
        .collect::<Result<_, ApiError>>()?;
    Ok((default, groups))
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("Advanced throttling policy {id} not found"))
}

/// The names of an organization's advanced policies (what APIs and operations may name),
/// built-in first.
pub async fn names(db: &PgPool, organization: &str) -> Result<Vec<String>, ApiError> {
    Ok(sqlx::query_scalar(
        "SELECT p.name FROM advanced_throttling_policy p
           JOIN organization o ON o.id = p.organization_id
          WHERE o.name = $1 ORDER BY NOT p.built_in, p.unlimited, p.name",
    )
    .bind(organization)
    .fetch_all(db)
    .await?)
}

/// (organization, name, default limit, conditional groups) as stored.
type StoredPolicy = (
    String,
    String,
    Json<ThrottleLimit>,
    Json<Vec<ConditionalGroup>>,
);

/// The limited advanced policies of `organizations`, as gateways enforce them.
pub async fn snapshot_policies(
    db: &PgPool,
    organizations: &[String],
) -> Result<Vec<snapshot::AdvancedPolicy>, ApiError> {
    let rows: Vec<StoredPolicy> = sqlx::query_as(
        "SELECT o.name, p.name, p.default_limit, p.conditional_groups
               FROM advanced_throttling_policy p JOIN organization o ON o.id = p.organization_id
              WHERE o.name = ANY($1) AND NOT p.unlimited ORDER BY o.name, p.name",
    )
    .bind(organizations)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(organization, name, default_limit, groups)| {
            let mut p = AdvancedThrottlePolicy::new(&name, default_limit.0);
            p.conditional_groups = groups.0;
            // Stored policies were checked when saved.
            let (default_limit, conditional_groups) = check(&mut p).ok()?;
            Some(snapshot::AdvancedPolicy {
                organization,
                name,
                default_limit,
                conditional_groups,
            })
        })
        .collect())
}

/// How many APIs of the organization name `policy`, in their current form or as deployed.
async fn users(conn: &mut PgConnection, organization: &str, policy: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT count(*) FROM api a JOIN organization o ON o.id = a.organization_id
          WHERE o.name = $1
            AND (a.settings->>'apiThrottlingPolicy' = $2
                 OR EXISTS (SELECT 1 FROM jsonb_array_elements(a.operations) op
                             WHERE op->>'throttlingPolicy' = $2)
                 OR EXISTS (SELECT 1 FROM api_deployment d
                             WHERE d.api_id = a.id
                               AND (d.artifact->>'throttlingPolicy' = $2
                                    OR EXISTS (SELECT 1
                                                 FROM jsonb_array_elements(d.artifact->'operations') op
                                                WHERE op->>'throttlingPolicy' = $2))))",
    )
    .bind(organization)
    .bind(policy)
    .fetch_one(conn)
    .await
}

async fn audit(
    tx: &mut PgConnection,
    actor: &Actor,
    what: &str,
    p: &AdvancedThrottlePolicy,
) -> Result<(), ApiError> {
    crate::audit::change_with_detail(
        tx,
        &actor.organization,
        &actor.username,
        &format!("throttling.{ADVANCED}.{what}"),
        "throttling_policy",
        &p.policy_name,
        json!({
            "defaultLimit": p.default_limit,
            "conditionalGroups": p.conditional_groups,
        }),
    )
    .await?;
    Ok(())
}

impl Throttling<'_> {
    /// The organization's advanced policies, built-in first.
    pub async fn advanced_list(
        &self,
        actor: &Actor,
    ) -> Result<Vec<AdvancedThrottlePolicy>, ApiError> {
        actor.require(VIEW_SCOPES)?;
        let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM advanced_throttling_policy p
               JOIN organization o ON o.id = p.organization_id
              WHERE o.name = $1 ORDER BY NOT p.built_in, p.unlimited, p.name"
        )))
        .bind(&actor.organization)
        .fetch_all(self.db)
        .await?;
        Ok(rows.iter().map(Row::to_dto).collect())
    }

    async fn advanced_row(
        &self,
        conn: &mut PgConnection,
        actor: &Actor,
        id: &str,
    ) -> Result<Row, ApiError> {
        let uuid = Uuid::parse_str(id.trim()).map_err(|_| not_found(id))?;
        let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM advanced_throttling_policy p
               JOIN organization o ON o.id = p.organization_id
              WHERE p.id = $1 AND o.name = $2 FOR UPDATE OF p"
        )))
        .bind(uuid)
        .bind(&actor.organization)
        .fetch_optional(conn)
        .await?;
        row.ok_or_else(|| not_found(id))
    }

    pub async fn advanced_get(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<AdvancedThrottlePolicy, ApiError> {
        actor.require(VIEW_SCOPES)?;
        let mut conn = self.db.acquire().await?;
        Ok(self.advanced_row(&mut conn, actor, id).await?.to_dto())
    }

    pub async fn advanced_create(
        &self,
        actor: &Actor,
        mut p: AdvancedThrottlePolicy,
    ) -> Result<AdvancedThrottlePolicy, ApiError> {
        actor.require(MANAGE_SCOPES)?;
        check(&mut p)?;
        let mut tx = self.db.begin().await?;
        let id: Uuid = sqlx::query_scalar(
            "INSERT INTO advanced_throttling_policy (organization_id, name, display_name,
                    description, default_limit, conditional_groups)
             SELECT o.id, $2, $3, $4, $5, $6 FROM organization o WHERE o.name = $1
             RETURNING id",
        )
        .bind(&actor.organization)
        .bind(&p.policy_name)
        .bind(p.display_name.trim())
        .bind(p.description.trim())
        .bind(Json(&p.default_limit))
        .bind(Json(&p.conditional_groups))
        .fetch_one(&mut *tx)
        .await
        .on_constraint("advanced_throttling_policy_name_key", || {
            ApiError::Conflict {
                message: format!("An advanced policy named {} exists", p.policy_name),
                errors: vec![FieldError::new("policyName", "is taken")],
            }
        })?;
        // No API names it yet: the gateways need not hear of it.
        audit(&mut tx, actor, "create", &p).await?;
        tx.commit().await?;
        self.advanced_get(actor, &id.to_string()).await
    }

    /// Changes a policy's limits, groups and texts; its name stays (APIs refer to it by name).
    pub async fn advanced_update(
        &self,
        actor: &Actor,
        id: &str,
        mut p: AdvancedThrottlePolicy,
    ) -> Result<AdvancedThrottlePolicy, ApiError> {
        actor.require(MANAGE_SCOPES)?;
        let mut tx = self.db.begin().await?;
        let row = self.advanced_row(&mut tx, actor, id).await?;
        if !p.policy_name.trim().is_empty() && p.policy_name.trim() != row.name {
            return Err(ApiError::field(
                "policyName",
                format!(
                    "cannot change (is `{}`); APIs and operations use it by name",
                    row.name
                ),
            ));
        }
        p.policy_name = row.name.clone();
        if row.built_in && row.name == UNLIMITED {
            return Err(ApiError::field(
                "policyName",
                "Unlimited has no limits to change",
            ));
        }
        check(&mut p)?;
        sqlx::query(
            "UPDATE advanced_throttling_policy
                SET display_name = $2, description = $3, default_limit = $4,
                    conditional_groups = $5, updated_at = now()
              WHERE id = $1",
        )
        .bind(row.id)
        .bind(p.display_name.trim())
        .bind(p.description.trim())
        .bind(Json(&p.default_limit))
        .bind(Json(&p.conditional_groups))
        .execute(&mut *tx)
        .await?;
        crate::keymanager::runtime::bump_all(&mut tx).await?;
        audit(&mut tx, actor, "update", &p).await?;
        tx.commit().await?;
        self.advanced_get(actor, id).await
    }

    /// Removes a custom policy no API or operation names (409 saying how many do).
    pub async fn advanced_delete(&self, actor: &Actor, id: &str) -> Result<(), ApiError> {
        actor.require(MANAGE_SCOPES)?;
        let mut tx = self.db.begin().await?;
        let row = self.advanced_row(&mut tx, actor, id).await?;
        if row.built_in {
            return Err(ApiError::field("policyId", "built-in policies stay"));
        }
        let used = users(&mut tx, &actor.organization, &row.name).await?;
        if used > 0 {
            return Err(ApiError::Conflict {
                message: format!(
                    "{} is used by {used} API(s) (the API, an operation, or a deployed revision); \
                     pick another policy there first",
                    row.name
                ),
                errors: vec![FieldError::new("policyId", "in use")],
            });
        }
        sqlx::query("DELETE FROM advanced_throttling_policy WHERE id = $1")
            .bind(row.id)
            .execute(&mut *tx)
            .await?;
        crate::keymanager::runtime::bump_all(&mut tx).await?;
        crate::keymanager::audit(
            &mut tx,
            actor,
            &format!("throttling.{ADVANCED}.delete"),
            "throttling_policy",
            &row.name,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::throttling::ThrottleCondition as C;

    fn policy(groups: Vec<ConditionalGroup>) -> AdvancedThrottlePolicy {
        let mut p = AdvancedThrottlePolicy::new("Partners", ThrottleLimit::requests(100, 1, "min"));
        p.conditional_groups = groups;
        p
    }

    fn group(conditions: Vec<ThrottleCondition>, limit: ThrottleLimit) -> ConditionalGroup {
        ConditionalGroup {
            description: String::new(),
            conditions,
            limit,
        }
    }

    fn fields(
        r: Result<(snapshot::Limit, Vec<snapshot::ConditionalGroup>), ApiError>,
    ) -> Vec<String> {
        match r {
            Err(ApiError::BadRequest { errors, .. }) => {
                errors.into_iter().map(|e| e.code).collect()
            }
            Err(e) => panic!("{e:?}"),
            Ok(_) => vec![],
        }
    }

    #[test]
    fn a_valid_policy_becomes_the_gateways_form() {
        let mut p = policy(vec![group(
            vec![
                C::header("X-Partner", "^gold$"),
                C::ip_range("10.0.0.1", "10.0.0.9"),
                C::claim("http://wso2.org/claims/applicationname", "Mobile"),
                C::query("city", "Paris"),
            ],
            ThrottleLimit::bandwidth(2, "MB", 5, "min"),
        )]);
        p.conditional_groups[0].conditions[1].invert_condition = true;
        let (default, groups) = check(&mut p).unwrap();
        assert_eq!(default.requests, Some(100));
        assert_eq!(default.period_seconds, 60);
        assert_eq!(groups[0].limit.bytes, Some(2 << 20));
        assert_eq!(groups[0].limit.period_seconds, 300);
        assert_eq!(
            groups[0].conditions[1],
            Condition::IpRange {
                from: "10.0.0.1".into(),
                to: "10.0.0.9".into(),
                invert: true
            }
        );
    }

    #[test]
    fn problems_name_the_field() {
        let mut bad_ip = C::ip_range("10.0.0.1", "nonsense");
        bad_ip.ip_condition.as_mut().unwrap().starting_ip = Some("10.0.0.300".into());
        let mut unknown = C::header("X", "y");
        unknown.kind = "COOKIECONDITION".into();
        let mut no_object = C::header("X", "y");
        no_object.header_condition = None;
        let mut zero = ThrottleLimit::requests(0, 1, "week");
        zero.kind = REQUEST_COUNT_LIMIT.into();
        let mut p = policy(vec![
            group(
                vec![
                    C::header("X-Partner", "(gold"),
                    bad_ip,
                    C::ip("::1"),
                    C::ip("::1"),
                ],
                zero,
            ),
            group(
                vec![unknown, no_object],
                ThrottleLimit::bandwidth(1, "TB", 1, "min"),
            ),
            group(vec![], ThrottleLimit::requests(1, 0, "min")),
            group(
                vec![C::claim("", "x"), C::query("q", "")],
                ThrottleLimit::requests(1, 1, "min"),
            ),
        ]);
        assert_eq!(
            fields(check(&mut p)),
            [
                "conditionalGroups[0].limit.requestCount.requestCount",
                "conditionalGroups[0].limit.requestCount.timeUnit",
                "conditionalGroups[0].conditions[0].headerCondition.headerValue",
                "conditionalGroups[0].conditions[1].ipCondition.startingIP",
                "conditionalGroups[0].conditions[1].ipCondition.endingIP",
                "conditionalGroups[0].conditions[3]",
                "conditionalGroups[1].limit.bandwidth.dataUnit",
                "conditionalGroups[1].conditions[0].type",
                "conditionalGroups[1].conditions[1].headerCondition",
                "conditionalGroups[2].limit.requestCount.unitTime",
                "conditionalGroups[2].conditions",
                "conditionalGroups[3].conditions[0].jwtClaimsCondition.claimUrl",
                "conditionalGroups[3].conditions[1].queryParameterCondition.parameterValue",
            ]
        );
        // A second group with the same conditions (in another order) is never reached.
        let mut p = policy(vec![
            group(
                vec![C::header("A", "1"), C::query("b", "2")],
                ThrottleLimit::requests(1, 1, "min"),
            ),
            group(
                vec![C::query("b", "2"), C::header("A", "1")],
                ThrottleLimit::requests(5, 1, "min"),
            ),
        ]);
        assert_eq!(fields(check(&mut p)), ["conditionalGroups[1].conditions"]);
        // Mixed families, reversed ranges.
        let mut p = policy(vec![group(
            vec![
                C::ip_range("10.0.0.9", "10.0.0.1"),
                C::ip_range("10.0.0.1", "::1"),
            ],
            ThrottleLimit::requests(1, 1, "min"),
        )]);
        assert_eq!(
            fields(check(&mut p)),
            [
                "conditionalGroups[0].conditions[0].ipCondition.endingIP",
                "conditionalGroups[0].conditions[1].ipCondition.endingIP"
            ]
        );
    }
}
