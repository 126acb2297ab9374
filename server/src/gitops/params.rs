//! Parameter files: what differs per environment (endpoints, deployments, secrets) kept out of
//! the configuration and applied by the CLI before an import. `${NAME}` in a value is read
//! from the process environment, so secrets stay in the CI's secret store:
//!
//! ```yaml
//! apis:
//!   PizzaShackAPI:1.0.0:            # name:version; any field of api.yaml, replaced whole
//!     endpointConfig:
//!       endpoint_type: http
//!       production_endpoints: { url: "https://pizza.prod.internal/v1" }
//!     deployments: [{ name: Default, vhost: api.example.com }]
//! applications:
//!   alice/Shop:                     # owner/name
//!     keys:
//!       PRODUCTION:                 # the key type (PRODUCTION@Okta for another key manager)
//!         consumerSecret: ${SHOP_PROD_SECRET}
//!     throttlingPolicy: 50PerMin    # any other field of the application file
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::Bundle;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Params {
    #[serde(default)]
    apis: BTreeMap<String, Map<String, Value>>,
    #[serde(default)]
    api_products: BTreeMap<String, Map<String, Value>>,
    #[serde(default)]
    applications: BTreeMap<String, Map<String, Value>>,
}

/// Replaces `${NAME}` in every string of `v` with `env(NAME)`; names that are not set are
/// collected in `missing`.
fn substitute(v: &mut Value, env: &dyn Fn(&str) -> Option<String>, missing: &mut Vec<String>) {
    match v {
        Value::String(s) if s.contains("${") => {
            let mut out = String::new();
            let mut rest = s.as_str();
            while let Some(start) = rest.find("${") {
                out.push_str(&rest[..start]);
                let after = &rest[start + 2..];
                let Some(end) = after.find('}') else {
                    out.push_str(&rest[start..]);
                    rest = "";
                    break;
                };
                let name = &after[..end];
                match env(name) {
                    Some(value) => out.push_str(&value),
                    None => missing.push(name.to_string()),
                }
                rest = &after[end + 1..];
            }
            out.push_str(rest);
            *s = out;
        }
        Value::Array(items) => items.iter_mut().for_each(|i| substitute(i, env, missing)),
        Value::Object(o) => o.values_mut().for_each(|i| substitute(i, env, missing)),
        _ => {}
    }
}

fn parse(path: &str, text: &str) -> Result<Value, String> {
    serde_norway::from_str(text).map_err(|e| format!("{path}: not YAML: {e}"))
}

fn render(v: &Value) -> String {
    serde_norway::to_string(v).expect("JSON values render as YAML")
}

/// The file of the object named `key` under `root` (`apis`: `name:version` in `*/api.yaml`;
/// `applications`: `owner/name`).
fn find(bundle: &Bundle, root: &str, key: &str) -> Option<(String, Value)> {
    for (path, text) in &bundle.files {
        let Some(rest) = path.strip_prefix(&format!("{root}/")) else {
            continue;
        };
        let api_like = root != "applications";
        if api_like && !rest.ends_with("/api.yaml") || rest.matches('/').count() != 1 {
            continue;
        }
        let Ok(v) = parse(path, text) else { continue };
        let s = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let name = if api_like {
            format!("{}:{}", s("name"), s("version"))
        } else {
            format!("{}/{}", s("owner"), s("name"))
        };
        if name == key {
            return Some((path.clone(), v));
        }
    }
    None
}

