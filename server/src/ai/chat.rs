//! API chat (DevPortal v3 `POST /apis/{apiId}/api-chat?apiChatAction=PREPARE|EXECUTE`): the
//! user asks for something in words on an API's page; PREPARE turns it into a plan — the
//! operations to call, in order, with their parameters and body, validated against the OpenAPI
//! document — and EXECUTE sends each call through the gateway with a test token of one of the
//! user's applications (the try-out console's path), feeding values from earlier responses into
//! later calls (`$step1.orderId`), and says in a sentence how it went. Calls that change data
//! run only once the user confirmed them.
//!
//! Two planners behind one trait: with an LLM, the operations are its tools (native
//! `tool_calls` or JSON written in the text are both read; invalid arguments are sent back
//! once with the problems); without one, the embedded planner picks each step's operation by
//! similarity of meaning and takes the arguments from the words (`plan`). Tokens and keys never
//! reach the model: it sees the request, the operations and (truncated) response bodies only.

use std::future::Future;
use std::pin::Pin;

use app::ai::{ApiChatPlan, ApiChatRequest, ApiChatRun, CallResult, PlannedCall};
use serde_json::{Map, Value, json};
use sqlx::PgPool;

use super::embed::{Embedder, cosine};
use super::llm::{Llm, json_in_text};
use super::plan::{self, OperationSpec};
use super::{Ai, AiError};
use crate::devportal::Catalogue;
use crate::error::ApiError;
use crate::publisher::Actor;

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Steps in one plan.
const MAX_STEPS: usize = 5;
/// Tools offered to the model in one call (the closest operations by meaning): every tool's
/// schema is prompt the model reads first, at tens of tokens a second on a small CPU.
const MAX_TOOLS: usize = 5;
/// Characters of a response body the model sees.
const MODEL_BODY: usize = 1_500;
/// Characters of a request.
pub const MAX_COMMAND: usize = 1_000;

/// An API as the planners see it: its operations and their vectors.
pub struct ApiContext {
    pub name: String,
    pub operations: Vec<OperationSpec>,
    pub vectors: Vec<Vec<f32>>,
    pub embedder: Embedder,
}

impl ApiContext {
    /// The operations closest in meaning to `text` (with the method the words ask for counted
    /// in), best first: (index, score).
    pub async fn ranked(&self, text: &str) -> Result<Vec<(usize, f32)>, AiError> {
        let v = self.embedder.embed_one(text).await?;
        let verb = verb_of(text);
        let mut scored: Vec<(usize, f32)> = self
            .vectors
            .iter()
            .enumerate()
            .map(|(i, o)| {
                let bonus = match verb {
                    Some(m) if self.operations[i].method == m => 0.10,
                    // PATCH for "change" as well as PUT.
                    Some("PUT") if self.operations[i].method == "PATCH" => 0.10,
                    Some(_) => -0.05,
                    None => 0.0,
                };
                (i, cosine(&v, o) + bonus)
            })
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1));
        Ok(scored)
    }
}

/// The HTTP method the words of a step ask for, when they say: the first word that names an
/// action decides ("show me that refund" reads, "refund 3 pounds" writes).
pub fn verb_of(text: &str) -> Option<&'static str> {
    const WORDS: [(&str, &[&str]); 4] = [
        (
            "DELETE",
            &[
                "delete",
                "remove",
                "cancel",
                "erase",
                "revoke",
                "unsubscribe",
            ],
        ),
        (
            "PUT",
            &[
                "update", "change", "modify", "rename", "edit", "replace", "set", "move", "switch",
            ],
        ),
        (
            "POST",
            &[
                "create", "add", "place", "make", "register", "submit", "send", "book", "request",
                "start", "new", "refund", "capture", "post", "take", "charge", "buy", "upload",
                "generate", "issue", "open",
            ],
        ),
        (
            "GET",
            &[
                "get", "fetch", "list", "show", "find", "search", "look", "retrieve", "see",
                "check", "what", "which", "where", "when", "who", "how", "is", "are", "has",
                "have", "does", "do", "status", "read", "view", "display", "tell", "give", "any",
            ],
        ),
    ];
    let lower = text.to_lowercase();
    for word in lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if let Some((method, _)) = WORDS.iter().find(|(_, list)| list.contains(&word)) {
            return Some(method);
        }
    }
    None
}

