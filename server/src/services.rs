//! The service layer the portal pages call (through server functions). Each method checks
//! the caller's scopes itself, so no page can reach data its user may not see.

use app::api::ssr::{BoxFuture, PortalServices};
use app::api::{FieldProblem, RoleSummary, ServiceError, UserSummary};
use app::auth::{CurrentUser, scopes};
use app::publisher::{Deployment, PublisherCall, PublisherReply};
use sqlx::PgPool;

use crate::error::ApiError;
use crate::publisher::{Actor, Publisher};

pub struct DbServices {
    db: PgPool,
    publisher: Publisher,
    catalogue: crate::devportal::Catalogue,
    km: crate::keymanager::KeyManager,
    ai: crate::ai::Ai,
}

impl DbServices {
    /// The services over the server's state (what the portals use).
    pub fn from_state(state: &crate::AppState) -> Self {
        Self::new(
            state.db.clone(),
            Publisher::new(state.db.clone(), state.settings.publisher.clone()),
            crate::http::devportal::catalogue(state),
            state.km.clone(),
            state.ai.clone(),
        )
    }

    pub fn new(
        db: PgPool,
        publisher: Publisher,
        catalogue: crate::devportal::Catalogue,
        km: crate::keymanager::KeyManager,
        ai: crate::ai::Ai,
    ) -> Self {
        Self {
            db,
            publisher,
            catalogue,
            km,
            ai,
        }
    }

    fn settings(&self) -> crate::admin_settings::AdminSettings<'_> {
        crate::admin_settings::AdminSettings {
            db: &self.db,
            super_organization: &self.km.default_organization,
            km: &self.km,
        }
    }

    async fn applications_call(
        &self,
        actor: &Actor,
        call: app::applications::ApplicationsCall,
    ) -> Result<app::applications::ApplicationsReply, ApiError> {
        use app::applications::{ApiKeyGenerateRequest, ApiKeyRevokeRequest, TokenGenerateRequest};
        use app::applications::{ApplicationsCall as C, ApplicationsReply as R};
        let km = &self.km;
        Ok(match call {
            C::List => R::Applications(km.list_applications(actor, None, 0, 500).await?.list),
            C::Get { id } => R::Application(Box::new(km.get_application(actor, &id).await?)),
            C::Create { application } => {
                R::Application(Box::new(km.create_application(actor, application).await?))
            }
            C::Update { id, application } => R::Application(Box::new(
                km.update_application(actor, &id, application).await?,
            )),
            C::Delete { id } => {
                km.delete_application(actor, &id).await?;
                R::Done
            }
            C::GenerateKeys { id, request } => {
                R::Key(Box::new(km.generate_keys(actor, &id, request).await?))
            }
            C::MapKeys { id, request } => R::Key(Box::new(km.map_keys(actor, &id, request).await?)),
            C::RegenerateSecret { id, key_mapping_id } => R::Key(Box::new(
                km.regenerate_secret(actor, &id, &key_mapping_id).await?,
            )),
            C::CleanUp { id, key_mapping_id } => {
                km.clean_up_keys(actor, &id, &key_mapping_id).await?;
                R::Done
            }
            C::GenerateToken {
                id,
                key_mapping_id,
                scopes,
            } => R::Token(
                km.generate_token(
                    actor,
                    &id,
                    &key_mapping_id,
                    TokenGenerateRequest {
                        scopes,
                        ..TokenGenerateRequest::default()
                    },
                )
                .await?,
            ),
            C::ApiKeys { id } => R::ApiKeys(km.api_keys(actor, &id).await?),
            C::GenerateApiKey {
                id,
                key_type,
                validity_seconds,
            } => R::ApiKey(
                km.generate_api_key(
                    actor,
                    &id,
                    &key_type,
                    ApiKeyGenerateRequest {
                        validity_period: validity_seconds,
                        ..ApiKeyGenerateRequest::default()
                    },
                )
                .await?,
            ),
            C::RevokeApiKey {
                id,
                key_type,
                key_id,
            } => {
                km.revoke_api_key(
                    actor,
                    &id,
                    &key_type,
                    ApiKeyRevokeRequest {
                        apikey: None,
                        key_id: Some(key_id),
                    },
                )
                .await?;
                R::Done
            }
            C::Subscriptions {
                application_id,
                api_id,
                offset,
                limit,
            } => R::Subscriptions(
                km.list_subscriptions(
                    actor,
                    application_id.as_deref(),
                    api_id.as_deref(),
                    offset,
                    limit,
                )
                .await?,
            ),
            C::Subscribe { subscription } => R::Subscription(Box::new(
                km.create_subscription(&self.catalogue, actor, subscription)
                    .await?,
            )),
            C::Unsubscribe { id } => {
                km.delete_subscription(actor, &id).await?;
                R::Done
            }
            C::KeyManagers => R::KeyManagers(km.infos(actor).await?),
            C::ApplicationPolicies => {
                actor.require(crate::keymanager::applications::APP_SCOPES)?;
                R::Policies(
                    crate::throttling::names(&self.db, &actor.organization, "application").await?,
                )
            }
            C::TryOut { request } => {
                R::TryOut(Box::new(km.try_out(&self.catalogue, actor, request).await?))
            }
        })
    }
}

