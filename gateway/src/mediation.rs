//! Mediation policies compiled into the routing table: per operation, the API's steps then
//! the operation's, for the request, response and fault flows, with header names and values,
//! methods, bodies, patterns and schemas already parsed. An operation without policies has none
//! (no cost per request).

use std::net::IpAddr;

use hyper::body::Bytes;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, StatusCode};

use crate::policy::{Flow, IpNet, Policies, PolicyRef, Step};
use crate::schema::Schema;
use crate::snapshot::{Api, Operation};

#[derive(Debug)]
enum Compiled {
    AddHeader(HeaderName, HeaderValue),
    SetHeader(HeaderName, HeaderValue),
    RemoveHeader(HeaderName),
    AddQueryParam(String),
    RemoveQueryParam(String),
    RewriteMethod(Method),
    RewritePath(String),
    IpAllow(Vec<IpNet>),
    IpDeny(Vec<IpNet>),
    RequestSizeLimit(u64),
    Mock(StatusCode, HeaderValue, Bytes),
    Schema(Box<Schema>),
    Threat {
        pattern: regex::Regex,
        headers: bool,
        query: bool,
        body: bool,
    },
    Log {
        message: String,
        headers: bool,
        body: bool,
    },
    Fault {
        status: Option<StatusCode>,
        content_type: HeaderValue,
        body: String,
    },
    ClaimRule {
        claim: String,
        values: Vec<String>,
    },
}

/// A `cors` policy, ready to answer preflights and mark responses.
#[derive(Debug)]
pub struct Cors {
    /// Empty: any origin.
    origins: Vec<String>,
    methods: HeaderValue,
    headers: HeaderValue,
    expose: Option<HeaderValue>,
    credentials: bool,
    max_age: Option<HeaderValue>,
}

impl Cors {
    fn compile(c: crate::policy::Cors, api: &Api) -> Option<Cors> {
        let methods = if c.methods.is_empty() {
            let mut m: Vec<String> = Vec::new();
            for op in &api.operations {
                let verb = if op.method == "*" {
                    "GET, POST, PUT, PATCH, DELETE".to_string()
                } else {
                    op.method.clone()
                };
                if !m.contains(&verb) {
                    m.push(verb);
                }
            }
            m.push("OPTIONS".into());
            m.join(", ")
        } else {
            c.methods.join(", ")
        };
        let headers = if c.headers.is_empty() {
            "authorization, content-type, apikey".to_string()
        } else {
            c.headers.join(", ")
        };
        Some(Cors {
            origins: c.origins,
            methods: HeaderValue::from_str(&methods).ok()?,
            headers: HeaderValue::from_str(&headers).ok()?,
            expose: (!c.expose.is_empty())
                .then(|| HeaderValue::from_str(&c.expose.join(", ")).ok())
                .flatten(),
            credentials: c.credentials,
            max_age: c.max_age.map(HeaderValue::from),
        })
    }

    /// The `Access-Control-Allow-Origin` value for `origin`, if it may call.
    fn allow(&self, origin: &HeaderValue) -> Option<HeaderValue> {
        if self.origins.is_empty() {
            return Some(HeaderValue::from_static("*"));
        }
        let o = origin.to_str().ok()?;
        self.origins
            .iter()
            .any(|allowed| allowed.eq_ignore_ascii_case(o))
            .then(|| origin.clone())
    }

    /// The answer to a preflight from `origin`: 204 with the allowed methods and headers, or
    /// 403 without them when the origin may not call.
    pub fn preflight(&self, origin: &HeaderValue) -> (StatusCode, HeaderMap) {
        let mut h = HeaderMap::new();
        let Some(allowed) = self.allow(origin) else {
            return (StatusCode::FORBIDDEN, h);
        };
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allowed);
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, self.methods.clone());
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, self.headers.clone());
        if self.credentials {
            h.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        if let Some(age) = &self.max_age {
            h.insert(header::ACCESS_CONTROL_MAX_AGE, age.clone());
        }
        if !self.origins.is_empty() {
            h.insert(header::VARY, HeaderValue::from_static("Origin"));
        }
        (StatusCode::NO_CONTENT, h)
    }

    /// Marks a response (the backend's or a fault) to a request from `origin`.
    pub fn decorate(&self, origin: &HeaderValue, h: &mut HeaderMap) {
        let Some(allowed) = self.allow(origin) else {
            return;
        };
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allowed);
        if self.credentials {
            h.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        if let Some(e) = &self.expose {
            h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, e.clone());
        }
        if !self.origins.is_empty() {
            h.append(header::VARY, HeaderValue::from_static("Origin"));
        }
    }
}

