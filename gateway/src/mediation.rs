//! Mediation policies compiled into the routing table: per operation, the API's steps then
//! the operation's, for the request and the response flow, with header names and values, methods
//! and bodies already parsed. An operation without policies has none (no cost per request).

use std::net::IpAddr;

use hyper::body::Bytes;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, StatusCode};

use crate::policy::{Flow, IpNet, Policies, PolicyRef, Step};
use crate::snapshot::Api;

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
}

/// One operation's policies.
#[derive(Debug, Default)]
pub struct Mediation {
    request: Vec<Compiled>,
    response: Vec<Compiled>,
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

fn compile(r: &PolicyRef, flow: Flow) -> Option<Compiled> {
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
        } => Compiled::Mock(
            StatusCode::from_u16(status).ok()?,
            value(&content_type)?,
            Bytes::from(body),
        ),
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

impl Mediation {
    /// Per operation of `api`: `None` for every operation when no policy is attached anywhere.
    pub fn build(api: &Api) -> Vec<Option<Mediation>> {
        if api.policies.is_empty() && api.operations.iter().all(|o| o.policies.is_empty()) {
            return Vec::new();
        }
        api.operations
            .iter()
            .map(|op| {
                let list = |flow: Flow, pick: fn(&Policies) -> &Vec<PolicyRef>| -> Vec<Compiled> {
                    pick(&api.policies)
                        .iter()
                        .chain(pick(&op.policies))
                        .filter_map(|r| compile(r, flow))
                        .collect()
                };
                let m = Mediation {
                    request: list(Flow::Request, |p| &p.request),
                    response: list(Flow::Response, |p| &p.response),
                };
                (!m.request.is_empty() || !m.response.is_empty()).then_some(m)
            })
            .collect()
    }

    /// Runs the request flow on the request's method and headers. `template` is the
    /// operation's path template, `resource` the path the client asked for (below context and
    /// version), `query` the query string the backend would get.
    pub fn request(
        &self,
        method: &mut Method,
        headers: &mut HeaderMap,
        peer: IpAddr,
        template: &str,
        resource: &str,
        query: Option<&str>,
    ) -> Result<RequestChanges, Stop> {
        let mut changes = RequestChanges::default();
        for step in &self.request {
            match step {
                Compiled::AddHeader(..) | Compiled::SetHeader(..) | Compiled::RemoveHeader(..) => {
                    header_step(step, headers)
                }
                Compiled::AddQueryParam(pair) => {
                    let current = changes.query.take().or(query.map(str::to_string));
                    changes.query = Some(match current {
                        Some(q) if !q.is_empty() => format!("{q}&{pair}"),
                        _ => pair.clone(),
                    });
                }
                Compiled::RemoveQueryParam(name) => {
                    let current = changes
                        .query
                        .take()
                        .or(query.map(str::to_string))
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
                Compiled::RewriteMethod(m) => *method = m.clone(),
                Compiled::RewritePath(path) => {
                    changes.path = Some(fill(path, template, resource));
                }
                Compiled::IpAllow(nets) => {
                    if !nets.iter().any(|n| n.contains(peer)) {
                        return Err(Stop::Refused(
                            StatusCode::FORBIDDEN,
                            format!("Requests from {peer} are not allowed"),
                        ));
                    }
                }
                Compiled::IpDeny(nets) => {
                    if nets.iter().any(|n| n.contains(peer)) {
                        return Err(Stop::Refused(
                            StatusCode::FORBIDDEN,
                            format!("Requests from {peer} are denied"),
                        ));
                    }
                }
                Compiled::RequestSizeLimit(max) => {
                    let length = headers
                        .get(hyper::header::CONTENT_LENGTH)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<u64>().ok());
                    match length {
                        Some(n) if n > *max => {
                            return Err(Stop::Refused(
                                StatusCode::PAYLOAD_TOO_LARGE,
                                format!(
                                    "The request body has {n} bytes; at most {max} are accepted"
                                ),
                            ));
                        }
                        Some(_) => {}
                        // A streamed body of unknown length cannot be checked up front.
                        None if headers.contains_key(hyper::header::TRANSFER_ENCODING) => {
                            return Err(Stop::Refused(
                                StatusCode::LENGTH_REQUIRED,
                                format!(
                                    "A request body needs a Content-Length here (at most {max} bytes)"
                                ),
                            ));
                        }
                        None => {}
                    }
                }
                Compiled::Mock(status, content_type, body) => {
                    return Err(Stop::Mock(*status, content_type.clone(), body.clone()));
                }
            }
        }
        Ok(changes)
    }

    /// Runs the response flow on the backend's (or the mock's) response headers.
    pub fn response(&self, headers: &mut HeaderMap) {
        // Validation admits only header policies in the response flow.
        for step in &self.response {
            header_step(step, headers);
        }
    }
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
    let params: Vec<(&str, &str)> = template
        .split('/')
        .zip(resource.split('/'))
        .filter_map(|(t, r)| {
            t.strip_prefix('{')
                .and_then(|t| t.strip_suffix('}'))
                .map(|name| (name, r))
        })
        .collect();
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
        let built = Mediation::build(&api);
        let peer: IpAddr = "127.0.0.1".parse().unwrap();
        let mut method = Method::GET;
        let mut h = HeaderMap::new();
        let changes = built[0]
            .as_ref()
            .unwrap()
            .request(
                &mut method,
                &mut h,
                peer,
                "/items/{id}",
                "/items/42",
                Some("secret=x&q=1"),
            )
            .unwrap();
        assert_eq!(h.get_all("x-a").iter().collect::<Vec<_>>(), ["3"]);
        assert_eq!(changes.path.as_deref(), Some("/v2/things/42"));
        assert_eq!(changes.query.as_deref(), Some("q=1&src=a%20b"));
        // The other operation gets the API's two, in order.
        let mut h = HeaderMap::new();
        built[1]
            .as_ref()
            .unwrap()
            .request(&mut method, &mut h, peer, "/items", "/items", None)
            .unwrap();
        assert_eq!(h.get_all("x-a").iter().collect::<Vec<_>>(), ["1", "2"]);
        // Nothing attached anywhere: nothing built.
        assert!(Mediation::build(&Api::default()).is_empty());
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
        let m = Mediation::build(&api).remove(0).unwrap();
        let run = |peer: &str, length: Option<&str>| {
            let mut method = Method::POST;
            let mut h = HeaderMap::new();
            if let Some(l) = length {
                h.insert("content-length", HeaderValue::from_str(l).unwrap());
            }
            m.request(&mut method, &mut h, peer.parse().unwrap(), "/*", "/x", None)
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
