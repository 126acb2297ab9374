//! Users & roles administration in the caller's organization (Admin portal, scope
//! `apim:role_manage`): a user's roles, locking, password resets, and roles with their scopes.
//! Guard rails: nobody changes their own roles or locks themselves out, only a holder of
//! `apim:admin` hands out `apim:admin` (directly or through a role), built-in roles are not
//! deleted. Every change is audited in its transaction.

use app::api::{UsersChange, UsersChangeReply};
use app::auth::scopes as s;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::{ApiError, FieldError};
use crate::publisher::Actor;

pub const SCOPES: &[&str] = &[s::ROLE_MANAGE, s::ADMIN];

pub struct UserAdmin<'a> {
    pub db: &'a PgPool,
}

async fn user_id(
    conn: &mut sqlx::PgConnection,
    actor: &Actor,
    username: &str,
) -> Result<Uuid, ApiError> {
    sqlx::query_scalar(
        "SELECT u.id FROM app_user u JOIN organization o ON o.id = u.organization_id
          WHERE o.name = $1 AND u.username = $2",
    )
    .bind(&actor.organization)
    .bind(username)
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| ApiError::NotFound(format!("User {username} not found")))
}

fn not_yourself(actor: &Actor, username: &str, what: &str) -> Result<(), ApiError> {
    if actor.username == username {
        return Err(ApiError::Forbidden(format!(
            "You cannot {what} your own account; ask another administrator"
        )));
    }
    Ok(())
}

