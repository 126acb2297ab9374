//! The gateway following a real control plane: the server binary on a real socket, the gateway
//! binary with `--control-plane`, real backends on 127.0.0.1 port 0. Deploy → served;
//! redeploy → the new revision within a second with no failed request; undeploy → 404 within
//! a second; control plane stopped → still served; gateway restarted while the control plane
//! is down → served from the disk copy; a dead endpoint → failover.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::{Method, StatusCode};
use common::procs::*;
use common::*;
use serde_json::{Value, json};
use sqlx::PgPool;

const P: &str = "/api/am/publisher/v4";

fn single(addr: SocketAddr) -> Value {
    json!({"endpoint_type": "http", "production_endpoints": {"url": format!("http://{addr}/v1")}})
}

fn backend_of(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["backend"].as_str().map(str::to_string))
        .unwrap_or_default()
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn the_gateway_follows_deployments_and_survives_the_control_plane_going_away(db: PgPool) {
    let app = spawn(db.clone()).await;
    let token = app
        .access_token(
            "admin",
            ADMIN_PASSWORD,
            "apim:admin apim:api_view apim:api_create apim:api_publish apim:api_manage",
        )
        .await;
    let (a, b) = (backend("a"), backend("b"));
    let (cp, cp_addr) = control_plane(&database_url(&db));
    let cache = std::env::temp_dir().join(format!("gh-feed-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&cache);
    let cp_url = format!("http://{cp_addr}");
    let gw = start_gateway(&cp_url, &cache);

    // Nothing deployed yet: ready with an empty snapshot, 404 for the API.
    let admin = gw.admin.clone();
    tokio::task::spawn_blocking(move || {
        within(Duration::from_secs(5), "first snapshot", || {
            get(&admin, "/ready").0 == 200
        })
    })
    .await
    .unwrap();
    // The control plane knows the gateway (for the Admin portal): who it is, and soon the
    // version it holds.
    let mut seen = None;
    for _ in 0..50 {
        seen = sqlx::query_scalar::<_, Option<i64>>(
            "SELECT g.snapshot_version FROM gateway_instance g
               JOIN gateway_environment e ON e.id = g.environment_id
              WHERE e.name = 'Default' AND g.gateway_id LIKE '%/%'",
        )
        .fetch_optional(&db)
        .await
        .unwrap()
        .flatten();
        if seen.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        seen.is_some(),
        "the gateway's contact and version are recorded"
    );

    // Deploy → served within a second.
    let r = app
        .call(
            Method::POST,
            &format!("{P}/apis"),
            &token,
            Some(
                json!({"name": "Feed", "context": "/feed", "version": "1.0.0",
                        "operations": [{"target": "/items/{id}", "verb": "GET", "authType": "None"}]}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_string();
    deploy_revision(&app, &token, &id, single(a), "on a").await;
    let traffic = gw.traffic.clone();
    let took = tokio::task::spawn_blocking(move || {
        within(Duration::from_secs(1), "deployment served", || {
            let (s, body) = get(&traffic, "/feed/1.0.0/items/7");
            s == 200 && backend_of(&body) == "a"
        })
    })
    .await
    .unwrap();
    eprintln!("deploy → served in {took:?}");
    let (_, body) = get(&gw.traffic, "/feed/1.0.0/items/7");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["path"],
        "/v1/items/7"
    );

    // Redeploy a revision on b while requests flow: b within a second, no request fails.
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicUsize::new(0));
    let sent = Arc::new(AtomicUsize::new(0));
    let load = {
        let (traffic, stop, failures, sent) = (
            gw.traffic.clone(),
            stop.clone(),
            failures.clone(),
            sent.clone(),
        );
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let (s, _) = get(&traffic, "/feed/1.0.0/items/1");
                sent.fetch_add(1, Ordering::Relaxed);
                if s != 200 {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    deploy_revision(&app, &token, &id, single(b), "on b").await;
    let traffic = gw.traffic.clone();
    let took = tokio::task::spawn_blocking(move || {
        within(Duration::from_secs(1), "new revision served", || {
            backend_of(&get(&traffic, "/feed/1.0.0/items/7").1) == "b"
        })
    })
    .await
    .unwrap();
    eprintln!("redeploy → new revision in {took:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    load.join().unwrap();
    assert_eq!(
        failures.load(Ordering::Relaxed),
        0,
        "of {} requests",
        sent.load(Ordering::Relaxed)
    );
    assert!(sent.load(Ordering::Relaxed) > 10);

    // A dead first endpoint: failover to the second.
    let failover = json!({"endpoint_type": "failover",
        "production_endpoints": {"url": format!("http://{}/v1", closed_port())},
        "production_failovers": [{"url": format!("http://{a}/v1")}]});
    deploy_revision(&app, &token, &id, failover, "failover").await;
    let traffic = gw.traffic.clone();
    tokio::task::spawn_blocking(move || {
        within(Duration::from_secs(2), "failover to a", || {
            let (s, body) = get(&traffic, "/feed/1.0.0/items/7");
            s == 200 && backend_of(&body) == "a"
        })
    })
    .await
    .unwrap();

    // Undeploy → 404 within a second.
    let revs = app
        .get_bearer(&format!("{P}/apis/{id}/deployments"), &token)
        .await
        .json();
    let live = revs["list"][0]["revisionUuid"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .call(
            Method::POST,
            &format!("{P}/apis/{id}/undeploy-revision?revisionId={live}&allEnvironments=true"),
            &token,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let traffic = gw.traffic.clone();
    let took = tokio::task::spawn_blocking(move || {
        within(Duration::from_secs(1), "undeploy → 404", || {
            get(&traffic, "/feed/1.0.0/items/7").0 == 404
        })
    })
    .await
    .unwrap();
    eprintln!("undeploy → 404 in {took:?}");

    // Deploy again, then stop the control plane: traffic goes on.
    deploy_revision(&app, &token, &id, single(a), "back on a").await;
    let traffic = gw.traffic.clone();
    tokio::task::spawn_blocking(move || {
        within(Duration::from_secs(1), "redeployed", || {
            get(&traffic, "/feed/1.0.0/items/7").0 == 200
        })
    })
    .await
    .unwrap();
    drop(cp);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(get(&gw.traffic, "/feed/1.0.0/items/7").0, 200);
    assert!(cache.exists(), "the disk copy was written");

    // A gateway started while the control plane is down serves from the disk copy.
    let old_log = gw.log.lock().unwrap().clone();
    drop(gw);
    assert!(
        !old_log.contains(GATEWAY_TOKEN),
        "the gateway logged its token"
    );
    let gw2 = start_gateway(&cp_url, &cache);
    assert_eq!(
        get(&gw2.admin, "/ready").0,
        200,
        "{}",
        gw2.log.lock().unwrap()
    );
    let (s, body) = get(&gw2.traffic, "/feed/1.0.0/items/7");
    assert_eq!((s, backend_of(&body).as_str()), (200, "a"));
    let _ = std::fs::remove_file(&cache);
}
