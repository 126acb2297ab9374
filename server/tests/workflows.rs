//! Approval workflows through the real router and PostgreSQL: switching approval on per type
//! (and per tier), applications waiting in CREATED, subscriptions ON_HOLD, tier changes
//! TIER_UPDATE_PENDING, the workflow admin's queue (WSO2's WorkflowList), approve / reject with
//! a comment in the audit log, cancellation by the requester, refusals without the scopes, bad
//! input, and a decision that fails half-way leaving nothing changed.

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use serde_json::{Value, json};
use sqlx::PgPool;

const A: &str = "/api/am/admin/v4";
const D: &str = "/api/am/devportal/v3";
const DEV: &str = "apim:subscribe apim:app_manage apim:sub_manage apim:api_key";
const WF: &str = "apim:api_workflow_view apim:api_workflow_approve";

struct Actors {
    admin: String,
    developer: String,
    approver: String,
    publisher: String,
}

async fn actors(app: &TestApp) -> Actors {
    Actors {
        admin: app
            .access_token("admin", ADMIN_PASSWORD, &format!("apim:admin {WF} {DEV}"))
            .await,
        developer: app.access_token("subscriber", DEMO_PASSWORD, DEV).await,
        approver: app.access_token("workflow-admin", DEMO_PASSWORD, WF).await,
        publisher: app
            .access_token(
                "publisher",
                DEMO_PASSWORD,
                "apim:api_view apim:api_create apim:api_publish apim:api_manage",
            )
            .await,
    }
}

async fn ok(app: &TestApp, method: Method, path: &str, token: &str, body: Option<Value>) -> Value {
    let r = app.call(method, path, token, body).await;
    assert!(r.status.is_success(), "{path}: {} {}", r.status, r.text());
    r.json()
}

async fn switch(app: &TestApp, token: &str, list: Value) -> common::Resp {
    app.call(
        Method::PUT,
        &format!("{A}/workflow-settings"),
        token,
        Some(json!({ "list": list })),
    )
    .await
}

async fn queue(app: &TestApp, token: &str, query: &str) -> Value {
    ok(
        app,
        Method::GET,
        &format!("{A}/workflows{query}"),
        token,
        None,
    )
    .await
}

/// The reference of the oldest pending workflow.
async fn oldest_pending(app: &TestApp, token: &str) -> String {
    queue(app, token, "").await["list"][0]["referenceId"]
        .as_str()
        .expect("a pending workflow")
        .to_string()
}

async fn decide(app: &TestApp, token: &str, reference: &str, status: &str) -> common::Resp {
    app.call(
        Method::POST,
        &format!("{A}/workflows/update-workflow-status?workflowReferenceId={reference}"),
        token,
        Some(json!({"status": status, "description": format!("{status} by the test")})),
    )
    .await
}

