//! Checks on what a publisher sends: names, contexts, versions, settings, operations and
//! endpoints. Every problem is collected and reported at once, each naming its field.

use app::publisher::{
    Api, ApiSettings, Operation, OperationPolicies, OperationPolicy, SECURITY_SCHEMES, VERBS,
};
use gateway::snapshot::{EndpointGroup, EndpointKind, Endpoints};
use serde_json::Value;

use crate::error::{ApiError, FieldError};

/// Characters WSO2 refuses in API names (spaces are allowed).
const NAME_FORBIDDEN: &str = "~!@#;:%^*()+={}|\\<>\"',&$[]/";
const VERSION_FORBIDDEN: &str = "~!@#;:%^*()+={}|\\<>\"',&/$[] \t";

#[derive(Default)]
pub struct Problems(pub Vec<FieldError>);

impl Problems {
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    pub fn into_result(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            return Ok(());
        }
        let message = if self.0.len() == 1 {
            format!(
                "Invalid value for `{}`: {}",
                self.0[0].code, self.0[0].message
            )
        } else {
            format!(
                "{} problems: {}",
                self.0.len(),
                self.0
                    .iter()
                    .map(|e| format!("`{}` {}", e.code, e.message))
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        };
        Err(ApiError::BadRequest {
            message,
            errors: self.0,
        })
    }
}

/// `/Pizza/` → `/Pizza`; refuses what cannot be a gateway context.
pub fn normalize_context(raw: &str) -> Result<String, String> {
    let trimmed = raw.trim().trim_end_matches('/');
    if trimmed.is_empty() || trimmed == "/" {
        return Err("is required (e.g. /pizzashack)".into());
    }
    let context = if trimmed.starts_with('/') {
        trimmed.to_string()
    } else {
        format!("/{trimmed}")
    };
    if context.len() > 232 {
        return Err("must be at most 232 characters".into());
    }
    if context.contains("//") {
        return Err(format!("`{context}` has an empty segment"));
    }
    if let Some(bad) = context
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "/-._~".contains(*c)))
    {
        return Err(format!(
            "`{context}` contains `{bad}`; use letters, digits, and - . _ ~ between slashes"
        ));
    }
    Ok(context)
}

pub fn check_name(p: &mut Problems, name: &str) {
    let name = name.trim();
    if name.is_empty() {
        p.add("name", "is required");
    } else if name.chars().count() > 60 {
        p.add("name", "must be at most 60 characters");
    } else if let Some(c) = name.chars().find(|c| NAME_FORBIDDEN.contains(*c)) {
        p.add("name", format!("must not contain `{c}`"));
    }
}

pub fn check_version(p: &mut Problems, field: &str, version: &str) {
    if version.is_empty() {
        p.add(field, "is required (e.g. 1.0.0)");
    } else if version.chars().count() > 30 {
        p.add(field, "must be at most 30 characters");
    } else if let Some(c) = version.chars().find(|c| VERSION_FORBIDDEN.contains(*c)) {
        p.add(field, format!("must not contain `{c}`"));
    }
}

