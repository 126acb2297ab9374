//! The gateway binary refusing bad tokens: a standalone snapshot with one key manager (an
//! issuer whose key this test holds), one subscribed application, a real backend. A valid token
//! passes; missing, expired, not-yet-valid, wrong-issuer, wrong-audience, tampered, `alg: none`
//! and HS256-signed-with-the-public-key tokens get 401; a valid token of an unsubscribed client
//! gets 403.

mod common;

use std::io::Write;
use std::net::TcpListener;
use std::process::Child;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{call, ok_backend, read_head, standalone, started};
use gateway::jwt::{Algorithm, Signer};
use serde_json::{Value, json};

const KEY: &[u8] = include_bytes!("keys/rsa2048.pk8");
const PUBLIC_PEM: &str = include_str!("keys/rsa2048.pub.pem");
const ISSUER: &str = "https://idp.example.test";

struct Gw(Child, String);

impl Drop for Gw {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn claims(client: &str) -> Value {
    json!({"iss": ISSUER, "sub": "alice", "aud": "gatehouse", "azp": client,
           "exp": now() + 300, "iat": now(), "jti": format!("jti-{client}-{}", now()),
           "scope": "pets:read"})
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

#[test]
fn bad_tokens_are_refused_and_good_ones_pass() {
    let signer = Signer::from_pkcs8("k1", Algorithm::RS256, KEY).unwrap();
    let backend = ok_backend();
    let snapshot = json!({
        "version": 1,
        "apis": [{
            "id": "pets", "name": "Pets", "context": "/pets", "version": "1.0.0",
            "organization": "acme",
            "endpoints": {"production": {"urls": [format!("http://{backend}")]}},
            "security": {"oauth2": true},
            "operations": [{"method": "GET", "target": "/pets", "scopes": ["pets:read"]}]
        }],
        "keyManagers": [{
            "name": "idp", "organization": "acme", "issuer": ISSUER,
            "jwks": {"keys": [signer.public_jwk()]}, "audiences": ["gatehouse"]
        }],
        "applications": [{
            "id": "app-1", "name": "App", "organization": "acme", "owner": "alice",
            "keys": [{"keyManager": "idp", "consumerKey": "client-1", "keyType": "PRODUCTION"},
                     {"keyManager": "idp", "consumerKey": "client-2", "keyType": "PRODUCTION"}]
        }, {
            "id": "app-2", "name": "Unsubscribed", "organization": "acme", "owner": "bob",
            "keys": [{"keyManager": "idp", "consumerKey": "client-3", "keyType": "PRODUCTION"}]
        }],
        "subscriptions": [{"applicationId": "app-1", "apiId": "pets", "tier": "Gold"}]
    });
    let file = std::env::temp_dir().join(format!("gh-security-{}.json", std::process::id()));
    std::fs::write(&file, snapshot.to_string()).unwrap();
    let mut child = standalone(&file);
    let (traffic, _) = started(&mut child);
    let gw = Gw(child, traffic);
    let status = |token: &str| {
        let auth = format!("Bearer {token}");
        call(
            &gw.1,
            "GET",
            "/pets/1.0.0/pets",
            &[("Authorization", &auth)],
            "",
        )
    };

    let good = signer.sign(&claims("client-1")).unwrap();
    let (s, _, body) = status(&good);
    assert_eq!((s, body.as_str()), (200, "{\"ok\":true}"));
    // The cached path gives the same answer.
    assert_eq!(status(&good).0, 200);

    let (s, head, _) = call(&gw.1, "GET", "/pets/1.0.0/pets", &[], "");
    assert_eq!(s, 401);
    assert!(
        head.to_ascii_lowercase()
            .contains("www-authenticate: bearer")
    );

    let refused = |what: &str, token: String| {
        let (s, _, body) = status(&token);
        assert_eq!(s, 401, "{what}: {body}");
    };
    let mut c = claims("client-1");
    c["exp"] = json!(now() - 3600);
    refused("expired", signer.sign(&c).unwrap());
    let mut c = claims("client-1");
    c["nbf"] = json!(now() + 3600);
    refused("not yet valid", signer.sign(&c).unwrap());
    let mut c = claims("client-1");
    c["iss"] = json!("https://evil.example.test");
    refused("wrong issuer", signer.sign(&c).unwrap());
    let mut c = claims("client-1");
    c["aud"] = json!("someone-else");
    refused("wrong audience", signer.sign(&c).unwrap());
    let (head, _) = good.rsplit_once('.').unwrap();
    let (header, _) = head.split_once('.').unwrap();
    let mut c = claims("client-1");
    c["sub"] = json!("mallory");
    refused(
        "tampered payload",
        format!("{header}.{}.{}", b64(&c), good.rsplit_once('.').unwrap().1),
    );
    refused(
        "alg none",
        format!(
            "{}.{}.",
            b64(&json!({"alg": "none", "typ": "JWT"})),
            b64(&claims("client-1"))
        ),
    );
    // HS256 "signed" with the public key as the HMAC secret (the classic confusion attack).
    let signing_input = format!(
        "{}.{}",
        b64(&json!({"alg": "HS256", "typ": "JWT", "kid": "k1"})),
        b64(&claims("client-1"))
    );
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, PUBLIC_PEM.as_bytes());
    let tag = ring::hmac::sign(&key, signing_input.as_bytes());
    refused(
        "HS256 with the public key",
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref())),
    );
    // A refresh token is not an access token.
    let mut c = claims("client-1");
    c["token_use"] = json!("refresh");
    refused("refresh token", signer.sign(&c).unwrap());
    // A key this gateway does not trust.
    let (other, _) = Signer::generate_es256("k1").unwrap();
    refused("foreign key", other.sign(&claims("client-1")).unwrap());

    // Valid, but the client's application is not subscribed: 403 saying so.
    let (s, _, body) = status(&signer.sign(&claims("client-3")).unwrap());
    assert_eq!(s, 403, "{body}");
    assert!(body.contains("not subscribed"), "{body}");
    // Valid, but without the operation's scope: 403 naming it.
    let mut c = claims("client-2");
    c["scope"] = json!("other");
    let (s, _, body) = status(&signer.sign(&c).unwrap());
    assert_eq!(s, 403, "{body}");
    assert!(body.contains("pets:read"), "{body}");

    // The key manager's key is replaced (say it leaked): tokens verified under the old key are
    // forgotten, even though the cache still holds `good`.
    let (other, _) = Signer::generate_es256("k2").unwrap();
    let mut next = snapshot.clone();
    next["version"] = json!(2);
    next["keyManagers"][0]["jwks"] = json!({"keys": [other.public_jwk()]});
    std::fs::write(&file, next.to_string()).unwrap();
    let started = std::time::Instant::now();
    while status(&good).0 != 401 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(3),
            "a token of the removed key still passes"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = std::fs::remove_file(&file);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn api_keys_honour_header_expiry_ip_and_referrer_limits() {
    let backend = ok_backend();
    let key = |k: &str| hex(&gateway::auth::sha256(k.as_bytes()));
    let snapshot = json!({
        "version": 1,
        "apis": [{
            "id": "pets", "name": "Pets", "context": "/pets", "version": "1.0.0",
            "endpoints": {"production": {"urls": [format!("http://{backend}")]}},
            "security": {"oauth2": false, "apiKey": true, "apiKeyHeader": "X-Key"},
            "operations": [{"method": "GET", "target": "/pets"}]
        }],
        "applications": [{"id": "app-1", "name": "App", "owner": "alice"}],
        "subscriptions": [{"applicationId": "app-1", "apiId": "pets"}],
        "apiKeys": [
            {"sha256": key("good"), "applicationId": "app-1"},
            {"sha256": key("expired"), "applicationId": "app-1", "expiresAt": now() - 10},
            {"sha256": key("office"), "applicationId": "app-1", "permittedIps": ["10.0.0.0/8"]},
            {"sha256": key("local"), "applicationId": "app-1", "permittedIps": ["127.0.0.0/8", "::1"]},
            {"sha256": key("shop"), "applicationId": "app-1", "permittedReferrers": ["https://shop.example/*"]}
        ]
    });
    let file = std::env::temp_dir().join(format!("gh-apikeys-{}.json", std::process::id()));
    std::fs::write(&file, snapshot.to_string()).unwrap();
    let mut child = standalone(&file);
    let (traffic, _) = started(&mut child);
    let gw = Gw(child, traffic);
    let status = |headers: &[(&str, &str)]| call(&gw.1, "GET", "/pets/1.0.0/pets", headers, "").0;
    assert_eq!(status(&[("X-Key", "good")]), 200);
    assert_eq!(status(&[("ApiKey", "good")]), 401, "only the API's header");
    assert_eq!(
        status(&[("Authorization", "Bearer good")]),
        401,
        "no OAuth2 on this API"
    );
    assert_eq!(status(&[("X-Key", "unknown")]), 401);
    assert_eq!(status(&[("X-Key", "expired")]), 401);
    assert_eq!(
        status(&[("X-Key", "office")]),
        403,
        "127.0.0.1 is not in 10.0.0.0/8"
    );
    assert_eq!(status(&[("X-Key", "local")]), 200);
    assert_eq!(status(&[("X-Key", "shop")]), 403, "no Referer");
    assert_eq!(
        status(&[("X-Key", "shop"), ("Referer", "https://evil.example/")]),
        403
    );
    assert_eq!(
        status(&[("X-Key", "shop"), ("Referer", "https://shop.example/cart")]),
        200
    );
    let _ = std::fs::remove_file(&file);
}

