//! JSON Schema validation of request bodies, compiled once (with the snapshot) and run per
//! request without parsing anything again. It covers what OpenAPI 3.0 and 3.1 request bodies
//! use: `type` (one or several, `nullable`), `enum`, `const`, `properties`, `required`,
//! `additionalProperties`, `items`, `prefixItems`, `minItems`/`maxItems`, `uniqueItems`,
//! `minLength`/`maxLength`, `pattern`, `minimum`/`maximum` (and the exclusive forms of both
//! drafts), `multipleOf`, `minProperties`/`maxProperties`, `allOf`, `anyOf`, `oneOf`, `not`, and
//! local `$ref`s (`#/components/schemas/…`, `#/$defs/…`, `#/definitions/…`). `format` is
//! annotation only, as the JSON Schema specification has it by default.

use serde_json::{Map, Value};

/// How many `$ref`s one check may follow (a recursive schema against a deep document, or a
/// reference loop, stops here with an error rather than the stack).
const MAX_REFS: usize = 256;

#[derive(Debug)]
pub struct Schema {
    root: Node,
    /// Each `$ref` target, compiled once (recursive schemas point back into this).
    targets: Vec<Node>,
}

#[derive(Debug)]
enum Node {
    Any,
    Never,
    Rules(Box<Rules>),
    Ref(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Type {
    Null,
    Boolean,
    Object,
    Array,
    Number,
    Integer,
    String,
}

impl Type {
    fn parse(s: &str) -> Option<Type> {
        Some(match s {
            "null" => Type::Null,
            "boolean" => Type::Boolean,
            "object" => Type::Object,
            "array" => Type::Array,
            "number" => Type::Number,
            "integer" => Type::Integer,
            "string" => Type::String,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Type::Null => "null",
            Type::Boolean => "boolean",
            Type::Object => "object",
            Type::Array => "array",
            Type::Number => "number",
            Type::Integer => "integer",
            Type::String => "string",
        }
    }

    fn matches(self, v: &Value) -> bool {
        match (self, v) {
            (Type::Null, Value::Null)
            | (Type::Boolean, Value::Bool(_))
            | (Type::Object, Value::Object(_))
            | (Type::Array, Value::Array(_))
            | (Type::String, Value::String(_))
            | (Type::Number, Value::Number(_)) => true,
            (Type::Integer, Value::Number(n)) => {
                n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
            }
            _ => false,
        }
    }
}

#[derive(Debug, Default)]
struct Rules {
    types: Vec<Type>,
    enumeration: Option<Vec<Value>>,
    properties: Vec<(String, Node)>,
    required: Vec<String>,
    additional: Option<Node>,
    items: Option<Node>,
    prefix_items: Vec<Node>,
    min_items: Option<usize>,
    max_items: Option<usize>,
    unique_items: bool,
    min_length: Option<usize>,
    max_length: Option<usize>,
    pattern: Option<regex::Regex>,
    minimum: Option<f64>,
    maximum: Option<f64>,
    exclusive_minimum: Option<f64>,
    exclusive_maximum: Option<f64>,
    multiple_of: Option<f64>,
    min_properties: Option<usize>,
    max_properties: Option<usize>,
    all_of: Vec<Node>,
    any_of: Vec<Node>,
    one_of: Vec<Node>,
    not: Option<Node>,
}

/// One reason a document does not match, with where (`$.items[2].name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

struct Compiler<'a> {
    root: &'a Value,
    /// Reference → index in `targets`, known before its target is compiled (recursion).
    seen: std::cell::RefCell<std::collections::HashMap<String, usize>>,
    targets: std::cell::RefCell<Vec<Node>>,
}

impl Compiler<'_> {
    fn node(&self, v: &Value, at: &str, depth: usize) -> Result<Node, String> {
        if depth > 64 {
            return Err(format!("{at}: nested too deeply (at most 64 levels)"));
        }
        match v {
            Value::Bool(true) => Ok(Node::Any),
            Value::Bool(false) => Ok(Node::Never),
            Value::Object(o) => self.rules(o, at, depth),
            _ => Err(format!("{at}: a schema is an object or a boolean")),
        }
    }

    fn list(&self, v: &Value, at: &str, depth: usize) -> Result<Vec<Node>, String> {
        let Value::Array(items) = v else {
            return Err(format!("{at}: must be an array of schemas"));
        };
        items
            .iter()
            .enumerate()
            .map(|(i, s)| self.node(s, &format!("{at}[{i}]"), depth + 1))
            .collect()
    }

    fn resolve(&self, reference: &str, at: &str) -> Result<&Value, String> {
        let pointer = reference
            .strip_prefix('#')
            .ok_or_else(|| format!("{at}.$ref: only local references (#/...) are supported"))?;
        self.root
            .pointer(pointer)
            .ok_or_else(|| format!("{at}.$ref: `{reference}` points at nothing"))
    }

    fn rules(&self, o: &Map<String, Value>, at: &str, depth: usize) -> Result<Node, String> {
        if let Some(Value::String(reference)) = o.get("$ref") {
            if let Some(i) = self.seen.borrow().get(reference) {
                return Ok(Node::Ref(*i));
            }
            let target = self.resolve(reference, at)?;
            let i = {
                let mut targets = self.targets.borrow_mut();
                targets.push(Node::Any);
                targets.len() - 1
            };
            self.seen.borrow_mut().insert(reference.clone(), i);
            let node = self.node(target, &format!("{at}.$ref"), depth + 1)?;
            self.targets.borrow_mut()[i] = node;
            return Ok(Node::Ref(i));
        }
        let mut r = Rules::default();
        let count = |key: &str| -> Result<Option<usize>, String> {
            match o.get(key) {
                None => Ok(None),
                Some(v) => v
                    .as_u64()
                    .and_then(|n| usize::try_from(n).ok())
                    .map(Some)
                    .ok_or_else(|| format!("{at}.{key}: must be a whole number")),
            }
        };
        let number = |key: &str| -> Result<Option<f64>, String> {
            match o.get(key) {
                None | Some(Value::Bool(_)) => Ok(None),
                Some(v) => v
                    .as_f64()
                    .map(Some)
                    .ok_or_else(|| format!("{at}.{key}: must be a number")),
            }
        };
        match o.get("type") {
            None => {}
            Some(Value::String(t)) => {
                r.types
                    .push(Type::parse(t).ok_or_else(|| format!("{at}.type: unknown type `{t}`"))?);
            }
            Some(Value::Array(ts)) => {
                for t in ts {
                    let name = t.as_str().unwrap_or_default();
                    r.types.push(
                        Type::parse(name)
                            .ok_or_else(|| format!("{at}.type: unknown type `{name}`"))?,
                    );
                }
            }
            Some(_) => return Err(format!("{at}.type: must be a string or an array")),
        }
        if o.get("nullable") == Some(&Value::Bool(true)) && !r.types.is_empty() {
            r.types.push(Type::Null);
        }
        if let Some(e) = o.get("enum") {
            let Value::Array(values) = e else {
                return Err(format!("{at}.enum: must be an array"));
            };
            r.enumeration = Some(values.clone());
        }
        if let Some(c) = o.get("const") {
            r.enumeration = Some(vec![c.clone()]);
        }
        if let Some(props) = o.get("properties") {
            let Value::Object(props) = props else {
                return Err(format!("{at}.properties: must be an object"));
            };
            for (name, s) in props {
                let node = self.node(s, &format!("{at}.properties.{name}"), depth + 1)?;
                r.properties.push((name.clone(), node));
            }
        }
        if let Some(req) = o.get("required") {
            let Value::Array(names) = req else {
                return Err(format!("{at}.required: must be an array of names"));
            };
            r.required = names
                .iter()
                .map(|n| {
                    n.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| format!("{at}.required: must be an array of names"))
                })
                .collect::<Result<_, _>>()?;
        }
        if let Some(a) = o.get("additionalProperties") {
            r.additional = Some(self.node(a, &format!("{at}.additionalProperties"), depth + 1)?);
        }
        match o.get("items") {
            // Draft 4–2019: an array of schemas is positional.
            Some(Value::Array(_)) => {
                r.prefix_items = self.list(&o["items"], &format!("{at}.items"), depth + 1)?;
            }
            Some(items) => r.items = Some(self.node(items, &format!("{at}.items"), depth + 1)?),
            None => {}
        }
        if let Some(p) = o.get("prefixItems") {
            r.prefix_items = self.list(p, &format!("{at}.prefixItems"), depth + 1)?;
        }
        r.min_items = count("minItems")?;
        r.max_items = count("maxItems")?;
        r.unique_items = o.get("uniqueItems") == Some(&Value::Bool(true));
        r.min_length = count("minLength")?;
        r.max_length = count("maxLength")?;
        r.min_properties = count("minProperties")?;
        r.max_properties = count("maxProperties")?;
        if let Some(p) = o.get("pattern") {
            let p = p
                .as_str()
                .ok_or_else(|| format!("{at}.pattern: must be a string"))?;
            r.pattern = Some(
                regex::RegexBuilder::new(p)
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|e| format!("{at}.pattern: not a regular expression ({e})"))?,
            );
        }
        r.minimum = number("minimum")?;
        r.maximum = number("maximum")?;
        r.exclusive_minimum = number("exclusiveMinimum")?;
        r.exclusive_maximum = number("exclusiveMaximum")?;
        // OpenAPI 3.0 / draft 4: a boolean makes minimum / maximum exclusive.
        if o.get("exclusiveMinimum") == Some(&Value::Bool(true)) {
            r.exclusive_minimum = r.minimum.take();
        }
        if o.get("exclusiveMaximum") == Some(&Value::Bool(true)) {
            r.exclusive_maximum = r.maximum.take();
        }
        r.multiple_of = number("multipleOf")?.filter(|m| *m > 0.0);
        if let Some(v) = o.get("allOf") {
            r.all_of = self.list(v, &format!("{at}.allOf"), depth + 1)?;
        }
        if let Some(v) = o.get("anyOf") {
            r.any_of = self.list(v, &format!("{at}.anyOf"), depth + 1)?;
        }
        if let Some(v) = o.get("oneOf") {
            r.one_of = self.list(v, &format!("{at}.oneOf"), depth + 1)?;
        }
        if let Some(v) = o.get("not") {
            r.not = Some(self.node(v, &format!("{at}.not"), depth + 1)?);
        }
        Ok(Node::Rules(Box::new(r)))
    }
}

