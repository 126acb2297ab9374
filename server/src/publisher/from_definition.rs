//! What mediation policies take from an API's OpenAPI definition when their own parameters
//! leave it out: `jsonSchemaValidation` the operation's request body schema, `mockResponse` the
//! operation's response example (or one built from the schema's examples). Worked out at
//! deployment, so the gateway gets them ready in its snapshot and reads no definition.

use app::publisher::OperationPolicies;
use gateway::snapshot::{Example, Operation};
use serde_json::{Map, Value};

/// Fills `op.request_schema` and `op.example` where a policy of the API (`api_policies`) or of
/// the operation needs them and `doc` has them.
pub fn fill(doc: &Value, api_policies: &OperationPolicies, op: &mut Operation) {
    let api_level = |name: &str, param: &str| {
        api_policies
            .request
            .iter()
            .any(|p| p.policy_name == name && !p.parameters.contains_key(param))
    };
    let op_level = |name: &str, param: &str| {
        op.policies
            .request
            .iter()
            .any(|p| p.policy_name == name && !p.parameters.contains_key(param))
    };
    let wants_schema =
        api_level("jsonSchemaValidation", "schema") || op_level("jsonSchemaValidation", "schema");
    let wants_example = api_level("mockResponse", "body") || op_level("mockResponse", "body");
    if !wants_schema && !wants_example {
        return;
    }
    let Some(operation) = find(doc, &op.method, &op.target) else {
        return;
    };
    if wants_schema {
        op.request_schema = request_schema(doc, operation);
    }
    if wants_example {
        let status = op
            .policies
            .request
            .iter()
            .filter(|p| p.policy_name == "mockResponse")
            .map(|p| &p.parameters)
            .chain(
                api_policies
                    .request
                    .iter()
                    .filter(|p| p.policy_name == "mockResponse")
                    .map(|p| &p.parameters),
            )
            .find_map(|p| p.get("status"))
            .and_then(|s| {
                s.as_u64()
                    .or_else(|| s.as_str().and_then(|s| s.parse().ok()))
            });
        op.example = example(doc, operation, status);
    }
}

/// The operation object for `method` `target` in an OpenAPI 3 or Swagger 2 document.
fn find<'a>(doc: &'a Value, method: &str, target: &str) -> Option<&'a Value> {
    let paths = doc.get("paths")?.as_object()?;
    let item = paths.get(target).or_else(|| {
        // Parameter names may differ between the definition and the operation list.
        let shape = |p: &str| {
            p.split('/')
                .map(|s| if s.starts_with('{') { "{}" } else { s })
                .collect::<Vec<_>>()
                .join("/")
        };
        let want = shape(target);
        paths
            .iter()
            .find(|(path, _)| shape(path) == want)
            .map(|(_, v)| v)
    })?;
    item.get(method.to_ascii_lowercase())
}

/// Follows a local `$ref` (one level at a time, a few levels at most).
fn deref<'a>(doc: &'a Value, mut v: &'a Value) -> &'a Value {
    for _ in 0..8 {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => match r.strip_prefix('#').and_then(|p| doc.pointer(p)) {
                Some(target) => v = target,
                None => return v,
            },
            None => return v,
        }
    }
    v
}

/// The JSON media type of a `content` map: `application/json`, else any `…+json`.
fn json_media(content: &Value) -> Option<&Value> {
    let c = content.as_object()?;
    c.get("application/json").or_else(|| {
        c.iter()
            .find(|(k, _)| k.split(';').next().unwrap_or("").trim().ends_with("+json"))
            .map(|(_, v)| v)
    })
}

fn request_schema(doc: &Value, operation: &Value) -> Option<Value> {
    let schema = match operation.get("requestBody") {
        Some(body) => json_media(deref(doc, body).get("content")?)?.get("schema")?,
        // Swagger 2: the `in: body` parameter.
        None => operation
            .get("parameters")?
            .as_array()?
            .iter()
            .map(|p| deref(doc, p))
            .find(|p| p.get("in").and_then(Value::as_str) == Some("body"))?
            .get("schema")?,
    };
    let mut root = match schema {
        Value::Object(o) => o.clone(),
        _ => return None,
    };
    // The document's reusable schemas beside it, for its `$ref`s.
    for key in ["components", "definitions"] {
        if let Some(v) = doc.get(key)
            && !root.contains_key(key)
        {
            root.insert(key.into(), v.clone());
        }
    }
    Some(Value::Object(root))
}

