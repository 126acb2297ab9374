//! DevPortal v3 REST catalogue through the real router and database: visibility (anonymous,
//! organization, roles), lifecycle states listed, WSO2's search syntax, pagination, the API
//! page's operations and gateway URLs, the definition.

mod common;

use axum::http::StatusCode;
use common::*;
use serde_json::{Value, json};
use sqlx::PgPool;

const P: &str = "/api/am/publisher/v4";
const D: &str = "/api/am/devportal/v3";

async fn api(app: &TestApp, token: &str, extra: Value, publish: bool) -> String {
    petstore_api(app, token, extra, publish).await
}

fn names(v: &Value) -> Vec<String> {
    v["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_string())
        .collect()
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn the_catalogue_shows_what_each_visitor_may_see(db: PgPool) {
    let app = spawn(db).await;
    let publisher = app
        .access_token(
            "publisher",
            DEMO_PASSWORD,
            "apim:api_view apim:api_create apim:api_publish apim:api_manage",
        )
        .await;
    let public = api(
        &app,
        &publisher,
        json!({"name": "Public Pets", "context": "/pets", "version": "1.0.0", "tags": ["animals"],
               "businessInformation": {"businessOwner": "Ann Owner", "businessOwnerEmail": "ann@example.com"},
               "monetization": {"enabled": true}, "policies": ["Gold", "Unlimited"]}),
        true,
    )
    .await;
    api(&app, &publisher, json!({"name": "Org Pets", "context": "/org-pets", "version": "1.0.0", "visibility": "PRIVATE"}), true).await;
    api(
        &app,
        &publisher,
        json!({"name": "Team Pets", "context": "/team-pets", "version": "1.0.0",
                                 "visibility": "RESTRICTED", "visibleRoles": ["publisher"]}),
        true,
    )
    .await;
    api(
        &app,
        &publisher,
        json!({"name": "Draft Pets", "context": "/draft-pets", "version": "1.0.0"}),
        false,
    )
    .await;

    // Anonymous: public and published only, WSO2's fields.
    let anon = app.get(&format!("{D}/apis"), None).await;
    assert_eq!(anon.status, StatusCode::OK, "{}", anon.text());
    let anon = anon.json();
    assert_eq!(names(&anon), ["Public Pets"]);
    let entry = &anon["list"][0];
    assert_eq!(entry["businessInformation"]["businessOwner"], "Ann Owner");
    assert_eq!(entry["monetizationLabel"], "Paid");
    assert_eq!(entry["throttlingPolicies"], json!(["Gold", "Unlimited"]));
    assert_eq!(entry["lifeCycleStatus"], "PUBLISHED");
    assert_eq!(anon["pagination"]["total"], 1);
    // A bad token is refused, not treated as anonymous.
    let r = app.get_bearer(&format!("{D}/apis"), "not-a-token").await;
    assert_wso2_error(&r, StatusCode::UNAUTHORIZED);

    // Signed in: the organization's too; roles open restricted ones.
    let sub = app
        .access_token("subscriber", DEMO_PASSWORD, "apim:subscribe")
        .await;
    let r = app.get_bearer(&format!("{D}/apis"), &sub).await.json();
    assert_eq!(names(&r), ["Org Pets", "Public Pets"]);
    let r = app
        .get_bearer(&format!("{D}/apis"), &publisher)
        .await
        .json();
    assert_eq!(names(&r), ["Org Pets", "Public Pets", "Team Pets"]);

    // Search: prefixes, free words (also inside the definition), nothing found.
    for (query, want) in [
        ("tag:animals", vec!["Public Pets"]),
        ("name:team", vec!["Team Pets"]),
        ("context:/org", vec!["Org Pets"]),
        ("showPetById", vec!["Org Pets", "Public Pets", "Team Pets"]),
        ("name:nothing-like-this", vec![]),
    ] {
        let r = app
            .get_bearer(
                &format!("{D}/apis?query={}", query.replace('/', "%2F")),
                &publisher,
            )
            .await
            .json();
        assert_eq!(names(&r), want, "{query}");
    }
    // Pagination in WSO2's shape.
    let r = app
        .get_bearer(&format!("{D}/apis?limit=2&offset=0"), &publisher)
        .await
        .json();
    assert_eq!(r["count"], 2);
    assert_eq!(r["pagination"]["total"], 3);
    assert!(
        r["pagination"]["next"]
            .as_str()
            .unwrap()
            .contains("offset=2")
    );
    let r = app
        .get_bearer(&format!("{D}/apis?limit=2&offset=2"), &publisher)
        .await
        .json();
    assert_eq!(names(&r), ["Team Pets"]);

    // The API page: operations documented from the document, gateway URLs, tiers.
    let a = app.get(&format!("{D}/apis/{public}"), None).await.json();
    assert_eq!(a["name"], "Public Pets");
    assert_eq!(a["endpointURLs"][0]["environmentName"], "Default");
    assert_eq!(
        a["endpointURLs"][0]["URLs"]["http"],
        "http://localhost:8280/pets/1.0.0"
    );
    assert_eq!(a["tiers"][0]["tierName"], "Gold");
    assert_eq!(a["tiers"][0]["tierPlan"], "COMMERCIAL");
    let ops = a["operations"].as_array().unwrap();
    assert_eq!(ops.len(), 3);
    let show = ops.iter().find(|o| o["target"] == "/pets/{petId}").unwrap();
    assert_eq!(show["summary"], "Info for a specific pet");
    assert_eq!(show["tags"], json!(["pets"]));
    assert_eq!(show["parameters"][0]["name"], "petId");
    assert_eq!(show["parameters"][0]["in"], "path");
    assert_eq!(show["parameters"][0]["required"], true);
    let doc = app.get(&format!("{D}/apis/{public}/swagger"), None).await;
    assert_eq!(doc.status, StatusCode::OK);
    assert_eq!(doc.json()["info"]["title"], "Swagger Petstore");

    // What a visitor may not see does not exist for them.
    let team = app
        .get_bearer(&format!("{P}/apis?query=Team"), &publisher)
        .await
        .json();
    let team_id = team["list"][0]["id"].as_str().unwrap();
    let r = app.get(&format!("{D}/apis/{team_id}"), None).await;
    assert_wso2_error(&r, StatusCode::NOT_FOUND);
    let r = app.get_bearer(&format!("{D}/apis/{team_id}"), &sub).await;
    assert_wso2_error(&r, StatusCode::NOT_FOUND);
    let r = app
        .get_bearer(&format!("{D}/apis/{team_id}"), &publisher)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app.get(&format!("{D}/apis/not-an-id"), None).await;
    assert_wso2_error(&r, StatusCode::NOT_FOUND);
}