impl Schema {
    /// Compiles `schema`; `$ref`s resolve against `schema` itself (put `components` beside the
    /// schema's own keys for an OpenAPI operation's body). The error names the bad keyword.
    pub fn compile(schema: &Value) -> Result<Schema, String> {
        let c = Compiler {
            root: schema,
            seen: Default::default(),
            targets: Default::default(),
        };
        let root = c.node(schema, "schema", 0)?;
        Ok(Schema {
            root,
            targets: c.targets.into_inner(),
        })
    }

    /// The first violation of `value`, if any.
    pub fn check(&self, value: &Value) -> Result<(), Violation> {
        let mut refs = 0;
        self.check_node(&self.root, value, &mut String::from("$"), &mut refs)
    }
}

fn fail(path: &str, message: String) -> Result<(), Violation> {
    Err(Violation {
        path: path.to_string(),
        message,
    })
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 40 {
        let mut end = 40;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &s[..end])
    } else {
        s
    }
}

impl Schema {
    fn check_node(
        &self,
        node: &Node,
        v: &Value,
        path: &mut String,
        refs: &mut usize,
    ) -> Result<(), Violation> {
        let r = match node {
            Node::Any => return Ok(()),
            Node::Never => return fail(path, "is not allowed here".into()),
            Node::Ref(i) => {
                *refs += 1;
                if *refs > MAX_REFS {
                    return fail(path, "is nested too deeply to check".into());
                }
                return self.check_node(&self.targets[*i], v, path, refs);
            }
            Node::Rules(r) => r,
        };
        if !r.types.is_empty() && !r.types.iter().any(|t| t.matches(v)) {
            let names: Vec<&str> = r.types.iter().map(|t| t.name()).collect();
            return fail(
                path,
                format!("must be {}, not {}", names.join(" or "), kind(v)),
            );
        }
        if let Some(values) = &r.enumeration
            && !values.iter().any(|e| equal(e, v))
        {
            let allowed: Vec<String> = values.iter().take(10).map(short).collect();
            return fail(path, format!("must be one of {}", allowed.join(", ")));
        }
        match v {
            Value::Object(o) => {
                for name in &r.required {
                    if !o.contains_key(name) {
                        return fail(path, format!("`{name}` is required"));
                    }
                }
                if r.min_properties.is_some_and(|m| o.len() < m) {
                    return fail(path, "has too few properties".into());
                }
                if r.max_properties.is_some_and(|m| o.len() > m) {
                    return fail(path, "has too many properties".into());
                }
                for (key, value) in o {
                    let len = path.len();
                    path.push('.');
                    path.push_str(key);
                    let result = match r.properties.iter().find(|(n, _)| n == key) {
                        Some((_, s)) => self.check_node(s, value, path, refs),
                        None => match &r.additional {
                            Some(Node::Never) => {
                                path.truncate(len);
                                return fail(path, format!("`{key}` is not an allowed property"));
                            }
                            Some(s) => self.check_node(s, value, path, refs),
                            None => Ok(()),
                        },
                    };
                    result?;
                    path.truncate(len);
                }
            }
            Value::Array(items) => {
                if r.min_items.is_some_and(|m| items.len() < m) {
                    return fail(
                        path,
                        format!("needs at least {} items", r.min_items.unwrap_or(0)),
                    );
                }
                if r.max_items.is_some_and(|m| items.len() > m) {
                    return fail(
                        path,
                        format!("takes at most {} items", r.max_items.unwrap_or(0)),
                    );
                }
                if r.unique_items {
                    for (i, a) in items.iter().enumerate() {
                        if items[..i].iter().any(|b| equal(a, b)) {
                            return fail(path, format!("item {i} repeats an earlier item"));
                        }
                    }
                }
                for (i, item) in items.iter().enumerate() {
                    let schema = r.prefix_items.get(i).or(r.items.as_ref());
                    if let Some(s) = schema {
                        let len = path.len();
                        path.push_str(&format!("[{i}]"));
                        self.check_node(s, item, path, refs)?;
                        path.truncate(len);
                    }
                }
            }
            Value::String(s) => {
                let chars = s.chars().count();
                if let Some(m) = r.min_length.filter(|m| chars < *m) {
                    return fail(path, format!("needs at least {m} characters"));
                }
                if let Some(m) = r.max_length.filter(|m| chars > *m) {
                    return fail(path, format!("takes at most {m} characters"));
                }
                if let Some(p) = &r.pattern
                    && !p.is_match(s)
                {
                    return fail(path, format!("does not match the pattern {}", p.as_str()));
                }
            }
            Value::Number(n) => {
                let x = n.as_f64().unwrap_or(0.0);
                if let Some(m) = r.minimum.filter(|m| x < *m) {
                    return fail(path, format!("must be at least {m}"));
                }
                if let Some(m) = r.maximum.filter(|m| x > *m) {
                    return fail(path, format!("must be at most {m}"));
                }
                if let Some(m) = r.exclusive_minimum.filter(|m| x <= *m) {
                    return fail(path, format!("must be more than {m}"));
                }
                if let Some(m) = r.exclusive_maximum.filter(|m| x >= *m) {
                    return fail(path, format!("must be less than {m}"));
                }
                if let Some(m) = r.multiple_of {
                    let q = x / m;
                    if (q - q.round()).abs() > 1e-9 {
                        return fail(path, format!("must be a multiple of {m}"));
                    }
                }
            }
            _ => {}
        }
        for s in &r.all_of {
            self.check_node(s, v, path, refs)?;
        }
        if !r.any_of.is_empty()
            && !r
                .any_of
                .iter()
                .any(|s| self.check_node(s, v, &mut path.clone(), refs).is_ok())
        {
            return fail(path, "matches none of the allowed forms (anyOf)".into());
        }
        if !r.one_of.is_empty() {
            let matching = r
                .one_of
                .iter()
                .filter(|s| self.check_node(s, v, &mut path.clone(), refs).is_ok())
                .count();
            if matching != 1 {
                return fail(
                    path,
                    format!("must match exactly one form (oneOf); it matches {matching}"),
                );
            }
        }
        if let Some(s) = &r.not
            && self.check_node(s, v, &mut path.clone(), refs).is_ok()
        {
            return fail(path, "matches a form that is not allowed (not)".into());
        }
        Ok(())
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Object(_) => "an object",
        Value::Array(_) => "an array",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
    }
}