impl UserAdmin<'_> {
    /// A super administrator's account is changed by super administrators only.
    async fn guard_admin(
        &self,
        conn: &mut sqlx::PgConnection,
        actor: &Actor,
        user: Uuid,
        username: &str,
    ) -> Result<(), ApiError> {
        let is_admin: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM user_role ur JOIN role_scope rs ON rs.role_id = ur.role_id
                             WHERE ur.user_id = $1 AND rs.scope_name = 'apim:admin')",
        )
        .bind(user)
        .fetch_one(conn)
        .await?;
        if is_admin && !actor.is_admin() {
            return Err(ApiError::Forbidden(format!(
                "{username} is a super administrator; only another one changes that account"
            )));
        }
        Ok(())
    }

    pub async fn call(
        &self,
        actor: &Actor,
        call: UsersChange,
    ) -> Result<UsersChangeReply, ApiError> {
        actor.require(SCOPES)?;
        use UsersChange as C;
        match call {
            C::Scopes => Ok(UsersChangeReply::Scopes(
                sqlx::query_scalar("SELECT name FROM scope ORDER BY tag, name")
                    .fetch_all(self.db)
                    .await?,
            )),
            C::SetRoles { username, roles } => {
                not_yourself(actor, &username, "change the roles of")?;
                let mut tx = self.db.begin().await?;
                let user = user_id(&mut tx, actor, &username).await?;
                self.guard_admin(&mut tx, actor, user, &username).await?;
                let mut ids = Vec::new();
                for (i, role) in roles.iter().enumerate() {
                    let found: Option<(Uuid, bool)> = sqlx::query_as(
                        "SELECT r.id, EXISTS (SELECT 1 FROM role_scope rs
                                               WHERE rs.role_id = r.id AND rs.scope_name = 'apim:admin')
                           FROM role r JOIN organization o ON o.id = r.organization_id
                          WHERE o.name = $1 AND r.name = $2",
                    )
                    .bind(&actor.organization)
                    .bind(role)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let (id, grants_admin) = found.ok_or_else(|| {
                        ApiError::field(&format!("roles[{i}]"), format!("no role `{role}`"))
                    })?;
                    if grants_admin && !actor.is_admin() {
                        return Err(ApiError::Forbidden(format!(
                            "Only a super administrator gives the role `{role}` (it grants apim:admin)"
                        )));
                    }
                    ids.push(id);
                }
                sqlx::query("DELETE FROM user_role WHERE user_id = $1")
                    .bind(user)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO user_role (user_id, role_id) SELECT $1, unnest($2::uuid[])
                     ON CONFLICT DO NOTHING",
                )
                .bind(user)
                .bind(&ids)
                .execute(&mut *tx)
                .await?;
                crate::audit::change_with_detail(
                    &mut tx,
                    &actor.organization,
                    &actor.username,
                    "user.roles",
                    "user",
                    &username,
                    json!({ "roles": roles }),
                )
                .await?;
                tx.commit().await?;
                Ok(UsersChangeReply::Done)
            }
            C::SetLocked { username, locked } => {
                not_yourself(actor, &username, "lock")?;
                let mut tx = self.db.begin().await?;
                let user = user_id(&mut tx, actor, &username).await?;
                self.guard_admin(&mut tx, actor, user, &username).await?;
                sqlx::query("UPDATE app_user SET locked = $2 WHERE id = $1")
                    .bind(user)
                    .bind(locked)
                    .execute(&mut *tx)
                    .await?;
                let action = if locked { "user.lock" } else { "user.unlock" };
                crate::keymanager::audit(&mut tx, actor, action, "user", &username).await?;
                tx.commit().await?;
                Ok(UsersChangeReply::Done)
            }
            C::ResetPassword { username, password } => {
                let n = password.chars().count();
                if !(8..=1024).contains(&n) {
                    return Err(ApiError::field("password", "8 to 1024 characters"));
                }
                let hash = crate::auth::password::hash(password).await?;
                let mut tx = self.db.begin().await?;
                let user = user_id(&mut tx, actor, &username).await?;
                self.guard_admin(&mut tx, actor, user, &username).await?;
                sqlx::query("UPDATE app_user SET password_hash = $2 WHERE id = $1")
                    .bind(user)
                    .bind(hash)
                    .execute(&mut *tx)
                    .await?;
                crate::keymanager::audit(&mut tx, actor, "user.password_reset", "user", &username)
                    .await?;
                tx.commit().await?;
                Ok(UsersChangeReply::Done)
            }
            C::SaveRole {
                name,
                description,
                scopes,
            } => {
                let name = name.trim().to_string();
                let ok = !name.is_empty()
                    && name.len() <= 50
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_ /".contains(c));
                if !ok {
                    return Err(ApiError::field(
                        "name",
                        "1–50 letters, digits, spaces, - _ /",
                    ));
                }
                if description.chars().count() > 500 {
                    return Err(ApiError::field("description", "at most 500 characters"));
                }
                if scopes.iter().any(|sc| sc == s::ADMIN) && !actor.is_admin() {
                    return Err(ApiError::Forbidden(
                        "Only a super administrator grants apim:admin".into(),
                    ));
                }
                let known: Vec<String> = sqlx::query_scalar("SELECT name FROM scope")
                    .fetch_all(self.db)
                    .await?;
                let unknown: Vec<FieldError> = scopes
                    .iter()
                    .enumerate()
                    .filter(|(_, sc)| !known.contains(sc))
                    .map(|(i, sc)| {
                        FieldError::new(&format!("scopes[{i}]"), format!("no scope `{sc}`"))
                    })
                    .collect();
                if !unknown.is_empty() {
                    return Err(ApiError::BadRequest {
                        message: "Unknown scopes".into(),
                        errors: unknown,
                    });
                }
                let mut tx = self.db.begin().await?;
                let role: Uuid = sqlx::query_scalar(
                    "INSERT INTO role (organization_id, name, description)
                     SELECT id, $2, $3 FROM organization WHERE name = $1
                     ON CONFLICT (organization_id, name) DO UPDATE SET description = EXCLUDED.description
                     RETURNING id",
                )
                .bind(&actor.organization)
                .bind(&name)
                .bind(description.trim())
                .fetch_one(&mut *tx)
                .await?;
                // Who holds apim:admin through this role keeps it only if a super admin edits it.
                let had_admin: bool = sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM role_scope WHERE role_id = $1 AND scope_name = 'apim:admin')",
                )
                .bind(role)
                .fetch_one(&mut *tx)
                .await?;
                if had_admin && !actor.is_admin() {
                    return Err(ApiError::Forbidden(format!(
                        "Only a super administrator edits `{name}` (it grants apim:admin)"
                    )));
                }
                sqlx::query("DELETE FROM role_scope WHERE role_id = $1")
                    .bind(role)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO role_scope (role_id, scope_name) SELECT $1, unnest($2::text[])
                     ON CONFLICT DO NOTHING",
                )
                .bind(role)
                .bind(&scopes)
                .execute(&mut *tx)
                .await?;
                crate::audit::change_with_detail(
                    &mut tx,
                    &actor.organization,
                    &actor.username,
                    "role.save",
                    "role",
                    &name,
                    json!({ "scopes": scopes }),
                )
                .await?;
                tx.commit().await?;
                Ok(UsersChangeReply::Done)
            }
            C::DeleteRole { name } => {
                let mut tx = self.db.begin().await?;
                let found: Option<(Uuid, bool)> = sqlx::query_as(
                    "SELECT r.id, r.built_in FROM role r JOIN organization o ON o.id = r.organization_id
                      WHERE o.name = $1 AND r.name = $2",
                )
                .bind(&actor.organization)
                .bind(&name)
                .fetch_optional(&mut *tx)
                .await?;
                let (role, built_in) =
                    found.ok_or_else(|| ApiError::NotFound(format!("Role {name} not found")))?;
                if built_in {
                    return Err(ApiError::field("name", "built-in roles stay"));
                }
                sqlx::query("DELETE FROM role WHERE id = $1")
                    .bind(role)
                    .execute(&mut *tx)
                    .await?;
                crate::keymanager::audit(&mut tx, actor, "role.delete", "role", &name).await?;
                tx.commit().await?;
                Ok(UsersChangeReply::Done)
            }
        }
    }
}
