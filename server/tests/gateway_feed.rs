//! The gateway following a real control plane: the server binary on a real socket, the gateway
//! binary with `--control-plane`, real backends on 127.0.0.1 port 0. Deploy → served;
//! redeploy → the new revision within a second with no failed request; undeploy → 404 within
//! a second; control plane stopped → still served; gateway restarted while the control plane
//! is down → served from the disk copy; a dead endpoint → failover.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use common::*;
use serde_json::{Value, json};
use sqlx::PgPool;

const P: &str = "/api/am/publisher/v4";
const GATEWAY_TOKEN: &str = "feed-test-gateway-token-0123456789";

fn clean(mut cmd: Command) -> Command {
    for (k, _) in std::env::vars() {
        if k.starts_with("GATEHOUSE_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("GATEHOUSE_LOG__FORMAT", "json")
        .env("RUST_LOG", "info");
    cmd
}

/// Starts a binary and waits for the log line `message`; returns the child, that line's
/// fields, and everything it logs.
fn start(mut cmd: Command, message: &str) -> (Child, Value, Arc<Mutex<String>>) {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let log = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = std::sync::mpsc::channel::<Value>();
    for stream in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let (log, tx, message) = (log.clone(), tx.clone(), message.to_string());
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                log.lock().unwrap().push_str(&line);
                log.lock().unwrap().push('\n');
                if let Ok(v) = serde_json::from_str::<Value>(&line)
                    && v["fields"]["message"] == message.as_str()
                {
                    let _ = tx.send(v["fields"].clone());
                }
            }
        });
    }
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(fields) => (child, fields, log),
        Err(_) => {
            let _ = child.kill();
            panic!("no `{message}` line:\n{}", log.lock().unwrap());
        }
    }
}

fn control_plane(db_url: &str) -> (Child, String) {
    let mut cmd = clean(Command::new(env!("CARGO_BIN_EXE_server")));
    cmd.env("GATEHOUSE_DATABASE__URL", db_url)
        .env("GATEHOUSE_SERVER__ADDR", "127.0.0.1:0")
        .env("GATEHOUSE_SERVER__GATEWAY_TOKEN", GATEWAY_TOKEN)
        .env("GATEHOUSE_ADMIN_PASSWORD", ADMIN_PASSWORD);
    let (child, fields, _) = start(cmd, "server started");
    (child, fields["addr"].as_str().unwrap().to_string())
}

/// The gateway binary cargo built beside this test (`cargo test --workspace` builds it).
fn gateway_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|d| d.parent()).unwrap();
    let bin = dir.join("gateway");
    assert!(
        bin.exists(),
        "{} is missing: build it first (cargo build --workspace --bin gateway, or cargo test --workspace)",
        bin.display()
    );
    bin
}

struct Gw {
    child: Child,
    traffic: String,
    admin: String,
    log: Arc<Mutex<String>>,
}

impl Drop for Gw {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_gateway(cp: &str, cache: &std::path::Path) -> Gw {
    let mut cmd = clean(Command::new(gateway_binary()));
    cmd.env("GATEHOUSE_GATEWAY__LISTEN", "127.0.0.1:0")
        .env("GATEHOUSE_GATEWAY__ADMIN_LISTEN", "127.0.0.1:0")
        .env("GATEHOUSE_GATEWAY__WORKERS", "2")
        .env("GATEHOUSE_GATEWAY__TOKEN", GATEWAY_TOKEN)
        .env("GATEHOUSE_GATEWAY__SNAPSHOT_CACHE", cache)
        .args(["--control-plane", cp, "--environment", "Default"]);
    let (child, fields, log) = start(cmd, "gateway started");
    Gw {
        child,
        traffic: fields["listen"].as_str().unwrap().to_string(),
        admin: fields["admin"].as_str().unwrap().to_string(),
        log,
    }
}

/// GET over a fresh connection: (status, body).
fn get(addr: &str, path: &str) -> (u16, String) {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return (0, "connect failed".into());
    };
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: api.example.com\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return (0, "write failed".into());
    }
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let raw = String::from_utf8_lossy(&raw).to_string();
    let Some((head, body)) = raw.split_once("\r\n\r\n") else {
        return (0, raw);
    };
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, body.to_string())
}

/// Polls until `want` holds (up to `limit`); returns how long it took.
fn within(limit: Duration, what: &str, mut want: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while start.elapsed() < limit {
        if want() {
            return start.elapsed();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{what}: not within {limit:?}");
}

/// A backend on its own thread: answers `{"backend": name, "path": …}`.
fn backend(name: &'static str) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let app = axum::Router::new().fallback(move |uri: axum::http::Uri| async move {
                axum::Json(json!({"backend": name, "path": uri.path()}))
            });
            axum::serve(listener, app).await.unwrap();
        });
    });
    rx.recv().unwrap()
}

fn closed_port() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

