//! Publisher v4 REST: APIs from OpenAPI documents, validation, settings, owners, lifecycle,
//! revisions, deployments and API products — through the real router and database.

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use serde_json::{Value, json};
use sqlx::PgPool;

const P: &str = "/api/am/publisher/v4";
const PUBLISHER_SCOPES: &str =
    "apim:api_view apim:api_create apim:api_publish apim:api_manage apim:api_delete";
const ADMIN_SCOPES: &str = "apim:admin apim:api_view apim:api_create apim:api_publish apim:api_manage apim:api_delete apim:environment_read";

fn as_value(path: &str) -> Value {
    let bytes = fixture(path);
    if path.ends_with(".json") {
        serde_json::from_slice(&bytes).unwrap()
    } else {
        serde_norway::from_slice(&bytes).unwrap()
    }
}

async fn admin(app: &TestApp) -> String {
    app.access_token("admin", ADMIN_PASSWORD, ADMIN_SCOPES)
        .await
}

async fn publisher(app: &TestApp) -> String {
    app.access_token("publisher", DEMO_PASSWORD, PUBLISHER_SCOPES)
        .await
}

/// Imports `doc` with the given additional properties; returns the response.
async fn import(app: &TestApp, token: &str, file: &str, doc: &[u8], extra: Value) -> Resp {
    let extra = extra.to_string();
    app.multipart(
        Method::POST,
        &format!("{P}/apis/import-openapi"),
        token,
        &[
            ("file", Some(file), doc),
            ("additionalProperties", None, extra.as_bytes()),
        ],
    )
    .await
}

fn pizza(context: &str) -> Value {
    json!({
        "name": "Pizza Shack API",
        "context": context,
        "version": "1.0.0",
        "description": "Order pizza",
        "endpointConfig": {
            "endpoint_type": "http",
            "production_endpoints": {"url": "http://127.0.0.1:9"},
            "sandbox_endpoints": {"url": "http://127.0.0.1:10"}
        },
        "operations": [
            {"target": "/menu", "verb": "GET", "authType": "None"},
            {"target": "/order/{orderId}", "verb": "get"},
            {"target": "/order", "verb": "POST", "throttlingPolicy": "10KPerMin"}
        ]
    })
}

