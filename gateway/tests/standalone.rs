//! The gateway binary in standalone mode (`--config FILE`) in front of real backends on
//! 127.0.0.1 port 0: routing, forwarding, load balancing, failover, faults, live reload.

mod common;

use std::convert::Infallible;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{call, closed_port, gateway, standalone, started};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};

/// A backend that answers with what it received, as JSON, tagged with `name`.
/// Paths ending in /slow wait 3 s first.
async fn backend(name: &'static str) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(serve_echo(stream, name));
        }
    });
    addr
}

/// The same backend over TLS with a fresh self-signed certificate for 127.0.0.1; returns its
/// address and the certificate (PEM) to trust.
async fn tls_backend(name: &'static str) -> (SocketAddr, String) {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let pem = certified.cert.pem();
    let key = rustls_pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(gateway::crypto::rustls_provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(stream).await {
                    serve_echo(tls, name).await;
                }
            });
        }
    });
    (addr, pem)
}

async fn serve_echo<S>(stream: S, name: &'static str)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let svc =
        hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| async move {
            // `Upgrade: echo`: switch protocols, then echo every byte back.
            if req.headers().get("upgrade").is_some_and(|v| v == "echo") {
                let on = hyper::upgrade::on(&mut req);
                tokio::spawn(async move {
                    if let Ok(up) = on.await {
                        let (mut r, mut w) = tokio::io::split(TokioIo::new(up));
                        let _ = tokio::io::copy(&mut r, &mut w).await;
                    }
                });
                let mut resp = Response::new(Full::new(Bytes::new()));
                *resp.status_mut() = hyper::StatusCode::SWITCHING_PROTOCOLS;
                resp.headers_mut()
                    .insert("upgrade", "echo".parse().unwrap());
                resp.headers_mut()
                    .insert("connection", "upgrade".parse().unwrap());
                return Ok::<_, Infallible>(resp);
            }
            let (parts, body) = req.into_parts();
            if parts.uri.path().ends_with("/slow") {
                tokio::time::sleep(Duration::from_secs(3)).await;
            }
            let body = body
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            // A header sent several times shows as its values joined with ", ", in order.
            let mut headers = serde_json::Map::new();
            for name in parts.headers.keys() {
                let values: Vec<&str> = parts
                    .headers
                    .get_all(name)
                    .iter()
                    .map(|v| v.to_str().unwrap_or(""))
                    .collect();
                headers.insert(name.to_string(), values.join(", ").into());
            }
            let echo = serde_json::json!({
                "backend": name,
                "method": parts.method.as_str(),
                "uri": parts.uri.to_string(),
                "headers": headers,
                "body": String::from_utf8_lossy(&body),
            });
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(echo.to_string()))))
        });
    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
        .serve_connection_with_upgrades(TokioIo::new(stream), svc)
        .await;
}

struct Gw {
    child: Child,
    traffic: String,
    admin: String,
    file: PathBuf,
}

impl Drop for Gw {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.file);
    }
}

fn start(name: &str, snapshot: &str) -> Gw {
    let file = std::env::temp_dir().join(format!("gh-snap-{}-{name}.yaml", std::process::id()));
    std::fs::write(&file, snapshot).unwrap();
    let mut child = standalone(&file);
    let (traffic, admin) = started(&mut child);
    Gw {
        child,
        traffic,
        admin,
        file,
    }
}

