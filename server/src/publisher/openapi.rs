//! Parsing and validation of API definitions: Swagger 2.0, OpenAPI 3.0.x and OpenAPI 3.1.x, in
//! JSON or YAML.
//!
//! [`parse`] turns the bytes of an uploaded or fetched definition into a [`Definition`]: the
//! whole document as a `serde_json::Value` plus what an API manager needs from it (title,
//! version, server URLs, base path, tags, and the operations with their security). A document
//! that is not valid is refused with every [`Problem`] found (up to [`MAX_PROBLEMS`]), each
//! carrying the RFC 6901 JSON pointer of the offending node, so that its author can fix them
//! all in one round. [`sync_operations`] keeps a stored document in step with an operation list
//! edited in the publisher.
//!
//! Why a hand-written validator: no maintained Rust crate reads all three versions and reports
//! errors by pointer — `openapiv3` is 3.0-only, `oas3` is 3.1-only, and both stop at the first
//! serde error. The rules here are structural, written from the specification texts (not
//! generated from the OpenAPI Initiative's JSON schemas): the fields each object may and must
//! have, their types, and the cross-object rules (unique operationIds, declared path
//! parameters, resolvable local `$ref`s). The walk is linear in the size of the document and
//! bounded in depth ([`MAX_DEPTH`]), so a hostile document cannot exhaust the stack.
//!
//! A few deliberate choices, each matching the OpenAPI Initiative's own 3.1 test suite:
//! in 3.1, `required: true` is demanded of path parameters described by a `schema` (not of
//! those described by `content`), and `allowReserved` is accepted on cookie parameters; a path
//! parameter declared under another name than its template variable is accepted with a warning
//! ([`Definition::warnings`]) when it can only be meant for that variable.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;

use serde_json::{Map, Value, json};

/// At most this many problems are reported for one document.
pub const MAX_PROBLEMS: usize = 200;

/// Deepest nesting the validator walks into; deeper documents get a "nesting too deep" problem.
pub const MAX_DEPTH: usize = 256;

/// Something wrong with a document, and where.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// RFC 6901 JSON pointer to the offending node; `""` is the whole document.
    pub pointer: String,
    pub message: String,
}

impl Problem {
    pub fn new(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            pointer: pointer.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.pointer.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.pointer, self.message)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecVersion {
    Swagger2,
    OpenApi30,
    OpenApi31,
}

/// HTTP methods of a path item, in the order the specifications list them.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

impl SpecVersion {
    /// `"2.0"`, `"3.0"` or `"3.1"`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Swagger2 => "2.0",
            Self::OpenApi30 => "3.0",
            Self::OpenApi31 => "3.1",
        }
    }

    /// The (lower-case) methods a path item of this version may hold; 2.0 has no `trace`.
    pub fn methods(self) -> &'static [&'static str] {
        match self {
            Self::Swagger2 => &METHODS[..7],
            Self::OpenApi30 | Self::OpenApi31 => &METHODS,
        }
    }
}

/// One operation (verb + path template) of the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// Upper case: GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS, TRACE.
    pub verb: String,
    /// The path template as written in the document, e.g. `/pets/{petId}`.
    pub target: String,
    pub summary: Option<String>,
    /// Whether callers must authenticate: false when the effective security requirements are
    /// `[]` or include the empty requirement `{}` (anonymous access allowed); true otherwise,
    /// including when the document declares no security at all (secure by default).
    pub auth: bool,
    /// Scopes (or, in 3.1, role names) listed in the effective security requirements; sorted,
    /// without duplicates.
    pub scopes: Vec<String>,
}

/// A valid API definition and what the API manager takes from it.
#[derive(Debug, Clone)]
pub struct Definition {
    /// The whole parsed document.
    pub value: Value,
    pub version: SpecVersion,
    /// The version string of the document, e.g. `"3.1.0"` or `"2.0"`.
    pub spec_version: String,
    pub title: String,
    pub info_version: String,
    pub description: Option<String>,
    /// Server URLs: 3.x `servers[].url` with variables replaced by their defaults; for 2.0,
    /// `scheme://host/basePath` (first scheme, or `https`) when `host` is given.
    pub endpoints: Vec<String>,
    /// 2.0 `basePath`, or the path of the first 3.x server URL; no trailing slash, `None` when
    /// empty or `/`.
    pub base_path: Option<String>,
    /// Names of the top-level tags.
    pub tags: Vec<String>,
    /// Paths in document order, methods in the order get, put, post, delete, options, head,
    /// patch, trace. 3.1 `webhooks` are outgoing calls, not operations of the API.
    pub operations: Vec<Operation>,
    /// Oddities that do not make the document invalid.
    pub warnings: Vec<Problem>,
}

/// Reads a definition from JSON or YAML bytes and validates it.
///
/// The format is JSON when the first non-blank character is `{`, YAML otherwise (a UTF-8 byte
/// order mark is skipped). YAML keys keep their text (`200:` is the key `"200"`), dates and
/// other scalars that serde would not type stay strings, and merge keys (`<<: *anchor`) are
/// applied. Returns every problem found (up to [`MAX_PROBLEMS`]); never panics.
pub fn parse(bytes: &[u8]) -> Result<Definition, Vec<Problem>> {
    let value = read(bytes).map_err(|problem| vec![problem])?;
    parse_value(value)
}

/// Validates an already parsed document.
pub fn parse_value(value: Value) -> Result<Definition, Vec<Problem>> {
    let (version, spec_version) = detect_version(&value).map_err(|problem| vec![problem])?;
    let (problems, warnings) = {
        let mut walker = Walker::new(&value, version);
        walker.document();
        (walker.problems, walker.warnings)
    };
    if problems.is_empty() {
        Ok(Definition::extract(value, version, spec_version, warnings))
    } else {
        Err(problems)
    }
}

/// Keeps a stored document in step with an edited operation list of `(verb, path template)`.
///
/// Adds a minimal operation (`{"responses": {"200": {"description": "OK"}}}`, plus
/// declarations of path parameters the path item does not declare) for every pair missing from
/// the document, creating its path item if needed; removes operations not in the list, and a
/// path item left with no operation (unless the list still has one for it). Everything else is
/// left untouched. A path item whose operations come from a local `$ref` is inlined before it is
/// changed. Verbs the version does not know and targets not starting with `/` are ignored.
pub fn sync_operations(doc: &mut Value, version: SpecVersion, ops: &[(String, String)]) {
    let methods = version.methods();
    let mut wanted: Vec<(&'static str, &str)> = Vec::new();
    let mut wanted_set: HashSet<(&str, &str)> = HashSet::new();
    for (verb, target) in ops {
        let verb = verb.to_ascii_lowercase();
        let Some(method) = methods.iter().copied().find(|m| *m == verb) else {
            continue;
        };
        if target.starts_with('/') && wanted_set.insert((method, target.as_str())) {
            wanted.push((method, target.as_str()));
        }
    }
    let wanted_targets: HashSet<&str> = wanted.iter().map(|(_, target)| *target).collect();

    // Plan with the document read-only, then apply.
    let mut inlined: Vec<(String, Map<String, Value>)> = Vec::new();
    let mut additions: Vec<(&str, &'static str, Value)> = Vec::new();
    {
        let root: &Value = doc;
        let paths = root.get("paths").and_then(Value::as_object);
        for (target, item) in paths.into_iter().flatten() {
            let Some(own) = item.as_object() else {
                continue;
            };
            let Some(shared) = own
                .get("$ref")
                .and_then(|r| r.as_str())
                .and_then(|r| lookup(root, r))
                .and_then(Value::as_object)
            else {
                continue;
            };
            let present: Vec<&str> = path_item_operations(root, item, version)
                .into_iter()
                .map(|(m, _)| m)
                .collect();
            let removes = present
                .iter()
                .any(|m| !wanted_set.contains(&(*m, target.as_str())));
            let adds = wanted
                .iter()
                .any(|(m, t)| t == target && !present.contains(m));
            if removes || adds {
                let mut merged = shared.clone();
                for (key, value) in own {
                    if key != "$ref" {
                        merged.insert(key.clone(), value.clone());
                    }
                }
                inlined.push((target.clone(), merged));
            }
        }
        for &(method, target) in &wanted {
            let item = paths.and_then(|p| p.get(target));
            let present = item.is_some_and(|item| {
                path_item_operations(root, item, version)
                    .iter()
                    .any(|(m, _)| *m == method)
            });
            if !present {
                additions.push((target, method, new_operation(root, item, target, version)));
            }
        }
    }

    let Some(root) = doc.as_object_mut() else {
        return;
    };
    let paths = root
        .entry("paths")
        .or_insert_with(|| Value::Object(Map::new()));
    if !paths.is_object() {
        *paths = Value::Object(Map::new());
    }
    let Some(paths) = paths.as_object_mut() else {
        return;
    };
    for (target, merged) in inlined {
        paths.insert(target, Value::Object(merged));
    }
    let mut emptied = Vec::new();
    for (target, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        if is_extension(target) {
            continue;
        }
        let before = item.len();
        item.retain(|key, _| {
            !methods.contains(&key.as_str())
                || wanted_set.contains(&(key.as_str(), target.as_str()))
        });
        let has_operation = methods.iter().any(|m| item.contains_key(*m));
        if item.len() < before && !has_operation && !wanted_targets.contains(target.as_str()) {
            emptied.push(target.clone());
        }
    }
    for target in emptied {
        paths.remove(&target);
    }
    for (target, method, operation) in additions {
        let item = paths
            .entry(target)
            .or_insert_with(|| Value::Object(Map::new()));
        if !item.is_object() {
            *item = Value::Object(Map::new());
        }
        if let Some(item) = item.as_object_mut() {
            item.entry(method).or_insert(operation);
        }
    }
}

/// The operation [`sync_operations`] adds: a default response, and a declaration for each
/// template variable the path item does not declare (so the document stays valid).
fn new_operation(root: &Value, item: Option<&Value>, target: &str, version: SpecVersion) -> Value {
    let mut operation = Map::new();
    let mut declared = Vec::new();
    let mut known = true;
    for parameter in item
        .and_then(|i| i.get("parameters"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match resolve(root, parameter)
            .and_then(|p| Some((p.get("name")?.as_str()?, p.get("in")?.as_str()?)))
        {
            Some((name, "path")) => declared.push(name),
            Some(_) => {}
            None => known = false,
        }
    }
    let variables = template_variables(target).unwrap_or_default();
    let parameters: Vec<Value> = variables
        .iter()
        .filter(|name| known && !declared.contains(name))
        .map(|name| match version {
            SpecVersion::Swagger2 => {
                json!({"name": name, "in": "path", "required": true, "type": "string"})
            }
            SpecVersion::OpenApi30 | SpecVersion::OpenApi31 => {
                json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}})
            }
        })
        .collect();
    if !parameters.is_empty() {
        operation.insert("parameters".into(), Value::Array(parameters));
    }
    operation.insert("responses".into(), json!({"200": {"description": "OK"}}));
    Value::Object(operation)
}

// ---------------------------------------------------------------------------------------------
// Reading and version detection

fn read(bytes: &[u8]) -> Result<Value, Problem> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|error| {
        let (line, column) = line_column(&bytes[..error.valid_up_to()]);
        Problem::new(
            "",
            format!("the document is not valid UTF-8 (bad byte at line {line}, column {column})"),
        )
    })?;
    let start = text.trim_start();
    if start.is_empty() {
        return Err(Problem::new("", "the document is empty"));
    }
    if start.starts_with('{') {
        serde_json::from_str(text)
            .map_err(|error| Problem::new("", format!("invalid JSON: {error}")))
    } else {
        let mut value = serde_norway::from_str(text).map_err(|error| {
            let mut message = format!("invalid YAML: {error}");
            if let Some(location) = error.location().filter(|_| !message.contains(" line ")) {
                message.push_str(&format!(
                    " at line {} column {}",
                    location.line(),
                    location.column()
                ));
            }
            Problem::new("", message)
        })?;
        if text.contains("<<") {
            apply_merge_keys(&mut value);
        }
        Ok(value)
    }
}

/// Applies YAML merge keys (`<<: *defaults`, `<<: [*a, *b]`), which serde leaves as plain
/// `<<` fields: the merged mappings' entries are added where the mapping does not set them
/// itself, earlier sources first. A `<<` that is not a mapping or a list of mappings stays, to
/// be reported as an unknown field. Recursion is bounded by the YAML parser's nesting limit.
fn apply_merge_keys(value: &mut Value) {
    match value {
        Value::Object(object) => {
            let mergeable = match object.get("<<") {
                Some(Value::Object(_)) => true,
                Some(Value::Array(sources)) => sources.iter().all(Value::is_object),
                _ => false,
            };
            if mergeable && let Some(merge) = object.remove("<<") {
                let sources = match merge {
                    Value::Array(sources) => sources,
                    source => vec![source],
                };
                for source in sources {
                    if let Value::Object(source) = source {
                        for (key, entry) in source {
                            object.entry(key).or_insert(entry);
                        }
                    }
                }
            }
            object.values_mut().for_each(apply_merge_keys);
        }
        Value::Array(items) => items.iter_mut().for_each(apply_merge_keys),
        _ => {}
    }
}