/// How many values `args` gives (body fields one by one).
fn given(args: &Map<String, Value>) -> usize {
    args.iter()
        .map(|(k, v)| match (k.as_str(), v) {
            ("body", Value::Object(o)) => o.len(),
            _ => 1,
        })
        .sum()
}

impl ApiContext {
    /// The operation for one step and its arguments: the closest operations in meaning, then
    /// among the first few the one the step's words fit — values found for its parameters
    /// count for it, required path parameters left without a value against it.
    pub async fn choose(
        &self,
        step: &str,
        earlier: &[usize],
        calls: &[PlannedCall],
    ) -> Result<Option<(usize, Map<String, Value>)>, AiError> {
        let ranked = self.ranked(step).await?;
        let mut best: Option<(f32, usize, Map<String, Value>)> = None;
        for &(i, similarity) in ranked.iter().take(6) {
            let op = &self.operations[i];
            let args = arguments_after(step, op, self, earlier, calls);
            let path = |filled: bool| {
                op.parameters
                    .iter()
                    .filter(|p| p.location == "path" && args.contains_key(&p.name) == filled)
                    .count() as f32
            };
            // An id in the words that names the resource says more than a loose match.
            let score = similarity + 0.03 * given(&args).min(4) as f32 + 0.05 * path(true).min(2.0)
                - 0.10 * path(false);
            if best.as_ref().is_none_or(|(s, _, _)| score > *s) {
                best = Some((score, i, args));
            }
        }
        Ok(best.map(|(_, i, args)| (i, args)))
    }
}

/// A planner: turns a request into calls of the API's operations.
pub trait Planner: Send + Sync {
    /// `embedded` or `llm:<model>` (shown to the user).
    fn name(&self) -> String;
    fn plan<'a>(
        &'a self,
        command: &'a str,
        api: &'a ApiContext,
    ) -> BoxFuture<'a, Result<Vec<PlannedCall>, AiError>>;
}

fn call_of(op: &OperationSpec, arguments: Map<String, Value>) -> PlannedCall {
    let problems = plan::validate(op, &arguments).err().unwrap_or_default();
    PlannedCall {
        method: op.method.clone(),
        path: op.path.clone(),
        summary: op.summary.clone(),
        arguments,
        problems,
    }
}

/// Without an LLM: each step's operation by meaning, its arguments from the words.
pub struct EmbeddedPlanner;

impl Planner for EmbeddedPlanner {
    fn name(&self) -> String {
        "embedded".into()
    }

    fn plan<'a>(
        &'a self,
        command: &'a str,
        api: &'a ApiContext,
    ) -> BoxFuture<'a, Result<Vec<PlannedCall>, AiError>> {
        Box::pin(async move {
            let mut calls: Vec<PlannedCall> = Vec::new();
            let mut earlier: Vec<usize> = Vec::new();
            for step in plan::split_steps(command).into_iter().take(MAX_STEPS) {
                let Some((best, args)) = api.choose(&step, &earlier, &calls).await? else {
                    break;
                };
                calls.push(call_of(&api.operations[best], args));
                earlier.push(best);
            }
            Ok(calls)
        })
    }
}

/// The arguments for `op` from `step`, seeing the earlier steps' operations and arguments (a
/// value given to an earlier call, or a reference to its response).
fn arguments_after(
    step: &str,
    op: &OperationSpec,
    api: &ApiContext,
    earlier: &[usize],
    calls: &[PlannedCall],
) -> Map<String, Value> {
    let before: Vec<(&OperationSpec, &Map<String, Value>)> = earlier
        .iter()
        .zip(calls)
        .map(|(&i, c)| (&api.operations[i], &c.arguments))
        .collect();
    plan::extract_arguments_after(step, op, &before)
}

/// With an OpenAI-compatible LLM: per step, the closest operations as tools; its call read from
/// `tool_calls` or from JSON in its text; invalid arguments sent back once with the problems.
pub struct LlmPlanner<'l> {
    pub llm: &'l Llm,
}

