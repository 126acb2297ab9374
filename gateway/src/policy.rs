//! Mediation policies: the catalogue of built-in policies with a typed schema for each one's
//! parameters, and their validation into `Step`s. Shared with the server (which validates what
//! publishers attach); the gateway compiles the steps into its table (`crate::mediation`), so
//! nothing is parsed per request.
//!
//! Attachment follows WSO2's `apiPolicies` / `operationPolicies`: an ordered list per flow
//! (`request`, `response`, `fault`) at API level and per operation; API-level policies run
//! before the operation's, in the order given.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Ordered policies per flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Policies {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub request: Vec<PolicyRef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub response: Vec<PolicyRef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fault: Vec<PolicyRef>,
}

impl Policies {
    pub fn is_empty(&self) -> bool {
        self.request.is_empty() && self.response.is_empty() && self.fault.is_empty()
    }
}

/// One attached policy: its name in the catalogue and its parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyRef {
    pub policy_name: String,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub parameters: Map<String, Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Flow {
    Request,
    Response,
    Fault,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ParamType {
    /// A header or query parameter name (an HTTP token).
    Name,
    /// Any text without line breaks (header values, paths).
    Text,
    /// Free text (a body).
    Body,
    /// An HTTP status, 100–599.
    Status,
    /// A whole number ≥ 1.
    Count,
    /// GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS.
    Method,
    /// Comma-separated IP addresses or CIDR ranges.
    IpList,
    /// `true` or `false`.
    Bool,
    /// A regular expression (Rust `regex` syntax, as in most engines without look-around).
    Regex,
    /// A JSON Schema (an object), e.g. an OpenAPI request body's schema.
    JsonSchema,
    /// Comma-separated values (origins, methods, header names).
    List,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Param {
    pub name: &'static str,
    #[serde(rename = "type")]
    pub kind: ParamType,
    pub required: bool,
    pub description: &'static str,
}

/// A built-in policy as the catalogue lists it.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicySpec {
    pub name: &'static str,
    pub display_name: &'static str,
    pub description: &'static str,
    pub flows: &'static [Flow],
    pub parameters: &'static [Param],
}

const fn p(
    name: &'static str,
    kind: ParamType,
    required: bool,
    description: &'static str,
) -> Param {
    Param {
        name,
        kind,
        required,
        description,
    }
}

/// Header policies run on the request, on the backend's response and on the gateway's own
/// error answers (the fault flow).
const ALL_FLOWS: &[Flow] = &[Flow::Request, Flow::Response, Flow::Fault];
const REQUEST: &[Flow] = &[Flow::Request];
const FAULT: &[Flow] = &[Flow::Fault];

/// What `regexThreatProtection` looks for when no pattern is given: SQL injection, script
/// injection and path traversal in their common forms.
pub const DEFAULT_THREAT_PATTERN: &str = r"(?i)(<\s*script\b|javascript:|\bunion\b(\s+all)?\s+\bselect\b|\bselect\b.+\bfrom\b|\binsert\s+into\b|\bdrop\s+(table|database)\b|\bdelete\s+from\b|'\s*or\s+'?\w+'?\s*=\s*'?\w+|\.\./)";

/// The most of a request body the gateway reads to inspect it (schema validation, threat
/// protection, logging); a larger body is refused with 413 where a policy must read it.
pub const MAX_INSPECTED_BODY: usize = 4 << 20;

/// Every built-in policy.
pub const CATALOGUE: &[PolicySpec] = &[
    PolicySpec {
        name: "addHeader",
        display_name: "Add header",
        description: "Adds a header (another value if it is already there).",
        flows: ALL_FLOWS,
        parameters: &[
            p("headerName", ParamType::Name, true, "Header to add"),
            p("headerValue", ParamType::Text, true, "Its value"),
        ],
    },
    PolicySpec {
        name: "setHeader",
        display_name: "Set header",
        description: "Sets a header, replacing any value it had.",
        flows: ALL_FLOWS,
        parameters: &[
            p("headerName", ParamType::Name, true, "Header to set"),
            p("headerValue", ParamType::Text, true, "Its value"),
        ],
    },
    PolicySpec {
        name: "removeHeader",
        display_name: "Remove header",
        description: "Removes a header.",
        flows: ALL_FLOWS,
        parameters: &[p("headerName", ParamType::Name, true, "Header to remove")],
    },
    PolicySpec {
        name: "addQueryParam",
        display_name: "Add query parameter",
        description: "Adds a query parameter to the backend request.",
        flows: REQUEST,
        parameters: &[
            p("paramName", ParamType::Name, true, "Parameter to add"),
            p("paramValue", ParamType::Text, true, "Its value"),
        ],
    },
    PolicySpec {
        name: "removeQueryParam",
        display_name: "Remove query parameter",
        description: "Removes a query parameter (every occurrence) from the backend request.",
        flows: REQUEST,
        parameters: &[p("paramName", ParamType::Name, true, "Parameter to remove")],
    },
    PolicySpec {
        name: "rewriteMethod",
        display_name: "Change HTTP method",
        description: "Calls the backend with another method.",
        flows: REQUEST,
        parameters: &[p(
            "updatedMethod",
            ParamType::Method,
            true,
            "Method the backend gets",
        )],
    },
    PolicySpec {
        name: "rewritePath",
        display_name: "Rewrite resource path",
        description: "Calls another resource path of the backend; {name} takes the value of the operation's path parameter `name`.",
        flows: REQUEST,
        parameters: &[p(
            "path",
            ParamType::Text,
            true,
            "Path below the endpoint, e.g. /v2/items/{id}",
        )],
    },
    PolicySpec {
        name: "ipAllow",
        display_name: "Allow IP addresses",
        description: "Only clients from these addresses get through (403 otherwise).",
        flows: REQUEST,
        parameters: &[p(
            "ips",
            ParamType::IpList,
            true,
            "e.g. 10.0.0.0/8, 192.168.1.7",
        )],
    },
    PolicySpec {
        name: "ipDeny",
        display_name: "Deny IP addresses",
        description: "Clients from these addresses are refused (403).",
        flows: REQUEST,
        parameters: &[p(
            "ips",
            ParamType::IpList,
            true,
            "e.g. 10.0.0.0/8, 192.168.1.7",
        )],
    },
    PolicySpec {
        name: "requestSizeLimit",
        display_name: "Request body size limit",
        description: "Refuses request bodies larger than this (413).",
        flows: REQUEST,
        parameters: &[p(
            "maxBytes",
            ParamType::Count,
            true,
            "Largest body in bytes",
        )],
    },
    PolicySpec {
        name: "mockResponse",
        display_name: "Mock response",
        description: "Answers without calling the backend.",
        flows: REQUEST,
        parameters: &[
            p(
                "status",
                ParamType::Status,
                false,
                "Status (200 when absent)",
            ),
            p(
                "contentType",
                ParamType::Text,
                false,
                "Content-Type (application/json when absent)",
            ),
            p(
                "body",
                ParamType::Body,
                false,
                "The body (when absent: the example of this operation's response in the API definition)",
            ),
        ],
    },
    PolicySpec {
        name: "cors",
        display_name: "CORS",
        description: "Lets browsers on the given origins call the API: answers preflight requests at the gateway and adds the Access-Control headers to responses.",
        flows: REQUEST,
        parameters: &[
            p(
                "allowOrigins",
                ParamType::List,
                false,
                "Origins, e.g. https://app.example.com (* when absent)",
            ),
            p(
                "allowMethods",
                ParamType::List,
                false,
                "Methods (the API's when absent)",
            ),
            p(
                "allowHeaders",
                ParamType::List,
                false,
                "Request headers (authorization, content-type, apikey when absent)",
            ),
            p(
                "exposeHeaders",
                ParamType::List,
                false,
                "Response headers scripts may read",
            ),
            p(
                "allowCredentials",
                ParamType::Bool,
                false,
                "Allow cookies and credentials (not with origin *)",
            ),
            p(
                "maxAge",
                ParamType::Count,
                false,
                "Seconds a browser may cache the preflight answer",
            ),
        ],
    },
    PolicySpec {
        name: "jsonSchemaValidation",
        display_name: "Validate JSON body",
        description: "Refuses (400) a request body that is not JSON or does not match the schema, naming the field.",
        flows: REQUEST,
        parameters: &[p(
            "schema",
            ParamType::JsonSchema,
            false,
            "JSON Schema (when absent: the operation's request body schema in the API definition)",
        )],
    },
    PolicySpec {
        name: "regexThreatProtection",
        display_name: "Regex threat protection",
        description: "Refuses (400) requests whose headers, query or body match a pattern (SQL and script injection, path traversal by default).",
        flows: REQUEST,
        parameters: &[
            p(
                "pattern",
                ParamType::Regex,
                false,
                "Pattern to refuse (a built-in one when absent)",
            ),
            p(
                "checkHeaders",
                ParamType::Bool,
                false,
                "Check header values (true when absent)",
            ),
            p(
                "checkQuery",
                ParamType::Bool,
                false,
                "Check the query string (true when absent)",
            ),
            p(
                "checkBody",
                ParamType::Bool,
                false,
                "Check the body (true when absent)",
            ),
        ],
    },
    PolicySpec {
        name: "jwtClaimRule",
        display_name: "JWT claim rule",
        description: "Lets through only callers whose token has the claim with one of the given values (403 otherwise; a list claim passes when any of its values does).",
        flows: REQUEST,
        parameters: &[
            p(
                "claim",
                ParamType::Text,
                true,
                "Claim name, e.g. groups or http://wso2.org/claims/role",
            ),
            p(
                "values",
                ParamType::List,
                true,
                "Allowed values, separated by commas",
            ),
        ],
    },
    PolicySpec {
        name: "logMessage",
        display_name: "Log message",
        description: "Writes a line to the gateway log with the API, operation and status; credentials and cookies are never logged.",
        flows: ALL_FLOWS,
        parameters: &[
            p("message", ParamType::Text, true, "What to log"),
            p(
                "logHeaders",
                ParamType::Bool,
                false,
                "Include the headers (credentials masked)",
            ),
            p(
                "logBody",
                ParamType::Bool,
                false,
                "Include the request body (request flow, first 4 KB)",
            ),
        ],
    },
    PolicySpec {
        name: "backendJwt",
        display_name: "Backend JWT",
        description: "Turns the signed JWT the backend gets about the caller on or off for these operations.",
        flows: REQUEST,
        parameters: &[p("enabled", ParamType::Bool, true, "Send the backend JWT")],
    },
    PolicySpec {
        name: "jsonFault",
        display_name: "JSON fault",
        description: "Answers the gateway's errors (auth, throttling, policies, backend failures) with your own JSON body.",
        flows: FAULT,
        parameters: &[
            p(
                "body",
                ParamType::Body,
                true,
                "Body; {status}, {code}, {message} and {description} are filled in (JSON-escaped)",
            ),
            p(
                "status",
                ParamType::Status,
                false,
                "Status (the fault's when absent)",
            ),
            p(
                "contentType",
                ParamType::Text,
                false,
                "Content-Type (application/json when absent)",
            ),
        ],
    },
];

/// An IP address or CIDR range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl IpNet {
    pub fn parse(s: &str) -> Option<IpNet> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (s.parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(IpNet { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match (self.addr, ip) {
            (IpAddr::V4(_), IpAddr::V6(v6)) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            _ => ip,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// A validated policy, ready to compile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    AddHeader(String, String),
    SetHeader(String, String),
    RemoveHeader(String),
    AddQueryParam(String, String),
    RemoveQueryParam(String),
    RewriteMethod(String),
    RewritePath(String),
    IpAllow(Vec<IpNet>),
    IpDeny(Vec<IpNet>),
    RequestSizeLimit(u64),
    MockResponse {
        status: u16,
        content_type: String,
        /// `None`: the operation's example, filled in by the server.
        body: Option<String>,
    },
    Cors(Cors),
    /// `None`: the operation's request body schema, filled in by the server.
    JsonSchema(Option<Value>),
    RegexThreat {
        pattern: String,
        headers: bool,
        query: bool,
        body: bool,
    },
    LogMessage {
        message: String,
        headers: bool,
        body: bool,
    },
    BackendJwt(bool),
    ClaimRule {
        claim: String,
        values: Vec<String>,
    },
    JsonFault {
        status: Option<u16>,
        content_type: String,
        body: String,
    },
}

/// A `cors` policy's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cors {
    /// Empty: any origin (`*`).
    pub origins: Vec<String>,
    /// Empty: the API's methods.
    pub methods: Vec<String>,
    pub headers: Vec<String>,
    pub expose: Vec<String>,
    pub credentials: bool,
    pub max_age: Option<u64>,
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Checks `r` against the catalogue for `flow`. Errors name the parameter.
pub fn validate(r: &PolicyRef, flow: Flow) -> Result<Step, (String, String)> {
    let spec = CATALOGUE
        .iter()
        .find(|s| s.name == r.policy_name)
        .ok_or_else(|| {
            (
                "policyName".to_string(),
                format!("unknown policy `{}`", r.policy_name),
            )
        })?;
    if !spec.flows.contains(&flow) {
        let flow = match flow {
            Flow::Request => "request",
            Flow::Response => "response",
            Flow::Fault => "fault",
        };
        return Err((
            "policyName".into(),
            format!("{} does not apply to the {flow} flow", spec.name),
        ));
    }
    for key in r.parameters.keys() {
        if !spec.parameters.iter().any(|p| p.name == key) {
            return Err((
                format!("parameters.{key}"),
                format!("{} has no parameter `{key}`", spec.name),
            ));
        }
    }
    let mut values = std::collections::HashMap::new();
    let mut json_schema = None;
    for param in spec.parameters {
        let at = format!("parameters.{}", param.name);
        let Some(v) = r.parameters.get(param.name) else {
            if param.required {
                return Err((at, "is required".into()));
            }
            continue;
        };
        if param.kind == ParamType::JsonSchema {
            let schema = match v {
                Value::String(s) => serde_json::from_str::<Value>(s)
                    .map_err(|e| (at.clone(), format!("is not JSON: {e}")))?,
                other => other.clone(),
            };
            if !schema.is_object() {
                return Err((at, "must be a JSON Schema object".into()));
            }
            crate::schema::Schema::compile(&schema).map_err(|e| (at.clone(), e))?;
            json_schema = Some(schema);
            continue;
        }
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => return Err((at, "must be a string or a number".into())),
        };
        let ok = match param.kind {
            ParamType::Name => is_token(&text),
            ParamType::Text => !text.contains(['\r', '\n']) && !text.is_empty(),
            ParamType::Body => true,
            ParamType::Status => text.parse::<u16>().is_ok_and(|s| (100..=599).contains(&s)),
            ParamType::Count => text.parse::<u64>().is_ok_and(|n| n >= 1),
            ParamType::Method => ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
                .contains(&text.to_ascii_uppercase().as_str()),
            ParamType::IpList => {
                let items: Vec<&str> = text
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect();
                !items.is_empty() && items.iter().all(|s| IpNet::parse(s).is_some())
            }
            ParamType::Bool => text == "true" || text == "false",
            ParamType::Regex => {
                if let Err(e) = regex::RegexBuilder::new(&text).size_limit(1 << 20).build() {
                    return Err((at, format!("is not a regular expression: {e}")));
                }
                true
            }
            ParamType::JsonSchema => unreachable!("handled above"),
            ParamType::List => {
                !text.contains(['\r', '\n']) && text.split(',').any(|s| !s.trim().is_empty())
            }
        };
        if !ok {
            let expected = match param.kind {
                ParamType::Name => "a header or parameter name (letters, digits, - _ .)",
                ParamType::Text => "text on one line",
                ParamType::Body => "text",
                ParamType::Status => "an HTTP status 100-599",
                ParamType::Count => "a whole number of at least 1",
                ParamType::Method => "GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS",
                ParamType::IpList => "IP addresses or CIDR ranges, separated by commas",
                ParamType::Bool => "true or false",
                ParamType::Regex | ParamType::JsonSchema => "valid",
                ParamType::List => "a comma-separated list",
            };
            return Err((at, format!("`{text}` is not {expected}")));
        }
        values.insert(param.name, text);
    }
    let mut take = |k: &str| values.remove(k).unwrap_or_default();
    let flag = |v: String, default: bool| if v.is_empty() { default } else { v == "true" };
    let list = |s: String| -> Vec<String> {
        s.split(',')
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect()
    };
    let ips = |s: String| -> Vec<IpNet> {
        s.split(',')
            .map(str::trim)
            .filter_map(IpNet::parse)
            .collect()
    };
    Ok(match spec.name {
        "addHeader" => Step::AddHeader(take("headerName"), take("headerValue")),
        "setHeader" => Step::SetHeader(take("headerName"), take("headerValue")),
        "removeHeader" => Step::RemoveHeader(take("headerName")),
        "addQueryParam" => Step::AddQueryParam(take("paramName"), take("paramValue")),
        "removeQueryParam" => Step::RemoveQueryParam(take("paramName")),
        "rewriteMethod" => Step::RewriteMethod(take("updatedMethod").to_ascii_uppercase()),
        "rewritePath" => Step::RewritePath(take("path")),
        "ipAllow" => Step::IpAllow(ips(take("ips"))),
        "ipDeny" => Step::IpDeny(ips(take("ips"))),
        "requestSizeLimit" => Step::RequestSizeLimit(take("maxBytes").parse().unwrap_or(1)),
        "mockResponse" => {
            let status = take("status");
            let content_type = take("contentType");
            let body = take("body");
            let body = r.parameters.contains_key("body").then_some(body);
            Step::MockResponse {
                status: status.parse().unwrap_or(200),
                content_type: if content_type.is_empty() {
                    "application/json".into()
                } else {
                    content_type
                },
                body,
            }
        }
        "cors" => {
            let origins = list(take("allowOrigins"));
            let credentials = flag(take("allowCredentials"), false);
            if credentials && (origins.is_empty() || origins.iter().any(|o| o == "*")) {
                return Err((
                    "parameters.allowCredentials".into(),
                    "cannot be true with any origin (*); list the origins".into(),
                ));
            }
            Step::Cors(Cors {
                origins: origins.into_iter().filter(|o| o != "*").collect(),
                methods: list(take("allowMethods"))
                    .into_iter()
                    .map(|m| m.to_ascii_uppercase())
                    .collect(),
                headers: list(take("allowHeaders")),
                expose: list(take("exposeHeaders")),
                credentials,
                max_age: take("maxAge").parse().ok(),
            })
        }
        "jsonSchemaValidation" => Step::JsonSchema(json_schema),
        "regexThreatProtection" => {
            let pattern = take("pattern");
            Step::RegexThreat {
                pattern: if pattern.is_empty() {
                    DEFAULT_THREAT_PATTERN.to_string()
                } else {
                    pattern
                },
                headers: flag(take("checkHeaders"), true),
                query: flag(take("checkQuery"), true),
                body: flag(take("checkBody"), true),
            }
        }
        "logMessage" => Step::LogMessage {
            message: take("message"),
            headers: flag(take("logHeaders"), false),
            body: flag(take("logBody"), false),
        },
        "backendJwt" => Step::BackendJwt(flag(take("enabled"), true)),
        "jwtClaimRule" => Step::ClaimRule {
            claim: take("claim"),
            values: list(take("values")),
        },
        "jsonFault" => {
            let status = take("status");
            let content_type = take("contentType");
            Step::JsonFault {
                status: status.parse().ok(),
                content_type: if content_type.is_empty() {
                    "application/json".into()
                } else {
                    content_type
                },
                body: take("body"),
            }
        }
        other => unreachable!("catalogue entry {other} without a step"),
    })
}

/// Every problem in `policies`, as (field path below `at`, message).
pub fn problems(policies: &Policies) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (flow, list, name) in [
        (Flow::Request, &policies.request, "request"),
        (Flow::Response, &policies.response, "response"),
        (Flow::Fault, &policies.fault, "fault"),
    ] {
        for (i, r) in list.iter().enumerate() {
            if let Err((field, message)) = validate(r, flow) {
                out.push((format!("policies.{name}[{i}].{field}"), message));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn r(name: &str, params: Value) -> PolicyRef {
        PolicyRef {
            policy_name: name.into(),
            parameters: params.as_object().cloned().unwrap_or_default(),
        }
    }

    #[test]
    fn parameters_are_checked_against_the_schema() {
        assert_eq!(
            validate(
                &r(
                    "addHeader",
                    json!({"headerName": "X-A", "headerValue": "1"})
                ),
                Flow::Request
            ),
            Ok(Step::AddHeader("X-A".into(), "1".into()))
        );
        let err = |name, params, flow| validate(&r(name, params), flow).unwrap_err();
        assert_eq!(
            err("addHeader", json!({"headerName": "X-A"}), Flow::Request),
            ("parameters.headerValue".into(), "is required".into())
        );
        assert_eq!(
            err(
                "addHeader",
                json!({"headerName": "X A", "headerValue": "1"}),
                Flow::Request
            )
            .0,
            "parameters.headerName"
        );
        assert_eq!(
            err(
                "addHeader",
                json!({"headerName": "X", "headerValue": "1", "x": 1}),
                Flow::Request
            )
            .0,
            "parameters.x"
        );
        assert_eq!(err("nope", json!({}), Flow::Request).0, "policyName");
        assert_eq!(
            err(
                "rewriteMethod",
                json!({"updatedMethod": "POST"}),
                Flow::Response
            )
            .0,
            "policyName"
        );
        assert_eq!(
            err("ipAllow", json!({"ips": "10.0.0.0/33"}), Flow::Request).0,
            "parameters.ips"
        );
        assert_eq!(
            err("mockResponse", json!({"status": 700}), Flow::Request).0,
            "parameters.status"
        );
        let p = Policies {
            request: vec![r("removeHeader", json!({}))],
            ..Default::default()
        };
        assert_eq!(
            problems(&p),
            [(
                "policies.request[0].parameters.headerName".to_string(),
                "is required".to_string()
            )]
        );
    }

    #[test]
    fn ip_ranges_match() {
        let net = IpNet::parse("10.1.0.0/16").unwrap();
        assert!(net.contains("10.1.200.3".parse().unwrap()));
        assert!(!net.contains("10.2.0.1".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.0.9".parse().unwrap()));
        assert!(
            IpNet::parse("::1")
                .unwrap()
                .contains("::1".parse().unwrap())
        );
        assert!(
            IpNet::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        assert!(IpNet::parse("nope").is_none());
    }
}
