//! An API revision deployed to a `kubernetes` environment, as Kubernetes Gateway API resources
//! (the APK direction of WSO2 4.3): an existing Gateway API implementation serves the API.
//!
//! - `HTTPRoute`s (16 rules each at most, the API's limit): one rule per operation, matching
//!   its method and path — `Exact` for a fixed path, `PathPrefix` on the fixed part of a
//!   templated one (`/items/{id}` → prefix `/items`) —, with the context and version rewritten
//!   to the endpoint's base path (`ReplaceFullPath` / `ReplacePrefixMatch`), the backend timeout,
//!   header policies as `RequestHeaderModifier` / `ResponseHeaderModifier`, and the default
//!   version's unversioned path as a second match.
//! - Backends: an endpoint inside the cluster (`svc.namespace.svc[.cluster.local]`) is referenced
//!   directly; any other host gets an `ExternalName` `Service`. Load-balanced endpoints become
//!   equal-weight `backendRefs`.
//! - What the Gateway API cannot say is listed in the `gatehouse.io/not-mapped` annotation and
//!   a comment: authentication, rate limits, failover, sandbox endpoints, other policies.

use gateway::policy::{Flow, Step};
use gateway::snapshot::{Api, EndpointKind};
use serde_json::{Value, json};
use sqlx::types::Json;

use super::{Actor, Publisher};
use crate::error::ApiError;

impl Publisher {
    /// The Gateway API resources of the revision of API `id` deployed to the `kubernetes`
    /// environment `environment` (YAML). `gateway`: the `Gateway` to attach to (default: the
    /// environment's name as a DNS label), in `gateway_namespace`.
    pub async fn kubernetes_resources(
        &self,
        actor: &Actor,
        id: &str,
        environment: &str,
        gateway: Option<&str>,
        gateway_namespace: Option<&str>,
        product: bool,
    ) -> Result<String, ApiError> {
        let row = self.load(actor, id, product).await?;
        type Row = (Json<Api>, String, String, i32);
        let deployed: Option<Row> = sqlx::query_as(
            "SELECT d.artifact, d.vhost, e.gateway_type, r.number
               FROM api_deployment d
               JOIN gateway_environment e ON e.id = d.environment_id
               JOIN api_revision r ON r.id = d.revision_id
              WHERE d.api_id = $1 AND e.name = $2",
        )
        .bind(row.id)
        .bind(environment)
        .fetch_optional(&self.db)
        .await?;
        let Some((Json(api), vhost, gateway_type, revision)) = deployed else {
            return Err(ApiError::NotFound(format!(
                "This API has no revision deployed to {environment}"
            )));
        };
        if gateway_type != "kubernetes" {
            return Err(ApiError::field(
                "environment",
                format!(
                    "{environment} is a native environment: its Gatehouse gateways serve the API \
                     themselves; Kubernetes resources are for kubernetes (APK) environments"
                ),
            ));
        }
        for (name, value) in [
            ("gatewayName", gateway),
            ("gatewayNamespace", gateway_namespace),
        ] {
            if let Some(v) = value
                && label(v, 63) != v
            {
                return Err(ApiError::field(
                    name,
                    "must be a DNS label: lowercase letters, digits and '-', at most 63",
                ));
            }
        }
        let default_gateway = label(environment, 63);
        render(
            &api,
            &Target {
                environment,
                hostname: &vhost,
                gateway: gateway.unwrap_or(&default_gateway),
                gateway_namespace,
                revision,
            },
        )
        .map_err(|e| ApiError::Conflict {
            message: format!("This deployment cannot be expressed for Kubernetes: {e}"),
            errors: Vec::new(),
        })
    }
}

/// Rules per HTTPRoute (Gateway API v1: `maxItems: 16`).
const RULES_PER_ROUTE: usize = 16;

/// Where the routes attach.
pub struct Target<'a> {
    pub environment: &'a str,
    /// The deployment's virtual host.
    pub hostname: &'a str,
    /// The `Gateway` the routes attach to, and its namespace (none: the routes' own).
    pub gateway: &'a str,
    pub gateway_namespace: Option<&'a str>,
    /// The revision's number, for the labels.
    pub revision: i32,
}