/// A tool name the OpenAI format accepts (`^[a-zA-Z0-9_-]{1,64}$`) for an operation.
pub fn tool_name(op: &OperationSpec, i: usize) -> String {
    let raw = op
        .operation_id
        .clone()
        .unwrap_or_else(|| format!("{}_{}", op.method.to_lowercase(), op.path));
    let mut name: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    name = name.trim_matches('_').to_string();
    if name.is_empty() {
        name = format!("operation_{i}");
    }
    name.truncate(60);
    name
}

/// The operation as an OpenAI function tool: its parameters and body as one object schema.
pub fn tool_of(op: &OperationSpec, i: usize) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for p in &op.parameters {
        let mut schema = p.schema.clone();
        if let Some(o) = schema.as_object_mut()
            && !p.description.is_empty()
        {
            o.insert(
                "description".into(),
                Value::String(p.description.chars().take(200).collect()),
            );
        }
        properties.insert(p.name.clone(), schema);
        if p.required {
            required.push(Value::String(p.name.clone()));
        }
    }
    if let Some(body) = &op.body {
        let text = body.to_string();
        // A large body schema is cut to its top-level fields and their types.
        let schema = if text.len() > 3_000 {
            let props: Map<String, Value> = body["properties"]
                .as_object()
                .map(|o| {
                    o.iter()
                        .map(|(k, v)| (k.clone(), json!({"type": v["type"].clone()})))
                        .collect()
                })
                .unwrap_or_default();
            json!({"type": "object", "properties": props, "required": body["required"].clone()})
        } else {
            body.clone()
        };
        properties.insert("body".into(), schema);
        if op.body_required {
            required.push(Value::String("body".into()));
        }
    }
    let mut description = op.summary.clone();
    if !op.description.is_empty() && op.description != op.summary {
        description.push_str(". ");
        description.push_str(&op.description.chars().take(300).collect::<String>());
    }
    json!({
        "type": "function",
        "function": {
            "name": tool_name(op, i),
            "description": format!("{} {} — {description}", op.method, op.path),
            "parameters": {"type": "object", "properties": properties, "required": required},
        }
    })
}

/// The (tool name, arguments) a reply asks for: a native tool call, or JSON in its text
/// (`{"name", "arguments"}`, `{"function": {…}}`, `{"tool": …}`, or a list of them).
pub fn call_in_reply(reply: &super::llm::Reply) -> Option<(String, Value)> {
    if let Some(c) = reply.tool_calls.first() {
        return Some(c.clone());
    }
    let v = json_in_text(&reply.text)?;
    let one = match &v {
        Value::Array(a) => a.first()?.clone(),
        _ => v,
    };
    let one = if one["function"].is_object() {
        one["function"].clone()
    } else {
        one
    };
    let name = one["name"]
        .as_str()
        .or_else(|| one["tool"].as_str())?
        .to_string();
    let args = match &one["arguments"] {
        Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
        Value::Null => one["parameters"].clone(),
        other => other.clone(),
    };
    Some((name, args))
}

