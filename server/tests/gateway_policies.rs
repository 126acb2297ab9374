//! Gateway policy mappings (Publisher v4 `/gateway-policies`): validation naming the field,
//! one mapping per environment, no delete while deployed, the `gatewayLabel:` search; and at
//! runtime, through the real server binary, two real gateway binaries of two environments and
//! a real backend: a mapping deployed to one environment runs there only, before the API's own
//! policies, and leaves when undeployed.

mod common;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use common::procs::*;
use common::*;
use serde_json::{Value, json};
use sqlx::PgPool;

const A: &str = "/api/am/admin/v4";
const P: &str = "/api/am/publisher/v4";

fn add_header(name: &str, value: &str) -> Value {
    json!({"policyName": "addHeader", "parameters": {"headerName": name, "headerValue": value}})
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_gateway_policy_runs_only_on_the_environments_it_is_deployed_to(db: PgPool) {
    let app = spawn(db.clone()).await;
    let admin = app
        .access_token(
            "admin",
            ADMIN_PASSWORD,
            "apim:admin apim:api_view apim:api_create apim:api_publish apim:api_manage \
             apim:environment_manage apim:gateway_policy_manage",
        )
        .await;
    let subscriber = app
        .access_token("subscriber", DEMO_PASSWORD, "apim:subscribe")
        .await;
    ok(
        &app,
        Method::POST,
        &format!("{A}/environments"),
        &admin,
        Some(json!({"name": "Staging", "displayName": "Staging",
                    "vhosts": [{"host": "staging.example.com"}]})),
    )
    .await;

    // An API on both environments; its own policy adds X-Who.
    let backend = backend("global");
    let api = ok(
        &app,
        Method::POST,
        &format!("{P}/apis"),
        &admin,
        Some(json!({
            "name": "Everywhere", "context": "/everywhere", "version": "1.0.0",
            "endpointConfig": {"endpoint_type": "http",
                "production_endpoints": {"url": format!("http://{backend}")}},
            "apiPolicies": {"request": [add_header("X-Who", "api")]},
            "operations": [{"target": "/items", "verb": "GET", "authType": "None"}]
        })),
    )
    .await;
    let api_id = api["id"].as_str().unwrap().to_string();
    let rev = ok(
        &app,
        Method::POST,
        &format!("{P}/apis/{api_id}/revisions"),
        &admin,
        Some(json!({})),
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
        Some(json!([{"name": "Default", "vhost": "localhost"},
                    {"name": "Staging", "vhost": "staging.example.com"}])),
    )
    .await;

    // Refused with the field at fault; a subscriber may not manage them.
    let policies = format!("{P}/gateway-policies");
    let bad = app
        .call(
            Method::POST,
            &policies,
            &admin,
            Some(json!({"displayName": " ", "policyMapping": {"request": [
                add_header("X Bad", "1"),
                {"policyName": "jsonSchemaValidation"}
            ]}})),
        )
        .await;
    assert_eq!(
        fields(&assert_wso2_error(&bad, StatusCode::BAD_REQUEST)),
        [
            "displayName",
            "policyMapping.request[0].parameters.headerName",
            "policyMapping.request[1].parameters.schema"
        ]
    );
    let r = app
        .call(
            Method::POST,
            &policies,
            &subscriber,
            Some(
                json!({"displayName": "x", "policyMapping": {"request": [add_header("X-A", "1")]}}),
            ),
        )
        .await;
    assert_wso2_error(&r, StatusCode::FORBIDDEN);

    // The mapping: it marks requests, and removes X-Who — which the API adds back after it,
    // so the backend sees `api` only if the mapping ran first.
    let mapping = json!({
        "displayName": "Stamp",
        "description": "marks every call",
        "policyMapping": {
            "request": [add_header("X-Global", "yes"),
                        {"policyName": "removeHeader", "parameters": {"headerName": "X-Who"}}],
            "response": [{"policyName": "setHeader",
                          "parameters": {"headerName": "X-Stamped", "headerValue": "1"}}]
        }
    });
    let created = app
        .call(Method::POST, &policies, &admin, Some(mapping.clone()))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let id = created.json()["id"].as_str().unwrap().to_string();
    let dup = app
        .call(Method::POST, &policies, &admin, Some(mapping.clone()))
        .await;
    assert_eq!(
        fields(&assert_wso2_error(&dup, StatusCode::CONFLICT)),
        ["displayName"]
    );
    let deployed = ok(
        &app,
        Method::POST,
        &format!("{policies}/{id}/deploy"),
        &admin,
        Some(json!([{"gatewayLabel": "Staging", "gatewayDeployment": true}])),
    )
    .await;
    assert_eq!(deployed[0]["gatewayLabel"], "Staging", "{deployed}");
    let unknown = app
        .call(
            Method::POST,
            &format!("{policies}/{id}/deploy"),
            &admin,
            Some(json!([{"gatewayLabel": "Nowhere", "gatewayDeployment": true}])),
        )
        .await;
    assert_eq!(
        fields(&assert_wso2_error(&unknown, StatusCode::BAD_REQUEST)),
        ["[0].gatewayLabel"]
    );
    let one = ok(&app, Method::GET, &format!("{policies}/{id}"), &admin, None).await;
    assert_eq!(one["appliedGatewayLabels"], json!(["Staging"]), "{one}");
    let staging = ok(
        &app,
        Method::GET,
        &format!("{policies}?query=gatewayLabel:Staging"),
        &admin,
        None,
    )
    .await;
    assert_eq!(staging["count"], 1);
    let default = ok(
        &app,
        Method::GET,
        &format!("{policies}?query=gatewayLabel:Default"),
        &admin,
        None,
    )
    .await;
    assert_eq!(default["count"], 0);
    // One mapping per environment; a deployed one stays.
    let mut second = mapping.clone();
    second["displayName"] = json!("Other");
    let other = ok(&app, Method::POST, &policies, &admin, Some(second)).await;
    let other_id = other["id"].as_str().unwrap().to_string();
    let taken = app
        .call(
            Method::POST,
            &format!("{policies}/{other_id}/deploy"),
            &admin,
            Some(json!([{"gatewayLabel": "Staging", "gatewayDeployment": true}])),
        )
        .await;
    let body = assert_wso2_error(&taken, StatusCode::CONFLICT);
    assert!(
        body["description"].as_str().unwrap().contains("Stamp"),
        "{body}"
    );
    let r = app
        .call(Method::DELETE, &format!("{policies}/{id}"), &admin, None)
        .await;
    assert_wso2_error(&r, StatusCode::CONFLICT);

    // At runtime: a gateway of each environment.
    let (_cp, cp_addr) = control_plane(&database_url(&db));
    let cp = format!("http://{cp_addr}");
    let dir = std::env::temp_dir();
    let pid = std::process::id();
    let on_staging = start_gateway_in(&cp, &dir.join(format!("gh-gp-s-{pid}.json")), "Staging");
    let on_default = start_gateway_in(&cp, &dir.join(format!("gh-gp-d-{pid}.json")), "Default");
    let (staging_addr, default_addr) = (on_staging.traffic.clone(), on_default.traffic.clone());
    tokio::task::spawn_blocking(move || {
        let seen = |addr: &str| -> (Value, String) {
            let (s, head, b) = request(
                addr,
                "GET",
                "/everywhere/1.0.0/items",
                &[("X-Who", "client")],
            );
            assert_eq!(s, 200, "{b}");
            (serde_json::from_str(&b).unwrap(), head.to_ascii_lowercase())
        };
        within(Duration::from_secs(5), "Staging serves the API", || {
            request(&staging_addr, "GET", "/everywhere/1.0.0/items", &[]).0 == 200
        });
        within(Duration::from_secs(5), "Default serves the API", || {
            request(&default_addr, "GET", "/everywhere/1.0.0/items", &[]).0 == 200
        });
        let (s, head) = seen(&staging_addr);
        assert_eq!(s["headers"]["x-global"], "yes", "{s}");
        assert_eq!(s["headers"]["x-who"], "api", "{s}");
        assert!(head.contains("x-stamped: 1"), "{head}");
        let (d, head) = seen(&default_addr);
        assert!(d["headers"]["x-global"].is_null(), "{d}");
        assert!(!head.contains("x-stamped"), "{head}");
    })
    .await
    .unwrap();

    // Undeployed: Staging's gateway drops it within a second or so; then it can go.
    ok(
        &app,
        Method::POST,
        &format!("{policies}/{id}/deploy"),
        &admin,
        Some(json!([{"gatewayLabel": "Staging", "gatewayDeployment": false}])),
    )
    .await;
    let staging_addr = on_staging.traffic.clone();
    tokio::task::spawn_blocking(move || {
        within(Duration::from_secs(3), "the mapping leaves Staging", || {
            let (_, _, b) = request(&staging_addr, "GET", "/everywhere/1.0.0/items", &[]);
            serde_json::from_str::<Value>(&b).is_ok_and(|v| v["headers"]["x-global"].is_null())
        });
    })
    .await
    .unwrap();
    ok(
        &app,
        Method::DELETE,
        &format!("{policies}/{id}"),
        &admin,
        None,
    )
    .await;
    let gone = app
        .call(Method::GET, &format!("{policies}/{id}"), &admin, None)
        .await;
    assert_wso2_error(&gone, StatusCode::NOT_FOUND);
    drop((on_staging, on_default));
}
