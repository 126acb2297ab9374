//! Third-party key managers end to end. A small OIDC issuer started by the test (discovery
//! document + JWKS on 127.0.0.1) is added through the Admin REST API as a generic OIDC key
//! manager (by discovery) and, with Azure AD v2's issuer format and claims, as an Azure AD
//! preset. Applications map that provider's client ids; the gateway (a real binary following
//! the server binary) accepts the provider's tokens, fetching its JWKS. Key-manager visibility
//! by role, and the global key manager's tokens in a second organization.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use app::publisher::Api;
use axum::http::{Method, StatusCode};
use common::procs::*;
use common::*;
use gateway::jwt::{Algorithm, Signer};
use serde_json::{Value, json};
use server::publisher::{Actor, Publisher};
use sqlx::PgPool;

const KEY: &[u8] = include_bytes!("../../gateway/tests/keys/rsa2048.pk8");
const A: &str = "/api/am/admin/v4";
const D: &str = "/api/am/devportal/v3";
const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

/// The test's identity provider: discovery and JWKS over HTTP.
async fn issuer(signer: &Signer) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    let discovery = json!({
        "issuer": base,
        "jwks_uri": format!("{base}/jwks"),
        "token_endpoint": format!("{base}/token"),
        "revocation_endpoint": format!("{base}/revoke"),
        "grant_types_supported": ["client_credentials"],
    });
    let jwks = json!({"keys": [signer.public_jwk()]});
    let app = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            axum::routing::get(move || async move { axum::Json(discovery) }),
        )
        .route(
            "/jwks",
            axum::routing::get(move || async move { axum::Json(jwks) }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn until(gw: &str, path: &str, token: &str, status: u16) {
    let (gw, path, auth) = (gw.to_string(), path.to_string(), format!("Bearer {token}"));
    tokio::task::spawn_blocking(move || {
        within(
            Duration::from_secs(3),
            &format!("{path} → {status}"),
            || request(&gw, "GET", &path, &[("Authorization", &auth)]).0 == status,
        )
    })
    .await
    .unwrap();
}

/// An API deployed on Default and published, through the service layer (any organization).
async fn published_api(
    publisher: &Publisher,
    actor: &Actor,
    context: &str,
    backend: SocketAddr,
) -> String {
    let api: Api = serde_json::from_value(json!({
        "name": context.trim_start_matches('/'), "context": context, "version": "1.0.0",
        "endpointConfig": {"endpoint_type": "http",
            "production_endpoints": {"url": format!("http://{backend}")}},
        "operations": [{"target": "/orders", "verb": "GET"}]
    }))
    .unwrap();
    let id = publisher
        .create(actor, api, None, false)
        .await
        .unwrap()
        .id
        .unwrap();
    let rev = publisher
        .create_revision(actor, &id, "r1", false)
        .await
        .unwrap();
    let target =
        serde_json::from_value(json!([{"name": "Default", "vhost": "localhost"}])).unwrap();
    publisher
        .deploy(actor, &id, &rev.id, target, false)
        .await
        .unwrap();
    publisher
        .change_lifecycle(actor, &id, "Publish", "", false)
        .await
        .unwrap();
    id
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn third_party_and_global_key_managers_at_the_gateway(db: PgPool) {
    let app = spawn(db.clone()).await;
    let state = server::prepare(db.clone(), common::settings())
        .await
        .unwrap();
    let admin = app
        .access_token(
            "admin",
            ADMIN_PASSWORD,
            "apim:admin apim:keymanagers_manage apim:api_view apim:api_create apim:api_publish \
             apim:subscribe apim:app_manage apim:sub_manage",
        )
        .await;
    let signer = Signer::from_pkcs8("idp-1", Algorithm::RS256, KEY).unwrap();
    let idp = issuer(&signer).await;
    let idp_url = format!("http://{idp}");

    // Discovery, as the admin portal does it (multipart `url` + `type`).
    let well_known = format!("{idp_url}/.well-known/openid-configuration");
    let r = app
        .multipart(
            Method::POST,
            &format!("{A}/key-managers/discover"),
            &admin,
            &[
                ("url", None, well_known.as_bytes()),
                ("type", None, b"OIDC"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["value"]["issuer"], idp_url.as_str());
    assert_eq!(
        r.json()["value"]["certificates"]["value"],
        format!("{idp_url}/jwks")
    );

    // A generic OIDC key manager from its well-known URL alone.
    let local = ok(
        &app,
        Method::POST,
        &format!("{A}/key-managers"),
        &admin,
        Some(json!({"name": "Local IdP", "type": "OIDC",
                    "wellKnownEndpoint": format!("{idp_url}/.well-known/openid-configuration"),
                    "enabled": true})),
    )
    .await;
    assert_eq!(local["issuer"], idp_url.as_str());
    // The Azure AD preset: the tenant gives the issuer; the keys come from our test issuer
    // (no internet here), the claims are Azure AD v2's.
    let azure = ok(
        &app,
        Method::POST,
        &format!("{A}/key-managers"),
        &admin,
        Some(
            json!({"name": "Contoso Entra", "type": "AzureAD", "enabled": true,
                    "additionalProperties": {"tenantId": TENANT},
                    "certificates": {"type": "JWKS", "value": format!("{idp_url}/jwks")},
                    "audiences": ["api://orders"]}),
        ),
    )
    .await;
    let azure_issuer = format!("https://login.microsoftonline.com/{TENANT}/v2.0");
    assert_eq!(azure["issuer"], azure_issuer.as_str());
    assert_eq!(azure["scopesClaim"], "scp roles");
    // Only for some roles: hidden from others in the Developer Portal and refused by REST.
    ok(
        &app,
        Method::POST,
        &format!("{A}/key-managers"),
        &admin,
        Some(
            json!({"name": "Staff only", "type": "OIDC", "issuer": "https://staff.example",
                    "certificates": {"type": "JWKS", "value": "https://staff.example/jwks"},
                    "enabled": true,
                    "permissions": {"permissionType": "ALLOW", "roles": ["admin"]}}),
        ),
    )
    .await;
    let r = app
        .call(
            Method::POST,
            &format!("{A}/key-managers"),
            &admin,
            Some(json!({"name": "Broken", "type": "AzureAD"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("tenantId"), "{}", r.text());
    let sub = app
        .access_token(
            "subscriber",
            DEMO_PASSWORD,
            "apim:subscribe apim:app_manage",
        )
        .await;
    let names = |v: Value| -> Vec<String> {
        v["list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["name"].as_str().unwrap().to_string())
            .collect()
    };
    let seen = names(ok(&app, Method::GET, &format!("{D}/key-managers"), &sub, None).await);
    assert!(
        seen.contains(&"Local IdP".to_string()) && !seen.contains(&"Staff only".to_string()),
        "{seen:?}"
    );
    let seen = names(
        ok(
            &app,
            Method::GET,
            &format!("{D}/key-managers"),
            &admin,
            None,
        )
        .await,
    );
    assert!(seen.contains(&"Staff only".to_string()), "{seen:?}");
    let sub_app = ok(
        &app,
        Method::POST,
        &format!("{D}/applications"),
        &sub,
        Some(json!({"name": "S"})),
    )
    .await;
    let r = app
        .call(
            Method::POST,
            &format!(
                "{D}/applications/{}/map-keys",
                sub_app["applicationId"].as_str().unwrap()
            ),
            &sub,
            Some(json!({"consumerKey": "x", "keyManager": "Staff only", "keyType": "PRODUCTION"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert!(r.text().contains("restricted"), "{}", r.text());
    let r = app
        .call(
            Method::POST,
            &format!(
                "{D}/applications/{}/map-keys",
                sub_app["applicationId"].as_str().unwrap()
            ),
            &sub,
            Some(json!({"consumerKey": "x", "keyManager": "No such", "keyType": "PRODUCTION"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert!(r.text().contains("keyManager"));
    // Without the key-manager scope the Admin API refuses.
    let r = app
        .call(Method::GET, &format!("{A}/key-managers"), &sub, None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // An API, an application mapping both providers' clients, a subscription.
    let backend_addr = backend("orders");
    let publisher = Publisher::new(db.clone(), state.settings.publisher.clone());
    let me = Actor {
        username: "admin".into(),
        organization: "carbon.super".into(),
        scopes: [
            "apim:api_view",
            "apim:api_create",
            "apim:api_publish",
            "apim:subscribe",
            "apim:app_manage",
            "apim:sub_manage",
        ]
        .map(String::from)
        .to_vec(),
    };
    let api_id = published_api(&publisher, &me, "/orders", backend_addr).await;
    let application = ok(
        &app,
        Method::POST,
        &format!("{D}/applications"),
        &admin,
        Some(json!({"name": "Orders app"})),
    )
    .await;
    let app_id = application["applicationId"].as_str().unwrap().to_string();
    for (km, client) in [
        ("Local IdP", "local-client"),
        ("Contoso Entra", "11111111-2222-3333-4444-555555555555"),
    ] {
        let mapped = ok(
            &app,
            Method::POST,
            &format!("{D}/applications/{app_id}/map-keys"),
            &admin,
            Some(json!({"consumerKey": client, "keyManager": km, "keyType": "PRODUCTION"})),
        )
        .await;
        assert_eq!(mapped["mode"], "MAPPED");
    }
    ok(
        &app,
        Method::POST,
        &format!("{D}/subscriptions"),
        &admin,
        Some(json!({"applicationId": app_id, "apiId": api_id})),
    )
    .await;

    let (cp, cp_addr) = control_plane(&database_url(&db));
    let cache = std::env::temp_dir().join(format!("gh-km-{}.json", std::process::id()));
    let gw = start_gateway(&format!("http://{cp_addr}"), &cache);
    let path = "/orders/1.0.0/orders";

    // Generic OIDC: the provider's token, its client mapped → 200 (JWKS fetched by the gateway).
    let oidc = signer
        .sign(&json!({"iss": idp_url, "sub": "svc", "azp": "local-client", "exp": now() + 300, "iat": now()}))
        .unwrap();
    until(&gw.traffic, path, &oidc, 200).await;
    // Azure AD v2 client-credentials token: appid/azp as the client, roles as scopes, aud checked.
    let azure_claims = |aud: &str, client_claim: &str| {
        json!({"aud": aud, "iss": azure_issuer, "iat": now(), "nbf": now(), "exp": now() + 300,
               "tid": TENANT, "oid": "9f1c…", "sub": "9f1c…", "ver": "2.0", "azpacr": "1",
               client_claim: "11111111-2222-3333-4444-555555555555", "roles": ["Orders.Read"]})
    };
    let v2 = signer.sign(&azure_claims("api://orders", "azp")).unwrap();
    until(&gw.traffic, path, &v2, 200).await;
    let v1_style = signer.sign(&azure_claims("api://orders", "appid")).unwrap();
    until(&gw.traffic, path, &v1_style, 200).await;
    let wrong_aud = signer.sign(&azure_claims("api://other", "azp")).unwrap();
    until(&gw.traffic, path, &wrong_aud, 401).await;
    let unknown_client = signer
        .sign(&json!({"iss": idp_url, "sub": "svc", "azp": "nobody", "exp": now() + 300}))
        .unwrap();
    until(&gw.traffic, path, &unknown_client, 403).await;

    // A second organization: its API and application. The Local IdP belongs to carbon.super,
    // so its tokens are refused for org2's API until the super admin marks it global.
    let org2 = server::bootstrap::ensure_organization(&db, "org2")
        .await
        .unwrap();
    state.km.ensure_resident(org2).await.unwrap();
    let mut tx = db.begin().await.unwrap();
    server::auth::users::insert(
        &mut tx,
        server::auth::users::NewUser {
            organization_id: org2,
            username: "olga",
            email: None,
            display_name: "Olga",
            password_hash: "!",
            roles: &[],
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let olga = Actor {
        username: "olga".into(),
        organization: "org2".into(),
        scopes: me.scopes.clone(),
    };
    let org2_api = published_api(&publisher, &olga, "/org2orders", backend_addr).await;
    let org2_app = state
        .km
        .create_application(
            &olga,
            serde_json::from_value(json!({"name": "Org2 app"})).unwrap(),
        )
        .await
        .unwrap();
    let org2_app_id = org2_app.application_id.unwrap();
    let catalogue = server::devportal::Catalogue {
        db: db.clone(),
        default_organization: "carbon.super".into(),
    };
    state
        .km
        .create_subscription(
            &catalogue,
            &olga,
            serde_json::from_value(json!({"applicationId": org2_app_id, "apiId": org2_api}))
                .unwrap(),
        )
        .await
        .unwrap();
    let map = |km: &str| {
        serde_json::from_value::<app::applications::KeyMappingRequest>(
            json!({"consumerKey": "org2-client", "keyManager": km, "keyType": "PRODUCTION"}),
        )
        .unwrap()
    };
    let refused = state
        .km
        .map_keys(&olga, &org2_app_id, map("Local IdP"))
        .await;
    assert!(
        refused.is_err(),
        "another organization's key manager is not offered"
    );
    // Global: only the super admin may set it.
    let mut local_dto = ok(
        &app,
        Method::GET,
        &format!("{A}/key-managers/{}", local["id"].as_str().unwrap()),
        &admin,
        None,
    )
    .await;
    local_dto["global"] = json!(true);
    let km_only = app
        .access_token("admin", ADMIN_PASSWORD, "apim:keymanagers_manage")
        .await;
    let r = app
        .call(
            Method::PUT,
            &format!("{A}/key-managers/{}", local["id"].as_str().unwrap()),
            &km_only,
            Some(local_dto.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    ok(
        &app,
        Method::PUT,
        &format!("{A}/key-managers/{}", local["id"].as_str().unwrap()),
        &admin,
        Some(local_dto),
    )
    .await;
    state
        .km
        .map_keys(&olga, &org2_app_id, map("Local IdP"))
        .await
        .unwrap();
    let org2_token = signer
        .sign(&json!({"iss": idp_url, "sub": "svc2", "azp": "org2-client", "exp": now() + 300}))
        .unwrap();
    until(&gw.traffic, "/org2orders/1.0.0/orders", &org2_token, 200).await;
    // The same global key manager still serves the first organization.
    let (s, _, _) = request(
        &gw.traffic,
        "GET",
        path,
        &[("Authorization", &format!("Bearer {oidc}"))],
    );
    assert_eq!(s, 200);
    // And org2's application is not subscribed to carbon.super's API.
    until(&gw.traffic, path, &org2_token, 403).await;

    drop(cp);
    let _ = std::fs::remove_file(&cache);
}
