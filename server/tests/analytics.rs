//! Analytics end to end: the gateway binary follows the server binary and sends one event per
//! request in batches; the Publisher (one API), the Developer Portal (one application) and the
//! Admin (the organization) read the per-minute aggregates back — requests, errors by cause,
//! top applications, APIs and operations, latency percentiles. Batches add up per minute
//! (percentiles from the merged histograms); only gateways may send them, and a bad batch is
//! refused naming the field and changes nothing.

mod common;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use common::procs::*;
use common::*;
use secrecy::SecretString;
use serde_json::{Value, json};
use sqlx::PgPool;

const P: &str = "/api/am/publisher/v4";
const D: &str = "/api/am/devportal/v3";
const A: &str = "/api/am/admin/v4";
const INGEST: &str = "/api/am/gateway/v1/environments/Default/analytics";

fn causes(report: &Value) -> Vec<(String, i64)> {
    report["errorsByCause"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["cause"].as_str().unwrap().to_string(),
                c["count"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn top(report: &Value, list: &str) -> Vec<(String, i64, i64)> {
    report[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_string(),
                t["requests"].as_i64().unwrap(),
                t["errors"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// Polls `path` until its report counts `requests` (≤ 10 s).
async fn report_with(app: &TestApp, path: &str, token: &str, requests: i64) -> Value {
    let mut last = Value::Null;
    for _ in 0..100 {
        let r = app.get_bearer(path, token).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text());
        last = r.json();
        if last["totals"]["requests"] == requests {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{path} did not count {requests} requests within 10 s: {last:#}");
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn the_gateways_traffic_reaches_the_three_portals(db: PgPool) {
    let app = spawn(db.clone()).await;
    let admin = app
        .access_token(
            "admin",
            ADMIN_PASSWORD,
            "apim:admin apim:api_view apim:api_create apim:api_publish apim:api_manage \
             apim:subscribe apim:app_manage apim:sub_manage",
        )
        .await;
    let ok_backend = backend("metered");
    let dead = closed_port();

    // A secured API on a live backend and an open one on a dead endpoint, both deployed.
    let api = ok(
        &app,
        Method::POST,
        &format!("{P}/apis"),
        &admin,
        Some(json!({
            "name": "Metered", "context": "/metered", "version": "1.0.0",
            "policies": ["Unlimited"],
            "operations": [{"target": "/items/{id}", "verb": "GET"},
                           {"target": "/health", "verb": "GET", "authType": "None"}]
        })),
    )
    .await;
    let api_id = api["id"].as_str().unwrap().to_string();
    let live = json!({"endpoint_type": "http",
                      "production_endpoints": {"url": format!("http://{ok_backend}/v1")}});
    deploy_revision(&app, &admin, &api_id, live, "live").await;
    ok(
        &app,
        Method::POST,
        &format!("{P}/apis/change-lifecycle?apiId={api_id}&action=Publish"),
        &admin,
        None,
    )
    .await;
    let broken = ok(
        &app,
        Method::POST,
        &format!("{P}/apis"),
        &admin,
        Some(
            json!({"name": "Broken", "context": "/broken", "version": "1.0.0",
                    "operations": [{"target": "/x", "verb": "GET", "authType": "None"}]}),
        ),
    )
    .await;
    let broken_id = broken["id"].as_str().unwrap().to_string();
    let down = json!({"endpoint_type": "http",
                      "production_endpoints": {"url": format!("http://{dead}/v1")}});
    deploy_revision(&app, &admin, &broken_id, down, "dead").await;

    // An application subscribed to Metered, with a token.
    let application = ok(
        &app,
        Method::POST,
        &format!("{D}/applications"),
        &admin,
        Some(json!({"name": "Meter app", "throttlingPolicy": "Unlimited"})),
    )
    .await;
    let app_id = application["applicationId"].as_str().unwrap().to_string();
    let key = ok(
        &app,
        Method::POST,
        &format!("{D}/applications/{app_id}/generate-keys"),
        &admin,
        Some(json!({"keyType": "PRODUCTION", "grantTypesToBeSupported": ["client_credentials"]})),
    )
    .await;
    ok(
        &app,
        Method::POST,
        &format!("{D}/subscriptions"),
        &admin,
        Some(json!({"applicationId": app_id, "apiId": api_id, "throttlingPolicy": "Unlimited"})),
    )
    .await;
    let token = client_token(&app, &key, "").await;

    // Nothing yet: an empty report, one zero point per minute of the hour.
    let empty = app
        .get_bearer(&format!("{P}/apis/{api_id}/analytics?range=1h"), &admin)
        .await;
    assert_eq!(empty.status, StatusCode::OK, "{}", empty.text());
    let empty = empty.json();
    assert_eq!(empty["totals"]["requests"], 0);
    assert_eq!(empty["series"].as_array().unwrap().len(), 60);
    assert!(empty["totals"]["p50Ms"].is_null());

    let (_cp, cp_addr) = control_plane(&database_url(&db));
    let cache = std::env::temp_dir().join(format!("gh-analytics-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&cache);
    let gw = start_gateway(&format!("http://{cp_addr}"), &cache);
    let traffic = gw.traffic.clone();
    let bearer = format!("Bearer {token}");
    tokio::task::spawn_blocking(move || {
        within(Duration::from_secs(10), "both APIs are served", || {
            request(
                &traffic,
                "GET",
                "/metered/1.0.0/items/1",
                &[("Authorization", &bearer)],
            )
            .0 == 200
                && matches!(get(&traffic, "/broken/1.0.0/x").0, 502 | 503)
        });
        // 5 served with the application's token (the one above included), 2 refused
        // without one, 1 on the open operation, 3 failed on the dead endpoint (the one above
        // included), 1 matching no API.
        for _ in 0..4 {
            assert_eq!(
                request(
                    &traffic,
                    "GET",
                    "/metered/1.0.0/items/1",
                    &[("Authorization", &bearer)]
                )
                .0,
                200
            );
        }
        for _ in 0..2 {
            assert_eq!(get(&traffic, "/metered/1.0.0/items/2").0, 401);
        }
        assert_eq!(get(&traffic, "/metered/1.0.0/health").0, 200);
        // 502 on the first failure, then 503 while the endpoint is suspended.
        for _ in 0..2 {
            assert!(matches!(get(&traffic, "/broken/1.0.0/x").0, 502 | 503));
        }
        assert_eq!(get(&traffic, "/nowhere").0, 404);
    })
    .await
    .unwrap();
    // Requests made while waiting for the deployment count too: the first `within` rounds
    // may have seen 404s (not yet deployed) — they match no API and show nowhere below.

    // Publisher: the API's 8 requests, 2 refused by authentication.
    let r = report_with(
        &app,
        &format!("{P}/apis/{api_id}/analytics?range=1h"),
        &admin,
        8,
    )
    .await;
    assert_eq!(r["totals"]["errors"], 2, "{r:#}");
    assert_eq!(causes(&r), vec![("auth".to_string(), 2)]);
    assert_eq!(
        top(&r, "topApplications"),
        vec![("Meter app".to_string(), 5, 0)]
    );
    let ops = top(&r, "topOperations");
    assert!(
        ops.contains(&("GET /items/{id}".to_string(), 7, 2))
            && ops.contains(&("GET /health".to_string(), 1, 0)),
        "{ops:?}"
    );
    let p50 = r["totals"]["p50Ms"].as_f64().unwrap();
    let p99 = r["totals"]["p99Ms"].as_f64().unwrap();
    assert!(p50 > 0.0 && p50 <= p99, "{p50} {p99}");
    let series_total: i64 = r["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["requests"].as_i64().unwrap())
        .sum();
    assert_eq!(series_total, 8);
    assert!(r["totals"]["bytesOut"].as_i64().unwrap() > 0, "{r:#}");

    // Developer Portal: the application's own 5 requests, all on Metered.
    let r = report_with(
        &app,
        &format!("{D}/applications/{app_id}/analytics?range=1h"),
        &admin,
        5,
    )
    .await;
    assert_eq!(r["totals"]["errors"], 0);
    assert_eq!(
        top(&r, "topApis"),
        vec![("Metered 1.0.0".to_string(), 5, 0)]
    );

    // Admin: both APIs of the organization (the unmatched request belongs to none).
    let r = report_with(&app, &format!("{A}/analytics?range=24h"), &admin, 11).await;
    assert_eq!(r["totals"]["errors"], 5, "{r:#}");
    assert_eq!(
        causes(&r),
        vec![
            ("target_connectivity".to_string(), 3),
            ("auth".to_string(), 2)
        ]
    );
    assert_eq!(
        top(&r, "topApis"),
        vec![
            ("Metered 1.0.0".to_string(), 8, 2),
            ("Broken 1.0.0".to_string(), 3, 3)
        ]
    );
    assert_eq!(r["series"].as_array().unwrap().len(), 96);

    // The gateway counts what it sent.
    let (_, metrics) = get(&gw.admin, "/metrics");
    assert!(
        metrics.contains("gatehouse_analytics_events_total{outcome=\"dropped\"} 0"),
        "{metrics}"
    );

    // A range the picker does not offer: 400 naming `range`; another user's view: refused.
    let r = app
        .get_bearer(&format!("{A}/analytics?range=2h"), &admin)
        .await;
    let e = assert_wso2_error(&r, StatusCode::BAD_REQUEST);
    assert!(e.to_string().contains("range"), "{e}");
    let subscriber = app
        .access_token("admin", ADMIN_PASSWORD, "apim:subscribe")
        .await;
    let r = app.get_bearer(&format!("{A}/analytics"), &subscriber).await;
    assert_wso2_error(&r, StatusCode::FORBIDDEN);
    let r = app
        .get_bearer(&format!("{D}/applications/{api_id}/analytics"), &subscriber)
        .await;
    assert_wso2_error(&r, StatusCode::NOT_FOUND);
    drop(gw);
}

fn event(t: i64, api: &str, status: u16, total_us: u64, cause: &str) -> Value {
    json!({"t": t, "api": api, "op": "GET /pets", "status": status, "totalUs": total_us,
           "backendUs": total_us / 2, "bytesOut": 10, "cause": cause})
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn batches_add_up_per_minute_and_bad_batches_change_nothing(db: PgPool) {
    let mut settings = settings();
    settings.server.gateway_token = Some(SecretString::from(GATEWAY_TOKEN));
    let app = spawn_with(db.clone(), settings).await;
    let admin = app
        .access_token(
            "admin",
            ADMIN_PASSWORD,
            "apim:admin apim:api_view apim:api_create",
        )
        .await;
    let api = ok(
        &app,
        Method::POST,
        &format!("{P}/apis"),
        &admin,
        Some(
            json!({"name": "Counted", "context": "/counted", "version": "1.0.0",
                    "operations": [{"target": "/pets", "verb": "GET"}]}),
        ),
    )
    .await;
    let id = api["id"].as_str().unwrap().to_string();
    // Two minutes ago, one second into that minute: both batches fall in one minute row.
    let now = chrono::Utc::now().timestamp_millis();
    let t = (now / 60_000 - 2) * 60_000 + 1_000;
    let gw = format!("Bearer {GATEWAY_TOKEN}");
    let send = |body: Value, auth: Option<String>| {
        let app = &app;
        async move {
            let mut req =
                axum::http::Request::post(INGEST).header("content-type", "application/json");
            if let Some(a) = auth {
                req = req.header("authorization", a);
            }
            app.send(req.body(axum::body::Body::from(body.to_string())).unwrap())
                .await
        }
    };
    // 90 requests at 12 ms, then 10 at 1.8 s and 5 refused by authentication at 0.3 ms.
    let first: Vec<Value> = (0..90).map(|_| event(t, &id, 200, 12_000, "")).collect();
    let r = send(
        json!({"gateway": "gw/1", "events": first}),
        Some(gw.clone()),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["accepted"], 90);
    let mut second: Vec<Value> = (0..10)
        .map(|_| event(t + 5, &id, 200, 1_800_000, ""))
        .collect();
    second.extend((0..5).map(|_| event(t + 9, &id, 401, 300, "auth")));
    let r = send(
        json!({"gateway": "gw/2", "events": second}),
        Some(gw.clone()),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());

    let rows: Vec<(i64, i16)> =
        sqlx::query_as("SELECT requests, status FROM analytics_minute ORDER BY status")
            .fetch_all(&db)
            .await
            .unwrap();
    assert_eq!(
        rows,
        vec![(100, 200), (5, 401)],
        "one row per minute and status"
    );

    let r = app
        .get_bearer(&format!("{P}/apis/{id}/analytics?range=1h"), &admin)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = r.json();
    let totals = &r["totals"];
    assert_eq!(totals["requests"], 105);
    assert_eq!(totals["errors"], 5);
    assert_eq!(totals["bytesOut"], 1050);
    let near = |v: &Value, want: f64| (v.as_f64().unwrap() - want).abs() < 0.01;
    // Ranks 52.5, 99.75 and 103.95 of 105, interpolated in their buckets.
    assert!(near(&totals["p50Ms"], 10.0 + 5.0 * 47.5 / 90.0), "{totals}");
    assert!(
        near(&totals["p95Ms"], 1500.0 + 500.0 * 4.75 / 10.0),
        "{totals}"
    );
    assert!(
        near(&totals["p99Ms"], 1500.0 + 500.0 * 8.95 / 10.0),
        "{totals}"
    );
    // Half of each request in the backend.
    let total_ms = (90.0 * 12.0 + 10.0 * 1800.0 + 5.0 * 0.3) / 105.0;
    assert!(near(&totals["backendMs"], total_ms / 2.0), "{totals}");
    let busy: Vec<&Value> = r["series"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["requests"].as_i64().unwrap() > 0)
        .collect();
    assert_eq!(busy.len(), 1, "one busy minute");
    assert_eq!(busy[0]["t"].as_i64().unwrap(), t / 1000 - 1);
    assert_eq!(busy[0]["errors"], 5);
    assert_eq!(causes(&r), vec![("auth".to_string(), 5)]);

    // Refused batches write nothing.
    let before: i64 = sqlx::query_scalar("SELECT sum(requests)::bigint FROM analytics_minute")
        .fetch_one(&db)
        .await
        .unwrap();
    let good = json!({"gateway": "gw/1", "events": [event(t, &id, 200, 1_000, "")]});
    let r = send(good.clone(), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text());
    let r = send(good.clone(), Some(format!("Bearer {admin}"))).await;
    assert_wso2_error(&r, StatusCode::FORBIDDEN);
    for (body, field) in [
        (
            json!({"gateway": "gw/1", "events": [event(t, &id, 200, 1_000, ""), event(t, &id, 42, 1_000, "")]}),
            "events[1].status",
        ),
        (
            json!({"gateway": "gw/1", "events": [event(t, &id, 500, 1_000, "gremlins")]}),
            "events[0].cause",
        ),
        (
            json!({"gateway": "gw/1", "events": [event(now - 3 * 86_400_000, &id, 200, 1_000, "")]}),
            "events[0].t",
        ),
        (json!({"gateway": "", "events": []}), "gateway"),
    ] {
        let r = send(body, Some(gw.clone())).await;
        let e = assert_wso2_error(&r, StatusCode::BAD_REQUEST);
        assert!(e.to_string().contains(field), "{field}: {e}");
    }
    let r = send(
        json!({"gateway": "gw/1", "events": [{"t": t, "status": 200}]}),
        Some(gw.clone()),
    )
    .await;
    let e = assert_wso2_error(&r, StatusCode::BAD_REQUEST);
    assert!(e.to_string().contains("totalUs"), "{e}");
    let many: Vec<Value> = (0..10_001).map(|_| event(t, &id, 200, 1, "")).collect();
    let r = send(json!({"gateway": "gw/1", "events": many}), Some(gw.clone())).await;
    let e = assert_wso2_error(&r, StatusCode::BAD_REQUEST);
    assert!(e.to_string().contains("events"), "{e}");
    let mut req = axum::http::Request::post("/api/am/gateway/v1/environments/Nowhere/analytics")
        .header("content-type", "application/json")
        .header("authorization", &gw);
    req = req.header("x-gateway-id", "gw/1");
    let r = app
        .send(req.body(axum::body::Body::from(good.to_string())).unwrap())
        .await;
    assert_wso2_error(&r, StatusCode::NOT_FOUND);
    let after: i64 = sqlx::query_scalar("SELECT sum(requests)::bigint FROM analytics_minute")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(after, before, "refused batches leave no trace");

    // Retention: rows older than the kept days go.
    sqlx::query("UPDATE analytics_minute SET minute = minute - interval '91 days'")
        .execute(&db)
        .await
        .unwrap();
    assert_eq!(server::analytics::prune(&db, 90).await.unwrap(), 2);
}