/// JSON equality with 1 and 1.0 the same number.
fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| equal(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| equal(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errors(schema: Value, doc: Value) -> Option<String> {
        Schema::compile(&schema)
            .unwrap()
            .check(&doc)
            .err()
            .map(|v| v.to_string())
    }

    #[test]
    fn petstore_bodies_are_checked_with_refs_and_paths() {
        let schema = json!({
            "$ref": "#/components/schemas/NewPet",
            "components": {"schemas": {
                "NewPet": {
                    "type": "object",
                    "required": ["name"],
                    "additionalProperties": false,
                    "properties": {
                        "name": {"type": "string", "minLength": 1},
                        "tag": {"type": "string", "nullable": true},
                        "status": {"enum": ["available", "sold"]},
                        "age": {"type": "integer", "minimum": 0, "exclusiveMaximum": 100},
                        "photos": {"type": "array", "items": {"$ref": "#/components/schemas/Photo"}, "maxItems": 2}
                    }
                },
                "Photo": {"type": "object", "required": ["url"], "properties": {"url": {"type": "string", "pattern": "^https?://"}}}
            }}
        });
        assert_eq!(
            errors(
                schema.clone(),
                json!({"name": "Rex", "tag": null, "age": 3})
            ),
            None
        );
        assert_eq!(
            errors(schema.clone(), json!({"tag": "x"})).as_deref(),
            Some("$: `name` is required")
        );
        assert_eq!(
            errors(schema.clone(), json!({"name": 7})).as_deref(),
            Some("$.name: must be string, not a number")
        );
        assert_eq!(
            errors(schema.clone(), json!({"name": "a", "status": "lost"})).as_deref(),
            Some("$.status: must be one of \"available\", \"sold\"")
        );
        assert_eq!(
            errors(schema.clone(), json!({"name": "a", "age": 100})).as_deref(),
            Some("$.age: must be less than 100")
        );
        assert_eq!(
            errors(schema.clone(), json!({"name": "a", "age": 1.5})).as_deref(),
            Some("$.age: must be integer, not a number")
        );
        assert_eq!(
            errors(schema.clone(), json!({"name": "a", "colour": "red"})).as_deref(),
            Some("$: `colour` is not an allowed property")
        );
        assert_eq!(
            errors(
                schema.clone(),
                json!({"name": "a", "photos": [{"url": "ftp://x"}]})
            )
            .as_deref(),
            Some("$.photos[0].url: does not match the pattern ^https?://")
        );
        assert_eq!(
            errors(schema, json!({"name": "a", "photos": [{"url": "http://a"}, {"url": "http://b"}, {"url": "http://c"}]})).as_deref(),
            Some("$.photos: takes at most 2 items")
        );
    }

    #[test]
    fn combinators_and_recursion() {
        let one_of = json!({"oneOf": [{"type": "string"}, {"type": "integer", "minimum": 0}]});
        assert_eq!(errors(one_of.clone(), json!("x")), None);
        assert!(errors(one_of.clone(), json!(-1)).unwrap().contains("oneOf"));
        let not = json!({"not": {"const": "admin"}, "type": "string"});
        assert_eq!(errors(not.clone(), json!("root")), None);
        assert!(errors(not, json!("admin")).is_some());
        // A recursive tree compiles (refs are followed to a bounded depth) and checks.
        let tree = json!({
            "$ref": "#/$defs/node",
            "$defs": {"node": {"type": "object", "required": ["v"], "properties": {
                "v": {"type": "number"},
                "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}
            }}}
        });
        assert_eq!(
            errors(
                tree.clone(),
                json!({"v": 1, "children": [{"v": 2, "children": []}]})
            ),
            None
        );
        assert_eq!(
            errors(tree, json!({"v": 1, "children": [{"children": []}]})).as_deref(),
            Some("$.children[0]: `v` is required")
        );
        // Bad schemas are refused with the keyword named.
        assert_eq!(
            Schema::compile(&json!({"type": "strin"})).unwrap_err(),
            "schema.type: unknown type `strin`"
        );
        assert!(
            Schema::compile(&json!({"$ref": "#/components/schemas/Nope"}))
                .unwrap_err()
                .contains("points at nothing")
        );
        assert!(
            Schema::compile(&json!({"pattern": "(unclosed"}))
                .unwrap_err()
                .starts_with("schema.pattern")
        );
    }
}
