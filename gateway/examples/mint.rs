//! Test and benchmark helper: prints the public JWK of an RSA PKCS#8 key, or signs tokens with it.
//!   cargo run --release -p gateway --example mint -- jwk KEY.pk8
//!   cargo run --release -p gateway --example mint -- tokens KEY.pk8 ISSUER CLIENT N [TTL_SECONDS]

use gateway::jwt::{Algorithm, Signer};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: mint jwk KEY.pk8 | mint tokens KEY.pk8 ISSUER CLIENT N [TTL_SECONDS]";
    let (Some(cmd), Some(key)) = (args.first(), args.get(1)) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let der = std::fs::read(key).unwrap_or_else(|e| {
        eprintln!("{key}: {e}");
        std::process::exit(2)
    });
    let signer = Signer::from_pkcs8("bench", Algorithm::RS256, &der).unwrap_or_else(|e| {
        eprintln!("{key}: {e}");
        std::process::exit(2)
    });
    match (cmd.as_str(), args.get(2), args.get(3), args.get(4)) {
        ("jwk", ..) => println!("{}", signer.public_jwk()),
        ("tokens", Some(issuer), Some(client), Some(n)) => {
            let n: usize = n.parse().unwrap_or(1);
            let ttl: i64 = args.get(5).and_then(|t| t.parse().ok()).unwrap_or(3600);
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0);
            for i in 0..n {
                let claims = serde_json::json!({
                    "iss": issuer, "sub": "bench", "azp": client, "iat": now,
                    "exp": now + ttl, "jti": format!("bench-{now}-{i}"), "scope": "default"
                });
                println!("{}", signer.sign(&claims).expect("sign"));
            }
        }
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    }
}