async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let r = app
        .call(Method::POST, &format!("{P}/apis"), token, Some(body))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    r.json()
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn every_oai_example_imports_with_its_operations_and_exports_equivalent(db: PgPool) {
    let app = spawn(db).await;
    let token = admin(&app).await;
    let examples: &[(&str, usize)] = &[
        ("v2.0/json/api-with-examples.json", 2),
        ("v2.0/json/petstore-expanded.json", 4),
        ("v2.0/json/petstore-minimal.json", 1),
        ("v2.0/json/petstore-separate/spec/swagger.json", 4),
        ("v2.0/json/petstore-simple.json", 4),
        ("v2.0/json/petstore-with-external-docs.json", 4),
        ("v2.0/json/petstore.json", 3),
        ("v2.0/json/uber.json", 5),
        ("v2.0/yaml/api-with-examples.yaml", 2),
        ("v2.0/yaml/petstore-expanded.yaml", 4),
        ("v2.0/yaml/petstore-minimal.yaml", 1),
        ("v2.0/yaml/petstore-separate/spec/swagger.yaml", 4),
        ("v2.0/yaml/petstore-simple.yaml", 4),
        ("v2.0/yaml/petstore-with-external-docs.yaml", 4),
        ("v2.0/yaml/petstore.yaml", 3),
        ("v2.0/yaml/uber.yaml", 5),
        ("v3.0/api-with-examples.json", 2),
        ("v3.0/api-with-examples.yaml", 2),
        ("v3.0/callback-example.json", 1),
        ("v3.0/callback-example.yaml", 1),
        ("v3.0/link-example.json", 6),
        ("v3.0/link-example.yaml", 6),
        ("v3.0/petstore-expanded.json", 4),
        ("v3.0/petstore-expanded.yaml", 4),
        ("v3.0/petstore.json", 3),
        ("v3.0/petstore.yaml", 3),
        ("v3.0/uspto.json", 3),
        ("v3.0/uspto.yaml", 3),
        ("v3.1/non-oauth-scopes.json", 1),
        ("v3.1/non-oauth-scopes.yaml", 1),
        ("v3.1/webhook-example.json", 0),
        ("v3.1/webhook-example.yaml", 0),
    ];
    for (i, (path, operations)) in examples.iter().enumerate() {
        let file = format!("oai-examples/{path}");
        let r = import(
            &app,
            &token,
            path.rsplit('/').next().unwrap(),
            &fixture(&file),
            json!({"name": format!("Example {i}"), "context": format!("/example{i}"), "version": "1.0.0"}),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{path}: {}", r.text());
        let api = r.json();
        assert_eq!(
            api["operations"].as_array().unwrap().len(),
            *operations,
            "{path}: {api}"
        );
        let exported = app
            .get_bearer(
                &format!("{P}/apis/{}/swagger", api["id"].as_str().unwrap()),
                &token,
            )
            .await;
        assert_eq!(exported.status, StatusCode::OK, "{path}");
        assert_eq!(exported.json(), as_value(&file), "{path}: export differs");
        // Key order too: the export reads like the document the author wrote.
        assert_eq!(
            serde_json::to_string(&exported.json()).unwrap(),
            serde_json::to_string(&as_value(&file)).unwrap(),
            "{path}: export reorders keys"
        );
    }
    // Pasted text works like a file.
    let inline = fixture("oai-examples/v3.1/non-oauth-scopes.yaml");
    let r = app
        .multipart(
            Method::POST,
            &format!("{P}/apis/import-openapi"),
            &token,
            &[
                ("inlineAPIDefinition", None, &inline),
                ("additionalProperties", None, br#"{"context": "/inline"}"#),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    // Name and version come from the document when not given.
    let api = r.json();
    assert_eq!(api["name"], "Non-oAuth Scopes example");
    assert_eq!(api["version"], "1.0.0");
    assert_eq!(api["context"], "/inline");
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn definitions_are_fetched_from_urls(db: PgPool) {
    let app = spawn(db).await;
    let token = admin(&app).await;
    // A real HTTP server on a free port serving the fixture folder.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let files = axum::Router::new()
        .route(
            "/petstore.yaml",
            axum::routing::get(|| async { fixture("oai-examples/v3.0/petstore.yaml") }),
        )
        .route(
            "/moved",
            axum::routing::get(|| async { axum::response::Redirect::temporary("/petstore.yaml") }),
        );
    tokio::spawn(async move { axum::serve(listener, files).await.unwrap() });
    let url = format!("http://{addr}/moved");
    let r = app
        .multipart(
            Method::POST,
            &format!("{P}/apis/validate-openapi"),
            &token,
            &[("url", None, url.as_bytes())],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    assert_eq!(v["isValid"], true, "{v}");
    assert_eq!(v["info"]["openAPIVersion"], "3.0.0");
    assert_eq!(v["info"]["name"], "Swagger Petstore");
    assert_eq!(v["info"]["endpoints"][0], "http://petstore.swagger.io/v1");

    let r = app
        .multipart(
            Method::POST,
            &format!("{P}/apis/import-openapi"),
            &token,
            &[("url", None, url.as_bytes())],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let api = r.json();
    assert_eq!(api["context"], "/v1");
    assert_eq!(api["operations"].as_array().unwrap().len(), 3);
    assert_eq!(
        api["endpointConfig"]["production_endpoints"]["url"],
        "http://petstore.swagger.io/v1"
    );

    // Unreachable and missing documents name the field.
    let missing = format!("http://{addr}/nothing.yaml");
    let r = app
        .multipart(
            Method::POST,
            &format!("{P}/apis/import-openapi"),
            &token,
            &[("url", None, missing.as_bytes())],
        )
        .await;
    let j = assert_wso2_error(&r, StatusCode::BAD_REQUEST);
    assert_eq!(j["error"][0]["code"], "url", "{j}");
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn malformed_documents_are_refused_with_every_problem_and_nothing_created(db: PgPool) {
    let app = spawn(db).await;
    let token = admin(&app).await;
    let dir = format!("{FIXTURES}/oas31-schema-suite/fail");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 10);
    for path in &files {
        let doc = std::fs::read(path).unwrap();
        let name = path.file_name().unwrap().to_str().unwrap();
        let r = import(
            &app,
            &token,
            name,
            &doc,
            json!({"context": "/x", "version": "1"}),
        )
        .await;
        let j = assert_wso2_error(&r, StatusCode::BAD_REQUEST);
        let errors = j["error"].as_array().unwrap();
        assert!(!errors.is_empty(), "{name}: {j}");
        for e in errors {
            assert!(
                e["code"].as_str().unwrap().starts_with('/'),
                "{name}: the problem must point into the document: {e}"
            );
        }
        // validate-openapi answers 200 with the same problems.
        let v = app
            .multipart(
                Method::POST,
                &format!("{P}/apis/validate-openapi"),
                &token,
                &[("file", Some(name), &doc)],
            )
            .await;
        assert_eq!(v.status, StatusCode::OK);
        let v = v.json();
        assert_eq!(v["isValid"], false, "{name}");
        assert_eq!(
            v["errors"].as_array().unwrap().len(),
            errors.len(),
            "{name}"
        );
    }
    // Several problems in one document are all listed, each with its pointer.
    let bad = br#"{"openapi": "3.0.3", "info": {"title": "T"},
                   "paths": {"/a/{id}": {"get": {"responses": {}}},
                             "b": {}}}"#;
    let r = import(&app, &token, "bad.json", bad, json!({})).await;
    let j = assert_wso2_error(&r, StatusCode::BAD_REQUEST);
    let pointers: Vec<&str> = j["error"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert!(
        pointers.contains(&"/info/version") || pointers.contains(&"/info"),
        "{j}"
    );
    assert!(pointers.iter().any(|p| p.starts_with("/paths/b")), "{j}");
    assert!(pointers.len() >= 3, "{j}");
    // Not a document at all.
    let r = import(&app, &token, "x.json", b"{\"openapi\": ", json!({})).await;
    let j = assert_wso2_error(&r, StatusCode::BAD_REQUEST);
    assert!(j["description"].as_str().unwrap().contains("line"), "{j}");
    // additionalProperties that is not JSON names the field.
    let r = import(
        &app,
        &token,
        "p.yaml",
        &fixture("oai-examples/v3.0/petstore.yaml"),
        json!("{"),
    )
    .await;
    assert_wso2_error(&r, StatusCode::BAD_REQUEST);
    assert_eq!(count(&app.db, "SELECT count(*) FROM api").await, 0);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn apis_by_hand_with_settings_and_clear_field_errors(db: PgPool) {
    let app = spawn(db).await;
    let token = publisher(&app).await;
    let api = create(&app, &token, pizza("pizzashack/")).await;
    let id = api["id"].as_str().unwrap().to_string();
    assert_eq!(api["name"], "Pizza Shack API");
    assert_eq!(api["context"], "/pizzashack");
    assert_eq!(api["provider"], "publisher");
    assert_eq!(api["lifeCycleStatus"], "CREATED");
    assert_eq!(api["apiKeyHeader"], "ApiKey");
    assert_eq!(api["operations"][1]["verb"], "GET");
    assert_eq!(api["operations"][0]["authType"], "None");
    assert_eq!(api["operations"][2]["throttlingPolicy"], "10KPerMin");

    // A definition was generated and follows the operations.
    let doc = app
        .get_bearer(&format!("{P}/apis/{id}/swagger"), &token)
        .await
        .json();
    assert!(doc["paths"]["/order/{orderId}"]["get"].is_object(), "{doc}");

    // Field errors name the field.
    let cases = [
        (json!({"context": "/x", "version": "1"}), "name"),
        (
            json!({"name": "A/B", "context": "/x", "version": "1"}),
            "name",
        ),
        (
            json!({"name": "A", "context": "/a b", "version": "1"}),
            "context",
        ),
        (
            json!({"name": "A", "context": "/a", "version": "1 0"}),
            "version",
        ),
        (
            json!({"name": "A", "context": "/a", "version": "1", "visibility": "SECRET"}),
            "visibility",
        ),
        (
            json!({"name": "A", "context": "/a", "version": "1",
                   "endpointConfig": {"endpoint_type": "http", "production_endpoints": {"url": "ftp://x"}}}),
            "endpointConfig.production_endpoints.url",
        ),
        (
            json!({"name": "A", "context": "/a", "version": "1",
                   "operations": [{"target": "/x", "verb": "FETCH"}]}),
            "operations[0].verb",
        ),
        (
            json!({"name": "A", "context": "/a", "version": "1",
                   "businessInformation": {"businessOwnerEmail": "nope"}}),
            "businessInformation.businessOwnerEmail",
        ),
    ];
    for (body, field) in cases {
        let r = app
            .call(
                Method::POST,
                &format!("{P}/apis"),
                &token,
                Some(body.clone()),
            )
            .await;
        let j = assert_wso2_error(&r, StatusCode::BAD_REQUEST);
        assert!(
            j["error"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["code"] == field),
            "{body} → {j}"
        );
    }
    // Same context and version → 409 on `context`; same context for another API → 409 too.
    let r = app
        .call(
            Method::POST,
            &format!("{P}/apis"),
            &token,
            Some(pizza("/pizzashack")),
        )
        .await;
    let j = assert_wso2_error(&r, StatusCode::CONFLICT);
    assert_eq!(j["error"][0]["code"], "context");
    let mut other = pizza("/pizzashack");
    other["name"] = json!("Other");
    other["version"] = json!("2.0.0");
    let r = app
        .call(Method::POST, &format!("{P}/apis"), &token, Some(other))
        .await;
    let j = assert_wso2_error(&r, StatusCode::CONFLICT);
    assert_eq!(j["error"][0]["code"], "context");
    // Malformed JSON.
    let r = app
        .send(
            axum::http::Request::post(format!("{P}/apis"))
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "application/json")
                .body(axum::body::Body::from("{\"name\": "))
                .unwrap(),
        )
        .await;
    assert_wso2_error(&r, StatusCode::BAD_REQUEST);

    // Settings round-trip: business info, tags, custom API-key header, CORS, monetization.
    let mut edit = api.clone();
    edit["businessInformation"] = json!({"businessOwner": "Ann Owner", "businessOwnerEmail": "ann@example.com",
                                         "technicalOwner": "Tom Tech", "technicalOwnerEmail": "tom@example.com"});
    edit["tags"] = json!(["food", "orders"]);
    edit["apiKeyHeader"] = json!("X-Pizza-Key");
    edit["monetization"] = json!({"enabled": true, "properties": {}});
    edit["corsConfiguration"]["corsConfigurationEnabled"] = json!(true);
    edit["securityScheme"] = json!(["oauth2", "api_key"]);
    edit["operations"] = json!([
        {"target": "/menu", "verb": "GET", "authType": "None"},
        {"target": "/order", "verb": "POST", "scopes": ["order:write"]},
        {"target": "/order/{orderId}", "verb": "DELETE"}
    ]);
    let r = app
        .call(Method::PUT, &format!("{P}/apis/{id}"), &token, Some(edit))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let got = app
        .get_bearer(&format!("{P}/apis/{id}"), &token)
        .await
        .json();
    assert_eq!(
        got["businessInformation"]["technicalOwnerEmail"],
        "tom@example.com"
    );
    assert_eq!(got["apiKeyHeader"], "X-Pizza-Key");
    assert_eq!(got["tags"], json!(["food", "orders"]));
    assert_eq!(got["monetization"]["enabled"], true);
    assert_eq!(got["scopes"][0]["scope"]["name"], "order:write");
    // The stored definition kept in step: GET /order/{orderId} gone, DELETE added.
    let doc = app
        .get_bearer(&format!("{P}/apis/{id}/swagger"), &token)
        .await
        .json();
    assert!(doc["paths"]["/order/{orderId}"]["get"].is_null(), "{doc}");
    assert!(
        doc["paths"]["/order/{orderId}"]["delete"].is_object(),
        "{doc}"
    );
    // Identity fields cannot change.
    let mut rename = got.clone();
    rename["version"] = json!("9.9.9");
    let r = app
        .call(Method::PUT, &format!("{P}/apis/{id}"), &token, Some(rename))
        .await;
    let j = assert_wso2_error(&r, StatusCode::BAD_REQUEST);
    assert_eq!(j["error"][0]["code"], "version");

    // PUT /swagger replaces the document and the operations follow it.
    let petstore = fixture("oai-examples/v3.0/petstore-expanded.yaml");
    let r = app
        .multipart(
            Method::PUT,
            &format!("{P}/apis/{id}/swagger"),
            &token,
            &[("apiDefinition", None, &petstore)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let got = app
        .get_bearer(&format!("{P}/apis/{id}"), &token)
        .await
        .json();
    let ops: Vec<String> = got["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            format!(
                "{} {}",
                o["verb"].as_str().unwrap(),
                o["target"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        ops,
        [
            "GET /pets",
            "POST /pets",
            "GET /pets/{id}",
            "DELETE /pets/{id}"
        ]
    );

    // List with search.
    let list = app
        .get_bearer(&format!("{P}/apis?query=pizza"), &token)
        .await
        .json();
    assert_eq!(list["count"], 1, "{list}");
    assert_eq!(list["list"][0]["name"], "Pizza Shack API");
    assert_eq!(list["pagination"]["total"], 1);
    let none = app
        .get_bearer(&format!("{P}/apis?query=nothing-like-this"), &token)
        .await
        .json();
    assert_eq!(none["count"], 0);

    // Delete.
    let r = app
        .call(Method::DELETE, &format!("{P}/apis/{id}"), &token, None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = app.get_bearer(&format!("{P}/apis/{id}"), &token).await;
    assert_wso2_error(&r, StatusCode::NOT_FOUND);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn roles_owners_and_organizations_are_enforced(db: PgPool) {
    let app = spawn(db).await;
    let publisher_token = publisher(&app).await;
    let admin_token = admin(&app).await;
    // A second publisher in the same organization.
    sqlx::query(
        "INSERT INTO app_user (organization_id, username, display_name, password_hash)
         SELECT organization_id, 'pub2', 'Second Publisher', password_hash FROM app_user WHERE username = 'publisher'",
    )
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO user_role (user_id, role_id)
         SELECT (SELECT id FROM app_user WHERE username = 'pub2'), role_id FROM user_role
          WHERE user_id = (SELECT id FROM app_user WHERE username = 'publisher')",
    )
    .execute(&app.db)
    .await
    .unwrap();
    let pub2 = app
        .access_token(
            "pub2",
            DEMO_PASSWORD,
            "apim:api_view apim:api_create apim:api_delete",
        )
        .await;

    // A subscriber cannot create or list.
    let sub = app
        .access_token(
            "subscriber",
            DEMO_PASSWORD,
            "apim:subscribe apim:api_create",
        )
        .await;
    let r = app
        .call(Method::POST, &format!("{P}/apis"), &sub, Some(pizza("/p")))
        .await;
    assert_wso2_error(&r, StatusCode::FORBIDDEN);
    let r = app.get_bearer(&format!("{P}/apis"), &sub).await;
    assert_wso2_error(&r, StatusCode::FORBIDDEN);
    let r = app
        .multipart(
            Method::POST,
            &format!("{P}/apis/import-openapi"),
            &sub,
            &[(
                "file",
                Some("p.yaml"),
                &fixture("oai-examples/v3.0/petstore.yaml"),
            )],
        )
        .await;
    assert_wso2_error(&r, StatusCode::FORBIDDEN);
    // No token at all.
    let r = app.get(&format!("{P}/apis"), None).await;
    assert_wso2_error(&r, StatusCode::UNAUTHORIZED);

    let api = create(&app, &publisher_token, pizza("/pizza")).await;
    let id = api["id"].as_str().unwrap();
    // Another publisher sees it but may not change or delete it.
    let r = app.get_bearer(&format!("{P}/apis/{id}"), &pub2).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app
        .call(
            Method::PUT,
            &format!("{P}/apis/{id}"),
            &pub2,
            Some(api.clone()),
        )
        .await;
    assert_wso2_error(&r, StatusCode::FORBIDDEN);
    let r = app
        .call(Method::DELETE, &format!("{P}/apis/{id}"), &pub2, None)
        .await;
    assert_wso2_error(&r, StatusCode::FORBIDDEN);

    // Admin hands the API to pub2: pub2 may edit, the old owner may not.
    let r = app
        .call(
            Method::POST,
            &format!("/api/am/admin/v4/apis/{id}/change-provider?provider=pub2"),
            &admin_token,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = app
        .call(
            Method::PUT,
            &format!("{P}/apis/{id}"),
            &pub2,
            Some(api.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["provider"], "pub2");
    let r = app
        .call(
            Method::PUT,
            &format!("{P}/apis/{id}"),
            &publisher_token,
            Some(api.clone()),
        )
        .await;
    assert_wso2_error(&r, StatusCode::FORBIDDEN);
    // Unknown users and users who cannot own APIs are refused by name.
    for (who, field) in [("nobody", "provider"), ("subscriber", "provider")] {
        let r = app
            .call(
                Method::POST,
                &format!("/api/am/admin/v4/apis/{id}/change-provider?provider={who}"),
                &admin_token,
                None,
            )
            .await;
        let j = assert_wso2_error(&r, StatusCode::BAD_REQUEST);
        assert_eq!(j["error"][0]["code"], field);
    }

    // Restricted publisher access: only listed roles (and owner, admins) see it.
    let mut restricted = pizza("/secret");
    restricted["name"] = json!("Secret");
    restricted["accessControl"] = json!("RESTRICTED");
    restricted["accessControlRoles"] = json!(["admin"]);
    let secret = create(&app, &pub2, restricted).await;
    let sid = secret["id"].as_str().unwrap();
    let r = app
        .get_bearer(&format!("{P}/apis/{sid}"), &publisher_token)
        .await;
    assert_wso2_error(&r, StatusCode::NOT_FOUND);
    let list = app
        .get_bearer(&format!("{P}/apis"), &publisher_token)
        .await
        .json();
    assert_eq!(list["count"], 1, "{list}");
    let r = app
        .get_bearer(&format!("{P}/apis/{sid}"), &admin_token)
        .await;
    assert_eq!(r.status, StatusCode::OK);

    // Another organization's publisher sees nothing of this one.
    sqlx::query("INSERT INTO organization (name, display_name) VALUES ('acme.com', 'Acme')")
        .execute(&app.db)
        .await
        .unwrap();
    let state = server::prepare(app.db.clone(), settings()).await.unwrap();
    let now = chrono::Utc::now().timestamp();
    let claims = server::auth::tokens::Claims {
        iss: state.keys.issuer().to_string(),
        sub: "acme-publisher".into(),
        aud: "c".into(),
        exp: now + 600,
        iat: now,
        jti: "j".into(),
        scope: PUBLISHER_SCOPES.into(),
        client_id: "c".into(),
        organization: "acme.com".into(),
        token_use: None,
    };
    let acme = state.keys.sign(&claims).unwrap();
    let r = app.get_bearer(&format!("{P}/apis/{id}"), &acme).await;
    assert_wso2_error(&r, StatusCode::NOT_FOUND);
    let r = app
        .call(
            Method::PUT,
            &format!("{P}/apis/{id}"),
            &acme,
            Some(api.clone()),
        )
        .await;
    assert_wso2_error(&r, StatusCode::NOT_FOUND);
    let r = app
        .call(Method::DELETE, &format!("{P}/apis/{id}"), &acme, None)
        .await;
    assert_wso2_error(&r, StatusCode::NOT_FOUND);
    let list = app.get_bearer(&format!("{P}/apis"), &acme).await.json();
    assert_eq!(list["count"], 0);
    // The same context is free in another organization.
    let r = app
        .call(
            Method::POST,
            &format!("{P}/apis"),
            &acme,
            Some(pizza("/pizza")),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn lifecycle_revisions_and_deployments(db: PgPool) {
    let app = spawn(db).await;
    let token = admin(&app).await;
    let api = create(&app, &token, pizza("/pizza")).await;
    let id = api["id"].as_str().unwrap().to_string();
    let lc = |action: &str, checklist: &str| {
        format!(
            "{P}/apis/change-lifecycle?apiId={id}&action={action}&lifecycleChecklist={checklist}"
        )
    };

    let state = app
        .get_bearer(&format!("{P}/apis/{id}/lifecycle-state"), &token)
        .await
        .json();
    assert_eq!(state["state"], "CREATED");
    let events: Vec<&str> = state["availableTransitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["Publish", "Deploy as a Prototype"]);
    assert_eq!(state["checkItems"].as_array().unwrap().len(), 2);

    // Unknown action, and publishing before any deployment, are refused by field.
    let r = app
        .call(Method::POST, &lc("Retire", ""), &token, None)
        .await;
    let j = assert_wso2_error(&r, StatusCode::BAD_REQUEST);
    assert_eq!(j["error"][0]["code"], "action");
    let r = app
        .call(Method::POST, &lc("Publish", ""), &token, None)
        .await;
    let j = assert_wso2_error(&r, StatusCode::BAD_REQUEST);
    assert!(j["description"].as_str().unwrap().contains("deploy"), "{j}");

    // Revisions with descriptions, at most five.
    let mut revisions = vec![];
    for n in 1..=5 {
        let r = app
            .call(
                Method::POST,
                &format!("{P}/apis/{id}/revisions"),
                &token,
                Some(json!({"description": format!("revision number {n}")})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        let rev = r.json();
        assert_eq!(rev["displayName"], format!("Revision {n}"));
        revisions.push(rev["id"].as_str().unwrap().to_string());
    }
    let r = app
        .call(
            Method::POST,
            &format!("{P}/apis/{id}/revisions"),
            &token,
            Some(json!({"description": "one too many"})),
        )
        .await;
    let j = assert_wso2_error(&r, StatusCode::BAD_REQUEST);
    assert!(
        j["description"].as_str().unwrap().contains("Maximum"),
        "{j}"
    );
    let list = app
        .get_bearer(&format!("{P}/apis/{id}/revisions"), &token)
        .await
        .json();
    assert_eq!(list["count"], 5);
    assert_eq!(list["list"][2]["description"], "revision number 3");

    // Deploy revision 1 to Default; unknown environments are named.
    let r = app
        .call(
            Method::POST,
            &format!("{P}/apis/{id}/deploy-revision?revisionId={}", revisions[0]),
            &token,
            Some(json!([{"name": "Nowhere", "vhost": "localhost"}])),
        )
        .await;
    let j = assert_wso2_error(&r, StatusCode::BAD_REQUEST);
    assert_eq!(j["error"][0]["code"], "[0].name");
    let before = app
        .get_bearer("/api/am/gateway/v1/environments/Default/snapshot", &token)
        .await
        .json();
    assert_eq!(before["apis"], json!([]));
    let r = app
        .call(
            Method::POST,
            &format!("{P}/apis/{id}/deploy-revision?revisionId={}", revisions[0]),
            &token,
            Some(json!([{"name": "Default", "vhost": "localhost", "displayOnDevportal": true}])),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let deployments = app
        .get_bearer(&format!("{P}/apis/{id}/deployments"), &token)
        .await
        .json();
    assert_eq!(deployments["list"][0]["name"], "Default");
    assert_eq!(deployments["list"][0]["revisionUuid"], revisions[0]);

    // The gateway's snapshot of Default carries the runtime artefact, and parses as one.
    let snap = app
        .get_bearer("/api/am/gateway/v1/environments/Default/snapshot", &token)
        .await;
    assert_eq!(snap.status, StatusCode::OK);
    let parsed = gateway::snapshot::Snapshot::parse(&snap.body).unwrap();
    assert!(parsed.problems().is_empty(), "{:?}", parsed.problems());
    assert!(parsed.version > before["version"].as_u64().unwrap());
    assert_eq!(parsed.apis.len(), 1);
    assert_eq!(parsed.apis[0].context, "/pizza");
    assert_eq!(
        parsed.apis[0].endpoints.production.urls,
        ["http://127.0.0.1:9"]
    );
    assert_eq!(
        parsed.apis[0].endpoints.sandbox.as_ref().unwrap().urls,
        ["http://127.0.0.1:10"]
    );
    assert_eq!(parsed.apis[0].operations.len(), 3);
    // Unchanged snapshot → 304 for the same ETag.
    let etag = snap
        .headers
        .get("etag")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let r = app
        .send(
            axum::http::Request::get("/api/am/gateway/v1/environments/Default/snapshot")
                .header("authorization", format!("Bearer {token}"))
                .header("if-none-match", &etag)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);

    // A deployed revision cannot be deleted; an undeployed one can.
    let r = app
        .call(
            Method::DELETE,
            &format!("{P}/apis/{id}/revisions/{}", revisions[0]),
            &token,
            None,
        )
        .await;
    let j = assert_wso2_error(&r, StatusCode::BAD_REQUEST);
    assert_eq!(j["error"][0]["code"], "revisionId");
    let r = app
        .call(
            Method::DELETE,
            &format!("{P}/apis/{id}/revisions/{}", revisions[4]),
            &token,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["count"], 4);

    // Publish, with history.
    let r = app
        .call(Method::POST, &lc("Publish", ""), &token, None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["lifecycleState"]["state"], "PUBLISHED");
    let history = app
        .get_bearer(&format!("{P}/apis/{id}/lifecycle-history"), &token)
        .await
        .json();
    assert_eq!(history["count"], 2);
    assert_eq!(history["list"][1]["previousState"], "CREATED");
    assert_eq!(history["list"][1]["postState"], "PUBLISHED");
    assert_eq!(history["list"][1]["user"], "admin");

    // A new version by copy, published with "deprecate old versions".
    let r = app
        .call(
            Method::POST,
            &format!("{P}/apis/copy-api?apiId={id}&newVersion=2.0.0&defaultVersion=true"),
            &token,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let v2 = r.json();
    let v2id = v2["id"].as_str().unwrap().to_string();
    assert_eq!(v2["version"], "2.0.0");
    assert_eq!(v2["lifeCycleStatus"], "CREATED");
    assert_eq!(v2["isDefaultVersion"], true);
    assert_eq!(v2["operations"][0]["authType"], "None");
    assert_eq!(v2["operations"][2]["throttlingPolicy"], "10KPerMin");
    let r = app
        .call(
            Method::POST,
            &format!("{P}/apis/{v2id}/revisions"),
            &token,
            Some(json!({"description": "v2 first"})),
        )
        .await;
    let rev = r.json()["id"].as_str().unwrap().to_string();
    let r = app
        .call(
            Method::POST,
            &format!("{P}/apis/{v2id}/deploy-revision?revisionId={rev}"),
            &token,
            Some(json!([{"name": "Default"}])),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let checklist = "Deprecate%20old%20versions%20after%20publishing%20the%20API:true";
    let r = app
        .call(
            Method::POST,
            &format!("{P}/apis/change-lifecycle?apiId={v2id}&action=Publish&lifecycleChecklist={checklist}"),
            &token,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let old = app
        .get_bearer(&format!("{P}/apis/{id}"), &token)
        .await
        .json();
    assert_eq!(old["lifeCycleStatus"], "DEPRECATED");
    let snap = gateway::snapshot::Snapshot::parse(
        &app.get_bearer("/api/am/gateway/v1/environments/Default/snapshot", &token)
            .await
            .body,
    )
    .unwrap();
    assert_eq!(snap.apis.len(), 2);
    assert!(snap.problems().is_empty(), "{:?}", snap.problems());

    // Restore: a later edit is undone by restoring revision 1.
    let mut edit = old.clone();
    edit["description"] = json!("changed after revision 1");
    let r = app
        .call(Method::PUT, &format!("{P}/apis/{id}"), &token, Some(edit))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = app
        .call(
            Method::POST,
            &format!("{P}/apis/{id}/restore-revision?revisionId={}", revisions[0]),
            &token,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["description"], "Order pizza");

    // Retire: leaves the gateway. Undeploy the other one.
    for action in ["Retire"] {
        let r = app.call(Method::POST, &lc(action, ""), &token, None).await;
        assert_eq!(r.status, StatusCode::OK, "{action}: {}", r.text());
    }
    let r = app
        .call(
            Method::POST,
            &format!("{P}/apis/{v2id}/undeploy-revision?revisionId={rev}"),
            &token,
            Some(json!([{"name": "Default"}])),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let snap = gateway::snapshot::Snapshot::parse(
        &app.get_bearer("/api/am/gateway/v1/environments/Default/snapshot", &token)
            .await
            .body,
    )
    .unwrap();
    assert!(snap.apis.is_empty());
    // Retired is final.
    let r = app
        .call(Method::POST, &lc("Publish", ""), &token, None)
        .await;
    let j = assert_wso2_error(&r, StatusCode::BAD_REQUEST);
    assert!(j["description"].as_str().unwrap().contains("final"), "{j}");
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn api_products_compose_operations_of_several_apis(db: PgPool) {
    let app = spawn(db).await;
    let token = admin(&app).await;
    let pizza_api = create(&app, &token, pizza("/pizza")).await;
    let pets = import(
        &app,
        &token,
        "petstore.yaml",
        &fixture("oai-examples/v3.0/petstore.yaml"),
        json!({"context": "/pets", "endpointConfig": {"endpoint_type": "http", "production_endpoints": {"url": "http://127.0.0.1:11"}}}),
    )
    .await
    .json();
    let body = |ops: Value| {
        json!({
            "name": "Food and Pets",
            "context": "/bundle",
            "description": "Two APIs in one",
            "apis": [
                {"apiId": pizza_api["id"], "operations": [{"target": "/menu", "verb": "GET"}]},
                {"apiId": pets["id"], "operations": ops}
            ]
        })
    };
    // An operation the API does not have is named.
    let r = app
        .call(
            Method::POST,
            &format!("{P}/api-products"),
            &token,
            Some(body(
                json!([{"target": "/pets", "verb": "GET"}, {"target": "/nope", "verb": "GET"}]),
            )),
        )
        .await;
    let j = assert_wso2_error(&r, StatusCode::BAD_REQUEST);
    assert_eq!(j["error"][0]["code"], "apis[1].operations[1]", "{j}");

    let r = app
        .call(
            Method::POST,
            &format!("{P}/api-products"),
            &token,
            Some(body(json!([{"target": "/pets", "verb": "GET"}, {"target": "/pets/{petId}", "verb": "get"}]))),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let product = r.json();
    let pid = product["id"].as_str().unwrap().to_string();
    assert_eq!(product["version"], "1.0.0");
    assert_eq!(product["operations"].as_array().unwrap().len(), 3);
    assert_eq!(product["apis"][1]["name"], "Swagger Petstore");
    // Products and APIs are listed apart.
    let products = app
        .get_bearer(&format!("{P}/api-products"), &token)
        .await
        .json();
    assert_eq!(products["count"], 1);
    let apis = app.get_bearer(&format!("{P}/apis"), &token).await.json();
    assert_eq!(apis["count"], 2);
    let r = app.get_bearer(&format!("{P}/apis/{pid}"), &token).await;
    assert_wso2_error(&r, StatusCode::NOT_FOUND);

    // Revision, deploy, lifecycle like an API.
    let r = app
        .call(
            Method::POST,
            &format!("{P}/api-products/{pid}/revisions"),
            &token,
            Some(json!({"description": "bundle v1"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let rev = r.json()["id"].as_str().unwrap().to_string();
    let r = app
        .call(
            Method::POST,
            &format!("{P}/api-products/{pid}/deploy-revision?revisionId={rev}"),
            &token,
            Some(json!([{"name": "Default"}])),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = app
        .call(
            Method::POST,
            &format!("{P}/api-products/change-lifecycle?apiProductId={pid}&action=Publish"),
            &token,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let snap = gateway::snapshot::Snapshot::parse(
        &app.get_bearer("/api/am/gateway/v1/environments/Default/snapshot", &token)
            .await
            .body,
    )
    .unwrap();
    assert_eq!(snap.apis.len(), 1);
    assert_eq!(snap.apis[0].context, "/bundle");
    assert_eq!(snap.apis[0].operations.len(), 3);
    assert!(snap.problems().is_empty(), "{:?}", snap.problems());
    // Each operation goes to its own API's backend.
    assert_eq!(
        snap.apis[0].endpoints.production.urls,
        ["http://127.0.0.1:9"]
    );
    assert!(snap.apis[0].operations[0].endpoints.is_none());
    assert_eq!(
        snap.apis[0].operations[1]
            .endpoints
            .as_ref()
            .unwrap()
            .production
            .urls,
        ["http://127.0.0.1:11"]
    );

    // A new version by copy.
    let r = app
        .call(
            Method::POST,
            &format!("{P}/api-products/copy-api-products?apiProductId={pid}&newVersion=2.0.0"),
            &token,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["version"], "2.0.0");

    // An API in a product cannot be deleted.
    let r = app
        .call(
            Method::DELETE,
            &format!("{P}/apis/{}", pets["id"].as_str().unwrap()),
            &token,
            None,
        )
        .await;
    let j = assert_wso2_error(&r, StatusCode::CONFLICT);
    assert!(
        j["description"].as_str().unwrap().contains("Food and Pets"),
        "{j}"
    );
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn admins_add_gateway_environments_and_deploy_to_them(db: PgPool) {
    let app = spawn(db).await;
    let admin_token = app
        .access_token(
            "admin",
            ADMIN_PASSWORD,
            &format!("{ADMIN_SCOPES} apim:environment_manage"),
        )
        .await;
    let publisher_token = publisher(&app).await;
    const ENVS: &str = "/api/am/admin/v4/environments";
    let staging = json!({"name": "Staging", "description": "Pre-production",
                         "vhosts": [{"host": "staging.example.com", "httpPort": 8280}]});
    // Publishers cannot add environments; bad input names the field.
    let r = app
        .call(Method::POST, ENVS, &publisher_token, Some(staging.clone()))
        .await;
    assert_wso2_error(&r, StatusCode::FORBIDDEN);
    let r = app
        .call(
            Method::POST,
            ENVS,
            &admin_token,
            Some(json!({"name": "x y", "vhosts": [{"host": "bad host"}]})),
        )
        .await;
    let j = assert_wso2_error(&r, StatusCode::BAD_REQUEST);
    let fields: Vec<&str> = j["error"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "vhosts[0].host"]);
    let r = app
        .call(Method::POST, ENVS, &admin_token, Some(staging.clone()))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let env = r.json();
    assert_eq!(env["displayName"], "Staging");
    assert_eq!(env["isReadOnly"], false);
    let r = app
        .call(Method::POST, ENVS, &admin_token, Some(staging))
        .await;
    assert_wso2_error(&r, StatusCode::CONFLICT);
    let list = app.get_bearer(ENVS, &admin_token).await.json();
    assert_eq!(list["count"], 2);
    assert_eq!(list["list"][0]["name"], "Default");
    assert_eq!(list["list"][0]["isReadOnly"], true);

    // Deploy to it, on its virtual host; its snapshot is separate from Default's.
    let api = create(&app, &publisher_token, pizza("/pizza")).await;
    let id = api["id"].as_str().unwrap();
    let rev = app
        .call(
            Method::POST,
            &format!("{P}/apis/{id}/revisions"),
            &publisher_token,
            Some(json!({"description": "for staging"})),
        )
        .await
        .json();
    let rid = rev["id"].as_str().unwrap();
    let r = app
        .call(
            Method::POST,
            &format!("{P}/apis/{id}/deploy-revision?revisionId={rid}"),
            &publisher_token,
            Some(json!([{"name": "Staging", "vhost": "nowhere.example.com"}])),
        )
        .await;
    let j = assert_wso2_error(&r, StatusCode::BAD_REQUEST);
    assert_eq!(j["error"][0]["code"], "[0].vhost");
    let r = app
        .call(
            Method::POST,
            &format!("{P}/apis/{id}/deploy-revision?revisionId={rid}"),
            &publisher_token,
            Some(json!([{"name": "Staging", "vhost": "staging.example.com"}])),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let staging_snap = app
        .get_bearer(
            "/api/am/gateway/v1/environments/Staging/snapshot",
            &admin_token,
        )
        .await
        .json();
    assert_eq!(staging_snap["apis"].as_array().unwrap().len(), 1);
    let default_snap = app
        .get_bearer(
            "/api/am/gateway/v1/environments/Default/snapshot",
            &admin_token,
        )
        .await
        .json();
    assert_eq!(default_snap["apis"], json!([]));

    // An environment in use cannot go; Default never can.
    let env_id = env["id"].as_str().unwrap();
    let r = app
        .call(
            Method::DELETE,
            &format!("{ENVS}/{env_id}"),
            &admin_token,
            None,
        )
        .await;
    assert_wso2_error(&r, StatusCode::CONFLICT);
    let default_id = list["list"][0]["id"].as_str().unwrap();
    let r = app
        .call(
            Method::DELETE,
            &format!("{ENVS}/{default_id}"),
            &admin_token,
            None,
        )
        .await;
    assert_wso2_error(&r, StatusCode::BAD_REQUEST);
    let r = app
        .call(
            Method::POST,
            &format!("{P}/apis/{id}/undeploy-revision?revisionId={rid}&allEnvironments=true"),
            &publisher_token,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = app
        .call(
            Method::DELETE,
            &format!("{ENVS}/{env_id}"),
            &admin_token,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = app
        .get_bearer(
            "/api/am/gateway/v1/environments/Staging/snapshot",
            &admin_token,
        )
        .await;
    assert_wso2_error(&r, StatusCode::NOT_FOUND);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn demo_api_is_imported_deployed_and_published_once(db: PgPool) {
    let mut s = settings();
    s.demo.apis = true;
    let app = spawn_with(db.clone(), s.clone()).await;
    // A second start does not duplicate it.
    server::prepare(db, s).await.unwrap();
    let token = admin(&app).await;
    let list = app.get_bearer(&format!("{P}/apis"), &token).await.json();
    assert_eq!(list["count"], 1, "{list}");
    let api = &list["list"][0];
    assert_eq!(api["name"], "PizzaShack");
    assert_eq!(api["lifeCycleStatus"], "PUBLISHED");
    assert_eq!(api["provider"], "publisher");
    assert_eq!(api["deployedTo"], json!(["Default"]));
    let snap = gateway::snapshot::Snapshot::parse(
        &app.get_bearer("/api/am/gateway/v1/environments/Default/snapshot", &token)
            .await
            .body,
    )
    .unwrap();
    assert_eq!(snap.apis[0].context, "/pizzashack");
    assert!(snap.apis[0].is_default_version);
    assert!(
        snap.apis[0].endpoints.production.urls[0].ends_with("/demo-backend/pizzashack"),
        "{:?}",
        snap.apis[0].endpoints
    );
    // Its backend answers.
    let menu = app.get("/demo-backend/pizzashack/menu", None).await;
    assert_eq!(menu.status, StatusCode::OK);
    assert_eq!(menu.json()[0]["name"], "Margherita");
    assert!(
        menu.set_cookie("gh_csrf").is_none(),
        "the demo backend sets no portal cookie"
    );
    let order = app
        .post_json(
            "/demo-backend/pizzashack/order",
            json!({"pizza": "Funghi", "quantity": 2}),
            &[],
        )
        .await;
    assert_eq!(order.status, StatusCode::CREATED, "{}", order.text());
    assert_eq!(order.json()["status"], "received");
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn the_portal_saves_apis_with_tens_of_thousands_of_operations(db: PgPool) {
    use leptos::server_fn::ServerFn;
    let app = spawn(db).await;
    let cookie = app.session("admin", ADMIN_PASSWORD).await;
    let ops: Vec<Value> = (0..60_000)
        .map(|i| json!({"target": format!("/resource{i}/{{id}}/items"), "verb": "GET"}))
        .collect();
    let body = json!({"call": {"Create": {"api": {"name": "Huge", "context": "/huge", "version": "1", "operations": ops}, "product": false}}})
        .to_string();
    assert!(
        body.len() > 2 << 20,
        "more than axum's default 2 MB: {}",
        body.len()
    );
    let r = app
        .send(
            axum::http::Request::post(<app::api::PublisherCall as ServerFn>::PATH)
                .header("cookie", &cookie)
                .header("content-type", "application/json")
                .header("accept", "application/json")
                .body(axum::body::Body::from(body))
                .unwrap(),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        &r.text()[..r.text().len().min(300)]
    );
    let api = &r.json()["Ok"]["Api"];
    assert_eq!(api["operations"].as_array().unwrap().len(), 60_000);
}