/// The REST error as the portal sees it: the same fields, the same messages.
impl From<ApiError> for ServiceError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Unauthorized(_) => ServiceError::Unauthorized,
            ApiError::Forbidden(d) => ServiceError::Forbidden { scope: d },
            ApiError::NotFound(d) => ServiceError::NotFound(d),
            ApiError::BadRequest { message, errors } | ApiError::Conflict { message, errors } => {
                ServiceError::Fields {
                    message,
                    problems: errors
                        .into_iter()
                        .map(|e| FieldProblem {
                            field: e.code,
                            message: e.message,
                        })
                        .collect(),
                }
            }
            ApiError::MethodNotAllowed(d) => ServiceError::Invalid {
                field: "method".into(),
                message: d,
            },
            ApiError::UnsupportedMediaType(d) => ServiceError::Invalid {
                field: "body".into(),
                message: d,
            },
            ApiError::TooManyRequests(d, _)
            | ApiError::Unavailable(d)
            | ApiError::BadGateway(d)
            | ApiError::GatewayTimeout(d) => ServiceError::Unavailable(d),
            ApiError::Sqlx(e) => {
                tracing::error!(error = %e, "database error");
                ServiceError::Internal
            }
            ApiError::Anyhow(e) => {
                tracing::error!(error = ?e, "internal error");
                ServiceError::Internal
            }
        }
    }
}

