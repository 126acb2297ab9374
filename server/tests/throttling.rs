//! Rate limiting: the Admin API's policies (built-in tiers, custom ones with burst control,
//! errors naming the field, policies in use kept), and enforcement through the real server
//! binary, a real gateway binary and a real backend: a subscription tier of 5 a minute lets 5
//! calls through with `X-RateLimit-*` headers, refuses the sixth with 429, `Retry-After` and
//! WSO2's fault body, and a changed policy reaches the gateway within a second.

mod common;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use common::procs::*;
use common::*;
use serde_json::{Value, json};
use sqlx::PgPool;

const A: &str = "/api/am/admin/v4";
const P: &str = "/api/am/publisher/v4";
const D: &str = "/api/am/devportal/v3";

/// Deploys a new revision of the API `api_id` to the Default environment.
async fn deploy(app: &TestApp, token: &str, api_id: &str) {
    let rev = ok(
        app,
        Method::POST,
        &format!("{P}/apis/{api_id}/revisions"),
        token,
        Some(json!({})),
    )
    .await;
    ok(
        app,
        Method::POST,
        &format!(
            "{P}/apis/{api_id}/deploy-revision?revisionId={}",
            rev["id"].as_str().unwrap()
        ),
        token,
        Some(json!([{"name": "Default", "vhost": "localhost"}])),
    )
    .await;
}

/// The server binary on the test's database and a gateway binary following it (`name` keeps
/// the gateway's snapshot cache apart from other tests').
fn gateway(db: &PgPool, name: &str) -> (Proc, Gw) {
    let (cp, cp_addr) = control_plane(&database_url(db));
    let gw = start_gateway(
        &format!("http://{cp_addr}"),
        &std::env::temp_dir().join(format!("gh-{name}-{}.json", std::process::id())),
    );
    (cp, gw)
}

