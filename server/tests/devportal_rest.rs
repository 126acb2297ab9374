//! Every DevPortal v3 REST operation in one table, walked through the real router: who needs to
//! sign in and with which scopes (401 / 403 in WSO2's error body, nothing changed by a refused
//! write), a check that the table covers every DevPortal route registered in `src/http/*.rs`,
//! and WSO2's pagination shape (with links that lead to the next and previous pages) for every
//! list operation.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::routes::*;
use common::*;
use serde_json::{Value, json};
use sqlx::PgPool;

const P: &str = "/api/am/publisher/v4";
const D: &str = "/api/am/devportal/v3";

const PUBLISHER: &str = "apim:api_view apim:api_create apim:api_publish apim:api_manage \
                         apim:document_create apim:document_manage";
const DEV: &str = "apim:subscribe apim:app_manage apim:sub_manage apim:api_key";

/// Scopes an operation accepts (any one of them).
const SUBSCRIBE: &str = "apim:subscribe";
const APP: &str = "apim:subscribe apim:app_manage";
const API_KEY: &str = "apim:subscribe apim:api_key";
const SUBS: &str = "apim:subscribe apim:sub_manage";
const MODERATE: &str = "apim:subscribe apim:admin";

/// (method, path below the DevPortal base, needs a signed-in user, scopes accepted (any one;
/// `None`: any caller), JSON body of a well-formed request). `{…}` are filled with real ids.
type Op = (
    &'static str,
    &'static str,
    bool,
    Option<&'static str>,
    Option<&'static str>,
);

