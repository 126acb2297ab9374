//! Subscriptions (DevPortal `/subscriptions`): an application the user owns × an API or product
//! the user can see in the catalogue, with one of the tiers the API offers.

use app::applications::{SubscribedApi, Subscription, status};
use app::auth::scopes as s;
use app::devportal::CatalogueApi;
use app::publisher::Page;
use app::workflows::{SUBSCRIPTION_CREATION, SUBSCRIPTION_UPDATE};
use uuid::Uuid;

use super::{KeyManager, parse_id, runtime};
use crate::devportal::Catalogue;
use crate::error::{ApiError, ResultExt};
use crate::publisher::Actor;
use crate::workflows;

pub const SUBSCRIPTION_SCOPES: &[&str] = &[s::SUBSCRIBE, "apim:sub_manage"];

#[derive(sqlx::FromRow)]
struct SubRow {
    id: Uuid,
    application_id: Uuid,
    application_name: String,
    api_id: Uuid,
    api_name: String,
    api_version: String,
    api_context: String,
    api_type: String,
    api_provider: String,
    api_status: String,
    throttling_policy: String,
    requested_throttling_policy: Option<String>,
    status: String,
}

const SUB_SELECT: &str = "SELECT s.id, s.application_id, ap.name AS application_name, s.api_id, \
     a.name AS api_name, a.version AS api_version, a.context AS api_context, a.type AS api_type, \
     a.provider AS api_provider, a.lifecycle_status AS api_status, s.throttling_policy, \
     s.requested_throttling_policy, s.status \
     FROM subscription s JOIN application ap ON ap.id = s.application_id \
     JOIN app_user u ON u.id = ap.owner_id JOIN organization o ON o.id = ap.organization_id \
     JOIN api a ON a.id = s.api_id";

impl SubRow {
    fn to_dto(&self) -> Subscription {
        Subscription {
            subscription_id: Some(self.id.to_string()),
            application_id: self.application_id.to_string(),
            api_id: self.api_id.to_string(),
            api_info: Some(SubscribedApi {
                id: self.api_id.to_string(),
                name: self.api_name.clone(),
                version: self.api_version.clone(),
                context: format!("{}/{}", self.api_context, self.api_version),
                kind: self.api_type.clone(),
                provider: self.api_provider.clone(),
                life_cycle_status: self.api_status.clone(),
            }),
            application_info: Some(serde_json::json!({
                "applicationId": self.application_id.to_string(),
                "name": self.application_name,
            })),
            throttling_policy: self.throttling_policy.clone(),
            requested_throttling_policy: self.requested_throttling_policy.clone(),
            status: self.status.clone(),
        }
    }
}

