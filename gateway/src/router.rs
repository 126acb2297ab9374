//! The routing table built from a snapshot: a segment trie over `context/version` (and
//! `context` alone for default versions) finds the API by longest prefix, then each API's own
//! trie over its operation templates finds the operation. No per-request scan over APIs, and
//! no allocation for the lookup itself.

use std::collections::HashMap;

use crate::snapshot::{Api, Snapshot};

/// Immutable once built; a new snapshot builds a new one.
#[derive(Debug, Default)]
pub struct Router {
    apis: Vec<Api>,
    prefixes: PrefixNode,
    ops: Vec<OpNode>,
    version: u64,
}

/// Children of a trie node, sorted by segment for binary search. Built through a `HashMap`
/// and frozen into one exact-size slice: a hash table per node cost ~0.5 KB even with one
/// child, which at 10,000 APIs was most of the router's memory.
#[derive(Debug)]
struct Children<T>(Box<[(Box<str>, T)]>);

impl<T> Default for Children<T> {
    fn default() -> Self {
        Children(Box::new([]))
    }
}

impl<T> Children<T> {
    fn get(&self, seg: &str) -> Option<&T> {
        self.0
            .binary_search_by(|(k, _)| (**k).cmp(seg))
            .ok()
            .map(|i| &self.0[i].1)
    }

    fn freeze<B>(map: HashMap<Box<str>, B>, f: impl Fn(B) -> T) -> Children<T> {
        let mut v: Vec<(Box<str>, T)> = map.into_iter().map(|(k, b)| (k, f(b))).collect();
        v.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Children(v.into_boxed_slice())
    }
}

#[derive(Debug, Default)]
struct PrefixNode {
    children: Children<PrefixNode>,
    api: Option<usize>,
}

#[derive(Default)]
struct PrefixBuild {
    children: HashMap<Box<str>, PrefixBuild>,
    api: Option<usize>,
}

impl PrefixBuild {
    fn freeze(self) -> PrefixNode {
        PrefixNode {
            children: Children::freeze(self.children, PrefixBuild::freeze),
            api: self.api,
        }
    }
}

/// A segment mixing literal text and parameters: `{name}.json`, `{from}-{to}`,
/// `{resource}:cancel`, `{lat},{lng}` (OpenAPI allows them; many real documents use them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentPattern(Vec<Part>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(Box<str>),
    Param(Box<str>),
}

impl SegmentPattern {
    /// The pattern of a template segment that is neither plain text nor one whole `{param}`;
    /// `None` for those, and for what cannot be matched unambiguously (two parameters side
    /// by side, an empty or unclosed brace).
    pub fn parse(seg: &str) -> Option<SegmentPattern> {
        if !seg.contains('{') || (seg.starts_with('{') && seg.find('}') == Some(seg.len() - 1)) {
            return None;
        }
        let mut parts = Vec::new();
        let mut rest = seg;
        while !rest.is_empty() {
            match rest.find('{') {
                Some(0) => {
                    let end = rest.find('}')?;
                    let name = &rest[1..end];
                    if name.is_empty() || name.contains('{') {
                        return None;
                    }
                    if matches!(parts.last(), Some(Part::Param(_))) {
                        return None;
                    }
                    parts.push(Part::Param(name.into()));
                    rest = &rest[end + 1..];
                }
                Some(i) => {
                    if rest[..i].contains('}') {
                        return None;
                    }
                    parts.push(Part::Literal(rest[..i].into()));
                    rest = &rest[i..];
                }
                None => {
                    if rest.contains('}') {
                        return None;
                    }
                    parts.push(Part::Literal(rest.into()));
                    rest = "";
                }
            }
        }
        Some(SegmentPattern(parts))
    }

    /// The parameters' values when `seg` matches (each at least one character), in order.
    pub fn captures<'s>(&self, seg: &'s str) -> Option<Vec<(&str, &'s str)>> {
        let mut out = Vec::new();
        matches(&self.0, seg, &mut out).then_some(out)
    }
}