impl Planner for LlmPlanner<'_> {
    fn name(&self) -> String {
        format!("llm:{}", self.llm.model())
    }

    fn plan<'a>(
        &'a self,
        command: &'a str,
        api: &'a ApiContext,
    ) -> BoxFuture<'a, Result<Vec<PlannedCall>, AiError>> {
        Box::pin(async move {
            let mut calls: Vec<PlannedCall> = Vec::new();
            let mut earlier: Vec<usize> = Vec::new();
            let steps = plan::split_steps(command);
            for (n, step) in steps.iter().take(MAX_STEPS).enumerate() {
                let ranked = api.ranked(step).await?;
                let mut offered: Vec<usize> =
                    ranked.iter().take(MAX_TOOLS).map(|(i, _)| *i).collect();
                // In document order: the same tools in the same order keep the server's prompt
                // cache warm from one step to the next.
                offered.sort_unstable();
                let tools: Vec<Value> = offered
                    .iter()
                    .map(|&i| tool_of(&api.operations[i], i))
                    .collect();
                let done: Vec<String> = calls
                    .iter()
                    .enumerate()
                    .map(|(k, c)| format!("step {}: {} {}", k + 1, c.method, c.path))
                    .collect();
                let system = format!(
                    "You call operations of the API \"{}\" for the user. Call exactly ONE tool \
                     for the request, with arguments taken from the request only (leave out what \
                     it does not say). The request body goes in the argument \"body\". {}If you \
                     cannot call tools, answer with only this JSON: {{\"name\": \"<tool>\", \
                     \"arguments\": {{…}}}}.",
                    api.name,
                    if done.is_empty() {
                        String::new()
                    } else {
                        format!(
                            "This is step {} of a plan; earlier steps: {}. To use a value from \
                             an earlier step's response write \"$stepN.<field>\" (e.g. \
                             \"$step1.id\"). ",
                            n + 1,
                            done.join("; ")
                        )
                    }
                );
                let mut messages = vec![
                    json!({"role": "system", "content": system}),
                    json!({"role": "user", "content": step}),
                ];
                let mut chosen = None;
                for attempt in 0..2 {
                    let reply = self.llm.chat(messages.clone(), Some(tools.clone())).await?;
                    let Some((name, args)) = call_in_reply(&reply) else {
                        messages.push(json!({"role": "assistant", "content": reply.text}));
                        messages.push(json!({"role": "user", "content":
                            "Answer with one tool call (or the JSON {\"name\": …, \"arguments\": …})."}));
                        continue;
                    };
                    let Some(&i) = offered
                        .iter()
                        .find(|&&i| tool_name(&api.operations[i], i) == name)
                    else {
                        messages.push(json!({"role": "assistant", "content": reply.text}));
                        messages.push(json!({"role": "user", "content":
                            format!("There is no tool named `{name}`; use one of the tools given.")}));
                        continue;
                    };
                    let op = &api.operations[i];
                    let args = grounded(step, normalise_arguments(op, args));
                    let call = call_of(op, args);
                    if call.problems.is_empty() || attempt == 1 {
                        chosen = Some((i, call));
                        break;
                    }
                    // Once more, with what was wrong.
                    messages.push(json!({"role": "assistant", "content":
                        format!("{{\"name\": \"{name}\", \"arguments\": {}}}",
                                serde_json::to_string(&call.arguments).unwrap_or_default())}));
                    messages.push(json!({"role": "user", "content": format!(
                        "Those arguments are not valid: {}. Call the tool again with corrected \
                         arguments.", call.problems.join("; "))}));
                    chosen = Some((i, call));
                }
                let (i, call) = match chosen {
                    Some(c) => c,
                    // The model gave no usable call: the embedded planner's choice for this step.
                    None => {
                        let Some((best, args)) = api.choose(step, &earlier, &calls).await? else {
                            break;
                        };
                        (best, call_of(&api.operations[best], args))
                    }
                };
                earlier.push(i);
                calls.push(call);
            }
            Ok(calls)
        })
    }
}

/// The arguments whose values the request states: small models fill in every parameter with
/// the schema's examples ("123 Main St", "Bearer YOUR_API_KEY_HERE"). A value stays when it
/// appears in the words (strings and numbers, case and separators aside), refers to an earlier
/// step (`$stepN.…`), or is a yes/no; body fields are checked one by one.
pub fn grounded(text: &str, args: Map<String, Value>) -> Map<String, Value> {
    let norm = |s: &str| -> String {
        s.to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric())
            .collect()
    };
    let words = norm(text);
    let keep = |v: &Value| -> bool {
        match v {
            Value::String(s) if s.starts_with("$step") => true,
            // "success" stays for "the successful ones", "Margherita" for "2 margheritas".
            Value::String(s) => {
                let n = norm(s);
                !n.is_empty() && words.contains(&n)
            }
            Value::Number(n) => {
                let t = n.to_string();
                words.contains(&norm(&t))
                    || n.as_f64().is_some_and(|f| {
                        // 1250 pence for "£12.50"; 12 for "a dozen" is left to the planner's
                        // own words, not the model's.
                        words.contains(&norm(&format!("{:.2}", f / 100.0)))
                    })
            }
            Value::Bool(_) => true,
            Value::Array(a) => {
                !a.is_empty()
                    && a.iter().all(|x| {
                        matches!(x, Value::String(_) | Value::Number(_)) && {
                            let n = norm(&match x {
                                Value::String(s) => s.clone(),
                                other => other.to_string(),
                            });
                            words.contains(&n)
                        }
                    })
            }
            _ => false,
        }
    };
    args.into_iter()
        .filter_map(|(k, v)| match (k.as_str(), v) {
            ("body", Value::Object(o)) => {
                let body: Map<String, Value> = o.into_iter().filter(|(_, x)| keep(x)).collect();
                Some((k, Value::Object(body)))
            }
            (_, v) if keep(&v) => Some((k, v)),
            _ => None,
        })
        .collect()
}