impl KeyManager {
    /// Subscriptions of one of the actor's applications, or of the actor's applications to one
    /// API.
    pub async fn list_subscriptions(
        &self,
        actor: &Actor,
        application_id: Option<&str>,
        api_id: Option<&str>,
        offset: i64,
        limit: i64,
    ) -> Result<Page<Subscription>, ApiError> {
        actor.require(SUBSCRIPTION_SCOPES)?;
        let app = match application_id {
            Some(id) => Some(self.own_application(actor, id).await?.id),
            None => None,
        };
        let api = match api_id {
            Some(id) => Some(parse_id(id, "API")?),
            None => None,
        };
        if app.is_none() && api.is_none() {
            return Err(ApiError::field(
                "applicationId",
                "give applicationId or apiId",
            ));
        }
        let offset = offset.max(0);
        let limit = limit.clamp(1, 500);
        let filter = "WHERE o.name = $1 AND u.username = $2
                AND ($3::uuid IS NULL OR s.application_id = $3)
                AND ($4::uuid IS NULL OR s.api_id = $4)";
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM subscription s JOIN application ap ON ap.id = s.application_id
               JOIN app_user u ON u.id = ap.owner_id
               JOIN organization o ON o.id = ap.organization_id {filter}"
        )))
        .bind(&actor.organization)
        .bind(&actor.username)
        .bind(app)
        .bind(api)
        .fetch_one(&self.db)
        .await?;
        let rows: Vec<SubRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SUB_SELECT} {filter}
              ORDER BY lower(a.name), a.version, lower(ap.name), s.id OFFSET $5 LIMIT $6"
        )))
        .bind(&actor.organization)
        .bind(&actor.username)
        .bind(app)
        .bind(api)
        .bind(offset)
        .bind(limit)
        .fetch_all(&self.db)
        .await?;
        let list = rows.iter().map(SubRow::to_dto).collect();
        let (app_q, api_q) = (
            application_id.unwrap_or_default(),
            api_id.unwrap_or_default(),
        );
        Ok(Page::new(list, offset, limit, total, |o| {
            crate::publisher::link(
                "/subscriptions",
                &[
                    ("applicationId", app_q),
                    ("apiId", api_q),
                    ("offset", &o.to_string()),
                    ("limit", &limit.to_string()),
                ],
            )
        }))
    }

    async fn own_subscription(&self, actor: &Actor, id: &str) -> Result<SubRow, ApiError> {
        let uuid = parse_id(id, "Subscription")?;
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SUB_SELECT} WHERE s.id = $1 AND o.name = $2 AND u.username = $3"
        )))
        .bind(uuid)
        .bind(&actor.organization)
        .bind(&actor.username)
        .fetch_optional(&self.db)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("Subscription {id} not found")))
    }

    pub async fn get_subscription(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<Subscription, ApiError> {
        actor.require(SUBSCRIPTION_SCOPES)?;
        Ok(self.own_subscription(actor, id).await?.to_dto())
    }

    /// The tiers `api` offers, checking that the actor may see it in the catalogue.
    async fn offered_tiers(
        &self,
        catalogue: &Catalogue,
        actor: &Actor,
        api_id: &str,
    ) -> Result<(Vec<String>, CatalogueApi), ApiError> {
        let api = catalogue
            .get(Some(actor), api_id)
            .await
            .map_err(|e| match e {
                ApiError::NotFound(_) => ApiError::field("apiId", format!("no API {api_id}")),
                other => other,
            })?;
        if !api.info.is_subscription_available {
            return Err(ApiError::field(
                "apiId",
                format!(
                    "{} {} is {} and takes no new subscriptions",
                    api.info.name, api.info.version, api.info.life_cycle_status
                ),
            ));
        }
        Ok((api.info.throttling_policies.clone(), api.info))
    }

    pub async fn create_subscription(
        &self,
        catalogue: &Catalogue,
        actor: &Actor,
        sub: Subscription,
    ) -> Result<Subscription, ApiError> {
        actor.require(SUBSCRIPTION_SCOPES)?;
        let app = self
            .own_application(actor, &sub.application_id)
            .await
            .map_err(|_| {
                ApiError::field(
                    "applicationId",
                    format!("you have no application {}", sub.application_id),
                )
            })?;
        self.approved_application(actor, &sub.application_id)
            .await?;
        let (tiers, info) = self.offered_tiers(catalogue, actor, &sub.api_id).await?;
        let tier = if sub.throttling_policy.trim().is_empty() {
            tiers.first().cloned().unwrap_or_else(|| "Unlimited".into())
        } else {
            sub.throttling_policy.trim().to_string()
        };
        if !tiers.contains(&tier) {
            return Err(ApiError::field(
                "throttlingPolicy",
                format!(
                    "`{tier}` is not offered; choose one of {}",
                    tiers.join(", ")
                ),
            ));
        }
        let api = parse_id(&sub.api_id, "API")?;
        let mut tx = self.db.begin().await?;
        let id: Uuid = sqlx::query_scalar(
            "INSERT INTO subscription (application_id, api_id, throttling_policy, status, created_by)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(app.id)
        .bind(api)
        .bind(&tier)
        .bind(status::UNBLOCKED)
        .bind(&actor.username)
        .fetch_one(&mut *tx)
        .await
        .on_constraint("subscription_app_api_key", || ApiError::Conflict {
            message: format!("{} is already subscribed to this API", app.name),
            errors: vec![crate::error::FieldError::new(
                "apiId",
                "already subscribed",
            )],
        })?;
        super::audit(
            &mut tx,
            actor,
            "subscription.create",
            "subscription",
            &id.to_string(),
        )
        .await?;
        if workflows::needs_approval(
            &mut tx,
            app.organization_id,
            SUBSCRIPTION_CREATION,
            Some(&tier),
        )
        .await?
        {
            sqlx::query("UPDATE subscription SET status = 'ON_HOLD' WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            workflows::open(
                &mut tx,
                app.organization_id,
                SUBSCRIPTION_CREATION,
                id,
                &actor.username,
                format!(
                    "Subscribe {} to {} {} with the tier {tier}",
                    app.name, info.name, info.version
                ),
                workflows::subscription_properties(&info, &app.name, &tier, &actor.username),
            )
            .await?;
        }
        runtime::bump_for_api(&mut tx, api).await?;
        tx.commit().await?;
        self.get_subscription(actor, &id.to_string()).await
    }

    /// Changes the tier (`PUT /subscriptions/{id}`).
    pub async fn update_subscription(
        &self,
        catalogue: &Catalogue,
        actor: &Actor,
        id: &str,
        sub: Subscription,
    ) -> Result<Subscription, ApiError> {
        actor.require(SUBSCRIPTION_SCOPES)?;
        let row = self.own_subscription(actor, id).await?;
        let (tiers, info) = self
            .offered_tiers(catalogue, actor, &row.api_id.to_string())
            .await?;
        let tier = sub.throttling_policy.trim().to_string();
        if !tiers.contains(&tier) {
            return Err(ApiError::field(
                "throttlingPolicy",
                format!(
                    "`{tier}` is not offered; choose one of {}",
                    tiers.join(", ")
                ),
            ));
        }
        if [
            status::BLOCKED,
            status::REJECTED,
            status::ON_HOLD,
            status::TIER_UPDATE_PENDING,
        ]
        .contains(&row.status.as_str())
        {
            let why = match row.status.as_str() {
                status::ON_HOLD => "is waiting for approval".to_string(),
                status::TIER_UPDATE_PENDING => "has a tier change waiting for approval".into(),
                other => format!("is {other}"),
            };
            return Err(ApiError::Conflict {
                message: format!("The subscription {why}; its tier cannot change now"),
                errors: vec![crate::error::FieldError::new("status", why)],
            });
        }
        let mut tx = self.db.begin().await?;
        let organization: Uuid =
            sqlx::query_scalar("SELECT organization_id FROM application WHERE id = $1")
                .bind(row.application_id)
                .fetch_one(&mut *tx)
                .await?;
        if tier != row.throttling_policy
            && workflows::needs_approval(&mut tx, organization, SUBSCRIPTION_UPDATE, Some(&tier))
                .await?
        {
            sqlx::query(
                "UPDATE subscription SET requested_throttling_policy = $2,
                        status = 'TIER_UPDATE_PENDING', updated_at = now() WHERE id = $1",
            )
            .bind(row.id)
            .bind(&tier)
            .execute(&mut *tx)
            .await?;
            let mut props = workflows::subscription_properties(
                &info,
                &row.application_name,
                &tier,
                &actor.username,
            );
            props["currentTier"] = row.throttling_policy.clone().into();
            workflows::open(
                &mut tx,
                organization,
                SUBSCRIPTION_UPDATE,
                row.id,
                &actor.username,
                format!(
                    "Change the tier of {}'s subscription to {} {} from {} to {tier}",
                    row.application_name, info.name, info.version, row.throttling_policy
                ),
                props,
            )
            .await?;
        } else {
            sqlx::query(
                "UPDATE subscription SET throttling_policy = $2, updated_at = now() WHERE id = $1",
            )
            .bind(row.id)
            .bind(&tier)
            .execute(&mut *tx)
            .await?;
        }
        super::audit(&mut tx, actor, "subscription.update", "subscription", id).await?;
        runtime::bump_for_api(&mut tx, row.api_id).await?;
        tx.commit().await?;
        self.get_subscription(actor, id).await
    }

    pub async fn delete_subscription(&self, actor: &Actor, id: &str) -> Result<(), ApiError> {
        actor.require(SUBSCRIPTION_SCOPES)?;
        let row = self.own_subscription(actor, id).await?;
        let mut tx = self.db.begin().await?;
        sqlx::query("DELETE FROM subscription WHERE id = $1")
            .bind(row.id)
            .execute(&mut *tx)
            .await?;
        workflows::cancel(
            &mut tx,
            &[SUBSCRIPTION_CREATION, SUBSCRIPTION_UPDATE],
            row.id,
            &actor.username,
        )
        .await?;
        super::audit(&mut tx, actor, "subscription.delete", "subscription", id).await?;
        runtime::bump_for_api(&mut tx, row.api_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Publisher side: block / unblock a subscription to one of the actor's APIs
    /// (`POST /api/am/publisher/v4/subscriptions/block-subscription`).
    pub async fn set_subscription_state(
        &self,
        actor: &Actor,
        id: &str,
        new_status: &str,
    ) -> Result<(), ApiError> {
        actor.require(&[s::API_PUBLISH, "apim:subscription_block"])?;
        if ![
            status::BLOCKED,
            status::PROD_ONLY_BLOCKED,
            status::UNBLOCKED,
        ]
        .contains(&new_status)
        {
            return Err(ApiError::field(
                "blockState",
                "BLOCKED, PROD_ONLY_BLOCKED or UNBLOCKED",
            ));
        }
        let uuid = parse_id(id, "Subscription")?;
        let mut tx = self.db.begin().await?;
        let api: Option<Uuid> = sqlx::query_scalar(
            "UPDATE subscription s SET status = $3, updated_at = now()
               FROM api a JOIN organization o ON o.id = a.organization_id
              WHERE s.id = $1 AND a.id = s.api_id AND o.name = $2
             RETURNING s.api_id",
        )
        .bind(uuid)
        .bind(&actor.organization)
        .bind(new_status)
        .fetch_optional(&mut *tx)
        .await?;
        let api = api.ok_or_else(|| ApiError::NotFound(format!("Subscription {id} not found")))?;
        super::audit(
            &mut tx,
            actor,
            &format!("subscription.{}", new_status.to_ascii_lowercase()),
            "subscription",
            id,
        )
        .await?;
        runtime::bump_for_api(&mut tx, api).await?;
        tx.commit().await?;
        Ok(())
    }
}
