//! Declarative configuration (GitOps) with the `gatehouse` CLI against real server binaries:
//! an organization exported from one installation, imported into an empty one, exported again
//! gives the same files; the imported application's keys get tokens there and the gateway
//! serves them; a second import changes nothing; a changed file changes only that object.
//! In process: bad files are refused whole (every problem named, nothing written), secrets
//! never leave the server, only an admin exports or imports.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use axum::http::{Method, StatusCode};
use common::procs::*;
use common::routes::table_digests;
use common::*;
use serde_json::{Value, json};
use sqlx::PgPool;

const P: &str = "/api/am/publisher/v4";
const D: &str = "/api/am/devportal/v3";
const A: &str = "/api/am/admin/v4";
const EXPORT: &str = "/api/am/admin/v4/configuration/export";
const IMPORT: &str = "/api/am/admin/v4/configuration/import";

const SCOPES: &str = "apim:admin apim:api_view apim:api_create apim:api_publish apim:api_manage \
     apim:subscribe apim:app_manage apim:sub_manage apim:tier_manage apim:bl_manage";

/// An organization with something of every kind: an application policy, a deny policy, an API
/// with an operation of its own settings, a document, deployed and published, an application
/// with resident keys subscribed to it. Returns (API id, the key with its secret).
async fn populate(app: &TestApp, admin: &str, backend: std::net::SocketAddr) -> (String, Value) {
    ok(
        app,
        Method::POST,
        &format!("{A}/throttling/policies/application"),
        admin,
        Some(json!({"policyName": "Gitops50", "description": "50 a minute",
                    "defaultLimit": {"type": "REQUESTCOUNTLIMIT",
                                     "requestCount": {"timeUnit": "min", "unitTime": 1, "requestCount": 50}}})),
    )
    .await;
    ok(
        app,
        Method::POST,
        &format!("{A}/throttling/deny-policies"),
        admin,
        Some(json!({"conditionType": "IP", "conditionValue": {"fixedIp": "10.9.9.9", "invert": false}})),
    )
    .await;
    ok(
        app,
        Method::POST,
        &format!("{A}/throttling/policies/advanced"),
        admin,
        Some(json!({"policyName": "GitopsBackend", "defaultLimit": {"type": "REQUESTCOUNTLIMIT",
                    "requestCount": {"timeUnit": "min", "unitTime": 1, "requestCount": 600}},
                    "conditionalGroups": [{"conditions": [{"type": "HEADERCONDITION",
                        "headerCondition": {"headerName": "X-Tier", "headerValue": "gold"}}],
                        "limit": {"type": "REQUESTCOUNTLIMIT",
                                  "requestCount": {"timeUnit": "min", "unitTime": 1, "requestCount": 6000}}}]})),
    )
    .await;
    ok(
        app,
        Method::POST,
        &format!("{A}/key-managers"),
        admin,
        Some(
            json!({"name": "Corporate IdP", "type": "OIDC", "issuer": "https://idp.example",
                    "certificates": {"type": "JWKS", "value": "https://idp.example/jwks"},
                    "enabled": true, "description": "The company's identity provider"}),
        ),
    )
    .await;
    let api = ok(
        app,
        Method::POST,
        &format!("{P}/apis"),
        admin,
        Some(json!({
            "name": "Orders", "context": "/orders", "version": "1.0.0",
            "description": "Orders of the shop",
            "policies": ["Gold", "Unlimited"],
            "operations": [{"target": "/orders/{id}", "verb": "GET"},
                           {"target": "/status", "verb": "GET", "authType": "None"}]
        })),
    )
    .await;
    let id = api["id"].as_str().unwrap().to_string();
    ok(
        app,
        Method::POST,
        &format!("{P}/apis/{id}/documents"),
        admin,
        Some(
            json!({"name": "Getting started", "type": "HOWTO", "sourceType": "MARKDOWN",
                    "visibility": "API_LEVEL", "summary": "First steps",
                    "inlineContent": "# Orders\n\nCall `GET /orders/{id}`.\n"}),
        ),
    )
    .await;
    let terms = ok(
        app,
        Method::POST,
        &format!("{P}/apis/{id}/documents"),
        admin,
        Some(
            json!({"name": "Terms", "type": "OTHER", "otherTypeName": "Legal", "sourceType": "FILE",
                    "visibility": "API_LEVEL", "summary": "The terms of use"}),
        ),
    )
    .await;
    let r = app
        .multipart(
            Method::POST,
            &format!(
                "{P}/apis/{id}/documents/{}/content",
                terms["documentId"].as_str().unwrap()
            ),
            admin,
            &[(
                "file",
                Some("terms.pdf"),
                b"%PDF-1.4\n% terms\n\x00\xff binary",
            )],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let live = json!({"endpoint_type": "http",
                      "production_endpoints": {"url": format!("http://{backend}/v1")}});
    deploy_revision(app, admin, &id, live, "first").await;
    ok(
        app,
        Method::POST,
        &format!("{P}/apis/change-lifecycle?apiId={id}&action=Publish"),
        admin,
        None,
    )
    .await;
    let application = ok(
        app,
        Method::POST,
        &format!("{D}/applications"),
        admin,
        Some(
            json!({"name": "Shop", "throttlingPolicy": "Gitops50", "description": "The web shop"}),
        ),
    )
    .await;
    let app_id = application["applicationId"].as_str().unwrap().to_string();
    let key = ok(
        app,
        Method::POST,
        &format!("{D}/applications/{app_id}/generate-keys"),
        admin,
        Some(json!({"keyType": "PRODUCTION", "grantTypesToBeSupported": ["client_credentials"]})),
    )
    .await;
    ok(
        app,
        Method::POST,
        &format!("{D}/subscriptions"),
        admin,
        Some(json!({"applicationId": app_id, "apiId": id, "throttlingPolicy": "Gold"})),
    )
    .await;
    // A product of one of its operations (not deployed: products keep their CREATED state).
    ok(
        app,
        Method::POST,
        &format!("{P}/api-products"),
        admin,
        Some(json!({"name": "Bundle", "context": "/bundle",
                    "apis": [{"apiId": id, "operations": [{"target": "/status", "verb": "GET"}]}]})),
    )
    .await;
    // An application of another user: it keeps its owner.
    let r = app.post_json("/auth/sign-up", alice_sign_up(), &[]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let alice = app
        .access_token("alice", ALICE_PASSWORD, "apim:subscribe")
        .await;
    let theirs = ok(
        app,
        Method::POST,
        &format!("{D}/applications"),
        &alice,
        Some(json!({"name": "Alice's app", "throttlingPolicy": "Unlimited"})),
    )
    .await;
    let theirs = theirs["applicationId"].as_str().unwrap().to_string();
    ok(
        app,
        Method::POST,
        &format!("{D}/subscriptions"),
        &alice,
        Some(json!({"applicationId": theirs, "apiId": id, "throttlingPolicy": "Unlimited"})),
    )
    .await;
    (id, key)
}

const ALICE_PASSWORD: &str = "alice-long-password";

fn alice_sign_up() -> Value {
    json!({"username": "alice", "email": "alice@example.com", "password": ALICE_PASSWORD,
           "password_confirm": ALICE_PASSWORD, "display_name": "Alice"})
}

fn cli(server: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = clean(Command::new(env!("CARGO_BIN_EXE_gatehouse")));
    cmd.env("GATEHOUSE_URL", format!("http://{server}"))
        .env("GATEHOUSE_PASSWORD", ADMIN_PASSWORD)
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run gatehouse")
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n{}{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, at: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(at).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().to_string();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out.retain(|k, _| !k.starts_with("params"));
    out
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn an_organization_moves_to_an_empty_installation_and_its_keys_work(db: PgPool) {
    let app = spawn(db.clone()).await;
    let admin = app.access_token("admin", ADMIN_PASSWORD, SCOPES).await;
    let orders = backend("orders");
    let (_, key) = populate(&app, &admin, orders).await;
    let consumer_key = key["consumerKey"].as_str().unwrap().to_string();
    let secret = key["consumerSecret"].as_str().unwrap().to_string();

    // A second, empty installation: its own database, its own server.
    let db_b = format!("gitops_b_{}", std::process::id());
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {db_b}"
    )))
    .execute(&db)
    .await
    .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db_b}")))
        .execute(&db)
        .await
        .unwrap();
    let url_a = database_url(&db);
    let url_b = format!("{}/{db_b}", url_a.rsplit_once('/').unwrap().0);
    let (_a, addr_a) = control_plane(&url_a);
    let (b_proc, addr_b) = control_plane(&url_b);

    let work = std::env::temp_dir().join(format!("gh-gitops-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let (dir1, dir2) = (work.join("one"), work.join("two"));
    let d1 = dir1.to_str().unwrap().to_string();
    let d2 = dir2.to_str().unwrap().to_string();

    let out = cli(&addr_a, &["export", &d1], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let files = tree(&dir1);
    for f in [
        "apis/Orders-1.0.0/api.yaml",
        "apis/Orders-1.0.0/definition.yaml",
        "apis/Orders-1.0.0/documents/Getting_started.yaml",
        "apis/Orders-1.0.0/documents/Terms.yaml",
        "apis/Orders-1.0.0/documents/Terms/terms.pdf",
        "api-products/Bundle-1.0.0/api.yaml",
        "applications/alice/Alice_s_app.yaml",
        "applications/admin/Shop.yaml",
        "throttling/application/Gitops50.yaml",
        "throttling/subscription/Gold.yaml",
        "throttling/deny-policies.yaml",
        "throttling/advanced/GitopsBackend.yaml",
        "key-managers/Corporate_IdP.yaml",
    ] {
        assert!(files.contains_key(f), "{f} missing: {:?}", files.keys());
    }
    assert_eq!(
        files["apis/Orders-1.0.0/documents/Terms/terms.pdf"],
        b"%PDF-1.4\n% terms\n\x00\xff binary"
    );
    let all: String = files
        .values()
        .map(|b| String::from_utf8_lossy(b).to_string())
        .collect();
    assert!(!all.contains(&secret), "a secret was exported");
    assert!(all.contains(&consumer_key));
    let shop = String::from_utf8_lossy(&files["applications/admin/Shop.yaml"]).to_string();
    assert!(
        shop.contains("apiName: Orders") && shop.contains("throttlingPolicy: Gold"),
        "{shop}"
    );

    // Alice has no account at B yet: her application cannot be imported, and nothing is.
    let out = cli(&addr_b, &["import", &d1], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("applications/alice/Alice_s_app.yaml: owner"),
        "{}",
        text(&out)
    );
    let pool_b = PgPool::connect(&url_b).await.unwrap();
    assert_eq!(count(&pool_b, "SELECT count(*) FROM api").await, 0);
    let (status, body) = http(
        &addr_b,
        "POST",
        "/auth/sign-up",
        &[("content-type", "application/json")],
        &alice_sign_up().to_string(),
    );
    assert_eq!(status, 201, "{body}");

    // Without the secret the import says which one is missing, and changes nothing.
    let out = cli(&addr_b, &["import", &d1], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("applications/admin/Shop.yaml: keys[0].consumerSecret"),
        "{}",
        text(&out)
    );
    assert_eq!(count(&pool_b, "SELECT count(*) FROM api").await, 0);
    assert_eq!(
        count(
            &pool_b,
            "SELECT count(*) FROM throttling_policy WHERE name = 'Gitops50'"
        )
        .await,
        0
    );

    // The secret comes from the environment through a parameter file.
    std::fs::create_dir_all(dir1.join("params")).unwrap();
    let params = dir1.join("params/b.yaml");
    std::fs::write(
        &params,
        "applications:\n  admin/Shop:\n    keys:\n      PRODUCTION:\n        consumerSecret: ${SHOP_SECRET}\n",
    )
    .unwrap();
    let p = params.to_str().unwrap();
    let env = [("SHOP_SECRET", secret.as_str())];
    let out = cli(
        &addr_b,
        &["import", &d1, "--params", p, "--dry-run", "--exit-code"],
        &env,
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let plan = text(&out);
    for line in [
        "create    api ",
        "create    apiProduct ",
        "create    application ",
        "create    applicationPolicy ",
        "create    advancedPolicy ",
        "create    keyManager ",
        "update    denyPolicies ",
    ] {
        assert!(plan.contains(line), "{line}: {plan}");
    }
    assert!(plan.contains("(dry run: nothing was changed)"), "{plan}");

    let out = cli(&addr_b, &["import", &d1, "--params", p], &env);
    assert!(out.status.success(), "{}", text(&out));

    // Export again: the same files.
    let out = cli(&addr_b, &["export", &d2], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let (one, two) = (tree(&dir1), tree(&dir2));
    for (path, body) in &one {
        assert_eq!(
            two.get(path)
                .map(|b| String::from_utf8_lossy(b).to_string()),
            Some(String::from_utf8_lossy(body).to_string()),
            "{path} differs"
        );
    }
    assert_eq!(
        one.keys().collect::<Vec<_>>(),
        two.keys().collect::<Vec<_>>()
    );

    // A second import changes nothing.
    let out = cli(
        &addr_b,
        &["import", &d1, "--params", p, "--dry-run", "--exit-code"],
        &env,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("0 to create, 0 to update"),
        "{}",
        text(&out)
    );

    // The imported keys: a token from installation B, served by B's gateway.
    let auth = basic(&consumer_key, &secret);
    let (status, body) = http(
        &addr_b,
        "POST",
        "/oauth2/token",
        &[
            ("authorization", &auth),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        "grant_type=client_credentials",
    );
    assert_eq!(status, 200, "{body}");
    let token: Value = serde_json::from_str(&body).unwrap();
    let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap());
    let cache = work.join("snapshot.json");
    let gw = start_gateway(&format!("http://{addr_b}"), &cache);
    let traffic = gw.traffic.clone();
    let served = tokio::task::spawn_blocking(move || {
        within(Duration::from_secs(10), "B's gateway serves Orders", || {
            request(
                &traffic,
                "GET",
                "/orders/1.0.0/orders/7",
                &[("Authorization", &bearer)],
            )
            .0 == 200
        });
        let (status, _, body) = request(
            &traffic,
            "GET",
            "/orders/1.0.0/orders/7",
            &[("Authorization", &bearer)],
        );
        let unauthenticated = request(&traffic, "GET", "/orders/1.0.0/orders/7", &[]).0;
        (status, body, unauthenticated)
    })
    .await
    .unwrap();
    assert_eq!(served.0, 200, "{}", served.1);
    assert!(served.1.contains("\"backend\":\"orders\""), "{}", served.1);
    assert_eq!(served.2, 401);

    // A changed file changes only its object.
    let api_yaml = dir2.join("apis/Orders-1.0.0/api.yaml");
    let changed = std::fs::read_to_string(&api_yaml).unwrap().replace(
        "description: Orders of the shop",
        "description: Orders, now with refunds",
    );
    std::fs::write(&api_yaml, changed).unwrap();
    let out = cli(
        &addr_b,
        &["import", &d2, "--params", p, "--dry-run", "--exit-code"],
        &env,
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let plan = text(&out);
    let updates: Vec<&str> = plan.lines().filter(|l| l.starts_with("update")).collect();
    assert_eq!(updates.len(), 1, "{plan}");
    assert!(
        updates[0].contains("Orders:1.0.0") && updates[0].contains("api.yaml: description"),
        "{plan}"
    );
    assert!(plan.contains("0 to create, 1 to update"), "{plan}");
    let out = cli(&addr_b, &["import", &d2, "--params", p], &env);
    assert!(out.status.success(), "{}", text(&out));
    let out = cli(&addr_b, &["export", &d1], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(tree(&dir1), tree(&dir2));

    drop(gw);
    drop(b_proc);
    pool_b.close().await;
    let _ = std::fs::remove_dir_all(&work);
    // B's server is gone; its connections close with it.
    tokio::time::sleep(Duration::from_millis(200)).await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {db_b} WITH (FORCE)"
    )))
    .execute(&db)
    .await
    .unwrap();
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn bad_configurations_change_nothing_and_only_admins_may(db: PgPool) {
    let app = spawn(db.clone()).await;
    let admin = app.access_token("admin", ADMIN_PASSWORD, SCOPES).await;
    let (_, key) = populate(&app, &admin, closed_port()).await;
    let secret = key["consumerSecret"].as_str().unwrap();

    let r = app.get_bearer(EXPORT, &admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let bundle = r.json();
    assert!(!r.text().contains(secret));

    // Only the named API.
    let r = app
        .get_bearer(&format!("{EXPORT}?apis=Orders:1.0.0"), &admin)
        .await;
    let only: Vec<String> = r.json()["files"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert!(
        !only.is_empty() && only.iter().all(|f| f.starts_with("apis/Orders-1.0.0/")),
        "{only:?}"
    );

    // The export, imported back: all unchanged.
    let r = app
        .call(
            Method::POST,
            &format!("{IMPORT}?dryRun=true"),
            &admin,
            Some(bundle.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let plan = r.json();
    assert_eq!(
        (plan["created"].clone(), plan["updated"].clone()),
        (json!(0), json!(0)),
        "{plan:#}"
    );
    assert!(plan["unchanged"].as_i64().unwrap() >= 7, "{plan:#}");

    // Bad files: every problem named by file and field; not one row changes.
    let before = table_digests(&db).await;
    let mut bad = bundle.clone();
    let files = bad["files"].as_object_mut().unwrap();
    let shop = files["applications/admin/Shop.yaml"]
        .as_str()
        .unwrap()
        .to_string();
    files.insert(
        "applications/admin/Shop.yaml".into(),
        json!(format!("{shop}colour: red\n")),
    );
    let api = files["apis/Orders-1.0.0/api.yaml"]
        .as_str()
        .unwrap()
        .to_string();
    files.insert("README.md".into(), json!("# notes"));
    files.insert(
        "throttling/application/Broken.yaml".into(),
        json!("policyName: [unclosed"),
    );
    let r = app.call(Method::POST, IMPORT, &admin, Some(bad)).await;
    let body = assert_wso2_error(&r, StatusCode::BAD_REQUEST);
    let named = fields(&body);
    for want in [
        "applications/admin/Shop.yaml: colour",
        "README.md",
        "throttling/application/Broken.yaml",
    ] {
        assert!(named.iter().any(|f| f == want), "{want}: {named:?}");
    }
    assert_eq!(table_digests(&db).await, before);

    // A provider that is not a user here: refused before anything is written.
    let mut bad = bundle.clone();
    let files = bad["files"].as_object_mut().unwrap();
    files.insert(
        "apis/Orders-1.0.0/api.yaml".into(),
        json!(api.replace("provider: admin", "provider: nobody")),
    );
    let r = app.call(Method::POST, IMPORT, &admin, Some(bad)).await;
    let body = assert_wso2_error(&r, StatusCode::BAD_REQUEST);
    assert_eq!(
        fields(&body),
        vec!["apis/Orders-1.0.0/api.yaml: provider"],
        "{body}"
    );
    assert_eq!(table_digests(&db).await, before);

    // A publisher without apim:admin may do neither.
    let publisher = app
        .access_token("admin", ADMIN_PASSWORD, "apim:api_view apim:api_create")
        .await;
    assert_eq!(
        app.get_bearer(EXPORT, &publisher).await.status,
        StatusCode::FORBIDDEN
    );
    let r = app
        .call(Method::POST, IMPORT, &publisher, Some(bundle))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}
