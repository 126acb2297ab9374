//! Kubernetes environments (the APK direction of 4.3): a revision deployed to a `kubernetes`
//! environment downloads from the Publisher as Gateway API resources — an HTTPRoute attached to
//! the named Gateway, one rule per operation, ExternalName services for outside backends.

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use serde_json::{Value, json};
use sqlx::PgPool;

const P: &str = "/api/am/publisher/v4";
const A: &str = "/api/am/admin/v4";

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_revision_deployed_to_a_kubernetes_environment_downloads_as_an_httproute(db: PgPool) {
    let app = spawn(db).await;
    let token = app
        .access_token(
            "admin",
            ADMIN_PASSWORD,
            "apim:admin apim:api_view apim:api_create apim:api_publish apim:api_manage \
             apim:environment_manage apim:environment_read",
        )
        .await;
    ok(
        &app,
        Method::POST,
        &format!("{A}/environments"),
        &token,
        Some(
            json!({"name": "k8s-prod", "displayName": "Kubernetes", "gatewayType": "APK",
                    "vhosts": [{"host": "api.k8s.example.com"}]}),
        ),
    )
    .await;
    let api = ok(
        &app,
        Method::POST,
        &format!("{P}/apis"),
        &token,
        Some(json!({
            "name": "Orders", "context": "/orders", "version": "2.0.0",
            "endpointConfig": {"endpoint_type": "http",
                "production_endpoints": {"url": "http://orders.shop.svc.cluster.local:8080/api"}},
            "operations": [{"target": "/orders/{id}", "verb": "GET"},
                           {"target": "/orders", "verb": "POST"}]
        })),
    )
    .await;
    let id = api["id"].as_str().unwrap().to_string();
    let rev = ok(
        &app,
        Method::POST,
        &format!("{P}/apis/{id}/revisions"),
        &token,
        Some(json!({"description": "for k8s"})),
    )
    .await;
    let path = format!("{P}/apis/{id}/kubernetes-resources");

    // Not deployed there yet.
    let r = app
        .get_bearer(&format!("{path}?environment=k8s-prod"), &token)
        .await;
    assert_wso2_error(&r, StatusCode::NOT_FOUND);
    for env in ["k8s-prod", "Default"] {
        let r = app
            .call(
                Method::POST,
                &format!(
                    "{P}/apis/{id}/deploy-revision?revisionId={}",
                    rev["id"].as_str().unwrap()
                ),
                &token,
                Some(json!([{"name": env, "vhost": if env == "Default" { "localhost" } else { "api.k8s.example.com" }}])),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    }

    let r = app
        .get_bearer(
            &format!("{path}?environment=k8s-prod&gatewayName=edge&gatewayNamespace=infra"),
            &token,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let disposition = r
        .headers
        .get("content-disposition")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        disposition.starts_with("attachment; filename="),
        "{disposition}"
    );
    assert!(disposition.ends_with("-k8s-prod.yaml\""), "{disposition}");
    let yaml = r.text();
    let docs: Vec<Value> = yaml
        .split("\n---\n")
        .skip(1)
        .map(|d| serde_norway::from_str(d).unwrap())
        .collect();
    assert_eq!(
        docs.len(),
        1,
        "an in-cluster backend needs no Service: {yaml}"
    );
    let route = &docs[0];
    assert_eq!(route["apiVersion"], "gateway.networking.k8s.io/v1");
    assert_eq!(route["kind"], "HTTPRoute");
    assert_eq!(
        route["spec"]["parentRefs"][0],
        json!({"name": "edge", "namespace": "infra"})
    );
    assert_eq!(route["spec"]["hostnames"], json!(["api.k8s.example.com"]));
    let rules = route["spec"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 2);
    assert_eq!(
        rules[0]["matches"][0],
        json!({"path": {"type": "PathPrefix", "value": "/orders/2.0.0/orders"}, "method": "GET"})
    );
    assert_eq!(
        rules[0]["backendRefs"][0],
        json!({"name": "orders", "namespace": "shop", "port": 8080, "weight": 1})
    );
    assert_eq!(
        rules[1]["filters"][0]["urlRewrite"]["path"]["replaceFullPath"],
        "/api/orders"
    );
    assert!(
        route["metadata"]["annotations"]["gatehouse.io/not-mapped"]
            .as_str()
            .unwrap()
            .contains("authentication"),
        "{yaml}"
    );

    // The Gateway defaults to the environment's name.
    let r = app
        .get_bearer(&format!("{path}?environment=k8s-prod"), &token)
        .await;
    assert!(r.text().contains("name: k8s-prod"), "{}", r.text());
    // A native environment, no environment, a bad Gateway name: refused, naming the field.
    for (query, field) in [
        ("?environment=Default", "environment"),
        ("", "environment"),
        ("?environment=k8s-prod&gatewayName=Edge%20GW", "gatewayName"),
    ] {
        let r = app.get_bearer(&format!("{path}{query}"), &token).await;
        let e = assert_wso2_error(&r, StatusCode::BAD_REQUEST);
        assert!(e.to_string().contains(field), "{query}: {e}");
    }
    // Someone who may not see the API: not found.
    let viewer = app
        .access_token("admin", ADMIN_PASSWORD, "apim:subscribe")
        .await;
    let r = app
        .get_bearer(&format!("{path}?environment=k8s-prod"), &viewer)
        .await;
    assert!(
        r.status == StatusCode::FORBIDDEN || r.status == StatusCode::NOT_FOUND,
        "{}",
        r.status
    );
}
