//! Advanced policies through the real gateway binary and a real backend on 127.0.0.1: a
//! header-conditioned group with its own (lower) limit beside the default, both refused with
//! 429, Retry-After and the rate-limit headers; a resource-level policy after the API's; a
//! bandwidth limit counting request and response bodies; counters kept across a reload.

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Child;
use std::time::Duration;

use common::{call, standalone, started};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};

/// A backend answering every request with its body (so a response is as long as the request).
async fn backend() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(|req: Request<hyper::body::Incoming>| async {
                    let body = req.into_body().collect().await.unwrap().to_bytes();
                    let body = if body.is_empty() {
                        Bytes::from_static(b"ok")
                    } else {
                        body
                    };
                    Ok::<_, Infallible>(Response::new(Full::new(body)))
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
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

fn start(snapshot: &str) -> Gw {
    let file = std::env::temp_dir().join(format!("gh-advanced-{}.yaml", std::process::id()));
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

fn snapshot(version: u64, backend: SocketAddr) -> String {
    format!(
        "version: {version}
apis:
  - id: shop
    name: Shop
    context: /shop
    version: 1.0.0
    organization: acme
    endpoints:
      production: {{urls: [\"http://{backend}\"]}}
    throttlingPolicy: Partners
    operations:
      - {{method: GET, target: /items}}
  - id: files
    name: Files
    context: /files
    version: 1.0.0
    organization: acme
    endpoints:
      production: {{urls: [\"http://{backend}\"]}}
    operations:
      - {{method: GET, target: /one, throttlingPolicy: One}}
      - {{method: POST, target: /upload, throttlingPolicy: Kilobyte}}
      - {{method: GET, target: /free}}
advancedPolicies:
  - organization: acme
    name: Partners
    defaultLimit: {{requests: 3, periodSeconds: 60}}
    conditionalGroups:
      - conditions: [{{type: header, name: X-Partner, pattern: \"^gold$\"}}]
        limit: {{requests: 2, periodSeconds: 60}}
  - {{organization: acme, name: One, defaultLimit: {{requests: 1, periodSeconds: 60}}}}
  - {{organization: acme, name: Kilobyte, defaultLimit: {{bytes: 1024, periodSeconds: 60}}}}
"
    )
}

/// A response header's value (the head is as received).
fn header<'h>(head: &'h str, name: &str) -> Option<&'h str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_groups_and_default_limits_are_enforced_separately() {
    let b = backend().await;
    let gw = start(&snapshot(1, b));
    let gold = [("X-Partner", "gold")];
    let get = |path: &str, headers: &[(&str, &str)]| call(&gw.traffic, "GET", path, headers, "");

    // Gold partners match the group: 2 a minute, counted on their own.
    for remaining in ["1", "0"] {
        let (status, head, body) = get("/shop/1.0.0/items", &gold);
        assert_eq!(status, 200, "{body}");
        assert_eq!(header(&head, "x-ratelimit-limit"), Some("2"), "{head}");
        assert_eq!(header(&head, "x-ratelimit-remaining"), Some(remaining));
    }
    let (status, head, body) = get("/shop/1.0.0/items", &gold);
    assert_eq!(status, 429, "{body}");
    let retry: u64 = header(&head, "retry-after").unwrap().parse().unwrap();
    assert!((1..=30).contains(&retry), "{head}");
    assert_eq!(header(&head, "x-ratelimit-limit"), Some("2"));
    assert_eq!(header(&head, "x-ratelimit-remaining"), Some("0"));
    assert!(
        body.contains("900800") && body.contains("Partners") && body.contains("2 requests"),
        "{body}"
    );

    // Everyone else (no header, or another partner) shares the default 3.
    for (i, h) in [
        [("X-Partner", "silver")],
        [("X-Other", "gold")],
        [("X-Partner", "golden")],
    ]
    .iter()
    .enumerate()
    {
        let (status, head, body) = get("/shop/1.0.0/items", h);
        assert_eq!(status, 200, "{body}");
        assert_eq!(header(&head, "x-ratelimit-limit"), Some("3"), "{head}");
        assert_eq!(
            header(&head, "x-ratelimit-remaining"),
            Some((2 - i).to_string().as_str())
        );
    }
    let (status, head, _) = get("/shop/1.0.0/items", &[]);
    assert_eq!(status, 429);
    assert_eq!(header(&head, "x-ratelimit-limit"), Some("3"));

    // A resource-level policy counts its operation only; an operation without one is free.
    assert_eq!(get("/files/1.0.0/one", &[]).0, 200);
    let (status, _, body) = get("/files/1.0.0/one", &[]);
    assert_eq!(status, 429);
    assert!(
        body.contains("900802") && body.contains("resource policy One"),
        "{body}"
    );
    for _ in 0..5 {
        assert_eq!(get("/files/1.0.0/free", &[]).0, 200);
    }

    // Bandwidth: 600 bytes up and 600 back use the kilobyte; the next request waits.
    let body = "x".repeat(600);
    let (status, _, echoed) = call(&gw.traffic, "POST", "/files/1.0.0/upload", &[], &body);
    assert_eq!((status, echoed.len()), (200, 600));
    let (status, head, refused) = call(&gw.traffic, "POST", "/files/1.0.0/upload", &[], "y");
    assert_eq!(status, 429, "{refused}");
    assert!(refused.contains("1024 bytes"), "{refused}");
    assert!(header(&head, "retry-after").is_some());

    // The same policies in a new snapshot: the counters carry on.
    std::fs::write(&gw.file, snapshot(2, b)).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    loop {
        let (_, _, ready) = call(&gw.admin, "GET", "/ready", &[], "");
        if ready.contains(r#""snapshotVersion":2"#) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{ready}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(get("/shop/1.0.0/items", &gold).0, 429);
    assert_eq!(get("/files/1.0.0/one", &[]).0, 429);
}
