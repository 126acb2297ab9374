//! Gateways of one environment sharing a real Redis (its own `redis-server` on a free port):
//! the backend max TPS holds across three gateway processes with the load spread over them,
//! and a Redis that goes away mid-load leaves the limit enforced locally (no 5xx) until it is
//! back, when counting is shared again.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{gateway, started};
use gateway::jwt::{Algorithm, Signer};
use serde_json::json;

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One inline Redis command; the raw reply.
fn redis_cmd(port: u16, cmd: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(format!("{cmd}\r\n").as_bytes()).ok()?;
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).ok()?;
    Some(line.trim().to_string())
}

fn redis(port: u16) -> Proc {
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server (Debian package redis-server) must be installed");
    let deadline = Instant::now() + Duration::from_secs(10);
    while redis_cmd(port, "PING").as_deref() != Some("+PONG") {
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Proc(child)
}

/// A backend answering 200 to anything, one connection at a time, keep-alive.
fn backend() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for s in l.incoming().map_while(Result::ok) {
            std::thread::spawn(move || {
                let mut r = BufReader::new(s);
                loop {
                    let mut head = String::new();
                    loop {
                        let mut line = String::new();
                        match r.read_line(&mut line) {
                            Ok(0) | Err(_) => return,
                            Ok(_) if line == "\r\n" => break,
                            Ok(_) => head.push_str(&line),
                        }
                    }
                    let ok = r.get_mut().write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}",
                    );
                    if ok.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

fn start_gateways(n: usize, snapshot: &std::path::Path, redis_port: u16) -> Vec<(Proc, String)> {
    (0..n)
        .map(|_| {
            let mut child = gateway()
                .env("GATEHOUSE_GATEWAY__LISTEN", "127.0.0.1:0")
                .env("GATEHOUSE_GATEWAY__ADMIN_LISTEN", "127.0.0.1:0")
                .env("GATEHOUSE_GATEWAY__WORKERS", "1")
                .env("GATEHOUSE_GATEWAY__ENVIRONMENT", "Shared")
                .env(
                    "GATEHOUSE_GATEWAY__REDIS_URL",
                    format!("redis://127.0.0.1:{redis_port}"),
                )
                .args(["--config", snapshot.to_str().unwrap()])
                .stdout(Stdio::piped())
                .spawn()
                .expect("spawn gateway");
            let (traffic, _admin) = started(&mut child);
            (Proc(child), traffic)
        })
        .collect()
}

fn snapshot(backend: &str, requests: u64) -> tempfile_path::Path {
    tempfile_path::write(&format!(
        r#"{{"version": 1, "apis": [{{
            "id": "protected", "name": "Protected", "context": "/protected", "version": "1.0.0",
            "maxTps": {{"production": {{"requests": {requests}, "periodSeconds": 1}}}},
            "endpoints": {{"production": {{"urls": ["http://{backend}"]}}}},
            "operations": [{{"method": "GET", "target": "/*"}}]
        }}]}}"#
    ))
}

/// A snapshot file in the temporary directory, removed on drop.
mod tempfile_path {
    pub struct Path(std::path::PathBuf);
    impl std::ops::Deref for Path {
        type Target = std::path::Path;
        fn deref(&self) -> &std::path::Path {
            &self.0
        }
    }
    impl Drop for Path {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    pub fn write(text: &str) -> Path {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "gatehouse-cluster-{}-{}.json",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::write(&p, text).unwrap();
        Path(p)
    }
}

/// (when, status) of every answer.
type Log = Arc<Mutex<Vec<(Duration, u16)>>>;

/// `per_gateway` keep-alive clients on each gateway, each sending about `rate` requests a
/// second until `stop`.
fn load(
    addrs: &[String],
    per_gateway: usize,
    rate: u32,
    stop: Arc<AtomicBool>,
    start: Instant,
) -> (Log, Vec<std::thread::JoinHandle<()>>) {
    load_with(
        addrs,
        per_gateway,
        rate,
        stop,
        start,
        "/protected/1.0.0/x",
        String::new(),
    )
}

/// `load` of `path`, with `headers` (`Name: value\r\n` lines) on every request.
fn load_with(
    addrs: &[String],
    per_gateway: usize,
    rate: u32,
    stop: Arc<AtomicBool>,
    start: Instant,
    path: &'static str,
    headers: String,
) -> (Log, Vec<std::thread::JoinHandle<()>>) {
    let request = Arc::new(format!(
        "GET {path} HTTP/1.1\r\nHost: api.example.com\r\n{headers}\r\n"
    ));
    let log: Log = Arc::default();
    let mut threads = Vec::new();
    for addr in addrs {
        for _ in 0..per_gateway {
            let (addr, log, stop, request) =
                (addr.clone(), log.clone(), stop.clone(), request.clone());
            threads.push(std::thread::spawn(move || {
                let gap = Duration::from_secs(1) / rate;
                let mut conn: Option<BufReader<TcpStream>> = None;
                while !stop.load(Ordering::Relaxed) {
                    let sent = Instant::now();
                    let c = conn.get_or_insert_with(|| {
                        let s = TcpStream::connect(&addr).unwrap();
                        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                        BufReader::new(s)
                    });
                    match exchange(c, &request) {
                        Some(status) => log.lock().unwrap().push((start.elapsed(), status)),
                        None => conn = None,
                    }
                    if let Some(rest) = gap.checked_sub(sent.elapsed()) {
                        std::thread::sleep(rest);
                    }
                }
            }));
        }
    }
    (log, threads)
}

/// One GET on a keep-alive connection: the status, or `None` when the connection broke.
fn exchange(c: &mut BufReader<TcpStream>, request: &str) -> Option<u16> {
    c.get_mut().write_all(request.as_bytes()).ok()?;
    let mut status = 0;
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if c.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if status == 0 {
            status = line.split(' ').nth(1)?.parse().ok()?;
        } else if line == "\r\n" {
            break;
        } else if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; length];
    c.read_exact(&mut body).ok()?;
    Some(status)
}