async fn publisher_call(
    p: &Publisher,
    actor: &Actor,
    call: PublisherCall,
) -> Result<PublisherReply, ApiError> {
    use PublisherCall as C;
    use PublisherReply as R;
    let one = |environment: String| {
        vec![Deployment {
            revision_uuid: None,
            name: environment,
            vhost: None,
            display_on_devportal: true,
            status: None,
            deployed_time: None,
            success_deployed_time: None,
        }]
    };
    Ok(match call {
        C::List { query, product } => {
            let q = crate::publisher::apis::ListQuery {
                query: Some(query),
                offset: None,
                limit: Some(500),
            };
            R::Page(p.list(actor, &q, product).await?)
        }
        C::Get { id, product } => R::Api(Box::new(p.get(actor, &id, product).await?)),
        C::Create { api, product } => R::Api(Box::new(p.create(actor, api, None, product).await?)),
        C::Update { id, api, product } => {
            R::Api(Box::new(p.update(actor, &id, api, product).await?))
        }
        C::Delete { id, product } => {
            p.delete(actor, &id, product).await?;
            R::Done
        }
        C::Copy {
            id,
            version,
            default_version,
            product,
        } => R::Api(Box::new(
            p.copy(actor, &id, &version, default_version, product)
                .await?,
        )),
        C::Definition { id } => {
            // Pages show at most this much; the whole document is a download.
            const PREVIEW: usize = 256 * 1024;
            let doc = p.definition(actor, &id).await?;
            let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
            let total_bytes = text.len();
            let truncated = total_bytes > PREVIEW;
            if truncated {
                let mut cut = PREVIEW;
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                text.truncate(cut);
                text.push_str("\n…");
            }
            R::Definition {
                text,
                total_bytes,
                truncated,
            }
        }
        C::ChangeLifecycle {
            id,
            action,
            checklist,
            product,
        } => {
            let list: Vec<String> = checklist.iter().map(|c| format!("{c}:true")).collect();
            let reply = p
                .change_lifecycle(actor, &id, &action, &list.join(","), product)
                .await?;
            R::State(
                serde_json::from_value(reply["lifecycleState"].clone())
                    .map_err(|e| ApiError::Anyhow(e.into()))?,
            )
        }
        C::History { id, product } => R::History(p.lifecycle_history(actor, &id, product).await?),
        C::Lifecycle { id, product } => R::Lifecycle {
            state: p.lifecycle_state(actor, &id, product).await?,
            history: p.lifecycle_history(actor, &id, product).await?,
        },
        C::CancelStateChange { id, product } => {
            p.cancel_state_change(actor, &id, product).await?;
            R::Done
        }
        C::Revisions { id, product } => R::Revisions(p.list_revisions(actor, &id, product).await?),
        C::CreateRevision {
            id,
            description,
            product,
        } => R::Revision(p.create_revision(actor, &id, &description, product).await?),
        C::DeleteRevision {
            id,
            revision,
            product,
        } => {
            p.delete_revision(actor, &id, &revision, product).await?;
            R::Done
        }
        C::RestoreRevision {
            id,
            revision,
            product,
        } => R::Api(Box::new(
            p.restore_revision(actor, &id, &revision, product).await?,
        )),
        C::Deploy {
            id,
            revision,
            environment,
            product,
        } => R::Deployments(
            p.deploy(actor, &id, &revision, one(environment), product)
                .await?,
        ),
        C::CancelDeployment {
            id,
            revision,
            environment,
            product,
        } => R::Deployments(
            p.cancel_deployment(actor, &id, &revision, &environment, product)
                .await?,
        ),
        C::Undeploy {
            id,
            revision,
            environment,
            product,
        } => R::Deployments(
            p.undeploy(actor, &id, &revision, one(environment), false, product)
                .await?,
        ),
        C::Environments => {
            actor.require(crate::publisher::VIEW_SCOPES)?;
            R::Environments(p.environments().await?)
        }
        C::Categories => {
            actor.require(crate::publisher::VIEW_SCOPES)?;
            R::Categories(crate::admin_settings::category_list(&p.db, &actor.organization).await?)
        }
        C::AdvancedPolicies => {
            actor.require(crate::publisher::VIEW_SCOPES)?;
            R::AdvancedPolicies(
                crate::throttling::advanced::names(&p.db, &actor.organization).await?,
            )
        }
        C::ChangeProvider { id, provider } => {
            p.change_provider(actor, &id, &provider).await?;
            R::Done
        }
        C::OperationPolicies => {
            actor.require(crate::publisher::VIEW_SCOPES)?;
            R::OperationPolicies(policy_catalogue())
        }
    })
}

/// The gateway's mediation-policy catalogue for the portal's editor. Types and flows keep the
/// gateway's own names (its serde form), so a type added there needs no change here.
fn policy_catalogue() -> Vec<app::publisher::PolicySpec> {
    let name = |v: serde_json::Value| v.as_str().unwrap_or_default().to_string();
    gateway::policy::CATALOGUE
        .iter()
        .map(|p| app::publisher::PolicySpec {
            name: p.name.into(),
            display_name: p.display_name.into(),
            description: p.description.into(),
            flows: p.flows.iter().map(|f| name(serde_json::json!(f))).collect(),
            parameters: p
                .parameters
                .iter()
                .map(|a| app::publisher::PolicyParam {
                    name: a.name.into(),
                    kind: name(serde_json::json!(a.kind)),
                    required: a.required,
                    description: a.description.into(),
                })
                .collect(),
        })
        .collect()
}

fn require(caller: &CurrentUser, any_of: &[&str]) -> Result<(), ServiceError> {
    if caller.has_any_scope(any_of) {
        Ok(())
    } else {
        Err(ServiceError::Forbidden {
            scope: any_of.join(" or "),
        })
    }
}

