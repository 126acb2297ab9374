//! Start-up data: the default organization, the scope catalogue, built-in roles, the first
//! administrator, the server's own secrets, and (with `[demo] seed`) demo users.

use anyhow::Context;
use secrecy::ExposeSecret;
use sqlx::PgPool;
use uuid::Uuid;

use crate::auth::catalogue::{BUILT_IN_ROLES, SCOPES};
use crate::auth::{password, secrets, users};
use crate::config::Settings;

/// Demo users `make run` creates, one per kind of portal user, with the role each gets.
pub const DEMO_USERS: &[(&str, &str, &str)] = &[
    ("publisher", "Pat Publisher", "publisher"),
    ("subscriber", "Sam Subscriber", "subscriber"),
    ("workflow-admin", "Wendy Workflow", "workflow-admin"),
    ("policy-admin", "Paul Policy", "policy-admin"),
    ("keymanager-admin", "Kim Keys", "keymanager-admin"),
];
pub const DEFAULT_DEMO_PASSWORD: &str = "gatehouse";

pub async fn run(db: &PgPool, settings: &Settings) -> anyhow::Result<()> {
    let org = ensure_organization(db, &settings.auth.default_organization).await?;
    // Every organization's built-in roles get the scopes this version adds.
    let organizations: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM organization")
        .fetch_all(db)
        .await?;
    for id in organizations {
        ensure_scopes_and_roles(db, id).await?;
        let mut conn = db.acquire().await?;
        crate::throttling::seed(&mut conn, id)
            .await
            .context("Failed to seed the built-in throttling policies")?;
    }
    ensure_admin(db, org, settings).await?;
    if let Some(url) = &settings.server.default_gateway_url
        && let Some(vhost) = gateway_vhost(url)
    {
        sqlx::query("UPDATE gateway_environment SET vhosts = $1 WHERE name = 'Default'")
            .bind(sqlx::types::Json(serde_json::json!([vhost])))
            .execute(db)
            .await
            .context("Failed to set the Default environment's gateway URL")?;
    }
    if settings.demo.seed {
        seed_demo(db, org, settings).await?;
        if settings.demo.apis {
            crate::demo::seed_apis(db, settings).await?;
        }
    }
    Ok(())
}

/// `http://host:port` → the Default environment's virtual host (WSO2's `VHost` fields).
pub fn gateway_vhost(url: &str) -> Option<serde_json::Value> {
    let (https, rest) = if let Some(r) = url.strip_prefix("http://") {
        (false, r)
    } else {
        (true, url.strip_prefix("https://")?)
    };
    let rest = rest.trim_end_matches('/');
    if rest.is_empty() || rest.contains(['/', '?', '#', ' ', '@']) {
        return None;
    }
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().ok()?),
        _ => (rest, if https { 443 } else { 80 }),
    };
    if host.is_empty() {
        return None;
    }
    Some(if https {
        serde_json::json!({"host": host, "httpContext": "", "httpsPort": port})
    } else {
        serde_json::json!({"host": host, "httpContext": "", "httpPort": port})
    })
}

pub async fn ensure_organization(db: &PgPool, name: &str) -> anyhow::Result<Uuid> {
    let id = sqlx::query_scalar(
        "INSERT INTO organization (name, display_name) VALUES ($1, $1)
         ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id",
    )
    .bind(name)
    .fetch_one(db)
    .await
    .context("Failed to create the default organization")?;
    let mut conn = db.acquire().await?;
    crate::throttling::seed(&mut conn, id)
        .await
        .context("Failed to seed the built-in throttling policies")?;
    Ok(id)
}

/// Writes the scope catalogue and gives each built-in role its default scopes once. Scopes
/// an admin added to or removed from a built-in role stay so.
pub async fn ensure_scopes_and_roles(db: &PgPool, org: Uuid) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    scopes_and_roles_in(&mut tx, org).await?;
    tx.commit()
        .await
        .context("Failed to write scopes and roles")?;
    Ok(())
}

