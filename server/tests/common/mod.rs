//! Test helpers: the real router over a per-test database (`#[sqlx::test]`), and small
//! request/response conveniences. No mocks: requests go through every layer the server has.
#![allow(dead_code)]

pub mod procs;
pub mod routes;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use base64::Engine;
use http_body_util::BodyExt;
use secrecy::SecretString;
use server::config::Settings;
use sqlx::PgPool;
use tower::ServiceExt;

pub const ADMIN_PASSWORD: &str = "admin-test-password";
pub const DEMO_PASSWORD: &str = "demo-test-password";

pub struct TestApp {
    pub router: Router,
    pub db: PgPool,
    _serial: Option<Serial>,
}

// Tests in one binary run on parallel threads, each with its own single-threaded runtime.
// Leptos' SSR spawns its tasks on whatever runtime is current where the reactive graph wakes
// them, so a page rendered while another test's runtime shuts down could wait forever (seen:
// about one run in six hung). The server itself has one runtime; tests that render pages take
// turns. Re-entrant per thread, so a test may start a second app.
static SERIAL: std::sync::LazyLock<std::sync::Arc<tokio::sync::Mutex<()>>> =
    std::sync::LazyLock::new(Default::default);
thread_local!(static HOLDS_SERIAL: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });

struct Serial(#[allow(dead_code)] tokio::sync::OwnedMutexGuard<()>);

impl Drop for Serial {
    fn drop(&mut self) {
        HOLDS_SERIAL.with(|h| h.set(false));
    }
}

async fn serial() -> Option<Serial> {
    if HOLDS_SERIAL.with(|h| h.get()) {
        return None;
    }
    let guard = SERIAL.clone().lock_owned().await;
    HOLDS_SERIAL.with(|h| h.set(true));
    Some(Serial(guard))
}

pub fn settings() -> Settings {
    let mut s = Settings::load(&gateway::settings::Sources::default()).expect("defaults are valid");
    s.database.migrate = false; // #[sqlx::test] has migrated already
    s.admin_password = Some(SecretString::from(ADMIN_PASSWORD));
    s.demo.seed = true;
    s.demo.password = Some(SecretString::from(DEMO_PASSWORD));
    s.demo.apis = false; // tests start from an empty Publisher; `demo_api_*` turns it on
    s
}

pub async fn spawn(db: PgPool) -> TestApp {
    spawn_with(db, settings()).await
}

pub async fn spawn_with(db: PgPool, settings: Settings) -> TestApp {
    let serial = serial().await;
    let state = server::prepare(db.clone(), settings)
        .await
        .expect("prepare");
    TestApp {
        router: server::app(state),
        db,
        _serial: serial,
    }
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).to_string()
    }
    /// Value of a cookie this response sets.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| {
                let first = v.split(';').next()?;
                let (k, val) = first.split_once('=')?;
                (k == name).then(|| val.to_string())
            })
    }
    pub fn location(&self) -> Option<String> {
        self.headers
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_string())
    }
}

