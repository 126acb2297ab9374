//! The audit log: who did what to which object, and when. Written in the same transaction as
//! the change it describes where there is one.

use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

#[allow(clippy::too_many_arguments)]
pub async fn record_tx(
    tx: &mut Transaction<'_, Postgres>,
    organization: Option<Uuid>,
    actor: Option<Uuid>,
    actor_name: &str,
    action: &str,
    target_type: &str,
    target_id: &str,
    detail: serde_json::Value,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (organization_id, actor_id, actor_name, action, target_type, target_id, detail)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(organization)
    .bind(actor)
    .bind(actor_name)
    .bind(action)
    .bind(target_type)
    .bind(target_id)
    .bind(detail)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// An event with no surrounding change (sign-in, sign-out, failed sign-in).
pub async fn record(
    db: &PgPool,
    organization: Option<Uuid>,
    actor: Option<Uuid>,
    actor_name: &str,
    action: &str,
    ip: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (organization_id, actor_id, actor_name, action, ip) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(organization)
    .bind(actor)
    .bind(actor_name)
    .bind(action)
    .bind(ip)
    .execute(db)
    .await?;
    Ok(())
}

/// A change made by a named user of a named organization, in the change's own transaction.
pub async fn change(
    conn: &mut sqlx::PgConnection,
    organization: &str,
    username: &str,
    action: &str,
    target_type: &str,
    target_id: &str,
) -> sqlx::Result<()> {
    change_with_detail(
        conn,
        organization,
        username,
        action,
        target_type,
        target_id,
        serde_json::json!({}),
    )
    .await
}

/// `change` with details (a decision's comment, the settings it set).
pub async fn change_with_detail(
    conn: &mut sqlx::PgConnection,
    organization: &str,
    username: &str,
    action: &str,
    target_type: &str,
    target_id: &str,
    detail: serde_json::Value,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (organization_id, actor_id, actor_name, action, target_type, target_id, detail)
         SELECT o.id, (SELECT u.id FROM app_user u WHERE u.organization_id = o.id AND u.username = $2),
                $2, $3, $4, $5, $6
           FROM organization o WHERE o.name = $1",
    )
    .bind(organization)
    .bind(username)
    .bind(action)
    .bind(target_type)
    .bind(target_id)
    .bind(detail)
    .execute(conn)
    .await?;
    Ok(())
}
