//! The server binary as an operator runs it: settings from the environment, a real socket on
//! 127.0.0.1 (port 0), the first admin's one-time password, no secret in the logs, SIGTERM.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::database_url;
use common::procs::http;
use sqlx::PgPool;

fn server() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_server"));
    for (k, _) in std::env::vars() {
        if k.starts_with("GATEHOUSE_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("GATEHOUSE_LOG__FORMAT", "json");
    cmd
}

struct Running {
    child: Child,
    addr: String,
    log: Arc<Mutex<String>>,
}

/// Starts the binary and waits for its start-up line; every output line is kept in `log`.
fn start(db_url: &str, extra: &[(&str, &str)]) -> Running {
    let mut cmd = server();
    cmd.env("GATEHOUSE_DATABASE__URL", db_url)
        .env("GATEHOUSE_SERVER__ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn server");
    let log = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    for stream in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let log = log.clone();
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                log.lock().unwrap().push_str(&line);
                log.lock().unwrap().push('\n');
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                    && v["fields"]["message"] == "server started"
                {
                    let _ = tx.send(v["fields"]["addr"].as_str().unwrap().to_string());
                }
            }
        });
    }
    let addr = rx
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("server did not start:\n{}", log.lock().unwrap()));
    Running { child, addr, log }
}

impl Running {
    fn stop(mut self) -> String {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "exit status {status}");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "server did not stop after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(100));
        self.log.lock().unwrap().clone()
    }
}

fn basic(user: &str, pass: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

#[sqlx::test(migrations = false)]
async fn first_start_prints_a_one_time_admin_password_and_logs_no_secret(db: PgPool) {
    let url = database_url(&db);
    let run = start(&url, &[]);
    let (status, body) = http(&run.addr, "GET", "/ready", &[], "");
    assert_eq!(status, 200, "{body}");

    let log = run.log.lock().unwrap().clone();
    let password = log
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("password:")
                .map(|p| p.trim().to_string())
        })
        .unwrap_or_else(|| panic!("no generated password in:\n{log}"));
    assert!(password.len() >= 16);

    // Use it: sign in, register a REST client, get a token.
    let (status, body) = http(
        &run.addr,
        "POST",
        "/auth/sign-in",
        &[("Content-Type", "application/json")],
        &format!(r#"{{"username":"admin","password":"{password}"}}"#),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = http(
        &run.addr,
        "POST",
        "/client-registration/v0.17/register",
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &basic("admin", &password)),
        ],
        r#"{"clientName":"cli","grantType":"password"}"#,
    );
    assert_eq!(status, 200, "{body}");
    let reg: serde_json::Value = serde_json::from_str(&body).unwrap();
    let (id, secret) = (
        reg["clientId"].as_str().unwrap(),
        reg["clientSecret"].as_str().unwrap(),
    );
    let form = format!("grant_type=password&username=admin&password={password}&scope=apim%3Aadmin");
    let (status, body) = http(
        &run.addr,
        "POST",
        "/oauth2/token",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Authorization", &basic(id, secret)),
        ],
        &form,
    );
    assert_eq!(status, 200, "{body}");
    let token: serde_json::Value = serde_json::from_str(&body).unwrap();
    let access = token["access_token"].as_str().unwrap().to_string();
    // A failed sign-in with a password-like string must not be logged either.
    let wrong = "Wr0ng-Password-That-Must-Not-Appear";
    http(
        &run.addr,
        "POST",
        "/auth/sign-in",
        &[("Content-Type", "application/json")],
        &format!(r#"{{"username":"admin","password":"{wrong}"}}"#),
    );

    let log = run.stop();
    assert_eq!(
        log.matches(&password).count(),
        1,
        "the generated password is printed exactly once"
    );
    for secret_text in [secret, access.as_str(), wrong] {
        assert!(
            !log.contains(secret_text),
            "secret found in the log:\n{log}"
        );
    }

    // A second start prints no password: the admin exists.
    let again = start(&url, &[]);
    let log = again.stop();
    assert!(!log.contains("password:"), "{log}");
    assert!(!log.contains(&password));
}

#[test]
fn invalid_settings_stop_start_up_naming_the_key() {
    for (var, value, key) in [
        ("GATEHOUSE_SERVER__ADDR", "localhost", "server.addr"),
        (
            "GATEHOUSE_DATABASE__MAX_CONNECTIONS",
            "many",
            "database.max_connections",
        ),
        (
            "GATEHOUSE_DATABASE__URL",
            "mysql://root:topsecret@db",
            "database.url",
        ),
        ("GATEHOUSE_AUTH__SELF_SIGNUP", "perhaps", "auth.self_signup"),
        ("GATEHOUSE_SERVR__ADDR", "127.0.0.1:0", "servr"),
    ] {
        let out = server().env(var, value).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{var}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(key), "{var}: {err}");
        assert!(!err.contains("topsecret"), "{err}");
    }
}