/// One operation's policies.
#[derive(Debug, Default)]
pub struct Mediation {
    request: Vec<Compiled>,
    response: Vec<Compiled>,
    fault: Vec<Compiled>,
    /// The last `cors` policy, if any.
    pub cors: Option<Cors>,
    /// The last `backendJwt` policy's word, if any.
    pub backend_jwt: Option<bool>,
    /// A request-flow policy reads the body (schema, threat protection, logging).
    pub reads_body: bool,
}

/// What the request flow works on.
pub struct Exchange<'a> {
    pub method: &'a mut Method,
    pub headers: &'a mut HeaderMap,
    pub peer: IpAddr,
    /// The operation's path template.
    pub template: &'a str,
    /// The path the client asked for, below context and version.
    pub resource: &'a str,
    /// The query string the backend would get.
    pub query: Option<&'a str>,
    /// The request body, when a policy reads it (`Mediation::reads_body`).
    pub body: Option<&'a Bytes>,
    /// The caller's token claims the policies test (`None` without a token).
    pub claims: Option<&'a crate::auth::Claims>,
    /// `name:version` of the API, for log lines (made only when one is written).
    pub api: &'a dyn Fn() -> String,
}

/// What the request flow decided.
#[derive(Debug, Default)]
pub struct RequestChanges {
    /// The backend's resource path (the operation's path parameters filled in).
    pub path: Option<String>,
    /// The query string the backend gets, when a policy changed it.
    pub query: Option<String>,
}

/// Why the request flow stopped a request, or answered it itself.
#[derive(Debug)]
pub enum Stop {
    Refused(StatusCode, String),
    Mock(StatusCode, HeaderValue, Bytes),
}

/// A fault as the fault flow sees it.
pub struct FaultInfo<'a> {
    pub status: StatusCode,
    pub code: &'a str,
    pub message: &'a str,
    pub description: &'a str,
}

fn compile(r: &PolicyRef, flow: Flow, op: &Operation) -> Option<Compiled> {
    // Validated with the snapshot (`Snapshot::problems`); anything else is skipped.
    let step = crate::policy::validate(r, flow).ok()?;
    let name = |n: &str| HeaderName::from_bytes(n.as_bytes()).ok();
    let value = |v: &str| HeaderValue::from_str(v).ok();
    Some(match step {
        Step::AddHeader(n, v) => Compiled::AddHeader(name(&n)?, value(&v)?),
        Step::SetHeader(n, v) => Compiled::SetHeader(name(&n)?, value(&v)?),
        Step::RemoveHeader(n) => Compiled::RemoveHeader(name(&n)?),
        Step::AddQueryParam(n, v) => {
            Compiled::AddQueryParam(format!("{}={}", encode(&n), encode(&v)))
        }
        Step::RemoveQueryParam(n) => Compiled::RemoveQueryParam(n),
        Step::RewriteMethod(m) => Compiled::RewriteMethod(Method::from_bytes(m.as_bytes()).ok()?),
        Step::RewritePath(p) => Compiled::RewritePath(p),
        Step::IpAllow(nets) => Compiled::IpAllow(nets),
        Step::IpDeny(nets) => Compiled::IpDeny(nets),
        Step::RequestSizeLimit(n) => Compiled::RequestSizeLimit(n),
        Step::MockResponse {
            status,
            content_type,
            body,
        } => match (body, &op.example) {
            (Some(body), _) => Compiled::Mock(
                StatusCode::from_u16(status).ok()?,
                value(&content_type)?,
                Bytes::from(body),
            ),
            // The definition's example, with its own status and type.
            (None, Some(e)) => Compiled::Mock(
                StatusCode::from_u16(e.status).ok()?,
                value(&e.content_type)?,
                Bytes::from(e.body.clone()),
            ),
            (None, None) => Compiled::Mock(
                StatusCode::from_u16(status).ok()?,
                value(&content_type)?,
                Bytes::new(),
            ),
        },
        Step::JsonSchema(schema) => {
            let schema = schema.as_ref().or(op.request_schema.as_ref())?;
            Compiled::Schema(Box::new(Schema::compile(schema).ok()?))
        }
        Step::RegexThreat {
            pattern,
            headers,
            query,
            body,
        } => Compiled::Threat {
            pattern: regex::RegexBuilder::new(&pattern)
                .size_limit(1 << 20)
                .build()
                .ok()?,
            headers,
            query,
            body,
        },
        Step::LogMessage {
            message,
            headers,
            body,
        } => Compiled::Log {
            message,
            headers,
            body: body && flow == Flow::Request,
        },
        Step::JsonFault {
            status,
            content_type,
            body,
        } => Compiled::Fault {
            status: status.and_then(|s| StatusCode::from_u16(s).ok()),
            content_type: value(&content_type)?,
            body,
        },
        Step::ClaimRule { claim, values } => Compiled::ClaimRule { claim, values },
        // Not steps: kept on the operation's `Mediation` (see `build`).
        Step::Cors(_) | Step::BackendJwt(_) => return None,
    })
}