/// Arguments as the model wrote them, in our shape: parameters by name and the body under
/// `body` (a model may put body fields at the top level).
pub fn normalise_arguments(op: &OperationSpec, args: Value) -> Map<String, Value> {
    let Value::Object(mut args) = args else {
        return Map::new();
    };
    // Some servers send the body as a JSON string.
    if let Some(Value::String(s)) = args.get("body")
        && let Ok(v) = serde_json::from_str::<Value>(s)
    {
        args.insert("body".into(), v);
    }
    let Some(body_schema) = &op.body else {
        return args;
    };
    let fields: Vec<String> = body_schema["properties"]
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    let mut body = match args.remove("body") {
        Some(Value::Object(b)) => b,
        Some(other) => {
            args.insert("body".into(), other);
            return args;
        }
        None => Map::new(),
    };
    for f in &fields {
        if !op.parameters.iter().any(|p| &p.name == f)
            && let Some(v) = args.remove(f)
        {
            body.insert(f.clone(), v);
        }
    }
    if !body.is_empty() {
        args.insert("body".into(), Value::Object(body));
    }
    args
}

/// The API's operations and their vectors (the indexer's, or embedded now).
pub async fn context(
    ai: &Ai,
    db: &PgPool,
    api_id: uuid::Uuid,
    name: &str,
    definition: &Value,
) -> Result<ApiContext, AiError> {
    let embedder = ai.embedder().await?;
    let operations = plan::operations(definition);
    let stored: Vec<(String, pgvector::Vector)> = sqlx::query_as(
        "SELECT operation, embedding FROM ai_embedding
          WHERE api_id = $1 AND model = $2 AND kind = 'operation'",
    )
    .bind(api_id)
    .bind(embedder.model())
    .fetch_all(db)
    .await?;
    let mut vectors = Vec::with_capacity(operations.len());
    let mut missing = Vec::new();
    for (i, op) in operations.iter().enumerate() {
        let key = format!("{} {}", op.method, op.path);
        match stored.iter().find(|(k, _)| *k == key) {
            Some((_, v)) => vectors.push(v.to_vec()),
            None => {
                vectors.push(Vec::new());
                missing.push(i);
            }
        }
    }
    if !missing.is_empty() {
        let all = operation_texts(name, definition, &operations);
        let texts: Vec<String> = missing.iter().map(|&i| all[i].clone()).collect();
        for (i, v) in missing.into_iter().zip(embedder.embed(texts).await?) {
            vectors[i] = v;
        }
    }
    Ok(ApiContext {
        name: name.to_string(),
        operations,
        vectors,
        embedder,
    })
}

/// The texts of `operations` as the indexer embeds them (`index::items`), in their order.
fn operation_texts(name: &str, definition: &Value, operations: &[OperationSpec]) -> Vec<String> {
    let listed: Vec<app::publisher::Operation> = operations
        .iter()
        .filter_map(|o| serde_json::from_value(json!({"target": o.path, "verb": o.method})).ok())
        .collect();
    let items = super::index::items(name, "", "", &json!({}), &listed, Some(definition));
    operations
        .iter()
        .map(|o| {
            let key = format!("{} {}", o.method, o.path);
            items
                .iter()
                .find(|i| i.operation == key)
                .map_or_else(|| format!("{name}: {key}"), |i| i.content.clone())
        })
        .collect()
}

impl ApiContext {
    /// The API `name` described by `definition`, its operations embedded now (no database).
    pub async fn from_definition(
        embedder: Embedder,
        name: &str,
        definition: &Value,
    ) -> Result<ApiContext, AiError> {
        let operations = plan::operations(definition);
        let vectors = embedder
            .embed(operation_texts(name, definition, &operations))
            .await?;
        Ok(ApiContext {
            name: name.to_string(),
            operations,
            vectors,
            embedder,
        })
    }
}

fn mutating(method: &str) -> bool {
    matches!(method, "POST" | "PUT" | "PATCH" | "DELETE")
}

