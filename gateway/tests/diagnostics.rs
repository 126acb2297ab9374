//! Runtime diagnostics of the gateway binary: things break one at a time — a subscription on
//! hold, a key manager whose JWKS does not answer, a limiter used up, every backend endpoint
//! down — and the report (`GET /diagnostics` on the admin port, and `gateway diagnose`)
//! names each cause and the phase that decided. A token with the diagnostics scope gets a
//! debug trace (`Server-Timing`) when it asks; others do not.

mod common;

use std::net::TcpListener;
use std::process::Child;

use common::{call, closed_port, ok_backend, standalone, started};
use gateway::jwt::{Algorithm, Signer};
use serde_json::{Value, json};

const KEY: &[u8] = include_bytes!("keys/rsa2048.pk8");
const ISSUER: &str = "https://idp.example.test";
const SLOW_ISSUER: &str = "https://slow-idp.example.test";

struct Gw(Child);

impl Drop for Gw {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A JWKS endpoint that accepts connections and never answers (the gateway's fetch times out).
fn silent() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in l.incoming().map_while(Result::ok) {
            held.push(s);
        }
    });
    addr
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn token(signer: &Signer, issuer: &str, client: &str, scope: &str) -> String {
    signer
        .sign(
            &json!({"iss": issuer, "sub": "alice", "azp": client, "exp": now() + 600,
                       "iat": now(), "jti": format!("{client}-{scope}-{}", now()),
                       "scope": scope}),
        )
        .unwrap()
}

