//! The Admin portal's settings through the real router and PostgreSQL: API categories (used by
//! the Publisher, listed by the Developer Portal, renamed along, kept while in use), the
//! organization's lifecycle switches, organizations (super admin; `user@org` sign-in; disabled
//! organizations locked out), the scope-role mapping (`PUT /system-scopes`, kept across a
//! restart) and role aliases.

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use serde_json::{Value, json};
use sqlx::PgPool;

const A: &str = "/api/am/admin/v4";
const P: &str = "/api/am/publisher/v4";
const D: &str = "/api/am/devportal/v3";
const PUB: &str = "apim:api_view apim:api_create apim:api_publish apim:api_manage";

async fn ok(app: &TestApp, method: Method, path: &str, token: &str, body: Option<Value>) -> Value {
    let r = app.call(method, path, token, body).await;
    assert!(r.status.is_success(), "{path}: {} {}", r.status, r.text());
    r.json()
}

fn field_of(body: &Value) -> Vec<String> {
    body["error"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["code"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn categories_are_defined_by_admins_and_used_by_apis(db: PgPool) {
    let app = spawn(db.clone()).await;
    let admin = app
        .access_token("admin", ADMIN_PASSWORD, "apim:api_category")
        .await;
    let publisher = app.access_token("publisher", DEMO_PASSWORD, PUB).await;
    // Empty at first, everywhere.
    assert_eq!(
        ok(
            &app,
            Method::GET,
            &format!("{A}/api-categories"),
            &admin,
            None
        )
        .await["count"],
        0
    );
    let r = app.get(&format!("{D}/api-categories"), None).await;
    assert_eq!(r.json()["count"], 0, "public: {}", r.text());
    // Create; a duplicate name is a 409 naming the field; bad input names the field.
    let finance = ok(
        &app,
        Method::POST,
        &format!("{A}/api-categories"),
        &admin,
        Some(json!({"name": "Finance", "description": "Money"})),
    )
    .await;
    let id = finance["id"].as_str().unwrap().to_string();
    let r = app
        .call(
            Method::POST,
            &format!("{A}/api-categories"),
            &admin,
            Some(json!({"name": "Finance"})),
        )
        .await;
    assert_eq!(
        field_of(&assert_wso2_error(&r, StatusCode::CONFLICT)),
        ["name"]
    );
    let r = app
        .call(
            Method::POST,
            &format!("{A}/api-categories"),
            &admin,
            Some(json!({"name": " "})),
        )
        .await;
    assert_eq!(
        field_of(&assert_wso2_error(&r, StatusCode::BAD_REQUEST)),
        ["name"]
    );
    // A publisher may use defined categories only.
    let r = app
        .call(
            Method::POST,
            &format!("{P}/apis"),
            &publisher,
            Some(json!({"name": "Ledger", "context": "/ledger", "version": "1", "categories": ["Finance", "Nope"]})),
        )
        .await;
    assert_eq!(
        field_of(&assert_wso2_error(&r, StatusCode::BAD_REQUEST)),
        ["categories[1]"]
    );
    let api = ok(
        &app,
        Method::POST,
        &format!("{P}/apis"),
        &publisher,
        Some(json!({"name": "Ledger", "context": "/ledger", "version": "1", "categories": ["Finance"]})),
    )
    .await;
    let api_id = api["id"].as_str().unwrap().to_string();
    let list = ok(
        &app,
        Method::GET,
        &format!("{P}/api-categories"),
        &publisher,
        None,
    )
    .await;
    assert_eq!(list["list"][0]["numberOfAPIs"], 1, "{list}");
    // The Developer Portal's shape has no count (it would count APIs a visitor cannot see).
    let public = app.get(&format!("{D}/api-categories"), None).await.json();
    assert_eq!(
        public["list"][0],
        json!({"id": id, "name": "Finance", "description": "Money"})
    );
    // In use: not deleted.
    let r = app
        .call(
            Method::DELETE,
            &format!("{A}/api-categories/{id}"),
            &admin,
            None,
        )
        .await;
    assert_wso2_error(&r, StatusCode::CONFLICT);
    // Renamed: the API follows, in the same transaction.
    let renamed = ok(
        &app,
        Method::PUT,
        &format!("{A}/api-categories/{id}"),
        &admin,
        Some(json!({"name": "Payments", "description": "Money moves"})),
    )
    .await;
    assert_eq!(renamed["name"], "Payments");
    let api = ok(
        &app,
        Method::GET,
        &format!("{P}/apis/{api_id}"),
        &publisher,
        None,
    )
    .await;
    assert_eq!(api["categories"], json!(["Payments"]), "{api}");
    // Free again: deleted.
    let mut api = api;
    api["categories"] = json!([]);
    ok(
        &app,
        Method::PUT,
        &format!("{P}/apis/{api_id}"),
        &publisher,
        Some(api),
    )
    .await;
    let r = app
        .call(
            Method::DELETE,
            &format!("{A}/api-categories/{id}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = app
        .call(
            Method::DELETE,
            &format!("{A}/api-categories/{id}"),
            &admin,
            None,
        )
        .await;
    assert_wso2_error(&r, StatusCode::NOT_FOUND);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM audit_log WHERE action LIKE 'category.%'"
        )
        .await,
        3
    );
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn organizations_switch_lifecycle_transitions_off(db: PgPool) {
    let app = spawn(db.clone()).await;
    let admin = app
        .access_token("admin", ADMIN_PASSWORD, "apim:admin_settings")
        .await;
    let publisher = app.access_token("publisher", DEMO_PASSWORD, PUB).await;
    let api = petstore_api(&app, &publisher, json!({}), true).await;
    let settings = ok(
        &app,
        Method::GET,
        &format!("{A}/organization-settings"),
        &admin,
        None,
    )
    .await;
    assert_eq!(settings["selfSignUp"], true);
    assert_eq!(settings["disabledTransitions"], json!([]));
    // An unknown transition names its entry; nothing is written.
    let r = app
        .call(
            Method::PUT,
            &format!("{A}/organization-settings"),
            &admin,
            Some(json!({"displayName": "Org", "disabledTransitions": [{"from": "PUBLISHED", "event": "Block"}, {"from": "RETIRED", "event": "Publish"}]})),
        )
        .await;
    assert_eq!(
        field_of(&assert_wso2_error(&r, StatusCode::BAD_REQUEST)),
        ["disabledTransitions[1]"]
    );
    ok(
        &app,
        Method::PUT,
        &format!("{A}/organization-settings"),
        &admin,
        Some(json!({"displayName": "Org", "selfSignUp": false, "disabledTransitions": [{"from": "PUBLISHED", "event": "block"}]})),
    )
    .await;
    // The Publisher no longer offers it, and refuses it.
    let state = ok(
        &app,
        Method::GET,
        &format!("{P}/apis/{api}/lifecycle-state"),
        &publisher,
        None,
    )
    .await;
    let events: Vec<&str> = state["availableTransitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["event"].as_str().unwrap())
        .collect();
    assert!(
        !events.contains(&"Block") && events.contains(&"Deprecate"),
        "{events:?}"
    );
    let r = app
        .call(
            Method::POST,
            &format!("{P}/apis/change-lifecycle?apiId={api}&action=Block"),
            &publisher,
            None,
        )
        .await;
    assert_eq!(
        field_of(&assert_wso2_error(&r, StatusCode::BAD_REQUEST)),
        ["action"]
    );
    // Self sign-up is off for the organization.
    let r = app
        .post_json(
            "/auth/sign-up",
            json!({"username": "newdev", "email": "n@example.com", "password": "long enough pw"}),
            &[],
        )
        .await;
    assert_wso2_error(&r, StatusCode::FORBIDDEN);
    // A publisher does not change settings.
    let r = app
        .call(
            Method::PUT,
            &format!("{A}/organization-settings"),
            &publisher,
            Some(json!({"displayName": "X"})),
        )
        .await;
    assert_wso2_error(&r, StatusCode::FORBIDDEN);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn the_super_admin_creates_and_disables_organizations(db: PgPool) {
    let app = spawn(db.clone()).await;
    let root = app
        .access_token("admin", ADMIN_PASSWORD, "apim:admin")
        .await;
    let r = app
        .call(
            Method::POST,
            &format!("{A}/organizations"),
            &root,
            Some(json!({"name": "Acme", "displayName": "ACME", "adminUsername": "boss", "adminPassword": "short"})),
        )
        .await;
    assert_eq!(
        field_of(&assert_wso2_error(&r, StatusCode::BAD_REQUEST)),
        ["adminPassword"]
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM organization WHERE name = 'acme'").await,
        0
    );
    let created = ok(
        &app,
        Method::POST,
        &format!("{A}/organizations"),
        &root,
        Some(json!({"name": "Acme", "displayName": "ACME", "adminUsername": "boss", "adminPassword": "boss password"})),
    )
    .await;
    assert_eq!(created["name"], "acme");
    assert_eq!(created["users"], 1);
    let r = app
        .call(
            Method::POST,
            &format!("{A}/organizations"),
            &root,
            Some(json!({"name": "acme", "adminUsername": "x", "adminPassword": "boss password"})),
        )
        .await;
    assert_eq!(
        field_of(&assert_wso2_error(&r, StatusCode::CONFLICT)),
        ["name"]
    );
    // Its administrator signs in as name@organization, with every admin scope of that
    // organization — but is no super admin.
    let session = app.session("boss@acme", "boss password").await;
    let me = app.get("/api/am/admin/v4/settings", Some(&session)).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text());
    let r = app.get(&format!("{A}/organizations"), Some(&session)).await;
    assert_wso2_error(&r, StatusCode::FORBIDDEN);
    // It has its own resident key manager and built-in roles.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM key_manager k JOIN organization o ON o.id = k.organization_id WHERE o.name = 'acme'"
        )
        .await,
        1
    );
    // Its data is its own: the default organization's categories are not its.
    let acme_token = app
        .access_token("boss@acme", "boss password", "apim:admin")
        .await;
    ok(
        &app,
        Method::POST,
        &format!("{A}/api-categories"),
        &root,
        Some(json!({"name": "Root only"})),
    )
    .await;
    let list = ok(
        &app,
        Method::GET,
        &format!("{A}/api-categories"),
        &acme_token,
        None,
    )
    .await;
    assert_eq!(list["count"], 0, "{list}");
    // Disabled: no sign-in, and the session stops working.
    let off = ok(
        &app,
        Method::PUT,
        &format!("{A}/organizations/acme"),
        &root,
        Some(json!({"enabled": false})),
    )
    .await;
    assert_eq!(off["enabled"], false);
    let r = app
        .post_json(
            "/auth/sign-in",
            json!({"username": "boss@acme", "password": "boss password"}),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text());
    let r = app.get("/api/am/admin/v4/settings", Some(&session)).await;
    assert_wso2_error(&r, StatusCode::UNAUTHORIZED);
    // The super organization stays enabled.
    let r = app
        .call(
            Method::PUT,
            &format!("{A}/organizations/carbon.super"),
            &root,
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(
        field_of(&assert_wso2_error(&r, StatusCode::BAD_REQUEST)),
        ["enabled"]
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM audit_log WHERE action LIKE 'organization.%'"
        )
        .await,
        2
    );
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn scope_roles_and_aliases_change_what_users_hold(db: PgPool) {
    let app = spawn(db.clone()).await;
    let admin = app
        .access_token(
            "admin",
            ADMIN_PASSWORD,
            "apim:admin apim:scope_manage apim:role_manage",
        )
        .await;
    let holds = |scope: &'static str, user: &'static str| {
        let (app, admin) = (&app, admin.clone());
        async move {
            app.call(
                Method::GET,
                &format!("{A}/system-scopes/{scope}?username={user}"),
                &admin,
                None,
            )
            .await
            .status
        }
    };
    // WSO2 sends the scope name in base64.
    assert_eq!(
        holds("YXBpbTpzdWJzY3JpYmU", "subscriber").await,
        StatusCode::OK
    );
    assert_eq!(
        holds("apim:api_create", "subscriber").await,
        StatusCode::NOT_FOUND
    );
    let r = app
        .call(
            Method::GET,
            &format!("{A}/system-scopes/apim:api_create"),
            &admin,
            None,
        )
        .await;
    assert_eq!(
        field_of(&assert_wso2_error(&r, StatusCode::BAD_REQUEST)),
        ["username"]
    );

    // PUT /system-scopes: subscribers may now create APIs.
    let put = |list: Value| {
        let (app, admin) = (&app, admin.clone());
        async move {
            app.call(
                Method::PUT,
                &format!("{A}/system-scopes"),
                &admin,
                Some(json!({ "list": list })),
            )
            .await
        }
    };
    let r = put(json!([{"name": "apim:api_create", "roles": ["admin", "publisher", "subscriber", "nobody"]}])).await;
    assert_eq!(
        field_of(&assert_wso2_error(&r, StatusCode::BAD_REQUEST)),
        ["list[0].roles[3]"]
    );
    let r = put(json!([{"name": "apim:api_create", "roles": ["publisher"]}])).await;
    assert_eq!(
        field_of(&assert_wso2_error(&r, StatusCode::BAD_REQUEST)),
        ["list[0].roles"],
        "the admin role keeps every scope"
    );
    let r =
        put(json!([{"name": "apim:api_create", "roles": ["admin", "publisher", "subscriber"]}]))
            .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let create = r.json()["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "apim:api_create")
        .cloned()
        .unwrap();
    assert_eq!(create["roles"], json!(["admin", "publisher", "subscriber"]));
    assert_eq!(holds("apim:api_create", "subscriber").await, StatusCode::OK);
    // Taken away from a built-in role, it stays away after a restart.
    put(json!([{"name": "apim:api_create", "roles": ["admin", "subscriber"]}])).await;
    assert_eq!(
        holds("apim:api_create", "publisher").await,
        StatusCode::NOT_FOUND
    );
    let org: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM organization WHERE name = 'carbon.super'")
            .fetch_one(&db)
            .await
            .unwrap();
    server::bootstrap::ensure_scopes_and_roles(&db, org)
        .await
        .unwrap();
    assert_eq!(
        holds("apim:api_create", "publisher").await,
        StatusCode::NOT_FOUND
    );

    // Role aliases: a role named like an identity provider's group stands for `publisher`.
    sqlx::query("INSERT INTO role (organization_id, name) VALUES ($1, 'idp-writers')")
        .bind(org)
        .execute(&db)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO user_role (user_id, role_id)
         SELECT u.id, r.id FROM app_user u, role r
          WHERE u.username = 'workflow-admin' AND r.name = 'idp-writers' AND r.organization_id = $1",
    )
    .bind(org)
    .execute(&db)
    .await
    .unwrap();
    assert_eq!(
        holds("apim:api_publish", "workflow-admin").await,
        StatusCode::NOT_FOUND
    );
    let r = app
        .call(
            Method::PUT,
            &format!("{A}/system-scopes/role-aliases"),
            &admin,
            Some(json!({"list": [{"role": "publisher", "aliases": ["idp-writers"]}, {"role": "ghost", "aliases": ["x"]}]})),
        )
        .await;
    assert_eq!(
        field_of(&assert_wso2_error(&r, StatusCode::BAD_REQUEST)),
        ["list[1].role"]
    );
    let saved = ok(
        &app,
        Method::PUT,
        &format!("{A}/system-scopes/role-aliases"),
        &admin,
        Some(json!({"list": [{"role": "publisher", "aliases": ["idp-writers"]}]})),
    )
    .await;
    assert_eq!(
        saved["list"],
        json!([{"role": "publisher", "aliases": ["idp-writers"]}])
    );
    assert_eq!(
        holds("apim:api_publish", "workflow-admin").await,
        StatusCode::OK
    );
    let listed = ok(
        &app,
        Method::GET,
        &format!("{A}/system-scopes/role-aliases"),
        &admin,
        None,
    )
    .await;
    assert_eq!(listed["count"], 1);
    ok(
        &app,
        Method::PUT,
        &format!("{A}/system-scopes/role-aliases"),
        &admin,
        Some(json!({"list": []})),
    )
    .await;
    assert_eq!(
        holds("apim:api_publish", "workflow-admin").await,
        StatusCode::NOT_FOUND
    );
}

/// Gateway environments serve every organization: another organization's admin reads them but
/// does not add, change or remove them.
#[sqlx::test(migrator = "server::MIGRATOR")]
async fn only_the_platform_organization_changes_environments(db: PgPool) {
    let app = spawn(db.clone()).await;
    let root = app
        .access_token(
            "admin",
            ADMIN_PASSWORD,
            "apim:admin apim:environment_manage",
        )
        .await;
    ok(
        &app,
        Method::POST,
        &format!("{A}/organizations"),
        &root,
        Some(json!({"name": "acme", "adminUsername": "boss", "adminPassword": "boss password"})),
    )
    .await;
    let env = ok(
        &app,
        Method::POST,
        &format!("{A}/environments"),
        &root,
        Some(json!({"name": "eu", "vhosts": [{"host": "eu.example.com"}]})),
    )
    .await;
    let boss = app
        .access_token(
            "boss@acme",
            "boss password",
            "apim:admin apim:environment_manage",
        )
        .await;
    let list = ok(&app, Method::GET, &format!("{A}/environments"), &boss, None).await;
    assert_eq!(list["count"], 2, "{list}");
    let id = env["id"].as_str().unwrap();
    for (m, path, body) in [
        (
            Method::POST,
            format!("{A}/environments"),
            Some(json!({"name": "x", "vhosts": [{"host": "x.example.com"}]})),
        ),
        (
            Method::PUT,
            format!("{A}/environments/{id}"),
            Some(json!({"name": "eu", "vhosts": [{"host": "evil.example.com"}]})),
        ),
        (Method::DELETE, format!("{A}/environments/{id}"), None),
    ] {
        let r = app.call(m.clone(), &path, &boss, body).await;
        assert_wso2_error(&r, StatusCode::FORBIDDEN);
    }
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM gateway_environment WHERE vhosts::text LIKE '%evil%'"
        )
        .await,
        0
    );
}