/// What the plan does, in one sentence.
fn plan_sentence(calls: &[PlannedCall]) -> String {
    if calls.is_empty() {
        return "No operation of this API fits the request.".into();
    }
    let parts: Vec<String> = calls
        .iter()
        .map(|c| {
            if c.summary.is_empty() {
                format!("{} {}", c.method, c.path)
            } else {
                format!(
                    "{} ({} {})",
                    c.summary.trim_end_matches('.'),
                    c.method,
                    c.path
                )
            }
        })
        .collect();
    format!("I will call {}.", parts.join(", then "))
}

/// PREPARE: the plan for `command` on the API `api_id`.
pub async fn prepare(
    ai: &Ai,
    db: &PgPool,
    catalogue: &Catalogue,
    actor: Option<&Actor>,
    api_id: &str,
    command: &str,
) -> Result<ApiChatPlan, ApiError> {
    let command = command.trim();
    if command.is_empty() {
        return Err(ApiError::field("command", "say what to do"));
    }
    if command.chars().count() > MAX_COMMAND {
        return Err(ApiError::field(
            "command",
            format!("at most {MAX_COMMAND} characters"),
        ));
    }
    let api = catalogue.get(actor, api_id).await?;
    let definition = catalogue.definition(actor, api_id).await?;
    let id = crate::publisher::parse_id(api_id, "API")?;
    let ctx = context(ai, db, id, &api.info.name, &definition).await?;
    if ctx.operations.is_empty() {
        return Err(ApiError::field(
            "apiId",
            "the API's definition has no operations to call",
        ));
    }
    let (planner, calls) = match ai.llm() {
        Some(llm) => {
            let p = LlmPlanner { llm };
            (p.name(), p.plan(command, &ctx).await?)
        }
        None => (
            EmbeddedPlanner.name(),
            EmbeddedPlanner.plan(command, &ctx).await?,
        ),
    };
    Ok(ApiChatPlan {
        command: command.to_string(),
        explanation: plan_sentence(&calls),
        needs_confirmation: calls.iter().any(|c| mutating(&c.method)),
        steps: calls,
        planner,
    })
}

/// The value at `field` in a response: the top level first, then anywhere below (first found).
fn field_in(v: &Value, field: &str) -> Option<Value> {
    if let Some(x) = v.get(field) {
        return Some(x.clone());
    }
    match v {
        Value::Object(o) => o.values().find_map(|x| field_in(x, field)),
        Value::Array(a) => a.iter().find_map(|x| field_in(x, field)),
        _ => None,
    }
}

