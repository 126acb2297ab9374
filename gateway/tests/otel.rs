//! OpenTelemetry from the gateway binary, as an operator sets it up (the standard `OTEL_…`
//! variables), to real OTLP receivers on 127.0.0.1: one over HTTP/protobuf, one over gRPC
//! (HTTP/2 without TLS). What they receive is read with the official decoder
//! (`opentelemetry-proto`, Python; `GATEHOUSE_TEST_PYTHON`, which `make test` sets up), so
//! the spans are checked against OTLP's own schema, not against our encoder.

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use common::{call, closed_port, gateway, started};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Frame};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;

type Received = Arc<Mutex<Vec<Vec<u8>>>>;

/// A backend answering 200 with the `traceparent` it got.
async fn backend() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let svc =
                    hyper::service::service_fn(|req: Request<hyper::body::Incoming>| async move {
                        let tp = req
                            .headers()
                            .get("traceparent")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_string();
                        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(tp))))
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
}

/// The receiver's answer: for gRPC an empty message, then `grpc-status: 0` in the trailers
/// (starts at 0); for HTTP an empty body (starts at 2).
struct Answer(u8);

impl hyper::body::Body for Answer {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0 += 1;
        Poll::Ready(match self.0 {
            1 => Some(Ok(Frame::data(Bytes::from_static(&[0, 0, 0, 0, 0])))),
            2 => {
                let mut t = hyper::HeaderMap::new();
                t.insert("grpc-status", hyper::header::HeaderValue::from_static("0"));
                Some(Ok(Frame::trailers(t)))
            }
            _ => None,
        })
    }
}

/// An OTLP receiver keeping each export's body: over HTTP/1.1 (`/v1/traces`, answered with an
/// empty `ExportTraceServiceResponse`), or over gRPC on HTTP/2 without TLS (a collector's
/// usual sidecar set-up; answered with an empty message and `grpc-status: 0`).
async fn receiver(grpc: bool) -> (SocketAddr, Received) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let got: Received = Arc::default();
    let keep = got.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let keep = keep.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                    let keep = keep.clone();
                    async move {
                        let (path, kind) = if grpc {
                            (
                                "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
                                "application/grpc",
                            )
                        } else {
                            ("/v1/traces", "application/x-protobuf")
                        };
                        assert_eq!(req.uri().path(), path);
                        assert_eq!(req.headers()["content-type"], kind);
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        keep.lock().unwrap().push(body.to_vec());
                        let mut resp = Response::new(Answer(if grpc { 0 } else { 2 }));
                        resp.headers_mut().insert(
                            "content-type",
                            hyper::header::HeaderValue::from_static(kind),
                        );
                        Ok::<_, Infallible>(resp)
                    }
                });
                let io = TokioIo::new(stream);
                if grpc {
                    let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                        .serve_connection(io, svc)
                        .await;
                } else {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, svc)
                        .await;
                }
            });
        }
    });
    (addr, got)
}

/// Every span received so far, decoded by `opentelemetry-proto`: (resource attributes, span).
fn decode(got: &Received, grpc: bool) -> Vec<(Value, Value)> {
    let python = std::env::var("GATEHOUSE_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut out = Vec::new();
    for body in got.lock().unwrap().iter() {
        let file = tempfile(body);
        let run = std::process::Command::new(&python)
            .args([
                DECODE,
                file.to_str().unwrap(),
                if grpc { "grpc" } else { "http" },
            ])
            .output()
            .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
        assert!(
            run.status.success(),
            "the OTLP decoder failed (install it: scripts/test.sh sets GATEHOUSE_TEST_PYTHON \
             to a virtualenv with opentelemetry-proto): {}",
            String::from_utf8_lossy(&run.stderr)
        );
        let _ = std::fs::remove_file(&file);
        let request: Value = serde_json::from_slice(&run.stdout).unwrap();
        for rs in request["resourceSpans"].as_array().unwrap() {
            let resource = attributes(&rs["resource"]);
            for ss in rs["scopeSpans"].as_array().unwrap() {
                assert_eq!(ss["scope"]["name"], "gatehouse-gateway");
                for s in ss["spans"].as_array().unwrap() {
                    out.push((resource.clone(), s.clone()));
                }
            }
        }
    }
    out
}

/// The decoder script (shared with the server's tracing test).
const DECODE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/otlp_decode.py");

fn tempfile(body: &[u8]) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!(
        "gatehouse-otlp-{}-{}.bin",
        std::process::id(),
        gateway::otel::random_u64()
    ));
    std::fs::write(&p, body).unwrap();
    p
}

