//! Sign-in, sign-up, sign-out and portal access through the real router and database.

mod common;

use axum::http::StatusCode;
use common::*;
use serde_json::json;
use sqlx::PgPool;

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn anonymous_visitors_get_the_devportal_and_are_sent_to_sign_in_elsewhere(db: PgPool) {
    let app = spawn(db).await;
    let r = app.get("/", None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location().as_deref(), Some("/devportal"));

    let r = app.get("/devportal", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains("No APIs are published yet"));
    assert!(r.set_cookie("gh_csrf").is_some(), "CSRF cookie handed out");

    for (path, next) in [
        ("/publisher", "%2Fpublisher"),
        ("/admin/users", "%2Fadmin%2Fusers"),
        ("/devportal/applications", "%2Fdevportal%2Fapplications"),
    ] {
        let r = app.get(path, None).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(r.location().unwrap(), format!("/sign-in?next={next}"));
    }
    let r = app.get("/no/such/page", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn portal_access_follows_roles(db: PgPool) {
    use StatusCode as S;
    let app = spawn(db).await;
    // (user, path, status): every portal page for each kind of user.
    let table: &[(&str, &str, S)] = &[
        ("admin", "/devportal", S::OK),
        ("admin", "/publisher", S::OK),
        ("admin", "/admin", S::OK),
        ("admin", "/admin/users", S::OK),
        ("admin", "/admin/key-managers", S::OK),
        ("admin", "/admin/no-such-section", S::NOT_FOUND),
        ("subscriber", "/devportal", S::OK),
        ("subscriber", "/devportal/applications", S::OK),
        ("subscriber", "/publisher", S::FORBIDDEN),
        ("subscriber", "/admin", S::FORBIDDEN),
        ("subscriber", "/admin/workflows", S::FORBIDDEN),
        ("workflow-admin", "/admin", S::OK),
        ("workflow-admin", "/admin/workflows", S::OK),
        ("workflow-admin", "/admin/key-managers", S::FORBIDDEN),
        ("workflow-admin", "/publisher", S::FORBIDDEN),
        ("publisher", "/publisher", S::OK),
        ("publisher", "/admin", S::FORBIDDEN),
    ];
    let mut sessions = std::collections::HashMap::new();
    for (user, path, status) in table {
        if !sessions.contains_key(user) {
            let pw = if *user == "admin" {
                ADMIN_PASSWORD
            } else {
                DEMO_PASSWORD
            };
            sessions.insert(*user, app.session(user, pw).await);
        }
        let r = app.get(path, Some(&sessions[user])).await;
        assert_eq!(r.status, *status, "{user} {path}");
        if *status == S::FORBIDDEN {
            assert!(
                r.text().contains("data-testid=\"forbidden\""),
                "403 page for {user} {path}"
            );
        }
    }
    let r = app.get("/admin/users", Some(&sessions["admin"])).await;
    assert!(r.text().contains("users-table"), "users page lists users");
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn sign_in_refuses_bad_input_with_wso2_errors(db: PgPool) {
    let app = spawn(db).await;
    let r = app
        .post_json(
            "/auth/sign-in",
            json!({"username": "admin", "password": "wrong"}),
            &[],
        )
        .await;
    assert_wso2_error(&r, StatusCode::UNAUTHORIZED);
    assert!(r.set_cookie("gh_session").is_none());

    let r = app
        .post_json(
            "/auth/sign-in",
            json!({"username": "nobody", "password": "x"}),
            &[],
        )
        .await;
    assert_wso2_error(&r, StatusCode::UNAUTHORIZED);

    let r = app
        .post_json("/auth/sign-in", json!({"username": "admin"}), &[])
        .await;
    let j = assert_wso2_error(&r, StatusCode::BAD_REQUEST);
    assert_eq!(j["error"][0]["code"], "password");

    let r = app
        .post_json("/auth/sign-in", json!({"username": 5}), &[])
        .await;
    assert_wso2_error(&r, StatusCode::BAD_REQUEST);

    let req = axum::http::Request::builder()
        .method("POST")
        .uri("/auth/sign-in")
        .header("content-type", "application/json")
        .body(axum::body::Body::from("{not json"))
        .unwrap();
    assert_wso2_error(&app.send(req).await, StatusCode::BAD_REQUEST);

    let req = axum::http::Request::builder()
        .method("POST")
        .uri("/auth/sign-in")
        .header("content-type", "text/plain")
        .body(axum::body::Body::from("x"))
        .unwrap();
    assert_wso2_error(&app.send(req).await, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // A locked account is refused even with the right password.
    sqlx::query("UPDATE app_user SET locked = true WHERE username = 'publisher'")
        .execute(&app.db)
        .await
        .unwrap();
    let r = app
        .post_json(
            "/auth/sign-in",
            json!({"username": "publisher", "password": DEMO_PASSWORD}),
            &[],
        )
        .await;
    assert_wso2_error(&r, StatusCode::FORBIDDEN);

    let failures = count(
        &app.db,
        "SELECT count(*) FROM audit_log WHERE action = 'user.sign_in_failed'",
    )
    .await;
    assert_eq!(failures, 3);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn browser_form_sign_in_needs_the_csrf_token_and_redirects(db: PgPool) {
    let app = spawn(db).await;
    let html = [("accept", "text/html")];
    // No CSRF cookie/field: back to the form with the error code.
    let r = app
        .post_form(
            "/auth/sign-in",
            &[("username", "admin"), ("password", ADMIN_PASSWORD)],
            &html,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        r.location().unwrap().starts_with("/sign-in?error=csrf"),
        "{:?}",
        r.location()
    );
    assert!(r.set_cookie("gh_session").is_none());

    // A non-browser client posting a form without the token gets a 403 body.
    let r = app
        .post_form(
            "/auth/sign-in",
            &[("username", "admin"), ("password", ADMIN_PASSWORD)],
            &[],
        )
        .await;
    assert_wso2_error(&r, StatusCode::FORBIDDEN);

    let page = app.get("/sign-in", None).await;
    let csrf = page.set_cookie("gh_csrf").unwrap();
    assert!(page.text().contains(&csrf), "the form carries the token");
    let cookie = format!("gh_csrf={csrf}");
    let headers = [("accept", "text/html"), ("cookie", cookie.as_str())];

    let r = app
        .post_form(
            "/auth/sign-in",
            &[
                ("username", "admin"),
                ("password", "bad"),
                ("csrf", &csrf),
                ("next", "/admin"),
            ],
            &headers,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        r.location().unwrap(),
        "/sign-in?error=invalid_credentials&username=admin&next=%2Fadmin"
    );

    let r = app
        .post_form(
            "/auth/sign-in",
            &[
                ("username", "admin"),
                ("password", ADMIN_PASSWORD),
                ("csrf", &csrf),
                ("next", "/admin"),
            ],
            &headers,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location().unwrap(), "/admin");
    let session = r.set_cookie("gh_session").unwrap();
    let raw = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        raw.contains("HttpOnly") && raw.contains("SameSite=Lax"),
        "{raw}"
    );
    assert!(
        !raw.contains("Secure"),
        "plain HTTP must not set Secure: {raw}"
    );

    // Only the hash of the token is stored.
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM session WHERE token_hash = sha256($1::bytea)")
            .bind(session.as_bytes())
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(stored, 1);
    let plain: i64 =
        sqlx::query_scalar("SELECT count(*) FROM session WHERE encode(token_hash, 'escape') = $1")
            .bind(&session)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(plain, 0);

    // An open redirect through `next` is not possible.
    let r = app
        .post_form(
            "/auth/sign-in",
            &[
                ("username", "admin"),
                ("password", ADMIN_PASSWORD),
                ("csrf", &csrf),
                ("next", "//evil.example/"),
            ],
            &headers,
        )
        .await;
    assert_eq!(r.location().unwrap(), "/devportal");
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn cross_site_writes_with_a_session_are_refused(db: PgPool) {
    let app = spawn(db).await;
    let admin = app.session("admin", ADMIN_PASSWORD).await;
    let r = app
        .post_form(
            "/auth/sign-out",
            &[],
            &[
                ("cookie", &admin),
                ("origin", "https://evil.example"),
                ("host", "127.0.0.1:3000"),
            ],
        )
        .await;
    assert_wso2_error(&r, StatusCode::FORBIDDEN);
    let r = app
        .post_form(
            "/auth/sign-out",
            &[],
            &[("cookie", &admin), ("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_wso2_error(&r, StatusCode::FORBIDDEN);
    // Still signed in.
    assert_eq!(
        app.get("/publisher", Some(&admin)).await.status,
        StatusCode::OK
    );
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn sign_out_ends_the_session(db: PgPool) {
    let app = spawn(db).await;
    let admin = app.session("admin", ADMIN_PASSWORD).await;
    let r = app
        .post_json("/auth/sign-out", json!({}), &[("cookie", &admin)])
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(r.set_cookie("gh_session").as_deref(), Some(""));
    let r = app.get("/publisher", Some(&admin)).await;
    assert_eq!(
        r.status,
        StatusCode::SEE_OTHER,
        "old cookie no longer works"
    );
    let left = count(&app.db, "SELECT count(*) FROM session").await;
    assert_eq!(left, 0);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn self_sign_up_creates_a_subscriber(db: PgPool) {
    let app = spawn(db).await;
    let ok = json!({"username": "dev.one", "email": "dev1@example.com", "password": "longenough", "password_confirm": "longenough", "display_name": "Dev One"});

    for (patch, field, status) in [
        (json!({"username": ""}), "username", StatusCode::BAD_REQUEST),
        (
            json!({"username": "a b"}),
            "username",
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"email": "not-an-email"}),
            "email",
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"password": "short", "password_confirm": "short"}),
            "password",
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"password_confirm": "different"}),
            "password_confirm",
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let mut body = ok.clone();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = app.post_json("/auth/sign-up", body, &[]).await;
        let j = assert_wso2_error(&r, status);
        assert_eq!(j["error"][0]["code"], field, "{j}");
    }
    let users = count(
        &app.db,
        "SELECT count(*) FROM app_user WHERE username = 'dev.one'",
    )
    .await;
    assert_eq!(users, 0, "nothing half-created");

    let r = app.post_json("/auth/sign-up", ok.clone(), &[]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let session = format!("gh_session={}", r.set_cookie("gh_session").unwrap());
    assert_eq!(
        app.get("/devportal/applications", Some(&session))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/publisher", Some(&session)).await.status,
        StatusCode::FORBIDDEN
    );

    let roles: Vec<String> = sqlx::query_scalar(
        "SELECT r.name FROM user_role ur JOIN role r ON r.id = ur.role_id JOIN app_user u ON u.id = ur.user_id WHERE u.username = 'dev.one'",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(roles, vec!["subscriber"]);
    let hash: String =
        sqlx::query_scalar("SELECT password_hash FROM app_user WHERE username = 'dev.one'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(hash.starts_with("$argon2id$"));

    let r = app.post_json("/auth/sign-up", ok.clone(), &[]).await;
    let j = assert_wso2_error(&r, StatusCode::CONFLICT);
    assert_eq!(j["error"][0]["code"], "username");
    let mut other = ok.clone();
    other["username"] = json!("dev.two");
    other["email"] = json!("DEV1@example.com");
    let j = assert_wso2_error(
        &app.post_json("/auth/sign-up", other, &[]).await,
        StatusCode::CONFLICT,
    );
    assert_eq!(j["error"][0]["code"], "email");

    let mut s = settings();
    s.auth.self_signup = false;
    let closed = spawn_with(app.db.clone(), s).await;
    let mut body = ok;
    body["username"] = json!("dev.three");
    body["email"] = json!("dev3@example.com");
    assert_wso2_error(
        &closed.post_json("/auth/sign-up", body, &[]).await,
        StatusCode::FORBIDDEN,
    );
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn first_start_creates_admin_once_and_keeps_its_password(db: PgPool) {
    let app = spawn(db.clone()).await;
    app.session("admin", ADMIN_PASSWORD).await;
    // A second start with another configured password does not touch the existing admin.
    let mut s = settings();
    s.admin_password = Some(secrecy::SecretString::from("another-password"));
    let again = spawn_with(db, s).await;
    again.session("admin", ADMIN_PASSWORD).await;
    let admins = count(
        &again.db,
        "SELECT count(*) FROM app_user WHERE username = 'admin'",
    )
    .await;
    assert_eq!(admins, 1);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn health_and_readiness(db: PgPool) {
    let app = spawn(db).await;
    let r = app.get("/health", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["status"], "UP");
    let r = app.get("/ready", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["database"], "UP");
    let vector: Option<String> =
        sqlx::query_scalar("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
            .fetch_optional(&app.db)
            .await
            .unwrap();
    assert!(
        vector.is_some(),
        "pgvector installed by the first migration"
    );

    // Readiness turns false when the database goes away.
    app.db.close().await;
    let r = app.get("/ready", None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
}