/// `$stepN.field` references replaced by the values of earlier responses.
fn substitute(v: &Value, responses: &[Value]) -> Result<Value, String> {
    Ok(match v {
        Value::String(s) if s.starts_with("$step") => {
            let (step, field) = s[5..]
                .split_once('.')
                .ok_or_else(|| format!("`{s}`: write $stepN.field"))?;
            let n: usize = step.parse().map_err(|_| format!("`{s}`: no step number"))?;
            let response = responses
                .get(n.wrapping_sub(1))
                .ok_or_else(|| format!("`{s}`: step {n} has not run before this one"))?;
            field_in(response, field)
                .ok_or_else(|| format!("`{s}`: step {n}'s response has no `{field}`"))?
        }
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| Ok((k.clone(), substitute(x, responses)?)))
                .collect::<Result<_, String>>()?,
        ),
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| substitute(x, responses))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// EXECUTE: runs the plan's calls in order through the gateway, stopping at the first that
/// fails.
pub async fn execute(
    ai: &Ai,
    km: &crate::keymanager::KeyManager,
    catalogue: &Catalogue,
    actor: &Actor,
    api_id: &str,
    request: ApiChatRequest,
) -> Result<ApiChatRun, ApiError> {
    let plan = request
        .plan
        .ok_or_else(|| ApiError::field("plan", "send the plan PREPARE returned"))?;
    if plan.steps.is_empty() {
        return Err(ApiError::field("plan.steps", "nothing to run"));
    }
    if plan.steps.len() > MAX_STEPS {
        return Err(ApiError::field(
            "plan.steps",
            format!("at most {MAX_STEPS} calls"),
        ));
    }
    if request.application_id.trim().is_empty() {
        return Err(ApiError::field(
            "applicationId",
            "choose one of your applications subscribed to the API",
        ));
    }
    // The plan is checked again here: it came back from the browser.
    let definition = catalogue.definition(Some(actor), api_id).await?;
    let operations = plan::operations(&definition);
    let mut specs = Vec::new();
    for (i, step) in plan.steps.iter().enumerate() {
        let op = operations
            .iter()
            .find(|o| o.method == step.method.to_uppercase() && o.path == step.path)
            .ok_or_else(|| {
                ApiError::field(
                    &format!("plan.steps[{i}]"),
                    format!(
                        "{} {} is not an operation of this API",
                        step.method, step.path
                    ),
                )
            })?;
        if let Err(problems) = plan::validate(op, &step.arguments) {
            return Err(ApiError::field(
                &format!("plan.steps[{i}].arguments"),
                problems.join("; "),
            ));
        }
        if mutating(&op.method) && !request.confirmed {
            return Err(ApiError::field(
                "confirmed",
                format!(
                    "{} {} changes data: confirm the plan to run it",
                    op.method, op.path
                ),
            ));
        }
        specs.push(op.clone());
    }
    let mut responses: Vec<Value> = Vec::new();
    let mut results = Vec::new();
    let mut succeeded = true;
    for (i, (step, op)) in plan.steps.iter().zip(&specs).enumerate() {
        let args = substitute(&Value::Object(step.arguments.clone()), &responses)
            .map_err(|e| ApiError::field(&format!("plan.steps[{i}].arguments"), e))?;
        let mut path = op.path.clone();
        let mut query = Vec::new();
        let mut headers = Vec::new();
        for p in &op.parameters {
            let Some(v) = args.get(&p.name) else { continue };
            let value = text_of(v);
            match p.location.as_str() {
                "path" => {
                    path = path.replace(
                        &format!("{{{}}}", p.name),
                        &app::pages::applications::encode(&value),
                    )
                }
                "query" => query.push(format!(
                    "{}={}",
                    app::pages::applications::encode(&p.name),
                    app::pages::applications::encode(&value)
                )),
                _ => headers.push((p.name.clone(), value)),
            }
        }
        let body = args.get("body").map(|b| b.to_string());
        if body.is_some() {
            headers.push(("Content-Type".into(), "application/json".into()));
        }
        let r = km
            .try_out(
                catalogue,
                actor,
                app::applications::TryOutRequest {
                    api_id: api_id.to_string(),
                    application_id: request.application_id.clone(),
                    environment: None,
                    method: op.method.clone(),
                    path,
                    query: query.join("&"),
                    headers,
                    body: body.clone(),
                },
            )
            .await?;
        responses.push(serde_json::from_str(&r.body).unwrap_or(Value::Null));
        let ok = (200..300).contains(&r.status);
        results.push(CallResult {
            method: op.method.clone(),
            url: r.url,
            request_body: body,
            status: r.status,
            response_body: r.body,
            truncated: r.truncated,
            elapsed_ms: r.elapsed_ms,
        });
        if !ok {
            succeeded = false;
            break;
        }
    }
    let explanation = match ai.llm() {
        Some(llm) => match explain(llm, &plan.command, &results).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "API chat: the model's explanation failed; templated");
                templated_outcome(&results, succeeded)
            }
        },
        None => templated_outcome(&results, succeeded),
    };
    Ok(ApiChatRun {
        steps: results,
        explanation,
        succeeded,
    })
}

fn templated_outcome(results: &[CallResult], succeeded: bool) -> String {
    let Some(last) = results.last() else {
        return "Nothing was called.".into();
    };
    let what = |r: &CallResult| {
        let v: Value = serde_json::from_str(&r.response_body).unwrap_or(Value::Null);
        match &v {
            Value::Array(a) => format!("{} items", a.len()),
            Value::Object(o) => match o.iter().find(|(_, x)| x.is_array()) {
                Some((k, Value::Array(a))) => format!("{} {k}", a.len()),
                _ => format!(
                    "an object with {}",
                    o.keys().take(4).cloned().collect::<Vec<_>>().join(", ")
                ),
            },
            _ if r.response_body.is_empty() => "no body".into(),
            _ => "a text body".into(),
        }
    };
    if succeeded {
        format!(
            "Done: {} call{} answered; the last, {} {}, returned {} with {}.",
            results.len(),
            if results.len() == 1 { "" } else { "s" },
            last.method,
            last.url,
            last.status,
            what(last)
        )
    } else {
        format!(
            "Stopped at call {}: {} {} answered {}.",
            results.len(),
            last.method,
            last.url,
            last.status
        )
    }
}

