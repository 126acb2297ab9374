//! Users, their roles and scopes: the queries sign-in, sessions and the admin portal share.

use app::auth::CurrentUser;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

/// What sign-in needs to know about a user.
#[derive(Debug, sqlx::FromRow)]
pub struct Credentials {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub password_hash: String,
    pub locked: bool,
    pub pending_approval: bool,
}

/// The outcome of checking a user name and password.
#[derive(Debug, PartialEq, Eq)]
pub enum Authn {
    Ok {
        user: Uuid,
        organization: Uuid,
    },
    Invalid,
    /// Right password, locked account (only said after the password checked out).
    Locked,
    /// Right password, self sign-up waiting for an administrator's approval.
    Pending,
}

/// Checks `username`/`password` in `organization`, in constant time whether or not the user
/// exists.
pub async fn authenticate(
    db: &PgPool,
    organization: &str,
    username: &str,
    password: &str,
) -> sqlx::Result<Authn> {
    let creds = credentials(db, organization, username).await?;
    let phc = creds.as_ref().map(|c| c.password_hash.clone());
    if !super::password::verify(password.to_string(), phc).await {
        return Ok(Authn::Invalid);
    }
    Ok(match creds {
        Some(c) if c.locked => Authn::Locked,
        Some(c) if c.pending_approval => Authn::Pending,
        Some(c) => Authn::Ok {
            user: c.id,
            organization: c.organization_id,
        },
        None => Authn::Invalid,
    })
}

/// Which organization a sign-in name belongs to: `name@organization` when an organization of
/// that name exists (WSO2's `user@tenant`), else `default` with the whole name (user names may
/// be e-mail addresses).
pub async fn split_login(
    db: &PgPool,
    default: &str,
    login: &str,
) -> sqlx::Result<(String, String)> {
    if let Some((user, org)) = login.rsplit_once('@')
        && !user.is_empty()
    {
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM organization WHERE name = $1)")
                .bind(org.to_ascii_lowercase())
                .fetch_one(db)
                .await?;
        if exists {
            return Ok((org.to_ascii_lowercase(), user.to_string()));
        }
    }
    Ok((default.to_string(), login.to_string()))
}

/// `authenticate` for a sign-in name that may say its organization (`name@organization`).
pub async fn authenticate_login(
    db: &PgPool,
    default_organization: &str,
    login: &str,
    password: &str,
) -> sqlx::Result<Authn> {
    let (org, username) = split_login(db, default_organization, login).await?;
    authenticate(db, &org, &username, password).await
}

pub async fn credentials(
    db: &PgPool,
    organization: &str,
    username: &str,
) -> sqlx::Result<Option<Credentials>> {
    sqlx::query_as(
        "SELECT u.id, u.organization_id, u.password_hash, u.locked, u.pending_approval
           FROM app_user u JOIN organization o ON o.id = u.organization_id
          WHERE o.name = $1 AND o.enabled AND u.username = $2",
    )
    .bind(organization)
    .bind(username)
    .fetch_optional(db)
    .await
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: Uuid,
    username: String,
    display_name: String,
    organization: String,
    roles: Vec<String>,
    scopes: Vec<String>,
}

/// The user with roles and effective scopes, or `None` if missing or locked.
pub async fn current_user(db: &PgPool, user_id: Uuid) -> sqlx::Result<Option<CurrentUser>> {
    let row: Option<UserRow> = sqlx::query_as(
        "SELECT u.id, u.username, u.display_name, o.name AS organization,
                ARRAY(SELECT r.name FROM user_role ur JOIN role r ON r.id = ur.role_id
                       WHERE ur.user_id = u.id ORDER BY r.name) AS roles,
                ARRAY(SELECT DISTINCT rs.scope_name FROM role_scope rs
                       WHERE rs.role_id IN (SELECT ur.role_id FROM user_role ur WHERE ur.user_id = u.id
                                            UNION
                                            -- Role aliases: holding `alias` grants the aliased role.
                                            SELECT ra.role_id FROM user_role ur
                                              JOIN role r ON r.id = ur.role_id
                                              JOIN role_alias ra ON ra.alias = r.name
                                              JOIN role t ON t.id = ra.role_id
                                             WHERE ur.user_id = u.id
                                               AND t.organization_id = u.organization_id)
                       ORDER BY 1) AS scopes
           FROM app_user u JOIN organization o ON o.id = u.organization_id
          WHERE u.id = $1 AND NOT u.locked AND NOT u.pending_approval AND o.enabled",
    )
    .bind(user_id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| CurrentUser {
        id: r.id.to_string(),
        username: r.username,
        display_name: r.display_name,
        organization: r.organization,
        roles: r.roles,
        scopes: r.scopes,
    }))
}

pub struct NewUser<'a> {
    pub organization_id: Uuid,
    pub username: &'a str,
    pub email: Option<&'a str>,
    pub display_name: &'a str,
    pub password_hash: &'a str,
    pub roles: &'a [&'a str],
}

/// Inserts the user and their role grants in the caller's transaction.
pub async fn insert(tx: &mut Transaction<'_, Postgres>, user: NewUser<'_>) -> sqlx::Result<Uuid> {
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO app_user (organization_id, username, email, display_name, password_hash)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(user.organization_id)
    .bind(user.username)
    .bind(user.email)
    .bind(user.display_name)
    .bind(user.password_hash)
    .fetch_one(&mut **tx)
    .await?;
    let roles: Vec<String> = user.roles.iter().map(|r| r.to_string()).collect();
    sqlx::query(
        "INSERT INTO user_role (user_id, role_id)
         SELECT $1, id FROM role WHERE organization_id = $2 AND name = ANY($3)",
    )
    .bind(id)
    .bind(user.organization_id)
    .bind(&roles)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

pub async fn organization_id(db: &PgPool, name: &str) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar("SELECT id FROM organization WHERE name = $1 AND enabled")
        .bind(name)
        .fetch_optional(db)
        .await
}