/// A DNS-1123 label: lowercase letters, digits and `-`, at most `max` characters.
pub fn label(text: &str, max: usize) -> String {
    let mut out = String::new();
    for c in text.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let mut out: String = out.trim_end_matches('-').chars().take(max).collect();
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() { "api".into() } else { out }
}

struct Url {
    https: bool,
    host: String,
    port: u16,
    path: String,
}

fn parse_url(url: &str) -> Option<Url> {
    let (https, rest) = if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else {
        (false, url.strip_prefix("http://")?)
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => {
            (h.to_string(), p.parse().ok()?)
        }
        _ => (authority.to_string(), if https { 443 } else { 80 }),
    };
    Some(Url {
        https,
        host,
        port,
        path: path.trim_end_matches('/').to_string(),
    })
}

/// `name.namespace.svc[.cluster.local]` → (name, namespace).
fn in_cluster(host: &str) -> Option<(&str, &str)> {
    let rest = host
        .strip_suffix(".svc.cluster.local")
        .or_else(|| host.strip_suffix(".svc"))?;
    let (name, namespace) = rest.split_once('.')?;
    (!namespace.contains('.')).then_some((name, namespace))
}

/// The header policies of `steps` as Gateway API filters; what else there is, named.
fn header_filters(
    steps: impl Iterator<Item = (Flow, Step)>,
    not_mapped: &mut Vec<String>,
) -> Vec<Value> {
    let mut request = (Vec::new(), Vec::new(), Vec::new());
    let mut response = (Vec::new(), Vec::new(), Vec::new());
    for (flow, step) in steps {
        let side = match flow {
            Flow::Request => &mut request,
            Flow::Response => &mut response,
            Flow::Fault => {
                not_mapped.push("fault-flow policies".into());
                continue;
            }
        };
        match step {
            Step::AddHeader(name, value) => side.0.push(json!({"name": name, "value": value})),
            Step::SetHeader(name, value) => side.1.push(json!({"name": name, "value": value})),
            Step::RemoveHeader(name) => side.2.push(json!(name)),
            other => {
                let name = format!("{other:?}");
                let name = name
                    .split(['(', ' ', '{'])
                    .next()
                    .unwrap_or_default()
                    .to_string();
                not_mapped.push(format!("policy {name}"));
            }
        }
    }
    let mut filters = Vec::new();
    for (kind, (add, set, remove)) in [
        ("RequestHeaderModifier", request),
        ("ResponseHeaderModifier", response),
    ] {
        if add.is_empty() && set.is_empty() && remove.is_empty() {
            continue;
        }
        let mut m = serde_json::Map::new();
        if !add.is_empty() {
            m.insert("add".into(), json!(add));
        }
        if !set.is_empty() {
            m.insert("set".into(), json!(set));
        }
        if !remove.is_empty() {
            m.insert("remove".into(), json!(remove));
        }
        let key = if kind == "RequestHeaderModifier" {
            "requestHeaderModifier"
        } else {
            "responseHeaderModifier"
        };
        filters.push(json!({"type": kind, key: m}));
    }
    filters
}

fn steps_of(policies: &gateway::policy::Policies) -> Vec<(Flow, Step)> {
    let mut out = Vec::new();
    for (flow, list) in [
        (Flow::Request, &policies.request),
        (Flow::Response, &policies.response),
        (Flow::Fault, &policies.fault),
    ] {
        for p in list {
            // Deployed revisions were validated; a policy that no longer reads is skipped.
            if let Ok(step) = gateway::policy::validate(p, flow) {
                out.push((flow, step));
            }
        }
    }
    out
}