/// A backend answering 200 with the names of the request headers it got, one per line.
fn header_names_ok_backend() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for mut s in l.incoming().map_while(Result::ok) {
            let seen = read_head(&mut s);
            let head = String::from_utf8_lossy(&seen).to_ascii_lowercase();
            let names: Vec<&str> = head
                .lines()
                .skip(1)
                .filter_map(|l| l.split_once(':').map(|(n, _)| n))
                .collect();
            let body = names.join("\n");
            let _ = s.write_all(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            );
        }
    });
    addr
}

/// The `backendJwt` policy turns the backend JWT off for one operation of an API that sends
/// it, and on for an API that does not; the `jwtClaimRule` policy lets through only tokens
/// whose claim (a list here) holds an allowed value.
#[test]
fn backend_jwt_and_claim_rule_policies_follow_the_token() {
    let signer = Signer::from_pkcs8("k1", Algorithm::RS256, KEY).unwrap();
    let backend = header_names_ok_backend();
    let endpoints = json!({"production": {"urls": [format!("http://{backend}")]}});
    let off = json!({"request": [{"policyName": "backendJwt", "parameters": {"enabled": false}}]});
    let on = json!({"request": [{"policyName": "backendJwt", "parameters": {"enabled": "true"}}]});
    let snapshot = json!({
        "version": 1,
        "apis": [{
            "id": "pets", "name": "Pets", "context": "/pets", "version": "1.0.0",
            "organization": "acme", "endpoints": endpoints,
            "security": {"oauth2": true, "backendJwt": {}},
            "operations": [{"method": "GET", "target": "/pets"},
                           {"method": "GET", "target": "/quiet", "policies": off},
                           {"method": "GET", "target": "/club", "policies": {"request": [
                               {"policyName": "jwtClaimRule",
                                "parameters": {"claim": "groups", "values": "gold, silver"}}]}}]
        }, {
            "id": "toys", "name": "Toys", "context": "/toys", "version": "1.0.0",
            "organization": "acme", "endpoints": endpoints,
            "security": {"oauth2": true},
            "policies": on,
            "operations": [{"method": "GET", "target": "/toys"}]
        }],
        "keyManagers": [{
            "name": "idp", "organization": "acme", "issuer": ISSUER,
            "jwks": {"keys": [signer.public_jwk()]}, "audiences": ["gatehouse"]
        }],
        "applications": [{
            "id": "app-1", "name": "App", "organization": "acme", "owner": "alice",
            "keys": [{"keyManager": "idp", "consumerKey": "client-1", "keyType": "PRODUCTION"}]
        }],
        "subscriptions": [{"applicationId": "app-1", "apiId": "pets", "tier": "Gold"},
                          {"applicationId": "app-1", "apiId": "toys", "tier": "Gold"}],
        "backendJwtKey": {"kid": "env",
            "pkcs8": base64::engine::general_purpose::STANDARD.encode(KEY)}
    });
    let file = std::env::temp_dir().join(format!("gh-backend-jwt-{}.json", std::process::id()));
    std::fs::write(&file, snapshot.to_string()).unwrap();
    let mut child = standalone(&file);
    let (traffic, _) = started(&mut child);
    let gw = Gw(child, traffic);
    let auth = format!("Bearer {}", signer.sign(&claims("client-1")).unwrap());
    let names = |path: &str| {
        let (s, _, body) = call(&gw.1, "GET", path, &[("Authorization", &auth)], "");
        assert_eq!(s, 200, "{path}: {body}");
        body
    };
    assert!(names("/pets/1.0.0/pets").contains("x-jwt-assertion"));
    let quiet = names("/pets/1.0.0/quiet");
    assert!(!quiet.contains("x-jwt-assertion"), "{quiet}");
    assert!(
        !quiet.contains("authorization"),
        "the token reached the backend: {quiet}"
    );
    assert!(names("/toys/1.0.0/toys").contains("x-jwt-assertion"));

    let club = |groups: Option<Value>| {
        let mut c = claims("client-1");
        if let Some(g) = groups {
            c["groups"] = g;
        }
        let auth = format!("Bearer {}", signer.sign(&c).unwrap());
        let (s, _, body) = call(
            &gw.1,
            "GET",
            "/pets/1.0.0/club",
            &[("Authorization", &auth)],
            "",
        );
        (s, body)
    };
    assert_eq!(club(Some(json!(["bronze", "silver"]))).0, 200);
    assert_eq!(club(Some(json!("gold"))).0, 200);
    let (s, body) = club(Some(json!(["bronze"])));
    assert_eq!(s, 403, "{body}");
    assert!(body.contains("claim groups does not allow"), "{body}");
    let (s, body) = club(None);
    assert_eq!(s, 403, "{body}");
    assert!(
        body.contains("needs a token with the claim groups"),
        "{body}"
    );
    let _ = std::fs::remove_file(&file);
}
