//! Server functions the portals call, and the service interface the server implements for
//! them. The server injects its implementation as context, so portal pages and the REST API
//! run the same service code and the same scope checks.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::auth::Viewer;

/// A user as the admin portal lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub roles: Vec<String>,
    pub locked: bool,
    pub created_at: String,
}

/// A role with the scopes it grants.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleSummary {
    pub name: String,
    pub description: String,
    pub built_in: bool,
    pub scopes: Vec<String>,
    pub users: i64,
}

/// What the Admin portal's users & roles section changes (scope `apim:role_manage`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum UsersChange {
    /// Every scope of the catalogue, for the role editor.
    Scopes,
    /// Replaces a user's roles.
    SetRoles {
        username: String,
        roles: Vec<String>,
    },
    /// Locks (no sign-in, sessions end) or unlocks an account.
    SetLocked { username: String, locked: bool },
    /// Sets a new password the user is told out of band.
    ResetPassword { username: String, password: String },
    /// Creates a role or replaces its description and scopes.
    SaveRole {
        name: String,
        description: String,
        scopes: Vec<String>,
    },
    /// Deletes a role that is not built in.
    DeleteRole { name: String },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum UsersChangeReply {
    Scopes(Vec<String>),
    Done,
}

/// What the Admin portal's key-managers section does (scope `apim:keymanagers_manage`); the
/// same service as Admin v4 `/key-managers`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KmAdmin {
    List,
    /// Creates (no `id`) or replaces a key manager.
    Save(Box<crate::applications::KeyManagerDto>),
    SetEnabled {
        id: String,
        enabled: bool,
    },
    Delete {
        id: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KmAdminReply {
    List(Vec<crate::applications::KeyManagerDto>),
    One(Box<crate::applications::KeyManagerDto>),
    Done,
}

/// What the Admin portal's gateways section does (scopes `apim:environment_read` to look,
/// `apim:environment_manage` to change); the same service as Admin v4 `/environments`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EnvAdmin {
    List,
    Create(crate::publisher::EnvironmentInput),
    Update {
        id: String,
        input: crate::publisher::EnvironmentInput,
    },
    Delete {
        id: String,
    },
    /// Gateway policy mappings (scope `apim:gateway_policy_manage`), the same service as
    /// Publisher v4 `/gateway-policies`.
    GatewayPolicies,
    SaveGatewayPolicy(crate::gateway_policies::GatewayPolicyMapping),
    DeleteGatewayPolicy {
        id: String,
    },
    DeployGatewayPolicy {
        id: String,
        changes: Vec<crate::gateway_policies::GatewayPolicyDeployment>,
    },
    /// A connected gateway's last diagnostics report.
    Diagnostics {
        environment: String,
        gateway_id: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EnvAdminReply {
    List {
        environments: Vec<crate::publisher::Environment>,
        gateways: Vec<crate::publisher::GatewayInstance>,
    },
    GatewayPolicies {
        mappings: Vec<crate::gateway_policies::GatewayPolicyMapping>,
        /// Names of the environments a mapping can be deployed to.
        environments: Vec<String>,
        /// The gateway's policy catalogue, for the editor.
        catalogue: Vec<crate::publisher::PolicySpec>,
    },
    /// `None`: the gateway has not sent a report (it has no gateway token, or is older).
    Diagnostics(Option<Box<crate::publisher::GatewayDiagnostics>>),
    Done,
}

/// A server function's answer with a transport failure (the server could not be reached)
/// folded into the service's error, as the portal pages show it.
pub fn reached<T, E: std::fmt::Display>(
    answer: Result<Result<T, ServiceError>, E>,
) -> Result<T, ServiceError> {
    answer.unwrap_or_else(|e| {
        Err(ServiceError::Fields {
            message: format!("The server could not be reached: {e}"),
            problems: vec![],
        })
    })
}

/// Why a service call was refused; the server maps each to one HTTP status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServiceError {
    Unauthorized,
    Forbidden {
        scope: String,
    },
    NotFound(String),
    Invalid {
        field: String,
        message: String,
    },
    /// Several fields at fault (400 or 409): each problem names its field or JSON pointer.
    Fields {
        message: String,
        problems: Vec<FieldProblem>,
    },
    Internal,
    /// A service the call needs is busy, missing or slow (an AI model, a rate limit): the
    /// message says what to do.
    Unavailable(String),
}

/// One field's problem, shown next to the field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

impl ServiceError {
    /// The problem reported for `field`, if any.
    pub fn for_field(&self, field: &str) -> Option<String> {
        match self {
            ServiceError::Invalid { field: f, message } if f == field => Some(message.clone()),
            ServiceError::Fields { problems, .. } => problems
                .iter()
                .find(|p| p.field == field)
                .map(|p| p.message.clone()),
            _ => None,
        }
    }
}

impl std::fmt::Display for ServiceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServiceError::Unauthorized => write!(f, "sign in first"),
            ServiceError::Forbidden { scope } => write!(f, "this needs the scope {scope}"),
            ServiceError::NotFound(what) => write!(f, "{what} not found"),
            ServiceError::Invalid { field, message } => write!(f, "{field}: {message}"),
            ServiceError::Fields { message, .. } => write!(f, "{message}"),
            ServiceError::Internal => write!(f, "internal error; see the server log"),
            ServiceError::Unavailable(message) => write!(f, "{message}"),
        }
    }
}