/// Percent-encodes what a query component must not carry as is.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Headers a log line never shows the value of.
fn is_secret(name: &HeaderName) -> bool {
    let n = name.as_str();
    [
        "authorization",
        "cookie",
        "apikey",
        "api-key",
        "token",
        "secret",
        "jwt-assertion",
    ]
    .iter()
    .any(|s| n.contains(s))
}

fn headers_for_log(h: &HeaderMap) -> String {
    let mut out = String::new();
    for (name, value) in h {
        if !out.is_empty() {
            out.push_str(", ");
        }
        out.push_str(name.as_str());
        out.push_str(": ");
        if is_secret(name) {
            out.push_str("***");
        } else {
            out.push_str(&String::from_utf8_lossy(value.as_bytes()));
        }
    }
    out
}

/// The first 4 KB of a body as text, for a log line.
fn body_for_log(b: &Bytes) -> String {
    let cut = &b[..b.len().min(4096)];
    let mut s = String::from_utf8_lossy(cut).into_owned();
    if b.len() > cut.len() {
        s.push('…');
    }
    s
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .is_some_and(|t| t == "application/json" || t.ends_with("+json"))
}

/// The token claims `jwtClaimRule` policies test anywhere in `snapshot` (the gateway keeps
/// these of each verified token).
pub fn claim_names(snapshot: &crate::snapshot::Snapshot) -> Vec<String> {
    let lists = snapshot
        .gateway_policies
        .iter()
        .map(|g| &g.policies)
        .chain(snapshot.apis.iter().map(|a| &a.policies))
        .chain(
            snapshot
                .apis
                .iter()
                .flat_map(|a| a.operations.iter().map(|o| &o.policies)),
        );
    let mut names: Vec<String> = lists
        .flat_map(|p| &p.request)
        .filter(|r| r.policy_name == "jwtClaimRule")
        .filter_map(|r| r.parameters.get("claim")?.as_str().map(str::to_string))
        .collect();
    names.sort();
    names.dedup();
    names
}