/// 1-based line and column just after `prefix` (valid UTF-8 up to there).
fn line_column(prefix: &[u8]) -> (usize, usize) {
    let text = String::from_utf8_lossy(prefix);
    let line = text.matches('\n').count() + 1;
    let column = text
        .rsplit('\n')
        .next()
        .map_or(0, |last| last.chars().count())
        + 1;
    (line, column)
}

const SUPPORTED: &str = "supported are `swagger: \"2.0\"`, `openapi: 3.0.x` and `openapi: 3.1.x`";

fn detect_version(doc: &Value) -> Result<(SpecVersion, String), Problem> {
    let root = match doc {
        Value::Object(root) => root,
        Value::Null => return Err(Problem::new("", "the document is empty")),
        other => {
            return Err(Problem::new(
                "",
                format!(
                    "the document must be an object (a mapping of fields), not {}",
                    kind(other)
                ),
            ));
        }
    };
    match (root.get("swagger"), root.get("openapi")) {
        (Some(_), Some(_)) => Err(Problem::new(
            "/swagger",
            "the document has both `swagger` and `openapi`; keep the one of its version",
        )),
        (Some(Value::String(s)), None) if s == "2.0" => Ok((SpecVersion::Swagger2, s.clone())),
        (Some(Value::String(s)), None) => Err(Problem::new(
            "/swagger",
            format!("unsupported version `swagger: {s}`; {SUPPORTED}"),
        )),
        (Some(other), None) => Err(Problem::new(
            "/swagger",
            format!("{}; {SUPPORTED}", not_a_string("swagger", other)),
        )),
        (None, Some(Value::String(s))) => match openapi_version(s) {
            Some(version) => Ok((version, s.clone())),
            None if s == "3.0" || s == "3.1" => Err(Problem::new(
                "/openapi",
                format!("`openapi` needs the full version, such as `{s}.0`; {SUPPORTED}"),
            )),
            None => Err(Problem::new(
                "/openapi",
                format!("unsupported version `openapi: {s}`; {SUPPORTED}"),
            )),
        },
        (None, Some(other)) => Err(Problem::new(
            "/openapi",
            format!("{}; {SUPPORTED}", not_a_string("openapi", other)),
        )),
        (None, None) => Err(Problem::new(
            "/openapi",
            format!("missing `openapi` (or `swagger`) field; {SUPPORTED}"),
        )),
    }
}

/// `3.0.<n>` and `3.1.<n>`, optionally with a `-suffix`.
fn openapi_version(s: &str) -> Option<SpecVersion> {
    let (version, patch) = if let Some(patch) = s.strip_prefix("3.0.") {
        (SpecVersion::OpenApi30, patch)
    } else {
        (SpecVersion::OpenApi31, s.strip_prefix("3.1.")?)
    };
    let patch = patch.split_once('-').map_or(patch, |(number, _)| number);
    (!patch.is_empty() && patch.bytes().all(|b| b.is_ascii_digit())).then_some(version)
}

// ---------------------------------------------------------------------------------------------
// Small helpers shared by the walker, the extraction and the sync

fn is_extension(key: &str) -> bool {
    key.starts_with("x-")
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn not_a_string(key: &str, value: &Value) -> String {
    match value {
        Value::Number(_) | Value::Bool(_) => {
            format!(
                "`{key}` must be a string, not {}; quote it (`{key}: \"{value}\"`)",
                kind(value)
            )
        }
        _ => format!("`{key}` must be a string, not {}", kind(value)),
    }
}

/// Appends `/token` to a JSON pointer, escaping `~` and `/`.
fn push_token(pointer: &mut String, token: &str) {
    pointer.push('/');
    for c in token.chars() {
        match c {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            c => pointer.push(c),
        }
    }
}

/// Appends `/index` to a JSON pointer.
fn write_index(pointer: &mut String, index: usize) {
    use fmt::Write as _;
    // Writing to a String cannot fail.
    let _ = write!(pointer, "/{index}");
}

/// The target of a local reference (`#` or `#/json/pointer`, percent-encoding allowed);
/// `None` for external references and anchors, or when nothing is there.
fn lookup<'v>(root: &'v Value, reference: &str) -> Option<&'v Value> {
    let fragment = reference.strip_prefix('#')?;
    if fragment.is_empty() {
        return Some(root);
    }
    if !fragment.starts_with('/') {
        return None;
    }
    if fragment.contains('%') {
        root.pointer(&percent_decode(fragment)?)
    } else {
        root.pointer(fragment)
    }
}

fn is_local_pointer(reference: &str) -> bool {
    reference
        .strip_prefix('#')
        .is_some_and(|fragment| fragment.is_empty() || fragment.starts_with('/'))
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(byte) = bytes
                .get(i + 1..i + 3)
                .filter(|hex| hex.iter().all(u8::is_ascii_hexdigit))
                .and_then(|hex| std::str::from_utf8(hex).ok())
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Follows local `$ref`s (a few hops) to the object they name; `None` for external or broken
/// references and for non-objects.
fn resolve<'v>(root: &'v Value, value: &'v Value) -> Option<&'v Map<String, Value>> {
    let mut current = value;
    for _ in 0..16 {
        let object = current.as_object()?;
        match object.get("$ref") {
            Some(Value::String(reference)) => current = lookup(root, reference)?,
            Some(_) => return None,
            None => return Some(object),
        }
    }
    None
}

fn is_reference(value: &Value) -> bool {
    value.as_object().is_some_and(|o| o.contains_key("$ref"))
}

/// The variable names of a path template (`/pets/{petId}` → `petId`); `None` when braces are
/// unbalanced, nested or empty.
fn template_variables(path: &str) -> Option<Vec<&str>> {
    let mut names = Vec::new();
    let mut rest = path;
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with('}') {
            return None;
        }
        let after = &rest[open + 1..];
        let close = after.find(['{', '}'])?;
        if close == 0 || !after[close..].starts_with('}') {
            return None;
        }
        names.push(&after[..close]);
        rest = &after[close + 1..];
    }
    Some(names)
}