fn echo(addr: &str, path: &str) -> serde_json::Value {
    let (status, _, body) = call(addr, "GET", path, &[], "");
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

fn snapshot(version: u64, apis: &str) -> String {
    format!("version: {version}\napis:\n{apis}")
}

fn pets_api(urls: &[SocketAddr], kind: &str, timeout_ms: u64) -> String {
    let urls: Vec<String> = urls.iter().map(|a| format!("http://{a}/v1")).collect();
    format!(
        "  - id: pets-1
    name: Pets
    context: /pets
    version: 1.0.0
    isDefaultVersion: true
    endpoints:
      production: {{type: {kind}, urls: [{}], timeoutMs: {timeout_ms}, suspendSeconds: 30}}
    operations:
      - {{method: GET, target: /pets}}
      - {{method: POST, target: /pets}}
      - {{method: GET, target: \"/pets/{{id}}\"}}
      - {{method: GET, target: /slow}}
",
        urls.join(", ")
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_and_forwards_to_the_backend() {
    let a = backend("a").await;
    let gw = start("forward", &snapshot(1, &pets_api(&[a], "single", 2000)));
    let (status, _, body) = call(&gw.admin, "GET", "/ready", &[], "");
    assert_eq!(status, 200);
    assert!(body.contains(r#""snapshotVersion":1"#), "{body}");

    let e = echo(&gw.traffic, "/pets/1.0.0/pets/42?verbose=true");
    assert_eq!(
        e["uri"], "/v1/pets/42?verbose=true",
        "endpoint base path + resource + query"
    );
    let h = &e["headers"];
    assert_eq!(h["x-forwarded-for"], "127.0.0.1");
    assert_eq!(h["x-forwarded-host"], "api.example.com");
    assert_eq!(h["host"], a.to_string());
    assert!(h["traceparent"].as_str().unwrap().starts_with("00-"));

    // The default version answers without the version segment.
    assert_eq!(echo(&gw.traffic, "/pets/pets")["uri"], "/v1/pets");

    // Incoming trace context is kept; hop-by-hop headers are not forwarded.
    let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let (_, _, body) = call(
        &gw.traffic,
        "GET",
        "/pets/1.0.0/pets",
        &[
            ("traceparent", tp),
            ("x-hop", "1"),
            ("Connection", "close, x-hop"),
            ("te", "trailers"),
        ],
        "",
    );
    let e: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(e["headers"]["traceparent"], tp);
    assert!(e["headers"].get("x-hop").is_none(), "{e}");
    assert!(e["headers"].get("te").is_none(), "{e}");

    // Bodies reach the backend.
    let (status, _, body) = call(
        &gw.traffic,
        "POST",
        "/pets/1.0.0/pets",
        &[("Content-Type", "application/json")],
        r#"{"name":"Rex"}"#,
    );
    assert_eq!(status, 200);
    let e: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(e["method"], "POST");
    assert_eq!(e["body"], r#"{"name":"Rex"}"#);

    // Misses are JSON faults that say which.
    let (status, _, body) = call(&gw.traffic, "GET", "/cats/1.0.0/cats", &[], "");
    assert_eq!(status, 404);
    assert!(body.contains("900906"), "{body}");
    let (status, head, body) = call(&gw.traffic, "DELETE", "/pets/1.0.0/pets", &[], "");
    assert_eq!(status, 405, "{body}");
    assert!(
        head.to_ascii_lowercase().contains("allow: get, post"),
        "{head}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_with_their_own_endpoints_go_there() {
    // An API product: /menu from one backend, /pets from another.
    let (a, b) = (backend("a").await, backend("b").await);
    let api = format!(
        "  - id: bundle
    name: Bundle
    context: /bundle
    version: 1.0.0
    endpoints:
      production: {{urls: [\"http://{a}/food\"]}}
    operations:
      - {{method: GET, target: /menu}}
      - method: GET
        target: \"/pets/{{id}}\"
        endpoints:
          production: {{urls: [\"http://{b}/v2\"]}}
"
    );
    let gw = start("per-operation", &snapshot(1, &api));
    let menu = echo(&gw.traffic, "/bundle/1.0.0/menu");
    assert_eq!(
        (menu["backend"].as_str(), menu["uri"].as_str()),
        (Some("a"), Some("/food/menu"))
    );
    let pet = echo(&gw.traffic, "/bundle/1.0.0/pets/7");
    assert_eq!(
        (pet["backend"].as_str(), pet["uri"].as_str()),
        (Some("b"), Some("/v2/pets/7"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn balances_fails_over_and_reports_backend_faults() {
    let a = backend("a").await;
    let b = backend("b").await;
    let dead = closed_port();

    // Round robin over two live endpoints.
    let gw = start("lb", &snapshot(1, &pets_api(&[a, b], "load_balance", 2000)));
    let seen: Vec<String> = (0..4)
        .map(|_| {
            echo(&gw.traffic, "/pets/1.0.0/pets")["backend"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(seen, ["a", "b", "a", "b"]);
    drop(gw);

    // Failover: the first endpoint is down, the second answers, every time.
    let gw = start(
        "failover",
        &snapshot(1, &pets_api(&[dead, b], "failover", 2000)),
    );
    for _ in 0..3 {
        assert_eq!(echo(&gw.traffic, "/pets/1.0.0/pets")["backend"], "b");
    }
    drop(gw);

    // Nothing reachable: 502 first, then 503 while the endpoint is suspended.
    let gw = start("down", &snapshot(1, &pets_api(&[dead], "single", 2000)));
    let (status, _, body) = call(&gw.traffic, "GET", "/pets/1.0.0/pets", &[], "");
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("Pets:1.0.0"), "{body}");
    let (status, _, body) = call(&gw.traffic, "GET", "/pets/1.0.0/pets", &[], "");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("suspended"), "{body}");
    let (_, _, metrics) = call(&gw.admin, "GET", "/metrics", &[], "");
    assert!(metrics.contains(r#"kind="connect"} 1"#), "{metrics}");
    assert!(metrics.contains(r#"kind="suspended"} 1"#), "{metrics}");
    assert!(
        metrics.contains(r#"method="GET",status="5xx"} 2"#),
        "{metrics}"
    );
    drop(gw);

    // A slow backend: 504 after the endpoint's timeout.
    let gw = start("slow", &snapshot(1, &pets_api(&[a], "single", 300)));
    let started = Instant::now();
    let (status, _, body) = call(&gw.traffic, "GET", "/pets/1.0.0/slow", &[], "");
    assert_eq!(status, 504, "{body}");
    assert!(body.contains("300 ms"), "{body}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applies_file_changes_live_and_refuses_bad_ones() {
    let a = backend("a").await;
    let b = backend("b").await;
    let gw = start("reload", &snapshot(1, &pets_api(&[a], "single", 2000)));
    assert_eq!(echo(&gw.traffic, "/pets/1.0.0/pets")["backend"], "a");

    let wait_for = |what: &str, f: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(1);
        while !f() {
            assert!(
                Instant::now() < deadline,
                "{what} did not happen within a second"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };

    // A new revision pointing elsewhere.
    std::fs::write(&gw.file, snapshot(2, &pets_api(&[b], "single", 2000))).unwrap();
    wait_for("switch to backend b", &|| {
        let (s, _, body) = call(&gw.traffic, "GET", "/pets/1.0.0/pets", &[], "");
        s == 200 && body.contains(r#""backend":"b""#)
    });

    // An invalid file is refused; version 2 keeps serving.
    std::fs::write(&gw.file, "version: 3\napis:\n  - {id: x, name: X, context: bad, version: '1', endpoints: {production: {urls: []}}, operations: []}\n").unwrap();
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(echo(&gw.traffic, "/pets/1.0.0/pets")["backend"], "b");
    let (_, _, ready) = call(&gw.admin, "GET", "/ready", &[], "");
    assert!(ready.contains(r#""snapshotVersion":2"#), "{ready}");

    // Undeploy: 404 within a second.
    std::fs::write(
        &gw.file,
        snapshot(4, "  []\n").replace("apis:\n  []", "apis: []"),
    )
    .unwrap();
    wait_for("undeploy", &|| {
        call(&gw.traffic, "GET", "/pets/1.0.0/pets", &[], "").0 == 404
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_upgrades_pass_through() {
    let a = backend("a").await;
    let gw = start("upgrade", &snapshot(1, &pets_api(&[a], "single", 2000)));
    let mut s = TcpStream::connect(&gw.traffic).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(
        b"GET /pets/1.0.0/pets HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n",
    )
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(head.contains("upgrade: echo"), "{head}");
    for msg in [&b"hello through the gateway"[..], b"and again"] {
        s.write_all(msg).unwrap();
        let mut back = vec![0u8; msg.len()];
        s.read_exact(&mut back).unwrap();
        assert_eq!(back, msg);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_backends_are_verified_against_the_configured_ca() {
    let (addr, ca_pem) = tls_backend("tls").await;
    let snap = snapshot(1, &pets_api(&[addr], "single", 2000)).replace("http://", "https://");
    let ca = std::env::temp_dir().join(format!("gh-ca-{}.pem", std::process::id()));
    std::fs::write(&ca, &ca_pem).unwrap();

    // Trusted: the call goes through over TLS.
    let file = std::env::temp_dir().join(format!("gh-snap-{}-tls.yaml", std::process::id()));
    std::fs::write(&file, &snap).unwrap();
    let mut child = gateway()
        .env("GATEHOUSE_GATEWAY__LISTEN", "127.0.0.1:0")
        .env("GATEHOUSE_GATEWAY__ADMIN_LISTEN", "127.0.0.1:0")
        .env("GATEHOUSE_GATEWAY__BACKEND_CA_FILE", &ca)
        .args(["--config", file.to_str().unwrap()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (traffic, _) = started(&mut child);
    let e = echo(&traffic, "/pets/1.0.0/pets");
    assert_eq!(e["backend"], "tls");
    assert_eq!(e["uri"], "/v1/pets");
    let _ = child.kill();
    let _ = child.wait();

    // Not trusted: a 502, not a silent plain-text fallback.
    let untrusted = start("tls-untrusted", &snap);
    let (status, _, body) = call(&untrusted.traffic, "GET", "/pets/1.0.0/pets", &[], "");
    assert_eq!(status, 502, "{body}");

    // A CA file that is not PEM stops start-up, naming the setting.
    std::fs::write(&ca, "not a certificate").unwrap();
    let out = gateway()
        .env("GATEHOUSE_GATEWAY__BACKEND_CA_FILE", &ca)
        .env("GATEHOUSE_GATEWAY__LISTEN", "127.0.0.1:0")
        .env("GATEHOUSE_GATEWAY__ADMIN_LISTEN", "127.0.0.1:0")
        .args(["--config", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("gateway.backend_ca_file"));
    let _ = std::fs::remove_file(&ca);
    let _ = std::fs::remove_file(&file);
}

/// Mediation policies through the real gateway and a real backend: the backend sees exactly
/// the transformed request, the client the transformed response; API-level policies run
/// before the operation's, in the order given, and a new order takes effect on redeploy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mediation_policies_transform_requests_in_order() {
    let a = backend("a").await;
    let api = |first: &str, second: &str| {
        format!(
            "  - id: shop
    name: Shop
    context: /shop
    version: 1.0.0
    endpoints:
      production: {{urls: [\"http://{a}/v1\"]}}
    policies:
      request:
        - {{policyName: addHeader, parameters: {{headerName: X-A, headerValue: \"{first}\"}}}}
        - {{policyName: addHeader, parameters: {{headerName: X-A, headerValue: \"{second}\"}}}}
      response:
        - {{policyName: setHeader, parameters: {{headerName: X-Served-By, headerValue: gatehouse}}}}
    operations:
      - method: GET
        target: \"/items/{{id}}\"
        policies:
          request:
            - {{policyName: setHeader, parameters: {{headerName: X-A, headerValue: \"3\"}}}}
            - {{policyName: rewritePath, parameters: {{path: \"/v2/things/{{id}}\"}}}}
            - {{policyName: addQueryParam, parameters: {{paramName: src, paramValue: gw}}}}
            - {{policyName: removeQueryParam, parameters: {{paramName: secret}}}}
            - {{policyName: removeHeader, parameters: {{headerName: X-Drop}}}}
      - method: POST
        target: /items
        policies:
          request:
            - {{policyName: rewriteMethod, parameters: {{updatedMethod: PUT}}}}
            - {{policyName: requestSizeLimit, parameters: {{maxBytes: 10}}}}
      - method: GET
        target: /mock
        policies:
          request:
            - {{policyName: mockResponse, parameters: {{status: 418, body: '{{\"mock\":true}}'}}}}
      - method: GET
        target: /local
        policies:
          request:
            - {{policyName: ipDeny, parameters: {{ips: 127.0.0.0/8}}}}
      - method: GET
        target: /private
        policies:
          request:
            - {{policyName: ipAllow, parameters: {{ips: \"10.0.0.0/8, 192.168.0.0/16\"}}}}
      - method: GET
        target: /plain
"
        )
    };
    let gw = start("mediation", &snapshot(1, &api("1", "2")));
    let echo_of = |path: &str, headers: &[(&str, &str)]| {
        let (status, head, body) = call(&gw.traffic, "GET", path, headers, "");
        assert_eq!(status, 200, "{path}: {body}");
        (
            head,
            serde_json::from_str::<serde_json::Value>(&body).unwrap(),
        )
    };

    // The operation's policies after the API's: set replaces both adds; path, query, headers.
    let (head, seen) = echo_of("/shop/1.0.0/items/42?secret=s&q=1", &[("X-Drop", "1")]);
    assert_eq!(seen["headers"]["x-a"], "3", "{seen}");
    assert_eq!(seen["uri"], "/v1/v2/things/42?q=1&src=gw", "{seen}");
    assert!(seen["headers"].get("x-drop").is_none(), "{seen}");
    assert!(
        head.to_ascii_lowercase().contains("x-served-by: gatehouse"),
        "{head}"
    );
    // Only the API's: both adds, in their order.
    let (_, seen) = echo_of("/shop/1.0.0/plain", &[]);
    assert_eq!(seen["headers"]["x-a"], "1, 2", "{seen}");
    assert_eq!(seen["uri"], "/v1/plain");

    // Method rewrite, and the body size limit.
    let (status, _, body) = call(&gw.traffic, "POST", "/shop/1.0.0/items", &[], "hello");
    assert_eq!(status, 200, "{body}");
    let seen: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (seen["method"].as_str(), seen["body"].as_str()),
        (Some("PUT"), Some("hello"))
    );
    let (status, _, body) = call(&gw.traffic, "POST", "/shop/1.0.0/items", &[], "hello world");
    assert_eq!(status, 413, "{body}");
    assert!(
        body.contains("900930") && body.contains("at most 10"),
        "{body}"
    );

    // A mock answers without the backend (and the response flow still applies).
    let (status, head, body) = call(&gw.traffic, "GET", "/shop/1.0.0/mock", &[], "");
    assert_eq!((status, body.as_str()), (418, r#"{"mock":true}"#));
    let head = head.to_ascii_lowercase();
    assert!(
        head.contains("content-type: application/json") && head.contains("x-served-by: gatehouse"),
        "{head}"
    );

    // IP access: this test calls from 127.0.0.1.
    for path in ["/shop/1.0.0/local", "/shop/1.0.0/private"] {
        let (status, _, body) = call(&gw.traffic, "GET", path, &[], "");
        assert_eq!(status, 403, "{path}: {body}");
        assert!(body.contains("127.0.0.1"), "{body}");
    }

    // Reordered and redeployed: the backend sees the new order.
    std::fs::write(&gw.file, snapshot(2, &api("2", "1"))).unwrap();
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let (_, seen) = echo_of("/shop/1.0.0/plain", &[]);
        if seen["headers"]["x-a"] == "2, 1" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the new order did not apply: {seen}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // An unknown policy or a bad parameter is refused with the place named; version 2 stays.
    std::fs::write(
        &gw.file,
        snapshot(3, &api("1", "2")).replace("headerName: X-Drop", "headerName: \"X Drop\""),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(600));
    let (_, _, ready) = call(&gw.admin, "GET", "/ready", &[], "");
    assert!(ready.contains(r#""snapshotVersion":2"#), "{ready}");
}

/// Every built-in policy beyond the header and path ones, through the real gateway and a real
/// backend: the environment's gateway policies before the API's, logging with credentials
/// masked, JSON schema validation (given, and taken from the definition), regex threat
/// protection, a mock built from the definition's example, CORS (preflight, allowed and refused
/// origins), and the fault flow (a custom JSON fault and a header).
#[tokio::test(flavor = "multi_thread")]
async fn every_builtin_policy_runs_through_the_gateway() {
    let a = backend("a").await;
    let snap = format!(
        r##"version: 1
gatewayPolicies:
  - id: g1
    name: Everywhere
    policies:
      request:
        - {{policyName: addHeader, parameters: {{headerName: X-Order, headerValue: global}}}}
apis:
  - id: lab
    name: Lab
    context: /lab
    version: 1.0.0
    endpoints:
      production: {{urls: ["http://{a}"]}}
    policies:
      request:
        - {{policyName: addHeader, parameters: {{headerName: X-Order, headerValue: api}}}}
        - {{policyName: logMessage, parameters: {{message: lab call, logHeaders: true}}}}
    operations:
      - method: POST
        target: /pets
        policies:
          request:
            - {{policyName: regexThreatProtection}}
            - policyName: jsonSchemaValidation
              parameters:
                schema: {{type: object, required: [name], additionalProperties: false, properties: {{name: {{type: string, minLength: 1}}, age: {{type: integer, minimum: 0}}}}}}
      - method: PUT
        target: /pets/{{id}}
        requestSchema: {{$ref: "#/components/schemas/Pet", components: {{schemas: {{Pet: {{type: object, required: [name], properties: {{name: {{type: string}}}}}}}}}}}}
        policies:
          request:
            - {{policyName: jsonSchemaValidation}}
      - method: GET
        target: /search
        policies:
          request:
            - {{policyName: regexThreatProtection}}
      - method: GET
        target: /mocked
        example: {{status: 200, contentType: application/json, body: '{{"name":"Rex"}}'}}
        policies:
          request:
            - {{policyName: mockResponse}}
      - method: GET
        target: /cors
        policies:
          request:
            - {{policyName: cors, parameters: {{allowOrigins: "https://app.example.com", allowCredentials: true, exposeHeaders: X-Trace, maxAge: 600}}}}
      - method: GET
        target: /denied
        policies:
          request:
            - {{policyName: ipDeny, parameters: {{ips: 127.0.0.0/8}}}}
          fault:
            - {{policyName: setHeader, parameters: {{headerName: X-Fault, headerValue: "yes"}}}}
            - {{policyName: jsonFault, parameters: {{status: 503, body: '{{"error":"{{code}}","why":"{{description}}","was":{{status}}}}'}}}}
"##
    );
    let file = std::env::temp_dir().join(format!("gh-snap-{}-every.yaml", std::process::id()));
    std::fs::write(&file, &snap).unwrap();
    let mut child = standalone(&file);
    let (traffic, admin, log) = common::started_with_log(&mut child);
    let gw = Gw {
        child,
        traffic,
        admin,
        file,
    };
    let json = [("Content-Type", "application/json")];
    let post = |path: &str, body: &str| call(&gw.traffic, "POST", path, &json, body);

    // Gateway policies first, then the API's; the log line masks the credential.
    let (status, _, body) = call(
        &gw.traffic,
        "GET",
        "/lab/1.0.0/search?q=shoes",
        &[
            ("Authorization", "Bearer secret-token-123"),
            ("X-Visible", "v"),
        ],
        "",
    );
    assert_eq!(status, 200, "{body}");
    let seen: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(seen["headers"]["x-order"], "global, api", "{seen}");
    let line = (0..50)
        .filter_map(|_| log.recv_timeout(Duration::from_secs(2)).ok())
        .find(|l| l.contains("lab call"))
        .expect("the policy's log line");
    assert!(!line.contains("secret-token-123"), "{line}");
    let entry: serde_json::Value = serde_json::from_str(&line).unwrap();
    let headers = entry["fields"]["headers"].as_str().unwrap_or_default();
    assert!(
        headers.contains("authorization: ***") && headers.contains("x-visible: v"),
        "{line}"
    );
    assert_eq!(entry["fields"]["api"], "Lab:1.0.0", "{line}");

    // JSON schema given with the policy: the backend gets a good body untouched.
    let (status, _, body) = post("/lab/1.0.0/pets", r#"{"name":"Rex","age":3}"#);
    assert_eq!(status, 200, "{body}");
    let seen: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(seen["body"], r#"{"name":"Rex","age":3}"#);
    for (bad, why) in [
        (r#"{"age":-1}"#, "$: `name` is required"),
        (r#"{"name":"Rex","age":-1}"#, "$.age: must be at least 0"),
        (
            r#"{"name":"Rex","colour":"red"}"#,
            "$: `colour` is not an allowed property",
        ),
        (r#"{"name":"#, "not valid JSON"),
    ] {
        let (status, _, body) = post("/lab/1.0.0/pets", bad);
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body.contains(why), "{bad}: {body}");
    }
    let (status, _, body) = call(&gw.traffic, "POST", "/lab/1.0.0/pets", &[], "name=Rex");
    assert_eq!(status, 400);
    assert!(body.contains("must be JSON"), "{body}");
    let (status, _, body) = post("/lab/1.0.0/pets", "");
    assert_eq!(status, 400);
    assert!(body.contains("has no body"), "{body}");
    // The schema taken from the API definition (the snapshot carries it).
    let (status, _, body) = call(
        &gw.traffic,
        "PUT",
        "/lab/1.0.0/pets/7",
        &json,
        r#"{"nickname":1}"#,
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("`name` is required"), "{body}");
    let (status, _, _) = call(
        &gw.traffic,
        "PUT",
        "/lab/1.0.0/pets/7",
        &json,
        r#"{"name":"Rex"}"#,
    );
    assert_eq!(status, 200);

    // Threat protection: query, header and body; the matched text is not echoed.
    let (status, _, body) = call(
        &gw.traffic,
        "GET",
        "/lab/1.0.0/search?q=1%27%20OR%20%271%27%3D%271",
        &[],
        "",
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("query"), "{body}");
    let (status, _, body) = call(
        &gw.traffic,
        "GET",
        "/lab/1.0.0/search",
        &[("X-Comment", "<script>alert(1)</script>")],
        "",
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("header x-comment") && !body.contains("alert"),
        "{body}"
    );
    let (status, _, body) = post("/lab/1.0.0/pets", r#"{"name":"x'; DROP TABLE pets; --"}"#);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("body"), "{body}");

    // A mock built from the definition's example.
    let (status, head, body) = call(&gw.traffic, "GET", "/lab/1.0.0/mocked", &[], "");
    assert_eq!((status, body.as_str()), (200, r#"{"name":"Rex"}"#));
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json")
    );

    // CORS: the preflight is answered by the gateway, for allowed origins only.
    let preflight = |origin: &str| {
        call(
            &gw.traffic,
            "OPTIONS",
            "/lab/1.0.0/cors",
            &[("Origin", origin), ("Access-Control-Request-Method", "GET")],
            "",
        )
    };
    let (status, head, _) = preflight("https://app.example.com");
    let head = head.to_ascii_lowercase();
    assert_eq!(status, 204, "{head}");
    for h in [
        "access-control-allow-origin: https://app.example.com",
        "access-control-allow-credentials: true",
        "access-control-max-age: 600",
        "access-control-allow-headers: authorization, content-type, apikey",
        "vary: origin",
    ] {
        assert!(head.contains(h), "{h} in {head}");
    }
    assert!(
        head.contains("access-control-allow-methods:") && head.contains("get"),
        "{head}"
    );
    let (status, head, _) = preflight("https://evil.example");
    assert_eq!(status, 403);
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("access-control-allow-origin"),
        "{head}"
    );
    let (status, head, _) = call(
        &gw.traffic,
        "GET",
        "/lab/1.0.0/cors",
        &[("Origin", "https://app.example.com")],
        "",
    );
    let head = head.to_ascii_lowercase();
    assert_eq!(status, 200);
    assert!(
        head.contains("access-control-allow-origin: https://app.example.com")
            && head.contains("access-control-expose-headers: x-trace"),
        "{head}"
    );
    // An operation without CORS keeps its 405 for a preflight.
    let (status, _, _) = call(
        &gw.traffic,
        "OPTIONS",
        "/lab/1.0.0/search",
        &[
            ("Origin", "https://app.example.com"),
            ("Access-Control-Request-Method", "GET"),
        ],
        "",
    );
    assert_eq!(status, 405);

    // The fault flow: the policy's refusal comes back as the operation's own JSON fault.
    let (status, head, body) = call(&gw.traffic, "GET", "/lab/1.0.0/denied", &[], "");
    assert_eq!(status, 503, "{body}");
    assert!(head.to_ascii_lowercase().contains("x-fault: yes"), "{head}");
    let fault: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        fault,
        serde_json::json!({"error": "900930", "why": "Requests from 127.0.0.1 are denied", "was": 403})
    );
}