/// `ensure_scopes_and_roles` in the caller's transaction.
pub async fn scopes_and_roles_in(tx: &mut sqlx::PgConnection, org: Uuid) -> sqlx::Result<()> {
    for (name, tag, description) in SCOPES {
        sqlx::query(
            "INSERT INTO scope (name, tag, description) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET tag = EXCLUDED.tag, description = EXCLUDED.description",
        )
        .bind(name)
        .bind(tag)
        .bind(description)
        .execute(&mut *tx)
        .await?;
    }
    for (role, description, grants) in BUILT_IN_ROLES {
        let role_id: Uuid = sqlx::query_scalar(
            "INSERT INTO role (organization_id, name, description, built_in) VALUES ($1, $2, $3, true)
             ON CONFLICT ON CONSTRAINT role_name_key DO UPDATE SET description = EXCLUDED.description, built_in = true
             RETURNING id",
        )
        .bind(org)
        .bind(role)
        .bind(description)
        .fetch_one(&mut *tx)
        .await?;
        // Defaults are granted once: a scope an admin took away from a built-in role stays
        // away after a restart; a scope a new version adds is granted the first time.
        let scopes: Vec<String> = grants.scopes().iter().map(|s| s.to_string()).collect();
        sqlx::query(
            "INSERT INTO role_scope (role_id, scope_name)
             SELECT $1, s FROM unnest($2::text[]) s
              WHERE NOT EXISTS (SELECT 1 FROM role r WHERE r.id = $1 AND s = ANY (r.seeded_scopes))
             ON CONFLICT DO NOTHING",
        )
        .bind(role_id)
        .bind(&scopes)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE role SET seeded_scopes = $2 WHERE id = $1")
            .bind(role_id)
            .bind(&scopes)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// Creates `admin` on first start. Without `GATEHOUSE_ADMIN_PASSWORD` the password is random
/// and printed once to standard error — the only secret the server ever prints.
async fn ensure_admin(db: &PgPool, org: Uuid, settings: &Settings) -> anyhow::Result<()> {
    let exists: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM app_user WHERE organization_id = $1 AND username = 'admin')",
    )
    .bind(org)
    .fetch_one(db)
    .await?;
    if exists {
        return Ok(());
    }
    let (pw, generated) = match &settings.admin_password {
        Some(p) => (p.expose_secret().to_string(), false),
        None => (secrets::random_token(12), true),
    };
    let hash = password::hash(pw.clone()).await?;
    let mut tx = db.begin().await?;
    let created = users::insert(
        &mut tx,
        users::NewUser {
            organization_id: org,
            username: "admin",
            email: None,
            display_name: "Administrator",
            password_hash: &hash,
            roles: &["admin"],
        },
    )
    .await;
    match created {
        Ok(id) => {
            crate::audit::record_tx(
                &mut tx,
                Some(org),
                None,
                "system",
                "user.create",
                "user",
                &id.to_string(),
                serde_json::json!({"username": "admin"}),
            )
            .await?;
            tx.commit().await?;
            if generated {
                eprintln!(
                    "\n=== Gatehouse: first administrator created ===\n    user name: admin\n    password:  {pw}\n    (shown once; set GATEHOUSE_ADMIN_PASSWORD to choose it)\n"
                );
            } else {
                tracing::info!("created the administrator `admin` with the configured password");
            }
            Ok(())
        }
        // Another replica created it at the same moment.
        Err(sqlx::Error::Database(e)) if e.constraint() == Some("app_user_username_key") => Ok(()),
        Err(e) => Err(e.into()),
    }
}

async fn seed_demo(db: &PgPool, org: Uuid, settings: &Settings) -> anyhow::Result<()> {
    let pw = settings
        .demo
        .password
        .as_ref()
        .map(|p| p.expose_secret().to_string())
        .unwrap_or_else(|| DEFAULT_DEMO_PASSWORD.to_string());
    let hash = password::hash(pw).await?;
    for (username, display, role) in DEMO_USERS {
        let mut tx = db.begin().await?;
        let exists: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM app_user WHERE organization_id = $1 AND username = $2)",
        )
        .bind(org)
        .bind(username)
        .fetch_one(&mut *tx)
        .await?;
        if exists {
            continue;
        }
        let email = format!("{username}@example.com");
        users::insert(
            &mut tx,
            users::NewUser {
                organization_id: org,
                username,
                email: Some(&email),
                display_name: display,
                password_hash: &hash,
                roles: &[role],
            },
        )
        .await?;
        tx.commit().await?;
    }
    tracing::info!(users = DEMO_USERS.len(), "demo users present");
    Ok(())
}

/// The key client secrets are hashed under: the configured one, else one generated once and
/// kept in the database (so every replica agrees).
pub async fn hash_key(db: &PgPool, settings: &Settings) -> anyhow::Result<Vec<u8>> {
    if let Some(k) = &settings.auth.hash_key {
        return Ok(k.expose_secret().as_bytes().to_vec());
    }
    let candidate = secrets::random_bytes::<32>().to_vec();
    sqlx::query(
        "INSERT INTO server_secret (name, value) VALUES ('hash_key', $1) ON CONFLICT DO NOTHING",
    )
    .bind(&candidate)
    .execute(db)
    .await?;
    let key = sqlx::query_scalar("SELECT value FROM server_secret WHERE name = 'hash_key'")
        .fetch_one(db)
        .await?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::gateway_vhost;

    #[test]
    fn default_gateway_urls_become_virtual_hosts() {
        assert_eq!(
            gateway_vhost("http://127.0.0.1:18280"),
            Some(serde_json::json!({"host": "127.0.0.1", "httpContext": "", "httpPort": 18280}))
        );
        assert_eq!(
            gateway_vhost("https://api.example.com/"),
            Some(
                serde_json::json!({"host": "api.example.com", "httpContext": "", "httpsPort": 443})
            )
        );
        for bad in [
            "ftp://x",
            "http://",
            "http://h:port",
            "http://h/path",
            "localhost:8280",
        ] {
            assert_eq!(gateway_vhost(bad), None, "{bad}");
        }
    }
}