impl Mediation {
    /// Per operation of `api`: `None` for every operation when no policy is attached anywhere.
    /// `global` are the environment's gateway policies, which run before the API's.
    pub fn build(api: &Api, global: &Policies) -> Vec<Option<Mediation>> {
        if global.is_empty()
            && api.policies.is_empty()
            && api.operations.iter().all(|o| o.policies.is_empty())
        {
            return Vec::new();
        }
        api.operations
            .iter()
            .map(|op| {
                let refs = |pick: fn(&Policies) -> &Vec<PolicyRef>| {
                    pick(global)
                        .iter()
                        .chain(pick(&api.policies))
                        .chain(pick(&op.policies))
                };
                let list = |flow: Flow, pick: fn(&Policies) -> &Vec<PolicyRef>| -> Vec<Compiled> {
                    refs(pick).filter_map(|r| compile(r, flow, op)).collect()
                };
                let mut m = Mediation {
                    request: list(Flow::Request, |p| &p.request),
                    response: list(Flow::Response, |p| &p.response),
                    fault: list(Flow::Fault, |p| &p.fault),
                    ..Default::default()
                };
                for r in refs(|p| &p.request) {
                    match crate::policy::validate(r, Flow::Request) {
                        Ok(Step::Cors(c)) => m.cors = Cors::compile(c, api),
                        Ok(Step::BackendJwt(on)) => m.backend_jwt = Some(on),
                        _ => {}
                    }
                }
                m.reads_body = m.request.iter().any(|c| {
                    matches!(
                        c,
                        Compiled::Schema(_)
                            | Compiled::Threat { body: true, .. }
                            | Compiled::Log { body: true, .. }
                    )
                });
                let empty = m.request.is_empty()
                    && m.response.is_empty()
                    && m.fault.is_empty()
                    && m.cors.is_none()
                    && m.backend_jwt.is_none();
                (!empty).then_some(m)
            })
            .collect()
    }

    /// Runs the request flow.
    pub fn request(&self, x: &mut Exchange) -> Result<RequestChanges, Stop> {
        let mut changes = RequestChanges::default();
        for step in &self.request {
            match step {
                Compiled::AddHeader(..) | Compiled::SetHeader(..) | Compiled::RemoveHeader(..) => {
                    header_step(step, x.headers)
                }
                Compiled::AddQueryParam(pair) => {
                    let current = changes.query.take().or(x.query.map(str::to_string));
                    changes.query = Some(match current {
                        Some(q) if !q.is_empty() => format!("{q}&{pair}"),
                        _ => pair.clone(),
                    });
                }
                Compiled::RemoveQueryParam(name) => {
                    let current = changes
                        .query
                        .take()
                        .or(x.query.map(str::to_string))
                        .unwrap_or_default();
                    let kept: Vec<&str> = current
                        .split('&')
                        .filter(|kv| !kv.is_empty())
                        .filter(|kv| {
                            let key = kv.split_once('=').map_or(*kv, |(k, _)| k);
                            crate::proxy::percent_decode(key) != *name
                        })
                        .collect();
                    changes.query = Some(kept.join("&"));
                }
                Compiled::RewriteMethod(m) => *x.method = m.clone(),
                Compiled::RewritePath(path) => {
                    changes.path = Some(fill(path, x.template, x.resource));
                }
                Compiled::IpAllow(nets) => {
                    if !nets.iter().any(|n| n.contains(x.peer)) {
                        return Err(Stop::Refused(
                            StatusCode::FORBIDDEN,
                            format!("Requests from {} are not allowed", x.peer),
                        ));
                    }
                }
                Compiled::IpDeny(nets) => {
                    if nets.iter().any(|n| n.contains(x.peer)) {
                        return Err(Stop::Refused(
                            StatusCode::FORBIDDEN,
                            format!("Requests from {} are denied", x.peer),
                        ));
                    }
                }
                Compiled::RequestSizeLimit(max) => size_limit(x, *max)?,
                Compiled::Mock(status, content_type, body) => {
                    return Err(Stop::Mock(*status, content_type.clone(), body.clone()));
                }
                Compiled::Schema(schema) => validate_body(x, schema)?,
                Compiled::Threat {
                    pattern,
                    headers,
                    query,
                    body,
                } => {
                    let found = |place: String| {
                        Err(Stop::Refused(
                            StatusCode::BAD_REQUEST,
                            format!("A threat pattern matched the request's {place}"),
                        ))
                    };
                    if *headers {
                        for (name, value) in x.headers.iter() {
                            if pattern.is_match(&String::from_utf8_lossy(value.as_bytes())) {
                                return found(format!("header {name}"));
                            }
                        }
                    }
                    let q = changes.query.as_deref().or(x.query);
                    if *query
                        && let Some(q) = q
                        && pattern.is_match(&crate::proxy::percent_decode(&q.replace('+', " ")))
                    {
                        return found("query".into());
                    }
                    if *body
                        && let Some(b) = x.body
                        && pattern.is_match(&String::from_utf8_lossy(b))
                    {
                        return found("body".into());
                    }
                }
                Compiled::Log {
                    message,
                    headers,
                    body,
                } => {
                    tracing::info!(
                        target: "gatehouse::policy",
                        api = (x.api)(),
                        flow = "request",
                        method = %x.method,
                        resource = x.resource,
                        headers = headers.then(|| headers_for_log(x.headers)),
                        body = body.then(|| x.body.map(body_for_log)).flatten(),
                        "{message}"
                    );
                }
                Compiled::ClaimRule { claim, values } => {
                    let held = x
                        .claims
                        .and_then(|c| c.iter().find(|(n, _)| n == claim))
                        .map(|(_, v)| v.as_str());
                    // A list claim is kept as its values joined by commas.
                    let passes = held.is_some_and(|v| {
                        v.split(',')
                            .map(str::trim)
                            .any(|v| values.iter().any(|a| a == v))
                    });
                    if !passes {
                        return Err(Stop::Refused(
                            StatusCode::FORBIDDEN,
                            match held {
                                None => {
                                    format!("This operation needs a token with the claim {claim}")
                                }
                                Some(_) => format!(
                                    "The token's claim {claim} does not allow this operation"
                                ),
                            },
                        ));
                    }
                }
                // Fault-flow only (validation keeps it there).
                Compiled::Fault { .. } => {}
            }
        }
        Ok(changes)
    }