/// `[{key, value: {stringValue|intValue|boolValue}}]` as one JSON object.
fn attributes(holder: &Value) -> Value {
    let mut o = serde_json::Map::new();
    for kv in holder["attributes"].as_array().into_iter().flatten() {
        let v = &kv["value"];
        let value = v
            .get("stringValue")
            .cloned()
            .or_else(|| {
                v.get("intValue")
                    .and_then(|i| i.as_str())
                    .and_then(|i| i.parse::<i64>().ok())
                    .map(Value::from)
            })
            .or_else(|| v.get("boolValue").cloned())
            .unwrap_or(Value::Null);
        o.insert(kv["key"].as_str().unwrap().to_string(), value);
    }
    Value::Object(o)
}

fn snapshot(backend: SocketAddr, down: SocketAddr) -> std::path::PathBuf {
    let yaml = format!(
        "version: 1
apis:
  - id: menu-1
    name: Menu
    context: /menu
    version: 1.0.0
    endpoints:
      production: {{type: single, urls: [\"http://{backend}\"], timeoutMs: 2000, suspendSeconds: 1}}
    operations:
      - {{method: GET, target: /items}}
  - id: broken-1
    name: Broken
    context: /broken
    version: 1.0.0
    endpoints:
      production: {{type: single, urls: [\"http://{down}\"], timeoutMs: 2000, suspendSeconds: 1}}
    operations:
      - {{method: GET, target: /items}}
"
    );
    let p = std::env::temp_dir().join(format!(
        "gatehouse-otel-{}-{}.yaml",
        std::process::id(),
        gateway::otel::random_u64()
    ));
    std::fs::write(&p, yaml).unwrap();
    p
}

fn start(file: &std::path::Path, otel: &[(&str, String)]) -> (std::process::Child, String, String) {
    let mut cmd = gateway();
    cmd.env("GATEHOUSE_GATEWAY__LISTEN", "127.0.0.1:0")
        .env("GATEHOUSE_GATEWAY__ADMIN_LISTEN", "127.0.0.1:0")
        .env("GATEHOUSE_GATEWAY__WORKERS", "1")
        .args(["--config", file.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit());
    for (k, _) in std::env::vars() {
        if k.starts_with("OTEL_") {
            cmd.env_remove(k);
        }
    }
    for (k, v) in otel {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let (traffic, admin) = started(&mut child);
    (child, traffic, admin)
}

/// Waits until `n` spans arrived (the exporter sends at least every second).
async fn spans(got: &Received, grpc: bool, n: usize) -> Vec<(Value, Value)> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let all = decode(got, grpc);
        if all.len() >= n {
            return all;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {n} spans arrived: {all:#?}",
            all.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn named<'a>(all: &'a [(Value, Value)], trace: &str, name: &str) -> &'a Value {
    &all.iter()
        .find(|(_, s)| s["traceId"] == trace && s["name"] == name)
        .unwrap_or_else(|| panic!("no span {name} in trace {trace}: {all:#?}"))
        .1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_go_to_an_otlp_http_collector_with_the_resource_attributes() {
    let (collector, got) = receiver(false).await;
    let file = snapshot(backend().await, closed_port());
    let (mut child, traffic, admin) = start(
        &file,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{collector}")),
            ("OTEL_SERVICE_NAME", "edge-gateway".into()),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "deployment.environment=prod,service.namespace=payments".into(),
            ),
        ],
    );
    // The caller's trace continues: the gateway's server span is a child of its span, the
    // backend's parent is the gateway's backend span.
    let caller_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let traceparent = format!("00-{caller_trace}-{caller_span}-01");
    let (status, _, sent) = call(
        &traffic,
        "GET",
        "/menu/1.0.0/items",
        &[("traceparent", traceparent.as_str())],
        "",
    );
    assert_eq!(status, 200);
    let backend_parent = gateway::otel::TraceContext::parse(sent.trim()).unwrap();
    assert_eq!(hex(&backend_parent.trace_id), caller_trace);
    assert!(backend_parent.sampled);
    // A backend that is down: the backend span fails, naming why.
    let (status, _, _) = call(&traffic, "GET", "/broken/1.0.0/items", &[], "");
    assert!(status >= 500, "{status}");

    let all = spans(&got, false, 4).await;
    let (resource, _) = &all[0];
    assert_eq!(resource["service.name"], "edge-gateway");
    assert_eq!(resource["deployment.environment"], "prod");
    assert_eq!(resource["service.namespace"], "payments");

    let server = named(&all, caller_trace, "GET /menu/1.0.0/items");
    assert_eq!(server["kind"], "SPAN_KIND_SERVER");
    assert_eq!(server["parentSpanId"], caller_span);
    let a = attributes(server);
    assert_eq!(a["gatehouse.api.name"], "Menu");
    assert_eq!(a["gatehouse.api.id"], "menu-1");
    assert_eq!(a["gatehouse.operation"], "GET /items");
    assert_eq!(a["http.request.method"], "GET");
    assert_eq!(a["http.route"], "/menu/1.0.0/items");
    assert_eq!(a["http.response.status_code"], 200);
    let backend_span = named(&all, caller_trace, "backend");
    assert_eq!(backend_span["kind"], "SPAN_KIND_CLIENT");
    assert_eq!(backend_span["parentSpanId"], server["spanId"]);
    assert_eq!(backend_span["spanId"], hex(&backend_parent.span_id));
    let start = |s: &Value| {
        s["startTimeUnixNano"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    let end = |s: &Value| {
        s["endTimeUnixNano"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    assert!(start(server) <= start(backend_span) && end(backend_span) <= end(server));

    let broken = all
        .iter()
        .map(|(_, s)| s)
        .find(|s| s["name"] == "GET /broken/1.0.0/items")
        .expect("the failed request's span");
    assert_eq!(broken["status"]["code"], "STATUS_CODE_ERROR", "{broken}");
    assert!(
        broken.get("parentSpanId").is_none(),
        "a new trace: {broken}"
    );
    let trace = broken["traceId"].as_str().unwrap();
    let failed_call = named(&all, trace, "backend");
    assert_eq!(failed_call["status"]["code"], "STATUS_CODE_ERROR");
    assert!(
        failed_call["status"]["message"]
            .as_str()
            .unwrap()
            .contains("Broken:1.0.0"),
        "{failed_call}"
    );

    // What the exporter did shows on /metrics.
    let (_, _, metrics) = call(&admin, "GET", "/metrics", &[], "");
    assert!(
        metrics.contains("gatehouse_otel_spans_total{outcome=\"dropped\"} 0"),
        "{metrics}"
    );
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_file(file);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_go_to_an_otlp_grpc_collector_and_sampling_is_followed() {
    let (collector, got) = receiver(true).await;
    let file = snapshot(backend().await, closed_port());
    let (mut child, traffic, _) = start(
        &file,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{collector}")),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc".into()),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "deployment.environment=staging".into(),
            ),
            // New traces: none recorded; a caller's sampled trace: followed.
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio".into()),
            ("OTEL_TRACES_SAMPLER_ARG", "0".into()),
        ],
    );
    let (status, _, sent) = call(&traffic, "GET", "/menu/1.0.0/items", &[], "");
    assert_eq!(status, 200);
    let unsampled = gateway::otel::TraceContext::parse(sent.trim()).unwrap();
    assert!(
        !unsampled.sampled,
        "the backend learns the trace is not sampled"
    );

    let sampled = "0af7651916cd43dd8448eb211c80319c";
    let (status, _, _) = call(
        &traffic,
        "GET",
        "/menu/1.0.0/items",
        &[("traceparent", &format!("00-{sampled}-b7ad6b7169203331-01"))],
        "",
    );
    assert_eq!(status, 200);
    let all = spans(&got, true, 2).await;
    assert!(all.iter().all(|(_, s)| s["traceId"] == sampled), "{all:#?}");
    assert_eq!(all[0].0["service.name"], "gatehouse-gateway");
    assert_eq!(all[0].0["deployment.environment"], "staging");
    let server = named(&all, sampled, "GET /menu/1.0.0/items");
    assert_eq!(server["parentSpanId"], "b7ad6b7169203331");
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_file(file);
}

#[test]
fn bad_tracing_settings_stop_start_up_naming_the_variable() {
    let out = gateway()
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("OTEL_EXPORTER_OTLP_PROTOCOL"), "{err}");
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
