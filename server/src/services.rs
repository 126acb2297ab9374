//! The service layer the portal pages call (through server functions). Each method checks
//! the caller's scopes itself, so no page can reach data its user may not see.

use app::api::ssr::{BoxFuture, PortalServices};
use app::api::{RoleSummary, ServiceError, UserSummary};
use app::auth::{CurrentUser, scopes};
use sqlx::PgPool;

pub struct DbServices {
    db: PgPool,
}

impl DbServices {
    pub fn new(db: PgPool) -> Self {
        Self { db }
    }
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

const USERS_SCOPES: &[&str] = &[scopes::ROLE_MANAGE, scopes::SCOPE_MANAGE];

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
}