fn matches<'p, 's>(parts: &'p [Part], seg: &'s str, out: &mut Vec<(&'p str, &'s str)>) -> bool {
    let Some((first, rest)) = parts.split_first() else {
        return seg.is_empty();
    };
    match first {
        Part::Literal(l) => seg
            .strip_prefix(&**l)
            .is_some_and(|after| matches(rest, after, out)),
        Part::Param(name) => match rest.first() {
            None => {
                if seg.is_empty() {
                    return false;
                }
                out.push((name, seg));
                true
            }
            Some(Part::Literal(l)) => {
                // The shortest value the rest of the pattern accepts.
                for (i, _) in seg.match_indices(&**l).filter(|(i, _)| *i > 0) {
                    let len = out.len();
                    out.push((name, &seg[..i]));
                    if matches(rest, &seg[i..], out) {
                        return true;
                    }
                    out.truncate(len);
                }
                false
            }
            // `parse` never puts two parameters side by side.
            Some(Part::Param(_)) => false,
        },
    }
}

#[derive(Debug, Default)]
struct OpNode {
    literal: Children<OpNode>,
    /// Mixed segments, in template order.
    mixed: Box<[(SegmentPattern, OpNode)]>,
    param: Option<Box<OpNode>>,
    /// `*` at this level: matches the rest of the path, including nothing.
    wildcard: Option<Methods>,
    methods: Option<Methods>,
}

#[derive(Default)]
struct OpBuild {
    literal: HashMap<Box<str>, OpBuild>,
    mixed: Vec<(SegmentPattern, OpBuild)>,
    param: Option<Box<OpBuild>>,
    wildcard: Option<Methods>,
    methods: Option<Methods>,
}

impl OpBuild {
    fn freeze(self) -> OpNode {
        OpNode {
            literal: Children::freeze(self.literal, OpBuild::freeze),
            mixed: self
                .mixed
                .into_iter()
                .map(|(p, b)| (p, b.freeze()))
                .collect(),
            param: self.param.map(|p| Box::new(p.freeze())),
            wildcard: self.wildcard,
            methods: self.methods,
        }
    }
}

/// Methods a route answers, as indexes into `METHOD_NAMES`.
const METHOD_NAMES: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

fn method_code(method: &str) -> Option<u8> {
    METHOD_NAMES
        .iter()
        .position(|m| *m == method)
        .map(|i| i as u8)
}

/// Operation indexes by method; `*` operations answer any method.
#[derive(Debug, Default, Clone)]
struct Methods {
    by_method: Vec<(u8, usize)>,
    any: Option<usize>,
}

impl Methods {
    fn add(&mut self, method: &str, op: usize) {
        match method_code(method) {
            Some(code) => self.by_method.push((code, op)),
            // `*` (validation admits nothing else).
            None => self.any = Some(op),
        }
    }

    fn get(&self, method: &str) -> Option<usize> {
        let code = method_code(method);
        self.by_method
            .iter()
            .find(|(m, _)| Some(*m) == code)
            .map(|(_, op)| *op)
            .or(self.any)
            // HEAD is answered by GET, as HTTP allows.
            .or_else(|| (method == "HEAD").then(|| self.get("GET")).flatten())
    }

    fn allowed(&self) -> Vec<String> {
        if self.any.is_some() {
            return vec!["*".into()];
        }
        self.by_method
            .iter()
            .map(|(m, _)| METHOD_NAMES[*m as usize].to_string())
            .collect()
    }
}

/// The outcome of a lookup.
#[derive(Debug, PartialEq, Eq)]
pub enum Match<'a> {
    Found {
        /// Index of the API in the snapshot (and in anything built beside the router).
        index: usize,
        api: &'a Api,
        /// Index into `api.operations`.
        operation: usize,
        /// The path below context and version, starting with `/` (what the backend gets).
        resource: &'a str,
    },
    /// No API has this context (and version).
    NoApi,
    /// The API exists but has no operation for this path.
    NoResource,
    /// The path exists with other methods.
    MethodNotAllowed { allowed: Vec<String> },
}

fn segments(path: &str) -> impl Iterator<Item = &str> + Clone {
    path.split('/').filter(|s| !s.is_empty())
}

impl Router {
    /// Builds the table. The snapshot must be valid (`Snapshot::problems` empty).
    pub fn build(snapshot: &Snapshot) -> Router {
        Router::from_apis(snapshot.version, snapshot.apis.clone())
    }