async fn deploy_revision(
    app: &TestApp,
    token: &str,
    id: &str,
    endpoint: Value,
    note: &str,
) -> String {
    let mut api = app
        .get_bearer(&format!("{P}/apis/{id}"), token)
        .await
        .json();
    api["endpointConfig"] = endpoint;
    let r = app
        .call(Method::PUT, &format!("{P}/apis/{id}"), token, Some(api))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = app
        .call(
            Method::POST,
            &format!("{P}/apis/{id}/revisions"),
            token,
            Some(json!({"description": note})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let rev = r.json()["id"].as_str().unwrap().to_string();
    let r = app
        .call(
            Method::POST,
            &format!("{P}/apis/{id}/deploy-revision?revisionId={rev}"),
            token,
            Some(json!([{"name": "Default", "vhost": "localhost"}])),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    rev
}

fn single(addr: SocketAddr) -> Value {
    json!({"endpoint_type": "http", "production_endpoints": {"url": format!("http://{addr}/v1")}})
}

fn backend_of(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["backend"].as_str().map(str::to_string))
        .unwrap_or_default()
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn the_gateway_follows_deployments_and_survives_the_control_plane_going_away(db: PgPool) {
    let app = spawn(db.clone()).await;
    let token = app
        .access_token(
            "admin",
            ADMIN_PASSWORD,
            "apim:admin apim:api_view apim:api_create apim:api_publish apim:api_manage",
        )
        .await;
    let (a, b) = (backend("a"), backend("b"));
    let (mut cp, cp_addr) = control_plane(&database_url(&db));
    let cache = std::env::temp_dir().join(format!("gh-feed-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&cache);
    let cp_url = format!("http://{cp_addr}");
    let gw = start_gateway(&cp_url, &cache);

    // Nothing deployed yet: ready with an empty snapshot, 404 for the API.
    let admin = gw.admin.clone();
    tokio::task::spawn_blocking(move || {
        within(Duration::from_secs(5), "first snapshot", || {
            get(&admin, "/ready").0 == 200
        })
    })
    .await
    .unwrap();

    // Deploy → served within a second.
    let r = app
        .call(
            Method::POST,
            &format!("{P}/apis"),
            &token,
            Some(
                json!({"name": "Feed", "context": "/feed", "version": "1.0.0",
                        "operations": [{"target": "/items/{id}", "verb": "GET"}]}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_string();
    deploy_revision(&app, &token, &id, single(a), "on a").await;
    let traffic = gw.traffic.clone();
    let took = tokio::task::spawn_blocking(move || {
        within(Duration::from_secs(1), "deployment served", || {
            let (s, body) = get(&traffic, "/feed/1.0.0/items/7");
            s == 200 && backend_of(&body) == "a"
        })
    })
    .await
    .unwrap();
    eprintln!("deploy → served in {took:?}");
    let (_, body) = get(&gw.traffic, "/feed/1.0.0/items/7");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["path"],
        "/v1/items/7"
    );

    // Redeploy a revision on b while requests flow: b within a second, no request fails.
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicUsize::new(0));
    let sent = Arc::new(AtomicUsize::new(0));
    let load = {
        let (traffic, stop, failures, sent) = (
            gw.traffic.clone(),
            stop.clone(),
            failures.clone(),
            sent.clone(),
        );
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let (s, _) = get(&traffic, "/feed/1.0.0/items/1");
                sent.fetch_add(1, Ordering::Relaxed);
                if s != 200 {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    deploy_revision(&app, &token, &id, single(b), "on b").await;
    let traffic = gw.traffic.clone();
    let took = tokio::task::spawn_blocking(move || {
        within(Duration::from_secs(1), "new revision served", || {
            backend_of(&get(&traffic, "/feed/1.0.0/items/7").1) == "b"
        })
    })
    .await
    .unwrap();
    eprintln!("redeploy → new revision in {took:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    load.join().unwrap();
    assert_eq!(
        failures.load(Ordering::Relaxed),
        0,
        "of {} requests",
        sent.load(Ordering::Relaxed)
    );
    assert!(sent.load(Ordering::Relaxed) > 10);

    // A dead first endpoint: failover to the second.
    let failover = json!({"endpoint_type": "failover",
        "production_endpoints": {"url": format!("http://{}/v1", closed_port())},
        "production_failovers": [{"url": format!("http://{a}/v1")}]});
    deploy_revision(&app, &token, &id, failover, "failover").await;
    let traffic = gw.traffic.clone();
    tokio::task::spawn_blocking(move || {
        within(Duration::from_secs(2), "failover to a", || {
            let (s, body) = get(&traffic, "/feed/1.0.0/items/7");
            s == 200 && backend_of(&body) == "a"
        })
    })
    .await
    .unwrap();

    // Undeploy → 404 within a second.
    let revs = app
        .get_bearer(&format!("{P}/apis/{id}/deployments"), &token)
        .await
        .json();
    let live = revs["list"][0]["revisionUuid"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .call(
            Method::POST,
            &format!("{P}/apis/{id}/undeploy-revision?revisionId={live}&allEnvironments=true"),
            &token,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let traffic = gw.traffic.clone();
    let took = tokio::task::spawn_blocking(move || {
        within(Duration::from_secs(1), "undeploy → 404", || {
            get(&traffic, "/feed/1.0.0/items/7").0 == 404
        })
    })
    .await
    .unwrap();
    eprintln!("undeploy → 404 in {took:?}");

    // Deploy again, then stop the control plane: traffic goes on.
    deploy_revision(&app, &token, &id, single(a), "back on a").await;
    let traffic = gw.traffic.clone();
    tokio::task::spawn_blocking(move || {
        within(Duration::from_secs(1), "redeployed", || {
            get(&traffic, "/feed/1.0.0/items/7").0 == 200
        })
    })
    .await
    .unwrap();
    let _ = cp.kill();
    let _ = cp.wait();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(get(&gw.traffic, "/feed/1.0.0/items/7").0, 200);
    assert!(cache.exists(), "the disk copy was written");

    // A gateway started while the control plane is down serves from the disk copy.
    let old_log = gw.log.lock().unwrap().clone();
    drop(gw);
    assert!(
        !old_log.contains(GATEWAY_TOKEN),
        "the gateway logged its token"
    );
    let gw2 = start_gateway(&cp_url, &cache);
    assert_eq!(
        get(&gw2.admin, "/ready").0,
        200,
        "{}",
        gw2.log.lock().unwrap()
    );
    let (s, body) = get(&gw2.traffic, "/feed/1.0.0/items/7");
    assert_eq!((s, backend_of(&body).as_str()), (200, "a"));
    let _ = std::fs::remove_file(&cache);
}