fn internal(e: sqlx::Error) -> ServiceError {
    tracing::error!(error = %e, "service query failed");
    ServiceError::Internal
}

#[derive(sqlx::FromRow)]
struct UserRow {
    username: String,
    display_name: String,
    email: Option<String>,
    roles: Vec<String>,
    locked: bool,
    created_at: chrono::DateTime<chrono::Utc>,
}

const USERS_SCOPES: &[&str] = &[scopes::ROLE_MANAGE, scopes::SCOPE_MANAGE, scopes::ADMIN];

impl PortalServices for DbServices {
    fn list_users<'a>(
        &'a self,
        caller: &'a CurrentUser,
    ) -> BoxFuture<'a, Result<Vec<UserSummary>, ServiceError>> {
        Box::pin(async move {
            require(caller, USERS_SCOPES)?;
            let rows: Vec<UserRow> = sqlx::query_as(
                "SELECT u.username, u.display_name, u.email,
                        ARRAY(SELECT r.name FROM user_role ur JOIN role r ON r.id = ur.role_id
                               WHERE ur.user_id = u.id ORDER BY r.name) AS roles,
                        u.locked, u.created_at
                   FROM app_user u JOIN organization o ON o.id = u.organization_id
                  WHERE o.name = $1 ORDER BY u.username",
            )
            .bind(&caller.organization)
            .fetch_all(&self.db)
            .await
            .map_err(internal)?;
            Ok(rows
                .into_iter()
                .map(|u| UserSummary {
                    username: u.username,
                    display_name: u.display_name,
                    email: u.email,
                    roles: u.roles,
                    locked: u.locked,
                    created_at: u.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                })
                .collect())
        })
    }

    fn list_roles<'a>(
        &'a self,
        caller: &'a CurrentUser,
    ) -> BoxFuture<'a, Result<Vec<RoleSummary>, ServiceError>> {
        Box::pin(async move {
            require(caller, USERS_SCOPES)?;
            let rows: Vec<(String, String, bool, Vec<String>, i64)> = sqlx::query_as(
                "SELECT r.name, r.description, r.built_in,
                        ARRAY(SELECT scope_name FROM role_scope WHERE role_id = r.id ORDER BY 1),
                        (SELECT count(*) FROM user_role WHERE role_id = r.id)
                   FROM role r JOIN organization o ON o.id = r.organization_id
                  WHERE o.name = $1 ORDER BY r.built_in DESC, r.name",
            )
            .bind(&caller.organization)
            .fetch_all(&self.db)
            .await
            .map_err(internal)?;
            Ok(rows
                .into_iter()
                .map(|(name, description, built_in, scopes, users)| RoleSummary {
                    name,
                    description,
                    built_in,
                    scopes,
                    users,
                })
                .collect())
        })
    }

    fn devportal<'a>(
        &'a self,
        caller: Option<&'a CurrentUser>,
        call: app::devportal::DevportalCall,
    ) -> BoxFuture<'a, Result<app::devportal::DevportalReply, ServiceError>> {
        use app::devportal::{DevportalCall as C, DevportalReply as R};
        Box::pin(async move {
            let actor = caller.map(Actor::from);
            let result = match call {
                C::List {
                    query,
                    offset,
                    limit,
                } => self
                    .catalogue
                    .list(actor.as_ref(), &query, offset, limit)
                    .await
                    .map(R::Page),
                C::Get { id } => self
                    .catalogue
                    .get(actor.as_ref(), &id)
                    .await
                    .map(|a| R::Api(Box::new(a))),
                C::Assistant(request) => crate::http::devportal::assistant(
                    &self.ai,
                    &self.db,
                    &self.catalogue,
                    actor.as_ref(),
                    None,
                    request,
                )
                .await
                .map(R::Assistant),
                C::ApiChat {
                    api_id,
                    action,
                    request,
                } => crate::http::devportal::api_chat(
                    &self.ai,
                    &self.db,
                    &self.km,
                    &self.catalogue,
                    actor.as_ref(),
                    &api_id,
                    &action,
                    request,
                )
                .await
                .map(|r| match r {
                    crate::http::devportal::ApiChatOutcome::Plan(p) => R::ApiChatPlan(p),
                    crate::http::devportal::ApiChatOutcome::Run(r) => R::ApiChatRun(r),
                }),
                C::Categories => {
                    let org = actor
                        .as_ref()
                        .map(|a| a.organization.as_str())
                        .unwrap_or(&self.catalogue.default_organization);
                    crate::admin_settings::category_list(&self.db, org)
                        .await
                        .map(|list| {
                            R::Categories(
                                list.into_iter()
                                    .map(|c| app::settings::ApiCategory {
                                        number_of_apis: 0,
                                        ..c
                                    })
                                    .collect(),
                            )
                        })
                }
            };
            result.map_err(ServiceError::from)
        })
    }

    fn applications<'a>(
        &'a self,
        caller: &'a CurrentUser,
        call: app::applications::ApplicationsCall,
    ) -> BoxFuture<'a, Result<app::applications::ApplicationsReply, ServiceError>> {
        Box::pin(async move {
            let actor = Actor::from(caller);
            self.applications_call(&actor, call)
                .await
                .map_err(ServiceError::from)
        })
    }

    fn environments_admin<'a>(
        &'a self,
        caller: &'a CurrentUser,
        call: app::api::EnvAdmin,
    ) -> BoxFuture<'a, Result<app::api::EnvAdminReply, ServiceError>> {
        use app::api::{EnvAdmin as C, EnvAdminReply as R};
        Box::pin(async move {
            let actor = Actor::from(caller);
            let p = &self.publisher;
            let result = match call {
                C::List => match p.gateways(&actor).await {
                    Ok(gateways) => p.environments().await.map(|environments| R::List {
                        environments,
                        gateways,
                    }),
                    Err(e) => Err(e),
                },
                C::Create(input) => p
                    .create_environment(&actor, input, &self.km.default_organization)
                    .await
                    .map(|_| R::Done),
                C::Update { id, input } => p
                    .update_environment(&actor, &id, input, &self.km.default_organization)
                    .await
                    .map(|_| R::Done),
                C::Delete { id } => p
                    .delete_environment(&actor, &id, &self.km.default_organization)
                    .await
                    .map(|_| R::Done),
                C::GatewayPolicies => match p.gateway_policies(&actor, None).await {
                    Ok(mappings) => p.environments().await.map(|envs| R::GatewayPolicies {
                        mappings,
                        environments: envs.into_iter().map(|e| e.name).collect(),
                        catalogue: policy_catalogue(),
                    }),
                    Err(e) => Err(e),
                },
                C::SaveGatewayPolicy(m) => match m.id.clone() {
                    id if id.is_empty() => p.create_gateway_policy(&actor, m).await,
                    id => p.update_gateway_policy(&actor, &id, m).await,
                }
                .map(|_| R::Done),
                C::DeleteGatewayPolicy { id } => {
                    p.delete_gateway_policy(&actor, &id).await.map(|_| R::Done)
                }
                C::DeployGatewayPolicy { id, changes } => p
                    .deploy_gateway_policy(&actor, &id, changes)
                    .await
                    .map(|_| R::Done),
                C::Diagnostics {
                    environment,
                    gateway_id,
                } => p
                    .gateway_diagnostics(&actor, &environment, &gateway_id)
                    .await
                    .map(|d| R::Diagnostics(d.map(Box::new))),
            };
            result.map_err(ServiceError::from)
        })
    }

    fn analytics<'a>(
        &'a self,
        caller: &'a CurrentUser,
        scope: app::analytics::Scope,
        range: app::analytics::Range,
    ) -> BoxFuture<'a, Result<app::analytics::Report, ServiceError>> {
        Box::pin(async move {
            let actor = Actor::from(caller);
            crate::analytics::report(&self.db, &self.publisher, &self.km, &actor, &scope, range)
                .await
                .map_err(ServiceError::from)
        })
    }

    fn key_managers_admin<'a>(
        &'a self,
        caller: &'a CurrentUser,
        call: app::api::KmAdmin,
    ) -> BoxFuture<'a, Result<app::api::KmAdminReply, ServiceError>> {
        use app::api::{KmAdmin as C, KmAdminReply as R};
        Box::pin(async move {
            let actor = Actor::from(caller);
            let km = &self.km;
            let result = match call {
                C::List => km.admin_list(&actor).await.map(R::List),
                C::Save(dto) => match dto.id.clone().filter(|i| !i.is_empty()) {
                    Some(id) => km.admin_update(&actor, &id, *dto).await,
                    None => km.admin_create(&actor, *dto).await,
                }
                .map(|k| R::One(Box::new(k))),
                C::SetEnabled { id, enabled } => match km.admin_get(&actor, &id).await {
                    Ok(mut dto) => {
                        dto.enabled = enabled;
                        km.admin_update(&actor, &id, dto)
                            .await
                            .map(|k| R::One(Box::new(k)))
                    }
                    Err(e) => Err(e),
                },
                C::Delete { id } => km.admin_delete(&actor, &id).await.map(|_| R::Done),
            };
            result.map_err(ServiceError::from)
        })
    }

    fn throttling_admin<'a>(
        &'a self,
        caller: &'a CurrentUser,
        call: app::throttling::ThrottlingCall,
    ) -> BoxFuture<'a, Result<app::throttling::ThrottlingReply, ServiceError>> {
        use app::throttling::{ThrottlingCall as C, ThrottlingReply as R};
        Box::pin(async move {
            let actor = Actor::from(caller);
            let t = crate::throttling::Throttling { db: &self.db };
            let result = match call {
                C::List { level } => t.list(&actor, &level).await.map(R::List),
                C::Save { level, policy } => {
                    let id = policy.policy_id.clone();
                    if id.trim().is_empty() {
                        t.create(&actor, &level, *policy).await
                    } else {
                        t.update(&actor, &level, &id, *policy).await
                    }
                    .map(|p| R::One(Box::new(p)))
                }
                C::Delete { level, id } => t.delete(&actor, &level, &id).await.map(|_| R::Done),
                C::DenyList => t.deny_list(&actor).await.map(R::Deny),
                C::DenyCreate(c) => t.deny_create(&actor, c).await.map(|_| R::Done),
                C::DenySetStatus { id, enabled } => t
                    .deny_set_status(&actor, &id, enabled)
                    .await
                    .map(|_| R::Done),
                C::DenyDelete { id } => t.deny_delete(&actor, &id).await.map(|_| R::Done),
                C::AdvancedList => t.advanced_list(&actor).await.map(R::Advanced),
                C::AdvancedSave(policy) => {
                    let id = policy.policy_id.clone();
                    if id.trim().is_empty() {
                        t.advanced_create(&actor, *policy).await
                    } else {
                        t.advanced_update(&actor, &id, *policy).await
                    }
                    .map(|_| R::Done)
                }
                C::AdvancedDelete { id } => t.advanced_delete(&actor, &id).await.map(|_| R::Done),
            };
            result.map_err(ServiceError::from)
        })
    }

    fn settings_admin<'a>(
        &'a self,
        caller: &'a CurrentUser,
        call: app::settings::SettingsCall,
    ) -> BoxFuture<'a, Result<app::settings::SettingsReply, ServiceError>> {
        Box::pin(async move {
            let actor = Actor::from(caller);
            self.settings()
                .call(&actor, call)
                .await
                .map_err(ServiceError::from)
        })
    }

    fn user_admin<'a>(
        &'a self,
        caller: &'a CurrentUser,
        call: app::api::UsersChange,
    ) -> BoxFuture<'a, Result<app::api::UsersChangeReply, ServiceError>> {
        Box::pin(async move {
            let actor = Actor::from(caller);
            crate::users_admin::UserAdmin { db: &self.db }
                .call(&actor, call)
                .await
                .map_err(ServiceError::from)
        })
    }

    fn feedback<'a>(
        &'a self,
        caller: Option<&'a CurrentUser>,
        call: app::feedback::FeedbackCall,
    ) -> BoxFuture<'a, Result<app::feedback::FeedbackReply, ServiceError>> {
        use app::feedback::{FeedbackCall as C, FeedbackReply as R};
        Box::pin(async move {
            let actor = caller.map(Actor::from);
            let f = crate::feedback::Feedback {
                catalogue: &self.catalogue,
            };
            let signed_in = || {
                actor
                    .as_ref()
                    .ok_or(ApiError::Unauthorized("sign in".into()))
            };
            let result = match call {
                C::Ratings { api_id } => f
                    .ratings(actor.as_ref(), &api_id, 0, 1)
                    .await
                    .map(R::Ratings),
                C::Rate { api_id, rating } => {
                    f.rate(signed_in()?, &api_id, rating).await.map(|_| R::Done)
                }
                C::Unrate { api_id } => f.unrate(signed_in()?, &api_id).await.map(|_| R::Done),
                C::Comments {
                    api_id,
                    offset,
                    limit,
                } => f
                    .comments(actor.as_ref(), &api_id, offset, limit, true)
                    .await
                    .map(R::Comments),
                C::Post {
                    api_id,
                    reply_to,
                    content,
                } => f
                    .post(
                        signed_in()?,
                        &api_id,
                        reply_to.as_deref(),
                        &app::feedback::CommentBody {
                            content: Some(content),
                            category: None,
                        },
                    )
                    .await
                    .map(|c| R::Comment(Box::new(c))),
                C::Edit {
                    api_id,
                    comment_id,
                    content,
                } => f
                    .edit(
                        signed_in()?,
                        &api_id,
                        &comment_id,
                        &app::feedback::CommentBody {
                            content: Some(content),
                            category: None,
                        },
                    )
                    .await
                    .map(|c| R::Comment(Box::new(c))),
                C::Delete { api_id, comment_id } => f
                    .delete(signed_in()?, &api_id, &comment_id)
                    .await
                    .map(|_| R::Done),
            };
            result.map_err(ServiceError::from)
        })
    }

    fn workflows<'a>(
        &'a self,
        caller: &'a CurrentUser,
        call: app::workflows::WorkflowCall,
    ) -> BoxFuture<'a, Result<app::workflows::WorkflowReply, ServiceError>> {
        use app::workflows::{WorkflowCall as C, WorkflowReply as R};
        Box::pin(async move {
            let actor = Actor::from(caller);
            let w = crate::workflows::Workflows {
                db: self.db.clone(),
            };
            let result = match call {
                C::List {
                    workflow_type,
                    status,
                    offset,
                    limit,
                } => w
                    .list(
                        &actor,
                        workflow_type.as_deref(),
                        status.as_deref(),
                        offset,
                        limit,
                    )
                    .await
                    .map(R::Page),
                C::Decide {
                    reference_id,
                    decision,
                } => w.decide(&actor, &reference_id, decision).await.map(R::One),
                C::Settings => w.settings(&actor).await.map(R::Settings),
                C::SaveSettings(list) => w.save_settings(&actor, list).await.map(R::Settings),
            };
            result.map_err(ServiceError::from)
        })
    }

    fn ai_admin<'a>(
        &'a self,
        caller: &'a CurrentUser,
        call: app::ai::AiAdminCall,
    ) -> BoxFuture<'a, Result<app::ai::AiAdminReply, ServiceError>> {
        Box::pin(async move {
            crate::http::ai_admin::call(&self.ai, &self.db, &Actor::from(caller), call)
                .await
                .map_err(ServiceError::from)
        })
    }

    fn documents<'a>(
        &'a self,
        caller: Option<&'a CurrentUser>,
        call: app::documents::DocumentCall,
    ) -> BoxFuture<'a, Result<app::documents::DocumentReply, ServiceError>> {
        Box::pin(async move {
            let actor = caller.map(Actor::from);
            crate::publisher::documents::portal_call(
                &self.publisher,
                &self.catalogue,
                actor.as_ref(),
                call,
            )
            .await
            .map_err(ServiceError::from)
        })
    }

    fn publisher<'a>(
        &'a self,
        caller: &'a CurrentUser,
        call: PublisherCall,
    ) -> BoxFuture<'a, Result<PublisherReply, ServiceError>> {
        Box::pin(async move {
            let actor = Actor::from(caller);
            publisher_call(&self.publisher, &actor, call)
                .await
                .map_err(ServiceError::from)
        })
    }
}
