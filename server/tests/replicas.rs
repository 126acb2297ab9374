//! Several server replicas on one database: a gateway follows replica A; APIs created and
//! deployed through replica B reach it within a second (B's commit notifies every replica
//! through PostgreSQL `LISTEN/NOTIFY`; A wakes the gateway's long poll). Without the
//! notification A would notice only at its fallback re-check, 5 s later.

mod common;

use std::time::{Duration, Instant};

use common::procs::*;
use common::*;
use serde_json::{Value, json};
use sqlx::PgPool;

const P: &str = "/api/am/publisher/v4";

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_deployment_through_one_replica_reaches_the_gateway_of_another_within_a_second(
    db: PgPool,
) {
    let app = spawn(db.clone()).await;
    let token = app
        .access_token(
            "admin",
            ADMIN_PASSWORD,
            "apim:api_view apim:api_create apim:api_publish apim:api_manage",
        )
        .await;
    let url = database_url(&db);
    let (_a, a_addr) = control_plane(&url);
    let (_b, b_addr) = control_plane(&url);
    let cache = std::env::temp_dir().join(format!("gh-replicas-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&cache);
    let gw = start_gateway(&format!("http://{a_addr}"), &cache);
    let admin = gw.admin.clone();
    tokio::task::spawn_blocking(move || {
        within(
            Duration::from_secs(10),
            "the gateway has A's snapshot",
            || get(&admin, "/ready").0 == 200,
        )
    })
    .await
    .unwrap();
    let backend = backend("replicas");
    let bearer = format!("Bearer {token}");

    let mut took = Vec::new();
    for round in 0..3 {
        // Everything through replica B.
        let (b, bearer) = (b_addr.clone(), bearer.clone());
        let call = move |method: &str, path: &str, body: Value| -> Value {
            let headers = [
                ("Authorization", bearer.as_str()),
                ("Content-Type", "application/json"),
            ];
            let (status, text) = http(&b, method, path, &headers, &body.to_string());
            assert!(
                (200..300).contains(&status),
                "{method} {path}: {status} {text}"
            );
            serde_json::from_str(&text).unwrap_or(Value::Null)
        };
        let created = call(
            "POST",
            &format!("{P}/apis"),
            json!({"name": format!("Replica {round}"), "context": format!("/replica-{round}"),
                   "version": "1.0.0",
                   "endpointConfig": {"endpoint_type": "http",
                       "production_endpoints": {"url": format!("http://{backend}/v1")}},
                   "operations": [{"target": "/ping", "verb": "GET", "authType": "None"}]}),
        );
        let id = created["id"].as_str().unwrap().to_string();
        let rev = call(
            "POST",
            &format!("{P}/apis/{id}/revisions"),
            json!({"description": "through B"}),
        );
        // The gateway sits in its long poll at A.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let traffic = gw.traffic.clone();
        let path = format!("/replica-{round}/1.0.0/ping");
        let rev_id = rev["id"].as_str().unwrap().to_string();
        let t = tokio::task::spawn_blocking(move || {
            call(
                "POST",
                &format!("{P}/apis/{id}/deploy-revision?revisionId={rev_id}"),
                json!([{"name": "Default", "vhost": "localhost"}]),
            );
            let deployed = Instant::now();
            within(
                Duration::from_secs(8),
                "the deployment reaches the gateway",
                || get(&traffic, &path).0 == 200,
            );
            deployed.elapsed()
        })
        .await
        .unwrap();
        took.push(t);
    }
    println!("deployment through replica B → served by A's gateway: {took:?}");
    for t in &took {
        assert!(
            *t < Duration::from_secs(1),
            "a deployment through another replica took {t:?} to reach the gateway"
        );
    }
    drop(gw);
}
