//! The resident key manager over the real router and PostgreSQL: applications and their keys
//! through the DevPortal REST API, every grant of `/oauth2/token`, RS256 by default and ES256
//! when configured, verification from `/oauth2/jwks`, introspection and revocation, discovery,
//! ephemeral (nothing stored) vs persistent mode, and refusals with clear errors.

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use gateway::jwt::{self, KeySet, Validation};
use serde_json::{Value, json};
use sqlx::PgPool;

const D: &str = "/api/am/devportal/v3";
const SCOPES: &str = "apim:subscribe apim:app_manage apim:sub_manage apim:api_key";

/// An application of `admin` with PRODUCTION keys allowing every grant; returns the key.
async fn app_with_keys(app: &TestApp, token: &str, name: &str) -> (String, Value) {
    let r = app
        .call(
            Method::POST,
            &format!("{D}/applications"),
            token,
            Some(json!({"name": name, "throttlingPolicy": "10PerMin"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["applicationId"].as_str().unwrap().to_string();
    let r = app
        .call(
            Method::POST,
            &format!("{D}/applications/{id}/generate-keys"),
            token,
            Some(json!({"keyType": "PRODUCTION",
                "grantTypesToBeSupported": ["client_credentials", "password", "refresh_token"],
                "validityTime": "600"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    (id, r.json())
}

async fn grant(app: &TestApp, key: &Value, form: &[(&str, &str)]) -> common::Resp {
    let auth = basic(
        key["consumerKey"].as_str().unwrap(),
        key["consumerSecret"].as_str().unwrap(),
    );
    app.post_form("/oauth2/token", form, &[("authorization", &auth)])
        .await
}

async fn verify(app: &TestApp, token: &str) -> jwt::Verified {
    let jwks = app.get("/oauth2/jwks", None).await.json();
    let keys = KeySet::from_jwks(&jwks).unwrap();
    let issuer = app
        .get("/.well-known/openid-configuration", None)
        .await
        .json()["issuer"]
        .as_str()
        .unwrap()
        .to_string();
    let v = Validation {
        issuer: Some(issuer),
        ..Validation::default()
    };
    jwt::verify(token, &keys, &v, chrono::Utc::now().timestamp()).expect("verifies from the JWKS")
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn every_grant_introspection_and_revocation(db: PgPool) {
    let app = spawn(db.clone()).await;
    let admin = app.access_token("admin", ADMIN_PASSWORD, SCOPES).await;
    let (app_id, key) = app_with_keys(&app, &admin, "Grants").await;
    assert_eq!(key["keyManager"], "Resident Key Manager");
    assert_eq!(key["mode"], "CREATED");

    // Client credentials: RS256 by default, the application's validity, nothing stored.
    let r = grant(&app, &key, &[("grant_type", "client_credentials")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.headers["cache-control"], "no-store");
    let body = r.json();
    assert_eq!(body["expires_in"], 600);
    assert!(body["refresh_token"].is_null());
    let access = body["access_token"].as_str().unwrap().to_string();
    let v = verify(&app, &access).await;
    assert_eq!(v.alg, jwt::Algorithm::RS256);
    assert_eq!(v.claims["sub"], "admin");
    assert_eq!(v.claims["keytype"], "PRODUCTION");
    assert_eq!(v.claims["organization"], "carbon.super");
    assert_eq!(v.claims["application"]["id"], app_id.as_str());
    assert_eq!(v.claims["application"]["tier"], "10PerMin");
    assert_eq!(v.claims["azp"], key["consumerKey"]);
    assert_eq!(
        count(&db, "SELECT count(*) FROM access_token").await,
        0,
        "ephemeral"
    );

    // Password grant for a user of the organization, with a refresh token; refresh works.
    let r = grant(
        &app,
        &key,
        &[
            ("grant_type", "password"),
            ("username", "subscriber"),
            ("password", DEMO_PASSWORD),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let body = r.json();
    assert_eq!(
        verify(&app, body["access_token"].as_str().unwrap())
            .await
            .claims["sub"],
        "subscriber"
    );
    let refresh = body["refresh_token"].as_str().unwrap().to_string();
    let r = grant(
        &app,
        &key,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let refreshed = r.json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(verify(&app, &refreshed).await.claims["sub"], "subscriber");
    // An access token is not a refresh token.
    let r = grant(
        &app,
        &key,
        &[("grant_type", "refresh_token"), ("refresh_token", &access)],
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["error"], "invalid_grant");
    let r = grant(
        &app,
        &key,
        &[
            ("grant_type", "password"),
            ("username", "subscriber"),
            ("password", "wrong"),
        ],
    )
    .await;
    assert_eq!(r.json()["error"], "invalid_grant");

    // Wrong secret, unknown grant.
    let mut wrong = key.clone();
    wrong["consumerSecret"] = json!("not-the-secret");
    let r = grant(&app, &wrong, &[("grant_type", "client_credentials")]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["error"], "invalid_client");
    let r = grant(&app, &key, &[("grant_type", "implicit")]).await;
    assert_eq!(r.json()["error"], "unsupported_grant_type");

    // Introspection, then revocation (RFC 7009: 200, and the token is inactive).
    let auth = basic(
        key["consumerKey"].as_str().unwrap(),
        key["consumerSecret"].as_str().unwrap(),
    );
    let r = app
        .post_form(
            "/oauth2/introspect",
            &[("token", &access)],
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(r.json()["active"], true, "{}", r.text());
    assert_eq!(r.json()["client_id"], key["consumerKey"]);
    let r = app
        .post_form(
            "/oauth2/revoke",
            &[("token", &access)],
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app
        .post_form(
            "/oauth2/introspect",
            &[("token", &access)],
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(r.json(), json!({"active": false}));
    assert_eq!(count(&db, "SELECT count(*) FROM revoked_token").await, 1);
    let r = app
        .post_form(
            "/oauth2/revoke",
            &[("token", "garbage")],
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "unknown tokens are answered alike"
    );
    let r = app
        .post_form("/oauth2/revoke", &[("token", &refreshed)], &[])
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "revocation needs the client"
    );

    // The refresh token can be revoked too.
    app.post_form(
        "/oauth2/revoke",
        &[("token", &refresh)],
        &[("authorization", &auth)],
    )
    .await;
    let r = grant(
        &app,
        &key,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(r.json()["error"], "invalid_grant");

    // A regenerated secret replaces the old one at once.
    let mapping = key["keyMappingId"].as_str().unwrap();
    let r = app
        .call(
            Method::POST,
            &format!("{D}/applications/{app_id}/oauth-keys/{mapping}/regenerate-secret"),
            &admin,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let mut renewed = key.clone();
    renewed["consumerSecret"] = r.json()["consumerSecret"].clone();
    assert_eq!(
        grant(&app, &key, &[("grant_type", "client_credentials")])
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        grant(&app, &renewed, &[("grant_type", "client_credentials")])
            .await
            .status,
        StatusCode::OK
    );

    // Portal token generation without the secret, for the owner only.
    let r = app
        .call(
            Method::POST,
            &format!("{D}/applications/{app_id}/oauth-keys/{mapping}/generate-token"),
            &admin,
            Some(json!({"validityPeriod": 60, "scopes": []})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["validityTime"], 60);
    let other = app.access_token("subscriber", DEMO_PASSWORD, SCOPES).await;
    let r = app
        .call(
            Method::GET,
            &format!("{D}/applications/{app_id}"),
            &other,
            None,
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "another user's application is invisible"
    );

    // Secrets are stored as keyed hashes only.
    let hashes: Vec<Vec<u8>> = sqlx::query_scalar("SELECT secret_hash FROM application_key")
        .fetch_all(&db)
        .await
        .unwrap();
    let secret = renewed["consumerSecret"].as_str().unwrap();
    assert!(
        hashes
            .iter()
            .all(|h| h.len() == 32 && !String::from_utf8_lossy(h).contains(secret))
    );

    // Discovery (RFC 8414 / OIDC) names every endpoint.
    let d = app
        .get("/.well-known/openid-configuration", None)
        .await
        .json();
    for field in [
        "token_endpoint",
        "jwks_uri",
        "revocation_endpoint",
        "introspection_endpoint",
    ] {
        assert!(d[field].as_str().unwrap().starts_with("http"), "{field}");
    }
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn es256_and_persistent_mode_by_setting(db: PgPool) {
    let mut settings = common::settings();
    settings.keymanager.signing_algorithm = "ES256".into();
    settings.keymanager.token_mode = server::config::TokenMode::Persistent;
    let app = spawn_with(db.clone(), settings).await;
    let admin = app.access_token("admin", ADMIN_PASSWORD, SCOPES).await;
    let (_, key) = app_with_keys(&app, &admin, "Elliptic").await;
    let r = grant(&app, &key, &[("grant_type", "client_credentials")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let token = r.json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(verify(&app, &token).await.alg, jwt::Algorithm::ES256);
    assert_eq!(
        count(&db, "SELECT count(*) FROM access_token").await,
        1,
        "persistent"
    );
    let stored: Vec<u8> = sqlx::query_scalar("SELECT token_hash FROM access_token")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(stored.len(), 32, "a digest, not the token");
    // Listed for the owner, and revocable from the list.
    let (app_id, mapping) = (
        sqlx::query_scalar::<_, uuid::Uuid>("SELECT id FROM application WHERE name = 'Elliptic'")
            .fetch_one(&db)
            .await
            .unwrap(),
        key["keyMappingId"].as_str().unwrap().to_string(),
    );
    let base = format!("{D}/applications/{app_id}/oauth-keys/{mapping}/tokens");
    let list = app.call(Method::GET, &base, &admin, None).await.json();
    assert_eq!(list["count"], 1, "{list}");
    let token_id = list["list"][0]["tokenId"].as_str().unwrap().to_string();
    assert!(
        !list.to_string().contains(&token),
        "the list never shows a token"
    );
    let r = app
        .call(Method::DELETE, &format!("{base}/{token_id}"), &admin, None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let auth = basic(
        key["consumerKey"].as_str().unwrap(),
        key["consumerSecret"].as_str().unwrap(),
    );
    let r = app
        .post_form(
            "/oauth2/introspect",
            &[("token", &token)],
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(r.json()["active"], false);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn bad_input_is_refused_with_the_field_named(db: PgPool) {
    let app = spawn(db.clone()).await;
    let admin = app.access_token("admin", ADMIN_PASSWORD, SCOPES).await;
    let r = app
        .call(
            Method::POST,
            &format!("{D}/applications"),
            &admin,
            Some(json!({"name": " "})),
        )
        .await;
    assert_wso2_error(&r, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("name"));
    let r = app
        .call(
            Method::POST,
            &format!("{D}/applications"),
            &admin,
            Some(json!({"name": "X", "throttlingPolicy": "Huge"})),
        )
        .await;
    assert!(r.text().contains("throttlingPolicy"), "{}", r.text());
    let (id, _) = app_with_keys(&app, &admin, "Twice").await;
    let r = app
        .call(
            Method::POST,
            &format!("{D}/applications/{id}/generate-keys"),
            &admin,
            Some(json!({"keyType": "PRODUCTION"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    let r = app
        .call(
            Method::POST,
            &format!("{D}/applications/{id}/generate-keys"),
            &admin,
            Some(json!({"keyType": "STAGING"})),
        )
        .await;
    assert!(r.text().contains("keyType"), "{}", r.text());
    let r = app
        .call(
            Method::POST,
            &format!("{D}/applications"),
            &admin,
            Some(json!({"name": "Twice"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = app
        .call(
            Method::POST,
            &format!("{D}/subscriptions"),
            &admin,
            Some(json!({"applicationId": id, "apiId": "00000000-0000-0000-0000-000000000000"})),
        )
        .await;
    assert!(r.text().contains("apiId"), "{}", r.text());
    // Without a DevPortal scope: 403.
    let publisher_only = app
        .access_token("admin", ADMIN_PASSWORD, "apim:api_view")
        .await;
    let r = app
        .call(
            Method::GET,
            &format!("{D}/applications"),
            &publisher_only,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn rotated_keys_keep_earlier_tokens_valid(db: PgPool) {
    let app = spawn(db.clone()).await;
    let admin = app
        .access_token(
            "admin",
            ADMIN_PASSWORD,
            &format!("{SCOPES} apim:admin apim:keymanagers_manage"),
        )
        .await;
    let (_, key) = app_with_keys(&app, &admin, "Rotation").await;
    let before = grant(&app, &key, &[("grant_type", "client_credentials")])
        .await
        .json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let old_kid = verify(&app, &before).await.header_kid;
    let r = app
        .call(
            Method::POST,
            "/api/am/admin/v4/key-managers/resident/rotate-signing-key?algorithm=RS256",
            &admin,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let after = grant(&app, &key, &[("grant_type", "client_credentials")])
        .await
        .json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let new_kid = verify(&app, &after).await.header_kid;
    assert_ne!(old_kid, new_kid, "new tokens use the new key");
    // The algorithm is chosen per key manager.
    let list = app
        .call(Method::GET, "/api/am/admin/v4/key-managers", &admin, None)
        .await
        .json();
    let mut resident = list["list"][0].clone();
    assert_eq!(resident["type"], "Default");
    assert_eq!(
        resident["additionalProperties"]["signingAlgorithm"],
        "RS256"
    );
    resident["additionalProperties"]["signingAlgorithm"] = json!("ES256");
    let url = format!(
        "/api/am/admin/v4/key-managers/{}",
        resident["id"].as_str().unwrap()
    );
    let r = app
        .call(Method::PUT, &url, &admin, Some(resident.clone()))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let es = grant(&app, &key, &[("grant_type", "client_credentials")])
        .await
        .json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(verify(&app, &es).await.alg, jwt::Algorithm::ES256);
    resident["additionalProperties"]["signingAlgorithm"] = json!("HS256");
    let r = app.call(Method::PUT, &url, &admin, Some(resident)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("signingAlgorithm"));
    // The old key is still published: the earlier token verifies from the JWKS.
    assert_eq!(verify(&app, &before).await.header_kid, old_kid);
    let retired: i64 = count(
        &db,
        "SELECT count(*) FROM signing_key WHERE purpose = 'oauth' AND retired_at IS NOT NULL",
    )
    .await;
    assert_eq!(retired, 1);
    // Only an admin rotates.
    let r = app
        .call(
            Method::POST,
            "/api/am/admin/v4/key-managers/resident/rotate-signing-key",
            &app.access_token("admin", ADMIN_PASSWORD, "apim:keymanagers_manage")
                .await,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn devportal_operations_check_scopes_and_page_like_wso2(db: PgPool) {
    let app = spawn(db.clone()).await;
    let admin = app.access_token("admin", ADMIN_PASSWORD, SCOPES).await;
    let mut ids = Vec::new();
    for name in ["Alpha", "Beta", "Gamma"] {
        let r = app
            .call(
                Method::POST,
                &format!("{D}/applications"),
                &admin,
                Some(json!({"name": name})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        ids.push(r.json()["applicationId"].as_str().unwrap().to_string());
    }
    // WSO2's list shape: count, list, pagination {offset, limit, total, next, previous}.
    let page = app
        .call(
            Method::GET,
            &format!("{D}/applications?limit=2&offset=0"),
            &admin,
            None,
        )
        .await
        .json();
    assert_eq!(page["count"], 2);
    assert_eq!(page["list"][0]["name"], "Alpha");
    assert_eq!(page["pagination"]["total"], 3);
    assert_eq!(page["pagination"]["limit"], 2);
    assert!(
        page["pagination"]["next"]
            .as_str()
            .unwrap()
            .contains("offset=2")
    );
    let last = app
        .call(
            Method::GET,
            &format!("{D}/applications?limit=2&offset=2"),
            &admin,
            None,
        )
        .await
        .json();
    assert_eq!(last["count"], 1);
    assert_eq!(last["list"][0]["name"], "Gamma");

    // Every operation refuses a token without a Developer Portal scope.
    let id = &ids[0];
    let other = app
        .access_token("admin", ADMIN_PASSWORD, "apim:api_view")
        .await;
    let calls: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("{D}/applications"), None),
        (
            Method::POST,
            format!("{D}/applications"),
            Some(json!({"name": "X"})),
        ),
        (Method::GET, format!("{D}/applications/{id}"), None),
        (
            Method::PUT,
            format!("{D}/applications/{id}"),
            Some(json!({"name": "Y"})),
        ),
        (Method::DELETE, format!("{D}/applications/{id}"), None),
        (
            Method::POST,
            format!("{D}/applications/{id}/generate-keys"),
            Some(json!({"keyType": "PRODUCTION"})),
        ),
        (
            Method::GET,
            format!("{D}/applications/{id}/oauth-keys"),
            None,
        ),
        (
            Method::POST,
            format!("{D}/applications/{id}/api-keys/PRODUCTION/generate"),
            Some(json!({})),
        ),
        (Method::GET, format!("{D}/applications/{id}/api-keys"), None),
        (
            Method::GET,
            format!("{D}/subscriptions?applicationId={id}"),
            None,
        ),
        (
            Method::POST,
            format!("{D}/subscriptions"),
            Some(json!({"applicationId": id, "apiId": id})),
        ),
    ];
    for (method, path, body) in calls {
        let r = app.call(method.clone(), &path, &other, body).await;
        assert_eq!(
            r.status,
            StatusCode::FORBIDDEN,
            "{method} {path}: {}",
            r.text()
        );
    }
    // And nothing was changed by the refused calls.
    assert_eq!(count(&db, "SELECT count(*) FROM application").await, 3);
    assert_eq!(count(&db, "SELECT count(*) FROM application_key").await, 0);
}
