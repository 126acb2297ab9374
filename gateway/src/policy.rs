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

/// Header policies run on the request and on the backend's response (the fault flow is not
/// executed yet, so nothing may be attached to it).
const REQUEST_RESPONSE: &[Flow] = &[Flow::Request, Flow::Response];
const REQUEST: &[Flow] = &[Flow::Request];

/// Every built-in policy.
pub const CATALOGUE: &[PolicySpec] = &[
    PolicySpec {
        name: "addHeader",
        display_name: "Add header",
        description: "Adds a header (another value if it is already there).",
        flows: REQUEST_RESPONSE,
        parameters: &[
            p("headerName", ParamType::Name, true, "Header to add"),
            p("headerValue", ParamType::Text, true, "Its value"),
        ],
    },
    PolicySpec {
        name: "setHeader",
        display_name: "Set header",
        description: "Sets a header, replacing any value it had.",
        flows: REQUEST_RESPONSE,
        parameters: &[
            p("headerName", ParamType::Name, true, "Header to set"),
            p("headerValue", ParamType::Text, true, "Its value"),
        ],
    },
    PolicySpec {
        name: "removeHeader",
        display_name: "Remove header",
        description: "Removes a header.",
        flows: REQUEST_RESPONSE,
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
            p("body", ParamType::Body, false, "The body"),
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
        body: String,
    },
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
    for param in spec.parameters {
        let at = format!("parameters.{}", param.name);
        let Some(v) = r.parameters.get(param.name) else {
            if param.required {
                return Err((at, "is required".into()));
            }
            continue;
        };
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
            };
            return Err((at, format!("`{text}` is not {expected}")));
        }
        values.insert(param.name, text);
    }
    let mut take = |k: &str| values.remove(k).unwrap_or_default();
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
            Step::MockResponse {
                status: status.parse().unwrap_or(200),
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
