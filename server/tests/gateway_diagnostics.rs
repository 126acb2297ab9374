//! A gateway's diagnostics reach the Admin portal: the gateway binary follows the server
//! binary with the gateway token and sends its `GET /diagnostics` report every few seconds;
//! after a request fails on a dead endpoint, the report the control plane keeps (read through
//! Admin v4, as the portal's page reads it) names the backend phase and the endpoint. Only a
//! gateway may send a report; a bad one is refused naming what is wrong.

mod common;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use common::procs::*;
use common::*;
use serde_json::{Value, json};
use sqlx::PgPool;

const P: &str = "/api/am/publisher/v4";
const A: &str = "/api/am/admin/v4";

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_gateways_failures_reach_the_admin_portal(db: PgPool) {
    let app = spawn(db.clone()).await;
    let token = app
        .access_token(
            "admin",
            ADMIN_PASSWORD,
            "apim:admin apim:api_view apim:api_create apim:api_publish apim:api_manage apim:environment_read",
        )
        .await;
    let (_cp, cp_addr) = control_plane(&database_url(&db));
    let cache = std::env::temp_dir().join(format!("gh-diag-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&cache);
    let gw = start_gateway(&format!("http://{cp_addr}"), &cache);

    // An API whose only endpoint is down.
    let dead = closed_port();
    let r = app
        .call(
            Method::POST,
            &format!("{P}/apis"),
            &token,
            Some(
                json!({"name": "Broken", "context": "/broken", "version": "1.0.0",
                        "operations": [{"target": "/items", "verb": "GET", "authType": "None"}]}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_string();
    let endpoint = json!({"endpoint_type": "http",
                          "production_endpoints": {"url": format!("http://{dead}/v1")}});
    deploy_revision(&app, &token, &id, endpoint, "on a dead endpoint").await;
    let traffic = gw.traffic.clone();
    tokio::task::spawn_blocking(move || {
        within(
            Duration::from_secs(5),
            "the broken API fails at the gateway",
            || get(&traffic, "/broken/1.0.0/items").0 == 502,
        )
    })
    .await
    .unwrap();

    // The gateway's id as the control plane recorded it.
    let gateway_id: String = sqlx::query_scalar(
        "SELECT g.gateway_id FROM gateway_instance g
           JOIN gateway_environment e ON e.id = g.environment_id WHERE e.name = 'Default'",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    // Within the next report (every 5 s), Admin v4 shows the failure.
    let path = format!(
        "{A}/environments/Default/gateways/diagnostics?gatewayId={}",
        gateway_id.replace('/', "%2F")
    );
    let mut found = None;
    for _ in 0..80 {
        let r = app.get_bearer(&path, &token).await;
        if r.status == StatusCode::OK {
            let v: Value = r.json();
            let failure = v["report"]["failures"]["recent"].as_array().and_then(|a| {
                a.iter()
                    .find(|f| f["path"] == "/broken/1.0.0/items")
                    .cloned()
            });
            if let Some(f) = failure {
                assert_eq!(v["gatewayId"], gateway_id.as_str());
                assert_eq!(v["environment"], "Default");
                found = Some(f);
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let f = found.expect("the failure reached the control plane within 8 s");
    assert_eq!(f["phase"], "backend", "{f:#}");
    assert_eq!(f["status"], 502);
    let cause = f["cause"].as_str().unwrap();
    assert!(cause.contains(&format!("http://{dead}")), "{cause}");
    assert!(cause.contains("the only endpoint failed"), "{cause}");

    // An unknown gateway: 404 naming it; no gateway id: 400 naming the parameter.
    let r = app
        .get_bearer(
            &format!("{A}/environments/Default/gateways/diagnostics?gatewayId=nobody"),
            &token,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    assert!(r.text().contains("nobody"));
    let r = app
        .get_bearer(
            &format!("{A}/environments/Default/gateways/diagnostics"),
            &token,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert!(r.text().contains("gatewayId"));

    // Only gateways send reports; a bad report is refused and changes nothing.
    let url = "/api/am/gateway/v1/environments/Default/diagnostics";
    let put = |path: &str, headers: &[(&str, &str)], body: &str| {
        let mut all = vec![("Content-Type", "application/json")];
        all.extend_from_slice(headers);
        http(&cp_addr, "PUT", path, &all, body)
    };
    let report = json!({"gateway": {"version": "x"}, "failures": {"recent": []}}).to_string();
    let bearer = |t: &str| format!("Bearer {t}");
    let admin = bearer(&token);
    let gw_token = bearer(GATEWAY_TOKEN);
    let (s, body) = put(
        url,
        &[("Authorization", &admin), ("X-Gateway-Id", "fake/1")],
        &report,
    );
    assert_eq!(s, 403, "{body}");
    let (s, _) = put(url, &[("X-Gateway-Id", "fake/1")], &report);
    assert_eq!(s, 401);
    let (s, body) = put(url, &[("Authorization", &gw_token)], &report);
    assert_eq!(s, 400, "{body}");
    assert!(body.contains("X-Gateway-Id"), "{body}");
    let (s, body) = put(
        url,
        &[("Authorization", &gw_token), ("X-Gateway-Id", "fake/1")],
        "[1,2]",
    );
    assert_eq!(s, 400, "{body}");
    assert!(body.contains("body"), "{body}");
    let (s, body) = put(
        "/api/am/gateway/v1/environments/Nowhere/diagnostics",
        &[("Authorization", &gw_token), ("X-Gateway-Id", "fake/1")],
        &report,
    );
    assert_eq!(s, 404, "{body}");
    let fakes: i64 =
        sqlx::query_scalar("SELECT count(*) FROM gateway_instance WHERE gateway_id = 'fake/1'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(fakes, 0, "refused reports leave no trace");
    drop(gw);
}
