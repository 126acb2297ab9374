//! Users & roles administration (the Admin portal's service, scope `apim:role_manage`): roles of
//! a user, lock / unlock, password reset, roles with their scopes, and the guard rails (not your
//! own account, `apim:admin` only from a super admin, built-in roles stay).

mod common;

use app::api::{UsersChange as C, UsersChangeReply};
use axum::http::StatusCode;
use common::*;
use serde_json::json;
use server::error::ApiError;
use server::publisher::Actor;
use server::users_admin::UserAdmin;
use sqlx::PgPool;

fn actor(username: &str, scopes: &[&str]) -> Actor {
    Actor {
        username: username.into(),
        organization: "carbon.super".into(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
    }
}

async fn roles_of(db: &PgPool, username: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT r.name FROM user_role ur JOIN role r ON r.id = ur.role_id
           JOIN app_user u ON u.id = ur.user_id WHERE u.username = $1 ORDER BY r.name",
    )
    .bind(username)
    .fetch_all(db)
    .await
    .unwrap()
}

fn field_of(e: ApiError) -> String {
    match e {
        ApiError::BadRequest { errors, .. } => errors[0].code.clone(),
        other => panic!("expected 400, got {other:?}"),
    }
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn user_admins_manage_roles_locks_and_passwords(db: PgPool) {
    let app = spawn(db.clone()).await;
    let admin_svc = UserAdmin { db: &db };
    let ua = actor("user-admin-bob", &["apim:role_manage"]);
    let nobody = actor("subscriber", &["apim:subscribe"]);

    // Without the scope: refused, nothing changed.
    let e = admin_svc
        .call(
            &nobody,
            C::SetLocked {
                username: "publisher".into(),
                locked: true,
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(e, ApiError::Forbidden(_)), "{e:?}");

    // Roles: replaced as a whole; unknown roles name their entry; not your own; admin roles
    // only from a super admin.
    admin_svc
        .call(
            &ua,
            C::SetRoles {
                username: "subscriber".into(),
                roles: vec!["subscriber".into(), "creator".into()],
            },
        )
        .await
        .unwrap();
    assert_eq!(roles_of(&db, "subscriber").await, ["creator", "subscriber"]);
    let e = admin_svc
        .call(
            &ua,
            C::SetRoles {
                username: "subscriber".into(),
                roles: vec!["subscriber".into(), "wizard".into()],
            },
        )
        .await
        .unwrap_err();
    assert_eq!(field_of(e), "roles[1]");
    assert_eq!(
        roles_of(&db, "subscriber").await,
        ["creator", "subscriber"],
        "unchanged"
    );
    let e = admin_svc
        .call(
            &ua,
            C::SetRoles {
                username: "subscriber".into(),
                roles: vec!["admin".into()],
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(e, ApiError::Forbidden(_)), "{e:?}");
    let me = actor("publisher", &["apim:role_manage"]);
    let e = admin_svc
        .call(
            &me,
            C::SetRoles {
                username: "publisher".into(),
                roles: vec![],
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(e, ApiError::Forbidden(_)), "{e:?}");
    // A super admin's account is out of a user admin's reach.
    let e = admin_svc
        .call(
            &ua,
            C::SetLocked {
                username: "admin".into(),
                locked: true,
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(e, ApiError::Forbidden(_)), "{e:?}");

    // Locked: sign-in refused; unlocked: back.
    admin_svc
        .call(
            &ua,
            C::SetLocked {
                username: "subscriber".into(),
                locked: true,
            },
        )
        .await
        .unwrap();
    let r = app
        .post_json(
            "/auth/sign-in",
            json!({"username": "subscriber", "password": DEMO_PASSWORD}),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    admin_svc
        .call(
            &ua,
            C::SetLocked {
                username: "subscriber".into(),
                locked: false,
            },
        )
        .await
        .unwrap();
    app.session("subscriber", DEMO_PASSWORD).await;

    // Password reset: too short named; then the new one works and the old one not.
    let e = admin_svc
        .call(
            &ua,
            C::ResetPassword {
                username: "subscriber".into(),
                password: "short".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(field_of(e), "password");
    admin_svc
        .call(
            &ua,
            C::ResetPassword {
                username: "subscriber".into(),
                password: "a-new-long-pass".into(),
            },
        )
        .await
        .unwrap();
    app.session("subscriber", "a-new-long-pass").await;
    let r = app
        .post_json(
            "/auth/sign-in",
            json!({"username": "subscriber", "password": DEMO_PASSWORD}),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text());

    // Every change is in the audit log, by whom.
    let n = count(&db, "SELECT count(*) FROM audit_log WHERE actor_name = 'user-admin-bob' AND action LIKE 'user.%'").await;
    assert_eq!(n, 4, "roles, lock, unlock, password");
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn roles_are_defined_with_scopes_from_the_catalogue(db: PgPool) {
    let _app = spawn(db.clone()).await;
    let svc = UserAdmin { db: &db };
    let ua = actor("bob", &["apim:role_manage"]);
    let super_admin = actor("admin", &["apim:admin"]);
    let Ok(UsersChangeReply::Scopes(all)) = svc.call(&ua, C::Scopes).await else {
        panic!("scopes")
    };
    assert!(all.contains(&"apim:monitoring_view".to_string()));

    svc.call(
        &ua,
        C::SaveRole {
            name: "auditor".into(),
            description: "Reads the audit log".into(),
            scopes: vec!["apim:monitoring_view".into()],
        },
    )
    .await
    .unwrap();
    let scopes: Vec<String> = sqlx::query_scalar(
        "SELECT rs.scope_name FROM role_scope rs JOIN role r ON r.id = rs.role_id WHERE r.name = 'auditor'",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(scopes, ["apim:monitoring_view"]);
    // The role's holders get its scopes at their next sign-in / token.
    svc.call(
        &ua,
        C::SetRoles {
            username: "policy-admin".into(),
            roles: vec!["auditor".into()],
        },
    )
    .await
    .unwrap();
    assert_eq!(roles_of(&db, "policy-admin").await, ["auditor"]);

    let e = svc
        .call(
            &ua,
            C::SaveRole {
                name: "bad".into(),
                description: String::new(),
                scopes: vec!["apim:nope".into()],
            },
        )
        .await
        .unwrap_err();
    assert_eq!(field_of(e), "scopes[0]");
    let e = svc
        .call(
            &ua,
            C::SaveRole {
                name: "x!".into(),
                description: String::new(),
                scopes: vec![],
            },
        )
        .await
        .unwrap_err();
    assert_eq!(field_of(e), "name");
    let e = svc
        .call(
            &ua,
            C::SaveRole {
                name: "root".into(),
                description: String::new(),
                scopes: vec!["apim:admin".into()],
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(e, ApiError::Forbidden(_)), "{e:?}");
    // The built-in admin role is edited by super admins only, and no role of them is deleted.
    let e = svc
        .call(
            &ua,
            C::SaveRole {
                name: "admin".into(),
                description: String::new(),
                scopes: vec![],
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(e, ApiError::Forbidden(_)), "{e:?}");
    let e = svc
        .call(
            &super_admin,
            C::DeleteRole {
                name: "subscriber".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(field_of(e), "name");
    svc.call(
        &ua,
        C::DeleteRole {
            name: "auditor".into(),
        },
    )
    .await
    .unwrap();
    assert!(roles_of(&db, "policy-admin").await.is_empty());
}