#[cfg(feature = "ssr")]
pub mod ssr {
    //! What the server provides to the portals.
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Arc;

    use super::{RoleSummary, ServiceError, UserSummary};
    use crate::auth::{CurrentUser, Viewer};
    use crate::publisher::{PublisherCall, PublisherReply};

    pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

    /// Implemented by the server over its database; every method checks the caller's scopes.
    pub trait PortalServices: Send + Sync + 'static {
        fn list_users<'a>(
            &'a self,
            caller: &'a CurrentUser,
        ) -> BoxFuture<'a, Result<Vec<UserSummary>, ServiceError>>;
        fn list_roles<'a>(
            &'a self,
            caller: &'a CurrentUser,
        ) -> BoxFuture<'a, Result<Vec<RoleSummary>, ServiceError>>;
        /// Every Publisher operation the portal uses, through the same service as the REST API.
        /// The Developer Portal's catalogue; `caller` is `None` for anonymous visitors.
        fn devportal<'a>(
            &'a self,
            caller: Option<&'a CurrentUser>,
            call: crate::devportal::DevportalCall,
        ) -> BoxFuture<'a, Result<crate::devportal::DevportalReply, ServiceError>>;
        fn publisher<'a>(
            &'a self,
            caller: &'a CurrentUser,
            call: PublisherCall,
        ) -> BoxFuture<'a, Result<PublisherReply, ServiceError>>;
        /// Applications, keys and subscriptions of the Developer Portal user.
        fn applications<'a>(
            &'a self,
            caller: &'a CurrentUser,
            call: crate::applications::ApplicationsCall,
        ) -> BoxFuture<'a, Result<crate::applications::ApplicationsReply, ServiceError>>;
        /// Ratings and comments on an API page; `caller` is `None` for anonymous visitors.
        fn feedback<'a>(
            &'a self,
            caller: Option<&'a CurrentUser>,
            call: crate::feedback::FeedbackCall,
        ) -> BoxFuture<'a, Result<crate::feedback::FeedbackReply, ServiceError>>;
        /// Traffic charts: one API (Publisher), one application (Developer Portal) or the
        /// organization (Admin).
        fn analytics<'a>(
            &'a self,
            caller: &'a CurrentUser,
            scope: crate::analytics::Scope,
            range: crate::analytics::Range,
        ) -> BoxFuture<'a, Result<crate::analytics::Report, ServiceError>>;
        /// Gateway environments and connected gateways (Admin portal).
        fn environments_admin<'a>(
            &'a self,
            caller: &'a CurrentUser,
            call: super::EnvAdmin,
        ) -> BoxFuture<'a, Result<super::EnvAdminReply, ServiceError>>;
        /// Key managers (Admin portal).
        fn key_managers_admin<'a>(
            &'a self,
            caller: &'a CurrentUser,
            call: super::KmAdmin,
        ) -> BoxFuture<'a, Result<super::KmAdminReply, ServiceError>>;
        /// Rate-limiting policies (Admin portal).
        fn throttling_admin<'a>(
            &'a self,
            caller: &'a CurrentUser,
            call: crate::throttling::ThrottlingCall,
        ) -> BoxFuture<'a, Result<crate::throttling::ThrottlingReply, ServiceError>>;
        /// Categories, organization settings, organizations and role aliases (Admin portal).
        fn settings_admin<'a>(
            &'a self,
            caller: &'a CurrentUser,
            call: crate::settings::SettingsCall,
        ) -> BoxFuture<'a, Result<crate::settings::SettingsReply, ServiceError>>;
        /// Users & roles administration (Admin portal).
        fn user_admin<'a>(
            &'a self,
            caller: &'a CurrentUser,
            call: super::UsersChange,
        ) -> BoxFuture<'a, Result<super::UsersChangeReply, ServiceError>>;
        /// The AI index: its state and "re-embed all" (Admin portal).
        fn ai_admin<'a>(
            &'a self,
            caller: &'a CurrentUser,
            call: crate::ai::AiAdminCall,
        ) -> BoxFuture<'a, Result<crate::ai::AiAdminReply, ServiceError>>;
        /// Approval workflows: the queue, decisions and switches (Admin portal).
        fn workflows<'a>(
            &'a self,
            caller: &'a CurrentUser,
            call: crate::workflows::WorkflowCall,
        ) -> BoxFuture<'a, Result<crate::workflows::WorkflowReply, ServiceError>>;
        /// API documents: the Publisher's (signed in) and the Developer Portal's (anyone).
        fn documents<'a>(
            &'a self,
            caller: Option<&'a CurrentUser>,
            call: crate::documents::DocumentCall,
        ) -> BoxFuture<'a, Result<crate::documents::DocumentReply, ServiceError>>;
    }

    pub type Services = Arc<dyn PortalServices>;

    /// The viewer the server's session middleware attached to this request.
    pub fn viewer() -> Viewer {
        leptos::prelude::use_context::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Viewer>().cloned())
            .unwrap_or_default()
    }

    /// Runs a service call for the signed-in user, setting the HTTP status on refusal.
    pub async fn call<T, F>(f: F) -> Result<T, leptos::prelude::ServerFnError>
    where
        F: for<'a> FnOnce(&'a Services, &'a CurrentUser) -> BoxFuture<'a, Result<T, ServiceError>>,
    {
        use leptos::prelude::{ServerFnError, expect_context};
        let result = match viewer().user {
            None => Err(ServiceError::Unauthorized),
            Some(user) => {
                let services = expect_context::<Services>();
                f(&services, &user).await
            }
        };
        result.map_err(|err| {
            let status = match &err {
                ServiceError::Unauthorized => http::StatusCode::UNAUTHORIZED,
                ServiceError::Forbidden { .. } => http::StatusCode::FORBIDDEN,
                ServiceError::NotFound(_) => http::StatusCode::NOT_FOUND,
                ServiceError::Invalid { .. } | ServiceError::Fields { .. } => {
                    http::StatusCode::BAD_REQUEST
                }
                ServiceError::Internal => http::StatusCode::INTERNAL_SERVER_ERROR,
                ServiceError::Unavailable(_) => http::StatusCode::SERVICE_UNAVAILABLE,
            };
            if let Some(opts) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
                opts.set_status(status);
            }
            ServerFnError::new(err.to_string())
        })
    }
}

