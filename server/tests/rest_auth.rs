//! WSO2-compatible REST authentication: client registration, the token endpoint, and scope
//! checks on the three REST APIs — through the real router and database.

mod common;

use axum::http::StatusCode;
use common::*;
use serde_json::json;
use sqlx::PgPool;

const REGISTER: &str = "/client-registration/v0.17/register";

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn client_registration_validates_and_hashes_the_secret(db: PgPool) {
    let app = spawn(db).await;
    let body = json!({"callbackUrl": "www.example.com", "clientName": "rest_api_admin", "owner": "admin", "grantType": "client_credentials password refresh_token", "saasApp": true});

    assert_wso2_error(
        &app.post_json(REGISTER, body.clone(), &[]).await,
        StatusCode::UNAUTHORIZED,
    );
    let wrong = basic("admin", "wrong");
    assert_wso2_error(
        &app.post_json(REGISTER, body.clone(), &[("authorization", &wrong)])
            .await,
        StatusCode::UNAUTHORIZED,
    );
    assert_wso2_error(
        &app.post_json(REGISTER, body.clone(), &[("authorization", "Basic !!!")])
            .await,
        StatusCode::UNAUTHORIZED,
    );

    let auth = basic("admin", ADMIN_PASSWORD);
    let j = assert_wso2_error(
        &app.post_json(
            REGISTER,
            json!({"owner": "admin"}),
            &[("authorization", &auth)],
        )
        .await,
        StatusCode::BAD_REQUEST,
    );
    assert_eq!(j["error"][0]["code"], "clientName");
    let j = assert_wso2_error(
        &app.post_json(
            REGISTER,
            json!({"clientName": "x", "grantType": "implicit"}),
            &[("authorization", &auth)],
        )
        .await,
        StatusCode::BAD_REQUEST,
    );
    assert_eq!(j["error"][0]["code"], "grantType");
    let j = assert_wso2_error(
        &app.post_json(
            REGISTER,
            json!({"clientName": "x", "owner": "someone-else"}),
            &[("authorization", &auth)],
        )
        .await,
        StatusCode::BAD_REQUEST,
    );
    assert_eq!(j["error"][0]["code"], "owner");

    let r = app
        .post_json(REGISTER, body.clone(), &[("authorization", &auth)])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let j = r.json();
    assert_eq!(j["clientName"], "rest_api_admin");
    assert_eq!(j["appOwner"], "admin");
    assert_eq!(j["callBackURL"], "www.example.com");
    assert_eq!(j["isSaasApplication"], true);
    let secret = j["clientSecret"].as_str().unwrap().to_string();
    assert!(secret.len() >= 43, "≥ 256-bit secret");
    let client_id = j["clientId"].as_str().unwrap().to_string();

    let stored: Vec<u8> =
        sqlx::query_scalar("SELECT secret_hash FROM oauth_client WHERE client_id = $1")
            .bind(&client_id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_ne!(
        stored,
        secret.as_bytes(),
        "secret is not stored in the clear"
    );
    assert_eq!(stored.len(), 32);

    // Registering the same name again keeps the client id and rotates the secret.
    let again = app
        .post_json(REGISTER, body, &[("authorization", &auth)])
        .await
        .json();
    assert_eq!(again["clientId"], client_id.as_str());
    assert_ne!(again["clientSecret"], secret.as_str());
    let old = app
        .post_form(
            "/oauth2/token",
            &[("grant_type", "client_credentials")],
            &[("authorization", &basic(&client_id, &secret))],
        )
        .await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn token_endpoint_refuses_bad_requests_clearly(db: PgPool) {
    let app = spawn(db).await;
    let (id, secret) = app.register_client("admin", ADMIN_PASSWORD).await;
    let client = basic(&id, &secret);
    let form = |grant: &'static str| {
        vec![
            ("grant_type", grant),
            ("username", "admin"),
            ("password", ADMIN_PASSWORD),
        ]
    };

    type Case<'a> = (Vec<(&'a str, &'a str)>, String, StatusCode, &'a str);
    let cases: Vec<Case> = vec![
        (
            form("password"),
            String::new(),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            form("password"),
            basic(&id, "wrong-secret"),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            form("password"),
            basic("no-such-client", &secret),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            vec![("username", "admin")],
            client.clone(),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            form("implicit"),
            client.clone(),
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
        ),
        (
            vec![("grant_type", "password"), ("username", "admin")],
            client.clone(),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            vec![
                ("grant_type", "password"),
                ("username", "admin"),
                ("password", "nope"),
            ],
            client.clone(),
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        ),
    ];
    for (body, auth, status, error) in cases {
        let headers: Vec<(&str, &str)> = if auth.is_empty() {
            vec![]
        } else {
            vec![("authorization", auth.as_str())]
        };
        let r = app.post_form("/oauth2/token", &body, &headers).await;
        assert_eq!(r.status, status, "{body:?}: {}", r.text());
        let j = r.json();
        assert_eq!(j["error"], error, "{j}");
        assert_eq!(j["code"].as_u64(), Some(status.as_u16() as u64));
        assert!(
            j["error_description"]
                .as_str()
                .is_some_and(|d| !d.is_empty())
        );
        assert_eq!(r.headers.get("cache-control").unwrap(), "no-store");
    }
    // A JSON body is not a token request.
    let r = app
        .post_json(
            "/oauth2/token",
            json!({"grant_type": "password"}),
            &[("authorization", &client)],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["error"], "invalid_request");
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn tokens_carry_only_scopes_the_user_holds(db: PgPool) {
    let app = spawn(db).await;
    let admin = app
        .token(
            "admin",
            ADMIN_PASSWORD,
            "apim:admin apim:admin_settings apim:api_view openid",
        )
        .await;
    assert_eq!(admin["token_type"], "Bearer");
    assert_eq!(admin["expires_in"], 3600);
    assert_eq!(
        admin["scope"],
        "apim:admin apim:admin_settings apim:api_view"
    );

    let sub = app
        .token(
            "subscriber",
            DEMO_PASSWORD,
            "apim:admin apim:subscribe apim:api_view",
        )
        .await;
    assert_eq!(sub["scope"], "apim:subscribe");

    // The token is a JWT with the claims WSO2 tooling expects.
    let token = admin["access_token"].as_str().unwrap();
    let payload = token.split('.').nth(1).unwrap();
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["sub"], "admin");
    assert_eq!(claims["organization"], "carbon.super");
    assert!(claims["exp"].as_i64().unwrap() > claims["iat"].as_i64().unwrap());
    assert!(claims["jti"].is_string());

    // JWKS publishes the verification key.
    let jwks = app.get("/oauth2/jwks", None).await.json();
    assert_eq!(jwks["keys"][0]["kty"], "EC");
    assert_eq!(jwks["keys"][0]["alg"], "ES256");
    assert!(jwks["keys"][0].get("d").is_none(), "no private part");

    // Issuing a token wrote nothing (ephemeral tokens).
    let sessions = count(&app.db, "SELECT count(*) FROM session").await;
    assert_eq!(sessions, 0);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn rest_apis_check_scopes_for_tokens_and_sessions(db: PgPool) {
    let app = spawn(db).await;
    let admin = app
        .token(
            "admin",
            ADMIN_PASSWORD,
            "apim:admin apim:scope_manage apim:api_view",
        )
        .await;
    let admin = admin["access_token"].as_str().unwrap().to_string();
    let sub = app
        .token("subscriber", DEMO_PASSWORD, "apim:subscribe")
        .await;
    let sub = sub["access_token"].as_str().unwrap().to_string();

    // No credentials.
    for path in [
        "/api/am/admin/v4/settings",
        "/api/am/admin/v4/system-scopes",
        "/api/am/publisher/v4/settings",
    ] {
        let r = app.get(path, None).await;
        assert_wso2_error(&r, StatusCode::UNAUTHORIZED);
        assert!(r.headers.get("www-authenticate").is_some());
    }
    // Garbage and tampered tokens.
    assert_wso2_error(
        &app.get_bearer("/api/am/admin/v4/settings", "not-a-jwt")
            .await,
        StatusCode::UNAUTHORIZED,
    );
    let mut tampered = admin.clone();
    tampered.pop();
    tampered.push(if admin.ends_with('A') { 'B' } else { 'A' });
    assert_wso2_error(
        &app.get_bearer("/api/am/admin/v4/settings", &tampered).await,
        StatusCode::UNAUTHORIZED,
    );

    // Wrong scopes.
    for path in [
        "/api/am/admin/v4/settings",
        "/api/am/admin/v4/system-scopes",
        "/api/am/publisher/v4/settings",
    ] {
        assert_wso2_error(&app.get_bearer(path, &sub).await, StatusCode::FORBIDDEN);
    }
    // Right scopes.
    let r = app.get_bearer("/api/am/admin/v4/settings", &admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(
        r.json()["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "apim:tier_view")
    );
    let r = app
        .get_bearer("/api/am/admin/v4/system-scopes", &admin)
        .await;
    let j = r.json();
    assert!(j["count"].as_u64().unwrap() > 30);
    let approve = j["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "apim:api_workflow_approve")
        .unwrap();
    assert_eq!(approve["roles"], json!(["admin", "workflow-admin"]));
    assert_eq!(
        app.get_bearer("/api/am/publisher/v4/settings", &admin)
            .await
            .status,
        StatusCode::OK
    );

    // The developer portal's settings are public.
    let r = app.get("/api/am/devportal/v3/settings", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.json()["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "apim:subscribe")
    );

    // A portal session works as well as a token, with the user's own scopes.
    let session = app.session("publisher", DEMO_PASSWORD).await;
    assert_eq!(
        app.get("/api/am/publisher/v4/settings", Some(&session))
            .await
            .status,
        StatusCode::OK
    );
    assert_wso2_error(
        &app.get("/api/am/admin/v4/settings", Some(&session)).await,
        StatusCode::FORBIDDEN,
    );

    // Unknown REST paths answer in the same error shape.
    assert_wso2_error(
        &app.get_bearer("/api/am/admin/v4/no-such-thing", &admin)
            .await,
        StatusCode::NOT_FOUND,
    );
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn expired_tokens_are_refused(db: PgPool) {
    let mut s = settings();
    s.auth.token_ttl_seconds = 1;
    let app = spawn_with(db, s).await;
    // Tokens get 30 s of clock-skew leeway, so an expired one is forged from the claims with
    // the server's own key set rather than waited for.
    let state = server::prepare(app.db.clone(), settings()).await.unwrap();
    let now = chrono::Utc::now().timestamp();
    let claims = server::auth::tokens::Claims {
        iss: state.keys.issuer().to_string(),
        sub: "admin".into(),
        aud: "c".into(),
        exp: now - 120,
        iat: now - 180,
        jti: "j".into(),
        scope: "apim:admin".into(),
        client_id: "c".into(),
        organization: "carbon.super".into(),
        token_use: None,
    };
    let token = state.keys.sign(&claims).unwrap();
    let r = app.get_bearer("/api/am/admin/v4/settings", &token).await;
    let j = assert_wso2_error(&r, StatusCode::UNAUTHORIZED);
    assert!(
        j["description"].as_str().unwrap().contains("expired"),
        "{j}"
    );
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn refresh_tokens_renew_access_without_widening_it(db: PgPool) {
    let app = spawn(db).await;
    let (id, secret) = app.register_client("admin", ADMIN_PASSWORD).await;
    let client = basic(&id, &secret);
    let r = app
        .post_form(
            "/oauth2/token",
            &[
                ("grant_type", "password"),
                ("username", "admin"),
                ("password", ADMIN_PASSWORD),
                ("scope", "apim:admin apim:api_view"),
            ],
            &[("authorization", &client)],
        )
        .await;
    let first = r.json();
    let refresh = first["refresh_token"]
        .as_str()
        .expect("refresh token issued")
        .to_string();
    let access = first["access_token"].as_str().unwrap().to_string();

    // A refresh token is not an access token, nor the other way round.
    assert_wso2_error(
        &app.get_bearer("/api/am/admin/v4/settings", &refresh).await,
        StatusCode::UNAUTHORIZED,
    );
    let r = app
        .post_form(
            "/oauth2/token",
            &[("grant_type", "refresh_token"), ("refresh_token", &access)],
            &[("authorization", &client)],
        )
        .await;
    assert_eq!(r.json()["error"], "invalid_grant");

    // Narrowing works; widening is ignored.
    let r = app
        .post_form(
            "/oauth2/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh),
                ("scope", "apim:api_view apim:tier_manage"),
            ],
            &[("authorization", &client)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["scope"], "apim:api_view");
    let r = app
        .post_form(
            "/oauth2/token",
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
            &[("authorization", &client)],
        )
        .await;
    assert_eq!(r.json()["scope"], "apim:admin apim:api_view");
    assert_eq!(
        app.get_bearer(
            "/api/am/admin/v4/settings",
            r.json()["access_token"].as_str().unwrap()
        )
        .await
        .status,
        StatusCode::OK
    );

    // Another client cannot use it; a missing or forged one is refused.
    let (id2, secret2) = {
        let r = app
            .post_json(
                "/client-registration/v0.17/register",
                json!({"clientName": "other", "grantType": "password refresh_token"}),
                &[("authorization", &basic("admin", ADMIN_PASSWORD))],
            )
            .await
            .json();
        (
            r["clientId"].as_str().unwrap().to_string(),
            r["clientSecret"].as_str().unwrap().to_string(),
        )
    };
    let other = basic(&id2, &secret2);
    for (form, error) in [
        (
            vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh.as_str()),
            ],
            "invalid_grant",
        ),
        (vec![("grant_type", "refresh_token")], "invalid_request"),
        (
            vec![("grant_type", "refresh_token"), ("refresh_token", "forged")],
            "invalid_grant",
        ),
    ] {
        let r = app
            .post_form("/oauth2/token", &form, &[("authorization", &other)])
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(r.json()["error"], error);
    }

    // Client credentials get no refresh token.
    let r = app
        .post_form(
            "/oauth2/token",
            &[("grant_type", "client_credentials")],
            &[("authorization", &client)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.json().get("refresh_token").is_none());
}