fn count(log: &Log, from: Duration, to: Duration, status: u16) -> usize {
    log.lock()
        .unwrap()
        .iter()
        .filter(|(t, s)| *t >= from && *t < to && *s == status)
        .count()
}

fn others(log: &Log) -> Vec<u16> {
    log.lock()
        .unwrap()
        .iter()
        .map(|(_, s)| *s)
        .filter(|s| *s != 200 && *s != 429)
        .collect()
}

/// Stops the load and waits for its clients.
fn finish(stop: &AtomicBool, threads: Vec<std::thread::JoinHandle<()>>) {
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
}

/// After 31 s of load over a limit of `per_second`: only 200s and 429s, more refused than let
/// through, and the 30 s after the first second (which spends the bucket's initial capacity)
/// let `per_second` × 30 through, ± 1 %.
fn assert_accurate(log: &Log, what: &str, per_second: usize) {
    let expected = per_second * 30;
    let passed = count(log, Duration::from_secs(1), Duration::from_secs(31), 200);
    let refused = count(log, Duration::from_secs(1), Duration::from_secs(31), 429);
    eprintln!(
        "{what}, 3 gateways, 30 s: {passed} let through ({:+.2} %), {refused} refused",
        (passed as f64 - expected as f64) * 100.0 / expected as f64
    );
    assert!(
        others(log).is_empty(),
        "unexpected statuses {:?}",
        others(log)
    );
    assert!(
        refused > expected,
        "the load was not over the limit: {refused} refused"
    );
    assert!(
        (expected - expected / 100..=expected + expected / 100).contains(&passed),
        "{passed} let through in 30 s, expected {expected} ± 1 %"
    );
}

/// 100 requests a second for the backend, three gateways, about 5× that offered for 31 s:
/// after the first second (which spends the bucket's initial capacity), 30 s let 3,000 ± 1 %
/// through.
#[test]
fn backend_max_tps_holds_across_three_gateways() {
    let redis_port = free_port();
    let _redis = redis(redis_port);
    let backend = backend();
    let file = snapshot(&backend, 100);
    let gateways = start_gateways(3, &file, redis_port);
    let addrs: Vec<String> = gateways.iter().map(|(_, a)| a.clone()).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let (log, threads) = load(&addrs, 4, 40, stop.clone(), start);
    std::thread::sleep(Duration::from_secs(31));
    finish(&stop, threads);
    assert_accurate(&log, "backend max TPS 100/s", 100);
}