fn example(doc: &Value, operation: &Value, status: Option<u64>) -> Option<Example> {
    let responses = operation.get("responses")?.as_object()?;
    let (code, response) = match status {
        Some(s) => responses.get_key_value(&s.to_string())?,
        None => {
            let mut codes: Vec<(&String, &Value)> = responses
                .iter()
                .filter(|(k, _)| k.starts_with('2'))
                .collect();
            codes.sort_by(|a, b| a.0.cmp(b.0));
            codes
                .into_iter()
                .next()
                .or_else(|| responses.get_key_value("default"))?
        }
    };
    let response = deref(doc, response);
    let status = code.parse().unwrap_or(200);
    // OpenAPI 3: content.<type>.example / examples / schema; Swagger 2: examples.<type>, schema.
    let (content_type, value) = if let Some(content) = response.get("content") {
        let media = json_media(content)?;
        let value = media
            .get("example")
            .cloned()
            .or_else(|| {
                media
                    .get("examples")?
                    .as_object()?
                    .values()
                    .next()
                    .map(|e| deref(doc, e))
                    .and_then(|e| e.get("value").cloned())
            })
            .or_else(|| media.get("schema").and_then(|s| build(doc, s, 0)))?;
        ("application/json".to_string(), value)
    } else {
        let value = response
            .get("examples")
            .and_then(|e| e.get("application/json"))
            .cloned()
            .or_else(|| response.get("schema").and_then(|s| build(doc, s, 0)))?;
        ("application/json".to_string(), value)
    };
    Some(Example {
        status,
        content_type,
        body: serde_json::to_string_pretty(&value).ok()?,
    })
}

/// An example built from a schema: its `example`, `default` or first `enum` value, else an
/// object of its properties' examples or a one-item array of its items' (depth-limited).
fn build(doc: &Value, schema: &Value, depth: usize) -> Option<Value> {
    if depth > 6 {
        return None;
    }
    let s = deref(doc, schema);
    for key in ["example", "default", "const"] {
        if let Some(v) = s.get(key) {
            return Some(v.clone());
        }
    }
    if let Some(first) = s
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return Some(first.clone());
    }
    if let Some(all) = s.get("allOf").and_then(Value::as_array) {
        let mut out = Map::new();
        for part in all {
            if let Some(Value::Object(o)) = build(doc, part, depth + 1) {
                out.extend(o);
            }
        }
        return (!out.is_empty()).then_some(Value::Object(out));
    }
    if let Some(props) = s.get("properties").and_then(Value::as_object) {
        let mut out = Map::new();
        for (name, p) in props {
            if let Some(v) = build(doc, p, depth + 1) {
                out.insert(name.clone(), v);
            }
        }
        return (!out.is_empty()).then_some(Value::Object(out));
    }
    if let Some(items) = s.get("items") {
        return build(doc, items, depth + 1).map(|v| Value::Array(vec![v]));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policies(v: Value) -> OperationPolicies {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn schema_and_example_come_from_the_definition_only_when_a_policy_needs_them() {
        let doc = json!({
            "openapi": "3.0.3",
            "paths": {"/pets/{id}": {
                "put": {
                    "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}},
                    "responses": {
                        "200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}},
                        "404": {"content": {"application/json": {"example": {"error": "gone"}}}}
                    }
                }
            }},
            "components": {"schemas": {"Pet": {
                "type": "object", "required": ["name"],
                "properties": {"name": {"type": "string", "example": "Rex"}, "status": {"enum": ["available", "sold"]}}
            }}}
        });
        let mut op = Operation {
            method: "PUT".into(),
            target: "/pets/{petId}".into(),
            ..Default::default()
        };
        fill(&doc, &OperationPolicies::default(), &mut op);
        assert_eq!(
            (op.request_schema.is_none(), op.example.is_none()),
            (true, true)
        );

        let api = policies(json!({"request": [
            {"policyName": "jsonSchemaValidation"},
            {"policyName": "mockResponse"}
        ]}));
        fill(&doc, &api, &mut op);
        let schema = op.request_schema.clone().unwrap();
        assert_eq!(schema["$ref"], "#/components/schemas/Pet");
        assert!(schema["components"]["schemas"]["Pet"].is_object());
        let example = op.example.clone().unwrap();
        assert_eq!(example.status, 200);
        assert_eq!(
            serde_json::from_str::<Value>(&example.body).unwrap(),
            json!({"name": "Rex", "status": "available"})
        );

        // A status named by the policy picks that response's own example.
        op.policies = gateway::policy::Policies::default();
        let api = policies(
            json!({"request": [{"policyName": "mockResponse", "parameters": {"status": 404}}]}),
        );
        fill(&doc, &api, &mut op);
        let example = op.example.unwrap();
        assert_eq!((example.status, example.body.contains("gone")), (404, true));
    }
}