/// The operations of a path item, own ones first, else from a local `$ref`'d path item.
fn path_item_operations<'v>(
    root: &'v Value,
    item: &'v Value,
    version: SpecVersion,
) -> Vec<(&'static str, &'v Value)> {
    let Some(own) = item.as_object() else {
        return Vec::new();
    };
    let shared = own
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| lookup(root, r))
        .and_then(Value::as_object);
    version
        .methods()
        .iter()
        .filter_map(|method| {
            own.get(*method)
                .or_else(|| shared?.get(*method))
                .map(|operation| (*method, operation))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Extraction (runs on valid documents only, but stays defensive)

impl Definition {
    fn extract(
        value: Value,
        version: SpecVersion,
        spec_version: String,
        warnings: Vec<Problem>,
    ) -> Self {
        let root = &value;
        let info = root.get("info");
        let text = |key: &str| {
            info.and_then(|i| i.get(key))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let title = text("title").unwrap_or_default();
        let info_version = text("version").unwrap_or_default();
        let description = text("description");
        let (endpoints, base_path) = match version {
            SpecVersion::Swagger2 => endpoints_v2(root),
            SpecVersion::OpenApi30 | SpecVersion::OpenApi31 => endpoints_v3(root),
        };
        let tags = root
            .get("tags")
            .and_then(Value::as_array)
            .map(|tags| {
                tags.iter()
                    .filter_map(|t| t.get("name")?.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let operations = operations(root, version);
        Self {
            value,
            version,
            spec_version,
            title,
            info_version,
            description,
            endpoints,
            base_path,
            tags,
            operations,
            warnings,
        }
    }
}

fn clean_base_path(path: &str) -> Option<String> {
    let path = path.trim_end_matches('/');
    (!path.is_empty()).then(|| path.to_owned())
}

fn endpoints_v2(root: &Value) -> (Vec<String>, Option<String>) {
    let base_path = root.get("basePath").and_then(Value::as_str).unwrap_or("");
    let scheme = root
        .get("schemes")
        .and_then(Value::as_array)
        .and_then(|s| s.first())
        .and_then(Value::as_str)
        .unwrap_or("https");
    let endpoints = match root.get("host").and_then(Value::as_str) {
        Some(host) => vec![format!(
            "{scheme}://{host}{}",
            base_path.trim_end_matches('/')
        )],
        None => Vec::new(),
    };
    (endpoints, clean_base_path(base_path))
}

fn endpoints_v3(root: &Value) -> (Vec<String>, Option<String>) {
    let endpoints: Vec<String> = root
        .get("servers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|server| {
            let url = server.get("url")?.as_str()?;
            Some(substitute_variables(url, server.get("variables")))
        })
        .collect();
    let base_path = endpoints
        .first()
        .and_then(|url| clean_base_path(url_path(url)));
    (endpoints, base_path)
}

/// Replaces `{name}` in a server URL by the variable's default.
fn substitute_variables(url: &str, variables: Option<&Value>) -> String {
    let mut out = String::with_capacity(url.len());
    let mut rest = url;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let name = &rest[open + 1..open + close];
        out.push_str(&rest[..open]);
        match variables
            .and_then(|v| v.get(name))
            .and_then(|v| v.get("default"))
            .and_then(Value::as_str)
        {
            Some(default) => out.push_str(default),
            None => out.push_str(&rest[open..=open + close]),
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

/// The path part of an absolute or relative URL.
fn url_path(url: &str) -> &str {
    let path = match url
        .find("://")
        .map(|i| i + 3)
        .or_else(|| url.starts_with("//").then_some(2))
    {
        Some(authority) => url[authority..]
            .find('/')
            .map_or("", |slash| &url[authority + slash..]),
        None if url.starts_with('/') => url,
        None => "",
    };
    path.split(['?', '#']).next().unwrap_or("")
}

fn operations(root: &Value, version: SpecVersion) -> Vec<Operation> {
    let default_security = root.get("security");
    let mut out = Vec::new();
    let Some(paths) = root.get("paths").and_then(Value::as_object) else {
        return out;
    };
    for (target, item) in paths {
        if is_extension(target) {
            continue;
        }
        for (method, operation) in path_item_operations(root, item, version) {
            let (auth, scopes) = effective_security(operation.get("security").or(default_security));
            out.push(Operation {
                verb: method.to_ascii_uppercase(),
                target: target.clone(),
                summary: operation
                    .get("summary")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                auth,
                scopes,
            });
        }
    }
    out
}

fn effective_security(security: Option<&Value>) -> (bool, Vec<String>) {
    let Some(requirements) = security.and_then(Value::as_array) else {
        return (true, Vec::new());
    };
    let anonymous = requirements.is_empty()
        || requirements
            .iter()
            .any(|r| r.as_object().is_some_and(Map::is_empty));
    let scopes: BTreeSet<&str> = requirements
        .iter()
        .filter_map(Value::as_object)
        .flat_map(Map::values)
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    (!anonymous, scopes.into_iter().map(str::to_owned).collect())
}

// ---------------------------------------------------------------------------------------------
// Validation

/// The fields each object may have (besides `x-` extensions), by version.
#[rustfmt::skip]
mod fields {
    pub const ROOT_2: &[&str] = &[
        "swagger", "info", "host", "basePath", "schemes", "consumes", "produces", "paths",
        "definitions", "parameters", "responses", "securityDefinitions", "security", "tags",
        "externalDocs",
    ];
    pub const ROOT_30: &[&str] = &[
        "openapi", "info", "servers", "paths", "components", "security", "tags", "externalDocs",
    ];
    pub const ROOT_31: &[&str] = &[
        "openapi", "info", "jsonSchemaDialect", "servers", "paths", "webhooks", "components",
        "security", "tags", "externalDocs",
    ];
    pub const INFO_30: &[&str] = &[
        "title", "description", "termsOfService", "contact", "license", "version",
    ];
    pub const INFO_31: &[&str] = &[
        "title", "summary", "description", "termsOfService", "contact", "license", "version",
    ];
    pub const PATH_ITEM_2: &[&str] = &[
        "$ref", "get", "put", "post", "delete", "options", "head", "patch", "parameters",
    ];
    pub const PATH_ITEM_3: &[&str] = &[
        "$ref", "summary", "description", "get", "put", "post", "delete", "options", "head",
        "patch", "trace", "servers", "parameters",
    ];
    pub const OPERATION_2: &[&str] = &[
        "tags", "summary", "description", "externalDocs", "operationId", "consumes", "produces",
        "parameters", "responses", "schemes", "deprecated", "security",
    ];
    pub const OPERATION_3: &[&str] = &[
        "tags", "summary", "description", "externalDocs", "operationId", "parameters",
        "requestBody", "responses", "callbacks", "deprecated", "security", "servers",
    ];
    pub const PARAMETER_3: &[&str] = &[
        "name", "in", "description", "required", "deprecated", "allowEmptyValue", "style",
        "explode", "allowReserved", "schema", "example", "examples", "content",
    ];
    /// `name`, `in` and `allowReserved` are listed to be refused with their own message.
    pub const HEADER_30: &[&str] = &[
        "name", "in", "allowReserved", "description", "required", "deprecated", "allowEmptyValue",
        "style", "explode", "schema", "example", "examples", "content",
    ];
    pub const HEADER_31: &[&str] = &[
        "name", "in", "allowReserved", "description", "required", "deprecated", "style",
        "explode", "schema", "example", "examples", "content",
    ];
    pub const BODY_PARAMETER_2: &[&str] = &["name", "in", "description", "required", "schema"];
    /// A 2.0 non-body parameter; a 2.0 header has the same minus the first four, an items
    /// object minus the first five.
    pub const PARAMETER_2: &[&str] = &[
        "name", "in", "required", "allowEmptyValue", "description", "type", "format", "items",
        "collectionFormat", "default", "maximum", "exclusiveMaximum", "minimum",
        "exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems", "minItems",
        "uniqueItems", "enum", "multipleOf",
    ];
    pub const HEADER_2: &[&str] = PARAMETER_2.split_at(4).1;
    pub const ITEMS_2: &[&str] = PARAMETER_2.split_at(5).1;
    pub const SECURITY_SCHEME_2: &[&str] = &[
        "type", "description", "name", "in", "flow", "authorizationUrl", "tokenUrl", "scopes",
    ];
    pub const SECURITY_SCHEME_3: &[&str] = &[
        "type", "description", "name", "in", "scheme", "bearerFormat", "flows", "openIdConnectUrl",
    ];
    pub const LINK: &[&str] = &[
        "operationRef", "operationId", "parameters", "requestBody", "description", "server",
    ];
    /// `type` of a 2.0 header or items object (a parameter may also be a `file`).
    pub const SIMPLE_TYPES_2: &[&str] = &["string", "number", "integer", "boolean", "array"];
    pub const SCHEMA_TYPES: [&str; 8] = [
        "null", "boolean", "object", "array", "number", "string", "integer", "file",
    ];
    /// Schema keywords holding one subschema, a list of them, or a map of them.
    pub type Names = &'static [&'static str];
    pub type Applicators = (Names, Names, Names);
    pub const APPLICATORS_31: Applicators = (
        &[
            "not", "additionalProperties", "items", "contains", "propertyNames", "if", "then",
            "else", "unevaluatedItems", "unevaluatedProperties", "contentSchema",
        ],
        &["allOf", "anyOf", "oneOf", "prefixItems"],
        &["properties", "patternProperties", "$defs", "dependentSchemas"],
    );
    pub const APPLICATORS_30: Applicators =
        (&["not", "additionalProperties", "items"], &["allOf", "anyOf", "oneOf"], &["properties"]);
    pub const APPLICATORS_2: Applicators =
        (&["additionalProperties", "items"], &["allOf"], &["properties"]);
}

/// Collects the problems of a document in one walk. `pointer` is the JSON pointer of the node
/// being looked at: [`Walker::at`] pushes a token for the duration of a closure.
struct Walker<'a> {
    root: &'a Value,
    version: SpecVersion,
    pointer: String,
    /// Length of `pointer` in tokens, bounded by [`MAX_DEPTH`].
    depth: usize,
    problems: Vec<Problem>,
    warnings: Vec<Problem>,
    /// operationId → pointer of the operation that first used it.
    operation_ids: HashMap<&'a str, String>,
    /// Inside a 3.1 schema that sets its own `$id`, `#…` references are relative to that
    /// schema, not to the document, so they are not checked.
    schema_resources: usize,
    too_deep: bool,
}

/// What a `parameters` list declares, for the path template check.
#[derive(Default)]
struct Declared<'a> {
    path_names: Vec<&'a str>,
    /// Some parameter is an external (or broken) reference, or the list is malformed: its names
    /// are unknown, so the template check is skipped.
    opaque: bool,
}

type Check<'a> = fn(&mut Walker<'a>, &'a Value);

impl<'a> Walker<'a> {
    fn new(root: &'a Value, version: SpecVersion) -> Self {
        Self {
            root,
            version,
            pointer: String::new(),
            depth: 0,
            problems: Vec::new(),
            warnings: Vec::new(),
            operation_ids: HashMap::new(),
            schema_resources: 0,
            too_deep: false,
        }
    }

    fn v3(&self) -> bool {
        self.version != SpecVersion::Swagger2
    }

    fn v31(&self) -> bool {
        self.version == SpecVersion::OpenApi31
    }

    // --- pointer and problem bookkeeping

    /// Runs `f` with `token` pushed on the pointer; refuses to go deeper than [`MAX_DEPTH`].
    fn at<R>(&mut self, token: &str, f: impl FnOnce(&mut Self) -> R) -> Option<R> {
        self.descend(|pointer| push_token(pointer, token), f)
    }

    fn at_index<R>(&mut self, index: usize, f: impl FnOnce(&mut Self) -> R) -> Option<R> {
        self.descend(|pointer| write_index(pointer, index), f)
    }

    fn descend<R>(
        &mut self,
        push: impl FnOnce(&mut String),
        f: impl FnOnce(&mut Self) -> R,
    ) -> Option<R> {
        let length = self.pointer.len();
        push(&mut self.pointer);
        if self.depth >= MAX_DEPTH {
            if !self.too_deep {
                self.too_deep = true;
                self.problem(format!("nesting too deep (more than {MAX_DEPTH} levels)"));
            }
            self.pointer.truncate(length);
            return None;
        }
        self.depth += 1;
        let result = f(self);
        self.depth -= 1;
        self.pointer.truncate(length);
        Some(result)
    }

    fn full(&self) -> bool {
        self.problems.len() >= MAX_PROBLEMS
    }

    fn problem(&mut self, message: impl Into<String>) {
        if !self.full() {
            self.problems
                .push(Problem::new(self.pointer.clone(), message));
        }
    }

    fn problem_at(&mut self, token: &str, message: impl Into<String>) {
        if !self.full() {
            let mut pointer = self.pointer.clone();
            push_token(&mut pointer, token);
            self.problems.push(Problem::new(pointer, message));
        }
    }

    fn warn(&mut self, message: impl Into<String>) {
        if self.warnings.len() < MAX_PROBLEMS {
            self.warnings
                .push(Problem::new(self.pointer.clone(), message));
        }
    }

    // --- typed field access

    fn object(
        &mut self,
        value: &'a Value,
        what: impl fmt::Display,
    ) -> Option<&'a Map<String, Value>> {
        match value {
            Value::Object(object) => Some(object),
            other => {
                self.problem(format!("{what} must be an object, not {}", kind(other)));
                None
            }
        }
    }

    fn array(&mut self, value: &'a Value, what: impl fmt::Display) -> Option<&'a Vec<Value>> {
        match value {
            Value::Array(array) => Some(array),
            other => {
                self.problem(format!("{what} must be an array, not {}", kind(other)));
                None
            }
        }
    }

    fn known_fields(&mut self, object: &Map<String, Value>, allowed: &[&str]) {
        for key in object.keys() {
            if !is_extension(key) && !allowed.contains(&key.as_str()) {
                self.problem_at(
                    key,
                    format!("unknown field `{key}` (extensions must start with `x-`)"),
                );
            }
        }
    }

    fn required(&mut self, object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
        let value = object.get(key);
        if value.is_none() {
            self.problem(format!("missing required field `{key}`"));
        }
        value
    }

    fn string(&mut self, object: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
        match object.get(key)? {
            Value::String(s) => Some(s),
            other => {
                self.problem_at(key, not_a_string(key, other));
                None
            }
        }
    }

    fn required_string(&mut self, object: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
        self.required(object, key)?;
        self.string(object, key)
    }

    fn strings(&mut self, object: &'a Map<String, Value>, keys: &[&str]) {
        for key in keys {
            self.string(object, key);
        }
    }

    fn booleans(&mut self, object: &'a Map<String, Value>, keys: &[&str]) {
        for key in keys {
            if let Some(value) = object.get(*key).filter(|v| !v.is_boolean()) {
                self.problem_at(
                    key,
                    format!("`{key}` must be true or false, not {}", kind(value)),
                );
            }
        }
    }

    fn one_of(
        &mut self,
        object: &'a Map<String, Value>,
        key: &str,
        allowed: &[&str],
    ) -> Option<&'a str> {
        let value = self.string(object, key)?;
        if allowed.contains(&value) {
            Some(value)
        } else {
            self.problem_at(
                key,
                format!("`{key}` must be one of {}", allowed.join(", ")),
            );
            None
        }
    }

    fn required_one_of(
        &mut self,
        object: &'a Map<String, Value>,
        key: &str,
        allowed: &[&str],
    ) -> Option<&'a str> {
        self.required(object, key)?;
        self.one_of(object, key, allowed)
    }

    fn string_array(
        &mut self,
        object: &'a Map<String, Value>,
        key: &str,
        allowed: Option<&[&str]>,
    ) {
        let Some(value) = object.get(key) else { return };
        let fine = value.as_array().is_some_and(|items| {
            items.iter().all(|item| {
                item.as_str()
                    .is_some_and(|s| allowed.is_none_or(|allowed| allowed.contains(&s)))
            })
        });
        if !fine {
            match allowed {
                Some(allowed) => self.problem_at(
                    key,
                    format!("`{key}` must be an array of: {}", allowed.join(", ")),
                ),
                None => self.problem_at(key, format!("`{key}` must be an array of strings")),
            }
        }
    }

    fn exclusive(&mut self, object: &Map<String, Value>, a: &str, b: &str) {
        if object.contains_key(a) && object.contains_key(b) {
            self.problem(format!("`{a}` and `{b}` are mutually exclusive"));
        }
    }

    /// Checks each entry of the map at `object[key]` with `check`.
    fn map_field(&mut self, object: &'a Map<String, Value>, key: &str, check: Check<'a>) {
        if let Some(value) = object.get(key) {
            self.at(key, |w| w.map(value, format_args!("`{key}`"), false, check));
        }
    }

    fn map(
        &mut self,
        value: &'a Value,
        what: impl fmt::Display,
        skip_extensions: bool,
        check: Check<'a>,
    ) {
        let Some(object) = self.object(value, what) else {
            return;
        };
        for (key, entry) in object {
            if self.full() {
                break;
            }
            if !(skip_extensions && is_extension(key)) {
                self.at(key, |w| check(w, entry));
            }
        }
    }

    fn field(&mut self, object: &'a Map<String, Value>, key: &str, check: Check<'a>) {
        if let Some(value) = object.get(key) {
            self.at(key, |w| check(w, value));
        }
    }

    // --- references

    /// A `$ref` field of the current object: must be a string, and resolve when local.
    fn reference_field(&mut self, reference: &'a Value) {
        match reference {
            Value::String(reference) => {
                if self.schema_resources == 0
                    && is_local_pointer(reference)
                    && lookup(self.root, reference).is_none()
                {
                    self.problem_at("$ref", format!("unresolved reference `{reference}`"));
                }
            }
            other => self.problem_at(
                "$ref",
                format!("`$ref` must be a string, not {}", kind(other)),
            ),
        }
    }

    /// Where a Reference Object may stand: checks it and returns true when `value` is one (the
    /// caller then skips its own rules; sibling fields of a reference are ignored).
    fn reference(&mut self, value: &'a Value) -> bool {
        match value.as_object().and_then(|o| o.get("$ref")) {
            Some(reference) => {
                self.reference_field(reference);
                true
            }
            None => false,
        }
    }

    // --- the document

    fn document(&mut self) {
        let Some(root) = self.root.as_object() else {
            return;
        };
        self.known_fields(
            root,
            match self.version {
                SpecVersion::Swagger2 => fields::ROOT_2,
                SpecVersion::OpenApi30 => fields::ROOT_30,
                SpecVersion::OpenApi31 => fields::ROOT_31,
            },
        );
        match root.get("info") {
            Some(info) => {
                self.at("info", |w| w.info(info));
            }
            None => self.problem("missing required field `info`"),
        }
        if self.v3() {
            self.field(root, "servers", Self::servers);
        } else {
            self.string(root, "host");
            if let Some(base_path) = self.string(root, "basePath")
                && !base_path.starts_with('/')
            {
                self.problem_at("basePath", "`basePath` must start with `/`");
            }
            self.string_array(root, "schemes", Some(&["http", "https", "ws", "wss"]));
            self.string_array(root, "consumes", None);
            self.string_array(root, "produces", None);
        }
        match root.get("paths") {
            Some(paths) => {
                self.at("paths", |w| w.paths(paths));
            }
            None if !self.v31() => self.problem("missing required field `paths`"),
            None => {}
        }
        if self.v31() {
            self.string(root, "jsonSchemaDialect");
            if let Some(webhooks) = root.get("webhooks") {
                self.at("webhooks", |w| {
                    w.map(webhooks, "`webhooks`", true, |w, item| {
                        w.path_item(item, None)
                    })
                });
            }
            if !["paths", "components", "webhooks"]
                .iter()
                .any(|key| root.contains_key(*key))
            {
                self.problem(
                    "a 3.1 document needs at least one of `paths`, `components` or `webhooks`",
                );
            }
        }
        if self.v3() {
            self.field(root, "components", Self::components);
        } else {
            for (key, check) in [
                ("definitions", Self::schema as Check<'a>),
                ("parameters", Self::parameter),
                ("responses", Self::response),
                ("securityDefinitions", Self::security_scheme),
            ] {
                self.map_field(root, key, check);
            }
        }
        self.field(root, "security", Self::security);
        self.field(root, "tags", Self::tags);
        self.field(root, "externalDocs", Self::external_docs);
    }

    fn info(&mut self, value: &'a Value) {
        let Some(info) = self.object(value, "`info`") else {
            return;
        };
        self.known_fields(
            info,
            if self.v31() {
                fields::INFO_31
            } else {
                fields::INFO_30
            },
        );
        self.required_string(info, "title");
        self.required_string(info, "version");
        self.strings(info, &["description", "termsOfService", "summary"]);
        self.field(info, "contact", |w, value| {
            if let Some(contact) = w.object(value, "`contact`") {
                w.known_fields(contact, &["name", "url", "email"]);
                w.strings(contact, &["name", "url", "email"]);
            }
        });
        self.field(info, "license", |w, value| {
            let Some(license) = w.object(value, "`license`") else {
                return;
            };
            let mut allowed = vec!["name", "url"];
            if w.v31() {
                allowed.push("identifier");
                w.exclusive(license, "url", "identifier");
            }
            w.known_fields(license, &allowed);
            w.required_string(license, "name");
            w.strings(license, &["url", "identifier"]);
        });
    }

    fn external_docs(&mut self, value: &'a Value) {
        let Some(docs) = self.object(value, "`externalDocs`") else {
            return;
        };
        self.known_fields(docs, &["description", "url"]);
        self.required_string(docs, "url");
        self.string(docs, "description");
    }

    fn tags(&mut self, value: &'a Value) {
        let Some(tags) = self.array(value, "`tags`") else {
            return;
        };
        let mut seen = HashSet::new();
        for (index, tag) in tags.iter().enumerate() {
            self.at_index(index, |w| {
                let Some(tag) = w.object(tag, "a tag") else {
                    return;
                };
                w.known_fields(tag, &["name", "description", "externalDocs"]);
                if let Some(name) = w.required_string(tag, "name")
                    && !seen.insert(name)
                {
                    w.problem_at("name", format!("duplicate tag `{name}`"));
                }
                w.string(tag, "description");
                w.field(tag, "externalDocs", Self::external_docs);
            });
        }
    }

    fn servers(&mut self, value: &'a Value) {
        let Some(servers) = self.array(value, "`servers`") else {
            return;
        };
        for (index, server) in servers.iter().enumerate() {
            self.at_index(index, |w| w.server(server));
        }
    }

    fn server(&mut self, value: &'a Value) {
        let Some(server) = self.object(value, "a server") else {
            return;
        };
        self.known_fields(server, &["url", "description", "variables"]);
        self.required_string(server, "url");
        self.string(server, "description");
        self.map_field(server, "variables", Self::server_variable);
    }

    fn server_variable(&mut self, value: &'a Value) {
        let Some(variable) = self.object(value, "a server variable") else {
            return;
        };
        self.known_fields(variable, &["enum", "default", "description"]);
        let default = self.required_string(variable, "default");
        self.string(variable, "description");
        match variable.get("enum") {
            None => {}
            Some(Value::Array(values)) if values.is_empty() => {
                self.problem_at("enum", "`enum` must not be empty")
            }
            Some(Value::Array(values)) if !values.iter().all(Value::is_string) => {
                self.problem_at("enum", "`enum` must be an array of strings");
            }
            Some(Value::Array(values)) => {
                if let Some(default) = default
                    && !values.iter().any(|v| v.as_str() == Some(default))
                {
                    self.problem_at(
                        "default",
                        format!("the default `{default}` is not one of the `enum` values"),
                    );
                }
            }
            Some(other) => self.problem_at(
                "enum",
                format!("`enum` must be an array of strings, not {}", kind(other)),
            ),
        }
    }

    fn components(&mut self, value: &'a Value) {
        let Some(components) = self.object(value, "`components`") else {
            return;
        };
        let mut sections: Vec<(&str, Check<'a>)> = vec![
            ("schemas", Self::schema),
            ("responses", Self::response),
            ("parameters", Self::parameter),
            ("examples", Self::example),
            ("requestBodies", Self::request_body),
            ("headers", Self::header),
            ("securitySchemes", Self::security_scheme),
            ("links", Self::link),
            ("callbacks", Self::callback),
        ];
        if self.v31() {
            sections.push(("pathItems", |w, item| w.path_item(item, None)));
        }
        let allowed: Vec<&str> = sections.iter().map(|(key, _)| *key).collect();
        self.known_fields(components, &allowed);
        for (section, check) in sections {
            let Some(entries) = components.get(section) else {
                continue;
            };
            self.at(section, |w| w.component_section(entries, section, check));
        }
    }

    /// The entries of one `components` section; their names are restricted.
    fn component_section(&mut self, value: &'a Value, section: &str, check: Check<'a>) {
        let Some(entries) = self.object(value, format_args!("`{section}`")) else {
            return;
        };
        for (name, entry) in entries {
            if self.full() {
                break;
            }
            if !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
            {
                self.problem_at(
                    name,
                    format!(
                        "component name `{name}` may only contain letters, digits, `.`, `-` and `_`"
                    ),
                );
            }
            self.at(name, |w| check(w, entry));
        }
    }

    // --- paths and operations

    fn paths(&mut self, value: &'a Value) {
        let Some(paths) = self.object(value, "`paths`") else {
            return;
        };
        for (template, item) in paths {
            if self.full() {
                break;
            }
            if is_extension(template) {
                continue;
            }
            if !template.starts_with('/') {
                self.problem_at(template, format!("path `{template}` must start with `/`"));
            }
            let checked_template = if template_variables(template).is_some() {
                Some(template.as_str())
            } else {
                self.problem_at(
                    template,
                    format!("path `{template}` has unbalanced or empty `{{` `}}`"),
                );
                None
            };
            self.at(template, |w| w.path_item(item, checked_template));
        }
    }

    /// A path item; `template` is its path when it is an entry of `paths` (webhooks, callbacks
    /// and components have no template to check).
    fn path_item(&mut self, value: &'a Value, template: Option<&'a str>) {
        let Some(item) = self.object(value, "a path item") else {
            return;
        };
        self.known_fields(
            item,
            if self.v3() {
                fields::PATH_ITEM_3
            } else {
                fields::PATH_ITEM_2
            },
        );
        if let Some(reference) = item.get("$ref") {
            self.reference_field(reference);
        }
        if self.v3() {
            self.strings(item, &["summary", "description"]);
            self.field(item, "servers", Self::servers);
        }
        let shared = match item.get("parameters") {
            Some(parameters) => self
                .at("parameters", |w| w.parameters(parameters))
                .unwrap_or_default(),
            None => Declared::default(),
        };
        for method in self.version.methods() {
            if let Some(operation) = item.get(*method) {
                self.at(method, |w| w.operation(operation, template, &shared));
            }
        }
    }

    fn operation(&mut self, value: &'a Value, template: Option<&'a str>, shared: &Declared<'a>) {
        let Some(operation) = self.object(value, "an operation") else {
            return;
        };
        self.known_fields(
            operation,
            if self.v3() {
                fields::OPERATION_3
            } else {
                fields::OPERATION_2
            },
        );
        self.string_array(operation, "tags", None);
        self.strings(operation, &["summary", "description"]);
        if let Some(id) = self.string(operation, "operationId") {
            match self.operation_ids.get(id) {
                Some(first) => {
                    let message =
                        format!("duplicate operationId `{id}` (already used at `{first}`)");
                    self.problem_at("operationId", message);
                }
                None => {
                    self.operation_ids.insert(id, self.pointer.clone());
                }
            }
        }
        self.field(operation, "externalDocs", Self::external_docs);
        let own = match operation.get("parameters") {
            Some(parameters) => self
                .at("parameters", |w| w.parameters(parameters))
                .unwrap_or_default(),
            None => Declared::default(),
        };
        match operation.get("responses") {
            Some(responses) => {
                self.at("responses", |w| w.responses(responses));
            }
            None if !self.v31() => self.problem("missing required field `responses`"),
            None => {}
        }
        self.booleans(operation, &["deprecated"]);
        self.field(operation, "security", Self::security);
        if self.v3() {
            self.field(operation, "requestBody", Self::request_body);
            self.map_field(operation, "callbacks", Self::callback);
            self.field(operation, "servers", Self::servers);
        } else {
            self.string_array(operation, "consumes", None);
            self.string_array(operation, "produces", None);
            self.string_array(operation, "schemes", Some(&["http", "https", "ws", "wss"]));
        }
        if let Some(template) = template
            && !shared.opaque
            && !own.opaque
        {
            self.path_template(template, shared, &own);
        }
    }

    /// Every `{name}` of the template must be declared as a path parameter. A declared path
    /// parameter whose name is not in the template is taken (with a warning) as a misnamed
    /// declaration of an undeclared variable.
    fn path_template(&mut self, template: &str, shared: &Declared<'a>, own: &Declared<'a>) {
        let Some(variables) = template_variables(template) else {
            return;
        };
        let declared =
            |name: &str| own.path_names.contains(&name) || shared.path_names.contains(&name);
        let missing: Vec<&str> = variables
            .iter()
            .copied()
            .filter(|name| !declared(name))
            .collect();
        let mut spare: Vec<&str> = Vec::new();
        for name in own.path_names.iter().chain(&shared.path_names) {
            if !variables.contains(name) && !spare.contains(name) {
                spare.push(name);
            }
        }
        for (index, name) in missing.iter().enumerate() {
            if let Some(other) = spare.get(index) {
                self.warn(format!(
                    "path parameter `{other}` is not in the path template; \
                     taken as the declaration of `{{{name}}}`"
                ));
            } else {
                self.problem(format!(
                    "path parameter `{name}` of `{template}` is not declared \
                     (add a parameter with `in: path` and `name: {name}`)"
                ));
            }
        }
    }

    fn parameters(&mut self, value: &'a Value) -> Declared<'a> {
        let mut declared = Declared::default();
        let Some(parameters) = self.array(value, "`parameters`") else {
            declared.opaque = true;
            return declared;
        };
        let mut seen = HashSet::new();
        for (index, parameter) in parameters.iter().enumerate() {
            if self.full() {
                break;
            }
            self.at_index(index, |w| w.parameter(parameter));
            let identity = resolve(self.root, parameter)
                .and_then(|p| Some((p.get("name")?.as_str()?, p.get("in")?.as_str()?)));
            match identity {
                Some((name, location)) => {
                    if !seen.insert((name, location)) {
                        self.problem_at(
                            &index.to_string(),
                            format!("duplicate parameter `{name}` in {location}"),
                        );
                    }
                    if location == "path" {
                        declared.path_names.push(name);
                    }
                }
                None => declared.opaque |= is_reference(parameter),
            }
        }
        declared
    }

    fn parameter(&mut self, value: &'a Value) {
        if self.reference(value) {
            return;
        }
        let Some(parameter) = self.object(value, "a parameter") else {
            return;
        };
        if self.v3() {
            self.parameter_v3(parameter);
        } else {
            self.parameter_v2(parameter);
        }
    }

    fn parameter_v3(&mut self, parameter: &'a Map<String, Value>) {
        self.known_fields(parameter, fields::PARAMETER_3);
        self.required_string(parameter, "name");
        let location =
            self.required_one_of(parameter, "in", &["query", "header", "path", "cookie"]);
        self.strings(parameter, &["description", "style"]);
        self.booleans(
            parameter,
            &[
                "required",
                "deprecated",
                "allowEmptyValue",
                "explode",
                "allowReserved",
            ],
        );
        if location == Some("path") && (!self.v31() || parameter.contains_key("schema")) {
            self.path_parameter_required(parameter);
        }
        if let Some(location) = location {
            if let Some(style) = parameter.get("style").and_then(Value::as_str) {
                let styles: &[&str] = match location {
                    "path" => &["matrix", "label", "simple"],
                    "query" => &["form", "spaceDelimited", "pipeDelimited", "deepObject"],
                    "header" => &["simple"],
                    _ => &["form"],
                };
                if !styles.contains(&style) {
                    self.problem_at(
                        "style",
                        format!(
                            "`style: {style}` is not allowed for `in: {location}`; use one of {}",
                            styles.join(", ")
                        ),
                    );
                }
            }
            let reserved_allowed = location == "query" || (location == "cookie" && self.v31());
            if parameter.contains_key("allowReserved") && !reserved_allowed {
                let places = if self.v31() {
                    "`in: query` or `in: cookie`"
                } else {
                    "`in: query`"
                };
                self.problem_at(
                    "allowReserved",
                    format!("`allowReserved` is only allowed with {places}"),
                );
            }
        }
        self.schema_or_content(parameter, "a parameter");
        self.examples(parameter);
    }

    fn path_parameter_required(&mut self, parameter: &Map<String, Value>) {
        match parameter.get("required") {
            Some(Value::Bool(true)) => {}
            Some(_) => self.problem_at("required", "a path parameter must have `required: true`"),
            None => self.problem("a path parameter must have `required: true`"),
        }
    }

    fn parameter_v2(&mut self, parameter: &'a Map<String, Value>) {
        self.required_string(parameter, "name");
        let location = self.required_one_of(
            parameter,
            "in",
            &["query", "header", "path", "formData", "body"],
        );
        self.known_fields(
            parameter,
            if location == Some("body") {
                fields::BODY_PARAMETER_2
            } else {
                fields::PARAMETER_2
            },
        );
        self.string(parameter, "description");
        self.booleans(parameter, &["required", "allowEmptyValue"]);
        if location == Some("path") {
            self.path_parameter_required(parameter);
        }
        match location {
            Some("body") => match parameter.get("schema") {
                Some(schema) => {
                    self.at("schema", |w| w.schema(schema));
                }
                None => self.problem("a body parameter needs `schema`"),
            },
            Some(location) => {
                let types: &[&str] = &["string", "number", "integer", "boolean", "array", "file"];
                if self.required_one_of(parameter, "type", types) == Some("file")
                    && location != "formData"
                {
                    self.problem_at("type", "`type: file` is only allowed with `in: formData`");
                }
                self.simple_type_v2(parameter);
            }
            None => {}
        }
    }

    /// `items` of a 2.0 non-body parameter, header or items object.
    fn simple_type_v2(&mut self, object: &'a Map<String, Value>) {
        match (
            object.get("type").and_then(Value::as_str),
            object.get("items"),
        ) {
            (Some("array"), None) => self.problem("`items` is required when `type` is `array`"),
            (_, Some(items)) => {
                self.at("items", |w| w.items_v2(items));
            }
            _ => {}
        }
    }

    fn items_v2(&mut self, value: &'a Value) {
        if self.reference(value) {
            return;
        }
        let Some(items) = self.object(value, "`items`") else {
            return;
        };
        self.known_fields(items, fields::ITEMS_2);
        self.required_one_of(items, "type", fields::SIMPLE_TYPES_2);
        self.simple_type_v2(items);
    }

    fn schema_or_content(&mut self, object: &'a Map<String, Value>, what: &str) {
        self.field(object, "schema", Self::schema);
        if let Some(content) = object.get("content") {
            self.at("content", |w| {
                if w.content(content).is_some_and(|count| count != 1) {
                    w.problem("`content` must have exactly one media type");
                }
            });
        }
        match (
            object.contains_key("schema"),
            object.contains_key("content"),
        ) {
            (true, true) => self.problem(format!(
                "{what} needs exactly one of `schema` or `content`, not both"
            )),
            (false, false) => self.problem(format!("{what} needs `schema` or `content`")),
            _ => {}
        }
    }

    /// `example`/`examples` of a 3.x parameter, header or media type.
    fn examples(&mut self, object: &'a Map<String, Value>) {
        self.exclusive(object, "example", "examples");
        self.map_field(object, "examples", Self::example);
    }

    fn example(&mut self, value: &'a Value) {
        if self.reference(value) {
            return;
        }
        let Some(example) = self.object(value, "an example") else {
            return;
        };
        self.known_fields(
            example,
            &["summary", "description", "value", "externalValue"],
        );
        self.strings(example, &["summary", "description", "externalValue"]);
        self.exclusive(example, "value", "externalValue");
    }

    fn request_body(&mut self, value: &'a Value) {
        if self.reference(value) {
            return;
        }
        let Some(body) = self.object(value, "a request body") else {
            return;
        };
        self.known_fields(body, &["description", "content", "required"]);
        self.string(body, "description");
        self.booleans(body, &["required"]);
        if let Some(content) = self.required(body, "content") {
            self.at("content", |w| w.content(content));
        }
    }

    /// A content map; returns its number of media types.
    fn content(&mut self, value: &'a Value) -> Option<usize> {
        let content = self.object(value, "`content`")?;
        for (media_type, entry) in content {
            if self.full() {
                break;
            }
            self.at(media_type, |w| w.media_type(entry));
        }
        Some(content.len())
    }

    fn media_type(&mut self, value: &'a Value) {
        let Some(media_type) = self.object(value, "a media type") else {
            return;
        };
        self.known_fields(media_type, &["schema", "example", "examples", "encoding"]);
        self.field(media_type, "schema", Self::schema);
        self.examples(media_type);
        self.map_field(media_type, "encoding", Self::encoding);
    }

    fn encoding(&mut self, value: &'a Value) {
        let Some(encoding) = self.object(value, "an encoding") else {
            return;
        };
        self.known_fields(
            encoding,
            &[
                "contentType",
                "headers",
                "style",
                "explode",
                "allowReserved",
            ],
        );
        self.string(encoding, "contentType");
        self.map_field(encoding, "headers", Self::header);
        if encoding.contains_key("style") {
            self.one_of(
                encoding,
                "style",
                &["form", "spaceDelimited", "pipeDelimited", "deepObject"],
            );
        }
        self.booleans(encoding, &["explode", "allowReserved"]);
    }

    fn responses(&mut self, value: &'a Value) {
        let Some(responses) = self.object(value, "`responses`") else {
            return;
        };
        let mut count = 0;
        for (code, response) in responses {
            if self.full() {
                break;
            }
            if is_extension(code) {
                continue;
            }
            count += 1;
            if !self.status_code(code) {
                let ranges = if self.v3() {
                    " or a range like `2XX`"
                } else {
                    ""
                };
                self.problem_at(
                    code,
                    format!(
                        "response key `{code}` must be `default`, a 3-digit status code{ranges}"
                    ),
                );
            }
            self.at(code, |w| w.response(response));
        }
        if count == 0 {
            self.problem("`responses` must contain at least one response");
        }
    }

    fn status_code(&self, code: &str) -> bool {
        match code.as_bytes() {
            b"default" => true,
            [first, rest @ ..] if rest.len() == 2 && (b'1'..=b'5').contains(first) => {
                rest.iter().all(u8::is_ascii_digit) || (self.v3() && rest == b"XX")
            }
            _ => false,
        }
    }

    fn response(&mut self, value: &'a Value) {
        if self.reference(value) {
            return;
        }
        let Some(response) = self.object(value, "a response") else {
            return;
        };
        self.required_string(response, "description");
        if self.v3() {
            self.known_fields(response, &["description", "headers", "content", "links"]);
            self.map_field(response, "headers", Self::header);
            self.field(response, "content", |w, content| {
                w.content(content);
            });
            self.map_field(response, "links", Self::link);
        } else {
            self.known_fields(response, &["description", "schema", "headers", "examples"]);
            self.field(response, "schema", Self::schema);
            self.map_field(response, "headers", Self::header);
            self.field(response, "examples", |w, examples| {
                w.object(examples, "`examples`");
            });
        }
    }

    fn header(&mut self, value: &'a Value) {
        if self.reference(value) {
            return;
        }
        let Some(header) = self.object(value, "a header") else {
            return;
        };
        if !self.v3() {
            self.known_fields(header, fields::HEADER_2);
            self.string(header, "description");
            self.required_one_of(header, "type", fields::SIMPLE_TYPES_2);
            self.simple_type_v2(header);
            return;
        }
        self.known_fields(
            header,
            if self.v31() {
                fields::HEADER_31
            } else {
                fields::HEADER_30
            },
        );
        for key in ["name", "in"] {
            if header.contains_key(key) {
                self.problem_at(
                    key,
                    format!(
                        "`{key}` is not allowed in a header object (the header name is its map key)"
                    ),
                );
            }
        }
        if header.contains_key("allowReserved") {
            self.problem_at(
                "allowReserved",
                "`allowReserved` is not allowed in a header object",
            );
        }
        self.strings(header, &["description"]);
        self.booleans(
            header,
            &["required", "deprecated", "allowEmptyValue", "explode"],
        );
        if header.contains_key("style") {
            self.one_of(header, "style", &["simple"]);
        }
        self.schema_or_content(header, "a header");
        self.examples(header);
    }

    fn link(&mut self, value: &'a Value) {
        if self.reference(value) {
            return;
        }
        let Some(link) = self.object(value, "a link") else {
            return;
        };
        self.known_fields(link, fields::LINK);
        self.strings(link, &["operationRef", "operationId", "description"]);
        match (
            link.contains_key("operationRef"),
            link.contains_key("operationId"),
        ) {
            (true, true) => self.problem("`operationRef` and `operationId` are mutually exclusive"),
            (false, false) => self.problem("a link needs `operationRef` or `operationId`"),
            _ => {}
        }
        self.field(link, "parameters", |w, parameters| {
            w.object(parameters, "`parameters`");
        });
        self.field(link, "server", Self::server);
    }

    fn callback(&mut self, value: &'a Value) {
        if self.reference(value) {
            return;
        }
        self.map(value, "a callback", true, |w, item| w.path_item(item, None));
    }

    // --- security

    fn security(&mut self, value: &'a Value) {
        let Some(requirements) = self.array(value, "`security`") else {
            return;
        };
        for (index, requirement) in requirements.iter().enumerate() {
            self.at_index(index, |w| {
                let Some(requirement) = w.object(requirement, "a security requirement") else {
                    return;
                };
                for (name, scopes) in requirement {
                    if !scopes
                        .as_array()
                        .is_some_and(|scopes| scopes.iter().all(Value::is_string))
                    {
                        w.problem_at(
                            name,
                            format!("the scopes of `{name}` must be an array of strings"),
                        );
                    }
                }
            });
        }
    }

    fn security_scheme(&mut self, value: &'a Value) {
        if self.reference(value) {
            return;
        }
        let Some(scheme) = self.object(value, "a security scheme") else {
            return;
        };
        self.string(scheme, "description");
        if !self.v3() {
            self.known_fields(scheme, fields::SECURITY_SCHEME_2);
            match self.required_one_of(scheme, "type", &["basic", "apiKey", "oauth2"]) {
                Some("apiKey") => {
                    self.required_string(scheme, "name");
                    self.required_one_of(scheme, "in", &["query", "header"]);
                }
                Some("oauth2") => {
                    let flow = self.required_one_of(
                        scheme,
                        "flow",
                        &["implicit", "password", "application", "accessCode"],
                    );
                    if matches!(flow, Some("implicit" | "accessCode")) {
                        self.required_string(scheme, "authorizationUrl");
                    }
                    if matches!(flow, Some("password" | "application" | "accessCode")) {
                        self.required_string(scheme, "tokenUrl");
                    }
                    if let Some(scopes) = self.required(scheme, "scopes") {
                        self.at("scopes", |w| w.scopes(scopes));
                    }
                }
                _ => {}
            }
            return;
        }
        self.known_fields(scheme, fields::SECURITY_SCHEME_3);
        let types: &[&str] = if self.v31() {
            &["apiKey", "http", "mutualTLS", "oauth2", "openIdConnect"]
        } else {
            &["apiKey", "http", "oauth2", "openIdConnect"]
        };
        match self.required_one_of(scheme, "type", types) {
            Some("apiKey") => {
                self.required_string(scheme, "name");
                self.required_one_of(scheme, "in", &["query", "header", "cookie"]);
            }
            Some("http") => {
                self.required_string(scheme, "scheme");
                self.string(scheme, "bearerFormat");
            }
            Some("oauth2") => {
                if let Some(flows) = self.required(scheme, "flows") {
                    self.at("flows", |w| w.oauth_flows(flows));
                }
            }
            Some("openIdConnect") => {
                self.required_string(scheme, "openIdConnectUrl");
            }
            _ => {}
        }
    }

    fn oauth_flows(&mut self, value: &'a Value) {
        let Some(flows) = self.object(value, "`flows`") else {
            return;
        };
        const FLOWS: [(&str, &[&str]); 4] = [
            ("implicit", &["authorizationUrl"]),
            ("password", &["tokenUrl"]),
            ("clientCredentials", &["tokenUrl"]),
            ("authorizationCode", &["authorizationUrl", "tokenUrl"]),
        ];
        self.known_fields(flows, &FLOWS.map(|(name, _)| name));
        for (name, urls) in FLOWS {
            let Some(flow) = flows.get(name) else {
                continue;
            };
            self.at(name, |w| {
                let Some(flow) = w.object(flow, "an OAuth flow") else {
                    return;
                };
                w.known_fields(
                    flow,
                    &["authorizationUrl", "tokenUrl", "refreshUrl", "scopes"],
                );
                for url in urls {
                    w.required_string(flow, url);
                }
                w.strings(flow, &["authorizationUrl", "tokenUrl", "refreshUrl"]);
                if let Some(scopes) = w.required(flow, "scopes") {
                    w.at("scopes", |w| w.scopes(scopes));
                }
            });
        }
    }

    fn scopes(&mut self, value: &'a Value) {
        let Some(scopes) = self.object(value, "`scopes`") else {
            return;
        };
        for (scope, description) in scopes {
            if !description.is_string() {
                self.problem_at(
                    scope,
                    format!("the description of scope `{scope}` must be a string"),
                );
            }
        }
    }

    // --- schemas

    /// A Schema Object: an object (3.1: or a boolean). Only the structure is checked: `type`,
    /// `required`, `$ref`, and the subschemas of the applicator keywords.
    fn schema(&mut self, value: &'a Value) {
        let schema = match value {
            Value::Object(schema) => schema,
            Value::Bool(_) if self.v31() => return,
            other => {
                let expected = if self.v31() {
                    "an object or a boolean"
                } else {
                    "an object"
                };
                self.problem(format!("a schema must be {expected}, not {}", kind(other)));
                return;
            }
        };
        let resource = self.v31() && schema.get("$id").is_some_and(Value::is_string);
        if resource {
            self.schema_resources += 1;
        }
        if let Some(reference) = schema.get("$ref") {
            self.reference_field(reference);
        }
        // Before 3.1, the fields beside a `$ref` are ignored.
        if self.v31() || !schema.contains_key("$ref") {
            self.schema_keywords(schema);
        }
        if resource {
            self.schema_resources -= 1;
        }
    }

    /// One pass over the fields of a schema (cheaper than a lookup per keyword).
    fn schema_keywords(&mut self, schema: &'a Map<String, Value>) {
        let (single, lists, maps) = match self.version {
            SpecVersion::OpenApi31 => fields::APPLICATORS_31,
            SpecVersion::OpenApi30 => fields::APPLICATORS_30,
            SpecVersion::Swagger2 => fields::APPLICATORS_2,
        };
        for (key, value) in schema {
            if self.full() {
                break;
            }
            let key = key.as_str();
            match (key, value) {
                ("type", _) => {
                    self.at(key, |w| w.schema_type(value));
                }
                ("required", Value::Array(names)) if names.iter().all(Value::is_string) => {}
                ("required", _) => {
                    self.problem_at(key, "`required` must be an array of property names");
                }
                ("additionalProperties", Value::Bool(_)) => {}
                ("items", Value::Array(tuple)) if self.version == SpecVersion::Swagger2 => {
                    self.at(key, |w| w.schema_list(tuple));
                }
                ("discriminator", _) if self.v3() => {
                    self.at(key, |w| {
                        if let Some(discriminator) = w.object(value, "`discriminator`") {
                            w.required_string(discriminator, "propertyName");
                        }
                    });
                }
                ("nullable", _) if self.version == SpecVersion::OpenApi30 => {
                    self.booleans(schema, &["nullable"]);
                }
                _ if single.contains(&key) => {
                    self.at(key, |w| w.schema(value));
                }
                (_, Value::Array(list)) if lists.contains(&key) && !list.is_empty() => {
                    self.at(key, |w| w.schema_list(list));
                }
                _ if lists.contains(&key) => {
                    self.problem_at(key, format!("`{key}` must be a non-empty array of schemas"));
                }
                _ if maps.contains(&key) => {
                    self.at(key, |w| {
                        w.map(value, format_args!("`{key}`"), false, Self::schema)
                    });
                }
                _ => {}
            }
        }
    }

    fn schema_list(&mut self, schemas: &'a [Value]) {
        for (index, schema) in schemas.iter().enumerate() {
            if self.full() {
                break;
            }
            self.at_index(index, |w| w.schema(schema));
        }
    }

    fn schema_type(&mut self, value: &'a Value) {
        let allowed: &[&str] = match self.version {
            SpecVersion::OpenApi31 => &fields::SCHEMA_TYPES[..7],
            SpecVersion::OpenApi30 => &fields::SCHEMA_TYPES[1..7],
            SpecVersion::Swagger2 => &fields::SCHEMA_TYPES,
        };
        match value {
            Value::String(name) => {
                if !allowed.contains(&name.as_str()) {
                    self.problem(format!(
                        "`type` must be one of {}, not `{name}`",
                        allowed.join(", ")
                    ));
                }
            }
            Value::Array(names) if self.version != SpecVersion::OpenApi30 => {
                for (index, name) in names.iter().enumerate() {
                    if !name.as_str().is_some_and(|name| allowed.contains(&name)) {
                        self.problem_at(
                            &index.to_string(),
                            format!("`type` entries must be one of {}", allowed.join(", ")),
                        );
                    }
                }
            }
            Value::Array(_) => self
                .problem("`type` must be a string (3.0 has no type arrays; use `nullable: true`)"),
            other => self.problem(format!(
                "`type` must be a string or an array of strings, not {}",
                kind(other)
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};
    use std::time::Instant;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/openapi");

    fn fixture(relative: &str) -> Vec<u8> {
        let path = Path::new(FIXTURES).join(relative);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn parse_fixture(relative: &str) -> Definition {
        parse(&fixture(relative)).unwrap_or_else(|problems| panic!("{relative}: {problems:#?}"))
    }

    fn problems_of(bytes: &[u8]) -> Vec<Problem> {
        match parse(bytes) {
            Ok(definition) => panic!("accepted: {:?}", definition.operations),
            Err(problems) => problems,
        }
    }

    /// A YAML document from its lines.
    fn yaml(lines: &[&str]) -> Vec<u8> {
        let mut text = lines.join("\n");
        text.push('\n');
        text.into_bytes()
    }

    fn pointers(problems: &[Problem]) -> Vec<&str> {
        problems.iter().map(|p| p.pointer.as_str()).collect()
    }

    /// Every file under `dir` (recursively), relative to the fixtures folder.
    fn files_under(dir: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![Path::new(FIXTURES).join(dir)];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("fixture folder") {
                let path: PathBuf = entry.expect("fixture entry").path();
                if path.is_dir() {
                    stack.push(path);
                } else if let Ok(relative) = path.strip_prefix(FIXTURES) {
                    out.push(relative.to_string_lossy().into_owned());
                }
            }
        }
        out.sort();
        out
    }

    fn verbs_and_targets(definition: &Definition) -> BTreeSet<(String, String)> {
        definition
            .operations
            .iter()
            .map(|o| (o.verb.clone(), o.target.clone()))
            .collect()
    }

    // --- 1. the OpenAPI Initiative's examples

    /// (file, number of path × method pairs, counted by hand in the file).
    const EXAMPLES: &[(&str, usize)] = &[
        ("oai-examples/v2.0/json/api-with-examples.json", 2),
        ("oai-examples/v2.0/json/petstore-expanded.json", 4),
        ("oai-examples/v2.0/json/petstore-minimal.json", 1),
        (
            "oai-examples/v2.0/json/petstore-separate/spec/swagger.json",
            4,
        ),
        ("oai-examples/v2.0/json/petstore-simple.json", 4),
        ("oai-examples/v2.0/json/petstore-with-external-docs.json", 4),
        ("oai-examples/v2.0/json/petstore.json", 3),
        ("oai-examples/v2.0/json/uber.json", 5),
        ("oai-examples/v2.0/yaml/api-with-examples.yaml", 2),
        ("oai-examples/v2.0/yaml/petstore-expanded.yaml", 4),
        ("oai-examples/v2.0/yaml/petstore-minimal.yaml", 1),
        (
            "oai-examples/v2.0/yaml/petstore-separate/spec/swagger.yaml",
            4,
        ),
        ("oai-examples/v2.0/yaml/petstore-simple.yaml", 4),
        ("oai-examples/v2.0/yaml/petstore-with-external-docs.yaml", 4),
        ("oai-examples/v2.0/yaml/petstore.yaml", 3),
        ("oai-examples/v2.0/yaml/uber.yaml", 5),
        ("oai-examples/v3.0/api-with-examples.json", 2),
        ("oai-examples/v3.0/api-with-examples.yaml", 2),
        ("oai-examples/v3.0/callback-example.json", 1),
        ("oai-examples/v3.0/callback-example.yaml", 1),
        ("oai-examples/v3.0/link-example.json", 6),
        ("oai-examples/v3.0/link-example.yaml", 6),
        ("oai-examples/v3.0/petstore-expanded.json", 4),
        ("oai-examples/v3.0/petstore-expanded.yaml", 4),
        ("oai-examples/v3.0/petstore.json", 3),
        ("oai-examples/v3.0/petstore.yaml", 3),
        ("oai-examples/v3.0/uspto.json", 3),
        ("oai-examples/v3.0/uspto.yaml", 3),
        ("oai-examples/v3.1/non-oauth-scopes.json", 1),
        ("oai-examples/v3.1/non-oauth-scopes.yaml", 1),
        ("oai-examples/v3.1/webhook-example.json", 0),
        ("oai-examples/v3.1/webhook-example.yaml", 0),
    ];

    #[test]
    fn oai_examples_parse_with_the_right_operation_counts() {
        for (file, count) in EXAMPLES {
            let definition = parse_fixture(file);
            assert_eq!(definition.operations.len(), *count, "{file}");
            assert!(
                definition.warnings.is_empty(),
                "{file}: {:?}",
                definition.warnings
            );
            let expected = if file.contains("v2.0") {
                SpecVersion::Swagger2
            } else if file.contains("v3.0") {
                SpecVersion::OpenApi30
            } else {
                SpecVersion::OpenApi31
            };
            assert_eq!(definition.version, expected, "{file}");
        }
    }

    #[test]
    fn every_oai_example_is_in_the_table() {
        let listed: Vec<&str> = EXAMPLES.iter().map(|(file, _)| *file).collect();
        for file in files_under("oai-examples") {
            // petstore-separate: only spec/swagger.* is a document; the rest are fragments.
            let fragment = file.contains("petstore-separate") && !file.contains("spec/swagger.");
            assert!(
                fragment || listed.contains(&file.as_str()),
                "{file} is not in EXAMPLES"
            );
        }
    }

    /// 2.0 examples whose JSON and YAML files differ upstream (a reworded description, a moved
    /// `type`, `.json` vs `.yaml` in external `$ref`s, an extra definition in `uber.json`).
    const DIVERGENT_UPSTREAM: &[&str] = &[
        "oai-examples/v2.0/json/petstore-expanded.json",
        "oai-examples/v2.0/json/petstore-separate/spec/swagger.json",
        "oai-examples/v2.0/json/petstore.json",
        "oai-examples/v2.0/json/uber.json",
    ];

    #[test]
    fn json_and_yaml_variants_are_the_same_document() {
        for (json_file, _) in EXAMPLES.iter().filter(|(file, _)| file.ends_with(".json")) {
            let yaml_file = json_file
                .replace("/json/", "/yaml/")
                .replace(".json", ".yaml");
            let (json, yaml) = (parse_fixture(json_file), parse_fixture(&yaml_file));
            if DIVERGENT_UPSTREAM.contains(json_file) {
                assert_ne!(
                    json.value, yaml.value,
                    "{json_file} now equals {yaml_file}: drop it from DIVERGENT_UPSTREAM"
                );
                assert_eq!(
                    verbs_and_targets(&json),
                    verbs_and_targets(&yaml),
                    "{json_file} vs {yaml_file}"
                );
            } else {
                assert_eq!(json.value, yaml.value, "{json_file} vs {yaml_file}");
            }
        }
    }

    #[test]
    fn petstore_30_extraction() {
        let definition = parse_fixture("oai-examples/v3.0/petstore.yaml");
        assert_eq!(definition.spec_version, "3.0.0");
        assert_eq!(definition.version.label(), "3.0");
        assert_eq!(definition.title, "Swagger Petstore");
        assert_eq!(definition.info_version, "1.0.0");
        assert_eq!(definition.endpoints, ["http://petstore.swagger.io/v1"]);
        assert_eq!(definition.base_path.as_deref(), Some("/v1"));
        let listed: Vec<(&str, &str, Option<&str>)> = definition
            .operations
            .iter()
            .map(|o| (o.verb.as_str(), o.target.as_str(), o.summary.as_deref()))
            .collect();
        assert_eq!(
            listed,
            [
                ("GET", "/pets", Some("List all pets")),
                ("POST", "/pets", Some("Create a pet")),
                ("GET", "/pets/{petId}", Some("Info for a specific pet")),
            ]
        );
        assert!(
            definition
                .operations
                .iter()
                .all(|o| o.auth && o.scopes.is_empty())
        );
    }

    #[test]
    fn swagger_2_and_server_variable_extraction() {
        let definition = parse_fixture("oai-examples/v2.0/yaml/petstore.yaml");
        assert_eq!(definition.spec_version, "2.0");
        assert_eq!(definition.endpoints, ["http://petstore.swagger.io/v1"]);
        assert_eq!(definition.base_path.as_deref(), Some("/v1"));

        let definition = parse_fixture("oai-examples/v3.0/uspto.yaml");
        assert_eq!(definition.endpoints, ["https://developer.uspto.gov/ds-api"]);
        assert_eq!(definition.base_path.as_deref(), Some("/ds-api"));
        assert_eq!(definition.tags, ["metadata", "search"]);

        let definition = parse_fixture("oas31-schema-suite/pass/servers.yaml");
        assert_eq!(
            definition.endpoints,
            [
                "/v1",
                "https://production.com/v1",
                "https://demo.gigantic-server.com:8443/v2"
            ]
        );
        assert_eq!(definition.base_path.as_deref(), Some("/v1"));
    }

    #[test]
    fn scopes_come_from_the_effective_requirements() {
        let definition = parse_fixture("oai-examples/v3.1/non-oauth-scopes.yaml");
        let operation = &definition.operations[0];
        assert!(operation.auth);
        assert_eq!(operation.scopes, ["public", "read:users"]);

        let ok = json!({"200": {"description": "ok"}});
        let doc = json!({
            "openapi": "3.0.3",
            "info": {"title": "t", "version": "1"},
            "security": [{"oauth": ["b", "a"]}, {"key": []}],
            "components": {"securitySchemes": {
                "oauth": {"type": "oauth2", "flows": {"clientCredentials": {
                    "tokenUrl": "https://t", "scopes": {"a": "A", "b": "B", "c": "C"}}}},
                "key": {"type": "apiKey", "name": "k", "in": "header"}
            }},
            "paths": {"/p": {
                "get": {"responses": ok},
                "put": {"security": [], "responses": ok},
                "post": {"security": [{}], "responses": ok},
                "delete": {"security": [{}, {"oauth": ["a", "a"]}], "responses": ok},
                "patch": {"security": [{"oauth": ["c"]}], "responses": ok}
            }}
        });
        let definition = parse_value(doc).expect("valid");
        let by_verb = |verb: &str| {
            definition
                .operations
                .iter()
                .find(|o| o.verb == verb)
                .expect("operation")
        };
        assert!(by_verb("GET").auth);
        assert_eq!(by_verb("GET").scopes, ["a", "b"]);
        assert!(!by_verb("PUT").auth);
        assert!(!by_verb("POST").auth);
        assert!(!by_verb("DELETE").auth);
        assert_eq!(by_verb("DELETE").scopes, ["a"]);
        assert!(by_verb("PATCH").auth);
        assert_eq!(by_verb("PATCH").scopes, ["c"]);
    }

    #[test]
    fn unquoted_yaml_status_codes_become_string_keys() {
        let doc = &yaml(&[
            "openapi: 3.0.0",
            "info: {title: t, version: '1'}",
            "paths:",
            "  /a:",
            "    get:",
            "      responses:",
            "        200:",
            "          description: ok",
            "        4XX:",
            "          description: bad",
        ]);
        let definition = parse(doc).expect("valid");
        assert!(
            definition
                .value
                .pointer("/paths/~1a/get/responses/200")
                .is_some()
        );
    }

    #[test]
    fn yaml_merge_keys_are_applied() {
        let doc = &yaml(&[
            "openapi: 3.0.0",
            "info: {title: t, version: '1'}",
            "x-defaults:",
            "  ok: &ok {description: ok}",
            "  err: &err {description: error}",
            "paths:",
            "  /a:",
            "    get:",
            "      responses:",
            "        '200':",
            "          <<: *ok",
            "        default:",
            "          <<: [*err, *ok]",
        ]);
        let value = parse(doc).expect("valid").value;
        assert_eq!(
            value.pointer("/paths/~1a/get/responses/200"),
            Some(&json!({"description": "ok"}))
        );
        assert_eq!(
            value.pointer("/paths/~1a/get/responses/default"),
            Some(&json!({"description": "error"}))
        );
    }

    #[test]
    fn yaml_dates_stay_strings() {
        let doc = b"openapi: 3.1.0\ninfo: {title: t, version: 2024-01-31}\ncomponents: {}\n";
        assert_eq!(parse(doc).expect("valid").info_version, "2024-01-31");
    }

    // --- 2. the OpenAPI Initiative's 3.1 schema test suite

    #[test]
    fn schema_suite_pass_files_pass() {
        let files = files_under("oas31-schema-suite/pass");
        assert_eq!(files.len(), 35);
        for file in files {
            let definition = parse_fixture(&file);
            assert_eq!(definition.version, SpecVersion::OpenApi31, "{file}");
        }
    }

    #[test]
    fn a_misnamed_path_parameter_is_a_warning() {
        // `/pets/{id}` declares `petId`: accepted, with a warning.
        let definition = parse_fixture("oas31-schema-suite/pass/operation-object-example.yaml");
        assert_eq!(pointers(&definition.warnings), ["/paths/~1pets~1{id}/put"]);
    }

    /// (fail file, pointers that must be among its problems).
    const FAILURES: &[(&str, &[&str])] = &[
        ("example-examples.yaml", &["/components/parameters/animal"]),
        (
            "header-object-allowReserved.yaml",
            &["/components/headers/Style/allowReserved"],
        ),
        (
            "invalid_schema_types.yaml",
            &[
                "/components/schemas/invalid_null",
                "/components/schemas/invalid_number",
                "/components/schemas/invalid_array",
            ],
        ),
        (
            "link-object-no-body.yaml",
            &["/components/links/Link-Object-with-body-property/body"],
        ),
        ("no_containers.yaml", &[""]),
        (
            "parameter-object-cookie-form-allowReserved.yaml",
            &["/components/parameters/style_cookie/style"],
        ),
        (
            "parameter-object-header-allowReserved.yaml",
            &["/components/parameters/header/allowReserved"],
        ),
        (
            "parameter-object-path-allowReserved.yaml",
            &["/components/parameters/path/allowReserved"],
        ),
        ("server_enum_empty.yaml", &["/servers/0/variables/var/enum"]),
        ("servers.yaml", &["/servers"]),
        ("unknown_container.yaml", &["/overlays"]),
    ];

    #[test]
    fn schema_suite_fail_files_fail_at_the_right_place() {
        let files = files_under("oas31-schema-suite/fail");
        assert_eq!(files.len(), FAILURES.len());
        for (file, expected) in FAILURES {
            let problems = problems_of(&fixture(&format!("oas31-schema-suite/fail/{file}")));
            for pointer in *expected {
                assert!(
                    pointers(&problems).contains(pointer),
                    "{file}: no problem at {pointer:?} in {problems:#?}"
                );
            }
        }
        // The cookie file fails for `style: cookie` only: `allowReserved` is fine with form style.
        let problems = problems_of(&fixture(
            "oas31-schema-suite/fail/parameter-object-cookie-form-allowReserved.yaml",
        ));
        assert_eq!(
            pointers(&problems),
            ["/components/parameters/style_cookie/style"]
        );
        let problems = problems_of(&fixture("oas31-schema-suite/fail/unknown_container.yaml"));
        assert_eq!(
            problems[0].message,
            "unknown field `overlays` (extensions must start with `x-`)"
        );
    }

    // --- 3. hand-written bad documents

    #[test]
    fn all_problems_of_a_broken_30_document_are_reported() {
        let doc = br##"{
            "openapi": "3.0.3",
            "info": {"title": "Broken", "version": 1.0},
            "overlays": {},
            "paths": {
                "/pets": {
                    "get": {"responses": {"200": {
                        "description": "ok",
                        "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/Missing"}
                        }}
                    }}},
                    "post": {"operationId": "createPet"}
                },
                "/pets/{petId}": {
                    "parameters": [
                        {"name": "petId", "in": "path", "required": true, "schema": {}}
                    ],
                    "get": {
                        "parameters": [{"name": "verbose", "in": "body", "schema": {}}],
                        "responses": {"default": {"description": "ok"}}
                    }
                }
            },
            "components": {"schemas": {"Pet": {"type": "object"}}}
        }"##;
        let problems = problems_of(doc);
        let mut found = pointers(&problems);
        found.sort_unstable();
        assert_eq!(
            found,
            [
                "/info/version",
                "/overlays",
                "/paths/~1pets/get/responses/200/content/application~1json/schema/$ref",
                "/paths/~1pets/post",
                "/paths/~1pets~1{petId}/get/parameters/0/in",
            ],
            "{problems:#?}"
        );
        let message = |pointer: &str| {
            problems
                .iter()
                .find(|p| p.pointer == pointer)
                .map(|p| p.message.as_str())
                .unwrap_or_default()
        };
        assert_eq!(
            message("/paths/~1pets~1{petId}/get/parameters/0/in"),
            "`in` must be one of query, header, path, cookie"
        );
        assert_eq!(
            message("/paths/~1pets/post"),
            "missing required field `responses`"
        );
        assert!(message("/info/version").contains("quote it"));
        assert_eq!(
            message("/paths/~1pets/get/responses/200/content/application~1json/schema/$ref"),
            "unresolved reference `#/components/schemas/Missing`"
        );
    }

    #[test]
    fn malformed_json_and_yaml_point_at_a_line() {
        let problems = problems_of(b"{\n  \"openapi\": \"3.0.0\",\n  \"info\": \n}");
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].pointer, "");
        assert!(
            problems[0].message.contains("JSON") && problems[0].message.contains("line 4"),
            "{problems:?}"
        );

        let problems = problems_of(b"openapi: 3.0.0\ninfo: [a, b\npaths: {}\n");
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].message.contains("YAML") && problems[0].message.contains("line"),
            "{problems:?}"
        );
    }

    #[test]
    fn unusable_input_is_refused_with_one_problem() {
        let cases: &[(&[u8], &str)] = &[
            (b"", "the document is empty"),
            (b"  \n\t ", "the document is empty"),
            (b"# only a comment\n", "the document is empty"),
            (b"\xff\xfe{}", "not valid UTF-8"),
            (b"- a\n- b\n", "must be an object"),
            (b"just text", "must be an object"),
            (
                b"openapi: 3.2.0\ninfo: {title: t, version: '1'}\n",
                "unsupported version",
            ),
            (
                b"openapi: 3.0\ninfo: {title: t, version: '1'}\n",
                "quote it",
            ),
            (b"swagger: '1.2'\n", "unsupported version"),
            (b"info: {title: t, version: '1'}\n", "missing `openapi`"),
        ];
        for (input, expected) in cases {
            let problems = problems_of(input);
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert!(
                problems[0].message.contains(expected),
                "{:?}: {problems:?}",
                String::from_utf8_lossy(input)
            );
        }
        assert_eq!(problems_of(b"openapi: 4.0.0\n")[0].pointer, "/openapi");
        assert_eq!(problems_of(b"swagger: 1.2\n")[0].pointer, "/swagger");
    }

    #[test]
    fn a_numeric_info_version_is_refused() {
        let problems =
            problems_of(b"openapi: 3.1.0\ninfo:\n  title: t\n  version: 1.0\npaths: {}\n");
        assert_eq!(pointers(&problems), ["/info/version"]);
        assert!(
            problems[0].message.contains("must be a string")
                && problems[0].message.contains("quote it")
        );
    }

    #[test]
    fn an_undeclared_path_parameter_is_refused() {
        let doc = &yaml(&[
            "openapi: 3.0.0",
            "info: {title: t, version: '1'}",
            "paths:",
            "  /pets/{petId}/toys/{toyId}:",
            "    parameters:",
            "      - {name: petId, in: path, required: true, schema: {type: string}}",
            "    get:",
            "      responses: {'200': {description: ok}}",
        ]);
        let problems = problems_of(doc);
        assert_eq!(
            pointers(&problems),
            ["/paths/~1pets~1{petId}~1toys~1{toyId}/get"]
        );
        assert!(problems[0].message.contains("`toyId`"), "{problems:?}");

        // Declared through a local `$ref` (path-item level) counts.
        let doc = &yaml(&[
            "swagger: '2.0'",
            "info: {title: t, version: '1'}",
            "parameters:",
            "  id: {name: id, in: path, required: true, type: string}",
            "paths:",
            "  /a/{id}:",
            "    parameters: [{$ref: '#/parameters/id'}]",
            "    get:",
            "      responses: {'200': {description: ok}}",
        ]);
        assert!(parse(doc).is_ok());
    }

    #[test]
    fn a_duplicate_operation_id_is_refused_on_the_second_use() {
        let doc = &yaml(&[
            "openapi: 3.0.0",
            "info: {title: t, version: '1'}",
            "paths:",
            "  /a:",
            "    get: {operationId: same, responses: {'200': {description: ok}}}",
            "  /b:",
            "    get: {operationId: same, responses: {'200': {description: ok}}}",
        ]);
        let problems = problems_of(doc);
        assert_eq!(pointers(&problems), ["/paths/~1b/get/operationId"]);
        assert!(problems[0].message.contains("/paths/~1a/get"));
    }

    #[test]
    fn an_unresolved_local_reference_is_refused() {
        let doc = &yaml(&[
            "swagger: '2.0'",
            "info: {title: t, version: '1'}",
            "paths:",
            "  /a:",
            "    get:",
            "      responses:",
            "        '200': {$ref: '#/responses/Nope'}",
            "        '404': {$ref: 'other.yaml#/responses/NotFound'}",
        ]);
        let problems = problems_of(doc);
        assert_eq!(pointers(&problems), ["/paths/~1a/get/responses/200/$ref"]);
        assert_eq!(
            problems[0].message,
            "unresolved reference `#/responses/Nope`"
        );
        // Percent-encoded and escaped pointers resolve.
        let doc = &yaml(&[
            "openapi: 3.1.0",
            "info: {title: t, version: '1'}",
            "paths:",
            "  /a/{b}:",
            "    parameters: [{name: b, in: path, required: true, schema: {type: string}}]",
            "    get: {}",
            "webhooks:",
            "  hook: {$ref: '#/paths/~1a~1%7Bb%7D'}",
        ]);
        assert!(parse(doc).is_ok());
    }

    #[test]
    fn deep_nesting_does_not_overflow_the_stack() {
        let depth = 10_000;
        let json = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
        let problems = problems_of(json.as_bytes());
        assert_eq!(problems.len(), 1);
        let yaml = format!(
            "openapi: 3.1.0\nx-deep: {}1{}\n",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        assert_eq!(problems_of(yaml.as_bytes()).len(), 1);

        // A deep tree handed over as a value stops at MAX_DEPTH.
        let mut schema = json!({"type": "string"});
        for _ in 0..1_000 {
            schema = json!({"type": "array", "items": schema});
        }
        let doc = json!({
            "openapi": "3.1.0",
            "info": {"title": "t", "version": "1"},
            "components": {"schemas": {"Deep": schema}}
        });
        let problems = parse_value(doc).expect_err("too deep");
        assert_eq!(problems.len(), 1);
        assert!(problems[0].message.contains("nesting too deep"));
    }

    /// The walk needs far less stack than a thread has (2 MiB by default), even unoptimized.
    #[test]
    fn the_depth_limit_fits_in_a_small_stack() {
        let mut schema = json!({"type": "string"});
        for _ in 0..MAX_DEPTH {
            schema = json!({"type": "array", "items": {"allOf": [schema]}});
        }
        let doc = json!({
            "openapi": "3.1.0",
            "info": {"title": "t", "version": "1"},
            "components": {"schemas": {"Deep": schema}}
        });
        let problems = std::thread::Builder::new()
            .stack_size(STACK_PROBE)
            .spawn(move || parse_value(doc).expect_err("too deep"))
            .expect("thread")
            .join()
            .expect("no stack overflow");
        assert!(problems[0].message.contains("nesting too deep"));
    }

    const STACK_PROBE: usize = 512 * 1024;

    #[test]
    fn problems_are_capped() {
        let mut paths = Map::new();
        for i in 0..500 {
            paths.insert(format!("/p{i}"), json!({"get": {}}));
        }
        let doc =
            json!({"openapi": "3.0.0", "info": {"title": "t", "version": "1"}, "paths": paths});
        assert_eq!(parse_value(doc).expect_err("invalid").len(), MAX_PROBLEMS);
    }

    #[test]
    fn more_rules_by_version() {
        let cases: &[(&[&str], &[&str])] = &[
            // 2.0: body parameters need a schema, others a type.
            (
                &[
                    "swagger: '2.0'",
                    "info: {title: t, version: '1'}",
                    "paths:",
                    "  /a:",
                    "    post:",
                    "      parameters: [{name: b, in: body}, {name: q, in: query}]",
                    "      responses: {'200': {description: ok}}",
                ],
                &[
                    "/paths/~1a/post/parameters/0",
                    "/paths/~1a/post/parameters/1",
                ],
            ),
            // 3.0: a schema must be an object, type arrays are 3.1 only, `required` is a list.
            (
                &[
                    "openapi: 3.0.1",
                    "info: {title: t, version: '1'}",
                    "paths: {}",
                    "components:",
                    "  schemas:",
                    "    A: true",
                    "    B: {type: [string, 'null']}",
                    "    C: {properties: {x: {type: string, required: true}}}",
                ],
                &[
                    "/components/schemas/A",
                    "/components/schemas/B/type",
                    "/components/schemas/C/properties/x/required",
                ],
            ),
            // 3.1: type names are checked.
            (
                &[
                    "openapi: 3.1.0",
                    "info: {title: t, version: '1'}",
                    "components:",
                    "  schemas:",
                    "    A: {type: [strin, 'null']}",
                    "    B: {type: 3}",
                ],
                &["/components/schemas/A/type/0", "/components/schemas/B/type"],
            ),
            // 3.x: parameters need exactly one of schema/content; path parameters are required.
            (
                &[
                    "openapi: 3.0.0",
                    "info: {title: t, version: '1'}",
                    "paths: {}",
                    "components:",
                    "  parameters:",
                    "    A: {name: a, in: query}",
                    "    B: {name: b, in: path, schema: {}}",
                    "    C: {name: c, in: query, schema: {}, content: {text/plain: {}}}",
                ],
                &[
                    "/components/parameters/A",
                    "/components/parameters/B",
                    "/components/parameters/C",
                ],
            ),
            // 3.0 has no mutualTLS; apiKey needs `in`; oauth2 flows need their URLs.
            (
                &[
                    "openapi: 3.0.0",
                    "info: {title: t, version: '1'}",
                    "paths: {}",
                    "components:",
                    "  securitySchemes:",
                    "    A: {type: mutualTLS}",
                    "    B: {type: apiKey, name: k}",
                    "    C: {type: oauth2, flows: {implicit: {scopes: {}}}}",
                ],
                &[
                    "/components/securitySchemes/A/type",
                    "/components/securitySchemes/B",
                    "/components/securitySchemes/C/flows/implicit",
                ],
            ),
            // Paths start with `/`; response keys are codes; headers have no `name`.
            (
                &[
                    "openapi: 3.0.0",
                    "info: {title: t, version: '1'}",
                    "paths:",
                    "  pets:",
                    "    get:",
                    "      responses:",
                    "        '200': {description: ok, headers: {X-A: {name: X-A, schema: {}}}}",
                    "        ok: {description: ok}",
                ],
                &[
                    "/paths/pets",
                    "/paths/pets/get/responses/200/headers/X-A/name",
                    "/paths/pets/get/responses/ok",
                ],
            ),
            // Unknown fields are refused everywhere, `x-` is fine; webhooks are path items.
            (
                &[
                    "openapi: 3.1.0",
                    "info: {title: t, version: '1', x-a: 1}",
                    "webhooks:",
                    "  hook:",
                    "    post: {responses: {}, x-b: 2, summry: typo}",
                ],
                &[
                    "/webhooks/hook/post/responses",
                    "/webhooks/hook/post/summry",
                ],
            ),
            // Tags are unique; a server variable's default is one of its `enum`.
            (
                &[
                    "openapi: 3.1.0",
                    "info: {title: t, version: '1'}",
                    "components: {}",
                    "tags: [{name: a}, {name: a}]",
                    "servers: [{url: 'https://{h}/', variables: {h: {enum: [x], default: y}}}]",
                ],
                &["/servers/0/variables/h/default", "/tags/1/name"],
            ),
        ];
        for (lines, expected) in cases {
            let problems = problems_of(&yaml(lines));
            let mut found = pointers(&problems);
            found.sort_unstable();
            assert_eq!(found, *expected, "{lines:#?}\n{problems:#?}");
        }
    }

    /// Every node of a valid document replaced by a value of each other kind, and every prefix
    /// of its bytes: the parser must answer, never panic.
    #[test]
    fn mangled_documents_never_panic() {
        let bytes = fixture("oai-examples/v3.0/petstore-expanded.yaml");
        for end in (0..bytes.len()).step_by(5) {
            let _ = parse(&bytes[..end]);
        }
        let original = parse_fixture("oai-examples/v3.0/link-example.json").value;
        let mut pointers = Vec::new();
        let mut stack = vec![(String::new(), &original)];
        while let Some((pointer, value)) = stack.pop() {
            match value {
                Value::Object(map) => {
                    for (key, child) in map {
                        let mut child_pointer = pointer.clone();
                        push_token(&mut child_pointer, key);
                        stack.push((child_pointer, child));
                    }
                }
                Value::Array(items) => {
                    for (index, child) in items.iter().enumerate() {
                        stack.push((format!("{pointer}/{index}"), child));
                    }
                }
                _ => {}
            }
            pointers.push(pointer);
        }
        let replacements = [
            json!(null),
            json!(7),
            json!("s"),
            json!([]),
            json!({}),
            json!(true),
            json!({"$ref": "#/nope"}),
        ];
        for pointer in &pointers {
            for replacement in &replacements {
                let mut doc = original.clone();
                if let Some(node) = doc.pointer_mut(pointer) {
                    *node = replacement.clone();
                }
                let _ = parse_value(doc);
            }
        }
    }

    // --- 4. sync_operations

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(verb, target)| (verb.to_string(), target.to_string()))
            .collect()
    }

    #[test]
    fn sync_adds_and_removes_operations() {
        let original = parse_fixture("oai-examples/v3.0/petstore.yaml").value;
        let mut doc = original.clone();
        let wanted = [
            ("GET", "/pets"),
            ("get", "/pets/{petId}"),
            ("DELETE", "/pets/{petId}"),
            ("GET", "/owners/{ownerId}/pets"),
        ];
        sync_operations(&mut doc, SpecVersion::OpenApi30, &pairs(&wanted));

        let definition =
            parse_value(doc.clone()).unwrap_or_else(|problems| panic!("{problems:#?}"));
        let expected: BTreeSet<(String, String)> = wanted
            .iter()
            .map(|(v, t)| (v.to_ascii_uppercase(), t.to_string()))
            .collect();
        assert_eq!(verbs_and_targets(&definition), expected);
        // Untouched parts are identical.
        for pointer in [
            "/info",
            "/servers",
            "/components",
            "/paths/~1pets/get",
            "/paths/~1pets~1{petId}/get",
        ] {
            assert_eq!(doc.pointer(pointer), original.pointer(pointer), "{pointer}");
        }
        assert!(doc.pointer("/paths/~1pets/post").is_none());
        assert_eq!(
            doc.pointer("/paths/~1owners~1{ownerId}~1pets/get"),
            Some(&json!({
                "parameters": [{
                    "name": "ownerId", "in": "path", "required": true,
                    "schema": {"type": "string"}
                }],
                "responses": {"200": {"description": "OK"}}
            }))
        );

        // Syncing again with the same list changes nothing.
        let before = doc.clone();
        sync_operations(&mut doc, SpecVersion::OpenApi30, &pairs(&wanted));
        assert_eq!(doc, before);
    }

    #[test]
    fn sync_drops_emptied_path_items_and_inlines_shared_ones() {
        let mut doc = parse_fixture("oai-examples/v2.0/json/petstore-expanded.json").value;
        sync_operations(
            &mut doc,
            SpecVersion::Swagger2,
            &pairs(&[("GET", "/pets"), ("TRACE", "/pets"), ("GET", "nope")]),
        );
        assert!(doc.pointer("/paths/~1pets~1{id}").is_none());
        let definition = parse_value(doc).expect("valid");
        assert_eq!(
            verbs_and_targets(&definition),
            BTreeSet::from([("GET".to_string(), "/pets".to_string())])
        );

        let mut doc = json!({
            "openapi": "3.1.0",
            "info": {"title": "t", "version": "1"},
            "paths": {
                "/a": {"$ref": "#/components/pathItems/A"},
                "/b": {"$ref": "#/components/pathItems/A"}
            },
            "components": {"pathItems": {"A": {"get": {}, "put": {}}}}
        });
        assert_eq!(parse_value(doc.clone()).expect("valid").operations.len(), 4);
        sync_operations(
            &mut doc,
            SpecVersion::OpenApi31,
            &pairs(&[("GET", "/a"), ("PUT", "/a"), ("GET", "/b")]),
        );
        assert_eq!(
            doc.pointer("/paths/~1a"),
            Some(&json!({"$ref": "#/components/pathItems/A"}))
        );
        assert_eq!(doc.pointer("/paths/~1b"), Some(&json!({"get": {}})));
        assert_eq!(parse_value(doc).expect("valid").operations.len(), 3);
    }

    // --- 5. a large document

    /// A 3.0 document with `paths` paths of two operations each, every one with its own schemas.
    fn large_document(paths: usize) -> String {
        let mut path_items = Map::new();
        let mut schemas = Map::new();
        let error = json!({"type": "object", "properties": {
            "code": {"type": "integer"},
            "message": {"type": "string"}
        }});
        for i in 0..paths {
            let properties: Map<String, Value> = (0..12)
                .map(|p| {
                    let description = format!("Field {p} of resource number {i}");
                    let property =
                        json!({"type": "string", "description": description, "maxLength": 200});
                    (format!("field{p}"), property)
                })
                .collect();
            schemas.insert(
                format!("Resource{i}"),
                json!({"type": "object", "required": ["field0"], "properties": properties}),
            );
            let body = json!({"application/json": {
                "schema": {"$ref": format!("#/components/schemas/Resource{i}")}
            }});
            path_items.insert(
                format!("/resources{i}/{{id}}"),
                json!({
                    "parameters": [{
                        "name": "id", "in": "path", "required": true,
                        "schema": {"type": "string", "format": "uuid"}
                    }],
                    "get": {
                        "operationId": format!("get{i}"),
                        "summary": format!("Read resource {i}"),
                        "parameters": [{
                            "name": "fields", "in": "query",
                            "schema": {"type": "array", "items": {"type": "string"}}
                        }],
                        "responses": {
                            "200": {"description": "the resource", "content": body},
                            "404": {
                                "description": "not found",
                                "content": {"application/json": {"schema": error}}
                            }
                        }
                    },
                    "put": {
                        "operationId": format!("put{i}"),
                        "security": [{"oauth": [format!("write:resource{i}")]}],
                        "requestBody": {"required": true, "content": body},
                        "responses": {
                            "204": {"description": "updated"},
                            "default": {"description": "error"}
                        }
                    }
                }),
            );
        }
        let flows =
            json!({"clientCredentials": {"tokenUrl": "https://example.com/token", "scopes": {}}});
        let doc = json!({
            "openapi": "3.0.3",
            "info": {"title": "Large", "version": "1.0.0"},
            "servers": [{"url": "https://api.example.com/v1"}],
            "paths": path_items,
            "components": {
                "schemas": schemas,
                "securitySchemes": {"oauth": {"type": "oauth2", "flows": flows}}
            }
        });
        doc.to_string()
    }

    #[test]
    fn a_large_document_parses_in_linear_time() {
        let text = large_document(5_000);
        assert!(text.len() > 10_000_000, "{} bytes", text.len());
        let start = Instant::now();
        let definition = parse(text.as_bytes()).unwrap_or_else(|problems| panic!("{problems:#?}"));
        let elapsed = start.elapsed();
        assert_eq!(definition.operations.len(), 10_000);
        let start = Instant::now();
        let value: Value = serde_json::from_slice(text.as_bytes()).expect("JSON");
        let reading = start.elapsed();
        let start = Instant::now();
        assert!(parse_value(value).is_ok());
        let validating = start.elapsed();
        eprintln!(
            "parsed {:.1} MB, {} operations in {elapsed:?} (reading the JSON alone: {reading:?}; \
             validating and extracting the value: {validating:?})",
            text.len() as f64 / 1e6,
            definition.operations.len()
        );
    }
}