/// Redis killed under load: no 5xx, the limit still holds (each gateway a third of it), and
/// when Redis is back the gateways count together again.
#[test]
fn a_lost_redis_leaves_limits_local_until_it_is_back() {
    let redis_port = free_port();
    let mut redis_proc = Some(redis(redis_port));
    let backend = backend();
    let file = snapshot(&backend, 60);
    let gateways = start_gateways(3, &file, redis_port);
    let addrs: Vec<String> = gateways.iter().map(|(_, a)| a.clone()).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    // Each gateway alone is offered more than the whole limit.
    let (log, threads) = load(&addrs, 4, 40, stop.clone(), start);
    // Heartbeats have counted the three gateways by now.
    std::thread::sleep(Duration::from_secs(4));
    let shared_key = "gatehouse:Shared:rl:tps:protected:production";
    assert_eq!(
        redis_cmd(redis_port, &format!("EXISTS {shared_key}")).as_deref(),
        Some(":1"),
        "the gateways count in Redis"
    );
    drop(redis_proc.take());
    let lost = start.elapsed();
    std::thread::sleep(Duration::from_secs(5));
    let back = start.elapsed();
    redis_proc = Some(redis(redis_port));
    // Tried again within a second of a failure.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        redis_cmd(redis_port, &format!("EXISTS {shared_key}")).as_deref(),
        Some(":1"),
        "counting is shared again once Redis is back"
    );
    let end = start.elapsed();
    finish(&stop, threads);
    drop(redis_proc);
    assert!(
        others(&log).is_empty(),
        "unexpected statuses {:?}",
        others(&log)
    );
    // Without Redis: each gateway lets through 20 a second (60 / 3) plus its local bucket's
    // first 20 at once; give a second of slack for the switch.
    let alone = count(&log, lost, back, 200);
    let secs = (back - lost).as_secs_f64();
    eprintln!(
        "Redis down {secs:.1} s: {alone} let through by 3 gateways (limit 60/s); shared again after: {} in {:.1} s",
        count(&log, back + Duration::from_secs(1), end, 200),
        (end - back - Duration::from_secs(1)).as_secs_f64()
    );
    assert!(
        alone as f64 <= 60.0 * (secs + 1.0) + 60.0,
        "{alone} let through in {secs:.1} s without Redis"
    );
    assert!(
        alone as f64 >= 60.0 * (secs - 1.0),
        "the local limits let too little through: {alone}"
    );
    assert!(
        count(&log, lost, back, 429) > 0,
        "limits were still enforced"
    );
    // Shared again: about 60 a second across the three (after the bucket's first 60).
    let after = count(&log, back + Duration::from_secs(2), end, 200) as f64;
    let window = (end - back - Duration::from_secs(2)).as_secs_f64();
    assert!(
        after <= 60.0 * window + 60.0 + 5.0,
        "{after} let through in {window:.1} s once Redis was back"
    );
}

/// An application's burst control (at most 50 a second inside 100,000 a minute), one end user
/// calling through three gateways with a token: after the first second, 30 s let 1,500 ± 1 %
/// through.
#[test]
fn application_burst_control_holds_across_three_gateways() {
    const ISSUER: &str = "https://idp.example.test";
    let signer =
        Signer::from_pkcs8("k1", Algorithm::RS256, include_bytes!("keys/rsa2048.pk8")).unwrap();
    let redis_port = free_port();
    let _redis = redis(redis_port);
    let backend = backend();
    let file = tempfile_path::write(
        &json!({
            "version": 1,
            "apis": [{
                "id": "pets", "name": "Pets", "context": "/pets", "version": "1.0.0",
                "organization": "acme",
                "endpoints": {"production": {"urls": [format!("http://{backend}")]}},
                "security": {"oauth2": true},
                "operations": [{"method": "GET", "target": "/*"}]
            }],
            "keyManagers": [{
                "name": "idp", "organization": "acme", "issuer": ISSUER,
                "jwks": {"keys": [signer.public_jwk()]}
            }],
            "applications": [{
                "id": "app-1", "name": "App", "organization": "acme", "owner": "alice",
                "tier": "Spiky",
                "keys": [{"keyManager": "idp", "consumerKey": "client-1", "keyType": "PRODUCTION"}]
            }],
            "subscriptions": [{"applicationId": "app-1", "apiId": "pets", "tier": "Unlimited"}],
            "throttlingPolicies": [{
                "organization": "acme", "level": "application", "name": "Spiky",
                "requests": 100000, "periodSeconds": 60,
                "burst": {"requests": 50, "periodSeconds": 1}
            }]
        })
        .to_string(),
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let token = signer
        .sign(&json!({"iss": ISSUER, "sub": "alice", "azp": "client-1",
                       "exp": now + 600, "iat": now, "jti": "burst-test"}))
        .unwrap();
    let gateways = start_gateways(3, &file, redis_port);
    let addrs: Vec<String> = gateways.iter().map(|(_, a)| a.clone()).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let (log, threads) = load_with(
        &addrs,
        3,
        30,
        stop.clone(),
        start,
        "/pets/1.0.0/pets",
        format!("Authorization: Bearer {token}\r\n"),
    );
    std::thread::sleep(Duration::from_secs(31));
    finish(&stop, threads);
    assert_accurate(&log, "application burst 50/s", 50);
}