/// The current viewer (user and CSRF token).
#[server]
pub async fn get_viewer() -> Result<Viewer, ServerFnError> {
    Ok(ssr::viewer())
}

/// Users of the caller's organization (admin: users & roles).
#[server]
pub async fn list_users() -> Result<Vec<UserSummary>, ServerFnError> {
    ssr::call(|s, u| s.list_users(u)).await
}

/// Roles of the caller's organization with their scopes (admin: users & roles).
#[server]
pub async fn list_roles() -> Result<Vec<RoleSummary>, ServerFnError> {
    ssr::call(|s, u| s.list_roles(u)).await
}

/// One Publisher operation for the portal. Refusals come back as `Ok(Err(…))` so pages can
/// show each problem next to its field.
#[server(input = leptos::server_fn::codec::Json)]
pub async fn publisher_call(
    call: crate::publisher::PublisherCall,
) -> Result<Result<crate::publisher::PublisherReply, ServiceError>, ServerFnError> {
    use leptos::prelude::expect_context;
    let Some(user) = ssr::viewer().user else {
        return Ok(Err(ServiceError::Unauthorized));
    };
    let services = expect_context::<ssr::Services>();
    Ok(services.publisher(&user, call).await)
}

/// One applications / keys / subscriptions call for the Developer Portal (signed in).
#[server(input = leptos::server_fn::codec::Json)]
pub async fn applications_call(
    call: crate::applications::ApplicationsCall,
) -> Result<Result<crate::applications::ApplicationsReply, ServiceError>, ServerFnError> {
    use leptos::prelude::expect_context;
    let Some(user) = ssr::viewer().user else {
        return Ok(Err(ServiceError::Unauthorized));
    };
    let services = expect_context::<ssr::Services>();
    Ok(services.applications(&user, call).await)
}