/// The outcome in a sentence, from the model: the request and the responses (bodies cut, no
/// headers, no token).
async fn explain(llm: &Llm, command: &str, results: &[CallResult]) -> Result<String, AiError> {
    let calls: Vec<Value> = results
        .iter()
        .map(|r| {
            json!({
                "call": format!("{} {}", r.method, r.url.split('?').next().unwrap_or_default()),
                "status": r.status,
                "response": r.response_body.chars().take(MODEL_BODY).collect::<String>(),
            })
        })
        .collect();
    let reply = llm
        .chat(
            vec![
                json!({"role": "system", "content": "Explain to the user in one or two plain \
                    sentences what the API calls below did for their request. Use only what \
                    the responses say."}),
                json!({"role": "user", "content": format!(
                    "Request: {command}\nCalls: {}", serde_json::to_string(&calls).unwrap_or_default())}),
            ],
            None,
        )
        .await?;
    let text = reply.text.trim();
    if text.is_empty() {
        return Err(AiError::Upstream("the model explained nothing".into()));
    }
    Ok(text.chars().take(600).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_take_values_from_earlier_responses() {
        let responses = [json!({"orderId": "o-1", "items": [{"id": 7}]})];
        assert_eq!(
            substitute(
                &json!({"orderId": "$step1.orderId", "x": ["$step1.id"]}),
                &responses
            ),
            Ok(json!({"orderId": "o-1", "x": [7]}))
        );
        assert!(
            substitute(&json!("$step2.id"), &responses)
                .unwrap_err()
                .contains("step 2")
        );
        assert!(
            substitute(&json!("$step1.nope"), &responses)
                .unwrap_err()
                .contains("`nope`")
        );
    }

    #[test]
    fn a_model_call_is_read_from_tool_calls_or_text() {
        let native = super::super::llm::Reply {
            text: String::new(),
            tool_calls: vec![("listPets".into(), json!({"status": "sold"}))],
            took: Default::default(),
        };
        assert_eq!(call_in_reply(&native).unwrap().0, "listPets");
        let text = super::super::llm::Reply {
            text: "```json\n{\"name\": \"getOrder\", \"arguments\": \"{\\\"orderId\\\": \\\"1\\\"}\"}\n```".into(),
            ..Default::default()
        };
        assert_eq!(
            call_in_reply(&text),
            Some(("getOrder".into(), json!({"orderId": "1"})))
        );
        let wrapped = super::super::llm::Reply {
            text: "[{\"function\": {\"name\": \"x\", \"arguments\": {\"a\": 1}}}]".into(),
            ..Default::default()
        };
        assert_eq!(call_in_reply(&wrapped), Some(("x".into(), json!({"a": 1}))));
        assert_eq!(call_in_reply(&super::super::llm::Reply::default()), None);
    }

    #[test]
    fn arguments_the_request_does_not_state_are_dropped() {
        let args = json!({
            "paymentId": "8kq1s7gvnv1am5k0hd0rj2t4e6",
            "authorization": "Bearer YOUR_API_KEY_HERE",
            "state": "success",
            "body": {"pizza": "Margherita", "quantity": 2, "address": "123 Main St", "amount": 1250},
            "next": "$step1.id",
        });
        let kept = grounded(
            "cancel payment 8kq1s7gvnv1am5k0hd0rj2t4e6 for 2 margheritas (£12.50), successful ones",
            args.as_object().unwrap().clone(),
        );
        assert_eq!(
            Value::Object(kept),
            json!({"paymentId": "8kq1s7gvnv1am5k0hd0rj2t4e6", "state": "success",
                   "body": {"pizza": "Margherita", "quantity": 2, "amount": 1250},
                   "next": "$step1.id"})
        );
    }

    #[test]
    fn words_say_which_method() {
        assert_eq!(verb_of("create a pet called Rex"), Some("POST"));
        assert_eq!(verb_of("list the pets that are sold"), Some("GET"));
        assert_eq!(verb_of("cancel my order 42"), Some("DELETE"));
        assert_eq!(verb_of("pets"), None);
    }
}
