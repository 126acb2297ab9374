//! Every Admin v4 REST operation in one table, walked through the real router: a check that
//! the table covers every Admin route registered in `src/http/*.rs`; refusals (401 without a
//! token, 403 in WSO2's error body for tokens holding only other sections' scopes, nothing
//! changed by a refused call); acceptance with a token holding exactly one of the scopes the
//! table names (asked of the token endpoint by the dedicated built-in admin roles); the
//! catch-all's WSO2 404 for operations we do not implement; and the Admin portal's server
//! functions (`PortalServices`) refusing and accepting the same way.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

use app::api::ServiceError;
use app::api::ssr::PortalServices;
use app::auth::CurrentUser;
use app::workflows::{WorkflowCall, WorkflowDecision, WorkflowReply, WorkflowSetting};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::routes::*;
use common::*;
use serde_json::{Value, json};
use sqlx::PgPool;

const A: &str = "/api/am/admin/v4";
const D: &str = "/api/am/devportal/v3";

/// Scopes an operation accepts (any one of them).
const WF_VIEW: &str = "apim:api_workflow_view apim:api_workflow_approve apim:admin";
const WF_APPROVE: &str = "apim:api_workflow_approve apim:admin";
const WF_SETTINGS_VIEW: &str =
    "apim:api_workflow_view apim:api_workflow_approve apim:admin apim:admin_settings";
const WF_SETTINGS: &str = "apim:admin_settings apim:admin";
const KM: &str = "apim:keymanagers_manage apim:admin";
const ENV_READ: &str = "apim:environment_read apim:environment_manage apim:admin \
                        apim:api_view apim:api_create apim:api_publish apim:api_manage";
const ENV_MANAGE: &str = "apim:environment_manage apim:admin";
const ENV_DIAGNOSTICS: &str = "apim:environment_read apim:environment_manage apim:admin";
const SETTINGS: &str = "apim:admin apim:admin_settings";
const SYSTEM_SCOPES: &str = "apim:scope_manage apim:admin";
const CATEGORIES: &str = "apim:api_category apim:admin apim:admin_operations";
const ORG_SETTINGS: &str = "apim:admin_settings apim:admin";
/// The super admin: `apim:admin` in the default organization.
const ORGANIZATIONS: &str = "apim:admin";
/// Ours: the owner of the API hands it over (see `change_provider_accepts_wso2_scopes`).
const PROVIDER: &str = "apim:api_create apim:api_manage";

/// What WSO2 4.3's admin-api.yaml asks for (`security: OAuth2Security`).
const W_WF_VIEW: &str = "apim:admin apim:api_workflow_view";
const W_WF_APPROVE: &str = "apim:admin apim:api_workflow_approve";
const W_KM: &str = "apim:admin apim:admin_operations";
const W_ENV_READ: &str = "apim:admin apim:environment_read";
const W_ENV_MANAGE: &str = "apim:admin apim:environment_manage";
const W_PROVIDER: &str = "apim:admin apim:api_provider_change";
const W_CATEGORIES: &str = "apim:admin apim:admin_operations";
const TIER_VIEW: &str = "apim:tier_view apim:tier_manage apim:admin";
const TIER_MANAGE: &str = "apim:tier_manage apim:admin";
const W_TIER_VIEW: &str = "apim:admin apim:tier_view";
const W_TIER_MANAGE: &str = "apim:admin apim:tier_manage";
const BL_VIEW: &str = "apim:bl_view apim:bl_manage apim:admin";
const BL_MANAGE: &str = "apim:bl_manage apim:admin";
const W_BL_VIEW: &str = "apim:admin apim:bl_view";
const W_BL_MANAGE: &str = "apim:admin apim:bl_manage";
const DENY_BODY: &str = r#"{"conditionType": "USER", "conditionValue": "blocked-{n}"}"#;
const POLICY_BODY: &str = r#"{"policyName": "p-{n}", "defaultLimit": {"type": "REQUESTCOUNTLIMIT",
    "requestCount": {"timeUnit": "min", "unitTime": 1, "requestCount": 100}}}"#;

const ADVANCED_BODY: &str = r#"{"policyName": "a-{n}", "defaultLimit": {"type": "REQUESTCOUNTLIMIT",
    "requestCount": {"timeUnit": "min", "unitTime": 1, "requestCount": 100}},
    "conditionalGroups": [{"conditions": [{"type": "HEADERCONDITION",
        "headerCondition": {"headerName": "X-Tier", "headerValue": "gold"}}],
        "limit": {"type": "BANDWIDTHLIMIT",
                  "bandwidth": {"timeUnit": "min", "unitTime": 1, "dataAmount": 5, "dataUnit": "MB"}}}]}"#;

const KM_BODY: &str = r#"{"name": "km-{n}", "type": "OIDC", "issuer": "https://km-{n}.example",
    "certificates": {"type": "JWKS", "value": "https://km-{n}.example/jwks"}, "enabled": true}"#;
const KM_EDIT: &str = r#"{"name": "world-km", "type": "OIDC", "issuer": "https://world-km.example",
    "description": "edited {n}",
    "certificates": {"type": "JWKS", "value": "https://world-km.example/jwks"}, "enabled": true}"#;
const ENV_BODY: &str =
    r#"{"name": "env-{n}", "displayName": "Env {n}", "vhosts": [{"host": "env-{n}.example.com"}]}"#;
const ENV_EDIT: &str = r#"{"name": "world-env", "displayName": "World {n}",
    "vhosts": [{"host": "world-{n}.example.com"}]}"#;

/// (method, path below the Admin base — a `?query` is sent but not part of the route —,
/// scopes accepted (any one), WSO2's scopes (`None`: ours, not in WSO2's contract), JSON body
/// of a well-formed request). `{…}` are filled with real ids; `{n}` with a fresh number.
type Op = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
);