#[rustfmt::skip]
const OPS: &[Op] = &[
    // Settings and the catalogue: public.
    ("GET", "/settings", false, None, None),
    ("GET", "/api-categories", false, None, None),
    ("GET", "/throttling-policies/{policyLevel}", false, None, None),
    ("GET", "/apis", false, None, None),
    ("GET", "/apis/{apiId}", false, None, None),
    ("GET", "/apis/{apiId}/swagger", false, None, None),
    ("GET", "/apis/{apiId}/thumbnail", false, None, None),
    ("GET", "/apis/{apiId}/documents", false, None, None),
    ("GET", "/apis/{apiId}/documents/{documentId}", false, None, None),
    ("GET", "/apis/{apiId}/documents/{documentId}/content", false, None, None),
    // Ratings and comments.
    ("GET", "/apis/{apiId}/ratings", false, None, None),
    ("GET", "/apis/{apiId}/user-rating", true, Some(SUBSCRIBE), None),
    ("PUT", "/apis/{apiId}/user-rating", true, Some(SUBSCRIBE), Some(r#"{"rating": 1}"#)),
    ("DELETE", "/apis/{apiId}/user-rating", true, Some(SUBSCRIBE), None),
    ("GET", "/apis/{apiId}/comments", false, None, None),
    ("POST", "/apis/{apiId}/comments", true, Some(SUBSCRIBE), Some(r#"{"content": "refused"}"#)),
    ("GET", "/apis/{apiId}/comments/{commentId}", false, None, None),
    ("PATCH", "/apis/{apiId}/comments/{commentId}", true, Some(SUBSCRIBE), Some(r#"{"content": "refused"}"#)),
    ("DELETE", "/apis/{apiId}/comments/{commentId}", true, Some(MODERATE), None),
    ("GET", "/apis/{apiId}/comments/{commentId}/replies", false, None, None),
    // Applications and their keys.
    ("GET", "/applications", true, Some(APP), None),
    ("POST", "/applications", true, Some(APP), Some(r#"{"name": "Refused", "throttlingPolicy": "Unlimited"}"#)),
    ("GET", "/applications/{applicationId}", true, Some(APP), None),
    ("PUT", "/applications/{applicationId}", true, Some(APP), Some(r#"{"name": "Renamed", "throttlingPolicy": "Unlimited"}"#)),
    ("DELETE", "/applications/{applicationId}", true, Some(APP), None),
    ("POST", "/applications/{applicationId}/generate-keys", true, Some(APP), Some(r#"{"keyType": "SANDBOX", "grantTypesToBeSupported": ["client_credentials"]}"#)),
    ("POST", "/applications/{applicationId}/map-keys", true, Some(APP), Some(r#"{"consumerKey": "refused-client", "keyType": "SANDBOX"}"#)),
    ("GET", "/applications/{applicationId}/keys", true, Some(APP), None),
    ("POST", "/applications/{applicationId}/keys/{keyType}/regenerate-secret", true, Some(APP), None),
    ("POST", "/applications/{applicationId}/keys/{keyType}/clean-up", true, Some(APP), None),
    ("POST", "/applications/{applicationId}/keys/{keyType}/generate-token", true, Some(APP), Some(r#"{"validityPeriod": 600}"#)),
    // Ours: the application's own traffic (server/src/http/analytics.rs).
    ("GET", "/applications/{applicationId}/analytics", true, Some(APP), None),
    ("GET", "/applications/{applicationId}/oauth-keys", true, Some(APP), None),
    ("GET", "/applications/{applicationId}/oauth-keys/{keyMappingId}", true, Some(APP), None),
    ("PUT", "/applications/{applicationId}/oauth-keys/{keyMappingId}", true, Some(APP), Some(r#"{"callbackUrl": "https://refused.example/cb", "supportedGrantTypes": ["client_credentials"]}"#)),
    ("POST", "/applications/{applicationId}/oauth-keys/{keyMappingId}/regenerate-secret", true, Some(APP), None),
    ("POST", "/applications/{applicationId}/oauth-keys/{keyMappingId}/clean-up", true, Some(APP), None),
    ("POST", "/applications/{applicationId}/oauth-keys/{keyMappingId}/generate-token", true, Some(APP), Some(r#"{"validityPeriod": 600}"#)),
    // Ours (persistent token mode): the client's live tokens, and revoking one of them.
    ("GET", "/applications/{applicationId}/oauth-keys/{keyMappingId}/tokens", true, Some(APP), None),
    ("DELETE", "/applications/{applicationId}/oauth-keys/{keyMappingId}/tokens/{tokenId}", true, Some(APP), None),
    // API keys (WSO2 also accepts apim:app_manage for generate / revoke; we do not).
    ("GET", "/applications/{applicationId}/api-keys", true, Some(API_KEY), None),
    ("POST", "/applications/{applicationId}/api-keys/{keyType}/generate", true, Some(API_KEY), Some(r#"{"validityPeriod": 600}"#)),
    ("POST", "/applications/{applicationId}/api-keys/{keyType}/revoke", true, Some(API_KEY), Some(r#"{"keyId": "{apiKeyId}"}"#)),
    // Subscriptions.
    ("GET", "/subscriptions", true, Some(SUBS), None),
    ("POST", "/subscriptions", true, Some(SUBS), Some(r#"{"applicationId": "{applicationId}", "apiId": "{otherApiId}", "throttlingPolicy": "Unlimited"}"#)),
    ("GET", "/subscriptions/{subscriptionId}", true, Some(SUBS), None),
    ("PUT", "/subscriptions/{subscriptionId}", true, Some(SUBS), Some(r#"{"applicationId": "{applicationId}", "apiId": "{apiId}", "throttlingPolicy": "Gold"}"#)),
    ("DELETE", "/subscriptions/{subscriptionId}", true, Some(SUBS), None),
    // Key managers: any signed-in user (WSO2's contract asks for apim:subscribe).
    ("GET", "/key-managers", true, Some(APP), None),
    // AI: the assistant and API chat's PREPARE answer anyone who sees the catalogue (EXECUTE,
    // the same route with apiChatAction=EXECUTE, needs a signed-in user: tests/ai.rs).
    ("POST", "/marketplace-assistant/chat", false, None, Some(r#"{"query": "order a pizza"}"#)),
    ("POST", "/apis/{apiId}/api-chat", false, None, Some(r#"{"command": "list the menu"}"#)),
];

/// A small valid PNG (1×1).
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\x0f\0\0\x01\x01\x01\0\x18\xdd\x8d\xb0\0\0\0\0IEND\xaeB`\x82";

// ----- Route coverage ---------------------------------------------------------------------------

#[test]
fn the_table_covers_every_devportal_route() {
    let (registered, _) = routes_under("DEVPORTAL", D);
    assert!(
        registered.len() >= 40,
        "the scan found too few routes: {registered:?}"
    );
    let table: BTreeSet<(String, String)> = OPS
        .iter()
        .map(|(m, p, ..)| (m.to_string(), normalize(p)))
        .collect();
    assert_eq!(table.len(), OPS.len(), "a row appears twice");
    let missing: Vec<_> = registered.difference(&table).collect();
    let stale: Vec<_> = table.difference(&registered).collect();
    assert!(
        missing.is_empty(),
        "DevPortal operations without a row in OPS: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "rows in OPS without a registered route: {stale:?}"
    );
    // The table is self-consistent: scopes only for operations that need a signed-in user.
    for (m, p, sign_in, scope, body) in OPS {
        assert!(*sign_in || scope.is_none(), "{m} {p}");
        assert!(body.is_none() || *m != "GET", "{m} {p}: a GET with a body");
    }
}

#[test]
fn the_scan_reads_each_way_routes_are_written() {
    let src = Source::new(
        r#"
        const X: &str = "/x";
        fn router() {
            let p = |path: &str| format!("{DEVPORTAL}/apis/{{api_id}}{path}");
            let d = |p: &str| format!("{DEVPORTAL}{p}");
            let api = format!("{DEVPORTAL}/apis/{{api_id}}");
            let item = format!("{PUBLISHER}/{}/{{api_id}}", kind());
            let docs = format!("{item}/documents");
        }
        "#,
    );
    let consts: BTreeMap<String, String> = [
        ("DEVPORTAL".to_string(), D.to_string()),
        ("PUBLISHER".to_string(), P.to_string()),
    ]
    .into();
    let end = src.text.len();
    assert_eq!(
        src.path_of(r#"&p("/ratings")"#, end, &consts),
        format!("{D}/apis/{{api_id}}/ratings")
    );
    assert_eq!(
        src.path_of(r#"&d("/applications/{id}")"#, end, &consts),
        format!("{D}/applications/{{id}}")
    );
    assert_eq!(
        src.path_of(
            r#"&format!("{api}/documents/{{document_id}}")"#,
            end,
            &consts
        ),
        format!("{D}/apis/{{api_id}}/documents/{{document_id}}")
    );
    assert_eq!(
        src.path_of(r#"&format!("{DEVPORTAL}/apis")"#, end, &consts),
        format!("{D}/apis")
    );
    let docs = src.path_of("&docs", end, &consts);
    assert!(docs.starts_with(P) && docs.contains(UNKNOWN), "{docs:?}");
    assert_eq!(
        methods_of("get(list::<P>).post(create::<P>)"),
        ["GET", "POST"]
    );
    assert_eq!(
        methods_of("axum::routing::delete(revoke_listed)"),
        ["DELETE"]
    );
    assert_eq!(
        methods_of("get(user_rating).put(rate).delete(unrate)"),
        ["GET", "PUT", "DELETE"]
    );
    assert_eq!(methods_of("post(get_app)"), ["POST"]);
}

// ----- Sign-in and scopes -----------------------------------------------------------------------

/// Real ids for every path parameter.
struct Ids(BTreeMap<&'static str, String>);

impl Ids {
    fn fill(&self, template: &str) -> String {
        let mut s = template.to_string();
        for (k, v) in &self.0 {
            s = s.replace(&format!("{{{k}}}"), v);
        }
        assert!(!s.contains("{") || s.contains('"'), "unfilled: {s}");
        s
    }
}

async fn created(r: Resp) -> Value {
    assert!(r.status.is_success(), "{} {}", r.status, r.text());
    r.json()
}

/// The publisher's published API with a document, a thumbnail, a comment and a rating; a second
/// API; the developer's application with PRODUCTION keys, a stored token, an API key and a
/// subscription. The developer is `publisher` too, so that tokens of the owner with other
/// scopes can be tried.
async fn world(app: &TestApp) -> (Ids, String) {
    let publisher = app
        .access_token("publisher", DEMO_PASSWORD, PUBLISHER)
        .await;
    let dev = app.access_token("publisher", DEMO_PASSWORD, DEV).await;
    let policies = json!({"policies": ["Unlimited", "Gold"]});
    let mut extra = json!({"name": "Pets", "context": "/pets", "version": "1.0.0"});
    extra["policies"] = policies["policies"].clone();
    let api = petstore_api(app, &publisher, extra, true).await;
    let mut extra = json!({"name": "Cats", "context": "/cats", "version": "1.0.0"});
    extra["policies"] = policies["policies"].clone();
    let other = petstore_api(app, &publisher, extra, true).await;
    let doc = created(
        app.call(
            Method::POST,
            &format!("{P}/apis/{api}/documents"),
            &publisher,
            Some(
                json!({"name": "Guide", "type": "HOWTO", "sourceType": "INLINE",
                        "visibility": "API_LEVEL", "inlineContent": "Hello"}),
            ),
        )
        .await,
    )
    .await;
    let r = app
        .multipart(
            Method::PUT,
            &format!("{P}/apis/{api}/thumbnail"),
            &publisher,
            &[("file", Some("logo.png"), PNG)],
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text());
    let comment = created(
        app.call(
            Method::POST,
            &format!("{D}/apis/{api}/comments"),
            &dev,
            Some(json!({"content": "Nice"})),
        )
        .await,
    )
    .await;
    created(
        app.call(
            Method::POST,
            &format!(
                "{D}/apis/{api}/comments?replyTo={}",
                comment["id"].as_str().unwrap()
            ),
            &dev,
            Some(json!({"content": "Thanks"})),
        )
        .await,
    )
    .await;
    created(
        app.call(
            Method::PUT,
            &format!("{D}/apis/{api}/user-rating"),
            &dev,
            Some(json!({"rating": 4})),
        )
        .await,
    )
    .await;
    let application = created(
        app.call(
            Method::POST,
            &format!("{D}/applications"),
            &dev,
            Some(json!({"name": "Mine", "throttlingPolicy": "Unlimited"})),
        )
        .await,
    )
    .await;
    let app_id = application["applicationId"].as_str().unwrap().to_string();
    let key = created(
        app.call(
            Method::POST,
            &format!("{D}/applications/{app_id}/generate-keys"),
            &dev,
            Some(json!({"keyType": "PRODUCTION",
                        "grantTypesToBeSupported": ["client_credentials"]})),
        )
        .await,
    )
    .await;
    let mapping = key["keyMappingId"].as_str().unwrap().to_string();
    created(
        app.call(
            Method::POST,
            &format!("{D}/applications/{app_id}/oauth-keys/{mapping}/generate-token"),
            &dev,
            Some(json!({"validityPeriod": 600})),
        )
        .await,
    )
    .await;
    let tokens = created(
        app.call(
            Method::GET,
            &format!("{D}/applications/{app_id}/oauth-keys/{mapping}/tokens"),
            &dev,
            None,
        )
        .await,
    )
    .await;
    let api_key = created(
        app.call(
            Method::POST,
            &format!("{D}/applications/{app_id}/api-keys/PRODUCTION/generate"),
            &dev,
            Some(json!({})),
        )
        .await,
    )
    .await;
    let sub = created(
        app.call(
            Method::POST,
            &format!("{D}/subscriptions"),
            &dev,
            Some(json!({"applicationId": app_id, "apiId": api, "throttlingPolicy": "Unlimited"})),
        )
        .await,
    )
    .await;
    let s = |v: &Value| v.as_str().unwrap().to_string();
    let ids = Ids(BTreeMap::from([
        ("apiId", api.clone()),
        ("otherApiId", other),
        ("documentId", s(&doc["documentId"])),
        ("commentId", s(&comment["id"])),
        ("applicationId", app_id),
        ("keyType", "PRODUCTION".to_string()),
        ("keyMappingId", mapping),
        ("tokenId", s(&tokens["list"][0]["tokenId"])),
        ("apiKeyId", s(&api_key["keyId"])),
        ("subscriptionId", s(&sub["subscriptionId"])),
        ("policyLevel", "subscription".to_string()),
    ]));
    (ids, dev)
}

/// One request of the table: `auth` is the whole Authorization header, if any.
async fn request(
    app: &TestApp,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: Option<String>,
) -> Resp {
    let mut b = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).unwrap())
        .uri(path)
        .header(header::ACCEPT, "application/json");
    if let Some(a) = auth {
        b = b.header(header::AUTHORIZATION, a);
    }
    if body.is_some() {
        b = b.header(header::CONTENT_TYPE, "application/json");
    }
    app.send(b.body(body.map(Body::from).unwrap_or_default()).unwrap())
        .await
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn every_operation_asks_for_what_the_table_says(db: PgPool) {
    // Persistent tokens, so that the token list and revocation have a real token id.
    let mut settings = common::settings();
    settings.keymanager.token_mode = server::config::TokenMode::Persistent;
    let app = spawn_with(db.clone(), settings).await;
    let (ids, owner) = world(&app).await;
    // The owner with scopes unrelated to the Developer Portal, and with none at all.
    let api_view = app.token("publisher", DEMO_PASSWORD, "apim:api_view").await;
    assert_eq!(api_view["scope"], "apim:api_view");
    let api_view = api_view["access_token"].as_str().unwrap().to_string();
    let openid = app.token("publisher", DEMO_PASSWORD, "openid").await;
    assert!(
        !openid["scope"]
            .as_str()
            .unwrap_or_default()
            .contains("apim:"),
        "{openid}"
    );
    let openid = openid["access_token"].as_str().unwrap().to_string();

    // The ids are real: the owner reads every GET of the table.
    for (m, p, ..) in OPS.iter().filter(|(m, ..)| *m == "GET") {
        let mut path = format!("{D}{}", ids.fill(p));
        if *p == "/subscriptions" {
            path = ids.fill("/api/am/devportal/v3/subscriptions?applicationId={applicationId}");
        }
        let r = request(&app, m, &path, Some(&format!("Bearer {owner}")), None).await;
        assert_eq!(r.status, StatusCode::OK, "{m} {path}: {}", r.text());
    }

    let before = table_digests(&db).await;
    let mut problems = Vec::new();
    for (m, p, sign_in, scope, body) in OPS {
        let path = format!("{D}{}", ids.fill(p));
        let body = body.map(|b| ids.fill(b));
        let what = format!("{m} {p}");

        // No token.
        let r = request(&app, m, &path, None, body.clone()).await;
        if *sign_in {
            if r.status != StatusCode::UNAUTHORIZED {
                problems.push(format!("{what} without a token: {} {}", r.status, r.text()));
            } else {
                assert_wso2_error(&r, StatusCode::UNAUTHORIZED);
                assert!(
                    r.headers.contains_key(header::WWW_AUTHENTICATE),
                    "{what}: WWW-Authenticate"
                );
            }
        } else if *m == "GET" && r.status != StatusCode::OK {
            problems.push(format!("{what} anonymous: {} {}", r.status, r.text()));
        }

        // A token that is no token: refused even where anonymous visitors are welcome
        // (`/settings` alone does not look at the caller at all).
        let r = request(&app, m, &path, Some("Bearer not-a-token"), body.clone()).await;
        if *p == "/settings" {
            assert_eq!(r.status, StatusCode::OK, "{what}");
        } else if r.status != StatusCode::UNAUTHORIZED {
            problems.push(format!(
                "{what} with a bad token: {} {}",
                r.status,
                r.text()
            ));
        } else {
            assert_wso2_error(&r, StatusCode::UNAUTHORIZED);
        }

        // The owner's tokens without a Developer Portal scope.
        for (label, token) in [("apim:api_view", &api_view), ("no scope", &openid)] {
            let r = request(
                &app,
                m,
                &path,
                Some(&format!("Bearer {token}")),
                body.clone(),
            )
            .await;
            match scope {
                Some(wanted) => {
                    if r.status != StatusCode::FORBIDDEN {
                        problems.push(format!(
                            "{what} with {label} (needs one of {wanted}): {} {}",
                            r.status,
                            r.text()
                        ));
                    } else {
                        let j = assert_wso2_error(&r, StatusCode::FORBIDDEN);
                        let named = wanted
                            .split(' ')
                            .any(|s| j["description"].as_str().unwrap().contains(s));
                        assert!(named, "{what}: the 403 names a scope it needs: {j}");
                    }
                }
                None if *m == "GET" && r.status != StatusCode::OK => {
                    problems.push(format!("{what} with {label}: {} {}", r.status, r.text()));
                }
                None => {}
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // Refused writes changed nothing anywhere.
    let after = table_digests(&db).await;
    let changed: Vec<_> = before
        .keys()
        .filter(|t| before.get(*t) != after.get(*t))
        .collect();
    assert!(changed.is_empty(), "refused calls changed {changed:?}");
}

// ----- Pagination -------------------------------------------------------------------------------

/// Where a pagination link leads, from the page at `path`: WSO2 writes links relative to the
/// REST API's base (`/apis?limit=…`); a link of only a query (`?limit=…`) is relative to the
/// page itself.
fn follow(path: &str, link: &str) -> String {
    if link.starts_with('?') {
        format!("{}{link}", path.split('?').next().unwrap())
    } else if link.starts_with("/api/am/") {
        link.to_string()
    } else if link.starts_with('/') {
        format!("{D}{link}")
    } else {
        panic!("a link that leads nowhere: {link:?} (from {path})")
    }
}

async fn get_json(app: &TestApp, path: &str, token: Option<&str>) -> Value {
    let auth = token.map(|t| format!("Bearer {t}"));
    let r = request(app, "GET", path, auth.as_deref(), None).await;
    assert_eq!(r.status, StatusCode::OK, "GET {path}: {}", r.text());
    r.json()
}

/// Checks WSO2's `{count, list, pagination{offset, limit, total, next, previous}}` page by page,
/// walking forwards with `next` and back with `previous`; returns every `key` seen.
async fn walk(
    app: &TestApp,
    token: Option<&str>,
    first: &str,
    key: &str,
    limit: i64,
    total: i64,
) -> Vec<String> {
    let mut path = first.to_string();
    let mut page = get_json(app, &path, token).await;
    let mut seen = Vec::new();
    let mut offset = 0;
    loop {
        let want = (total - offset).clamp(0, limit);
        assert_eq!(page["count"], want, "{path}: {page}");
        let list = page["list"].as_array().unwrap_or_else(|| panic!("{page}"));
        assert_eq!(list.len() as i64, want, "{path}");
        let pg = &page["pagination"];
        assert_eq!(pg["offset"], offset, "{path}: {pg}");
        assert_eq!(pg["limit"], limit, "{path}: {pg}");
        assert_eq!(pg["total"], total, "{path}: {pg}");
        let (next, previous) = (
            pg["next"].as_str().unwrap_or_else(|| panic!("next: {pg}")),
            pg["previous"]
                .as_str()
                .unwrap_or_else(|| panic!("previous: {pg}")),
        );
        seen.extend(list.iter().map(|x| {
            x[key]
                .as_str()
                .unwrap_or_else(|| panic!("{key} in {x}"))
                .to_string()
        }));
        if offset == 0 {
            assert_eq!(previous, "", "{path}: {pg}");
        } else {
            // `previous` leads back to the page before.
            let back = get_json(app, &follow(&path, previous), token).await;
            assert_eq!(back["pagination"]["offset"], offset - limit, "{previous}");
            let back_keys: Vec<&Value> = back["list"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| &x[key])
                .collect();
            let had: Vec<Value> = seen[(offset - limit) as usize..offset as usize]
                .iter()
                .map(|s| Value::String(s.clone()))
                .collect();
            assert_eq!(back_keys, had.iter().collect::<Vec<_>>(), "{previous}");
        }
        if offset + limit >= total {
            assert_eq!(next, "", "{path}: {pg}");
            break;
        }
        assert_ne!(next, "", "{path}: {pg}");
        path = follow(&path, next);
        page = get_json(app, &path, token).await;
        offset += limit;
    }
    let distinct: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(distinct.len() as i64, total, "{first}: {seen:?}");
    seen
}

/// Several of everything a list shows.
struct Lists {
    apis: Vec<String>,
    application: String,
    comment: String,
    dev: String,
}

async fn lists(app: &TestApp) -> Lists {
    let publisher = app
        .access_token("publisher", DEMO_PASSWORD, PUBLISHER)
        .await;
    let dev = app.access_token("subscriber", DEMO_PASSWORD, DEV).await;
    let mut apis = Vec::new();
    for n in ["Pets A", "Pets B", "Pets C", "Other"] {
        let context = format!("/{}", n.to_lowercase().replace(' ', "-"));
        apis.push(
            petstore_api(
                app,
                &publisher,
                json!({"name": n, "context": context, "version": "1.0.0",
                       "policies": ["Unlimited"]}),
                true,
            )
            .await,
        );
    }
    let api = &apis[0];
    for n in 1..=3 {
        created(
            app.call(
                Method::POST,
                &format!("{P}/apis/{api}/documents"),
                &publisher,
                Some(
                    json!({"name": format!("Guide {n}"), "type": "HOWTO", "sourceType": "INLINE",
                            "visibility": "API_LEVEL", "inlineContent": "Hello"}),
                ),
            )
            .await,
        )
        .await;
    }
    let raters = [
        app.access_token("subscriber", DEMO_PASSWORD, "apim:subscribe")
            .await,
        app.access_token("publisher", DEMO_PASSWORD, "apim:subscribe")
            .await,
        app.access_token("admin", ADMIN_PASSWORD, "apim:subscribe")
            .await,
    ];
    for (i, t) in raters.iter().enumerate() {
        created(
            app.call(
                Method::PUT,
                &format!("{D}/apis/{api}/user-rating"),
                t,
                Some(json!({"rating": i + 2})),
            )
            .await,
        )
        .await;
    }
    let mut comment = String::new();
    for n in 1..=3 {
        let c = created(
            app.call(
                Method::POST,
                &format!("{D}/apis/{api}/comments"),
                &dev,
                Some(json!({"content": format!("Comment {n}")})),
            )
            .await,
        )
        .await;
        comment = c["id"].as_str().unwrap().to_string();
    }
    for n in 1..=3 {
        created(
            app.call(
                Method::POST,
                &format!("{D}/apis/{api}/comments?replyTo={comment}"),
                &dev,
                Some(json!({"content": format!("Reply {n}")})),
            )
            .await,
        )
        .await;
    }
    let mut application = String::new();
    for n in ["App A", "App B", "App C"] {
        let a = created(
            app.call(
                Method::POST,
                &format!("{D}/applications"),
                &dev,
                Some(json!({"name": n, "throttlingPolicy": "Unlimited"})),
            )
            .await,
        )
        .await;
        application = a["applicationId"].as_str().unwrap().to_string();
    }
    for api in &apis[..3] {
        created(
            app.call(
                Method::POST,
                &format!("{D}/subscriptions"),
                &dev,
                Some(json!({"applicationId": application, "apiId": api,
                            "throttlingPolicy": "Unlimited"})),
            )
            .await,
        )
        .await;
    }
    Lists {
        apis,
        application,
        comment,
        dev,
    }
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn every_list_pages_like_wso2(db: PgPool) {
    let app = spawn(db).await;
    let l = lists(&app).await;
    let api = &l.apis[0];
    let dev = Some(l.dev.as_str());

    // The catalogue, searched: the search is kept in the links.
    let seen = walk(
        &app,
        None,
        &format!("{D}/apis?query=name:pets&limit=2"),
        "id",
        2,
        3,
    )
    .await;
    assert_eq!(
        seen.iter().collect::<BTreeSet<_>>(),
        l.apis[..3].iter().collect::<BTreeSet<_>>()
    );
    walk(&app, None, &format!("{D}/apis?limit=3"), "id", 3, 4).await;
    walk(
        &app,
        dev,
        &format!("{D}/applications?limit=2"),
        "applicationId",
        2,
        3,
    )
    .await;
    walk(
        &app,
        None,
        &format!("{D}/apis/{api}/documents?limit=2"),
        "documentId",
        2,
        3,
    )
    .await;
    walk(
        &app,
        None,
        &format!("{D}/apis/{api}/comments?limit=2"),
        "id",
        2,
        3,
    )
    .await;
    walk(
        &app,
        None,
        &format!("{D}/apis/{api}/comments/{}/replies?limit=2", l.comment),
        "id",
        2,
        3,
    )
    .await;
    walk(
        &app,
        dev,
        &format!("{D}/apis/{api}/ratings?limit=2"),
        "ratingId",
        2,
        3,
    )
    .await;
    walk(
        &app,
        None,
        &format!("{D}/apis/{api}/ratings?limit=1"),
        "ratingId",
        1,
        3,
    )
    .await;

    // Subscriptions: the shape, page by page (their links are checked on their own below).
    let subs = format!("{D}/subscriptions?applicationId={}", l.application);
    for (offset, count) in [(0, 2), (2, 1)] {
        let page = get_json(&app, &format!("{subs}&limit=2&offset={offset}"), dev).await;
        assert_eq!(page["count"], count, "{page}");
        assert_eq!(page["list"].as_array().unwrap().len(), count, "{page}");
        let pg = &page["pagination"];
        assert_eq!(
            (&pg["offset"], &pg["limit"], &pg["total"]),
            (&json!(offset), &json!(2), &json!(3)),
            "{page}"
        );
        assert_eq!(pg["next"] == "", offset == 2, "{page}");
        assert_eq!(pg["previous"] == "", offset == 0, "{page}");
    }

    // Lists WSO2 does not page: ApplicationKeyList and KeyManagerList are {count, list}.
    let app_id = &l.application;
    created(
        app.call(
            Method::POST,
            &format!("{D}/applications/{app_id}/generate-keys"),
            &l.dev,
            Some(
                json!({"keyType": "PRODUCTION", "grantTypesToBeSupported": ["client_credentials"]}),
            ),
        )
        .await,
    )
    .await;
    for _ in 0..2 {
        created(
            app.call(
                Method::POST,
                &format!("{D}/applications/{app_id}/api-keys/PRODUCTION/generate"),
                &l.dev,
                Some(json!({})),
            )
            .await,
        )
        .await;
    }
    for (path, n) in [
        (format!("{D}/applications/{app_id}/keys"), 1),
        (format!("{D}/applications/{app_id}/oauth-keys"), 1),
        (format!("{D}/key-managers"), 1),
        // Ours (not in WSO2's contract): the application's API keys, never the keys.
        (format!("{D}/applications/{app_id}/api-keys"), 2),
    ] {
        let j = get_json(&app, &path, dev).await;
        assert_eq!(j["count"], n, "{path}: {j}");
        assert_eq!(j["list"].as_array().unwrap().len(), n, "{path}: {j}");
    }
}

/// WSO2 keeps `applicationId` / `apiId` in the links of `GET /subscriptions`
/// (`/subscriptions?limit=…&offset=…&applicationId=…&apiId=…`); one of them is mandatory.
#[sqlx::test(migrator = "server::MIGRATOR")]
async fn subscription_page_links_keep_the_filter(db: PgPool) {
    let app = spawn(db).await;
    let l = lists(&app).await;
    let dev = Some(l.dev.as_str());
    walk(
        &app,
        dev,
        &format!("{D}/subscriptions?applicationId={}&limit=2", l.application),
        "subscriptionId",
        2,
        3,
    )
    .await;
    walk(
        &app,
        dev,
        &format!("{D}/subscriptions?apiId={}&limit=1", l.apis[0]),
        "subscriptionId",
        1,
        1,
    )
    .await;
}

/// WSO2 keeps the search in the links of `GET /applications?query=…`.
#[sqlx::test(migrator = "server::MIGRATOR")]
async fn application_page_links_keep_the_search(db: PgPool) {
    let app = spawn(db).await;
    let l = lists(&app).await;
    created(
        app.call(
            Method::POST,
            &format!("{D}/applications"),
            &l.dev,
            Some(json!({"name": "Zebra", "throttlingPolicy": "Unlimited"})),
        )
        .await,
    )
    .await;
    // "App A", "App B", "App C" match; "Zebra" does not.
    walk(
        &app,
        Some(&l.dev),
        &format!("{D}/applications?query=App&limit=2"),
        "applicationId",
        2,
        3,
    )
    .await;
}

/// `%` and `_` in an application search are literal characters, not SQL wildcards.
#[sqlx::test(migrator = "server::MIGRATOR")]
async fn application_search_treats_wildcards_literally(db: PgPool) {
    let app = spawn(db).await;
    let l = lists(&app).await;
    for name in ["50% off", "500 off", "a_b", "axb"] {
        created(
            app.call(
                Method::POST,
                &format!("{D}/applications"),
                &l.dev,
                Some(json!({"name": name, "throttlingPolicy": "Unlimited"})),
            )
            .await,
        )
        .await;
    }
    for (query, want) in [("50%25", "50% off"), ("a_b", "a_b")] {
        let j = get_json(
            &app,
            &format!("{D}/applications?query={query}"),
            Some(&l.dev),
        )
        .await;
        let names: Vec<&str> = j["list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, [want], "{query}: {j}");
    }
}