    /// `build` taking the APIs over (no copy of a big snapshot).
    pub fn from_apis(version: u64, apis: Vec<Api>) -> Router {
        let mut prefixes = PrefixBuild::default();
        let mut ops = Vec::with_capacity(apis.len());
        for (i, api) in apis.iter().enumerate() {
            let mut node = &mut prefixes;
            for seg in segments(&api.context) {
                node = node.children.entry(seg.into()).or_default();
            }
            if api.is_default_version {
                node.api = Some(i);
            }
            node.children
                .entry(api.version.as_str().into())
                .or_default()
                .api = Some(i);

            let mut root = OpBuild::default();
            for (j, op) in api.operations.iter().enumerate() {
                let mut n = &mut root;
                let mut wildcard = false;
                for seg in segments(&op.target) {
                    if seg == "*" {
                        wildcard = true;
                        break;
                    }
                    n = if let Some(pattern) = SegmentPattern::parse(seg) {
                        let at = match n.mixed.iter().position(|(p, _)| *p == pattern) {
                            Some(at) => at,
                            None => {
                                n.mixed.push((pattern, OpBuild::default()));
                                n.mixed.len() - 1
                            }
                        };
                        &mut n.mixed[at].1
                    } else if seg.starts_with('{') {
                        n.param.get_or_insert_with(Default::default)
                    } else {
                        n.literal.entry(seg.into()).or_default()
                    };
                }
                let slot = if wildcard {
                    &mut n.wildcard
                } else {
                    &mut n.methods
                };
                slot.get_or_insert_with(Default::default).add(&op.method, j);
            }
            ops.push(root.freeze());
        }
        Router {
            apis,
            prefixes: prefixes.freeze(),
            ops,
            version,
        }
    }

    pub fn version(&self) -> u64 {
        self.version
    }

    /// The API at `index` (as given by `Match::Found`).
    pub fn api(&self, index: usize) -> &Api {
        &self.apis[index]
    }

    pub fn api_count(&self) -> usize {
        self.apis.len()
    }

    /// Every API served.
    pub fn apis(&self) -> &[Api] {
        &self.apis
    }

    /// Finds the API and operation for `method` and `path` (no query string).
    pub fn route<'a>(&'a self, method: &str, path: &'a str) -> Match<'a> {
        // Longest prefix of whole segments that names an API.
        let mut node = &self.prefixes;
        let mut found: Option<(usize, usize)> = None; // (api, byte offset of the rest)
        let mut offset = 0;
        for seg in path.split('/') {
            let end = offset + seg.len();
            if !seg.is_empty() {
                match node.children.get(seg) {
                    Some(next) => {
                        node = next;
                        if let Some(api) = node.api {
                            found = Some((api, end));
                        }
                    }
                    None => break,
                }
            }
            offset = end + 1;
        }
        let Some((api_idx, rest_at)) = found else {
            return Match::NoApi;
        };
        let resource = match &path[rest_at.min(path.len())..] {
            "" => "/",
            r if r.starts_with('/') => r,
            // The prefix ended inside a segment: not a match (cannot happen with whole segments).
            _ => return Match::NoApi,
        };
        let mut allowed = None;
        match find_op(&self.ops[api_idx], segments(resource), method, &mut allowed) {
            Some(operation) => Match::Found {
                index: api_idx,
                api: &self.apis[api_idx],
                operation,
                resource,
            },
            None => match allowed {
                Some(allowed) => Match::MethodNotAllowed { allowed },
                None => Match::NoResource,
            },
        }
    }
}

/// Literal beats mixed (`{id}.json`) beats parameter beats wildcard; backtracks when a branch
/// fails. `allowed` collects
/// the methods of a path that matched with the wrong method (for 405).
fn find_op<'p>(
    node: &OpNode,
    mut segs: impl Iterator<Item = &'p str> + Clone,
    method: &str,
    allowed: &mut Option<Vec<String>>,
) -> Option<usize> {
    let Some(first) = segs.next() else {
        if let Some(m) = &node.methods {
            match m.get(method) {
                Some(op) => return Some(op),
                None => allowed.get_or_insert_with(Vec::new).extend(m.allowed()),
            }
        }
        return wildcard(node, method, allowed);
    };
    if let Some(child) = node.literal.get(first)
        && let Some(op) = find_op(child, segs.clone(), method, allowed)
    {
        return Some(op);
    }
    for (pattern, child) in node.mixed.iter() {
        if pattern.captures(first).is_some()
            && let Some(op) = find_op(child, segs.clone(), method, allowed)
        {
            return Some(op);
        }
    }
    if let Some(child) = &node.param
        && let Some(op) = find_op(child, segs, method, allowed)
    {
        return Some(op);
    }
    wildcard(node, method, allowed)
}

