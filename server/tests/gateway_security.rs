//! Gateway security end to end: the server binary as control plane, two gateway binaries, real
//! backends; an application, its keys and subscription made through the DevPortal REST API,
//! tokens from `/oauth2/token`. No token → 401; not subscribed → 403; subscribed → 200 with a
//! backend JWT the backend verifies from the gateway's JWKS; scopes per operation; sandbox keys
//! reach the sandbox endpoint; API keys in the API's header; revocation reaches both gateways
//! within a second; a blocked subscription → 403.

mod common;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use common::procs::*;
use common::*;
use gateway::jwt::{self, KeySet, Validation};
use serde_json::{Value, json};
use sqlx::PgPool;

const P: &str = "/api/am/publisher/v4";
const D: &str = "/api/am/devportal/v3";

fn call(gw: &str, path: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let (status, _, body) = request(gw, "GET", path, headers);
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

/// Waits (≤ limit) until `path` with `headers` answers `status` on the gateway.
async fn until(
    gw: &str,
    path: &str,
    headers: &[(&str, &str)],
    status: u16,
    limit: Duration,
) -> Duration {
    let (gw, path) = (gw.to_string(), path.to_string());
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let h: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        within(limit, &format!("{path} → {status}"), || {
            call(&gw, &path, &h).0 == status
        })
    })
    .await
    .unwrap()
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn tokens_keys_subscriptions_and_revocation_at_the_gateway(db: PgPool) {
    let app = spawn(db.clone()).await;
    let admin = app
        .access_token(
            "admin",
            ADMIN_PASSWORD,
            "apim:admin apim:api_view apim:api_create apim:api_publish apim:api_manage \
             apim:subscribe apim:app_manage apim:sub_manage apim:api_key",
        )
        .await;
    let (prod, sandbox) = (backend("prod"), backend("sandbox"));

    // An API with OAuth2 and API keys in a custom header, a scoped operation, an open one,
    // production and sandbox endpoints, backend JWT on.
    let api = ok(
        &app,
        Method::POST,
        &format!("{P}/apis"),
        &admin,
        Some(json!({
            "name": "Secure", "context": "/secure", "version": "1.0.0",
            "securityScheme": ["oauth2", "api_key"],
            "apiKeyHeader": "X-Pizza-Key",
            "apiKeyInQuery": true,
            "enableBackendJwt": true,
            "policies": ["Gold", "Unlimited"],
            "scopes": [{"scope": {"name": "items:admin", "bindings": []}}],
            "endpointConfig": {"endpoint_type": "http",
                "production_endpoints": {"url": format!("http://{prod}/v1")},
                "sandbox_endpoints": {"url": format!("http://{sandbox}/v1")}},
            "operations": [
                {"target": "/items/{id}", "verb": "GET"},
                {"target": "/admin", "verb": "GET", "scopes": ["items:admin"]},
                {"target": "/open", "verb": "GET", "authType": "None"}
            ]
        })),
    )
    .await;
    let api_id = api["id"].as_str().unwrap().to_string();
    let rev = ok(
        &app,
        Method::POST,
        &format!("{P}/apis/{api_id}/revisions"),
        &admin,
        Some(json!({"description": "secured"})),
    )
    .await;
    ok(
        &app,
        Method::POST,
        &format!(
            "{P}/apis/{api_id}/deploy-revision?revisionId={}",
            rev["id"].as_str().unwrap()
        ),
        &admin,
        Some(json!([{"name": "Default", "vhost": "localhost"}])),
    )
    .await;
    ok(
        &app,
        Method::POST,
        &format!("{P}/apis/change-lifecycle?apiId={api_id}&action=Publish"),
        &admin,
        None,
    )
    .await;

    let (cp, cp_addr) = control_plane(&database_url(&db));
    let cp_url = format!("http://{cp_addr}");
    let dir = std::env::temp_dir();
    let pid = std::process::id();
    let gw1 = start_gateway(&cp_url, &dir.join(format!("gh-sec1-{pid}.json")));
    let gw2 = start_gateway(&cp_url, &dir.join(format!("gh-sec2-{pid}.json")));
    let items = "/secure/1.0.0/items/7";

    // Deployed: open resource served, secured one needs credentials.
    until(
        &gw1.traffic,
        "/secure/1.0.0/open",
        &[],
        200,
        Duration::from_secs(2),
    )
    .await;
    let (s, fault) = call(&gw1.traffic, items, &[]);
    assert_eq!(s, 401, "{fault}");
    assert!(
        fault["description"]
            .as_str()
            .unwrap()
            .contains("X-Pizza-Key"),
        "{fault}"
    );
    let (s, _) = call(
        &gw1.traffic,
        items,
        &[("Authorization", "Bearer not.a.jwt")],
    );
    assert_eq!(s, 401);

    // An application with production and sandbox keys, not subscribed yet: 403.
    let application = ok(
        &app,
        Method::POST,
        &format!("{D}/applications"),
        &admin,
        Some(json!({"name": "Pizza app", "throttlingPolicy": "Unlimited"})),
    )
    .await;
    let app_id = application["applicationId"].as_str().unwrap().to_string();
    let prod_key = ok(
        &app,
        Method::POST,
        &format!("{D}/applications/{app_id}/generate-keys"),
        &admin,
        Some(json!({"keyType": "PRODUCTION", "grantTypesToBeSupported": ["client_credentials", "password", "refresh_token"]})),
    )
    .await;
    assert_eq!(
        prod_key["consumerSecret"].as_str().unwrap().len(),
        43,
        "256-bit secret"
    );
    let sandbox_key = ok(
        &app,
        Method::POST,
        &format!("{D}/applications/{app_id}/generate-keys"),
        &admin,
        Some(json!({"keyType": "SANDBOX"})),
    )
    .await;
    // The secret is shown once: later reads do not carry it.
    let listed = ok(
        &app,
        Method::GET,
        &format!("{D}/applications/{app_id}/oauth-keys"),
        &admin,
        None,
    )
    .await;
    assert_eq!(listed["count"], 2);
    assert!(listed["list"][0]["consumerSecret"].is_null());

    let early = client_token(&app, &prod_key, "items:admin").await;
    assert!(!early.is_empty());
    let (s, fault) = call(
        &gw1.traffic,
        items,
        &[("Authorization", &format!("Bearer {early}"))],
    );
    assert_eq!(s, 403, "{fault}");

    // Subscribed: 200 on both gateways within a second, with a backend JWT.
    let sub = ok(
        &app,
        Method::POST,
        &format!("{D}/subscriptions"),
        &admin,
        Some(json!({"applicationId": app_id, "apiId": api_id, "throttlingPolicy": "Gold"})),
    )
    .await;
    assert_eq!(sub["status"], "UNBLOCKED");
    // WSO2's list shape, paginated in the database.
    let page = ok(
        &app,
        Method::GET,
        &format!("{D}/subscriptions?applicationId={app_id}&limit=1&offset=0"),
        &admin,
        None,
    )
    .await;
    assert_eq!(page["count"], 1, "{page}");
    assert_eq!(page["pagination"]["total"], 1, "{page}");
    assert_eq!(page["list"][0]["apiInfo"]["name"], "Secure");
    let empty = ok(
        &app,
        Method::GET,
        &format!("{D}/subscriptions?applicationId={app_id}&limit=1&offset=1"),
        &admin,
        None,
    )
    .await;
    assert_eq!(empty["count"], 0, "{empty}");
    // Scopes come from the APIs the application is subscribed to.
    let token = client_token(&app, &prod_key, "items:admin").await;
    let bearer = format!("Bearer {token}");
    let took = until(
        &gw1.traffic,
        items,
        &[("Authorization", &bearer)],
        200,
        Duration::from_secs(1),
    )
    .await;
    eprintln!("subscribe → served in {took:?}");
    until(
        &gw2.traffic,
        items,
        &[("Authorization", &bearer)],
        200,
        Duration::from_secs(1),
    )
    .await;
    let (_, seen) = call(&gw1.traffic, items, &[("Authorization", &bearer)]);
    assert_eq!(seen["backend"], "prod");
    assert!(
        seen["headers"]["authorization"].is_null(),
        "the token reached the backend"
    );
    let assertion = seen["headers"]["x-jwt-assertion"]
        .as_str()
        .expect("backend JWT")
        .to_string();
    let (s, jwks) = call(&gw1.traffic, "/.well-known/jwks.json", &[]);
    assert_eq!(s, 200);
    let keys = KeySet::from_jwks(&jwks).unwrap();
    let now = chrono::Utc::now().timestamp();
    let verified = jwt::verify(&assertion, &keys, &Validation::default(), now).unwrap();
    assert_eq!(verified.claims["subscriber"], "admin");
    assert_eq!(verified.claims["application"]["name"], "Pizza app");
    assert_eq!(verified.claims["tier"], "Gold");
    assert_eq!(verified.claims["keytype"], "PRODUCTION");
    // Both gateways of the environment sign with the environment's key.
    let (_, jwks2) = call(&gw2.traffic, "/.well-known/jwks.json", &[]);
    assert_eq!(jwks, jwks2);

    // Scopes per operation.
    let (s, _) = call(
        &gw1.traffic,
        "/secure/1.0.0/admin",
        &[("Authorization", &bearer)],
    );
    assert_eq!(s, 200, "the token holds items:admin");
    let plain = client_token(&app, &prod_key, "").await;
    let (s, fault) = call(
        &gw1.traffic,
        "/secure/1.0.0/admin",
        &[("Authorization", &format!("Bearer {plain}"))],
    );
    assert_eq!(s, 403);
    assert!(
        fault["description"]
            .as_str()
            .unwrap()
            .contains("items:admin"),
        "{fault}"
    );

    // Sandbox keys reach the sandbox endpoint.
    let sandbox_token = client_token(&app, &sandbox_key, "").await;
    let (s, seen) = call(
        &gw1.traffic,
        items,
        &[("Authorization", &format!("Bearer {sandbox_token}"))],
    );
    assert_eq!((s, seen["backend"].as_str()), (200, Some("sandbox")));

    // API keys: in the API's header, not in the default one.
    let key = ok(
        &app,
        Method::POST,
        &format!("{D}/applications/{app_id}/api-keys/PRODUCTION/generate"),
        &admin,
        Some(json!({"validityPeriod": 3600})),
    )
    .await;
    let apikey = key["apikey"].as_str().unwrap().to_string();
    until(
        &gw1.traffic,
        items,
        &[("X-Pizza-Key", &apikey)],
        200,
        Duration::from_secs(1),
    )
    .await;
    // Also as a query parameter of that name, which the backend does not see.
    let (s, seen) = call(
        &gw1.traffic,
        &format!("{items}?q=1&X-Pizza-Key={apikey}"),
        &[],
    );
    assert_eq!((s, seen["query"].as_str()), (200, Some("q=1")), "{seen}");
    let (s, _) = call(&gw1.traffic, items, &[("ApiKey", &apikey)]);
    assert_eq!(s, 401, "an API key in the default header is refused");
    let (s, _) = call(&gw1.traffic, items, &[("X-Pizza-Key", "gk_wrong")]);
    assert_eq!(s, 401);
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("SELECT key_hash FROM api_key")
        .fetch_all(&db)
        .await
        .unwrap();
    assert!(
        stored
            .iter()
            .all(|h| !String::from_utf8_lossy(h).contains(&apikey)),
        "hashed at rest"
    );
    ok(
        &app,
        Method::POST,
        &format!("{D}/applications/{app_id}/api-keys/PRODUCTION/revoke"),
        &admin,
        Some(json!({"apikey": apikey})),
    )
    .await;
    until(
        &gw1.traffic,
        items,
        &[("X-Pizza-Key", &apikey)],
        401,
        Duration::from_secs(1),
    )
    .await;

    // Revocation reaches both gateways within a second.
    let auth = basic(
        prod_key["consumerKey"].as_str().unwrap(),
        prod_key["consumerSecret"].as_str().unwrap(),
    );
    let r = app
        .post_form(
            "/oauth2/revoke",
            &[("token", &token)],
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let t1 = until(
        &gw1.traffic,
        items,
        &[("Authorization", &bearer)],
        401,
        Duration::from_secs(1),
    )
    .await;
    let t2 = until(
        &gw2.traffic,
        items,
        &[("Authorization", &bearer)],
        401,
        Duration::from_secs(1),
    )
    .await;
    eprintln!("revoke → refused in {t1:?} / {t2:?}");
    let (s, _) = call(
        &gw1.traffic,
        items,
        &[("Authorization", &format!("Bearer {plain}"))],
    );
    assert_eq!(s, 200, "other tokens still work");

    // A blocked subscription: 403 saying so.
    let sub_id = sub["subscriptionId"].as_str().unwrap();
    ok(
        &app,
        Method::POST,
        &format!("{P}/subscriptions/block-subscription?subscriptionId={sub_id}&blockState=BLOCKED"),
        &admin,
        None,
    )
    .await;
    until(
        &gw1.traffic,
        items,
        &[("Authorization", &format!("Bearer {plain}"))],
        403,
        Duration::from_secs(1),
    )
    .await;
    let (_, fault) = call(
        &gw1.traffic,
        items,
        &[("Authorization", &format!("Bearer {plain}"))],
    );
    assert!(
        fault["description"].as_str().unwrap().contains("blocked"),
        "{fault}"
    );

    drop(cp);
    for gw in [&gw1, &gw2] {
        let log = gw.log.lock().unwrap();
        assert!(!log.contains(&token), "a token reached the gateway's log");
    }
}