fn is_header_name(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 100
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn is_email(e: &str) -> bool {
    let mut parts = e.split('@');
    matches!((parts.next(), parts.next(), parts.next()), (Some(u), Some(d), None)
        if !u.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.')
            && !e.contains(char::is_whitespace))
}

/// Checks the identity fields and settings of an API about to be stored; normalises the
/// context, trims the name.
pub fn check_api(api: &mut Api, product: bool) -> Result<(), ApiError> {
    let mut p = Problems::default();
    api.name = api.name.trim().to_string();
    check_name(&mut p, &api.name);
    match normalize_context(&api.context) {
        Ok(c) => api.context = c,
        Err(m) => p.add("context", m),
    }
    api.version = api.version.trim().to_string();
    check_version(&mut p, "version", &api.version);
    if let Some(m) = &api.settings.max_tps {
        for (field, count, unit) in [
            ("production", m.production, &m.production_time_unit),
            ("sandbox", m.sandbox, &m.sandbox_time_unit),
        ] {
            if count.is_some_and(|c| c < 1) {
                p.add(
                    &format!("maxTps.{field}"),
                    "at least 1 (leave it out for no limit)",
                );
            }
            if app::publisher::MaxTps::unit_seconds(unit.as_deref()).is_none() {
                p.add(&format!("maxTps.{field}TimeUnit"), "SECOND, MINUTE or HOUR");
            }
        }
    }
    if let Some(d) = &api.description
        && d.chars().count() > 32_000
    {
        p.add("description", "must be at most 32,000 characters");
    }
    check_settings(&mut p, &api.settings, product);
    check_operations(&mut p, &api.operations, product);
    p.into_result()
}

pub fn check_settings(p: &mut Problems, s: &ApiSettings, product: bool) {
    check_policies(p, "apiPolicies", &s.api_policies);
    if !["PUBLIC", "PRIVATE", "RESTRICTED"].contains(&s.visibility.as_str()) {
        p.add("visibility", "must be PUBLIC, PRIVATE or RESTRICTED");
    }
    if s.visibility == "RESTRICTED" && s.visible_roles.is_empty() {
        p.add(
            "visibleRoles",
            "name at least one role when visibility is RESTRICTED",
        );
    }
    if !["NONE", "RESTRICTED"].contains(&s.access_control.as_str()) {
        p.add("accessControl", "must be NONE or RESTRICTED");
    }
    if s.access_control == "RESTRICTED" && s.access_control_roles.is_empty() {
        p.add(
            "accessControlRoles",
            "name at least one role when accessControl is RESTRICTED",
        );
    }
    for (i, scheme) in s.security_scheme.iter().enumerate() {
        if !SECURITY_SCHEMES.contains(&scheme.as_str()) {
            p.add(
                &format!("securityScheme[{i}]"),
                format!("`{scheme}` is not one of {}", SECURITY_SCHEMES.join(", ")),
            );
        }
    }
    if !is_header_name(&s.api_key_header) {
        p.add(
            "apiKeyHeader",
            "must be an HTTP header name (letters, digits, - and _)",
        );
    }
    if let Some(h) = &s.authorization_header
        && !h.is_empty()
        && !is_header_name(h)
    {
        p.add("authorizationHeader", "must be an HTTP header name");
    }
    for t in &s.transport {
        if t != "http" && t != "https" {
            p.add("transport", format!("`{t}` is not http or https"));
        }
    }
    for (i, tag) in s.tags.iter().enumerate() {
        if tag.trim().is_empty() || tag.chars().count() > 30 {
            p.add(&format!("tags[{i}]"), "must be 1 to 30 characters");
        }
    }
    let b = &s.business_information;
    for (field, value, limit) in [
        ("businessInformation.businessOwner", &b.business_owner, 120),
        (
            "businessInformation.technicalOwner",
            &b.technical_owner,
            120,
        ),
    ] {
        if value.as_ref().is_some_and(|v| v.chars().count() > limit) {
            p.add(field, format!("must be at most {limit} characters"));
        }
    }
    for (field, value) in [
        (
            "businessInformation.businessOwnerEmail",
            &b.business_owner_email,
        ),
        (
            "businessInformation.technicalOwnerEmail",
            &b.technical_owner_email,
        ),
    ] {
        if let Some(v) = value
            && !v.is_empty()
            && !is_email(v)
        {
            p.add(field, format!("`{v}` is not an email address"));
        }
    }
    let cors = &s.cors_configuration;
    for m in &cors.access_control_allow_methods {
        if !VERBS.contains(&m.to_ascii_uppercase().as_str()) {
            p.add(
                "corsConfiguration.accessControlAllowMethods",
                format!("`{m}` is not an HTTP method"),
            );
        }
    }
    for h in &cors.access_control_allow_headers {
        if !is_header_name(h) {
            p.add(
                "corsConfiguration.accessControlAllowHeaders",
                format!("`{h}` is not a header name"),
            );
        }
    }
    if cors.access_control_allow_credentials
        && cors.access_control_allow_origins.iter().any(|o| o == "*")
    {
        p.add(
            "corsConfiguration.accessControlAllowCredentials",
            "cannot be true with origin `*` (browsers refuse it); list the origins",
        );
    }
    for (i, sc) in s.scopes.iter().enumerate() {
        if sc.scope.name.trim().is_empty() || sc.scope.name.contains(char::is_whitespace) {
            p.add(
                &format!("scopes[{i}].scope.name"),
                "is required and must not contain spaces",
            );
        }
    }
    if s.cache_timeout < 0 {
        p.add("cacheTimeout", "must not be negative");
    }
    if !product && let Some(cfg) = &s.endpoint_config {
        let _ = endpoints(p, cfg);
    }
}

fn auth_type_ok(a: &str) -> bool {
    matches!(
        a,
        "Any" | "None" | "Application" | "Application User" | "Application & Application User"
    )
}

/// Attached mediation policies as the gateway takes them (WSO2's shape without version and id).
pub fn gateway_policies(p: &OperationPolicies) -> gateway::policy::Policies {
    let convert = |list: &[OperationPolicy]| {
        list.iter()
            .map(|x| gateway::policy::PolicyRef {
                policy_name: x.policy_name.clone(),
                parameters: x.parameters.clone(),
            })
            .collect()
    };
    gateway::policy::Policies {
        request: convert(&p.request),
        response: convert(&p.response),
        fault: convert(&p.fault),
    }
}

/// Every attached policy checked against the catalogue; fields named below `at`
/// (`apiPolicies.request[0].parameters.headerName`).
pub fn check_policies(p: &mut Problems, at: &str, policies: &OperationPolicies) {
    for (field, message) in gateway::policy::problems(&gateway_policies(policies)) {
        let field = field.strip_prefix("policies.").unwrap_or(&field);
        p.add(&format!("{at}.{field}"), message);
    }
}

pub fn check_operations(p: &mut Problems, ops: &[Operation], product: bool) {
    let mut seen = std::collections::HashSet::new();
    for (i, op) in ops.iter().enumerate() {
        let at = |f: &str| format!("operations[{i}].{f}");
        if !VERBS.contains(&op.verb.as_str()) {
            p.add(
                &at("verb"),
                format!("`{}` is not one of {}", op.verb, VERBS.join(", ")),
            );
        }
        if !op.target.starts_with('/') {
            p.add(&at("target"), format!("`{}` must start with /", op.target));
        } else if op.target.contains(char::is_whitespace) || op.target.contains('?') {
            p.add(&at("target"), "must not contain spaces or a query");
        }
        if !auth_type_ok(&op.auth_type) {
            p.add(&at("authType"), "must be Any or None");
        }
        check_policies(p, &at("operationPolicies"), &op.operation_policies);
        if !product && !seen.insert((op.verb.clone(), op.target.clone())) {
            p.add(
                &at("target"),
                format!("{} {} is listed twice", op.verb, op.target),
            );
        }
    }
}

/// Upper-cases verbs and maps WSO2's auth-type names onto `Any` / `None`.
pub fn normalize_operations(ops: &mut [Operation]) {
    for op in ops {
        op.verb = op.verb.trim().to_ascii_uppercase();
        op.target = op.target.trim().to_string();
        if op.auth_type != "None" {
            op.auth_type = "Any".into();
        }
    }
}

fn url_of(p: &mut Problems, field: &str, v: &Value) -> Option<(String, Option<u64>, Option<u64>)> {
    let Some(url) = v.get("url").and_then(Value::as_str) else {
        p.add(field, "needs a `url`");
        return None;
    };
    let url = url.trim();
    let ok = (url.starts_with("http://") || url.starts_with("https://"))
        && url
            .parse::<http::Uri>()
            .ok()
            .is_some_and(|u| u.host().is_some_and(|h| !h.is_empty()));
    if !ok {
        p.add(
            &format!("{field}.url"),
            format!("`{url}` is not an http(s) URL"),
        );
        return None;
    }
    let number = |key: &str| {
        v.get("config")
            .and_then(|c| c.get(key))
            .and_then(|x| match x {
                Value::Number(n) => n.as_u64(),
                Value::String(s) if !s.trim().is_empty() => s.trim().parse().ok(),
                _ => None,
            })
    };
    Some((
        url.trim_end_matches('/').to_string(),
        number("actionDuration"),
        number("suspendDuration"),
    ))
}

fn group(p: &mut Problems, cfg: &Value, kind: EndpointKind, env: &str) -> Option<EndpointGroup> {
    let main_field = format!("endpointConfig.{env}_endpoints");
    let main = cfg.get(format!("{env}_endpoints"))?;
    let mut entries = Vec::new();
    match main {
        Value::Array(list) => {
            for (i, e) in list.iter().enumerate() {
                entries.extend(url_of(p, &format!("{main_field}[{i}]"), e));
            }
        }
        Value::Object(_) => entries.extend(url_of(p, &main_field, main)),
        Value::Null => return None,
        _ => {
            p.add(
                &main_field,
                "must be an object with `url` or a list of them",
            );
            return None;
        }
    }
    if kind == EndpointKind::Failover {
        let field = format!("endpointConfig.{env}_failovers");
        if let Some(list) = cfg.get(format!("{env}_failovers")) {
            match list.as_array() {
                Some(list) => {
                    for (i, e) in list.iter().enumerate() {
                        entries.extend(url_of(p, &format!("{field}[{i}]"), e));
                    }
                }
                None => p.add(&field, "must be a list of endpoints"),
            }
        }
    }
    if entries.is_empty() {
        p.add(&main_field, "needs at least one endpoint URL");
        return None;
    }
    let timeout_ms = entries.iter().find_map(|e| e.1).unwrap_or(30_000);
    let suspend_ms = entries.iter().find_map(|e| e.2).unwrap_or(30_000);
    if timeout_ms == 0 {
        p.add(
            &main_field,
            "config.actionDuration (timeout, ms) must be positive",
        );
    }
    Some(EndpointGroup {
        kind,
        urls: entries.into_iter().map(|e| e.0).collect(),
        timeout_ms: timeout_ms.max(1),
        suspend_seconds: suspend_ms.div_ceil(1000),
    })
}

/// WSO2's `endpointConfig` as the gateway's endpoint groups; problems name the field.
/// `None` when no production endpoint is configured.
pub fn endpoints(p: &mut Problems, cfg: &Value) -> Option<Endpoints> {
    if !cfg.is_object() {
        p.add("endpointConfig", "must be an object");
        return None;
    }
    let kind = match cfg.get("endpoint_type").and_then(Value::as_str) {
        None | Some("http") | Some("address") => EndpointKind::Single,
        Some("load_balance") => EndpointKind::LoadBalance,
        Some("failover") => EndpointKind::Failover,
        Some(other) => {
            p.add(
                "endpointConfig.endpoint_type",
                format!("`{other}` is not http, load_balance or failover"),
            );
            return None;
        }
    };
    let production = group(p, cfg, kind, "production");
    let sandbox = group(p, cfg, kind, "sandbox");
    if kind == EndpointKind::Single {
        for (env, g) in [("production", &production), ("sandbox", &sandbox)] {
            if g.as_ref().is_some_and(|g| g.urls.len() > 1) {
                p.add(
                    &format!("endpointConfig.{env}_endpoints"),
                    "lists several endpoints: set endpoint_type to load_balance or failover",
                );
            }
        }
    }
    Some(Endpoints {
        production: production?,
        sandbox,
    })
}

/// A single production (and optional sandbox) URL as WSO2's `endpointConfig`.
pub fn simple_endpoint_config(production: &str, sandbox: Option<&str>) -> Value {
    let mut cfg = serde_json::json!({
        "endpoint_type": "http",
        "production_endpoints": { "url": production },
    });
    if let Some(s) = sandbox {
        cfg["sandbox_endpoints"] = serde_json::json!({ "url": s });
    }
    cfg
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn contexts_are_normalised_or_refused() {
        assert_eq!(normalize_context("pizza/").unwrap(), "/pizza");
        assert_eq!(normalize_context(" /a/b ").unwrap(), "/a/b");
        assert!(normalize_context("/").is_err());
        assert!(normalize_context("/a b").unwrap_err().contains("` `"));
        assert!(normalize_context("/a//b").is_err());
        assert!(normalize_context("/{version}/x").is_err());
    }

    #[test]
    fn names_allow_spaces_but_not_wso2_forbidden_characters() {
        let mut p = Problems::default();
        check_name(&mut p, "Pizza Shack API");
        assert!(p.0.is_empty());
        check_name(&mut p, "Pizza/Shack");
        check_name(&mut p, "");
        assert_eq!(p.0.len(), 2);
        assert!(p.0.iter().all(|e| e.code == "name"));
    }

    #[test]
    fn endpoint_configs_of_each_kind() {
        let mut p = Problems::default();
        let e = endpoints(
            &mut p,
            &json!({"endpoint_type": "load_balance",
                    "production_endpoints": [{"url": "http://a:1/"}, {"url": "http://b:2", "config": {"actionDuration": "5000"}}],
                    "sandbox_endpoints": [{"url": "http://s:3"}]}),
        )
        .unwrap();
        assert!(p.0.is_empty(), "{:?}", p.0);
        assert_eq!(e.production.kind, EndpointKind::LoadBalance);
        assert_eq!(e.production.urls, ["http://a:1", "http://b:2"]);
        assert_eq!(e.production.timeout_ms, 5000);
        assert_eq!(e.sandbox.unwrap().urls, ["http://s:3"]);

        let e = endpoints(
            &mut p,
            &json!({"endpoint_type": "failover",
                    "production_endpoints": {"url": "http://a"},
                    "production_failovers": [{"url": "https://b"}]}),
        )
        .unwrap();
        assert_eq!(e.production.urls, ["http://a", "https://b"]);
        assert!(e.sandbox.is_none());

        let mut p = Problems::default();
        assert!(
            endpoints(
                &mut p,
                &json!({"endpoint_type": "http", "production_endpoints": {"url": "ftp://x"}})
            )
            .is_none()
        );
        assert_eq!(p.0[0].code, "endpointConfig.production_endpoints.url");
        let mut p = Problems::default();
        endpoints(&mut p, &json!({"endpoint_type": "weird"}));
        assert_eq!(p.0[0].code, "endpointConfig.endpoint_type");
    }

    #[test]
    fn settings_problems_name_their_fields() {
        let mut s = ApiSettings {
            visibility: "SECRET".into(),
            api_key_header: "Api Key".into(),
            ..Default::default()
        };
        s.business_information.business_owner_email = Some("not-an-email".into());
        s.security_scheme.push("magic".into());
        let mut p = Problems::default();
        check_settings(&mut p, &s, false);
        let fields: Vec<_> = p.0.iter().map(|e| e.code.as_str()).collect();
        assert_eq!(
            fields,
            [
                "visibility",
                "securityScheme[2]",
                "apiKeyHeader",
                "businessInformation.businessOwnerEmail"
            ]
        );
    }
}
