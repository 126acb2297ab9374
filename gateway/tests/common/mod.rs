//! Helpers for the gateway's integration tests: the binary with a clean environment, its
//! start-up line, and plain HTTP/1.1 over a real socket.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// The gateway binary without any `GATEHOUSE_…` variable of the caller, logging JSON.
pub fn gateway() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gateway"));
    for (k, _) in std::env::vars() {
        if k.starts_with("GATEHOUSE_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("RUST_LOG", "info")
        .env("GATEHOUSE_LOG__FORMAT", "json");
    cmd
}

/// The gateway in standalone mode on `file` (a snapshot), both ports picked by the system,
/// its log piped (read it with `started` or `started_with_log`).
pub fn standalone(file: &std::path::Path) -> Child {
    gateway()
        .env("GATEHOUSE_GATEWAY__LISTEN", "127.0.0.1:0")
        .env("GATEHOUSE_GATEWAY__ADMIN_LISTEN", "127.0.0.1:0")
        .args(["--config", file.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .unwrap()
}

/// Waits for the start-up log line and returns the bound (traffic, admin) addresses; kills
/// the child if it never comes.
pub fn started(child: &mut Child) -> (String, String) {
    let out = child.stdout.take().expect("stdout is piped");
    let mut lines = BufReader::new(out).lines();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if v["fields"]["message"] == "gateway started" {
            let f = &v["fields"];
            let addrs = (
                f["listen"].as_str().unwrap().to_string(),
                f["admin"].as_str().unwrap().to_string(),
            );
            // Keep draining stdout so the child never blocks on a full pipe.
            std::thread::spawn(move || for _ in lines {});
            return addrs;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("gateway did not log its start");
}

/// `started`, and the log lines that follow it (JSON), for tests that look at the log.
pub fn started_with_log(child: &mut Child) -> (String, String, std::sync::mpsc::Receiver<String>) {
    let out = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = std::sync::mpsc::channel();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if !sent
                && let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                && v["fields"]["message"] == "gateway started"
            {
                let f = &v["fields"];
                let _ = addr_tx.send((
                    f["listen"].as_str().unwrap_or_default().to_string(),
                    f["admin"].as_str().unwrap_or_default().to_string(),
                ));
                sent = true;
                continue;
            }
            let _ = tx.send(line);
        }
    });
    match addr_rx.recv_timeout(Duration::from_secs(20)) {
        Ok((traffic, admin)) => (traffic, admin, rx),
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("gateway did not log its start");
        }
    }
}

/// One request over a fresh connection; returns (status, headers, body).
pub fn call(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: api.example.com\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("Connection: close\r\n\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let raw = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    (status, head.to_string(), body)
}

pub fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = &rest[n + 2..];
    }
    out
}

/// Reads a request up to the end of its head (what the test backends need of it).
pub fn read_head(s: &mut TcpStream) -> Vec<u8> {
    let mut buf = [0u8; 8192];
    let mut seen = Vec::new();
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
    seen
}

/// A backend answering 200 `{"ok":true}` to anything, one connection at a time.
pub fn ok_backend() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for mut s in l.incoming().map_while(Result::ok) {
            read_head(&mut s);
            let _ = s.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\nConnection: close\r\n\r\n{\"ok\":true}",
            );
        }
    });
    addr
}

/// An address nothing listens on (connection refused).
pub fn closed_port() -> std::net::SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}