/// Applies a parameter file to a configuration. Every problem is reported at once (unknown
/// objects, unset variables, a key type the application does not have).
pub fn apply(
    bundle: &mut Bundle,
    source: &str,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), Vec<String>> {
    let mut value = parse(source, text).map_err(|e| vec![e])?;
    if value.is_null() {
        return Ok(());
    }
    let mut missing = vec![];
    substitute(&mut value, env, &mut missing);
    let mut problems: Vec<String> = missing
        .into_iter()
        .map(|m| format!("{source}: the environment variable {m} is not set"))
        .collect();
    let params: Params = match serde_path_to_error::deserialize(value) {
        Ok(p) => p,
        Err(e) => {
            problems.push(format!("{source}: {}: {}", e.path(), e.inner()));
            return Err(problems);
        }
    };
    for (root, set) in [
        ("apis", &params.apis),
        ("api-products", &params.api_products),
    ] {
        for (key, fields) in set {
            let Some((path, mut v)) = find(bundle, root, key) else {
                problems.push(format!(
                    "{source}: {root}.{key}: no such API in the configuration (name:version)"
                ));
                continue;
            };
            if let Some(o) = v.as_object_mut() {
                for (k, f) in fields {
                    o.insert(k.clone(), f.clone());
                }
            }
            bundle.files.insert(path, render(&v));
        }
    }
    for (key, fields) in &params.applications {
        let Some((path, mut v)) = find(bundle, "applications", key) else {
            problems.push(format!(
                "{source}: applications.{key}: no such application in the configuration (owner/name)"
            ));
            continue;
        };
        for (k, f) in fields {
            if k != "keys" {
                v[k] = f.clone();
                continue;
            }
            let Some(by_type) = f.as_object() else {
                problems.push(format!(
                    "{source}: applications.{key}.keys: a map of key types"
                ));
                continue;
            };
            for (kt, settings) in by_type {
                let (key_type, manager) = match kt.split_once('@') {
                    Some((t, m)) => (t, Some(m)),
                    None => (kt.as_str(), None),
                };
                let target = v
                    .get_mut("keys")
                    .and_then(Value::as_array_mut)
                    .and_then(|keys| {
                        keys.iter_mut().find(|k| {
                            k["keyType"].as_str() == Some(key_type)
                                && manager.is_none_or(|m| k["keyManager"].as_str() == Some(m))
                        })
                    });
                match (target.and_then(Value::as_object_mut), settings.as_object()) {
                    (Some(t), Some(s)) => {
                        for (sk, sv) in s {
                            t.insert(sk.clone(), sv.clone());
                        }
                    }
                    (None, _) => problems.push(format!(
                        "{source}: applications.{key}.keys.{kt}: the application has no such key"
                    )),
                    (_, None) => problems.push(format!(
                        "{source}: applications.{key}.keys.{kt}: a map of fields"
                    )),
                }
            }
        }
        bundle.files.insert(path, render(&v));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle() -> Bundle {
        let mut b = Bundle::default();
        b.files.insert(
            "apis/Pizza-1.0.0/api.yaml".into(),
            "name: Pizza\nversion: 1.0.0\ncontext: /pizza\nendpointConfig: null\n".into(),
        );
        b.files.insert(
            "applications/alice/Shop.yaml".into(),
            "name: Shop\nowner: alice\nkeys:\n- keyManager: Resident Key Manager\n  keyType: PRODUCTION\n  consumerKey: abc\n".into(),
        );
        b
    }

    fn env(name: &str) -> Option<String> {
        (name == "SHOP_SECRET").then(|| "s3cret-from-env".to_string())
    }

    #[test]
    fn values_replace_fields_and_variables_come_from_the_environment() {
        let mut b = bundle();
        let params = "apis:\n  Pizza:1.0.0:\n    endpointConfig: {endpoint_type: http, production_endpoints: {url: 'http://prod:8080/${NOPE_NOT_HERE:-x}'}}\napplications:\n  alice/Shop:\n    throttlingPolicy: Gold\n    keys:\n      PRODUCTION:\n        consumerSecret: ${SHOP_SECRET}\n";
        let err = apply(&mut b, "params/prod.yaml", params, &env).unwrap_err();
        assert_eq!(
            err,
            vec!["params/prod.yaml: the environment variable NOPE_NOT_HERE:-x is not set"]
        );
        let params = params.replace("/${NOPE_NOT_HERE:-x}", "/v1");
        apply(&mut b, "params/prod.yaml", &params, &env).unwrap();
        let api: Value = serde_norway::from_str(&b.files["apis/Pizza-1.0.0/api.yaml"]).unwrap();
        assert_eq!(
            api["endpointConfig"]["production_endpoints"]["url"],
            "http://prod:8080/v1"
        );
        let app: Value = serde_norway::from_str(&b.files["applications/alice/Shop.yaml"]).unwrap();
        assert_eq!(app["keys"][0]["consumerSecret"], "s3cret-from-env");
        assert_eq!(app["throttlingPolicy"], "Gold");
    }

    #[test]
    fn unknown_objects_and_keys_are_refused() {
        let mut b = bundle();
        let params = "apis:\n  Pizza:2.0.0: {context: /x}\napplications:\n  bob/Shop: {}\n  alice/Shop:\n    keys:\n      SANDBOX: {consumerSecret: x}\nendpoints: {}\n";
        let err = apply(&mut b, "p.yaml", params, &env).unwrap_err();
        assert_eq!(err.len(), 1, "{err:?}");
        assert!(err[0].contains("endpoints"), "{err:?}");
        let params = "apis:\n  Pizza:2.0.0: {context: /x}\napplications:\n  bob/Shop: {}\n  alice/Shop:\n    keys:\n      SANDBOX: {consumerSecret: x}\n";
        let err = apply(&mut b, "p.yaml", params, &env).unwrap_err();
        assert_eq!(err.len(), 3, "{err:?}");
        assert!(err.iter().any(|e| e.contains("apis.Pizza:2.0.0")));
        assert!(err.iter().any(|e| e.contains("applications.bob/Shop")));
        assert!(err.iter().any(|e| e.contains("keys.SANDBOX")));
    }
}
