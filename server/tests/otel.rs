//! OpenTelemetry from the server: with `[otel] endpoint` set, every routed request gets a server
//! span named by its route, continuing the caller's `traceparent`, sent over OTLP/HTTP to a
//! real receiver on 127.0.0.1 and read back with the official decoder (`opentelemetry-proto`,
//! `scripts/otlp_decode.py`; `GATEHOUSE_TEST_PYTHON`, which `make test` sets up).

mod common;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use serde_json::Value;
use sqlx::PgPool;

type Received = Arc<Mutex<Vec<Vec<u8>>>>;

/// An OTLP/HTTP receiver keeping each export's body.
async fn receiver() -> (std::net::SocketAddr, Received) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let got: Received = Arc::default();
    let keep = got.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: axum::body::Bytes| {
            let keep = keep.clone();
            async move {
                keep.lock().unwrap().push(body.to_vec());
                Ok::<_, Infallible>(StatusCode::OK)
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, got)
}

/// The spans received so far: (resource attributes, span), decoded by opentelemetry-proto.
fn decoded(got: &Received) -> Vec<(Value, Value)> {
    let python = std::env::var("GATEHOUSE_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/otlp_decode.py");
    let mut out = Vec::new();
    for (i, body) in got.lock().unwrap().iter().enumerate() {
        let file =
            std::env::temp_dir().join(format!("gatehouse-otlp-server-{}-{i}", std::process::id()));
        std::fs::write(&file, body).unwrap();
        let run = std::process::Command::new(&python)
            .args([script, file.to_str().unwrap(), "http"])
            .output()
            .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
        let _ = std::fs::remove_file(&file);
        assert!(
            run.status.success(),
            "the OTLP decoder failed (scripts/test.sh sets GATEHOUSE_TEST_PYTHON to a virtualenv \
             with opentelemetry-proto): {}",
            String::from_utf8_lossy(&run.stderr)
        );
        let request: Value = serde_json::from_slice(&run.stdout).unwrap();
        for rs in request["resourceSpans"].as_array().unwrap() {
            let mut resource = serde_json::Map::new();
            for kv in rs["resource"]["attributes"].as_array().unwrap() {
                resource.insert(
                    kv["key"].as_str().unwrap().into(),
                    kv["value"]["stringValue"].clone(),
                );
            }
            for ss in rs["scopeSpans"].as_array().unwrap() {
                assert_eq!(ss["scope"]["name"], "gatehouse-server");
                for s in ss["spans"].as_array().unwrap() {
                    out.push((Value::Object(resource.clone()), s.clone()));
                }
            }
        }
    }
    out
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn requests_are_traced_to_an_otlp_collector(db: PgPool) {
    let (collector, got) = receiver().await;
    let mut s = settings();
    s.otel.endpoint = Some(format!("http://{collector}"));
    s.otel.resource_attributes = "deployment.environment=test,service.namespace=portals".into();
    let app = spawn_with(db, s).await;
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let req = Request::builder()
        .uri("/api/am/devportal/v3/apis/not-an-id")
        .header("traceparent", format!("00-{trace}-00f067aa0ba902b7-01"))
        .body(Body::empty())
        .unwrap();
    let r = app.send(req).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let deadline = Instant::now() + Duration::from_secs(15);
    let (resource, span) = loop {
        let all = decoded(&got);
        if let Some(found) = all.into_iter().find(|(_, s)| s["traceId"] == trace) {
            break found;
        }
        assert!(Instant::now() < deadline, "no span arrived");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(resource["service.name"], "gatehouse-server");
    assert_eq!(resource["deployment.environment"], "test");
    assert_eq!(resource["service.namespace"], "portals");
    assert_eq!(span["name"], "GET /api/am/devportal/v3/apis/{api_id}");
    assert_eq!(span["kind"], "SPAN_KIND_SERVER");
    assert_eq!(span["parentSpanId"], "00f067aa0ba902b7");
    let attrs: Vec<(String, Value)> = span["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|kv| (kv["key"].as_str().unwrap().to_string(), kv["value"].clone()))
        .collect();
    assert!(attrs.contains(&(
        "http.response.status_code".into(),
        serde_json::json!({"intValue": "404"})
    )));
    assert!(attrs.contains(&(
        "url.path".into(),
        serde_json::json!({"stringValue": "/api/am/devportal/v3/apis/not-an-id"})
    )));
}