fn report(admin: &str, since: u64) -> Value {
    let (status, _, body) = call(
        admin,
        "GET",
        &format!("/diagnostics?since={since}"),
        &[],
        "",
    );
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// The newest kept failure of `path`.
fn failure_of(r: &Value, path: &str) -> Value {
    r["failures"]["recent"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == path)
        .cloned()
        .unwrap_or_else(|| panic!("no failure of {path} in {r:#}"))
}

#[test]
fn the_report_names_each_cause_and_the_phase_that_decided() {
    let signer = Signer::from_pkcs8("k1", Algorithm::RS256, KEY).unwrap();
    let (ok, down1, down2, jwks) = (
        ok_backend(),
        closed_port().to_string(),
        closed_port().to_string(),
        silent(),
    );
    let api = |id: &str, context: &str, endpoints: Value, scopes: Value| {
        json!({
            "id": id, "name": id, "context": context, "version": "1.0.0",
            "organization": "acme", "endpoints": {"production": endpoints},
            "security": {"oauth2": true},
            "operations": [{"method": "GET", "target": "/items", "scopes": scopes}]
        })
    };
    let snapshot = json!({
        "version": 7,
        "apis": [
            api("pets", "/pets", json!({"urls": [format!("http://{ok}")]}), json!([])),
            api("orders", "/orders",
                json!({"type": "failover", "urls": [format!("http://{down1}"), format!("http://{down2}")]}),
                json!([])),
            api("slow", "/slow", json!({"urls": [format!("http://{ok}")]}), json!([])),
        ],
        "keyManagers": [
            {"name": "idp", "organization": "acme", "issuer": ISSUER,
             "jwks": {"keys": [signer.public_jwk()]}},
            {"name": "slow-idp", "organization": "acme", "issuer": SLOW_ISSUER,
             "jwksUrl": format!("http://{jwks}/jwks")}
        ],
        "applications": [
            {"id": "app-1", "name": "Shop", "organization": "acme", "owner": "alice",
             "keys": [{"keyManager": "idp", "consumerKey": "client-1", "keyType": "PRODUCTION"},
                      {"keyManager": "slow-idp", "consumerKey": "client-1", "keyType": "PRODUCTION"}]},
            {"id": "app-2", "name": "Waiting", "organization": "acme", "owner": "bob",
             "keys": [{"keyManager": "idp", "consumerKey": "client-2", "keyType": "PRODUCTION"}]},
            {"id": "app-3", "name": "Greedy", "organization": "acme", "owner": "carol",
             "keys": [{"keyManager": "idp", "consumerKey": "client-3", "keyType": "PRODUCTION"}]}
        ],
        "subscriptions": [
            {"applicationId": "app-1", "apiId": "pets", "tier": "Unlimited"},
            {"applicationId": "app-1", "apiId": "orders", "tier": "Unlimited"},
            {"applicationId": "app-1", "apiId": "slow", "tier": "Unlimited"},
            {"applicationId": "app-2", "apiId": "pets", "tier": "Unlimited", "status": "ON_HOLD"},
            {"applicationId": "app-3", "apiId": "pets", "tier": "OnePerMinute"}
        ],
        "throttlingPolicies": [{
            "organization": "acme", "level": "subscription", "name": "OnePerMinute",
            "requests": 1, "periodSeconds": 60
        }]
    });
    let file = std::env::temp_dir().join(format!("gh-diagnostics-{}.json", std::process::id()));
    std::fs::write(&file, snapshot.to_string()).unwrap();
    let mut child = standalone(&file);
    let (traffic, admin) = started(&mut child);
    let _gw = Gw(child);
    let get = |path: &str, token: &str, extra: &[(&str, &str)]| {
        let auth = format!("Bearer {token}");
        let mut headers = vec![("Authorization", auth.as_str())];
        headers.extend_from_slice(extra);
        call(&traffic, "GET", path, &headers, "")
    };

    // Nothing failed yet: the report still has the snapshot and the phases.
    let r = report(&admin, 0);
    assert_eq!(r["snapshot"]["version"], 7);
    assert_eq!(r["snapshot"]["apis"], 3);
    assert_eq!(r["failures"]["recent"], json!([]));
    assert_eq!(r["gateway"]["cryptoProvider"], gateway::crypto::PROVIDER);
    assert_eq!(r["gateway"]["fips"], false);

    let shop = token(&signer, ISSUER, "client-1", "read");
    assert_eq!(get("/pets/1.0.0/items", &shop, &[]).0, 200);

    // 1. A subscription waiting for approval.
    let waiting = token(&signer, ISSUER, "client-2", "read");
    assert_eq!(get("/pets/1.0.0/items", &waiting, &[]).0, 403);
    let f = failure_of(&report(&admin, 0), "/pets/1.0.0/items");
    assert_eq!(f["phase"], "auth", "{f:#}");
    assert_eq!(f["status"], 403);
    assert!(f["cause"].as_str().unwrap().contains("ON_HOLD"), "{f:#}");
    assert_eq!(f["api"], "pets 1.0.0");
    assert_eq!(f["operation"], "GET /items");

    // 2. A key manager whose JWKS endpoint accepts and never answers.
    let slow = token(&signer, SLOW_ISSUER, "client-1", "read");
    let (s, _, body) = get("/slow/1.0.0/items", &slow, &[]);
    assert_eq!(s, 401, "{body}");
    // The caller learns why in a few words, without the key manager's address.
    assert!(body.contains("JWKS fetch failed: timeout"), "{body}");
    assert!(!body.contains(&jwks), "{body}");
    let r = report(&admin, 0);
    let f = failure_of(&r, "/slow/1.0.0/items");
    assert_eq!(f["phase"], "auth");
    assert!(
        f["cause"]
            .as_str()
            .unwrap()
            .contains("JWKS fetch failed: timeout"),
        "{f:#}"
    );
    let state = r["jwks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["url"].as_str().unwrap().contains(&jwks))
        .cloned()
        .unwrap();
    assert_eq!(state["problem"], "JWKS fetch failed: timeout", "{r:#}");

    // 3. A limiter used up (one request a minute).
    let greedy = token(&signer, ISSUER, "client-3", "read");
    assert_eq!(get("/pets/1.0.0/items", &greedy, &[]).0, 200);
    assert_eq!(get("/pets/1.0.0/items", &greedy, &[]).0, 429);
    let f = failure_of(&report(&admin, 0), "/pets/1.0.0/items");
    assert_eq!(f["phase"], "throttling", "{f:#}");
    assert_eq!(f["application"], "Greedy");
    assert!(
        f["cause"].as_str().unwrap().contains("OnePerMinute"),
        "{f:#}"
    );

    // 4. Every endpoint of a failover API refusing connections.
    let (s, _, body) = get("/orders/1.0.0/items", &shop, &[]);
    assert_eq!(s, 502, "{body}");
    let r = report(&admin, 0);
    let f = failure_of(&r, "/orders/1.0.0/items");
    assert_eq!(f["phase"], "backend", "{f:#}");
    let cause = f["cause"].as_str().unwrap();
    assert!(
        cause.contains(&format!("endpoint 1 (http://{down1})")),
        "{cause}"
    );
    assert!(
        cause.contains(&format!("endpoint 2 (http://{down2})")),
        "{cause}"
    );
    assert!(cause.contains("Connection refused"), "{cause}");
    assert!(cause.contains("failover exhausted"), "{cause}");
    let phases: Vec<&str> = f["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["phase"].as_str().unwrap())
        .collect();
    assert_eq!(phases, ["auth", "throttling", "backend"], "{f:#}");
    assert_eq!(f["phases"][2]["failed"], true);
    // Both endpoints are out of rotation now, and the report says so.
    let suspended = r["upstreams"]["suspendedEndpoints"].as_array().unwrap();
    assert_eq!(suspended.len(), 2, "{r:#}");
    assert!(suspended.iter().all(|e| e["api"] == "orders 1.0.0"));

    // Newest first, each with its own number; `since` returns only later ones.
    let recent = r["failures"]["recent"].as_array().unwrap();
    assert_eq!(recent.len(), 4, "{r:#}");
    assert_eq!(recent[0]["path"], "/orders/1.0.0/items");
    let last = r["failures"]["lastSeq"].as_u64().unwrap();
    assert_eq!(report(&admin, last)["failures"]["recent"], json!([]));
    assert_eq!(
        report(&admin, last - 1)["failures"]["recent"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Phase latencies: every request timed (auth ran for all 6 so far).
    let auth = r["phases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["phase"] == "auth")
        .cloned()
        .unwrap();
    assert_eq!(auth["count"], 6, "{r:#}");
    let total = r["phases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["phase"] == "total")
        .cloned()
        .unwrap();
    assert_eq!(total["count"], 6);
    // The JWKS request waited for its 5 s timeout: the slowest total is at least that.
    assert!(total["p99Ms"].as_f64().unwrap() >= 5000.0, "{total}");

    // The CLI prints the same, readably.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gateway"))
        .args(["diagnose", "--admin", &format!("http://{admin}")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "Snapshot version 7 (3 APIs)",
        "decided in auth: 403 Resource forbidden",
        "ON_HOLD",
        "JWKS fetch failed: timeout",
        "decided in throttling: 429",
        "decided in backend: 502",
        "failover exhausted",
        &format!("suspended: orders 1.0.0 → http://{down1}"),
        "PROBLEM: JWKS fetch failed: timeout",
        // A file-fed gateway without `[analytics] url` records none.
        "Analytics: off",
    ] {
        assert!(text.contains(needle), "`{needle}` missing from:\n{text}");
    }
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_gateway"))
        .args(["diagnose", "--admin", &format!("http://{}", closed_port())])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("cannot reach the gateway's admin port"));
    let (s, _, body) = call(&admin, "GET", "/diagnostics?since=x", &[], "");
    assert_eq!(s, 400);
    assert!(body.contains("since"), "{body}");

    // A debug trace: only for a token with the diagnostics scope, and only when asked.
    let debugger = token(&signer, ISSUER, "client-1", "read gatehouse:diagnostics");
    let (s, head, _) = get(
        "/pets/1.0.0/items",
        &debugger,
        &[("X-Gatehouse-Debug", "1")],
    );
    assert_eq!(s, 200);
    let timing = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("server-timing: ")
                .map(str::to_string)
        })
        .unwrap_or_else(|| panic!("no Server-Timing in {head}"));
    for phase in [
        "auth;dur=",
        "throttling;dur=",
        "backend;dur=",
        "gateway;dur=",
    ] {
        assert!(timing.contains(phase), "{timing}");
    }
    let (_, head, _) = get("/pets/1.0.0/items", &debugger, &[]);
    assert!(
        !head.to_ascii_lowercase().contains("server-timing"),
        "not asked: {head}"
    );
    let (_, head, _) = get("/pets/1.0.0/items", &shop, &[("X-Gatehouse-Debug", "1")]);
    assert!(
        !head.to_ascii_lowercase().contains("server-timing"),
        "no scope: {head}"
    );
}