fn wildcard(node: &OpNode, method: &str, allowed: &mut Option<Vec<String>>) -> Option<usize> {
    let m = node.wildcard.as_ref()?;
    let op = m.get(method);
    if op.is_none() {
        allowed.get_or_insert_with(Vec::new).extend(m.allowed());
    }
    op
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{EndpointGroup, EndpointKind, Endpoints, Operation};

    fn api(context: &str, version: &str, default: bool, ops: &[(&str, &str)]) -> Api {
        Api {
            id: format!("{context}:{version}"),
            name: context.trim_start_matches('/').into(),
            context: context.into(),
            version: version.into(),
            is_default_version: default,
            endpoints: Endpoints {
                production: EndpointGroup {
                    kind: EndpointKind::Single,
                    urls: vec!["http://127.0.0.1:1".into()],
                    timeout_ms: 1000,
                    suspend_seconds: 1,
                },
                sandbox: None,
            },
            operations: ops
                .iter()
                .map(|(m, t)| Operation {
                    method: m.to_string(),
                    target: t.to_string(),
                    endpoints: None,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    fn router() -> Router {
        let s = Snapshot {
            version: 9,
            environment: "Default".into(),
            apis: vec![
                api(
                    "/pets",
                    "1.0.0",
                    true,
                    &[
                        ("GET", "/pets"),
                        ("POST", "/pets"),
                        ("GET", "/pets/{id}"),
                        ("GET", "/pets/mine"),
                        ("GET", "/files/*"),
                        ("*", "/any"),
                    ],
                ),
                api("/pets", "2.0.0", false, &[("GET", "/pets")]),
                api("/shop/eu", "v1", false, &[("GET", "/")]),
            ],
            ..Default::default()
        };
        assert!(s.problems().is_empty(), "{:?}", s.problems());
        Router::build(&s)
    }

    fn found(m: Match<'_>) -> (String, usize, String) {
        match m {
            Match::Found {
                api,
                operation,
                resource,
                ..
            } => (api.version.clone(), operation, resource.to_string()),
            other => panic!("expected a match, got {other:?}"),
        }
    }

    #[test]
    fn segments_may_mix_text_and_parameters() {
        let p = SegmentPattern::parse("{origin}-{destination}").unwrap();
        assert_eq!(
            p.captures("FRA-JFK"),
            Some(vec![("origin", "FRA"), ("destination", "JFK")])
        );
        assert_eq!(
            p.captures("-JFK"),
            None,
            "a value has at least one character"
        );
        assert_eq!(
            p.captures("a-b-c"),
            Some(vec![("origin", "a"), ("destination", "b-c")])
        );
        let google = SegmentPattern::parse("{resourceName}:deleteContact").unwrap();
        assert_eq!(
            google.captures("people:deleteContact"),
            Some(vec![("resourceName", "people")])
        );
        assert_eq!(google.captures("people:updateContact"), None);
        assert_eq!(SegmentPattern::parse("{id}"), None, "a whole parameter");
        assert_eq!(SegmentPattern::parse("plain"), None);
        assert_eq!(SegmentPattern::parse("{a}{b}"), None, "ambiguous");
        assert_eq!(SegmentPattern::parse("{a"), None);
        assert_eq!(SegmentPattern::parse("a}.json"), None);

        let s = Snapshot {
            version: 1,
            environment: "Default".into(),
            apis: vec![api(
                "/news",
                "1",
                false,
                &[
                    ("GET", "/content/{source}.json"),
                    ("GET", "/content/{source}.xml"),
                    ("GET", "/content/all.json"),
                    ("GET", "/content/{id}"),
                    ("DELETE", "/v1/{name}:deleteContact"),
                    ("PATCH", "/v1/{name}:updateContact"),
                    ("GET", "/near/{lat},{lng}"),
                ],
            )],
            ..Default::default()
        };
        assert!(s.problems().is_empty(), "{:?}", s.problems());
        let r = Router::build(&s);
        assert_eq!(found(r.route("GET", "/news/1/content/nyt.json")).1, 0);
        assert_eq!(found(r.route("GET", "/news/1/content/nyt.xml")).1, 1);
        // Literal beats mixed beats a whole parameter.
        assert_eq!(found(r.route("GET", "/news/1/content/all.json")).1, 2);
        assert_eq!(found(r.route("GET", "/news/1/content/nyt")).1, 3);
        assert_eq!(
            found(r.route("DELETE", "/news/1/v1/people:deleteContact")).1,
            4
        );
        assert_eq!(
            found(r.route("PATCH", "/news/1/v1/people:updateContact")).1,
            5
        );
        assert_eq!(
            r.route("DELETE", "/news/1/v1/people:updateContact"),
            Match::MethodNotAllowed {
                allowed: vec!["PATCH".into()]
            }
        );
        assert_eq!(found(r.route("GET", "/news/1/near/50.1,8.6")).1, 6);
        assert_eq!(r.route("GET", "/news/1/near/50.1"), Match::NoResource);
    }

    #[test]
    fn routes_by_context_version_template_and_method() {
        let r = router();
        assert_eq!(r.version(), 9);
        assert_eq!(
            found(r.route("GET", "/pets/1.0.0/pets")),
            ("1.0.0".into(), 0, "/pets".into())
        );
        assert_eq!(found(r.route("POST", "/pets/1.0.0/pets")).1, 1);
        assert_eq!(found(r.route("GET", "/pets/1.0.0/pets/42")).1, 2);
        // Literal beats parameter.
        assert_eq!(found(r.route("GET", "/pets/1.0.0/pets/mine")).1, 3);
        assert_eq!(found(r.route("GET", "/pets/1.0.0/files/a/b/c.txt")).1, 4);
        assert_eq!(found(r.route("GET", "/pets/1.0.0/files")).1, 4);
        assert_eq!(found(r.route("DELETE", "/pets/1.0.0/any")).1, 5);
        assert_eq!(found(r.route("HEAD", "/pets/1.0.0/pets")).1, 0);
        assert_eq!(found(r.route("GET", "/pets/2.0.0/pets")).0, "2.0.0");
        // Default version without the version segment.
        assert_eq!(
            found(r.route("GET", "/pets/pets/7")),
            ("1.0.0".into(), 2, "/pets/7".into())
        );
        // Multi-segment context; empty resource is "/".
        assert_eq!(found(r.route("GET", "/shop/eu/v1")).2, "/");
        assert_eq!(found(r.route("GET", "/shop/eu/v1/")).2, "/");
    }

    #[test]
    fn misses_are_told_apart() {
        let r = router();
        assert_eq!(r.route("GET", "/nothing/1.0.0/pets"), Match::NoApi);
        assert_eq!(r.route("GET", "/petsx/1.0.0/pets"), Match::NoApi);
        assert_eq!(r.route("GET", "/shop/v1"), Match::NoApi);
        assert_eq!(r.route("GET", "/pets/2.0.0/cats"), Match::NoResource);
        assert_eq!(
            r.route("DELETE", "/pets/1.0.0/pets"),
            Match::MethodNotAllowed {
                allowed: vec!["GET".into(), "POST".into()]
            }
        );
        assert_eq!(
            r.route("POST", "/pets/2.0.0/pets"),
            Match::MethodNotAllowed {
                allowed: vec!["GET".into()]
            }
        );
    }

    #[test]
    fn ten_thousand_apis_route_by_prefix() {
        let apis: Vec<Api> = (0..10_000)
            .map(|i| {
                api(
                    &format!("/api{i}"),
                    "1.0.0",
                    i % 2 == 0,
                    &[("GET", "/items/{id}")],
                )
            })
            .collect();
        let s = Snapshot {
            version: 1,
            environment: "Default".into(),
            apis,
            ..Default::default()
        };
        let r = Router::build(&s);
        assert_eq!(r.api_count(), 10_000);
        assert_eq!(
            found(r.route("GET", "/api9999/1.0.0/items/1")).2,
            "/items/1"
        );
        assert_eq!(found(r.route("GET", "/api4242/items/1")).2, "/items/1");
        assert_eq!(r.route("GET", "/api4243/items/1"), Match::NoApi);
    }
}