    /// Runs the response flow on the backend's (or the mock's) response headers.
    pub fn response(&self, api: &dyn Fn() -> String, status: StatusCode, headers: &mut HeaderMap) {
        for step in &self.response {
            if let Compiled::Log {
                message,
                headers: with_headers,
                ..
            } = step
            {
                tracing::info!(
                    target: "gatehouse::policy",
                    api = api(),
                    flow = "response",
                    status = status.as_u16(),
                    headers = with_headers.then(|| headers_for_log(headers)),
                    "{message}"
                );
            } else {
                header_step(step, headers);
            }
        }
    }

    /// Runs the fault flow on a fault's answer: a `jsonFault` policy replaces its status, type
    /// and body; header policies change its headers. `None` when the flow is empty.
    pub fn fault(
        &self,
        api: &str,
        f: &FaultInfo,
        headers: &mut HeaderMap,
    ) -> Option<(StatusCode, Option<(HeaderValue, Bytes)>)> {
        if self.fault.is_empty() {
            return None;
        }
        let mut status = f.status;
        let mut body = None;
        for step in &self.fault {
            match step {
                Compiled::Fault {
                    status: s,
                    content_type,
                    body: template,
                } => {
                    let esc = |v: &str| {
                        let q = serde_json::Value::String(v.to_string()).to_string();
                        q[1..q.len() - 1].to_string()
                    };
                    let text = template
                        .replace("{status}", &f.status.as_u16().to_string())
                        .replace("{code}", &esc(f.code))
                        .replace("{message}", &esc(f.message))
                        .replace("{description}", &esc(f.description));
                    status = s.unwrap_or(f.status);
                    body = Some((content_type.clone(), Bytes::from(text)));
                }
                Compiled::Log {
                    message,
                    headers: with_headers,
                    ..
                } => {
                    tracing::info!(
                        target: "gatehouse::policy",
                        api,
                        flow = "fault",
                        status = f.status.as_u16(),
                        code = f.code,
                        description = f.description,
                        headers = with_headers.then(|| headers_for_log(headers)),
                        "{message}"
                    );
                }
                other => header_step(other, headers),
            }
        }
        Some((status, body))
    }
}

fn size_limit(x: &Exchange, max: u64) -> Result<(), Stop> {
    let length = x.body.map(|b| b.len() as u64).or_else(|| {
        x.headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
    });
    match length {
        Some(n) if n > max => Err(Stop::Refused(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("The request body has {n} bytes; at most {max} are accepted"),
        )),
        Some(_) => Ok(()),
        // A streamed body of unknown length cannot be checked up front.
        None if x.headers.contains_key(header::TRANSFER_ENCODING) => Err(Stop::Refused(
            StatusCode::LENGTH_REQUIRED,
            format!("A request body needs a Content-Length here (at most {max} bytes)"),
        )),
        None => Ok(()),
    }
}