impl TestApp {
    pub async fn send(&self, req: Request<Body>) -> Resp {
        let resp = self.router.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec();
        Resp {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Resp {
        let mut b = Request::builder()
            .uri(path)
            .header(header::ACCEPT, "text/html");
        if let Some(c) = cookie {
            b = b.header(header::COOKIE, c);
        }
        self.send(b.body(Body::empty()).unwrap()).await
    }

    pub async fn get_bearer(&self, path: &str, token: &str) -> Resp {
        let req = Request::builder()
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        self.send(req).await
    }

    pub async fn post_json(
        &self,
        path: &str,
        body: serde_json::Value,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut b = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/json");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        self.send(b.body(Body::from(body.to_string())).unwrap())
            .await
    }

    pub async fn post_form(
        &self,
        path: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut b = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let body = serde_urlencoded::to_string(form).unwrap();
        self.send(b.body(Body::from(body)).unwrap()).await
    }

    /// Signs in through the JSON API; returns the `Cookie` header value for the session.
    pub async fn session(&self, username: &str, password: &str) -> String {
        let r = self
            .post_json(
                "/auth/sign-in",
                serde_json::json!({"username": username, "password": password}),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        format!(
            "gh_session={}",
            r.set_cookie("gh_session").expect("session cookie")
        )
    }

    /// Registers a REST client for `username` and returns (client id, secret).
    pub async fn register_client(&self, username: &str, password: &str) -> (String, String) {
        let r = self
            .post_json(
                "/client-registration/v0.17/register",
                serde_json::json!({"clientName": "rest_api_test", "owner": username, "grantType": "password client_credentials refresh_token", "saasApp": true}),
                &[("authorization", &basic(username, password))],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let j = r.json();
        (
            j["clientId"].as_str().unwrap().into(),
            j["clientSecret"].as_str().unwrap().into(),
        )
    }

    /// A password-grant token for `username` asking for `scope`.
    pub async fn token(&self, username: &str, password: &str, scope: &str) -> serde_json::Value {
        let (id, secret) = self.register_client(username, password).await;
        let r = self
            .post_form(
                "/oauth2/token",
                &[
                    ("grant_type", "password"),
                    ("username", username),
                    ("password", password),
                    ("scope", scope),
                ],
                &[("authorization", &basic(&id, &secret))],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        r.json()
    }
}

impl TestApp {
    /// A request with a bearer token and an optional JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<serde_json::Value>,
    ) -> Resp {
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"));
        if body.is_some() {
            b = b.header(header::CONTENT_TYPE, "application/json");
        }
        let body = body.map(|v| Body::from(v.to_string())).unwrap_or_default();
        self.send(b.body(body).unwrap()).await
    }

    /// A `multipart/form-data` request: (field, file name, content) parts.
    pub async fn multipart(
        &self,
        method: Method,
        path: &str,
        token: &str,
        parts: &[(&str, Option<&str>, &[u8])],
    ) -> Resp {
        const BOUNDARY: &str = "gatehouse-test-boundary-7d3f";
        let mut body = Vec::new();
        for (name, file, content) in parts {
            body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
            match file {
                Some(f) => body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
                ),
                None => body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
                ),
            }
            body.extend_from_slice(content);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(Body::from(body))
            .unwrap();
        self.send(req).await
    }

    /// An access token string for `username` with `scope`.
    pub async fn access_token(&self, username: &str, password: &str, scope: &str) -> String {
        self.token(username, password, scope).await["access_token"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

/// The OpenAPI fixtures (OAI examples and the 3.1 schema test suite).
pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/openapi");

/// A fixture file's bytes, by path below `FIXTURES`.
pub fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The URL of the per-test database `#[sqlx::test]` made (for the binaries under test).
pub fn database_url(db: &PgPool) -> String {
    let name = db
        .connect_options()
        .get_database()
        .expect("database name")
        .to_string();
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let (server, _) = base.rsplit_once('/').expect("DATABASE_URL has a database");
    format!("{server}/{name}")
}

/// `SELECT count(*) …` (or any single bigint) without parameters.
pub async fn count(db: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(db).await.expect(sql)
}

pub fn basic(user: &str, pass: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

/// Asserts WSO2's error body shape and returns it.
pub fn assert_wso2_error(r: &Resp, status: StatusCode) -> serde_json::Value {
    assert_eq!(r.status, status, "{}", r.text());
    let j = r.json();
    assert_eq!(j["code"].as_u64(), Some(status.as_u16() as u64), "{j}");
    assert!(
        j["message"].is_string() && j["description"].is_string(),
        "{j}"
    );
    assert!(j["error"].is_array() || j["error"].is_string(), "{j}");
    j
}

/// Imports petstore with `extra` settings through the Publisher REST API and, when `publish`,
/// deploys a revision to `Default` and publishes it. Returns the API's id.
pub async fn petstore_api(
    app: &TestApp,
    token: &str,
    extra: serde_json::Value,
    publish: bool,
) -> String {
    use serde_json::json;
    const P: &str = "/api/am/publisher/v4";
    let mut extra = extra;
    if extra.get("endpointConfig").is_none() {
        extra["endpointConfig"] =
            json!({"endpoint_type": "http", "production_endpoints": {"url": "http://127.0.0.1:9"}});
    }
    let doc = fixture("oai-examples/v3.0/petstore.yaml");
    import_api(app, token, "petstore.yaml", &doc, extra, publish).await
}

/// Imports the OpenAPI document `doc` (uploaded as `file`) with `extra` as its additional
/// properties; with `publish`, deploys a revision to Default and publishes it. Its id.
pub async fn import_api(
    app: &TestApp,
    token: &str,
    file: &str,
    doc: &[u8],
    extra: serde_json::Value,
    publish: bool,
) -> String {
    use serde_json::json;
    const P: &str = "/api/am/publisher/v4";
    let extra = extra.to_string();
    let r = app
        .multipart(
            Method::POST,
            &format!("{P}/apis/import-openapi"),
            token,
            &[
                ("file", Some(file), doc),
                ("additionalProperties", None, extra.as_bytes()),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_string();
    if publish {
        let rev = app
            .call(
                Method::POST,
                &format!("{P}/apis/{id}/revisions"),
                token,
                Some(json!({})),
            )
            .await
            .json();
        let r = app
            .call(
                Method::POST,
                &format!(
                    "{P}/apis/{id}/deploy-revision?revisionId={}",
                    rev["id"].as_str().unwrap()
                ),
                token,
                Some(json!([{"name": "Default"}])),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        let r = app
            .call(
                Method::POST,
                &format!("{P}/apis/change-lifecycle?apiId={id}&action=Publish"),
                token,
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }
    id
}

/// A call that must succeed: its JSON body (`null` when empty); fails the test naming the path
/// otherwise.
pub async fn ok(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<serde_json::Value>,
) -> serde_json::Value {
    let r = app.call(method, path, token, body).await;
    assert!(r.status.is_success(), "{path}: {} {}", r.status, r.text());
    if r.text().is_empty() {
        serde_json::Value::Null
    } else {
        r.json()
    }
}

/// The field codes of a WSO2 error body's `error` list, in order.
pub fn fields(body: &serde_json::Value) -> Vec<String> {
    body["error"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["code"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Sets the API's endpoints to `endpoint`, makes a revision (`note`) and deploys it to Default.
/// The revision's id.
pub async fn deploy_revision(
    app: &TestApp,
    token: &str,
    id: &str,
    endpoint: serde_json::Value,
    note: &str,
) -> String {
    let mut api = app
        .get_bearer(&format!("/api/am/publisher/v4/apis/{id}"), token)
        .await
        .json();
    api["endpointConfig"] = endpoint;
    let r = app
        .call(
            Method::PUT,
            &format!("/api/am/publisher/v4/apis/{id}"),
            token,
            Some(api),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = app
        .call(
            Method::POST,
            &format!("/api/am/publisher/v4/apis/{id}/revisions"),
            token,
            Some(serde_json::json!({"description": note})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let rev = r.json()["id"].as_str().unwrap().to_string();
    let r = app
        .call(
            Method::POST,
            &format!("/api/am/publisher/v4/apis/{id}/deploy-revision?revisionId={rev}"),
            token,
            Some(serde_json::json!([{"name": "Default", "vhost": "localhost"}])),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    rev
}

/// A client-credentials token from `/oauth2/token` for `key` (a `generate-keys` answer with
/// its secret).
pub async fn client_token(app: &TestApp, key: &serde_json::Value, scope: &str) -> String {
    let auth = basic(
        key["consumerKey"].as_str().unwrap(),
        key["consumerSecret"].as_str().unwrap(),
    );
    let r = app
        .post_form(
            "/oauth2/token",
            &[("grant_type", "client_credentials"), ("scope", scope)],
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()["access_token"].as_str().unwrap().to_string()
}