#[rustfmt::skip]
const OPS: &[Op] = &[
    // Approval workflows (server/src/workflows.rs VIEW_SCOPES / APPROVE_SCOPES / SETTINGS_SCOPES).
    ("GET", "/workflows", WF_VIEW, Some(W_WF_VIEW), None),
    ("GET", "/workflows/{workflowId}", WF_VIEW, Some(W_WF_VIEW), None),
    ("POST", "/workflows/update-workflow-status?workflowReferenceId={workflowId}", WF_APPROVE, Some(W_WF_APPROVE), Some(r#"{"status": "APPROVED", "description": "fine {n}"}"#)),
    // Ours: which types need approval (WSO2 keeps this in a registry file).
    ("GET", "/workflow-settings", WF_SETTINGS_VIEW, None, None),
    ("PUT", "/workflow-settings", WF_SETTINGS, None, Some(r#"{"list": [{"workflowType": "APPLICATION_CREATION", "enabled": true}]}"#)),
    // Key managers (server/src/keymanager/admin.rs KM_ADMIN_SCOPES).
    ("GET", "/key-managers", KM, Some(W_KM), None),
    ("POST", "/key-managers", KM, Some(W_KM), Some(KM_BODY)),
    ("GET", "/key-managers/{keyManagerId}", KM, Some(W_KM), None),
    ("PUT", "/key-managers/{keyManagerId}", KM, Some(W_KM), Some(KM_EDIT)),
    ("DELETE", "/key-managers/{keyManagerId}", KM, Some(W_KM), None),
    // multipart/form-data (the JSON object's fields are the form's).
    ("POST", "/key-managers/discover", KM, Some(W_KM), Some(r#"{"url": "{issuer}/.well-known/openid-configuration", "type": "OIDC"}"#)),
    // Ours: a new signing key for the resident key manager.
    ("POST", "/key-managers/resident/rotate-signing-key?algorithm=RS256", "apim:admin", None, None),
    // Gateway environments (server/src/http/publisher.rs, server/src/publisher/revisions.rs).
    ("GET", "/environments", ENV_READ, Some(W_ENV_READ), None),
    ("POST", "/environments", ENV_MANAGE, Some(W_ENV_MANAGE), Some(ENV_BODY)),
    ("PUT", "/environments/{environmentId}", ENV_MANAGE, Some(W_ENV_MANAGE), Some(ENV_EDIT)),
    ("DELETE", "/environments/{environmentId}", ENV_MANAGE, Some(W_ENV_MANAGE), None),
    // Ours: a connected gateway's last diagnostics report (server/src/http/publisher.rs).
    ("GET", "/environments/{environmentId}/gateways/diagnostics?gatewayId=world-gw%2F1", ENV_DIAGNOSTICS, None, None),
    // Ours: the AI index (server/src/http/ai_admin.rs).
    ("GET", "/ai-index", SETTINGS, None, None),
    ("POST", "/ai-index/reindex", SETTINGS, None, None),
    // Ours: the organization's traffic (server/src/http/analytics.rs).
    ("GET", "/analytics?range=1h", "apim:admin apim:monitoring_view", None, None),
    // Ours: declarative configuration, the `gatehouse` CLI's calls (server/src/http/gitops.rs).
    ("GET", "/configuration/export", "apim:admin", None, None),
    ("POST", "/configuration/import?dryRun=true", "apim:admin", None, Some(r#"{"files": {}}"#)),
    // An API's owner (server/src/publisher/apis.rs change_provider).
    ("POST", "/apis/{apiId}/change-provider?provider={provider}", PROVIDER, Some(W_PROVIDER), None),
    // Rate-limiting policies (server/src/throttling.rs).
    ("GET", "/throttling/policies/application", TIER_VIEW, Some(W_TIER_VIEW), None),
    ("POST", "/throttling/policies/application", TIER_MANAGE, Some(W_TIER_MANAGE), Some(POLICY_BODY)),
    ("GET", "/throttling/policies/application/{applicationPolicyId}", TIER_VIEW, Some(W_TIER_VIEW), None),
    ("PUT", "/throttling/policies/application/{applicationPolicyId}", TIER_MANAGE, Some(W_TIER_MANAGE), Some(r#"{"policyName": "world-app", "description": "edited {n}", "defaultLimit": {"type": "REQUESTCOUNTLIMIT", "requestCount": {"timeUnit": "min", "unitTime": 1, "requestCount": 100}}}"#)),
    ("DELETE", "/throttling/policies/application/{applicationPolicyId}", TIER_MANAGE, Some(W_TIER_MANAGE), None),
    ("GET", "/throttling/policies/subscription", TIER_VIEW, Some(W_TIER_VIEW), None),
    ("POST", "/throttling/policies/subscription", TIER_MANAGE, Some(W_TIER_MANAGE), Some(POLICY_BODY)),
    ("GET", "/throttling/policies/subscription/{subscriptionPolicyId}", TIER_VIEW, Some(W_TIER_VIEW), None),
    ("PUT", "/throttling/policies/subscription/{subscriptionPolicyId}", TIER_MANAGE, Some(W_TIER_MANAGE), Some(r#"{"policyName": "world-sub", "description": "edited {n}", "defaultLimit": {"type": "REQUESTCOUNTLIMIT", "requestCount": {"timeUnit": "min", "unitTime": 1, "requestCount": 100}}, "rateLimitCount": 10, "rateLimitTimeUnit": "sec"}"#)),
    ("DELETE", "/throttling/policies/subscription/{subscriptionPolicyId}", TIER_MANAGE, Some(W_TIER_MANAGE), None),
    // Advanced policies (server/src/throttling/advanced.rs).
    ("GET", "/throttling/policies/advanced", TIER_VIEW, Some(W_TIER_VIEW), None),
    ("POST", "/throttling/policies/advanced", TIER_MANAGE, Some(W_TIER_MANAGE), Some(ADVANCED_BODY)),
    ("GET", "/throttling/policies/advanced/{policyId}", TIER_VIEW, Some(W_TIER_VIEW), None),
    ("PUT", "/throttling/policies/advanced/{policyId}", TIER_MANAGE, Some(W_TIER_MANAGE), Some(r#"{"policyName": "world-advanced", "description": "edited {n}", "defaultLimit": {"type": "REQUESTCOUNTLIMIT", "requestCount": {"timeUnit": "min", "unitTime": 1, "requestCount": 100}}}"#)),
    ("DELETE", "/throttling/policies/advanced/{policyId}", TIER_MANAGE, Some(W_TIER_MANAGE), None),
    // Deny policies (server/src/throttling.rs).
    ("GET", "/throttling/deny-policies", BL_VIEW, Some(W_BL_VIEW), None),
    ("POST", "/throttling/deny-policies", BL_MANAGE, Some(W_BL_MANAGE), Some(DENY_BODY)),
    ("GET", "/throttling/deny-policy/{conditionId}", BL_VIEW, Some(W_BL_VIEW), None),
    ("PATCH", "/throttling/deny-policy/{conditionId}", BL_MANAGE, Some(W_BL_MANAGE), Some(r#"{"conditionStatus": false}"#)),
    ("DELETE", "/throttling/deny-policy/{conditionId}", BL_MANAGE, Some(W_BL_MANAGE), None),
    // Settings (server/src/http/rest.rs).
    ("GET", "/settings", SETTINGS, Some(SETTINGS), None),
    // Categories, organization settings, organizations, scope-role mapping and role aliases
    // (server/src/admin_settings.rs).
    ("GET", "/api-categories", CATEGORIES, Some(W_CATEGORIES), None),
    ("POST", "/api-categories", CATEGORIES, Some(W_CATEGORIES), Some(r#"{"name": "Category {n}"}"#)),
    ("PUT", "/api-categories/{apiCategoryId}", CATEGORIES, Some(W_CATEGORIES), Some(r#"{"name": "World {n}", "description": "edited"}"#)),
    ("DELETE", "/api-categories/{apiCategoryId}", CATEGORIES, Some(W_CATEGORIES), None),
    // Ours: WSO2 keeps these in tenant-conf.json.
    ("GET", "/organization-settings", ORG_SETTINGS, None, None),
    ("PUT", "/organization-settings", ORG_SETTINGS, None, Some(r#"{"displayName": "Org {n}"}"#)),
    // Ours: WSO2 manages tenants outside its REST APIs.
    ("GET", "/organizations", ORGANIZATIONS, None, None),
    ("POST", "/organizations", ORGANIZATIONS, None, Some(r#"{"name": "org-{n}", "adminUsername": "boss", "adminPassword": "boss password"}"#)),
    ("PUT", "/organizations/{organizationName}", ORGANIZATIONS, None, Some(r#"{"displayName": "World {n}"}"#)),
    ("GET", "/system-scopes", SYSTEM_SCOPES, Some(SYSTEM_SCOPES), None),
    ("PUT", "/system-scopes", SYSTEM_SCOPES, Some(SYSTEM_SCOPES), Some(r#"{"list": [{"name": "apim:monitoring_view", "roles": ["admin", "monitor"]}]}"#)),
    ("GET", "/system-scopes/{scopeName}?username=admin", SYSTEM_SCOPES, Some(SYSTEM_SCOPES), None),
    ("GET", "/system-scopes/role-aliases", SYSTEM_SCOPES, Some(SYSTEM_SCOPES), None),
    ("PUT", "/system-scopes/role-aliases", SYSTEM_SCOPES, Some(SYSTEM_SCOPES), Some(r#"{"list": [{"role": "subscriber", "aliases": ["devs-{n}"]}]}"#)),
];

/// Operations that send `multipart/form-data`.
const MULTIPART: &[&str] = &["/key-managers/discover"];

/// WSO2 scopes an operation accepts besides the ones its row lists (each checked alone by the
/// two tests below: `apim:admin_operations` for key managers, WSO2's change-provider scopes).
/// (method, path as in `OPS`, scope).
const WSO2_SCOPES_BEYOND_TABLE: &[(&str, &str, &str)] = &[
    ("GET", "/key-managers", "apim:admin_operations"),
    ("POST", "/key-managers", "apim:admin_operations"),
    (
        "GET",
        "/key-managers/{keyManagerId}",
        "apim:admin_operations",
    ),
    (
        "PUT",
        "/key-managers/{keyManagerId}",
        "apim:admin_operations",
    ),
    (
        "DELETE",
        "/key-managers/{keyManagerId}",
        "apim:admin_operations",
    ),
    ("POST", "/key-managers/discover", "apim:admin_operations"),
    (
        "POST",
        "/apis/{apiId}/change-provider?provider={provider}",
        "apim:admin",
    ),
    (
        "POST",
        "/apis/{apiId}/change-provider?provider={provider}",
        "apim:api_provider_change",
    ),
];

/// Tokens (asked of `admin`, who holds every scope) with scopes of one section each, or only
/// the read scope of a section: each is tried on every operation that accepts none of them.
const FOREIGN: &[&str] = &[
    "apim:api_workflow_view apim:api_workflow_approve",
    "apim:api_workflow_view",
    "apim:keymanagers_manage apim:tier_view",
    "apim:tier_view apim:tier_manage apim:bl_view apim:bl_manage",
    "apim:environment_read apim:environment_manage",
    "apim:environment_read",
    "apim:admin_settings apim:api_category",
    "apim:role_manage apim:scope_manage apim:monitoring_view",
    "apim:api_view apim:subscribe",
];

/// The built-in demo user to ask for `scope`: the dedicated admin roles where one holds it,
/// `publisher` for Publisher scopes, `admin` (every scope) otherwise.
fn user_for(scope: &str) -> (&'static str, &'static str) {
    match scope {
        "apim:api_workflow_view" | "apim:api_workflow_approve" => ("workflow-admin", DEMO_PASSWORD),
        "apim:keymanagers_manage" => ("keymanager-admin", DEMO_PASSWORD),
        "apim:tier_view" | "apim:tier_manage" | "apim:bl_view" | "apim:bl_manage" => {
            ("policy-admin", DEMO_PASSWORD)
        }
        "apim:api_view" | "apim:api_create" | "apim:api_publish" | "apim:api_manage" => {
            ("publisher", DEMO_PASSWORD)
        }
        _ => ("admin", ADMIN_PASSWORD),
    }
}

fn route_of(p: &str) -> &str {
    p.split('?').next().unwrap()
}

// ----- Route coverage ---------------------------------------------------------------------------

#[test]
fn the_table_covers_every_admin_route() {
    let (registered, catch_all) = routes_under("ADMIN", A);
    assert!(
        catch_all,
        "the scan found no `{{ADMIN}}/{{*rest}}` catch-all"
    );
    assert!(
        registered.len() >= 47,
        "the scan found too few routes: {registered:?}"
    );
    let table: BTreeSet<(String, String)> = OPS
        .iter()
        .map(|(m, p, ..)| (m.to_string(), normalize(route_of(p))))
        .collect();
    assert_eq!(table.len(), OPS.len(), "a row appears twice");
    let missing: Vec<_> = registered.difference(&table).collect();
    let stale: Vec<_> = table.difference(&registered).collect();
    assert!(
        missing.is_empty(),
        "Admin operations without a row in OPS: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "rows in OPS without a registered route: {stale:?}"
    );
    // The table is self-consistent: no GET with a body, a foreign token for every row, and
    // every scope WSO2 asks for is accepted unless listed in WSO2_SCOPES_BEYOND_TABLE.
    for (m, p, scopes, wso2, body) in OPS {
        assert!(body.is_none() || *m != "GET", "{m} {p}: a GET with a body");
        assert!(
            FOREIGN.iter().any(|f| disjoint(f, scopes)),
            "{m} {p}: no foreign token to try"
        );
        for w in wso2.unwrap_or_default().split_whitespace() {
            let listed = WSO2_SCOPES_BEYOND_TABLE.contains(&(m, p, w));
            assert_eq!(
                scopes.split(' ').any(|s| s == w),
                !listed,
                "{m} {p}: WSO2's {w} is {} by the table",
                if listed { "accepted" } else { "not accepted" }
            );
        }
    }
    for (m, p, _) in WSO2_SCOPES_BEYOND_TABLE {
        assert!(OPS.iter().any(|(om, op, ..)| om == m && op == p), "{m} {p}");
    }
}

#[test]
fn the_scan_reads_the_admin_routes_as_written() {
    let src = Source::new(
        r#"
        fn router() {
            let p = |path: &str| format!("{PUBLISHER}{path}");
            Router::new()
                .route(&format!("{ADMIN}/key-managers/{{id}}"), get(one).put(update))
                .route(&p("/environments"), get(environments))
        }
        "#,
    );
    let consts: BTreeMap<String, String> = [
        ("ADMIN".to_string(), A.to_string()),
        ("PUBLISHER".to_string(), "/api/am/publisher/v4".to_string()),
    ]
    .into();
    let end = src.text.len();
    assert_eq!(
        src.path_of(r#"&format!("{ADMIN}/key-managers/{{id}}")"#, end, &consts),
        format!("{A}/key-managers/{{id}}")
    );
    assert_eq!(
        src.path_of(r#"&format!("{ADMIN}/{{*rest}}")"#, end, &consts),
        format!("{A}/{{*rest}}")
    );
    assert_eq!(
        src.path_of(r#"&p("/environments")"#, end, &consts),
        "/api/am/publisher/v4/environments"
    );
    assert_eq!(
        methods_of("axum::routing::put(update_environment).delete(delete_environment)"),
        ["PUT", "DELETE"]
    );
    assert_eq!(normalize(route_of("/a/{x}/b?q={y}")), "/a/{}/b");
}

fn disjoint(a: &str, b: &str) -> bool {
    let b: BTreeSet<&str> = b.split_whitespace().collect();
    a.split_whitespace().all(|s| !b.contains(s))
}

// ----- A world to act on ------------------------------------------------------------------------

/// Real values for every placeholder.
#[derive(Clone)]
struct Ids(BTreeMap<&'static str, String>);

impl Ids {
    fn fill(&self, template: &str) -> String {
        let mut s = template.to_string();
        for (k, v) in &self.0 {
            s = s.replace(&format!("{{{k}}}"), v);
        }
        let unfilled = s.split('{').skip(1).any(|rest| {
            rest.split('}')
                .next()
                .is_some_and(|name| !name.is_empty() && name.chars().all(is_ident))
        });
        assert!(!unfilled, "unfilled: {s}");
        s
    }
}

async fn created(r: Resp) -> Value {
    assert!(r.status.is_success(), "{} {}", r.status, r.text());
    r.json()
}

/// The test's identity provider: a discovery document on 127.0.0.1.
async fn issuer() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    let discovery = json!({
        "issuer": base,
        "jwks_uri": format!("{base}/jwks"),
        "token_endpoint": format!("{base}/token"),
        "grant_types_supported": ["client_credentials"],
    });
    let app = axum::Router::new().route(
        "/.well-known/openid-configuration",
        axum::routing::get(move || async move { axum::Json(discovery) }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// `admin` with every scope an Admin operation needs.
const ADMIN_ALL: &str = "apim:admin apim:admin_settings apim:api_workflow_view \
                         apim:api_workflow_approve apim:keymanagers_manage \
                         apim:environment_manage apim:api_category apim:tier_manage \
                         apim:bl_manage";
const DEV: &str = "apim:subscribe apim:app_manage apim:sub_manage";

struct World {
    ids: Ids,
    admin: String,
    developer: String,
    counter: usize,
}

impl World {
    fn next(&mut self) -> String {
        self.counter += 1;
        self.counter.to_string()
    }

    /// A key manager, an environment, a pending workflow — fresh, for a DELETE or a decision.
    async fn fresh(&mut self, app: &TestApp, method: &str, path: &str) -> Ids {
        let mut ids = self.ids.clone();
        let n = self.next();
        ids.0.insert("n", n.clone());
        match (method, route_of(path)) {
            ("DELETE", "/key-managers/{keyManagerId}") => {
                let body: Value = serde_json::from_str(&ids.fill(KM_BODY)).unwrap();
                let km = created(
                    app.call(
                        Method::POST,
                        &format!("{A}/key-managers"),
                        &self.admin,
                        Some(body),
                    )
                    .await,
                )
                .await;
                ids.0
                    .insert("keyManagerId", km["id"].as_str().unwrap().to_string());
            }
            ("DELETE", "/throttling/policies/application/{applicationPolicyId}")
            | ("DELETE", "/throttling/policies/subscription/{subscriptionPolicyId}") => {
                let level = if path.contains("/application/") {
                    "application"
                } else {
                    "subscription"
                };
                let body: Value = serde_json::from_str(&ids.fill(POLICY_BODY)).unwrap();
                let p = created(
                    app.call(
                        Method::POST,
                        &format!("{A}/throttling/policies/{level}"),
                        &self.admin,
                        Some(body),
                    )
                    .await,
                )
                .await;
                let key = if level == "application" {
                    "applicationPolicyId"
                } else {
                    "subscriptionPolicyId"
                };
                ids.0
                    .insert(key, p["policyId"].as_str().unwrap().to_string());
            }
            ("DELETE", "/throttling/policies/advanced/{policyId}") => {
                let body: Value = serde_json::from_str(&ids.fill(ADVANCED_BODY)).unwrap();
                let p = created(
                    app.call(
                        Method::POST,
                        &format!("{A}/throttling/policies/advanced"),
                        &self.admin,
                        Some(body),
                    )
                    .await,
                )
                .await;
                ids.0
                    .insert("policyId", p["policyId"].as_str().unwrap().to_string());
            }
            ("DELETE", "/throttling/deny-policy/{conditionId}") => {
                let body: Value = serde_json::from_str(&ids.fill(DENY_BODY)).unwrap();
                let d = created(
                    app.call(
                        Method::POST,
                        &format!("{A}/throttling/deny-policies"),
                        &self.admin,
                        Some(body),
                    )
                    .await,
                )
                .await;
                ids.0.insert(
                    "conditionId",
                    d["conditionId"].as_str().unwrap().to_string(),
                );
            }
            ("DELETE", "/api-categories/{apiCategoryId}") => {
                let c = created(
                    app.call(
                        Method::POST,
                        &format!("{A}/api-categories"),
                        &self.admin,
                        Some(json!({"name": format!("Fresh {n}")})),
                    )
                    .await,
                )
                .await;
                ids.0
                    .insert("apiCategoryId", c["id"].as_str().unwrap().to_string());
            }
            ("DELETE", "/environments/{environmentId}") => {
                let body: Value = serde_json::from_str(&ids.fill(ENV_BODY)).unwrap();
                let env = created(
                    app.call(
                        Method::POST,
                        &format!("{A}/environments"),
                        &self.admin,
                        Some(body),
                    )
                    .await,
                )
                .await;
                ids.0
                    .insert("environmentId", env["id"].as_str().unwrap().to_string());
            }
            ("POST", "/workflows/update-workflow-status") => {
                let id = pending_workflow(app, &self.developer, &format!("Waiting {n}")).await;
                ids.0.insert("workflowId", id);
            }
            _ => {}
        }
        ids
    }
}

/// An application created while its creation needs approval: the workflow's reference.
async fn pending_workflow(app: &TestApp, developer: &str, name: &str) -> String {
    let a = created(
        app.call(
            Method::POST,
            &format!("{D}/applications"),
            developer,
            Some(json!({"name": name, "throttlingPolicy": "Unlimited"})),
        )
        .await,
    )
    .await;
    assert_eq!(a["status"], "CREATED", "{a}");
    let id: String = sqlx::query_scalar(
        "SELECT id::text FROM workflow WHERE object_id = $1::uuid AND status = 'CREATED'",
    )
    .bind(a["applicationId"].as_str().unwrap())
    .fetch_one(&app.db)
    .await
    .unwrap();
    id
}

/// Approval of application creation on; one pending workflow; a third-party key manager; an
/// environment; the publisher's API; the test's identity provider.
async fn world(app: &TestApp) -> World {
    let admin = app.access_token("admin", ADMIN_PASSWORD, ADMIN_ALL).await;
    let developer = app.access_token("subscriber", DEMO_PASSWORD, DEV).await;
    let publisher = app
        .access_token(
            "publisher",
            DEMO_PASSWORD,
            "apim:api_view apim:api_create apim:api_publish apim:api_manage",
        )
        .await;
    created(
        app.call(
            Method::PUT,
            &format!("{A}/workflow-settings"),
            &admin,
            Some(json!({"list": [{"workflowType": "APPLICATION_CREATION", "enabled": true}]})),
        )
        .await,
    )
    .await;
    let workflow = pending_workflow(app, &developer, "World").await;
    let km = created(
        app.call(
            Method::POST,
            &format!("{A}/key-managers"),
            &admin,
            Some(serde_json::from_str(&KM_EDIT.replace("{n}", "0")).unwrap()),
        )
        .await,
    )
    .await;
    let env = created(
        app.call(
            Method::POST,
            &format!("{A}/environments"),
            &admin,
            Some(serde_json::from_str(&ENV_EDIT.replace("{n}", "0")).unwrap()),
        )
        .await,
    )
    .await;
    // A gateway of the world's environment that has sent its diagnostics report.
    sqlx::query(
        "INSERT INTO gateway_instance (environment_id, gateway_id, diagnostics, diagnostics_at)
         VALUES ($1::uuid, 'world-gw/1', '{\"gateway\": {\"version\": \"0\"}}', now())",
    )
    .bind(env["id"].as_str().unwrap())
    .execute(&app.db)
    .await
    .unwrap();
    let api = petstore_api(
        app,
        &publisher,
        json!({"name": "Pets", "context": "/pets", "version": "1.0.0"}),
        false,
    )
    .await;
    let category = created(
        app.call(
            Method::POST,
            &format!("{A}/api-categories"),
            &admin,
            Some(json!({"name": "World"})),
        )
        .await,
    )
    .await;
    created(
        app.call(
            Method::POST,
            &format!("{A}/organizations"),
            &admin,
            Some(json!({"name": "world-org", "adminUsername": "boss", "adminPassword": "boss password"})),
        )
        .await,
    )
    .await;
    let mut policy_ids = Vec::new();
    for (level, name) in [("application", "world-app"), ("subscription", "world-sub")] {
        let body: Value = serde_json::from_str(&POLICY_BODY.replace("p-{n}", name)).unwrap();
        let p = created(
            app.call(
                Method::POST,
                &format!("{A}/throttling/policies/{level}"),
                &admin,
                Some(body),
            )
            .await,
        )
        .await;
        policy_ids.push(p["policyId"].as_str().unwrap().to_string());
    }
    let advanced = created(
        app.call(
            Method::POST,
            &format!("{A}/throttling/policies/advanced"),
            &admin,
            Some(serde_json::from_str(&ADVANCED_BODY.replace("a-{n}", "world-advanced")).unwrap()),
        )
        .await,
    )
    .await;
    let deny = created(
        app.call(
            Method::POST,
            &format!("{A}/throttling/deny-policies"),
            &admin,
            Some(json!({"conditionType": "USER", "conditionValue": "world-blocked"})),
        )
        .await,
    )
    .await;
    let idp = issuer().await;
    let s = |v: &Value| v.as_str().unwrap().to_string();
    World {
        ids: Ids(BTreeMap::from([
            ("workflowId", workflow),
            ("keyManagerId", s(&km["id"])),
            ("environmentId", s(&env["id"])),
            ("apiId", api),
            ("apiCategoryId", s(&category["id"])),
            ("applicationPolicyId", policy_ids[0].clone()),
            ("subscriptionPolicyId", policy_ids[1].clone()),
            ("conditionId", s(&deny["conditionId"])),
            ("policyId", s(&advanced["policyId"])),
            ("organizationName", "world-org".to_string()),
            ("scopeName", "apim:admin".to_string()),
            ("provider", "publisher".to_string()),
            ("issuer", format!("http://{idp}")),
            ("n", "0".to_string()),
        ])),
        admin,
        developer,
        counter: 0,
    }
}

/// One request of the table: `auth` is the whole Authorization header, if any; the body is
/// JSON, or for `MULTIPART` operations a JSON object whose fields become the form's.
async fn request(
    app: &TestApp,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: Option<String>,
) -> Resp {
    const BOUNDARY: &str = "admin-rest-boundary-4c1e";
    let mut b = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).unwrap())
        .uri(path)
        .header(header::ACCEPT, "application/json");
    if let Some(a) = auth {
        b = b.header(header::AUTHORIZATION, a);
    }
    let multipart = MULTIPART.iter().any(|m| path.ends_with(m));
    let body = match body {
        Some(json) if multipart => {
            b = b.header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={BOUNDARY}"),
            );
            let fields: BTreeMap<String, String> = serde_json::from_str(&json).unwrap();
            let mut out = String::new();
            for (k, v) in fields {
                out.push_str(&format!(
                    "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                ));
            }
            out.push_str(&format!("--{BOUNDARY}--\r\n"));
            Body::from(out)
        }
        Some(json) => {
            b = b.header(header::CONTENT_TYPE, "application/json");
            Body::from(json)
        }
        None => Body::empty(),
    };
    app.send(b.body(body).unwrap()).await
}

/// Tokens by (user, scope), asked once each; the token endpoint must grant exactly `scope`.
#[derive(Default)]
struct Tokens(BTreeMap<(String, String), String>);

impl Tokens {
    async fn get(&mut self, app: &TestApp, user: (&str, &str), scope: &str) -> String {
        let key = (user.0.to_string(), scope.to_string());
        if let Some(t) = self.0.get(&key) {
            return t.clone();
        }
        let t = app.token(user.0, user.1, scope).await;
        let granted: BTreeSet<&str> = t["scope"].as_str().unwrap().split(' ').collect();
        let asked: BTreeSet<&str> = scope.split(' ').collect();
        assert_eq!(granted, asked, "{} asked for {scope}: {t}", user.0);
        let t = t["access_token"].as_str().unwrap().to_string();
        self.0.insert(key, t.clone());
        t
    }
}

// ----- Refusals ---------------------------------------------------------------------------------

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn every_operation_refuses_callers_without_its_scopes(db: PgPool) {
    let app = spawn(db.clone()).await;
    let mut w = world(&app).await;
    let mut tokens = Tokens::default();
    for f in FOREIGN {
        tokens.get(&app, ("admin", ADMIN_PASSWORD), f).await;
    }
    let ids = w.fresh(&app, "GET", "/").await;

    let before = table_digests(&db).await;
    let mut problems = Vec::new();
    let mut tried = 0;
    for (m, p, scopes, _, body) in OPS {
        let path = format!("{A}{}", ids.fill(p));
        let body = body.map(|b| ids.fill(b));
        let what = format!("{m} {p}");

        // No token, and a token that is no token.
        for auth in [None, Some("Bearer not-a-token")] {
            let r = request(&app, m, &path, auth, body.clone()).await;
            if r.status != StatusCode::UNAUTHORIZED {
                problems.push(format!("{what} with {auth:?}: {} {}", r.status, r.text()));
                continue;
            }
            assert_wso2_error(&r, StatusCode::UNAUTHORIZED);
            assert!(
                r.headers.contains_key(header::WWW_AUTHENTICATE),
                "{what}: WWW-Authenticate"
            );
        }

        // Tokens holding only scopes this operation does not accept.
        for f in FOREIGN.iter().filter(|f| disjoint(f, scopes)) {
            let token = tokens.get(&app, ("admin", ADMIN_PASSWORD), f).await;
            let r = request(
                &app,
                m,
                &path,
                Some(&format!("Bearer {token}")),
                body.clone(),
            )
            .await;
            tried += 1;
            if r.status != StatusCode::FORBIDDEN {
                problems.push(format!(
                    "{what} with [{f}] (needs one of {scopes}): {} {}",
                    r.status,
                    r.text()
                ));
                continue;
            }
            let j = assert_wso2_error(&r, StatusCode::FORBIDDEN);
            let description = j["description"].as_str().unwrap();
            assert!(
                scopes.split(' ').any(|s| description.contains(s)),
                "{what}: the 403 names a scope it needs: {j}"
            );
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(tried >= OPS.len() * 4, "{tried} refusals tried");

    // Refused calls changed nothing anywhere.
    let after = table_digests(&db).await;
    let changed: Vec<_> = before
        .keys()
        .filter(|t| before.get(*t) != after.get(*t))
        .collect();
    assert!(changed.is_empty(), "refused calls changed {changed:?}");
}

// ----- Acceptance -------------------------------------------------------------------------------

/// Each scope of each row on its own, from the dedicated role's user: 2xx.
#[sqlx::test(migrator = "server::MIGRATOR")]
async fn every_scope_of_the_table_is_enough_on_its_own(db: PgPool) {
    let app = spawn(db.clone()).await;
    let mut w = world(&app).await;
    let mut tokens = Tokens::default();
    let mut problems = Vec::new();
    let mut tried = 0;
    for (m, p, scopes, _, body) in OPS {
        for scope in scopes.split(' ') {
            let user = user_for(scope);
            let token = tokens.get(&app, user, scope).await;
            let ids = w.fresh(&app, m, p).await;
            let path = format!("{A}{}", ids.fill(p));
            let body = body.map(|b| ids.fill(b));
            let r = request(&app, m, &path, Some(&format!("Bearer {token}")), body).await;
            tried += 1;
            if !r.status.is_success() {
                problems.push(format!(
                    "{m} {p} as {} with only {scope}: {} {}",
                    user.0,
                    r.status,
                    r.text()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(tried >= 40, "{tried}");

    // What the calls did is visible: the world's workflow is still pending, the decisions
    // approved fresh ones, the deleted objects are gone, the key was rotated.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM workflow WHERE status = 'APPROVED' AND decided_by IS NOT NULL"
        )
        .await,
        WF_APPROVE.split(' ').count() as i64
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM key_manager WHERE name LIKE 'km-%' OR name = 'world-km'"
        )
        .await,
        // POSTs and the world's key manager; DELETEs removed their own fresh ones.
        KM.split(' ').count() as i64 + 1
    );
}

/// The scope WSO2's contract names for the key managers (`apim:admin_operations`, which our
/// scope catalogue describes as "Manage API categories and key managers") works alone.
#[sqlx::test(migrator = "server::MIGRATOR")]
async fn key_managers_accept_wso2_admin_operations(db: PgPool) {
    wso2_scopes_accepted(db, "/key-managers").await;
}

/// WSO2's `POST /apis/{apiId}/change-provider` asks for `apim:admin` or
/// `apim:api_provider_change`; each works alone (no Publisher scope besides).
#[sqlx::test(migrator = "server::MIGRATOR")]
async fn change_provider_accepts_wso2_scopes(db: PgPool) {
    wso2_scopes_accepted(db, "/apis/").await;
}

/// Calls each `WSO2_SCOPES_BEYOND_TABLE` entry under `prefix` as `admin` holding only that
/// scope: it must succeed.
async fn wso2_scopes_accepted(db: PgPool, prefix: &str) {
    let app = spawn(db).await;
    let mut w = world(&app).await;
    let mut tokens = Tokens::default();
    let mut problems = Vec::new();
    for (m, p, scope) in WSO2_SCOPES_BEYOND_TABLE
        .iter()
        .filter(|e| e.1.starts_with(prefix))
    {
        let (.., body) = OPS.iter().find(|o| o.0 == *m && o.1 == *p).unwrap();
        // `admin` hands the API to `publisher` and back.
        let token = tokens.get(&app, ("admin", ADMIN_PASSWORD), scope).await;
        let ids = w.fresh(&app, m, p).await;
        let path = format!("{A}{}", ids.fill(p));
        let r = request(
            &app,
            m,
            &path,
            Some(&format!("Bearer {token}")),
            body.map(|b| ids.fill(b)),
        )
        .await;
        if !r.status.is_success() {
            problems.push(format!(
                "{m} {p} with only {scope}: {} {}",
                r.status,
                r.text()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ----- What is not implemented ------------------------------------------------------------------

/// WSO2 operations we do not implement answer WSO2's 404 from the catch-all, with or without
/// a token, never 200.
#[sqlx::test(migrator = "server::MIGRATOR")]
async fn unimplemented_operations_answer_a_wso2_error(db: PgPool) {
    let app = spawn(db).await;
    let admin = app.access_token("admin", ADMIN_PASSWORD, ADMIN_ALL).await;
    for (m, p) in [
        ("GET", "/throttling/policies/custom"),
        ("POST", "/throttling/policies/custom"),
        ("GET", "/applications"),
        ("POST", "/applications/x/change-owner"),
        ("GET", "/apis"),
        ("GET", "/tenant-config"),
        ("GET", "/labels"),
        ("GET", "/no/such/thing"),
    ] {
        let path = format!("{A}{p}");
        for auth in [None, Some(format!("Bearer {admin}"))] {
            let body = (m != "GET").then(|| "{}".to_string());
            let r = request(&app, m, &path, auth.as_deref(), body).await;
            assert_ne!(r.status, StatusCode::OK, "{m} {p}");
            assert_wso2_error(&r, StatusCode::NOT_FOUND);
        }
    }
}

/// `DELETE /settings` (not in WSO2's contract) is on a path we register for GET: it answers
/// 405 with WSO2's error body, with or without a token.
#[sqlx::test(migrator = "server::MIGRATOR")]
async fn other_methods_on_admin_paths_answer_a_wso2_error(db: PgPool) {
    let app = spawn(db).await;
    let admin = app.access_token("admin", ADMIN_PASSWORD, ADMIN_ALL).await;
    let path = format!("{A}/settings");
    for auth in [None, Some(format!("Bearer {admin}"))] {
        let r = request(&app, "DELETE", &path, auth.as_deref(), None).await;
        assert_ne!(r.status, StatusCode::OK);
        let status = r.status;
        assert!(
            [StatusCode::NOT_FOUND, StatusCode::METHOD_NOT_ALLOWED].contains(&status),
            "{status}"
        );
        assert_wso2_error(&r, status);
    }
}

// ----- The Admin portal's server functions ------------------------------------------------------

fn services(state: &server::AppState) -> server::services::DbServices {
    server::services::DbServices::from_state(state)
}

async fn user(db: &PgPool, org: &str, username: &str, scopes: &[&str]) -> CurrentUser {
    let id: String = sqlx::query_scalar(
        "SELECT u.id::text FROM app_user u JOIN organization o ON o.id = u.organization_id
          WHERE o.name = $1 AND u.username = $2",
    )
    .bind(org)
    .bind(username)
    .fetch_one(db)
    .await
    .unwrap();
    CurrentUser {
        id,
        username: username.into(),
        display_name: username.into(),
        organization: org.into(),
        roles: vec![],
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
    }
}

fn refused<T: std::fmt::Debug>(what: &str, r: Result<T, ServiceError>) {
    match r {
        Err(ServiceError::Forbidden { scope }) => {
            assert!(scope.contains("apim:"), "{what}: names the scope: {scope}")
        }
        other => panic!("{what}: expected Forbidden, got {other:?}"),
    }
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn admin_server_functions_check_scopes(db: PgPool) {
    let app = spawn(db.clone()).await;
    let w = world(&app).await;
    let state = server::prepare(db.clone(), common::settings())
        .await
        .unwrap();
    let org = state.settings.auth.default_organization.clone();
    let svc = services(&state);
    let workflow = w.ids.0["workflowId"].clone();
    let other = pending_workflow(&app, &w.developer, "Second").await;

    // Users and roles: apim:role_manage or apim:scope_manage.
    let workflows_only = user(
        &db,
        &org,
        "workflow-admin",
        &["apim:api_workflow_view", "apim:api_workflow_approve"],
    )
    .await;
    let keys_only = user(
        &db,
        &org,
        "keymanager-admin",
        &["apim:keymanagers_manage", "apim:tier_view"],
    )
    .await;
    let before = table_digests(&db).await;
    refused("list_users", svc.list_users(&workflows_only).await);
    refused("list_roles", svc.list_roles(&workflows_only).await);
    refused("list_users", svc.list_users(&keys_only).await);
    refused("list_roles", svc.list_roles(&keys_only).await);

    // Workflows: the queue and settings need a workflow or settings scope, a decision
    // apim:api_workflow_approve, changing the switches apim:admin_settings.
    let list = || WorkflowCall::List {
        workflow_type: None,
        status: None,
        offset: 0,
        limit: 25,
    };
    let decide = |reference: &str| WorkflowCall::Decide {
        reference_id: reference.to_string(),
        decision: WorkflowDecision {
            status: "APPROVED".into(),
            description: Some("by the portal".into()),
            ..Default::default()
        },
    };
    let switches = || {
        WorkflowCall::SaveSettings(vec![WorkflowSetting {
            workflow_type: "APPLICATION_CREATION".into(),
            enabled: false,
            tiers: vec![],
        }])
    };
    let viewer = user(&db, &org, "workflow-admin", &["apim:api_workflow_view"]).await;
    for (what, call) in [
        ("List", list()),
        ("Decide", decide(&workflow)),
        ("Settings", WorkflowCall::Settings),
        ("SaveSettings", switches()),
    ] {
        refused(what, svc.workflows(&keys_only, call).await);
    }
    refused(
        "Decide (view only)",
        svc.workflows(&viewer, decide(&workflow)).await,
    );
    refused(
        "SaveSettings",
        svc.workflows(&workflows_only, switches()).await,
    );
    let after = table_digests(&db).await;
    assert_eq!(before, after, "refused server functions changed something");

    // With the scope.
    for scope in ["apim:role_manage", "apim:scope_manage"] {
        let u = user(&db, &org, "admin", &[scope]).await;
        let users = svc.list_users(&u).await.unwrap();
        assert!(
            users.iter().any(|u| u.username == "workflow-admin"),
            "{users:?}"
        );
        let roles = svc.list_roles(&u).await.unwrap();
        assert!(
            roles.iter().any(|r| r.name == "keymanager-admin"),
            "{roles:?}"
        );
    }
    for scope in [
        "apim:api_workflow_view",
        "apim:api_workflow_approve",
        "apim:admin",
    ] {
        let u = user(&db, &org, "workflow-admin", &[scope]).await;
        match svc.workflows(&u, list()).await {
            Ok(WorkflowReply::Page(page)) => assert_eq!(page.list.len(), 2, "{scope}"),
            other => panic!("List with {scope}: {other:?}"),
        }
        assert!(
            matches!(
                svc.workflows(&u, WorkflowCall::Settings).await,
                Ok(WorkflowReply::Settings(_))
            ),
            "Settings with {scope}"
        );
    }
    let approver = user(&db, &org, "workflow-admin", &["apim:api_workflow_approve"]).await;
    match svc.workflows(&approver, decide(&workflow)).await {
        Ok(WorkflowReply::One(done)) => assert_eq!(done.workflow_status, "APPROVED"),
        other => panic!("Decide: {other:?}"),
    }
    let admin = user(&db, &org, "admin", &["apim:admin"]).await;
    match svc.workflows(&admin, decide(&other)).await {
        Ok(WorkflowReply::One(done)) => assert_eq!(done.workflow_status, "APPROVED"),
        other => panic!("Decide as apim:admin: {other:?}"),
    }
    let settings_admin = user(&db, &org, "admin", &["apim:admin_settings"]).await;
    match svc.workflows(&settings_admin, switches()).await {
        Ok(WorkflowReply::Settings(list)) => assert!(
            list.iter()
                .any(|s| s.workflow_type == "APPLICATION_CREATION" && !s.enabled),
            "{list:?}"
        ),
        other => panic!("SaveSettings: {other:?}"),
    }
}

/// The Admin portal's key-manager and users & roles server functions: refused without their
/// scope (nothing changed), working with it.
#[sqlx::test(migrator = "server::MIGRATOR")]
async fn key_manager_and_user_server_functions_check_scopes(db: PgPool) {
    use app::api::{KmAdmin, KmAdminReply, UsersChange};
    use app::applications::{Certificates, KeyManagerDto};
    let _app = spawn(db.clone()).await;
    let state = server::prepare(db.clone(), common::settings())
        .await
        .unwrap();
    let org = state.settings.auth.default_organization.clone();
    let svc = services(&state);
    let workflows_only = user(
        &db,
        &org,
        "workflow-admin",
        &["apim:api_workflow_view", "apim:api_workflow_approve"],
    )
    .await;
    let keys = user(&db, &org, "keymanager-admin", &["apim:keymanagers_manage"]).await;
    let dto = KeyManagerDto {
        name: "partner".into(),
        display_name: "Partner".into(),
        kind: "OIDC".into(),
        issuer: "https://idp.partner.example".into(),
        certificates: Some(Certificates {
            kind: "JWKS".into(),
            value: "https://idp.partner.example/jwks".into(),
        }),
        enabled: true,
        ..Default::default()
    };
    let before = table_digests(&db).await;
    refused(
        "key managers list",
        svc.key_managers_admin(&workflows_only, KmAdmin::List).await,
    );
    refused(
        "key manager save",
        svc.key_managers_admin(&workflows_only, KmAdmin::Save(Box::new(dto.clone())))
            .await,
    );
    refused(
        "set roles",
        svc.user_admin(
            &keys,
            UsersChange::SetLocked {
                username: "subscriber".into(),
                locked: true,
            },
        )
        .await,
    );
    assert_eq!(
        table_digests(&db).await,
        before,
        "refused calls changed nothing"
    );

    let Ok(KmAdminReply::One(created)) = svc
        .key_managers_admin(&keys, KmAdmin::Save(Box::new(dto)))
        .await
    else {
        panic!("created")
    };
    let id = created.id.clone().unwrap();
    let Ok(KmAdminReply::One(off)) = svc
        .key_managers_admin(
            &keys,
            KmAdmin::SetEnabled {
                id: id.clone(),
                enabled: false,
            },
        )
        .await
    else {
        panic!("disabled")
    };
    assert!(!off.enabled);
    let Ok(KmAdminReply::List(list)) = svc.key_managers_admin(&keys, KmAdmin::List).await else {
        panic!("list")
    };
    assert!(list.iter().any(|k| k.name == "partner" && !k.enabled));
    svc.key_managers_admin(&keys, KmAdmin::Delete { id })
        .await
        .unwrap();
    let users = user(&db, &org, "keymanager-admin", &["apim:role_manage"]).await;
    svc.user_admin(
        &users,
        UsersChange::SetLocked {
            username: "subscriber".into(),
            locked: true,
        },
    )
    .await
    .unwrap();
}

/// The gateways section's server function: looking needs an environment scope, changing
/// `apim:environment_manage`.
#[sqlx::test(migrator = "server::MIGRATOR")]
async fn environment_server_function_checks_scopes(db: PgPool) {
    use app::api::{EnvAdmin, EnvAdminReply};
    let _app = spawn(db.clone()).await;
    let state = server::prepare(db.clone(), common::settings())
        .await
        .unwrap();
    let org = state.settings.auth.default_organization.clone();
    let svc = services(&state);
    let keys = user(&db, &org, "keymanager-admin", &["apim:keymanagers_manage"]).await;
    let reader = user(&db, &org, "keymanager-admin", &["apim:environment_read"]).await;
    let manager = user(&db, &org, "keymanager-admin", &["apim:environment_manage"]).await;
    let input = app::publisher::EnvironmentInput {
        name: "eu".into(),
        display_name: "EU".into(),
        vhosts: vec![app::publisher::VHost {
            host: "api.eu.example.com".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    let before = table_digests(&db).await;
    refused(
        "environments list",
        svc.environments_admin(&keys, EnvAdmin::List).await,
    );
    refused(
        "environment create",
        svc.environments_admin(&reader, EnvAdmin::Create(input.clone()))
            .await,
    );
    assert_eq!(table_digests(&db).await, before);
    svc.environments_admin(&manager, EnvAdmin::Create(input))
        .await
        .unwrap();
    let Ok(EnvAdminReply::List { environments, .. }) =
        svc.environments_admin(&reader, EnvAdmin::List).await
    else {
        panic!("list")
    };
    let eu = environments
        .iter()
        .find(|e| e.name == "eu")
        .expect("eu listed");
    svc.environments_admin(&manager, EnvAdmin::Delete { id: eu.id.clone() })
        .await
        .unwrap();
}

/// One Admin portal server-function call, whichever service it goes to.
#[derive(Clone, Debug)]
enum Sf {
    ListUsers,
    ListRoles,
    Workflows(WorkflowCall),
    KeyManagers(app::api::KmAdmin),
    Environments(app::api::EnvAdmin),
    Users(app::api::UsersChange),
    Settings(app::settings::SettingsCall),
    Throttling(app::throttling::ThrottlingCall),
}

/// The call's name; exhaustive over every service's calls, so a new call does not compile
/// until it is named here — and the table below then needs its row (checked by count).
fn sf_name(call: &Sf) -> &'static str {
    use app::api::{EnvAdmin as E, KmAdmin as K, UsersChange as U};
    use app::settings::SettingsCall as C;
    match call {
        Sf::ListUsers => "list_users",
        Sf::ListRoles => "list_roles",
        Sf::Workflows(w) => match w {
            WorkflowCall::List { .. } => "workflows List",
            WorkflowCall::Decide { .. } => "workflows Decide",
            WorkflowCall::Settings => "workflows Settings",
            WorkflowCall::SaveSettings(_) => "workflows SaveSettings",
        },
        Sf::KeyManagers(k) => match k {
            K::List => "key managers List",
            K::Save(_) => "key managers Save",
            K::SetEnabled { .. } => "key managers SetEnabled",
            K::Delete { .. } => "key managers Delete",
        },
        Sf::Environments(e) => match e {
            E::List => "environments List",
            E::Create(_) => "environments Create",
            E::Update { .. } => "environments Update",
            E::Delete { .. } => "environments Delete",
            E::GatewayPolicies => "environments GatewayPolicies",
            E::SaveGatewayPolicy(_) => "environments SaveGatewayPolicy",
            E::DeleteGatewayPolicy { .. } => "environments DeleteGatewayPolicy",
            E::DeployGatewayPolicy { .. } => "environments DeployGatewayPolicy",
            E::Diagnostics { .. } => "environments Diagnostics",
        },
        Sf::Users(u) => match u {
            U::Scopes => "users Scopes",
            U::SetRoles { .. } => "users SetRoles",
            U::SetLocked { .. } => "users SetLocked",
            U::ResetPassword { .. } => "users ResetPassword",
            U::SaveRole { .. } => "users SaveRole",
            U::DeleteRole { .. } => "users DeleteRole",
        },
        Sf::Settings(c) => match c {
            C::Categories => "settings Categories",
            C::SaveCategory(_) => "settings SaveCategory",
            C::DeleteCategory { .. } => "settings DeleteCategory",
            C::OrgSettings => "settings OrgSettings",
            C::SaveOrgSettings(_) => "settings SaveOrgSettings",
            C::Organizations => "settings Organizations",
            C::CreateOrganization(_) => "settings CreateOrganization",
            C::SetOrganizationEnabled { .. } => "settings SetOrganizationEnabled",
            C::RoleAliases => "settings RoleAliases",
            C::SaveRoleAliases(_) => "settings SaveRoleAliases",
        },
        Sf::Throttling(t) => match t {
            app::throttling::ThrottlingCall::List { .. } => "throttling List",
            app::throttling::ThrottlingCall::Save { .. } => "throttling Save",
            app::throttling::ThrottlingCall::Delete { .. } => "throttling Delete",
            app::throttling::ThrottlingCall::DenyList => "throttling DenyList",
            app::throttling::ThrottlingCall::DenyCreate(_) => "throttling DenyCreate",
            app::throttling::ThrottlingCall::DenySetStatus { .. } => "throttling DenySetStatus",
            app::throttling::ThrottlingCall::DenyDelete { .. } => "throttling DenyDelete",
            app::throttling::ThrottlingCall::AdvancedList => "throttling AdvancedList",
            app::throttling::ThrottlingCall::AdvancedSave(_) => "throttling AdvancedSave",
            app::throttling::ThrottlingCall::AdvancedDelete { .. } => "throttling AdvancedDelete",
        },
    }
}

/// Every call `sf_name` names: the table must have exactly these rows.
const SF_CALLS: usize = 2 + 4 + 4 + 9 + 6 + 10 + 10;

async fn run_sf(
    svc: &server::services::DbServices,
    who: &CurrentUser,
    call: Sf,
) -> Result<(), ServiceError> {
    match call {
        Sf::ListUsers => svc.list_users(who).await.map(drop),
        Sf::ListRoles => svc.list_roles(who).await.map(drop),
        Sf::Workflows(c) => svc.workflows(who, c).await.map(drop),
        Sf::KeyManagers(c) => svc.key_managers_admin(who, c).await.map(drop),
        Sf::Environments(c) => svc.environments_admin(who, c).await.map(drop),
        Sf::Users(c) => svc.user_admin(who, c).await.map(drop),
        Sf::Settings(c) => svc.settings_admin(who, c).await.map(drop),
        Sf::Throttling(c) => svc.throttling_admin(who, c).await.map(drop),
    }
}

/// Every Admin portal server function, from one table: each call is refused with all the
/// scopes it does not accept at once (and changes nothing), and works with each scope it
/// accepts alone. Objects a call uses up (deleted, decided) are made beforehand, one per
/// accepted scope.
#[sqlx::test(migrator = "server::MIGRATOR")]
async fn every_admin_server_function_checks_its_scopes(db: PgPool) {
    use app::api::{EnvAdmin as E, KmAdmin as K, UsersChange as U};
    use app::applications::{Certificates, KeyManagerDto};
    use app::settings::{ApiCategory, NewOrganization, OrgSettings, RoleAlias, SettingsCall as C};
    let app = spawn(db.clone()).await;
    let w = world(&app).await;
    let state = server::prepare(db.clone(), common::settings())
        .await
        .unwrap();
    let org = state.settings.auth.default_organization.clone();
    let svc = services(&state);
    let root = user(&db, &org, "admin", &["apim:admin"]).await;
    let km = |n: String| KeyManagerDto {
        name: format!("sf-km-{n}"),
        kind: "OIDC".into(),
        issuer: format!("https://sf-{n}.example"),
        certificates: Some(Certificates {
            kind: "JWKS".into(),
            value: format!("https://sf-{n}.example/jwks"),
        }),
        enabled: true,
        ..Default::default()
    };
    let env = |n: String| app::publisher::EnvironmentInput {
        name: format!("sf-env-{n}"),
        vhosts: vec![app::publisher::VHost {
            host: format!("sf-{n}.example.com"),
            ..Default::default()
        }],
        ..Default::default()
    };
    // What the calls use up, three of each (no row accepts more than three scopes alone).
    let (mut workflows, mut kms, mut envs, mut roles, mut categories, mut tiers) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    let t = server::throttling::Throttling { db: &db };
    let mut advanced = Vec::new();
    for n in 0..3 {
        let p = t
            .advanced_create(
                &server::publisher::Actor::from(&root),
                app::throttling::AdvancedThrottlePolicy::new(
                    &format!("doomed-advanced-{n}"),
                    app::throttling::ThrottleLimit::requests(10, 1, "min"),
                ),
            )
            .await
            .unwrap();
        advanced.push(p.policy_id);
    }
    let mut conditions = Vec::new();
    for n in 0..4 {
        let c = t
            .deny_create(
                &server::publisher::Actor::from(&root),
                app::throttling::BlockingCondition {
                    condition_id: String::new(),
                    condition_type: "USER".into(),
                    condition_value: json!(format!("doomed-{n}")),
                    condition_status: true,
                },
            )
            .await
            .unwrap();
        conditions.push(c.condition_id);
    }
    for n in 0..3 {
        workflows.push(pending_workflow(&app, &w.developer, &format!("Sf {n}")).await);
        let Ok(app::api::KmAdminReply::One(k)) = svc
            .key_managers_admin(&root, K::Save(Box::new(km(format!("doomed-{n}")))))
            .await
        else {
            panic!("key manager")
        };
        kms.push(k.id.unwrap());
        svc.environments_admin(&root, E::Create(env(format!("doomed-{n}"))))
            .await
            .unwrap();
        roles.push(format!("doomed-role-{n}"));
        svc.user_admin(
            &root,
            U::SaveRole {
                name: roles[n].clone(),
                description: String::new(),
                scopes: vec![],
            },
        )
        .await
        .unwrap();
        let Ok(app::settings::SettingsReply::Category(c)) = svc
            .settings_admin(
                &root,
                C::SaveCategory(ApiCategory {
                    name: format!("Doomed {n}"),
                    ..Default::default()
                }),
            )
            .await
        else {
            panic!("category")
        };
        categories.push(c.id);
        let Ok(app::throttling::ThrottlingReply::One(p)) = svc
            .throttling_admin(
                &root,
                app::throttling::ThrottlingCall::Save {
                    level: "subscription".into(),
                    policy: Box::new(app::throttling::ThrottlePolicy::request_count(
                        &format!("doomed-{n}"),
                        10,
                        1,
                        "min",
                    )),
                },
            )
            .await
        else {
            panic!("policy")
        };
        tiers.push(p.policy_id);
    }
    let env_ids: Vec<String> = {
        let Ok(app::api::EnvAdminReply::List { environments, .. }) =
            svc.environments_admin(&root, E::List).await
        else {
            panic!("environments")
        };
        let mut doomed: Vec<(String, String)> = environments
            .into_iter()
            .filter(|e| e.name.starts_with("sf-env-doomed-"))
            .map(|e| (e.name, e.id))
            .collect();
        doomed.sort();
        doomed.into_iter().map(|(_, id)| id).collect()
    };
    envs.extend(env_ids);
    let mapping = |name: String| -> app::gateway_policies::GatewayPolicyMapping {
        serde_json::from_value(json!({"displayName": name, "policyMapping": {"request": [
            {"policyName": "addHeader", "parameters": {"headerName": "X-Sf", "headerValue": "1"}}
        ]}}))
        .unwrap()
    };
    for n in 0..3 {
        svc.environments_admin(
            &root,
            E::SaveGatewayPolicy(mapping(format!("sf-gp-doomed-{n}"))),
        )
        .await
        .expect("gateway policy");
    }
    let gateway_policies: Vec<String> = {
        let Ok(app::api::EnvAdminReply::GatewayPolicies { mappings, .. }) =
            svc.environments_admin(&root, E::GatewayPolicies).await
        else {
            panic!("gateway policies")
        };
        let mut doomed: Vec<(String, String)> = mappings
            .into_iter()
            .filter(|m| m.display_name.starts_with("sf-gp-doomed-"))
            .map(|m| (m.display_name, m.id))
            .collect();
        doomed.sort();
        doomed.into_iter().map(|(_, id)| id).collect()
    };
    let pick = |v: &Vec<String>, n: usize| v.get(n).cloned().unwrap_or_default();
    let world_km = w.ids.0["keyManagerId"].clone();
    let world_env = w.ids.0["environmentId"].clone();

    const USERS: &[&str] = &["apim:role_manage", "apim:scope_manage", "apim:admin"];
    const ROLES: &[&str] = &["apim:role_manage", "apim:admin"];
    const WF_SEE: &[&str] = &[
        "apim:api_workflow_view",
        "apim:api_workflow_approve",
        "apim:admin",
    ];
    const WF_SETTINGS_SEE: &[&str] = &[
        "apim:api_workflow_view",
        "apim:api_workflow_approve",
        "apim:admin",
        "apim:admin_settings",
    ];
    const WF_DECIDE: &[&str] = &["apim:api_workflow_approve", "apim:admin"];
    const ADMIN_SETTINGS: &[&str] = &["apim:admin_settings", "apim:admin"];
    const KMS: &[&str] = &[
        "apim:keymanagers_manage",
        "apim:admin_operations",
        "apim:admin",
    ];
    const ENV_SEE: &[&str] = &[
        "apim:environment_read",
        "apim:environment_manage",
        "apim:admin",
    ];
    const ENV_CHANGE: &[&str] = &["apim:environment_manage", "apim:admin"];
    const GW_SEE: &[&str] = &[
        "apim:gateway_policy_view",
        "apim:gateway_policy_manage",
        "apim:admin",
    ];
    const GW: &[&str] = &["apim:gateway_policy_manage", "apim:admin"];
    const CAT: &[&str] = &["apim:api_category", "apim:admin", "apim:admin_operations"];
    const SUPER: &[&str] = &["apim:admin"];
    const SCOPE: &[&str] = &["apim:scope_manage", "apim:admin"];
    const TIERS_SEE: &[&str] = &["apim:tier_view", "apim:tier_manage", "apim:admin"];
    const TIERS: &[&str] = &["apim:tier_manage", "apim:admin"];
    const DENY_SEE: &[&str] = &["apim:bl_view", "apim:bl_manage", "apim:admin"];
    const DENY: &[&str] = &["apim:bl_manage", "apim:admin"];
    use app::throttling::{ThrottlePolicy, ThrottlingCall as T};
    type Row<'a> = (&'a [&'a str], Box<dyn Fn(usize) -> Sf + 'a>);
    let table: Vec<Row> = vec![
        (USERS, Box::new(|_| Sf::ListUsers)),
        (USERS, Box::new(|_| Sf::ListRoles)),
        (
            WF_SEE,
            Box::new(|_| {
                Sf::Workflows(WorkflowCall::List {
                    workflow_type: None,
                    status: None,
                    offset: 0,
                    limit: 25,
                })
            }),
        ),
        (
            WF_DECIDE,
            Box::new(|n| {
                Sf::Workflows(WorkflowCall::Decide {
                    reference_id: pick(&workflows, n),
                    decision: WorkflowDecision {
                        status: "APPROVED".into(),
                        ..Default::default()
                    },
                })
            }),
        ),
        (
            WF_SETTINGS_SEE,
            Box::new(|_| Sf::Workflows(WorkflowCall::Settings)),
        ),
        (
            ADMIN_SETTINGS,
            Box::new(|_| {
                Sf::Workflows(WorkflowCall::SaveSettings(vec![WorkflowSetting {
                    workflow_type: "APPLICATION_CREATION".into(),
                    enabled: true,
                    tiers: vec![],
                }]))
            }),
        ),
        (KMS, Box::new(|_| Sf::KeyManagers(K::List))),
        (
            KMS,
            Box::new(|n| Sf::KeyManagers(K::Save(Box::new(km(n.to_string()))))),
        ),
        (
            KMS,
            Box::new(|_| {
                Sf::KeyManagers(K::SetEnabled {
                    id: world_km.clone(),
                    enabled: true,
                })
            }),
        ),
        (
            KMS,
            Box::new(|n| Sf::KeyManagers(K::Delete { id: pick(&kms, n) })),
        ),
        (ENV_SEE, Box::new(|_| Sf::Environments(E::List))),
        (
            ENV_SEE,
            Box::new(|_| {
                Sf::Environments(E::Diagnostics {
                    environment: "Default".into(),
                    gateway_id: "gw-1/42".into(),
                })
            }),
        ),
        (
            ENV_CHANGE,
            Box::new(|n| Sf::Environments(E::Create(env(n.to_string())))),
        ),
        (
            ENV_CHANGE,
            Box::new(|n| {
                Sf::Environments(E::Update {
                    id: world_env.clone(),
                    input: app::publisher::EnvironmentInput {
                        name: "world-env".into(),
                        vhosts: vec![app::publisher::VHost {
                            host: format!("world-{n}.example.com"),
                            ..Default::default()
                        }],
                        ..Default::default()
                    },
                })
            }),
        ),
        (
            ENV_CHANGE,
            Box::new(|n| Sf::Environments(E::Delete { id: pick(&envs, n) })),
        ),
        (GW_SEE, Box::new(|_| Sf::Environments(E::GatewayPolicies))),
        (
            GW,
            Box::new(|n| Sf::Environments(E::SaveGatewayPolicy(mapping(format!("sf-gp-{n}"))))),
        ),
        (
            GW,
            Box::new(|n| {
                Sf::Environments(E::DeleteGatewayPolicy {
                    id: pick(&gateway_policies, n),
                })
            }),
        ),
        (
            GW,
            Box::new(|_| {
                Sf::Environments(E::DeployGatewayPolicy {
                    id: pick(&gateway_policies, 2),
                    changes: vec![app::gateway_policies::GatewayPolicyDeployment {
                        gateway_label: "Default".into(),
                        gateway_deployment: true,
                        mapping_uuid: None,
                    }],
                })
            }),
        ),
        (ROLES, Box::new(|_| Sf::Users(U::Scopes))),
        (
            ROLES,
            Box::new(|_| {
                Sf::Users(U::SetRoles {
                    username: "policy-admin".into(),
                    roles: vec!["policy-admin".into()],
                })
            }),
        ),
        (
            ROLES,
            Box::new(|_| {
                Sf::Users(U::SetLocked {
                    username: "policy-admin".into(),
                    locked: false,
                })
            }),
        ),
        (
            ROLES,
            Box::new(|n| {
                Sf::Users(U::ResetPassword {
                    username: "keymanager-admin".into(),
                    password: format!("new password {n}"),
                })
            }),
        ),
        (
            ROLES,
            Box::new(|n| {
                Sf::Users(U::SaveRole {
                    name: format!("sf-role-{n}"),
                    description: String::new(),
                    scopes: vec!["apim:monitoring_view".into()],
                })
            }),
        ),
        (
            ROLES,
            Box::new(|n| {
                Sf::Users(U::DeleteRole {
                    name: pick(&roles, n),
                })
            }),
        ),
        (CAT, Box::new(|_| Sf::Settings(C::Categories))),
        (
            CAT,
            Box::new(|n| {
                Sf::Settings(C::SaveCategory(ApiCategory {
                    name: format!("Cat {n}"),
                    ..Default::default()
                }))
            }),
        ),
        (
            CAT,
            Box::new(|n| {
                Sf::Settings(C::DeleteCategory {
                    id: pick(&categories, n),
                })
            }),
        ),
        (ADMIN_SETTINGS, Box::new(|_| Sf::Settings(C::OrgSettings))),
        (
            ADMIN_SETTINGS,
            Box::new(|n| {
                Sf::Settings(C::SaveOrgSettings(OrgSettings {
                    display_name: format!("Org {n}"),
                    ..Default::default()
                }))
            }),
        ),
        (SUPER, Box::new(|_| Sf::Settings(C::Organizations))),
        (
            SUPER,
            Box::new(|n| {
                Sf::Settings(C::CreateOrganization(NewOrganization {
                    name: format!("sf-{n}"),
                    admin_username: "boss".into(),
                    admin_password: "boss password".into(),
                    ..Default::default()
                }))
            }),
        ),
        (
            SUPER,
            Box::new(|_| {
                Sf::Settings(C::SetOrganizationEnabled {
                    name: "world-org".into(),
                    enabled: true,
                })
            }),
        ),
        (
            TIERS_SEE,
            Box::new(|_| {
                Sf::Throttling(T::List {
                    level: "application".into(),
                })
            }),
        ),
        (
            TIERS,
            Box::new(|n| {
                Sf::Throttling(T::Save {
                    level: "subscription".into(),
                    policy: Box::new(ThrottlePolicy::request_count(
                        &format!("sf-tier-{n}"),
                        100,
                        1,
                        "min",
                    )),
                })
            }),
        ),
        (
            TIERS,
            Box::new(|n| {
                Sf::Throttling(T::Delete {
                    level: "subscription".into(),
                    id: pick(&tiers, n),
                })
            }),
        ),
        (TIERS_SEE, Box::new(|_| Sf::Throttling(T::AdvancedList))),
        (
            TIERS,
            Box::new(|n| {
                Sf::Throttling(T::AdvancedSave(Box::new(
                    app::throttling::AdvancedThrottlePolicy::new(
                        &format!("sf-advanced-{n}"),
                        app::throttling::ThrottleLimit::requests(100, 1, "min"),
                    ),
                )))
            }),
        ),
        (
            TIERS,
            Box::new(|n| {
                Sf::Throttling(T::AdvancedDelete {
                    id: pick(&advanced, n),
                })
            }),
        ),
        (DENY_SEE, Box::new(|_| Sf::Throttling(T::DenyList))),
        (
            DENY,
            Box::new(|n| {
                Sf::Throttling(T::DenyCreate(app::throttling::BlockingCondition {
                    condition_id: String::new(),
                    condition_type: "IP".into(),
                    condition_value: json!({"fixedIp": format!("10.9.9.{n}")}),
                    condition_status: true,
                }))
            }),
        ),
        (
            DENY,
            Box::new(|_| {
                Sf::Throttling(T::DenySetStatus {
                    id: pick(&conditions, 3),
                    enabled: false,
                })
            }),
        ),
        (
            DENY,
            Box::new(|n| {
                Sf::Throttling(T::DenyDelete {
                    id: pick(&conditions, n),
                })
            }),
        ),
        (SCOPE, Box::new(|_| Sf::Settings(C::RoleAliases))),
        (
            SCOPE,
            Box::new(|n| {
                Sf::Settings(C::SaveRoleAliases(vec![RoleAlias {
                    role: "subscriber".into(),
                    aliases: vec![format!("devs-{n}")],
                }]))
            }),
        ),
    ];
    let names: BTreeSet<&str> = table.iter().map(|(_, call)| sf_name(&call(0))).collect();
    assert_eq!(table.len(), SF_CALLS, "one row per server-function call");
    assert_eq!(names.len(), SF_CALLS, "a call has two rows");

    let every: Vec<&str> = server::auth::catalogue::SCOPES
        .iter()
        .map(|(n, _, _)| *n)
        .collect();
    let mut problems = Vec::new();
    for (accepted, call) in &table {
        let name = sf_name(&call(0));
        let others: Vec<&str> = every
            .iter()
            .copied()
            .filter(|s| !accepted.contains(s))
            .collect();
        let outsider = user(&db, &org, "admin", &others).await;
        let before = table_digests(&db).await;
        match run_sf(&svc, &outsider, call(99)).await {
            Err(ServiceError::Forbidden { .. }) => {}
            other => problems.push(format!("{name} without its scopes: {other:?}")),
        }
        if table_digests(&db).await != before {
            problems.push(format!("{name}: a refused call changed something"));
        }
        for (n, scope) in accepted.iter().enumerate() {
            let holder = user(&db, &org, "admin", &[scope]).await;
            if let Err(e) = run_sf(&svc, &holder, call(n)).await {
                problems.push(format!("{name} with {scope} alone: {e:?}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The super admin's calls are refused to another organization's admin.
    let boss = user(&db, "sf-0", "boss", &["apim:admin"]).await;
    refused(
        "Organizations elsewhere",
        svc.settings_admin(&boss, C::Organizations).await,
    );
}