fn validate_body(x: &Exchange, schema: &Schema) -> Result<(), Stop> {
    let bad = |why: String| Err(Stop::Refused(StatusCode::BAD_REQUEST, why));
    let body = x.body.filter(|b| !b.is_empty());
    // Methods without a body by nature pass without one (an API-level schema on a GET).
    if body.is_none()
        && matches!(
            *x.method,
            Method::GET | Method::HEAD | Method::DELETE | Method::OPTIONS
        )
    {
        return Ok(());
    }
    let Some(body) = body else {
        return bad(
            "The request has no body; a JSON body matching the API's schema is required".into(),
        );
    };
    if !is_json(x.headers) {
        return bad("The request body must be JSON (Content-Type application/json)".into());
    }
    let value: serde_json::Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return bad(format!("The request body is not valid JSON: {e}")),
    };
    schema
        .check(&value)
        .or_else(|v| bad(format!("The request body does not match the schema: {v}")))
}

/// Applies a header policy; other steps are not header policies and change nothing here.
fn header_step(step: &Compiled, headers: &mut HeaderMap) {
    match step {
        Compiled::AddHeader(n, v) => {
            headers.append(n.clone(), v.clone());
        }
        Compiled::SetHeader(n, v) => {
            headers.insert(n.clone(), v.clone());
        }
        Compiled::RemoveHeader(n) => {
            headers.remove(n);
        }
        _ => {}
    }
}