/// One catalogue call for the Developer Portal (anonymous visitors too).
#[server(input = leptos::server_fn::codec::Json)]
pub async fn devportal_call(
    call: crate::devportal::DevportalCall,
) -> Result<Result<crate::devportal::DevportalReply, ServiceError>, ServerFnError> {
    use leptos::prelude::expect_context;
    let user = ssr::viewer().user;
    let services = expect_context::<ssr::Services>();
    Ok(services.devportal(user.as_ref(), call).await)
}

/// One call of the Admin portal's AI index page.
#[server(input = leptos::server_fn::codec::Json)]
pub async fn ai_admin_call(
    call: crate::ai::AiAdminCall,
) -> Result<Result<crate::ai::AiAdminReply, ServiceError>, ServerFnError> {
    use leptos::prelude::expect_context;
    let Some(user) = ssr::viewer().user else {
        return Ok(Err(ServiceError::Unauthorized));
    };
    let services = expect_context::<ssr::Services>();
    Ok(services.ai_admin(&user, call).await)
}

/// One approvals call for the Admin portal (workflow admins).
#[server(input = leptos::server_fn::codec::Json)]
pub async fn workflows_call(
    call: crate::workflows::WorkflowCall,
) -> Result<Result<crate::workflows::WorkflowReply, ServiceError>, ServerFnError> {
    use leptos::prelude::expect_context;
    let Some(user) = ssr::viewer().user else {
        return Ok(Err(ServiceError::Unauthorized));
    };
    let services = expect_context::<ssr::Services>();
    Ok(services.workflows(&user, call).await)
}

/// One ratings / comments call for an API page (anonymous visitors read).
#[server(input = leptos::server_fn::codec::Json)]
pub async fn feedback_call(
    call: crate::feedback::FeedbackCall,
) -> Result<Result<crate::feedback::FeedbackReply, ServiceError>, ServerFnError> {
    use leptos::prelude::expect_context;
    let user = ssr::viewer().user;
    let services = expect_context::<ssr::Services>();
    Ok(services.feedback(user.as_ref(), call).await)
}

/// One users & roles change for the Admin portal.
#[server(input = leptos::server_fn::codec::Json)]
pub async fn user_admin_call(
    call: UsersChange,
) -> Result<Result<UsersChangeReply, ServiceError>, ServerFnError> {
    use leptos::prelude::expect_context;
    let Some(user) = ssr::viewer().user else {
        return Ok(Err(ServiceError::Unauthorized));
    };
    let services = expect_context::<ssr::Services>();
    Ok(services.user_admin(&user, call).await)
}

/// One key-manager call for the Admin portal.
#[server(input = leptos::server_fn::codec::Json)]
pub async fn km_admin_call(
    call: KmAdmin,
) -> Result<Result<KmAdminReply, ServiceError>, ServerFnError> {
    use leptos::prelude::expect_context;
    let Some(user) = ssr::viewer().user else {
        return Ok(Err(ServiceError::Unauthorized));
    };
    let services = expect_context::<ssr::Services>();
    Ok(services.key_managers_admin(&user, call).await)
}

/// One gateways-section call for the Admin portal.
#[server(input = leptos::server_fn::codec::Json)]
pub async fn env_admin_call(
    call: EnvAdmin,
) -> Result<Result<EnvAdminReply, ServiceError>, ServerFnError> {
    use leptos::prelude::expect_context;
    let Some(user) = ssr::viewer().user else {
        return Ok(Err(ServiceError::Unauthorized));
    };
    let services = expect_context::<ssr::Services>();
    Ok(services.environments_admin(&user, call).await)
}

/// One settings call for the Admin portal (categories, organization settings, organizations,
/// role aliases).
#[server(input = leptos::server_fn::codec::Json)]
pub async fn settings_admin_call(
    call: crate::settings::SettingsCall,
) -> Result<Result<crate::settings::SettingsReply, ServiceError>, ServerFnError> {
    use leptos::prelude::expect_context;
    let Some(user) = ssr::viewer().user else {
        return Ok(Err(ServiceError::Unauthorized));
    };
    let services = expect_context::<ssr::Services>();
    Ok(services.settings_admin(&user, call).await)
}

/// One rate-limiting call for the Admin portal.
#[server(input = leptos::server_fn::codec::Json)]
pub async fn throttling_admin_call(
    call: crate::throttling::ThrottlingCall,
) -> Result<Result<crate::throttling::ThrottlingReply, ServiceError>, ServerFnError> {
    use leptos::prelude::expect_context;
    let Some(user) = ssr::viewer().user else {
        return Ok(Err(ServiceError::Unauthorized));
    };
    let services = expect_context::<ssr::Services>();
    Ok(services.throttling_admin(&user, call).await)
}
