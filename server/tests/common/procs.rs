//! The server and gateway binaries as processes, real backends and raw HTTP requests, for tests
//! that run the whole system on 127.0.0.1.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::ADMIN_PASSWORD;

pub const GATEWAY_TOKEN: &str = "feed-test-gateway-token-0123456789";

pub fn clean(mut cmd: Command) -> Command {
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
pub fn start(mut cmd: Command, message: &str) -> (Child, Value, Arc<Mutex<String>>) {
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

/// A child process killed when dropped (a failing test leaves nothing running).
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn control_plane(db_url: &str) -> (Proc, String) {
    let mut cmd = clean(Command::new(env!("CARGO_BIN_EXE_server")));
    cmd.env("GATEHOUSE_DATABASE__URL", db_url)
        .env("GATEHOUSE_SERVER__ADDR", "127.0.0.1:0")
        .env("GATEHOUSE_SERVER__GATEWAY_TOKEN", GATEWAY_TOKEN)
        // The in-process test app's public URL: both issue tokens as the same issuer.
        .env("GATEHOUSE_SERVER__PUBLIC_URL", "http://127.0.0.1:3000")
        .env("GATEHOUSE_ADMIN_PASSWORD", ADMIN_PASSWORD);
    let (child, fields, _) = start(cmd, "server started");
    (Proc(child), fields["addr"].as_str().unwrap().to_string())
}

/// The gateway binary cargo built beside this test (`cargo test --workspace` builds it).
pub fn gateway_binary() -> PathBuf {
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

pub struct Gw {
    pub child: Child,
    pub traffic: String,
    pub admin: String,
    pub log: Arc<Mutex<String>>,
}

impl Drop for Gw {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start_gateway(cp: &str, cache: &std::path::Path) -> Gw {
    start_gateway_in(cp, cache, "Default")
}

/// A gateway of `environment`, following the control plane at `cp`.
pub fn start_gateway_in(cp: &str, cache: &std::path::Path, environment: &str) -> Gw {
    let mut cmd = clean(Command::new(gateway_binary()));
    cmd.env("GATEHOUSE_GATEWAY__LISTEN", "127.0.0.1:0")
        .env("GATEHOUSE_GATEWAY__ADMIN_LISTEN", "127.0.0.1:0")
        .env("GATEHOUSE_GATEWAY__WORKERS", "2")
        .env("GATEHOUSE_GATEWAY__TOKEN", GATEWAY_TOKEN)
        .env("GATEHOUSE_GATEWAY__SNAPSHOT_CACHE", cache)
        .args(["--control-plane", cp, "--environment", environment]);
    let (child, fields, log) = start(cmd, "gateway started");
    Gw {
        child,
        traffic: fields["listen"].as_str().unwrap().to_string(),
        admin: fields["admin"].as_str().unwrap().to_string(),
        log,
    }
}

/// GET over a fresh connection: (status, body).
pub fn get(addr: &str, path: &str) -> (u16, String) {
    let (s, _, b) = request(addr, "GET", path, &[]);
    (s, b)
}

/// A request over a fresh connection: (status, response head, body).
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, String, String) {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return (0, String::new(), "connect failed".into());
    };
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut req =
        format!("{method} {path} HTTP/1.1\r\nHost: api.example.com\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return (0, String::new(), "write failed".into());
    }
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let raw = String::from_utf8_lossy(&raw).to_string();
    let Some((head, body)) = raw.split_once("\r\n\r\n") else {
        return (0, String::new(), raw);
    };
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

/// Polls until `want` holds (up to `limit`); returns how long it took.
pub fn within(limit: Duration, what: &str, mut want: impl FnMut() -> bool) -> Duration {
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
pub fn backend(name: &'static str) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let app = axum::Router::new().fallback(
                move |uri: axum::http::Uri, headers: axum::http::HeaderMap| async move {
                    let headers: serde_json::Map<String, Value> = headers
                        .iter()
                        .map(|(k, v)| (k.to_string(), json!(v.to_str().unwrap_or_default())))
                        .collect();
                    axum::Json(json!({"backend": name, "path": uri.path(), "query": uri.query(), "headers": headers}))
                },
            );
            axum::serve(listener, app).await.unwrap();
        });
    });
    rx.recv().unwrap()
}

pub fn closed_port() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

/// One HTTP/1.1 request over a real socket; returns (status, body).
pub fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let status = raw
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status line");
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}
