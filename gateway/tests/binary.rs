//! The gateway binary as an operator runs it: real sockets on 127.0.0.1 (port 0), settings
//! from the environment, SIGTERM for a graceful stop.

mod common;

use std::net::TcpStream;
use std::process::{Command, Stdio};

use common::{call, gateway, started};
use std::time::{Duration, Instant};

fn http_get(addr: &str, path: &str) -> (u16, String) {
    let (status, _, body) = call(addr, "GET", path, &[], "");
    (status, body)
}

#[test]
fn serves_health_and_stops_gracefully_on_sigterm() {
    let mut child = gateway()
        .env("GATEHOUSE_GATEWAY__LISTEN", "127.0.0.1:0")
        .env("GATEHOUSE_GATEWAY__ADMIN_LISTEN", "127.0.0.1:0")
        .args(["--environment", "Production"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn gateway");
    let (traffic, admin) = started(&mut child);

    let (status, body) = http_get(&admin, "/health");
    assert_eq!(status, 200);
    assert!(body.contains(r#""status":"UP""#), "{body}");
    assert_eq!(http_get(&admin, "/nope").0, 404);

    // No snapshot yet: not ready, and traffic gets a JSON fault, not a hang or a reset.
    assert_eq!(http_get(&admin, "/ready").0, 503);
    let (status, body) = http_get(&traffic, "/pizzashack/1.0.0/menu");
    assert_eq!(status, 503);
    assert!(body.contains("no runtime snapshot"), "{body}");

    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "exit status {status}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "gateway did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(TcpStream::connect(&admin).is_err(), "admin port closed");
}

#[test]
fn invalid_settings_stop_start_up_naming_the_key() {
    for (var, value, key) in [
        (
            "GATEHOUSE_GATEWAY__LISTEN",
            "not-an-address",
            "gateway.listen",
        ),
        (
            "GATEHOUSE_GATEWAY__SHUTDOWN_GRACE_SECONDS",
            "soon",
            "gateway.shutdown_grace_seconds",
        ),
        (
            "GATEHOUSE_GATEWAY__CONTROL_PLANE",
            "ftp://x",
            "gateway.control_plane",
        ),
        ("GATEHOUSE_GATEWAY__LISTN", "127.0.0.1:0", "listn"),
    ] {
        let out = gateway().env(var, value).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{var}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(key), "{var}: {err}");
    }
    let out = gateway().arg("--bogus").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--bogus"));
    // A config file that does not parse is named too.
    let dir = std::env::temp_dir().join(format!("gh-gw-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("gatehouse.toml");
    std::fs::write(&file, "[gateway\n").unwrap();
    let out = gateway()
        .args(["--config", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("gatehouse.toml"));
    // So is an invalid snapshot file, with every problem listed.
    let snap = dir.join("snapshot.yaml");
    std::fs::write(
        &snap,
        "version: 1\napis:\n  - {id: a, name: A, context: nope, version: '1', endpoints: {production: {urls: ['ftp://x']}}, operations: [{method: GET, target: /x}]}\n",
    )
    .unwrap();
    let out = gateway()
        .args(["--config", snap.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("apis[0].context") && err.contains("apis[0].endpoints.production"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