/// The resources as one multi-document YAML file.
pub fn render(api: &Api, target: &Target) -> Result<String, String> {
    let base = label(&format!("{}-{}", api.name, api.version), 50);
    let namespace_note = target
        .gateway_namespace
        .unwrap_or("(the routes' namespace)");
    let mut not_mapped: Vec<String> = Vec::new();
    if api.security.is_some() {
        not_mapped.push("authentication (OAuth2, API keys, scopes)".into());
    }
    if api.max_tps.is_some()
        || api.throttling_policy.is_some()
        || api.operations.iter().any(|o| o.throttling_policy.is_some())
    {
        not_mapped.push("rate limits".into());
    }
    if api.endpoints.sandbox.is_some() {
        not_mapped.push("sandbox endpoints (production only)".into());
    }
    let group = &api.endpoints.production;
    if group.kind == EndpointKind::Failover && group.urls.len() > 1 {
        not_mapped.push("failover (the first endpoint only)".into());
    }
    let urls: Vec<&String> = match group.kind {
        EndpointKind::Failover => group.urls.iter().take(1).collect(),
        _ => group.urls.iter().collect(),
    };
    let mut docs: Vec<Value> = Vec::new();
    let mut backend_refs = Vec::new();
    let mut backend_path: Option<String> = None;
    let labels = json!({
        "app.kubernetes.io/managed-by": "gatehouse",
        "gatehouse.io/api-id": label(&api.id, 63),
        "gatehouse.io/revision": target.revision.to_string(),
    });
    for (i, raw) in urls.iter().enumerate() {
        let url =
            parse_url(raw).ok_or_else(|| format!("endpoint `{raw}` is not an http(s) URL"))?;
        if url.https {
            not_mapped.push(format!(
                "TLS to {} (add a BackendTLSPolicy for it)",
                url.host
            ));
        }
        backend_path.get_or_insert(url.path.clone());
        match in_cluster(&url.host) {
            Some((name, ns)) => {
                backend_refs
                    .push(json!({"name": name, "namespace": ns, "port": url.port, "weight": 1}));
            }
            None => {
                let name = label(&format!("{base}-backend-{}", i + 1), 63);
                docs.push(json!({
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"name": name, "labels": labels},
                    "spec": {"type": "ExternalName", "externalName": url.host,
                             "ports": [{"name": "http", "port": url.port, "protocol": "TCP"}]},
                }));
                backend_refs.push(json!({"name": name, "port": url.port, "weight": 1}));
            }
        }
    }
    if backend_refs.is_empty() {
        return Err("the API has no production endpoint".into());
    }
    let backend_path = backend_path.unwrap_or_default();
    let api_steps = steps_of(&api.policies);
    let timeout = format!("{}ms", group.timeout_ms);
    let prefixes: Vec<String> = {
        let versioned = format!("{}/{}", api.context.trim_end_matches('/'), api.version);
        let mut p = vec![versioned];
        if api.is_default_version {
            p.push(api.context.trim_end_matches('/').to_string());
        }
        p
    };
    let mut rules = Vec::new();
    for op in &api.operations {
        if op.endpoints.is_some() {
            not_mapped.push(format!(
                "the own endpoints of {} {} (API product part)",
                op.method, op.target
            ));
        }
        let target_path = if op.target == "/*" || op.target == "/" {
            String::new()
        } else {
            op.target.clone()
        };
        // Fixed part of the template, ending at a path segment.
        let fixed = match target_path.find(['{', '*']) {
            Some(i) => {
                let head = &target_path[..i];
                head[..head.rfind('/').unwrap_or(0)].to_string()
            }
            None => target_path.clone(),
        };
        let exact = fixed == target_path && !target_path.is_empty();
        let method = (op.method != "*").then(|| op.method.to_ascii_uppercase());
        let matches: Vec<Value> = prefixes
            .iter()
            .map(|p| {
                let mut m = json!({"path": {
                    "type": if exact { "Exact" } else { "PathPrefix" },
                    "value": if format!("{p}{fixed}").is_empty() { "/".to_string() } else { format!("{p}{fixed}") },
                }});
                if let Some(method) = &method {
                    m["method"] = json!(method);
                }
                m
            })
            .collect();
        let rewritten = format!("{backend_path}{fixed}");
        let rewritten = if rewritten.is_empty() {
            "/".to_string()
        } else {
            rewritten
        };
        let rewrite = if exact {
            json!({"type": "ReplaceFullPath", "replaceFullPath": rewritten})
        } else {
            json!({"type": "ReplacePrefixMatch", "replacePrefixMatch": rewritten})
        };
        let mut filters = vec![json!({"type": "URLRewrite", "urlRewrite": {"path": rewrite}})];
        let steps = api_steps.iter().cloned().chain(steps_of(&op.policies));
        filters.extend(header_filters(steps, &mut not_mapped));
        rules.push(json!({
            "matches": matches,
            "filters": filters,
            "backendRefs": backend_refs,
            "timeouts": {"request": timeout},
        }));
    }
    if rules.is_empty() {
        return Err("the API has no operations".into());
    }
    not_mapped.sort();
    not_mapped.dedup();
    let chunks: Vec<&[Value]> = rules.chunks(RULES_PER_ROUTE).collect();
    let many = chunks.len() > 1;
    for (i, chunk) in chunks.iter().enumerate() {
        let name = if many {
            label(&format!("{base}-{}", i + 1), 63)
        } else {
            base.clone()
        };
        let mut parent = json!({"name": target.gateway});
        if let Some(ns) = target.gateway_namespace {
            parent["namespace"] = json!(ns);
        }
        let mut metadata = json!({"name": name, "labels": labels});
        if !not_mapped.is_empty() {
            metadata["annotations"] = json!({"gatehouse.io/not-mapped": not_mapped.join("; ")});
        }
        docs.push(json!({
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": metadata,
            "spec": {
                "parentRefs": [parent],
                "hostnames": [target.hostname],
                "rules": chunk,
            },
        }));
    }
    let mut out = format!(
        "# {} {} (revision {}) for the Kubernetes environment {}, generated by Gatehouse.\n\
         # Attaches to the Gateway `{}` in {namespace_note}; apply with `kubectl apply -f`.\n",
        api.name, api.version, target.revision, target.environment, target.gateway
    );
    if !not_mapped.is_empty() {
        out.push_str("# Not expressed in Gateway API resources (enforce them elsewhere):\n");
        for n in &not_mapped {
            out.push_str(&format!("#   - {n}\n"));
        }
    }
    for doc in docs {
        out.push_str("---\n");
        out.push_str(&serde_norway::to_string(&doc).map_err(|e| e.to_string())?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(json: Value) -> Api {
        serde_json::from_value(json).unwrap()
    }

    fn docs(yaml: &str) -> Vec<Value> {
        yaml.split("\n---\n")
            .skip(1)
            .map(|d| serde_norway::from_str(d).unwrap())
            .collect()
    }

    #[test]
    fn labels_are_dns_names() {
        assert_eq!(label("Pizza Shack 1.0.0", 63), "pizza-shack-1-0-0");
        assert_eq!(label("--Ünïcode__API--", 63), "n-code-api");
        assert_eq!(label("!!!", 63), "api");
        assert_eq!(label(&"a".repeat(80), 63).len(), 63);
    }

    #[test]
    fn operations_become_rules_with_rewrites_filters_and_backends() {
        let a = api(json!({
            "id": "3f1c", "name": "Pets", "context": "/pets", "version": "1.0.0",
            "isDefaultVersion": true,
            "endpoints": {"production": {"type": "load_balance",
                "urls": ["http://pets.shop.svc.cluster.local:8080/v1", "http://pets.example.com/v1"],
                "timeoutMs": 5000}},
            "security": {"oauth2": true},
            "policies": {"request": [{"policyName": "addHeader", "parameters": {"headerName": "X-Env", "headerValue": "k8s"}}]},
            "operations": [
                {"method": "GET", "target": "/items/{id}"},
                {"method": "POST", "target": "/items",
                 "policies": {"response": [{"policyName": "removeHeader", "parameters": {"headerName": "Server"}}]}}
            ]
        }));
        let yaml = render(
            &a,
            &Target {
                environment: "k8s",
                hostname: "api.example.com",
                gateway: "edge",
                gateway_namespace: Some("infra"),
                revision: 3,
            },
        )
        .unwrap();
        let d = docs(&yaml);
        assert_eq!(d.len(), 2, "{yaml}");
        // The outside host gets an ExternalName service; the in-cluster one is referenced.
        assert_eq!(d[0]["kind"], "Service");
        assert_eq!(d[0]["spec"]["externalName"], "pets.example.com");
        assert_eq!(d[0]["spec"]["ports"][0]["port"], 80);
        let route = &d[1];
        assert_eq!(route["kind"], "HTTPRoute");
        assert_eq!(route["metadata"]["name"], "pets-1-0-0");
        assert_eq!(
            route["spec"]["parentRefs"][0],
            json!({"name": "edge", "namespace": "infra"})
        );
        assert_eq!(route["spec"]["hostnames"][0], "api.example.com");
        let rules = route["spec"]["rules"].as_array().unwrap();
        assert_eq!(rules.len(), 2);
        // GET /items/{id}: prefix match on the fixed part, versioned and default paths.
        assert_eq!(
            rules[0]["matches"],
            json!([{"path": {"type": "PathPrefix", "value": "/pets/1.0.0/items"}, "method": "GET"},
                   {"path": {"type": "PathPrefix", "value": "/pets/items"}, "method": "GET"}])
        );
        assert_eq!(
            rules[0]["filters"][0]["urlRewrite"]["path"],
            json!({"type": "ReplacePrefixMatch", "replacePrefixMatch": "/v1/items"})
        );
        assert_eq!(
            rules[0]["filters"][1],
            json!({"type": "RequestHeaderModifier", "requestHeaderModifier": {"add": [{"name": "X-Env", "value": "k8s"}]}})
        );
        assert_eq!(
            rules[0]["backendRefs"],
            json!([{"name": "pets", "namespace": "shop", "port": 8080, "weight": 1},
                   {"name": "pets-1-0-0-backend-2", "port": 80, "weight": 1}])
        );
        assert_eq!(rules[0]["timeouts"]["request"], "5000ms");
        // POST /items: exact, full-path rewrite, the operation's response policy too.
        assert_eq!(
            rules[1]["matches"][0]["path"],
            json!({"type": "Exact", "value": "/pets/1.0.0/items"})
        );
        assert_eq!(
            rules[1]["filters"][0]["urlRewrite"]["path"],
            json!({"type": "ReplaceFullPath", "replaceFullPath": "/v1/items"})
        );
        assert_eq!(
            rules[1]["filters"][2],
            json!({"type": "ResponseHeaderModifier", "responseHeaderModifier": {"remove": ["Server"]}})
        );
        // What does not map is said.
        let note = route["metadata"]["annotations"]["gatehouse.io/not-mapped"]
            .as_str()
            .unwrap();
        assert!(note.contains("authentication"), "{note}");
        assert!(yaml.starts_with("# Pets 1.0.0 (revision 3)"), "{yaml}");
    }

    #[test]
    fn many_operations_split_into_routes_of_sixteen_rules() {
        let ops: Vec<Value> = (0..20)
            .map(|i| json!({"method": "GET", "target": format!("/r{i}")}))
            .collect();
        let a = api(json!({
            "id": "x", "name": "Big", "context": "/big", "version": "2",
            "endpoints": {"production": {"urls": ["https://big.example.com"]}},
            "operations": ops
        }));
        let target = Target {
            environment: "k8s",
            hostname: "h.example.com",
            gateway: "edge",
            gateway_namespace: None,
            revision: 1,
        };
        let d = docs(&render(&a, &target).unwrap());
        let routes: Vec<&Value> = d.iter().filter(|v| v["kind"] == "HTTPRoute").collect();
        assert_eq!(routes.len(), 2);
        assert_eq!(routes[0]["spec"]["rules"].as_array().unwrap().len(), 16);
        assert_eq!(routes[1]["spec"]["rules"].as_array().unwrap().len(), 4);
        assert_eq!(routes[1]["metadata"]["name"], "big-2-2");
        assert_eq!(routes[0]["spec"]["parentRefs"][0], json!({"name": "edge"}));
        // No base path: the rewrite keeps the operation's path; HTTPS needs a TLS policy.
        assert_eq!(
            routes[0]["spec"]["rules"][0]["filters"][0]["urlRewrite"]["path"]["replaceFullPath"],
            "/r0"
        );
        let note = routes[0]["metadata"]["annotations"]["gatehouse.io/not-mapped"]
            .as_str()
            .unwrap();
        assert!(note.contains("BackendTLSPolicy"), "{note}");
    }
}