fn per_minute(name: &str, count: u64) -> Value {
    json!({
        "policyName": name,
        "defaultLimit": {"type": "REQUESTCOUNTLIMIT",
                         "requestCount": {"timeUnit": "min", "unitTime": 1, "requestCount": count}}
    })
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn policies_are_managed_through_the_admin_api(db: PgPool) {
    let app = spawn(db.clone()).await;
    let admin = app
        .access_token(
            "policy-admin",
            DEMO_PASSWORD,
            "apim:tier_view apim:tier_manage",
        )
        .await;
    let subs = format!("{A}/throttling/policies/subscription");
    let apps = format!("{A}/throttling/policies/application");
    // Every organization starts with WSO2's tiers.
    let list = ok(&app, Method::GET, &subs, &admin, None).await;
    let names: Vec<&str> = list["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["policyName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Bronze", "Silver", "Gold", "Unlimited"]);
    let gold = &list["list"][2];
    assert_eq!(gold["defaultLimit"]["requestCount"]["requestCount"], 5000);
    assert_eq!(gold["type"], "SubscriptionThrottlePolicy");
    let app_list = ok(&app, Method::GET, &apps, &admin, None).await;
    assert_eq!(app_list["count"], 4);

    // A custom application policy with burst control.
    let mut burst = per_minute("Burst", 1000);
    burst["burstLimit"] = json!({"rateLimitCount": 50, "rateLimitTimeUnit": "sec"});
    let created = ok(&app, Method::POST, &apps, &admin, Some(burst.clone())).await;
    assert_eq!(created["burstLimit"]["rateLimitCount"], 50);
    let id = created["policyId"].as_str().unwrap().to_string();
    let r = app.call(Method::POST, &apps, &admin, Some(burst)).await;
    assert_eq!(
        fields(&assert_wso2_error(&r, StatusCode::CONFLICT)),
        ["policyName"]
    );
    // Bad input names every field at fault; nothing is written.
    let r = app
        .call(
            Method::POST,
            &apps,
            &admin,
            Some(json!({"policyName": "bad name!",
                        "defaultLimit": {"type": "REQUESTCOUNTLIMIT",
                                         "requestCount": {"timeUnit": "week", "unitTime": 1, "requestCount": 0}},
                        "burstLimit": {"rateLimitCount": 5, "rateLimitTimeUnit": "hour"}})),
        )
        .await;
    assert_eq!(
        fields(&assert_wso2_error(&r, StatusCode::BAD_REQUEST)),
        [
            "policyName",
            "defaultLimit.requestCount.requestCount",
            "defaultLimit.requestCount.timeUnit",
            "burstLimit.rateLimitTimeUnit"
        ]
    );
    // A data limit instead of a request count (WSO2's BANDWIDTHLIMIT).
    let bytes = ok(
        &app,
        Method::POST,
        &subs,
        &admin,
        Some(json!({"policyName": "Bytes", "defaultLimit": {"type": "BANDWIDTHLIMIT",
                    "bandwidth": {"timeUnit": "min", "unitTime": 1, "dataAmount": 1, "dataUnit": "MB"}},
                    "rateLimitCount": 10, "rateLimitTimeUnit": "sec"})),
    )
    .await;
    assert_eq!(
        bytes["defaultLimit"],
        json!({"type": "BANDWIDTHLIMIT",
               "bandwidth": {"timeUnit": "min", "unitTime": 1, "dataAmount": 1, "dataUnit": "MB"}})
    );
    assert_eq!(bytes["rateLimitCount"], 10);
    let r = app
        .call(
            Method::POST,
            &subs,
            &admin,
            Some(json!({"policyName": "Terabyte", "defaultLimit": {"type": "BANDWIDTHLIMIT",
                        "bandwidth": {"timeUnit": "min", "unitTime": 1, "dataAmount": 1, "dataUnit": "TB"}}})),
        )
        .await;
    assert_eq!(
        fields(&assert_wso2_error(&r, StatusCode::BAD_REQUEST)),
        ["defaultLimit.bandwidth.dataUnit"]
    );
    // Developers see it as WSO2 shows it: the amount, its unit and the quota type.
    let listed = ok(
        &app,
        Method::GET,
        &format!("{D}/throttling-policies/subscription"),
        &admin,
        None,
    )
    .await;
    let shown = listed["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Bytes")
        .unwrap_or_else(|| panic!("{listed}"));
    assert_eq!(
        (
            &shown["quotaPolicyType"],
            &shown["requestCount"],
            &shown["dataUnit"]
        ),
        (&json!("BANDWIDTHVOLUME"), &json!(1), &json!("MB"))
    );
    // The name stays; the limits change.
    let mut edit = per_minute("Burst", 2000);
    edit["description"] = json!("doubled");
    let edited = ok(
        &app,
        Method::PUT,
        &format!("{apps}/{id}"),
        &admin,
        Some(edit),
    )
    .await;
    assert_eq!(edited["defaultLimit"]["requestCount"]["requestCount"], 2000);
    assert!(edited.get("burstLimit").is_none(), "{edited}");
    let r = app
        .call(
            Method::PUT,
            &format!("{apps}/{id}"),
            &admin,
            Some(per_minute("Renamed", 1)),
        )
        .await;
    assert_eq!(
        fields(&assert_wso2_error(&r, StatusCode::BAD_REQUEST)),
        ["policyName"]
    );
    // In use: kept. Built in: kept.
    // (The Developer Portal offers the built-in application policies only, for now.)
    sqlx::query(
        "INSERT INTO application (organization_id, owner_id, name, throttling_policy)
         SELECT o.id, u.id, 'Bursty', 'Burst' FROM organization o JOIN app_user u ON u.organization_id = o.id
          WHERE o.name = 'carbon.super' AND u.username = 'subscriber'",
    )
    .execute(&db)
    .await
    .unwrap();
    let r = app
        .call(Method::DELETE, &format!("{apps}/{id}"), &admin, None)
        .await;
    assert_eq!(
        fields(&assert_wso2_error(&r, StatusCode::CONFLICT)),
        ["policyId"]
    );
    let gold_id = gold["policyId"].as_str().unwrap();
    let r = app
        .call(Method::DELETE, &format!("{subs}/{gold_id}"), &admin, None)
        .await;
    assert_eq!(
        fields(&assert_wso2_error(&r, StatusCode::BAD_REQUEST)),
        ["policyId"]
    );
    sqlx::query("DELETE FROM application WHERE name = 'Bursty'")
        .execute(&db)
        .await
        .unwrap();
    let r = app
        .call(Method::DELETE, &format!("{apps}/{id}"), &admin, None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // Burst and Bytes created, Burst changed, Burst removed.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM audit_log WHERE action LIKE 'throttling.%'"
        )
        .await,
        4
    );
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn the_gateway_enforces_a_subscription_tier(db: PgPool) {
    let app = spawn(db.clone()).await;
    let admin = app
        .access_token(
            "admin",
            ADMIN_PASSWORD,
            "apim:admin apim:tier_manage apim:api_view apim:api_create apim:api_publish \
             apim:api_manage apim:subscribe apim:app_manage apim:sub_manage",
        )
        .await;
    let five = ok(
        &app,
        Method::POST,
        &format!("{A}/throttling/policies/subscription"),
        &admin,
        Some(per_minute("Five", 5)),
    )
    .await;
    let backend = backend("limited");
    let api = ok(
        &app,
        Method::POST,
        &format!("{P}/apis"),
        &admin,
        Some(json!({
            "name": "Limited", "context": "/limited", "version": "1.0.0",
            "policies": ["Five"],
            "endpointConfig": {"endpoint_type": "http",
                "production_endpoints": {"url": format!("http://{backend}")}},
            "operations": [{"target": "/x", "verb": "GET"}]
        })),
    )
    .await;
    let api_id = api["id"].as_str().unwrap().to_string();
    deploy(&app, &admin, &api_id).await;
    ok(
        &app,
        Method::POST,
        &format!("{P}/apis/change-lifecycle?apiId={api_id}&action=Publish"),
        &admin,
        None,
    )
    .await;
    let application = ok(
        &app,
        Method::POST,
        &format!("{D}/applications"),
        &admin,
        Some(json!({"name": "Counted", "throttlingPolicy": "Unlimited"})),
    )
    .await;
    let app_id = application["applicationId"].as_str().unwrap().to_string();
    ok(
        &app,
        Method::POST,
        &format!("{D}/subscriptions"),
        &admin,
        Some(json!({"applicationId": app_id, "apiId": api_id, "throttlingPolicy": "Five"})),
    )
    .await;
    let key = ok(
        &app,
        Method::POST,
        &format!("{D}/applications/{app_id}/generate-keys"),
        &admin,
        Some(json!({"keyType": "PRODUCTION", "grantTypesToBeSupported": ["client_credentials"]})),
    )
    .await;
    let auth = basic(
        key["consumerKey"].as_str().unwrap(),
        key["consumerSecret"].as_str().unwrap(),
    );
    let r = app
        .post_form(
            "/oauth2/token",
            &[("grant_type", "client_credentials")],
            &[("authorization", &auth)],
        )
        .await;
    let token = r.json()["access_token"].as_str().unwrap().to_string();
    let bearer = format!("Bearer {token}");

    let (_cp, gw) = gateway(&db, "throttle");
    let traffic = gw.traffic.clone();
    let h = bearer.clone();
    tokio::task::spawn_blocking(move || {
        let headers = [("Authorization", h.as_str())];
        within(Duration::from_secs(3), "the API is served", || {
            request(&traffic, "GET", "/limited/1.0.0/x", &headers).0 == 200
        });
        // That was the first of five.
        for remaining in (0..4).rev() {
            let (s, head, _) = request(&traffic, "GET", "/limited/1.0.0/x", &headers);
            assert_eq!(s, 200);
            let head = head.to_ascii_lowercase();
            assert!(head.contains("x-ratelimit-limit: 5"), "{head}");
            assert!(
                head.contains(&format!("x-ratelimit-remaining: {remaining}")),
                "{head}"
            );
        }
        let (s, head, body) = request(&traffic, "GET", "/limited/1.0.0/x", &headers);
        assert_eq!(s, 429, "{head}\n{body}");
        let head = head.to_ascii_lowercase();
        assert!(
            head.contains("retry-after: 12"),
            "one request's share of the minute: {head}"
        );
        assert!(head.contains("x-ratelimit-remaining: 0"), "{head}");
        let fault: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(fault["code"], "900802", "{fault}");
        assert!(
            fault["description"].as_str().unwrap().contains("Five"),
            "{fault}"
        );
    })
    .await
    .unwrap();

    // A bigger tier reaches the gateway (a new limiter) within a second.
    let id = five["policyId"].as_str().unwrap();
    ok(
        &app,
        Method::PUT,
        &format!("{A}/throttling/policies/subscription/{id}"),
        &admin,
        Some(per_minute("Five", 50)),
    )
    .await;
    let traffic = gw.traffic.clone();
    tokio::task::spawn_blocking(move || {
        let headers = [("Authorization", bearer.as_str())];
        let took = within(Duration::from_secs(2), "the new limit applies", || {
            let (s, head, _) = request(&traffic, "GET", "/limited/1.0.0/x", &headers);
            s == 200 && head.to_ascii_lowercase().contains("x-ratelimit-limit: 50")
        });
        eprintln!("policy change → enforced in {took:?}");
        assert!(took < Duration::from_secs(1), "{took:?}");
    })
    .await
    .unwrap();

    // The tier becomes a data limit: 1 KB a minute of request and response bodies. The
    // backend's answers are a few hundred bytes each: calls pass until their bodies add up
    // to more than the kilobyte, then the next one waits.
    ok(
        &app,
        Method::PUT,
        &format!("{A}/throttling/policies/subscription/{id}"),
        &admin,
        Some(json!({"policyName": "Five", "defaultLimit": {"type": "BANDWIDTHLIMIT",
                    "bandwidth": {"timeUnit": "min", "unitTime": 1, "dataAmount": 1, "dataUnit": "KB"}}})),
    )
    .await;
    let traffic = gw.traffic.clone();
    let h = format!("Bearer {token}");
    tokio::task::spawn_blocking(move || {
        let headers = [("Authorization", h.as_str())];
        // The new limiter is in place once responses stop carrying request counts; that
        // first response is charged to it.
        let mut passed = Vec::new();
        within(Duration::from_secs(2), "the data limit applies", || {
            let (s, head, body) = request(&traffic, "GET", "/limited/1.0.0/x", &headers);
            let applies = s == 200 && !head.to_ascii_lowercase().contains("x-ratelimit-limit");
            if applies {
                passed.push(body.len());
            }
            applies
        });
        let (head, body) = loop {
            let (s, head, body) = request(&traffic, "GET", "/limited/1.0.0/x", &headers);
            if s != 200 {
                assert_eq!(s, 429, "{head}\n{body}");
                break (head, body);
            }
            passed.push(body.len());
            assert!(passed.len() < 20, "never refused: {passed:?}");
        };
        // Refused once the kilobyte is used up, not before.
        let charged: usize = passed.iter().sum();
        assert!(charged > 1024, "refused too early: {passed:?}");
        assert!(
            charged - passed[passed.len() - 1] <= 1024 + 200,
            "refused too late: {passed:?}"
        );
        let fault: Value = serde_json::from_str(&body).unwrap();
        assert!(
            fault["description"]
                .as_str()
                .unwrap()
                .contains("The quota of the subscription policy Five (1024 bytes)"),
            "{fault}"
        );
        assert!(head.to_ascii_lowercase().contains("retry-after:"), "{head}");
    })
    .await
    .unwrap();
}

/// Developers pick from the organization's policies: the Developer Portal lists them
/// (`/throttling-policies/{level}`, public), an application may use a custom one, an unknown
/// one is refused naming the choices; a publisher offers only defined tiers.
#[sqlx::test(migrator = "server::MIGRATOR")]
async fn developers_and_publishers_use_the_defined_policies(db: PgPool) {
    let app = spawn(db.clone()).await;
    let admin = app
        .access_token("policy-admin", DEMO_PASSWORD, "apim:tier_manage")
        .await;
    ok(
        &app,
        Method::POST,
        &format!("{A}/throttling/policies/application"),
        &admin,
        Some(per_minute("Team", 300)),
    )
    .await;
    let public = app
        .get(&format!("{D}/throttling-policies/application"), None)
        .await;
    assert_eq!(public.status, StatusCode::OK, "{}", public.text());
    let names: Vec<String> = public.json()["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        ["10PerMin", "20PerMin", "50PerMin", "Team", "Unlimited"]
    );
    let r = app
        .get(&format!("{D}/throttling-policies/nonsense"), None)
        .await;
    assert_wso2_error(&r, StatusCode::NOT_FOUND);

    let dev = app
        .access_token(
            "subscriber",
            DEMO_PASSWORD,
            "apim:subscribe apim:app_manage",
        )
        .await;
    let created = ok(
        &app,
        Method::POST,
        &format!("{D}/applications"),
        &dev,
        Some(json!({"name": "Team app", "throttlingPolicy": "Team"})),
    )
    .await;
    assert_eq!(created["throttlingPolicy"], "Team");
    let r = app
        .call(
            Method::POST,
            &format!("{D}/applications"),
            &dev,
            Some(json!({"name": "Other", "throttlingPolicy": "Platinum"})),
        )
        .await;
    let body = assert_wso2_error(&r, StatusCode::BAD_REQUEST);
    assert_eq!(fields(&body), ["throttlingPolicy"]);
    assert!(body.to_string().contains("Team"), "{body}");

    let publisher = app
        .access_token("publisher", DEMO_PASSWORD, "apim:api_view apim:api_create")
        .await;
    // A tier an API offers stays until the API stops offering it.
    let tier = ok(
        &app,
        Method::POST,
        &format!("{A}/throttling/policies/subscription"),
        &admin,
        Some(per_minute("Offered", 100)),
    )
    .await;
    let offering = ok(
        &app,
        Method::POST,
        &format!("{P}/apis"),
        &publisher,
        Some(
            json!({"name": "Offering", "context": "/offering", "version": "1",
                    "policies": ["Offered"]}),
        ),
    )
    .await;
    let tier_path = format!(
        "{A}/throttling/policies/subscription/{}",
        tier["policyId"].as_str().unwrap()
    );
    let r = app.call(Method::DELETE, &tier_path, &admin, None).await;
    assert_eq!(
        fields(&assert_wso2_error(&r, StatusCode::CONFLICT)),
        ["policyId"]
    );
    let mut edited = offering.clone();
    edited["policies"] = json!(["Gold"]);
    ok(
        &app,
        Method::PUT,
        &format!("{P}/apis/{}", offering["id"].as_str().unwrap()),
        &publisher,
        Some(edited),
    )
    .await;
    let r = app.call(Method::DELETE, &tier_path, &admin, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = app
        .call(
            Method::POST,
            &format!("{P}/apis"),
            &publisher,
            Some(
                json!({"name": "Tiered", "context": "/tiered", "version": "1",
                        "policies": ["Gold", "Platinum"]}),
            ),
        )
        .await;
    assert_eq!(
        fields(&assert_wso2_error(&r, StatusCode::BAD_REQUEST)),
        ["policies[1]"]
    );
}

/// Deny policies through the real server, gateway and backend: blocking the caller's address,
/// then the API's context, refuses at once (403, 900805) and lifting them lets calls through
/// again, each within a second; bad conditions are refused naming the field.
#[sqlx::test(migrator = "server::MIGRATOR")]
async fn deny_policies_block_at_the_gateway(db: PgPool) {
    let app = spawn(db.clone()).await;
    let admin = app
        .access_token(
            "admin",
            ADMIN_PASSWORD,
            "apim:admin apim:bl_manage apim:api_view apim:api_create apim:api_publish apim:api_manage",
        )
        .await;
    let deny = format!("{A}/throttling/deny-policies");
    for (body, field) in [
        (
            json!({"conditionType": "IP", "conditionValue": {"fixedIp": "not-an-ip"}}),
            "conditionValue.fixedIp",
        ),
        (
            json!({"conditionType": "IPRANGE", "conditionValue": {"startingIp": "10.0.0.9", "endingIp": "10.0.0.1"}}),
            "conditionValue.endingIp",
        ),
        (
            json!({"conditionType": "API", "conditionValue": "no-slash"}),
            "conditionValue",
        ),
        (
            json!({"conditionType": "COUNTRY", "conditionValue": "NZ"}),
            "conditionType",
        ),
    ] {
        let r = app.call(Method::POST, &deny, &admin, Some(body)).await;
        assert_eq!(
            fields(&assert_wso2_error(&r, StatusCode::BAD_REQUEST)),
            [field]
        );
    }
    let backend = backend("open");
    let api = ok(
        &app,
        Method::POST,
        &format!("{P}/apis"),
        &admin,
        Some(json!({
            "name": "Open", "context": "/open", "version": "1.0.0",
            "endpointConfig": {"endpoint_type": "http",
                "production_endpoints": {"url": format!("http://{backend}")}},
            "operations": [{"target": "/x", "verb": "GET", "authType": "None"}]
        })),
    )
    .await;
    let api_id = api["id"].as_str().unwrap().to_string();
    deploy(&app, &admin, &api_id).await;
    let (_cp, gw) = gateway(&db, "deny");
    let traffic = gw.traffic.clone();
    let status_within = |want: u16| {
        let traffic = traffic.clone();
        tokio::task::spawn_blocking(move || {
            within(Duration::from_secs(1), &format!("→ {want}"), || {
                request(&traffic, "GET", "/open/1.0.0/x", &[]).0 == want
            })
        })
    };
    tokio::task::spawn_blocking({
        let traffic = traffic.clone();
        move || {
            within(Duration::from_secs(3), "served", || {
                request(&traffic, "GET", "/open/1.0.0/x", &[]).0 == 200
            })
        }
    })
    .await
    .unwrap();

    // The caller's address: blocked, then lifted.
    let ip = ok(
        &app,
        Method::POST,
        &deny,
        &admin,
        Some(json!({"conditionType": "IP", "conditionValue": {"fixedIp": "127.0.0.1", "invert": false}})),
    )
    .await;
    status_within(403).await.unwrap();
    let (_, _, body) = request(&traffic, "GET", "/open/1.0.0/x", &[]);
    let fault: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(fault["code"], "900805", "{fault}");
    assert!(
        fault["description"].as_str().unwrap().contains("127.0.0.1"),
        "{fault}"
    );
    let id = ip["conditionId"].as_str().unwrap();
    let off = ok(
        &app,
        Method::PATCH,
        &format!("{A}/throttling/deny-policy/{id}"),
        &admin,
        Some(json!({"conditionStatus": false})),
    )
    .await;
    assert_eq!(off["conditionStatus"], false);
    status_within(200).await.unwrap();

    // The API's context: blocked, then removed.
    let ctx = ok(
        &app,
        Method::POST,
        &deny,
        &admin,
        Some(json!({"conditionType": "API", "conditionValue": "/open/1.0.0"})),
    )
    .await;
    status_within(403).await.unwrap();
    let id = ctx["conditionId"].as_str().unwrap();
    let r = app
        .call(
            Method::DELETE,
            &format!("{A}/throttling/deny-policy/{id}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    status_within(200).await.unwrap();
    let list = ok(&app, Method::GET, &deny, &admin, None).await;
    assert_eq!(
        list["count"], 1,
        "the lifted IP condition stays, switched off: {list}"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM audit_log WHERE action LIKE 'deny_policy.%'"
        )
        .await,
        4
    );
}

/// Backend protection (`maxTps`): at most 3 requests a minute reach the backend, whoever calls;
/// the fourth gets 429 with `Retry-After` and code 900800. A bad limit names its field.
#[sqlx::test(migrator = "server::MIGRATOR")]
async fn max_tps_protects_the_backend(db: PgPool) {
    let app = spawn(db.clone()).await;
    let admin = app
        .access_token(
            "admin",
            ADMIN_PASSWORD,
            "apim:admin apim:api_view apim:api_create apim:api_publish apim:api_manage",
        )
        .await;
    let backend = backend("protected");
    let mut body = json!({
        "name": "Protected", "context": "/protected", "version": "1.0.0",
        "maxTps": {"production": 0},
        "endpointConfig": {"endpoint_type": "http",
            "production_endpoints": {"url": format!("http://{backend}")}},
        "operations": [{"target": "/x", "verb": "GET", "authType": "None"}]
    });
    let r = app
        .call(
            Method::POST,
            &format!("{P}/apis"),
            &admin,
            Some(body.clone()),
        )
        .await;
    assert_eq!(
        fields(&assert_wso2_error(&r, StatusCode::BAD_REQUEST)),
        ["maxTps.production"]
    );
    body["maxTps"] = json!({"production": 3, "productionTimeUnit": "MINUTE"});
    let api = ok(&app, Method::POST, &format!("{P}/apis"), &admin, Some(body)).await;
    assert_eq!(api["maxTps"]["production"], 3);
    let api_id = api["id"].as_str().unwrap().to_string();
    deploy(&app, &admin, &api_id).await;
    let (_cp, gw) = gateway(&db, "maxtps");
    let traffic = gw.traffic.clone();
    tokio::task::spawn_blocking(move || {
        // The first 200 is the first of three.
        within(Duration::from_secs(3), "served", || {
            request(&traffic, "GET", "/protected/1.0.0/x", &[]).0 == 200
        });
        for _ in 0..2 {
            assert_eq!(request(&traffic, "GET", "/protected/1.0.0/x", &[]).0, 200);
        }
        let (s, head, body) = request(&traffic, "GET", "/protected/1.0.0/x", &[]);
        assert_eq!(s, 429, "{head}\n{body}");
        assert!(
            head.to_ascii_lowercase().contains("retry-after: 20"),
            "{head}"
        );
        let fault: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(fault["code"], "900800", "{fault}");
    })
    .await
    .unwrap();
}

/// Mediation policies attached in the Publisher (WSO2's `apiPolicies` / `operationPolicies`):
/// the catalogue lists them with typed parameters, a bad parameter is a 400 naming its place,
/// and a deployed revision applies them at the gateway (the API's before the operation's, in
/// order); a new order in a new revision changes what the backend sees.
#[sqlx::test(migrator = "server::MIGRATOR")]
async fn publishers_attach_mediation_policies(db: PgPool) {
    let app = spawn(db.clone()).await;
    let admin = app
        .access_token(
            "admin",
            ADMIN_PASSWORD,
            "apim:admin apim:api_view apim:api_create apim:api_publish apim:api_manage",
        )
        .await;
    let catalogue = ok(
        &app,
        Method::GET,
        &format!("{P}/operation-policies"),
        &admin,
        None,
    )
    .await;
    let add = catalogue["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "addHeader")
        .expect("addHeader in the catalogue")
        .clone();
    assert_eq!(
        add["applicableFlows"],
        json!(["request", "response", "fault"])
    );
    assert_eq!(add["policyAttributes"][0]["name"], "headerName");
    assert_eq!(add["policyAttributes"][0]["required"], true);

    let backend = backend("mediated");
    let add_header = |v: &str| {
        json!({"policyName": "addHeader", "policyVersion": "v1",
               "parameters": {"headerName": "X-A", "headerValue": v}})
    };
    let mut body = json!({
        "name": "Mediated", "context": "/mediated", "version": "1.0.0",
        "endpointConfig": {"endpoint_type": "http",
            "production_endpoints": {"url": format!("http://{backend}")}},
        "apiPolicies": {"request": [add_header("1"), add_header("2")]},
        "operations": [
            {"target": "/items/{id}", "verb": "GET", "authType": "None",
             "operationPolicies": {"request": [
                {"policyName": "setHeader", "parameters": {"headerName": "X-A", "headerValue": "3"}},
                {"policyName": "rewritePath", "parameters": {"path": "/v2/things/{id}"}}
             ]}},
            {"target": "/plain", "verb": "GET", "authType": "None"}
        ]
    });
    let mut bad = body.clone();
    bad["operations"][0]["operationPolicies"]["request"][0]["parameters"]["headerName"] =
        json!("X A");
    bad["apiPolicies"]["response"] = json!([{"policyName": "rewriteMethod",
        "parameters": {"updatedMethod": "PUT"}}]);
    let r = app
        .call(Method::POST, &format!("{P}/apis"), &admin, Some(bad))
        .await;
    assert_eq!(
        fields(&assert_wso2_error(&r, StatusCode::BAD_REQUEST)),
        [
            "apiPolicies.response[0].policyName",
            "operations[0].operationPolicies.request[0].parameters.headerName"
        ]
    );
    let api = ok(
        &app,
        Method::POST,
        &format!("{P}/apis"),
        &admin,
        Some(body.clone()),
    )
    .await;
    assert_eq!(
        api["apiPolicies"]["request"][1]["parameters"]["headerValue"],
        "2"
    );
    assert_eq!(
        api["operations"][0]["operationPolicies"]["request"][0]["policyName"],
        "setHeader"
    );
    let api_id = api["id"].as_str().unwrap().to_string();
    deploy(&app, &admin, &api_id).await;
    let (_cp, gw) = gateway(&db, "mediation");
    let traffic = gw.traffic.clone();
    let seen = move |path: &str| -> Value {
        let (s, _, b) = request(&traffic, "GET", path, &[]);
        assert_eq!(s, 200, "{path}: {b}");
        serde_json::from_str(&b).unwrap()
    };
    let check = seen.clone();
    // The gateway comes back out of the blocking task, to keep running for the second half.
    let _gw = tokio::task::spawn_blocking(move || {
        within(Duration::from_secs(3), "served", || {
            request(&gw.traffic, "GET", "/mediated/1.0.0/plain", &[]).0 == 200
        });
        let items = check("/mediated/1.0.0/items/7");
        assert_eq!(items["headers"]["x-a"], "3", "{items}");
        assert_eq!(items["path"], "/v2/things/7", "{items}");
        // The backend's echo keeps a header's last value: the API's second add.
        assert_eq!(check("/mediated/1.0.0/plain")["headers"]["x-a"], "2");
        gw
    })
    .await
    .unwrap();

    // The API's two in the other order, in a new revision.
    body["apiPolicies"] = json!({"request": [add_header("2"), add_header("1")]});
    body["id"] = json!(api_id);
    ok(
        &app,
        Method::PUT,
        &format!("{P}/apis/{api_id}"),
        &admin,
        Some(body),
    )
    .await;
    deploy(&app, &admin, &api_id).await;
    tokio::task::spawn_blocking(move || {
        within(Duration::from_secs(3), "the new order", || {
            seen("/mediated/1.0.0/plain")["headers"]["x-a"] == "1"
        });
    })
    .await
    .unwrap();
}

/// Advanced policies (Admin v4 `/throttling/policies/advanced`): created with a conditional
/// group, refused with the field at fault, listed, changed, kept while an API uses them; the
/// Publisher names them for an API and its operations (an unknown name is a 400 naming the
/// field); deployed, the gateway counts the group and the default separately, on an open
/// operation (no token needed).
#[sqlx::test(migrator = "server::MIGRATOR")]
async fn advanced_policies_limit_apis_by_condition(db: PgPool) {
    let app = spawn(db.clone()).await;
    let admin = app
        .access_token(
            "admin",
            ADMIN_PASSWORD,
            "apim:admin apim:tier_manage apim:api_view apim:api_create apim:api_publish \
             apim:api_manage",
        )
        .await;
    let advanced = format!("{A}/throttling/policies/advanced");
    let count = |n: i64| {
        json!({"type": "REQUESTCOUNTLIMIT",
               "requestCount": {"timeUnit": "min", "unitTime": 1, "requestCount": n}})
    };
    let partners = json!({
        "policyName": "Partners",
        "description": "gold partners apart",
        "defaultLimit": count(3),
        "conditionalGroups": [{
            "description": "gold",
            "conditions": [{"type": "HEADERCONDITION", "invertCondition": false,
                            "headerCondition": {"headerName": "X-Partner", "headerValue": "^gold$"}}],
            "limit": count(2)
        }]
    });
    let created = app
        .call(Method::POST, &advanced, &admin, Some(partners.clone()))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let created = created.json();
    assert_eq!(created["type"], "AdvancedThrottlePolicy");
    assert_eq!(
        created["conditionalGroups"][0]["conditions"][0]["headerCondition"]["headerName"],
        "X-Partner"
    );
    let id = created["policyId"].as_str().unwrap().to_string();
    let r = app
        .call(Method::POST, &advanced, &admin, Some(partners.clone()))
        .await;
    assert_eq!(
        fields(&assert_wso2_error(&r, StatusCode::CONFLICT)),
        ["policyName"]
    );

    // Every problem named by its field.
    let r = app
        .call(
            Method::POST,
            &advanced,
            &admin,
            Some(json!({
                "policyName": "Broken",
                "defaultLimit": {"type": "REQUESTCOUNTLIMIT",
                                 "requestCount": {"timeUnit": "week", "unitTime": 1, "requestCount": 0}},
                "conditionalGroups": [{
                    "conditions": [
                        {"type": "HEADERCONDITION", "headerCondition": {"headerName": "X-A", "headerValue": "(open"}},
                        {"type": "IPCONDITION", "ipCondition": {"ipConditionType": "IPRANGE",
                            "startingIP": "10.0.0.300", "endingIP": "10.0.0.1"}},
                        {"type": "COOKIECONDITION"}
                    ],
                    "limit": {"type": "BANDWIDTHLIMIT",
                              "bandwidth": {"timeUnit": "min", "unitTime": 1, "dataAmount": 1, "dataUnit": "TB"}}
                }]
            })),
        )
        .await;
    assert_eq!(
        fields(&assert_wso2_error(&r, StatusCode::BAD_REQUEST)),
        [
            "defaultLimit.requestCount.requestCount",
            "defaultLimit.requestCount.timeUnit",
            "conditionalGroups[0].limit.bandwidth.dataUnit",
            "conditionalGroups[0].conditions[0].headerCondition.headerValue",
            "conditionalGroups[0].conditions[1].ipCondition.startingIP",
            "conditionalGroups[0].conditions[2].type",
        ]
    );

    // Listed with the built-in ones; WSO2's list shape has no groups, our count of them.
    let list = ok(&app, Method::GET, &advanced, &admin, None).await;
    let names: Vec<&str> = list["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["policyName"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "10KPerMin",
            "20KPerMin",
            "50KPerMin",
            "Unlimited",
            "Partners"
        ]
    );
    assert_eq!(list["list"][4]["conditionalGroupCount"], 1);
    // The limits change; the name does not.
    let mut edit = partners.clone();
    edit["description"] = json!("edited");
    let edited = ok(
        &app,
        Method::PUT,
        &format!("{advanced}/{id}"),
        &admin,
        Some(edit.clone()),
    )
    .await;
    assert_eq!(edited["description"], "edited");
    edit["policyName"] = json!("Renamed");
    let r = app
        .call(Method::PUT, &format!("{advanced}/{id}"), &admin, Some(edit))
        .await;
    assert_eq!(
        fields(&assert_wso2_error(&r, StatusCode::BAD_REQUEST)),
        ["policyName"]
    );

    // The Publisher names them; an unknown name is refused at its field.
    let picks = ok(
        &app,
        Method::GET,
        &format!("{P}/throttling-policies/api"),
        &admin,
        None,
    )
    .await;
    assert!(
        picks["list"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "Partners"),
        "{picks}"
    );
    let backend = backend("advanced");
    let mut body = json!({
        "name": "Partnered", "context": "/partnered", "version": "1.0.0",
        "apiThrottlingPolicy": "Nope",
        "endpointConfig": {"endpoint_type": "http",
            "production_endpoints": {"url": format!("http://{backend}")}},
        "operations": [
            {"target": "/x", "verb": "GET", "authType": "None"},
            {"target": "/y", "verb": "GET", "authType": "None", "throttlingPolicy": "Gone"}
        ]
    });
    let r = app
        .call(
            Method::POST,
            &format!("{P}/apis"),
            &admin,
            Some(body.clone()),
        )
        .await;
    assert_eq!(
        fields(&assert_wso2_error(&r, StatusCode::BAD_REQUEST)),
        ["apiThrottlingPolicy", "operations[1].throttlingPolicy"]
    );
    body["apiThrottlingPolicy"] = json!("Partners");
    body["operations"][1]["throttlingPolicy"] = json!("Unlimited");
    let api = ok(&app, Method::POST, &format!("{P}/apis"), &admin, Some(body)).await;
    assert_eq!(api["apiThrottlingPolicy"], "Partners");
    let api_id = api["id"].as_str().unwrap().to_string();
    deploy(&app, &admin, &api_id).await;
    let r = app
        .call(Method::DELETE, &format!("{advanced}/{id}"), &admin, None)
        .await;
    assert_eq!(
        fields(&assert_wso2_error(&r, StatusCode::CONFLICT)),
        ["policyId"]
    );

    let (_cp, gw) = gateway(&db, "advanced");
    let traffic = gw.traffic.clone();
    tokio::task::spawn_blocking(move || {
        // The first 200 is the first of the default 3 (no header).
        within(Duration::from_secs(3), "the API is served", || {
            request(&traffic, "GET", "/partnered/1.0.0/x", &[]).0 == 200
        });
        let gold = [("X-Partner", "gold")];
        for remaining in ["1", "0"] {
            let (s, head, body) = request(&traffic, "GET", "/partnered/1.0.0/y", &gold);
            assert_eq!(s, 200, "{body}");
            let head = head.to_ascii_lowercase();
            assert!(head.contains("x-ratelimit-limit: 2"), "{head}");
            assert!(
                head.contains(&format!("x-ratelimit-remaining: {remaining}")),
                "{head}"
            );
        }
        let (s, head, body) = request(&traffic, "GET", "/partnered/1.0.0/x", &gold);
        assert_eq!(s, 429, "{head}\n{body}");
        assert!(
            head.to_ascii_lowercase().contains("retry-after: 30"),
            "one request's share of the minute: {head}"
        );
        let fault: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(fault["code"], "900800", "{fault}");
        assert!(
            fault["description"].as_str().unwrap().contains("Partners"),
            "{fault}"
        );
        // The default has two left, whatever the group used.
        for _ in 0..2 {
            assert_eq!(request(&traffic, "GET", "/partnered/1.0.0/x", &[]).0, 200);
        }
        assert_eq!(request(&traffic, "GET", "/partnered/1.0.0/y", &[]).0, 429);
    })
    .await
    .unwrap();
}
