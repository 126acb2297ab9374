//! The Kubernetes manifests in deploy/kubernetes hold together: every file the kustomization
//! names exists and parses; the settings file of the ConfigMap, with the variables each
//! Deployment sets (secret values from secret.example.yaml), loads in the server and in the
//! gateway (both refuse unknown keys, so a misspelt key fails here); the commands point at the
//! mounted file with each binary's own flag; probes hit `/ready` and `/health` on declared
//! ports; every Service selects a Deployment's pods and targets a declared port.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gateway::settings::Sources;
use serde_json::Value;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/kubernetes")
}

fn documents(file: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(file).unwrap();
    text.split("\n---\n")
        .filter(|d| {
            d.lines()
                .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        })
        .map(|d| serde_norway::from_str(d).unwrap_or_else(|e| panic!("{}: {e}", file.display())))
        .collect()
}

#[test]
fn the_manifests_hold_together() {
    let kustomization = documents(&dir().join("kustomization.yaml")).remove(0);
    let mut all: Vec<Value> = Vec::new();
    for r in kustomization["resources"].as_array().unwrap() {
        let file = dir().join(r.as_str().unwrap());
        assert!(file.exists(), "{} is listed but missing", file.display());
        all.extend(documents(&file));
    }
    let secret = documents(&dir().join("secret.example.yaml")).remove(0);
    let secrets = secret["stringData"].as_object().unwrap();
    let config = all
        .iter()
        .find(|d| d["kind"] == "ConfigMap")
        .expect("a ConfigMap");
    let settings_file = std::env::temp_dir().join(format!("gh-k8s-{}.toml", std::process::id()));
    std::fs::write(
        &settings_file,
        config["data"]["gatehouse.toml"].as_str().unwrap(),
    )
    .unwrap();

    let deployments: Vec<&Value> = all.iter().filter(|d| d["kind"] == "Deployment").collect();
    assert_eq!(
        deployments.len(),
        2,
        "the server and one environment's gateways"
    );
    let mut ports_of: BTreeMap<String, (Value, Vec<String>)> = BTreeMap::new();
    for d in &deployments {
        let name = d["metadata"]["name"].as_str().unwrap().to_string();
        assert!(
            d["spec"]["replicas"].as_u64().unwrap() >= 2,
            "{name}: several replicas"
        );
        let pod = &d["spec"]["template"];
        assert_eq!(
            pod["metadata"]["labels"], d["spec"]["selector"]["matchLabels"],
            "{name}"
        );
        let c = &pod["spec"]["containers"][0];
        let ports: Vec<String> = c["ports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect();
        for (probe, path) in [("readinessProbe", "/ready"), ("livenessProbe", "/health")] {
            assert_eq!(c[probe]["httpGet"]["path"], path, "{name} {probe}");
            let port = c[probe]["httpGet"]["port"].as_str().unwrap();
            assert!(
                ports.iter().any(|p| p == port),
                "{name} {probe}: no port {port}"
            );
        }
        // The variables this container gets (secrets from the example Secret).
        let env: Vec<(String, String)> = c["env"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let value = match e["valueFrom"]["secretKeyRef"]["key"].as_str() {
                    Some(key) => secrets[key].as_str().unwrap().to_string(),
                    None => e["value"].as_str().unwrap().to_string(),
                };
                (e["name"].as_str().unwrap().to_string(), value)
            })
            .collect();
        // The file is mounted where the command reads it.
        let command: Vec<&str> = c["command"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let mount = c["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == "config")
            .unwrap()["mountPath"]
            .as_str()
            .unwrap();
        let mounted = format!("{mount}/gatehouse.toml");
        let sources = Sources {
            file: Some(settings_file.clone()),
            env,
        };
        match command[0] {
            "/usr/local/bin/server" => {
                assert_eq!(command[1..], ["--config", mounted.as_str()], "{name}");
                let s = server::config::Settings::load(&sources)
                    .unwrap_or_else(|e| panic!("{name}: the server refuses its settings: {e}"));
                assert_eq!(s.server.addr.port(), 3000);
            }
            "/usr/local/bin/gateway" => {
                assert_eq!(command[1..], ["--settings", mounted.as_str()], "{name}");
                let g = gateway::config::GatewayConfig::load(&sources)
                    .unwrap_or_else(|e| panic!("{name}: the gateway refuses its settings: {e}"));
                assert!(g.gateway.token.is_some(), "{name}: a gateway token");
                assert!(g.gateway.redis_url.is_some(), "{name}: shared limits");
                let cp = g.gateway.control_plane.clone().unwrap();
                let server_service = all
                    .iter()
                    .find(|d| d["kind"] == "Service" && d["metadata"]["name"] == "gatehouse-server")
                    .expect("the server's Service");
                let port = server_service["spec"]["ports"][0]["port"].as_u64().unwrap();
                assert_eq!(cp, format!("http://gatehouse-server:{port}"), "{name}");
            }
            other => panic!("{name}: unexpected command {other}"),
        }
        ports_of.insert(name, (pod["metadata"]["labels"].clone(), ports));
    }
    for s in all.iter().filter(|d| d["kind"] == "Service") {
        let name = s["metadata"]["name"].as_str().unwrap();
        let selector = s["spec"]["selector"].as_object().unwrap();
        let (_, ports) = ports_of
            .values()
            .find(|(labels, _)| selector.iter().all(|(k, v)| &labels[k] == v))
            .unwrap_or_else(|| panic!("Service {name} selects no Deployment's pods"));
        for p in s["spec"]["ports"].as_array().unwrap() {
            let target = p["targetPort"].as_str().unwrap();
            assert!(
                ports.iter().any(|n| n == target),
                "Service {name}: no port {target}"
            );
        }
    }
    let _ = std::fs::remove_file(&settings_file);
}