/// `path` with each `{name}` replaced by the value of the template's parameter `name` in
/// `resource` (`/items/{id}` against `/items/42` gives id = 42).
fn fill(path: &str, template: &str, resource: &str) -> String {
    let mut params: Vec<(String, &str)> = Vec::new();
    for (t, r) in template.split('/').zip(resource.split('/')) {
        if let Some(pattern) = crate::router::SegmentPattern::parse(t) {
            // `{id}.json` against `42.json` gives id = 42.
            for (name, value) in pattern.captures(r).unwrap_or_default() {
                params.push((name.to_string(), value));
            }
        } else if let Some(name) = t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
            params.push((name.to_string(), r));
        }
    }
    let mut out = path.to_string();
    for (name, value) in params {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    if !out.starts_with('/') {
        out.insert(0, '/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::Operation;
    use serde_json::json;

    fn policies(v: serde_json::Value) -> Policies {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn rewritten_paths_take_parameters_from_whole_and_mixed_segments() {
        assert_eq!(fill("/v2/{id}", "/items/{id}", "/items/42"), "/v2/42");
        assert_eq!(
            fill(
                "/routes/{from}/{to}/{fmt}",
                "/r/{from}-{to}/x.{fmt}",
                "/r/FRA-JFK/x.json"
            ),
            "/routes/FRA/JFK/json"
        );
    }

    #[test]
    fn api_level_runs_before_operation_level_in_the_order_given() {
        let api = Api {
            policies: policies(json!({"request": [
                {"policyName": "addHeader", "parameters": {"headerName": "X-A", "headerValue": "1"}},
                {"policyName": "addHeader", "parameters": {"headerName": "X-A", "headerValue": "2"}}
            ]})),
            operations: vec![
                Operation {
                    method: "GET".into(),
                    target: "/items/{id}".into(),
                    policies: policies(json!({"request": [
                        {"policyName": "setHeader", "parameters": {"headerName": "X-A", "headerValue": "3"}},
                        {"policyName": "rewritePath", "parameters": {"path": "/v2/things/{id}"}},
                        {"policyName": "addQueryParam", "parameters": {"paramName": "src", "paramValue": "a b"}},
                        {"policyName": "removeQueryParam", "parameters": {"paramName": "secret"}}
                    ]})),
                    ..Default::default()
                },
                Operation {
                    method: "POST".into(),
                    target: "/items".into(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let built = Mediation::build(&api, &Policies::default());
        let peer: IpAddr = "127.0.0.1".parse().unwrap();
        let mut method = Method::GET;
        let mut h = HeaderMap::new();
        let changes = built[0]
            .as_ref()
            .unwrap()
            .request(&mut Exchange {
                method: &mut method,
                headers: &mut h,
                peer,
                template: "/items/{id}",
                resource: "/items/42",
                query: Some("secret=x&q=1"),
                body: None,
                claims: None,
                api: &|| "t:1".to_string(),
            })
            .unwrap();
        assert_eq!(h.get_all("x-a").iter().collect::<Vec<_>>(), ["3"]);
        assert_eq!(changes.path.as_deref(), Some("/v2/things/42"));
        assert_eq!(changes.query.as_deref(), Some("q=1&src=a%20b"));
        // The other operation gets the API's two, in order.
        let mut h = HeaderMap::new();
        built[1]
            .as_ref()
            .unwrap()
            .request(&mut Exchange {
                method: &mut method,
                headers: &mut h,
                peer,
                template: "/items",
                resource: "/items",
                query: None,
                body: None,
                claims: None,
                api: &|| "t:1".to_string(),
            })
            .unwrap();
        assert_eq!(h.get_all("x-a").iter().collect::<Vec<_>>(), ["1", "2"]);
        // Nothing attached anywhere: nothing built.
        assert!(Mediation::build(&Api::default(), &Policies::default()).is_empty());
    }

    #[test]
    fn access_size_and_mock_policies_stop_requests() {
        let api = Api {
            operations: vec![Operation {
                method: "POST".into(),
                target: "/*".into(),
                policies: policies(json!({"request": [
                    {"policyName": "ipAllow", "parameters": {"ips": "10.0.0.0/8, 127.0.0.1"}},
                    {"policyName": "requestSizeLimit", "parameters": {"maxBytes": 10}},
                    {"policyName": "mockResponse", "parameters": {"status": 201, "body": "{}"}}
                ]})),
                ..Default::default()
            }],
            ..Default::default()
        };
        let m = Mediation::build(&api, &Policies::default())
            .remove(0)
            .unwrap();
        let run = |peer: &str, length: Option<&str>| {
            let mut method = Method::POST;
            let mut h = HeaderMap::new();
            if let Some(l) = length {
                h.insert("content-length", HeaderValue::from_str(l).unwrap());
            }
            m.request(&mut Exchange {
                method: &mut method,
                headers: &mut h,
                peer: peer.parse().unwrap(),
                template: "/*",
                resource: "/x",
                query: None,
                body: None,
                claims: None,
                api: &|| "t:1".to_string(),
            })
        };
        assert!(matches!(
            run("192.168.1.1", None),
            Err(Stop::Refused(StatusCode::FORBIDDEN, _))
        ));
        assert!(matches!(
            run("10.1.2.3", Some("11")),
            Err(Stop::Refused(StatusCode::PAYLOAD_TOO_LARGE, _))
        ));
        match run("127.0.0.1", Some("10")) {
            Err(Stop::Mock(status, ct, body)) => {
                assert_eq!(
                    (status.as_u16(), ct.to_str().unwrap(), &body[..]),
                    (201, "application/json", &b"{}"[..])
                );
            }
            other => panic!("{other:?}"),
        }
    }
}

#[cfg(test)]
mod body_tests {
    use super::*;
    use crate::snapshot::Operation;
    use serde_json::json;

    #[test]
    fn a_schema_refuses_a_missing_body_only_where_a_body_belongs() {
        let api = Api {
            policies: serde_json::from_value(json!({"request": [
                {"policyName": "jsonSchemaValidation", "parameters": {"schema": {"type": "object"}}}
            ]}))
            .unwrap(),
            operations: vec![Operation {
                method: "*".into(),
                target: "/*".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let m = Mediation::build(&api, &Policies::default())
            .remove(0)
            .unwrap();
        assert!(m.reads_body);
        let run = |method: Method| {
            let mut method = method;
            let mut h = HeaderMap::new();
            m.request(&mut Exchange {
                method: &mut method,
                headers: &mut h,
                peer: "127.0.0.1".parse().unwrap(),
                template: "/*",
                resource: "/x",
                query: None,
                body: None,
                claims: None,
                api: &|| "t:1".to_string(),
            })
        };
        assert!(run(Method::GET).is_ok());
        assert!(run(Method::DELETE).is_ok());
        assert!(matches!(
            run(Method::POST),
            Err(Stop::Refused(StatusCode::BAD_REQUEST, _))
        ));
    }
}