async fn application(app: &TestApp, token: &str, name: &str) -> Value {
    let r = app
        .call(
            Method::POST,
            &format!("{D}/applications"),
            token,
            Some(json!({"name": name, "throttlingPolicy": "10PerMin"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    r.json()
}

async fn subscribe(
    app: &TestApp,
    token: &str,
    app_id: &str,
    api: &str,
    tier: &str,
) -> common::Resp {
    app.call(
        Method::POST,
        &format!("{D}/subscriptions"),
        token,
        Some(json!({"applicationId": app_id, "apiId": api, "throttlingPolicy": tier})),
    )
    .await
}

async fn revision(db: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT revision FROM gateway_environment WHERE name = 'Default'")
        .fetch_one(db)
        .await
        .unwrap()
}

async fn workflow_status(db: &PgPool, reference: &str) -> String {
    sqlx::query_scalar("SELECT status FROM workflow WHERE id = $1::uuid")
        .bind(reference)
        .fetch_one(db)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn application_creation_waits_for_approval(db: PgPool) {
    let app = spawn(db.clone()).await;
    let who = actors(&app).await;

    // Off by default: every type listed, none on.
    let settings = ok(
        &app,
        Method::GET,
        &format!("{A}/workflow-settings"),
        &who.approver,
        None,
    )
    .await;
    assert_eq!(settings["count"], 6);
    assert!(
        settings["list"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["enabled"] == false)
    );
    let before = application(&app, &who.developer, "Before").await;
    assert_eq!(before["status"], "APPROVED");

    // Only a settings admin switches approval on; a developer and the approver cannot.
    let on = json!([{"workflowType": "AM_APPLICATION_CREATION", "enabled": true}]);
    assert_wso2_error(
        &switch(&app, &who.developer, on.clone()).await,
        StatusCode::FORBIDDEN,
    );
    assert_wso2_error(
        &switch(&app, &who.approver, on.clone()).await,
        StatusCode::FORBIDDEN,
    );
    let r = switch(&app, &who.admin, on).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["list"][0]["workflowType"], "APPLICATION_CREATION");
    assert_eq!(r.json()["list"][0]["enabled"], true);

    // The new application waits: CREATED, no keys, no subscriptions, no API keys.
    let pending = application(&app, &who.developer, "Pending App").await;
    assert_eq!(pending["status"], "CREATED");
    let id = pending["applicationId"].as_str().unwrap();
    let r = app
        .call(
            Method::POST,
            &format!("{D}/applications/{id}/generate-keys"),
            &who.developer,
            Some(
                json!({"keyType": "PRODUCTION", "grantTypesToBeSupported": ["client_credentials"]}),
            ),
        )
        .await;
    let e = assert_wso2_error(&r, StatusCode::CONFLICT);
    assert!(
        e["description"]
            .as_str()
            .unwrap()
            .contains("waiting for an administrator's approval"),
        "{e}"
    );
    assert_eq!(e["error"][0]["code"], "applicationId");
    let r = app
        .call(
            Method::POST,
            &format!("{D}/applications/{id}/api-keys/PRODUCTION/generate"),
            &who.developer,
            Some(json!({})),
        )
        .await;
    assert_wso2_error(&r, StatusCode::CONFLICT);

    // The queue: WSO2's WorkflowList with the request's details; filters by type (either name).
    let q = queue(&app, &who.approver, "").await;
    assert_eq!(q["count"], 1);
    assert_eq!(q["pagination"]["total"], 1);
    assert_eq!(q["next"], "");
    let w = &q["list"][0];
    assert_eq!(w["workflowType"], "APPLICATION_CREATION");
    assert_eq!(w["workflowStatus"], "CREATED");
    assert_eq!(w["properties"]["applicationName"], "Pending App");
    assert_eq!(w["properties"]["applicationTier"], "10PerMin");
    assert_eq!(w["requestedBy"], "subscriber");
    assert!(w["description"].as_str().unwrap().contains("Pending App"));
    let reference = w["referenceId"].as_str().unwrap().to_string();
    assert_eq!(
        queue(&app, &who.approver, "?workflowType=AM_APPLICATION_CREATION").await["count"],
        1
    );
    assert_eq!(
        queue(&app, &who.approver, "?workflowType=SUBSCRIPTION_CREATION").await["count"],
        0
    );
    let one = ok(
        &app,
        Method::GET,
        &format!("{A}/workflows/{reference}"),
        &who.approver,
        None,
    )
    .await;
    assert_eq!(one["referenceId"], reference.as_str());

    // A developer sees no queue and decides nothing; nothing changes.
    assert_wso2_error(
        &app.get_bearer(&format!("{A}/workflows"), &who.developer)
            .await,
        StatusCode::FORBIDDEN,
    );
    assert_wso2_error(
        &decide(&app, &who.developer, &reference, "APPROVED").await,
        StatusCode::FORBIDDEN,
    );
    // A viewer without the approve scope cannot decide either.
    let viewer = app
        .access_token("workflow-admin", DEMO_PASSWORD, "apim:api_workflow_view")
        .await;
    assert_wso2_error(
        &decide(&app, &viewer, &reference, "APPROVED").await,
        StatusCode::FORBIDDEN,
    );
    assert_eq!(workflow_status(&db, &reference).await, "CREATED");

    // Bad decisions name what is wrong.
    let e = assert_wso2_error(
        &decide(&app, &who.approver, &reference, "MAYBE").await,
        StatusCode::BAD_REQUEST,
    );
    assert_eq!(e["error"][0]["code"], "status");
    let r = app
        .call(
            Method::POST,
            &format!("{A}/workflows/update-workflow-status"),
            &who.approver,
            Some(json!({"status": "APPROVED"})),
        )
        .await;
    let e = assert_wso2_error(&r, StatusCode::BAD_REQUEST);
    assert_eq!(e["error"][0]["code"], "workflowReferenceId");
    assert_wso2_error(
        &decide(
            &app,
            &who.approver,
            "6a1f3c50-0000-4000-8000-000000000000",
            "APPROVED",
        )
        .await,
        StatusCode::NOT_FOUND,
    );
    assert_wso2_error(
        &decide(&app, &who.approver, "not-a-uuid", "APPROVED").await,
        StatusCode::NOT_FOUND,
    );

    // Approved: the application works; the decision and its comment are in the audit log.
    let r = decide(&app, &who.approver, &reference, "APPROVED").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["status"], "APPROVED");
    assert_eq!(r.json()["workflow"]["decidedBy"], "workflow-admin");
    let got = ok(
        &app,
        Method::GET,
        &format!("{D}/applications/{id}"),
        &who.developer,
        None,
    )
    .await;
    assert_eq!(got["status"], "APPROVED");
    ok(
        &app,
        Method::POST,
        &format!("{D}/applications/{id}/generate-keys"),
        &who.developer,
        Some(json!({"keyType": "PRODUCTION", "grantTypesToBeSupported": ["client_credentials"]})),
    )
    .await;
    let note: String = sqlx::query_scalar(
        "SELECT detail->>'note' FROM audit_log WHERE action = 'workflow.approved' AND target_id = $1",
    )
    .bind(&reference)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(note, "APPROVED by the test");
    // Decided once: a second decision is a conflict, the queue is empty, history shows it.
    let e = assert_wso2_error(
        &decide(&app, &who.approver, &reference, "REJECTED").await,
        StatusCode::CONFLICT,
    );
    assert!(
        e["description"]
            .as_str()
            .unwrap()
            .contains("already APPROVED"),
        "{e}"
    );
    assert_eq!(queue(&app, &who.approver, "").await["count"], 0);
    assert_eq!(
        queue(&app, &who.approver, "?status=APPROVED").await["count"],
        1
    );

    // Rejected: the application stays REJECTED and cannot get keys.
    let rejected = application(&app, &who.developer, "Rejected App").await;
    let rid = rejected["applicationId"].as_str().unwrap();
    let reference = oldest_pending(&app, &who.approver).await;
    assert_eq!(
        decide(&app, &who.approver, &reference, "REJECTED")
            .await
            .status,
        StatusCode::OK
    );
    let got = ok(
        &app,
        Method::GET,
        &format!("{D}/applications/{rid}"),
        &who.developer,
        None,
    )
    .await;
    assert_eq!(got["status"], "REJECTED");
    let r = app
        .call(
            Method::POST,
            &format!("{D}/applications/{rid}/generate-keys"),
            &who.developer,
            Some(
                json!({"keyType": "PRODUCTION", "grantTypesToBeSupported": ["client_credentials"]}),
            ),
        )
        .await;
    let e = assert_wso2_error(&r, StatusCode::CONFLICT);
    assert!(
        e["description"].as_str().unwrap().contains("rejected"),
        "{e}"
    );

    // Withdrawn: deleting a pending application cancels its workflow.
    let gone = application(&app, &who.developer, "Withdrawn App").await;
    let reference = oldest_pending(&app, &who.approver).await;
    let r = app
        .call(
            Method::DELETE,
            &format!(
                "{D}/applications/{}",
                gone["applicationId"].as_str().unwrap()
            ),
            &who.developer,
            None,
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text());
    assert_eq!(workflow_status(&db, &reference).await, "CANCELLED");
    assert_eq!(queue(&app, &who.approver, "").await["count"], 0);

    // Bad switches name the entry at fault and change nothing.
    let r = switch(
        &app,
        &who.admin,
        json!([{"workflowType": "APPLICATION_CREATION", "enabled": false},
                                                {"workflowType": "COFFEE", "enabled": true}]),
    )
    .await;
    let e = assert_wso2_error(&r, StatusCode::BAD_REQUEST);
    assert_eq!(e["error"][0]["code"], "list[1].workflowType");
    let on: bool = sqlx::query_scalar(
        "SELECT enabled FROM workflow_setting WHERE workflow_type = 'APPLICATION_CREATION'",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert!(on, "the valid first entry was not applied either");
    let r = app
        .get_bearer(&format!("{A}/workflows?workflowType=COFFEE"), &who.approver)
        .await;
    assert_eq!(
        assert_wso2_error(&r, StatusCode::BAD_REQUEST)["error"][0]["code"],
        "workflowType"
    );
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn subscriptions_wait_on_hold_for_tiers_that_need_approval(db: PgPool) {
    let app = spawn(db.clone()).await;
    let who = actors(&app).await;
    let api = petstore_api(
        &app,
        &who.publisher,
        json!({"name": "Pets", "context": "/pets", "version": "1.0.0",
               "policies": ["Bronze", "Gold", "Unlimited"]}),
        true,
    )
    .await;
    let r = switch(
        &app,
        &who.admin,
        json!([{"workflowType": "SUBSCRIPTION_CREATION", "enabled": true, "tiers": ["Gold"]},
               {"workflowType": "SUBSCRIPTION_UPDATE", "enabled": true, "tiers": ["Gold"]}]),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let first = application(&app, &who.developer, "First").await;
    let first = first["applicationId"].as_str().unwrap();

    // Bronze needs no approval; Gold waits ON_HOLD.
    let bronze = subscribe(&app, &who.developer, first, &api, "Bronze").await;
    assert_eq!(bronze.status, StatusCode::CREATED, "{}", bronze.text());
    assert_eq!(bronze.json()["status"], "UNBLOCKED");
    let second = application(&app, &who.developer, "Second").await;
    let second = second["applicationId"].as_str().unwrap();
    let gold = subscribe(&app, &who.developer, second, &api, "Gold").await;
    assert_eq!(gold.status, StatusCode::CREATED, "{}", gold.text());
    assert_eq!(gold.json()["status"], "ON_HOLD");
    let gold_id = gold.json()["subscriptionId"].as_str().unwrap().to_string();

    let q = queue(
        &app,
        &who.approver,
        "?workflowType=AM_SUBSCRIPTION_CREATION",
    )
    .await;
    assert_eq!(q["count"], 1);
    let w = &q["list"][0];
    assert_eq!(w["properties"]["apiName"], "Pets");
    assert_eq!(w["properties"]["applicationName"], "Second");
    assert_eq!(w["properties"]["tier"], "Gold");
    assert_eq!(w["properties"]["subscriber"], "subscriber");
    let reference = w["referenceId"].as_str().unwrap().to_string();

    // A pending subscription's tier cannot change meanwhile.
    let r = app
        .call(
            Method::PUT,
            &format!("{D}/subscriptions/{gold_id}"),
            &who.developer,
            Some(json!({"applicationId": second, "apiId": api, "throttlingPolicy": "Bronze"})),
        )
        .await;
    assert_wso2_error(&r, StatusCode::CONFLICT);

    // Approval activates it and tells the gateways (the environment's version moves).
    let v = revision(&db).await;
    assert_eq!(
        decide(&app, &who.approver, &reference, "APPROVED")
            .await
            .status,
        StatusCode::OK
    );
    let sub = ok(
        &app,
        Method::GET,
        &format!("{D}/subscriptions/{gold_id}"),
        &who.developer,
        None,
    )
    .await;
    assert_eq!(sub["status"], "UNBLOCKED");
    assert!(revision(&db).await > v, "gateways are told");

    // A tier change to Gold waits; the old tier stays in force until approved.
    let bronze_id = bronze.json()["subscriptionId"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .call(
            Method::PUT,
            &format!("{D}/subscriptions/{bronze_id}"),
            &who.developer,
            Some(json!({"applicationId": first, "apiId": api, "throttlingPolicy": "Gold"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["status"], "TIER_UPDATE_PENDING");
    assert_eq!(r.json()["throttlingPolicy"], "Bronze");
    assert_eq!(r.json()["requestedThrottlingPolicy"], "Gold");
    let q = queue(&app, &who.approver, "?workflowType=SUBSCRIPTION_UPDATE").await;
    assert_eq!(q["list"][0]["properties"]["currentTier"], "Bronze");
    let reference = q["list"][0]["referenceId"].as_str().unwrap().to_string();
    assert_eq!(
        decide(&app, &who.approver, &reference, "APPROVED")
            .await
            .status,
        StatusCode::OK
    );
    let sub = ok(
        &app,
        Method::GET,
        &format!("{D}/subscriptions/{bronze_id}"),
        &who.developer,
        None,
    )
    .await;
    assert_eq!(sub["status"], "UNBLOCKED");
    assert_eq!(sub["throttlingPolicy"], "Gold");
    assert!(sub["requestedThrottlingPolicy"].is_null(), "{sub}");

    // Rejected: the subscription stays REJECTED (the gateway refuses it).
    let third = application(&app, &who.developer, "Third").await;
    let third = third["applicationId"].as_str().unwrap();
    let r = subscribe(&app, &who.developer, third, &api, "Gold").await;
    let rejected_id = r.json()["subscriptionId"].as_str().unwrap().to_string();
    let reference = oldest_pending(&app, &who.approver).await;
    assert_eq!(
        decide(&app, &who.approver, &reference, "REJECTED")
            .await
            .status,
        StatusCode::OK
    );
    let sub = ok(
        &app,
        Method::GET,
        &format!("{D}/subscriptions/{rejected_id}"),
        &who.developer,
        None,
    )
    .await;
    assert_eq!(sub["status"], "REJECTED");

    // Unsubscribing while pending cancels the request.
    let fourth = application(&app, &who.developer, "Fourth").await;
    let fourth = fourth["applicationId"].as_str().unwrap();
    let r = subscribe(&app, &who.developer, fourth, &api, "Gold").await;
    let pending_id = r.json()["subscriptionId"].as_str().unwrap().to_string();
    let reference = oldest_pending(&app, &who.approver).await;
    let r = app
        .call(
            Method::DELETE,
            &format!("{D}/subscriptions/{pending_id}"),
            &who.developer,
            None,
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text());
    assert_eq!(workflow_status(&db, &reference).await, "CANCELLED");
    assert_eq!(
        decide(&app, &who.approver, &reference, "APPROVED")
            .await
            .status,
        StatusCode::CONFLICT
    );
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_decision_that_fails_half_way_changes_nothing(db: PgPool) {
    let app = spawn(db.clone()).await;
    let who = actors(&app).await;
    let api = petstore_api(
        &app,
        &who.publisher,
        json!({"name": "Pets", "context": "/pets", "version": "1.0.0", "policies": ["Gold"]}),
        true,
    )
    .await;
    switch(
        &app,
        &who.admin,
        json!([{"workflowType": "SUBSCRIPTION_CREATION", "enabled": true}]),
    )
    .await;
    let a = application(&app, &who.developer, "Crashy").await;
    let r = subscribe(
        &app,
        &who.developer,
        a["applicationId"].as_str().unwrap(),
        &api,
        "Gold",
    )
    .await;
    let sub = r.json()["subscriptionId"].as_str().unwrap().to_string();
    let reference = oldest_pending(&app, &who.approver).await;

    // The last step of the decision (the workflow row's own update) fails after the
    // subscription, the gateways' version and the audit entry were written.
    sqlx::raw_sql(
        "CREATE FUNCTION fail_decision() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN RAISE EXCEPTION 'simulated crash'; END $$;
         CREATE TRIGGER fail_decision BEFORE UPDATE ON workflow
           FOR EACH ROW EXECUTE FUNCTION fail_decision();",
    )
    .execute(&db)
    .await
    .unwrap();
    let v = revision(&db).await;
    let audits = count(&db, "SELECT count(*) FROM audit_log").await;
    let r = decide(&app, &who.approver, &reference, "APPROVED").await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", r.text());
    let status: String = sqlx::query_scalar("SELECT status FROM subscription WHERE id = $1::uuid")
        .bind(&sub)
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(status, "ON_HOLD", "neither the effect …");
    assert_eq!(
        workflow_status(&db, &reference).await,
        "CREATED",
        "… nor the decision"
    );
    assert_eq!(revision(&db).await, v, "… nor a gateway update");
    assert_eq!(
        count(&db, "SELECT count(*) FROM audit_log").await,
        audits,
        "… nor an audit entry"
    );

    // Once the fault is gone, the same decision goes through whole.
    sqlx::raw_sql("DROP TRIGGER fail_decision ON workflow")
        .execute(&db)
        .await
        .unwrap();
    assert_eq!(
        decide(&app, &who.approver, &reference, "APPROVED")
            .await
            .status,
        StatusCode::OK
    );
    assert!(revision(&db).await > v);
}

async fn snapshot(app: &TestApp, admin: &str) -> String {
    let r = app
        .get_bearer("/api/am/gateway/v1/environments/Default/snapshot", admin)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.text()
}

async fn revision_of_api(app: &TestApp, publisher: &str, api: &str) -> String {
    let r = app
        .call(
            Method::POST,
            &format!("/api/am/publisher/v4/apis/{api}/revisions"),
            publisher,
            Some(json!({"description": "second"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    r.json()["id"].as_str().unwrap().to_string()
}

async fn deploy(app: &TestApp, publisher: &str, api: &str, revision: &str) -> common::Resp {
    app.call(
        Method::POST,
        &format!("/api/am/publisher/v4/apis/{api}/deploy-revision?revisionId={revision}"),
        publisher,
        Some(json!([{"name": "Default"}])),
    )
    .await
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn deployments_wait_for_approval_and_refusals_leave_no_trace(db: PgPool) {
    let app = spawn(db.clone()).await;
    let who = actors(&app).await;
    let admin = app
        .access_token("admin", ADMIN_PASSWORD, "apim:admin apim:environment_read")
        .await;
    // Revision 1 goes live directly (approval off) with the backend on port 9.
    let api = petstore_api(
        &app,
        &who.publisher,
        json!({"name": "Pets", "context": "/pets", "version": "1.0.0"}),
        true,
    )
    .await;
    assert!(snapshot(&app, &admin).await.contains("127.0.0.1:9\""));
    // Revision 2 points at port 19.
    let p = "/api/am/publisher/v4/apis";
    let mut body = ok(
        &app,
        Method::GET,
        &format!("{p}/{api}"),
        &who.publisher,
        None,
    )
    .await;
    body["endpointConfig"]["production_endpoints"]["url"] = json!("http://127.0.0.1:19");
    ok(
        &app,
        Method::PUT,
        &format!("{p}/{api}"),
        &who.publisher,
        Some(body),
    )
    .await;
    let r2 = revision_of_api(&app, &who.publisher, &api).await;
    let r = switch(
        &app,
        &who.admin,
        json!([{"workflowType": "REVISION_DEPLOYMENT", "enabled": true}]),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());

    // Requested: listed as CREATED beside what is live; the gateways see no change.
    let v = revision(&db).await;
    let before = snapshot(&app, &admin).await;
    let r = deploy(&app, &who.publisher, &api, &r2).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let states: Vec<(String, String)> = r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["revisionUuid"].as_str().unwrap().to_string(),
                d["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        states.contains(&(r2.clone(), "CREATED".into())),
        "{states:?}"
    );
    assert!(
        states
            .iter()
            .any(|(rev, st)| rev != &r2 && st == "APPROVED"),
        "{states:?}"
    );
    assert_eq!(revision(&db).await, v, "no gateway update while pending");
    assert_eq!(snapshot(&app, &admin).await, before);
    // One request per environment at a time.
    let again = deploy(&app, &who.publisher, &api, &r2).await;
    assert_eq!(
        assert_wso2_error(&again, StatusCode::CONFLICT)["error"][0]["code"],
        "name"
    );

    // The approver sees what would change.
    let q = queue(&app, &who.approver, "?workflowType=REVISION_DEPLOYMENT").await;
    assert_eq!(q["count"], 1);
    let w = &q["list"][0];
    assert_eq!(w["properties"]["environment"], "Default");
    assert_eq!(w["properties"]["revision"], "Revision 2");
    assert_eq!(w["properties"]["liveRevision"], "Revision 1");
    assert_eq!(w["requestedBy"], "publisher");
    let reference = w["referenceId"].as_str().unwrap().to_string();

    // Rejected: nothing of it anywhere.
    assert_eq!(
        decide(&app, &who.approver, &reference, "REJECTED")
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM pending_deployment").await,
        0
    );
    assert_eq!(snapshot(&app, &admin).await, before);
    assert_eq!(revision(&db).await, v);

    // Cancelled by the publisher: the same.
    assert_eq!(
        deploy(&app, &who.publisher, &api, &r2).await.status,
        StatusCode::CREATED
    );
    let reference = oldest_pending(&app, &who.approver).await;
    let cancel = format!("{p}/{api}/cancel-revision-workflow/{r2}/Default");
    let r = app.call(Method::POST, &cancel, &who.developer, None).await;
    assert_wso2_error(&r, StatusCode::FORBIDDEN);
    let r = app.call(Method::POST, &cancel, &who.publisher, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(workflow_status(&db, &reference).await, "CANCELLED");
    assert_eq!(snapshot(&app, &admin).await, before);
    assert_wso2_error(
        &app.call(Method::POST, &cancel, &who.publisher, None).await,
        StatusCode::NOT_FOUND,
    );

    // Approved: revision 2 replaces revision 1 on the gateways.
    assert_eq!(
        deploy(&app, &who.publisher, &api, &r2).await.status,
        StatusCode::CREATED
    );
    let reference = oldest_pending(&app, &who.approver).await;
    assert_eq!(
        decide(&app, &who.approver, &reference, "APPROVED")
            .await
            .status,
        StatusCode::OK
    );
    let after = snapshot(&app, &admin).await;
    assert!(after.contains("127.0.0.1:19\""), "{after}");
    assert!(!after.contains("127.0.0.1:9\""), "{after}");
    assert!(revision(&db).await > v);
    let live = ok(
        &app,
        Method::GET,
        &format!("{p}/{api}/deployments"),
        &who.publisher,
        None,
    )
    .await;
    let live = live
        .get("list")
        .unwrap_or(&live)
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(live.len(), 1, "{live:?}");
    assert_eq!(live[0]["revisionUuid"], r2.as_str());
    assert_eq!(live[0]["status"], "APPROVED");
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn deleting_an_api_withdraws_what_waits_for_it(db: PgPool) {
    let app = spawn(db.clone()).await;
    let who = actors(&app).await;
    let publisher = app
        .access_token(
            "publisher",
            DEMO_PASSWORD,
            "apim:api_view apim:api_create apim:api_publish apim:api_manage apim:api_delete",
        )
        .await;
    let api = petstore_api(
        &app,
        &publisher,
        json!({"name": "Pets", "context": "/pets", "version": "1.0.0", "policies": ["Gold"]}),
        true,
    )
    .await;
    switch(
        &app,
        &who.admin,
        json!([{"workflowType": "SUBSCRIPTION_CREATION", "enabled": true},
               {"workflowType": "REVISION_DEPLOYMENT", "enabled": true}]),
    )
    .await;
    let a = application(&app, &who.developer, "Waiting").await;
    let r = subscribe(
        &app,
        &who.developer,
        a["applicationId"].as_str().unwrap(),
        &api,
        "Gold",
    )
    .await;
    assert_eq!(r.json()["status"], "ON_HOLD");
    let r2 = revision_of_api(&app, &publisher, &api).await;
    assert_eq!(
        deploy(&app, &publisher, &api, &r2).await.status,
        StatusCode::CREATED
    );
    assert_eq!(queue(&app, &who.approver, "").await["count"], 2);

    // A published API is retired before it is deleted.
    for action in ["Deprecate", "Retire"] {
        let r = app
            .call(
                Method::POST,
                &format!(
                    "/api/am/publisher/v4/apis/change-lifecycle?apiId={api}&action={}",
                    action.replace(' ', "%20")
                ),
                &publisher,
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{action}: {}", r.text());
    }
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/am/publisher/v4/apis/{api}"),
            &publisher,
            None,
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text());
    assert_eq!(queue(&app, &who.approver, "").await["count"], 0);
    assert_eq!(
        queue(&app, &who.approver, "?status=CANCELLED").await["count"],
        2
    );
}

/// `POST …/change-lifecycle` for `api`.
async fn change_state(app: &TestApp, publisher: &str, api: &str, action: &str) -> common::Resp {
    app.call(
        Method::POST,
        &format!(
            "/api/am/publisher/v4/apis/change-lifecycle?apiId={api}&action={}",
            action.replace(' ', "%20")
        ),
        publisher,
        None,
    )
    .await
}

async fn state_of(app: &TestApp, publisher: &str, api: &str) -> Value {
    ok(
        app,
        Method::GET,
        &format!("/api/am/publisher/v4/apis/{api}/lifecycle-state"),
        publisher,
        None,
    )
    .await
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn lifecycle_changes_wait_for_approval(db: PgPool) {
    let app = spawn(db.clone()).await;
    let who = actors(&app).await;
    let api = petstore_api(&app, &who.publisher, json!({}), false).await;
    let rev = revision_of_api(&app, &who.publisher, &api).await;
    let r = deploy(&app, &who.publisher, &api, &rev).await;
    assert!(r.status.is_success(), "{}", r.text());
    let r = switch(
        &app,
        &who.admin,
        json!([{"workflowType": "AM_API_STATE", "enabled": true}]),
    )
    .await;
    assert!(r.status.is_success(), "{}", r.text());

    // Publishing asks; the API stays CREATED and shows what waits.
    let r = change_state(&app, &who.publisher, &api, "Publish").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let body = r.json();
    assert_eq!(body["workflowStatus"], "CREATED", "{body}");
    assert_eq!(body["lifecycleState"]["state"], "CREATED");
    let state = state_of(&app, &who.publisher, &api).await;
    assert_eq!(state["state"], "CREATED");
    assert_eq!(state["pending"]["targetState"], "PUBLISHED", "{state}");
    assert_eq!(state["pending"]["requestedBy"], "publisher");
    // One request at a time.
    let again = change_state(&app, &who.publisher, &api, "Deploy as a Prototype").await;
    assert_wso2_error(&again, StatusCode::CONFLICT);
    // The approver sees what and who; approval moves the API, with the history and audit.
    let q = queue(&app, &who.approver, "?workflowType=API_STATE").await;
    assert_eq!(q["count"], 1, "{q}");
    let item = &q["list"][0];
    assert_eq!(item["properties"]["currentState"], "CREATED");
    assert_eq!(item["properties"]["targetState"], "PUBLISHED");
    assert_eq!(item["requestedBy"], "publisher");
    let reference = item["referenceId"].as_str().unwrap().to_string();
    let r = decide(&app, &who.approver, &reference, "APPROVED").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let state = state_of(&app, &who.publisher, &api).await;
    assert_eq!(state["state"], "PUBLISHED");
    assert!(state.get("pending").is_none(), "{state}");
    let history = ok(
        &app,
        Method::GET,
        &format!("/api/am/publisher/v4/apis/{api}/lifecycle-history"),
        &who.publisher,
        None,
    )
    .await;
    let last = history["list"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["postState"], "PUBLISHED");
    assert_eq!(last["user"], "publisher", "the requester made the change");

    // Withdrawn: the workflow is CANCELLED and the API keeps its state; nothing left to cancel.
    let r = change_state(&app, &who.publisher, &api, "Block").await;
    assert_eq!(r.json()["workflowStatus"], "CREATED");
    let pending_ref = oldest_pending(&app, &who.approver).await;
    let cancel = format!("/api/am/publisher/v4/apis/{api}/lifecycle-state/pending-tasks");
    let r = app
        .call(Method::DELETE, &cancel, &who.publisher, None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(workflow_status(&db, &pending_ref).await, "CANCELLED");
    assert_eq!(
        state_of(&app, &who.publisher, &api).await["state"],
        "PUBLISHED"
    );
    let r = app
        .call(Method::DELETE, &cancel, &who.publisher, None)
        .await;
    assert_wso2_error(&r, StatusCode::NOT_FOUND);
    // A developer cannot withdraw it.
    let r = app
        .call(Method::DELETE, &cancel, &who.developer, None)
        .await;
    assert_wso2_error(&r, StatusCode::FORBIDDEN);

    // Rejected: nothing moves.
    change_state(&app, &who.publisher, &api, "Block").await;
    let reference = oldest_pending(&app, &who.approver).await;
    let r = decide(&app, &who.approver, &reference, "REJECTED").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let state = state_of(&app, &who.publisher, &api).await;
    assert_eq!(state["state"], "PUBLISHED");
    assert!(state.get("pending").is_none());

    // A request the API outgrew (the state changed meanwhile) cannot be approved, only rejected.
    change_state(&app, &who.publisher, &api, "Block").await;
    let stale = oldest_pending(&app, &who.approver).await;
    sqlx::query("UPDATE api SET lifecycle_status = 'DEPRECATED' WHERE id = $1::uuid")
        .bind(&api)
        .execute(&db)
        .await
        .unwrap();
    let r = decide(&app, &who.approver, &stale, "APPROVED").await;
    assert_wso2_error(&r, StatusCode::CONFLICT);
    assert_eq!(workflow_status(&db, &stale).await, "CREATED");
    let r = decide(&app, &who.approver, &stale, "REJECTED").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM audit_log WHERE action IN ('workflow.approved', 'workflow.rejected')"
        )
        .await,
        3
    );
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn self_sign_up_waits_for_approval(db: PgPool) {
    let app = spawn(db.clone()).await;
    let who = actors(&app).await;
    let r = switch(
        &app,
        &who.admin,
        json!([{"workflowType": "USER_SIGNUP", "enabled": true}]),
    )
    .await;
    assert!(r.status.is_success(), "{}", r.text());
    let sign_up = |name: &'static str| {
        app.post_json(
            "/auth/sign-up",
            json!({"username": name, "email": format!("{name}@example.com"), "password": "long enough pw"}),
            &[],
        )
    };
    let sign_in = |name: &'static str| {
        app.post_json(
            "/auth/sign-in",
            json!({"username": name, "password": "long enough pw"}),
            &[],
        )
    };
    let r = sign_up("newdev").await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    assert_eq!(r.json()["status"], "PENDING_APPROVAL");
    assert!(
        r.set_cookie("gh_session").is_none(),
        "no session before approval"
    );
    // Waiting: the right password gets a clear refusal, as does the token endpoint.
    let r = sign_in("newdev").await;
    assert_wso2_error(&r, StatusCode::FORBIDDEN);
    assert!(r.text().contains("approval"), "{}", r.text());
    let q = queue(&app, &who.approver, "?workflowType=USER_SIGNUP").await;
    assert_eq!(
        q["list"][0]["properties"]["email"], "newdev@example.com",
        "{q}"
    );
    let reference = q["list"][0]["referenceId"].as_str().unwrap().to_string();
    let r = decide(&app, &who.approver, &reference, "APPROVED").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(sign_in("newdev").await.status, StatusCode::OK);

    // Rejected: the account goes and the name is free again.
    assert_eq!(sign_up("spammer").await.status, StatusCode::ACCEPTED);
    let reference = oldest_pending(&app, &who.approver).await;
    let r = decide(&app, &who.approver, &reference, "REJECTED").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM app_user WHERE username = 'spammer'"
        )
        .await,
        0
    );
    assert_eq!(sign_in("spammer").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(sign_up("spammer").await.status, StatusCode::ACCEPTED);
}
